"""The event stream: activity plus injected duplicates, disorder, late and invalid events."""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import deque
from collections.abc import Collection, Iterator
from typing import Any

from ingest.errors import ConfigError
from jobs.generate.events import (
    _ENUMS,
    _MS_1999,
    _YEAR_MS,
    DEFAULT_ACCOUNTS,
    DEFAULT_DUPLICATE_DELAY_S,
    DEFAULT_EVENTS_PER_SECOND,
    DEFAULT_LATE_WARMUP,
    DEFAULT_START_MS,
    DUPLICATE,
    INVALID_REASONS,
    LATE,
    LATE_MAX_S,
    LATE_MIN_S,
    OK,
    UNDECODABLE,
    GeneratedEvent,
)
from jobs.generate.world import _MODELS, _world
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.registry import (
    check_topic,
    field_names,
    partition_key_field,
)

# -- fault injection -------------------------------------------------------------------


def _reasons_for(topic: str) -> tuple[str, ...]:
    return tuple(
        r
        for r in INVALID_REASONS
        if (r != "unknown_enum" or topic in _ENUMS) and (r != "empty_query" or topic == "search")
    )


def _id_fields(topic: str) -> list[str]:
    return [f for f in field_names(topic) if f == "event_id" or f.endswith("_id")]


def _wrong_type(rng: random.Random, name: str, value: Any) -> Any:
    if name == "ts":
        return rng.choice((str(value), value + 0.5))
    if isinstance(value, bool):
        return rng.choice(("true", 1))
    if isinstance(value, int):
        return rng.choice(
            (str(value), float(value) + 0.5, 2**40 if name == "session_seconds" else True)
        )
    return rng.choice((12345, True, [value]))


def _corrupt(
    topic: str, reason: str, record: dict[str, Any], rng: random.Random
) -> tuple[dict[str, Any] | None, bytes | None, str]:
    """Turn a valid record into one that fails with exactly `reason`."""
    if reason == "bad_id":
        name = rng.choice(_id_fields(topic))
        variant = rng.choice(("empty", "blank", "too_long"))
        if variant == "too_long":
            base = str(record.get(name) or record["event_id"])
            record[name] = ((base + "-") * (300 // (len(base) + 1) + 1))[:300]
        else:
            record[name] = "" if variant == "empty" else rng.choice((" ", "   ", "\t", " \n "))
        return record, None, f"bad_id:{name}:{variant}"
    if reason == "bad_ts":
        if rng.random() < 0.5:
            record["ts"] = rng.randrange(_MS_1999, TS_MIN_MS)
            return record, None, "bad_ts:1999"
        record["ts"] = rng.randrange(TS_MAX_MS, TS_MAX_MS + _YEAR_MS)
        return record, None, "bad_ts:2100"
    if reason == "missing_field":
        name = rng.choice([f for f in field_names(topic) if f != "clicked_title_id"])
        del record[name]
        return record, None, f"missing_field:{name}"
    if reason == "bad_type":
        name = rng.choice(field_names(topic))
        record[name] = _wrong_type(rng, name, record[name])
        return record, None, f"bad_type:{name}:{type(record[name]).__name__}"
    if reason == "unknown_enum":
        name, _, unknown = _ENUMS[topic]
        record[name] = rng.choice(unknown)
        return record, None, f"unknown_enum:{name}:{record[name]}"
    if reason == "empty_query":
        record["query"] = rng.choice(("", " ", "   ", "\t\n", " \u3000 "))
        return record, None, "empty_query"
    if reason == UNDECODABLE:
        # Neither Avro (a huge or negative string length up front), nor
        # Confluent-framed (first byte not 0), nor JSON; valid UTF-8 without
        # newlines, so it can also be a line of a .jsonl file.
        if rng.random() < 0.5:
            return None, f"\u00a2garbage-{rng.getrandbits(32):08x}".encode(), "undecodable:garbage"
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return None, text[: rng.randint(1, len(text) - 1)].encode(), "undecodable:truncated_json"
    raise ConfigError(
        f"unknown invalid reason {reason!r}; expected one of {', '.join(INVALID_REASONS)}"
    )


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value} must be a fraction between 0 and 1")


def generate_events(
    topic: str,
    n: int,
    seed: int,
    *,
    start_ms: int = DEFAULT_START_MS,
    events_per_second: float = DEFAULT_EVENTS_PER_SECOND,
    duplicates: float = 0.0,
    out_of_order_s: float = 0.0,
    late: float = 0.0,
    invalid: float = 0.0,
    invalid_reasons: Collection[str] | None = None,
    accounts: int = DEFAULT_ACCOUNTS,
    duplicate_delay_s: float = DEFAULT_DUPLICATE_DELAY_S,
    late_warmup: int = DEFAULT_LATE_WARMUP,
) -> Iterator[GeneratedEvent]:
    """Yield `n` events of `topic` (see the module docstring for the kinds).

    Stream time starts at `start_ms` and advances by exponential gaps averaging
    1/`events_per_second` s. Each event is independently invalid with
    probability `invalid`, else late with probability `late` (once `late_warmup`
    ok events are out), else a duplicate with probability `duplicates` (when an
    ok event of the last `duplicate_delay_s` is left to copy), else ok; so the
    fractions hold over the whole stream. ok events' ts is pulled back by a
    uniform 0..`out_of_order_s`. Invalid events draw their reason uniformly from
    `invalid_reasons` (default: all that apply to the topic). `accounts` sizes
    the simulated membership (shared by all topics of one seed).
    """
    check_topic(topic)
    if n < 0:
        raise ConfigError(f"n={n} must not be negative")
    if not (math.isfinite(events_per_second) and events_per_second > 0):
        raise ConfigError(f"events_per_second={events_per_second} must be a positive number")
    for name, value in (("duplicates", duplicates), ("late", late), ("invalid", invalid)):
        _check_fraction(name, value)
    if duplicates + late + invalid > 1.0:
        raise ConfigError(
            f"duplicates + late + invalid = {duplicates + late + invalid} is more than 1"
        )
    if not 0 <= out_of_order_s < 3600:
        raise ConfigError(f"out_of_order_s={out_of_order_s} must be in [0, 3600) seconds")
    if not duplicate_delay_s > 0:
        raise ConfigError(f"duplicate_delay_s={duplicate_delay_s} must be positive")
    if accounts < 1:
        raise ConfigError(f"accounts={accounts} must be at least 1")
    if not TS_MIN_MS + LATE_MAX_S * 1000 + 3_600_000 <= start_ms < TS_MAX_MS - _YEAR_MS:
        raise ConfigError(
            f"start_ms={start_ms} must be between 2000-01-01T04:00Z and 2099-01-01Z, so late "
            "events stay valid and ok timestamps stay before 2100"
        )
    applicable = _reasons_for(topic)
    if invalid_reasons is None:
        reasons = applicable
    else:
        unknown = set(invalid_reasons) - set(INVALID_REASONS)
        if unknown:
            raise ConfigError(
                f"unknown invalid reasons {sorted(unknown)}; expected some of {', '.join(INVALID_REASONS)}"
            )
        reasons = tuple(r for r in applicable if r in invalid_reasons)
        if not reasons and invalid > 0:
            raise ConfigError(
                f"none of the invalid reasons {sorted(invalid_reasons)} applies to {topic}"
            )
    return _generate(
        topic,
        n,
        seed,
        start_ms=start_ms,
        mean_gap_ms=1000.0 / events_per_second,
        duplicates=duplicates,
        out_of_order_ms=out_of_order_s * 1000.0,
        late=late,
        invalid=invalid,
        reasons=reasons,
        accounts=accounts,
        duplicate_delay_ms=duplicate_delay_s * 1000.0,
        late_warmup=late_warmup,
    )


def _generate(
    topic: str,
    n: int,
    seed: int,
    *,
    start_ms: int,
    mean_gap_ms: float,
    duplicates: float,
    out_of_order_ms: float,
    late: float,
    invalid: float,
    reasons: tuple[str, ...],
    accounts: int,
    duplicate_delay_ms: float,
    late_warmup: int,
) -> Iterator[GeneratedEvent]:
    rng = random.Random(f"rdg-stream:{seed}:{topic}")
    model = _MODELS[topic](_world(seed, accounts), rng)
    key_field = partition_key_field(topic)
    # ok events still young enough to be duplicated, with a pristine copy of the record
    recent: deque[tuple[float, GeneratedEvent, dict[str, Any]]] = deque()
    now = float(start_ms) + out_of_order_ms  # so jittered ok timestamps stay >= start_ms
    ok_count = 0
    late_edge = invalid + late
    dup_edge = late_edge + duplicates

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def key_of(record: dict[str, Any]) -> str:
        value = record.get(key_field)
        return value if isinstance(value, str) else ""

    for index in range(n):
        if index:
            now += rng.expovariate(1.0) * mean_gap_ms
        while recent and recent[0][0] < now - duplicate_delay_ms:
            recent.popleft()
        roll = rng.random()
        if roll < invalid:
            reason = rng.choice(reasons)
            base = {"event_id": new_id(), "ts": int(now), **model.standalone()}
            record, raw, detail = _corrupt(topic, reason, base, rng)
            yield GeneratedEvent(
                index, topic, f"invalid:{reason}", key_of(base), record, raw, detail
            )
            continue
        if roll < late_edge and ok_count >= late_warmup:
            lag_ms = rng.randint(LATE_MIN_S * 1000, LATE_MAX_S * 1000)
            record = {"event_id": new_id(), "ts": int(now) - lag_ms, **model.standalone()}
            yield GeneratedEvent(
                index, topic, LATE, key_of(record), record, None, f"lag_ms:{lag_ms}"
            )
            continue
        if late_edge <= roll < dup_edge and recent:
            i = rng.randrange(len(recent))
            _, original, content = recent[i]
            del recent[i]
            yield GeneratedEvent(
                index, topic, DUPLICATE, original.key, content, None, f"of:#{original.index}"
            )
            continue
        jitter = int(rng.random() * out_of_order_ms) if out_of_order_ms else 0
        record = {"event_id": new_id(), "ts": int(now) - jitter, **model.next()}
        event = GeneratedEvent(index, topic, OK, key_of(record), record)
        ok_count += 1
        if duplicates:
            recent.append((now, event, dict(record)))
        yield event
