"""Checkpoint configuration (frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError

__all__ = ["CheckpointConfig"]


@dataclass(frozen=True)
class CheckpointConfig:
    """Where and how often to checkpoint.

    ``directory`` is the job's checkpoint directory (local storage); ``interval_ms`` the
    processing-time period (``0`` = only on demand and at the end of a bounded input);
    ``retain`` how many complete checkpoints to keep; ``compact_every`` how many checkpoints
    a partition's incremental chain may grow before a full snapshot is written instead;
    ``worker_id`` tells apart the workers of one job sharing the directory.
    """

    directory: Path
    interval_ms: int = 10_000
    retain: int = 3
    compact_every: int = 10
    worker_id: str = "w0"

    def __post_init__(self) -> None:
        if self.interval_ms < 0:
            raise ConfigError(f"checkpoint interval must be >= 0 ms, got {self.interval_ms}")
        if self.retain < 1:
            raise ConfigError(f"checkpoint retain must be >= 1, got {self.retain}")
        if self.compact_every < 1:
            raise ConfigError(f"compact_every must be >= 1, got {self.compact_every}")
        if not self.worker_id or "/" in self.worker_id or "-" in self.worker_id:
            raise ConfigError(f"worker_id {self.worker_id!r} must be non-empty without '/' or '-'")
