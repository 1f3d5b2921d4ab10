"""The per-row work of a newest-first neighbor scan: take each edge's first row, build its
``Edge``, stop once ``limit`` edges are found and their last hour is complete; then order
and cut the result.

A 2-hop walk with 100 per hop reads ~10,000 rows, and this loop was about half of the
client's CPU in Python, so it runs in C (``graphstore/cassandra/_recentrows.c``) when that
was built at install time. The Python below is the reference the tests hold the C to, and
what runs without a compiler.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

from graphstore.cassandra.encoding import COPY_HEAD, FIRST_SEEN_BASE, decode_copy_key
from graphstore.model import HOUR_MS, Edge, NodeRef

try:  # built by `pip install` when a C compiler exists
    from graphstore.cassandra import _recentrows
except ImportError:  # pragma: no cover - exercised only on machines without a C compiler
    _recentrows = None  # type: ignore[assignment]

__all__ = [
    "FALLBACK",
    "NATIVE",
    "RAN_OUT",
    "STOPPED",
    "UNKEYED",
    "CandidateKey",
    "Collected",
    "collect",
    "collect_keyed",
    "py_collect",
    "py_collect_keyed",
    "py_top",
    "top",
]

CandidateKey = tuple[str, str, str, str]
"""(dir, edge_type, other_type, other_id): an ``adjacency`` clustering key."""

STOPPED = 0
"""The next row is in an hour older than the cut: it is returned as ``pending``."""
FALLBACK = 1
"""More than ``max_scan`` rows were scanned."""
RAN_OUT = 2
"""The rows ran out (the partition's end, or the end of a page cut short)."""
UNKEYED = 3
"""``collect_keyed`` met a row without a keyed copy: the scan must read whole rows."""

Collected = tuple[int, Sequence[Any] | None, int, int, int | None]
"""(status, pending row, rows scanned, hour of the last scanned row, cut hour)."""

#: Whether the C loop is in use.
NATIVE = _recentrows is not None

_unpack_head = COPY_HEAD.unpack_from  # (count, FIRST_SEEN_BASE - first_seen, last_seen)
_HEAD = COPY_HEAD.size


def py_collect(
    rows: Iterable[Sequence[Any]],
    pending: Sequence[Any] | None,
    ref: NodeRef,
    seen: set[Any],
    survivors: list[Edge],
    candidates: list[CandidateKey],
    direction: str,
    since: int | None,
    until: int | None,
    limit: int,
    max_scan: int,
    scanned: int,
    hour: int,
    cut: int | None,
) -> Collected:
    """Scan index rows (hour, dir, edge_type, other_type, other_id, edge, ...) newest first.

    The first row of an edge (by its clustering key after the hour) is its newest copy:
    its packed ``edge`` becomes an ``Edge`` in ``survivors`` when its last_seen passes the
    since/until filter, or, for a row without a copy, its key goes to ``candidates``; later
    rows of the same edge are stale and skipped. Once ``limit`` edges are found (counting
    candidates), rows older than the hour of the limit-th one are not needed: the first is
    handed back as ``pending``. ``cut`` from an earlier call holds only while ``survivors``
    still has ``limit`` edges (lookups may have dropped candidates since).
    """
    found = len(survivors)
    if found < limit:
        cut = None
    both = direction == "both"
    ref_type, ref_id = ref
    add_seen = seen.add
    append = survivors.append
    iterator = iter(rows)
    row: Sequence[Any] | None = pending
    while True:
        if row is None:
            row = next(iterator, None)
            if row is None:
                return RAN_OUT, None, scanned, hour, cut
        if cut is not None and row[0] < cut:
            return STOPPED, row, scanned, hour, cut
        hour = row[0]
        scanned += 1
        if scanned > max_scan:
            return FALLBACK, None, scanned, hour, cut
        current, row = row, None
        row_dir = current[1]
        if not both and row_dir != direction:
            continue
        key: CandidateKey = (current[1], current[2], current[3], current[4])
        if key in seen:
            continue
        # The in-copy of a self-loop duplicates its out-copy (same hour, same batch).
        if both and row_dir == "in" and current[3] == ref_type and current[4] == ref_id:
            continue
        add_seen(key)
        payload = current[5]
        if payload is None:  # a row from before copies: look the edge up
            candidates.append(key)
        else:
            count, first_key, last = _unpack_head(payload)
            if (since is not None and last < since) or (until is not None and last > until):
                continue
            other = (current[3], current[4])
            first = FIRST_SEEN_BASE - first_key
            if row_dir == "out":
                append(Edge(ref, current[2], other, {}, first, last, count))
            else:
                append(Edge(other, current[2], ref, {}, first, last, count))
        found += 1
        if cut is None and found >= limit:
            cut = hour


def py_collect_keyed(
    rows: Iterable[Sequence[Any]],
    pending: Sequence[Any] | None,
    ref: NodeRef,
    seen: set[Any],
    survivors: list[Edge],
    candidates: list[CandidateKey],
    direction: str,
    since: int | None,
    until: int | None,
    limit: int,
    max_scan: int,
    scanned: int,
    hour: int,
    cut: int | None,
) -> Collected:
    """``py_collect`` for rows that are only (edge, ...): keyed copies carry their row's key
    (``encoding.encode_edge_copy``) and sit in the hour of their last_seen, so the scan
    needs no other column, and the driver decodes one value per row instead of six. The
    key's bytes identify the edge in ``seen``; ``candidates`` stays empty (every keyed copy
    carries its edge: the argument keeps the two scans interchangeable). A row without a
    keyed copy (written by an earlier version) ends the call with UNKEYED: the caller reads
    the node again whole."""
    found = len(survivors)
    if found < limit:
        cut = None
    both = direction == "both"
    want = 0 if direction == "out" else 1
    ref_type, ref_id = ref
    add_seen = seen.add
    append = survivors.append
    iterator = iter(rows)
    row: Sequence[Any] | None = pending
    while True:
        if row is None:
            row = next(iterator, None)
            if row is None:
                return RAN_OUT, None, scanned, hour, cut
        payload = row[0]
        if payload is None or len(payload) <= _HEAD:
            return UNKEYED, None, scanned, hour, cut
        count, first_key, last = _unpack_head(payload)
        row_hour = last - last % HOUR_MS
        if cut is not None and row_hour < cut:
            return STOPPED, row, scanned, hour, cut
        hour = row_hour
        scanned += 1
        if scanned > max_scan:
            return FALLBACK, None, scanned, hour, cut
        row = None
        code = payload[_HEAD]
        if code > 1:
            raise ValueError(f"an edge copy has direction byte {code}")
        if not both and code != want:
            continue
        key = payload[_HEAD:]
        if key in seen:
            continue
        edge_key = decode_copy_key(payload)
        assert edge_key is not None
        _, edge_type, other_type, other_id = edge_key
        # The in-copy of a self-loop duplicates its out-copy (same hour, same batch).
        if both and code == 1 and other_type == ref_type and other_id == ref_id:
            continue
        add_seen(key)
        if (since is not None and last < since) or (until is not None and last > until):
            continue
        other = (other_type, other_id)
        first = FIRST_SEEN_BASE - first_key
        if code == 0:
            append(Edge(ref, edge_type, other, {}, first, last, count))
        else:
            append(Edge(other, edge_type, ref, {}, first, last, count))
        found += 1
        if cut is None and found >= limit:
            cut = hour


def py_top(edges: list[Edge], limit: int) -> list[Edge]:
    """The ``limit`` first edges in ``edge_sort_key`` order (newest last_seen first, then
    type, src, dst; equal edges keep their order). The keys are built inline: the same
    order ((type, id) tuples compare like their fields), without a call per edge."""
    if len(edges) <= 1:
        return edges[:limit]
    keyed = [(-e.last_seen, e.type, e.src, e.dst, i) for i, e in enumerate(edges)]
    ordered = heapq.nsmallest(limit, keyed) if len(keyed) > limit else sorted(keyed)
    return [edges[k[4]] for k in ordered]


if _recentrows is not None:
    collect = _recentrows.collect
    collect_keyed = _recentrows.collect_keyed
    top = _recentrows.top
else:  # pragma: no cover - see above
    collect = py_collect
    collect_keyed = py_collect_keyed
    top = py_top
