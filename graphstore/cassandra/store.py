"""The Cassandra/ScyllaDB graph store.

Writes never read before writing: each merge rule is encoded in per-cell write timestamps
(see ``graphstore.cassandra.encoding``), so Cassandra's own last-write-wins reconciliation
produces the merged value whatever the order, batching or repetition of writes. After
writing, a write reads the edges it touched back to refresh their newest-first copies
(``graphstore.cassandra.newest``).
Reads are single-partition queries issued concurrently.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from graphstore.base import GraphStore, WriteStats, check_ref
from graphstore.cassandra.adjacency import AdjacencyReader
from graphstore.cassandra.config import CassandraConfig, parse_cassandra_url
from graphstore.cassandra.driver import require_driver
from graphstore.cassandra.encoding import (
    decode_copy_key,
    decode_edge_copy,
    decode_prop,
    encode_prop,
    first_seen_timestamp,
)
from graphstore.cassandra.newest import NewestCopies
from graphstore.cassandra.reads import map_values_sum, pack_text_tuples
from graphstore.cassandra.schema import create_schema
from graphstore.cassandra.statements import Prepared
from graphstore.cassandra.writer import AsyncWriter, Binder, MutationGroups, map_driver_error
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
    hour_bucket,
)
from ingest.errors import ConfigError, ConnectorError

__all__ = ["CassandraGraphStore"]

log = logging.getLogger(__name__)


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
            # The driver writes requests in 4 KiB chunks; without TCP_NODELAY any request
            # over 4 KiB (large batches, IN lists) waits ~40 ms for Nagle + delayed ACK.
            sockopts=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
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
            self._stmts = Prepared.prepare(
                self._session, config.keyspace, self._cluster.protocol_version
            )
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
        st = self._stmts
        version = self._cluster.protocol_version
        self._reader = AdjacencyReader(
            self._session,
            self.target,
            recent_scan=Binder(st.recent_scan, version),
            recent_scan_many=Binder(st.recent_scan_many, version),
            recent_scan_whole=Binder(st.recent_scan_whole, version),
            recent_scan_many_whole=Binder(st.recent_scan_many_whole, version),
            lookup=Binder(st.adj_lookup, version, {2: pack_text_tuples}),
            partition=Binder(st.adj_partition, version),
            partition_dirs_typed=Binder(st.adj_dirs_typed, version),
            partition_dir=Binder(st.adj_dir, version),
            concurrency=config.concurrency,
        )
        self._newest = NewestCopies(
            run=self._reader.run,
            lookup=self._reader.lookup,
            copy_edge=st.copy_edge,
            ttl_for=config.edge_ttl_for,
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
            first_ts = first_seen_timestamp(e.first_seen)
            for node_type, node_id, direction, other_type, other_id in (
                (e.src_type, e.src_id, "out", e.dst_type, e.dst_id),
                (e.dst_type, e.dst_id, "in", e.src_type, e.src_id),
            ):
                row = (node_type, node_id, direction, e.edge_type, other_type, other_id)
                part = ("a", node_type, node_id)
                add(part, st.adj_first, (ttl, first_ts, e.first_seen, *row))
                add(part, st.adj_last, (ttl, e.last_seen, e.last_seen, *row))
        for b in buckets:
            ttl = cfg.edge_ttl_for(b.edge_type)
            edge_key = (b.src_type, b.src_id, b.edge_type, b.dst_type, b.dst_id)
            add(
                ("b", *edge_key),
                st.bucket,
                (ttl, b.count, b.count, *edge_key, b.bucket_start, b.partition),
            )
            cell = {(b.bucket_start, b.partition): b.count}
            add(
                ("a", b.src_type, b.src_id),
                st.adj_count,
                (
                    ttl,
                    b.count,
                    cell,
                    b.src_type,
                    b.src_id,
                    "out",
                    b.edge_type,
                    b.dst_type,
                    b.dst_id,
                ),
            )
            add(
                ("a", b.dst_type, b.dst_id),
                st.adj_count,
                (ttl, b.count, cell, b.dst_type, b.dst_id, "in", b.edge_type, b.src_type, b.src_id),
            )
        return groups, props

    def _write(
        self, nodes: list[NodeWrite], edges: list[EdgeWrite], buckets: list[BucketWrite]
    ) -> WriteStats:
        groups, props = self._mutations(nodes, edges, buckets)
        action = f"write {len(nodes)} nodes, {len(edges)} edges, {len(buckets)} buckets"
        _, retries = self._writer.execute(self._statements(groups), action)
        # Then the newest-first copies of every edge this write touched, from what
        # ``adjacency`` holds now (see graphstore.cassandra.newest).
        keys = [e.key for e in edges]
        keys.extend(b.edge_key for b in buckets)
        stored = self._newest.read_back(keys) if keys else []
        copies = self._newest.mutations(stored)
        statements = groups.count
        if copies.count:
            _, copy_retries = self._writer.execute(
                self._statements(copies), f"copy {len(stored)} edges newest-first"
            )
            retries += copy_retries
            statements += copies.count
        return WriteStats(len(nodes), len(edges), len(buckets), props, statements, retries)

    def _statements(self, groups: MutationGroups) -> Any:
        return groups.statements(
            self.config.max_batch_statements, self._consistency, self._replica_of
        )

    def _replica_of(self, bound: Any) -> Hashable:
        """The first replica of a bound statement's partition (pools writes per replica)."""
        key = bound.routing_key
        if key is None:
            return None
        replicas = self._cluster.metadata.get_replicas(self.config.keyspace, key)
        return replicas[0].endpoint if replicas else None

    def close(self) -> None:
        self._cluster.shutdown()

    def truncate(self) -> None:
        for statement in self._stmts.truncate:
            self._execute(statement, (), "truncate the graph tables", timeout=120)
        self._reader.whole_rows = False  # no rows of earlier versions are left

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
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[list[Edge]]:
        return self._reader.read(refs, direction, edge_type, since, until, limit)

    def _adjacent(
        self,
        ref: NodeRef,
        direction: Direction,
        edge_type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
    ) -> list[Edge]:
        return self._reader.read([ref], direction, edge_type, since, until, limit)[0]

    def get_edge(self, src: NodeRef, edge_type: str, dst: NodeRef) -> EdgeDetail | None:
        src, dst = check_ref(src, "source"), check_ref(dst, "target")
        key = (src[0], src[1], edge_type, dst[0], dst[1])
        st = self._stmts
        try:
            edge_future = self._session.execute_async(
                st.get_edge, (src[0], src[1], "out", edge_type, dst[0], dst[1])
            )
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
            map_values_sum(counts),
            sorted(per_bucket.items()),
        )

    def _scan(self, statement: Any, action: str) -> list[tuple[Any, ...]]:
        """A whole-table read (paged by the driver); for tools and tests, not serving."""
        return self._execute(statement, (), action, timeout=120)

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts by type; scans whole tables, so meant for tools and small graphs."""
        nodes = Counter(
            row[0]
            for row in self._scan(self._stmts.scan_nodes, "count nodes")
            if row[3] is not None
        )
        edges = Counter(
            row[3]
            for row in self._scan(self._stmts.scan_adjacency, "count edges")
            if row[2] == "out" and row[7] is not None
        )
        return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}

    def dump(self) -> GraphDump:
        node_rows = []
        for t, i, first, last, props in self._scan(self._stmts.scan_nodes, "dump nodes"):
            if last is None:
                continue
            prop_rows = []
            for name, payload in (props or {}).items():
                pv = decode_prop(payload)
                prop_rows.append(PropRow(name, pv.value, pv.ts, pv.event_id))
            node_rows.append(NodeRow(t, i, _span(first, last), last, tuple(prop_rows)))
        edge_rows = [
            EdgeRow(nt, ni, et, ot, oi, _span(first, last), last)
            for nt, ni, direction, et, ot, oi, first, last, _ in self._scan(
                self._stmts.scan_adjacency, "dump edges"
            )
            if direction == "out" and last is not None
        ]
        bucket_rows = [
            BucketRow(*row) for row in self._scan(self._stmts.scan_buckets, "dump buckets")
        ]
        return GraphDump.of(node_rows, edge_rows, bucket_rows)

    def check_mirror(self) -> list[str]:
        """Differences between the copies of every edge (should be none): its 'out' and
        'in' rows in ``adjacency``, and its newest ``adjacency_recent`` copy under each
        endpoint, which must hold the edge's first_seen, last_seen and total count."""
        copies: dict[str, dict[tuple[str, ...], tuple[Any, ...]]] = {"out": {}, "in": {}}
        for nt, ni, direction, et, ot, oi, first, last, counts in self._scan(
            self._stmts.scan_adjacency, "scan adjacency"
        ):
            key = (nt, ni, et, ot, oi) if direction == "out" else (ot, oi, et, nt, ni)
            copies[direction][key] = (first, last, dict(counts or {}))
        out_rows, in_rows = copies["out"], copies["in"]
        problems = [
            f"{key}: out={out_rows.get(key)} in={in_rows.get(key)}"
            for key in sorted(set(out_rows) | set(in_rows))
            if out_rows.get(key) != in_rows.get(key)
        ]
        newest: dict[tuple[str, ...], tuple[int, Any, Any, Any]] = {}
        for nt, ni, hour, direction, et, ot, oi, payload in self._scan(
            self._stmts.scan_recent, "scan adjacency_recent"
        ):
            row_key = (nt, ni, direction, et, ot, oi)
            carried = decode_copy_key(payload) if payload is not None else None
            if carried is not None and carried != (direction, et, ot, oi):
                problems.append(f"{row_key} @ {hour}: the copy carries the key {carried}")
            if row_key not in newest or hour > newest[row_key][0]:
                copy = decode_edge_copy(payload) if payload is not None else (None, None, None)
                newest[row_key] = (hour, *copy)
        for edge_key, (first, last, counts) in out_rows.items():
            if last is None:
                continue
            want = (hour_bucket(last), _span(first, last), last, sum(counts.values()))
            src_type, src_id, et, dst_type, dst_id = edge_key
            for copy_key in (
                (src_type, src_id, "out", et, dst_type, dst_id),
                (dst_type, dst_id, "in", et, src_type, src_id),
            ):
                got = newest.get(copy_key)
                if got != want:
                    problems.append(f"{copy_key}: newest copy {got}, adjacency {want}")
        return problems
