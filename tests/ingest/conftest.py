from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.state import HeapStateBackend, RocksDBStateBackend, StateBackend


@pytest.fixture(params=["heap", "rocksdb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    """Every state test runs against both backends."""
    if request.param == "heap":
        yield HeapStateBackend(compact_every=3)
    else:
        yield RocksDBStateBackend(tmp_path / "rocks", compact_every=3)
