"""Checkpoints: consistent, incremental snapshots of state, timers, watermarks and positions."""

from ingest.checkpoint.config import CheckpointConfig
from ingest.checkpoint.coordinator import COMMIT_ORDER, CheckpointCoordinator, RestorePoint
from ingest.checkpoint.storage import BlobRef, CheckpointStorage, LocalDirectoryStorage

__all__ = [
    "COMMIT_ORDER",
    "BlobRef",
    "CheckpointConfig",
    "CheckpointCoordinator",
    "CheckpointStorage",
    "LocalDirectoryStorage",
    "RestorePoint",
]
