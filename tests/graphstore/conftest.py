"""Fixtures for the graph store tests: a fresh store of each kind.

Cassandra tests connect to RDG_CASSANDRA_HOSTS (default 127.0.0.1) on RDG_CASSANDRA_PORT
(default 9042) and use a fresh keyspace per test module, dropped afterwards. When the node
is unreachable they skip ("start it with make up"), or fail loudly when
RDG_REQUIRE_CLUSTER=1 (CI / make test).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graphstore.base import GraphStore
from graphstore.sqlite import SQLiteGraphStore


@dataclass(frozen=True)
class CassandraEndpoint:
    hosts: tuple[str, ...]
    port: int
    release_version: str

    def url(self, keyspace: str) -> str:
        return f"cassandra://{','.join(self.hosts)}:{self.port}/{keyspace}"


def _endpoint_from_env() -> tuple[tuple[str, ...], int]:
    hosts = tuple(h.strip() for h in os.environ.get("RDG_CASSANDRA_HOSTS", "127.0.0.1").split(","))
    return tuple(h for h in hosts if h), int(os.environ.get("RDG_CASSANDRA_PORT", "9042"))


def _cluster(hosts: tuple[str, ...], port: int) -> Any:
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy())
    return Cluster(
        list(hosts),
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=5,
        control_connection_timeout=5,
    )


@pytest.fixture(scope="session")
def cassandra_endpoint() -> CassandraEndpoint:
    """A reachable Cassandra node, or skip / fail (RDG_REQUIRE_CLUSTER=1)."""
    hosts, port = _endpoint_from_env()
    try:
        cluster = _cluster(hosts, port)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            version = str(row[0])
        finally:
            cluster.shutdown()
    except Exception as exc:
        message = f"Cassandra at {','.join(hosts)}:{port} is unreachable ({exc})"
        if os.environ.get("RDG_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"{message}; RDG_REQUIRE_CLUSTER=1 so this is a failure", pytrace=False)
        pytest.skip(f"{message}; start it with make up")
    return CassandraEndpoint(hosts, port, version)


@pytest.fixture(scope="module")
def cassandra_keyspace(
    request: pytest.FixtureRequest, cassandra_endpoint: CassandraEndpoint
) -> Iterator[str]:
    """A unique keyspace name for this test module; dropped after the module."""
    module = re.sub(r"[^a-z0-9]", "", request.module.__name__.rsplit(".", 1)[-1].lower())[:24]
    name = f"rdgt_{module}_{uuid.uuid4().hex[:8]}"
    yield name
    cluster = _cluster(cassandra_endpoint.hosts, cassandra_endpoint.port)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=120)
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def cassandra_module_store(
    cassandra_endpoint: CassandraEndpoint, cassandra_keyspace: str
) -> Iterator[GraphStore]:
    from graphstore.cassandra.store import CassandraGraphStore

    store = CassandraGraphStore(cassandra_endpoint.url(cassandra_keyspace))
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        sqlite_store = SQLiteGraphStore(tmp_path / "graph.db")
        yield sqlite_store
        sqlite_store.close()
    else:
        shared: GraphStore = request.getfixturevalue("cassandra_module_store")
        shared.truncate()
        yield shared
