"""The keyed process operator: a user function with keyed state and timers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.functions import KeyedProcessFunction
from ingest.operators.base import Operator, TaskContext
from ingest.operators.context import KeyedContext
from ingest.state.handles import KeyScope
from ingest.timers import TimerService

__all__ = ["KeyedProcessOperator"]


class KeyedProcessOperator(Operator):
    def __init__(
        self, uid: str, fn: KeyedProcessFunction[Any, Any], key: Callable[[Any], Any]
    ) -> None:
        super().__init__(uid)
        self._fn = fn
        self._key = key

    def open(self, ctx: TaskContext) -> None:
        super().open(ctx)
        self._scope = KeyScope(lambda: self.current_watermark, ctx.clock.now_ms)
        self._timers = TimerService(ctx.store, self.uid)
        self._kctx = KeyedContext(self, ctx, self._scope, self._timers)
        self._fn.open(self._kctx)

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        keys = list(map(self._key, values))
        scope, kctx = self._scope, self._kctx
        fn = self._fn.process_element
        scope.has_key = True
        kctx.time_domain = "event"
        for k, v, t in zip(keys, values, timestamps, strict=True):
            scope.current_key = k
            kctx.timestamp = t
            fn(v, kctx)
        scope.has_key = False
        kctx.flush()

    def _fire(self, t: int, key: Any) -> None:
        self._scope.current_key = key
        self._scope.has_key = True
        self._kctx.timestamp = t
        self._fn.on_timer(t, self._kctx)
        self._scope.has_key = False

    def on_watermark(self, watermark: int) -> None:
        self._kctx.time_domain = "event"
        if self._timers.event.advance(watermark, self._fire):
            self._kctx.flush()

    def on_processing_time(self, now_ms: int) -> None:
        self._kctx.time_domain = "processing"
        if self._timers.processing.advance(now_ms, self._fire):
            self._kctx.flush()

    def finish(self) -> None:
        self._scope.has_key = False
        self._fn.finish(self._kctx)
        self._kctx.flush()

    def restore(self, meta: dict[str, Any]) -> None:
        self._timers.rebuild()
