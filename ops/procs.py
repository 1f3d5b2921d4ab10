"""Process, port and file helpers for running servers detached from the CLI.

The servers must outlive the `ops.cluster up` process, so everything here works from pid
files and /proc rather than from `subprocess.Popen` objects alone.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ops.common import HOST, ClusterError

__all__ = [
    "find_java",
    "find_mvn",
    "java_major_version",
    "listener_pids",
    "pid_alive",
    "pids_with_args",
    "port_in_use",
    "port_open",
    "process_cmdline",
    "read_pid",
    "spawn_detached",
    "tail_text",
    "terminate",
    "write_pid",
]

log = logging.getLogger(__name__)

_JAVA_HINT = (
    "install a Java 17 runtime (e.g. `apt-get install -y openjdk-17-jre-headless`) "
    "or point JAVA_HOME at one"
)


def find_java(env: Mapping[str, str] | None = None) -> str:
    """Return the java executable: $JAVA_HOME/bin/java if set, else java on PATH."""
    env = os.environ if env is None else env
    home = env.get("JAVA_HOME", "").strip()
    if home:
        candidate = Path(home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate)
        log.warning("JAVA_HOME=%s has no bin/java; looking on PATH", home)
    found = shutil.which("java", path=env.get("PATH", ""))
    if not found:
        raise ClusterError(
            f"java not found (JAVA_HOME unset or invalid, none on PATH): {_JAVA_HINT}"
        )
    return found


def java_major_version(java: str) -> int:
    """Parse `java -version` (e.g. '17.0.15' -> 17, '1.8.0_392' -> 8)."""
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"could not run `{java} -version` ({exc}): {_JAVA_HINT}") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if proc.returncode != 0 or not match:
        raise ClusterError(
            f"`{java} -version` failed or printed no version:\n{proc.stderr.strip()}\n{_JAVA_HINT}"
        )
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    return major


def find_mvn(env: Mapping[str, str] | None = None) -> str:
    """Return the mvn executable on PATH or raise with an install hint."""
    env = os.environ if env is None else env
    found = shutil.which("mvn", path=env.get("PATH", ""))
    if not found:
        raise ClusterError(
            "mvn (Apache Maven) not found on PATH: it is needed once to download the server "
            "jars from Maven Central; install it (e.g. `apt-get install -y maven`)"
        )
    return found


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something holds `port`: we try to bind it ourselves (SO_REUSEADDR, as servers do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when a TCP connect to host:port succeeds (something is listening)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def listener_pids(port: int) -> list[int]:
    """Best-effort: pids of processes listening on `port` (Linux /proc; [] if unknown)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return []
    wanted = {f"socket:[{inode}]" for inode in inodes}
    pids: list[int] = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            for fd in (proc_dir / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    pids.append(int(proc_dir.name))
                    break
        except OSError:
            continue
    return sorted(pids)


def process_cmdline(pid: int) -> list[str] | None:
    """The argv of a live process, or None if it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def pids_with_args(*args: str) -> list[int]:
    """Live pids whose argv contains every one of `args` (finds a server whose pid file is lost)."""
    found: list[int] = []
    wanted = set(args)
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        argv = process_cmdline(int(proc_dir.name))
        if argv and wanted <= set(argv) and pid_alive(int(proc_dir.name)):
            found.append(int(proc_dir.name))
    return sorted(found)


def pid_alive(pid: int) -> bool:
    """True when `pid` runs and is not a zombie (reaping it first if it is our child)."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def read_pid(path: Path) -> int | None:
    """The pid recorded in `path`, or None when the file is missing or garbage."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    """Record `pid` atomically, so a reader never sees a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def spawn_detached(
    cmd: Sequence[str], log_path: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own session with output appended to `log_path`.

    A new session keeps Ctrl-C in the launching terminal from reaching the server, and the
    server keeps running after the launching process exits.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def terminate(pid: int, timeout: float, kill_timeout: float = 10.0) -> str:
    """Stop `pid`: SIGTERM, wait up to `timeout`, then SIGKILL. Returns how it ended."""
    if not pid_alive(pid):
        return "not running"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return "stopped"
    log.warning("pid %d ignored SIGTERM for %.0f s; sending SIGKILL", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if _wait_gone(pid, kill_timeout):
        return "killed"
    raise ClusterError(f"pid {pid} survived SIGKILL for {kill_timeout:.0f} s; check `ps -p {pid}`")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def tail_text(path: Path, lines: int = 40, start: int = 0) -> str:
    """The last `lines` lines of `path` written after byte offset `start` (for error reports)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            begin = max(start, size - 256 * 1024)
            fh.seek(begin)
            data = fh.read()
    except OSError:
        return f"(no log at {path})"
    text = data.decode(errors="replace").splitlines()[-lines:]
    return "\n".join(text) if text else f"(log {path} is empty)"
