"""Newest-first neighbor lists from Cassandra without reading whole supernode partitions.

``adjacency_recent`` holds a copy of every edge in the hour of its last_seen, newest hour
first (``graphstore.cassandra.newest``). A neighbor query scans it and takes the first row
of each edge (its newest copy, exact; later rows of the same edge are stale copies) until
``limit`` edges pass the since/until filter and the hour of the last one is complete:
every edge not yet seen is older. One partition read per node; a frontier's first pages
come in a few multi-node requests (PER PARTITION LIMIT), and a node whose page was cut
inside its last hour is read on by itself. A copy carries its row's key, so the scans
select only the copy (``recent_rows.collect_keyed``).

Rows written by earlier versions (copies without their key, or index rows without a copy)
make the node's scan start again on whole rows (``recent_rows.collect``); the reader then
reads whole rows from the start for later queries too. Index rows without a copy give
candidates whose exact rows are fetched from ``adjacency`` with one IN query per node. A
node whose scan passes ``max_scan`` rows (many stale copies) falls back to reading its
adjacency partition (exact, just more rows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from graphstore.base import merge_directions
from graphstore.cassandra.reads import ReadWindow, Request, lookup_requests, map_values_sum
from graphstore.cassandra.recent_rows import (
    FALLBACK,
    RAN_OUT,
    UNKEYED,
    CandidateKey,
    collect,
    collect_keyed,
    top,
)
from graphstore.cassandra.writer import Binder, map_driver_error
from graphstore.model import Direction, Edge, NodeRef, hour_bucket

__all__ = ["AdjacencyReader"]

log = logging.getLogger(__name__)

_MAX_HOUR = 2**62
_MAX_NODES_PER_REQUEST = 64
_KEYED_NODE_ID = itemgetter(1)  # rows (edge, node_id)
_WHOLE_NODE_ID = itemgetter(6)  # rows (hour, dir, edge_type, other_type, other_id, edge, node_id)


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
    seen: set[Any] = field(default_factory=set)  # key bytes (keyed) or CandidateKey (whole)
    candidates: list[CandidateKey] = field(default_factory=list)
    survivors: list[Edge] = field(default_factory=list)
    scanned: int = 0
    exhausted: bool = False
    fallback: bool = False
    cut: int | None = None  # the hour of the limit-th edge, once found
    truncated: bool = False  # ``rows`` is a page cut by PER PARTITION LIMIT
    refill: bool = False  # ``rows`` ended at such a cut: read on from ``last_hour``
    last_hour: int = 0
    whole: bool = False  # reads whole rows (rows of earlier versions were met)
    restart: bool = False  # read the node again from its newest hour

    def restart_whole(self) -> None:
        """Start over on whole rows (a row without a keyed copy was met)."""
        self.rows = self.pending = None
        self.seen = set()
        self.candidates = []
        self.survivors = []
        self.scanned = self.last_hour = 0
        self.exhausted = self.fallback = self.truncated = self.refill = False
        self.cut = None
        self.whole = self.restart = True


@dataclass
class AdjacencyReader:
    """Reads neighbor lists for many nodes with a bounded number of concurrent requests."""

    session: Any
    target: str
    recent_scan: Binder  # (node_type, node_id, hour_lo, hour_hi) -> edge (keyed copy), node_id
    recent_scan_many: Binder  # (node_type, [node_id...], hour_lo, hour_hi, per-node limit)
    recent_scan_whole: Binder  # as recent_scan -> hour, dir, et, ot, oid, edge, node_id
    recent_scan_many_whole: Binder  # as recent_scan_many, whole rows
    lookup: Binder  # (node_type, node_id, [(dir, et, ot, oid)...]) -> adjacency rows
    partition: Binder  # (node_type, node_id) -> adjacency rows
    partition_dirs_typed: Binder  # (node_type, node_id, [dirs], edge_type) -> adjacency rows
    partition_dir: Binder  # (node_type, node_id, dir) -> adjacency rows
    concurrency: int = 64
    frontier_batches: int = 4  # requests for the first pages of a frontier's nodes
    # A first page holds limit + max(page_slack, limit // page_slack_ratio) rows: usually
    # enough to finish the hour of the limit-th edge, and a node that needs more is read
    # on by itself.
    page_slack: int = 24
    page_slack_ratio: int = 4
    max_scan_factor: int = 4
    max_scan_extra: int = 256
    whole_rows: bool = False  # set once rows of an earlier version were met

    # -------------------------------------------------------------- plumbing

    def run(self, requests: Sequence[Request], action: str) -> list[Any]:
        """Execute (binder, params, fetch_size) requests concurrently; ResultSets back."""
        window = ReadWindow(self, action)
        futures = [window.submit(request) for request in requests]
        return [window.result(future) for future in futures]

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
            results = self.run(requests, f"read {edge_type} edges")
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
        return merge_directions(top(outs, limit), top(ins, limit), limit)

    def _read_recent(
        self,
        refs: Sequence[NodeRef],
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        # The scan always starts at the newest hour, also under ``until``: an edge's newest
        # copy must be seen before its stale copies in older hours (which would otherwise
        # pass for an edge last seen before ``until``).
        hour_lo = 0 if since is None else hour_bucket(since)
        page = limit + max(self.page_slack, limit // self.page_slack_ratio)
        whole = self.whole_rows
        scans = [_Scan(ref, whole=whole) for ref in refs]
        max_scan = self.max_scan_factor * limit + self.max_scan_extra
        window = ReadWindow(self, "scan recent edges")
        # Each node's first page: one request for a single node (paged by the driver);
        # for a frontier, a few requests each reading up to ``page`` rows of many nodes of
        # one type (PER PARTITION LIMIT), which costs both sides far less than a request
        # per node. A node whose page was cut by that limit continues on its own later.
        batches: list[tuple[list[_Scan], Any]] = []
        if len(scans) == 1:
            scan = scans[0]
            one = self.recent_scan_whole if whole else self.recent_scan
            single: Request = (one, (*scan.ref, hour_lo, _MAX_HOUR), page)
            batches.append(([scan], window.submit(single)))
        else:
            for group in _node_batches(scans, self.frontier_batches):
                node_type = group[0].ref[0]
                ids = [scan.ref[1] for scan in group]
                params = (node_type, ids, hour_lo, _MAX_HOUR, page)
                statement = self.recent_scan_many_whole if whole else self.recent_scan_many
                many: Request = (statement, params, page * len(group) + 1)
                batches.append((group, window.submit(many)))
        # Rows that carry their edge (all rows this version writes) answer in this round;
        # rows without (written before copies existed) are looked up in ``adjacency``, each
        # lookup sent as soon as its node's page is in.
        pending: list[tuple[_Scan, list[Any]]] = []
        fallbacks: list[_Scan] = []
        for group, future in batches:
            result_set = window.result(future)
            for scan, rows, cut_short in self._pages(group, result_set, page, whole):
                scan.rows = rows
                scan.truncated = cut_short
                self._collect_checked(scan, direction, since, until, limit, max_scan)
                if scan.fallback:
                    fallbacks.append(scan)
                elif scan.candidates:
                    lookups = [window.submit(r) for r in self._lookup_requests(scan)]
                    pending.append((scan, lookups))
        for scan, futures in pending:
            for future in futures:
                self._add_survivors(scan, window.result(future), since, until)
        if fallbacks:
            self._fallback(fallbacks, direction, since, until, limit)
        active = [s for s in scans if self._wants_more(s, limit)]
        while active:  # cut pages, stale or filtered rows: continue the scans
            refills = [s for s in active if s.refill or s.restart]
            if refills:
                requests: list[Request] = [
                    (
                        self.recent_scan_whole if s.whole else self.recent_scan,
                        (*s.ref, hour_lo, _MAX_HOUR if s.restart else s.last_hour),
                        page,
                    )
                    for s in refills
                ]
                results = self.run(requests, "scan recent edges")
                for scan, result_set in zip(refills, results, strict=True):
                    scan.rows = iter(result_set)  # further pages are fetched on demand
                    scan.refill = scan.truncated = scan.restart = False
            for scan in active:
                self._collect_checked(scan, direction, since, until, limit, max_scan)
            lookups = [s for s in active if s.candidates and not s.fallback]
            fallbacks = [s for s in active if s.fallback]
            self._lookup(lookups, since, until)
            if fallbacks:
                self._fallback(fallbacks, direction, since, until, limit)
            active = [s for s in active if self._wants_more(s, limit)]
        return [top(s.survivors, limit) for s in scans]

    @staticmethod
    def _pages(
        group: list[_Scan], result_set: Any, page: int, whole: bool
    ) -> Iterator[tuple[_Scan, Iterator[Sequence[Any]], bool]]:
        """Split a first-page result into (scan, its rows, whether PER PARTITION LIMIT cut
        them). A single-node result is paged by the driver and never cut."""
        if len(group) == 1:
            yield group[0], iter(result_set), False
            return
        by_id = {scan.ref[1]: scan for scan in group}
        rows = result_set.current_rows
        done: set[str] = set()
        node_id_of = _WHOLE_NODE_ID if whole else _KEYED_NODE_ID
        for node_id, node_rows in groupby(rows, key=node_id_of):
            node_list = list(node_rows)
            done.add(node_id)
            yield by_id[node_id], iter(node_list), len(node_list) >= page
        for scan in group:
            if scan.ref[1] not in done:  # no rows at all
                yield scan, iter(()), False

    @staticmethod
    def _wants_more(scan: _Scan, limit: int) -> bool:
        if scan.fallback:
            return False
        if scan.refill or scan.restart:
            return True
        return len(scan.survivors) < limit and not scan.exhausted

    def _collect(
        self,
        scan: _Scan,
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
        max_scan: int,
    ) -> None:
        """Read index rows newest first until ``limit`` edges are found and the hour of the
        last one is complete (``recent_rows``); a cut hour found earlier holds only while
        enough edges are still found: a page cut short in it is read on to its end, and
        after lookups dropped candidates it moves to wherever the limit-th edge falls."""
        assert scan.rows is not None
        scan.candidates = []
        scan_rows = collect if scan.whole else collect_keyed
        status, scan.pending, scan.scanned, scan.last_hour, scan.cut = scan_rows(
            scan.rows,
            scan.pending,
            scan.ref,
            scan.seen,
            scan.survivors,
            scan.candidates,
            direction,
            since,
            until,
            limit,
            max_scan,
            scan.scanned,
            scan.last_hour,
            scan.cut,
        )
        if status == UNKEYED:
            log.debug("rows without keyed copies under %s: reading whole rows", scan.ref)
            self.whole_rows = True
            scan.restart_whole()
        elif status == FALLBACK:
            scan.fallback = True
        elif status == RAN_OUT:  # the partition's end, or a page cut short
            if scan.truncated:
                scan.refill = True
            else:
                scan.exhausted = True

    def _collect_checked(
        self,
        scan: _Scan,
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
        max_scan: int,
    ) -> None:
        try:
            self._collect(scan, direction, since, until, limit, max_scan)
        except Exception as exc:  # a later index page failed to load
            raise map_driver_error(exc, self.target, "scan recent edges") from exc

    def _lookup_requests(self, scan: _Scan) -> list[Request]:
        return lookup_requests(self.lookup, *scan.ref, scan.candidates)

    def _lookup(self, scans: list[_Scan], since: int | None, until: int | None) -> None:
        requests: list[Request] = []
        owners: list[_Scan] = []
        for scan in scans:
            for request in self._lookup_requests(scan):
                requests.append(request)
                owners.append(scan)
        for scan, result_set in zip(owners, self.run(requests, "read edges"), strict=True):
            self._add_survivors(scan, result_set, since, until)

    @staticmethod
    def _add_survivors(
        scan: _Scan, rows: Iterable[Sequence[Any]], since: int | None, until: int | None
    ) -> None:
        """Edges from exact ``adjacency`` rows that pass the since/until filter."""
        for row in rows:
            edge = row_to_edge(scan.ref, row)
            if edge is not None and _in_window(edge.last_seen, since, until):
                scan.survivors.append(edge)

    def _fallback(
        self,
        scans: list[_Scan],
        direction: Direction,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> None:
        log.debug("recent-index scan too long for %d node(s); reading partitions", len(scans))
        self._scan_partitions(scans, direction, since, until, limit)

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
        for scan, result_set in zip(scans, self.run(requests, "read adjacency"), strict=True):
            scan.survivors = self._finish(
                scan.ref, list(result_set), direction, since, until, limit
            )
            scan.exhausted = True


def _node_batches(scans: Sequence[_Scan], batches: int) -> Iterator[list[_Scan]]:
    """Split a frontier into about ``batches`` groups of nodes of one type each: enough
    requests for the server to work on several at once and for the client to process one
    while the others are read, few enough to keep the per-request cost small."""
    by_type: dict[str, list[_Scan]] = {}
    for scan in scans:
        by_type.setdefault(scan.ref[0], []).append(scan)
    size = max(1, min(_MAX_NODES_PER_REQUEST, -(-len(scans) // max(1, batches))))
    for group in by_type.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _in_window(last_seen: int, since: int | None, until: int | None) -> bool:
    return (since is None or last_seen >= since) and (until is None or last_seen <= until)
