"""Contexts handed to user functions: emit, side outputs, time, keyed state and timers."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from ingest.functions import OutputTag
from ingest.state.handles import KeyScope, ListState, MapState, StateTtl, ValueState

if TYPE_CHECKING:
    from ingest.operators.base import Operator, TaskContext
    from ingest.timers import TimerService

__all__ = ["KeyedContext", "ProcessContext"]


class ProcessContext:
    """Per-record context of a process function; buffers emissions into one batch."""

    def __init__(self, op: Operator, task: TaskContext) -> None:
        self._op = op
        self.task = task
        self.timestamp = 0
        self._vals: list[Any] = []
        self._ts: list[int] = []
        self._side: dict[str, tuple[list[Any], list[int]]] = {}

    @property
    def partition(self) -> str:
        return self.task.partition

    @property
    def current_watermark(self) -> int:
        return self._op.current_watermark

    @property
    def current_processing_time(self) -> int:
        return self.task.clock.now_ms()

    def emit(self, value: Any, timestamp: int | None = None) -> None:
        self._vals.append(value)
        self._ts.append(self.timestamp if timestamp is None else timestamp)

    def output(self, tag: OutputTag | str, value: Any, timestamp: int | None = None) -> None:
        """Send a record to a side output (dead letters, alerts, ...)."""
        name = tag.name if isinstance(tag, OutputTag) else tag
        buf = self._side.get(name)
        if buf is None:
            buf = ([], [])
            self._side[name] = buf
        buf[0].append(value)
        buf[1].append(self.timestamp if timestamp is None else timestamp)

    def flush(self) -> None:
        if self._vals:
            vals, ts = self._vals, self._ts
            self._vals, self._ts = [], []
            self._op.out.push(vals, ts)
        if self._side:
            side, self._side = self._side, {}
            for name, (vals, ts) in side.items():
                self._op.side_output(name).push(vals, ts)


class KeyedContext(ProcessContext):
    """Adds the current key, keyed state and timers."""

    def __init__(
        self, op: Operator, task: TaskContext, scope: KeyScope, timers: TimerService
    ) -> None:
        super().__init__(op, task)
        self.scope = scope
        self._timers = timers
        self.time_domain = "event"

    @property
    def current_key(self) -> Hashable:
        return self.scope.key()

    # -- state ----------------------------------------------------------------------
    def _table(self, name: str) -> Any:
        return self.task.store.table(f"{self._op.uid}/{name}")

    def value_state(self, name: str, ttl: StateTtl | None = None) -> ValueState[Any]:
        return ValueState(self._table(name), self.scope, ttl)

    def list_state(self, name: str, ttl: StateTtl | None = None) -> ListState[Any]:
        return ListState(self._table(name), self.scope, ttl)

    def map_state(self, name: str, ttl: StateTtl | None = None) -> MapState[Any, Any]:
        return MapState(self._table(name), self.scope, ttl)

    # -- timers ---------------------------------------------------------------------
    def register_event_time_timer(self, t: int) -> None:
        self._timers.event.register(t, self.scope.key())

    def delete_event_time_timer(self, t: int) -> None:
        self._timers.event.delete(t, self.scope.key())

    def register_processing_time_timer(self, t: int) -> None:
        self._timers.processing.register(t, self.scope.key())

    def delete_processing_time_timer(self, t: int) -> None:
        self._timers.processing.delete(t, self.scope.key())
