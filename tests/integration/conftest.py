"""Fixtures for tests that run against the real local Kafka and Cassandra (`make up`).

Where the servers are comes from the environment that ops/run-tests.sh exports:
RDG_KAFKA_BOOTSTRAP (default 127.0.0.1:9092), RDG_CASSANDRA_HOSTS (comma-separated,
default 127.0.0.1) and RDG_CASSANDRA_PORT (default 9042). When a server is unreachable the
tests are skipped with a hint, except under RDG_REQUIRE_CLUSTER=1 (`make test`), where they
fail loudly: a CI run must never pass by skipping everything that needs the cluster.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ingest.errors import RDGError
from ingest.kafka import admin

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
START_HINT = (
    "Start the local cluster with `make up` (or `.venv/bin/python -m ops.cluster up`); "
    "`make status` shows whether it is running and ready."
)


@dataclass(frozen=True)
class CassandraContact:
    """Where the test Cassandra listens."""

    hosts: tuple[str, ...]
    port: int


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration (this hook sees the whole session's items)."""
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


def _unavailable(what: str, detail: str) -> NoReturn:
    if os.environ.get("RDG_REQUIRE_CLUSTER") == "1":
        pytest.fail(
            f"RDG_REQUIRE_CLUSTER=1 but {what} is unreachable:\n{detail}\n{START_HINT}",
            pytrace=False,
        )
    pytest.skip(f"{what} is unreachable; run `make up` to run the integration tests")


def _kafka_bootstrap_from_env() -> str:
    bootstrap = os.environ.get("RDG_KAFKA_BOOTSTRAP", "").strip()
    return bootstrap or f"127.0.0.1:{os.environ.get('RDG_KAFKA_PORT', '9092').strip() or '9092'}"


def _cassandra_contact_from_env() -> CassandraContact:
    hosts = tuple(
        h.strip() for h in os.environ.get("RDG_CASSANDRA_HOSTS", "127.0.0.1").split(",") if h
    )
    port = int(os.environ.get("RDG_CASSANDRA_PORT", "9042").strip() or "9042")
    return CassandraContact(hosts=hosts or ("127.0.0.1",), port=port)


def _cassandra_cluster(contact: CassandraContact, timeout: float) -> Any:
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=30.0)
    return Cluster(
        list(contact.hosts),
        port=contact.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout,
        control_connection_timeout=timeout,
    )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The broker address, checked with a real metadata request."""
    bootstrap = _kafka_bootstrap_from_env()
    try:
        admin.list_topics(bootstrap, timeout=5.0)
    except RDGError as exc:
        _unavailable(f"Kafka at {bootstrap}", str(exc))
    return bootstrap


@pytest.fixture(scope="session")
def cassandra_contact() -> CassandraContact:
    """Cassandra's hosts and port, checked with a real CQL query."""
    contact = _cassandra_contact_from_env()
    where = f"Cassandra at {','.join(contact.hosts)}:{contact.port}"
    try:
        cluster = _cassandra_cluster(contact, timeout=5.0)
    except ImportError:
        _unavailable(where, "cassandra-driver is not installed: pip install 'rdg[cassandra]'")
    try:
        cluster.connect().execute("SELECT release_version FROM system.local").one()
    except Exception as exc:  # NoHostAvailable, OperationTimedOut, ...
        _unavailable(where, f"{type(exc).__name__}: {exc}")
    finally:
        cluster.shutdown()
    return contact


@pytest.fixture(scope="session")
def cassandra_session(cassandra_contact: CassandraContact) -> Iterator[Any]:
    """A cassandra-driver Session shared by the whole test session (no keyspace set)."""
    cluster = _cassandra_cluster(cassandra_contact, timeout=10.0)
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit]


@pytest.fixture
def fresh_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique topic name, not yet created (tests choose partitions); deleted afterwards."""
    name = f"rdg-test-{_slug(request.node.name, 40).replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        admin.delete_topic(kafka_bootstrap, name, missing_ok=True, timeout=15.0)
    except RDGError as exc:
        log.warning("could not delete test topic %s: %s", name, exc)


@pytest.fixture
def fresh_keyspace_name(cassandra_session: Any) -> Iterator[str]:
    """A unique keyspace name, not yet created; dropped afterwards if the test created it."""
    name = f"rdg_test_{uuid.uuid4().hex[:16]}"
    yield name
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture
def fresh_keyspace(cassandra_session: Any, fresh_keyspace_name: str) -> str:
    """A newly created keyspace (SimpleStrategy, replication_factor 1); dropped afterwards."""
    cassandra_session.execute(
        f"CREATE KEYSPACE {fresh_keyspace_name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    return fresh_keyspace_name
