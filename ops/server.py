"""The life cycle every local server shares: pid file, ports, detached start, readiness, stop.

Concrete servers (ops.kafka_server, ops.cassandra_server) supply configs, the JVM command
line and a client-level readiness probe; this module never sleeps in place of a check.
"""

from __future__ import annotations

import logging
import string
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from ops.common import HOST, ClusterError, Settings
from ops.maven import JarSpec, ensure_jars, jars_complete
from ops.procs import (
    listener_pids,
    pid_alive,
    pids_with_args,
    port_in_use,
    port_open,
    process_cmdline,
    read_pid,
    spawn_detached,
    tail_text,
    terminate,
    write_pid,
)

__all__ = ["POLL_INTERVAL", "Server", "ServerStatus", "UpResult"]

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
"""Pause between readiness attempts; the deadline, not this, bounds the wait."""

_POMS = Path(__file__).resolve().parent / "poms"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ServerStatus:
    """What `status` reports for one server."""

    name: str
    version: str
    running: bool
    pid: int | None
    port: int
    ready: bool
    log: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UpResult:
    """The outcome of bringing one server up."""

    name: str
    action: str  # "started", "already up", "was starting", "shared"
    pid: int | None
    port: int
    seconds: float
    detail: str = ""


class Server(ABC):
    """One JVM server of the local cluster, kept under `<state_dir>/<name>/`."""

    name: ClassVar[str]
    main_class: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cancel = threading.Event()
        """Set from another thread (Ctrl-C) to abandon a start-up: the JVM is then stopped."""

    # ---- what each server defines -------------------------------------------------------

    @property
    @abstractmethod
    def port(self) -> int:
        """The client port that readiness and `status` are about."""

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Every port the server binds, by purpose (checked before start)."""

    @property
    @abstractmethod
    def ready_timeout(self) -> float:
        """Seconds `up` waits for readiness before giving up."""

    @abstractmethod
    def render_configs(self) -> None:
        """Write this server's config files under `home`."""

    @abstractmethod
    def jvm_args(self, lib: Path) -> list[str]:
        """JVM options (heap, GC, system properties), without classpath and main class."""

    @abstractmethod
    def app_args(self) -> list[str]:
        """Arguments after the main class."""

    @abstractmethod
    def probe(self, timeout: float) -> str | None:
        """One client-level readiness check: None when ready, else why not."""

    def prepare(self, java: str, lib: Path) -> None:
        """One-time work before the first start (e.g. formatting storage)."""

    # ---- layout ---------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"

    @property
    def jar_spec(self) -> JarSpec:
        return JarSpec(
            name=self.name,
            pom=_POMS / self.name / "pom.xml",
            jar_root=self.settings.jar_cache,
            maven_root=self.settings.maven_dir,
        )

    @property
    def version(self) -> str:
        return self.jar_spec.version

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def render(self, template: str, values: Mapping[str, object]) -> Path:
        """Fill `ops/templates/<name>/<template>` and write it to `conf/` (missing keys fail)."""
        src = _TEMPLATES / self.name / template
        text = string.Template(src.read_text()).substitute({k: str(v) for k, v in values.items()})
        dest = self.conf_dir / template
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        return dest

    def identity_args(self) -> list[str]:
        """System properties that let us recognise our own process in /proc/<pid>/cmdline."""
        return [
            f"-Drdg.server={self.name}",
            f"-Drdg.server.version={self.version}",
            f"-Drdg.cluster.dir={self.settings.state_dir}",
        ]

    def command(self, java: str, lib: Path) -> list[str]:
        """The full argv; the classpath wildcard is expanded by the JVM, not a shell."""
        return [
            java,
            *self.identity_args(),
            *self.jvm_args(lib),
            "-cp",
            f"{lib}/*",
            self.main_class,
            *self.app_args(),
        ]

    # ---- process identity ---------------------------------------------------------------

    def _owner(self, pid: int) -> tuple[str, str, str] | None:
        """(server, version, cluster dir) if `pid` is an rdg server process, else None."""
        argv = process_cmdline(pid)
        if not argv:
            return None
        props = {
            key: value
            for key, _, value in (a[2:].partition("=") for a in argv if a.startswith("-Drdg."))
        }
        if "rdg.server" not in props:
            return None
        return (
            props["rdg.server"],
            props.get("rdg.server.version", ""),
            props.get("rdg.cluster.dir", ""),
        )

    def is_ours(self, pid: int) -> bool:
        """True when `pid` is alive and is this server for this state dir (not a reused pid)."""
        if not pid_alive(pid):
            return False
        owner = self._owner(pid)
        return owner is not None and (owner[0], owner[2]) == (
            self.name,
            str(self.settings.state_dir),
        )

    def running_pid(self) -> int | None:
        """Our live server process: from the pid file, else found by its identity arguments.

        A pid file whose process is gone or is someone else's (pid reuse) is stale and removed;
        a server of ours whose pid file was lost is adopted (the pid file is rewritten).
        """
        pid = read_pid(self.pid_file)
        if pid is not None and self.is_ours(pid):
            return pid
        if pid is not None or self.pid_file.exists():
            log.info("%s: removing stale pid file %s (pid %s)", self.name, self.pid_file, pid)
            self.pid_file.unlink(missing_ok=True)
        found = pids_with_args(
            f"-Drdg.server={self.name}", f"-Drdg.cluster.dir={self.settings.state_dir}"
        )
        if not found:
            return None
        log.info("%s: found our server running as pid %d without a pid file", self.name, found[0])
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        write_pid(self.pid_file, found[0])
        return found[0]

    # ---- status ---------------------------------------------------------------------------

    def status(self, probe_timeout: float = 5.0) -> ServerStatus:
        pid = self.running_pid()
        ready = False
        note = ""
        if pid is not None:
            reason = self.probe(probe_timeout) if port_open(self.port) else "port closed"
            ready = reason is None
            note = reason or ""
        elif port_in_use(self.port):
            owners = [self._owner(p) for p in listener_pids(self.port)]
            rdg = [o for o in owners if o is not None and o[0] == self.name]
            holder = f"the rdg {self.name} of {rdg[0][2]}" if rdg else "another process"
            note = f"port {self.port} is held by {holder}"
        return ServerStatus(
            name=self.name,
            version=self.version,
            running=pid is not None,
            pid=pid,
            port=self.port,
            ready=ready,
            log=str(self.log_file),
            note=note,
        )

    # ---- start ----------------------------------------------------------------------------

    def check_ports(self) -> int | None:
        """Raise if a port is taken by a stranger; return the pid of a shareable rdg server.

        The same server and version started from another checkout's state dir (e.g. a CI
        clone next to a developer's checkout) is reported so `up` can use it instead of failing.
        """
        for purpose, port in self.ports.items():
            if not port_in_use(port):
                continue
            holders = listener_pids(port)
            same_server = (self.name, self.version)
            for pid in holders:
                owner = self._owner(pid)
                if purpose == "client" and owner is not None and owner[:2] == same_server:
                    return pid
            who = "; ".join(f"pid {p} ({_short_cmd(p)})" for p in holders)
            raise ClusterError(
                f"{self.name}: {purpose} port {HOST}:{port} is already in use by "
                f"{who or 'another process'} (not the rdg cluster in {self.settings.state_dir}). "
                "Stop that process, or move the cluster to free ports with RDG_KAFKA_PORT, "
                "RDG_KAFKA_CONTROLLER_PORT, RDG_CASSANDRA_PORT, RDG_CASSANDRA_STORAGE_PORT."
            )
        return None

    def up(self, java: str) -> UpResult:
        """Make this server running and ready; start it only if needed."""
        started = time.monotonic()
        pid = self.running_pid()
        if pid is not None:
            if port_open(self.port) and self.probe(10.0) is None:
                return UpResult(self.name, "already up", pid, self.port, 0.0)
            log.info("%s: pid %d is running but not ready yet; waiting", self.name, pid)
            self.wait_ready(None, pid, 0)
            return UpResult(self.name, "was starting", pid, self.port, time.monotonic() - started)
        shared = self.check_ports()
        if shared is not None:
            owner = self._owner(shared)
            where = owner[2] if owner else "?"
            reason = self.probe(10.0)
            if reason is not None:
                raise ClusterError(
                    f"{self.name}: port {self.port} is held by the rdg {self.name} of {where} "
                    f"(pid {shared}), which is not ready ({reason}). Stop it there "
                    f"(`RDG_CLUSTER_DIR={where} python -m ops.cluster down`) and retry."
                )
            return UpResult(self.name, "shared", shared, self.port, 0.0, f"run from {where}")
        return self._start(java, started)

    def _start(self, java: str, started: float) -> UpResult:
        fetch_started = time.monotonic()
        spec = self.jar_spec
        if not jars_complete(spec):
            log.info(
                "%s: fetching %s %s jars with Maven into %s (first time only, ~1-2 min)",
                self.name,
                self.name,
                self.version,
                spec.lib_dir,
            )
        lib = ensure_jars(spec)
        fetched = time.monotonic() - fetch_started
        for sub in ("data", "logs", "conf"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.render_configs()
        self.prepare(java, lib)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "a") as fh:
            fh.write(f"==== rdg: starting {self.name} {self.version} at {time.ctime()} ====\n")
        cmd = self.command(java, lib)
        log.debug("%s: %s", self.name, " ".join(cmd))
        proc = spawn_detached(cmd, self.log_file, cwd=self.home)
        write_pid(self.pid_file, proc.pid)
        log.info(
            "%s: started pid %d; waiting up to %.0f s for readiness (log: %s)",
            self.name,
            proc.pid,
            self.ready_timeout,
            self.log_file,
        )
        boot_started = time.monotonic()
        try:
            self.wait_ready(proc, proc.pid, offset)
        except BaseException:
            terminate(proc.pid, timeout=10.0)
            self.pid_file.unlink(missing_ok=True)
            raise
        boot = time.monotonic() - boot_started
        detail = f"jvm ready in {boot:.1f} s"
        if fetched >= 1.0:
            detail += f", jars fetched in {fetched:.1f} s"
        return UpResult(
            self.name, "started", proc.pid, self.port, time.monotonic() - started, detail
        )

    def wait_ready(self, proc: subprocess.Popen[bytes] | None, pid: int, log_offset: int) -> None:
        """Poll the port and the client probe until ready, the deadline, or the process dies."""
        timeout = self.ready_timeout
        deadline = time.monotonic() + timeout
        reason: str | None = "not checked yet"
        while True:
            exit_code = proc.poll() if proc is not None else None
            dead = exit_code is not None if proc is not None else not pid_alive(pid)
            if dead:
                code = f"exit code {exit_code}" if exit_code is not None else "it is gone"
                raise ClusterError(
                    f"{self.name} (pid {pid}) died during start-up ({code}). "
                    f"Last lines of {self.log_file}:\n{tail_text(self.log_file, 40, log_offset)}"
                )
            if self.cancel.is_set():
                raise ClusterError(f"{self.name}: start-up interrupted; stopping pid {pid}")
            remaining = deadline - time.monotonic()
            if port_open(self.port):
                reason = self.probe(max(1.0, min(10.0, remaining)))
                if reason is None:
                    return
            else:
                reason = f"port {HOST}:{self.port} not open yet"
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"{self.name} (pid {pid}) was not ready within {timeout:.0f} s "
                    f"(last check: {reason}). It is being stopped. Last lines of "
                    f"{self.log_file}:\n{tail_text(self.log_file, 40, log_offset)}"
                )
            time.sleep(POLL_INTERVAL)

    # ---- stop -----------------------------------------------------------------------------

    def down(self) -> str:
        """Stop our process by its recorded pid (SIGTERM, deadline, SIGKILL); idempotent."""
        pid = self.running_pid()
        if pid is None:
            return "already stopped"
        outcome = terminate(pid, timeout=self.settings.stop_timeout)
        self.pid_file.unlink(missing_ok=True)
        return f"{outcome} (pid {pid})"


def _short_cmd(pid: int, limit: int = 100) -> str:
    """A one-line, shortened command line for error messages."""
    text = " ".join(" ".join(process_cmdline(pid) or ["?"]).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
