"""Keyed state: a store per source partition (the key group), backends, user-facing handles.

Layers, bottom up: a backend *base* holds committed state (heap dicts or RocksDB); a
:class:`~ingest.state.store.PartitionStore` keeps the changes since the last checkpoint in a
delta cache on top of it, which is what an incremental checkpoint writes; the handles
(:mod:`ingest.state.handles`) scope state to the current key and apply TTL.
"""

from ingest.state.backend import HeapStateBackend, RocksDBStateBackend, StateBackend
from ingest.state.handles import ListState, MapState, StateTtl, ValueState
from ingest.state.store import MISSING, NsMap, PartitionStore, StateTable

__all__ = [
    "MISSING",
    "HeapStateBackend",
    "ListState",
    "MapState",
    "NsMap",
    "PartitionStore",
    "RocksDBStateBackend",
    "StateBackend",
    "StateTable",
    "StateTtl",
    "ValueState",
]
