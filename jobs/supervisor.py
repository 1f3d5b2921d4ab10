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
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# the status file and the supervision loop live in their own modules; their names stay
# importable from here
from jobs.status import (
    S_FAILED,
    S_RUNNING,
    S_STARTING,
    S_STOPPED,
    S_STOPPING,
    STATUS_FORMAT,
    SUPERVISOR_MODULE,
    W_RESTARTING,
    W_RUNNING,
    W_STARTING,
    W_STOPPED,
    WORKER_MODULE,
    JobStatus,
    WorkerStatus,
    checkpoint_dir,
    deploy_dir,
    log_path,
    now_ms,
    read_status,
    ready_dir,
    status_path,
    supervisor_log_path,
    tail,
    worker_ids,
    write_status,
)
from jobs.supervision import DEFAULT_STOP_TIMEOUT_S, TICK_S, Backoff, Proc, Spawner, Supervisor

__all__ = [
    "DEFAULT_STOP_TIMEOUT_S",
    "STATUS_FORMAT",
    "SUPERVISOR_MODULE",
    "S_FAILED",
    "S_RUNNING",
    "S_STARTING",
    "S_STOPPED",
    "S_STOPPING",
    "TICK_S",
    "WORKER_MODULE",
    "W_RESTARTING",
    "W_RUNNING",
    "W_STARTING",
    "W_STOPPED",
    "Backoff",
    "JobStatus",
    "Proc",
    "Spawner",
    "Supervisor",
    "WorkerStatus",
    "checkpoint_dir",
    "deploy_dir",
    "log_path",
    "main",
    "now_ms",
    "read_status",
    "ready_dir",
    "status_path",
    "supervisor_log_path",
    "tail",
    "worker_ids",
    "write_status",
]

# run as `python -m jobs.supervisor`, where __name__ is "__main__"
log = logging.getLogger("jobs.supervisor" if __name__ == "__main__" else __name__)


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
