"""The pipeline API (Flink's DataStream model): build a job graph, then run it.

Example::

    env = StreamEnvironment("clicks")
    clicks = env.from_source(MemorySource([[("a", 1000)]]),
                             WatermarkStrategy.for_bounded_out_of_orderness(0)
                                 .with_timestamp_assigner(1))
    counts = clicks.key_by(0).window(TumblingEventTimeWindows.of(60_000)).count()
    sink = CollectSink()
    counts.sink_to(sink)
    env.execute()

Operators get stable ids from their ``name`` (or their position in the graph); keyed state
in checkpoints is found again by those ids, so keep names stable across restarts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.checkpoint.config import CheckpointConfig
from ingest.errors import ConfigError
from ingest.functions import (
    AggregateFunction,
    Count,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    ProcessWindowFunction,
    ReduceAggregate,
)
from ingest.operators.base import Operator
from ingest.operators.basic import (
    FilterOperator,
    FlatMapOperator,
    MapOperator,
    ProcessOperator,
    SinkOperator,
)
from ingest.operators.keyed import KeyedProcessOperator
from ingest.operators.session import SessionWindowOperator
from ingest.operators.trymap import OriginFn, TryMapOperator
from ingest.operators.window import WindowFn, WindowOperator
from ingest.runtime.executor import JobResult, JobRunner
from ingest.sinks.base import Sink
from ingest.sources.base import Source
from ingest.state.backend import HeapStateBackend, StateBackend
from ingest.time import Clock, WatermarkStrategy, field_getter
from ingest.windows import EventTimeSessionWindows, WindowAssigner

__all__ = ["DataStream", "JobGraph", "KeyedStream", "StreamEnvironment", "WindowedStream"]

SOURCE = "__source__"


@dataclass
class _Node:
    uid: str
    factory: Callable[[], Operator]
    parent: str
    tag: str | None  # None = the parent's main output, else a side output


@dataclass
class JobGraph:
    """The frozen description of a job; instantiated once per source partition."""

    job_name: str
    source: Source
    watermarks: WatermarkStrategy
    nodes: list[_Node]
    sinks: list[Sink]
    state_backend: StateBackend
    checkpoint: CheckpointConfig | None
    clock: Clock | None
    max_batch: int
    poll_timeout_s: float
    gc_gen0_threshold: int | None = 100_000

    def instantiate(self) -> tuple[list[Operator], list[Operator]]:
        """Fresh operator instances wired together; returns (all in order, heads)."""
        ops: dict[str, Operator] = {}
        heads: list[Operator] = []
        for n in self.nodes:
            op = n.factory()
            ops[n.uid] = op
            if n.parent == SOURCE:
                heads.append(op)
            else:
                parent = ops[n.parent]
                out = parent.out if n.tag is None else parent.side_output(n.tag)
                out.targets.append(op)
        return list(ops.values()), heads


@dataclass
class StreamEnvironment:
    """Collects the job graph; ``execute()`` runs it in this process."""

    job_name: str = "job"
    state_backend: StateBackend = field(default_factory=HeapStateBackend)
    checkpoint: CheckpointConfig | None = None
    clock: Clock | None = None
    max_batch: int = 2000
    poll_timeout_s: float = 0.1
    #: CPython young-generation GC threshold while the job runs (None = leave as is).
    gc_gen0_threshold: int | None = 100_000

    def __post_init__(self) -> None:
        self._nodes: list[_Node] = []
        self._sinks: list[Sink] = []
        self._source: Source | None = None
        self._watermarks = WatermarkStrategy.for_monotonous_timestamps()
        self._uids: set[str] = set()

    def from_source(
        self, source: Source, watermarks: WatermarkStrategy | None = None
    ) -> DataStream:
        if self._source is not None:
            raise ConfigError("a job reads from one source; build another job for another")
        self._source = source
        if watermarks is not None:
            self._watermarks = watermarks
        return DataStream(self, SOURCE, None)

    def _add(
        self,
        name: str | None,
        kind: str,
        parent: str,
        tag: str | None,
        factory: Callable[[str], Operator],
    ) -> str:
        uid = name or f"{kind}-{len(self._nodes) + 1}"
        if uid in self._uids:
            raise ConfigError(f"operator name {uid!r} is used twice; names must be unique")
        self._uids.add(uid)
        self._nodes.append(_Node(uid, lambda: factory(uid), parent, tag))
        return uid

    def build(self) -> JobGraph:
        if self._source is None:
            raise ConfigError("the job has no source: call env.from_source(...) first")
        return JobGraph(
            self.job_name,
            self._source,
            self._watermarks,
            list(self._nodes),
            list(self._sinks),
            self.state_backend,
            self.checkpoint,
            self.clock,
            self.max_batch,
            self.poll_timeout_s,
            self.gc_gen0_threshold,
        )

    def runner(self) -> JobRunner:
        return JobRunner(self.build())

    def execute(self) -> JobResult:
        return self.runner().run()


class DataStream:
    """A stream of records: one output (main or side) of an operator."""

    def __init__(self, env: StreamEnvironment, uid: str, tag: str | None) -> None:
        self._env = env
        self._uid = uid
        self._tag = tag

    def _then(self, kind: str, name: str | None, factory: Callable[[str], Operator]) -> DataStream:
        uid = self._env._add(name, kind, self._uid, self._tag, factory)
        return DataStream(self._env, uid, None)

    def map(self, fn: Callable[[Any], Any], name: str | None = None) -> DataStream:
        return self._then("map", name, lambda uid: MapOperator(uid, fn))

    def try_map(
        self,
        fn: Callable[[Any], Any],
        dead_letters: OutputTag | str,
        origin: OriginFn | None = None,
        name: str | None = None,
    ) -> DataStream:
        """Map; a record on which ``fn`` raises goes to the ``dead_letters`` side output as
        a :class:`~ingest.deadletter.DeadLetter` (reason from the exception, ``origin``
        from the input record) and the rest of the batch carries on."""
        tag = dead_letters.name if isinstance(dead_letters, OutputTag) else dead_letters
        return self._then("try_map", name, lambda uid: TryMapOperator(uid, fn, tag, origin))

    def filter(self, fn: Callable[[Any], bool], name: str | None = None) -> DataStream:
        return self._then("filter", name, lambda uid: FilterOperator(uid, fn))

    def flat_map(self, fn: Callable[[Any], Iterable[Any]], name: str | None = None) -> DataStream:
        return self._then("flat_map", name, lambda uid: FlatMapOperator(uid, fn))

    def process(self, fn: ProcessFunction[Any, Any], name: str | None = None) -> DataStream:
        # one copy of the function per partition task, so what open() sets is per task
        return self._then("process", name, lambda uid: ProcessOperator(uid, copy.copy(fn)))

    def transform(self, name: str, factory: Callable[[str], Operator]) -> DataStream:
        """Add a custom operator (built once per partition task by ``factory(uid)``).

        The operator sees whole batches and may use the partition's keyed state directly
        (``ctx.store``), as the engine's own operators do.
        """
        return self._then("transform", name, factory)

    def key_by(self, key: Callable[[Any], Any] | str | int) -> KeyedStream:
        return KeyedStream(self, field_getter(key))

    def side_output(self, tag: OutputTag | str) -> DataStream:
        """The records this operator sent to a side output (late data, dead letters...)."""
        if self._uid == SOURCE:
            raise ConfigError("the source has no side outputs")
        name = tag.name if isinstance(tag, OutputTag) else tag
        return DataStream(self._env, self._uid, name)

    def sink_to(self, sink: Sink, name: str | None = None) -> None:
        self._env._sinks.append(sink)
        self._then("sink", name, lambda uid: SinkOperator(uid, sink))


class KeyedStream:
    """A stream partitioned by key: keyed state, timers and windows are per key."""

    def __init__(self, stream: DataStream, key: Callable[[Any], Any]) -> None:
        self._stream = stream
        self._key = key

    def process(self, fn: KeyedProcessFunction[Any, Any], name: str | None = None) -> DataStream:
        key = self._key
        return self._stream._then(
            "keyed_process", name, lambda uid: KeyedProcessOperator(uid, copy.copy(fn), key)
        )

    def window(
        self,
        assigner: WindowAssigner,
        allowed_lateness_ms: int = 0,
        late_output: OutputTag | str | None = None,
    ) -> WindowedStream:
        if allowed_lateness_ms < 0:
            raise ConfigError(f"allowed lateness must be >= 0 ms, got {allowed_lateness_ms}")
        if not assigner.event_time and allowed_lateness_ms:
            raise ConfigError("allowed lateness only applies to event-time windows")
        tag = late_output.name if isinstance(late_output, OutputTag) else late_output
        return WindowedStream(self, assigner, allowed_lateness_ms, tag)


class _ListAggregate(AggregateFunction[Any, list[Any], list[Any]]):
    def create_accumulator(self) -> list[Any]:
        return []

    def add(self, value: Any, acc: list[Any]) -> list[Any]:
        return [*acc, value]

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        return a + b


class WindowedStream:
    def __init__(
        self, keyed: KeyedStream, assigner: WindowAssigner, lateness: int, late_tag: str | None
    ) -> None:
        self._keyed = keyed
        self._assigner = assigner
        self._lateness = lateness
        self._late_tag = late_tag

    def aggregate(
        self,
        agg: AggregateFunction[Any, Any, Any],
        window_fn: WindowFn | None = None,
        name: str | None = None,
    ) -> DataStream:
        """Incremental aggregation; emits ``WindowResult`` or what ``window_fn`` yields."""
        a, key, lateness, tag = self._assigner, self._keyed._key, self._lateness, self._late_tag

        def factory(uid: str) -> Operator:
            if isinstance(a, EventTimeSessionWindows):
                return SessionWindowOperator(uid, key, a, agg, window_fn, lateness, tag)
            return WindowOperator(uid, key, a, agg, window_fn, lateness, tag)  # type: ignore[arg-type]

        return self._keyed._stream._then("window", name, factory)

    def count(self, name: str | None = None) -> DataStream:
        return self.aggregate(Count(), name=name)

    def reduce(self, fn: Callable[[Any, Any], Any], name: str | None = None) -> DataStream:
        return self.aggregate(ReduceAggregate(fn), name=name)

    def process(self, fn: ProcessWindowFunction[Any, Any], name: str | None = None) -> DataStream:
        """Full-window processing: every element is kept until the window fires."""

        def window_fn(key: Any, start: int, end: int, elements: list[Any]) -> Iterable[Any]:
            return fn.process(key, start, end, elements)

        return self.aggregate(_ListAggregate(), window_fn, name=name)
