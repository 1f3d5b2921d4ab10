"""Sources and sinks that fail on purpose, for crash-and-restore tests."""

from __future__ import annotations

from typing import Any

from ingest.errors import InjectedCrash
from ingest.sinks.base import Sink
from ingest.sources.base import AssignmentListener, PartitionBatch, Source

__all__ = ["CrashingSink", "CrashingSource"]


class CrashingSource(Source):
    """Wraps a source; raises :class:`InjectedCrash` once ``crash_after`` records were read."""

    def __init__(self, inner: Source, crash_after: int) -> None:
        self.inner = inner
        self.bounded = inner.bounded
        self.crash_after = crash_after
        self.read = 0

    def open(self, listener: AssignmentListener) -> None:
        self.inner.open(listener)

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        if self.read >= self.crash_after:
            raise InjectedCrash(f"injected source crash after {self.read} records")
        batches = self.inner.poll(max_records, timeout_s)
        self.read += sum(len(b.values) for b in batches)
        return batches

    def commit(self, positions: dict[str, Any]) -> None:
        self.inner.commit(positions)

    def assigned(self) -> list[str]:
        return self.inner.assigned()

    def close(self) -> None:
        self.inner.close()


class CrashingSink(Sink):
    """Wraps a sink; raises on the ``crash_on_flush``-th flush (1-based) before writing."""

    def __init__(self, inner: Sink, crash_on_flush: int) -> None:
        self.inner = inner
        self.crash_on_flush = crash_on_flush
        self.flushes = 0

    def add(self, value: Any, timestamp: int) -> None:
        self.inner.add(value, timestamp)

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        self.inner.add_batch(values, timestamps)

    def flush(self) -> None:
        self.flushes += 1
        if self.flushes == self.crash_on_flush:
            raise InjectedCrash(f"injected sink crash on flush {self.flushes}")
        self.inner.flush()
