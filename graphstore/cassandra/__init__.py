"""Cassandra/ScyllaDB graph store.

``config`` needs no driver; ``store`` (``CassandraGraphStore``) imports cassandra-driver
when first used, with an install hint if it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphstore.cassandra.config import CassandraConfig, parse_cassandra_url

if TYPE_CHECKING:
    from graphstore.cassandra.store import CassandraGraphStore

__all__ = ["CassandraConfig", "CassandraGraphStore", "parse_cassandra_url"]


def __getattr__(name: str) -> Any:
    if name == "CassandraGraphStore":
        from graphstore.cassandra.store import CassandraGraphStore

        return CassandraGraphStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
