"""The sink contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Sink"]


class Sink(ABC):
    """Buffers records and writes them durably on :meth:`flush`.

    ``flush`` is called before every checkpoint: once it returns, everything added so far
    must be written (or the call must raise, which fails the checkpoint).  A target that is
    overloaded raises :class:`~ingest.errors.BackpressureError` instead of blocking forever.
    """

    @abstractmethod
    def add(self, value: Any, timestamp: int) -> None: ...

    def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
        for v, t in zip(values, timestamps, strict=True):
            self.add(v, t)

    @abstractmethod
    def flush(self) -> None: ...

    def close(self) -> None:
        """Flush is not implied; the runtime flushes before closing on a clean stop."""
