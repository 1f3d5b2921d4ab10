"""Port, pid and executable helpers, exercised with real sockets and processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.common import ClusterError, Settings
from ops.kafka_server import KafkaServer
from ops.procs import (
    find_java,
    find_mvn,
    java_major_version,
    listener_pids,
    pid_alive,
    port_in_use,
    port_open,
    spawn_detached,
    tail_text,
    terminate,
)


@pytest.fixture
def listening_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_port_in_use_detects_a_socket_we_hold(listening_socket: socket.socket):
    port = listening_socket.getsockname()[1]
    assert port_in_use(port)
    assert port_open(port)
    assert os.getpid() in listener_pids(port)
    listening_socket.close()
    assert not port_in_use(port)
    assert not port_open(port)


def test_start_refuses_a_port_held_by_a_stranger(tmp_path: Path, listening_socket: socket.socket):
    port = listening_socket.getsockname()[1]
    settings = Settings(state_dir=tmp_path / "s", cache_dir=tmp_path / "c", kafka_port=port)
    with pytest.raises(ClusterError) as caught:
        KafkaServer(settings).check_ports()
    message = str(caught.value)
    assert f"127.0.0.1:{port} is already in use" in message
    assert f"pid {os.getpid()}" in message  # names the holder
    assert "RDG_KAFKA_PORT" in message  # and the fix


def test_missing_java_is_a_clear_error(tmp_path: Path):
    env = {"PATH": str(tmp_path), "JAVA_HOME": ""}
    with pytest.raises(ClusterError, match=r"java not found.*openjdk-17"):
        find_java(env)


def test_java_home_wins_over_path(tmp_path: Path):
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.9\" 2023-10-17' >&2\n")
    java.chmod(0o755)
    assert find_java({"JAVA_HOME": str(tmp_path / "jdk"), "PATH": ""}) == str(java)
    assert java_major_version(str(java)) == 17


def test_old_style_java_version_is_parsed(tmp_path: Path):
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'java version \"1.8.0_392\"' >&2\n")
    java.chmod(0o755)
    assert java_major_version(str(java)) == 8


def test_missing_mvn_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ClusterError, match=r"mvn \(Apache Maven\) not found.*apt-get install"):
        find_mvn({"PATH": str(tmp_path)})


def test_spawned_process_is_detached_and_logged(tmp_path: Path):
    log = tmp_path / "logs" / "x.log"
    proc = spawn_detached(
        [sys.executable, "-c", "print('hello from child', flush=True)"], log, cwd=tmp_path
    )
    assert proc.wait(10) == 0
    assert os.getsid(os.getpid()) != proc.pid  # it had a session of its own
    assert "hello from child" in tail_text(log)
    assert not pid_alive(proc.pid)


def test_terminate_escalates_to_sigkill(tmp_path: Path):
    log = tmp_path / "stubborn.log"
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = spawn_detached([sys.executable, "-c", script], log, cwd=tmp_path)
    deadline = time.monotonic() + 10
    while "ignoring SIGTERM" not in tail_text(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert terminate(proc.pid, timeout=0.5) == "killed"
    assert not pid_alive(proc.pid)
    assert terminate(proc.pid, timeout=0.5) == "not running"


def test_terminate_stops_a_polite_process(tmp_path: Path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert terminate(proc.pid, timeout=10) == "stopped"


def test_tail_text_shows_only_lines_after_the_offset(tmp_path: Path):
    log = tmp_path / "a.log"
    log.write_text("old run\n" * 5)
    offset = log.stat().st_size
    with open(log, "a") as fh:
        fh.write("".join(f"line {i}\n" for i in range(100)))
    tail = tail_text(log, lines=40, start=offset)
    assert "old run" not in tail
    assert tail.splitlines() == [f"line {i}" for i in range(60, 100)]
    assert "no log" in tail_text(tmp_path / "missing.log")
