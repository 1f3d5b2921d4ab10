"""`rdg generate --bootstrap` against the real local broker: the topic it creates, and
the messages (keys, values, record timestamps) it produces."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
from typer.testing import CliRunner, Result

from ingest.kafka import admin
from jobs.cli import app
from jobs.generate import encode_event, generate_events
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.serde import AvroSerde, JsonSerde, Serde

runner = CliRunner()
EVENTS = 600
SEED = 9


def rdg(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def consume_all(bootstrap: str, topic: str, partitions: int, total: int) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rdg-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    messages: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + 60.0
        while len(messages) < total and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=1.0):
                assert msg.error() is None, msg.error()
                messages.append(msg)
    finally:
        consumer.close()
    return messages


def topic_config(bootstrap: str, topic: str, key: str) -> str:
    client = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = client.describe_configs([resource])[resource].result(timeout=15.0)
    return str(entries[key].value)


@pytest.mark.parametrize(
    ("serialization", "serde"),
    [("avro", AvroSerde("playback")), ("json", JsonSerde("playback"))],
    ids=["avro", "json"],
)
def test_generate_to_kafka(
    kafka_bootstrap: str, fresh_topic: str, serialization: str, serde: Serde
) -> None:
    result = rdg(
        "generate", "playback", "--events", str(EVENTS), "--seed", str(SEED),
        "--invalid", "0.05", "--duplicates", "0.05", "--partitions", "3",
        "--bootstrap", kafka_bootstrap, "--kafka-topic", fresh_topic,
        "--serialization", serialization, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["destination"] == "kafka" and doc["serialization"] == serialization
    summary = doc["topics"]["playback"]
    assert summary["kafka_topic"] == fresh_topic
    assert summary["events"] == EVENTS

    info = admin.describe_topic(kafka_bootstrap, fresh_topic)
    assert info.partition_count == 3
    assert info.messages == summary["written"]
    # generated event times lie in the past: time-based retention must not delete them
    assert topic_config(kafka_bootstrap, fresh_topic, "retention.ms") == "-1"

    # exactly the generator's messages for this seed, keyed by profile, stamped with ts
    expected: dict[tuple[bytes, bytes], int | None] = {}
    for event in generate_events("playback", EVENTS, SEED, invalid=0.05, duplicates=0.05):
        value = encode_event(event, serde)
        if value is not None:
            expected.setdefault((event.key.encode(), value), event.ts)
    if serialization == "json":
        assert summary["skipped"] == 0
    messages = consume_all(kafka_bootstrap, fresh_topic, 3, summary["written"])
    assert len(messages) == summary["written"]
    got = {(m.key(), m.value()) for m in messages}
    assert got == set(expected)
    for m in messages:
        ts = expected[(m.key(), m.value())]
        if ts is not None and TS_MIN_MS <= ts < TS_MAX_MS:  # bad_ts events get the clock
            assert m.timestamp()[1] == ts


def test_existing_topic_with_other_partition_count(kafka_bootstrap: str, fresh_topic: str) -> None:
    admin.create_topic(kafka_bootstrap, fresh_topic, 2)
    result = rdg(
        "generate", "login", "--events", "10", "--partitions", "4",
        "--bootstrap", kafka_bootstrap, "--kafka-topic", fresh_topic,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"topic {fresh_topic!r} exists with 2 partitions" in " ".join(result.stderr.split())
    assert admin.describe_topic(kafka_bootstrap, fresh_topic).messages == 0


def test_existing_topic_is_reused(kafka_bootstrap: str, fresh_topic: str) -> None:
    args = (
        "generate", "login", "--events", "50", "--partitions", "2",
        "--bootstrap", kafka_bootstrap, "--kafka-topic", fresh_topic, "--json",
    )  # fmt: skip
    first = rdg(*args)
    assert first.exit_code == 0, first.output
    second = rdg(*args)
    assert second.exit_code == 0, second.output
    written = json.loads(first.stdout)["topics"]["login"]["written"]
    assert admin.describe_topic(kafka_bootstrap, fresh_topic).messages == 2 * written
