"""Smoke tests against the real local Kafka and Cassandra: if these fail, nothing else can pass.

Nothing here is mocked: each test talks to the servers started by `make up`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from ingest.errors import ConnectorError
from ingest.kafka import admin

PARTITIONS = 4
PER_PARTITION = 3


def test_kafka_topic_produce_consume_describe_delete(kafka_bootstrap: str, fresh_topic: str):
    assert admin.create_topic(kafka_bootstrap, fresh_topic, PARTITIONS) is True
    assert fresh_topic in admin.list_topics(kafka_bootstrap)

    sent: set[tuple[int, bytes, bytes]] = set()
    delivery_errors: list[Any] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            delivery_errors.append(err)

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 0})
    for partition in range(PARTITIONS):
        for i in range(PER_PARTITION):
            key, value = f"member-{partition}-{i}".encode(), f"event-{i}".encode()
            producer.produce(fresh_topic, value, key, partition=partition, on_delivery=on_delivery)
            sent.add((partition, key, value))
    assert producer.flush(15.0) == 0, "messages still queued after 15 s"
    assert delivery_errors == []

    info = admin.describe_topic(kafka_bootstrap, fresh_topic)
    assert info.partition_count == PARTITIONS
    assert [p.partition for p in info.partitions] == list(range(PARTITIONS))
    assert all((p.low, p.high) == (0, PER_PARTITION) for p in info.partitions), info
    assert all(p.leader >= 0 and p.replicas for p in info.partitions)
    assert info.messages == PARTITIONS * PER_PARTITION

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"rdg-smoke-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: set[tuple[int, bytes, bytes]] = set()
    try:
        consumer.subscribe([fresh_topic])
        deadline = time.monotonic() + 30.0
        while len(received) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                continue
            received.add((msg.partition(), msg.key(), msg.value()))
    finally:
        consumer.close()
    assert received == sent

    assert admin.delete_topic(kafka_bootstrap, fresh_topic) is True
    assert not admin.topic_exists(kafka_bootstrap, fresh_topic)
    assert admin.delete_topic(kafka_bootstrap, fresh_topic) is False  # idempotent


def test_kafka_create_topic_is_idempotent_only_when_asked(kafka_bootstrap: str, fresh_topic: str):
    assert admin.create_topic(kafka_bootstrap, fresh_topic, 2) is True
    assert admin.create_topic(kafka_bootstrap, fresh_topic, 2, exist_ok=True) is False
    with pytest.raises(admin.TopicExistsError, match="already exists"):
        admin.create_topic(kafka_bootstrap, fresh_topic, 2)
    with pytest.raises(admin.UnknownTopicError):
        admin.describe_topic(kafka_bootstrap, fresh_topic + "-missing")


def test_cassandra_keyspace_table_prepared_roundtrip(
    cassandra_session: Any, fresh_keyspace_name: str
):
    session, ks = cassandra_session, fresh_keyspace_name
    session.execute(
        f"CREATE KEYSPACE {ks} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE {ks}.edges (src text, dst text, weight int, PRIMARY KEY (src, dst))"
    )
    insert = session.prepare(f"INSERT INTO {ks}.edges (src, dst, weight) VALUES (?, ?, ?)")
    rows = [("alice", "bob", 3), ("alice", "carol", 1), ("bob", "carol", 7)]
    for row in rows:
        session.execute(insert, row)

    select = session.prepare(f"SELECT src, dst, weight FROM {ks}.edges WHERE src = ?")
    got = [(r.src, r.dst, r.weight) for r in session.execute(select, ("alice",))]
    assert got == [("alice", "bob", 3), ("alice", "carol", 1)]  # clustered by dst
    everything = {(r.src, r.dst, r.weight) for r in session.execute(f"SELECT * FROM {ks}.edges")}
    assert everything == set(rows)

    session.execute(f"DROP KEYSPACE {ks}")
    names = {
        r.keyspace_name
        for r in session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
    }
    assert ks not in names


def test_fresh_keyspace_fixture_creates_a_usable_keyspace(
    cassandra_session: Any, fresh_keyspace: str
):
    row = cassandra_session.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
        (fresh_keyspace,),
    ).one()
    assert row is not None
    assert row.replication["class"].endswith("SimpleStrategy")
    assert row.replication["replication_factor"] == "1"


@pytest.mark.parametrize(
    "call",
    [
        lambda b: admin.list_topics(b, timeout=2.0),
        lambda b: admin.create_topic(b, "rdg-unreachable", 1, timeout=2.0),
        lambda b: admin.describe_topic(b, "rdg-unreachable", timeout=2.0),
        lambda b: admin.delete_topic(b, "rdg-unreachable", timeout=2.0),
    ],
    ids=["list_topics", "create_topic", "describe_topic", "delete_topic"],
)
def test_admin_helpers_fail_fast_and_clearly_when_broker_unreachable(call: Any):
    bootstrap = "127.0.0.1:1"  # nothing listens on port 1
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        call(bootstrap)
    elapsed = time.monotonic() - started
    assert elapsed < 6.0, f"took {elapsed:.1f} s for a 2 s timeout"
    message = str(caught.value)
    assert bootstrap in message
    assert "unreachable" in message
    assert "make up" in message
