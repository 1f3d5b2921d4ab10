"""``paused_gc``: the collector is off inside, nested and concurrent pauses share one,
and it comes back only if it was on."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphstore.gc_pause import paused_gc
from graphstore.model import EdgeWrite
from graphstore.sqlite import SQLiteGraphStore


@pytest.fixture(autouse=True)
def _gc_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_nested_pauses_resume_once_at_the_outermost() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_collector_resumes_after_an_exception() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("query failed")
    assert gc.isenabled()


def test_concurrent_pauses_resume_when_the_last_ends() -> None:
    inside, release = threading.Barrier(2), threading.Event()
    states: list[bool] = []

    def hold() -> None:
        with paused_gc():
            inside.wait()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    with paused_gc():
        inside.wait()
    states.append(gc.isenabled())  # the other thread still holds its pause
    release.set()
    thread.join()
    states.append(gc.isenabled())
    assert states == [False, True]


def test_queries_run_with_the_collector_paused(tmp_path: Path) -> None:
    seen: list[bool] = []
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        store.write([], [EdgeWrite("Profile", "p", "PLAYED", "Title", "t", 1, 2)], [])
        original = store._adjacent_many

        def spy(*args: object) -> object:
            seen.append(gc.isenabled())
            return original(*args)  # type: ignore[arg-type]

        store._adjacent_many = spy  # type: ignore[method-assign]
        assert store.khop(("Profile", "p"), 2).edges
        assert store.neighbors(("Title", "t"), "in")
    assert seen and not any(seen)
    assert gc.isenabled()
