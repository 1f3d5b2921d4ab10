"""The operator contract and the push-based batch output between operators.

Records move as two parallel lists, ``values`` and ``timestamps`` (event time, epoch ms),
one pair per source poll: per-partition and per-key order are the list order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.metrics import Metrics
from ingest.state.store import PartitionStore
from ingest.time import MIN_WATERMARK, Clock

__all__ = ["Operator", "Output", "TaskContext"]


@dataclass
class TaskContext:
    """What the runtime gives an operator: its partition's store, clocks and metrics."""

    job: str
    partition: str
    store: PartitionStore
    clock: Clock
    watermark: Callable[[], int]
    metrics: Metrics = field(default_factory=Metrics)


class Output:
    """Pushes a batch to every downstream operator."""

    __slots__ = ("targets",)

    def __init__(self) -> None:
        self.targets: list[Operator] = []

    def push(self, values: list[Any], timestamps: list[int]) -> None:
        if values:
            for t in self.targets:
                t.process(values, timestamps)

    def emit(self, value: Any, timestamp: int) -> None:
        for t in self.targets:
            t.process([value], [timestamp])


class Operator:
    """Base class; stateless defaults for every hook."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        # This operator's event time: the last watermark it received (Flink semantics:
        # records an upstream operator emits while firing are judged against it).
        self.current_watermark = MIN_WATERMARK
        self.out = Output()
        self.side: dict[str, Output] = {}

    def side_output(self, tag: str) -> Output:
        out = self.side.get(tag)
        if out is None:
            out = Output()
            self.side[tag] = out
        return out

    def open(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        raise NotImplementedError

    def on_watermark(self, watermark: int) -> None:
        """The watermark advanced (``current_watermark`` is already set to it)."""

    def on_processing_time(self, now_ms: int) -> None:
        """Called every loop iteration with the job clock."""

    def prepare_snapshot(self) -> None:
        """A checkpoint is about to be taken (before sinks flush): emit anything held back
        in memory only, so the snapshot does not need it (Flink's prepareSnapshotPreBarrier)."""

    def finish(self) -> None:
        """End of a bounded input, after the final watermark: flush held-back output."""

    def snapshot(self) -> dict[str, Any]:
        """Small operator metadata for the checkpoint (keyed state goes via the store)."""
        return {}

    def restore(self, meta: dict[str, Any]) -> None:
        """Rebuild in-memory indexes from restored state and metadata."""

    def close(self) -> None:
        """Release resources."""
