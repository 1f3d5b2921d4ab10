"""Human-readable (rich) views of query results for `rdg query ...` and `rdg stats`.

The JSON forms live in ``graphstore.export``; these are the terminal forms of the same
results, with times shown as ISO-8601 UTC.
"""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from graphstore import Edge, EdgeDetail, KHopResult, Node, NodeRef, format_ref
from jobs.cli_common import to_iso

__all__ = [
    "MAX_ROWS",
    "edge_detail_view",
    "edges_table",
    "khop_view",
    "node_view",
    "path_view",
    "stats_view",
]

#: Longest table printed in human output; --json always gives everything.
MAX_ROWS = 50


def _more(shown: int, total: int, what: str) -> Text | None:
    if total <= shown:
        return None
    return Text(f"... and {total - shown:,} more {what} (use --json for all)", style="dim")


def node_view(node: Node) -> Table:
    """One node: identity, first/last seen and its properties."""
    t = Table(title=f"node {format_ref(node.ref)}", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    t.add_row("type", node.type)
    t.add_row("id", node.id)
    t.add_row("first seen", to_iso(node.first_seen))
    t.add_row("last seen", to_iso(node.last_seen))
    for name, value in sorted(node.props.items()):
        t.add_row(f"prop {name}", value)
    if not node.props:
        t.add_row("props", Text("none", style="dim"))
    return t


def _step(edge: Edge, here: NodeRef) -> str:
    """How ``edge`` reads when walking from ``here``: -TYPE-> or <-TYPE-."""
    return f"-{edge.type}->" if edge.src == here else f"<-{edge.type}-"


def _time(ms: int) -> str:
    """ISO-8601 UTC to the second: what a person reads in a table (JSON keeps ms)."""
    iso = to_iso(ms)
    return iso[:19] + "Z" if len(iso) > 20 else iso


def edges_table(edges: list[Edge], title: str, anchor: NodeRef | None = None) -> Table:
    """Edges as rows, in the given order, with count and last seen (`--json` has all).

    With ``anchor`` (the node whose edges these are) each row shows the edge as seen from
    it, ``-TYPE->`` or ``<-TYPE-``, and the node at the other end; else ``src -TYPE-> dst``.
    """
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    if anchor is None:
        t.add_column("edge", overflow="fold")
    else:
        t.add_column("edge", style="bold", no_wrap=True)
        t.add_column("node", overflow="fold")
    t.add_column("count", justify="right")
    t.add_column("last seen", no_wrap=True, min_width=20)
    for e in edges:
        ends = (
            (f"{format_ref(e.src)} -{e.type}-> {format_ref(e.dst)}",)
            if anchor is None
            else (_step(e, anchor), format_ref(e.other(anchor)))
        )
        t.add_row(*ends, f"{e.count:,}", _time(e.last_seen))
    return t


def edge_detail_view(detail: EdgeDetail) -> Group:
    """One edge (a field per line) and its hourly activity buckets, oldest first."""
    head = Table(
        title=f"edge {format_ref(detail.src)} -{detail.type}-> {format_ref(detail.dst)}",
        show_header=False,
        title_justify="left",
    )
    head.add_column("field", style="bold")
    head.add_column("value", overflow="fold")
    head.add_row("src", format_ref(detail.src))
    head.add_row("type", detail.type)
    head.add_row("dst", format_ref(detail.dst))
    head.add_row("count", f"{detail.count:,}")
    head.add_row("first seen", to_iso(detail.first_seen))
    head.add_row("last seen", to_iso(detail.last_seen))
    for name, value in sorted(detail.props.items()):
        head.add_row(f"prop {name}", value)
    buckets = Table(title="hourly buckets (UTC)", title_justify="left")
    buckets.add_column("hour starting")
    buckets.add_column("count", justify="right")
    for start, count in detail.buckets:
        buckets.add_row(_time(start), f"{count:,}")
    parts: list[RenderableType] = [head]
    if detail.buckets:
        parts.append(buckets)
    else:
        parts.append(Text("no hourly buckets recorded yet", style="dim"))
    return Group(*parts)


def khop_view(result: KHopResult, limit_per_hop: int) -> Group:
    """Per-hop node counts by type, then the nodes and edges (first MAX_ROWS of each)."""
    by_hop: dict[int, Counter[str]] = {}
    for (node_type, _), hop in result.nodes.items():
        by_hop.setdefault(hop, Counter())[node_type] += 1
    summary = Table(
        title=(
            f"{len(result.nodes):,} nodes and {len(result.edges):,} edges within "
            f"{result.hops} hop(s) of {format_ref(result.start)} "
            f"(at most {limit_per_hop:,} newest edges per node)"
        ),
        title_justify="left",
    )
    summary.add_column("hop", justify="right")
    summary.add_column("nodes", justify="right")
    summary.add_column("by type", overflow="fold")
    for hop in sorted(by_hop):
        types = by_hop[hop]
        summary.add_row(
            str(hop),
            f"{sum(types.values()):,}",
            ", ".join(f"{name} {n:,}" for name, n in sorted(types.items())),
        )
    nodes = Table(title="nodes (by hop)", title_justify="left")
    nodes.add_column("hop", justify="right")
    nodes.add_column("node", overflow="fold")
    ordered = sorted(result.nodes.items(), key=lambda item: item[1])
    for ref, hop in ordered[:MAX_ROWS]:
        nodes.add_row(str(hop), format_ref(ref))
    parts: list[RenderableType] = [summary, nodes]
    more = _more(MAX_ROWS, len(ordered), "nodes")
    if more is not None:
        parts.append(more)
    if result.edges:
        parts.append(edges_table(result.edges[:MAX_ROWS], "edges (newest first)"))
        more = _more(MAX_ROWS, len(result.edges), "edges")
        if more is not None:
            parts.append(more)
    return Group(*parts)


def path_view(path: list[NodeRef], steps: list[list[Edge]]) -> Group:
    """The path as one chain ``a -T-> b <-U- c``, then its edges."""
    chain = Text(format_ref(path[0]), style="bold")
    for i, hop_edges in enumerate(steps):
        if hop_edges:
            arrows = " | ".join(sorted({_step(e, path[i]) for e in hop_edges}))
        else:
            arrows = "--"
        chain.append(f" {arrows} ")
        chain.append(format_ref(path[i + 1]), style="bold")
    hops = len(path) - 1
    head = Text(f"path of {hops} hop(s) from {format_ref(path[0])} to {format_ref(path[-1])}:")
    parts: list[RenderableType] = [head, chain]
    edges = [e for hop_edges in steps for e in hop_edges]
    if edges:
        parts.append(edges_table(edges, "edges along the path"))
    return Group(*parts)


def stats_view(stats: dict[str, dict[str, int]], store: str) -> Group:
    """Node counts per type and edge counts per type, side by side, with totals."""
    nodes = sorted(stats.get("nodes", {}).items())
    edges = sorted(stats.get("edges", {}).items())
    if not nodes and not edges:
        return Group(Text(f"the graph in {store} is empty (no nodes, no edges)"))
    t = Table(title=f"graph in {store}", title_justify="left")
    t.add_column("node type")
    t.add_column("nodes", justify="right")
    t.add_column("edge type")
    t.add_column("edges", justify="right")
    for i in range(max(len(nodes), len(edges))):
        node_cells = (nodes[i][0], f"{nodes[i][1]:,}") if i < len(nodes) else ("", "")
        edge_cells = (edges[i][0], f"{edges[i][1]:,}") if i < len(edges) else ("", "")
        t.add_row(*node_cells, *edge_cells)
    t.add_section()
    t.add_row(
        "total",
        f"{sum(n for _, n in nodes):,}",
        "total",
        f"{sum(n for _, n in edges):,}",
        style="bold",
    )
    return Group(t)
