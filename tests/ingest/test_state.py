"""Keyed state over both backends: handles, TTL in both time domains, snapshots."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from ingest.errors import ConfigError, StateError
from ingest.state import MISSING, StateBackend, StateTtl
from ingest.state.handles import KeyScope, ListState, MapState, ValueState


class Clocks:
    def __init__(self) -> None:
        self.wm = 0
        self.now = 0


def _scope(clocks: Clocks) -> KeyScope:
    return KeyScope(lambda: clocks.wm, lambda: clocks.now)


def test_value_map_list_state_scoped_to_key(backend: StateBackend) -> None:
    store = backend.create_store("j", "0")
    scope = _scope(Clocks())
    v: ValueState[int] = ValueState(store.table("v"), scope, None)
    m: MapState[str, int] = MapState(store.table("m"), scope, None)
    lst: ListState[int] = ListState(store.table("l"), scope, None)
    scope.has_key = True
    scope.current_key = "a"
    v.update(1)
    m.put("x", 10)
    m.put("y", 20)
    lst.add(1)
    lst.add(2)
    scope.current_key = "b"
    assert v.value() is None and v.value(7) == 7
    assert m.get("x") is None and m.is_empty()
    assert lst.get() == []
    v.update(2)
    scope.current_key = "a"
    assert v.value() == 1
    assert dict(m.items()) == {"x": 10, "y": 20}
    assert lst.get() == [1, 2]
    m.remove("x")
    assert m.keys() == ["y"] and not m.contains("x") and m.contains("y")
    v.clear()
    assert v.value() is None
    store.close()


def test_state_outside_key_context_is_an_error(backend: StateBackend) -> None:
    store = backend.create_store("j", "0")
    v: ValueState[int] = ValueState(store.table("v"), _scope(Clocks()), None)
    with pytest.raises(StateError, match="outside a keyed context"):
        v.value()
    store.close()


def _roundtrip(backend: StateBackend, blobs: list[bytes]) -> Any:
    other = backend.create_store("j", "restored")
    other.restore(blobs)
    return other


def test_snapshot_restore_and_incremental_deltas(backend: StateBackend) -> None:
    store = backend.create_store("j", "0")
    t = store.table("t", int)
    for i in range(1000):
        t.put(None, f"k{i}", i)
    t.put("ns2", "a", 1)
    full = store.snapshot(full=True)
    # change 1%: ten updates, one delete, one namespace dropped
    for i in range(10):
        t.put(None, f"k{i}", -i)
    t.delete(None, "k999")
    t.drop("ns2")
    delta = store.snapshot(full=False)
    snap = pickle.loads(delta)
    assert snap["full"] is False
    entries = snap["tables"]["t"][None]
    assert len(entries[1]) == 10 and entries[2] == {"k999"}
    assert snap["tables"]["t"]["ns2"][0] is True  # cleared
    assert len(delta) < len(full) / 20  # a delta holds only what changed

    restored = _roundtrip(backend, [full, delta])
    rt = restored.table("t", int)
    assert rt.get(None, "k5") == -5
    assert rt.get(None, "k500") == 500
    assert rt.get(None, "k999") is MISSING
    assert sorted(rt.namespaces(), key=str) == [None]
    assert len(list(rt.items(None))) == 999
    # reads through the base, writes into the delta, both visible
    rt.ns(None)["k1"] = 100
    assert rt.ns(None)["k1"] == 100 and rt.ns(None)["k2"] == -2
    assert rt.ns(None)["nope"] == 0  # the table default, not inserted
    assert "nope" not in rt.ns(None)
    store.close()
    restored.close()


def test_restore_requires_a_full_snapshot_first(backend: StateBackend) -> None:
    store = backend.create_store("j", "0")
    store.table("t").put(None, "a", 1)
    store.snapshot(full=True)
    store.table("t").put(None, "a", 2)
    delta = store.snapshot(full=False)
    with pytest.raises(ValueError, match="full snapshot"):
        _roundtrip(backend, [delta])
    store.close()


def test_deleted_then_reput_key_survives_snapshot(backend: StateBackend) -> None:
    store = backend.create_store("j", "0")
    t = store.table("t")
    t.put(None, "a", 1)
    full = store.snapshot(full=True)
    t.delete(None, "a")
    t.put(None, "a", 3)
    delta = store.snapshot(full=False)
    assert _roundtrip(backend, [full, delta]).table("t").get(None, "a") == 3
    store.close()


@pytest.mark.parametrize("domain", ["event", "processing"])
def test_ttl_expiry(backend: StateBackend, domain: str) -> None:
    clocks = Clocks()
    store = backend.create_store("j", "0")
    scope = _scope(clocks)
    ttl = StateTtl(100, domain)  # type: ignore[arg-type]
    v: ValueState[str] = ValueState(store.table("v"), scope, ttl)
    m: MapState[str, int] = MapState(store.table("m"), scope, ttl)
    lst: ListState[int] = ListState(store.table("l"), scope, ttl)
    scope.has_key = True
    scope.current_key = "k"

    def advance(ms: int) -> None:
        if domain == "event":
            clocks.wm += ms
        else:
            clocks.now += ms

    v.update("x")
    m.put("a", 1)
    lst.add(5)
    advance(60)
    assert v.value() == "x" and m.get("a") == 1 and lst.get() == [5]
    m.put("b", 2)  # written later: lives longer
    advance(50)  # 110 ms after the first writes
    assert v.value() is None
    assert m.get("a") is None and m.get("b") == 2
    assert dict(m.items()) == {"b": 2}
    assert lst.get() == []
    # the other time domain does not expire anything
    other = ValueState(store.table("v2"), scope, StateTtl(100, domain))  # type: ignore[arg-type]
    other.update("y")
    if domain == "event":
        clocks.now += 10_000
    else:
        clocks.wm += 10_000
    assert other.value() == "y"
    # expired entries were deleted, and survive a snapshot/restore as deleted
    blob = store.snapshot(full=True)
    restored = _roundtrip(backend, [blob])
    assert restored.table("v").get(None, "k") is MISSING
    store.close()
    restored.close()


def test_ttl_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="TTL"):
        StateTtl(0)
    with pytest.raises(ConfigError, match="time domain"):
        StateTtl(10, "wall")  # type: ignore[arg-type]
