"""RocksDB base (rocksdict): committed state on disk, for state larger than memory.

Key layout: ``table \\x00 len(ns) ns key`` (ns and key pickled) so a namespace is one prefix
scan; a registry entry ``\\x01 table \\x00 ns`` per live namespace lists them without a scan
of the data.  Values are pickled.  The delta cache of :class:`PartitionStore` keeps the
hot path at dict speed; RocksDB sees one ``WriteBatch`` per checkpoint.
"""

from __future__ import annotations

import pickle
import shutil
import struct
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError
from ingest.state.store import MISSING, Delta

__all__ = ["RocksDBBase"]

_LEN = struct.Struct(">I")
_I64 = struct.Struct(">q")


# Keys and values are encoded with a one-byte tag: strings and 64-bit ints (the common
# keys and counters) directly, anything else pickled.  Much cheaper than pickle for those.
def _dumps(v: Any, _protocol: int = 5) -> bytes:
    t = type(v)
    if t is str:
        return b"s" + v.encode()
    if t is int and -(2**63) <= v < 2**63:
        return b"i" + _I64.pack(v)
    return b"p" + pickle.dumps(v, 5)


def _loads(b: bytes) -> Any:
    tag = b[0]
    if tag == 115:  # "s"
        return b[1:].decode()
    if tag == 105:  # "i"
        return _I64.unpack_from(b, 1)[0]
    return pickle.loads(b[1:])


def _import_rocksdict() -> Any:
    try:
        import rocksdict
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "the RocksDB state backend needs rocksdict: pip install 'rdg[rocksdb]'"
        ) from exc
    return rocksdict


class _NsView:
    """Reads of one committed namespace."""

    __slots__ = ("_db", "_prefix")

    def __init__(self, db: Any, prefix: bytes) -> None:
        self._db = db
        self._prefix = prefix

    def get(self, key: Hashable, default: Any = None, /) -> Any:
        raw = self._db.get(self._prefix + _dumps(key, 5))
        return default if raw is None else _loads(raw)


class RocksDBBase:
    def __init__(self, path: Path) -> None:
        rd = _import_rocksdict()
        self._rd = rd
        self._path = Path(path)
        if self._path.exists():
            shutil.rmtree(self._path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        opts = rd.Options(raw_mode=True)
        opts.create_if_missing(True)
        self._db = rd.Rdict(str(self._path), opts)
        self._ns_cache: dict[str, dict[Hashable, bytes]] = {}
        self._load_registry()

    # -- key encoding -----------------------------------------------------------------
    @staticmethod
    def _prefix(table: str, ns: Hashable) -> bytes:
        nsb = _dumps(ns, 5)
        return table.encode() + b"\x00" + _LEN.pack(len(nsb)) + nsb

    def _load_registry(self) -> None:
        self._ns_cache = {}
        it = self._db.iter()
        it.seek(b"\x01")
        while it.valid():
            k = it.key()
            if not k.startswith(b"\x01"):
                break
            table, _, nsb = k[1:].partition(b"\x00")
            ns = _loads(nsb)
            self._ns_cache.setdefault(table.decode(), {})[ns] = self._prefix(table.decode(), ns)
            it.next()

    # -- reads ------------------------------------------------------------------------
    def get(self, table: str, ns: Hashable, key: Hashable) -> Any:
        prefix = self._ns_cache.get(table, {}).get(ns)
        if prefix is None:
            return MISSING
        raw = self._db.get(prefix + _dumps(key, 5))
        return MISSING if raw is None else _loads(raw)

    def view(self, table: str, ns: Hashable) -> _NsView | None:
        prefix = self._ns_cache.get(table, {}).get(ns)
        return None if prefix is None else _NsView(self._db, prefix)

    def has_namespace(self, table: str, ns: Hashable) -> bool:
        return ns in self._ns_cache.get(table, {})

    def namespaces(self, table: str) -> list[Hashable]:
        return list(self._ns_cache.get(table, {}))

    def items(self, table: str, ns: Hashable) -> Iterator[tuple[Hashable, Any]]:
        prefix = self._ns_cache.get(table, {}).get(ns)
        if prefix is None:
            return
        n = len(prefix)
        it = self._db.iter()
        it.seek(prefix)
        out = []
        while it.valid():
            k = it.key()
            if not k.startswith(prefix):
                break
            out.append((_loads(k[n:]), _loads(it.value())))
            it.next()
        yield from out

    # -- writes -----------------------------------------------------------------------
    def _delete_ns(self, wb: Any, table: str, ns: Hashable) -> None:
        prefix = self._ns_cache.get(table, {}).pop(ns, None)
        if prefix is None:
            return
        it = self._db.iter()
        it.seek(prefix)
        while it.valid():
            k = it.key()
            if not k.startswith(prefix):
                break
            wb.delete(k)
            it.next()
        wb.delete(b"\x01" + table.encode() + b"\x00" + _dumps(ns, 5))

    def apply(self, delta: Delta, full: bool) -> None:
        if full:
            self.clear()
        wb = self._rd.WriteBatch(raw_mode=True)
        for table, nss in delta.items():
            reg = self._ns_cache.setdefault(table, {})
            for ns, (cleared, entries, deleted) in nss.items():
                if cleared:
                    self._delete_ns(wb, table, ns)
                prefix = reg.get(ns) or self._prefix(table, ns)
                for k in deleted:
                    wb.delete(prefix + _dumps(k, 5))
                for k, v in entries.items():
                    wb.put(prefix + _dumps(k, 5), _dumps(v, 5))
                if entries and ns not in reg:
                    reg[ns] = prefix
                    wb.put(b"\x01" + table.encode() + b"\x00" + _dumps(ns, 5), b"")
        self._db.write(wb)

    def dump(self) -> Delta:
        out: Delta = {}
        for table, reg in self._ns_cache.items():
            for ns in reg:
                out.setdefault(table, {})[ns] = (True, dict(self.items(table, ns)), set())
        return out

    def clear(self) -> None:
        self._db.close()
        self._rd.Rdict.destroy(str(self._path))
        opts = self._rd.Options(raw_mode=True)
        opts.create_if_missing(True)
        self._db = self._rd.Rdict(str(self._path), opts)
        self._ns_cache = {}

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            shutil.rmtree(self._path, ignore_errors=True)
