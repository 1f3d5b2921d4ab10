"""The per-partition state store: committed base + a delta of changes since the last checkpoint.

Reads look in the delta first, then the base; writes go to the delta only.  A checkpoint
serialises the delta (that is the incremental checkpoint), merges it into the base and starts
a new one.  Every N-th checkpoint of a partition writes the whole base instead (compaction),
so restore never has to replay a long chain.

Snapshot format (pickled):
``{"full": bool, "tables": {table: {ns: (cleared, {key: value}, {deleted keys})}}}`` where
``cleared`` means "drop the namespace in the base before applying the entries".
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Protocol

__all__ = ["MISSING", "BaseStore", "NsMap", "PartitionStore", "StateTable"]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"

    def __reduce__(self) -> str:
        return self._name


MISSING = _Sentinel("MISSING")

NsDelta = tuple[bool, dict[Hashable, Any], set[Hashable]]
Delta = dict[str, dict[Hashable, NsDelta]]


class BaseStore(Protocol):
    """Committed state of one partition (heap dicts or RocksDB)."""

    def get(self, table: str, ns: Hashable, key: Hashable) -> Any: ...
    def view(self, table: str, ns: Hashable) -> BaseView | None: ...
    def has_namespace(self, table: str, ns: Hashable) -> bool: ...
    def namespaces(self, table: str) -> list[Hashable]: ...
    def items(self, table: str, ns: Hashable) -> Iterator[tuple[Hashable, Any]]: ...
    def apply(self, delta: Delta, full: bool) -> None: ...
    def dump(self) -> Delta: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


class BaseView(Protocol):
    """Read access to one committed namespace: ``get(key, default)``."""

    def get(self, key: Hashable, default: Any = None, /) -> Any: ...


class NsMap(dict):
    """The delta entries of one namespace; a miss reads through to the committed base.

    It is a ``dict`` so the hot paths run at dict speed: ``m[k]`` returns the delta value,
    else the base value, else the table's default (not inserted).  ``base`` is a read-only
    view of the committed namespace (for the heap backend the base dict itself), or None
    when nothing is committed, so a hot loop can inline ``m.get(k)`` then ``m.base.get(k)``
    for tables that never delete single keys.  An NsMap is valid until the next checkpoint:
    fetch it again from the table for every batch.
    """

    __slots__ = ("_default", "base", "cleared", "deleted")

    def __init__(self, base: BaseView | None, default: Callable[[], Any]) -> None:
        super().__init__()
        self.base = base
        self._default = default
        self.cleared = False
        # Keys deleted since the last checkpoint (a key re-put later is also in the dict,
        # which wins); kept apart so no tombstone value ever sits among the entries.
        self.deleted: set[Hashable] = set()

    def __missing__(self, key: Hashable) -> Any:
        base = self.base
        if base is None or (self.deleted and key in self.deleted):
            return self._default()
        value = base.get(key, MISSING)
        if value is MISSING:
            return self._default()
        return value

    def delete(self, key: Hashable) -> None:
        dict.pop(self, key, None)
        if self.base is not None:
            self.deleted.add(key)

    @property
    def has_base(self) -> bool:
        """False when every entry of the namespace is in this dict (fast paths use get())."""
        return self.base is not None

    def lookup(self, key: Hashable) -> Any:
        """The current value or :data:`MISSING`."""
        value = dict.get(self, key, MISSING)
        if value is MISSING and self.base is not None:
            if self.deleted and key in self.deleted:
                return MISSING
            return self.base.get(key, MISSING)
        return value

    def clear_all(self) -> None:
        dict.clear(self)
        self.deleted.clear()
        self.cleared = True
        self.base = None


def _none() -> Any:
    return None


class StateTable:
    """One named piece of keyed state of one operator, split into namespaces (e.g. windows)."""

    def __init__(
        self, store: PartitionStore, name: str, default: Callable[[], Any] | None = None
    ) -> None:
        self._store = store
        self.name = name
        self.default = default or _none
        self._delta: dict[Hashable, NsMap] = {}

    def ns(self, namespace: Hashable) -> NsMap:
        """The working map of a namespace (created on first use)."""
        m = self._delta.get(namespace)
        if m is None:
            m = NsMap(self._store.base.view(self.name, namespace), self.default)
            self._delta[namespace] = m
        return m

    def drop(self, namespace: Hashable) -> None:
        """Delete a whole namespace (e.g. a purged window)."""
        self.ns(namespace).clear_all()

    def get(self, namespace: Hashable, key: Hashable) -> Any:
        """The value or :data:`MISSING`."""
        return self.ns(namespace).lookup(key)

    def put(self, namespace: Hashable, key: Hashable, value: Any) -> None:
        self.ns(namespace)[key] = value

    def delete(self, namespace: Hashable, key: Hashable) -> None:
        self.ns(namespace).delete(key)

    def items_list(self, namespace: Hashable) -> list[tuple[Hashable, Any]]:
        """Like :meth:`items`, as a list; a plain copy when the delta holds everything."""
        m = self._delta.get(namespace)
        if m is not None and not m.has_base:
            return list(m.items())
        return list(self.items(namespace))

    def items(self, namespace: Hashable) -> Iterator[tuple[Hashable, Any]]:
        """Merged view of base and delta, deleted keys hidden."""
        m = self._delta.get(namespace)
        base = self._store.base
        if (m is None or not m.cleared) and base.has_namespace(self.name, namespace):
            for k, v in base.items(self.name, namespace):
                if m is None or (k not in m and k not in m.deleted):
                    yield k, v
        if m is not None:
            yield from list(m.items())

    def namespaces(self) -> list[Hashable]:
        """Namespaces that may hold entries (base and delta)."""
        seen = set(self._store.base.namespaces(self.name))
        for ns, m in self._delta.items():
            if m:
                seen.add(ns)
            elif m.cleared:
                seen.discard(ns)
        return list(seen)

    def take_delta(self) -> dict[Hashable, NsDelta]:
        out: dict[Hashable, NsDelta] = {}
        for ns, m in self._delta.items():
            if m or m.cleared or m.deleted:
                deleted = {k for k in m.deleted if k not in m} if m.deleted else set()
                out[ns] = (m.cleared, dict(m), deleted)
        self._delta = {}
        return out


class PartitionStore:
    """All keyed state of one source partition (one key group) in one job."""

    def __init__(self, base: BaseStore, compact_every: int = 10) -> None:
        self.base = base
        self.compact_every = compact_every
        self._tables: dict[str, StateTable] = {}

    def table(self, name: str, default: Callable[[], Any] | None = None) -> StateTable:
        t = self._tables.get(name)
        if t is None:
            t = StateTable(self, name, default)
            self._tables[name] = t
        elif default is not None:
            t.default = default
        return t

    def _collect_delta(self) -> Delta:
        delta: Delta = {}
        for name, t in self._tables.items():
            d = t.take_delta()
            if d:
                delta[name] = d
        return delta

    def snapshot(self, full: bool) -> bytes:
        """Serialise the changes since the last snapshot (or everything) and commit them."""
        delta = self._collect_delta()
        self.base.apply(delta, full=False)
        if full:
            return pickle.dumps({"full": True, "tables": self.base.dump()}, protocol=5)
        return pickle.dumps({"full": False, "tables": delta}, protocol=5)

    def restore(self, chain: list[bytes]) -> None:
        """Rebuild the base from a full snapshot followed by deltas (oldest first)."""
        self.base.clear()
        for tables in self._tables.values():
            tables.take_delta()
        for i, blob in enumerate(chain):
            snap = pickle.loads(blob)
            if i == 0 and not snap["full"]:
                raise ValueError("a snapshot chain must start with a full snapshot")
            self.base.apply(snap["tables"], full=bool(snap["full"]))

    def close(self) -> None:
        self.base.close()
