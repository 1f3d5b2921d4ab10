"""Newest-first copies of edges in ``adjacency_recent``, made from ``adjacency`` after a write.

``adjacency`` is where an edge's cells from every writer merge (first_seen, last_seen and
one count cell per (bucket, partition)), but it is clustered by edge identity, so "the
newest ``limit`` edges" of a supernode cannot be read from it without reading all of them.
``adjacency_recent`` is clustered by hour, newest first; for a neighbor query to be one
partition read, each of its rows carries the whole edge. No writer knows the whole edge
(others may have written cells it has never seen), so after its own cells are stored a
write reads the edges back from ``adjacency`` and copies them, under both endpoints, into
the hour of the ``last_seen`` it read.

Why the copy in an edge's newest hour ends exact: every write reads after it has written,
so the last read of an edge sees every cell written before it, including the greatest
``last_seen``; any write finishing later reads later and copies again. A copy is one cell
(first_seen, last_seen and count packed) with a data-derived timestamp and value such that
of two snapshots the more complete one wins (``encoding.encode_edge_copy``), whatever the
order they are written in, and a retry or replay changes nothing. This needs
reads that see the preceding writes: one replica, or read and write consistency levels
that overlap (QUORUM / LOCAL_QUORUM).

Copies in an edge's older hours are left behind (a copy cannot be moved without reading);
readers skip them because an edge's newest copy is always scanned first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphstore.cassandra.encoding import encode_edge_copy
from graphstore.cassandra.reads import Request, lookup_requests, map_values_sum
from graphstore.cassandra.writer import Binder, MutationGroups
from graphstore.model import EdgeKey, hour_bucket

__all__ = ["NewestCopies"]

Runner = Callable[[Sequence[Request], str], list[Any]]


@dataclass
class NewestCopies:
    """Reads written edges back from ``adjacency`` and builds their ``adjacency_recent``
    copies (one cell per endpoint; see ``encoding.encode_edge_copy``)."""

    run: Runner  # executes read requests concurrently (AdjacencyReader.run)
    lookup: Binder  # (node_type, node_id, [(dir, et, ot, oid)...]) -> adjacency rows
    copy_edge: Binder  # (ttl, ts, edge copy, node_type, node_id, hour, dir, et, ot, oid)
    ttl_for: Callable[[str], int]  # edge type -> TTL seconds (0 = none)

    def read_back(self, keys: Iterable[EdgeKey]) -> list[tuple[EdgeKey, int, int, int]]:
        """(edge, first_seen, last_seen, count) as stored now, for the edges that exist."""
        by_source: dict[tuple[str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
        for src_type, src_id, edge_type, dst_type, dst_id in dict.fromkeys(keys):
            by_source[(src_type, src_id)].append(("out", edge_type, dst_type, dst_id))
        requests: list[Request] = []
        for (src_type, src_id), wanted in by_source.items():
            requests.extend(lookup_requests(self.lookup, src_type, src_id, wanted))
        stored: list[tuple[EdgeKey, int, int, int]] = []
        results = self.run(requests, "read written edges back")
        for (_, (src_type, src_id, _), _), rows in zip(requests, results, strict=True):
            for _dir, edge_type, dst_type, dst_id, first, last, count in rows:
                if last is None:  # only bucket counts so far: the edge does not exist yet
                    continue
                key = (src_type, src_id, edge_type, dst_type, dst_id)
                stored.append((key, last if first is None else first, last, map_values_sum(count)))
        return stored

    def mutations(self, stored: Sequence[tuple[EdgeKey, int, int, int]]) -> MutationGroups:
        """The copy statements for ``stored`` edges, grouped by partition."""
        groups = MutationGroups()
        add = groups.add
        for (src_type, src_id, edge_type, dst_type, dst_id), first, last, count in stored:
            ttl = self.ttl_for(edge_type)
            hour = hour_bucket(last)
            for row in (
                (src_type, src_id, hour, "out", edge_type, dst_type, dst_id),
                (dst_type, dst_id, hour, "in", edge_type, src_type, src_id),
            ):
                payload = encode_edge_copy(first, last, count, *row[3:])
                part = ("r", row[0], row[1])
                add(part, self.copy_edge, (ttl, last, payload, *row))
        return groups
