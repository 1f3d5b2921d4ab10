"""Heap base: committed state as nested dicts (fast; bounded by memory)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

from ingest.state.store import MISSING, Delta

__all__ = ["HeapBase"]


class HeapBase:
    def __init__(self) -> None:
        self._tables: dict[str, dict[Hashable, dict[Hashable, Any]]] = {}

    def get(self, table: str, ns: Hashable, key: Hashable) -> Any:
        t = self._tables.get(table)
        if t is None:
            return MISSING
        m = t.get(ns)
        if m is None:
            return MISSING
        return m.get(key, MISSING)

    def view(self, table: str, ns: Hashable) -> dict[Hashable, Any] | None:
        """The committed namespace dict itself (read-only by contract): C-speed reads."""
        t = self._tables.get(table)
        return None if t is None else t.get(ns)

    def has_namespace(self, table: str, ns: Hashable) -> bool:
        t = self._tables.get(table)
        return t is not None and ns in t

    def namespaces(self, table: str) -> list[Hashable]:
        return list(self._tables.get(table, {}))

    def items(self, table: str, ns: Hashable) -> Iterator[tuple[Hashable, Any]]:
        yield from list(self._tables.get(table, {}).get(ns, {}).items())

    def apply(self, delta: Delta, full: bool) -> None:
        if full:
            self._tables.clear()
        for name, nss in delta.items():
            t = self._tables.setdefault(name, {})
            for ns, (cleared, entries, deleted) in nss.items():
                m = t.get(ns)
                if m is None or cleared:
                    m = {}
                    t[ns] = m
                for k in deleted:
                    m.pop(k, None)
                m.update(entries)
                if not m:
                    del t[ns]

    def dump(self) -> Delta:
        return {
            name: {ns: (True, m, set()) for ns, m in t.items()}
            for name, t in self._tables.items()
            if t
        }

    def clear(self) -> None:
        self._tables.clear()

    def close(self) -> None:
        self._tables.clear()
