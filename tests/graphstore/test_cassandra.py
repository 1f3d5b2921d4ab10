"""Cassandra-only behaviour, against the real node (never mocked)."""

from __future__ import annotations

import random
import uuid

import pytest

from graphstore.base import GraphStore
from graphstore.cassandra.encoding import FIRST_SEEN_BASE
from graphstore.cassandra.store import CassandraGraphStore
from graphstore.merge import MergedGraph
from graphstore.model import HOUR_MS, BucketWrite, EdgeWrite, NodeWrite, PropVersion
from graphstore.sqlite import SQLiteGraphStore
from ingest.errors import BackpressureError, ConnectorError

from .conftest import CassandraEndpoint

pytestmark = pytest.mark.integration


def _random_writes(
    seed: int, n: int = 400
) -> list[tuple[list[NodeWrite], list[EdgeWrite], list[BucketWrite]]]:
    rng = random.Random(seed)
    ids = [str(i) for i in range(12)] + ["é", "日本"]
    batches = []
    for _ in range(8):
        nodes, edges, buckets = [], [], []
        for _ in range(n // 8):
            kind = rng.random()
            a, b = rng.choice(ids), rng.choice(ids)
            t = rng.randrange(5 * HOUR_MS)
            if kind < 0.3:
                props = {
                    "country": PropVersion(
                        rng.choice(["US", "CA", "ü"]),
                        rng.randrange(4),
                        rng.choice(["e1", "e2", "é"]),
                    )
                }
                nodes.append(NodeWrite("Profile", a, t, t + rng.randrange(1000), props))
            elif kind < 0.65:
                edges.append(
                    EdgeWrite("Profile", a, rng.choice(["PLAYED", "LIKED"]), "Title", b, t, t + 5)
                )
            else:
                buckets.append(
                    BucketWrite(
                        "Profile",
                        a,
                        rng.choice(["PLAYED", "LIKED"]),
                        "Title",
                        b,
                        t - t % HOUR_MS,
                        rng.choice("012"),
                        rng.randrange(10),
                    )
                )
        batches.append((nodes, edges, buckets))
    return batches


def test_sqlite_and_cassandra_hold_identical_rows(
    cassandra_module_store: GraphStore, tmp_path
) -> None:
    store = cassandra_module_store
    store.truncate()
    batches = _random_writes(seed=11)
    reference = MergedGraph()
    with SQLiteGraphStore(tmp_path / "g.db") as lite:
        for batch in batches:
            lite.write(*batch)
            reference.apply(*batch)
        for batch in reversed(batches):
            store.write(*batch)
        assert store.dump() == lite.dump() == reference.dump()
        assert store.stats() == lite.stats()
        for node_id in ["0", "3", "é"]:
            ref = ("Profile", node_id)
            assert store.neighbors(ref, "both", limit=7) == lite.neighbors(ref, "both", limit=7)
            assert store.khop(ref, 2, limit_per_hop=3) == lite.khop(ref, 2, limit_per_hop=3)
            target = ("Title", "日本")
            assert store.shortest_path(ref, target) == lite.shortest_path(ref, target)
    assert isinstance(store, CassandraGraphStore)
    assert store.check_mirror() == []


def test_equal_timestamp_ties_resolve_by_value_bytes(cassandra_module_store: GraphStore) -> None:
    """The rule the property encoding relies on, checked on this server version."""
    assert isinstance(cassandra_module_store, CassandraGraphStore)
    session, ks = cassandra_module_store.session, cassandra_module_store.config.keyspace
    cassandra_module_store.truncate()
    update = session.prepare(
        f"UPDATE {ks}.nodes USING TIMESTAMP 7 SET props = props + ? WHERE type = ? AND id = ?"
    )
    for node_id, order in (("a", ["b", "a"]), ("b", ["a", "b"]), ("c", ["é", "\x7f"])):
        for value in order:
            session.execute(update, ({"k": value}, "Probe", node_id))
    rows = {
        r[0]: r[1]["k"]
        for r in session.execute(
            f"SELECT id, props FROM {ks}.nodes WHERE type = 'Probe' ALLOW FILTERING"
        )
    }
    assert rows == {"a": "b", "b": "b", "c": "é"}  # greater (unsigned) bytes win


def test_merges_are_encoded_as_cell_timestamps(cassandra_module_store: GraphStore) -> None:
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    store.write(
        [NodeWrite("Profile", "1", 100, 200, {"c": PropVersion("US", 150, "e1")})],
        [EdgeWrite("Profile", "1", "PLAYED", "Title", "9", 120, 180)],
        [BucketWrite("Profile", "1", "PLAYED", "Title", "9", 0, "0", 4)],
    )
    ks = store.config.keyspace
    row = store.session.execute(
        f"SELECT WRITETIME(first_seen), WRITETIME(last_seen), TTL(last_seen) FROM {ks}.nodes "
        "WHERE type = 'Profile' AND id = '1'"
    ).one()
    assert row == (FIRST_SEEN_BASE - 100, 200, None)
    bucket = store.session.execute(f"SELECT count, WRITETIME(count) FROM {ks}.edge_buckets").one()
    assert bucket == (4, 4)
    edge_in = store.session.execute(
        f"SELECT WRITETIME(first_seen), WRITETIME(last_seen), WRITETIME(counts) FROM {ks}.adjacency "
        "WHERE node_type = 'Title' AND node_id = '9' AND dir = 'in'"
    ).one()
    assert edge_in == (FIRST_SEEN_BASE - 120, 180, [4])


def test_ttls_per_node_and_edge_type(
    cassandra_endpoint: CassandraEndpoint, cassandra_keyspace: str
) -> None:
    url = cassandra_endpoint.url(cassandra_keyspace)
    with CassandraGraphStore(
        url, node_ttl={"Session": 3600}, edge_ttl={"*": 7200, "FOLLOWS": 0}
    ) as store:
        store.truncate()
        store.write(
            [NodeWrite("Session", "s", 1, 2), NodeWrite("Profile", "p", 1, 2)],
            [
                EdgeWrite("Profile", "p", "USED", "Session", "s", 1, 2),
                EdgeWrite("Profile", "p", "FOLLOWS", "Profile", "q", 1, 2),
            ],
            [BucketWrite("Profile", "p", "USED", "Session", "s", 0, "0", 1)],
        )
        ks = store.config.keyspace
        ttl = {
            r[0]: r[1]
            for r in store.session.execute(f"SELECT type, TTL(last_seen) FROM {ks}.nodes")
        }
        assert 0 < ttl["Session"] <= 3600 and ttl["Profile"] is None
        edge_ttl = {
            r[0]: r[1]
            for r in store.session.execute(
                f"SELECT edge_type, TTL(first_seen) FROM {ks}.adjacency WHERE node_type = 'Profile' "
                "AND node_id = 'p' AND dir = 'out'"
            )
        }
        assert 3600 < edge_ttl["USED"] <= 7200 and edge_ttl["FOLLOWS"] is None
        bucket_ttl = store.session.execute(f"SELECT TTL(count) FROM {ks}.edge_buckets").one()[0]
        assert 3600 < bucket_ttl <= 7200
        assert {e.type for e in store.neighbors(("Profile", "p"))} == {"USED", "FOLLOWS"}


def test_network_topology_replication(cassandra_endpoint: CassandraEndpoint) -> None:
    keyspace = f"rdgt_nts_{uuid.uuid4().hex[:8]}"
    url = cassandra_endpoint.url(keyspace) + "?replication=datacenter1:1"
    with CassandraGraphStore(url) as store:
        try:
            row = store.session.execute(
                "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
                (keyspace,),
            ).one()
            assert row[0]["class"].endswith("NetworkTopologyStrategy")
            assert row[0]["datacenter1"] == "1"
            store.write([NodeWrite("Profile", "1", 1, 1)], [], [])
            assert store.get_node(("Profile", "1")) is not None
        finally:
            store.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)


def test_unreachable_cluster_names_the_host_and_the_fix() -> None:
    with pytest.raises(ConnectorError, match=r"127\.0\.0\.1:1\b.*make up"):
        CassandraGraphStore("cassandra://127.0.0.1:1/rdg", connect_timeout_s=1)


def test_timeouts_are_retried_then_reported_as_backpressure(
    cassandra_endpoint: CassandraEndpoint, cassandra_keyspace: str
) -> None:
    """A client timeout far below any real latency makes every write time out."""
    url = cassandra_endpoint.url(cassandra_keyspace)
    with (
        CassandraGraphStore(url, request_timeout_s=1e-6, max_attempts=3, backoff_s=0.001) as store,
        pytest.raises(BackpressureError, match=r"after 3 attempt\(s\).*concurrency"),
    ):
        store.write([NodeWrite("Profile", "1", 1, 1)], [], [])


def test_recent_index_fallback_reads_the_partition_exactly(
    cassandra_module_store: GraphStore,
) -> None:
    """With a tiny scan budget every query takes the partition-read fallback; with the
    normal budget the index path; both must give the reference answer."""
    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    hub = ("Title", "hub")
    writes = []
    for i in range(60):
        for hour in range(i % 5 + 1):  # many stale index rows per edge
            t = hour * HOUR_MS + i
            writes.append(EdgeWrite("Profile", f"p{i:02}", "PLAYED", "Title", "hub", t, t))
    store.write([], writes, [])
    expected = sorted(
        (e for e in MergedGraph.of(edges=writes).edge_writes()),
        key=lambda e: (-e.last_seen, e.src_id),
    )
    reader = store._reader
    for factor, extra in ((4, 256), (0, 3)):
        reader.max_scan_factor, reader.max_scan_extra = factor, extra
        got = store.neighbors(hub, "in", limit=7, since=HOUR_MS)
        want = [e for e in expected if e.last_seen >= HOUR_MS][:7]
        assert [(e.src[1], e.last_seen) for e in got] == [(e.src_id, e.last_seen) for e in want]
        got_until = store.neighbors(hub, "both", limit=5, until=2 * HOUR_MS + 30)
        want_until = [e for e in expected if e.last_seen <= 2 * HOUR_MS + 30][:5]
        assert [e.src[1] for e in got_until] == [e.src_id for e in want_until]
    reader.max_scan_factor, reader.max_scan_extra = 4, 256


def test_counts_summed_on_the_server_or_read_as_maps_agree(
    cassandra_module_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cassandra 5 sums an edge's bucket counts in the query (collection_sum); servers
    without collection functions (older Cassandra, ScyllaDB) read the map instead."""
    import graphstore.cassandra.statements as cassandra_statements

    store = cassandra_module_store
    assert isinstance(store, CassandraGraphStore)
    store.truncate()
    for batch in _random_writes(seed=23):
        store.write(*batch)
    assert "collection_sum" in store._stmts.adj_partition.query_string
    monkeypatch.setattr(cassandra_statements, "_COUNT_SUM", "no_such_function(counts)")
    with CassandraGraphStore(store.config) as fallback:
        assert "collection_sum" not in fallback._stmts.adj_partition.query_string
        for node_id in ["0", "3", "7", "é"]:
            ref = ("Profile", node_id)
            got = store.neighbors(ref, "both", limit=50)
            assert got == fallback.neighbors(ref, "both", limit=50)
            assert sum(e.count for e in got) > 0
            assert store.khop(ref, 2, limit_per_hop=4) == fallback.khop(ref, 2, limit_per_hop=4)
