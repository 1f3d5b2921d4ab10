"""The graph's data model: what transforms write and what queries return.

Write records (``NodeWrite``, ``EdgeWrite``, ``BucketWrite``) are partial observations
that stores merge idempotently; read records (``Node``, ``Edge``, ``EdgeDetail``) are
the merged view. Validation lives here so every store rejects the same bad input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from ingest.errors import RDGError

__all__ = [
    "HOUR_MS",
    "BucketKey",
    "BucketRow",
    "BucketWrite",
    "Direction",
    "Edge",
    "EdgeDetail",
    "EdgeKey",
    "EdgeRow",
    "EdgeWrite",
    "GraphDump",
    "InvalidQueryError",
    "InvalidWriteError",
    "KHopResult",
    "Node",
    "NodeRef",
    "NodeRow",
    "NodeWrite",
    "PropRow",
    "PropVersion",
    "check_direction",
    "edge_sort_key",
    "format_ref",
    "hour_bucket",
    "parse_ref",
    "validate_batch",
]

HOUR_MS = 3_600_000
"""Edge activity buckets are one UTC hour wide, in epoch milliseconds."""

NodeRef = tuple[str, str]
"""(type, id) of a node; printed as ``"type:id"``."""

EdgeKey = tuple[str, str, str, str, str]
"""(src_type, src_id, edge_type, dst_type, dst_id): the identity of a directed edge."""

BucketKey = tuple[str, str, str, str, str, int, str]
"""EdgeKey + (bucket_start, partition): the identity of one partial hourly count."""

Direction = Literal["out", "in", "both"]
_DIRECTIONS: tuple[str, ...] = get_args(Direction)


class InvalidWriteError(RDGError, ValueError):
    """A write record breaks the model's rules (names the record and the rule)."""


class InvalidQueryError(RDGError, ValueError):
    """A query argument is out of range (names the argument and the accepted values)."""


# --------------------------------------------------------------------------- writes


# Write records are built by the million on the ingest path: plain slotted dataclasses
# (frozen construction costs ~3x more); PropVersion and BucketWrite stay hashable values.
@dataclass(slots=True, unsafe_hash=True)
class PropVersion:
    """One observed value of a node property; the greatest (ts, event_id) wins."""

    value: str
    ts: int
    event_id: str


@dataclass(slots=True)
class NodeWrite:
    """A node sighting: min(first_seen) and max(last_seen) are kept across writes."""

    type: str
    id: str
    first_seen: int
    last_seen: int
    props: Mapping[str, PropVersion] = field(default_factory=dict)

    @property
    def ref(self) -> NodeRef:
        return (self.type, self.id)


@dataclass(slots=True)
class EdgeWrite:
    """A directed edge sighting ``src -edge_type-> dst``."""

    src_type: str
    src_id: str
    edge_type: str
    dst_type: str
    dst_id: str
    first_seen: int
    last_seen: int

    @property
    def key(self) -> EdgeKey:
        return (self.src_type, self.src_id, self.edge_type, self.dst_type, self.dst_id)


@dataclass(slots=True, unsafe_hash=True)
class BucketWrite:
    """Distinct events of one edge in one UTC hour as counted by ONE source partition.

    Counts for the same (edge, bucket_start, partition) only grow, so stores keep the max.
    """

    src_type: str
    src_id: str
    edge_type: str
    dst_type: str
    dst_id: str
    bucket_start: int
    partition: str
    count: int

    @property
    def edge_key(self) -> EdgeKey:
        return (self.src_type, self.src_id, self.edge_type, self.dst_type, self.dst_id)

    @property
    def key(self) -> BucketKey:
        return (*self.edge_key, self.bucket_start, self.partition)


# --------------------------------------------------------------------------- reads
# Read models are plain (non-frozen) slotted dataclasses: a 2-hop query builds thousands
# of them and frozen construction is ~4x slower. Treat them as read-only values.


@dataclass(slots=True)
class Node:
    """A merged node; ``props`` holds the winning value of each property."""

    type: str
    id: str
    props: dict[str, str]
    first_seen: int
    last_seen: int

    @property
    def ref(self) -> NodeRef:
        return (self.type, self.id)


@dataclass(slots=True)
class Edge:
    """A merged directed edge; ``count`` is the sum of its hourly bucket counts."""

    src: NodeRef
    type: str
    dst: NodeRef
    props: dict[str, str]
    first_seen: int
    last_seen: int
    count: int

    @property
    def key(self) -> EdgeKey:
        return (self.src[0], self.src[1], self.type, self.dst[0], self.dst[1])

    def other(self, ref: NodeRef) -> NodeRef:
        """The endpoint that is not ``ref`` (``ref`` itself for a self-loop)."""
        return self.dst if self.src == ref else self.src


@dataclass(slots=True)
class EdgeDetail(Edge):
    """An edge with its hourly activity: (bucket_start, count summed over partitions)."""

    buckets: list[tuple[int, int]]

    def as_edge(self) -> Edge:
        return Edge(
            self.src, self.type, self.dst, self.props, self.first_seen, self.last_seen, self.count
        )


@dataclass(slots=True)
class KHopResult:
    """A breadth-first walk: hop distance of each visited node and the edges expanded."""

    start: NodeRef
    hops: int
    nodes: dict[NodeRef, int]
    edges: list[Edge]


# --------------------------------------------------------------------------- dumps


@dataclass(frozen=True, order=True, slots=True)
class PropRow:
    name: str
    value: str
    ts: int
    event_id: str


@dataclass(frozen=True, order=True, slots=True)
class NodeRow:
    type: str
    id: str
    first_seen: int
    last_seen: int
    props: tuple[PropRow, ...]


@dataclass(frozen=True, order=True, slots=True)
class EdgeRow:
    src_type: str
    src_id: str
    edge_type: str
    dst_type: str
    dst_id: str
    first_seen: int
    last_seen: int


@dataclass(frozen=True, order=True, slots=True)
class BucketRow:
    src_type: str
    src_id: str
    edge_type: str
    dst_type: str
    dst_id: str
    bucket_start: int
    partition: str
    count: int


@dataclass(frozen=True, slots=True)
class GraphDump:
    """Every stored row as sorted plain tuples, so two stores can be compared with ==."""

    nodes: list[NodeRow]
    edges: list[EdgeRow]
    buckets: list[BucketRow]

    @classmethod
    def of(
        cls, nodes: Sequence[NodeRow], edges: Sequence[EdgeRow], buckets: Sequence[BucketRow]
    ) -> GraphDump:
        """Build a dump with canonical ordering (rows and each node's props sorted)."""
        canon_nodes = [replace(n, props=tuple(sorted(n.props))) for n in nodes]
        return cls(sorted(canon_nodes), sorted(edges), sorted(buckets))


# --------------------------------------------------------------------------- helpers


def format_ref(ref: NodeRef) -> str:
    """``("Profile", "42")`` -> ``"Profile:42"``."""
    return f"{ref[0]}:{ref[1]}"


def parse_ref(text: str) -> NodeRef:
    """``"Profile:42"`` -> ``("Profile", "42")``; the id may itself contain ':'."""
    node_type, sep, node_id = text.partition(":")
    if not sep or not node_type or not node_id:
        raise InvalidQueryError(f"node reference {text!r} is not of the form 'TYPE:ID'")
    return (node_type, node_id)


def hour_bucket(ts_ms: int) -> int:
    """The start of the UTC hour containing ``ts_ms`` (epoch ms)."""
    return ts_ms - ts_ms % HOUR_MS


def edge_sort_key(edge: Edge) -> tuple[int, str, str, str, str, str]:
    """Newest first, then a deterministic tiebreak shared by every store."""
    return (-edge.last_seen, edge.type, edge.src[0], edge.src[1], edge.dst[0], edge.dst[1])


def check_direction(direction: str) -> Direction:
    if direction not in _DIRECTIONS:
        raise InvalidQueryError(
            f"direction {direction!r} is not one of {', '.join(map(repr, _DIRECTIONS))}"
        )
    return direction  # type: ignore[return-value]


# --------------------------------------------------------------------------- validation

_MAX_TS = 2**53
"""Larger epoch-ms values are certainly bugs (year 287,000); stores rely on this bound."""


def _check_name(kind: str, what: str, value: object, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidWriteError(f"{where}: {what} must be a non-empty string, got {value!r}")
    if kind == "type" and ":" in value:
        raise InvalidWriteError(
            f"{where}: {what} {value!r} contains ':'; type names may not, because nodes print "
            "as 'TYPE:ID'"
        )


def _check_ts(what: str, value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_TS:
        raise InvalidWriteError(
            f"{where}: {what} must be an epoch-millisecond int in [0, 2**53), got {value!r}"
        )


def _check_span(first_seen: int, last_seen: int, where: str) -> None:
    _check_ts("first_seen", first_seen, where)
    _check_ts("last_seen", last_seen, where)
    if first_seen > last_seen:
        raise InvalidWriteError(f"{where}: first_seen {first_seen} is after last_seen {last_seen}")


def _check_endpoints(w: EdgeWrite | BucketWrite, where: str) -> None:
    _check_name("type", "src_type", w.src_type, where)
    _check_name("id", "src_id", w.src_id, where)
    _check_name("type", "edge_type", w.edge_type, where)
    _check_name("type", "dst_type", w.dst_type, where)
    _check_name("id", "dst_id", w.dst_id, where)


def validate_batch(
    nodes: Sequence[NodeWrite], edges: Sequence[EdgeWrite], buckets: Sequence[BucketWrite]
) -> None:
    """Raise InvalidWriteError naming the first record that breaks a rule."""
    for i, n in enumerate(nodes):
        where = f"node write #{i} ({n.type!r}, {n.id!r})"
        _check_name("type", "type", n.type, where)
        _check_name("id", "id", n.id, where)
        _check_span(n.first_seen, n.last_seen, where)
        for name, pv in n.props.items():
            _check_name("prop", "property name", name, where)
            if not isinstance(pv, PropVersion):
                raise InvalidWriteError(
                    f"{where}: property {name!r} must be a PropVersion, got {type(pv).__name__}"
                )
            if not isinstance(pv.value, str) or not isinstance(pv.event_id, str):
                raise InvalidWriteError(
                    f"{where}: property {name!r} value and event_id must be strings"
                )
            _check_ts(f"property {name!r} ts", pv.ts, where)
    for i, e in enumerate(edges):
        where = (
            f"edge write #{i} ({e.src_type}:{e.src_id} -{e.edge_type}-> {e.dst_type}:{e.dst_id})"
        )
        _check_endpoints(e, where)
        _check_span(e.first_seen, e.last_seen, where)
    for i, b in enumerate(buckets):
        where = (
            f"bucket write #{i} ({b.src_type}:{b.src_id} -{b.edge_type}-> "
            f"{b.dst_type}:{b.dst_id} @ {b.bucket_start}/{b.partition!r})"
        )
        _check_endpoints(b, where)
        _check_ts("bucket_start", b.bucket_start, where)
        if b.bucket_start % HOUR_MS:
            raise InvalidWriteError(
                f"{where}: bucket_start {b.bucket_start} is not aligned to a UTC hour; "
                f"use graphstore.model.hour_bucket(ts) = {hour_bucket(b.bucket_start)}"
            )
        _check_name("id", "partition", b.partition, where)
        if isinstance(b.count, bool) or not isinstance(b.count, int) or not 0 <= b.count < _MAX_TS:
            raise InvalidWriteError(f"{where}: count must be an int >= 0, got {b.count!r}")
