"""Deployed-job bookkeeping without a cluster: status files, process checks, job states,
the supervisor's restart/backoff/shutdown logic (fake processes, fake clock), checkpoint
lookup, and the CLI's error messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ConfigError
from jobs.deploy import job_info, job_state, last_checkpoint, process_alive
from jobs.supervisor import (
    S_FAILED,
    S_RUNNING,
    S_STARTING,
    S_STOPPED,
    S_STOPPING,
    W_RESTARTING,
    W_RUNNING,
    W_STOPPED,
    Backoff,
    JobStatus,
    Supervisor,
    WorkerStatus,
    read_status,
    status_path,
    tail,
    write_status,
)
from tests.jobs.cli_helpers import error_of, isolate, rdg


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


def make_status(workers: int = 2, **kw: Any) -> JobStatus:
    base: dict[str, Any] = {
        "job": "graph-login",
        "topic": "login",
        "kafka_topic": "login",
        "supervisor_pid": 4242,
        "started_ms": 1_000,
        "parallelism": workers,
        "bootstrap": "127.0.0.1:9092",
        "store": "sqlite:///x.db",
        "workers": {f"w{i}": WorkerStatus(f"w{i}") for i in range(workers)},
    }
    base.update(kw)
    return JobStatus(**base)


# --------------------------------------------------------------------------- status file


def test_status_file_round_trip_is_atomic(tmp_path: Path) -> None:
    path = status_path(tmp_path, "graph-login")
    st = make_status()
    st.workers["w1"].restarts = 3
    st.workers["w1"].last_exit_code = -9
    write_status(path, st)
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]  # no temp file left
    back = read_status(path)
    assert back is not None
    assert back.to_json() == st.to_json()
    assert back.workers["w1"].restarts == 3 and back.workers["w1"].last_exit_code == -9
    assert json.loads(path.read_text())["updated_ms"] > 0


def test_status_file_missing_and_damaged(tmp_path: Path) -> None:
    path = status_path(tmp_path, "graph-login")
    assert read_status(path) is None
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError) as exc:
        read_status(path)
    assert str(path) in str(exc.value) and "delete" in str(exc.value)


def test_status_file_ignores_unknown_fields(tmp_path: Path) -> None:
    path = status_path(tmp_path, "graph-login")
    d = make_status().to_json()
    d["future_field"] = 1
    d["workers"]["w0"]["future_field"] = 2
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(d))
    st = read_status(path)
    assert st is not None and st.workers["w0"].worker == "w0"


# --------------------------------------------------------------------------- processes


def test_process_alive_checks_pid_zombies_and_command_line() -> None:
    assert process_alive(os.getpid())
    assert process_alive(os.getpid(), ("python",))
    assert not process_alive(os.getpid(), ("jobs.supervisor", "graph-nope"))
    assert not process_alive(None) and not process_alive(0)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
    # an exited child that nobody waited for (a zombie) does not count as alive
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{zombie.pid}/stat")
    deadline = time.monotonic() + 30
    while stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    assert not process_alive(zombie.pid)


def test_tail_reads_the_last_lines(tmp_path: Path) -> None:
    p = tmp_path / "x.log"
    p.write_text("".join(f"line {i}\n" for i in range(5000)))
    assert tail(p, 3) == ["line 4997", "line 4998", "line 4999"]
    assert tail(p, 0) == []
    assert tail(tmp_path / "missing.log", 5) == []
    assert len(tail(p, 4000)) == 4000


# --------------------------------------------------------------------------- job state


def test_job_state_from_status_and_live_processes() -> None:
    assert job_state(None, {}) == "stopped"
    st = make_status()
    everyone = {"supervisor": 1, "w0": 2, "w1": 3}
    st.state = S_STARTING
    assert job_state(st, everyone) == "starting"
    st.state = S_RUNNING
    for w in st.workers.values():
        w.ready, w.state = True, W_RUNNING
    assert job_state(st, everyone) == "running"
    st.workers["w1"].state = W_RESTARTING
    st.workers["w1"].ready = False
    assert job_state(st, {"supervisor": 1, "w0": 2}) == "restarting"
    st.workers["w1"].state = W_RUNNING
    st.workers["w1"].ready = True
    assert job_state(st, {"supervisor": 1, "w0": 2}) == "restarting"  # w1's pid is gone
    st.state = S_STOPPING
    assert job_state(st, everyone) == "stopping"
    st.state = S_STOPPED
    assert job_state(st, {}) == "stopped"
    st.state = S_RUNNING
    assert job_state(st, {"w0": 2, "w1": 3}) == "crashed"  # supervisor died
    assert job_state(st, {}) == "crashed"
    st.state = S_FAILED
    assert job_state(st, {}) == "crashed"


def test_job_info_of_a_job_never_deployed(tmp_path: Path) -> None:
    info = job_info(tmp_path, None, "graph-login")
    assert info.state == "stopped" and info.workers == [] and info.last_checkpoint_id is None


def write_manifest(ckdir: Path, cid: int, worker: str, created: int, parts: dict[str, Any]) -> None:
    m = ckdir / "manifests"
    m.mkdir(parents=True, exist_ok=True)
    body = {"id": cid, "worker": worker, "created_ms": created, "partitions": parts}
    (m / f"chk-{cid:012d}-{worker}.json").write_text(json.dumps(body))


def test_last_checkpoint_is_the_newest_manifest_of_any_worker(tmp_path: Path) -> None:
    ck = tmp_path / "checkpoints" / "graph-login"
    assert last_checkpoint(ck) is None
    write_manifest(ck, 7, "w0", 5_000, {"0": {}})
    write_manifest(ck, 3, "w1", 9_000, {"1": {}})  # w1's ids run behind, but it is newer
    (ck / "manifests" / ".chk-000000000009-w0.json.tmp").write_text("{")  # in flight
    (ck / "manifests" / "chk-000000000010-w0.json").write_text("{torn")
    c = last_checkpoint(ck)
    assert c is not None and (c.id, c.worker, c.created_ms) == (3, "w1", 9_000)
    info = job_info(tmp_path, None, "graph-login", at_ms=12_000)
    assert info.last_checkpoint_id == 3 and info.last_checkpoint_age_s == 3.0


# --------------------------------------------------------------------------- backoff


def test_backoff_doubles_to_the_cap_and_resets_after_a_stable_run() -> None:
    b = Backoff(initial_s=1.0, max_s=60.0, stable_s=60.0)
    assert [b.delay(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert b.delay(0) == 0 and b.delay(10_000) == 60
    assert b.next_failures(0, uptime_s=0.5) == 1
    assert b.next_failures(4, uptime_s=5.0) == 5  # crashed again quickly
    assert b.next_failures(6, uptime_s=60.0) == 1  # it had stayed up: start over


# --------------------------------------------------------------------------- supervisor


class FakeProc:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.code: int | None = None
        self.signals: list[int] = []
        self.stops_on_term = True

    def poll(self) -> int | None:
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if self.stops_on_term and self.code is None:
            self.code = 0

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)
        self.code = -9


class Harness:
    def __init__(self, tmp_path: Path, workers: int = 2, **kw: Any) -> None:
        self.now = 0.0
        self.procs: list[FakeProc] = []
        self.ready: set[int] = set()
        self.path = status_path(tmp_path, "graph-login")
        self.sup = Supervisor(
            make_status(workers),
            self.path,
            self.spawn,
            clock=lambda: self.now,
            is_ready=lambda w: w.pid in self.ready,
            **kw,
        )

    def spawn(self, w: WorkerStatus) -> FakeProc:
        p = FakeProc(100 + len(self.procs))
        self.procs.append(p)
        return p

    def status(self) -> JobStatus:
        st = read_status(self.path)
        assert st is not None
        return st

    def all_ready(self) -> None:
        self.ready.update(p.pid for p in self.procs)
        self.sup.step()


def test_supervisor_starts_workers_and_reports_running_once_ready(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.sup.start()
    st = h.status()
    assert st.state == S_STARTING
    assert {w: s.pid for w, s in st.workers.items()} == {"w0": 100, "w1": 101}
    h.ready.add(100)
    h.sup.step()
    assert h.status().state == S_STARTING
    h.all_ready()
    st = h.status()
    assert st.state == S_RUNNING
    assert all(w.ready and w.state == W_RUNNING for w in st.workers.values())


def test_supervisor_restarts_a_crashed_worker_with_backoff(tmp_path: Path) -> None:
    h = Harness(tmp_path, backoff=Backoff(1.0, 60.0, 60.0))
    h.sup.start()
    h.all_ready()
    # w1 is killed after 10 s: restart after 1 s
    h.now = 10.0
    h.procs[1].code = -9
    h.sup.step()
    st = h.status()
    assert st.workers["w1"].state == W_RESTARTING and st.workers["w1"].last_exit_code == -9
    assert st.workers["w1"].pid == 101 and st.workers["w1"].next_start_ms is not None
    h.now = 10.9
    assert not h.sup.step() and len(h.procs) == 2
    h.now = 11.0
    h.sup.step()
    assert len(h.procs) == 3
    st = h.status()
    assert st.workers["w1"].pid == 102 and st.workers["w1"].restarts == 1
    assert st.workers["w1"].state != W_RESTARTING
    assert st.workers["w0"].pid == 100 and st.workers["w0"].restarts == 0
    # it crashes again right away: the delay doubles, then doubles again
    delays = []
    for _ in range(3):
        h.procs[-1].code = 1
        h.sup.step()
        start = h.now
        while len(h.procs) == 3 + len(delays):
            h.now += 0.5
            h.sup.step()
        delays.append(h.now - start)
    assert delays == [2.0, 4.0, 8.0]
    # after a stable minute, a crash is restarted after the initial delay again
    h.ready.add(h.procs[-1].pid)
    h.sup.step()
    h.now += 61
    h.procs[-1].code = 1
    h.sup.step()
    assert h.status().workers["w1"].failures == 1
    assert h.status().state == S_RUNNING


def test_supervisor_gives_up_when_a_worker_fails_before_it_was_ever_ready(
    tmp_path: Path,
) -> None:
    log = tmp_path / "w0.log"
    log.write_text(
        "--- starting\n"
        "2026-01-01 10:00:00,000 ERROR graph-login/w0 jobs.worker: unreachable: no store\n"
        "2026-01-01 10:00:00,001 INFO graph-login/w0 x: bye\n"
    )
    h = Harness(tmp_path, worker_log=lambda w: log)
    h.sup.start()
    h.procs[0].code = 3
    h.sup.step()
    st = h.status()
    assert st.state == S_FAILED
    assert st.error == "worker w0 exited with code 3 before it was ready: unreachable: no store"
    assert h.sup.exit_code == 3 and h.sup.stop_requested.is_set()
    assert h.procs[1].signals == [signal.SIGTERM]  # the other one was stopped
    assert all(w.state == W_STOPPED for w in st.workers.values())


def test_supervisor_shutdown_terms_then_kills_stragglers(tmp_path: Path) -> None:
    h = Harness(tmp_path, stop_timeout_s=0.0)
    h.sup.start()
    h.all_ready()
    h.procs[1].stops_on_term = False
    h.sup.shutdown()
    assert h.procs[0].signals == [signal.SIGTERM]
    assert h.procs[1].signals == [signal.SIGTERM, signal.SIGKILL]
    st = h.status()
    assert st.state == S_STOPPED
    assert st.workers["w0"].last_exit_code == 0 and st.workers["w1"].last_exit_code == -9
    assert all(w.state == W_STOPPED for w in st.workers.values())


def test_supervisor_shutdown_during_a_backoff_does_not_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.sup.start()
    h.all_ready()
    h.procs[0].code = 1
    h.sup.step()
    h.sup.shutdown()
    h.now += 100
    assert len(h.procs) == 2
    assert h.status().state == S_STOPPED


# --------------------------------------------------------------------------- CLI


def test_cli_deploy_needs_topics_or_all() -> None:
    assert "name the topics" in error_of(rdg("deploy"), 2)
    assert "not both" in error_of(rdg("deploy", "login", "--all"), 2)
    msg = error_of(rdg("deploy", "clicks"), 2)
    assert "no job for topic 'clicks'" in msg and "login" in msg
    assert "--parallelism 0" in error_of(rdg("deploy", "login", "--parallelism", "0"), 2)


def test_cli_deploy_with_kafka_unreachable_starts_nothing(tmp_path: Path) -> None:
    msg = error_of(rdg("deploy", "login", "--bootstrap", "127.0.0.1:1"), 3)
    assert "127.0.0.1:1" in msg and "unreachable" in msg
    assert not (tmp_path / "state" / "deploy").exists()


def test_cli_stop_and_jobs_when_nothing_is_deployed(tmp_path: Path) -> None:
    r = rdg("stop", "login")
    assert r.exit_code == 0 and "graph-login was never deployed" in " ".join(r.stdout.split())
    r = rdg("stop", "--all")
    assert r.exit_code == 0 and "nothing to stop" in r.stdout
    r = rdg("jobs", "--json")
    assert r.exit_code == 0, r.output
    jobs = json.loads(r.stdout)["jobs"]
    assert {j["topic"] for j in jobs} == {"playback", "login", "search", "gaming", "live"}
    assert {j["state"] for j in jobs} == {"stopped"}
    assert rdg("jobs", "validate").exit_code == 0  # the sub-command still works


def test_cli_jobs_shows_a_crashed_deployment(tmp_path: Path) -> None:
    st = make_status(supervisor_pid=999_999_999, state=S_RUNNING)
    for w in st.workers.values():
        w.pid, w.ready, w.state = 999_999_998, True, W_RUNNING
    write_status(status_path(tmp_path / "state", "graph-login"), st)
    r = rdg("jobs", "--json")
    info = {j["job"]: j for j in json.loads(r.stdout)["jobs"]}["graph-login"]
    assert info["state"] == "crashed" and info["supervisor_pid"] == 999_999_999
    assert [w["alive"] for w in info["workers"]] == [False, False]
    r = rdg("stop", "login")  # a crashed job: nothing alive to stop
    assert r.exit_code == 0 and "is not running" in r.stdout
    st2 = read_status(status_path(tmp_path / "state", "graph-login"))
    assert st2 is not None and st2.state == S_STOPPED


def test_cli_logs_errors_and_output(tmp_path: Path) -> None:
    msg = error_of(rdg("logs", "login"), 1)
    assert "no logs for graph-login" in msg and "rdg deploy login" in msg
    assert "--worker 'x1' is not w0, w1, ... or supervisor" in error_of(
        rdg("logs", "login", "--worker", "x1"), 2
    )
    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    (logs / "graph-login-w0.log").write_text("".join(f"a{i}\n" for i in range(100)))
    (logs / "graph-login-supervisor.log").write_text("s1\ns2\n")
    r = rdg("logs", "login", "--worker", "w0", "--lines", "3")
    assert r.exit_code == 0 and r.stdout.split() == ["a97", "a98", "a99"]
    r = rdg("logs", "login", "-n", "1")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("==> supervisor") and lines[1] == "s2"
    assert lines[2].startswith("==> w0") and lines[3] == "a99"
    assert "no logs for worker w1" in error_of(rdg("logs", "login", "-w", "w1"), 1)
