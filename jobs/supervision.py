"""The supervision loop of a deployed job: start its workers, notice when they are ready,
restart those that exit (with a backoff), give up at startup, stop them all.

Processes come from a spawner (``Spawner``), so the loop runs with fake processes and a
fake clock in tests; jobs/supervisor.py wires it to real worker processes.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jobs.status import (
    S_FAILED,
    S_RUNNING,
    S_STARTING,
    S_STOPPED,
    S_STOPPING,
    W_RESTARTING,
    W_RUNNING,
    W_STARTING,
    W_STOPPED,
    JobStatus,
    WorkerStatus,
    now_ms,
    tail,
    write_status,
)

__all__ = ["Backoff", "Proc", "Spawner", "Supervisor"]

# the supervisor process's logger (its log lines read "... jobs.supervisor: ...")
log = logging.getLogger("jobs.supervisor")

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
