"""Dead letters: bad input as an output with a reason, never a crash or a silent drop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeadLetter"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a step could not handle, with why and where it came from.

    ``value`` is the input as received (raw bytes for undecodable messages); ``origin`` says
    where it was read (topic, partition, offset, file...) as far as the source knows.
    """

    reason: str
    value: Any
    step: str = ""
    origin: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.origin.items())
        return f"{self.step}: {self.reason}" + (f" ({where})" if where else "")
