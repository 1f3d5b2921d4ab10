"""The neighbor-scan loop in C (graphstore/cassandra/_recentrows.c) against its Python
reference (graphstore/cassandra/recent_rows.py): same status, pending row, counters, edges,
candidates and seen keys on generated index rows, page after page; same ordering and cut."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphstore.cassandra import recent_rows
from graphstore.cassandra.encoding import COPY_HEAD, encode_edge_copy
from graphstore.model import HOUR_MS, Edge

pytestmark = pytest.mark.skipif(not recent_rows.NATIVE, reason="_recentrows was not built")

REF = ("Title", "t1")
Row = tuple[Any, ...]


def test_the_native_loop_is_built_and_used() -> None:
    assert recent_rows.NATIVE, "graphstore.cassandra._recentrows was not built"
    assert recent_rows.top is not recent_rows.py_top


_OFFSETS = [0, 1, HOUR_MS // 2, HOUR_MS - 1]  # few values: bounds often equal a last_seen


@st.composite
def index_rows(draw: st.DrawFn, keyed: bool = False) -> list[Row]:
    """Rows newest hour first, as a partition of ``adjacency_recent`` returns them: few
    distinct keys (so stale copies of an edge recur in older hours), self-loops, and copies
    whose last_seen falls anywhere in their hour. Whole rows (hour, dir, edge_type,
    other_type, other_id, edge, node_id) also have copies without their key (0.2's) and no
    copy at all (0.1's); keyed rows are (edge, node_id), now and then an unkeyed one."""
    count = draw(st.integers(0, 40))
    hour = draw(st.integers(10, 20))
    rows: list[Row] = []
    for _ in range(count):
        hour -= draw(st.sampled_from([0, 0, 0, 1, 2]))
        direction = draw(st.sampled_from(["out", "in"]))
        edge_type = draw(st.sampled_from(["PLAYED", "LIKED"]))
        other = draw(st.sampled_from([("Profile", "p1"), ("Profile", "p2"), ("Query", "q"), REF]))
        last = hour * HOUR_MS + draw(st.sampled_from(_OFFSETS))
        first = last - draw(st.integers(0, 10 * HOUR_MS))
        kind = draw(st.sampled_from(["keyed"] * 8 + ["head", "none"]))
        if keyed and draw(st.integers(0, 30)):
            kind = "keyed"
        payload: bytes | None = None
        if kind != "none":
            payload = encode_edge_copy(
                first, last, draw(st.integers(1, 50)), direction, edge_type, *other
            )
            if kind == "head":
                payload = payload[: COPY_HEAD.size]
        if keyed:
            rows.append((payload, REF[1]))
        else:
            rows.append((hour, direction, edge_type, other[0], other[1], payload, REF[1]))
    return rows


@st.composite
def scan_args(draw: st.DrawFn) -> dict[str, Any]:
    moment = st.builds(
        lambda hour, offset: hour * HOUR_MS + offset, st.integers(0, 21), st.sampled_from(_OFFSETS)
    )
    since = draw(st.none() | moment)
    until = draw(st.none() | moment)
    return {
        "direction": draw(st.sampled_from(["out", "in", "both"])),
        "since": since,
        "until": until,
        "limit": draw(st.integers(1, 12)),
        "max_scan": draw(st.integers(1, 60)),
    }


def _run(fn: Any, pages: Sequence[list[Row]], args: dict[str, Any], found_before: int) -> list[Any]:
    """Feed the pages through ``fn`` as the reader does, recording every call's outcome."""
    seen: set[Any] = set()
    survivors: list[Edge] = [
        Edge(("Profile", f"x{i}"), "PLAYED", REF, {}, 1, 2, 3) for i in range(found_before)
    ]
    pending: Row | None = None
    scanned, hour, cut = 0, 0, None
    outcomes: list[Any] = []
    for page in pages:
        candidates: list[Any] = []
        rows: Iterator[Row] = iter(page)
        while True:
            status, pending, scanned, hour, cut = fn(
                rows,
                pending,
                REF,
                seen,
                survivors,
                candidates,
                args["direction"],
                args["since"],
                args["until"],
                args["limit"],
                args["max_scan"],
                scanned,
                hour,
                cut,
            )
            outcomes.append((status, pending, scanned, hour, cut, list(candidates)))
            if status != recent_rows.STOPPED:
                break  # RAN_OUT: the next page; FALLBACK, UNKEYED: the reader stops too
            cut = None  # as after lookups that dropped edges: the scan reads on
            survivors.clear()
    outcomes.append((sorted(seen), survivors))
    return outcomes


@settings(max_examples=400, deadline=None)
@given(rows=index_rows(), args=scan_args(), split=st.integers(0, 40), before=st.integers(0, 3))
def test_collect_matches_the_python_reference(
    rows: list[Row], args: dict[str, Any], split: int, before: int
) -> None:
    pages = [rows[:split], rows[split:]]
    expected = _run(recent_rows.py_collect, pages, args, before)
    assert _run(recent_rows.collect, pages, args, before) == expected


@settings(max_examples=400, deadline=None)
@given(
    rows=index_rows(keyed=True),
    args=scan_args(),
    split=st.integers(0, 40),
    before=st.integers(0, 3),
)
def test_collect_keyed_matches_the_python_reference(
    rows: list[Row], args: dict[str, Any], split: int, before: int
) -> None:
    pages = [rows[:split], rows[split:]]
    expected = _run(recent_rows.py_collect_keyed, pages, args, before)
    assert _run(recent_rows.collect_keyed, pages, args, before) == expected


def test_keyed_and_whole_rows_give_the_same_edges() -> None:
    """The same partition read as keyed copies and as whole rows."""
    copies = [
        (12, "out", "PLAYED", "Title", "t2", 12 * HOUR_MS + 7, 3),
        (12, "in", "PLAYED", "Profile", "p1", 12 * HOUR_MS + 9, 1),
        (11, "out", "PLAYED", "Title", "t2", 11 * HOUR_MS + 1, 2),  # stale
        (10, "in", "LIKED", "Title", "t1", 10 * HOUR_MS + 5, 4),  # a self-loop's in-copy
        (10, "out", "LIKED", "Title", "t1", 10 * HOUR_MS + 5, 4),
    ]
    whole, keyed = [], []
    for hour, direction, edge_type, other_type, other_id, last, count in copies:
        payload = encode_edge_copy(5, last, count, direction, edge_type, other_type, other_id)
        whole.append((hour, direction, edge_type, other_type, other_id, payload, REF[1]))
        keyed.append((payload, REF[1]))
    for direction in ("out", "in", "both"):
        got_whole: list[Edge] = []
        got_keyed: list[Edge] = []
        args = (direction, None, None, 10, 100, 0, 0, None)
        recent_rows.collect(whole, None, REF, set(), got_whole, [], *args)
        recent_rows.collect_keyed(keyed, None, REF, set(), got_keyed, [], *args)
        assert got_keyed == got_whole
    assert [(e.src, e.type, e.dst, e.count) for e in got_keyed] == [
        (REF, "PLAYED", ("Title", "t2"), 3),
        (("Profile", "p1"), "PLAYED", REF, 1),
        (REF, "LIKED", REF, 4),
    ]


def test_collect_keyed_asks_for_whole_rows_at_an_unkeyed_copy() -> None:
    keyed = encode_edge_copy(1, 12 * HOUR_MS, 1, "out", "PLAYED", "Title", "t2")
    for unkeyed in (None, keyed[: COPY_HEAD.size]):
        for fn in (recent_rows.collect_keyed, recent_rows.py_collect_keyed):
            survivors: list[Edge] = []
            rows = [(keyed, "t1"), (unkeyed, "t1"), (keyed, "t1")]
            status, *_ = fn(
                rows, None, REF, set(), survivors, [], "both", None, None, 5, 100, 0, 0, None
            )
            assert status == recent_rows.UNKEYED


def test_collect_stops_at_the_hour_after_the_limit() -> None:
    copy = encode_edge_copy(5, 10 * HOUR_MS, 1, "in", "PLAYED", "Profile", "p")
    rows = [
        (10, "in", "PLAYED", "Profile", "p1", copy, "t1"),
        (10, "in", "PLAYED", "Profile", "p2", copy, "t1"),
        (10, "in", "PLAYED", "Profile", "p3", copy, "t1"),
        (9, "in", "PLAYED", "Profile", "p4", copy, "t1"),
    ]
    for fn in (recent_rows.collect, recent_rows.py_collect):
        survivors: list[Edge] = []
        status, pending, scanned, hour, cut = fn(
            rows, None, REF, set(), survivors, [], "both", None, None, 2, 100, 0, 0, None
        )
        # the limit is reached in hour 10, which is read to its end; hour 9 is not needed
        assert (status, pending, scanned, hour, cut) == (recent_rows.STOPPED, rows[3], 3, 10, 10)
        assert [e.src for e in survivors] == [
            ("Profile", "p1"),
            ("Profile", "p2"),
            ("Profile", "p3"),
        ]
        assert survivors[0] == Edge(("Profile", "p1"), "PLAYED", REF, {}, 5, 10 * HOUR_MS, 1)


def test_collect_rejects_bad_rows_and_keeps_iterator_errors() -> None:
    args = (None, REF, set(), [], [], "both", None, None, 5, 100, 0, 0, None)
    with pytest.raises(ValueError, match="at least 24 bytes"):
        recent_rows.collect([(1, "out", "T", "X", "x", b"short", "t1")], *args)
    with pytest.raises(TypeError, match="tuples"):
        recent_rows.collect([[1, "out", "T", "X", "x", None, "t1"]], *args)

    def failing() -> Iterator[Row]:
        yield (1, "out", "T", "X", "x", None, "t1")
        raise ConnectionError("page 2 failed")

    with pytest.raises(ConnectionError, match="page 2"):
        recent_rows.collect(failing(), *args)


_NODES = [("Profile", "a"), ("Profile", "b"), ("Query", "a")]


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(
        st.builds(
            Edge,
            st.sampled_from(_NODES),
            st.sampled_from(["PLAYED", "LIKED"]),
            st.sampled_from(_NODES),
            st.just({}),
            st.integers(0, 5),
            st.integers(0, 3),
            st.integers(1, 3),
        ),
        max_size=30,
    ),
    limit=st.integers(0, 35),
)
def test_top_matches_the_python_reference(edges: list[Edge], limit: int) -> None:
    got = recent_rows.top(edges, limit)
    want = recent_rows.py_top(edges, limit)
    assert [id(e) for e in got] == [id(e) for e in want]  # the same objects, in order
