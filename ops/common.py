"""Settings and errors shared by the local cluster tooling.

Every path and port comes from one `Settings` value built from the environment, so tests
can point the tooling at a temporary state dir, cache dir and free ports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError, RDGError

__all__ = [
    "DEFAULT_CASSANDRA_PORT",
    "DEFAULT_CASSANDRA_STORAGE_PORT",
    "DEFAULT_KAFKA_CONTROLLER_PORT",
    "DEFAULT_KAFKA_PORT",
    "HOST",
    "REPO_ROOT",
    "ClusterError",
    "Settings",
]

HOST = "127.0.0.1"
"""Every server binds here only: the cluster is for this machine's tests, never the network."""

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KAFKA_PORT = 9092
DEFAULT_KAFKA_CONTROLLER_PORT = 9093
DEFAULT_CASSANDRA_PORT = 9042
DEFAULT_CASSANDRA_STORAGE_PORT = 7000


class ClusterError(RDGError):
    """The local cluster could not be fetched, started, probed or stopped.

    The message names the problem and the fix; the CLI prints it and exits non-zero.
    """


def _env_port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number (expected 1-65535)") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}={port} is out of range (expected 1-65535)")
    return port


def _default_cache_dir(env: dict[str, str]) -> Path:
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    home = env.get("HOME", "").strip()
    base = Path(xdg) if xdg else (Path(home) if home else Path.home()) / ".cache"
    return base / "rdg"


@dataclass(frozen=True)
class Settings:
    """Where the cluster lives and which ports it uses; see `Settings.from_env`."""

    state_dir: Path
    cache_dir: Path
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    cassandra_port: int = DEFAULT_CASSANDRA_PORT
    cassandra_storage_port: int = DEFAULT_CASSANDRA_STORAGE_PORT
    kafka_ready_timeout: float = 90.0
    cassandra_ready_timeout: float = 180.0
    stop_timeout: float = 45.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read RDG_CLUSTER_DIR, RDG_CACHE_DIR and the RDG_*_PORT overrides."""
        env = dict(os.environ if env is None else env)
        state = env.get("RDG_CLUSTER_DIR", "").strip()
        cache = env.get("RDG_CACHE_DIR", "").strip()
        return cls(
            state_dir=Path(state).expanduser().resolve() if state else REPO_ROOT / ".cluster",
            cache_dir=Path(cache).expanduser().resolve() if cache else _default_cache_dir(env),
            kafka_port=_env_port(env, "RDG_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            kafka_controller_port=_env_port(
                env, "RDG_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT
            ),
            cassandra_port=_env_port(env, "RDG_CASSANDRA_PORT", DEFAULT_CASSANDRA_PORT),
            cassandra_storage_port=_env_port(
                env, "RDG_CASSANDRA_STORAGE_PORT", DEFAULT_CASSANDRA_STORAGE_PORT
            ),
        )

    @property
    def jar_cache(self) -> Path:
        """Resolved server jars, one directory per server and version."""
        return self.cache_dir / "jars"

    @property
    def maven_dir(self) -> Path:
        """Maven work dirs (POM copies and local repositories), kept out of the work tree."""
        return self.cache_dir / "maven"
