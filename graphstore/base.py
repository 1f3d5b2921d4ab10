"""The one store interface: merged writes plus the graph queries users run.

Stores implement a few primitives (upsert rows, read one node, read one adjacency list,
read one edge, scan); traversals (k-hop, shortest path, subgraph) are written once on top
of them in ``graphstore.queries`` so every store answers them identically.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from types import TracebackType
from typing import TYPE_CHECKING, Self

from graphstore.gc_pause import paused_gc
from graphstore.merge import coalesce
from graphstore.model import (
    BucketWrite,
    Direction,
    Edge,
    EdgeDetail,
    EdgeWrite,
    GraphDump,
    InvalidQueryError,
    KHopResult,
    Node,
    NodeRef,
    NodeWrite,
    check_direction,
    edge_sort_key,
    validate_batch,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["GraphStore", "WriteStats", "check_limit", "check_ref", "merge_directions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What one ``write()`` stored, after merging duplicates inside the batch."""

    nodes: int = 0
    edges: int = 0
    buckets: int = 0
    props: int = 0
    statements: int = 0
    retries: int = 0

    @property
    def rows(self) -> int:
        """Logical rows written: nodes + edges + buckets."""
        return self.nodes + self.edges + self.buckets

    def __add__(self, other: WriteStats) -> WriteStats:
        return WriteStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def check_ref(ref: object, what: str = "node") -> NodeRef:
    """Accept a (type, id) pair of non-empty strings, or explain the expected form."""
    if (
        isinstance(ref, tuple)
        and len(ref) == 2
        and isinstance(ref[0], str)
        and isinstance(ref[1], str)
        and ref[0]
        and ref[1]
    ):
        return (ref[0], ref[1])
    raise InvalidQueryError(
        f"{what} reference {ref!r} must be a (type, id) tuple of non-empty strings, "
        "e.g. ('Profile', '42'); use graphstore.model.parse_ref('Profile:42') for text"
    )


def check_limit(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidQueryError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_window(since: int | None, until: int | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidQueryError(
                f"{name} must be epoch milliseconds (int) or None, got {value!r}"
            )


def merge_directions(out_edges: list[Edge], in_edges: list[Edge], limit: int) -> list[Edge]:
    """Combine the sorted out- and in-lists of one node: newest first, a self-loop once."""
    if not in_edges:
        return out_edges[:limit]
    if not out_edges:
        return in_edges[:limit]
    merged = {e.key: e for e in out_edges}
    for e in in_edges:
        merged.setdefault(e.key, e)
    return sorted(merged.values(), key=edge_sort_key)[:limit]


class GraphStore(ABC):
    """A merged property graph. Writes are idempotent and order-independent."""

    #: Short store kind, e.g. "sqlite" or "cassandra".
    kind: str = "abstract"

    # ------------------------------------------------------------------ writes

    def write(
        self,
        nodes: Sequence[NodeWrite] = (),
        edges: Sequence[EdgeWrite] = (),
        buckets: Sequence[BucketWrite] = (),
    ) -> WriteStats:
        """Validate, merge duplicates within the batch, then upsert with the merge rules."""
        validate_batch(nodes, edges, buckets)
        merged_nodes, merged_edges, merged_buckets = coalesce(nodes, edges, buckets)
        if not (merged_nodes or merged_edges or merged_buckets):
            return WriteStats()
        return self._write(merged_nodes, merged_edges, merged_buckets)

    @abstractmethod
    def _write(
        self, nodes: list[NodeWrite], edges: list[EdgeWrite], buckets: list[BucketWrite]
    ) -> WriteStats:
        """Upsert already validated, duplicate-free rows."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ primitives

    @abstractmethod
    def get_node(self, ref: NodeRef) -> Node | None:
        """The merged node, or None if no NodeWrite for it was ever stored."""

    def get_nodes(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Node]:
        """Several nodes at once (stores may fetch them concurrently); missing ones omitted."""
        found: dict[NodeRef, Node] = {}
        for ref in refs:
            node = self.get_node(check_ref(ref))
            if node is not None:
                found[node.ref] = node
        return found

    @abstractmethod
    def _adjacent(
        self,
        ref: NodeRef,
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[Edge]:
        """Edges at ``ref`` (arguments already validated), newest first, at most ``limit``."""

    def _adjacent_many(
        self,
        refs: Sequence[NodeRef],
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        """``_adjacent`` for many nodes; stores with network latency override this."""
        return [self._adjacent(r, direction, edge_type, since, until, limit) for r in refs]

    @abstractmethod
    def get_edge(self, src: NodeRef, edge_type: str, dst: NodeRef) -> EdgeDetail | None:
        """One edge with its hourly buckets, or None if no EdgeWrite for it was stored."""

    @abstractmethod
    def stats(self) -> dict[str, dict[str, int]]:
        """``{"nodes": {TYPE: n}, "edges": {EDGE_TYPE: n}}``."""

    @abstractmethod
    def dump(self) -> GraphDump:
        """Every row, sorted; for tests and small exports (reads the whole store)."""

    @abstractmethod
    def truncate(self) -> None:
        """Delete all data but keep the schema (tests, local development)."""

    # ------------------------------------------------------------------ queries

    def neighbors(
        self,
        ref: NodeRef,
        direction: Direction = "out",
        edge_type: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
    ) -> list[Edge]:
        """Edges at ``ref`` with last_seen in [since, until], newest first, at most ``limit``."""
        return self.neighbors_many([ref], direction, edge_type, since, until, limit)[check_ref(ref)]

    def neighbors_many(
        self,
        refs: Iterable[NodeRef],
        direction: Direction = "out",
        edge_type: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
    ) -> dict[NodeRef, list[Edge]]:
        """``neighbors`` for several nodes at once (one round of concurrent reads)."""
        ref_list = list(dict.fromkeys(check_ref(r) for r in refs))
        check_direction(direction)
        check_limit("limit", limit)
        _check_window(since, until)
        if edge_type is not None and (not isinstance(edge_type, str) or not edge_type):
            raise InvalidQueryError(
                f"edge_type must be a non-empty string or None, got {edge_type!r}"
            )
        if (
            limit == 0
            or not ref_list
            or (since is not None and until is not None and since > until)
        ):
            return {r: [] for r in ref_list}
        with paused_gc():  # many acyclic objects at once (graphstore.gc_pause)
            lists = self._adjacent_many(ref_list, direction, edge_type, since, until, limit)
            return dict(zip(ref_list, lists, strict=True))

    def khop(
        self,
        ref: NodeRef,
        hops: int,
        limit_per_hop: int = 300,
        direction: Direction = "both",
        edge_type: str | None = None,
    ) -> KHopResult:
        """Breadth-first walk; each node expands at most ``limit_per_hop`` newest edges."""
        from graphstore.queries import khop

        with paused_gc():
            return khop(self, ref, hops, limit_per_hop, direction, edge_type)

    def shortest_path(
        self,
        a: NodeRef,
        b: NodeRef,
        max_hops: int = 4,
        direction: Direction = "both",
        edge_type: str | None = None,
        limit_per_hop: int = 1000,
    ) -> list[NodeRef] | None:
        """A shortest path a..b of at most ``max_hops`` edges (bidirectional BFS), or None."""
        from graphstore.queries import shortest_path

        with paused_gc():
            return shortest_path(self, a, b, max_hops, direction, edge_type, limit_per_hop)

    def subgraph(
        self,
        ref: NodeRef,
        hops: int,
        limit_per_hop: int = 300,
        direction: Direction = "both",
        edge_type: str | None = None,
    ) -> nx.MultiDiGraph:
        """The k-hop neighbourhood as a networkx MultiDiGraph (nodes keyed 'TYPE:ID')."""
        from graphstore.queries import subgraph

        return subgraph(self, ref, hops, limit_per_hop, direction, edge_type)
