"""JSON-lines file sink: appends on flush and fsyncs, so flushed output survives a crash."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.errors import ConnectorError
from ingest.sinks.base import Sink

__all__ = ["FileSink"]


def _default(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return value._asdict()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


class FileSink(Sink):
    def __init__(self, path: str | Path, encode: Callable[[Any], Any] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._encode = encode
        self._pending: list[str] = []

    def add(self, value: Any, timestamp: int) -> None:
        v = self._encode(value) if self._encode else value
        if hasattr(v, "_asdict"):
            v = v._asdict()
        self._pending.append(json.dumps(v, default=_default, separators=(",", ":")))

    def flush(self) -> None:
        if not self._pending:
            return
        data = "\n".join(self._pending) + "\n"
        try:
            with self.path.open("a", encoding="utf-8") as fo:
                fo.write(data)
                fo.flush()
                os.fsync(fo.fileno())
        except OSError as exc:
            raise ConnectorError(f"cannot write to {self.path}: {exc}") from exc
        self._pending = []
