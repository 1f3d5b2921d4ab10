"""Type stub of the group-by kernels (ingest/_columns.c)."""

from collections.abc import Hashable
from typing import Any

def spans(keys: list[Hashable], /) -> tuple[list[Any], list[int], list[int], list[int]]: ...
def pair_spans(
    a: list[Hashable], b: list[Hashable], /
) -> tuple[list[Any], list[int], list[int], list[int]]: ...
