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
