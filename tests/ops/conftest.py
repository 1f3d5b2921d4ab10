"""Helpers for the ops unit tests: temporary settings on free ports, never the real cluster."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ops.common import Settings


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a temp state dir, a temp jar cache and free ports."""
    return Settings(
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        cassandra_port=free_port(),
        cassandra_storage_port=free_port(),
    )
