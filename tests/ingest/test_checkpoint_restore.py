"""Crash at random points, restore, and get exactly the uninterrupted output."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import (
    CheckpointConfig,
    KeyedProcessFunction,
    ManualClock,
    MemorySource,
    OutputTag,
    StreamEnvironment,
    TumblingEventTimeWindows,
    UpsertSink,
    WatermarkStrategy,
)
from ingest.checkpoint import CheckpointCoordinator
from ingest.errors import InjectedCrash
from ingest.state import HeapStateBackend, RocksDBStateBackend, StateBackend
from ingest.testing import CrashingSink, CrashingSource

LATE = OutputTag("late")


class TickingClock(ManualClock):
    """Advances 1 ms per read, so interval checkpoints happen often and deterministically."""

    def now_ms(self) -> int:
        self.advance(1)
        return super().now_ms()


class RunningCount(KeyedProcessFunction[Any, Any]):
    """Keyed state + event-time timers: emits (key, timer_ts, count so far) on timers."""

    def open(self, ctx: Any) -> None:
        self.count = ctx.value_state("count")
        self.seen = ctx.map_state("seen")

    def process_element(self, value: Any, ctx: Any) -> None:
        self.count.update((self.count.value() or 0) + 1)
        self.seen.put(value[1], True)
        ctx.register_event_time_timer(value[1] - value[1] % 50 + 49)

    def on_timer(self, timestamp: int, ctx: Any) -> None:
        ctx.emit(("timer", ctx.current_key, timestamp, self.count.value(), len(self.seen.keys())))


def build(
    parts: list[list[tuple[str, int]]],
    ckpt_dir: Path,
    target: dict[Any, Any],
    backend: StateBackend,
    crash_after: int | None = None,
    crash_on_flush: int | None = None,
    interval_ms: int = 3,
) -> StreamEnvironment:
    env = StreamEnvironment(
        "crashy",
        state_backend=backend,
        checkpoint=CheckpointConfig(ckpt_dir, interval_ms=interval_ms, retain=2, compact_every=3),
        clock=TickingClock(),
        max_batch=3,
    )
    source: Any = MemorySource(parts, batch_size=3)
    if crash_after is not None:
        source = CrashingSource(source, crash_after)
    src = env.from_source(
        source, WatermarkStrategy.for_bounded_out_of_orderness(5).with_timestamp_assigner(1)
    )
    keyed = src.key_by(0)
    windows = keyed.window(TumblingEventTimeWindows.of(20), 10, LATE).count(name="win")
    sink: Any = UpsertSink(lambda r: ("win", r.key, r.start), target)
    if crash_on_flush is not None:
        sink = CrashingSink(sink, crash_on_flush)
    windows.sink_to(sink)
    windows.side_output(LATE).sink_to(UpsertSink(lambda r: ("late", r), target))
    keyed.process(RunningCount(), name="running").sink_to(
        UpsertSink(lambda r: (r[0], r[1], r[2]), target)
    )
    return env


@st.composite
def inputs(draw: Any) -> list[list[tuple[str, int]]]:
    parts = []
    for p in range(draw(st.integers(1, 3))):
        t = 0
        recs = []
        for _ in range(draw(st.integers(0, 40))):
            t += draw(st.integers(0, 8))
            late = draw(st.integers(0, 12)) == 0
            recs.append((f"k{p}-{draw(st.integers(0, 3))}", max(0, t - (40 if late else 0))))
        parts.append(recs)
    return parts


def _backend(kind: str, d: Path) -> StateBackend:
    return HeapStateBackend(compact_every=3) if kind == "heap" else RocksDBStateBackend(d / "rocks")


@pytest.mark.parametrize("kind", ["heap", "rocksdb"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=inputs(), crashes=st.lists(st.integers(1, 120), min_size=1, max_size=3))
def test_crash_and_restore_equals_uninterrupted(
    kind: str, parts: list[list[tuple[str, int]]], crashes: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        expected: dict[Any, Any] = {}
        build(parts, root / "a", expected, _backend(kind, root / "ra")).execute()

        target: dict[Any, Any] = {}
        for point in sorted(crashes):
            env = build(parts, root / "b", target, _backend(kind, root / "rb"), crash_after=point)
            try:
                env.execute()
                break  # the input ended before this crash point
            except InjectedCrash:
                continue
        build(parts, root / "b", target, _backend(kind, root / "rb")).execute()
        assert target == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=inputs(), flush_no=st.integers(1, 12))
def test_crash_in_sink_flush_equals_uninterrupted(
    parts: list[list[tuple[str, int]]], flush_no: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        expected: dict[Any, Any] = {}
        build(parts, root / "a", expected, HeapStateBackend()).execute()
        target: dict[Any, Any] = {}
        with contextlib.suppress(InjectedCrash):
            build(parts, root / "b", target, HeapStateBackend(), crash_on_flush=flush_no).execute()
        build(parts, root / "b", target, HeapStateBackend()).execute()
        assert target == expected


def _parts() -> list[list[tuple[str, int]]]:
    return [[(f"k{i % 5}", i * 3) for i in range(60)], [(f"j{i % 4}", i * 2) for i in range(50)]]


def test_torn_checkpoint_is_skipped_and_output_still_exact(tmp_path: Path) -> None:
    parts = _parts()
    expected: dict[Any, Any] = {}
    build(parts, tmp_path / "a", expected, HeapStateBackend()).execute()

    target: dict[Any, Any] = {}
    ck = tmp_path / "b"
    with pytest.raises(InjectedCrash):
        build(parts, ck, target, HeapStateBackend(), crash_after=70).execute()
    manifests = sorted((ck / "manifests").glob("chk-*.json"))
    assert len(manifests) >= 2
    newest = json.loads(manifests[-1].read_text())
    # tear the newest checkpoint: truncate one of its blobs
    blob = ck / newest["partitions"]["0"]["chain"][-1]["path"]
    blob.write_bytes(blob.read_bytes()[:10])
    coord = CheckpointCoordinator("crashy", CheckpointConfig(ck))
    point = coord.restore_point("0")
    assert point is not None and point.checkpoint_id < newest["id"]
    # an unfinished manifest (crash before the rename) and a garbage one are ignored
    (ck / "manifests" / f".chk-{newest['id'] + 1:012d}-w0.json.tmp").write_text("{")
    (ck / "manifests" / f"chk-{newest['id'] + 2:012d}-w0.json").write_text("not json")
    assert coord.restore_point("0").checkpoint_id == point.checkpoint_id  # type: ignore[union-attr]

    build(parts, ck, target, HeapStateBackend()).execute()
    assert target == expected


def test_missing_blob_falls_back_to_older_checkpoint(tmp_path: Path) -> None:
    target: dict[Any, Any] = {}
    with pytest.raises(InjectedCrash):
        build(_parts(), tmp_path, target, HeapStateBackend(), crash_after=80).execute()
    newest = json.loads(sorted((tmp_path / "manifests").glob("chk-*.json"))[-1].read_text())
    (tmp_path / newest["partitions"]["1"]["chain"][-1]["path"]).unlink()
    coord = CheckpointCoordinator("crashy", CheckpointConfig(tmp_path))
    alone = coord.restore_point("1")
    assert alone is not None and alone.checkpoint_id < newest["id"]
    # partition 0 alone can use the newest checkpoint; restored together with partition 1
    # both come from the same older one (a consistent cut)
    assert coord.restore_point("0").checkpoint_id == newest["id"]  # type: ignore[union-attr]
    both = coord.restore_points(["0", "1"])
    assert both["0"].checkpoint_id == both["1"].checkpoint_id == alone.checkpoint_id


def test_incremental_chain_retention_and_compaction(tmp_path: Path) -> None:
    target: dict[Any, Any] = {}
    build(_parts(), tmp_path, target, HeapStateBackend(), interval_ms=2).execute()
    manifests = sorted((tmp_path / "manifests").glob("chk-*.json"))
    assert len(manifests) == 2  # retain=2
    for m in manifests:
        for entry in json.loads(m.read_text())["partitions"].values():
            chain = entry["chain"]
            assert chain[0]["full"] and not any(c["full"] for c in chain[1:])
            assert len(chain) <= 3  # compact_every=3
    referenced = {
        c["path"]
        for m in manifests
        for e in json.loads(m.read_text())["partitions"].values()
        for c in e["chain"]
    }
    on_disk = {str(p.relative_to(tmp_path)) for p in (tmp_path / "data").rglob("*.*")}
    assert on_disk == referenced  # pruned blobs are gone, referenced ones kept


def test_restart_after_completion_reads_nothing_new(tmp_path: Path) -> None:
    target: dict[Any, Any] = {}
    r1 = build(_parts(), tmp_path, target, HeapStateBackend()).execute()
    assert r1.metrics["records_in"] == 110
    r2 = build(_parts(), tmp_path, target, HeapStateBackend()).execute()
    assert r2.metrics.get("records_in", 0) == 0
