"""The job loop: poll, process per-partition batches, advance time, checkpoint.

One loop per worker process, single-threaded: a poll returns at most one batch per
partition; each batch runs through that partition's operator chain; then the job
watermark (minimum over active partitions) and processing time are pushed to every task,
and a checkpoint is taken if one is due.  The order of partitions within a poll is fixed,
so a bounded input replayed from a checkpoint sees the same batches and watermarks.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ingest.checkpoint.coordinator import CheckpointCoordinator
from ingest.errors import ConfigError
from ingest.metrics import Metrics
from ingest.operators.base import TaskContext
from ingest.runtime.task import PartitionTask
from ingest.sources.base import PartitionBatch
from ingest.time import (
    MAX_WATERMARK,
    MIN_WATERMARK,
    PartitionWatermark,
    SystemClock,
    combine_watermarks,
)

if TYPE_CHECKING:
    from ingest.pipeline import JobGraph

__all__ = ["JobResult", "JobRunner"]

log = logging.getLogger(__name__)

_INT_ONLY = {int}


@contextlib.contextmanager
def _gc_tuned(gen0: int | None) -> Any:
    """Raise the young-generation GC threshold while the job runs.

    The loop allocates many short-lived containers per batch; with CPython's default
    threshold (700) the collector runs thousands of times per second and, each time,
    re-traverses survivors that are held in large state dicts.  Measured on the engine
    benchmark this halves throughput; a threshold of ~100k removes most of it.
    """
    if not gen0:
        yield
        return
    old = gc.get_threshold()
    gc.set_threshold(gen0, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


@dataclass
class JobResult:
    job: str
    metrics: dict[str, int]
    checkpoints: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    watermark: int = MIN_WATERMARK


class JobRunner:
    """Runs a :class:`~ingest.pipeline.JobGraph` in this process."""

    def __init__(self, graph: JobGraph) -> None:
        self.graph = graph
        self.job = graph.job_name
        self.clock = graph.clock or SystemClock()
        self.metrics = Metrics()
        self.tasks: dict[str, PartitionTask] = {}
        self.coordinator = (
            CheckpointCoordinator(self.job, graph.checkpoint) if graph.checkpoint else None
        )
        self._wm = MIN_WATERMARK
        self._stop = threading.Event()
        self._closing = False
        self._ckpt_requested = threading.Event()
        self._next_ckpt_ms: int | None = None
        self._assigner = graph.watermarks.assigner()
        self._ts_bounds = graph.watermarks.timestamp_bounds
        self.restored_from: dict[str, int] = {}
        self.on_checkpoint: Callable[[int], None] | None = None

    # -- control ---------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop after the current poll, with a final checkpoint (safe from other threads)."""
        self._stop.set()

    def request_checkpoint(self) -> None:
        """Take a checkpoint after the current poll (safe from other threads)."""
        self._ckpt_requested.set()

    @property
    def watermark(self) -> int:
        return self._wm

    # -- assignment --------------------------------------------------------------------
    def on_assigned(self, partitions: list[str]) -> dict[str, Any]:
        starts: dict[str, Any] = {}
        now = self.clock.now_ms()
        points = self.coordinator.restore_points(partitions) if self.coordinator else {}
        for p in partitions:
            task = self._create_task(p)
            task.watermark.last_activity_ms = now
            point = points.get(p)
            if point is not None:
                metas = [CheckpointCoordinator.load_task_meta(b) for b in point.blobs]
                task.store.restore([store for store, _ in metas])
                task.restore_meta(metas[-1][1])
                task.position = point.position
                self.restored_from[p] = point.checkpoint_id
                self._wm = max(self._wm, min(op.current_watermark for op in task.operators))
                log.info("partition %s restored from checkpoint %d", p, point.checkpoint_id)
            self.tasks[p] = task
            starts[p] = task.position
        return starts

    def on_started(self, positions: dict[str, Any]) -> None:
        for p, pos in positions.items():
            task = self.tasks.get(p)
            if task is not None and task.position is None:
                task.position = pos

    def on_revoked(self, partitions: list[str]) -> None:
        tasks = [self.tasks[p] for p in partitions if p in self.tasks]
        # While shutting down the final checkpoint (if any) is already taken; a failed job
        # must not checkpoint at all.
        if self.coordinator and tasks and not self._closing:
            self._checkpoint(tasks, kind="revoke")
        for t in tasks:
            self._release(t)

    def _release(self, task: PartitionTask) -> None:
        self.metrics.merge(task.metrics)
        task.close()
        self.tasks.pop(task.partition, None)
        if self.coordinator:
            self.coordinator.forget(task.partition)

    def _create_task(self, partition: str) -> PartitionTask:
        g = self.graph
        store = g.state_backend.create_store(self.job, partition)
        tmetrics = Metrics()
        ctx = TaskContext(self.job, partition, store, self.clock, lambda: self._wm, tmetrics)
        ops, heads = g.instantiate()
        for op in ops:
            op.open(ctx)
        wms = g.watermarks
        wm = PartitionWatermark(wms.max_out_of_orderness_ms, wms.enabled)
        return PartitionTask(partition, ops, heads, store, wm, tmetrics)

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> JobResult:
        with _gc_tuned(self.graph.gc_gen0_threshold):
            return self._run()

    def _run(self) -> JobResult:
        g = self.graph
        t0 = time.perf_counter()
        source = g.source
        source.open(self)
        if self.coordinator and g.checkpoint and g.checkpoint.interval_ms > 0:
            self._next_ckpt_ms = self.clock.now_ms() + g.checkpoint.interval_ms
        finished = False
        try:
            while not self._stop.is_set():
                batches = source.poll(g.max_batch, g.poll_timeout_s)
                now = self.clock.now_ms()
                for b in batches:
                    self._process(b, now)
                if source.bounded and self.tasks and all(t.finished for t in self.tasks.values()):
                    finished = True
                    break
                self._advance(now)
                if self._checkpoint_due(now):
                    self._checkpoint(list(self.tasks.values()), kind="periodic")
                if source.bounded and source.static_assignment and not self.tasks and not batches:
                    finished = True
                    break
            if finished:
                self._wm = MAX_WATERMARK
                for t in self.tasks.values():
                    t.finish()
            for sink in g.sinks:
                sink.flush()
            if self.coordinator and self.tasks:
                self._checkpoint(list(self.tasks.values()), kind="final" if finished else "stop")
        finally:
            self._closing = True
            try:
                source.close()  # a consumer group revokes here: no checkpoint while closing
            finally:
                for t in list(self.tasks.values()):
                    self._release(t)
        return JobResult(
            self.job,
            self.metrics.as_dict(),
            list(self.coordinator.completed) if self.coordinator else [],
            time.perf_counter() - t0,
            self._wm,
        )

    def _process(self, b: PartitionBatch, now: int) -> None:
        task = self.tasks.get(b.partition)
        if task is None:
            raise ConfigError(f"source returned a batch for unassigned partition {b.partition}")
        values = b.values
        if values:
            ts = self._timestamps(task, b)
            task.metrics.inc("records_in", len(values))
            hi = max(ts)
            task.watermark.observe(hi, now)
            task.process(values, ts)
        task.position = b.next_position
        if b.end_of_partition:
            task.finished = True
            task.watermark.finished = True

    def _timestamps(self, task: PartitionTask, b: PartitionBatch) -> list[Any]:
        """The batch's timestamps, checked: ints within the strategy's bounds, the
        partition's current time where a record has none."""
        assign = self._assigner
        ts: list[Any]
        if assign is None:
            if b.timestamps is None:
                raise ConfigError(
                    f"partition {b.partition} has no record timestamps: give the watermark "
                    "strategy a timestamp assigner (with_timestamp_assigner('ts'))"
                )
            ts = b.timestamps
        else:
            try:
                ts = list(map(assign, b.values))
            except Exception:
                return self._checked_timestamps(task, b.values, assign)
        # All ints (an assigner's None means "no timestamp") within the bounds: checked at C
        # speed; otherwise record by record.
        bounds = self._ts_bounds
        if set(map(type, ts)) != _INT_ONLY or (
            bounds is not None and (min(ts) < bounds[0] or max(ts) >= bounds[1])
        ):
            return self._checked_timestamps(task, ts)
        return ts

    def _checked_timestamps(
        self, task: PartitionTask, items: list[Any], assign: Callable[[Any], Any] | None = None
    ) -> list[int]:
        """Per-record slow path: a record without a usable int timestamp must not crash the
        job; it keeps the partition's current time and flows on, so a later step can
        dead-letter it (and it does not move the watermark)."""
        fallback = task.watermark.max_ts if task.watermark.max_ts > MIN_WATERMARK else 0
        ts: list[Any]
        if assign is None:
            ts = list(items)
        else:
            ts = []
            for v in items:
                try:
                    ts.append(assign(v))
                except Exception:  # no usable timestamp
                    ts.append(None)
        bounds = self._ts_bounds
        if bounds is None:
            ok = [type(t) is int for t in ts]
        else:
            lo, hi = bounds
            ok = [type(t) is int and lo <= t < hi for t in ts]
        out = [t if good else fallback for t, good in zip(ts, ok, strict=True)]
        bad = ok.count(False)
        task.metrics.inc("timestamp_errors", bad)
        return out

    def _advance(self, now: int) -> None:
        timeout = self.graph.watermarks.idle_timeout_ms
        if timeout is not None:
            for t in self.tasks.values():
                if not t.finished and now - t.watermark.last_activity_ms >= timeout:
                    t.watermark.idle = True
        combined = combine_watermarks([t.watermark for t in self.tasks.values()])
        if combined is not None and combined > self._wm:
            self._wm = combined
            for t in self.tasks.values():
                t.on_watermark(combined)
        for t in self.tasks.values():
            t.on_processing_time(now)

    def _checkpoint_due(self, now: int) -> bool:
        if self.coordinator is None:
            return False
        if self._ckpt_requested.is_set():
            self._ckpt_requested.clear()
            return True
        return self._next_ckpt_ms is not None and now >= self._next_ckpt_ms

    def _checkpoint(self, tasks: list[PartitionTask], kind: str) -> None:
        assert self.coordinator is not None
        cid = self.coordinator.checkpoint(tasks, self.graph.sinks, kind=kind)
        # 6. only positions of a complete checkpoint reach the source
        self.graph.source.commit({t.partition: t.position for t in tasks})
        # 7. prune
        self.coordinator.prune(self.tasks.keys())
        cfg = self.graph.checkpoint
        if cfg is not None and cfg.interval_ms > 0:
            self._next_ckpt_ms = self.clock.now_ms() + cfg.interval_ms
        if self.on_checkpoint is not None:
            self.on_checkpoint(cid)
