"""Kafka sink (confluent-kafka) for derived topics, side outputs and dead letters.

An idempotent producer (``enable.idempotence``, ``acks=all``) writes each record;
delivery reports are checked, and :meth:`KafkaSink.flush` - called by every checkpoint -
waits for all of them and raises if any failed, so a checkpoint never completes over lost
output.  A full local queue is retried briefly and then reported as backpressure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ingest.deadletter import DeadLetter
from ingest.errors import BackpressureError, ConfigError, ConnectorError
from ingest.sinks.base import Sink

__all__ = ["KafkaRecord", "KafkaSink", "dead_letter_record", "json_record"]

log = logging.getLogger(__name__)

KafkaRecord = tuple[bytes | None, bytes, list[tuple[str, str | bytes | None]] | None]
Serializer = Callable[[Any], KafkaRecord]


def json_record(value: Any) -> KafkaRecord:
    """Serialize any JSON-able value (named tuples as objects), no key."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    return None, json.dumps(value, default=str, separators=(",", ":")).encode(), None


def dead_letter_record(dl: DeadLetter) -> KafkaRecord:
    """The original bytes as the value; the reason and origin as headers."""
    raw = dl.value
    key = None
    if hasattr(raw, "value") and callable(raw.value):  # a confluent_kafka.Message
        key = raw.key()
        raw = raw.value()
    if not isinstance(raw, bytes):
        raw = json.dumps(raw, default=str).encode()
    headers: list[tuple[str, str | bytes | None]] = [
        ("rdg.reason", dl.reason.encode()),
        ("rdg.step", dl.step.encode()),
    ]
    headers += [(f"rdg.source.{k}", str(v).encode()) for k, v in dl.origin.items()]
    return key, raw, headers


class KafkaSink(Sink):
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        serializer: Serializer = json_record,
        *,
        config: Mapping[str, Any] | None = None,
        flush_timeout_s: float = 30.0,
    ) -> None:
        try:
            import confluent_kafka
        except ImportError as exc:  # pragma: no cover
            raise ConfigError(
                "the Kafka sink needs confluent-kafka: pip install 'rdg[kafka]'"
            ) from exc
        self._ck = confluent_kafka
        self.topic = topic
        self.bootstrap = bootstrap
        self._serialize = serializer
        self._flush_timeout = flush_timeout_s
        conf = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 200_000,
        }
        conf.update(config or {})
        self._producer = confluent_kafka.Producer(conf)
        self._errors: list[str] = []
        self.delivered = 0

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))
        else:
            self.delivered += 1

    def add(self, value: Any, timestamp: int) -> None:
        key, val, headers = self._serialize(value)
        for _attempt in range(50):
            try:
                self._producer.produce(
                    self.topic,
                    val,
                    key,
                    headers=headers,
                    timestamp=max(0, timestamp),
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        else:
            raise BackpressureError(
                f"Kafka producer queue to {self.topic} stays full; the broker at "
                f"{self.bootstrap} is not keeping up"
            )
        self._producer.poll(0)

    def flush(self) -> None:
        remaining = self._producer.flush(self._flush_timeout)
        if remaining:
            raise ConnectorError(
                f"{remaining} records to {self.topic} were not delivered within "
                f"{self._flush_timeout}s; is Kafka at {self.bootstrap} reachable?"
            )
        if self._errors:
            errs, self._errors = self._errors, []
            raise ConnectorError(f"{len(errs)} records to {self.topic} failed delivery: {errs[0]}")

    def close(self) -> None:
        self._producer.flush(5)
