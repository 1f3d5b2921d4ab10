"""Cassandra store settings, from a ``cassandra://`` URL plus keyword options.

Kept free of driver imports so URLs can be validated (and errors explained) on machines
without ``cassandra-driver``. Credentials never come from the URL: only from options or
the RDG_CASSANDRA_USERNAME / RDG_CASSANDRA_PASSWORD environment variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ingest.errors import ConfigError

__all__ = [
    "CONSISTENCY_LEVELS",
    "URL_FORMS",
    "CassandraConfig",
    "parse_cassandra_url",
]

URL_FORMS = (
    "cassandra://HOST[:PORT][,HOST[:PORT]...]/KEYSPACE"
    "[?replication_factor=N | ?replication=DC1:N,DC2:M][&consistency=LOCAL_QUORUM]"
    "[&local_dc=DC][&concurrency=64][&max_attempts=5][&protocol_version=4]"
    "[&connect_timeout_s=5][&request_timeout_s=12]"
)

CONSISTENCY_LEVELS = (
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "LOCAL_ONE",
    "EACH_QUORUM",
)

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_DC = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

USERNAME_ENV = "RDG_CASSANDRA_USERNAME"
PASSWORD_ENV = "RDG_CASSANDRA_PASSWORD"


def _positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    number: int | None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
    if number is None or number < minimum:
        raise ConfigError(f"Cassandra option {name}={value!r} must be an integer >= {minimum}")
    return number


def _positive_float(name: str, value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ConfigError(f"Cassandra option {name}={value!r} must be a number > 0 (seconds)")
    return number


def _ttl_map(name: str, value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"Cassandra option {name} must be a mapping of type name (or '*' for all) to TTL "
            f"seconds, e.g. {{'Session': 86400}}; got {value!r}"
        )
    result: dict[str, int] = {}
    for key, seconds in value.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"Cassandra option {name}: key {key!r} must be a type name or '*'")
        result[key] = _positive_int(f"{name}[{key!r}]", seconds, minimum=0)
        if result[key] > 630_720_000:
            raise ConfigError(
                f"Cassandra option {name}[{key!r}]={seconds} exceeds Cassandra's maximum TTL "
                "of 630720000 s (20 years)"
            )
    return result


@dataclass(frozen=True)
class CassandraConfig:
    """Everything the Cassandra store needs; build it with ``parse_cassandra_url``."""

    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    keyspace: str = "rdg"
    replication_factor: int = 1
    datacenters: Mapping[str, int] = field(default_factory=dict)
    local_dc: str | None = None
    consistency: str = "LOCAL_QUORUM"
    concurrency: int = 64
    max_attempts: int = 5
    backoff_s: float = 0.05
    max_backoff_s: float = 2.0
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 12.0
    node_ttl: Mapping[str, int] = field(default_factory=dict)
    edge_ttl: Mapping[str, int] = field(default_factory=dict)
    max_batch_statements: int = 200
    protocol_version: int | None = None
    create_schema: bool = True
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not _IDENT.match(self.keyspace):
            raise ConfigError(
                f"Cassandra keyspace {self.keyspace!r} is not a valid name: use a letter then up "
                "to 47 letters, digits or '_'"
            )
        if self.consistency.upper() not in CONSISTENCY_LEVELS:
            raise ConfigError(
                f"Cassandra consistency {self.consistency!r} is not one of "
                f"{', '.join(CONSISTENCY_LEVELS)}"
            )
        for dc in self.datacenters:
            if not _DC.match(dc):
                raise ConfigError(f"Cassandra datacenter name {dc!r} is not valid")
        if not self.hosts:
            raise ConfigError(f"Cassandra store needs at least one host; use {URL_FORMS}")

    @property
    def url(self) -> str:
        """The URL without credentials (safe to log)."""
        hosts = ",".join(f"{h}:{self.port}" for h in self.hosts)
        return f"cassandra://{hosts}/{self.keyspace}"

    def replication(self) -> dict[str, Any]:
        """The keyspace replication map: NetworkTopologyStrategy when DCs are given."""
        if self.datacenters:
            return {"class": "NetworkTopologyStrategy", **dict(self.datacenters)}
        return {"class": "SimpleStrategy", "replication_factor": self.replication_factor}

    def node_ttl_for(self, node_type: str) -> int:
        """TTL seconds for a node type (0 = keep forever); '*' is the default."""
        return self.node_ttl.get(node_type, self.node_ttl.get("*", 0))

    def edge_ttl_for(self, edge_type: str) -> int:
        return self.edge_ttl.get(edge_type, self.edge_ttl.get("*", 0))

    def with_credentials_from_env(self) -> CassandraConfig:
        if self.username is not None:
            return self
        user = os.environ.get(USERNAME_ENV)
        if not user:
            return self
        return replace(self, username=user, password=os.environ.get(PASSWORD_ENV, ""))


_URL_OPTIONS = {
    "replication_factor": "replication_factor",
    "replication": "datacenters",
    "consistency": "consistency",
    "local_dc": "local_dc",
    "concurrency": "concurrency",
    "max_attempts": "max_attempts",
    "connect_timeout_s": "connect_timeout_s",
    "request_timeout_s": "request_timeout_s",
    "max_batch_statements": "max_batch_statements",
    "protocol_version": "protocol_version",
}
_INT_OPTIONS = {
    "replication_factor",
    "concurrency",
    "max_attempts",
    "max_batch_statements",
    "protocol_version",
}
_FLOAT_OPTIONS = {"connect_timeout_s", "request_timeout_s", "backoff_s", "max_backoff_s"}


def _parse_datacenters(value: object) -> dict[str, int]:
    if isinstance(value, Mapping):
        return {str(dc): _positive_int(f"replication[{dc!r}]", n) for dc, n in value.items()}
    result: dict[str, int] = {}
    for part in str(value).split(","):
        dc, sep, count = part.partition(":")
        if not sep or not dc:
            raise ConfigError(
                f"Cassandra replication={value!r} must look like 'dc1:3,dc2:2' "
                "(NetworkTopologyStrategy replicas per datacenter)"
            )
        result[dc] = _positive_int(f"replication[{dc!r}]", count)
    return result


def _coerce(name: str, value: object) -> object:
    if name in _INT_OPTIONS:
        return _positive_int(name, value)
    if name in _FLOAT_OPTIONS:
        return _positive_float(name, value)
    if name == "datacenters":
        return _parse_datacenters(value)
    if name in ("node_ttl", "edge_ttl"):
        return _ttl_map(name, value)
    if name == "consistency":
        return str(value).upper()
    return value


def parse_cassandra_url(url: str, **options: Any) -> CassandraConfig:
    """``cassandra://h1:9042,h2/keyspace?replication_factor=3`` plus keyword options.

    Keyword options (which win over the URL) may be any ``CassandraConfig`` field, e.g.
    ``node_ttl={"Session": 86400}``, ``username=...``, ``password=...``.
    """
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}..." if "@" in parts.netloc else url
    if parts.scheme not in ("cassandra", "scylla"):
        raise ConfigError(f"store URL {shown!r} is not a Cassandra URL; use {URL_FORMS}")
    if "@" in parts.netloc:
        raise ConfigError(
            f"store URL {shown!r} contains credentials; pass username=/password= options or set "
            f"{USERNAME_ENV} / {PASSWORD_ENV} instead (URLs end up in logs)"
        )
    hosts: list[str] = []
    ports: set[int] = set()
    for hostport in filter(None, parts.netloc.split(",")):
        host, _, port_text = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        host = host.strip("[]")
        if not host:
            raise ConfigError(f"store URL {url!r} has an empty host; use {URL_FORMS}")
        ports.add(_positive_int("port", port_text) if port_text else 9042)
        hosts.append(host)
    if len(ports) > 1:
        raise ConfigError(
            f"store URL {url!r}: all hosts must use the same port, got {sorted(ports)}"
        )
    keyspace = parts.path.strip("/")
    if not keyspace or "/" in keyspace:
        raise ConfigError(f"store URL {url!r} must name exactly one keyspace; use {URL_FORMS}")
    # Pinned to v4 (Cassandra 3-5 and ScyllaDB all speak it): it avoids the driver's noisy
    # version negotiation, and v5's frame checksums are computed in pure Python by
    # cassandra-driver 3.x, which profiled as a large share of per-request CPU.
    settings: dict[str, Any] = {"keyspace": keyspace, "protocol_version": 4}
    if hosts:
        settings["hosts"] = tuple(hosts)
        settings["port"] = ports.pop()
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key not in _URL_OPTIONS:
            raise ConfigError(
                f"store URL {url!r}: unknown option {key!r}; accepted: {', '.join(sorted(_URL_OPTIONS))}"
            )
        settings[_URL_OPTIONS[key]] = _coerce(_URL_OPTIONS[key], value)
    known = set(CassandraConfig.__dataclass_fields__)
    for key, value in options.items():
        if key == "replication":
            key = "datacenters"
        if key not in known:
            raise ConfigError(
                f"unknown Cassandra store option {key!r}; accepted: {', '.join(sorted(known))}"
            )
        if key == "hosts":
            settings[key] = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
        else:
            settings[key] = _coerce(key, value)
    return CassandraConfig(**settings).with_credentials_from_env()
