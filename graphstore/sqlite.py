"""The embedded store: one SQLite file, merge rules as ``ON CONFLICT DO UPDATE`` upserts.

Every rule is a commutative, idempotent SQL expression (MIN, MAX, a row-value comparison
of (ts, event_id, value)), so replays and reordering leave identical rows. One
``write()`` is one transaction. WAL lets readers in other processes query while the job
writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import defaultdict
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from graphstore.base import GraphStore, WriteStats, check_ref, merge_directions
from graphstore.model import (
    BucketRow,
    BucketWrite,
    Direction,
    Edge,
    EdgeDetail,
    EdgeRow,
    EdgeWrite,
    GraphDump,
    Node,
    NodeRef,
    NodeRow,
    NodeWrite,
    PropRow,
)
from ingest.errors import ConfigError, ConnectorError

__all__ = ["SCHEMA_VERSION", "SQLiteGraphStore"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_props (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    ts INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (type, id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edges (
    src_type TEXT NOT NULL,
    src_id TEXT NOT NULL,
    edge_type TEXT NOT NULL,
    dst_type TEXT NOT NULL,
    dst_id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL,  -- SUM(edge_buckets.count), kept current by the triggers below
    PRIMARY KEY (src_type, src_id, edge_type, dst_type, dst_id)
) WITHOUT ROWID;
-- Covering indexes in answer order: a neighbor query reads only the rows it returns.
CREATE INDEX IF NOT EXISTS edges_out_recent ON edges
    (src_type, src_id, last_seen DESC, edge_type, dst_type, dst_id, first_seen, count);
CREATE INDEX IF NOT EXISTS edges_in_recent ON edges
    (dst_type, dst_id, last_seen DESC, edge_type, src_type, src_id, first_seen, count);
CREATE TABLE IF NOT EXISTS edge_buckets (
    src_type TEXT NOT NULL,
    src_id TEXT NOT NULL,
    edge_type TEXT NOT NULL,
    dst_type TEXT NOT NULL,
    dst_id TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    partition TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS edge_count_new_bucket AFTER INSERT ON edge_buckets
WHEN NEW.count > 0 BEGIN
    UPDATE edges SET count = count + NEW.count
    WHERE src_type = NEW.src_type AND src_id = NEW.src_id AND edge_type = NEW.edge_type
      AND dst_type = NEW.dst_type AND dst_id = NEW.dst_id;
END;
CREATE TRIGGER IF NOT EXISTS edge_count_bucket_grew AFTER UPDATE OF count ON edge_buckets
WHEN NEW.count <> OLD.count BEGIN
    UPDATE edges SET count = count + NEW.count - OLD.count
    WHERE src_type = NEW.src_type AND src_id = NEW.src_id AND edge_type = NEW.edge_type
      AND dst_type = NEW.dst_type AND dst_id = NEW.dst_id;
END;
"""

_UPSERT_NODE = """
INSERT INTO nodes (type, id, first_seen, last_seen) VALUES (?, ?, ?, ?)
ON CONFLICT (type, id) DO UPDATE SET
    first_seen = MIN(first_seen, excluded.first_seen),
    last_seen = MAX(last_seen, excluded.last_seen)
"""

# The WHERE makes the update conditional: the greatest (ts, event_id, value) wins.
_UPSERT_PROP = """
INSERT INTO node_props (type, id, name, value, ts, event_id) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (type, id, name) DO UPDATE SET
    value = excluded.value, ts = excluded.ts, event_id = excluded.event_id
WHERE (excluded.ts, excluded.event_id, excluded.value) > (ts, event_id, value)
"""

# A new edge starts with the sum of buckets that arrived before it (writes may come in
# any order); afterwards the bucket triggers keep ``count`` current.
_UPSERT_EDGE = """
INSERT INTO edges (src_type, src_id, edge_type, dst_type, dst_id, first_seen, last_seen, count)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, (
    SELECT COALESCE(SUM(count), 0) FROM edge_buckets
    WHERE src_type = ?1 AND src_id = ?2 AND edge_type = ?3 AND dst_type = ?4 AND dst_id = ?5)
WHERE true
ON CONFLICT (src_type, src_id, edge_type, dst_type, dst_id) DO UPDATE SET
    first_seen = MIN(first_seen, excluded.first_seen),
    last_seen = MAX(last_seen, excluded.last_seen)
"""

_UPSERT_BUCKET = """
INSERT INTO edge_buckets
    (src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition, count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition)
DO UPDATE SET count = MAX(count, excluded.count)
"""

OneWay = Literal["out", "in"]
_EDGE_COLUMNS = "src_type, src_id, edge_type, dst_type, dst_id, first_seen, last_seen"
_SIDES = {
    # (anchor condition, selected columns, order within the side - the anchor is constant)
    "out": (
        "src_type = ?1 AND src_id = ?2",
        "1 AS is_out, edge_type, dst_type AS other_type, dst_id AS other_id",
        "last_seen DESC, edge_type, dst_type, dst_id",
    ),
    "in": (
        "dst_type = ?1 AND dst_id = ?2",
        "0 AS is_out, edge_type, src_type AS other_type, src_id AS other_id",
        "last_seen DESC, edge_type, src_type, src_id",
    ),
}


def _adjacency_sql(direction: OneWay, edge_type: bool, since: bool, until: bool) -> str:
    """Built from fixed fragments only; every value is a bound parameter.

    Parameters: ?1/?2 the node, ?3 edge type, ?4 since, ?5 until, ?6 limit. Rows are
    (is_out, edge_type, other_type, other_id, first_seen, last_seen, count), in answer
    order, read from a covering index without sorting.
    """
    anchor, columns, order = _SIDES[direction]
    where = [anchor]
    if edge_type:
        where.append("edge_type = ?3")
    if since:
        where.append("last_seen >= ?4")
    if until:
        where.append("last_seen <= ?5")
    return (
        f"SELECT {columns}, first_seen, last_seen, count FROM edges "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?6"
    )


class SQLiteGraphStore(GraphStore):
    """Graph store in one SQLite file (or ``":memory:"``); safe to share between threads."""

    kind = "sqlite"

    def __init__(
        self,
        path: str | PathLike[str] = ":memory:",
        *,
        busy_timeout_s: float = 10.0,
        cache_mb: int = 64,
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(
                    f"SQLite store path {self.path!r}: directory {str(parent)!r} does not exist; "
                    "create it or choose another path"
                )
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._configure(cache_mb)
        except sqlite3.Error as exc:
            raise ConnectorError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        self._adj_sql: dict[tuple[OneWay, bool, bool, bool], str] = {}
        log.debug("opened SQLite graph store %s", self.path)

    def _configure(self, cache_mb: int) -> None:
        conn = self._conn
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite store %s: journal_mode is %s, not wal", self.path, mode)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA cache_size={-int(cache_mb) * 1024}")
        conn.execute("PRAGMA mmap_size=268435456")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise ConfigError(
                f"SQLite store {self.path!r} has schema version {version}, this code expects "
                f"{SCHEMA_VERSION}; point the store at a new file"
            )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"SQLiteGraphStore({self.path!r})"

    # ------------------------------------------------------------------ writes

    def _write(
        self, nodes: list[NodeWrite], edges: list[EdgeWrite], buckets: list[BucketWrite]
    ) -> WriteStats:
        prop_rows = [
            (n.type, n.id, name, pv.value, pv.ts, pv.event_id)
            for n in nodes
            for name, pv in n.props.items()
        ]
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        _UPSERT_NODE, [(n.type, n.id, n.first_seen, n.last_seen) for n in nodes]
                    )
                    conn.executemany(_UPSERT_PROP, prop_rows)
                    conn.executemany(
                        _UPSERT_EDGE,
                        [
                            (
                                e.src_type,
                                e.src_id,
                                e.edge_type,
                                e.dst_type,
                                e.dst_id,
                                e.first_seen,
                                e.last_seen,
                            )
                            for e in edges
                        ],
                    )
                    conn.executemany(
                        _UPSERT_BUCKET,
                        [
                            (
                                b.src_type,
                                b.src_id,
                                b.edge_type,
                                b.dst_type,
                                b.dst_id,
                                b.bucket_start,
                                b.partition,
                                b.count,
                            )
                            for b in buckets
                        ],
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ConnectorError(
                    f"SQLite store {self.path!r}: write of {len(nodes)} nodes, {len(edges)} edges, "
                    f"{len(buckets)} buckets failed: {exc}"
                ) from exc
        statements = len(nodes) + len(prop_rows) + len(edges) + len(buckets)
        return WriteStats(len(nodes), len(edges), len(buckets), len(prop_rows), statements)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def truncate(self) -> None:
        with self._lock:
            self._conn.executescript(
                "BEGIN; DELETE FROM nodes; DELETE FROM node_props; DELETE FROM edges; "
                "DELETE FROM edge_buckets; COMMIT;"
            )

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise ConnectorError(f"SQLite store {self.path!r}: query failed: {exc}") from exc

    # ------------------------------------------------------------------ reads

    def get_node(self, ref: NodeRef) -> Node | None:
        node_type, node_id = check_ref(ref)
        with self._lock:
            rows = self._query(
                "SELECT first_seen, last_seen FROM nodes WHERE type = ? AND id = ?",
                (node_type, node_id),
            )
            if not rows:
                return None
            props = self._query(
                "SELECT name, value FROM node_props WHERE type = ? AND id = ?", (node_type, node_id)
            )
        return Node(node_type, node_id, dict(props), rows[0][0], rows[0][1])

    def _adjacent(
        self,
        ref: NodeRef,
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[Edge]:
        if direction == "both":
            # Two index-ordered reads merged in Python beat one UNION with a sort step.
            outs = self._adjacent(ref, "out", edge_type, since, until, limit)
            ins = self._adjacent(ref, "in", edge_type, since, until, limit)
            return merge_directions(outs, ins, limit)
        shape = (direction, edge_type is not None, since is not None, until is not None)
        sql = self._adj_sql.get(shape)
        if sql is None:
            sql = self._adj_sql[shape] = _adjacency_sql(direction, *shape[1:])
        rows = self._query(sql, (ref[0], ref[1], edge_type, since, until, limit))
        return [
            Edge(ref, et, (ot, oi), {}, first, last, count)
            if is_out
            else Edge((ot, oi), et, ref, {}, first, last, count)
            for is_out, et, ot, oi, first, last, count in rows
        ]

    def get_edge(self, src: NodeRef, edge_type: str, dst: NodeRef) -> EdgeDetail | None:
        (src_type, src_id), (dst_type, dst_id) = check_ref(src, "source"), check_ref(dst, "target")
        key = (src_type, src_id, edge_type, dst_type, dst_id)
        where = "src_type = ? AND src_id = ? AND edge_type = ? AND dst_type = ? AND dst_id = ?"
        with self._lock:
            rows = self._query(f"SELECT first_seen, last_seen FROM edges WHERE {where}", key)
            if not rows:
                return None
            buckets = self._query(
                f"SELECT bucket_start, SUM(count) FROM edge_buckets WHERE {where} "
                "GROUP BY bucket_start ORDER BY bucket_start",
                key,
            )
        return EdgeDetail(
            (src_type, src_id),
            edge_type,
            (dst_type, dst_id),
            {},
            rows[0][0],
            rows[0][1],
            sum(count for _, count in buckets),
            [(start, count) for start, count in buckets],
        )

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            nodes = self._query("SELECT type, COUNT(*) FROM nodes GROUP BY type ORDER BY type")
            edges = self._query(
                "SELECT edge_type, COUNT(*) FROM edges GROUP BY edge_type ORDER BY edge_type"
            )
        return {"nodes": dict(nodes), "edges": dict(edges)}

    def dump(self) -> GraphDump:
        with self._lock:
            node_rows = self._query("SELECT type, id, first_seen, last_seen FROM nodes")
            prop_rows = self._query("SELECT type, id, name, value, ts, event_id FROM node_props")
            edge_rows = self._query(f"SELECT {_EDGE_COLUMNS} FROM edges")
            bucket_rows = self._query(
                "SELECT src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition, "
                "count FROM edge_buckets"
            )
        props: dict[NodeRef, list[PropRow]] = defaultdict(list)
        for node_type, node_id, name, value, ts, event_id in prop_rows:
            props[(node_type, node_id)].append(PropRow(name, value, ts, event_id))
        return GraphDump.of(
            [NodeRow(t, i, f, ls, tuple(props.get((t, i), ()))) for t, i, f, ls in node_rows],
            [EdgeRow(*row) for row in edge_rows],
            [BucketRow(*row) for row in bucket_rows],
        )

    def file_size(self) -> int:
        """Bytes on disk including the WAL (0 for an in-memory store)."""
        if self.path == ":memory:":
            return 0
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))
