"""JSON shapes of query results and file exports of subgraphs.

The JSON shapes are the product's wire format (API responses, CLI output): node ids are
structured ``{"type", "id"}`` objects and times are epoch milliseconds.
"""

from __future__ import annotations

import json
import logging
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphstore.model import Edge, EdgeDetail, KHopResult, Node, NodeRef

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "edge_detail_to_json",
    "edge_to_json",
    "export_graphml",
    "export_json",
    "khop_to_json",
    "node_to_json",
    "ref_to_json",
]

log = logging.getLogger(__name__)


def ref_to_json(ref: NodeRef) -> dict[str, str]:
    return {"type": ref[0], "id": ref[1]}


def node_to_json(node: Node) -> dict[str, Any]:
    return {
        "type": node.type,
        "id": node.id,
        "props": dict(node.props),
        "first_seen": node.first_seen,
        "last_seen": node.last_seen,
    }


def edge_to_json(edge: Edge) -> dict[str, Any]:
    return {
        "src": ref_to_json(edge.src),
        "type": edge.type,
        "dst": ref_to_json(edge.dst),
        "props": dict(edge.props),
        "first_seen": edge.first_seen,
        "last_seen": edge.last_seen,
        "count": edge.count,
    }


def edge_detail_to_json(detail: EdgeDetail) -> dict[str, Any]:
    """``edge_to_json`` plus ``"buckets": [{"bucket_start", "count"}, ...]`` ascending."""
    doc = edge_to_json(detail)
    doc["buckets"] = [{"bucket_start": start, "count": count} for start, count in detail.buckets]
    return doc


def khop_to_json(result: KHopResult) -> dict[str, Any]:
    return {
        "start": ref_to_json(result.start),
        "hops": result.hops,
        "nodes": [{**ref_to_json(ref), "hop": hop} for ref, hop in result.nodes.items()],
        "edges": [edge_to_json(e) for e in result.edges],
    }


def _open_target(path: str | PathLike[str]) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        from ingest.errors import ConfigError

        raise ConfigError(
            f"cannot export to {str(target)!r}: directory {str(target.parent)!r} does not exist"
        )
    return target


def export_graphml(graph: nx.MultiDiGraph, path: str | PathLike[str]) -> None:
    """Write GraphML. GraphML has no map type, so ``props`` become ``prop.<name>`` attributes
    and unknown (None) values are left out."""
    import networkx as nx

    target = _open_target(path)
    flat = nx.MultiDiGraph()
    flat.graph.update({k: v for k, v in graph.graph.items() if v is not None})
    for node, attrs in graph.nodes(data=True):
        flat_attrs = {k: v for k, v in attrs.items() if k != "props" and v is not None}
        for name, value in (attrs.get("props") or {}).items():
            flat_attrs[f"prop.{name}"] = value
        flat.add_node(node, **flat_attrs)
    for src, dst, key, attrs in graph.edges(keys=True, data=True):
        flat.add_edge(src, dst, key=key, **{k: v for k, v in attrs.items() if v is not None})
    nx.write_graphml(flat, str(target))
    log.info(
        "exported %d nodes, %d edges to %s", flat.number_of_nodes(), flat.number_of_edges(), target
    )


def export_json(graph: nx.MultiDiGraph, path: str | PathLike[str]) -> None:
    """Write networkx node-link JSON (nodes under "nodes" keyed by "ref", edges under "edges").

    Read it back with ``nx.node_link_graph(doc, edges="edges", name="ref")``.
    """
    import networkx as nx

    target = _open_target(path)
    doc = nx.node_link_data(graph, edges="edges", name="ref")
    with target.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1, sort_keys=True)
    log.info(
        "exported %d nodes, %d edges to %s",
        graph.number_of_nodes(),
        graph.number_of_edges(),
        target,
    )
