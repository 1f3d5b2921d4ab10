"""What ``rdg jobs`` knows about a job: its state (from the status file and which of its
processes are alive), its workers, and its newest checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jobs.procs import live_pids
from jobs.spec import JobSpec
from jobs.status import (
    S_FAILED,
    S_STARTING,
    S_STOPPED,
    S_STOPPING,
    W_RESTARTING,
    W_STOPPED,
    JobStatus,
    checkpoint_dir,
    now_ms,
    read_status,
    status_path,
)

__all__ = [
    "Checkpoint",
    "JobInfo",
    "deployed_jobs",
    "job_info",
    "job_state",
    "last_checkpoint",
]


def job_state(status: JobStatus | None, alive: dict[str, int] | None = None) -> str:
    """running | starting | restarting | stopping | stopped | crashed, from the status file
    and which of its processes are alive (``alive`` as from :func:`live_pids`)."""
    if status is None:
        return "stopped"
    alive = live_pids(status) if alive is None else alive
    if status.state == S_FAILED:
        return "crashed"
    if "supervisor" not in alive:
        if status.state == S_STOPPED and not alive:
            return "stopped"
        # the supervisor died without saying it stopped, or gave up (state failed)
        return "crashed"
    if status.state == S_STOPPING:
        return "stopping"
    if status.state == S_STOPPED:  # written just before the supervisor exits
        return "stopping"
    if status.state == S_STARTING:
        return "starting"
    ws = list(status.workers.values())
    if any(not w.ready or w.state == W_RESTARTING or w.worker not in alive for w in ws):
        return "restarting"
    return "running"


@dataclass(frozen=True)
class Checkpoint:
    id: int
    worker: str
    created_ms: int


def last_checkpoint(directory: Path) -> Checkpoint | None:
    """The newest committed checkpoint manifest in a job's checkpoint dir, if any."""
    from jobs.lag import read_manifests

    manifests = read_manifests(directory)
    if not manifests:
        return None
    m = manifests[0]
    return Checkpoint(int(m["id"]), str(m.get("worker", "?")), int(m.get("created_ms", 0)))


@dataclass
class JobInfo:
    """What ``rdg jobs`` shows for one job."""

    job: str
    topic: str
    state: str
    workers: list[dict[str, Any]]
    supervisor_pid: int | None
    parallelism: int | None
    started_ms: int | None
    uptime_s: float | None
    restarts: int
    last_checkpoint_id: int | None
    last_checkpoint_worker: str | None
    last_checkpoint_age_s: float | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_info(state_dir: Path, spec: JobSpec | None, job: str, at_ms: int | None = None) -> JobInfo:
    """The state of one job (deployed or not) from its status file, /proc and checkpoints."""
    at = now_ms() if at_ms is None else at_ms
    status = read_status(status_path(state_dir, job))
    alive = live_pids(status) if status is not None else {}
    state = job_state(status, alive)
    workers: list[dict[str, Any]] = []
    if status is not None:
        for w in status.workers.values():
            up = w.worker in alive
            workers.append(
                {
                    "worker": w.worker,
                    "pid": w.pid,
                    "alive": up,
                    "state": w.state if up or w.state == W_RESTARTING else W_STOPPED,
                    "started_ms": w.started_ms,
                    "uptime_s": round((at - w.started_ms) / 1000, 1)
                    if up and w.started_ms
                    else None,
                    "restarts": w.restarts,
                    "last_exit_code": w.last_exit_code,
                    "log": w.log,
                }
            )
    ck = last_checkpoint(checkpoint_dir(state_dir, job))
    running = status is not None and "supervisor" in alive
    topic = spec.topic if spec is not None else (status.topic if status else "?")
    return JobInfo(
        job=job,
        topic=topic,
        state=state,
        workers=workers,
        supervisor_pid=status.supervisor_pid if status else None,
        parallelism=status.parallelism if status else (spec.parallelism if spec else None),
        started_ms=status.started_ms if status else None,
        uptime_s=round((at - status.started_ms) / 1000, 1) if status and running else None,
        restarts=sum(w.restarts for w in status.workers.values()) if status else 0,
        last_checkpoint_id=ck.id if ck else None,
        last_checkpoint_worker=ck.worker if ck else None,
        last_checkpoint_age_s=round((at - ck.created_ms) / 1000, 1) if ck else None,
        error=status.error if status else None,
    )


def deployed_jobs(state_dir: Path) -> list[str]:
    """Jobs that have a status file under the state dir."""
    d = state_dir / "deploy"
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if (p / "status.json").is_file())
