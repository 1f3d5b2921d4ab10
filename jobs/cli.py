"""The `rdg` command line."""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="rdg",
    help="Real-time graph ingestion: turn member-interaction events into a deduplicated graph.",
    no_args_is_help=True,
)


@app.callback()
def _root() -> None:
    """Real-time graph ingestion: turn member-interaction events into a deduplicated graph."""


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as _v

    typer.echo(_v("rdg"))


def main() -> None:
    """Console-script entry point."""
    app()
