"""Type stub of the neighbor-scan loop (graphstore/cassandra/_recentrows.c)."""

from collections.abc import Iterable, Sequence
from typing import Any

from graphstore.model import Edge, NodeRef

def collect(
    rows: Iterable[Sequence[Any]],
    pending: Sequence[Any] | None,
    ref: NodeRef,
    seen: set[Any],
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
    /,
) -> tuple[int, Sequence[Any] | None, int, int, int | None]: ...

collect_keyed = collect  # the same arguments; rows are (edge, ...)

def top(edges: list[Edge], limit: int, /) -> list[Edge]: ...
