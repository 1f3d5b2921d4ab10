"""Counters per job/partition task (records in, late, dead-lettered, ...)."""

from __future__ import annotations

from collections import Counter

__all__ = ["Metrics"]


class Metrics:
    """A named counter bag; cheap to bump, merged for job summaries."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def inc(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)

    def merge(self, other: Metrics) -> None:
        self.counters.update(other.counters)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counters.items()))
