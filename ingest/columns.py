"""Group-by helpers for columnar operators: where each distinct key of a batch column first
and last occurs, and how often.

A batch merged into keyed state wants, per distinct key, one state update: with the rows
sorted by time, the first occurrence carries the key's least timestamp and the last one its
greatest (and its latest version of any property). ``spans`` and ``pair_spans`` give that
in one pass, from the native kernels in ``ingest/_columns.c`` when they were built (a pair
tuple is then made once per distinct pair, not per row) or from the equivalent Python below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

try:  # built by `pip install` when a C compiler exists
    from ingest import _columns
except ImportError:  # pragma: no cover - exercised only on machines without a C compiler
    _columns = None  # type: ignore[assignment]

__all__ = [
    "NATIVE",
    "Spans",
    "add_counts",
    "merge_ranges",
    "pair_spans",
    "py_add_counts",
    "py_merge_ranges",
    "py_pair_spans",
    "py_spans",
    "spans",
]

#: (distinct keys in first-occurrence order, first index, last index, count), aligned.
Spans = tuple[list[Any], list[int], list[int], list[int]]

#: Whether the native kernels are in use.
NATIVE = _columns is not None


def py_spans(keys: list[Any]) -> Spans:
    """The pure-Python ``spans``."""
    first: dict[Any, int] = {}
    last: dict[Any, int] = {}
    for i, k in enumerate(keys):
        if k not in first:
            first[k] = i  # keeps the first object among equal keys, as the kernel does
        last[k] = i
    counts = Counter(keys)
    uniq = list(first)
    return uniq, list(first.values()), [last[k] for k in uniq], [counts[k] for k in uniq]


def py_pair_spans(a: list[Any], b: list[Any]) -> Spans:
    """The pure-Python ``pair_spans``."""
    if len(a) != len(b):
        raise TypeError("pair_spans(a, b): two lists of the same length")
    return py_spans(list(zip(a, b, strict=True)))


def py_merge_ranges(
    m: dict[Any, Any],
    base_get: Callable[[Any], Any] | None,
    keys: list[Any],
    ts: list[int],
    firsts: list[int],
    lasts: list[int],
    dirty: set[Any],
    tail: tuple[Any, ...] = (),
) -> None:
    """Merge [ts[firsts[i]], ts[lasts[i]]] into the [lo, hi, ...] list state of keys[i].

    ``m`` is a namespace's delta map, ``base_get`` reads its committed base (None when
    nothing is committed); a key seen for the first time gets a new [lo, hi, *tail]; a range that
    widens the state updates the list in place and puts it in ``m``. Every key whose state
    changed joins ``dirty``.
    """
    for k, fi, li in zip(keys, firsts, lasts, strict=True):
        cur = m.get(k)
        if cur is None and base_get is not None:
            cur = base_get(k)
        lo = ts[fi]
        hi = ts[li]
        if cur is None:
            m[k] = [lo, hi, *tail]
            dirty.add(k)
        elif lo < cur[0] or hi > cur[1]:
            if lo < cur[0]:
                cur[0] = lo
            if hi > cur[1]:
                cur[1] = hi
            m[k] = cur
            dirty.add(k)


def py_add_counts(
    m: dict[Any, Any],
    base_get: Callable[[Any], Any] | None,
    deleted: set[Any],
    keys: list[Any],
    counts: list[int],
    dirty: set[Any],
) -> None:
    """Add counts[i] to the int state of keys[i] (missing: 0); keys in ``deleted`` are not
    read from the base. Every key joins ``dirty``."""
    for k, n in zip(keys, counts, strict=True):
        old = m.get(k)
        if old is None and base_get is not None and not (deleted and k in deleted):
            old = base_get(k)
        m[k] = n if old is None else old + n
        dirty.add(k)


if _columns is not None:
    spans = _columns.spans
    pair_spans = _columns.pair_spans
    merge_ranges = _columns.merge_ranges
    add_counts = _columns.add_counts
else:  # pragma: no cover - see above
    spans = py_spans
    pair_spans = py_pair_spans
    merge_ranges = py_merge_ranges
    add_counts = py_add_counts
