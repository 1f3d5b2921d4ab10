"""Start-up supervision, pid files and stop, with small Python processes standing in for JVMs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.common import ClusterError, Settings
from ops.procs import (
    pid_alive,
    process_cmdline,
    read_pid,
    spawn_detached,
    terminate,
    write_pid,
)
from ops.server import Server

from .conftest import free_port


class FakeServer(Server):
    """A Server whose 'JVM' is any command; readiness = the port is open."""

    name = "fake"
    main_class = "unused"

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        super().__init__(settings)
        self._port = free_port()
        self._timeout = timeout

    @property
    def version(self) -> str:
        return "0.0"

    @property
    def port(self) -> int:
        return self._port

    @property
    def ports(self) -> dict[str, int]:
        return {"client": self._port}

    @property
    def ready_timeout(self) -> float:
        return self._timeout

    def render_configs(self) -> None:
        pass

    def jvm_args(self, lib: Path) -> list[str]:
        return []

    def app_args(self) -> list[str]:
        return []

    def probe(self, timeout: float) -> str | None:
        return None  # wait_ready only probes once the port is open

    def spawn(self, code: str) -> subprocess.Popen[bytes]:
        """Run Python `code` with our identity arguments, as `up` would run the JVM."""
        argv = [sys.executable, "-c", code, *self.identity_args()]
        proc = spawn_detached(argv, self.log_file, cwd=self.settings.state_dir)
        # /proc/<pid>/cmdline can read empty for a moment right after the exec.
        deadline = time.monotonic() + 5
        while process_cmdline(proc.pid) is None and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        return proc


@pytest.fixture
def fake(settings: Settings) -> FakeServer:
    settings.state_dir.mkdir(parents=True)
    return FakeServer(settings)


def test_death_during_startup_reports_exit_code_and_log_tail(fake: FakeServer):
    proc = fake.spawn("import sys; print('boom: invalid listener in config'); sys.exit(3)")
    with pytest.raises(ClusterError) as caught:
        fake.wait_ready(proc, proc.pid, 0)
    message = str(caught.value)
    assert "fake (pid" in message and "died during start-up (exit code 3)" in message
    assert "boom: invalid listener in config" in message
    assert str(fake.log_file) in message


def test_not_ready_by_the_deadline_reports_why(settings: Settings):
    settings.state_dir.mkdir(parents=True)
    fake = FakeServer(settings, timeout=1.0)
    proc = fake.spawn("import time; print('still booting', flush=True); time.sleep(60)")
    try:
        with pytest.raises(ClusterError) as caught:
            fake.wait_ready(proc, proc.pid, 0)
    finally:
        terminate(proc.pid, timeout=5)
    message = str(caught.value)
    assert "was not ready within 1 s" in message
    assert f"port 127.0.0.1:{fake.port} not open yet" in message
    assert "still booting" in message


def test_ready_once_the_port_opens(fake: FakeServer):
    code = (
        "import socket, time\n"
        "time.sleep(0.3)\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {fake.port})); s.listen()\n"
        "time.sleep(60)\n"
    )
    proc = fake.spawn(code)
    try:
        fake.wait_ready(proc, proc.pid, 0)
        status = fake.status()  # no pid file was written: found by its identity arguments
        assert (status.running, status.pid, status.ready) == (True, proc.pid, True)
    finally:
        terminate(proc.pid, timeout=5)


def test_stale_pid_files_are_removed(fake: FakeServer):
    fake.home.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pid(fake.pid_file, dead.pid)
    assert fake.running_pid() is None
    assert not fake.pid_file.exists()

    write_pid(fake.pid_file, os.getpid())  # alive, but not our server (pid reuse)
    assert fake.running_pid() is None
    assert not fake.pid_file.exists()

    fake.pid_file.write_text("garbage\n")
    assert fake.running_pid() is None
    assert not fake.pid_file.exists()


def test_lost_pid_file_is_recovered_and_down_is_idempotent(fake: FakeServer):
    fake.home.mkdir(parents=True)
    proc = fake.spawn("import time; time.sleep(60)")
    try:
        assert not fake.pid_file.exists()
        assert fake.running_pid() == proc.pid  # found by its identity arguments
        assert read_pid(fake.pid_file) == proc.pid
        assert fake.is_ours(proc.pid)
        assert fake.down() == f"stopped (pid {proc.pid})"
        assert not pid_alive(proc.pid)
        assert not fake.pid_file.exists()
        assert fake.down() == "already stopped"
    finally:
        terminate(proc.pid, timeout=5)


def test_same_server_from_another_checkout_is_shared_not_an_error(fake: FakeServer, tmp_path: Path):
    """A CI clone next to a developer's running cluster uses it instead of failing on ports."""
    other = FakeServer(
        Settings(state_dir=tmp_path / "other-checkout", cache_dir=tmp_path / "c"), timeout=5.0
    )
    other.settings.state_dir.mkdir(parents=True)
    other._port = fake.port
    code = (
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {fake.port})); s.listen()\n"
        "print('listening', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = other.spawn(code)
    try:
        other.wait_ready(proc, proc.pid, 0)
        assert fake.running_pid() is None  # not ours: another state dir
        assert fake.check_ports() == proc.pid
        result = fake.up(java="unused")
        assert (result.action, result.pid) == ("shared", proc.pid)
        assert "other-checkout" in fake.status().note
        assert fake.down() == "already stopped"  # never stops another checkout's server
        assert pid_alive(proc.pid)
    finally:
        terminate(proc.pid, timeout=5)
