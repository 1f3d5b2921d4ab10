"""Configuration: flags > environment > rdg.toml > defaults.

With nothing configured everything points at the embedded default: events as files under
``./data``, the SQLite graph store ``./rdg.db``, job state under ``./.rdg``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError

__all__ = ["ENV_VARS", "Settings", "load_settings"]

#: setting -> environment variable
ENV_VARS = {
    "source": "RDG_SOURCE",
    "bootstrap": "RDG_BOOTSTRAP",
    "store": "RDG_STORE",
    "data_dir": "RDG_DATA_DIR",
    "state_dir": "RDG_STATE_DIR",
    "state_backend": "RDG_STATE_BACKEND",
    "specs_dir": "RDG_SPECS_DIR",
}


@dataclass(frozen=True)
class Settings:
    """Where things are.  ``source`` is ``file:DIR`` or ``kafka://HOST:PORT``."""

    source: str = "file:./data"
    bootstrap: str = "127.0.0.1:9092"
    store: str = "sqlite:///./rdg.db"
    data_dir: str = "./data"
    state_dir: str = "./.rdg"
    state_backend: str = "heap"
    specs_dir: str = ""  # empty: the specs shipped in jobs/specs

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    table = data.get("rdg", data)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [rdg] must be a table")
    known = {f.name for f in fields(Settings)}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"config file {path}: unknown setting {key!r}; known: {', '.join(sorted(known))}"
            )
        if not isinstance(value, str):
            raise ConfigError(f"config file {path}: {key} must be a string, got {value!r}")
    return dict(table)


def load_settings(
    flags: dict[str, str | None] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Resolve the settings.  ``config_file`` defaults to ``$RDG_CONFIG`` or ``./rdg.toml``."""
    settings = Settings()
    path = Path(config_file or os.environ.get("RDG_CONFIG") or "rdg.toml")
    if path.exists():
        settings = replace(settings, **_from_toml(path))
    elif config_file:
        raise ConfigError(f"config file {path} does not exist")
    env = {k: os.environ[v] for k, v in ENV_VARS.items() if os.environ.get(v)}
    settings = replace(settings, **env)
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = set(given) - {f.name for f in fields(Settings)}
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    settings = replace(settings, **given)
    if settings.state_backend not in ("heap", "rocksdb"):
        raise ConfigError(
            f"state backend {settings.state_backend!r} is not one of heap, rocksdb "
            f"(from --state, {ENV_VARS['state_backend']} or rdg.toml)"
        )
    return settings
