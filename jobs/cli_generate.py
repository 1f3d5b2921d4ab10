"""`rdg generate`: deterministic synthetic member activity into files or Kafka."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from ingest.errors import ConfigError
from jobs.cli_common import cli_command, console, err_console, get_settings, parse_time, print_json
from schemas.registry import TOPICS

if TYPE_CHECKING:
    from jobs.generate import GeneratedEvent

__all__ = ["TopicResult", "generate", "register"]

FILE_FORMATS = ("avro", "jsonl")
SERIALIZATIONS = ("avro", "avro-confluent", "json")
_HOSTPORT = re.compile(r"^[^\s:,/]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$")


@dataclass
class TopicResult:
    """What `rdg generate` made of one topic."""

    topic: str
    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    written: int = 0
    target: str = ""
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "events": self.events,
            "kinds": {k: self.kinds.get(k, 0) for k in ("ok", "duplicate", "late", "invalid")},
            "written": self.written,
            "skipped": self.events - self.written,
        }
        if self.files:
            doc["files"] = self.files
        else:
            doc["kafka_topic"] = self.target
        return doc


def _tally(
    events: Iterable[GeneratedEvent],
    result: TopicResult,
    representable: Callable[[GeneratedEvent], bool],
    advance: Callable[[int], None],
) -> Iterator[GeneratedEvent]:
    """Pass events through, counting kinds and the ones the output can hold."""
    pending = 0
    for event in events:
        result.events += 1
        result.kinds["invalid" if event.kind.startswith("invalid:") else event.kind] += 1
        if representable(event):
            result.written += 1
        pending += 1
        if pending == 500:
            advance(pending)
            pending = 0
        yield event
    advance(pending)


# --------------------------------------------------------------------------- checks


def _topics(topics: list[str] | None, all_topics: bool) -> list[str]:
    named = list(dict.fromkeys(topics or []))
    if all_topics and named:
        raise ConfigError("give topics or --all, not both")
    if all_topics:
        return list(TOPICS)
    if not named:
        raise ConfigError(f"name at least one topic ({', '.join(TOPICS)}) or pass --all")
    unknown = [t for t in named if t not in TOPICS]
    if unknown:
        raise ConfigError(f"unknown topic {unknown[0]!r}; topics: {', '.join(TOPICS)}")
    return named


def _fraction(option: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"{option} {value:g} must be a fraction between 0 and 1 (e.g. 0.05)")


def _check_numbers(
    events: int,
    partitions: int,
    duplicates: float,
    late: float,
    invalid: float,
    out_of_order: float,
    event_rate: float,
    rate: float | None,
) -> None:
    if events < 1:
        raise ConfigError(f"--events {events} must be a positive whole number (events per topic)")
    if partitions < 1:
        raise ConfigError(f"--partitions {partitions} must be a positive whole number")
    for option, value in (("--duplicates", duplicates), ("--late", late), ("--invalid", invalid)):
        _fraction(option, value)
    if duplicates + late + invalid > 1.0:
        raise ConfigError(
            f"--duplicates + --late + --invalid = {duplicates + late + invalid:g} is more than 1"
        )
    if not (math.isfinite(out_of_order) and 0 <= out_of_order < 3600):
        raise ConfigError(f"--out-of-order {out_of_order:g} must be seconds in [0, 3600)")
    if not (math.isfinite(event_rate) and event_rate > 0):
        raise ConfigError(f"--event-rate {event_rate:g} must be a positive number of events/s")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"--rate {rate:g} must be a positive number of messages/s")


def _check_bootstrap(bootstrap: str) -> str:
    hosts = [h.strip() for h in bootstrap.split(",")]
    if not all(_HOSTPORT.match(h) for h in hosts):
        raise ConfigError(
            f"bootstrap {bootstrap!r} is not HOST:PORT[,HOST:PORT...] (e.g. 127.0.0.1:9092)"
        )
    return ",".join(hosts)


# --------------------------------------------------------------------------- the command


def generate(
    ctx: typer.Context,
    topics: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TOPIC",
            help=f"topics to generate: {', '.join(TOPICS)}",
            show_default=False,
        ),
    ] = None,
    all_topics: Annotated[bool, typer.Option("--all", help="all five topics")] = False,
    events: Annotated[int, typer.Option("--events", "-n", help="events per topic")] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", help="random seed: the same seed gives the same events")
    ] = 42,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="write files to DIR/TOPIC/part-NNNNN.* [default: the data dir, ./data]",
        ),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap",
            metavar="HOST:PORT",
            help="produce to Kafka at HOST:PORT instead of writing files",
        ),
    ] = None,
    kafka_topic: Annotated[
        str | None,
        typer.Option(
            "--kafka-topic",
            metavar="NAME",
            help="Kafka topic to produce to (one TOPIC only) [default: the TOPIC name]",
        ),
    ] = None,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions",
            "-p",
            help="files per topic, or partitions of a Kafka topic this creates",
        ),
    ] = 4,
    rate: Annotated[
        float | None,
        typer.Option("--rate", metavar="PER_S", help="Kafka: at most this many messages/s"),
    ] = None,
    event_rate: Annotated[
        float,
        typer.Option(
            "--event-rate",
            metavar="PER_S",
            help="simulated activity: average events per second of event time",
        ),
    ] = 100.0,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="TIME",
            help="event time of the first event (ISO-8601 or epoch ms) [default: 2026-01-01T00:00:00Z]",
        ),
    ] = None,
    duplicates: Annotated[
        float,
        typer.Option("--duplicates", metavar="F", help="fraction of exact re-sends (0..1)"),
    ] = 0.0,
    out_of_order: Annotated[
        float,
        typer.Option(
            "--out-of-order",
            metavar="SECONDS",
            help="pull event times back by up to this many seconds (disorder)",
        ),
    ] = 0.0,
    late: Annotated[
        float,
        typer.Option("--late", metavar="F", help="fraction of events 2-3 hours late (0..1)"),
    ] = 0.0,
    invalid: Annotated[
        float,
        typer.Option(
            "--invalid", metavar="F", help="fraction of invalid events for the dead letters (0..1)"
        ),
    ] = 0.0,
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="avro|jsonl",
            help="files: Avro containers (invalid records they cannot hold are skipped) or JSON lines [default: avro]",
        ),
    ] = None,
    serialization: Annotated[
        str | None,
        typer.Option(
            "--serialization",
            metavar="avro|avro-confluent|json",
            help="Kafka message encoding; must match the job spec's [default: avro]",
        ),
    ] = None,
    schema_id: Annotated[
        int | None,
        typer.Option("--schema-id", help="avro-confluent: schema id in the header [default: 1]"),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Kafka: wait this long for the broker"),
    ] = 10.0,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Generate realistic synthetic activity, deterministic for a seed, into files or Kafka.

    Files: Avro container (or JSON-lines) files, several partition files per topic, under
    DIR/TOPIC/. Kafka: one message per event, keyed by profile (account for login), with
    the event time as record timestamp; a missing topic is created with infinite retention.
    """
    chosen = _topics(topics, all_topics)
    _check_numbers(events, partitions, duplicates, late, invalid, out_of_order, event_rate, rate)
    if out is not None and bootstrap is not None:
        raise ConfigError("give --out DIR (files) or --bootstrap HOST:PORT (Kafka), not both")
    root_flags = (ctx.find_root().obj or {}).get("flags", {})
    to_kafka = bootstrap is not None or (out is None and root_flags.get("bootstrap") is not None)
    settings = get_settings(ctx, bootstrap=bootstrap)
    from jobs.generate import DEFAULT_START_MS

    start_ms = parse_time(start, "--start") if start is not None else DEFAULT_START_MS
    if to_kafka:
        if file_format is not None:
            raise ConfigError("--format applies to files; for Kafka use --serialization")
        if kafka_topic is not None and len(chosen) != 1:
            raise ConfigError("--kafka-topic needs exactly one TOPIC")
        encoding = serialization or "avro"
        if encoding not in SERIALIZATIONS:
            raise ConfigError(
                f"--serialization {encoding!r} is not one of {', '.join(SERIALIZATIONS)}"
            )
        if schema_id is not None and encoding != "avro-confluent":
            raise ConfigError("--schema-id only applies with --serialization avro-confluent")
        if not timeout > 0:
            raise ConfigError(f"--timeout {timeout:g} must be a positive number of seconds")
        target = _check_bootstrap(settings.bootstrap)
        where = f"Kafka at {target}"
    else:
        given: tuple[tuple[str, object], ...] = (
            ("--rate", rate),
            ("--serialization", serialization),
            ("--kafka-topic", kafka_topic),
            ("--schema-id", schema_id),
        )
        for option, value in given:
            if value is not None:
                raise ConfigError(f"{option} applies to Kafka output (--bootstrap HOST:PORT)")
        encoding = file_format or "avro"
        if encoding not in FILE_FORMATS:
            raise ConfigError(f"--format {encoding!r} is not one of {', '.join(FILE_FORMATS)}")
        out_dir = out if out is not None else Path(settings.data_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out {str(out_dir)!r} is a file, not a directory")
        target = str(out_dir)
        where = f"{out_dir}/ ({encoding} files, {partitions} per topic)"

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from jobs.generate import generate_events

    if not json_out:
        console.print(f"generating {events:,} events per topic (seed {seed}) into {where}")
    results: list[TopicResult] = []
    with Progress(
        TextColumn("{task.description:>9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    ) as progress:
        for topic in chosen:
            task = progress.add_task(topic, total=events)
            result = TopicResult(topic)
            stream = generate_events(
                topic,
                events,
                seed,
                start_ms=start_ms,
                events_per_second=event_rate,
                duplicates=duplicates,
                out_of_order_s=out_of_order,
                late=late,
                invalid=invalid,
            )

            def advance(n: int, task_id: Any = task) -> None:
                progress.advance(task_id, n)

            if to_kafka:
                _produce(
                    target,
                    topic,
                    stream,
                    result,
                    advance,
                    encoding,
                    schema_id,
                    kafka_topic,
                    partitions,
                    rate,
                    timeout,
                )
            else:
                _write_files(target, topic, stream, result, advance, encoding, partitions)
            results.append(result)
    _summary(results, to_kafka, target, encoding, seed, json_out)


def _write_files(
    out_dir: str,
    topic: str,
    stream: Iterable[GeneratedEvent],
    result: TopicResult,
    advance: Callable[[int], None],
    file_format: str,
    partitions: int,
) -> None:
    from jobs.generate import is_representable, write_avro_files, write_jsonl_files

    if file_format == "avro":
        counted = _tally(stream, result, lambda e: is_representable(e, "avro-file"), advance)
        paths = write_avro_files(out_dir, topic, counted, partitions)
    else:
        counted = _tally(stream, result, lambda e: True, advance)
        paths = write_jsonl_files(out_dir, topic, counted, partitions)
    result.files = [str(p) for p in paths]
    result.target = str(Path(out_dir) / topic)


def _produce(
    bootstrap: str,
    topic: str,
    stream: Iterable[GeneratedEvent],
    result: TopicResult,
    advance: Callable[[int], None],
    serialization: str,
    schema_id: int | None,
    kafka_topic: str | None,
    partitions: int,
    rate: float | None,
    timeout: float,
) -> None:
    from ingest.kafka.admin import create_topic
    from jobs.generate import is_representable, produce_to_kafka
    from schemas.serde import AvroSerde, JsonSerde, Serde

    name = kafka_topic or topic
    serde: Serde
    if serialization == "json":
        serde = JsonSerde(topic)
    else:
        confluent = serialization == "avro-confluent"
        serde = AvroSerde(
            topic, confluent_wire=confluent, schema_id=(schema_id or 1) if confluent else None
        )
    create_topic(
        bootstrap,
        name,
        partitions,
        exist_ok=True,
        config={"retention.ms": "-1"},
        timeout=timeout,
    )
    output: Literal["json", "avro"] = "json" if serialization == "json" else "avro"
    counted = _tally(stream, result, lambda e: is_representable(e, output), advance)
    result.written = 0
    delivered = produce_to_kafka(bootstrap, topic, counted, serde, rate, kafka_topic=name)
    result.written = delivered
    result.target = name


def _summary(
    results: list[TopicResult],
    to_kafka: bool,
    target: str,
    encoding: str,
    seed: int,
    json_out: bool,
) -> None:
    if json_out:
        doc: dict[str, Any] = {"seed": seed}
        if to_kafka:
            doc.update(destination="kafka", bootstrap=target, serialization=encoding)
        else:
            doc.update(destination="files", out=target, format=encoding)
        doc["topics"] = {r.topic: r.as_dict() for r in results}
        print_json(doc)
        return
    t = Table(title="generated", title_justify="left")
    for col in ("topic", "events", "ok", "duplicate", "late", "invalid", "written"):
        t.add_column(col, justify="left" if col == "topic" else "right")
    t.add_column("kafka topic" if to_kafka else "files in", overflow="fold")
    for r in results:
        t.add_row(
            r.topic,
            f"{r.events:,}",
            *(f"{r.kinds.get(k, 0):,}" for k in ("ok", "duplicate", "late", "invalid")),
            f"{r.written:,}",
            r.target,
        )
    console.print(t)
    skipped = sum(r.events - r.written for r in results)
    if skipped:
        console.print(
            f"[dim]{skipped:,} invalid event(s) the {encoding} output cannot hold were skipped"
            f"{' (use --format jsonl to keep them)' if not to_kafka else ''}[/]"
        )
    first = results[0].topic
    source = f"kafka://{target.split(',')[0]}" if to_kafka else f"file:{target}"
    console.print(f"next: rdg run {first} --source {source}")


def register(app: typer.Typer) -> None:
    """Add `rdg generate` to the app."""
    app.command("generate")(cli_command(generate))
