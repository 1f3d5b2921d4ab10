"""`rdg query ...`, `rdg stats` and `rdg generate` (the graph-reading and data commands).

Every command checks its input before it opens the store, so a typo costs nothing and
never touches the graph; results print as rich tables, or as JSON with ``--json`` (the
wire shapes of ``graphstore.export``, times in epoch milliseconds).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import typer

from graphstore import Direction, Edge, GraphStore, NodeRef, format_ref
from graphstore.export import (
    edge_detail_to_json,
    edge_to_json,
    khop_to_json,
    node_to_json,
    ref_to_json,
)
from graphstore.queries import reverse_direction
from ingest.errors import ConfigError
from jobs import cli_generate, cli_render
from jobs.cli_args import (
    not_found,
    open_graph,
    parse_direction,
    parse_edge_filter,
    parse_edge_type,
    parse_node,
    parse_window,
    positive,
    require_node,
)
from jobs.cli_common import (
    EXIT_NOT_FOUND,
    cli_command,
    console,
    fail,
    print_json,
)
from transforms.rules import EDGE_TYPES, NODE_TYPES

__all__ = ["open_graph", "parse_edge_type", "parse_node", "query_app", "register"]

query_app = typer.Typer(
    help=(
        "Read the graph: a node, its neighbors, one edge with its hourly activity, the "
        "k-hop neighbourhood, a shortest path, or a subgraph export.\n\n"
        "Nodes are written TYPE:ID (e.g. profile:p-1a2b). Every command takes `--store` "
        "and `--json`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


# --------------------------------------------------------------------------- options

NodeArg = Annotated[
    str,
    typer.Argument(
        metavar="TYPE:ID",
        help=f"a node, e.g. profile:p-1a2b; types: {', '.join(NODE_TYPES)}",
        show_default=False,
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URL",
        help=(
            "graph store: sqlite:///PATH or cassandra://HOST:PORT/KEYSPACE (same as the "
            "global `rdg --store`) [env RDG_STORE; default sqlite:///./rdg.db]"
        ),
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print JSON (times in epoch ms) instead of tables")
]
DirectionOpt = Annotated[
    str,
    typer.Option(
        "--direction",
        "-d",
        metavar="out|in|both",
        help="follow edges leaving the node (out), arriving at it (in), or both",
    ),
]
EdgeTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--edge-type",
        "-e",
        metavar="EDGE_TYPE",
        help=f"only edges of this type: {', '.join(EDGE_TYPES)}",
    ),
]

# --------------------------------------------------------------------------- input


def node(
    ctx: typer.Context, ref: NodeArg, store: StoreOpt = None, json_out: JsonOpt = False
) -> None:
    """One node: its type, id, properties, first and last seen."""
    node_ref = parse_node(ref)
    with open_graph(ctx, store) as (graph, url):
        found = graph.get_node(node_ref)
        if found is None:
            not_found(f"node {format_ref(node_ref)}", url)
    if json_out:
        print_json(node_to_json(found))
    else:
        console.print(cli_render.node_view(found))


def neighbors(
    ctx: typer.Context,
    ref: NodeArg,
    direction: DirectionOpt = "out",
    edge_type: EdgeTypeOpt = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="only edges last seen at or after TIME (ISO-8601, e.g. 2026-01-01T10:00:00Z, or epoch ms)",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="TIME",
            help="only edges last seen at or before TIME (ISO-8601 or epoch ms)",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="at most this many edges")] = 100,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The edges at a node, newest (by last seen) first."""
    node_ref = parse_node(ref)
    way = parse_direction(direction)
    kind = parse_edge_filter(edge_type)
    start, end = parse_window(since, until)
    positive("--limit", limit)
    with open_graph(ctx, store) as (graph, url):
        edges = graph.neighbors(node_ref, way, kind, start, end, limit)
        if not edges:
            require_node(graph, node_ref, url)
    if json_out:
        print_json([edge_to_json(e) for e in edges])
        return
    filters = [f"direction {way}"]
    if kind:
        filters.append(f"type {kind}")
    if start is not None or end is not None:
        filters.append(f"last seen in [{since or '-'}, {until or '-'}]")
    title = f"{len(edges):,} edge(s) at {format_ref(node_ref)} ({', '.join(filters)}), newest first"
    if not edges:
        console.print(f"no edges at {format_ref(node_ref)} ({', '.join(filters)})")
        return
    console.print(cli_render.edges_table(edges, title, anchor=node_ref))
    if len(edges) == limit:
        console.print(f"[dim]showing the newest {limit:,}; raise --limit to see more[/]")


def edge(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(metavar="SRC_TYPE:SRC_ID", help="the edge's source node")],
    edge_type: Annotated[
        str, typer.Argument(metavar="EDGE_TYPE", help=f"one of {', '.join(EDGE_TYPES)}")
    ],
    dst: Annotated[
        str, typer.Argument(metavar="DST_TYPE:DST_ID", help="the edge's destination node")
    ],
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One directed edge with its count and hourly activity buckets."""
    src_ref = parse_node(src, "source node")
    kind = parse_edge_type(edge_type)
    dst_ref = parse_node(dst, "destination node")
    with open_graph(ctx, store) as (graph, url):
        detail = graph.get_edge(src_ref, kind, dst_ref)
        if detail is None:
            shown = f"edge {format_ref(src_ref)} -{kind}-> {format_ref(dst_ref)}"
            missing = [format_ref(r) for r in (src_ref, dst_ref) if graph.get_node(r) is None]
            why = f" (no node {' or '.join(missing)})" if missing else ""
            fail(f"{shown} not found in {url}{why}", EXIT_NOT_FOUND)
    if json_out:
        print_json(edge_detail_to_json(detail))
    else:
        console.print(cli_render.edge_detail_view(detail))


HopsOpt = Annotated[
    int, typer.Option("--hops", "-k", help="how many hops to walk from the node (1 or more)")
]
LimitPerHopOpt = Annotated[
    int,
    typer.Option(
        "--limit-per-hop",
        help="each node expands at most this many of its newest edges (tames supernodes)",
    ),
]


def khop(
    ctx: typer.Context,
    ref: NodeArg,
    hops: HopsOpt = 2,
    limit_per_hop: LimitPerHopOpt = 300,
    direction: DirectionOpt = "both",
    edge_type: EdgeTypeOpt = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The k-hop neighbourhood: every node within K hops with its distance, and the edges."""
    node_ref = parse_node(ref)
    positive("--hops", hops)
    positive("--limit-per-hop", limit_per_hop)
    way = parse_direction(direction)
    kind = parse_edge_filter(edge_type)
    with open_graph(ctx, store) as (graph, url):
        result = graph.khop(node_ref, hops, limit_per_hop, way, kind)
        if not result.edges:
            require_node(graph, node_ref, url)
    if json_out:
        print_json(khop_to_json(result))
    else:
        console.print(cli_render.khop_view(result, limit_per_hop))


def _path_edges(
    graph: GraphStore,
    path: list[NodeRef],
    direction: Direction,
    edge_type: str | None,
    limit_per_hop: int,
) -> list[list[Edge]]:
    """The edges joining consecutive path nodes, from the adjacency lists the search read.

    The forward search found each step in the first node's list (``direction``), the
    backward search in the second node's (the reverse direction); two batched reads.
    """
    reverse = reverse_direction(direction)
    forward = graph.neighbors_many(path, direction, edge_type, limit=limit_per_hop)
    backward = (
        forward
        if reverse == direction
        else graph.neighbors_many(path, reverse, edge_type, limit=limit_per_hop)
    )
    steps: list[list[Edge]] = []
    for a, b in itertools.pairwise(path):
        found = {e.key: e for e in forward[a] if e.other(a) == b}
        for e in backward[b]:
            if e.other(b) == a:
                found.setdefault(e.key, e)
        steps.append(list(found.values()))
    return steps


def path(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(metavar="FROM_TYPE:ID", help="where the path starts")],
    dst: Annotated[str, typer.Argument(metavar="TO_TYPE:ID", help="where the path ends")],
    max_hops: Annotated[
        int, typer.Option("--max-hops", help="longest path to look for, in edges")
    ] = 4,
    limit_per_hop: LimitPerHopOpt = 1000,
    direction: DirectionOpt = "both",
    edge_type: EdgeTypeOpt = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A shortest path between two nodes (exit 1 when there is none within --max-hops)."""
    a = parse_node(src, "start node")
    b = parse_node(dst, "end node")
    positive("--max-hops", max_hops)
    positive("--limit-per-hop", limit_per_hop)
    way = parse_direction(direction)
    kind = parse_edge_filter(edge_type)
    with open_graph(ctx, store) as (graph, url):
        found = graph.shortest_path(a, b, max_hops, way, kind, limit_per_hop)
        if found is None:
            for r in (a, b):
                require_node(graph, r, url)
            fail(
                f"no path from {format_ref(a)} to {format_ref(b)} within {max_hops} hop(s) "
                f"(direction {way}{f', edge type {kind}' if kind else ''}); "
                "try a larger --max-hops",
                EXIT_NOT_FOUND,
            )
        if len(found) == 1:
            require_node(graph, a, url)
        steps = _path_edges(graph, found, way, kind, limit_per_hop)
    if json_out:
        print_json(
            {
                "from": ref_to_json(a),
                "to": ref_to_json(b),
                "hops": len(found) - 1,
                "nodes": [ref_to_json(r) for r in found],
                "edges": [edge_to_json(e) for step in steps for e in step],
            }
        )
    else:
        console.print(cli_render.path_view(found, steps))


FORMATS = {"graphml": ".graphml", "json": ".json"}


def _export_format(fmt: str | None, out: Path) -> str:
    if fmt is None:
        by_suffix = {suffix: name for name, suffix in FORMATS.items()}
        guessed = by_suffix.get(out.suffix.lower())
        if guessed is None:
            raise ConfigError(
                f"cannot tell the format of {str(out)!r} from its extension; "
                "pass --format graphml or --format json"
            )
        return guessed
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of graphml, json")
    return fmt


def export(
    ctx: typer.Context,
    ref: NodeArg,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE", help="file to write (replaced if it exists)"),
    ],
    hops: HopsOpt = 2,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="graphml|json",
            help="GraphML or networkx node-link JSON [default: from the --out extension]",
        ),
    ] = None,
    limit_per_hop: LimitPerHopOpt = 300,
    direction: DirectionOpt = "both",
    edge_type: EdgeTypeOpt = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the k-hop subgraph around a node to a GraphML or node-link JSON file."""
    from graphstore.export import export_graphml, export_json

    node_ref = parse_node(ref)
    positive("--hops", hops)
    positive("--limit-per-hop", limit_per_hop)
    way = parse_direction(direction)
    kind = parse_edge_filter(edge_type)
    kind_name = _export_format(fmt, out)
    if out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a directory; give a file name")
    if not out.parent.is_dir():
        raise ConfigError(
            f"--out {str(out)!r}: directory {str(out.parent)!r} does not exist; create it first"
        )
    with open_graph(ctx, store) as (graph, url):
        sub = graph.subgraph(node_ref, hops, limit_per_hop, way, kind)
        if sub.number_of_edges() == 0:
            require_node(graph, node_ref, url)
    (export_graphml if kind_name == "graphml" else export_json)(sub, out)
    summary = {
        "path": str(out),
        "format": kind_name,
        "root": ref_to_json(node_ref),
        "hops": hops,
        "nodes": sub.number_of_nodes(),
        "edges": sub.number_of_edges(),
    }
    if json_out:
        print_json(summary)
    else:
        console.print(
            f"wrote {summary['nodes']:,} nodes and {summary['edges']:,} edges "
            f"({hops} hop(s) around {format_ref(node_ref)}) to {out} as "
            f"{'GraphML' if kind_name == 'graphml' else 'node-link JSON'}"
        )


def stats(ctx: typer.Context, store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """How many nodes of each type and edges of each type the graph holds."""
    with open_graph(ctx, store) as (graph, url):
        counts = graph.stats()
    if json_out:
        print_json({"nodes": dict(counts.get("nodes", {})), "edges": dict(counts.get("edges", {}))})
    else:
        console.print(cli_render.stats_view(counts, url))


def register(app: typer.Typer) -> None:
    """Add `rdg query ...`, `rdg stats` and `rdg generate` to the app."""
    for name, fn in (
        ("node", node),
        ("neighbors", neighbors),
        ("edge", edge),
        ("khop", khop),
        ("path", path),
        ("export", export),
    ):
        query_app.command(name)(cli_command(fn))
    app.add_typer(query_app, name="query")
    app.command("stats")(cli_command(stats))
    cli_generate.register(app)
