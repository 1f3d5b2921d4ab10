"""A deployed job's processes, seen through /proc: is a recorded pid still the process we
started (not a zombie, not a recycled pid), which of a job's processes are alive, signal
them, wait until they are gone."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from jobs.status import SUPERVISOR_MODULE, WORKER_MODULE, JobStatus

__all__ = [
    "live_pids",
    "process_alive",
    "send_signal",
    "supervisor_marker",
    "wait_gone",
    "worker_marker",
]

POLL_S = 0.1


def _proc_stat_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat (None where there is no /proc)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone"
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces
    return raw.rsplit(")", 1)[-1].split()[0] if ")" in raw else None


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def process_alive(pid: int | None, marker: Sequence[str] = ()) -> bool:
    """True if ``pid`` is a live (not zombie) process whose command line contains every
    string in ``marker`` (guards against a recycled pid)."""
    if not pid or pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    state = _proc_stat_state(pid)
    if state in ("gone", "Z", "X"):
        return False
    if marker:
        cmd = _cmdline(pid)
        if cmd is not None:
            joined = "\0".join(cmd)
            return all(m in joined for m in marker)
    return True


def supervisor_marker(job: str) -> tuple[str, ...]:
    return (SUPERVISOR_MODULE, job)


def worker_marker(job: str, worker: str) -> tuple[str, ...]:
    return (WORKER_MODULE, job, worker)


def live_pids(status: JobStatus) -> dict[str, int]:
    """The recorded processes of a job that are still alive: name -> pid."""
    out: dict[str, int] = {}
    if process_alive(status.supervisor_pid, supervisor_marker(status.job)):
        out["supervisor"] = status.supervisor_pid
    for w in status.workers.values():
        if w.pid and process_alive(w.pid, worker_marker(status.job, w.worker)):
            out[w.worker] = w.pid
    return out


def send_signal(pid: int, sig: int) -> None:
    """Send ``sig`` to ``pid``; a process that is gone (or not ours) is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def wait_gone(
    pids: dict[str, int], job: str, deadline: float, clock: Callable[[], float] = time.monotonic
) -> dict[str, int]:
    """Poll until the processes are gone or the deadline passes; returns the survivors."""
    remaining = dict(pids)
    while remaining:
        remaining = {
            name: pid
            for name, pid in remaining.items()
            if process_alive(
                pid, supervisor_marker(job) if name == "supervisor" else worker_marker(job, name)
            )
        }
        if not remaining or clock() >= deadline:
            break
        time.sleep(POLL_S)
    return remaining
