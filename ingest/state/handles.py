"""User-facing keyed state: value, map and list state scoped to the current key, with TTL.

TTL is measured in event time (against the current watermark) or processing time (the
job clock).  Expired entries read as absent and are deleted when touched (lazy cleanup,
as Flink does before its background compaction filter).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ingest.errors import ConfigError, StateError
from ingest.state.store import MISSING, StateTable

__all__ = ["KeyScope", "ListState", "MapState", "StateTtl", "ValueState"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class StateTtl:
    """Time-to-live of state entries, refreshed on every write."""

    ttl_ms: int
    time_domain: Literal["event", "processing"] = "processing"

    def __post_init__(self) -> None:
        if self.ttl_ms <= 0:
            raise ConfigError(f"state TTL must be > 0 ms, got {self.ttl_ms}")
        if self.time_domain not in ("event", "processing"):
            raise ConfigError(
                f"TTL time domain must be 'event' or 'processing', got {self.time_domain!r}"
            )


class KeyScope:
    """Holds the current key and the two clocks that TTL needs."""

    def __init__(self, watermark: Callable[[], int], processing_time: Callable[[], int]) -> None:
        self.current_key: Hashable = None
        self.has_key = False
        self.watermark = watermark
        self.processing_time = processing_time

    def key(self) -> Hashable:
        if not self.has_key:
            raise StateError("keyed state was used outside a keyed context (no current key)")
        return self.current_key

    def now(self, ttl: StateTtl) -> int:
        return self.watermark() if ttl.time_domain == "event" else self.processing_time()


class _Handle:
    def __init__(self, table: StateTable, scope: KeyScope, ttl: StateTtl | None) -> None:
        self._table = table
        self._scope = scope
        self._ttl = ttl

    def _wrap(self, value: Any) -> Any:
        if self._ttl is None:
            return value
        return (value, self._scope.now(self._ttl) + self._ttl.ttl_ms)

    def _unwrap(self, stored: Any) -> Any:
        """Value or MISSING when expired."""
        if self._ttl is None or stored is MISSING:
            return stored
        value, expires = stored
        if expires <= self._scope.now(self._ttl):
            return MISSING
        return value

    def _read(self, ns: Any, key: Any) -> Any:
        """The live value or MISSING; an expired entry is deleted on the way (lazy TTL)."""
        stored = self._table.get(ns, key)
        value = self._unwrap(stored)
        if value is MISSING and stored is not MISSING:
            self._table.delete(ns, key)
        return value


class ValueState(_Handle, Generic[T]):
    """One value per key."""

    def value(self, default: T | None = None) -> T | None:
        value = self._read(None, self._scope.key())
        return default if value is MISSING else value

    def update(self, value: T) -> None:
        self._table.put(None, self._scope.key(), self._wrap(value))

    def clear(self) -> None:
        self._table.delete(None, self._scope.key())


class ListState(_Handle, Generic[T]):
    """A list per key (TTL applies to the list as a whole)."""

    def get(self) -> list[T]:
        value = self._read(None, self._scope.key())
        return [] if value is MISSING else list(value)

    def add(self, value: T) -> None:
        items = self.get()
        items.append(value)
        self._table.put(None, self._scope.key(), self._wrap(items))

    def update(self, values: list[T]) -> None:
        self._table.put(None, self._scope.key(), self._wrap(list(values)))

    def clear(self) -> None:
        self._table.delete(None, self._scope.key())


class MapState(_Handle, Generic[K, V]):
    """A map per key; each entry is its own state cell (namespace = the current key)."""

    def get(self, map_key: K, default: V | None = None) -> V | None:
        value = self._read(self._scope.key(), map_key)
        return default if value is MISSING else value

    def put(self, map_key: K, value: V) -> None:
        self._table.put(self._scope.key(), map_key, self._wrap(value))

    def remove(self, map_key: K) -> None:
        self._table.delete(self._scope.key(), map_key)

    def contains(self, map_key: K) -> bool:
        return self.get(map_key, MISSING) is not MISSING  # type: ignore[arg-type]

    def items(self) -> Iterator[tuple[K, V]]:
        ns = self._scope.key()
        for k, stored in list(self._table.items(ns)):
            value = self._unwrap(stored)
            if value is MISSING:
                self._table.delete(ns, k)
            else:
                yield k, value  # type: ignore[misc]

    def keys(self) -> list[K]:
        return [k for k, _ in self.items()]

    def is_empty(self) -> bool:
        return next(iter(self.items()), None) is None

    def clear(self) -> None:
        self._table.drop(self._scope.key())
