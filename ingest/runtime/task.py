"""A partition task: the operator chain, keyed state and watermark of one source partition.

State is partitioned by source partition (the key group), so a partition's task can be
checkpointed, revoked and restored elsewhere on its own.
"""

from __future__ import annotations

from typing import Any

from ingest.metrics import Metrics
from ingest.operators.base import Operator
from ingest.state.store import PartitionStore
from ingest.time import MAX_WATERMARK, PartitionWatermark

__all__ = ["PartitionTask"]


class PartitionTask:
    def __init__(
        self,
        partition: str,
        operators: list[Operator],
        heads: list[Operator],
        store: PartitionStore,
        watermark: PartitionWatermark,
        metrics: Metrics,
    ) -> None:
        self.partition = partition
        self.operators = operators  # topological order
        self.heads = heads
        self.store = store
        self.watermark = watermark
        self.metrics = metrics
        self.position: Any = None
        self.finished = False

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        for op in self.heads:
            op.process(values, timestamps)

    def on_watermark(self, wm: int) -> None:
        for op in self.operators:  # topological order: upstream output precedes downstream time
            op.current_watermark = wm
            op.on_watermark(wm)

    def on_processing_time(self, now_ms: int) -> None:
        for op in self.operators:
            op.on_processing_time(now_ms)

    def finish(self) -> None:
        """End of a bounded input: each operator in turn gets the final watermark, then
        finishes, so what it emits on finishing is still on time downstream."""
        for op in self.operators:
            op.current_watermark = MAX_WATERMARK
            op.on_watermark(MAX_WATERMARK)
            op.finish()

    def prepare_snapshot(self) -> None:
        for op in self.operators:  # topological: what upstream emits reaches downstream first
            op.prepare_snapshot()

    def snapshot_meta(self) -> dict[str, Any]:
        return {
            "watermark": self.watermark.snapshot(),
            "operators": {
                op.uid: {"wm": op.current_watermark, "meta": op.snapshot()} for op in self.operators
            },
            "finished": self.finished,
        }

    def restore_meta(self, meta: dict[str, Any]) -> None:
        self.watermark.restore(meta["watermark"])
        self.finished = bool(meta.get("finished", False))
        ops = meta.get("operators", {})
        for op in self.operators:
            saved = ops.get(op.uid, {})
            op.current_watermark = int(saved.get("wm", op.current_watermark))
            op.restore(saved.get("meta", {}))

    def close(self) -> None:
        for op in self.operators:
            op.close()
        self.store.close()
