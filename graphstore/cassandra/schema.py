"""Keyspace and tables, created on first use.

Every read is a single-partition query:

* ``nodes``            partition (type, id)
* ``adjacency``        partition = one node; clustering (dir, edge_type, other_type, other_id).
  Each edge is stored twice: under its source with dir='out' and under its destination
  with dir='in', so out-, in- and both-direction neighbor lists are one partition read.
  ``counts`` maps (bucket_start, partition) -> count, mirroring ``edge_buckets``, so a
  neighbor list carries each edge's total without a read per edge.
* ``adjacency_recent`` partition = one node; clustering (hour DESC, dir, edge_type, other...).
  A copy of the edge (first_seen, last_seen, count, packed in one ``edge`` cell) per
  (edge, hour of its last_seen when written): newest-first scans with a page of about ``limit`` rows answer a neighbor query
  of a supernode without reading all of its edges. Copies are made from ``adjacency``
  after each write (``graphstore.cassandra.newest``); an edge's copy in its newest hour is
  exact, its copies in older hours are stale and skipped by readers.
* ``edge_buckets``     partition = the edge; clustering (bucket_start, partition)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from graphstore.cassandra.config import CassandraConfig

__all__ = ["SCHEMA_TABLES", "create_schema", "keyspace_ddl", "table_ddl"]

log = logging.getLogger(__name__)

SCHEMA_TABLES = ("nodes", "adjacency", "adjacency_recent", "edge_buckets")

_TABLES = {
    "nodes": """
        type text, id text,
        first_seen bigint, last_seen bigint,
        props map<text, text>,
        PRIMARY KEY ((type, id))""",
    "adjacency": """
        node_type text, node_id text, dir text, edge_type text, other_type text, other_id text,
        first_seen bigint, last_seen bigint,
        counts map<frozen<tuple<bigint, text>>, bigint>,
        PRIMARY KEY ((node_type, node_id), dir, edge_type, other_type, other_id)""",
    "adjacency_recent": """
        node_type text, node_id text, hour bigint,
        dir text, edge_type text, other_type text, other_id text,
        edge blob,
        PRIMARY KEY ((node_type, node_id), hour, dir, edge_type, other_type, other_id)""",
    "edge_buckets": """
        src_type text, src_id text, edge_type text, dst_type text, dst_id text,
        bucket_start bigint, partition text,
        count bigint,
        PRIMARY KEY ((src_type, src_id, edge_type, dst_type, dst_id), bucket_start, partition)""",
}


def keyspace_ddl(config: CassandraConfig) -> str:
    # Keyspace and DC names are validated in CassandraConfig; the map is JSON-quoted the way
    # CQL expects (single quotes).
    replication = json.dumps(config.replication()).replace('"', "'")
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {config.keyspace} "
        f"WITH replication = {replication} AND durable_writes = true"
    )


_OPTIONS = {
    "adjacency_recent": " WITH CLUSTERING ORDER BY "
    "(hour DESC, dir ASC, edge_type ASC, other_type ASC, other_id ASC)",
}


def table_ddl(keyspace: str, table: str) -> str:
    options = _OPTIONS.get(table, "")
    return f"CREATE TABLE IF NOT EXISTS {keyspace}.{table} ({_TABLES[table]}){options}"


# Columns added after a table was first released: (table, column, type). Tables created
# before get them with ALTER TABLE; their old rows read as null (see adjacency.py).
_ADDED_COLUMNS = (("adjacency_recent", "edge", "blob"),)


def create_schema(session: Any, config: CassandraConfig) -> None:
    """Idempotent: IF NOT EXISTS everywhere; an existing keyspace keeps its replication
    and gets the columns added since it was created."""
    session.execute(keyspace_ddl(config), timeout=60)
    for table in SCHEMA_TABLES:
        session.execute(table_ddl(config.keyspace, table), timeout=60)
    for table, column, cql_type in _ADDED_COLUMNS:
        rows = session.execute(
            "SELECT column_name FROM system_schema.columns "
            "WHERE keyspace_name = %s AND table_name = %s AND column_name = %s",
            (config.keyspace, table, column),
            timeout=60,
        )
        if not list(rows):
            log.info("adding column %s.%s.%s", config.keyspace, table, column)
            session.execute(
                f"ALTER TABLE {config.keyspace}.{table} ADD {column} {cql_type}", timeout=60
            )
    log.info("Cassandra schema ready in keyspace %s (%s)", config.keyspace, config.replication())
