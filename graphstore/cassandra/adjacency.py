"""Newest-first neighbor lists from Cassandra without reading whole supernode partitions.

Rows in ``adjacency`` are clustered by edge identity, not by time, because a row's
last_seen changes and Cassandra cannot move a row without reading it. So "the newest
``limit`` edges" is answered in rounds:

1. scan ``adjacency_recent`` (clustered hour DESC) and collect distinct candidate edges
   until ``limit`` are found, then finish that hour: every edge whose newest hour is in a
   later hour has been seen, and any edge not seen is older than all of them;
2. fetch the candidates' exact rows from ``adjacency`` (one IN query on the partition),
   apply the exact since/until filter, and repeat from where the scan stopped if too few
   survived (stale index rows of edges that moved to a later hour, or filtered out).

A node whose index holds many stale rows per edge falls back, after ``max_scan`` index
rows, to reading its adjacency partition (exact, just more rows). A single-node read also
fetches the first page of the node's partition alongside the index scan: when the whole
partition fits in it (most nodes) the answer takes one round trip.
"""

from __future__ import annotations

import heapq
import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphstore.base import merge_directions
from graphstore.cassandra.writer import Binder, map_driver_error
from graphstore.model import Direction, Edge, NodeRef, edge_sort_key, hour_bucket

__all__ = ["AdjacencyReader", "map_values_sum", "pack_text_tuples"]

log = logging.getLogger(__name__)

_MAX_HOUR = 2**62
_IN_CHUNK = 256
Request = tuple[Binder, tuple[Any, ...], int | None]
"""(statement binder, bind values, fetch size or None)."""
_pack_i32 = struct.Struct(">i").pack


def pack_text_tuples(keys: Sequence[Sequence[str]], protocol_version: int) -> bytes:
    """Serialise a ``list<frozen<tuple<text, ...>>>`` (an IN list of clustering keys).

    Same bytes as the driver's generic serializer (length-prefixed list of length-prefixed
    tuple fields), without its per-field Python dispatch, which profiled at ~1 ms per
    100-key lookup.
    """
    del protocol_version  # the format is the same for v3+
    pack = _pack_i32
    parts = [pack(len(keys))]
    append = parts.append
    for key in keys:
        chunks = []
        for text in key:
            data = text.encode("utf-8")
            chunks.append(pack(len(data)))
            chunks.append(data)
        body = b"".join(chunks)
        append(pack(len(body)))
        append(body)
    return b"".join(parts)


CandidateKey = tuple[str, str, str, str]
"""(dir, edge_type, other_type, other_id): an ``adjacency`` clustering key."""


def map_values_sum(counts: Any) -> int:
    """Sum a driver map; reads the OrderedMap's item list directly when it has one (the
    public ``values()`` re-serialises every key to look it up, which dominated profiles).
    An int is a sum the server already made (``collection_sum``)."""
    if counts is None:
        return 0
    if type(counts) is int:
        return counts
    items = getattr(counts, "_items", None)
    if items is None:
        return sum(counts.values())
    if len(items) == 1:
        return int(items[0][1])
    total = 0
    for _, value in items:
        total += value
    return total


def row_to_edge(ref: NodeRef, row: Sequence[Any]) -> Edge | None:
    """An ``adjacency`` row (dir, edge_type, other_type, other_id, first, last, counts)."""
    direction, edge_type, other_type, other_id, first, last, counts = row
    if last is None:  # only bucket counts were written so far: the edge does not exist yet
        return None
    first = last if first is None else first  # a TTL can expire first_seen alone
    other = (other_type, other_id)
    if direction == "out":
        return Edge(ref, edge_type, other, {}, first, last, map_values_sum(counts))
    return Edge(other, edge_type, ref, {}, first, last, map_values_sum(counts))


@dataclass(slots=True)
class _Scan:
    ref: NodeRef
    rows: Iterator[Sequence[Any]] | None = None
    pending: Sequence[Any] | None = None
    seen: set[CandidateKey] = field(default_factory=set)
    candidates: list[CandidateKey] = field(default_factory=list)
    survivors: list[Edge] = field(default_factory=list)
    scanned: int = 0
    exhausted: bool = False
    fallback: bool = False


@dataclass
class AdjacencyReader:
    """Reads neighbor lists for many nodes with a bounded number of concurrent requests."""

    session: Any
    target: str
    recent_scan: Binder  # (node_type, node_id, hour_lo, hour_hi) -> hour, dir, et, ot, oid
    lookup: Binder  # (node_type, node_id, [(dir, et, ot, oid)...]) -> adjacency rows
    partition: Binder  # (node_type, node_id) -> adjacency rows
    partition_dirs_typed: Binder  # (node_type, node_id, [dirs], edge_type) -> adjacency rows
    partition_dir: Binder  # (node_type, node_id, dir) -> adjacency rows
    concurrency: int = 64
    max_scan_factor: int = 4
    max_scan_extra: int = 256

    # -------------------------------------------------------------- plumbing

    def _run(self, requests: Sequence[Request], action: str) -> list[Any]:
        """Execute (binder, params, fetch_size) requests concurrently; ResultSets back."""
        results: list[Any] = []
        try:
            for start in range(0, len(requests), self.concurrency):
                futures = []
                for binder, params, fetch_size in requests[start : start + self.concurrency]:
                    bound = binder.bind(params)
                    if fetch_size is not None:
                        bound.fetch_size = fetch_size
                    futures.append(self.session.execute_async(bound))
                results.extend(f.result() for f in futures)
        except Exception as exc:
            raise map_driver_error(exc, self.target, action) from exc
        return results

    # -------------------------------------------------------------- public

    def read(
        self,
        refs: Sequence[NodeRef],
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        if edge_type is not None:
            dirs: list[str] = ["out", "in"] if direction == "both" else [direction]
            requests: list[Request] = [
                (self.partition_dirs_typed, (r[0], r[1], dirs, edge_type), None) for r in refs
            ]
            results = self._run(requests, f"read {edge_type} edges")
            return [
                self._finish(ref, list(rs), direction, since, until, limit)
                for ref, rs in zip(refs, results, strict=True)
            ]
        return self._read_recent(refs, direction, since, until, limit)

    def _finish(
        self,
        ref: NodeRef,
        rows: Sequence[Sequence[Any]],
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[Edge]:
        """Exact answer from full adjacency rows: filter, order, limit, merge directions."""
        outs: list[Edge] = []
        ins: list[Edge] = []
        for row in rows:
            if direction != "both" and row[0] != direction:
                continue
            edge = row_to_edge(ref, row)
            if edge is not None and _in_window(edge.last_seen, since, until):
                (outs if row[0] == "out" else ins).append(edge)
        return merge_directions(_top(outs, limit), _top(ins, limit), limit)

    def _read_recent(
        self,
        refs: Sequence[NodeRef],
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        hour_lo = 0 if since is None else hour_bucket(since)
        hour_hi = _MAX_HOUR if until is None else hour_bucket(until)
        page = limit + max(24, limit // 4)  # usually enough to finish the cut hour
        scans = [_Scan(ref) for ref in refs]
        requests: list[Request] = [
            (self.recent_scan, (s.ref[0], s.ref[1], hour_lo, hour_hi), page) for s in scans
        ]
        # A single node (a 1-hop query, the first hop of a walk): also read the first page
        # of its adjacency partition. If that is the whole partition the answer is exact in
        # one round trip; otherwise it is dropped and the index path continues.
        speculate = len(refs) == 1
        if speculate:
            ref = refs[0]
            if direction == "both":
                requests.append((self.partition, (ref[0], ref[1]), page))
            else:
                requests.append((self.partition_dir, (ref[0], ref[1], direction), page))
        first_pages = self._run(requests, "scan recent edges")
        if speculate:
            whole = first_pages.pop()
            if not whole.has_more_pages:
                return [self._finish(refs[0], whole.current_rows, direction, since, until, limit)]
        for scan, result_set in zip(scans, first_pages, strict=True):
            scan.rows = iter(result_set)  # further pages are fetched on demand
        max_scan = self.max_scan_factor * limit + self.max_scan_extra
        active = scans
        while active:
            try:
                for scan in active:
                    self._collect(scan, direction, limit, max_scan)
            except Exception as exc:  # a later index page failed to load
                raise map_driver_error(exc, self.target, "scan recent edges") from exc
            lookups = [s for s in active if s.candidates and not s.fallback]
            fallbacks = [s for s in active if s.fallback]
            self._lookup(lookups, since, until)
            if fallbacks:
                log.debug(
                    "recent-index scan too long for %d node(s); reading partitions", len(fallbacks)
                )
                self._scan_partitions(fallbacks, direction, since, until, limit)
            active = [
                s
                for s in lookups
                if len(s.survivors) < limit and not s.exhausted and not s.fallback
            ]
        return [_top(s.survivors, limit) for s in scans]

    def _collect(self, scan: _Scan, direction: Direction, limit: int, max_scan: int) -> None:
        """Take candidates from the index until ``limit`` survivors are possible and the
        hour of the last one is complete."""
        need = limit - len(scan.survivors)
        cut: int | None = None
        candidates: list[CandidateKey] = []
        scan.candidates = candidates
        seen = scan.seen
        ref_type, ref_id = scan.ref
        assert scan.rows is not None
        while True:
            row = scan.pending if scan.pending is not None else next(scan.rows, None)
            scan.pending = None
            if row is None:
                scan.exhausted = True
                return
            hour = row[0]
            if cut is not None and hour < cut:
                scan.pending = row
                return
            scan.scanned += 1
            if scan.scanned > max_scan:
                scan.fallback = True
                return
            row_dir = row[1]
            if direction != "both" and row_dir != direction:
                continue
            # The in-copy of a self-loop duplicates its out-copy (same hour, same batch).
            if row_dir == "in" and row[3] == ref_type and row[4] == ref_id and direction == "both":
                continue
            cand: CandidateKey = (row_dir, row[2], row[3], row[4])
            if cand in seen:
                continue
            seen.add(cand)
            candidates.append(cand)
            if cut is None and len(candidates) >= need:
                cut = hour

    def _lookup(self, scans: list[_Scan], since: int | None, until: int | None) -> None:
        requests: list[Request] = []
        owners: list[_Scan] = []
        for scan in scans:
            for start in range(0, len(scan.candidates), _IN_CHUNK):
                chunk = scan.candidates[start : start + _IN_CHUNK]
                requests.append((self.lookup, (scan.ref[0], scan.ref[1], chunk), None))
                owners.append(scan)
        for scan, result_set in zip(owners, self._run(requests, "read edges"), strict=True):
            ref = scan.ref
            survivors = scan.survivors
            for direction, edge_type, other_type, other_id, first, last, counts in result_set:
                if last is None or not _in_window(last, since, until):
                    continue
                count = map_values_sum(counts)
                first = last if first is None else first
                if direction == "out":
                    edge = Edge(ref, edge_type, (other_type, other_id), {}, first, last, count)
                else:
                    edge = Edge((other_type, other_id), edge_type, ref, {}, first, last, count)
                survivors.append(edge)

    def _scan_partitions(
        self,
        scans: list[_Scan],
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> None:
        requests: list[Request]
        if direction == "both":
            requests = [(self.partition, (s.ref[0], s.ref[1]), None) for s in scans]
        else:
            requests = [(self.partition_dir, (s.ref[0], s.ref[1], direction), None) for s in scans]
        for scan, result_set in zip(scans, self._run(requests, "read adjacency"), strict=True):
            scan.survivors = self._finish(
                scan.ref, list(result_set), direction, since, until, limit
            )
            scan.exhausted = True


def _in_window(last_seen: int, since: int | None, until: int | None) -> bool:
    return (since is None or last_seen >= since) and (until is None or last_seen <= until)


def _top(edges: list[Edge], limit: int) -> list[Edge]:
    if len(edges) > limit:
        return heapq.nsmallest(limit, edges, key=edge_sort_key)
    return sorted(edges, key=edge_sort_key)
