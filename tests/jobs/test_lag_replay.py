"""`rdg lag` arithmetic and checkpoint watermarks, and `rdg replay`'s time parsing, range
filter and progress, without a cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.deadletter import DeadLetter
from ingest.errors import ConfigError
from ingest.sources.base import AssignmentListener, PartitionBatch, Source
from jobs.lag import (
    JobLag,
    PartitionLag,
    event_time_lag_ms,
    input_rate,
    partition_watermarks,
    read_manifests,
    records_lag,
)
from jobs.replay import (
    PartitionPlan,
    Progress,
    RangeFilter,
    ReplayRange,
    parse_range,
    replay_group,
)
from tests.jobs.cli_helpers import error_of, isolate, rdg

H = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


# --------------------------------------------------------------------------- lag


def test_records_lag() -> None:
    assert records_lag(committed=90, low=0, end=100) == 10
    assert records_lag(committed=100, low=0, end=100) == 0
    assert records_lag(committed=None, low=20, end=100) == 80  # never committed: all retained
    assert records_lag(committed=-1001, low=20, end=100) == 80  # OFFSET_INVALID
    assert records_lag(committed=5, low=20, end=100) == 80  # retention deleted past it
    assert records_lag(committed=120, low=0, end=100) == 0  # never negative
    assert records_lag(committed=None, low=0, end=0) == 0


def test_event_time_lag_and_rate() -> None:
    assert event_time_lag_ms(None, 10_000) is None
    assert event_time_lag_ms(4_000, 10_000) == 6_000
    assert event_time_lag_ms(12_000, 10_000) == 0
    assert input_rate(None, 100, 1.0) is None
    assert input_rate(100, 300, None) is None
    assert input_rate(100, 300, 0.0) is None
    assert input_rate(100, 300, 2.0) == 100.0
    assert input_rate(100, 101, 3.0) == 0.3
    assert input_rate(300, 100, 1.0) == 0.0  # a re-created topic: not a negative rate


def test_job_lag_json_shape() -> None:
    j = JobLag("graph-login", "login", "login")
    j.partitions = [PartitionLag(0, 5, 10, 5, 1_000, 2.5), PartitionLag(1, None, 7, 7, None, None)]
    d = j.as_dict()
    assert d["total_lag"] == 12
    assert set(d["partitions"][0]) == {
        "partition",
        "committed",
        "end",
        "lag",
        "event_time_lag_ms",
        "rate",
    }
    assert {"job", "topic", "partitions", "total_lag"} <= set(d)
    json.dumps(d)


def manifest(ckdir: Path, cid: int, worker: str, created: int, parts: dict[str, Any]) -> None:
    m = ckdir / "manifests"
    m.mkdir(parents=True, exist_ok=True)
    body = {"id": cid, "worker": worker, "created_ms": created, "partitions": parts}
    (m / f"chk-{cid:012d}-{worker}.json").write_text(json.dumps(body))


def test_watermarks_come_from_the_newest_manifest_holding_each_partition(
    tmp_path: Path,
) -> None:
    ck = tmp_path / "ck"
    assert partition_watermarks(ck) == {}
    manifest(ck, 1, "w0", 1_000, {"0": {"watermark": 10}, "1": {"watermark": 11}})
    manifest(ck, 2, "w0", 2_000, {"0": {"watermark": 20}})
    manifest(ck, 1, "w1", 3_000, {"2": {"watermark": None}})  # nothing seen yet
    manifest(ck, 5, "w1", 500, {"1": {"watermark": 5}})  # an older cut, higher id
    (ck / "manifests" / "chk-000000000009-w0.json").write_text("{torn")
    assert partition_watermarks(ck) == {"0": 20, "1": 11, "2": None}
    assert [(m["id"], m["worker"]) for m in read_manifests(ck)] == [
        (1, "w1"),
        (2, "w0"),
        (1, "w0"),
        (5, "w1"),
    ]


def test_cli_lag_with_kafka_unreachable() -> None:
    msg = error_of(rdg("lag", "--bootstrap", "127.0.0.1:1", "--interval", "0"), 3)
    assert "127.0.0.1:1" in msg and "unreachable" in msg
    assert "--interval -1" in error_of(rdg("lag", "--interval", "-1"), 2)
    assert "no job for topic 'clicks'" in error_of(rdg("lag", "clicks"), 2)


# --------------------------------------------------------------------------- replay times


def test_parse_range_accepts_iso_and_epoch_ms() -> None:
    now = T0 + 100 * H
    assert parse_range("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", now) == ReplayRange(
        T0, T0 + H
    )
    assert parse_range("2026-01-01T00:00:00", None, now) == ReplayRange(T0, None)  # naive: UTC
    assert parse_range("2026-01-01T02:00:00+02:00", None, now) == ReplayRange(T0, None)
    assert parse_range(str(T0), str(T0 + 5), now) == ReplayRange(T0, T0 + 5)


@pytest.mark.parametrize(
    ("frm", "to", "needle"),
    [
        ("yesterday", None, "--from 'yesterday' is neither ISO-8601"),
        ("2026-01-01T00:00:00Z", "soon", "--to 'soon' is neither ISO-8601"),
        ("2026-01-01T01:00:00Z", "2026-01-01T00:00:00Z", "is not after --from"),
        ("2026-01-01T01:00:00Z", "2026-01-01T01:00:00Z", "is not after --from"),
        ("2099-01-01T00:00:00Z", None, "is in the future"),
        ("-5", None, "before 1970"),
    ],
)
def test_parse_range_errors_name_the_input(frm: str, to: str | None, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_range(frm, to, T0 + 100 * H)
    assert needle in str(exc.value)


def test_cli_replay_bad_times_exit_2_before_touching_kafka() -> None:
    r = rdg("replay", "login", "--from", "noon", "--bootstrap", "127.0.0.1:1")
    assert "--from 'noon' is neither ISO-8601" in error_of(r, 2)
    r = rdg(
        "replay",
        "login",
        "--from",
        "2026-01-01T01:00:00Z",
        "--to",
        "2026-01-01T00:00:00Z",
        "--bootstrap",
        "127.0.0.1:1",
    )
    assert "is not after --from" in error_of(r, 2)
    r = rdg("replay", "login", "--bootstrap", "127.0.0.1:1")
    assert r.exit_code == 2 and "--from" in r.output
    r = rdg("replay", "login", "--from", "2026-01-01T00:00:00Z", "--bootstrap", "127.0.0.1:1")
    assert "127.0.0.1:1" in error_of(r, 3)


def test_replay_group_is_its_own() -> None:
    assert replay_group("login", ReplayRange(T0, T0 + H)) == f"rdg-replay-login-{T0}-{T0 + H}"
    assert replay_group("login", ReplayRange(T0)) == f"rdg-replay-login-{T0}-end"


# --------------------------------------------------------------------------- range filter


class ScriptedSource(Source):
    """Returns pre-built batches, one list per poll."""

    bounded = True
    static_assignment = False

    def __init__(self, polls: list[list[PartitionBatch]]) -> None:
        self.polls = list(polls)
        self.committed: list[dict[str, Any]] = []
        self.listener: AssignmentListener | None = None

    def open(self, listener: AssignmentListener) -> None:
        self.listener = listener
        listener.on_started({"0": 10, "1": 50})

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        return self.polls.pop(0) if self.polls else []

    def commit(self, positions: dict[str, Any]) -> None:
        self.committed.append(positions)


class Listener:
    def __init__(self) -> None:
        self.started: dict[str, Any] = {}

    def on_assigned(self, partitions: list[str]) -> dict[str, Any]:
        return {}

    def on_revoked(self, partitions: list[str]) -> None:
        pass

    def on_started(self, positions: dict[str, Any]) -> None:
        self.started.update(positions)


def ev(ts: Any, eid: str = "e") -> dict[str, Any]:
    return {"event_id": eid, "ts": ts}


def batch(p: str, items: list[tuple[Any, int]], next_pos: int, end: bool = False) -> PartitionBatch:
    return PartitionBatch(p, [v for v, _ in items], [t for _, t in items], next_pos, end)


def test_range_filter_keeps_the_range_and_ends_after_it() -> None:
    rng = ReplayRange(T0, T0 + H)
    slack = 70_000
    dl = DeadLetter("undecodable", b"\x00", "decode", {})
    first = [
        batch(
            "0",
            [
                (ev(T0 - 5_000, "before"), T0 - 5_000),  # read for the slack, skipped
                (ev(T0, "a"), T0),
                (dl, T0 + 10),  # not an event: its record time decides (in range)
                (ev("bad", "badts"), 1_900_000_000_000),  # producer-clock stamp: skipped
                (ev(T0 + H - 1, "b"), T0 + H - 1),
                (ev(T0 + H, "after"), T0 + H),  # in the slack: skipped, not the end
                (ev(T0 + H - 3_000, "late-ordered"), T0 + H - 3_000),  # still in range
            ],
            next_pos=17,
        ),
        batch("1", [(ev(T0 + 5, "c"), T0 + 5)], next_pos=51),
    ]
    second = [
        batch(
            "0",
            [
                (ev(T0 + 10, "d"), T0 + 10),
                (ev(T0 + H + slack, "stop"), T0 + H + slack),  # first valid event past: end
                (ev(T0 + 20, "never"), T0 + 20),
            ],
            next_pos=20,
        ),
        batch("1", [], next_pos=51, end=True),
    ]
    third = [batch("0", [(ev(T0 + 30, "x"), T0 + 30)], next_pos=21)]  # after the end: dropped
    inner = ScriptedSource([first, second, third])
    seen: list[tuple[str, Any, bool]] = []
    f = RangeFilter(inner, rng, slack, on_batch=lambda p, pos, end: seen.append((p, pos, end)))
    listener = Listener()
    f.open(listener)
    assert f.starts == {"0": 10, "1": 50} and listener.started == {"0": 10, "1": 50}

    out = f.poll(100, 0.1)
    ids = [v["event_id"] if isinstance(v, dict) else "dl" for v in out[0].values]
    assert ids == ["a", "dl", "b", "late-ordered"]
    assert out[0].timestamps == [T0, T0 + 10, T0 + H - 1, T0 + H - 3_000]
    assert not out[0].end_of_partition and out[0].next_position == 17
    assert [v["event_id"] for v in out[1].values] == ["c"]

    out = f.poll(100, 0.1)
    assert [v["event_id"] for v in out[0].values] == ["d"]
    assert out[0].end_of_partition and out[0].next_position == 18  # offset of "stop"
    assert out[1].end_of_partition and out[1].values == []
    assert f.done == {"0", "1"}
    assert f.poll(100, 0.1) == []
    assert seen == [("0", 17, False), ("1", 51, False), ("0", 18, True), ("1", 51, True)]
    assert f.kept == 6 and f.skipped == 3
    f.commit({"0": 18})
    assert inner.committed == [{"0": 18}]


def test_range_filter_without_an_end_reads_to_the_end_offsets() -> None:
    inner = ScriptedSource(
        [[batch("0", [(ev(T0 + 100 * H, "far"), T0 + 100 * H), (ev(T0 - 1), T0 - 1)], 5, True)]]
    )
    f = RangeFilter(inner, ReplayRange(T0), 70_000)
    (b,) = f.poll(10, 0.1)
    assert [v["event_id"] for v in b.values] == ["far"] and b.end_of_partition


def test_progress_counts_offsets_and_corrects_a_short_estimate() -> None:
    plan = [PartitionPlan(0, start=10, end=30, high=100), PartitionPlan(1, 50, 50, 50)]
    pr = Progress(plan)
    assert (pr.done, pr.total) == (0, 20)
    assert pr.update("0", 20, False) == 10
    assert pr.update("0", 30, False) == 20 and pr.total == 90  # read past the estimate
    assert pr.update("0", 45, True) == 35 and pr.total == 35  # finished: what it read
    assert pr.update("1", 50, True) == 35 and pr.total == 35
    assert pr.update("7", 3, True) == 35  # not in the plan
