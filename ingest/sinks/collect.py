"""In-memory sinks: collect everything, upsert into a dict (an idempotent target), discard."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from ingest.sinks.base import Sink
from ingest.time import field_getter

__all__ = ["CollectSink", "NullSink", "UpsertSink"]


class CollectSink(Sink):
    """Keeps flushed records in ``values`` (pending ones in ``pending`` until flush)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.pending: list[Any] = []

    def add(self, value: Any, timestamp: int) -> None:
        self.pending.append(value)

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        self.pending.extend(values)

    def flush(self) -> None:
        self.values.extend(self.pending)
        self.pending = []


class UpsertSink(Sink):
    """Writes ``key(value) -> value`` into a mapping on flush: an idempotent target.

    Pass the same ``target`` to a restarted job to model an external key-value store that
    survives the crash; whatever was only buffered is lost, as in a real crash.
    """

    def __init__(
        self,
        key: Callable[[Any], Any] | str | int,
        target: MutableMapping[Any, Any] | None = None,
    ) -> None:
        self._key = field_getter(key)
        self.target: MutableMapping[Any, Any] = {} if target is None else target
        self._pending: dict[Any, Any] = {}
        self.writes = 0

    def add(self, value: Any, timestamp: int) -> None:
        self._pending[self._key(value)] = value

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        key = self._key
        pending = self._pending
        for v in values:
            pending[key(v)] = v

    def flush(self) -> None:
        self.writes += len(self._pending)
        self.target.update(self._pending)
        self._pending = {}


class NullSink(Sink):
    """Counts and discards (benchmarks)."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, value: Any, timestamp: int) -> None:
        self.count += 1

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        self.count += len(values)

    def flush(self) -> None:
        return None
