"""The synthetic event generator: determinism, realism, and honest `kind` tags."""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import fastavro
import pytest

from ingest.errors import ConfigError
from jobs.generate import (
    DEFAULT_START_MS,
    INVALID_REASONS,
    LATE_MAX_S,
    LATE_MIN_S,
    GeneratedEvent,
    encode_event,
    generate_events,
    is_representable,
    partition_for,
    produce_to_kafka,
    write_avro_files,
    write_jsonl_files,
)
from schemas.events import DEVICE_TYPES
from schemas.registry import TOPICS, partition_key_field
from schemas.serde import AvroSerde, DecodeError, JsonSerde, read_avro_container
from schemas.validate import InvalidEvent, normalize_query, validate

HOUR_MS = 3_600_000
NOISY = {"duplicates": 0.1, "late": 0.05, "invalid": 0.1, "out_of_order_s": 5.0}


def gen(topic: str, n: int = 3000, seed: int = 7, **kw: Any) -> list[GeneratedEvent]:
    return list(generate_events(topic, n, seed, **kw))


@pytest.fixture(params=TOPICS)
def topic(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def noisy() -> dict[str, list[GeneratedEvent]]:
    return {t: gen(t, 6000, 11, **NOISY) for t in TOPICS}


def outcome(event: GeneratedEvent, serde: Any) -> str:
    """What the pipeline front end makes of the event: "pass" or the failure reason."""
    data = encode_event(event, serde)
    assert data is not None
    try:
        validate(event.topic, serde.decode(data))
    except DecodeError as err:
        return f"decode:{err.reason}"
    except InvalidEvent as err:
        return err.reason
    return "pass"


# -- determinism -------------------------------------------------------------------------


def test_same_seed_same_events(topic: str) -> None:
    assert gen(topic, 2000, **NOISY) == gen(topic, 2000, **NOISY)


def test_different_seed_different_events(topic: str) -> None:
    a, b = gen(topic, 200, seed=1), gen(topic, 200, seed=2)
    assert [e.record for e in a] != [e.record for e in b]
    assert {e.event_id for e in a}.isdisjoint({e.event_id for e in b})


def test_shorter_run_is_a_prefix(topic: str) -> None:
    assert gen(topic, 700, **NOISY) == gen(topic, 1500, **NOISY)[:700]


def test_topics_share_one_world() -> None:
    playback = gen("playback", 3000)
    profiles = {e.record["profile_id"] for e in playback if e.record}
    accounts = {e.record["account_id"] for e in playback if e.record}
    for other in ("search", "gaming", "live"):
        assert profiles & {e.record["profile_id"] for e in gen(other, 3000) if e.record}
    assert accounts & {e.record["account_id"] for e in gen("login", 3000) if e.record}


def test_no_global_random_state_used(topic: str) -> None:
    import random

    random.seed(1)
    a = gen(topic, 300, **NOISY)
    random.seed(2)
    assert gen(topic, 300, **NOISY) == a


# -- realism ------------------------------------------------------------------------------


def test_ok_events_are_valid_and_keyed(topic: str) -> None:
    key_field = partition_key_field(topic)
    events = gen(topic, 3000)
    assert {e.kind for e in events} == {"ok"}
    for e in events:
        assert e.record is not None and e.raw is None
        out = validate(topic, e.record)
        assert e.key == e.record[key_field] == out[key_field]
        assert out == {**e.record, **({"query": out["query"]} if topic == "search" else {})}
        if "device_type" in e.record:
            assert e.record["device_type"] in DEVICE_TYPES


def test_event_ids_are_unique(topic: str) -> None:
    events = gen(topic, 5000, **NOISY)
    ids = [e.event_id for e in events if e.kind in ("ok", "late")]
    ids += [e.event_id for e in events if e.reason and not e.detail.startswith("bad_id:event_id")]
    ids = [i for i in ids if i is not None]
    assert len(ids) == len(set(ids)) > 4000


def test_timestamps_advance_at_the_configured_rate(topic: str) -> None:
    events = gen(topic, 4000, start_ms=DEFAULT_START_MS, events_per_second=50.0)
    ts = [e.ts for e in events]
    assert ts[0] == DEFAULT_START_MS
    assert ts == sorted(ts)  # no jitter asked for
    span_s = (ts[-1] - ts[0]) / 1000
    assert 4000 / 50 * 0.9 < span_s < 4000 / 50 * 1.1
    start = 1_800_000_000_000
    assert gen(topic, 1, start_ms=start)[0].ts == start


def test_account_profiles_and_devices() -> None:
    profiles_of: defaultdict[str, set[str]] = defaultdict(set)
    devices_of: defaultdict[str, set[str]] = defaultdict(set)
    for e in gen("playback", 20000, accounts=200):
        assert e.record is not None
        profiles_of[e.record["account_id"]].add(e.record["profile_id"])
        devices_of[e.record["account_id"]].add(e.record["device_id"])
    assert max(len(p) for p in profiles_of.values()) <= 5
    assert any(len(p) >= 3 for p in profiles_of.values())
    assert any(len(d) >= 3 for d in devices_of.values())
    owners = Counter(p for ps in profiles_of.values() for p in ps)
    assert max(owners.values()) == 1  # a profile belongs to one account


def test_playback_sessions() -> None:
    """START, a few PAUSEs, STOP per (profile, device, title), positions increasing."""
    sessions: defaultdict[tuple[str, str, str], list[tuple[str, int]]] = defaultdict(list)
    for e in gen("playback", 20000):
        r = e.record
        assert r is not None
        sessions[(r["profile_id"], r["device_id"], r["title_id"])].append(
            (r["action"], r["position_ms"])
        )
    closed = 0
    pauses = Counter()
    for steps in sessions.values():
        actions = "".join({"START": "S", "PAUSE": "P", "STOP": "T"}[a] for a, _ in steps)
        assert re.fullmatch(r"(SP*T)*(SP*)?", actions), actions
        for m in re.finditer(r"SP*T", actions):
            closed += 1
            pauses[m.end() - m.start() - 2] += 1
            positions = [p for _, p in steps[m.start() : m.end()]]
            assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert closed > 3000
    assert set(pauses) >= {0, 1, 2, 3}


def test_live_sessions() -> None:
    sessions: defaultdict[tuple[str, str, str], str] = defaultdict(str)
    for e in gen("live", 10000):
        r = e.record
        assert r is not None
        sessions[(r["profile_id"], r["device_id"], r["live_event_id"])] += r["action"][0]
    for actions in sessions.values():
        assert re.fullmatch(r"(JV*L)*(JV*)?", actions), actions
    assert any("V" in a for a in sessions.values())


def test_logins_mostly_succeed() -> None:
    records = [e.record for e in gen("login", 10000) if e.record]
    rate = sum(r["success"] for r in records) / len(records)
    assert 0.85 < rate < 0.99
    assert len({r["country"] for r in records}) > 5


def test_searches_are_messy_and_sometimes_clicked() -> None:
    records = [e.record for e in gen("search", 5000) if e.record]
    queries = [r["query"] for r in records]
    assert sum(q != normalize_query(q) for q in queries) > len(queries) * 0.3
    assert any(q != q.strip() for q in queries) and any(q.isupper() for q in queries)
    assert any("  " in q or "\t" in q for q in queries)
    clicked = sum(r["clicked_title_id"] is not None for r in records) / len(records)
    assert 0.3 < clicked < 0.8


@pytest.mark.parametrize("topic,field", [("playback", "title_id"), ("gaming", "game_id")])
def test_popularity_has_a_long_tail(topic: str, field: str) -> None:
    counts = Counter(e.record[field] for e in gen(topic, 20000) if e.record)
    ranked = [c for _, c in counts.most_common()]
    total = sum(ranked)
    assert ranked[0] > 10 * ranked[len(ranked) // 2]  # a few hits...
    assert sum(ranked[: len(ranked) // 10]) > 0.5 * total
    assert sum(ranked[len(ranked) // 2 :]) > 0.03 * total  # ...and a long tail
    assert len(ranked) >= 100


def test_gaming_sessions_are_plausible() -> None:
    seconds = [e.record["session_seconds"] for e in gen("gaming", 3000) if e.record]
    assert min(seconds) >= 15 and max(seconds) <= 6 * 3600
    assert 300 < sorted(seconds)[len(seconds) // 2] < 3000


# -- kinds, fractions and their guarantees -------------------------------------------------


def test_fractions_are_roughly_honoured(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for topic, events in noisy.items():
        kinds = Counter("invalid" if e.kind.startswith("invalid:") else e.kind for e in events)
        n = len(events)
        assert abs(kinds["invalid"] / n - 0.10) < 0.02, (topic, kinds)
        assert abs(kinds["late"] / n - 0.05) < 0.015, (topic, kinds)
        assert abs(kinds["duplicate"] / n - 0.10) < 0.02, (topic, kinds)
        assert sum(kinds.values()) == n == 6000


def test_every_applicable_reason_is_injected(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for topic, events in noisy.items():
        reasons = {e.reason for e in events if e.reason}
        expected = set(INVALID_REASONS)
        if topic not in ("playback", "live"):
            expected.discard("unknown_enum")
        if topic != "search":
            expected.discard("empty_query")
        assert reasons == expected, topic
    details = {e.detail for events in noisy.values() for e in events if e.reason}
    for needle in ("bad_ts:1999", "bad_ts:2100", ":empty", ":blank", ":too_long"):
        assert any(needle in d for d in details), needle
    assert any(d.startswith("undecodable:garbage") for d in details)
    assert any(d.startswith("undecodable:truncated_json") for d in details)


def test_invalid_records_fail_validation_with_their_reason(
    noisy: dict[str, list[GeneratedEvent]],
) -> None:
    for events in noisy.values():
        for e in events:
            if e.kind.startswith("invalid:") and e.record is not None:
                with pytest.raises(InvalidEvent) as info:
                    validate(e.topic, e.record)
                assert info.value.reason == e.reason, (e.detail, str(info.value))


def test_non_invalid_records_pass_validation(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for events in noisy.values():
        for e in events:
            if not e.kind.startswith("invalid:"):
                assert e.record is not None
                validate(e.topic, e.record)


def test_undecodable_bytes_fail_every_serde(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for topic, events in noisy.items():
        serdes = [
            AvroSerde(topic),
            AvroSerde(topic, True, 1),
            AvroSerde(topic, True),
            JsonSerde(topic),
        ]
        raws = [e for e in events if e.raw is not None]
        assert raws and all(e.kind == "invalid:undecodable" and e.record is None for e in raws)
        for e in raws:
            assert b"\n" not in e.raw  # type: ignore[operator]
            e.raw.decode("utf-8")  # type: ignore[union-attr]
            for serde in serdes:
                with pytest.raises(DecodeError):
                    serde.decode(e.raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("serde_kind", ["avro", "avro-framed", "json"])
def test_outcome_through_each_serde_matches_kind(
    noisy: dict[str, list[GeneratedEvent]], serde_kind: str
) -> None:
    for topic, events in noisy.items():
        serde: Any = {
            "avro": AvroSerde(topic),
            "avro-framed": AvroSerde(topic, True, 5),
            "json": JsonSerde(topic),
        }[serde_kind]
        output = "json" if serde_kind == "json" else "avro"
        seen = Counter()
        for e in events:
            if not is_representable(e, output):
                assert encode_event(e, serde) is None
                assert e.reason in ("missing_field", "bad_type")
                continue
            got = outcome(e, serde)
            seen[got] += 1
            if e.reason is None:
                assert got == "pass", (e.kind, e.detail)
            elif e.reason == "undecodable":
                assert got.startswith("decode:"), e.detail
            elif e.reason == "unknown_enum" and output == "avro":
                assert got == "decode:unknown_enum", e.detail
            else:
                assert got == e.reason, (e.detail, got)
        assert seen["pass"] > 0


def test_duplicates_copy_a_recent_ok_event(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for events in noisy.values():
        first_seen: dict[str, GeneratedEvent] = {}
        max_ts = 0
        copied: Counter[str] = Counter()
        for e in events:
            if e.kind == "duplicate":
                original = first_seen[e.event_id]  # type: ignore[index]
                assert original.kind == "ok" and original.index < e.index
                assert e.record == original.record and e.key == original.key
                assert e.record is not original.record
                assert e.detail == f"of:#{original.index}"
                assert max_ts - e.ts <= (30 + 5) * 1000  # type: ignore[operator]
                copied[e.event_id] += 1  # type: ignore[index]
            elif e.kind == "ok":
                first_seen[e.event_id] = e  # type: ignore[index]
            if e.kind in ("ok", "duplicate"):
                max_ts = max(max_ts, e.ts)  # type: ignore[type-var]
        assert copied and max(copied.values()) == 1


def test_ok_events_lag_at_most_out_of_order_s(noisy: dict[str, list[GeneratedEvent]]) -> None:
    for events in noisy.values():
        max_ts = 0
        lags = []
        for e in events:
            if e.kind == "ok":
                assert e.ts is not None and e.ts >= DEFAULT_START_MS
                lags.append(max_ts - e.ts)
                assert max_ts - e.ts <= 5000
            if e.kind in ("ok", "duplicate"):
                max_ts = max(max_ts, e.ts)  # type: ignore[type-var]
        assert max(lags) > 1000  # the jitter is real


def _closes_at(ts: int) -> int:
    """When an hourly window holding ts is closed: its end + 60 s lateness."""
    return (ts // HOUR_MS + 1) * HOUR_MS + 60_000


def test_late_is_late_and_ok_is_not(noisy: dict[str, list[GeneratedEvent]]) -> None:
    """Hourly windows, watermark = max ts - 10 s, 60 s allowed lateness."""
    for events in noisy.values():
        max_ts = None
        ok_before = 0
        for e in events:
            if e.kind == "late":
                assert ok_before >= 100  # the warm-up
                assert max_ts is not None and e.ts is not None
                assert LATE_MIN_S * 1000 - 6000 <= max_ts - e.ts <= LATE_MAX_S * 1000
                assert _closes_at(e.ts) <= max_ts - 10_000
            elif e.kind in ("ok", "duplicate"):
                assert e.ts is not None
                if max_ts is not None:
                    assert _closes_at(e.ts) > max_ts - 10_000 or e.ts >= max_ts - 70_000
                    assert e.ts >= max_ts - 70_000
                max_ts = e.ts if max_ts is None else max(max_ts, e.ts)
                ok_before += e.kind == "ok"


def test_invalid_reasons_can_be_restricted() -> None:
    events = gen("playback", 2000, invalid=0.5, invalid_reasons=["bad_ts", "empty_query"])
    assert {e.reason for e in events if e.reason} == {"bad_ts"}
    with pytest.raises(ConfigError, match="applies"):
        gen("login", 10, invalid=0.5, invalid_reasons=["empty_query"])
    with pytest.raises(ConfigError, match="unknown invalid reasons"):
        gen("login", 10, invalid=0.5, invalid_reasons=["typo"])


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"duplicates": 1.5}, "duplicates"),
        ({"late": -0.1}, "late"),
        ({"invalid": 0.6, "late": 0.6}, "more than 1"),
        ({"events_per_second": 0}, "events_per_second"),
        ({"out_of_order_s": -1}, "out_of_order_s"),
        ({"out_of_order_s": 7200}, "out_of_order_s"),
        ({"start_ms": 0}, "start_ms"),
        ({"accounts": 0}, "accounts"),
        ({"duplicate_delay_s": 0}, "duplicate_delay_s"),
    ],
)
def test_bad_parameters(kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        gen("login", 10, **kw)


def test_bad_topic_and_count() -> None:
    with pytest.raises(ConfigError, match="unknown topic"):
        gen("logins", 10)
    with pytest.raises(ConfigError, match="n=-1"):
        gen("login", -1)
    assert gen("login", 0) == []


# -- files -----------------------------------------------------------------------------------


def _expected_partitions(
    events: list[GeneratedEvent], partitions: int, output: str
) -> list[list[GeneratedEvent]]:
    parts: list[list[GeneratedEvent]] = [[] for _ in range(partitions)]
    for e in events:
        if is_representable(e, output):  # type: ignore[arg-type]
            parts[zlib.crc32(e.key.encode()) % partitions].append(e)
    return parts


def test_partition_for_is_crc32() -> None:
    assert partition_for("p-1", 4) == zlib.crc32(b"p-1") % 4
    assert partition_for("", 3) == 0


def test_avro_files(tmp_path: Path, noisy: dict[str, list[GeneratedEvent]], topic: str) -> None:
    events = noisy[topic]
    paths = write_avro_files(tmp_path, topic, events, partitions=3)
    assert paths == [tmp_path / topic / f"part-0000{p}.avro" for p in range(3)]
    expected = _expected_partitions(events, 3, "avro-file")
    for path, part in zip(paths, expected, strict=True):
        with open(path, "rb") as fo:
            reader = fastavro.reader(fo)
            assert reader.writer_schema["name"].endswith("Event")
            rows = list(reader)
        assert [r["event_id"] for r in rows] == [e.record["event_id"] for e in part]  # type: ignore[index]
        assert list(read_avro_container(path)) == [e.record for e in part]
    skipped = {e.kind for e in events if not is_representable(e, "avro-file")}
    assert skipped == {
        f"invalid:{r}"
        for r in ("missing_field", "bad_type", "undecodable", "unknown_enum")
        if topic in ("playback", "live") or r != "unknown_enum"
    }
    written = sum(len(p) for p in expected)
    assert written < len(events)
    assert any(e.kind.startswith("invalid:") for p in expected for e in p)


def test_avro_files_are_reproducible_and_replace_old_parts(tmp_path: Path) -> None:
    events = gen("login", 500, **NOISY)
    first = [p.read_bytes() for p in write_avro_files(tmp_path, "login", events, partitions=5)]
    (tmp_path / "login" / "other.txt").write_text("kept")
    second = write_avro_files(tmp_path, "login", events, partitions=2)
    assert sorted(p.name for p in (tmp_path / "login").iterdir()) == [
        "other.txt",
        "part-00000.avro",
        "part-00001.avro",
    ]
    again = [p.read_bytes() for p in write_avro_files(tmp_path, "login", events, partitions=5)]
    assert again == first
    assert len(second) == 2


def test_empty_partitions_still_get_a_file(tmp_path: Path) -> None:
    paths = write_avro_files(tmp_path, "gaming", gen("gaming", 2), partitions=8)
    assert len(paths) == 8 and all(p.exists() for p in paths)
    assert sum(len(list(read_avro_container(p))) for p in paths) == 2
    jsonl = write_jsonl_files(tmp_path / "j", "gaming", [], partitions=2)
    assert [p.read_bytes() for p in jsonl] == [b"", b""]


def test_jsonl_files(tmp_path: Path, noisy: dict[str, list[GeneratedEvent]], topic: str) -> None:
    events = noisy[topic]
    paths = write_jsonl_files(tmp_path, topic, events, partitions=4)
    assert [p.name for p in paths] == [f"part-0000{p}.jsonl" for p in range(4)]
    expected = _expected_partitions(events, 4, "json")
    assert sum(len(p) for p in expected) == len(events)
    serde = JsonSerde(topic)
    for path, part in zip(paths, expected, strict=True):
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b""
        lines = lines[:-1]
        assert len(lines) == len(part)
        for line, e in zip(lines, part, strict=True):
            if e.raw is not None:
                assert line == e.raw
                with pytest.raises(DecodeError):
                    serde.decode(line)
            else:
                assert serde.decode(line) == e.record


def test_writers_check_the_topic(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not login"):
        write_avro_files(tmp_path, "login", gen("search", 3))
    with pytest.raises(ConfigError, match="partitions"):
        write_jsonl_files(tmp_path, "login", gen("login", 3), partitions=0)
    assert not list((tmp_path / "login").glob(".*tmp"))


def test_produce_rejects_a_bad_rate_before_connecting() -> None:
    with pytest.raises(ConfigError, match="rate"):
        produce_to_kafka("localhost:1", "login", [], JsonSerde("login"), rate=0)
