"""Where generated events go: partition files (Avro, JSON lines) or Kafka."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from ingest.errors import ConfigError, ConnectorError
from jobs.generate.events import _ENUMS, GeneratedEvent, Output
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.registry import (
    check_topic,
    parsed_schema,
    raw_schema,
)
from schemas.serde import AvroSerde, EncodeError, JsonSerde, Serde

log = logging.getLogger(__name__)


# -- outputs ------------------------------------------------------------------------------


def partition_for(key: str, partitions: int) -> int:
    """Stable file partition of a key: crc32 of its UTF-8 bytes, modulo `partitions`."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def is_representable(event: GeneratedEvent, output: Output) -> bool:
    """Whether `event` can be written to `output`.

    "json" (messages or .jsonl lines) holds every kind. "avro" (schemaless
    messages) cannot hold a record with a missing field or a wrong type;
    unknown enum symbols are written with a widened writer schema and
    undecodable bytes as they are. "avro-file" (object container files, one
    schema per file) also cannot hold unknown enum symbols or raw bytes.
    """
    if output == "json":
        return True
    if event.raw is not None:
        return output == "avro"
    reason = event.reason
    if reason in ("missing_field", "bad_type"):
        return False
    return not (reason == "unknown_enum" and output == "avro-file")


def _widened_schema(topic: str, symbol: str) -> dict[str, Any]:
    name, symbols, _ = _ENUMS[topic]
    schema = raw_schema(topic)
    for f in schema["fields"]:
        if f["name"] == name:
            f["type"] = dict(f["type"], symbols=[*symbols, symbol])
    return schema


_WIDENED: dict[tuple[str, str, bool, int | None], AvroSerde] = {}


def encode_event(event: GeneratedEvent, serde: Serde) -> bytes | None:
    """The message bytes for `event` under `serde`, or None if it cannot be
    represented (see is_representable with output "avro" or "json")."""
    if event.raw is not None:
        return event.raw
    assert event.record is not None
    if isinstance(serde, AvroSerde):
        if not is_representable(event, "avro"):
            return None
        if event.reason == "unknown_enum" and event.topic in _ENUMS:
            symbol = str(event.record[_ENUMS[event.topic][0]])
            cache_key = (event.topic, symbol, serde.confluent_wire, serde.schema_id)
            widened = _WIDENED.get(cache_key)
            if widened is None:
                widened = AvroSerde(
                    _widened_schema(event.topic, symbol),
                    confluent_wire=serde.confluent_wire,
                    schema_id=serde.schema_id,
                )
                _WIDENED[cache_key] = widened
            return widened.encode(event.record)
        return serde.encode(event.record)
    if isinstance(serde, JsonSerde):
        return serde.encode(event.record)
    try:
        return serde.encode(event.record)
    except EncodeError:
        return None


def _prepare_dir(out_dir: str | Path, topic: str) -> Path:
    """out_dir/<topic>, emptied of earlier part files: a reader of *.avro and
    *.jsonl would otherwise mix stale partitions (or formats) into the data."""
    directory = Path(out_dir) / check_topic(topic)
    directory.mkdir(parents=True, exist_ok=True)
    for pattern in ("part-*.avro", "part-*.jsonl", ".part-*.tmp"):
        for stale in directory.glob(pattern):
            stale.unlink()
    return directory


def _discard(files: Sequence[IO[bytes]], temps: Sequence[Path]) -> None:
    for fo in files:
        fo.close()
    for temp in temps:
        temp.unlink(missing_ok=True)


def _publish(files: Sequence[IO[bytes]], temps: Sequence[Path], paths: Sequence[Path]) -> None:
    """Close the written temporary files and move them into place."""
    for fo in files:
        fo.close()
    for temp, path in zip(temps, paths, strict=True):
        os.replace(temp, path)


def _check_partitions(partitions: int) -> None:
    if partitions < 1:
        raise ConfigError(f"partitions={partitions} must be at least 1")


def _check_event_topic(event: GeneratedEvent, topic: str) -> None:
    if event.topic != topic:
        raise ConfigError(f"event #{event.index} is a {event.topic} event, not {topic}")


def write_avro_files(
    out_dir: str | Path,
    topic: str,
    events: Iterable[GeneratedEvent],
    partitions: int = 4,
    *,
    codec: str = "null",
) -> list[Path]:
    """Write Avro object container files out_dir/<topic>/part-00000.avro ...

    One file per partition (all created, even empty ones), partition =
    crc32(key) % partitions, generation order kept within a file. Events a
    container file cannot hold - missing field, wrong type, unknown enum symbol,
    undecodable bytes (is_representable(e, "avro-file") is False) - are SKIPPED
    and counted in the log; write_jsonl_files keeps them. Replaces earlier part
    files in that directory; files appear atomically (written, then renamed).
    """
    from fastavro.write import Writer

    _check_partitions(partitions)
    schema = parsed_schema(topic)
    directory = _prepare_dir(out_dir, topic)
    paths = [directory / f"part-{p:05d}.avro" for p in range(partitions)]
    temps = [directory / f".{path.name}.tmp" for path in paths]
    files = [open(t, "wb") for t in temps]  # noqa: SIM115 - closed below
    skipped: Counter[str] = Counter()
    try:
        writers = [
            Writer(
                fo,
                schema,
                codec=codec,
                sync_marker=hashlib.blake2b(f"{topic}:{p}".encode(), digest_size=16).digest(),
            )
            for p, fo in enumerate(files)
        ]
        for event in events:
            _check_event_topic(event, topic)
            if not is_representable(event, "avro-file"):
                skipped[event.kind] += 1
                continue
            writers[partition_for(event.key, partitions)].write(event.record)
        for writer in writers:
            writer.flush()
    except BaseException:
        _discard(files, temps)
        raise
    _publish(files, temps, paths)
    if skipped:
        log.info("%s: skipped events an Avro file cannot hold: %s", topic, dict(skipped))
    return paths


def write_jsonl_files(
    out_dir: str | Path,
    topic: str,
    events: Iterable[GeneratedEvent],
    partitions: int = 4,
) -> list[Path]:
    """Write JSON-lines files out_dir/<topic>/part-00000.jsonl ..., one object
    per line, partitioned and ordered like write_avro_files. Every kind is kept:
    undecodable events are their raw bytes on a line (valid UTF-8, not JSON)."""
    _check_partitions(partitions)
    serde = JsonSerde(topic)
    directory = _prepare_dir(out_dir, topic)
    paths = [directory / f"part-{p:05d}.jsonl" for p in range(partitions)]
    temps = [directory / f".{path.name}.tmp" for path in paths]
    files = [open(t, "wb") for t in temps]  # noqa: SIM115 - closed below
    try:
        for event in events:
            _check_event_topic(event, topic)
            line = event.raw if event.raw is not None else serde.encode(event.record or {})
            if b"\n" in line:
                raise ConfigError(f"event #{event.index} would span lines: {line[:60]!r}")
            files[partition_for(event.key, partitions)].write(line + b"\n")
    except BaseException:
        _discard(files, temps)
        raise
    _publish(files, temps, paths)
    return paths


def produce_to_kafka(
    bootstrap: str,
    topic: str,
    events: Iterable[GeneratedEvent],
    serde: Serde,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    kafka_topic: str | None = None,
    config: dict[str, Any] | None = None,
    flush_timeout_s: float = 120.0,
) -> int:
    """Produce `events` to Kafka and return how many messages were delivered.

    Key = the partition key (UTF-8), value = encode_event(event, serde) (events
    it cannot represent are skipped and logged), message timestamp = the
    event's ts when it is a valid event time (else the producer's clock).
    Java-compatible murmur2_random partitioning and idempotence. `rate` caps
    messages per second; `progress(n_done)` is called now and then and at the
    end. Raises ConnectorError on any delivery error, after flushing.
    """
    try:
        from confluent_kafka import KafkaException, Producer
    except ImportError as exc:
        raise ConnectorError(
            "producing to Kafka needs confluent-kafka: pip install 'rdg[kafka]'"
        ) from exc
    check_topic(topic)
    if rate is not None and not rate > 0:
        raise ConfigError(f"rate={rate} must be positive (or None for no limit)")
    target = kafka_topic or topic
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "linger.ms": 20,
        "compression.type": "lz4",
        "logger": log,  # librdkafka's own messages go to logging, not stderr
        **(config or {}),
    }
    producer = Producer(settings)
    errors: list[str] = []
    delivered = 0

    def on_delivery(err: Any, msg: Any) -> None:
        nonlocal delivered
        if err is not None:
            if len(errors) < 5:
                errors.append(f"{err} (partition {msg.partition()}, key {msg.key()!r})")
        else:
            delivered += 1

    skipped: Counter[str] = Counter()
    sent = 0
    started = time.monotonic()
    for event in events:
        _check_event_topic(event, topic)
        value = encode_event(event, serde)
        if value is None:
            skipped[event.kind] += 1
            continue
        ts = event.ts
        timestamp = ts if ts is not None and TS_MIN_MS <= ts < TS_MAX_MS else 0
        while True:
            try:
                producer.produce(
                    target,
                    value=value,
                    key=event.key.encode("utf-8"),
                    timestamp=timestamp,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain
            except KafkaException as exc:
                raise ConnectorError(
                    f"cannot produce to Kafka topic {target!r} at {bootstrap}: {exc}"
                ) from exc
        sent += 1
        producer.poll(0)
        if errors:
            break
        if rate is not None:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if progress is not None and sent % 1000 == 0:
            progress(sent)
    remaining = producer.flush(flush_timeout_s)
    if skipped:
        log.info(
            "%s: skipped events Kafka messages under %r cannot hold: %s",
            topic,
            serde,
            dict(skipped),
        )
    if errors:
        raise ConnectorError(
            f"delivery to Kafka topic {target!r} at {bootstrap} failed: {'; '.join(errors)}"
        )
    if remaining:
        raise ConnectorError(
            f"{remaining} messages to Kafka topic {target!r} at {bootstrap} were not delivered "
            f"within {flush_timeout_s} s"
        )
    if progress is not None:
        progress(sent)
    log.info("produced %d %s events to %s (%s)", delivered, topic, target, bootstrap)
    return delivered
