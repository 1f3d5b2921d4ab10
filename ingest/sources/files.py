"""File source: Avro container files and JSON-lines files, one partition per file.

A directory is read as its ``*.avro`` and ``*.jsonl`` files (sorted by name); the partition
id is the file name.  Positions are record indexes.  A JSON line that does not parse is not
dropped: it is emitted as an :class:`InvalidRecord` so the job can dead-letter it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError, ConnectorError
from ingest.sources.base import AssignmentListener, PartitionBatch, Source

__all__ = ["FileSource", "InvalidRecord", "strip_logical_types"]


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """Input that could not be decoded; carries where it came from and why."""

    raw: bytes
    reason: str
    partition: str
    position: int


def strip_logical_types(schema: Any) -> Any:
    """A copy of an Avro schema without logicalType, so timestamps stay epoch-ms ints."""
    if isinstance(schema, dict):
        return {k: strip_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [strip_logical_types(s) for s in schema]
    return schema


def _iter_avro(path: Path) -> Iterator[Any]:
    """Records of a container file, with logical types left as plain values (ts as int)."""
    import fastavro

    with path.open("rb") as fo:
        blocks = fastavro.block_reader(fo)
        schema = fastavro.parse_schema(strip_logical_types(blocks.writer_schema))
        read = fastavro.schemaless_reader
        for block in blocks:
            data = block.bytes_  # type: ignore[attr-defined]  # the decompressed block
            for _ in range(block.num_records):
                yield read(data, schema, None)


def _iter_jsonl(path: Path, partition: str) -> Iterator[Any]:
    with path.open("rb") as fo:
        for i, line in enumerate(fo):
            stripped = line.strip()
            if not stripped:
                yield InvalidRecord(line, "empty line", partition, i)
                continue
            try:
                yield json.loads(stripped)
            except (ValueError, UnicodeDecodeError) as exc:
                yield InvalidRecord(stripped, f"invalid JSON: {exc}", partition, i)


AvroReader = Callable[[Path], Iterator[Any]]


class FileSource(Source):
    """``avro_reader`` may replace the built-in container decoder (e.g. a faster one)."""

    bounded = True

    def __init__(
        self,
        paths: str | Path | list[str | Path],
        batch_size: int = 2000,
        avro_reader: AvroReader | None = None,
    ) -> None:
        self._avro_reader = avro_reader or _iter_avro
        files: list[Path] = []
        for p in paths if isinstance(paths, list) else [paths]:
            path = Path(p)
            if path.is_dir():
                files.extend(sorted(f for f in path.iterdir() if f.suffix in (".avro", ".jsonl")))
            elif path.is_file():
                files.append(path)
            else:
                raise ConfigError(
                    f"file source path {str(path)!r} does not exist; give a directory of "
                    "*.avro / *.jsonl files or the files themselves"
                )
        if not files:
            raise ConfigError(f"no *.avro or *.jsonl files found in {paths!r}")
        self._files = {f.name: f for f in files}
        if len(self._files) != len(files):
            raise ConfigError(f"file names must be unique (they are partition ids): {files}")
        self.batch_size = batch_size
        self._iters: dict[str, Iterator[Any]] = {}
        self._pos: dict[str, int] = {}
        self._done: set[str] = set()

    def partitions(self) -> list[str]:
        return sorted(self._files)

    def _open_partition(self, name: str, start: int) -> None:
        path = self._files[name]
        try:
            it = self._avro_reader(path) if path.suffix == ".avro" else _iter_jsonl(path, name)
            for _ in range(start):
                next(it)
        except StopIteration:
            it = iter(())
        except (OSError, ValueError) as exc:
            raise ConnectorError(f"cannot read {path}: {exc}") from exc
        self._iters[name] = it
        self._pos[name] = start

    def open(self, listener: AssignmentListener) -> None:
        parts = self.partitions()
        starts = listener.on_assigned(parts)
        for p in parts:
            s = starts.get(p)
            self._open_partition(p, 0 if s is None else int(s))

    def assigned(self) -> list[str]:
        return sorted(self._iters)

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        out = []
        n = min(self.batch_size, max_records)
        for p in sorted(self._iters):
            if p in self._done:
                continue
            try:
                vals: list[Any] = list(islice(self._iters[p], n))
            except Exception as exc:  # a corrupt file: name it, with the position
                raise ConnectorError(
                    f"cannot read {self._files[p]} in the {n} records from record "
                    f"{self._pos[p]}: {exc}"
                ) from exc
            eop = len(vals) < n
            self._pos[p] += len(vals)
            if eop:
                self._done.add(p)
            out.append(PartitionBatch(p, vals, None, self._pos[p], eop))
        return out
