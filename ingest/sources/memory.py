"""In-memory partitioned source, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.sources.base import AssignmentListener, PartitionBatch, Source

__all__ = ["MemorySource"]


class MemorySource(Source):
    """Partitions are lists of records; a position is a record index.

    ``batch_size`` caps each partition's batch per poll (the engine's per-poll unit).
    """

    bounded = True

    def __init__(
        self,
        partitions: Sequence[Sequence[Any]] | dict[str, Sequence[Any]],
        batch_size: int = 1000,
        timestamps: Sequence[Sequence[int]] | dict[str, Sequence[int]] | None = None,
    ) -> None:
        if isinstance(partitions, dict):
            self._data = {str(k): list(v) for k, v in partitions.items()}
        else:
            self._data = {str(i): list(v) for i, v in enumerate(partitions)}
        self._ts: dict[str, list[int]] | None = None
        if timestamps is not None:
            items = timestamps.items() if isinstance(timestamps, dict) else enumerate(timestamps)
            self._ts = {str(k): list(v) for k, v in items}
        self.batch_size = batch_size
        self._pos: dict[str, int] = {}
        self._done: set[str] = set()

    def open(self, listener: AssignmentListener) -> None:
        parts = sorted(self._data)
        starts = listener.on_assigned(parts)
        for p in parts:
            start = starts.get(p)
            self._pos[p] = 0 if start is None else int(start)

    def assigned(self) -> list[str]:
        return sorted(self._pos)

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        out = []
        n = min(self.batch_size, max_records)
        for p in sorted(self._pos):
            if p in self._done:
                continue
            data = self._data[p]
            i = self._pos[p]
            j = min(i + n, len(data))
            ts = self._ts[p][i:j] if self._ts is not None else None
            self._pos[p] = j
            eop = j >= len(data)
            if eop:
                self._done.add(p)
            out.append(PartitionBatch(p, data[i:j], ts, j, eop))
        return out
