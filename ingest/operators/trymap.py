"""Map with a dead-letter side output: a failing record becomes a DeadLetter, the batch goes on.

The whole batch is mapped at C speed first; only a batch that raised is redone record by
record, so the good records around a bad one are kept and in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.deadletter import DeadLetter
from ingest.operators.base import Operator

__all__ = ["TryMapOperator"]

OriginFn = Callable[[Any], dict[str, Any]]


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class TryMapOperator(Operator):
    def __init__(
        self, uid: str, fn: Callable[[Any], Any], tag: str, origin: OriginFn | None = None
    ) -> None:
        super().__init__(uid)
        self._fn = fn
        self._tag = tag
        self._origin = origin

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        fn = self._fn
        try:
            self.out.push(list(map(fn, values)), timestamps)
            return
        except Exception:
            pass
        good_v: list[Any] = []
        good_t: list[int] = []
        bad_v: list[Any] = []
        bad_t: list[int] = []
        for v, t in zip(values, timestamps, strict=True):
            try:
                good_v.append(fn(v))
                good_t.append(t)
            except Exception as exc:
                origin = self._origin(v) if self._origin else {}
                reason = getattr(exc, "reason", None) or _reason(exc)
                detail = str(exc) if getattr(exc, "reason", None) else ""
                if detail and detail != reason:
                    reason = f"{reason}: {detail}"
                bad_v.append(DeadLetter(reason, v, self.uid, origin))
                bad_t.append(t)
        self.ctx.metrics.inc("dead_letters", len(bad_v))
        self.out.push(good_v, good_t)
        self.side_output(self._tag).push(bad_v, bad_t)
