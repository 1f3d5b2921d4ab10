"""Checkpoint storage: content-checked blobs and atomically committed manifests.

Local layout::

    <dir>/data/<partition>/<seq>-<token>.(full|delta)   one blob per partition checkpoint
    <dir>/manifests/chk-<id>-<worker>.json               written last, by atomic rename

A manifest that does not parse, or that names a blob that is missing or whose SHA-256
does not match, is torn and never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import CheckpointError

__all__ = ["BlobRef", "CheckpointStorage", "LocalDirectoryStorage"]

log = logging.getLogger(__name__)

_MANIFEST_RE = re.compile(r"^chk-(\d{12})-([^-/]+)\.json$")


@dataclass(frozen=True)
class BlobRef:
    path: str
    sha256: str
    size: int
    full: bool

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "full": self.full}

    @staticmethod
    def from_json(d: dict[str, Any]) -> BlobRef:
        return BlobRef(str(d["path"]), str(d["sha256"]), int(d["size"]), bool(d["full"]))


class CheckpointStorage(ABC):
    """Where checkpoints live; a local directory is the first implementation."""

    @abstractmethod
    def write_blob(self, partition: str, seq: int, data: bytes, full: bool) -> BlobRef: ...

    @abstractmethod
    def read_blob(self, ref: BlobRef) -> bytes:
        """The blob's bytes; raises CheckpointError if missing or corrupt."""

    @abstractmethod
    def commit_manifest(self, manifest: dict[str, Any]) -> str: ...

    @abstractmethod
    def manifests(self) -> list[dict[str, Any]]:
        """Every readable manifest, newest id first (unparsable ones are skipped)."""

    @abstractmethod
    def delete_manifest(self, name: str) -> None: ...

    @abstractmethod
    def blob_paths(self, partition: str) -> list[str]: ...

    @abstractmethod
    def delete_blob(self, path: str) -> None: ...


def _safe(partition: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in partition)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalDirectoryStorage(CheckpointStorage):
    def __init__(self, directory: str | Path) -> None:
        self.root = Path(directory)
        self._data = self.root / "data"
        self._manifests = self.root / "manifests"
        try:
            self._data.mkdir(parents=True, exist_ok=True)
            self._manifests.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.root}: {exc}; "
                "choose a writable --checkpoint-dir"
            ) from exc

    def write_blob(self, partition: str, seq: int, data: bytes, full: bool) -> BlobRef:
        d = self._data / _safe(partition)
        d.mkdir(parents=True, exist_ok=True)
        name = f"{seq:012d}-{os.urandom(4).hex()}.{'full' if full else 'delta'}"
        path = d / name
        with path.open("wb") as fo:
            fo.write(data)
            fo.flush()
            os.fsync(fo.fileno())
        rel = str(path.relative_to(self.root))
        return BlobRef(rel, hashlib.sha256(data).hexdigest(), len(data), full)

    def read_blob(self, ref: BlobRef) -> bytes:
        path = self.root / ref.path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint blob {path} is unreadable: {exc}") from exc
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise CheckpointError(f"checkpoint blob {path} is torn (size or checksum mismatch)")
        return data

    def commit_manifest(self, manifest: dict[str, Any]) -> str:
        name = f"chk-{int(manifest['id']):012d}-{manifest['worker']}.json"
        tmp = self._manifests / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as fo:
            json.dump(manifest, fo, sort_keys=True)
            fo.flush()
            os.fsync(fo.fileno())
        os.replace(tmp, self._manifests / name)
        _fsync_dir(self._manifests)
        return name

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for f in self._manifests.iterdir():
            m = _MANIFEST_RE.match(f.name)
            if not m:
                continue
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
                if int(data["id"]) != int(m.group(1)) or not isinstance(data["partitions"], dict):
                    raise ValueError("manifest content does not match its name")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable checkpoint manifest %s: %s", f, exc)
                continue
            data["_name"] = f.name
            out.append(data)
        out.sort(key=lambda d: (int(d["id"]), int(d.get("created_ms", 0))), reverse=True)
        return out

    def delete_manifest(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._manifests / name).unlink()

    def blob_paths(self, partition: str) -> list[str]:
        d = self._data / _safe(partition)
        if not d.is_dir():
            return []
        return [str((d / f).relative_to(self.root)) for f in os.listdir(d)]

    def delete_blob(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / path).unlink()
