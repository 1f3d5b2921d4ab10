"""User function interfaces: aggregates, process functions, side-output tags."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ingest.operators.context import KeyedContext, ProcessContext

__all__ = [
    "AggregateFunction",
    "Count",
    "KeyedProcessFunction",
    "OutputTag",
    "ProcessFunction",
    "ProcessWindowFunction",
    "ReduceAggregate",
    "Sum",
]

IN = TypeVar("IN")
ACC = TypeVar("ACC")
OUT = TypeVar("OUT")


@dataclass(frozen=True)
class OutputTag:
    """Names a side output (late data, dead letters, alerts...)."""

    name: str


class AggregateFunction(Generic[IN, ACC, OUT]):
    """Incremental aggregation: one accumulator per key and window."""

    def create_accumulator(self) -> ACC:
        raise NotImplementedError

    def add(self, value: IN, acc: ACC) -> ACC:
        raise NotImplementedError

    def get_result(self, acc: ACC) -> OUT:
        return acc  # type: ignore[return-value]

    def merge(self, a: ACC, b: ACC) -> ACC:
        """Combine two accumulators (needed by session windows)."""
        raise NotImplementedError(f"{type(self).__name__} does not support merge()")


class Count(AggregateFunction[Any, int, int]):
    """Counts records; the window operator has a fast path for it."""

    def create_accumulator(self) -> int:
        return 0

    def add(self, value: Any, acc: int) -> int:
        return acc + 1

    def merge(self, a: int, b: int) -> int:
        return a + b


class Sum(AggregateFunction[Any, float, float]):
    """Sums a numeric field (a callable or a field name/index)."""

    def __init__(self, selector: Callable[[Any], float] | str | int) -> None:
        from ingest.time import field_getter

        self._get = field_getter(selector)

    def create_accumulator(self) -> float:
        return 0

    def add(self, value: Any, acc: float) -> float:
        return acc + self._get(value)

    def merge(self, a: float, b: float) -> float:
        return a + b


class ReduceAggregate(AggregateFunction[IN, Any, IN]):
    """Adapts a reduce function ``(a, b) -> a`` to an aggregate."""

    _EMPTY: Any = None

    def __init__(self, fn: Callable[[IN, IN], IN]) -> None:
        self._fn = fn

    def create_accumulator(self) -> Any:
        return _Empty

    def add(self, value: IN, acc: Any) -> IN:
        return value if acc is _Empty else self._fn(acc, value)

    def merge(self, a: Any, b: Any) -> Any:
        if a is _Empty:
            return b
        if b is _Empty:
            return a
        return self._fn(a, b)


class _EmptyType:
    def __reduce__(self) -> str:
        return "_Empty"

    def __repr__(self) -> str:
        return "<empty>"


_Empty = _EmptyType()


class ProcessWindowFunction(Generic[IN, OUT]):
    """Called once per firing with every element of the window (kept in list state)."""

    def process(self, key: Any, start: int, end: int, elements: list[IN]) -> Iterable[OUT]:
        raise NotImplementedError


class ProcessFunction(Generic[IN, OUT]):
    """A per-record function on a non-keyed stream that may emit to main and side outputs."""

    def open(self, ctx: ProcessContext) -> None:
        """Called once per partition task before the first record."""

    def process_element(self, value: IN, ctx: ProcessContext) -> None:
        raise NotImplementedError


class KeyedProcessFunction(Generic[IN, OUT]):
    """A per-record function on a keyed stream with keyed state and timers."""

    def open(self, ctx: KeyedContext) -> None:
        """Register state descriptors here (called once per partition task)."""

    def process_element(self, value: IN, ctx: KeyedContext) -> None:
        raise NotImplementedError

    def on_timer(self, timestamp: int, ctx: KeyedContext) -> None:
        """A timer registered for ``ctx.current_key`` fired."""

    def finish(self, ctx: KeyedContext) -> None:
        """End of a bounded input: flush anything held back (no key is current)."""
