"""The merge rules in one place, as plain Python.

Stores implement these rules natively (SQL upserts, Cassandra cell timestamps); this module
is the executable specification. ``MergedGraph`` coalesces a batch before it is sent (fewer
rows, and duplicates inside a batch stop mattering) and is the reference model the
conformance tests compare every store against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphstore.model import (
    BucketKey,
    BucketRow,
    BucketWrite,
    EdgeKey,
    EdgeRow,
    EdgeWrite,
    GraphDump,
    NodeRef,
    NodeRow,
    NodeWrite,
    PropRow,
    PropVersion,
)

__all__ = ["MergedGraph", "coalesce", "prop_order_key", "prop_wins"]


def prop_order_key(pv: PropVersion) -> tuple[int, str, str]:
    """Greatest wins: later ts, then greater event_id, then (same event) greater value."""
    return (pv.ts, pv.event_id, pv.value)


def prop_wins(new: PropVersion, old: PropVersion) -> bool:
    """True if ``new`` replaces ``old``; equal versions keep ``old`` (no-op)."""
    return prop_order_key(new) > prop_order_key(old)


@dataclass(slots=True)
class _NodeAcc:
    first_seen: int
    last_seen: int
    props: dict[str, PropVersion] = field(default_factory=dict)


@dataclass
class MergedGraph:
    """An in-memory graph merged with exactly the stores' rules.

    Applying any permutation or batching of the same writes yields the same state, which
    is the property every store must share.
    """

    nodes: dict[NodeRef, _NodeAcc] = field(default_factory=dict)
    edges: dict[EdgeKey, list[int]] = field(default_factory=dict)
    buckets: dict[BucketKey, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        nodes: Iterable[NodeWrite] = (),
        edges: Iterable[EdgeWrite] = (),
        buckets: Iterable[BucketWrite] = (),
    ) -> MergedGraph:
        graph = cls()
        graph.apply(nodes, edges, buckets)
        return graph

    def apply(
        self,
        nodes: Iterable[NodeWrite] = (),
        edges: Iterable[EdgeWrite] = (),
        buckets: Iterable[BucketWrite] = (),
    ) -> None:
        """Merge writes into the graph (min first_seen, max last_seen, latest prop, max count)."""
        node_map = self.nodes
        for n in nodes:
            ref = (n.type, n.id)
            acc = node_map.get(ref)
            if acc is None:
                acc = node_map[ref] = _NodeAcc(n.first_seen, n.last_seen)
            else:
                if n.first_seen < acc.first_seen:
                    acc.first_seen = n.first_seen
                if n.last_seen > acc.last_seen:
                    acc.last_seen = n.last_seen
            props = acc.props
            for name, pv in n.props.items():
                old = props.get(name)
                if old is None or prop_wins(pv, old):
                    props[name] = pv
        edge_map = self.edges
        for e in edges:
            ekey = (e.src_type, e.src_id, e.edge_type, e.dst_type, e.dst_id)
            span = edge_map.get(ekey)
            if span is None:
                edge_map[ekey] = [e.first_seen, e.last_seen]
            else:
                if e.first_seen < span[0]:
                    span[0] = e.first_seen
                if e.last_seen > span[1]:
                    span[1] = e.last_seen
        bucket_map = self.buckets
        for b in buckets:
            bkey = (
                b.src_type,
                b.src_id,
                b.edge_type,
                b.dst_type,
                b.dst_id,
                b.bucket_start,
                b.partition,
            )
            old_count = bucket_map.get(bkey)
            if old_count is None or b.count > old_count:
                bucket_map[bkey] = b.count

    # ------------------------------------------------------------------ read-outs

    def node_writes(self) -> list[NodeWrite]:
        return [
            NodeWrite(t, i, acc.first_seen, acc.last_seen, dict(acc.props))
            for (t, i), acc in self.nodes.items()
        ]

    def edge_writes(self) -> list[EdgeWrite]:
        return [EdgeWrite(*key, span[0], span[1]) for key, span in self.edges.items()]

    def bucket_writes(self) -> list[BucketWrite]:
        return [BucketWrite(*key, count) for key, count in self.buckets.items()]

    def dump(self) -> GraphDump:
        node_rows = [
            NodeRow(
                t,
                i,
                acc.first_seen,
                acc.last_seen,
                tuple(PropRow(k, v.value, v.ts, v.event_id) for k, v in acc.props.items()),
            )
            for (t, i), acc in self.nodes.items()
        ]
        edge_rows = [EdgeRow(*key, span[0], span[1]) for key, span in self.edges.items()]
        bucket_rows = [BucketRow(*key, count) for key, count in self.buckets.items()]
        return GraphDump.of(node_rows, edge_rows, bucket_rows)


def coalesce(
    nodes: Sequence[NodeWrite], edges: Sequence[EdgeWrite], buckets: Sequence[BucketWrite]
) -> tuple[list[NodeWrite], list[EdgeWrite], list[BucketWrite]]:
    """Merge duplicates inside one batch; cheap when there are none (the common case)."""
    graph = MergedGraph.of(nodes, edges, buckets)
    out_nodes = list(nodes) if len(graph.nodes) == len(nodes) else graph.node_writes()
    out_edges = list(edges) if len(graph.edges) == len(edges) else graph.edge_writes()
    out_buckets = list(buckets) if len(graph.buckets) == len(buckets) else graph.bucket_writes()
    return out_nodes, out_edges, out_buckets
