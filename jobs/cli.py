"""The `rdg` command line: one app assembled from the command modules."""

from __future__ import annotations

from pathlib import Path

import typer

from jobs import cli_ops, cli_query, cli_run
from jobs.cli_common import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="rdg",
    help=(
        "Real-time graph ingestion: one stream job per Kafka topic turns member-interaction "
        "events into a deduplicated graph in Cassandra/ScyllaDB (or embedded SQLite).\n\n"
        "Start with `rdg demo`. Settings come from flags, then RDG_* environment variables, "
        "then ./rdg.toml; with nothing configured everything is local (files in ./data, "
        "SQLite ./rdg.db)."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", help="config file (default ./rdg.toml or $RDG_CONFIG)"
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="graph store URL: sqlite:///PATH or cassandra://HOST:PORT/KEYSPACE [env RDG_STORE]",
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap HOST:PORT [env RDG_BOOTSTRAP]"
    ),
    state_dir: str | None = typer.Option(
        None,
        "--state-dir",
        help="where checkpoints, deployed workers and logs live [env RDG_STATE_DIR]",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log debug output"),
) -> None:
    """Real-time graph ingestion."""
    configure_logging(verbose)
    ctx.obj = {
        "config": config,
        "flags": {"store": store, "bootstrap": bootstrap, "state_dir": state_dir},
    }


cli_run.register(app)
cli_query.register(app)
cli_ops.register(app)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as _v

    typer.echo(_v("rdg"))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
