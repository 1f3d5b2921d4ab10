"""Pausing CPython's cyclic garbage collector while a query builds a large result.

A 2-hop walk with 100 per hop makes ~10,000 ``Edge`` objects plus the tuples around them,
all acyclic (reference counting frees them). With the collector running, those
allocations trigger ~20 young collections per walk, promote the walk's live objects
into the old generation and, every few walks, a full collection of the process (~20 ms on
the benchmark machine, landing on whichever query runs then): about a fifth of an average
walk's time and most of its tail. Paused, a walk's objects are examined at most once, by
the first collection after the query. Queries that build such results run under
``paused_gc()``; nested and concurrent uses share one pause, and the collector is resumed
only if it was enabled when the first of them began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the duration of the block (reference counting
    still frees everything acyclic at once)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
