"""Behaviour every store must share; runs unchanged against SQLite and Cassandra."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest

from graphstore.base import GraphStore
from graphstore.export import edge_detail_to_json, edge_to_json, export_graphml, export_json
from graphstore.merge import MergedGraph
from graphstore.model import (
    HOUR_MS,
    BucketWrite,
    EdgeWrite,
    InvalidQueryError,
    InvalidWriteError,
    NodeWrite,
    PropVersion,
)

H = HOUR_MS
P1, P2, P3 = ("Profile", "p1"), ("Profile", "p2"), ("Profile", "p3")
T1, T2 = ("Title", "t1"), ("Title", "t2")


def node(ref, first, last, **props: tuple[str, int, str]) -> NodeWrite:
    return NodeWrite(ref[0], ref[1], first, last, {k: PropVersion(*v) for k, v in props.items()})


def edge(src, etype, dst, first, last) -> EdgeWrite:
    return EdgeWrite(src[0], src[1], etype, dst[0], dst[1], first, last)


def bucket(src, etype, dst, start, partition, count) -> BucketWrite:
    return BucketWrite(src[0], src[1], etype, dst[0], dst[1], start, partition, count)


# --------------------------------------------------------------------------- merge rules


def test_node_span_keeps_min_first_seen_and_max_last_seen(store: GraphStore) -> None:
    store.write([node(P1, 100, 200)], [], [])
    store.write([node(P1, 50, 150)], [], [])
    store.write([node(P1, 120, 300)], [], [])
    got = store.get_node(P1)
    assert got is not None
    assert (got.first_seen, got.last_seen) == (50, 300)


def test_property_latest_ts_wins_in_any_order(store: GraphStore) -> None:
    store.write([node(P1, 1, 1, country=("CA", 20, "e1"))], [], [])
    store.write([node(P1, 1, 1, country=("US", 10, "e9"))], [], [])
    got = store.get_node(P1)
    assert got is not None and got.props == {"country": "CA"}


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("e1", "e2"),
        ("e10", "e2"),  # string order, not numeric
        ("e", "e0"),  # a prefix loses
        ("z", "é"),  # code point order beyond ASCII
        ("é", "日本"),
        ("a\x00", "a\x01"),
    ],
)
def test_property_ts_tie_goes_to_greater_event_id(store: GraphStore, low: str, high: str) -> None:
    store.write([node(P1, 1, 1, k=("winner", 7, high))], [], [])
    store.write([node(P1, 1, 1, k=("loser", 7, low))], [], [])
    store.write([node(P2, 1, 1, k=("loser", 7, low))], [], [])
    store.write([node(P2, 1, 1, k=("winner", 7, high))], [], [])
    got = store.get_nodes([P1, P2])
    assert {ref: n.props for ref, n in got.items()} == {P1: {"k": "winner"}, P2: {"k": "winner"}}


def test_properties_merge_independently(store: GraphStore) -> None:
    store.write([node(P1, 1, 1, a=("a1", 5, "e1"), b=("b1", 1, "e1"))], [], [])
    store.write([node(P1, 1, 1, a=("a0", 4, "e2"), b=("b2", 2, "e2"), c=("c", 0, ""))], [], [])
    got = store.get_node(P1)
    assert got is not None and got.props == {"a": "a1", "b": "b2", "c": "c"}


def test_bucket_keeps_max_per_partition_and_sums_partitions(store: GraphStore) -> None:
    store.write([], [edge(P1, "PLAYED", T1, 10, 20)], [])
    store.write([], [], [bucket(P1, "PLAYED", T1, 0, "0", 5), bucket(P1, "PLAYED", T1, 0, "1", 2)])
    store.write([], [], [bucket(P1, "PLAYED", T1, 0, "0", 3)])  # replay of a sub-range
    store.write([], [], [bucket(P1, "PLAYED", T1, H, "0", 4), bucket(P1, "PLAYED", T1, 0, "1", 6)])
    detail = store.get_edge(P1, "PLAYED", T1)
    assert detail is not None
    assert detail.buckets == [(0, 11), (H, 4)]
    assert detail.count == 15
    assert [e.count for e in store.neighbors(P1)] == [15]
    assert [e.count for e in store.neighbors(T1, "in")] == [15]


def test_duplicates_inside_one_batch_merge_like_separate_writes(store: GraphStore) -> None:
    stats = store.write(
        [node(P1, 5, 6, k=("x", 1, "a")), node(P1, 1, 9, k=("y", 1, "b"))],
        [edge(P1, "PLAYED", T1, 4, 4), edge(P1, "PLAYED", T1, 2, 3)],
        [bucket(P1, "PLAYED", T1, 0, "0", 1), bucket(P1, "PLAYED", T1, 0, "0", 3)],
    )
    assert (stats.nodes, stats.edges, stats.buckets, stats.props) == (1, 1, 1, 1)
    got = store.get_node(P1)
    assert got is not None and (got.first_seen, got.last_seen, got.props) == (1, 9, {"k": "y"})
    detail = store.get_edge(P1, "PLAYED", T1)
    assert detail is not None and (detail.first_seen, detail.last_seen, detail.count) == (2, 4, 3)


def test_bucket_written_before_its_edge_is_counted_once_the_edge_exists(
    store: GraphStore,
) -> None:
    store.write([], [], [bucket(P1, "PLAYED", T1, 0, "0", 2)])
    assert store.get_edge(P1, "PLAYED", T1) is None
    assert store.neighbors(P1) == []
    assert len(store.dump().buckets) == 1
    store.write([], [edge(P1, "PLAYED", T1, 1, 1)], [])
    detail = store.get_edge(P1, "PLAYED", T1)
    assert detail is not None and detail.count == 2 and detail.buckets == [(0, 2)]


def _sample_batches() -> list[tuple[list[NodeWrite], list[EdgeWrite], list[BucketWrite]]]:
    return [
        (
            [node(P1, 10, 20, c=("US", 3, "e3")), node(T1, 5, 5, name=("Title One", 1, "e1"))],
            [edge(P1, "PLAYED", T1, 10, 20), edge(P2, "PLAYED", T1, 11, 30)],
            [bucket(P1, "PLAYED", T1, 0, "0", 2), bucket(P2, "PLAYED", T1, 0, "1", 1)],
        ),
        (
            [node(P1, 8, 12, c=("CA", 3, "e4")), node(P2, 11, 30)],
            [edge(P1, "PLAYED", T1, 9, 15), edge(P1, "SEARCHED", T2, 12, 12)],
            [bucket(P1, "PLAYED", T1, 0, "0", 1), bucket(P1, "PLAYED", T1, H, "0", 1)],
        ),
    ]


def test_writing_the_same_batches_again_changes_nothing(store: GraphStore) -> None:
    for batch in _sample_batches():
        store.write(*batch)
    first = store.dump()
    for batch in _sample_batches():
        store.write(*batch)
    assert store.dump() == first
    expected = MergedGraph()
    for batch in _sample_batches():
        expected.apply(*batch)
    assert first == expected.dump()


def test_reverse_order_gives_the_same_rows(store: GraphStore) -> None:
    for batch in reversed(_sample_batches()):
        store.write(*batch)
    expected = MergedGraph()
    for batch in _sample_batches():
        expected.apply(*batch)
    assert store.dump() == expected.dump()


# --------------------------------------------------------------------------- queries


def test_get_node_missing_is_none(store: GraphStore) -> None:
    assert store.get_node(("Profile", "nobody")) is None
    assert store.get_nodes([("Profile", "nobody")]) == {}


def _star(store: GraphStore) -> None:
    """p1 -> t1 (t=30), p1 -> t2 (t=20), p1 -> p2 FRIEND (t=30), p3 -> p1 (t=25), loop p1."""
    store.write(
        [node(P1, 1, 30), node(T1, 1, 1), node(P2, 1, 1)],
        [
            edge(P1, "PLAYED", T1, 5, 30),
            edge(P1, "PLAYED", T2, 5, 20),
            edge(P1, "FRIEND", P2, 5, 30),
            edge(P3, "FRIEND", P1, 5, 25),
            edge(P1, "SELF", P1, 5, 10),
        ],
        [bucket(P1, "PLAYED", T1, 0, "0", 3)],
    )


def test_neighbors_out_newest_first_with_deterministic_tiebreak(store: GraphStore) -> None:
    _star(store)
    got = store.neighbors(P1, "out")
    assert [(e.type, e.dst) for e in got] == [
        ("FRIEND", P2),  # last_seen 30, "FRIEND" < "PLAYED"
        ("PLAYED", T1),  # last_seen 30
        ("PLAYED", T2),  # 20
        ("SELF", P1),  # 10
    ]
    assert got[1].count == 3 and got[0].count == 0
    assert all(e.src == P1 and e.props == {} for e in got)


def test_neighbors_in_and_both(store: GraphStore) -> None:
    _star(store)
    assert [(e.src, e.type) for e in store.neighbors(P1, "in")] == [(P3, "FRIEND"), (P1, "SELF")]
    both = store.neighbors(P1, "both")
    keys = [(e.src, e.type, e.dst) for e in both]
    assert keys == [
        (P1, "FRIEND", P2),
        (P1, "PLAYED", T1),
        (P3, "FRIEND", P1),
        (P1, "PLAYED", T2),
        (P1, "SELF", P1),  # the self-loop appears once
    ]


def test_neighbors_filters_and_limit(store: GraphStore) -> None:
    _star(store)
    assert [e.dst for e in store.neighbors(P1, edge_type="PLAYED")] == [T1, T2]
    assert [e.dst for e in store.neighbors(P1, since=20, until=20)] == [T2]  # inclusive
    assert [e.dst for e in store.neighbors(P1, since=21)] == [P2, T1]
    assert [e.dst for e in store.neighbors(P1, until=19)] == [P1]
    assert [e.dst for e in store.neighbors(P1, limit=2)] == [P2, T1]
    assert store.neighbors(P1, limit=0) == []
    assert store.neighbors(P1, since=40, until=10) == []
    assert store.neighbors(("Nobody", "x"), "both") == []
    many = store.neighbors_many([P1, T1], "in", limit=1)
    assert [e.src for e in many[P1]] == [P3] and [e.src for e in many[T1]] == [P1]


def test_get_edge_and_json_shapes(store: GraphStore) -> None:
    _star(store)
    store.write([], [], [bucket(P1, "PLAYED", T1, 2 * H, "0", 1)])
    detail = store.get_edge(P1, "PLAYED", T1)
    assert detail is not None
    assert edge_detail_to_json(detail) == {
        "src": {"type": "Profile", "id": "p1"},
        "type": "PLAYED",
        "dst": {"type": "Title", "id": "t1"},
        "props": {},
        "first_seen": 5,
        "last_seen": 30,
        "count": 4,
        "buckets": [{"bucket_start": 0, "count": 3}, {"bucket_start": 2 * H, "count": 1}],
    }
    assert edge_to_json(detail.as_edge()) == edge_to_json(store.neighbors(P1, limit=2)[1])
    no_buckets = store.get_edge(P1, "PLAYED", T2)
    assert no_buckets is not None and (no_buckets.count, no_buckets.buckets) == (0, [])
    assert store.get_edge(T1, "PLAYED", P1) is None  # direction matters


def test_stats_counts_by_type(store: GraphStore) -> None:
    _star(store)
    assert store.stats() == {
        "nodes": {"Profile": 2, "Title": 1},
        "edges": {"FRIEND": 2, "PLAYED": 2, "SELF": 1},
    }


def _chain_and_hub(store: GraphStore) -> None:
    """a -> b -> c -> d -> e, and hub -> l0..l4 (newest l4), b -> hub."""
    ids = ["a", "b", "c", "d", "e"]
    edges = [edge(("N", x), "NEXT", ("N", y), 1, 10) for x, y in itertools.pairwise(ids)]
    edges += [edge(("N", "hub"), "LEAF", ("L", f"l{i}"), 1, 100 + i) for i in range(5)]
    edges.append(edge(("N", "b"), "TO_HUB", ("N", "hub"), 1, 5))
    store.write([node(("N", x), 1, 1) for x in ids], edges, [])


def test_khop_distances_edges_and_fanout_limit(store: GraphStore) -> None:
    _chain_and_hub(store)
    walk = store.khop(("N", "a"), 3, direction="out")
    assert walk.nodes == {
        ("N", "a"): 0,
        ("N", "b"): 1,
        ("N", "c"): 2,
        ("N", "hub"): 2,
        ("N", "d"): 3,
        ("L", "l4"): 3,
        ("L", "l3"): 3,
        ("L", "l2"): 3,
        ("L", "l1"): 3,
        ("L", "l0"): 3,
    }
    limited = store.khop(("N", "hub"), 1, limit_per_hop=2, direction="out")
    assert limited.nodes == {("N", "hub"): 0, ("L", "l4"): 1, ("L", "l3"): 1}
    assert [e.dst for e in limited.edges] == [("L", "l4"), ("L", "l3")]
    back = store.khop(("N", "c"), 2, direction="in")
    assert back.nodes == {("N", "c"): 0, ("N", "b"): 1, ("N", "a"): 2}
    both = store.khop(("N", "c"), 1)
    assert set(both.nodes) == {("N", "c"), ("N", "b"), ("N", "d")}
    assert len(both.edges) == 2
    assert store.khop(("N", "a"), 0).nodes == {("N", "a"): 0}
    typed = store.khop(("N", "b"), 2, direction="out", edge_type="NEXT")
    assert set(typed.nodes) == {("N", "b"), ("N", "c"), ("N", "d")}


def test_shortest_path(store: GraphStore) -> None:
    _chain_and_hub(store)
    a, e = ("N", "a"), ("N", "e")
    assert store.shortest_path(a, e) == [("N", x) for x in "abcde"]
    assert store.shortest_path(a, e, max_hops=3) is None
    assert store.shortest_path(e, a, direction="out") is None
    assert store.shortest_path(e, a, direction="in") == [("N", x) for x in "edcba"]
    assert store.shortest_path(a, a) == [a]
    assert store.shortest_path(("L", "l0"), ("N", "a")) == [
        ("L", "l0"),
        ("N", "hub"),
        ("N", "b"),
        ("N", "a"),
    ]
    assert store.shortest_path(a, ("N", "unknown")) is None
    store.write([], [edge(a, "SHORTCUT", ("N", "d"), 1, 1)], [])
    assert store.shortest_path(a, e, direction="out") == [a, ("N", "d"), e]


def test_subgraph_and_exports(store: GraphStore, tmp_path) -> None:
    _star(store)
    store.write([node(P1, 1, 30, country=("US", 1, "e1"))], [], [])
    graph = store.subgraph(P1, 1)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.nodes["Profile:p1"] == {
        "type": "Profile",
        "id": "p1",
        "props": {"country": "US"},
        "first_seen": 1,
        "last_seen": 30,
        "hop": 0,
    }
    assert graph.nodes["Title:t2"]["first_seen"] is None  # known only from an edge
    assert graph.get_edge_data("Profile:p1", "Title:t1", key="PLAYED")["count"] == 3
    assert graph.number_of_edges() == 5

    export_json(graph, tmp_path / "g.json")
    doc = json.loads((tmp_path / "g.json").read_text())
    back = nx.node_link_graph(doc, edges="edges", name="ref")
    assert set(back.edges(keys=True)) == set(graph.edges(keys=True))
    assert back.nodes["Profile:p1"]["props"] == {"country": "US"}

    export_graphml(graph, tmp_path / "g.graphml")
    read = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True)
    assert read.nodes["Profile:p1"]["prop.country"] == "US"
    assert set(read.edges(keys=True)) == set(graph.edges(keys=True))


# --------------------------------------------------------------------------- bad input


def test_invalid_writes_name_the_record(store: GraphStore) -> None:
    with pytest.raises(
        InvalidWriteError, match=r"edge write #0 .*first_seen 9 is after last_seen 1"
    ):
        store.write([], [edge(P1, "X", T1, 9, 1)], [])
    with pytest.raises(InvalidWriteError, match="not aligned to a UTC hour"):
        store.write([], [], [bucket(P1, "X", T1, 5, "0", 1)])
    with pytest.raises(InvalidWriteError, match="contains ':'"):
        store.write([node(("Pro:file", "1"), 1, 1)], [], [])
    with pytest.raises(InvalidWriteError, match="count must be an int >= 0"):
        store.write([], [], [bucket(P1, "X", T1, 0, "0", -1)])
    assert store.dump().nodes == []  # nothing of a rejected batch is written


def test_invalid_query_arguments(store: GraphStore) -> None:
    with pytest.raises(InvalidQueryError, match="direction 'sideways'"):
        store.neighbors(P1, "sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="must be a \\(type, id\\) tuple"):
        store.get_node("Profile:p1")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="limit must be an int"):
        store.neighbors(P1, limit=-1)
    with pytest.raises(InvalidQueryError, match="limit_per_hop"):
        store.khop(P1, 1, limit_per_hop=0)
