"""The supervisor of one deployed job, and the status file it keeps.

The supervisor runs the job's worker processes and restarts them.  Started detached by ``rdg deploy`` (``python -m jobs.supervisor``).  It

- starts N workers (``python -m jobs.worker``, ids w0..wN-1, one consumer group = the job
  name, a shared checkpoint directory), each writing to ``logs/<job>-<worker>.log``;
- records its state in ``deploy/<job>/status.json`` (atomically) whenever it changes;
- restarts a worker that exits, after an exponential backoff (1 s doubling to 60 s; the
  count resets once a worker has stayed up for a minute);
- gives up at startup if a worker exits before it was ever ready (a bad store URL, an
  unreachable store...): it stops the others, writes state ``failed`` with the reason,
  and exits with the worker's exit code, so ``rdg deploy`` can report it;
- on SIGTERM/SIGINT sends SIGTERM to its workers (each takes a final checkpoint and
  commits its offsets), waits for them (SIGKILL after a deadline), writes state
  ``stopped`` and exits 0.

Layout under the state dir::

    deploy/<job>/status.json          the supervisor's status (written atomically)
    deploy/<job>/ready/<worker>.<pid> a worker's "I am built and about to read" marker
    logs/<job>-supervisor.log         the supervisor's own log
    logs/<job>-<worker>.log           each worker's output (appended across restarts)
    checkpoints/<job>/                the workers' shared checkpoint directory
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ingest.errors import ConfigError

__all__ = [
    "Backoff",
    "JobStatus",
    "Supervisor",
    "WorkerStatus",
    "log_path",
    "main",
    "read_status",
    "status_path",
    "tail",
    "write_status",
]

# run as `python -m jobs.supervisor`, where __name__ is "__main__"
log = logging.getLogger("jobs.supervisor" if __name__ == "__main__" else __name__)

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


TICK_S = 0.2
# "2026-01-01 10:00:00,000 ERROR job/w0 jobs.worker: " in front of a worker's log message
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ [A-Z]+ \S+ \S+: ")
DEFAULT_STOP_TIMEOUT_S = 45.0


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``initial_s`` doubling per consecutive failure up to ``max_s``; a
    worker that stayed up ``stable_s`` or longer starts the count again."""

    initial_s: float = 1.0
    max_s: float = 60.0
    stable_s: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before restarting after the ``failures``-th failure in a row."""
        if failures <= 0:
            return 0.0
        return min(self.max_s, self.initial_s * 2 ** min(failures - 1, 62))

    def next_failures(self, failures: int, uptime_s: float) -> int:
        """The consecutive-failure count after a worker exits having been up ``uptime_s``."""
        return 1 if uptime_s >= self.stable_s else failures + 1


class Proc(Protocol):
    """What the supervisor needs of a worker process (``subprocess.Popen`` fits)."""

    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


Spawner = Callable[[WorkerStatus], Proc]


@dataclass
class _Slot:
    status: WorkerStatus
    proc: Proc | None = None
    started_at: float = 0.0  # supervisor clock
    restart_at: float | None = None


class Supervisor:
    """Keeps a job's workers running; ``step()`` is one pass of the loop (testable)."""

    def __init__(
        self,
        status: JobStatus,
        status_file: Path,
        spawn: Spawner,
        *,
        backoff: Backoff | None = None,
        stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
        is_ready: Callable[[WorkerStatus], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        worker_log: Callable[[str], Path] | None = None,
    ) -> None:
        self.status = status
        self.status_file = status_file
        self.backoff = backoff or Backoff()
        self.stop_timeout_s = stop_timeout_s
        self._spawn = spawn
        self._is_ready = is_ready or (lambda w: True)
        self._clock = clock
        self._worker_log = worker_log
        self._slots = {w: _Slot(s) for w, s in status.workers.items()}
        self._startup = True  # until every worker was ready once
        self.stop_requested = threading.Event()
        self.exit_code = 0

    # -- status --------------------------------------------------------------------------
    def _save(self) -> None:
        write_status(self.status_file, self.status)

    # -- workers -------------------------------------------------------------------------
    def _start(self, slot: _Slot) -> None:
        st = slot.status
        st.ready = False
        st.state = W_STARTING
        st.next_start_ms = None
        slot.restart_at = None
        slot.proc = self._spawn(st)
        slot.started_at = self._clock()
        st.pid = slot.proc.pid
        st.started_ms = now_ms()
        log.info("worker %s started: pid %d", st.worker, st.pid)

    def start(self) -> None:
        self.status.state = S_STARTING
        for slot in self._slots.values():
            self._start(slot)
        self._save()

    def _exit_reason(self, worker: str) -> str:
        if self._worker_log is None:
            return ""
        lines = [ln for ln in tail(self._worker_log(worker), 40) if ln.strip()]
        errors = [ln for ln in lines if " ERROR " in ln]
        last = (errors or lines)[-1:]
        return f": {_LOG_PREFIX.sub('', last[0]).strip()}" if last else ""

    def step(self) -> bool:
        """Reap exited workers, note ready ones, start due restarts; True if status changed."""
        changed = False
        now = self._clock()
        for slot in self._slots.values():
            st = slot.status
            if slot.proc is not None:
                code = slot.proc.poll()
                if code is not None:
                    changed = True
                    uptime = now - slot.started_at
                    st.last_exit_code = code
                    st.ready = False
                    slot.proc = None
                    if self._startup:
                        self._fail(
                            f"worker {st.worker} exited with code {code} before it was ready"
                            f"{self._exit_reason(st.worker)}",
                            code,
                        )
                        return True
                    st.failures = self.backoff.next_failures(st.failures, uptime)
                    delay = self.backoff.delay(st.failures)
                    slot.restart_at = now + delay
                    st.state = W_RESTARTING
                    st.next_start_ms = now_ms() + int(delay * 1000)
                    log.warning(
                        "worker %s (pid %s) exited with code %s after %.1f s; restarting in %g s",
                        st.worker,
                        st.pid,
                        code,
                        uptime,
                        delay,
                    )
                elif not st.ready and self._is_ready(st):
                    st.ready = True
                    st.state = W_RUNNING
                    changed = True
                    log.info("worker %s (pid %s) is ready", st.worker, st.pid)
            elif slot.restart_at is not None and now >= slot.restart_at:
                st.restarts += 1
                self._start(slot)
                changed = True
        if self._startup and all(s.status.ready for s in self._slots.values()):
            self._startup = False
            changed = True
        if changed and self.status.state not in (S_FAILED, S_STOPPING, S_STOPPED):
            self.status.state = S_STARTING if self._startup else S_RUNNING
        if changed:
            self._save()
        return changed

    def _fail(self, reason: str, code: int) -> None:
        log.error("giving up: %s", reason)
        self.status.error = reason
        self.exit_code = code if code in (1, 2, 3) else 1
        self._terminate_all()
        self.status.state = S_FAILED
        self._save()
        self.stop_requested.set()

    def _terminate_all(self) -> None:
        """SIGTERM every live worker, wait up to the stop timeout, SIGKILL the rest."""
        live = [s for s in self._slots.values() if s.proc is not None]
        for s in live:
            with contextlib.suppress(ProcessLookupError):
                assert s.proc is not None
                s.proc.send_signal(signal.SIGTERM)
        deadline = self._clock() + self.stop_timeout_s
        killed = False
        while live:
            live = [s for s in live if s.proc is not None and s.proc.poll() is None]
            if not live:
                break
            if self._clock() >= deadline:
                if killed:
                    break
                for s in live:
                    log.warning("worker %s did not stop in time; SIGKILL", s.status.worker)
                    with contextlib.suppress(ProcessLookupError):
                        assert s.proc is not None
                        s.proc.kill()
                killed = True
                deadline = self._clock() + 10.0
            time.sleep(0.05)
        for s in self._slots.values():
            if s.proc is not None:
                s.status.last_exit_code = s.proc.poll()
                s.proc = None
            s.status.state = W_STOPPED
            s.status.ready = False
            s.status.next_start_ms = None
            s.restart_at = None

    def shutdown(self) -> None:
        """Stop the workers gracefully and record the job as stopped."""
        if self.status.state == S_FAILED:
            return
        self.status.state = S_STOPPING
        self._save()
        self._terminate_all()
        self.status.state = S_STOPPED
        self._save()
        log.info("stopped")

    def run(self, install_signal_handlers: bool = True) -> int:
        """Start the workers and supervise them until asked to stop; returns the exit code."""
        if install_signal_handlers:

            def handler(signum: int, frame: Any) -> None:
                log.info("signal %d: stopping the workers", signum)
                self.stop_requested.set()

            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            self.start()
            while not self.stop_requested.is_set():
                self.step()
                self.stop_requested.wait(TICK_S)
        except Exception as exc:
            log.exception("supervisor failed")
            self.status.error = f"supervisor failed: {exc}"
            self.exit_code = 1
            self._terminate_all()
            self.status.state = S_FAILED
            self._save()
            return self.exit_code
        self.shutdown()
        return self.exit_code


# --------------------------------------------------------------------------- process main


def _worker_spawner(
    args: argparse.Namespace, state_dir: Path
) -> tuple[Spawner, Callable[[WorkerStatus], bool]]:
    rdir = ready_dir(state_dir, args.job)

    def spawn(w: WorkerStatus) -> Proc:
        rdir.mkdir(parents=True, exist_ok=True)
        for stale in rdir.glob(f"{w.worker}.*"):
            stale.unlink(missing_ok=True)
        path = log_path(state_dir, args.job, w.worker)
        path.parent.mkdir(parents=True, exist_ok=True)
        w.log = str(path)
        cmd = [
            sys.executable,
            "-m",
            WORKER_MODULE,
            "--job",
            args.job,
            "--topic",
            args.topic,
            "--worker",
            w.worker,
            "--state-dir",
            str(state_dir),
            "--bootstrap",
            args.bootstrap,
            "--store",
            args.store,
            "--state-backend",
            args.state_backend,
            "--ready-dir",
            str(rdir),
        ]
        if args.specs_dir:
            cmd += ["--specs-dir", args.specs_dir]
        with path.open("ab") as out:
            out.write(
                f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} supervisor: starting worker "
                f"{w.worker} (restarts so far: {w.restarts})\n".encode()
            )
            out.flush()
            return subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True
            )

    def ready(w: WorkerStatus) -> bool:
        return w.pid is not None and (rdir / f"{w.worker}.{w.pid}").exists()

    return spawn, ready


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m jobs.supervisor", description=__doc__)
    ap.add_argument("--job", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--parallelism", type=int, required=True)
    ap.add_argument("--state-backend", default="heap")
    ap.add_argument("--specs-dir", default="")
    ap.add_argument("--backoff-initial", type=float, default=Backoff.initial_s)
    ap.add_argument("--backoff-max", type=float, default=Backoff.max_s)
    ap.add_argument("--stable-after", type=float, default=Backoff.stable_s)
    ap.add_argument("--stop-timeout", type=float, default=DEFAULT_STOP_TIMEOUT_S)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from ingest.errors import RDGError
    from jobs.spec import spec_for

    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s supervisor[{args.job}] %(name)s: %(message)s",
    )
    state_dir = Path(args.state_dir)
    try:
        spec = spec_for(args.topic, args.specs_dir or None)
    except RDGError as exc:
        log.error("%s", exc)
        return 2
    if spec.name != args.job:
        log.error("the spec of topic %s names job %s, not %s", args.topic, spec.name, args.job)
        return 2
    status = JobStatus(
        job=spec.name,
        topic=spec.topic,
        kafka_topic=spec.source_topic,
        supervisor_pid=os.getpid(),
        started_ms=now_ms(),
        parallelism=args.parallelism,
        bootstrap=args.bootstrap,
        store=args.store,
        workers={w: WorkerStatus(w) for w in worker_ids(args.parallelism)},
    )
    spawn, ready = _worker_spawner(args, state_dir)
    sup = Supervisor(
        status,
        status_path(state_dir, spec.name),
        spawn,
        backoff=Backoff(args.backoff_initial, args.backoff_max, args.stable_after),
        stop_timeout_s=args.stop_timeout,
        is_ready=ready,
        worker_log=lambda w: log_path(state_dir, spec.name, w),
    )
    log.info("supervising %s with %d workers", spec.name, args.parallelism)
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())
