"""Deterministic synthetic member activity, with the faults the pipeline must survive.

Why: every stage (decode, validate, dedup, windows, graph merge) is tested
against streams whose correct outcome is known in advance. Each generated
event carries a `kind` saying what the pipeline must do with it, so a test can
compute the expected graph from the generator's output alone:

* ``ok`` - a valid event; it belongs in the graph. Its ts is >= `start_ms` and
  lags the largest ts of the ok and duplicate events before it by at most
  `out_of_order_s`.
* ``duplicate`` - an exact copy (same event_id, key and content, same ts) of an
  earlier ``ok`` event, yielded at most `duplicate_delay_s` of stream time after
  it. Dedup must drop it; it changes nothing in the graph. Each ``ok`` event is
  duplicated at most once.
* ``late`` - a valid event whose ts is 2 to 3 hours behind the stream time when
  it is yielded, and only after `late_warmup` ``ok`` events. For hourly windows
  with 60 s allowed lateness and 10 s bounded out-of-orderness it is always
  late: it must be dropped (or side-output), never reach the graph.
* ``invalid:<reason>`` - must go to the dead-letter queue. <reason> is the
  validator's reason code (bad_id, bad_ts, missing_field, bad_type,
  unknown_enum, empty_query), or ``undecodable`` for bytes that no serde can
  decode (DecodeError). An Avro-encoded ``invalid:unknown_enum`` fails at decode
  time with DecodeError reason ``unknown_enum`` (written with a widened enum).
  Apart from bad_ts, an invalid event's ts is the current stream time.

So the expected graph is exactly the graph of the ``ok`` events, as long as
`out_of_order_s + duplicate_delay_s` stays under the job's allowed lateness
plus out-of-orderness (70 s with the defaults above; generator defaults: 0 + 30 s).

Everything derives from `random.Random` seeded with the seed (never the global
random) and partitions from zlib.crc32 of the key, so the same arguments give
the same events and files on every machine; a shorter `n` gives a prefix.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import random
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any, Final, Literal

from ingest.errors import ConfigError, ConnectorError
from schemas.events import DEVICE_TYPES, LIVE_ACTIONS, PLAYBACK_ACTIONS, TS_MAX_MS, TS_MIN_MS
from schemas.registry import (
    check_topic,
    field_names,
    parsed_schema,
    partition_key_field,
    raw_schema,
)
from schemas.serde import AvroSerde, EncodeError, JsonSerde, Serde

__all__ = [
    "DEFAULT_EVENTS_PER_SECOND",
    "DEFAULT_START_MS",
    "DUPLICATE",
    "INVALID_REASONS",
    "LATE",
    "LATE_MAX_S",
    "LATE_MIN_S",
    "OK",
    "UNDECODABLE",
    "GeneratedEvent",
    "encode_event",
    "generate_events",
    "is_representable",
    "partition_for",
    "produce_to_kafka",
    "write_avro_files",
    "write_jsonl_files",
]

log = logging.getLogger(__name__)

#: 2026-01-01T00:00:00Z in epoch milliseconds.
DEFAULT_START_MS: Final = 1_767_225_600_000
DEFAULT_EVENTS_PER_SECOND: Final = 100.0
DEFAULT_DUPLICATE_DELAY_S: Final = 30.0
DEFAULT_LATE_WARMUP: Final = 100
DEFAULT_ACCOUNTS: Final = 1000
LATE_MIN_S: Final = 2 * 3600
LATE_MAX_S: Final = 3 * 3600

OK: Final = "ok"
DUPLICATE: Final = "duplicate"
LATE: Final = "late"
UNDECODABLE: Final = "undecodable"
#: Every reason an ``invalid:<reason>`` event can have.
INVALID_REASONS: Final[tuple[str, ...]] = (
    "bad_id",
    "bad_ts",
    "missing_field",
    "bad_type",
    "unknown_enum",
    "empty_query",
    UNDECODABLE,
)

Output = Literal["avro", "avro-file", "json"]

_ENUMS: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    # topic: (field, symbols, unknown symbols the generator injects)
    "playback": ("action", PLAYBACK_ACTIONS, ("REWIND", "SEEK", "start")),
    "live": ("action", LIVE_ACTIONS, ("REACT", "CHEER", "join")),
}
_MS_1999: Final = 915_148_800_000  # 1999-01-01T00:00:00Z
_YEAR_MS: Final = 365 * 86_400_000


@dataclass(frozen=True, slots=True)
class GeneratedEvent:
    """One generated message and what the pipeline must do with it.

    `record` is the event as a dict (None for undecodable bytes, which are in
    `raw`); `key` is the partition key (the key field's value, "" if it has no
    string value); `index` is the position in the generated stream; `detail`
    says what was injected (e.g. "bad_id:account_id:too_long", "of:#17").
    """

    index: int
    topic: str
    kind: str
    key: str
    record: dict[str, Any] | None
    raw: bytes | None = None
    detail: str = ""

    @property
    def reason(self) -> str | None:
        """The reason code of an ``invalid:<reason>`` event, else None."""
        return self.kind[8:] if self.kind.startswith("invalid:") else None

    @property
    def ts(self) -> int | None:
        """The record's ts when it is an int."""
        ts = self.record.get("ts") if self.record is not None else None
        return ts if type(ts) is int else None

    @property
    def event_id(self) -> str | None:
        """The record's event_id when it is a string."""
        value = self.record.get("event_id") if self.record is not None else None
        return value if isinstance(value, str) else None


# -- the simulated world ---------------------------------------------------------

_COUNTRIES: Final = (
    ("US", 30),
    ("BR", 10),
    ("GB", 8),
    ("IN", 8),
    ("DE", 6),
    ("FR", 6),
    ("MX", 6),
    ("JP", 5),
    ("KR", 5),
    ("CA", 5),
    ("ES", 4),
    ("IT", 4),
    ("AU", 3),
)
_DEVICE_WEIGHTS: Final = (35, 30, 10, 15, 10)  # tv, mobile, tablet, web, console
_ADJECTIVES: Final = (
    "Crimson", "Silent", "Hidden", "Broken", "Golden", "Midnight", "Lost", "Wild", "Frozen",
    "Electric", "Dark", "Last", "Secret", "Burning", "Little", "Hollow", "Iron", "Neon",
    "Paper", "Quiet", "Savage", "Velvet", "Northern", "Bitter",
)  # fmt: skip
_NOUNS: Final = (
    "Harbor", "Signal", "Kingdom", "Garden", "Empire", "River", "Witness", "Frontier",
    "Machine", "Orchard", "Circuit", "Island", "Letters", "Detective", "Crown", "Summer",
    "Echo", "Protocol", "Station", "Heist", "Tides", "Academy", "Bakery", "Dynasty",
)  # fmt: skip
_GENRES: Final = (
    "comedy", "thriller", "anime", "documentary", "k-drama", "true crime", "stand-up",
    "romance", "sci-fi", "horror", "cooking show", "reality tv", "kids", "action movies",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Device:
    device_id: str
    device_type: str


@dataclass(frozen=True, slots=True)
class _Account:
    account_id: str
    country: str
    devices: tuple[_Device, ...]


@dataclass(frozen=True, slots=True)
class _Profile:
    profile_id: str
    account: _Account
    devices: tuple[_Device, ...]


@dataclass(frozen=True, slots=True)
class _Title:
    title_id: str
    name: str
    runtime_ms: int


@dataclass(frozen=True, slots=True)
class _Weighted:
    """Items with cumulative weights, for O(log n) sampling."""

    items: tuple[Any, ...]
    cum: tuple[float, ...]

    def pick(self, rng: random.Random) -> Any:
        i = bisect.bisect_right(self.cum, rng.random() * self.cum[-1])
        return self.items[min(i, len(self.items) - 1)]


def _weighted(items: Sequence[Any], weights: Iterable[float]) -> _Weighted:
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return _Weighted(tuple(items), tuple(cum))


def _zipf(rng: random.Random, items: Sequence[Any], exponent: float) -> _Weighted:
    """Popularity with a long tail: a random item gets rank 1, another rank 2..."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    return _weighted(shuffled, (1.0 / (rank + 1) ** exponent for rank in range(len(shuffled))))


@dataclass(frozen=True)
class _World:
    accounts: _Weighted  # by activity
    profiles: _Weighted  # by activity
    titles: _Weighted  # by popularity
    games: _Weighted
    live_events: _Weighted
    countries: _Weighted


def _hex_id(rng: random.Random, prefix: str, seen: set[str]) -> str:
    while True:
        value = f"{prefix}{rng.getrandbits(48):012x}"
        if value not in seen:
            seen.add(value)
            return value


@cache
def _world(seed: int, accounts: int) -> _World:
    """Accounts with 1-5 profiles and several devices, and the catalogues."""
    rng = random.Random(f"rdg-world:{seed}:{accounts}")
    countries = _weighted([c for c, _ in _COUNTRIES], [w for _, w in _COUNTRIES])
    device_types = _weighted(DEVICE_TYPES, _DEVICE_WEIGHTS)
    seen: set[str] = set()
    account_list: list[_Account] = []
    account_weights: list[float] = []
    profiles: list[_Profile] = []
    profile_weights: list[float] = []
    for _ in range(accounts):
        devices = tuple(
            _Device(_hex_id(rng, "d", seen), device_types.pick(rng))
            for _ in range(rng.choices((1, 2, 3, 4, 5, 6), (10, 25, 30, 20, 10, 5))[0])
        )
        account = _Account(_hex_id(rng, "a", seen), countries.pick(rng), devices)
        activity = rng.lognormvariate(0.0, 1.0)
        account_list.append(account)
        account_weights.append(activity)
        for _ in range(rng.choices((1, 2, 3, 4, 5), (30, 25, 20, 15, 10))[0]):
            used = tuple(rng.sample(devices, rng.randint(1, len(devices))))
            profiles.append(_Profile(_hex_id(rng, "p", seen), account, used))
            profile_weights.append(activity * rng.uniform(0.2, 1.0))
    catalogue = max(200, accounts * 2)
    title_numbers = rng.sample(range(80_000_000, 81_000_000), catalogue)
    titles = []
    for number in title_numbers:
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        name = rng.choice(
            (f"The {adjective} {noun}", f"{adjective} {noun}", f"{noun} of {adjective}")
        )
        movie = rng.random() < 0.4
        runtime = rng.randint(85, 160) if movie else rng.randint(20, 65)
        titles.append(_Title(f"t{number}", name, runtime * 60_000))
    games = [f"g{n:05d}" for n in rng.sample(range(100_000), max(20, accounts // 10))]
    live = [f"live{n:04d}" for n in rng.sample(range(10_000), 12)]
    return _World(
        accounts=_weighted(account_list, account_weights),
        profiles=_weighted(profiles, profile_weights),
        titles=_zipf(rng, titles, 1.07),
        games=_zipf(rng, games, 1.2),
        live_events=_zipf(rng, live, 0.8),
        countries=countries,
    )


# -- per-topic activity models -------------------------------------------------------


class _Model:
    """Produces realistic records of one topic (without event_id and ts)."""

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng

    def country(self, account: _Account, travel: float = 0.03) -> str:
        if self.rng.random() < travel:
            return str(self.world.countries.pick(self.rng))
        return account.country

    def next(self) -> dict[str, Any]:
        """The next event of ongoing activity."""
        raise NotImplementedError

    def standalone(self) -> dict[str, Any]:
        """A plausible event outside ongoing sessions (for late and invalid events)."""
        return self.next()


@dataclass(slots=True)
class _Session:
    profile: _Profile
    device: _Device
    country: str
    item: str  # title or live event
    runtime_ms: int
    position_ms: int
    remaining: int  # PAUSEs (playback) or VOTEs (live) still to come


class _SessionModel(_Model):
    """Interleaved sessions: an opening event, a few middle ones, a closing one."""

    target = 64

    def __init__(self, world: _World, rng: random.Random) -> None:
        super().__init__(world, rng)
        self.active: list[_Session] = []
        self.busy: set[tuple[str, str]] = set()  # (profile, device) with an open session

    def next(self) -> dict[str, Any]:
        rng = self.rng
        active = self.active
        if not active or (
            len(active) < self.target and rng.random() < max(0.25, 1 - len(active) / self.target)
        ):
            session = self.open_free()
            if session is not None:
                active.append(session)
                return self.record(session, self.opening)
        i = rng.randrange(len(active))
        session = active[i]
        if self.advance(session):
            return self.record(session, self.middle)
        active[i] = active[-1]
        active.pop()
        self.busy.discard((session.profile.profile_id, session.device.device_id))
        return self.record(session, self.closing)

    def open_free(self) -> _Session | None:
        """A new session on a (profile, device) that is not already playing one."""
        for _ in range(8):
            session = self.open()
            slot = (session.profile.profile_id, session.device.device_id)
            if slot not in self.busy:
                self.busy.add(slot)
                return session
        return None

    opening = middle = closing = ""

    def open(self) -> _Session:
        raise NotImplementedError

    def advance(self, session: _Session) -> bool:
        """Move the session on; False when this is its closing event."""
        raise NotImplementedError

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        raise NotImplementedError


class _Playback(_SessionModel):
    opening, middle, closing = PLAYBACK_ACTIONS

    def open(self) -> _Session:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        title: _Title = self.world.titles.pick(rng)
        resume = rng.random() < 0.25
        return _Session(
            profile=profile,
            device=rng.choice(profile.devices),
            country=self.country(profile.account),
            item=title.title_id,
            runtime_ms=title.runtime_ms,
            position_ms=rng.randrange(0, title.runtime_ms // 2, 1000) if resume else 0,
            remaining=rng.choices((0, 1, 2, 3), (40, 30, 20, 10))[0],
        )

    def advance(self, session: _Session) -> bool:
        watched = self.rng.randint(15_000, 25 * 60_000)
        session.position_ms = min(session.position_ms + watched, session.runtime_ms)
        if session.remaining > 0 and session.position_ms < session.runtime_ms:
            session.remaining -= 1
            return True
        return False

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        return {
            "account_id": session.profile.account.account_id,
            "profile_id": session.profile.profile_id,
            "title_id": session.item,
            "device_id": session.device.device_id,
            "device_type": session.device.device_type,
            "country": session.country,
            "action": action,
            "position_ms": session.position_ms,
        }

    def standalone(self) -> dict[str, Any]:
        session = self.open()
        action = self.rng.choice(PLAYBACK_ACTIONS)
        if action != "START":
            session.position_ms = self.rng.randrange(0, session.runtime_ms, 1000)
        return self.record(session, action)


class _Live(_SessionModel):
    opening, middle, closing = LIVE_ACTIONS

    def open(self) -> _Session:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        return _Session(
            profile=profile,
            device=rng.choice(profile.devices),
            country=profile.account.country,
            item=self.world.live_events.pick(rng),
            runtime_ms=0,
            position_ms=0,
            remaining=rng.choices((0, 1, 2, 3, 4), (30, 25, 20, 15, 10))[0],
        )

    def advance(self, session: _Session) -> bool:
        if session.remaining > 0:
            session.remaining -= 1
            return True
        return False

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        return {
            "profile_id": session.profile.profile_id,
            "live_event_id": session.item,
            "device_id": session.device.device_id,
            "device_type": session.device.device_type,
            "action": action,
        }

    def standalone(self) -> dict[str, Any]:
        return self.record(self.open(), self.rng.choice(LIVE_ACTIONS))


class _Login(_Model):
    def __init__(self, world: _World, rng: random.Random) -> None:
        super().__init__(world, rng)
        self.seen: set[str] = set()

    def next(self) -> dict[str, Any]:
        rng = self.rng
        account: _Account = self.world.accounts.pick(rng)
        new_device = rng.random() < 0.04
        if new_device:
            device = _Device(_hex_id(rng, "d", self.seen), rng.choice(DEVICE_TYPES))
        else:
            device = rng.choice(account.devices)
        return {
            "account_id": account.account_id,
            "device_id": device.device_id,
            "device_type": device.device_type,
            "country": self.country(account, 0.3 if new_device else 0.04),
            "success": rng.random() < (0.6 if new_device else 0.97),
        }


def _messy(rng: random.Random, text: str) -> str:
    """Text as people type it: any case, stray and doubled whitespace, cut short."""
    if rng.random() < 0.25 and len(text) > 4:
        text = text[: rng.randint(3, len(text) - 1)]
    case = rng.random()
    if case < 0.35:
        text = text.lower()
    elif case < 0.45:
        text = text.upper()
    elif case < 0.55:
        text = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    if rng.random() < 0.3:
        text = text.replace(" ", rng.choice(("  ", "   ", "\t", " \u00a0")))
    if rng.random() < 0.3:
        text = rng.choice((" ", "  ", "\t")) + text
    if rng.random() < 0.3:
        text += rng.choice((" ", "  ", "\n", " \t"))
    return text


class _Search(_Model):
    def next(self) -> dict[str, Any]:
        rng = self.rng
        world = self.world
        profile: _Profile = world.profiles.pick(rng)
        title: _Title = world.titles.pick(rng)
        roll = rng.random()
        if roll < 0.6:
            query, clicked = title.name, title.title_id if rng.random() < 0.7 else None
        elif roll < 0.85:
            query = rng.choice(_GENRES)
            clicked = title.title_id if rng.random() < 0.4 else None
        else:
            query = rng.choice(title.name.split())
            clicked = title.title_id if rng.random() < 0.3 else None
        query = _messy(rng, query)
        if not query.strip():  # keep "ok" searches valid
            query = title.name
        return {"profile_id": profile.profile_id, "query": query, "clicked_title_id": clicked}


class _Gaming(_Model):
    def next(self) -> dict[str, Any]:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        devices = [d for d in profile.devices if d.device_type != "web"] or list(profile.devices)
        device = rng.choice(devices)
        seconds = int(rng.lognormvariate(math.log(900), 0.9))
        return {
            "profile_id": profile.profile_id,
            "game_id": self.world.games.pick(rng),
            "device_id": device.device_id,
            "device_type": device.device_type,
            "session_seconds": min(max(seconds, 15), 6 * 3600),
        }


_MODELS: Final[dict[str, Callable[[_World, random.Random], _Model]]] = {
    "playback": _Playback,
    "login": _Login,
    "search": _Search,
    "gaming": _Gaming,
    "live": _Live,
}


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


# -- outputs ------------------------------------------------------------------------------


def partition_for(key: str, partitions: int) -> int:
    """Stable file partition of a key: crc32 of its UTF-8 bytes, modulo `partitions`."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def is_representable(event: GeneratedEvent, output: Output) -> bool:
    """Whether `event` can be written to `output`.

    "json" (messages or .jsonl lines) holds every kind. "avro" (schemaless
    messages) cannot hold a record with a missing field or a wrong type;
    unknown enum symbols are written with a widened writer schema and
    undecodable bytes as they are. "avro-file" (object container files, one
    schema per file) also cannot hold unknown enum symbols or raw bytes.
    """
    if output == "json":
        return True
    if event.raw is not None:
        return output == "avro"
    reason = event.reason
    if reason in ("missing_field", "bad_type"):
        return False
    return not (reason == "unknown_enum" and output == "avro-file")


def _widened_schema(topic: str, symbol: str) -> dict[str, Any]:
    name, symbols, _ = _ENUMS[topic]
    schema = raw_schema(topic)
    for f in schema["fields"]:
        if f["name"] == name:
            f["type"] = dict(f["type"], symbols=[*symbols, symbol])
    return schema


_WIDENED: dict[tuple[str, str, bool, int | None], AvroSerde] = {}


def encode_event(event: GeneratedEvent, serde: Serde) -> bytes | None:
    """The message bytes for `event` under `serde`, or None if it cannot be
    represented (see is_representable with output "avro" or "json")."""
    if event.raw is not None:
        return event.raw
    assert event.record is not None
    if isinstance(serde, AvroSerde):
        if not is_representable(event, "avro"):
            return None
        if event.reason == "unknown_enum" and event.topic in _ENUMS:
            symbol = str(event.record[_ENUMS[event.topic][0]])
            cache_key = (event.topic, symbol, serde.confluent_wire, serde.schema_id)
            widened = _WIDENED.get(cache_key)
            if widened is None:
                widened = AvroSerde(
                    _widened_schema(event.topic, symbol),
                    confluent_wire=serde.confluent_wire,
                    schema_id=serde.schema_id,
                )
                _WIDENED[cache_key] = widened
            return widened.encode(event.record)
        return serde.encode(event.record)
    if isinstance(serde, JsonSerde):
        return serde.encode(event.record)
    try:
        return serde.encode(event.record)
    except EncodeError:
        return None


def _prepare_dir(out_dir: str | Path, topic: str) -> Path:
    """out_dir/<topic>, emptied of earlier part files: a reader of *.avro and
    *.jsonl would otherwise mix stale partitions (or formats) into the data."""
    directory = Path(out_dir) / check_topic(topic)
    directory.mkdir(parents=True, exist_ok=True)
    for pattern in ("part-*.avro", "part-*.jsonl", ".part-*.tmp"):
        for stale in directory.glob(pattern):
            stale.unlink()
    return directory


def _discard(files: Sequence[IO[bytes]], temps: Sequence[Path]) -> None:
    for fo in files:
        fo.close()
    for temp in temps:
        temp.unlink(missing_ok=True)


def _check_partitions(partitions: int) -> None:
    if partitions < 1:
        raise ConfigError(f"partitions={partitions} must be at least 1")


def _check_event_topic(event: GeneratedEvent, topic: str) -> None:
    if event.topic != topic:
        raise ConfigError(f"event #{event.index} is a {event.topic} event, not {topic}")


def write_avro_files(
    out_dir: str | Path,
    topic: str,
    events: Iterable[GeneratedEvent],
    partitions: int = 4,
    *,
    codec: str = "null",
) -> list[Path]:
    """Write Avro object container files out_dir/<topic>/part-00000.avro ...

    One file per partition (all created, even empty ones), partition =
    crc32(key) % partitions, generation order kept within a file. Events a
    container file cannot hold - missing field, wrong type, unknown enum symbol,
    undecodable bytes (is_representable(e, "avro-file") is False) - are SKIPPED
    and counted in the log; write_jsonl_files keeps them. Replaces earlier part
    files in that directory; files appear atomically (written, then renamed).
    """
    from fastavro.write import Writer

    _check_partitions(partitions)
    schema = parsed_schema(topic)
    directory = _prepare_dir(out_dir, topic)
    paths = [directory / f"part-{p:05d}.avro" for p in range(partitions)]
    temps = [directory / f".{path.name}.tmp" for path in paths]
    files = [open(t, "wb") for t in temps]  # noqa: SIM115 - closed below
    skipped: Counter[str] = Counter()
    try:
        writers = [
            Writer(
                fo,
                schema,
                codec=codec,
                sync_marker=hashlib.blake2b(f"{topic}:{p}".encode(), digest_size=16).digest(),
            )
            for p, fo in enumerate(files)
        ]
        for event in events:
            _check_event_topic(event, topic)
            if not is_representable(event, "avro-file"):
                skipped[event.kind] += 1
                continue
            writers[partition_for(event.key, partitions)].write(event.record)
        for writer in writers:
            writer.flush()
    except BaseException:
        _discard(files, temps)
        raise
    for fo in files:
        fo.close()
    for temp, path in zip(temps, paths, strict=True):
        os.replace(temp, path)
    if skipped:
        log.info("%s: skipped events an Avro file cannot hold: %s", topic, dict(skipped))
    return paths


def write_jsonl_files(
    out_dir: str | Path,
    topic: str,
    events: Iterable[GeneratedEvent],
    partitions: int = 4,
) -> list[Path]:
    """Write JSON-lines files out_dir/<topic>/part-00000.jsonl ..., one object
    per line, partitioned and ordered like write_avro_files. Every kind is kept:
    undecodable events are their raw bytes on a line (valid UTF-8, not JSON)."""
    _check_partitions(partitions)
    serde = JsonSerde(topic)
    directory = _prepare_dir(out_dir, topic)
    paths = [directory / f"part-{p:05d}.jsonl" for p in range(partitions)]
    temps = [directory / f".{path.name}.tmp" for path in paths]
    files = [open(t, "wb") for t in temps]  # noqa: SIM115 - closed below
    try:
        for event in events:
            _check_event_topic(event, topic)
            line = event.raw if event.raw is not None else serde.encode(event.record or {})
            if b"\n" in line:
                raise ConfigError(f"event #{event.index} would span lines: {line[:60]!r}")
            files[partition_for(event.key, partitions)].write(line + b"\n")
    except BaseException:
        _discard(files, temps)
        raise
    for fo in files:
        fo.close()
    for temp, path in zip(temps, paths, strict=True):
        os.replace(temp, path)
    return paths


def produce_to_kafka(
    bootstrap: str,
    topic: str,
    events: Iterable[GeneratedEvent],
    serde: Serde,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    kafka_topic: str | None = None,
    config: dict[str, Any] | None = None,
    flush_timeout_s: float = 120.0,
) -> int:
    """Produce `events` to Kafka and return how many messages were delivered.

    Key = the partition key (UTF-8), value = encode_event(event, serde) (events
    it cannot represent are skipped and logged), message timestamp = the
    event's ts when it is a valid event time (else the producer's clock).
    Java-compatible murmur2_random partitioning and idempotence. `rate` caps
    messages per second; `progress(n_done)` is called now and then and at the
    end. Raises ConnectorError on any delivery error, after flushing.
    """
    try:
        from confluent_kafka import KafkaException, Producer
    except ImportError as exc:
        raise ConnectorError(
            "producing to Kafka needs confluent-kafka: pip install 'rdg[kafka]'"
        ) from exc
    check_topic(topic)
    if rate is not None and not rate > 0:
        raise ConfigError(f"rate={rate} must be positive (or None for no limit)")
    target = kafka_topic or topic
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "linger.ms": 20,
        "compression.type": "lz4",
        "logger": log,  # librdkafka's own messages go to logging, not stderr
        **(config or {}),
    }
    producer = Producer(settings)
    errors: list[str] = []
    delivered = 0

    def on_delivery(err: Any, msg: Any) -> None:
        nonlocal delivered
        if err is not None:
            if len(errors) < 5:
                errors.append(f"{err} (partition {msg.partition()}, key {msg.key()!r})")
        else:
            delivered += 1

    skipped: Counter[str] = Counter()
    sent = 0
    started = time.monotonic()
    for event in events:
        _check_event_topic(event, topic)
        value = encode_event(event, serde)
        if value is None:
            skipped[event.kind] += 1
            continue
        ts = event.ts
        timestamp = ts if ts is not None and TS_MIN_MS <= ts < TS_MAX_MS else 0
        while True:
            try:
                producer.produce(
                    target,
                    value=value,
                    key=event.key.encode("utf-8"),
                    timestamp=timestamp,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain
            except KafkaException as exc:
                raise ConnectorError(
                    f"cannot produce to Kafka topic {target!r} at {bootstrap}: {exc}"
                ) from exc
        sent += 1
        producer.poll(0)
        if errors:
            break
        if rate is not None:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if progress is not None and sent % 1000 == 0:
            progress(sent)
    remaining = producer.flush(flush_timeout_s)
    if skipped:
        log.info(
            "%s: skipped events Kafka messages under %r cannot hold: %s",
            topic,
            serde,
            dict(skipped),
        )
    if errors:
        raise ConnectorError(
            f"delivery to Kafka topic {target!r} at {bootstrap} failed: {'; '.join(errors)}"
        )
    if remaining:
        raise ConnectorError(
            f"{remaining} messages to Kafka topic {target!r} at {bootstrap} were not delivered "
            f"within {flush_timeout_s} s"
        )
    if progress is not None:
        progress(sent)
    log.info("produced %d %s events to %s (%s)", delivered, topic, target, bootstrap)
    return delivered
