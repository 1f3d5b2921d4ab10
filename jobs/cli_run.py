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


def _sample_queries(store_url: str, profile_id: str) -> None:
    """A few queries against the demo graph, with their answers (the query views)."""
    from graphstore import format_ref, open_store
    from jobs.cli_render import edge_detail_view, edges_table, node_view, stats_view

    store = open_store(store_url)
    try:
        console.print("\n[bold]$ rdg stats[/]")
        console.print(stats_view(store.stats(), store_url))
        profile = ("profile", profile_id)
        ref = format_ref(profile)
        node = store.get_node(profile)
        console.print(f"\n[bold]$ rdg query node {ref}[/]")
        if node is None:
            console.print("  not found")
            return
        console.print(node_view(node))
        console.print(f"\n[bold]$ rdg query neighbors {ref} --direction both --limit 5[/]")
        console.print(edges_table(store.neighbors(profile, "both", limit=5), "neighbors", profile))
        for e in store.neighbors(profile, "out", "WATCHED", limit=1):
            detail = store.get_edge(e.src, e.type, e.dst)
            console.print(f"\n[bold]$ rdg query edge {ref} WATCHED {format_ref(e.dst)}[/]")
            if detail is not None:
                console.print(edge_detail_view(detail))
        console.print(f"\n[bold]$ rdg query khop {ref} --hops 2 --limit-per-hop 20[/]")
        k = store.khop(profile, 2, limit_per_hop=20)
        console.print(
            f"  {len(k.nodes):,} nodes and {len(k.edges):,} edges within 2 hops (--json lists them)"
        )
    finally:
        store.close()


def demo(
    ctx: typer.Context,
    events: int = typer.Option(20_000, "--events", help="events per topic"),
    seed: int = typer.Option(42, "--seed", help="random seed (same seed, same data)"),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="where to write the event files [default ./data]"
    ),
    store: str | None = typer.Option(
        None, "--store", help="graph store URL [default sqlite:///./rdg.db]"
    ),
) -> None:
    """The whole product on the embedded default: generate events for all five topics
    into files, run the five graph jobs into SQLite, print the summary and sample queries."""
    from collections import Counter

    from jobs.generate import generate_events, write_avro_files
    from schemas.registry import TOPICS

    settings = get_settings(ctx, data_dir=data_dir, store=store)
    out = Path(settings.data_dir)
    busiest: Counter[str] = Counter()
    console.print(
        f"[bold]1. generating {events:,} events per topic[/] into {out}/ (Avro files, 4 partitions each)"
    )
    for topic in TOPICS:
        evs = list(
            generate_events(
                topic, events, seed, duplicates=0.02, out_of_order_s=5.0, late=0.005, invalid=0.01
            )
        )
        write_avro_files(out, topic, evs, partitions=4)
        if topic == "playback":
            busiest.update(e.record["profile_id"] for e in evs if e.kind == "ok" and e.record)
    console.print(f"[bold]2. running the five graph jobs[/] into {settings.store}")
    summaries = []
    for topic in TOPICS:
        spec = spec_for(topic, settings.specs_dir or None)
        opts = options_from_settings(settings, source=f"file:{out}", install_signal_handlers=False)
        summaries.append(run_graph_job(spec, opts))
    console.print(summary_table(summaries))
    console.print("[bold]3. sample queries[/]")
    _sample_queries(settings.store, busiest.most_common(1)[0][0])
    console.print(
        "\nTry more: [bold]rdg query --help[/], [bold]rdg stats[/]; "
        "the README's tour continues with the local Kafka/Cassandra cluster."
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("run")(cli_command(run))
    app.command("demo")(cli_command(demo))
