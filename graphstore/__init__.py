"""The graph store: merged nodes/edges/hourly buckets, one interface, SQLite and Cassandra.

Importing this package loads neither the Cassandra driver nor networkx; they are imported
when a Cassandra store is opened or a subgraph is built.
"""

from graphstore.base import GraphStore, WriteStats
from graphstore.factory import open_store
from graphstore.model import (
    HOUR_MS,
    BucketWrite,
    Direction,
    Edge,
    EdgeDetail,
    EdgeWrite,
    GraphDump,
    InvalidQueryError,
    InvalidWriteError,
    KHopResult,
    Node,
    NodeRef,
    NodeWrite,
    PropVersion,
    format_ref,
    hour_bucket,
    parse_ref,
)

__all__ = [
    "HOUR_MS",
    "BucketWrite",
    "Direction",
    "Edge",
    "EdgeDetail",
    "EdgeWrite",
    "GraphDump",
    "GraphStore",
    "InvalidQueryError",
    "InvalidWriteError",
    "KHopResult",
    "Node",
    "NodeRef",
    "NodeWrite",
    "PropVersion",
    "WriteStats",
    "format_ref",
    "hour_bucket",
    "open_store",
    "parse_ref",
]
