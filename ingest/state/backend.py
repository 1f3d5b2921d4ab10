"""State backend configuration: which base a job's partition stores use."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ingest.state.heap import HeapBase
from ingest.state.store import PartitionStore

__all__ = ["HeapStateBackend", "RocksDBStateBackend", "StateBackend", "backend_from_name"]


class StateBackend:
    """Builds one :class:`PartitionStore` per source partition."""

    name = "abstract"

    def create_store(self, job: str, partition: str) -> PartitionStore:
        raise NotImplementedError


@dataclass(frozen=True)
class HeapStateBackend(StateBackend):
    """State in Python dicts: fastest, limited by memory."""

    compact_every: int = 10
    name = "heap"

    def create_store(self, job: str, partition: str) -> PartitionStore:
        return PartitionStore(HeapBase(), self.compact_every)


@dataclass(frozen=True)
class RocksDBStateBackend(StateBackend):
    """State in a local RocksDB per partition, with a write-back cache per checkpoint."""

    directory: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "rdg-rocksdb")
    compact_every: int = 10
    name = "rocksdb"

    def create_store(self, job: str, partition: str) -> PartitionStore:
        from ingest.state.rocksdb import RocksDBBase

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{job}-{partition}")
        path = Path(self.directory) / f"{safe}-{os.getpid()}"
        return PartitionStore(RocksDBBase(path), self.compact_every)


def backend_from_name(name: str, directory: Path | None = None) -> StateBackend:
    """``heap`` or ``rocksdb`` (as given on the command line)."""
    from ingest.errors import ConfigError

    if name == "heap":
        return HeapStateBackend()
    if name == "rocksdb":
        return RocksDBStateBackend(directory) if directory else RocksDBStateBackend()
    raise ConfigError(f"unknown state backend {name!r}: use 'heap' or 'rocksdb'")
