"""`rdg lag` and `rdg replay`: consumer lag of the jobs, and backfilling a time range."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.errors import ConfigError
from jobs.cli_common import EXIT_NOT_FOUND, console, fail, get_settings, print_json, to_iso
from jobs.cli_ops_common import duration, select_specs

__all__ = ["lag", "replay"]

# --------------------------------------------------------------------------- lag


def _lag_table(jobs: list[Any]) -> Table:
    t = Table(title=f"consumer lag at {to_iso(time.time_ns() // 1_000_000)}")
    for col in ("job", "partition", "committed", "end", "lag", "event-time lag", "rate/s"):
        t.add_column(col, justify="left" if col == "job" else "right")
    for j in jobs:
        if j.error:
            t.add_row(j.job, "-", "-", "-", "-", "-", "-")
            t.add_row(f"[red]  {j.error}[/]", "", "", "", "", "", "")
            continue
        for i, p in enumerate(j.partitions):
            t.add_row(
                j.job if i == 0 else "",
                str(p.partition),
                "-" if p.committed is None else f"{p.committed:,}",
                f"{p.end:,}",
                f"{p.lag:,}",
                "-" if p.event_time_lag_ms is None else duration(p.event_time_lag_ms / 1000),
                "-" if p.rate is None else f"{p.rate:,.1f}",
            )
        t.add_row(
            "", "[bold]total[/]", "", "", f"[bold]{j.total_lag:,}[/]", "", "", end_section=True
        )
    return t


def lag(
    ctx: typer.Context,
    topics: list[str] = typer.Argument(None, help="topics (default: every job)"),
    watch: bool = typer.Option(False, "--watch", help="refresh until Ctrl-C"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
    interval: float = typer.Option(
        1.0, "--interval", help="seconds between the two samples of the input rate (0: no rate)"
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap HOST:PORT [env RDG_BOOTSTRAP]"
    ),
) -> None:
    """Per job and partition: committed offset, end offset, lag in records, event-time lag
    (from the newest checkpoint) and input rate."""
    from jobs.lag import LagMonitor

    settings = get_settings(ctx, bootstrap=bootstrap)
    specs = select_specs(settings, topics or [], not topics)
    if interval < 0 or (watch and interval <= 0):
        raise ConfigError(f"--interval {interval} must be positive (0 only without --watch)")
    with LagMonitor(settings.bootstrap, specs, settings.state_path) as mon:
        if watch:
            try:
                with Live(_lag_table(mon.poll()), console=console, auto_refresh=False) as live:
                    for jobs in mon.watch(interval):
                        live.update(_lag_table(jobs), refresh=True)
            except KeyboardInterrupt:
                return
        jobs = mon.measure(interval)
    if json_out:
        print_json({"jobs": [j.as_dict() for j in jobs]})
    else:
        console.print(_lag_table(jobs))
    if topics and any(j.error for j in jobs):
        raise typer.Exit(EXIT_NOT_FOUND)


# --------------------------------------------------------------------------- replay


def replay(
    ctx: typer.Context,
    topic: str = typer.Argument(..., help="the topic to replay"),
    from_: str = typer.Option(
        ..., "--from", help="start of the range: ISO-8601 (UTC unless offset) or epoch ms"
    ),
    to: str | None = typer.Option(
        None, "--to", help="end of the range, exclusive (default: up to the end offsets)"
    ),
    store: str | None = typer.Option(
        None, "--store", help="sqlite:///PATH or cassandra://HOST:PORT/KEYSPACE [env RDG_STORE]"
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap HOST:PORT [env RDG_BOOTSTRAP]"
    ),
    slack_s: float | None = typer.Option(
        None,
        "--slack",
        help="seconds read beyond each end of the range for out-of-order records "
        "(default: the job's out-of-orderness + allowed lateness)",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Backfill a time range of a topic into the store through its own consumer group.

    Merges are idempotent, so replaying what the job already processed changes no answer.
    """
    from jobs.cli_run import summary_table
    from jobs.replay import parse_range, run_replay

    settings = get_settings(ctx, store=store, bootstrap=bootstrap)
    spec = select_specs(settings, [topic], False)[0]
    rng = parse_range(from_, to)
    slack_ms = None if slack_s is None else int(slack_s * 1000)
    replay_range = partial(
        run_replay,
        spec,
        rng,
        bootstrap=settings.bootstrap,
        store=spec.store or settings.store,
        state_dir=settings.state_path,
        state_backend=settings.state_backend,
        slack_ms=slack_ms,
    )
    if json_out:
        result = replay_range()
        print_json(result.as_dict())
    else:
        console.print(
            f"replaying {spec.topic} [{to_iso(rng.from_ms)}, "
            f"{to_iso(rng.to_ms) if rng.to_ms is not None else 'end'}) "
            f"into {spec.store or settings.store}",
            highlight=False,
        )
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeElapsedColumn(),
            console=console,
        )
        with bar:
            task = bar.add_task(spec.topic, total=None)

            def on_plan(plan: list[Any]) -> None:
                bar.update(task, total=sum(p.records for p in plan))

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = replay_range(on_plan=on_plan, on_progress=on_progress)
        console.print(summary_table([result.summary]))
        console.print(
            f"{result.summary.events_read:,} records in the range, "
            f"{result.skipped:,} read around it and skipped, "
            f"{result.partitions} partitions, {result.elapsed_s:.1f} s "
            f"(consumer group {result.group})",
            highlight=False,
        )
    if not result.finished:
        fail(
            f"the replay stopped before the end of the range; run it again to finish "
            f"(checkpoints in {result.checkpoint_dir})",
            130,
        )
