"""Running `rdg` in-process for CLI tests: invoke, read errors, isolate from the developer."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli import app

__all__ = ["error_of", "isolate", "rdg"]

runner = CliRunner()

RDG_VARS = (
    "RDG_STORE",
    "RDG_CONFIG",
    "RDG_DATA_DIR",
    "RDG_BOOTSTRAP",
    "RDG_SOURCE",
    "RDG_SPECS_DIR",
    "RDG_STATE_BACKEND",
)


def rdg(*args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env)
    # an uncaught exception means a traceback reached the user
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def error_of(result: Result, code: int) -> str:
    """The error message (unwrapped) of a command that must fail with ``code``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No rdg.toml, RDG_* variables, ./rdg.db or ./.rdg from the developer's environment."""
    monkeypatch.chdir(tmp_path)
    for var in RDG_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RDG_STATE_DIR", str(tmp_path / "state"))
