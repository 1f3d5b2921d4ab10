"""Sinks for the graph operator's coalesced writes."""

from __future__ import annotations

from typing import Any

from graphstore.base import GraphStore
from graphstore.model import BucketWrite, EdgeWrite, NodeWrite
from ingest.sinks.base import Sink
from transforms.operator import GraphWrites

__all__ = ["GraphStoreSink", "NullGraphSink"]


class GraphStoreSink(Sink):
    """Writes each batch of coalesced flushes to the store right away (one ``write()``).

    The graph operator already coalesced and rate-limited the writes, so holding them until
    the next checkpoint would only make the graph staler; ``flush`` has nothing left to do.
    """

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.rows = 0

    def add(self, value: Any, timestamp: int) -> None:
        self.add_batch([value], [timestamp])

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        nodes: list[NodeWrite] = []
        edges: list[EdgeWrite] = []
        buckets: list[BucketWrite] = []
        for w in values:
            assert isinstance(w, GraphWrites)
            nodes.extend(w.nodes)
            edges.extend(w.edges)
            buckets.extend(w.buckets)
        if nodes or edges or buckets:
            self.store.write(nodes, edges, buckets)
            self.rows += len(nodes) + len(edges) + len(buckets)

    def flush(self) -> None:
        return None


class NullGraphSink(Sink):
    """Counts rows and discards them (benchmarks of the job without a store)."""

    def __init__(self) -> None:
        self.rows = 0

    def add(self, value: Any, timestamp: int) -> None:
        self.rows += len(value)

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        for v in values:
            self.rows += len(v)

    def flush(self) -> None:
        return None
