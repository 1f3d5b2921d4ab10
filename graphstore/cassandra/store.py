"""The Cassandra/ScyllaDB graph store.

Writes never read: each merge rule is encoded in per-cell write timestamps (see
``graphstore.cassandra.encoding``), so Cassandra's own last-write-wins reconciliation
produces the merged value whatever the order, batching or repetition of writes.
Reads are single-partition queries issued concurrently.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphstore.base import GraphStore, OneWay, WriteStats, check_ref
from graphstore.cassandra.config import CassandraConfig, parse_cassandra_url
from graphstore.cassandra.driver import require_driver
from graphstore.cassandra.encoding import (
    decode_prop,
    encode_prop,
    first_seen_timestamp,
)
from graphstore.cassandra.schema import SCHEMA_TABLES, create_schema
from graphstore.cassandra.writer import AsyncWriter, MutationGroups, map_driver_error
from graphstore.model import (
    BucketRow,
    BucketWrite,
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
    edge_sort_key,
)
from ingest.errors import ConfigError, ConnectorError

__all__ = ["CassandraGraphStore"]

log = logging.getLogger(__name__)

_EDGE_WHERE = {
    "edges_out": "src_type = ? AND src_id = ? AND edge_type = ? AND dst_type = ? AND dst_id = ?",
    "edges_in": "dst_type = ? AND dst_id = ? AND edge_type = ? AND src_type = ? AND src_id = ?",
}
_BUCKET_WHERE = _EDGE_WHERE["edges_out"]
_WITH = "USING TTL ? AND TIMESTAMP ?"


@dataclass(frozen=True)
class _Prepared:
    node_first: Any
    node_last: Any
    node_props: Any
    out_first: Any
    out_last: Any
    out_count: Any
    in_first: Any
    in_last: Any
    in_count: Any
    bucket: Any
    get_node: Any
    out_all: Any
    out_typed: Any
    in_all: Any
    in_typed: Any
    get_edge: Any
    get_buckets: Any

    @classmethod
    def prepare(cls, session: Any, ks: str) -> _Prepared:
        def p(cql: str) -> Any:
            return session.prepare(cql)

        def upd(table: str, assignment: str, where: str) -> Any:
            return p(f"UPDATE {ks}.{table} {_WITH} SET {assignment} WHERE {where}")

        node_where = "type = ? AND id = ?"
        return cls(
            node_first=upd("nodes", "first_seen = ?", node_where),
            node_last=upd("nodes", "last_seen = ?", node_where),
            node_props=upd("nodes", "props = props + ?", node_where),
            out_first=upd("edges_out", "first_seen = ?", _EDGE_WHERE["edges_out"]),
            out_last=upd("edges_out", "last_seen = ?", _EDGE_WHERE["edges_out"]),
            out_count=upd("edges_out", "counts = counts + ?", _EDGE_WHERE["edges_out"]),
            in_first=upd("edges_in", "first_seen = ?", _EDGE_WHERE["edges_in"]),
            in_last=upd("edges_in", "last_seen = ?", _EDGE_WHERE["edges_in"]),
            in_count=upd("edges_in", "counts = counts + ?", _EDGE_WHERE["edges_in"]),
            bucket=upd(
                "edge_buckets",
                "count = ?",
                f"{_BUCKET_WHERE} AND bucket_start = ? AND partition = ?",
            ),
            get_node=p(f"SELECT first_seen, last_seen, props FROM {ks}.nodes WHERE {node_where}"),
            out_all=p(
                f"SELECT edge_type, dst_type, dst_id, first_seen, last_seen, counts "
                f"FROM {ks}.edges_out WHERE src_type = ? AND src_id = ?"
            ),
            out_typed=p(
                f"SELECT edge_type, dst_type, dst_id, first_seen, last_seen, counts "
                f"FROM {ks}.edges_out WHERE src_type = ? AND src_id = ? AND edge_type = ?"
            ),
            in_all=p(
                f"SELECT edge_type, src_type, src_id, first_seen, last_seen, counts "
                f"FROM {ks}.edges_in WHERE dst_type = ? AND dst_id = ?"
            ),
            in_typed=p(
                f"SELECT edge_type, src_type, src_id, first_seen, last_seen, counts "
                f"FROM {ks}.edges_in WHERE dst_type = ? AND dst_id = ? AND edge_type = ?"
            ),
            get_edge=p(
                f"SELECT first_seen, last_seen, counts FROM {ks}.edges_out "
                f"WHERE {_EDGE_WHERE['edges_out']}"
            ),
            get_buckets=p(
                f"SELECT bucket_start, partition, count FROM {ks}.edge_buckets "
                f"WHERE {_BUCKET_WHERE}"
            ),
        )


def _span(first: int | None, last: int) -> int:
    # With TTLs a first_seen cell that was never re-asserted can expire before last_seen.
    return last if first is None else first


class CassandraGraphStore(GraphStore):
    """Graph store on Cassandra 4/5 or ScyllaDB (see docs/graphstore.md for the design)."""

    kind = "cassandra"

    def __init__(self, config: CassandraConfig | str | None = None, **options: Any) -> None:
        if isinstance(config, str):
            config = parse_cassandra_url(config, **options)
        elif config is None:
            config = parse_cassandra_url("cassandra://127.0.0.1:9042/rdg", **options)
        elif options:
            raise ConfigError("pass either a CassandraConfig or keyword options, not both")
        self.config = config
        self.target = f"{','.join(config.hosts)}:{config.port}"
        require_driver()
        from cassandra import ConsistencyLevel
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
        from cassandra.query import tuple_factory

        self._consistency = ConsistencyLevel.name_to_value[config.consistency]
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=config.local_dc)
            ),
            consistency_level=self._consistency,
            request_timeout=config.request_timeout_s,
            row_factory=tuple_factory,
        )
        auth = (
            PlainTextAuthProvider(username=config.username, password=config.password or "")
            if config.username
            else None
        )
        self._cluster = Cluster(
            contact_points=list(config.hosts),
            port=config.port,
            auth_provider=auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=config.connect_timeout_s,
            control_connection_timeout=config.connect_timeout_s,
            **({"protocol_version": config.protocol_version} if config.protocol_version else {}),
        )
        try:
            self._session = self._cluster.connect()
        except Exception as exc:
            self._cluster.shutdown()
            raise ConnectorError(
                f"cannot connect to Cassandra at {self.target}: {exc}. Is the local cluster up? "
                "Start it with `make up` (or set RDG_CASSANDRA_HOSTS / the store URL)"
            ) from exc
        try:
            if config.create_schema:
                create_schema(self._session, config)
            self._stmts = _Prepared.prepare(self._session, config.keyspace)
        except Exception as exc:
            self._cluster.shutdown()
            if "does not exist" in str(exc) or "unconfigured table" in str(exc):
                raise ConfigError(
                    f"Cassandra keyspace {config.keyspace!r} at {self.target} has no graph "
                    "tables; open the store with create_schema=True once"
                ) from exc
            raise map_driver_error(exc, self.target, "create the graph schema") from exc
        self._writer = AsyncWriter(
            self._session,
            self.target,
            concurrency=config.concurrency,
            max_attempts=config.max_attempts,
            backoff_s=config.backoff_s,
            max_backoff_s=config.max_backoff_s,
        )
        log.info("opened Cassandra graph store %s", config.url)

    def __repr__(self) -> str:
        return f"CassandraGraphStore({self.config.url!r})"

    @property
    def session(self) -> Any:
        """The driver session (for tools and tests that need raw CQL)."""
        return self._session

    # ------------------------------------------------------------------ writes

    def _mutations(
        self, nodes: list[NodeWrite], edges: list[EdgeWrite], buckets: list[BucketWrite]
    ) -> tuple[MutationGroups, int]:
        st, cfg = self._stmts, self.config
        groups = MutationGroups()
        add = groups.add
        props = 0
        for n in nodes:
            ttl = cfg.node_ttl_for(n.type)
            key = (n.type, n.id)
            part = ("n", *key)
            add(part, st.node_first, (ttl, first_seen_timestamp(n.first_seen), n.first_seen, *key))
            add(part, st.node_last, (ttl, n.last_seen, n.last_seen, *key))
            if n.props:
                by_ts: dict[int, dict[str, str]] = defaultdict(dict)
                for name, pv in n.props.items():
                    by_ts[pv.ts][name] = encode_prop(pv)
                for ts, cells in by_ts.items():
                    add(part, st.node_props, (ttl, ts, cells, *key))
                props += len(n.props)
        for e in edges:
            ttl = cfg.edge_ttl_for(e.edge_type)
            out_key = (e.src_type, e.src_id, e.edge_type, e.dst_type, e.dst_id)
            in_key = (e.dst_type, e.dst_id, e.edge_type, e.src_type, e.src_id)
            out_part, in_part = ("o", e.src_type, e.src_id), ("i", e.dst_type, e.dst_id)
            first_ts = first_seen_timestamp(e.first_seen)
            add(out_part, st.out_first, (ttl, first_ts, e.first_seen, *out_key))
            add(out_part, st.out_last, (ttl, e.last_seen, e.last_seen, *out_key))
            add(in_part, st.in_first, (ttl, first_ts, e.first_seen, *in_key))
            add(in_part, st.in_last, (ttl, e.last_seen, e.last_seen, *in_key))
        for b in buckets:
            ttl = cfg.edge_ttl_for(b.edge_type)
            out_key = (b.src_type, b.src_id, b.edge_type, b.dst_type, b.dst_id)
            in_key = (b.dst_type, b.dst_id, b.edge_type, b.src_type, b.src_id)
            cell = {(b.bucket_start, b.partition): b.count}
            add(
                ("b", *out_key),
                st.bucket,
                (ttl, b.count, b.count, *out_key, b.bucket_start, b.partition),
            )
            add(("o", b.src_type, b.src_id), st.out_count, (ttl, b.count, cell, *out_key))
            add(("i", b.dst_type, b.dst_id), st.in_count, (ttl, b.count, cell, *in_key))
        return groups, props

    def _write(
        self, nodes: list[NodeWrite], edges: list[EdgeWrite], buckets: list[BucketWrite]
    ) -> WriteStats:
        groups, props = self._mutations(nodes, edges, buckets)
        statements = groups.statements(self.config.max_batch_statements, self._consistency)
        action = f"write {len(nodes)} nodes, {len(edges)} edges, {len(buckets)} buckets"
        _, retries = self._writer.execute(statements, action)
        return WriteStats(len(nodes), len(edges), len(buckets), props, groups.count, retries)

    def close(self) -> None:
        self._cluster.shutdown()

    def truncate(self) -> None:
        for table in SCHEMA_TABLES:
            self._execute(f"TRUNCATE {self.config.keyspace}.{table}", (), "truncate", timeout=120)

    # ------------------------------------------------------------------ reads

    def _execute(
        self, stmt: Any, params: Sequence[Any], action: str, timeout: float | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            if timeout is None:
                return list(self._session.execute(stmt, params))
            return list(self._session.execute(stmt, params, timeout=timeout))
        except Exception as exc:
            raise map_driver_error(exc, self.target, action) from exc

    def _read_many(
        self, prepared: Any, params: Sequence[tuple[Any, ...]], action: str
    ) -> list[list[tuple[Any, ...]]]:
        """One single-partition read per params tuple, ``concurrency`` at a time."""
        results: list[list[tuple[Any, ...]]] = []
        window = self.config.concurrency
        try:
            for start in range(0, len(params), window):
                futures = [
                    self._session.execute_async(prepared, p) for p in params[start : start + window]
                ]
                results.extend(list(f.result()) for f in futures)
        except Exception as exc:
            raise map_driver_error(exc, self.target, action) from exc
        return results

    def get_node(self, ref: NodeRef) -> Node | None:
        return self.get_nodes([ref]).get(check_ref(ref))

    def get_nodes(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Node]:
        ref_list = list(dict.fromkeys(check_ref(r) for r in refs))
        rows = self._read_many(self._stmts.get_node, ref_list, "read nodes")
        found: dict[NodeRef, Node] = {}
        for ref, result in zip(ref_list, rows, strict=True):
            if not result or result[0][1] is None:
                continue
            first, last, props = result[0]
            values = {k: decode_prop(v).value for k, v in (props or {}).items()}
            found[ref] = Node(ref[0], ref[1], values, _span(first, last), last)
        return found

    def _adjacent_many(
        self,
        refs: Sequence[NodeRef],
        direction: OneWay,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        st = self._stmts
        if direction == "out":
            prepared = st.out_all if edge_type is None else st.out_typed
        else:
            prepared = st.in_all if edge_type is None else st.in_typed
        params = [(r[0], r[1]) if edge_type is None else (r[0], r[1], edge_type) for r in refs]
        results = self._read_many(prepared, params, f"read {direction}-edges")
        lists: list[list[Edge]] = []
        for ref, rows in zip(refs, results, strict=True):
            edges: list[Edge] = []
            for etype, other_type, other_id, first, last, counts in rows:
                if last is None or (since is not None and last < since):
                    continue
                if until is not None and last > until:
                    continue
                total = sum(counts.values()) if counts else 0
                other = (other_type, other_id)
                if direction == "out":
                    edges.append(Edge(ref, etype, other, {}, _span(first, last), last, total))
                else:
                    edges.append(Edge(other, etype, ref, {}, _span(first, last), last, total))
            if len(edges) > limit:
                edges = heapq.nsmallest(limit, edges, key=edge_sort_key)
            else:
                edges.sort(key=edge_sort_key)
            lists.append(edges)
        return lists

    def _adjacent(
        self,
        ref: NodeRef,
        direction: OneWay,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[Edge]:
        return self._adjacent_many([ref], direction, edge_type, since, until, limit)[0]

    def get_edge(self, src: NodeRef, edge_type: str, dst: NodeRef) -> EdgeDetail | None:
        src, dst = check_ref(src, "source"), check_ref(dst, "target")
        key = (src[0], src[1], edge_type, dst[0], dst[1])
        st = self._stmts
        try:
            edge_future = self._session.execute_async(st.get_edge, key)
            bucket_future = self._session.execute_async(st.get_buckets, key)
            edge_rows = list(edge_future.result())
            bucket_rows = list(bucket_future.result())
        except Exception as exc:
            raise map_driver_error(exc, self.target, "read an edge") from exc
        if not edge_rows or edge_rows[0][1] is None:
            return None
        first, last, counts = edge_rows[0]
        per_bucket: dict[int, int] = defaultdict(int)
        for bucket_start, _partition, count in bucket_rows:
            per_bucket[bucket_start] += count
        return EdgeDetail(
            src,
            edge_type,
            dst,
            {},
            _span(first, last),
            last,
            sum(counts.values()) if counts else 0,
            sorted(per_bucket.items()),
        )

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts by type; scans whole tables, so meant for tools and small graphs."""
        ks = self.config.keyspace
        nodes = Counter(
            t
            for t, last in self._execute(
                f"SELECT type, last_seen FROM {ks}.nodes", (), "count nodes"
            )
            if last is not None
        )
        edges = Counter(
            t
            for t, last in self._execute(
                f"SELECT edge_type, last_seen FROM {ks}.edges_out", (), "count edges"
            )
            if last is not None
        )
        return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}

    def dump(self) -> GraphDump:
        ks = self.config.keyspace
        node_rows = []
        for t, i, first, last, props in self._execute(
            f"SELECT type, id, first_seen, last_seen, props FROM {ks}.nodes", (), "dump nodes"
        ):
            if last is None:
                continue
            prop_rows = []
            for name, payload in (props or {}).items():
                pv = decode_prop(payload)
                prop_rows.append(PropRow(name, pv.value, pv.ts, pv.event_id))
            node_rows.append(NodeRow(t, i, _span(first, last), last, tuple(prop_rows)))
        edge_rows = [
            EdgeRow(st, si, et, dt, di, _span(first, last), last)
            for st, si, et, dt, di, first, last in self._execute(
                f"SELECT src_type, src_id, edge_type, dst_type, dst_id, first_seen, last_seen "
                f"FROM {ks}.edges_out",
                (),
                "dump edges",
            )
            if last is not None
        ]
        bucket_rows = [
            BucketRow(*row)
            for row in self._execute(
                f"SELECT src_type, src_id, edge_type, dst_type, dst_id, bucket_start, partition, "
                f"count FROM {ks}.edge_buckets",
                (),
                "dump buckets",
            )
        ]
        return GraphDump.of(node_rows, edge_rows, bucket_rows)

    def check_mirror(self) -> list[str]:
        """Differences between edges_out and edges_in (should be none); for tests and ops."""
        ks = self.config.keyspace
        cols = "first_seen, last_seen, counts"
        out_rows = {
            (r[0], r[1], r[2], r[3], r[4]): r[5:]
            for r in self._execute(
                f"SELECT src_type, src_id, edge_type, dst_type, dst_id, {cols} FROM {ks}.edges_out",
                (),
                "scan edges_out",
            )
        }
        in_rows = {
            (r[3], r[4], r[2], r[0], r[1]): r[5:]
            for r in self._execute(
                f"SELECT dst_type, dst_id, edge_type, src_type, src_id, {cols} FROM {ks}.edges_in",
                (),
                "scan edges_in",
            )
        }
        problems = []
        for key in sorted(set(out_rows) | set(in_rows)):
            a, b = out_rows.get(key), in_rows.get(key)
            a_norm = None if a is None else (a[0], a[1], dict(a[2] or {}))
            b_norm = None if b is None else (b[0], b[1], dict(b[2] or {}))
            if a_norm != b_norm:
                problems.append(f"{key}: out={a_norm} in={b_norm}")
        return problems
