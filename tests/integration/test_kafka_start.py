"""KafkaSource start positions against the real broker: earliest, latest, a timestamp, and the
group's committed offsets (which only move after a completed checkpoint)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest import CheckpointConfig, CollectSink, StreamEnvironment, WatermarkStrategy
from ingest.errors import ConnectorError
from ingest.kafka import admin
from ingest.kafka.source import KafkaSource

BASE = 1_767_225_600_000


def _produce(bootstrap: str, topic: str, start: int, n: int) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(start, start + n):
        p.produce(topic, str(i).encode(), b"k", timestamp=BASE + i * 1000)
    assert p.flush(30) == 0


def _read(
    bootstrap: str, topic: str, group: str, start: Any, ckpt: Path | None = None
) -> list[int]:
    env = StreamEnvironment(
        "start-test", checkpoint=CheckpointConfig(ckpt, interval_ms=0) if ckpt else None
    )
    sink = CollectSink()
    env.from_source(
        KafkaSource(bootstrap, topic, group, start=start, bounded=True),
        WatermarkStrategy.for_monotonous_timestamps(),
    ).map(lambda m: int(m.value())).sink_to(sink)
    env.execute()
    return sorted(sink.values)


def test_start_positions(kafka_bootstrap: str, fresh_topic: str, tmp_path: Path) -> None:
    admin.create_topic(kafka_bootstrap, fresh_topic, 1, config={"retention.ms": "-1"})
    _produce(kafka_bootstrap, fresh_topic, 0, 20)
    g = lambda: f"g-{uuid.uuid4().hex[:8]}"  # noqa: E731
    assert _read(kafka_bootstrap, fresh_topic, g(), "earliest") == list(range(20))
    assert _read(kafka_bootstrap, fresh_topic, g(), "latest") == []
    # a timestamp starts at the first record at or after it
    assert _read(kafka_bootstrap, fresh_topic, g(), BASE + 15_000) == [15, 16, 17, 18, 19]
    assert _read(kafka_bootstrap, fresh_topic, g(), str(BASE + 15_500)) == [16, 17, 18, 19]

    # committed: a group that checkpointed (and so committed) continues where it stopped
    group = g()
    assert _read(kafka_bootstrap, fresh_topic, group, "committed", tmp_path / "a") == list(
        range(20)
    )
    _produce(kafka_bootstrap, fresh_topic, 20, 5)
    # a fresh checkpoint dir: the position comes from the group's committed offsets
    assert _read(kafka_bootstrap, fresh_topic, group, "committed", tmp_path / "b") == list(
        range(20, 25)
    )


def test_missing_topic_and_unreachable_broker(kafka_bootstrap: str) -> None:
    with pytest.raises(ConnectorError, match="does not exist"):
        _read(kafka_bootstrap, f"no-such-topic-{uuid.uuid4().hex[:6]}", "g", "earliest")
    with pytest.raises(ConnectorError, match="make up"):
        _read("127.0.0.1:1", "t", "g", "earliest")
