"""Type stub of the neighbor-scan loop (graphstore/cassandra/_recentrows.c)."""

from collections.abc import Iterable, Sequence
from typing import Any

from graphstore.model import Edge, NodeRef

def collect(
    rows: Iterable[Sequence[Any]],
    pending: Sequence[Any] | None,
    ref: NodeRef,
    seen: set[tuple[str, str, str, str]],
    survivors: list[Edge],
    candidates: list[tuple[str, str, str, str]],
    direction: str,
    since: int | None,
    until: int | None,
    limit: int,
    max_scan: int,
    scanned: int,
    hour: int,
    cut: int | None,
    edge_cls: type[Edge],
    /,
) -> tuple[int, Sequence[Any] | None, int, int, int | None]: ...
def collect_keyed(
    rows: Iterable[Sequence[Any]],
    pending: Sequence[Any] | None,
    ref: NodeRef,
    seen: set[bytes],
    survivors: list[Edge],
    direction: str,
    since: int | None,
    until: int | None,
    limit: int,
    max_scan: int,
    scanned: int,
    hour: int,
    cut: int | None,
    edge_cls: type[Edge],
    /,
) -> tuple[int, Sequence[Any] | None, int, int, int | None]: ...
def top(edges: list[Edge], limit: int, /) -> list[Edge]: ...
