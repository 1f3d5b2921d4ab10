"""Open a store from a URL, so jobs and tools take one ``--store`` string."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from graphstore.base import GraphStore
from ingest.errors import ConfigError

__all__ = ["STORE_URL_FORMS", "open_store", "sqlite_path_from_url"]

log = logging.getLogger(__name__)

STORE_URL_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory:, "
    "cassandra://HOST[:PORT][,HOST...]/KEYSPACE[?replication_factor=N|replication=DC:N,...]"
)


def sqlite_path_from_url(url: str) -> str:
    """SQLAlchemy convention: three slashes = relative path, four = absolute."""
    parts = urlsplit(url)
    if parts.netloc:
        raise ConfigError(
            f"SQLite URL {url!r} has a host part {parts.netloc!r}; use one of: {STORE_URL_FORMS}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"SQLite URL {url!r} takes no '?options'; pass them as keyword options instead"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if path in ("", ":memory:"):
        return ":memory:"
    return path


def open_store(url: str, **options: Any) -> GraphStore:
    """Open (and create on first use) the store named by ``url``.

    ``options`` are passed to the store: for SQLite ``busy_timeout_s``, ``cache_mb``; for
    Cassandra any ``CassandraConfig`` field (``node_ttl``, ``edge_ttl``, ``username``,
    ``password``, ``concurrency``, ...). Credentials otherwise come from
    RDG_CASSANDRA_USERNAME / RDG_CASSANDRA_PASSWORD.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"store URL {url!r} is not a URL; use one of: {STORE_URL_FORMS}")
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        from graphstore.sqlite import SQLiteGraphStore

        allowed = {"busy_timeout_s", "cache_mb"}
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ConfigError(
                f"SQLite store {url!r}: unknown option(s) {', '.join(unknown)}; accepted: "
                f"{', '.join(sorted(allowed))} (TTLs are a Cassandra-only feature)"
            )
        return SQLiteGraphStore(sqlite_path_from_url(url), **options)
    if scheme in ("cassandra", "scylla"):
        from graphstore.cassandra.config import parse_cassandra_url

        config = parse_cassandra_url(url, **options)
        from graphstore.cassandra.store import CassandraGraphStore

        return CassandraGraphStore(config)
    shown = f"{scheme}://***@{url.split('@', 1)[1]}" if "@" in url else url
    raise ConfigError(
        f"store URL {shown!r} has unsupported scheme {scheme!r}; use one of: {STORE_URL_FORMS}"
    )
