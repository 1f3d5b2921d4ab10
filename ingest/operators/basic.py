"""Stateless operators: map, filter, flat_map, process, and the sink writer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import compress
from typing import TYPE_CHECKING, Any

from ingest.functions import ProcessFunction
from ingest.operators.base import Operator, TaskContext
from ingest.operators.context import ProcessContext

if TYPE_CHECKING:
    from ingest.sinks.base import Sink

__all__ = ["FilterOperator", "FlatMapOperator", "MapOperator", "ProcessOperator", "SinkOperator"]


class MapOperator(Operator):
    def __init__(self, uid: str, fn: Callable[[Any], Any]) -> None:
        super().__init__(uid)
        self._fn = fn

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        self.out.push(list(map(self._fn, values)), timestamps)


class FilterOperator(Operator):
    def __init__(self, uid: str, fn: Callable[[Any], bool]) -> None:
        super().__init__(uid)
        self._fn = fn

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        keep = list(map(self._fn, values))
        self.out.push(list(compress(values, keep)), list(compress(timestamps, keep)))


class FlatMapOperator(Operator):
    def __init__(self, uid: str, fn: Callable[[Any], Iterable[Any]]) -> None:
        super().__init__(uid)
        self._fn = fn

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        out_v: list[Any] = []
        out_t: list[int] = []
        fn = self._fn
        for v, t in zip(values, timestamps, strict=True):
            n = len(out_v)
            out_v.extend(fn(v))
            out_t.extend([t] * (len(out_v) - n))
        self.out.push(out_v, out_t)


class ProcessOperator(Operator):
    """Runs a :class:`ProcessFunction` per record; emissions leave as one batch."""

    def __init__(self, uid: str, fn: ProcessFunction[Any, Any]) -> None:
        super().__init__(uid)
        self._fn = fn

    def open(self, ctx: TaskContext) -> None:
        super().open(ctx)
        self._pctx = ProcessContext(self, ctx)
        self._fn.open(self._pctx)

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        pctx = self._pctx
        fn = self._fn.process_element
        for v, t in zip(values, timestamps, strict=True):
            pctx.timestamp = t
            fn(v, pctx)
        pctx.flush()


class SinkOperator(Operator):
    """Hands batches to a (job-wide, shared) sink; the sink writes on flush()."""

    def __init__(self, uid: str, sink: Sink) -> None:
        super().__init__(uid)
        self.sink = sink

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        self.sink.add_batch(values, timestamps)
