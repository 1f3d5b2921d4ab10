"""Kafka source (confluent-kafka): a consumer group per job, one partition task per partition.

- On assignment the runtime restores each partition's keyed state and position from the
  latest checkpoint; partitions without a checkpoint start from ``start``: the group's
  committed offset, the earliest or latest offset, or the first offset at a timestamp.
- On revocation the runtime checkpoints the partitions (sinks flushed first) before the
  consumer lets them go, so the next owner continues exactly where this one stopped.
- Offsets are committed to Kafka only after the checkpoint holding them is complete, so a
  committed offset always means durable progress.  Auto-commit is off.
- The record timestamp is the default event time.  Values are the raw
  ``confluent_kafka.Message`` objects, or - with a ``deserializer`` (a function of the
  value bytes, or a serde with ``decode_batch``, which decodes a whole batch in one call) -
  the decoded values,
  where a message that fails to decode becomes a :class:`~ingest.deadletter.DeadLetter`
  (reason, raw message, topic/partition/offset) in its place, so nothing is dropped and the
  job routes it to its dead-letter output.
- ``bounded=True`` reads up to the end offsets seen at assignment and then ends, which is
  what a backfill or a benchmark wants; ``until_ms`` ends a partition at the first record
  at or after that time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from itertools import groupby
from operator import itemgetter, methodcaller
from typing import Any, Protocol, runtime_checkable

from ingest.deadletter import DeadLetter
from ingest.errors import ConfigError, ConnectorError
from ingest.sources.base import AssignmentListener, PartitionBatch, Source

__all__ = ["CONSUMER_TUNING", "KafkaSource", "kafka_origin", "parse_start"]

log = logging.getLogger(__name__)


def _kafka() -> Any:
    try:
        import confluent_kafka
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "the Kafka source needs confluent-kafka: pip install 'rdg[kafka]'"
        ) from exc
    return confluent_kafka


def parse_start(start: str | int) -> str | int:
    """``committed``, ``earliest``, ``latest`` or an epoch-ms timestamp."""
    if isinstance(start, int):
        return start
    if start in ("committed", "earliest", "latest"):
        return start
    if start.lstrip("-").isdigit():
        return int(start)
    raise ConfigError(
        f"unknown start position {start!r}: use committed, earliest, latest or epoch ms"
    )


def kafka_origin(msg: Any) -> dict[str, Any]:
    """Where a message came from (for dead letters)."""
    try:
        return {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
    except AttributeError:
        return {}


#: Consumer settings for throughput. Keep the local queue deep: with librdkafka's default
#: queued.min.messages (100,000) the fetcher idles between fetches and a bare consume loop
#: tops out near 170,000 msgs/s here; with these it delivers ~900,000/s. Memory stays
#: capped by queued.max.messages.kbytes (for the whole consumer, not per partition).
CONSUMER_TUNING: Mapping[str, Any] = {
    "queued.min.messages": 500_000,
    "max.partition.fetch.bytes": 4 * 1024 * 1024,
    "queued.max.messages.kbytes": 65536,
}

# Message accessors for C-level map() over a batch (any object with these methods works).
_ERROR = methodcaller("error")
_PARTITION = methodcaller("partition")
_TIMESTAMP = methodcaller("timestamp")
_VALUE = methodcaller("value")
_SECOND = itemgetter(1)


def _dead_letter(msg: Any, exc: BaseException) -> DeadLetter:
    reason = getattr(exc, "reason", None) or type(exc).__name__
    return DeadLetter(f"{reason}: {exc}", msg, "decode", kafka_origin(msg))


@runtime_checkable
class BatchDeserializer(Protocol):
    """A serde that decodes a batch at once: (values, [(index, error), ...]), where
    values are the decoded messages in order with the failed ones left out."""

    def decode(self, data: bytes) -> Any: ...

    def decode_batch(self, messages: list[bytes]) -> tuple[list[Any], list[tuple[int, Any]]]: ...


class KafkaSource(Source):
    static_assignment = False

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        *,
        start: str | int = "committed",
        bounded: bool = False,
        until_ms: int | None = None,
        batch_size: int = 5000,
        config: Mapping[str, Any] | None = None,
        deserializer: Callable[[bytes], Any] | BatchDeserializer | None = None,
    ) -> None:
        self._decode_batch: Callable[[list[bytes]], tuple[list[Any], list[Any]]] | None = None
        self._deserialize: Callable[[bytes], Any] | None
        if isinstance(deserializer, BatchDeserializer):
            self._decode_batch = deserializer.decode_batch
            self._deserialize = deserializer.decode
        else:
            self._deserialize = deserializer
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.start = parse_start(start)
        self.bounded = bounded or until_ms is not None
        self.until_ms = until_ms
        self.batch_size = batch_size
        self._config = dict(config or {})
        self._consumer: Any = None
        self._listener: AssignmentListener | None = None
        self._positions: dict[str, int] = {}
        self._ends: dict[str, int] = {}
        self._done: set[str] = set()
        self._announce_end: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------
    def open(self, listener: AssignmentListener) -> None:
        ck = _kafka()
        conf = {
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest" if self.start != "latest" else "latest",
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
            "max.poll.interval.ms": 300_000,
            "fetch.min.bytes": 1,
            **CONSUMER_TUNING,
            "client.id": f"rdg-{self.group_id}",
        }
        conf.update(self._config)
        self._listener = listener
        try:
            self._consumer = ck.Consumer(conf)
            # fail fast and clearly when the broker is unreachable
            self._consumer.list_topics(self.topic, timeout=10)
        except ck.KafkaException as exc:
            raise ConnectorError(
                f"cannot reach Kafka at {self.bootstrap} ({exc}); is it running? "
                "(start the local one with `make up`)"
            ) from exc
        md = self._consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
        if md is None or md.error is not None or not md.partitions:
            raise ConnectorError(
                f"topic {self.topic!r} does not exist on {self.bootstrap}; create it first"
            )
        self._consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception as exc:  # closing must not hide the real error
                log.warning("closing the Kafka consumer failed: %s", exc)
            self._consumer = None

    def assigned(self) -> list[str]:
        return sorted(self._positions, key=int)

    # -- rebalance callbacks (run inside consume()) ---------------------------------------
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        ck = _kafka()
        assert self._listener is not None
        names = [str(tp.partition) for tp in partitions]
        starts = self._listener.on_assigned(names)
        by_time = []
        for tp in partitions:
            pos = starts.get(str(tp.partition))
            if pos is not None:
                tp.offset = int(pos)
            elif self.start == "committed":
                tp.offset = ck.OFFSET_STORED
            elif self.start == "earliest":
                tp.offset = ck.OFFSET_BEGINNING
            elif self.start == "latest":
                tp.offset = ck.OFFSET_END
            else:
                tp.offset = int(self.start)
                by_time.append(tp)
        if by_time:
            resolved = consumer.offsets_for_times(by_time, timeout=10)
            offs = {r.partition: r.offset for r in resolved}
            for tp in by_time:
                off = offs.get(tp.partition, -1)
                tp.offset = off if off >= 0 else ck.OFFSET_END
        for tp in partitions:
            p = str(tp.partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            self._ends[p] = high
            if tp.offset >= 0:
                self._positions[p] = tp.offset
            elif tp.offset == ck.OFFSET_BEGINNING:
                self._positions[p] = low
            elif tp.offset == ck.OFFSET_END:
                self._positions[p] = high
            else:  # committed: ask the group
                committed = consumer.committed([tp], timeout=10)[0].offset
                self._positions[p] = committed if committed >= 0 else low
            if self.bounded and self._positions[p] >= high:
                self._announce_end.add(p)
        consumer.assign(partitions)
        self._listener.on_started({p: self._positions[p] for p in names})
        log.info("assigned partitions %s of %s", names, self.topic)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        assert self._listener is not None
        names = [str(tp.partition) for tp in partitions]
        self._listener.on_revoked(names)
        for p in names:
            self._positions.pop(p, None)
            self._ends.pop(p, None)
            self._done.discard(p)
            self._announce_end.discard(p)
        log.info("revoked partitions %s of %s", names, self.topic)

    # -- reading -----------------------------------------------------------------------
    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        ck = _kafka()
        consumer = self._consumer
        if consumer is None:
            raise ConnectorError("the Kafka source is not open")
        try:
            msgs = consumer.consume(
                num_messages=min(max_records, self.batch_size), timeout=timeout_s
            )
        except ck.KafkaException as exc:
            raise ConnectorError(f"Kafka consume failed on {self.bootstrap}: {exc}") from exc
        if msgs and list(map(_ERROR, msgs)).count(None) != len(msgs):
            msgs = self._without_errors(msgs)
        # Group by partition in runs (the consumer hands out long runs of one partition),
        # with C-level map/groupby: no Python work per message here.
        by_number: dict[int, list[Any]] = {}
        start = 0
        for number, run in groupby(map(_PARTITION, msgs)):
            end = start + len(list(run))
            lst = by_number.get(number)
            if lst is None:
                by_number[number] = msgs[start:end]
            else:
                lst.extend(msgs[start:end])
            start = end
        out = []
        for number in sorted(by_number):
            p = str(number)
            if p in self._done or p not in self._positions:
                continue  # late messages of a finished or revoked partition
            batch = by_number[number]
            eop = False
            if self.bounded:
                end = self._ends.get(p, 0)
                cut = len(batch)
                if self.until_ms is not None:
                    for i, m in enumerate(batch):
                        if m.timestamp()[1] >= self.until_ms:
                            cut, eop = i, True
                            break
                while cut and batch[cut - 1].offset() >= end:
                    cut -= 1
                if cut < len(batch):
                    eop = True
                batch = batch[:cut]
                if batch and batch[-1].offset() + 1 >= end:
                    eop = True
            nxt = batch[-1].offset() + 1 if batch else self._positions[p]
            self._positions[p] = nxt
            if eop:
                self._done.add(p)
                self._announce_end.discard(p)
                consumer.pause([ck.TopicPartition(self.topic, int(p))])
            ts = list(map(_SECOND, map(_TIMESTAMP, batch)))
            values = self._decode(batch) if self._deserialize is not None else batch
            out.append(PartitionBatch(p, values, ts, nxt, eop))
        for p in sorted(self._announce_end, key=int):
            if p not in self._done:
                self._done.add(p)
                consumer.pause([ck.TopicPartition(self.topic, int(p))])
                out.append(PartitionBatch(p, [], [], self._positions[p], True))
        self._announce_end.clear()
        return out

    def _decode(self, batch: list[Any]) -> list[Any]:
        if self._decode_batch is not None:
            try:
                values, failures = self._decode_batch(list(map(_VALUE, batch)))
            except Exception:  # not a failure it can report per message: go one by one
                return self._decode_each(batch)
            if not failures:
                return values
            # Put a dead letter where each failed message was, keeping the order.
            failed = dict(failures)
            good = iter(values)
            return [
                _dead_letter(batch[i], failed[i]) if i in failed else next(good)
                for i in range(len(batch))
            ]
        de = self._deserialize
        assert de is not None
        try:
            return [de(m.value()) for m in batch]
        except Exception:  # redo per message: keep the good ones, mark the bad ones
            return self._decode_each(batch)

    def _decode_each(self, batch: list[Any]) -> list[Any]:
        de = self._deserialize
        assert de is not None
        out = []
        for m in batch:
            try:
                out.append(de(m.value()))
            except Exception as exc:
                out.append(_dead_letter(m, exc))
        return out

    def _without_errors(self, msgs: list[Any]) -> list[Any]:
        """The messages that are records; end-of-partition events are dropped, other
        errors logged (and fatal ones raised)."""
        ck = _kafka()
        kept = []
        for m in msgs:
            err = m.error()
            if err is None:
                kept.append(m)
            elif err.code() == ck.KafkaError._PARTITION_EOF:
                continue
            elif err.fatal():
                raise ConnectorError(f"fatal Kafka error on {self.topic}: {err}")
            else:
                log.warning("Kafka error on %s: %s", self.topic, err)
        return kept

    def pause(self, partition: str) -> None:
        if self._consumer is not None:
            self._consumer.pause([_kafka().TopicPartition(self.topic, int(partition))])

    def commit(self, positions: dict[str, Any]) -> None:
        """Commit offsets of a completed checkpoint (synchronously)."""
        ck = _kafka()
        if self._consumer is None:
            return
        offsets = [
            ck.TopicPartition(self.topic, int(p), int(pos))
            for p, pos in positions.items()
            if pos is not None
        ]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except ck.KafkaException as exc:
            # the checkpoint is durable; the next one commits again
            log.warning("committing offsets to Kafka failed: %s", exc)
