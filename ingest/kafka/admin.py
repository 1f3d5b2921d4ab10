"""Kafka topic administration: create, describe, list and delete topics, with timeouts.

Jobs, tools and tests need topics to exist (with a known partition count) before they
produce or consume, and need a clear error instead of a hang when no broker is there.
Every helper takes the bootstrap address and an overall `timeout` in seconds, and raises
`ConnectorError` naming the address when the broker cannot be reached.

confluent-kafka is imported on first use, so importing this module never requires it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from ingest.errors import ConfigError, ConnectorError

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient, ClusterMetadata

__all__ = [
    "DEFAULT_TIMEOUT",
    "PartitionInfo",
    "TopicExistsError",
    "TopicInfo",
    "UnknownTopicError",
    "create_topic",
    "delete_consumer_group",
    "delete_topic",
    "describe_topic",
    "list_consumer_groups",
    "list_topics",
    "topic_exists",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds each helper may take in total, including waiting for the change to show."""

_POLL = 0.1
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_UNREACHABLE = ("_TRANSPORT", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "_ALL_BROKERS_DOWN", "_RESOLVE")
_INSTALL_HINT = "confluent-kafka is not installed: pip install 'rdg[kafka]'"


class TopicExistsError(ConnectorError):
    """create_topic(exist_ok=False) found the topic already there."""


class UnknownTopicError(ConnectorError):
    """The topic does not exist (describe, or delete with missing_ok=False)."""


@dataclass(frozen=True)
class PartitionInfo:
    """One partition: its leader and replicas, and its low/high watermark offsets."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    low: int
    high: int

    @property
    def messages(self) -> int:
        """Messages currently retained (high - low watermark)."""
        return self.high - self.low


@dataclass(frozen=True)
class TopicInfo:
    """What describe_topic reports."""

    name: str
    partitions: tuple[PartitionInfo, ...]

    @property
    def partition_count(self) -> int:
        return len(self.partitions)

    @property
    def messages(self) -> int:
        return sum(p.messages for p in self.partitions)


def _kafka() -> ModuleType:
    """confluent_kafka, imported here so the extra is needed only when Kafka is used."""
    try:
        import confluent_kafka
        import confluent_kafka.admin  # binds the admin submodule as an attribute
    except ImportError as exc:
        raise ConnectorError(_INSTALL_HINT) from exc
    return confluent_kafka


def _client_conf(bootstrap: str, timeout: float) -> dict[str, str | int | float | bool]:
    ms = max(100, int(timeout * 1000))
    return {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": max(1000, ms),
        "socket.connection.setup.timeout.ms": max(1000, ms),
        "log_level": 0,  # failures are raised as ConnectorError instead of logged to stderr
    }


def _admin(bootstrap: str, timeout: float) -> AdminClient:
    if not bootstrap or not bootstrap.strip():
        raise ConfigError("Kafka bootstrap address is empty (expected host:port)")
    client: AdminClient = _kafka().admin.AdminClient(_client_conf(bootstrap, timeout))
    return client


def _error_text(exc: BaseException) -> tuple[str, str]:
    """(librdkafka error name, readable text) of a KafkaException."""
    err = exc.args[0] if exc.args else None
    name = getattr(err, "name", None)
    text = getattr(err, "str", None)
    if callable(name) and callable(text):
        return str(name()), str(text())
    return "", str(exc)


def _failure(bootstrap: str, action: str, exc: BaseException, timeout: float) -> ConnectorError:
    name, text = _error_text(exc)
    if name in _UNREACHABLE or isinstance(exc, concurrent.futures.TimeoutError):
        return ConnectorError(
            f"Kafka broker at {bootstrap} is unreachable: {action} got no answer within "
            f"{timeout:g} s ({text or 'timed out'}). Is the broker running? For the local "
            "cluster run `make up` (and `make status` to check it)."
        )
    return ConnectorError(f"Kafka at {bootstrap}: {action} failed: {text}")


def _metadata(admin: AdminClient, bootstrap: str, timeout: float) -> ClusterMetadata:
    """All topics' metadata (never a single-topic request, which may auto-create it)."""
    kafka = _kafka()
    try:
        metadata: ClusterMetadata = admin.list_topics(timeout=timeout)
    except kafka.KafkaException as exc:
        raise _failure(bootstrap, "metadata request", exc, timeout) from exc
    return metadata


def _wait(
    admin: AdminClient,
    bootstrap: str,
    done: Callable[[ClusterMetadata], bool],
    what: str,
    deadline: float,
) -> None:
    """Poll metadata until `done` holds: admin operations return before brokers agree."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConnectorError(f"Kafka at {bootstrap}: timed out waiting until {what}")
        if done(_metadata(admin, bootstrap, max(0.5, remaining))):
            return
        time.sleep(_POLL)


def _check_name(name: str) -> None:
    if not _TOPIC_NAME.match(name) or name in (".", ".."):
        raise ConfigError(
            f"invalid Kafka topic name {name!r}: use 1-249 characters from [A-Za-z0-9._-]"
        )


def _topic_ready(name: str, partitions: int) -> Callable[[ClusterMetadata], bool]:
    def ready(metadata: ClusterMetadata) -> bool:
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None or len(topic.partitions) != partitions:
            return False
        return all(p.leader >= 0 and p.error is None for p in topic.partitions.values())

    return ready


def _config_values(config: Mapping[str, object] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in (config or {}).items():
        values[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return values


def list_topics(
    bootstrap: str, *, include_internal: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """Sorted topic names; internal ones (``__consumer_offsets``...) only if asked."""
    metadata = _metadata(_admin(bootstrap, timeout), bootstrap, timeout)
    return sorted(t for t in metadata.topics if include_internal or not t.startswith("__"))


def topic_exists(bootstrap: str, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """True when the broker's metadata lists `name`."""
    return name in _metadata(_admin(bootstrap, timeout), bootstrap, timeout).topics


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int,
    replication: int = 1,
    config: Mapping[str, object] | None = None,
    wait: bool = True,
    *,
    exist_ok: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """Create `name`; return True if created, False if it existed and `exist_ok`.

    With `wait`, return only once every partition has a leader, so producing right after
    does not race the creation. An existing topic with another partition count is an error
    even with `exist_ok`, since callers rely on the count for key placement.
    """
    _check_name(name)
    if partitions < 1 or replication < 1:
        raise ConfigError(
            f"topic {name!r}: partitions and replication must be >= 1 "
            f"(got {partitions}, {replication})"
        )
    deadline = time.monotonic() + timeout
    kafka = _kafka()
    admin = _admin(bootstrap, timeout)
    _metadata(admin, bootstrap, timeout)  # fail fast, with a clear message, when unreachable
    new = kafka.admin.NewTopic(
        name,
        num_partitions=partitions,
        replication_factor=replication,
        config=_config_values(config),
    )
    remaining = max(0.5, deadline - time.monotonic())
    futures = admin.create_topics([new], operation_timeout=remaining, request_timeout=remaining)
    created = True
    try:
        futures[name].result(timeout=remaining + 1.0)
    except kafka.KafkaException as exc:
        if _error_text(exc)[0] != "TOPIC_ALREADY_EXISTS":
            raise _failure(bootstrap, f"creating topic {name!r}", exc, timeout) from exc
        if not exist_ok:
            raise TopicExistsError(
                f"Kafka at {bootstrap}: topic {name!r} already exists "
                "(pass exist_ok=True to accept an existing topic)"
            ) from exc
        created = False
    except concurrent.futures.TimeoutError as exc:
        raise _failure(bootstrap, f"creating topic {name!r}", exc, timeout) from exc
    if not created:
        topic = _metadata(admin, bootstrap, timeout).topics.get(name)
        have = len(topic.partitions) if topic is not None else None
        if have is not None and have != partitions:
            raise ConfigError(
                f"Kafka at {bootstrap}: topic {name!r} exists with {have} partitions, "
                f"not the {partitions} asked for; delete it or use its partition count"
            )
    if wait:
        _wait(
            admin,
            bootstrap,
            _topic_ready(name, partitions),
            f"topic {name!r} has {partitions} partitions with leaders",
            deadline,
        )
    log.debug("topic %s on %s: %s", name, bootstrap, "created" if created else "existed")
    return created


def describe_topic(bootstrap: str, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> TopicInfo:
    """Partitions of `name` with leaders, replicas and current low/high watermark offsets."""
    kafka = _kafka()
    metadata = _metadata(_admin(bootstrap, timeout), bootstrap, timeout)
    topic = metadata.topics.get(name)
    if topic is None or topic.error is not None:
        detail = f" ({topic.error.str()})" if topic is not None and topic.error else ""
        raise UnknownTopicError(f"Kafka at {bootstrap}: no topic {name!r}{detail}")
    conf = _client_conf(bootstrap, timeout)
    conf.update({"group.id": "rdg-admin-describe", "enable.auto.commit": False})
    consumer = kafka.Consumer(conf)
    infos: list[PartitionInfo] = []
    try:
        for pid in sorted(topic.partitions):
            part = topic.partitions[pid]
            tp = kafka.TopicPartition(name, pid)
            try:
                low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
            except kafka.KafkaException as exc:
                raise _failure(
                    bootstrap, f"reading offsets of {name}[{pid}]", exc, timeout
                ) from exc
            infos.append(PartitionInfo(pid, part.leader, tuple(part.replicas), low, high))
    finally:
        consumer.close()
    return TopicInfo(name, tuple(infos))


def delete_topic(
    bootstrap: str,
    name: str,
    *,
    wait: bool = True,
    missing_ok: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """Delete `name`; return True if deleted, False if it was not there and `missing_ok`.

    With `wait`, return only once the metadata no longer lists the topic, so a test can
    re-create the same name right away.
    """
    _check_name(name)
    deadline = time.monotonic() + timeout
    kafka = _kafka()
    admin = _admin(bootstrap, timeout)

    def missing(exc: BaseException | None = None) -> bool:
        if missing_ok:
            return False
        raise UnknownTopicError(f"Kafka at {bootstrap}: no topic {name!r} to delete") from exc

    if name not in _metadata(admin, bootstrap, timeout).topics:
        return missing()
    remaining = max(0.5, deadline - time.monotonic())
    futures = admin.delete_topics([name], operation_timeout=remaining, request_timeout=remaining)
    try:
        futures[name].result(timeout=remaining + 1.0)
    except kafka.KafkaException as exc:
        if _error_text(exc)[0] == "UNKNOWN_TOPIC_OR_PART":
            return missing(exc)
        raise _failure(bootstrap, f"deleting topic {name!r}", exc, timeout) from exc
    except concurrent.futures.TimeoutError as exc:
        raise _failure(bootstrap, f"deleting topic {name!r}", exc, timeout) from exc
    if wait:
        _wait(admin, bootstrap, lambda md: name not in md.topics, f"{name!r} is gone", deadline)
    return True


def list_consumer_groups(bootstrap: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """The ids of the consumer groups the cluster knows, sorted."""
    kafka = _kafka()
    admin = _admin(bootstrap, timeout)
    try:
        result = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout + 1.0)
    except (kafka.KafkaException, concurrent.futures.TimeoutError) as exc:
        raise _failure(bootstrap, "listing consumer groups", exc, timeout) from exc
    return sorted(g.group_id for g in result.valid)


def delete_consumer_group(
    bootstrap: str, group: str, *, missing_ok: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """Delete a consumer group (it must have no active members); True if deleted, False
    if there was none and `missing_ok`."""
    kafka = _kafka()
    admin = _admin(bootstrap, timeout)
    futures = admin.delete_consumer_groups([group], request_timeout=timeout)
    try:
        futures[group].result(timeout=timeout + 1.0)
    except kafka.KafkaException as exc:
        if _error_text(exc)[0] == "GROUP_ID_NOT_FOUND" and missing_ok:
            return False
        raise _failure(bootstrap, f"deleting consumer group {group!r}", exc, timeout) from exc
    except concurrent.futures.TimeoutError as exc:
        raise _failure(bootstrap, f"deleting consumer group {group!r}", exc, timeout) from exc
    return True
