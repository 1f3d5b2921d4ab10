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
    n = len(keys)
    last = dict(zip(keys, range(n), strict=True))
    first = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))
    counts = Counter(keys)
    uniq = sorted(first, key=first.__getitem__)
    return uniq, [first[k] for k in uniq], [last[k] for k in uniq], [counts[k] for k in uniq]


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
