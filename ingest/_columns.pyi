"""Type stub of the group-by kernels (ingest/_columns.c)."""

from collections.abc import Callable
from typing import Any

def spans(keys: list[Any], /) -> tuple[list[Any], list[int], list[int], list[int]]: ...
def pair_spans(
    a: list[Any], b: list[Any], /
) -> tuple[list[Any], list[int], list[int], list[int]]: ...
def merge_ranges(
    m: dict[Any, Any],
    base_get: Callable[[Any], Any] | None,
    keys: list[Any],
    ts: list[int],
    firsts: list[int],
    lasts: list[int],
    dirty: set[Any],
    tail: tuple[Any, ...] = (),
    /,
) -> None: ...
def add_counts(
    m: dict[Any, Any],
    base_get: Callable[[Any], Any] | None,
    deleted: set[Any],
    keys: list[Any],
    counts: list[int],
    dirty: set[Any],
    /,
) -> None: ...
