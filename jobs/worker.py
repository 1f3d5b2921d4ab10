"""One worker process of a deployed job (started by its supervisor, ``python -m jobs.worker``).

Runs the job's graph job from Kafka (``kafka://<bootstrap>``, consumer group = the job name,
checkpoints in ``<state_dir>/checkpoints/<job>``, shared with the other workers) until it
gets SIGTERM/SIGINT, which stop it after a final checkpoint (offsets are committed).

Once the job is built (store connected, output topics present) it creates the file
``<ready-dir>/<worker>.<pid>`` so the supervisor knows it is up.  If its supervisor goes
away (the worker is re-parented) it stops the same graceful way, so killing a supervisor
never leaves workers running unsupervised for long.

Exit codes: 0 stopped, 2 bad configuration, 3 an unreachable system (Kafka, the store),
1 anything else (with a traceback in the log).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ingest.errors import ConfigError, ConnectorError, RDGError
from ingest.runtime import JobRunner

__all__ = ["main"]

# run as `python -m jobs.worker`, where __name__ is "__main__"
log = logging.getLogger("jobs.worker" if __name__ == "__main__" else __name__)

PARENT_CHECK_S = 1.0


def _watch_parent(runner: JobRunner, parent: int, stop: threading.Event) -> None:
    """Stop the job gracefully if the supervisor that started us goes away."""
    while not stop.wait(PARENT_CHECK_S):
        if os.getppid() != parent:
            log.warning("supervisor (pid %d) is gone: stopping after a final checkpoint", parent)
            runner.request_stop()
            return


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__)
    ap.add_argument("--job", required=True, help="the job name (checked against the spec)")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--state-backend", default="heap")
    ap.add_argument("--specs-dir", default="")
    ap.add_argument("--ready-dir", default="")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s {args.job}/{args.worker} %(name)s: %(message)s",
    )
    from jobs.runner import RunOptions, run_graph_job
    from jobs.spec import spec_for

    parent = os.getppid()
    stop_watch = threading.Event()
    try:
        spec = spec_for(args.topic, args.specs_dir or None)
        if spec.name != args.job:
            raise ConfigError(
                f"the spec of topic {args.topic} names job {spec.name!r}, not {args.job!r}"
            )
        opts = RunOptions(
            source=f"kafka://{args.bootstrap}",
            store=args.store,
            state_dir=Path(args.state_dir),
            state_backend=args.state_backend,
            worker_id=args.worker,
        )

        def on_runner(runner: JobRunner) -> None:
            if args.ready_dir:
                rdir = Path(args.ready_dir)
                rdir.mkdir(parents=True, exist_ok=True)
                (rdir / f"{args.worker}.{os.getpid()}").touch()
            threading.Thread(
                target=_watch_parent,
                args=(runner, parent, stop_watch),
                name="parent-watch",
                daemon=True,
            ).start()
            log.info("reading %s from %s into %s", spec.source_topic, opts.source, opts.store)

        summary = run_graph_job(spec, opts, on_runner=on_runner)
    except ConnectorError as exc:
        log.error("unreachable: %s", exc)
        return 3
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    except RDGError as exc:
        log.error("job failed: %s", exc)
        return 1
    except Exception:
        log.exception("worker failed")
        return 1
    finally:
        stop_watch.set()
    log.info("stopped: %s", summary.as_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
