"""ingest.kafka.admin checks that need no broker: argument validation, missing dependency."""

from __future__ import annotations

import sys

import pytest

from ingest.errors import ConfigError, ConnectorError
from ingest.kafka import admin


@pytest.mark.parametrize("name", ["", "has space", "slash/y", ".", "..", "x" * 250])
def test_invalid_topic_names_are_rejected_before_any_network(name: str):
    with pytest.raises(ConfigError, match="invalid Kafka topic name"):
        admin.create_topic("127.0.0.1:1", name, 1, timeout=0.5)


def test_partitions_and_replication_must_be_positive():
    with pytest.raises(ConfigError, match="must be >= 1"):
        admin.create_topic("127.0.0.1:1", "ok-name", 0, timeout=0.5)
    with pytest.raises(ConfigError, match="must be >= 1"):
        admin.create_topic("127.0.0.1:1", "ok-name", 1, replication=0, timeout=0.5)


def test_empty_bootstrap_is_a_config_error():
    with pytest.raises(ConfigError, match="bootstrap"):
        admin.list_topics(" ", timeout=0.5)


def test_missing_confluent_kafka_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    monkeypatch.setitem(sys.modules, "confluent_kafka.admin", None)
    with pytest.raises(ConnectorError, match=r"pip install 'rdg\[kafka\]'"):
        admin.list_topics("127.0.0.1:9092", timeout=0.5)


def test_partition_and_topic_info_arithmetic():
    parts = (
        admin.PartitionInfo(0, 1, (1,), low=2, high=5),
        admin.PartitionInfo(1, 1, (1,), low=0, high=4),
    )
    info = admin.TopicInfo("t", parts)
    assert info.partition_count == 2
    assert [p.messages for p in parts] == [3, 4]
    assert info.messages == 7
