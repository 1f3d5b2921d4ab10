"""Traversals written once over the store primitives, so all stores agree exactly.

Every step is deterministic: adjacency lists come back newest first with a fixed
tiebreak, and frontiers are expanded in discovery order, so the same data gives the
same walk on SQLite and on Cassandra.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from graphstore.base import check_limit, check_ref
from graphstore.model import (
    Direction,
    Edge,
    KHopResult,
    NodeRef,
    check_direction,
    format_ref,
)

if TYPE_CHECKING:
    import networkx as nx

    from graphstore.base import GraphStore

__all__ = ["khop", "reverse_direction", "shortest_path", "subgraph"]

log = logging.getLogger(__name__)


def reverse_direction(direction: Direction) -> Direction:
    """The direction a backward search walks: edges into b are followed from b."""
    return {"out": "in", "in": "out", "both": "both"}[direction]  # type: ignore[return-value]


def khop(
    store: GraphStore,
    ref: NodeRef,
    hops: int,
    limit_per_hop: int = 300,
    direction: Direction = "both",
    edge_type: str | None = None,
) -> KHopResult:
    """Breadth-first walk of ``hops`` levels from ``ref``.

    At each level every frontier node expands at most ``limit_per_hop`` of its newest
    edges (the per-hop fan-out limit that keeps supernodes from exploding the walk).
    Returns each visited node's hop distance (in discovery order) and every expanded edge,
    deduplicated, in traversal order: by hop, by node in discovery order, newest first.
    """
    start = check_ref(ref)
    check_limit("hops", hops)
    check_limit("limit_per_hop", limit_per_hop, minimum=1)
    check_direction(direction)
    distance: dict[NodeRef, int] = {start: 0}
    edges: dict[tuple[NodeRef, str, NodeRef], Edge] = {}
    frontier = [start]
    for hop in range(1, hops + 1):
        if not frontier:
            break
        adjacency = store.neighbors_many(frontier, direction, edge_type, limit=limit_per_hop)
        next_frontier: list[NodeRef] = []
        for node in frontier:
            for edge in adjacency[node]:
                src, dst = edge.src, edge.dst
                key = (src, edge.type, dst)
                if key not in edges:
                    edges[key] = edge
                other = dst if src == node else src
                if other not in distance:
                    distance[other] = hop
                    next_frontier.append(other)
        frontier = next_frontier
    return KHopResult(start, hops, distance, list(edges.values()))


def _expand(
    store: GraphStore,
    frontier: list[NodeRef],
    direction: Direction,
    edge_type: str | None,
    limit: int,
    parents: dict[NodeRef, NodeRef | None],
) -> list[NodeRef]:
    adjacency = store.neighbors_many(frontier, direction, edge_type, limit=limit)
    discovered: list[NodeRef] = []
    for node in frontier:
        for edge in adjacency[node]:
            other = edge.other(node)
            if other not in parents:
                parents[other] = node
                discovered.append(other)
    return discovered


def _walk_back(parents: dict[NodeRef, NodeRef | None], node: NodeRef) -> list[NodeRef]:
    path = [node]
    parent = parents[node]
    while parent is not None:
        path.append(parent)
        parent = parents[parent]
    return path


def shortest_path(
    store: GraphStore,
    a: NodeRef,
    b: NodeRef,
    max_hops: int = 4,
    direction: Direction = "both",
    edge_type: str | None = None,
    limit_per_hop: int = 1000,
) -> list[NodeRef] | None:
    """A shortest path from ``a`` to ``b`` with at most ``max_hops`` edges, or None.

    Bidirectional BFS: the smaller frontier is expanded a full level at a time, so the
    first level on which the two searches meet holds a shortest path; among meeting
    nodes the smallest (total length, node) is chosen to keep the answer deterministic.
    ``direction`` is the direction edges are followed from ``a``; nodes expand at most
    ``limit_per_hop`` newest edges, so paths only reachable through older edges of a
    supernode can be missed (the same trade-off as ``khop``).
    """
    start, goal = check_ref(a, "start node"), check_ref(b, "target node")
    check_limit("max_hops", max_hops)
    check_limit("limit_per_hop", limit_per_hop, minimum=1)
    check_direction(direction)
    if start == goal:
        return [start]
    fwd_parents: dict[NodeRef, NodeRef | None] = {start: None}
    bwd_parents: dict[NodeRef, NodeRef | None] = {goal: None}
    fwd_depth: dict[NodeRef, int] = {start: 0}
    bwd_depth: dict[NodeRef, int] = {goal: 0}
    fwd_frontier, bwd_frontier = [start], [goal]
    fwd_level = bwd_level = 0
    while fwd_frontier and bwd_frontier and fwd_level + bwd_level < max_hops:
        if len(fwd_frontier) <= len(bwd_frontier):
            fwd_level += 1
            fwd_frontier = _expand(
                store, fwd_frontier, direction, edge_type, limit_per_hop, fwd_parents
            )
            fwd_depth.update((n, fwd_level) for n in fwd_frontier)
            meets = [n for n in fwd_frontier if n in bwd_parents]
        else:
            bwd_level += 1
            bwd_frontier = _expand(
                store,
                bwd_frontier,
                reverse_direction(direction),
                edge_type,
                limit_per_hop,
                bwd_parents,
            )
            bwd_depth.update((n, bwd_level) for n in bwd_frontier)
            meets = [n for n in bwd_frontier if n in fwd_parents]
        if meets:
            meet = min(meets, key=lambda n: (fwd_depth[n] + bwd_depth[n], n))
            forward = _walk_back(fwd_parents, meet)[::-1]
            backward = _walk_back(bwd_parents, meet)[1:]
            return forward + backward
    return None


def subgraph(
    store: GraphStore,
    ref: NodeRef,
    hops: int,
    limit_per_hop: int = 300,
    direction: Direction = "both",
    edge_type: str | None = None,
) -> nx.MultiDiGraph:
    """The k-hop neighbourhood of ``ref`` as a networkx MultiDiGraph.

    Nodes are keyed ``"TYPE:ID"`` with attributes type, id, props, first_seen, last_seen
    and hop (first_seen/last_seen are None for nodes only known from edges); edges are
    keyed by edge type with attributes first_seen, last_seen and count.
    """
    import networkx as nx

    walk = khop(store, ref, hops, limit_per_hop, direction, edge_type)
    details = store.get_nodes(walk.nodes)
    graph = nx.MultiDiGraph(root=format_ref(walk.start), hops=hops)
    for node_ref, hop in walk.nodes.items():
        node = details.get(node_ref)
        graph.add_node(
            format_ref(node_ref),
            type=node_ref[0],
            id=node_ref[1],
            props=dict(node.props) if node else {},
            first_seen=node.first_seen if node else None,
            last_seen=node.last_seen if node else None,
            hop=hop,
        )
    for edge in walk.edges:
        graph.add_edge(
            format_ref(edge.src),
            format_ref(edge.dst),
            key=edge.type,
            type=edge.type,
            first_seen=edge.first_seen,
            last_seen=edge.last_seen,
            count=edge.count,
        )
    return graph
