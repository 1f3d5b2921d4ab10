"""Deployed jobs: starting, stopping and inspecting them.

``rdg deploy`` starts one detached *supervisor* process per job (``python -m
jobs.supervisor``, its own session, so it outlives the CLI); the supervisor runs the job's
worker processes (``python -m jobs.worker``) and keeps its status file current (see
jobs/status.py for the layout on disk).

Everything here works from the status file and /proc, never from ``Popen`` objects, so
any later ``rdg`` process can list, stop or inspect a job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ConfigError, RDGError

# job states and process checks live in their own modules; their names stay importable
# from here
from jobs.jobinfo import Checkpoint, JobInfo, deployed_jobs, job_info, job_state, last_checkpoint
from jobs.procs import (
    POLL_S,
    live_pids,
    process_alive,
    send_signal,
    supervisor_marker,
    wait_gone,
    worker_marker,
)
from jobs.spec import JobSpec
from jobs.status import (
    S_RUNNING,
    S_STOPPED,
    SUPERVISOR_MODULE,
    W_STOPPED,
    JobStatus,
    deploy_dir,
    read_status,
    status_path,
    supervisor_log_path,
    tail,
    write_status,
)

__all__ = [
    "Checkpoint",
    "DeployOutcome",
    "JobInfo",
    "OpsError",
    "StopOutcome",
    "deploy_jobs",
    "deployed_jobs",
    "job_info",
    "job_state",
    "last_checkpoint",
    "live_pids",
    "process_alive",
    "stop_jobs",
    "supervisor_marker",
    "wait_gone",
    "worker_marker",
]

log = logging.getLogger(__name__)

DEFAULT_READY_TIMEOUT_S = 90.0
DEFAULT_STOP_TIMEOUT_S = 60.0


class OpsError(RDGError):
    """An operation on a job failed; ``exit_code`` follows the CLI's codes (1 not found,
    2 bad input, 3 unreachable)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- deploy


@dataclass
class DeployOutcome:
    job: str
    topic: str
    result: str  # started | already-running | failed
    message: str
    exit_code: int = 0
    supervisor_pid: int | None = None
    workers: dict[str, int] = field(default_factory=dict)


def check_kafka(bootstrap: str, specs: Iterable[JobSpec], timeout: float = 5.0) -> None:
    """Fail with a clear error unless Kafka answers and every job's topic exists."""
    from ingest.kafka import admin

    topics = set(admin.list_topics(bootstrap, timeout=timeout))
    missing = [s.source_topic for s in specs if s.source_topic not in topics]
    if missing:
        raise OpsError(
            f"Kafka at {bootstrap} has no topic {', '.join(repr(t) for t in missing)}; "
            "create it (or produce events to it, e.g. `rdg generate ... --kafka`) before "
            "deploying its job",
            exit_code=1,
        )


def check_stores(urls: Iterable[str]) -> None:
    """Open each store once before any worker starts: a bad URL (ConfigError) or an
    unreachable store (ConnectorError) fails the deploy with nothing started, and the
    schema is created here rather than by N workers at once."""
    from graphstore import open_store

    for url in sorted(urls):
        if url.startswith("sqlite:") and (":memory:" in url or url.rstrip("/") == "sqlite:"):
            raise ConfigError(
                f"store {url!r} is in memory, private to each worker process; deploy into "
                "a file (sqlite:///./rdg.db) or Cassandra (cassandra://HOST:PORT/KEYSPACE)"
            )
        open_store(url).close()


def _stop_leftovers(status: JobStatus, timeout: float) -> None:
    """Terminate processes of a crashed deployment (e.g. workers whose supervisor was
    killed) before starting a new one, so two sets of workers never share a job."""
    alive = live_pids(status)
    if not alive:
        return
    log.warning("stopping leftover processes of %s: %s", status.job, alive)
    for pid in alive.values():
        send_signal(pid, signal.SIGTERM)
    survivors = wait_gone(alive, status.job, time.monotonic() + timeout)
    for pid in survivors.values():
        send_signal(pid, signal.SIGKILL)
    wait_gone(survivors, status.job, time.monotonic() + 10)


def _launch(
    spec: JobSpec,
    *,
    state_dir: Path,
    specs_dir: str,
    bootstrap: str,
    store: str,
    parallelism: int,
    state_backend: str,
    extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start the job's supervisor detached: its own session, output to its log file."""
    slog = supervisor_log_path(state_dir, spec.name)
    slog.parent.mkdir(parents=True, exist_ok=True)
    deploy_dir(state_dir, spec.name).mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        SUPERVISOR_MODULE,
        "--job",
        spec.name,
        "--topic",
        spec.topic,
        "--state-dir",
        str(state_dir),
        "--bootstrap",
        bootstrap,
        "--store",
        store,
        "--parallelism",
        str(parallelism),
        "--state-backend",
        state_backend,
    ]
    if specs_dir:
        cmd += ["--specs-dir", str(Path(specs_dir).resolve())]
    cmd += list(extra_args)
    with slog.open("ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} rdg deploy\n".encode())
        out.flush()
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=os.getcwd(),
        )


def _await_ready(
    launched: dict[str, tuple[JobSpec, subprocess.Popen[bytes]]],
    state_dir: Path,
    timeout: float,
) -> list[DeployOutcome]:
    """Poll the status files until every job's workers are ready, a supervisor gives up,
    or the deadline passes (then that job is stopped: nothing half-deployed is left)."""
    deadline = time.monotonic() + timeout
    pending = dict(launched)
    outcomes: dict[str, DeployOutcome] = {}
    while pending:
        for job, (spec, proc) in list(pending.items()):
            status = read_status(status_path(state_dir, job))
            ours = status is not None and status.supervisor_pid == proc.pid
            code = proc.poll()
            if code is not None:  # the supervisor exited: it gave up (its status says why)
                reason = status.error if ours and status and status.error else None
                lines = tail(supervisor_log_path(state_dir, job), 5)
                detail = reason or ("\n  ".join(lines) if lines else f"exit code {code}")
                outcomes[job] = DeployOutcome(
                    job,
                    spec.topic,
                    "failed",
                    f"{job} did not start: {detail}\n  (logs: rdg logs {spec.topic})",
                    exit_code=code if code in (2, 3) else 1,
                )
                del pending[job]
            elif ours and status is not None and status.state == S_RUNNING:
                workers = {w.worker: w.pid for w in status.workers.values() if w.pid}
                outcomes[job] = DeployOutcome(
                    job,
                    spec.topic,
                    "started",
                    f"{job}: supervisor pid {proc.pid}, workers "
                    + ", ".join(f"{w} (pid {p})" for w, p in workers.items()),
                    supervisor_pid=proc.pid,
                    workers={w: p for w, p in workers.items() if p is not None},
                )
                del pending[job]
        if not pending:
            break
        if time.monotonic() >= deadline:
            for job, (spec, proc) in pending.items():
                send_signal(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(DEFAULT_STOP_TIMEOUT_S)
                if proc.poll() is None:
                    send_signal(proc.pid, signal.SIGKILL)
                    proc.wait()
                status = read_status(status_path(state_dir, job))
                if status is not None:
                    _stop_leftovers(status, 10)
                outcomes[job] = DeployOutcome(
                    job,
                    spec.topic,
                    "failed",
                    f"{job}: workers were not ready within {timeout:g} s; stopped it again. "
                    f"See `rdg logs {spec.topic}` (raise --timeout on a slow machine)",
                    exit_code=1,
                )
            break
        time.sleep(POLL_S)
    return [outcomes[j] for j in launched]


def deploy_jobs(
    specs: Sequence[JobSpec],
    *,
    state_dir: Path,
    specs_dir: str,
    bootstrap: str,
    store: str,
    parallelism: int | None = None,
    state_backend: str = "heap",
    timeout: float = DEFAULT_READY_TIMEOUT_S,
    supervisor_args: Sequence[str] = (),
) -> list[DeployOutcome]:
    """Deploy each job (skipping running ones) and wait until its workers are ready.

    Kafka and the stores are checked first, for all jobs: if Kafka or a store is
    unreachable (ConnectorError), a topic is missing (OpsError) or a store URL is bad
    (ConfigError), nothing is started.
    """
    if parallelism is not None and not 1 <= parallelism <= 64:
        raise ConfigError(f"--parallelism {parallelism} must be between 1 and 64")
    state_dir = state_dir.resolve()
    outcomes: dict[str, DeployOutcome] = {}
    to_start: list[JobSpec] = []
    for spec in specs:
        status = read_status(status_path(state_dir, spec.name))
        if status is not None:
            alive = live_pids(status)
            if "supervisor" in alive:
                outcomes[spec.name] = DeployOutcome(
                    spec.name,
                    spec.topic,
                    "already-running",
                    f"{spec.name} is already running (supervisor pid {status.supervisor_pid}, "
                    f"{len(status.workers)} worker{'s' if len(status.workers) != 1 else ''}); "
                    "nothing changed. "
                    f"To redeploy: rdg stop {spec.topic} && rdg deploy {spec.topic}",
                    supervisor_pid=status.supervisor_pid,
                )
                continue
        to_start.append(spec)
    if to_start:
        check_kafka(bootstrap, to_start)
        check_stores({s.store or store for s in to_start})
    launched: dict[str, tuple[JobSpec, subprocess.Popen[bytes]]] = {}
    for spec in to_start:
        status = read_status(status_path(state_dir, spec.name))
        if status is not None:
            _stop_leftovers(status, DEFAULT_STOP_TIMEOUT_S)
        n = parallelism or spec.parallelism
        proc = _launch(
            spec,
            state_dir=state_dir,
            specs_dir=specs_dir,
            bootstrap=bootstrap,
            store=store,
            parallelism=n,
            state_backend=state_backend,
            extra_args=supervisor_args,
        )
        log.info("started supervisor of %s: pid %d", spec.name, proc.pid)
        launched[spec.name] = (spec, proc)
    for o in _await_ready(launched, state_dir, timeout):
        outcomes[o.job] = o
    return [outcomes[s.name] for s in specs]


# --------------------------------------------------------------------------- stop


@dataclass
class StopOutcome:
    job: str
    topic: str
    result: str  # stopped | not-running | killed
    message: str


def stop_jobs(
    jobs: Sequence[tuple[str, str]],
    *,
    state_dir: Path,
    timeout: float = DEFAULT_STOP_TIMEOUT_S,
) -> list[StopOutcome]:
    """Stop each ``(job, topic)``: SIGTERM its supervisor (which stops its workers with a
    final checkpoint), and return once all its processes are gone.  Processes still there
    after ``timeout`` are SIGKILLed.  A crashed job's leftover workers are terminated."""
    state_dir = state_dir.resolve()
    waiting: dict[str, tuple[str, JobStatus, dict[str, int]]] = {}
    outcomes: dict[str, StopOutcome] = {}
    for job, topic in jobs:
        status = read_status(status_path(state_dir, job))
        alive = live_pids(status) if status is not None else {}
        if status is None or not alive:
            was = "was never deployed" if status is None else "is not running"
            outcomes[job] = StopOutcome(job, topic, "not-running", f"{job} {was}; nothing to stop")
            if status is not None and status.state != S_STOPPED:
                status.state = S_STOPPED
                write_status(status_path(state_dir, job), status)
            continue
        if "supervisor" in alive:
            send_signal(alive["supervisor"], signal.SIGTERM)
        else:  # crashed supervisor: stop its orphaned workers ourselves
            for pid in alive.values():
                send_signal(pid, signal.SIGTERM)
        waiting[job] = (topic, status, alive)
    deadline = time.monotonic() + timeout
    for job, (topic, status, alive) in waiting.items():
        survivors = wait_gone(alive, job, deadline)
        killed = bool(survivors)
        for pid in survivors.values():
            send_signal(pid, signal.SIGKILL)
        if survivors:
            wait_gone(survivors, job, time.monotonic() + 10)
        # the supervisor writes "stopped" itself; make sure it holds after a kill too
        final = read_status(status_path(state_dir, job)) or status
        if final.state != S_STOPPED:
            final.state = S_STOPPED
            for w in final.workers.values():
                w.state = W_STOPPED
            write_status(status_path(state_dir, job), final)
        outcomes[job] = StopOutcome(
            job,
            topic,
            "killed" if killed else "stopped",
            f"{job} stopped"
            + (
                f" (SIGKILLed {', '.join(survivors)} after {timeout:g} s)"
                if killed
                else " (final checkpoint taken, offsets committed)"
            ),
        )
    return [outcomes[j] for j, _ in jobs]
