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
from typing import Any

try:  # built by `pip install` when a C compiler exists
    from ingest import _columns
except ImportError:  # pragma: no cover - exercised only on machines without a C compiler
    _columns = None  # type: ignore[assignment]

__all__ = ["NATIVE", "Spans", "pair_spans", "py_pair_spans", "py_spans", "spans"]

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


if _columns is not None:
    spans = _columns.spans
    pair_spans = _columns.pair_spans
else:  # pragma: no cover - see above
    spans = py_spans
    pair_spans = py_pair_spans
