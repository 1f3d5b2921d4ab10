"""The checkpoint coordinator: when and in which order a checkpoint is taken and restored.

COMMIT ORDER (written down once, here; every checkpoint follows it):

1. The runtime calls :meth:`CheckpointCoordinator.checkpoint` between two polls, so no
   batch is half-processed: state, timers and positions describe the same instant.  Each
   operator's ``prepare_snapshot()`` emits what it holds in memory only (e.g. coalesced
   writes), so that output reaches the sinks before they flush.
2. Flush every sink.  Everything derived from records before the source positions is now
   durable in the targets (or the flush raised and the checkpoint is abandoned).
3. Snapshot every partition task: keyed-state delta (or a full snapshot every
   ``compact_every`` checkpoints), timers (they live in keyed state), operator metadata,
   the partition watermark and the source position.  The delta is merged into the base.
4. Write one blob per partition and fsync it.
5. Commit the manifest (temp file, fsync, atomic rename, directory fsync).  Only now does
   the checkpoint exist; a crash before this point leaves a torn checkpoint nobody reads.
6. Tell the source the positions are durable (Kafka: commit the offsets), so committed
   offsets always mean durable progress.
7. Prune: keep the newest ``retain`` manifests (and each partition's newest), delete blobs
   no kept manifest references.

RECOVERY reads it back in reverse: find, per partition, the newest manifest whose blob
chain (full + deltas) is all present and checksum-clean, rebuild the state from the chain,
restore the operator metadata and watermark, and resume the source at the stored position.
Because sinks were flushed before the positions were recorded, replay from there re-emits
anything not yet durable; an idempotent (upsert) sink therefore ends up exactly as in an
uninterrupted run (see docs/guarantees.md).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingest.checkpoint.config import CheckpointConfig
from ingest.checkpoint.storage import BlobRef, CheckpointStorage, LocalDirectoryStorage
from ingest.errors import CheckpointError
from ingest.time import MIN_WATERMARK

if TYPE_CHECKING:
    from ingest.runtime.task import PartitionTask
    from ingest.sinks.base import Sink

__all__ = ["COMMIT_ORDER", "CheckpointCoordinator", "RestorePoint"]

log = logging.getLogger(__name__)

COMMIT_ORDER = (
    "pause between polls",
    "flush sinks",
    "snapshot partition tasks",
    "write partition blobs",
    "commit manifest",
    "commit source positions",
    "prune old checkpoints",
)


@dataclass
class RestorePoint:
    """What a partition restores from: its blob chain, position and checkpoint metadata."""

    partition: str
    checkpoint_id: int
    seq: int
    chain: list[BlobRef]
    blobs: list[bytes]
    position: Any


@dataclass
class _Chain:
    seq: int
    refs: list[BlobRef]


class CheckpointCoordinator:
    def __init__(
        self,
        job: str,
        config: CheckpointConfig,
        storage: CheckpointStorage | None = None,
    ) -> None:
        self.job = job
        self.config = config
        self.storage = storage or LocalDirectoryStorage(config.directory)
        self._chains: dict[str, _Chain] = {}
        manifests = self.storage.manifests()
        self._next_id = (int(manifests[0]["id"]) + 1) if manifests else 1
        self.completed: list[int] = []
        self.last_duration_ms = 0.0
        self.last_bytes = 0

    # -- restore -----------------------------------------------------------------------
    def restore_points(self, partitions: Iterable[str]) -> dict[str, RestorePoint]:
        """Where each partition restores from: one consistent cut.

        Manifests are tried newest first.  A manifest is used for the partitions it holds
        that are still unresolved only if *every* one of their blob chains is present and
        checksum-clean; otherwise the whole manifest is torn and skipped.  Restoring some
        partitions from a newer checkpoint than others would move the job watermark (the
        minimum over partitions) differently than in the original run.
        """
        remaining = set(partitions)
        points: dict[str, RestorePoint] = {}
        manifests = sorted(
            self.storage.manifests(),
            key=lambda m: (int(m.get("created_ms", 0)), int(m["id"])),
            reverse=True,
        )
        for m in manifests:
            parts = sorted(remaining & set(m["partitions"]))
            if not parts:
                continue
            try:
                found = {p: self._verify(m, p) for p in parts}
            except (CheckpointError, KeyError, TypeError, ValueError) as exc:
                log.warning("skipping torn checkpoint %s: %s", m["_name"], exc)
                continue
            points.update(found)
            remaining -= set(parts)
            if not remaining:
                break
        for p in partitions:
            point = points.get(p)
            if point is None:
                self._chains.pop(p, None)
            else:
                self._chains[p] = _Chain(point.seq, point.chain)
        return points

    def restore_point(self, partition: str) -> RestorePoint | None:
        """The restore point of a single partition (see :meth:`restore_points`)."""
        return self.restore_points([partition]).get(partition)

    def _verify(self, m: dict[str, Any], partition: str) -> RestorePoint:
        entry = m["partitions"][partition]
        refs = [BlobRef.from_json(r) for r in entry["chain"]]
        if not refs or not refs[0].full:
            raise CheckpointError(f"chain of partition {partition} has no full snapshot")
        blobs = [self.storage.read_blob(r) for r in refs]
        return RestorePoint(
            partition, int(m["id"]), int(entry["seq"]), refs, blobs, entry.get("position")
        )

    # -- checkpoint ----------------------------------------------------------------------
    def checkpoint(
        self,
        tasks: Sequence[PartitionTask],
        sinks: Iterable[Sink],
        kind: str = "periodic",
        runtime_meta: dict[str, Any] | None = None,
    ) -> int:
        """Take one checkpoint of ``tasks`` following COMMIT_ORDER; returns its id."""
        t0 = time.perf_counter()
        # 1. operators hand over what they hold in memory only
        for task in tasks:
            task.prepare_snapshot()
        # 2. flush sinks
        for sink in sinks:
            sink.flush()
        # 3 + 4. snapshot each partition task and write its blob
        entries: dict[str, Any] = {}
        nbytes = 0
        for task in tasks:
            prev = self._chains.get(task.partition)
            full = prev is None or len(prev.refs) >= self.config.compact_every
            seq = (prev.seq + 1) if prev else self._seq_floor(task.partition)
            blob = pickle.dumps(
                {"store": task.store.snapshot(full=full), "task": task.snapshot_meta()},
                protocol=5,
            )
            ref = self.storage.write_blob(task.partition, seq, blob, full)
            nbytes += len(blob)
            refs = [ref] if full or prev is None else [*prev.refs, ref]
            self._chains[task.partition] = _Chain(seq, refs)
            pw = task.watermark
            entries[task.partition] = {
                "seq": seq,
                "chain": [r.to_json() for r in refs],
                "position": task.position,
                # for monitoring (rdg lag) without reading the blob
                "max_event_time": pw.max_ts if pw.max_ts > MIN_WATERMARK else None,
                "watermark": pw.watermark if pw.max_ts > MIN_WATERMARK or pw.finished else None,
                "finished": task.finished,
            }
        # 5. commit the manifest
        cid = self._next_id
        self._next_id += 1
        manifest = {
            "format": 1,
            "job": self.job,
            "id": cid,
            "worker": self.config.worker_id,
            "kind": kind,
            "created_ms": time.time_ns() // 1_000_000,
            "partitions": entries,
            "runtime": runtime_meta or {},
        }
        self.storage.commit_manifest(manifest)
        self.completed.append(cid)
        self.last_duration_ms = (time.perf_counter() - t0) * 1000
        self.last_bytes = nbytes
        log.debug("checkpoint %d (%s) of %d partitions: %d bytes", cid, kind, len(tasks), nbytes)
        return cid

    def _seq_floor(self, partition: str) -> int:
        """First seq of a fresh chain: above anything that exists for the partition."""
        best = 0
        for m in self.storage.manifests():
            e = m["partitions"].get(partition)
            if e is not None:
                best = max(best, int(e["seq"]))
        return best + 1

    def forget(self, partition: str) -> None:
        """The partition was revoked: its next owner continues from the storage."""
        self._chains.pop(partition, None)

    # -- prune -------------------------------------------------------------------------
    def prune(self, owned_partitions: Iterable[str]) -> None:
        """Step 7: drop old manifests of this worker and blobs nobody references."""
        manifests = self.storage.manifests()
        keep: set[str] = set()
        mine = [m for m in manifests if m.get("worker") == self.config.worker_id]
        keep.update(m["_name"] for m in mine[: self.config.retain])
        newest_for: dict[str, str] = {}
        for m in manifests:  # newest first
            for p in m["partitions"]:
                newest_for.setdefault(p, m["_name"])
        keep.update(newest_for.values())
        keep.update(m["_name"] for m in manifests if m.get("worker") != self.config.worker_id)
        referenced: set[str] = set()
        for m in manifests:
            if m["_name"] in keep:
                for e in m["partitions"].values():
                    referenced.update(r["path"] for r in e["chain"])
            else:
                self.storage.delete_manifest(m["_name"])
        for chain in self._chains.values():
            referenced.update(r.path for r in chain.refs)
        for p in owned_partitions:
            for path in self.storage.blob_paths(p):
                if path not in referenced:
                    self.storage.delete_blob(path)

    @staticmethod
    def load_task_meta(blob: bytes) -> tuple[bytes, dict[str, Any]]:
        snap = pickle.loads(blob)
        return snap["store"], snap["task"]
