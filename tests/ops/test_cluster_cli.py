"""`python -m ops.cluster` end to end where no server needs to start."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ops import cluster
from ops.common import REPO_ROOT, ClusterError, Settings
from ops.procs import find_java


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cluster", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RDG_CLUSTER_DIR": str(settings.state_dir),
            "RDG_CACHE_DIR": str(settings.cache_dir),
            "RDG_KAFKA_PORT": str(settings.kafka_port),
            "RDG_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
            "RDG_CASSANDRA_PORT": str(settings.cassandra_port),
            "RDG_CASSANDRA_STORAGE_PORT": str(settings.cassandra_storage_port),
        }
    )
    env.update(extra)
    return env


def test_status_json_when_nothing_runs(settings: Settings):
    proc = _run(["status", "--json"], _env(settings))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["state_dir"] == str(settings.state_dir)
    servers = {s["name"]: s for s in doc["servers"]}
    assert set(servers) == {"kafka", "cassandra"}
    assert servers["kafka"]["port"] == settings.kafka_port
    assert servers["cassandra"]["port"] == settings.cassandra_port
    for s in servers.values():
        assert (s["running"], s["pid"], s["ready"]) == (False, None, False)


def test_status_text_and_down_when_nothing_runs(settings: Settings):
    status = _run(["status"], _env(settings))
    assert status.returncode == 0
    assert "kafka" in status.stdout and "stopped" in status.stdout and "ready no" in status.stdout
    down = _run(["down"], _env(settings))
    assert down.returncode == 0
    assert down.stdout.count("already stopped") == 2


def test_up_without_java_fails_clearly(settings: Settings, tmp_path: Path):
    proc = _run(["up"], _env(settings, PATH=str(tmp_path), JAVA_HOME=""))
    assert proc.returncode == 1
    assert "error: java not found" in proc.stderr
    assert "openjdk-17" in proc.stderr


def test_up_fails_before_starting_anything_when_ports_are_taken(settings: Settings, tmp_path: Path):
    """Ports held by strangers for both servers: both named, nothing fetched or started."""
    try:
        java_home = Path(os.path.realpath(find_java())).parent.parent
    except ClusterError:
        pytest.skip("no java on this machine")
    holders = []
    for port in (settings.kafka_port, settings.cassandra_storage_port):
        sock = socket.socket()
        sock.bind(("127.0.0.1", port))
        sock.listen()
        holders.append(sock)
    try:
        empty = tmp_path / "empty-path"  # no mvn: fetching jars would fail differently
        empty.mkdir()
        proc = _run(["up"], _env(settings, PATH=str(empty), JAVA_HOME=str(java_home)))
    finally:
        for sock in holders:
            sock.close()
    assert proc.returncode == 1, proc.stdout
    assert f"kafka: client port 127.0.0.1:{settings.kafka_port} is already in use" in proc.stderr
    port = settings.cassandra_storage_port
    assert f"cassandra: storage port 127.0.0.1:{port} is already in use" in proc.stderr
    assert f"pid {os.getpid()}" in proc.stderr
    assert "mvn" not in proc.stderr
    assert not settings.jar_cache.exists()
    assert not list(settings.state_dir.glob("*/*.pid"))


def test_clean_refuses_a_directory_it_did_not_make(settings: Settings):
    settings.state_dir.mkdir(parents=True)
    (settings.state_dir / "precious.txt").write_text("not ours")
    with pytest.raises(ClusterError, match="refusing to delete"):
        cluster.clean(settings)
    assert (settings.state_dir / "precious.txt").exists()


def test_clean_removes_the_state_dir_but_not_the_cache(settings: Settings):
    (settings.state_dir / "kafka" / "data").mkdir(parents=True)
    (settings.state_dir / cluster.STATE_MARKER).touch()
    settings.jar_cache.mkdir(parents=True)
    result = cluster.clean(settings)
    assert result == {"kafka": "already stopped", "cassandra": "already stopped"}
    assert not settings.state_dir.exists()
    assert settings.jar_cache.exists()
    cluster.clean(settings)  # idempotent


def test_client_env_matches_ports(settings: Settings):
    env = cluster.client_env(settings)
    assert env["RDG_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{settings.kafka_port}"
    assert env["RDG_CASSANDRA_HOSTS"] == "127.0.0.1"
    assert env["RDG_CASSANDRA_PORT"] == str(settings.cassandra_port)


def test_commands_on_one_state_dir_wait_for_each_other(settings: Settings):
    """Teammates share a checkout: a second `down` waits while another command holds the lock."""
    settings.state_dir.mkdir(parents=True)
    (settings.state_dir / cluster.STATE_MARKER).touch()
    with open(settings.state_dir / cluster.LOCK_FILE, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        waiting = subprocess.Popen(
            [sys.executable, "-m", "ops.cluster", "down"],
            cwd=REPO_ROOT,
            env=_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=3)  # still blocked on our lock
        fcntl.flock(fh, fcntl.LOCK_UN)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0
    assert "waiting for another `ops.cluster` command" in err
    assert out.count("already stopped") == 2
