"""A deployed job's files on disk: where they live, and its status file.

Written by the supervisor (jobs/supervisor.py), read by every ``rdg`` command that lists,
stops or inspects a job.  Layout under the state dir::

    deploy/<job>/status.json          the supervisor's status (written atomically)
    deploy/<job>/ready/<worker>.<pid> a worker's "I am built and about to read" marker
    logs/<job>-supervisor.log         the supervisor's own log
    logs/<job>-<worker>.log           each worker's output (appended across restarts)
    checkpoints/<job>/                the workers' shared checkpoint directory
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError

__all__ = [
    "JobStatus",
    "WorkerStatus",
    "checkpoint_dir",
    "deploy_dir",
    "log_path",
    "now_ms",
    "read_status",
    "ready_dir",
    "status_path",
    "supervisor_log_path",
    "tail",
    "worker_ids",
    "write_status",
]

STATUS_FORMAT = 1
SUPERVISOR_MODULE = "jobs.supervisor"
WORKER_MODULE = "jobs.worker"

# supervisor states written to the status file
S_STARTING = "starting"
S_RUNNING = "running"
S_STOPPING = "stopping"
S_STOPPED = "stopped"
S_FAILED = "failed"

# worker states written to the status file
W_STARTING = "starting"  # spawned, not yet ready
W_RUNNING = "running"  # ready (built its job: store and Kafka reachable)
W_RESTARTING = "restarting"  # exited; restart scheduled at next_start_ms
W_STOPPED = "stopped"


# --------------------------------------------------------------------------- paths


def deploy_dir(state_dir: Path, job: str) -> Path:
    return state_dir / "deploy" / job


def status_path(state_dir: Path, job: str) -> Path:
    return deploy_dir(state_dir, job) / "status.json"


def ready_dir(state_dir: Path, job: str) -> Path:
    return deploy_dir(state_dir, job) / "ready"


def log_path(state_dir: Path, job: str, worker: str) -> Path:
    return state_dir / "logs" / f"{job}-{worker}.log"


def supervisor_log_path(state_dir: Path, job: str) -> Path:
    return log_path(state_dir, job, "supervisor")


def checkpoint_dir(state_dir: Path, job: str) -> Path:
    """Where a deployed job's workers checkpoint (the runner's default for Kafka)."""
    return state_dir / "checkpoints" / job


def worker_ids(parallelism: int) -> list[str]:
    return [f"w{i}" for i in range(parallelism)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------- status file


@dataclass
class WorkerStatus:
    """One worker slot as the supervisor sees it."""

    worker: str
    pid: int | None = None
    started_ms: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    state: str = W_STARTING
    ready: bool = False
    failures: int = 0  # consecutive quick failures (drives the backoff)
    next_start_ms: int | None = None
    log: str = ""

    @staticmethod
    def from_json(d: dict[str, Any]) -> WorkerStatus:
        known = WorkerStatus.__dataclass_fields__
        return WorkerStatus(**{k: v for k, v in d.items() if k in known})


@dataclass
class JobStatus:
    """A deployed job's status file (``deploy/<job>/status.json``)."""

    job: str
    topic: str
    kafka_topic: str
    supervisor_pid: int
    started_ms: int
    parallelism: int
    bootstrap: str
    store: str
    state: str = S_STARTING
    updated_ms: int = 0
    error: str | None = None
    workers: dict[str, WorkerStatus] = field(default_factory=dict)
    format: int = STATUS_FORMAT

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["workers"] = {w: asdict(s) for w, s in self.workers.items()}
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> JobStatus:
        known = JobStatus.__dataclass_fields__
        fields_ = {k: v for k, v in d.items() if k in known and k != "workers"}
        workers = {w: WorkerStatus.from_json(s) for w, s in (d.get("workers") or {}).items()}
        return JobStatus(**fields_, workers=workers)

    def pids(self) -> list[int]:
        """The supervisor's and the workers' pids, as recorded."""
        out = [self.supervisor_pid]
        out.extend(w.pid for w in self.workers.values() if w.pid)
        return out


def write_status(path: Path, status: JobStatus) -> None:
    """Write the status file atomically (temp file, fsync, rename): readers never see a
    half-written file."""
    status.updated_ms = now_ms()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fo:
        json.dump(status.to_json(), fo, indent=2, sort_keys=True)
        fo.flush()
        os.fsync(fo.fileno())
    os.replace(tmp, path)


def read_status(path: Path) -> JobStatus | None:
    """The status in ``path``, or None if there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read job status {path}: {exc}") from exc
    try:
        return JobStatus.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"job status file {path} is damaged ({exc}); stop any leftover processes "
            f"and delete {path.parent} to reset the job"
        ) from exc


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file (reads backwards in blocks)."""
    if lines <= 0:
        return []
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            block = 8192
            data = b""
            pos = end
            while pos > 0 and data.count(b"\n") <= lines:
                step = min(block, pos)
                pos -= step
                f.seek(pos)
                data = f.read(step) + data
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    return text[-lines:]
