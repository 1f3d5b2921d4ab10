"""`rdg query ...`, `rdg stats` and `rdg generate` (the graph-reading and data commands)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
