"""Event time: timestamp assignment, watermark strategies and clocks.

Conventions are Flink's: a watermark ``W`` asserts that no more records with a timestamp
``<= W`` are expected.  With bounded out-of-orderness ``d`` the watermark of a partition is
``max_ts - d - 1``.  The job's watermark is the minimum over its active partitions; an idle
partition (no records for ``idle_timeout_ms`` of processing time) does not hold it back, and an
exhausted bounded partition moves to :data:`MAX_WATERMARK` so every window and timer fires.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ingest.errors import ConfigError

__all__ = [
    "MAX_WATERMARK",
    "MIN_WATERMARK",
    "Clock",
    "ManualClock",
    "PartitionWatermark",
    "SystemClock",
    "TimestampAssigner",
    "WatermarkStrategy",
    "combine_watermarks",
    "field_getter",
]

MIN_WATERMARK = -(2**63)
MAX_WATERMARK = 2**63 - 1

TimestampAssigner = Callable[[Any], int | None]


def field_getter(selector: Callable[[Any], Any] | str | int) -> Callable[[Any], Any]:
    """Turn a field name / index into a fast C-level getter; pass callables through."""
    if callable(selector):
        return selector
    if isinstance(selector, str | int):
        return operator.itemgetter(selector)
    raise ConfigError(
        f"selector {selector!r} is neither a callable, a field name nor an index; "
        "pass e.g. key_by('account_id') or key_by(lambda r: r.account_id)"
    )


class Clock(Protocol):
    """Processing time in epoch milliseconds."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock tests move by hand, so processing-time behaviour is deterministic."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms

    def set(self, now_ms: int) -> None:
        self._now = now_ms


@dataclass(frozen=True)
class WatermarkStrategy:
    """How event time and watermarks are derived for a source (frozen configuration)."""

    max_out_of_orderness_ms: int = 0
    timestamp_assigner: Callable[[Any], int | None] | str | int | None = None
    idle_timeout_ms: int | None = None
    enabled: bool = True
    timestamp_bounds: tuple[int, int] | None = None

    @staticmethod
    def for_bounded_out_of_orderness(max_out_of_orderness_ms: int) -> WatermarkStrategy:
        if max_out_of_orderness_ms < 0:
            raise ConfigError(
                f"max_out_of_orderness_ms must be >= 0, got {max_out_of_orderness_ms}"
            )
        return WatermarkStrategy(max_out_of_orderness_ms=max_out_of_orderness_ms)

    @staticmethod
    def for_monotonous_timestamps() -> WatermarkStrategy:
        return WatermarkStrategy(max_out_of_orderness_ms=0)

    @staticmethod
    def no_watermarks() -> WatermarkStrategy:
        """Event time never advances (until a bounded source ends)."""
        return WatermarkStrategy(enabled=False)

    def with_timestamp_assigner(
        self, assigner: Callable[[Any], int | None] | str | int
    ) -> WatermarkStrategy:
        """Where a record's event time comes from: a field name or index (read at C speed)
        or a callable; None from a callable means "no timestamp"."""
        return replace(self, timestamp_assigner=assigner)

    def with_timestamp_bounds(self, lo: int, hi: int) -> WatermarkStrategy:
        """Timestamps outside [lo, hi) count as none: such a record keeps its partition's
        current time and never moves the watermark (a later operator can reject it). Checked
        per batch at C speed, so a field-name assigner needs no per-record callable."""
        if lo >= hi:
            raise ConfigError(f"timestamp bounds [{lo}, {hi}) are empty")
        return replace(self, timestamp_bounds=(lo, hi))

    def with_idleness(self, idle_timeout_ms: int) -> WatermarkStrategy:
        if idle_timeout_ms <= 0:
            raise ConfigError(f"idle_timeout_ms must be > 0, got {idle_timeout_ms}")
        return replace(self, idle_timeout_ms=idle_timeout_ms)

    def assigner(self) -> Callable[[Any], int | None] | None:
        if self.timestamp_assigner is None:
            return None
        return field_getter(self.timestamp_assigner)


@dataclass
class PartitionWatermark:
    """Per-partition watermark generator (runtime object built from a strategy)."""

    delay: int
    enabled: bool = True
    max_ts: int = MIN_WATERMARK
    finished: bool = False
    last_activity_ms: int = 0
    idle: bool = False
    extra: dict[str, Hashable] = field(default_factory=dict)

    def observe(self, max_ts_in_batch: int, now_ms: int) -> None:
        if max_ts_in_batch > self.max_ts:
            self.max_ts = max_ts_in_batch
        self.last_activity_ms = now_ms
        self.idle = False

    @property
    def watermark(self) -> int:
        if self.finished:
            return MAX_WATERMARK
        if not self.enabled or self.max_ts == MIN_WATERMARK:
            return MIN_WATERMARK
        return self.max_ts - self.delay - 1

    def snapshot(self) -> dict[str, int | bool]:
        return {"max_ts": self.max_ts, "finished": self.finished}

    def restore(self, snap: dict[str, Any]) -> None:
        self.max_ts = int(snap["max_ts"])
        self.finished = bool(snap["finished"])


def combine_watermarks(parts: list[PartitionWatermark]) -> int | None:
    """The job watermark: minimum over active partitions; ``None`` when all are idle."""
    active = [p.watermark for p in parts if not p.idle or p.finished]
    if not active:
        return None
    return min(active)
