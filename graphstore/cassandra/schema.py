"""Keyspace and tables, created on first use.

Tables are laid out so every query is a single-partition read:

* ``nodes``        partition (type, id)
* ``edges_out``    partition (src_type, src_id), clustering (edge_type, dst_type, dst_id)
* ``edges_in``     partition (dst_type, dst_id), clustering (edge_type, src_type, src_id)
* ``edge_buckets`` partition (the edge), clustering (bucket_start, partition)

``edges_out``/``edges_in`` also carry ``counts``, a map (bucket_start, partition) -> count
mirroring ``edge_buckets``, so a neighbor list gets each edge's total without a read
per edge.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from graphstore.cassandra.config import CassandraConfig

__all__ = ["SCHEMA_TABLES", "create_schema", "keyspace_ddl", "table_ddl"]

log = logging.getLogger(__name__)

SCHEMA_TABLES = ("nodes", "edges_out", "edges_in", "edge_buckets")

_TABLES = {
    "nodes": """
        type text, id text,
        first_seen bigint, last_seen bigint,
        props map<text, text>,
        PRIMARY KEY ((type, id))""",
    "edges_out": """
        src_type text, src_id text, edge_type text, dst_type text, dst_id text,
        first_seen bigint, last_seen bigint,
        counts map<frozen<tuple<bigint, text>>, bigint>,
        PRIMARY KEY ((src_type, src_id), edge_type, dst_type, dst_id)""",
    "edges_in": """
        dst_type text, dst_id text, edge_type text, src_type text, src_id text,
        first_seen bigint, last_seen bigint,
        counts map<frozen<tuple<bigint, text>>, bigint>,
        PRIMARY KEY ((dst_type, dst_id), edge_type, src_type, src_id)""",
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


def table_ddl(keyspace: str, table: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {keyspace}.{table} ({_TABLES[table]})"


def create_schema(session: Any, config: CassandraConfig) -> None:
    """Idempotent: IF NOT EXISTS everywhere; an existing keyspace keeps its replication."""
    session.execute(keyspace_ddl(config), timeout=60)
    for table in SCHEMA_TABLES:
        session.execute(table_ddl(config.keyspace, table), timeout=60)
    log.info("Cassandra schema ready in keyspace %s (%s)", config.keyspace, config.replication())
