"""Engine benchmark: keyed tumbling-window count and incremental checkpoint time.

Measures, in one run:
- ``baseline_rps``: a bare Python loop counting (key, window) into a dict, no engine;
- ``heap_rps`` / ``rocksdb_rps``: the same count through the engine (4 source partitions,
  key_by, 60 s tumbling event-time windows, results to a null sink);
- ``checkpoint_ms``: an incremental checkpoint after 10,000 of 1,000,000 keys changed
  (``checkpoint_full_ms``: the full checkpoint before it), heap and RocksDB.

Prints human-readable figures, then one JSON line.  Run: ``python bench/engine.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from ingest import (
    CheckpointConfig,
    KeyedProcessFunction,
    MemorySource,
    NullSink,
    StreamEnvironment,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)
from ingest.sources.base import AssignmentListener, PartitionBatch, Source
from ingest.state import HeapStateBackend, RocksDBStateBackend, StateBackend

WINDOW_MS = 60_000
PARTITIONS = 4


def make_records(n: int, keys: int, seed: int = 7) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    names = [f"user-{i:06d}" for i in range(keys)]
    span_ms = 10 * WINDOW_MS  # ten windows of event time
    out = []
    for i in range(n):
        ts = 1_700_000_000_000 + i * span_ms // n + rng.randrange(0, 2000)
        out.append((names[rng.randrange(keys)], ts))
    return out


def partition(records: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    parts: list[list[tuple[str, int]]] = [[] for _ in range(PARTITIONS)]
    for r in records:
        parts[zlib.crc32(r[0].encode()) % PARTITIONS].append(r)
    return parts


def baseline(records: list[tuple[str, int]]) -> tuple[float, int]:
    t0 = time.perf_counter()
    counts: dict[tuple[str, int], int] = {}
    for key, ts in records:
        k = (key, ts - ts % WINDOW_MS)
        counts[k] = counts.get(k, 0) + 1
    return time.perf_counter() - t0, len(counts)


def engine(
    parts: list[list[tuple[str, int]]], backend: StateBackend, checkpoint_ms: int
) -> tuple[float, int, int]:
    """Run the job; with ``checkpoint_ms`` > 0 it checkpoints that often, so committed
    state really lives in the backend (RocksDB is read and written, not only the cache)."""
    ckdir = tempfile.mkdtemp(prefix="bench-ckpt-")
    env = StreamEnvironment(
        "bench-window",
        state_backend=backend,
        max_batch=5000,
        checkpoint=CheckpointConfig(Path(ckdir), interval_ms=checkpoint_ms)
        if checkpoint_ms
        else None,
    )
    src = env.from_source(
        MemorySource(parts, batch_size=5000),
        WatermarkStrategy.for_bounded_out_of_orderness(2000).with_timestamp_assigner(1),
    )
    sink = NullSink()
    src.key_by(0).window(TumblingEventTimeWindows.of(WINDOW_MS)).count().sink_to(sink)
    t0 = time.perf_counter()
    result = env.execute()
    dt = time.perf_counter() - t0
    shutil.rmtree(ckdir, ignore_errors=True)
    return dt, sink.count, len(result.checkpoints)


class _Phased(Source):
    """One partition: first all keys, then 1% of them, a checkpoint after each phase."""

    def __init__(self, phases: list[list[tuple[str, int]]]) -> None:
        self.phases = phases
        self.i = 0
        self.runner: Any = None

    def open(self, listener: AssignmentListener) -> None:
        listener.on_assigned(["0"])

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        if self.i >= len(self.phases):
            return [PartitionBatch("0", [], None, self.i, True)]
        vals = self.phases[self.i]
        self.i += 1
        self.runner.request_checkpoint()
        return [PartitionBatch("0", vals, None, self.i, False)]


class _LastSeen(KeyedProcessFunction[tuple[str, int], None]):
    def open(self, ctx: Any) -> None:
        self.state = ctx.value_state("last")

    def process_element(self, value: tuple[str, int], ctx: Any) -> None:
        self.state.update(value[1])


def checkpoint_bench(backend: StateBackend, keys: int, changed: int) -> tuple[float, float]:
    names = [f"k{i:07d}" for i in range(keys)]
    phase1 = [(k, 1000) for k in names]
    phase2 = [(k, 2000) for k in random.Random(3).sample(names, changed)]
    with tempfile.TemporaryDirectory() as d:
        env = StreamEnvironment(
            "bench-ckpt",
            state_backend=backend,
            checkpoint=CheckpointConfig(Path(d), interval_ms=0, compact_every=100),
        )
        src = _Phased([phase1, phase2])
        env.from_source(
            src, WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(1)
        ).key_by(0).process(_LastSeen(), name="last-seen")
        runner = env.runner()
        src.runner = runner
        durations: list[float] = []
        runner.on_checkpoint = lambda cid: durations.append(runner.coordinator.last_duration_ms)  # type: ignore[union-attr]
        runner.run()
    return durations[0], durations[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--checkpoint-keys", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs for throughput")
    ap.add_argument(
        "--checkpoint-interval-ms",
        type=int,
        default=200,
        help="checkpoint period during the throughput runs (0 = none)",
    )
    args = ap.parse_args()

    records = make_records(args.records, args.keys)
    parts = partition(records)
    base_s = min(baseline(records)[0] for _ in range(args.repeat))
    ck = args.checkpoint_interval_ms
    heap_runs = [engine(parts, HeapStateBackend(), ck) for _ in range(args.repeat)]
    heap_s = min(r[0] for r in heap_runs)
    with tempfile.TemporaryDirectory() as d:
        rocks_runs = [engine(parts, RocksDBStateBackend(Path(d)), ck) for _ in range(args.repeat)]
    rocks_s = min(r[0] for r in rocks_runs)
    changed = args.checkpoint_keys // 100
    heap_full, heap_inc = checkpoint_bench(HeapStateBackend(), args.checkpoint_keys, changed)
    with tempfile.TemporaryDirectory() as d:
        rocks_full, rocks_inc = checkpoint_bench(
            RocksDBStateBackend(Path(d)), args.checkpoint_keys, changed
        )

    n = args.records
    res = {
        "records": n,
        "keys": args.keys,
        "baseline_rps": round(n / base_s),
        "heap_rps": round(n / heap_s),
        "rocksdb_rps": round(n / rocks_s),
        "heap_vs_baseline": round(base_s / heap_s, 3),
        "rocksdb_vs_baseline": round(base_s / rocks_s, 3),
        "checkpoint_ms": round(heap_inc, 1),
        "checkpoint_full_ms": round(heap_full, 1),
        "rocksdb_checkpoint_ms": round(rocks_inc, 1),
        "rocksdb_checkpoint_full_ms": round(rocks_full, 1),
        "checkpoints_during_run": min(r[2] for r in heap_runs + rocks_runs),
        "checkpoint_interval_ms": ck,
        "checkpoint_keys": args.checkpoint_keys,
        "checkpoint_changed_keys": changed,
    }
    print(
        f"(engine runs checkpoint every {ck} ms: {res['checkpoints_during_run']}+ checkpoints "
        "per run, so committed state is in the backend)"
    )
    print(f"baseline (bare loop):  {res['baseline_rps']:>12,} records/s")
    print(f"engine, heap:          {res['heap_rps']:>12,} records/s  ({res['heap_vs_baseline']}x)")
    print(
        f"engine, RocksDB:       {res['rocksdb_rps']:>12,} records/s  ({res['rocksdb_vs_baseline']}x)"
    )
    print(
        f"incremental checkpoint ({changed:,} of {args.checkpoint_keys:,} keys changed): "
        f"heap {heap_inc:.1f} ms, RocksDB {rocks_inc:.1f} ms "
        f"(full: heap {heap_full:.0f} ms, RocksDB {rocks_full:.0f} ms)"
    )
    print(json.dumps(res))


if __name__ == "__main__":
    main()
