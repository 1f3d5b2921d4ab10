"""Window operator for tumbling and sliding windows (event or processing time).

State: one namespace per window (its start) holding one accumulator per key, so a firing
is one namespace scan and a purge one namespace drop, with no per-key timers.  Windows wait
in a heap ordered by start until the watermark reaches their max timestamp (``end - 1``);
with allowed lateness they then wait in a second heap until ``end - 1 + lateness``.
Records for a window that has fired but is still within lateness update it, and that key's
result re-fires once after the batch; a record for a purged window goes to the late side
output.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from ingest.functions import AggregateFunction, Count
from ingest.operators.base import Operator, TaskContext
from ingest.time import MIN_WATERMARK
from ingest.windows import (
    SlidingEventTimeWindows,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
    WindowResult,
)

__all__ = ["WindowFn", "WindowOperator", "emit_results"]

WindowFn = Callable[[Any, int, int, Any], Iterable[Any]]

# C-level constructor: WindowResult(*fields) without the namedtuple's Python __new__.
_make_result = partial(tuple.__new__, WindowResult)


def emit_results(
    op: Operator,
    agg: AggregateFunction[Any, Any, Any],
    window_fn: WindowFn | None,
    start: int,
    end: int,
    pairs: Iterable[tuple[Any, Any]],
) -> None:
    """Turn (key, accumulator) pairs of one window into output records and push them."""
    get = agg.get_result
    if window_fn is None:
        if type(agg) is Count:
            vals: list[Any] = [_make_result((k, start, end, acc)) for k, acc in pairs]
        else:
            vals = [_make_result((k, start, end, get(acc))) for k, acc in pairs]
    else:
        vals = []
        for k, acc in pairs:
            vals.extend(window_fn(k, start, end, get(acc)))
    if vals:
        op.out.push(vals, [end - 1] * len(vals))


class WindowOperator(Operator):
    def __init__(
        self,
        uid: str,
        key: Callable[[Any], Any],
        assigner: TumblingEventTimeWindows
        | SlidingEventTimeWindows
        | TumblingProcessingTimeWindows,
        agg: AggregateFunction[Any, Any, Any],
        window_fn: WindowFn | None = None,
        allowed_lateness_ms: int = 0,
        late_tag: str | None = None,
    ) -> None:
        super().__init__(uid)
        self._key = key
        self._assigner = assigner
        self._agg = agg
        self._window_fn = window_fn
        self._lateness = allowed_lateness_ms
        self._late_tag = late_tag
        self._size = assigner.size_ms
        self._is_count = type(agg) is Count
        self._pending: list[int] = []
        self._cleanup: list[tuple[int, int]] = []
        self._live: set[int] = set()

    def open(self, ctx: TaskContext) -> None:
        super().open(ctx)
        self._table = ctx.store.table(f"{self.uid}/windows", self._agg.create_accumulator)

    # -- bookkeeping of live windows -----------------------------------------------
    def _track(self, start: int, wm: int) -> None:
        self._live.add(start)
        max_ts = start + self._size - 1
        if self._assigner.event_time and max_ts <= wm:
            heapq.heappush(self._cleanup, (max_ts + self._lateness, start))
        else:
            heapq.heappush(self._pending, start)

    # -- records ---------------------------------------------------------------------
    def process(self, values: list[Any], timestamps: list[int]) -> None:
        keys = list(map(self._key, values))
        a = self._assigner
        if isinstance(a, TumblingProcessingTimeWindows):
            now = self.ctx.clock.now_ms()
            self._accumulate_one_window(now - now % a.size_ms, keys, values)
            return
        wm = self.current_watermark
        if isinstance(a, TumblingEventTimeWindows):
            lo = min(timestamps)
            if a.start_of(lo) + self._size - 1 > wm:
                self._tumbling_fast(keys, values, timestamps, wm)
                return
        self._general(keys, values, timestamps, wm)

    def _accumulate_one_window(self, start: int, keys: list[Any], values: list[Any]) -> None:
        if start not in self._live:
            self._track(start, MIN_WATERMARK)
        m = self._table.ns(start)
        if self._is_count:
            for k in keys:
                m[k] = m[k] + 1
        else:
            add = self._agg.add
            for k, v in zip(keys, values, strict=True):
                m[k] = add(v, m[k])

    def _tumbling_fast(
        self, keys: list[Any], values: list[Any], timestamps: list[int], wm: int
    ) -> None:
        """No record of the batch falls into a window that has fired: accumulate only."""
        size = self._size
        off = self._assigner.offset_ms  # type: ignore[union-attr]
        table, live = self._table, self._live
        cur = None
        m: Any = None
        if self._is_count:
            get: Any = None
            base: Any = None
            for k, t in zip(keys, timestamps, strict=True):
                s = t - (t - off) % size
                if s != cur:
                    if s not in live:
                        self._track(s, wm)
                    m = table.ns(s)
                    cur = s
                    # the delta dict's get, then the committed namespace's (C for heap);
                    # window state never deletes single keys, so no deleted-set check
                    get, base = m.get, m.base
                c = get(k)
                if c is None:
                    c = 0 if base is None else base.get(k, 0)
                m[k] = c + 1
        else:
            add = self._agg.add
            for k, v, t in zip(keys, values, timestamps, strict=True):
                s = t - (t - off) % size
                if s != cur:
                    if s not in live:
                        self._track(s, wm)
                    m = table.ns(s)
                    cur = s
                m[k] = add(v, m[k])

    def _starts(self, t: int) -> Iterable[int]:
        a = self._assigner
        if isinstance(a, SlidingEventTimeWindows):
            return a.starts_of(t)
        return (a.start_of(t),)  # type: ignore[union-attr]

    def _general(self, keys: list[Any], values: list[Any], timestamps: list[int], wm: int) -> None:
        size, lateness = self._size, self._lateness
        add = self._agg.add
        table, live = self._table, self._live
        late_v: list[Any] = []
        late_t: list[int] = []
        refire: dict[int, set[Any]] = {}
        for k, v, t in zip(keys, values, timestamps, strict=True):
            accepted = False
            for s in self._starts(t):
                max_ts = s + size - 1
                if max_ts + lateness <= wm:
                    continue  # this window is purged
                accepted = True
                if s not in live:
                    self._track(s, wm)
                m = table.ns(s)
                m[k] = add(v, m[k])
                if max_ts <= wm:
                    refire.setdefault(s, set()).add(k)
            if not accepted:
                late_v.append(v)
                late_t.append(t)
        if late_v:
            self.ctx.metrics.inc("late_records", len(late_v))
            if self._late_tag is not None:
                self.side_output(self._late_tag).push(late_v, late_t)
        for s in sorted(refire):
            m = table.ns(s)
            emit_results(
                self, self._agg, self._window_fn, s, s + size, ((k, m[k]) for k in refire[s])
            )

    # -- time ------------------------------------------------------------------------
    def _fire(self, start: int) -> None:
        emit_results(
            self,
            self._agg,
            self._window_fn,
            start,
            start + self._size,
            self._table.items_list(start),
        )

    def _purge(self, start: int) -> None:
        self._table.drop(start)
        self._live.discard(start)

    def on_watermark(self, watermark: int) -> None:
        if not self._assigner.event_time:
            return
        size, lateness = self._size, self._lateness
        pending, cleanup = self._pending, self._cleanup
        while pending and pending[0] + size - 1 <= watermark:
            s = heapq.heappop(pending)
            self._fire(s)
            if lateness == 0:
                self._purge(s)
            else:
                heapq.heappush(cleanup, (s + size - 1 + lateness, s))
        while cleanup and cleanup[0][0] <= watermark:
            self._purge(heapq.heappop(cleanup)[1])

    def on_processing_time(self, now_ms: int) -> None:
        if self._assigner.event_time:
            return
        pending = self._pending
        while pending and pending[0] + self._size - 1 <= now_ms:
            s = heapq.heappop(pending)
            self._fire(s)
            self._purge(s)

    def finish(self) -> None:
        """Processing-time windows still open at the end of a bounded input fire now."""
        if not self._assigner.event_time:
            while self._pending:
                s = heapq.heappop(self._pending)
                self._fire(s)
                self._purge(s)

    # -- checkpoints -----------------------------------------------------------------
    def restore(self, meta: dict[str, Any]) -> None:
        self._pending, self._cleanup, self._live = [], [], set()
        for s in sorted(self._table.namespaces()):  # type: ignore[type-var]
            self._track(int(s), self.current_watermark)  # type: ignore[call-overload]
