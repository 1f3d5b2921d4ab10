"""Consumer lag of the jobs: how far each job's consumer group is behind its topic.

Per job and partition:

- ``committed``: the group's committed offset (the job commits only after a checkpoint,
  so this is durable progress); None if the group never committed one;
- ``end``: the partition's end offset (high watermark);
- ``lag``: records between them (``end - committed``; with nothing committed, every
  retained record: ``end - low``);
- ``event_time_lag_ms``: now - the partition's watermark in the job's newest checkpoint
  manifest (None if no checkpoint has one yet);
- ``rate``: input records/s, from the end offsets of two samples.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError, ConnectorError
from jobs.spec import JobSpec

__all__ = [
    "JobLag",
    "LagMonitor",
    "PartitionLag",
    "event_time_lag_ms",
    "input_rate",
    "partition_watermarks",
    "read_manifests",
    "records_lag",
]

log = logging.getLogger(__name__)

_MANIFEST = re.compile(r"^chk-(\d+)-([^/]+)\.json$")


# --------------------------------------------------------------------------- arithmetic


def records_lag(committed: int | None, low: int, end: int) -> int:
    """Records the group still has to read: from its committed offset (or, with none, the
    oldest retained record; an offset below the retained range counts from there) to the
    end offset."""
    start = low if committed is None or committed < 0 else max(committed, low)
    return max(0, end - start)


def event_time_lag_ms(watermark: int | None, now_ms: int) -> int | None:
    """How far the job's event time is behind the wall clock (never negative)."""
    if watermark is None:
        return None
    return max(0, now_ms - watermark)


def input_rate(prev_end: int | None, end: int, dt_s: float | None) -> float | None:
    """Records/s appended between two samples of the end offset (None without two)."""
    if prev_end is None or dt_s is None or dt_s <= 0:
        return None
    return round(max(0, end - prev_end) / dt_s, 1)


# --------------------------------------------------------------------------- checkpoints


def read_manifests(directory: Path) -> list[dict[str, Any]]:
    """Committed checkpoint manifests (``manifests/chk-<id>-<worker>.json``), newest first
    (by creation time, then id); unreadable ones are skipped."""
    mdir = directory / "manifests"
    if not mdir.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for f in mdir.iterdir():
        m = _MANIFEST.match(f.name)
        if not m:
            continue
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("partitions"), dict):
                raise ValueError("no partitions table")
        except (OSError, ValueError) as exc:  # pruned meanwhile, or not ours
            log.debug("skipping checkpoint manifest %s: %s", f, exc)
            continue
        data.setdefault("id", int(m.group(1)))
        data.setdefault("worker", m.group(2))
        out.append(data)
    out.sort(key=lambda d: (int(d.get("created_ms", 0)), int(d["id"])), reverse=True)
    return out


def partition_watermarks(directory: Path) -> dict[str, int | None]:
    """Each partition's watermark in the newest manifest that holds the partition."""
    marks: dict[str, int | None] = {}
    for m in read_manifests(directory):
        for p, entry in m["partitions"].items():
            if p not in marks and isinstance(entry, dict):
                wm = entry.get("watermark")
                marks[p] = int(wm) if isinstance(wm, int) else None
    return marks


# --------------------------------------------------------------------------- Kafka


@dataclass
class PartitionLag:
    partition: int
    committed: int | None
    end: int
    lag: int
    event_time_lag_ms: int | None
    rate: float | None


@dataclass
class JobLag:
    job: str
    topic: str
    kafka_topic: str
    partitions: list[PartitionLag] = field(default_factory=list)
    error: str | None = None

    @property
    def total_lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "topic": self.topic,
            "kafka_topic": self.kafka_topic,
            "partitions": [asdict(p) for p in self.partitions],
            "total_lag": self.total_lag,
            "error": self.error,
        }


@dataclass
class _Offsets:
    low: int
    end: int
    committed: int | None


def _kafka() -> Any:
    try:
        import confluent_kafka
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("rdg lag needs confluent-kafka: pip install 'rdg[kafka]'") from exc
    return confluent_kafka


class LagMonitor:
    """Samples the jobs' offsets; each :meth:`poll` computes rates against the previous one.

    Use as a context manager (it keeps one consumer per group, never subscribed, so it
    does not join the groups it reads).
    """

    def __init__(
        self,
        bootstrap: str,
        specs: Sequence[JobSpec],
        state_dir: Path,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.specs = list(specs)
        self.state_dir = state_dir
        self.timeout = timeout
        self._consumers: dict[str, Any] = {}
        self._prev: dict[tuple[str, int], int] = {}
        self._prev_t: float | None = None

    def __enter__(self) -> LagMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for c in self._consumers.values():
            with contextlib.suppress(Exception):
                c.close()
        self._consumers.clear()

    def _consumer(self, group: str) -> Any:
        c = self._consumers.get(group)
        if c is None:
            ck = _kafka()
            c = ck.Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": group,
                    "enable.auto.commit": False,
                    "socket.timeout.ms": max(1000, int(self.timeout * 1000)),
                    "log_level": 0,
                }
            )
            self._consumers[group] = c
        return c

    def _unreachable(self, exc: BaseException) -> ConnectorError:
        return ConnectorError(
            f"cannot read offsets from Kafka at {self.bootstrap} ({exc}); is the broker "
            "running? (the local one: `make up`; pass --bootstrap HOST:PORT for another)"
        )

    def _offsets(self, spec: JobSpec, topics: dict[str, Any]) -> dict[int, _Offsets] | None:
        ck = _kafka()
        md = topics.get(spec.source_topic)
        if md is None or md.error is not None or not md.partitions:
            return None
        consumer = self._consumer(spec.name)
        tps = [ck.TopicPartition(spec.source_topic, p) for p in sorted(md.partitions)]
        try:
            committed = {
                tp.partition: (tp.offset if tp.offset >= 0 else None)
                for tp in consumer.committed(tps, timeout=self.timeout)
            }
            out = {}
            for tp in tps:
                low, high = consumer.get_watermark_offsets(tp, timeout=self.timeout, cached=False)
                out[tp.partition] = _Offsets(low, high, committed.get(tp.partition))
        except ck.KafkaException as exc:
            raise self._unreachable(exc) from exc
        return out

    def _topics(self) -> dict[str, Any]:
        from ingest.kafka import admin

        if not self._consumers:  # first contact: a clear error if the broker is down
            admin.list_topics(self.bootstrap, timeout=min(self.timeout, 5.0))
        ck = _kafka()
        consumer = self._consumer("rdg-lag")
        try:
            return dict(consumer.list_topics(timeout=self.timeout).topics)
        except ck.KafkaException as exc:
            raise self._unreachable(exc) from exc

    def poll(self) -> list[JobLag]:
        """One sample of every job; rates are against the previous poll (None at first)."""
        topics = self._topics()
        t = time.monotonic()
        now = time.time_ns() // 1_000_000
        dt = None if self._prev_t is None else t - self._prev_t
        out = []
        for spec in self.specs:
            job = JobLag(spec.name, spec.topic, spec.source_topic)
            offsets = self._offsets(spec, topics)
            if offsets is None:
                job.error = f"Kafka topic {spec.source_topic!r} does not exist on {self.bootstrap}"
                out.append(job)
                continue
            marks = partition_watermarks(self.state_dir / "checkpoints" / spec.name)
            for p, o in offsets.items():
                key = (spec.source_topic, p)
                job.partitions.append(
                    PartitionLag(
                        partition=p,
                        committed=o.committed,
                        end=o.end,
                        lag=records_lag(o.committed, o.low, o.end),
                        event_time_lag_ms=event_time_lag_ms(marks.get(str(p)), now),
                        rate=input_rate(self._prev.get(key), o.end, dt),
                    )
                )
                self._prev[key] = o.end
            out.append(job)
        self._prev_t = t
        return out

    def measure(self, interval_s: float) -> list[JobLag]:
        """Lag now, with rates over ``interval_s`` seconds (0: no rates, one sample)."""
        if interval_s > 0:
            self.poll()
            time.sleep(interval_s)  # the measurement window of the input rate
        return self.poll()

    def watch(self, interval_s: float) -> Iterator[list[JobLag]]:
        """A sample every ``interval_s`` seconds after the previous one, forever (the caller
        stops iterating); each rate covers the time since the previous sample."""
        while True:
            time.sleep(interval_s)  # the refresh period (and the rates' window)
            yield self.poll()
