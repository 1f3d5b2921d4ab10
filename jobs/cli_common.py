"""Shared pieces of the CLI: settings from global options, errors, JSON output, times."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from ingest.errors import ConfigError, ConnectorError, RDGError
from jobs.config import Settings, load_settings

__all__ = [
    "configure_logging",
    "console",
    "err_console",
    "fail",
    "get_settings",
    "handle_errors",
    "parse_time",
    "print_json",
    "to_iso",
]

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

# exit codes: 1 = not found / nothing to show, 2 = bad input or config, 3 = unreachable system
EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3


def configure_logging(verbose: bool = False) -> None:
    """The one logging setup of the CLI (library modules only get loggers)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The Cassandra driver logs connection tracebacks itself; the CLI reports an
        # unreachable cluster as one clear error, so keep its own chatter for -v.
        logging.getLogger("cassandra").setLevel(logging.CRITICAL)


def get_settings(ctx: typer.Context, **flags: str | None) -> Settings:
    """Settings from rdg.toml, the environment, the global options and these flags."""
    root = ctx.find_root().obj or {}
    merged = {**root.get("flags", {}), **{k: v for k, v in flags.items() if v is not None}}
    return load_settings(merged, root.get("config"))


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn product errors into a clear message and an exit code, never a traceback."""
    try:
        yield
    except ConnectorError as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except RDGError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def cli_command(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of :func:`handle_errors`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with handle_errors():
            return fn(*args, **kwargs)

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def parse_time(text: str, what: str = "time") -> int:
    """ISO-8601 (``2026-01-01T10:00:00Z``, naive = UTC) or epoch milliseconds."""
    t = text.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{what} {text!r} is neither ISO-8601 (e.g. 2026-01-01T10:00:00Z) nor epoch ms"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def to_iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
