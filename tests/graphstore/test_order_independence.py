"""Property tests: any permutation and batching of the same writes gives the same rows."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphstore.base import GraphStore
from graphstore.merge import MergedGraph
from graphstore.model import (
    HOUR_MS,
    BucketWrite,
    Edge,
    EdgeWrite,
    NodeWrite,
    PropVersion,
    edge_sort_key,
)

Write = NodeWrite | EdgeWrite | BucketWrite

# A small universe so that writes collide often: same keys, same ts, same event ids.
node_types = st.sampled_from(["Profile", "Title"])
node_ids = st.sampled_from(["1", "2", "é"])
# Few distinct instants (many ties), on both sides of hour boundaries.
times = st.sampled_from([0, 1, 2, HOUR_MS - 1, HOUR_MS, HOUR_MS + 1, 2 * HOUR_MS, 3 * HOUR_MS + 5])
event_ids = st.sampled_from(["e1", "e2", "e10", "é", "日", ""])
values = st.sampled_from(["US", "CA", "ü", "", "a\x00b"])


@st.composite
def node_writes(draw: st.DrawFn) -> NodeWrite:
    first = draw(times)
    last = first + draw(times)
    props = draw(
        st.dictionaries(
            st.sampled_from(["country", "device"]),
            st.builds(PropVersion, values, times, event_ids),
            max_size=2,
        )
    )
    return NodeWrite(draw(node_types), draw(node_ids), first, last, props)


@st.composite
def edge_writes(draw: st.DrawFn) -> EdgeWrite:
    first = draw(times)
    return EdgeWrite(
        draw(node_types),
        draw(node_ids),
        draw(st.sampled_from(["PLAYED", "LIKED"])),
        draw(node_types),
        draw(node_ids),
        first,
        first + draw(times),
    )


@st.composite
def bucket_writes(draw: st.DrawFn) -> BucketWrite:
    return BucketWrite(
        draw(node_types),
        draw(node_ids),
        draw(st.sampled_from(["PLAYED", "LIKED"])),
        draw(node_types),
        draw(node_ids),
        draw(st.integers(0, 2)) * HOUR_MS,
        draw(st.sampled_from(["0", "1"])),
        draw(st.integers(0, 5)),
    )


writes = st.lists(st.one_of(node_writes(), edge_writes(), bucket_writes()), max_size=25)


def split(items: list[Write]) -> tuple[list[NodeWrite], list[EdgeWrite], list[BucketWrite]]:
    return (
        [w for w in items if isinstance(w, NodeWrite)],
        [w for w in items if isinstance(w, EdgeWrite)],
        [w for w in items if isinstance(w, BucketWrite)],
    )


@st.composite
def shuffled_batches(draw: st.DrawFn) -> tuple[list[Write], list[list[Write]]]:
    """A list of writes, and the same writes permuted and cut into batches."""
    items = draw(writes)
    permuted = draw(st.permutations(items))
    cuts = sorted(draw(st.lists(st.integers(0, len(items)), max_size=4)))
    bounds = [0, *cuts, len(items)]
    return items, [permuted[a:b] for a, b in itertools.pairwise(bounds)]


def _apply(store: GraphStore, batches: list[list[Write]]) -> None:
    for batch in batches:
        store.write(*split(batch))


def _settings(store: GraphStore) -> Any:
    return settings(
        max_examples=20 if store.kind == "cassandra" else 150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )


def test_reference_model_is_order_independent() -> None:
    @given(shuffled_batches())
    @settings(max_examples=300, deadline=None)
    def check(case: tuple[list[Write], list[list[Write]]]) -> None:
        items, batches = case
        once = MergedGraph.of(*split(items))
        merged = MergedGraph()
        for batch in batches:
            merged.apply(*split(batch))
        merged.apply(*split(items))  # and a full replay on top
        assert merged.dump() == once.dump()

    check()


def test_store_matches_reference_for_any_order_and_batching(store: GraphStore) -> None:
    @given(shuffled_batches())
    @_settings(store)
    def check(case: tuple[list[Write], list[list[Write]]]) -> None:
        items, batches = case
        store.truncate()
        _apply(store, batches)
        expected = MergedGraph.of(*split(items)).dump()
        assert store.dump() == expected
        _apply(store, batches[::-1])  # replaying everything, in another order, is a no-op
        assert store.dump() == expected

    check()


def test_queries_agree_with_reference_counts(store: GraphStore) -> None:
    @given(shuffled_batches())
    @_settings(store)
    def check(case: tuple[list[Write], list[list[Write]]]) -> None:
        items, batches = case
        store.truncate()
        _apply(store, batches)
        ref = MergedGraph.of(*split(items))
        for key, (first, last) in ref.edges.items():
            detail = store.get_edge((key[0], key[1]), key[2], (key[3], key[4]))
            assert detail is not None
            counts = [c for bkey, c in ref.buckets.items() if bkey[:5] == key]
            assert (detail.first_seen, detail.last_seen, detail.count) == (first, last, sum(counts))
            assert detail.as_edge() in store.neighbors((key[0], key[1]), "out", limit=1000)
            assert detail.as_edge() in store.neighbors((key[3], key[4]), "in", limit=1000)
        for (node_type, node_id), acc in ref.nodes.items():
            got = store.get_node((node_type, node_id))
            assert got is not None
            assert got.props == {k: v.value for k, v in acc.props.items()}

    check()


def _reference_neighbors(
    ref: MergedGraph,
    node: tuple[str, str],
    direction: str,
    since: int | None,
    until: int | None,
    limit: int,
) -> list[Edge]:
    totals: dict[tuple[str, str, str, str, str], int] = {}
    for bkey, count in ref.buckets.items():
        totals[bkey[:5]] = totals.get(bkey[:5], 0) + count
    found = []
    for key, (first, last) in ref.edges.items():
        src, dst = (key[0], key[1]), (key[3], key[4])
        if not (
            (direction in ("out", "both") and src == node)
            or (direction in ("in", "both") and dst == node)
        ):
            continue
        if (since is not None and last < since) or (until is not None and last > until):
            continue
        found.append(Edge(src, key[2], dst, {}, first, last, totals.get(key, 0)))
    return sorted(found, key=edge_sort_key)[:limit]


def test_neighbor_lists_match_reference_with_windows_and_limits(store: GraphStore) -> None:
    @given(
        shuffled_batches(),
        st.sampled_from(["out", "in", "both"]),
        st.one_of(st.none(), times),
        st.one_of(st.none(), times, times.map(lambda t: t + 2 * HOUR_MS)),
        st.integers(1, 4),
    )
    @_settings(store)
    def check(
        case: tuple[list[Write], list[list[Write]]],
        direction: str,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> None:
        items, batches = case
        store.truncate()
        _apply(store, batches)
        ref = MergedGraph.of(*split(items))
        nodes = {(t, i) for t in ("Profile", "Title") for i in ("1", "2", "é")}
        got = store.neighbors_many(nodes, direction, since=since, until=until, limit=limit)  # type: ignore[arg-type]
        for node in nodes:
            assert got[node] == _reference_neighbors(ref, node, direction, since, until, limit), (
                node
            )

    check()
