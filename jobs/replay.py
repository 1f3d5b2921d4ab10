"""Replay (backfill) a time range of a topic through its graph job.

A replay is a bounded run of the job with its own consumer group
(``rdg-replay-<topic>-<from>-<to>``) and a fresh checkpoint directory under
``<state_dir>/replays/``, so it never disturbs the deployed job's offsets or state.

Which records: those whose event time lies in ``[from, to)``.  Kafka only finds offsets by
record timestamp, and records are slightly out of order, so the replay reads a little
more than the range and filters by event time:

- it starts each partition at the first offset whose timestamp is ``>= from - slack``
  (earlier records all have older timestamps, so no event of the range is before it);
- it ends a partition at the first *valid event* whose time is ``>= to + slack`` (events
  after it are at most ``slack`` older, so none of them is in the range) or at the end
  offset seen at the start;
- records whose event time (or, for records that are not valid events, the record
  timestamp) is outside ``[from, to)`` are skipped.

``slack`` defaults to the job's out-of-orderness plus allowed lateness: anything more out
of order than that was late in the live run anyway.

Why the result is right: the store's merges are idempotent (first_seen min, last_seen max,
the latest property, bucket counts max per (edge, hour, source partition)).  Replaying a
range the job already processed therefore changes no answer, and replaying an hour-aligned
range into an empty store reproduces that range's nodes, edges and buckets exactly
(events that were *late* in the live run are the exception: a replay may count them).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError, ConnectorError
from ingest.sources.base import AssignmentListener, PartitionBatch, Source
from jobs.cli_common import parse_time
from jobs.deploy import OpsError
from jobs.graph_job import JobSummary, event_time
from jobs.spec import JobSpec

__all__ = [
    "PartitionPlan",
    "RangeFilter",
    "ReplayRange",
    "ReplayResult",
    "parse_range",
    "plan_replay",
    "replay_group",
    "run_replay",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the range


@dataclass(frozen=True)
class ReplayRange:
    """Event times ``[from_ms, to_ms)``; ``to_ms`` None = up to the end offsets."""

    from_ms: int
    to_ms: int | None = None

    def contains(self, ts: int) -> bool:
        return ts >= self.from_ms and (self.to_ms is None or ts < self.to_ms)


def parse_range(from_text: str, to_text: str | None, now_ms: int | None = None) -> ReplayRange:
    """``--from``/``--to`` as ISO-8601 (naive = UTC) or epoch ms; errors say what to fix."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    from_ms = parse_time(from_text, "--from")
    if from_ms < 0:
        raise ConfigError(f"--from {from_text!r} is before 1970; give a time after the epoch")
    if from_ms > now:
        raise ConfigError(
            f"--from {from_text!r} is in the future; nothing to replay (times are UTC unless "
            "they carry an offset, e.g. 2026-01-01T10:00:00Z)"
        )
    to_ms = parse_time(to_text, "--to") if to_text is not None else None
    if to_ms is not None and to_ms <= from_ms:
        raise ConfigError(
            f"--to {to_text!r} is not after --from {from_text!r}; the range is [from, to)"
        )
    return ReplayRange(from_ms, to_ms)


def replay_group(topic: str, rng: ReplayRange) -> str:
    """The replay's consumer group: its own, never the deployed job's."""
    return f"rdg-replay-{topic}-{rng.from_ms}-{rng.to_ms if rng.to_ms is not None else 'end'}"


def _forget_group(bootstrap: str, group: str) -> None:
    """Delete the replay's consumer group: a replay starts from timestamps and resumes from
    its own checkpoints, so the group's committed offsets serve nothing once it ends."""
    from ingest.kafka import admin

    try:
        admin.delete_consumer_group(bootstrap, group)
    except Exception as exc:  # the replay's result stands; say what is left behind
        log.warning("could not delete the replay's consumer group %s: %s", group, exc)


def default_slack_ms(spec: JobSpec) -> int:
    return spec.window.out_of_orderness_ms + spec.window.allowed_lateness_ms


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PartitionPlan:
    """Where a partition's replay starts and probably ends, in offsets.

    ``end`` is the first offset whose record timestamp is at or after ``to + slack``: an
    estimate, since a record stamped with a later time (e.g. by a producer's clock) ends
    the estimate early; the replay may read on up to ``high``, the end offset.
    """

    partition: int
    start: int
    end: int
    high: int

    @property
    def records(self) -> int:
        return max(0, self.end - self.start)


def plan_replay(
    bootstrap: str, spec: JobSpec, rng: ReplayRange, slack_ms: int, timeout: float = 10.0
) -> list[PartitionPlan]:
    """Per partition: the first offset at ``from - slack`` and an end estimate (the first
    offset at ``to + slack``, or the end offset); for the progress bar and the summary."""
    from ingest.kafka import admin

    admin.list_topics(bootstrap, timeout=5.0)  # a clear error when the broker is down
    import confluent_kafka as ck

    consumer = ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "rdg-replay-plan",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        md = consumer.list_topics(timeout=timeout).topics.get(spec.source_topic)
        if md is None or md.error is not None or not md.partitions:
            raise OpsError(
                f"Kafka at {bootstrap} has no topic {spec.source_topic!r}; nothing to replay "
                f"for {spec.topic}",
                exit_code=1,
            )
        parts = sorted(md.partitions)
        lo_t = max(0, rng.from_ms - slack_ms)
        starts = consumer.offsets_for_times(
            [ck.TopicPartition(spec.source_topic, p, lo_t) for p in parts], timeout=timeout
        )
        ends: dict[int, int] = {}
        if rng.to_ms is not None:
            found = consumer.offsets_for_times(
                [ck.TopicPartition(spec.source_topic, p, rng.to_ms + slack_ms) for p in parts],
                timeout=timeout,
            )
            ends = {tp.partition: tp.offset for tp in found if tp.offset >= 0}
        plans = []
        start_of = {tp.partition: tp.offset for tp in starts}
        for p in parts:
            _low, high = consumer.get_watermark_offsets(
                ck.TopicPartition(spec.source_topic, p), timeout=timeout, cached=False
            )
            start = start_of.get(p, -1)
            start = high if start is None or start < 0 else start
            end = min(high, ends.get(p, high))
            plans.append(PartitionPlan(p, start, max(start, end), max(start, high)))
        return plans
    except ck.KafkaException as exc:
        raise ConnectorError(
            f"cannot read offsets of {spec.source_topic!r} from Kafka at {bootstrap}: {exc}"
        ) from exc
    finally:
        consumer.close()


# --------------------------------------------------------------------------- the filter


def _event_time(value: Any) -> int | None:
    if type(value) is not dict:
        return None
    try:
        return event_time(value)
    except (KeyError, ValueError, TypeError):
        return None


class _Tap:
    """Passes assignment calls through to the runner and notes where partitions start."""

    def __init__(self, listener: AssignmentListener, starts: dict[str, Any]) -> None:
        self._listener = listener
        self._starts = starts

    def on_assigned(self, partitions: list[str]) -> dict[str, Any]:
        return self._listener.on_assigned(partitions)

    def on_revoked(self, partitions: list[str]) -> None:
        self._listener.on_revoked(partitions)

    def on_started(self, positions: dict[str, Any]) -> None:
        self._starts.update(positions)
        self._listener.on_started(positions)


class RangeFilter(Source):
    """Wraps the job's source: keeps the records of the range, ends each partition after
    it (see the module docstring), and reports each partition's position."""

    bounded = True

    def __init__(
        self,
        inner: Source,
        rng: ReplayRange,
        slack_ms: int,
        on_batch: Callable[[str, Any, bool], None] | None = None,
    ) -> None:
        self.inner = inner
        self.rng = rng
        self.stop_at = None if rng.to_ms is None else rng.to_ms + slack_ms
        self.static_assignment = inner.static_assignment
        self.on_batch = on_batch
        self.starts: dict[str, Any] = {}
        self.positions: dict[str, Any] = {}
        self.done: set[str] = set()
        self.kept = 0
        self.skipped = 0

    def open(self, listener: AssignmentListener) -> None:
        self.inner.open(_Tap(listener, self.starts))

    def close(self) -> None:
        self.inner.close()

    def assigned(self) -> list[str]:
        return self.inner.assigned()

    def commit(self, positions: dict[str, Any]) -> None:
        self.inner.commit(positions)

    def _pause(self, partition: str) -> None:
        """Stop fetching a partition that is past the range."""
        self.inner.pause(partition)

    def filter_batch(self, b: PartitionBatch) -> PartitionBatch:
        values: list[Any] = []
        stamps: list[int] = []
        record_ts = b.timestamps
        cut: int | None = None
        for i, v in enumerate(b.values):
            et = _event_time(v)
            if self.stop_at is not None and et is not None and et >= self.stop_at:
                cut = i
                break
            t = et if et is not None else (record_ts[i] if record_ts is not None else None)
            if t is not None and self.rng.contains(t):
                values.append(v)
                stamps.append(record_ts[i] if record_ts is not None else t)
            else:
                self.skipped += 1
        self.kept += len(values)
        end = b.end_of_partition
        position = b.next_position
        if cut is not None:
            end = True
            if isinstance(position, int):  # offsets are consecutive within a batch
                position -= len(b.values) - cut
            self._pause(b.partition)
        if end:
            self.done.add(b.partition)
        self.positions[b.partition] = position
        if self.on_batch is not None:
            self.on_batch(b.partition, position, end)
        return PartitionBatch(
            b.partition, values, stamps if record_ts is not None else None, position, end
        )

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        return [
            self.filter_batch(b)
            for b in self.inner.poll(max_records, timeout_s)
            if b.partition not in self.done  # a late message of a partition past its range
        ]


# --------------------------------------------------------------------------- the run


@dataclass
class ReplayResult:
    topic: str
    group: str
    rng: ReplayRange
    summary: JobSummary
    partitions: int
    records_planned: int
    records_read: int
    skipped: int
    finished: bool
    checkpoint_dir: Path
    elapsed_s: float
    plan: list[PartitionPlan] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "group": self.group,
            "from_ms": self.rng.from_ms,
            "to_ms": self.rng.to_ms,
            "partitions": self.partitions,
            "records_planned": self.records_planned,
            "records_read": self.records_read,
            "records_in_range": self.summary.events_read,
            "records_skipped": self.skipped,
            "finished": self.finished,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.summary.as_dict(),
        }


class Progress:
    """Records done out of the records to read, from the partitions' positions.

    A partition's total is its plan's estimate until its position passes the estimate;
    then it is the end offset.  A finished partition counts what it actually read.
    """

    def __init__(self, plan: list[PartitionPlan]) -> None:
        self.plan = {str(p.partition): p for p in plan}
        self._total = {k: p.records for k, p in self.plan.items()}
        self._done: dict[str, int] = {k: 0 for k in self.plan}

    def update(self, partition: str, position: Any, finished: bool) -> int:
        p = self.plan.get(partition)
        if p is None:
            return self.done
        if isinstance(position, int):
            read = max(0, min(position, p.high) - p.start)
            self._done[partition] = read
            if finished:
                self._total[partition] = read
            elif read >= self._total[partition]:
                self._total[partition] = max(read, p.high - p.start)
        elif finished:
            self._done[partition] = self._total[partition]
        return self.done

    @property
    def done(self) -> int:
        return sum(self._done.values())

    @property
    def total(self) -> int:
        return sum(self._total.values())


def run_replay(
    spec: JobSpec,
    rng: ReplayRange,
    *,
    bootstrap: str,
    store: str,
    state_dir: Path,
    state_backend: str = "heap",
    slack_ms: int | None = None,
    on_plan: Callable[[list[PartitionPlan]], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    install_signal_handlers: bool = True,
) -> ReplayResult:
    """Replay ``rng`` of the spec's topic into ``store``; returns what it did."""
    from jobs.runner import RunOptions, run_graph_job

    slack = default_slack_ms(spec) if slack_ms is None else slack_ms
    if slack < 0:
        raise ConfigError(f"--slack {slack} must not be negative")
    plan = plan_replay(bootstrap, spec, rng, slack)
    if on_plan is not None:
        on_plan(plan)
    progress = Progress(plan)
    group = replay_group(spec.topic, rng)
    ckdir = state_dir / "replays" / f"{group}-{time.time_ns() // 1_000_000}"
    filters: list[RangeFilter] = []

    def on_batch(partition: str, position: Any, finished: bool) -> None:
        done = progress.update(partition, position, finished)
        if on_progress is not None:
            on_progress(done, progress.total)

    def wrap(source: Source) -> Source:
        f = RangeFilter(source, rng, slack, on_batch)
        filters.append(f)
        return f

    opts = RunOptions(
        source=f"kafka://{bootstrap}",
        store=store,
        state_dir=state_dir,
        state_backend=state_backend,
        checkpoint_dir=ckdir,
        group_id=group,
        start=max(0, rng.from_ms - slack),
        bounded=True,
        install_signal_handlers=install_signal_handlers,
        wrap_source=wrap,
    )
    t0 = time.perf_counter()
    try:
        summary = run_graph_job(spec, opts)
    finally:
        _forget_group(bootstrap, group)
    elapsed = time.perf_counter() - t0
    f = filters[0]
    finished = all(str(p.partition) in f.done for p in plan)
    if finished:  # nothing to resume: a new replay starts afresh
        shutil.rmtree(ckdir, ignore_errors=True)
    return ReplayResult(
        topic=spec.topic,
        group=group,
        rng=rng,
        summary=summary,
        partitions=len(plan),
        records_planned=progress.total,
        records_read=progress.done,
        skipped=f.skipped,
        finished=finished,
        checkpoint_dir=ckdir,
        elapsed_s=elapsed,
        plan=plan,
    )
