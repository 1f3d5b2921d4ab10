"""`rdg run` (one job in the foreground) and `rdg demo` (the whole product, embedded)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jobs.cli_common import cli_command, console, get_settings, print_json
from jobs.graph_job import JobSummary
from jobs.runner import options_from_settings, run_graph_job
from jobs.spec import spec_for

__all__ = ["register", "summary_table"]


SUMMARY_ROWS = (
    ("events read", "events_read"),
    ("graph updates", "graph_updates"),
    ("writes issued", "writes_issued"),
    ("duplicates dropped", "duplicates_dropped"),
    ("dead-lettered", "dead_lettered"),
    ("late", "late"),
    ("failed logins", "failed_logins"),
)


def summary_table(summaries: list[JobSummary]) -> Table:
    """One column per job, one row per figure (fits a terminal with five jobs)."""
    t = Table(title="job summary")
    t.add_column("")
    for s in summaries:
        t.add_column(s.topic, justify="right")
    for label, attr in SUMMARY_ROWS:
        t.add_row(label, *(f"{getattr(s, attr):,}" for s in summaries))
    t.add_row("write reduction", *(f"{s.write_reduction:.1f}x" for s in summaries))
    t.add_row("seconds", *(f"{s.elapsed_s:.2f}" for s in summaries))
    return t


def run(
    ctx: typer.Context,
    topic: str = typer.Argument(
        ..., help="the topic whose job to run (playback, login, search, gaming, live)"
    ),
    source: str | None = typer.Option(
        None, "--source", help="file:DIR or kafka://HOST:PORT [env RDG_SOURCE; default file:./data]"
    ),
    store: str | None = typer.Option(
        None, "--store", help="sqlite:///PATH or cassandra://HOST:PORT/KEYSPACE [env RDG_STORE]"
    ),
    state: str | None = typer.Option(
        None, "--state", help="state backend: heap or rocksdb [env RDG_STATE_BACKEND]"
    ),
    checkpoint_dir: Path | None = typer.Option(
        None,
        "--checkpoint-dir",
        help="checkpoint directory (Kafka default: <state-dir>/checkpoints/<job>; files: none)",
    ),
    start: str | None = typer.Option(
        None,
        "--start",
        help="committed | earliest | latest | epoch ms (Kafka; default from the spec)",
    ),
    bounded: bool = typer.Option(
        False, "--bounded", help="Kafka: stop at the end offsets seen at start"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Run one topic's graph job in the foreground.

    On a file source it runs to the end, exits 0 and prints a summary; on Kafka it runs
    until stopped (Ctrl-C / SIGTERM take a final checkpoint first) or, with --bounded,
    until it has caught up.
    """
    settings = get_settings(ctx, source=source, store=store, state_backend=state)
    spec = spec_for(topic, settings.specs_dir or None)
    opts = options_from_settings(
        settings, checkpoint_dir=checkpoint_dir, start=start, bounded=bounded or None
    )
    if not json_out:
        console.print(
            f"running [bold]{spec.name}[/] from {opts.source} into {spec.store or opts.store}"
        )
    summary = run_graph_job(spec, opts)
    if json_out:
        print_json(summary.as_dict())
    else:
        console.print(summary_table([summary]))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("run")(cli_command(run))
