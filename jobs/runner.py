"""Run one topic's graph job in this process, from a job spec and source/store URLs.

Sources: ``file:DIR`` (Avro container / JSON-lines files under ``DIR/<topic>/`` or ``DIR``
itself) or ``kafka://HOST:PORT`` (the spec's topic, consumer group = the job name).
Outputs: graph writes to the store; dead letters and late events to Kafka topics
(``<topic>.deadletter``, ``<topic>.late``) for a Kafka source, or to JSON-lines files
under ``<state_dir>/outputs/<job>/`` for a file source.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphstore import open_store
from ingest import CheckpointConfig, FileSink, FileSource, Sink, Source, StreamEnvironment
from ingest.errors import ConfigError
from ingest.runtime import JobRunner
from ingest.state.backend import backend_from_name
from jobs.config import Settings
from jobs.graph_job import JobSummary, build_graph_job
from jobs.spec import JobSpec
from transforms.operator import GraphSettings
from transforms.sink import GraphStoreSink

__all__ = ["RunOptions", "dead_letter_encode", "parse_source", "run_graph_job"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """How to run a job (beyond its spec)."""

    source: str
    store: str
    state_dir: Path
    state_backend: str = "heap"
    checkpoint_dir: Path | None = None  # None: <state_dir>/checkpoints/<job> for Kafka
    worker_id: str = "w0"
    group_id: str | None = None  # default: the job name
    start: str | int | None = None  # default: the spec's start
    bounded: bool = False
    until_ms: int | None = None
    batch_size: int = 2000
    install_signal_handlers: bool = True
    #: wraps the source before the job is built (e.g. replay's range filter)
    wrap_source: Callable[[Source], Source] | None = None


def parse_source(url: str) -> tuple[str, str]:
    """``file:DIR`` -> ("file", DIR); ``kafka://HOST:PORT`` -> ("kafka", "HOST:PORT")."""
    if url.startswith("file:"):
        path = url[5:]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ConfigError(f"source {url!r} names no directory; use file:./data")
        return "file", path
    if url.startswith("kafka://"):
        hostport = url[8:].rstrip("/")
        if ":" not in hostport or not hostport.rsplit(":", 1)[1].isdigit():
            raise ConfigError(f"source {url!r}: give host and port, e.g. kafka://127.0.0.1:9092")
        return "kafka", hostport
    raise ConfigError(
        f"source {url!r} is not file:DIR or kafka://HOST:PORT (e.g. file:./data, "
        "kafka://127.0.0.1:9092)"
    )


def _file_dir(path: str, topic: str) -> Path:
    base = Path(path)
    for candidate in (base / topic, base):
        if candidate.is_dir() and any(f.suffix in (".avro", ".jsonl") for f in candidate.iterdir()):
            return candidate
    raise ConfigError(
        f"no event files for topic {topic!r} in {base / topic} or {base}; "
        f"generate some with `rdg generate {topic} --out {base}`"
    )


def dead_letter_encode(value: Any) -> Any:
    """A dead letter / late event as JSON for a file output."""
    raw = value.value
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    elif hasattr(raw, "value") and callable(raw.value):
        raw = (raw.value() or b"").decode("utf-8", "replace")
    return {"reason": value.reason, "step": value.step, "origin": value.origin, "value": raw}


def _serde(spec: JobSpec) -> Any:
    from schemas.serde import AvroSerde, JsonSerde

    if spec.serialization == "json":
        return JsonSerde(spec.topic)
    return AvroSerde(
        spec.topic, confluent_wire=spec.serialization == "avro-confluent", schema_id=spec.schema_id
    )


def _build(spec: JobSpec, opts: RunOptions) -> tuple[StreamEnvironment, Source, list[Any]]:
    kind, where = parse_source(opts.source)
    closers: list[Any] = []
    store = open_store(spec.store or opts.store)
    closers.append(store)
    checkpoint_dir = opts.checkpoint_dir
    source: Source
    if kind == "file":
        from schemas.serde import read_avro_container

        source = FileSource(
            _file_dir(where, spec.topic),
            batch_size=opts.batch_size,
            avro_reader=read_avro_container,
        )
        out_dir = opts.state_dir / "outputs" / spec.name
        dead: Sink = FileSink(out_dir / "deadletter.jsonl", encode=dead_letter_encode)
        late: Sink = FileSink(out_dir / "late.jsonl", encode=dead_letter_encode)
    else:
        from ingest.kafka import admin
        from ingest.kafka.sink import KafkaSink, dead_letter_record
        from ingest.kafka.source import KafkaSource

        serde = _serde(spec)
        source = KafkaSource(
            where,
            spec.source_topic,
            opts.group_id or spec.name,
            start=opts.start if opts.start is not None else spec.start,
            bounded=opts.bounded,
            until_ms=opts.until_ms,
            batch_size=opts.batch_size,
            deserializer=serde,
        )
        for t in (spec.dead_letter_topic, spec.late_topic):
            admin.create_topic(where, t, 1, exist_ok=True)
        dead = KafkaSink(where, spec.dead_letter_topic, dead_letter_record)
        late = KafkaSink(where, spec.late_topic, dead_letter_record)
        closers.extend([dead, late])
        if checkpoint_dir is None:
            checkpoint_dir = opts.state_dir / "checkpoints" / (opts.group_id or spec.name)
    if opts.wrap_source is not None:
        source = opts.wrap_source(source)
    env = StreamEnvironment(
        spec.name,
        state_backend=backend_from_name(opts.state_backend, opts.state_dir / "rocksdb"),
        checkpoint=CheckpointConfig(
            checkpoint_dir, interval_ms=spec.checkpoint_interval_ms, worker_id=opts.worker_id
        )
        if checkpoint_dir
        else None,
        max_batch=opts.batch_size,
    )
    w = spec.window
    build_graph_job(
        env,
        spec.topic,
        source,
        GraphStoreSink(store),
        dead_letter_sink=dead,
        late_sink=late,
        settings=GraphSettings(
            spec.topic,
            source=spec.source_topic,
            dedup_window_ms=spec.dedup.window_ms,
            bucket_ms=w.bucket_ms,
            allowed_lateness_ms=w.allowed_lateness_ms,
            flush_interval_ms=spec.flush_interval_ms,
        ),
        out_of_orderness_ms=w.out_of_orderness_ms,
        idle_timeout_ms=(w.idle_timeout_ms or None) if kind == "kafka" else None,
    )
    return env, source, closers


@contextlib.contextmanager
def _stop_on_signals(runner: JobRunner, enabled: bool) -> Iterator[None]:
    """SIGTERM/SIGINT stop the job gracefully: a final checkpoint, then exit."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping after a final checkpoint", signum)
        runner.request_stop()

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_graph_job(
    spec: JobSpec,
    opts: RunOptions,
    on_runner: Callable[[JobRunner], None] | None = None,
) -> JobSummary:
    """Run the job until its (bounded) input ends or it is asked to stop."""
    env, _source, closers = _build(spec, opts)
    runner = env.runner()
    if on_runner is not None:
        on_runner(runner)
    try:
        with _stop_on_signals(runner, opts.install_signal_handlers):
            result = runner.run()
    finally:
        for c in closers:
            with contextlib.suppress(Exception):
                c.close()
    return JobSummary.of(spec.topic, result)


def options_from_settings(settings: Settings, **overrides: Any) -> RunOptions:
    base: dict[str, Any] = {
        "source": settings.source,
        "store": settings.store,
        "state_dir": settings.state_path,
        "state_backend": settings.state_backend,
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    return RunOptions(**base)
