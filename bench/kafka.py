"""Kafka benchmark: 1,000,000 Avro member events through the engine vs a bare consumer loop.

1. Produce N ``playback`` events (Avro, ~200 bytes) to a fresh 4-partition topic.
2. Baseline: a bare loop that consumes the topic with confluent-kafka (with the same fetch
   settings as the engine's source, ``CONSUMER_TUNING``) and decodes each value with
   fastavro's ``schemaless_reader`` (``baseline_per_s``), and the same loop with the
   product's decoder (``baseline_same_decoder_per_s``; native when it is built).
3. Engine: KafkaSource (bounded) with the product decoder -> key_by(profile_id) -> keyed
   count (1-hour tumbling windows) -> null sink, in this one process (``events_per_s``).
   Like the baseline it is timed from the first records to the end; the consumer's
   start-up and group join before that is reported apart (``engine_startup_s``).

Needs the local cluster (``make up``).  Prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
import uuid
from typing import Any

from ingest import NullSink, StreamEnvironment, TumblingEventTimeWindows, WatermarkStrategy
from ingest.kafka import admin
from ingest.kafka.source import CONSUMER_TUNING, KafkaSource
from ingest.sources.base import PartitionBatch
from schemas.registry import parsed_schema
from schemas.serde import AvroSerde

BASE_TS = 1_767_225_600_000


def produce(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    from confluent_kafka import Producer

    serde = AvroSerde("playback")
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
            "partitioner": "murmur2_random",
        }
    )
    sizes = []
    t0 = time.perf_counter()
    for i in range(n):
        profile = f"profile-{uuid.UUID(int=i % 100_000).hex[-20:]}"
        e: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=i * 2654435761 % (1 << 128))),
            "ts": BASE_TS + i * 3,
            "account_id": f"account-{uuid.UUID(int=i % 40_000).hex[-20:]}",
            "profile_id": profile,
            "title_id": f"title-{(i * 7919) % 20_000:08d}",
            "device_id": f"device-{uuid.UUID(int=i % 90_000).hex[-20:]}",
            "device_type": ("tv", "mobile", "web", "tablet")[i % 4],
            "country": ("US", "NL", "BR", "JP", "FR")[i % 5],
            "action": ("START", "PAUSE", "STOP")[i % 3],
            "position_ms": (i * 1000) % 7_200_000,
        }
        v = serde.encode(e)
        if i < 1000:
            sizes.append(len(v))
        while True:
            try:
                p.produce(topic, v, profile.encode(), timestamp=BASE_TS + i * 3)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10_000 == 0:
            p.poll(0)
    assert p.flush(120) == 0
    return time.perf_counter() - t0, statistics.mean(sizes) + 16  # + key


def baseline(bootstrap: str, topic: str, n: int, decoder: str) -> float:
    import fastavro
    from confluent_kafka import Consumer

    schema = parsed_schema("playback")
    serde = AvroSerde("playback")
    reader = fastavro.schemaless_reader
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-base-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **CONSUMER_TUNING,  # the same fetch settings as the engine's source
        }
    )
    c.subscribe([topic])
    got = 0
    counts: dict[str, int] = {}
    t0 = None
    while got < n:
        msgs = c.consume(5000, 1.0)
        if t0 is None and msgs:
            t0 = time.perf_counter()
        for m in msgs:
            if m.error():
                continue
            value = m.value() or b""
            if decoder == "fastavro":
                rec: Any = reader(io.BytesIO(value), schema, None)
            else:
                rec = serde.decode(value)
            k = rec["profile_id"]
            counts[k] = counts.get(k, 0) + 1
            got += 1
    assert t0 is not None
    dt = time.perf_counter() - t0
    c.close()
    return dt


class TimedKafkaSource(KafkaSource):
    """Notes when the first records arrive, so that the engine is timed like the baseline:
    from the first records to the end, not counting the consumer's start-up and group join."""

    first_records_at: float | None = None

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        batches = super().poll(max_records, timeout_s)
        if self.first_records_at is None and any(b.values for b in batches):
            self.first_records_at = time.perf_counter()
        return batches


def engine(bootstrap: str, topic: str, n: int) -> tuple[float, float, int]:
    """Seconds from the first records to the end, seconds in all, and the window results."""
    serde = AvroSerde("playback")
    env = StreamEnvironment("bench-kafka", max_batch=5000)
    source = TimedKafkaSource(
        bootstrap,
        topic,
        f"bench-engine-{uuid.uuid4().hex[:8]}",
        start="earliest",
        bounded=True,
        batch_size=5000,
        deserializer=serde,
    )
    sink = NullSink()
    (
        env.from_source(
            source,
            WatermarkStrategy.for_bounded_out_of_orderness(10_000).with_timestamp_assigner("ts"),
        )
        .key_by("profile_id")
        .window(TumblingEventTimeWindows.of(3_600_000))
        .count()
        .sink_to(sink)
    )
    runner = env.runner()
    t0 = time.perf_counter()
    result = runner.run()
    end = time.perf_counter()
    assert result.metrics["records_in"] == n, result.metrics
    assert source.first_records_at is not None
    return end - source.first_records_at, end - t0, sink.count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep-topic", action="store_true")
    args = ap.parse_args()
    n = args.events
    topic = f"bench-playback-{uuid.uuid4().hex[:8]}"
    admin.create_topic(args.bootstrap, topic, 4, config={"retention.ms": "-1"})
    try:
        prod_s, avg_size = produce(args.bootstrap, topic, n)
        print(f"produced {n:,} events (~{avg_size:.0f} bytes each) in {prod_s:.1f} s")
        base_s = baseline(args.bootstrap, topic, n, "fastavro")
        same_s = baseline(args.bootstrap, topic, n, "product")
        eng_s, eng_total_s, results = engine(args.bootstrap, topic, n)
    finally:
        if not args.keep_topic:
            admin.delete_topic(args.bootstrap, topic, missing_ok=True)
    res = {
        "events": n,
        "avg_message_bytes": round(avg_size),
        "produce_per_s": round(n / prod_s),
        "baseline_per_s": round(n / base_s),
        "baseline_same_decoder_per_s": round(n / same_s),
        "events_per_s": round(n / eng_s),
        "engine_startup_s": round(eng_total_s - eng_s, 3),
        "ratio": round(base_s / eng_s, 3),
        "ratio_same_decoder": round(same_s / eng_s, 3),
        "window_results": results,
    }
    print(f"baseline, confluent-kafka + fastavro:    {res['baseline_per_s']:>10,} events/s")
    print(
        f"baseline, confluent-kafka + our decoder: {res['baseline_same_decoder_per_s']:>10,} events/s"
    )
    print(
        f"engine (decode, key_by, keyed count):    {res['events_per_s']:>10,} events/s "
        f"(ratio {res['ratio']}, {res['ratio_same_decoder']} vs the same decoder)"
    )
    print(json.dumps(res))


if __name__ == "__main__":
    main()
