"""The local test cluster: real Kafka 3.9 (KRaft) and Cassandra 5.0, no Docker.

    python -m ops.cluster up        # fetch jars once (Maven), start both, wait until ready
    python -m ops.cluster status    # per server: running, pid, port, ready (--json)
    python -m ops.cluster down      # stop by recorded pid: SIGTERM, deadline, SIGKILL
    python -m ops.cluster clean     # down, then delete the state dir (not the jar cache)

State (configs, data, logs, pid files) lives in RDG_CLUSTER_DIR (default <repo>/.cluster);
jars in RDG_CACHE_DIR/jars (default ~/.cache/rdg/jars). Ports: RDG_KAFKA_PORT (9092),
RDG_KAFKA_CONTROLLER_PORT (9093), RDG_CASSANDRA_PORT (9042), RDG_CASSANDRA_STORAGE_PORT (7000).
If a port is held by the same rdg server and version run from another checkout's state dir
(e.g. a CI clone beside a developer's checkout), `up` uses that server and `down` leaves it
alone; any other holder of a port is an error.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ingest.errors import RDGError
from ops.cassandra_server import CassandraServer
from ops.common import HOST, ClusterError, Settings
from ops.kafka_server import KafkaServer
from ops.procs import find_java, java_major_version
from ops.server import Server, ServerStatus, UpResult

__all__ = [
    "LOCK_FILE",
    "STATE_MARKER",
    "clean",
    "client_env",
    "down",
    "main",
    "make_servers",
    "status",
    "up",
]

log = logging.getLogger(__name__)

STATE_MARKER = ".rdg-cluster"
"""Written into the state dir; `clean` deletes only a directory that carries it."""

R = TypeVar("R")


LOCK_FILE = ".rdg-cluster.lock"


@contextlib.contextmanager
def _state_lock(settings: Settings) -> Iterator[None]:
    """Serialise up/down/clean on one state dir: teammates share a checkout and its cluster."""
    state = settings.state_dir
    if not state.exists() or not any(state.iterdir()):
        state.mkdir(parents=True, exist_ok=True)
        (state / STATE_MARKER).touch()  # ours from the start, so `clean` may delete it
    with open(state / LOCK_FILE, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info(
                "waiting for another `ops.cluster` command on %s to finish", settings.state_dir
            )
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def make_servers(settings: Settings) -> list[Server]:
    """The cluster's servers, Kafka first (it is also the first ready)."""
    return [KafkaServer(settings), CassandraServer(settings)]


def client_env(settings: Settings) -> dict[str, str]:
    """The variables tests and tools read to reach this cluster."""
    return {
        "RDG_KAFKA_BOOTSTRAP": f"{HOST}:{settings.kafka_port}",
        "RDG_CASSANDRA_HOSTS": HOST,
        "RDG_CASSANDRA_PORT": str(settings.cassandra_port),
    }


def _each(servers: Sequence[Server], action: Callable[[Server], R]) -> list[R | BaseException]:
    """Run `action` on every server concurrently (the JVMs start in parallel)."""
    with ThreadPoolExecutor(max_workers=len(servers), thread_name_prefix="rdg-cluster") as pool:
        futures = [pool.submit(action, server) for server in servers]
        results: list[R | BaseException] = []
        try:
            for future in futures:
                try:
                    results.append(future.result())
                except Exception as exc:  # collected, then reported together
                    results.append(exc)
        except KeyboardInterrupt:
            for server in servers:  # the workers stop waiting and stop what they started
                server.cancel.set()
            raise
        return results


def _check_java() -> str:
    java = find_java()
    major = java_major_version(java)
    if major < 11:
        raise ClusterError(
            f"{java} is Java {major}; Cassandra 5.0 needs Java 11 or 17 (17 recommended): "
            "install openjdk-17-jre-headless or point JAVA_HOME at a Java 17"
        )
    if major != 17:
        log.warning("%s is Java %d; the cluster flags are tuned for Java 17", java, major)
    return java


def _preflight(servers: Sequence[Server]) -> None:
    """Fail before starting anything when a port is taken: no JVM is started only to be killed."""
    problems: list[str] = []
    for server in servers:
        if server.running_pid() is not None:
            continue
        try:
            server.check_ports()
        except ClusterError as exc:
            problems.append(str(exc))
    if problems:
        raise ClusterError("\n\n".join(problems))


def up(settings: Settings | None = None) -> list[UpResult]:
    """Start whatever is not running and wait until both servers answer real client requests."""
    settings = settings or Settings.from_env()
    java = _check_java()
    servers = make_servers(settings)
    with _state_lock(settings):
        _preflight(servers)
        outcomes = _each(servers, lambda server: server.up(java))
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    if errors:
        for err in errors:
            if not isinstance(err, RDGError | KeyboardInterrupt):
                log.error("unexpected failure", exc_info=err)
        raise ClusterError("\n\n".join(str(e) for e in errors))
    return [o for o in outcomes if isinstance(o, UpResult)]


def down(settings: Settings | None = None) -> dict[str, str]:
    """Stop every server of this state dir by its recorded pid; a stopped one is left alone."""
    settings = settings or Settings.from_env()
    with _state_lock(settings):
        return _down(settings)


def _down(settings: Settings) -> dict[str, str]:
    servers = make_servers(settings)
    outcomes = _each(servers, lambda server: server.down())
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    if errors:
        raise ClusterError("\n".join(str(e) for e in errors))
    return {s.name: str(o) for s, o in zip(servers, outcomes, strict=True)}


def status(settings: Settings | None = None) -> list[ServerStatus]:
    """Running, pid, port and readiness (a real client request) of each server."""
    settings = settings or Settings.from_env()
    servers = make_servers(settings)
    outcomes = _each(servers, lambda server: server.status())
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [o for o in outcomes if isinstance(o, ServerStatus)]


def clean(settings: Settings | None = None) -> dict[str, str]:
    """`down`, then delete the state dir (data, logs, configs); the jar cache stays."""
    settings = settings or Settings.from_env()
    state = settings.state_dir
    if state.exists() and any(state.iterdir()) and not (state / STATE_MARKER).exists():
        raise ClusterError(
            f"refusing to delete {state}: it has no {STATE_MARKER} marker, so it was not made "
            "by ops.cluster; check RDG_CLUSTER_DIR"
        )
    with _state_lock(settings):
        result = _down(settings)
        shutil.rmtree(state)
    return result


# ---- command line -----------------------------------------------------------------------


def _print_up(results: list[UpResult], seconds: float, settings: Settings) -> None:
    for r in results:
        detail = f" ({r.detail})" if r.detail else ""
        took = f" in {r.seconds:.1f} s" if r.action not in ("already up", "shared") else ""
        print(f"{r.name:<10} {r.action}{took}: pid {r.pid}, {HOST}:{r.port}{detail}")
    if all(r.action == "already up" for r in results):
        print("cluster already up and healthy; nothing to do")
    else:
        print(f"cluster up in {seconds:.1f} s (state: {settings.state_dir})")
    print("clients: " + " ".join(f"{k}={v}" for k, v in client_env(settings).items()))


def _print_status(statuses: list[ServerStatus]) -> None:
    for s in statuses:
        state = "running" if s.running else "stopped"
        pid = str(s.pid) if s.pid is not None else "-"
        note = f"  ({s.note})" if s.note else ""
        print(
            f"{s.name:<10} {state:<8} pid {pid:<8} {HOST}:{s.port:<6} "
            f"ready {'yes' if s.ready else 'no'}  v{s.version}{note}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start Kafka and Cassandra and wait until ready (idempotent)")
    sub.add_parser("down", help="stop both servers (idempotent)")
    st = sub.add_parser("status", help="show running/pid/port/ready per server")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("clean", help="down, then delete the state dir (keeps the jar cache)")
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s" if not verbose else "%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    level = logging.DEBUG if verbose else logging.INFO
    logging.getLogger("ops").setLevel(level)
    logging.getLogger(__name__).setLevel(level)  # "__main__" under `python -m ops.cluster`
    # The driver logs connection attempts while a node boots; our own messages say enough.
    logging.getLogger("cassandra").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code (0 ok, 1 error, 130 interrupted)."""
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    started = time.monotonic()
    try:
        settings = Settings.from_env()
        if args.command == "up":
            _print_up(up(settings), time.monotonic() - started, settings)
        elif args.command == "down":
            for name, outcome in down(settings).items():
                print(f"{name:<10} {outcome}")
        elif args.command == "status":
            statuses = status(settings)
            if args.json:
                doc = {
                    "state_dir": str(settings.state_dir),
                    "servers": [s.to_dict() for s in statuses],
                }
                print(json.dumps(doc, indent=2))
            else:
                _print_status(statuses)
        elif args.command == "clean":
            for name, outcome in clean(settings).items():
                print(f"{name:<10} {outcome}")
            print(f"removed {settings.state_dir} (jar cache kept in {settings.jar_cache})")
    except RDGError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
