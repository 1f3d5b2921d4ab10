"""Window assigners (frozen configuration) and the window result record.

Windows are half-open ``[start, end)``; a window's max timestamp is ``end - 1`` and it fires
when the watermark reaches it.  With allowed lateness ``L`` a window keeps its state until the
watermark reaches ``end - 1 + L``; records for it after that go to the late side output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ingest.errors import ConfigError

__all__ = [
    "EventTimeSessionWindows",
    "SlidingEventTimeWindows",
    "TumblingEventTimeWindows",
    "TumblingProcessingTimeWindows",
    "WindowAssigner",
    "WindowResult",
]


class WindowResult(NamedTuple):
    """What a window emits by default: the key, the window bounds and the aggregate."""

    key: Any
    start: int
    end: int
    value: Any


class WindowAssigner:
    """Base of the window shapes."""

    event_time: bool = True


@dataclass(frozen=True)
class TumblingEventTimeWindows(WindowAssigner):
    size_ms: int
    offset_ms: int = 0

    def __post_init__(self) -> None:
        if self.size_ms <= 0:
            raise ConfigError(f"tumbling window size must be > 0 ms, got {self.size_ms}")
        if not 0 <= self.offset_ms < self.size_ms:
            raise ConfigError(f"offset must be in [0, size), got {self.offset_ms}")

    @staticmethod
    def of(size_ms: int, offset_ms: int = 0) -> TumblingEventTimeWindows:
        return TumblingEventTimeWindows(size_ms, offset_ms)

    def start_of(self, ts: int) -> int:
        return ts - (ts - self.offset_ms) % self.size_ms


@dataclass(frozen=True)
class SlidingEventTimeWindows(WindowAssigner):
    size_ms: int
    slide_ms: int
    offset_ms: int = 0

    def __post_init__(self) -> None:
        if self.size_ms <= 0 or self.slide_ms <= 0:
            raise ConfigError(
                f"sliding window size and slide must be > 0 ms, got {self.size_ms}/{self.slide_ms}"
            )
        if not 0 <= self.offset_ms < self.slide_ms:
            raise ConfigError(f"offset must be in [0, slide), got {self.offset_ms}")

    @staticmethod
    def of(size_ms: int, slide_ms: int, offset_ms: int = 0) -> SlidingEventTimeWindows:
        return SlidingEventTimeWindows(size_ms, slide_ms, offset_ms)

    def starts_of(self, ts: int) -> range:
        last = ts - (ts - self.offset_ms) % self.slide_ms
        return range(last, ts - self.size_ms, -self.slide_ms)


@dataclass(frozen=True)
class EventTimeSessionWindows(WindowAssigner):
    gap_ms: int

    def __post_init__(self) -> None:
        if self.gap_ms <= 0:
            raise ConfigError(f"session gap must be > 0 ms, got {self.gap_ms}")

    @staticmethod
    def with_gap(gap_ms: int) -> EventTimeSessionWindows:
        return EventTimeSessionWindows(gap_ms)


@dataclass(frozen=True)
class TumblingProcessingTimeWindows(WindowAssigner):
    size_ms: int
    event_time = False

    def __post_init__(self) -> None:
        if self.size_ms <= 0:
            raise ConfigError(f"tumbling window size must be > 0 ms, got {self.size_ms}")

    @staticmethod
    def of(size_ms: int) -> TumblingProcessingTimeWindows:
        return TumblingProcessingTimeWindows(size_ms)
