"""What the job-operating commands (jobs/cli_ops.py, jobs/cli_lag_replay.py) share:
their error handling, choosing the jobs named on the command line, durations."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ingest.errors import ConfigError
from jobs.cli_common import fail, handle_errors
from jobs.config import Settings
from jobs.deploy import OpsError
from jobs.spec import JobSpec, all_specs

__all__ = ["duration", "ops_command", "select_specs", "specs_of"]

T = TypeVar("T")


def ops_command(fn: Callable[..., T]) -> Callable[..., T]:
    """Like cli_command, and an OpsError exits with its own code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with handle_errors():
            try:
                return fn(*args, **kwargs)
            except OpsError as exc:
                fail(str(exc), exc.exit_code)

    return wrapper


def specs_of(settings: Settings) -> dict[str, JobSpec]:
    """Every job spec (the shipped ones or those in --specs-dir), by topic."""
    return all_specs(settings.specs_dir or None)


def select_specs(settings: Settings, topics: Sequence[str], all_: bool) -> list[JobSpec]:
    """The specs named on the command line (or all of them with --all)."""
    specs = specs_of(settings)
    if all_ and topics:
        raise ConfigError("give topics or --all, not both")
    if all_:
        return list(specs.values())
    if not topics:
        raise ConfigError(f"name the topics whose jobs to use ({', '.join(specs)}) or pass --all")
    unknown = [t for t in topics if t not in specs]
    if unknown:
        raise ConfigError(
            f"no job for topic {', '.join(repr(t) for t in unknown)}; jobs exist for: "
            f"{', '.join(sorted(specs))}"
        )
    return [specs[t] for t in dict.fromkeys(topics)]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
