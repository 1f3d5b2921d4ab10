"""The store's CQL: every data statement, prepared once when the store opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphstore.cassandra.schema import SCHEMA_TABLES
from graphstore.cassandra.writer import Binder

__all__ = ["Prepared"]

_ADJ_WHERE = (
    "node_type = ? AND node_id = ? AND dir = ? AND edge_type = ? AND other_type = ? "
    "AND other_id = ?"
)
# Keyed copies carry their row's key, so scans select only them (and, for multi-node
# requests, the node); rows written before keyed copies need the whole row.
_RECENT_KEYED = "edge, node_id"
_RECENT_WHOLE = "hour, dir, edge_type, other_type, other_id, edge, node_id"
_RECENT_ONE = "WHERE node_type = ? AND node_id = ? AND hour >= ? AND hour <= ?"
_RECENT_MANY = (
    "WHERE node_type = ? AND node_id IN ? AND hour >= ? AND hour <= ? PER PARTITION LIMIT ?"
)
_RECENT_WHERE = (
    "node_type = ? AND node_id = ? AND hour = ? AND dir = ? AND edge_type = ? "
    "AND other_type = ? AND other_id = ?"
)
_BUCKET_WHERE = "src_type = ? AND src_id = ? AND edge_type = ? AND dst_type = ? AND dst_id = ?"
_WITH = "USING TTL ? AND TIMESTAMP ?"
_ADJ_COLUMNS = "dir, edge_type, other_type, other_id, first_seen, last_seen, {count}"
# Cassandra 5.0's collection functions sum an edge's bucket counts on the server: the
# driver then decodes one bigint per row instead of a map with tuple keys, which halves
# the client CPU of neighbor reads. Older Cassandra and ScyllaDB read the map.
_COUNT_SUM = "collection_sum(map_values(counts))"


@dataclass(frozen=True)
class Prepared:
    node_first: Binder
    node_last: Binder
    node_props: Binder
    adj_first: Binder
    adj_last: Binder
    adj_count: Binder
    copy_edge: Binder
    bucket: Binder
    get_node: Any
    recent_scan: Any
    recent_scan_many: Any
    recent_scan_whole: Any
    recent_scan_many_whole: Any
    adj_lookup: Any
    adj_partition: Any
    adj_dir: Any
    adj_dirs_typed: Any
    get_edge: Any
    get_buckets: Any
    scan_nodes: Any
    scan_adjacency: Any
    scan_buckets: Any
    scan_recent: Any
    truncate: tuple[Any, ...]

    @classmethod
    def prepare(cls, session: Any, ks: str, protocol_version: int) -> Prepared:
        from cassandra import InvalidRequest

        def p(cql: str) -> Any:
            return session.prepare(cql)

        def upd(table: str, assignment: str, where: str) -> Binder:
            return Binder(
                p(f"UPDATE {ks}.{table} {_WITH} SET {assignment} WHERE {where}"), protocol_version
            )

        node_where = "type = ? AND id = ?"
        try:
            p(f"SELECT {_COUNT_SUM} FROM {ks}.adjacency LIMIT 1")
            count = _COUNT_SUM
        except InvalidRequest:  # no collection functions on this server
            count = "counts"
        columns = _ADJ_COLUMNS.format(count=count)
        adj = f"SELECT {columns} FROM {ks}.adjacency WHERE node_type = ? AND node_id = ?"
        return cls(
            node_first=upd("nodes", "first_seen = ?", node_where),
            node_last=upd("nodes", "last_seen = ?", node_where),
            node_props=upd("nodes", "props = props + ?", node_where),
            adj_first=upd("adjacency", "first_seen = ?", _ADJ_WHERE),
            adj_last=upd("adjacency", "last_seen = ?", _ADJ_WHERE),
            adj_count=upd("adjacency", "counts = counts + ?", _ADJ_WHERE),
            copy_edge=upd("adjacency_recent", "edge = ?", _RECENT_WHERE),
            bucket=upd(
                "edge_buckets",
                "count = ?",
                f"{_BUCKET_WHERE} AND bucket_start = ? AND partition = ?",
            ),
            get_node=p(f"SELECT first_seen, last_seen, props FROM {ks}.nodes WHERE {node_where}"),
            recent_scan=p(f"SELECT {_RECENT_KEYED} FROM {ks}.adjacency_recent {_RECENT_ONE}"),
            recent_scan_many=p(f"SELECT {_RECENT_KEYED} FROM {ks}.adjacency_recent {_RECENT_MANY}"),
            recent_scan_whole=p(f"SELECT {_RECENT_WHOLE} FROM {ks}.adjacency_recent {_RECENT_ONE}"),
            recent_scan_many_whole=p(
                f"SELECT {_RECENT_WHOLE} FROM {ks}.adjacency_recent {_RECENT_MANY}"
            ),
            scan_recent=p(
                "SELECT node_type, node_id, hour, dir, edge_type, other_type, other_id, "
                f"edge FROM {ks}.adjacency_recent"
            ),
            adj_lookup=p(f"{adj} AND (dir, edge_type, other_type, other_id) IN ?"),
            adj_partition=p(adj),
            adj_dir=p(f"{adj} AND dir = ?"),
            adj_dirs_typed=p(f"{adj} AND dir IN ? AND edge_type = ?"),
            get_edge=p(
                f"SELECT first_seen, last_seen, counts FROM {ks}.adjacency WHERE {_ADJ_WHERE}"
            ),
            get_buckets=p(
                f"SELECT bucket_start, partition, count FROM {ks}.edge_buckets "
                f"WHERE {_BUCKET_WHERE}"
            ),
            scan_nodes=p(f"SELECT type, id, first_seen, last_seen, props FROM {ks}.nodes"),
            scan_adjacency=p(
                "SELECT node_type, node_id, dir, edge_type, other_type, other_id, first_seen, "
                f"last_seen, counts FROM {ks}.adjacency"
            ),
            scan_buckets=p(
                "SELECT src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition, "
                f"count FROM {ks}.edge_buckets"
            ),
            truncate=tuple(p(f"TRUNCATE {ks}.{table}") for table in SCHEMA_TABLES),
        )
