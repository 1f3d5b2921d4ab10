"""The native group-by kernels (ingest/_columns.c) against their Python equivalents and
against a plain reference loop."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import _columns, columns
from ingest.columns import pair_spans, py_pair_spans, py_spans, spans

KEYS = st.lists(st.sampled_from(["a", "b", "c", "d", "", "é", 1, (2, "x")]), max_size=60)


def reference(keys: list[Any]) -> tuple[list[Any], list[int], list[int], list[int]]:
    uniq: list[Any] = []
    first: dict[Any, int] = {}
    last: dict[Any, int] = {}
    count: dict[Any, int] = {}
    for i, k in enumerate(keys):
        if k not in first:
            uniq.append(k)
            first[k] = i
        last[k] = i
        count[k] = count.get(k, 0) + 1
    return uniq, [first[k] for k in uniq], [last[k] for k in uniq], [count[k] for k in uniq]


def test_the_native_kernels_are_built() -> None:
    assert columns.NATIVE, "ingest._columns was not built"


@settings(max_examples=400)
@given(KEYS)
def test_spans(keys: list[Any]) -> None:
    assert spans(keys) == py_spans(keys) == reference(keys)


@settings(max_examples=400)
@given(st.data(), st.integers(0, 60))
def test_pair_spans(data: st.DataObject, n: int) -> None:
    a = data.draw(st.lists(st.sampled_from(["p1", "p2", "p3", 7]), min_size=n, max_size=n))
    b = data.draw(st.lists(st.sampled_from(["t1", "t2", "", None]), min_size=n, max_size=n))
    want = reference(list(zip(a, b, strict=True)))
    assert pair_spans(a, b) == py_pair_spans(a, b) == want
    assert all(type(k) is tuple for k in pair_spans(a, b)[0])


def test_errors() -> None:
    with pytest.raises(TypeError):
        spans([[1], [2]])  # unhashable keys
    with pytest.raises(TypeError):
        pair_spans(["a"], ["x", "y"])
    with pytest.raises(TypeError):
        py_pair_spans(["a"], ["x", "y"])
    with pytest.raises(TypeError):
        pair_spans(["a"], [["x"]])


def test_kernels_survive_keys_that_change_the_list() -> None:
    keys: list[Any] = []

    class Meddler:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            keys.clear()
            return False

    keys[:] = [Meddler(), Meddler(), Meddler()]
    uniq, _, _, count = _columns.spans(keys)  # works on a snapshot: no crash
    assert len(uniq) == 3 and count == [1, 1, 1]
    a: list[Any] = []
    b = ["x", "x"]
    a[:] = [Meddler(), Meddler()]
    assert len(_columns.pair_spans(a, b)[0]) == 2


def test_equal_keys_keep_the_first_object() -> None:
    for fn in (spans, py_spans):
        uniq, first, last, count = fn([1, 1.0, True, "x"])
        assert uniq == [1, "x"] and type(uniq[0]) is int
        assert (first, last, count) == ([0, 3], [2, 3], [3, 1])


# ---------------------------------------------------------------- state merges

STATE_KEYS = st.sampled_from(["a", "b", "c", ("e", 1), 7])


@st.composite
def range_merges(
    draw: st.DrawFn,
) -> tuple[dict[Any, Any], dict[Any, Any] | None, list[Any], list[int], list[int], list[int]]:
    delta = {
        k: [draw(st.integers(0, 9)), draw(st.integers(10, 19))]
        for k in draw(st.lists(STATE_KEYS, max_size=4))
    }
    base = (
        {
            k: [draw(st.integers(0, 9)), draw(st.integers(10, 19))]
            for k in draw(st.lists(STATE_KEYS, max_size=4))
        }
        if draw(st.booleans())
        else None
    )
    keys = draw(st.lists(STATE_KEYS, max_size=6, unique=True))
    ts = draw(st.lists(st.integers(-5, 25), min_size=1, max_size=8))
    firsts = [draw(st.integers(0, len(ts) - 1)) for _ in keys]
    lasts = [draw(st.integers(0, len(ts) - 1)) for _ in keys]
    return delta, base, keys, ts, firsts, lasts


def _copy(state: dict[Any, Any] | None) -> dict[Any, Any] | None:
    return None if state is None else {k: list(v) for k, v in state.items()}


@settings(max_examples=400)
@given(range_merges())
def test_merge_ranges(case: tuple[Any, ...]) -> None:
    delta, base, keys, ts, firsts, lasts = case
    for tail in ((), (None,), ("x", 2)):
        results = []
        for fn in (columns.merge_ranges, columns.py_merge_ranges):
            m, b = _copy(delta), _copy(base)
            assert m is not None
            dirty: set[Any] = set()
            fn(m, None if b is None else b.get, keys, ts, firsts, lasts, dirty, tail)
            results.append((m, b, dirty))
        assert results[0] == results[1]
        new = [k for k in keys if k not in delta and k not in (base or {})]
        assert all(results[0][0][k][2:] == list(tail) for k in new)
    m, _, dirty = results[0]
    for k, fi, li in zip(keys, firsts, lasts, strict=True):  # every range is covered
        assert m.get(k, (base or {}).get(k))[0] <= ts[fi]
        assert m.get(k, (base or {}).get(k))[1] >= ts[li]


@settings(max_examples=400)
@given(
    delta=st.dictionaries(STATE_KEYS, st.integers(0, 9), max_size=4),
    base=st.none() | st.dictionaries(STATE_KEYS, st.integers(0, 9), max_size=4),
    deleted=st.sets(STATE_KEYS, max_size=2),
    keys=st.lists(STATE_KEYS, max_size=6, unique=True),
    data=st.data(),
)
def test_add_counts(
    delta: dict[Any, int],
    base: dict[Any, int] | None,
    deleted: set[Any],
    keys: list[Any],
    data: st.DataObject,
) -> None:
    counts = [data.draw(st.integers(1, 5)) for _ in keys]
    results = []
    for fn in (columns.add_counts, columns.py_add_counts):
        m, dirty = dict(delta), set()
        fn(m, None if base is None else base.get, deleted, keys, counts, dirty)
        results.append((m, dirty))
    assert results[0] == results[1]
    assert results[0][1] == set(keys)


def test_state_merges_reject_bad_arguments() -> None:
    with pytest.raises(IndexError, match="out of range"):
        columns.merge_ranges({}, None, ["a"], [1], [0], [3], set())
    with pytest.raises(TypeError, match="merge_ranges"):
        columns.merge_ranges([], None, [], [], [], [], set())
    with pytest.raises(ValueError, match="length"):
        columns.add_counts({}, None, set(), ["a"], [], set())
