"""Per-key event-time and processing-time timers, kept in keyed state.

Timers live in a state table (so they are checkpointed incrementally with everything else)
and in an in-memory heap ordered by time, rebuilt from the table on restore.  Deleting a
timer removes it from the table; the heap entry is skipped when it comes up.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable
from typing import Any

from ingest.state.store import MISSING, PartitionStore

__all__ = ["TimerService"]

FireFn = Callable[[int, Any], None]


class _TimerQueue:
    def __init__(self, store: PartitionStore, table: str) -> None:
        self._table = store.table(table)
        self._heap: list[tuple[int, Any]] = []

    def register(self, t: int, key: Hashable) -> None:
        entry = (t, key)
        m = self._table.ns(None)
        if m.lookup(entry) is MISSING:
            m[entry] = True
            heapq.heappush(self._heap, entry)

    def delete(self, t: int, key: Hashable) -> None:
        entry = (t, key)
        if self._table.get(None, entry) is not MISSING:
            self._table.delete(None, entry)

    def advance(self, upto: int, fire: FireFn) -> int:
        """Fire every timer with time <= upto, in time order; returns how many fired."""
        heap = self._heap
        m = self._table.ns(None)
        fired = 0
        while heap and heap[0][0] <= upto:
            entry = heapq.heappop(heap)
            if m.lookup(entry) is MISSING:
                continue  # deleted, or a duplicate heap entry
            self._table.delete(None, entry)
            fired += 1
            fire(entry[0], entry[1])
        return fired

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def rebuild(self) -> None:
        self._heap = [k for k, _ in self._table.items(None)]  # type: ignore[misc]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._heap)


class TimerService:
    """The timers of one operator in one partition task."""

    def __init__(self, store: PartitionStore, owner: str) -> None:
        self.event = _TimerQueue(store, f"{owner}/timers.event")
        self.processing = _TimerQueue(store, f"{owner}/timers.processing")

    def rebuild(self) -> None:
        self.event.rebuild()
        self.processing.rebuild()
