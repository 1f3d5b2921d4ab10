"""Type stub of the group-by kernels (ingest/_columns.c)."""

from typing import Any

def spans(keys: list[Any], /) -> tuple[list[Any], list[int], list[int], list[int]]: ...
def pair_spans(
    a: list[Any], b: list[Any], /
) -> tuple[list[Any], list[int], list[int], list[int]]: ...
