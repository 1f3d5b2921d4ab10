"""The newest-first copies in ``adjacency_recent``, against the real Cassandra node.

Neighbor reads answer from these copies alone, so they must end exact whatever the order
of writes, whichever writer wrote which cells, and however a frontier's pages are cut.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from graphstore.base import GraphStore
from graphstore.cassandra.config import parse_cassandra_url
from graphstore.cassandra.encoding import COPY_HEAD
from graphstore.cassandra.schema import create_schema
from graphstore.cassandra.store import CassandraGraphStore
from graphstore.model import HOUR_MS, BucketWrite, EdgeWrite, NodeRef
from graphstore.sqlite import SQLiteGraphStore

from .conftest import CassandraEndpoint

pytestmark = pytest.mark.integration

Batch = tuple[list[EdgeWrite], list[BucketWrite]]


def _writer_batches(writer: int, seed: int, batches: int = 30) -> list[Batch]:
    """Edges shared by all writers; each writer counts its own partition's buckets, so no
    writer ever holds an edge's whole count or its greatest last_seen."""
    rng = random.Random(seed * 100 + writer)
    out: list[Batch] = []
    for _ in range(batches):
        edges, buckets = [], []
        for _ in range(12):
            src, dst = f"p{rng.randrange(6)}", f"t{rng.randrange(4)}"
            t = rng.randrange(30 * HOUR_MS)
            edges.append(EdgeWrite("Profile", src, "PLAYED", "Title", dst, t, t + rng.randrange(9)))
            start = t - t % HOUR_MS
            part = f"w{writer}/{rng.randrange(2)}"
            buckets.append(
                BucketWrite(
                    "Profile", src, "PLAYED", "Title", dst, start, part, rng.randrange(1, 9)
                )
            )
        out.append((edges, buckets))
    return out


def _neighbors(store: GraphStore, refs: list[NodeRef], limit: int) -> dict[NodeRef, list]:
    return {ref: store.neighbors(ref, "both", limit=limit) for ref in refs}


def test_concurrent_writers_leave_exact_newest_copies(
    cassandra_endpoint: CassandraEndpoint, cassandra_module_store: GraphStore, tmp_path: Path
) -> None:
    """Three store instances write the same edges at once from different partitions; the
    copies each makes from what it reads back must converge to the merged edge."""
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    work = {w: _writer_batches(w, seed=5) for w in range(3)}
    errors: list[BaseException] = []

    def run(batches: list[Batch]) -> None:
        try:
            with CassandraGraphStore(store.config) as own:
                for edges, buckets in batches:
                    own.write([], edges, buckets)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(batches,)) for batches in work.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert store.check_mirror() == []
    with SQLiteGraphStore(tmp_path / "ref.db") as lite:
        for batches in work.values():
            for edges, buckets in batches:
                lite.write([], edges, buckets)
        assert store.dump() == lite.dump()
        refs = [("Profile", f"p{i}") for i in range(6)] + [("Title", f"t{i}") for i in range(4)]
        for limit in (1, 3, 50):
            assert _neighbors(store, refs, limit) == _neighbors(lite, refs, limit)
            assert store.neighbors_many(refs, "both", limit=limit) == lite.neighbors_many(
                refs, "both", limit=limit
            )


def test_frontier_pages_cut_by_the_per_node_limit_are_read_on(
    cassandra_module_store: GraphStore, tmp_path: Path
) -> None:
    """A frontier's first pages hold at most limit + 24 rows per node; hubs with more rows
    than that in the cut hour (and stale copies in later hours) must be read on to the
    end of that hour, or edges newer than the ones returned would be missed."""
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    rng = random.Random(3)
    edges = []
    for hub in range(5):
        for i in range(40 + 15 * hub):
            t = 7 * HOUR_MS + rng.randrange(HOUR_MS)  # one busy hour
            edges.append(EdgeWrite("Profile", f"p{i}", "PLAYED", "Title", f"hub{hub}", t, t))
        for i in range(0, 30, 3):  # older copies of some of these edges, written first
            t = 2 * HOUR_MS + i
            edges.insert(0, EdgeWrite("Profile", f"p{i}", "PLAYED", "Title", f"hub{hub}", t, t))
    for start in range(0, len(edges), 37):
        store.write([], edges[start : start + 37], [])
    hubs: list[NodeRef] = [("Title", f"hub{h}") for h in range(5)] + [("Title", "none")]
    with SQLiteGraphStore(tmp_path / "ref.db") as lite:
        lite.write([], edges, [])
        for limit in (5, 20, 200):
            for direction in ("in", "both"):
                got = store.neighbors_many(hubs, direction, limit=limit)
                assert got == lite.neighbors_many(hubs, direction, limit=limit)
            since = 7 * HOUR_MS + HOUR_MS // 2
            got = store.neighbors_many(hubs, "in", since=since, limit=limit)
            assert got == lite.neighbors_many(hubs, "in", since=since, limit=limit)
            until = 7 * HOUR_MS + HOUR_MS // 3
            got = store.neighbors_many(hubs, "both", until=until, limit=limit)
            assert got == lite.neighbors_many(hubs, "both", until=until, limit=limit)


def test_index_rows_without_copies_are_read_through_adjacency(
    cassandra_module_store: GraphStore, tmp_path: Path
) -> None:
    """Rows written before copies existed carry only their key; reads look those edges up
    in ``adjacency`` and must give the same answers."""
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    rng = random.Random(9)
    edges = []
    for _ in range(150):
        t = rng.randrange(20 * HOUR_MS)
        src, dst = f"p{rng.randrange(8)}", f"t{rng.randrange(5)}"
        edges.append(EdgeWrite("Profile", src, "PLAYED", "Title", dst, t, t + 1))
    store.write([], edges, [])
    session, ks = store.session, store.config.keyspace
    session.execute(f"TRUNCATE {ks}.adjacency_recent", timeout=120)
    insert = session.prepare(
        f"INSERT INTO {ks}.adjacency_recent "
        "(node_type, node_id, hour, dir, edge_type, other_type, other_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    for e in edges:  # the old writer: a key-only row per edge and hour of a last_seen
        hour = e.last_seen - e.last_seen % HOUR_MS
        session.execute(insert, ("Profile", e.src_id, hour, "out", "PLAYED", "Title", e.dst_id))
        session.execute(insert, ("Title", e.dst_id, hour, "in", "PLAYED", "Profile", e.src_id))
    refs = [("Profile", f"p{i}") for i in range(8)] + [("Title", f"t{i}") for i in range(5)]
    with SQLiteGraphStore(tmp_path / "ref.db") as lite:
        lite.write([], edges, [])
        for limit in (2, 10, 100):
            assert store.neighbors_many(refs, "both", limit=limit) == lite.neighbors_many(
                refs, "both", limit=limit
            )
            assert _neighbors(store, refs, limit) == _neighbors(lite, refs, limit)
            until = 10 * HOUR_MS
            assert store.neighbors_many(refs, "out", until=until, limit=limit) == (
                lite.neighbors_many(refs, "out", until=until, limit=limit)
            )


def test_copies_without_their_key_are_read_as_whole_rows(
    cassandra_module_store: GraphStore, tmp_path: Path
) -> None:
    """Copies written before they carried their row's key (the head alone) make a node's
    scan start over on whole rows; answers stay exact, and keyed reads come back after a
    truncate."""
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    rng = random.Random(11)
    edges, buckets = [], []
    for _ in range(200):
        t = rng.randrange(20 * HOUR_MS)
        src, dst = f"p{rng.randrange(8)}", f"t{rng.randrange(5)}"
        edges.append(EdgeWrite("Profile", src, "PLAYED", "Title", dst, t, t + 1))
        buckets.append(BucketWrite("Profile", src, "PLAYED", "Title", dst, t - t % HOUR_MS, "0", 1))
    refs = [("Profile", f"p{i}") for i in range(8)] + [("Title", f"t{i}") for i in range(5)]
    store.write([], edges, buckets)
    with SQLiteGraphStore(tmp_path / "ref.db") as lite:
        lite.write([], edges, buckets)
        want = lite.neighbors_many(refs, "both", limit=10)
        assert store.neighbors_many(refs, "both", limit=10) == want
        assert not store._reader.whole_rows  # keyed copies only so far
        session, ks = store.session, store.config.keyspace
        update = session.prepare(
            f"UPDATE {ks}.adjacency_recent USING TIMESTAMP ? SET edge = ? WHERE node_type = ? "
            "AND node_id = ? AND hour = ? AND dir = ? AND edge_type = ? AND other_type = ? "
            "AND other_id = ?"
        )
        rows = session.execute(
            "SELECT node_type, node_id, hour, dir, edge_type, other_type, other_id, edge, "
            f"writetime(edge) FROM {ks}.adjacency_recent"
        )
        for *key, payload, written in rows:
            if rng.random() < 0.5:  # as 0.2 wrote it: count, first_seen, last_seen only
                session.execute(update, (written + 1, payload[: COPY_HEAD.size], *key))
        for limit in (1, 3, 10, 100):
            for direction in ("out", "in", "both"):
                assert store.neighbors_many(refs, direction, limit=limit) == (
                    lite.neighbors_many(refs, direction, limit=limit)
                )
            assert _neighbors(store, refs, limit) == _neighbors(lite, refs, limit)
        assert store._reader.whole_rows
        assert store.check_mirror() == []
    store.truncate()
    assert not store._reader.whole_rows


def test_a_keyspace_from_before_copies_gets_their_columns(
    cassandra_endpoint: CassandraEndpoint, cassandra_keyspace: str
) -> None:
    keyspace = f"{cassandra_keyspace}_old"
    config = parse_cassandra_url(cassandra_endpoint.url(keyspace))
    with CassandraGraphStore(config) as store:
        session = store.session
        try:
            session.execute(f"DROP TABLE {keyspace}.adjacency_recent", timeout=120)
            session.execute(  # the table as the first release created it
                f"CREATE TABLE {keyspace}.adjacency_recent (node_type text, node_id text, "
                "hour bigint, dir text, edge_type text, other_type text, other_id text, "
                "PRIMARY KEY ((node_type, node_id), hour, dir, edge_type, other_type, other_id))"
                " WITH CLUSTERING ORDER BY (hour DESC, dir ASC, edge_type ASC, "
                "other_type ASC, other_id ASC)",
                timeout=120,
            )
            create_schema(session, config)
            columns = {
                row[0]
                for row in session.execute(
                    "SELECT column_name FROM system_schema.columns "
                    "WHERE keyspace_name = %s AND table_name = 'adjacency_recent'",
                    (keyspace,),
                )
            }
            assert "edge" in columns
            with CassandraGraphStore(config) as upgraded:
                upgraded.write([], [EdgeWrite("Profile", "a", "PLAYED", "Title", "b", 5, 9)], [])
                (edge,) = upgraded.neighbors(("Title", "b"), "in", limit=5)
                assert (edge.src, edge.first_seen, edge.last_seen) == (("Profile", "a"), 5, 9)
                assert upgraded.check_mirror() == []
        finally:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
