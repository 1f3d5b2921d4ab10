"""Event-time session windows: per key, windows of activity separated by a gap.

State per key: a list of sessions ``[start, end, acc, fired]`` (``end`` = last ts + gap).
A record opens ``[t, t + gap)`` and merges with every session it overlaps (accumulators
merged).  A merged session whose max timestamp plus allowed lateness is already behind the
watermark is late: the record goes to the late side output and state is untouched.
Otherwise an event-time timer at the session's max timestamp fires it; a session that is
already behind the watermark fires at once (late firing within lateness), and a timer at
max timestamp + lateness purges it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.functions import AggregateFunction
from ingest.operators.base import Operator, TaskContext
from ingest.operators.window import WindowFn, emit_results
from ingest.state.store import MISSING
from ingest.timers import TimerService
from ingest.windows import EventTimeSessionWindows

__all__ = ["SessionWindowOperator"]


class SessionWindowOperator(Operator):
    def __init__(
        self,
        uid: str,
        key: Callable[[Any], Any],
        assigner: EventTimeSessionWindows,
        agg: AggregateFunction[Any, Any, Any],
        window_fn: WindowFn | None = None,
        allowed_lateness_ms: int = 0,
        late_tag: str | None = None,
    ) -> None:
        super().__init__(uid)
        self._key = key
        self._gap = assigner.gap_ms
        self._agg = agg
        self._window_fn = window_fn
        self._lateness = allowed_lateness_ms
        self._late_tag = late_tag

    def open(self, ctx: TaskContext) -> None:
        super().open(ctx)
        self._table = ctx.store.table(f"{self.uid}/sessions")
        self._timers = TimerService(ctx.store, self.uid)

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        keys = list(map(self._key, values))
        wm = self.current_watermark
        gap, lateness, agg = self._gap, self._lateness, self._agg
        m = self._table.ns(None)
        late_v: list[Any] = []
        late_t: list[int] = []
        for k, v, t in zip(keys, values, timestamps, strict=True):
            stored = m.lookup(k)
            sessions: list[list[Any]] = [] if stored is MISSING else stored
            start, end = t, t + gap
            keep: list[list[Any]] = []
            merged: list[list[Any]] = []
            for s in sessions:
                if s[0] < end and start < s[1]:
                    merged.append(s)
                else:
                    keep.append(s)
            if merged:
                start = min(start, *(s[0] for s in merged))
                end = max(end, *(s[1] for s in merged))
            if end - 1 + lateness <= wm:
                late_v.append(v)
                late_t.append(t)
                continue
            acc = agg.create_accumulator()
            for s in merged:
                acc = agg.merge(acc, s[2])
            acc = agg.add(v, acc)
            session = [start, end, acc, False]
            keep.append(session)
            keep.sort(key=lambda s: s[0])
            m[k] = keep
            if end - 1 <= wm:
                session[3] = True
                emit_results(self, agg, self._window_fn, start, end, [(k, acc)])
            else:
                self._timers.event.register(end - 1, k)
            if lateness:
                self._timers.event.register(end - 1 + lateness, k)
        if late_v:
            self.ctx.metrics.inc("late_records", len(late_v))
            if self._late_tag is not None:
                self.side_output(self._late_tag).push(late_v, late_t)

    def _on_timer(self, t: int, k: Any) -> None:
        wm = self.current_watermark
        m = self._table.ns(None)
        stored = m.lookup(k)
        if stored is MISSING:
            return
        remaining = []
        changed = False
        for s in stored:
            start, end, acc, fired = s
            if end - 1 <= wm and not fired:
                emit_results(self, self._agg, self._window_fn, start, end, [(k, acc)])
                s = [start, end, acc, True]
                changed = True
            if end - 1 + self._lateness <= wm:
                changed = True
                continue
            remaining.append(s)
        if not changed:
            return
        if remaining:
            m[k] = remaining
        else:
            self._table.delete(None, k)

    def on_watermark(self, watermark: int) -> None:
        self._timers.event.advance(watermark, self._on_timer)

    def restore(self, meta: dict[str, Any]) -> None:
        self._timers.rebuild()
