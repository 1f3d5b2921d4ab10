"""Job operations against the real Kafka broker, as a user runs them: `rdg deploy`, `rdg jobs`,
`rdg logs`, `rdg lag`, `rdg stop` and `rdg replay`, with a worker and a supervisor killed.

Every test gets its own state dir and its own job specs (copies of the shipped ones with a
unique job name and Kafka topic, via RDG_SPECS_DIR), and always stops what it deployed and
deletes its topics, also when it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from graphstore import open_store
from ingest.errors import RDGError
from ingest.kafka import admin
from jobs.deploy import live_pids, process_alive
from jobs.generate import GeneratedEvent, generate_events, is_representable, produce_to_kafka
from jobs.lag import LagMonitor
from jobs.spec import JobSpec, all_specs, load_spec
from jobs.supervisor import read_status, status_path
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.serde import AvroSerde
from tests.transforms.expected import compare, expected_graph

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the generator's default start
HOUR = 3_600_000
KEEP = {"retention.ms": "-1"}  # event times lie in the past: never expire them mid-test
T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))


def write_spec(spec: JobSpec, path: Path) -> None:
    """A job spec as TOML (top-level keys, then one table per section)."""
    data = spec.model_dump()
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    lines = [ln for ln in lines if not ln.endswith('"None"')]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items() if vv is not None]
    path.write_text("\n".join(lines) + "\n")
    assert load_spec(path) == spec


def poll_until(check: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    """Poll ``check`` until it returns something truthy (a readiness wait, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
        time.sleep(0.25)


@dataclass
class Ops:
    """One test's deployment environment: its specs, state dir and topics."""

    root: Path
    bootstrap: str
    uid: str
    specs: dict[str, JobSpec] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def rdg(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobs.cli", *args],
            cwd=self.root,
            text=True,
            capture_output=True,
            timeout=timeout,
            env=self.env,
        )

    def rdg_json(self, *args: str) -> Any:
        r = self.rdg(*args, "--json")
        assert r.returncode == 0, f"rdg {' '.join(args)}: {r.stdout}\n{r.stderr}"
        return json.loads(r.stdout)

    def jobs(self) -> dict[str, dict[str, Any]]:
        """`rdg jobs --json`, by topic."""
        return {j["topic"]: j for j in self.rdg_json("jobs")["jobs"]}

    def status(self, topic: str) -> Any:
        return read_status(status_path(self.state_dir, self.specs[topic].name))

    def create_topics(self, partitions: int = 3) -> None:
        for spec in self.specs.values():
            admin.create_topic(self.bootstrap, spec.source_topic, partitions, config=KEEP)

    def produce(
        self, topic: str, events: Sequence[GeneratedEvent], rate: float | None = None
    ) -> int:
        spec = self.specs[topic]
        return produce_to_kafka(
            self.bootstrap,
            topic,
            events,
            AvroSerde(topic),
            rate=rate,
            kafka_topic=spec.source_topic,
        )

    def lag_is_zero(self, topics: Sequence[str]) -> bool:
        with LagMonitor(self.bootstrap, [self.specs[t] for t in topics], self.state_dir) as mon:
            jobs = mon.poll()
        return all(not j.error and j.partitions and j.total_lag == 0 for j in jobs)

    def wait_zero_lag(self, topics: Sequence[str], timeout: float = 180.0) -> dict[str, Any]:
        """Poll until every job's committed offsets reach the end offsets; then `rdg lag
        --json` must say so too."""
        poll_until(lambda: self.lag_is_zero(topics), f"{topics} have no lag", timeout)
        out = self.rdg_json("lag", *topics, "--interval", "0")
        jobs = {j["topic"]: j for j in out["jobs"]}
        for t in topics:
            assert jobs[t]["total_lag"] == 0, jobs[t]
            assert all(p["committed"] == p["end"] for p in jobs[t]["partitions"]), jobs[t]
        return jobs

    def kill_everything(self) -> None:
        """Last-resort cleanup: SIGKILL any process a status file still names."""
        for spec in self.specs.values():
            st = read_status(status_path(self.state_dir, spec.name))
            if st is None:
                continue
            for pid in live_pids(st).values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def operations(
    tmp_path: Path,
    bootstrap: str,
    parallelism: dict[str, int],
    *,
    store: str | None = None,
) -> Iterator[Ops]:
    """Specs for these topics with a unique name and Kafka topic; stops and deletes it all
    afterwards."""
    uid = uuid.uuid4().hex[:8]
    ops = Ops(tmp_path, bootstrap, uid)
    specs_dir = tmp_path / "specs"
    specs_dir.mkdir()
    shipped = all_specs()
    for topic, n in parallelism.items():
        spec = shipped[topic].model_copy(
            update={
                "name": f"graph-{topic}-{uid}",
                "kafka_topic": f"rdg-ops-{uid}-{topic}",
                "parallelism": n,
            }
        )
        write_spec(spec, specs_dir / f"{topic}.toml")
        ops.specs[topic] = spec
    ops.env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RDG_SPECS_DIR": str(specs_dir),
        "RDG_STATE_DIR": str(ops.state_dir),
        "RDG_BOOTSTRAP": bootstrap,
        "RDG_STORE": store or f"sqlite:///{tmp_path / 'graph.db'}",
    }
    for var in ("RDG_CONFIG", "RDG_SOURCE"):
        ops.env.pop(var, None)
    try:
        yield ops
    finally:
        try:
            r = ops.rdg("stop", "--all", "--timeout", "60")
            if r.returncode != 0:
                print("rdg stop --all failed:", r.stdout, r.stderr)
        finally:
            ops.kill_everything()
            for spec in ops.specs.values():
                for t in (spec.source_topic, spec.dead_letter_topic, spec.late_topic):
                    try:
                        admin.delete_topic(bootstrap, t, missing_ok=True, timeout=15.0)
                    except RDGError as exc:
                        print(f"could not delete topic {t}: {exc}")


def events_for(topic: str, n: int, seed: int, **kw: Any) -> list[GeneratedEvent]:
    opts: dict[str, Any] = {"duplicates": 0.05, "out_of_order_s": 8, "invalid": 0.03}
    opts.update(kw)
    return list(generate_events(topic, n, seed, **opts))


# --------------------------------------------------------------------------- tests


def test_deploy_jobs_kill_a_worker_logs_lag_and_stop(tmp_path: Path, kafka_bootstrap: str) -> None:
    with operations(tmp_path, kafka_bootstrap, {"login": 2}) as ops:
        ops.create_topics(partitions=3)
        evs = events_for("login", 2000, 11)
        ops.produce("login", evs)

        r = ops.rdg("deploy", "login")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "started" in r.stdout
        info = ops.jobs()["login"]
        assert info["state"] == "running"
        assert [w["worker"] for w in info["workers"]] == ["w0", "w1"]
        assert all(w["alive"] and w["restarts"] == 0 for w in info["workers"])
        first_pids = {w["worker"]: w["pid"] for w in info["workers"]}
        sup = info["supervisor_pid"]
        assert process_alive(sup) and all(process_alive(p) for p in first_pids.values())
        # the supervisor and its workers do not belong to the CLI that started them
        assert os.getsid(sup) == sup

        # deploying again changes nothing
        r = ops.rdg("deploy", "login")
        assert r.returncode == 0 and "already running" in " ".join(r.stdout.split())
        assert ops.jobs()["login"]["supervisor_pid"] == sup

        ops.wait_zero_lag(["login"])
        store = open_store(ops.env["RDG_STORE"])
        try:
            compare(store.dump(), expected_graph("login", evs))
        finally:
            store.close()

        # SIGKILL a worker: the supervisor restarts it (same worker id, new pid)
        os.kill(first_pids["w0"], signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            st = ops.status("login")
            w0 = st.workers["w0"]
            ok = w0.restarts == 1 and w0.ready and w0.pid != first_pids["w0"]
            return ops.jobs()["login"] if ok and process_alive(w0.pid) else None

        info = poll_until(restarted, "w0 is restarted")
        w0 = next(w for w in info["workers"] if w["worker"] == "w0")
        assert w0["last_exit_code"] == -signal.SIGKILL and w0["alive"]
        assert info["restarts"] == 1 and info["supervisor_pid"] == sup
        assert info["state"] == "running"
        w1 = next(w for w in info["workers"] if w["worker"] == "w1")
        assert w1["pid"] == first_pids["w1"] and w1["restarts"] == 0

        # more events after the restart are processed, nothing lost or counted twice
        more = events_for("login", 3000, 11)  # a longer stream: the first 2000 are the same
        ops.produce("login", more[2000:])
        ops.wait_zero_lag(["login"])
        store = open_store(ops.env["RDG_STORE"])
        try:
            compare(store.dump(), expected_graph("login", more))
        finally:
            store.close()
        assert ops.jobs()["login"]["last_checkpoint_id"] is not None

        # logs: each worker's output, with the restart visible
        r = ops.rdg("logs", "login", "--worker", "w0", "--lines", "200")
        assert r.returncode == 0
        assert "restarts so far: 1" in r.stdout and "assigned partitions" in r.stdout
        r = ops.rdg("logs", "login", "--worker", "supervisor")
        assert "exited with code -9" in r.stdout

        # stop: graceful, returns when every process is gone
        r = ops.rdg("stop", "login")
        assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
        st = ops.status("login")
        assert not live_pids(st)
        assert st.state == "stopped"
        assert all(w.last_exit_code == 0 for w in st.workers.values())  # graceful exits
        info = ops.jobs()["login"]
        assert info["state"] == "stopped" and info["uptime_s"] is None
        # the final checkpoints committed every offset
        jobs = ops.rdg_json("lag", "login", "--interval", "0")["jobs"]
        assert jobs[0]["total_lag"] == 0
        r = ops.rdg("stop", "login")
        assert r.returncode == 0 and "is not running" in r.stdout


def test_killed_supervisor_shows_crashed_and_redeploy_recovers(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    with operations(tmp_path, kafka_bootstrap, {"search": 1}) as ops:
        ops.create_topics(partitions=2)
        evs = events_for("search", 1000, 5)
        ops.produce("search", evs)
        r = ops.rdg("deploy", "search")
        assert r.returncode == 0, r.stdout + r.stderr
        st = ops.status("search")
        worker_pid = st.workers["w0"].pid
        os.kill(st.supervisor_pid, signal.SIGKILL)
        poll_until(lambda: ops.jobs()["search"]["state"] == "crashed", "the job shows crashed")
        # an orphaned worker notices and stops gracefully on its own
        poll_until(lambda: not process_alive(worker_pid), "the orphaned worker exits", 60)
        r = ops.rdg("deploy", "search")
        assert r.returncode == 0 and "started" in r.stdout, r.stdout + r.stderr
        assert ops.jobs()["search"]["state"] == "running"
        ops.wait_zero_lag(["search"])
        store = open_store(ops.env["RDG_STORE"])
        try:
            compare(store.dump(), expected_graph("search", evs))
        finally:
            store.close()


def test_deploy_refuses_what_cannot_work_and_starts_nothing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    with operations(tmp_path, kafka_bootstrap, {"gaming": 1}) as ops:
        r = ops.rdg("deploy", "gaming")
        assert r.returncode == 1, r.stdout + r.stderr
        msg = " ".join(r.stderr.split())
        assert f"no topic '{ops.specs['gaming'].source_topic}'" in msg and "create it" in msg
        r = ops.rdg("lag", "gaming", "--json", "--interval", "0")
        assert r.returncode == 1
        job = json.loads(r.stdout)["jobs"][0]
        assert "does not exist" in job["error"] and job["partitions"] == []

        ops.create_topics(partitions=1)
        r = ops.rdg("deploy", "gaming", "--store", "sqlite:///:memory:")
        assert r.returncode == 2 and "in memory" in r.stderr, r.stdout + r.stderr
        r = ops.rdg("deploy", "gaming", "--store", "foo://x")
        assert r.returncode == 2 and "unsupported scheme 'foo'" in r.stderr
        r = ops.rdg("deploy", "gaming", "--store", "cassandra://127.0.0.1:1/nowhere")
        assert r.returncode == 3 and "127.0.0.1:1" in r.stderr, r.stdout + r.stderr
        assert not (ops.state_dir / "deploy").exists()
        assert ops.jobs()["gaming"]["state"] == "stopped"


def test_lag_reports_input_rate_and_event_time_lag(tmp_path: Path, kafka_bootstrap: str) -> None:
    with operations(tmp_path, kafka_bootstrap, {"live": 1}) as ops:
        ops.create_topics(partitions=2)
        evs = events_for("live", 1500, 3)
        ops.produce("live", evs[:500])
        out = ops.rdg_json("lag", "live", "--interval", "0")
        (job,) = out["jobs"]
        assert job["job"] == ops.specs["live"].name
        assert job["total_lag"] == sum(p["end"] for p in job["partitions"]) > 0
        assert all(p["committed"] is None and p["rate"] is None for p in job["partitions"])
        assert all(p["event_time_lag_ms"] is None for p in job["partitions"])

        # while events arrive, the rate over the sampling interval is positive
        producer = threading.Thread(target=ops.produce, args=("live", evs[500:], 150.0))
        producer.start()
        rates: list[float] = []
        try:
            while producer.is_alive() and not any(rates):
                out = ops.rdg_json("lag", "live", "--interval", "1")
                rates.append(sum(p["rate"] for p in out["jobs"][0]["partitions"]))
        finally:
            producer.join()
        assert any(rate > 0 for rate in rates), rates

        # deployed and caught up: event-time lag = now - the checkpointed watermark
        r = ops.rdg("deploy", "live")
        assert r.returncode == 0, r.stdout + r.stderr
        jobs = ops.wait_zero_lag(["live"])
        newest = max(e.ts for e in evs if e.ts is not None and TS_MIN_MS <= e.ts < TS_MAX_MS)
        before = time.time_ns() // 1_000_000
        jobs = {j["topic"]: j for j in ops.rdg_json("lag", "live", "--interval", "0")["jobs"]}
        after = time.time_ns() // 1_000_000
        for p in jobs["live"]["partitions"]:
            lag_ms = p["event_time_lag_ms"]
            assert lag_ms is not None
            # now - lag = the checkpointed watermark = the partition's newest time - 10 s
            assert before - lag_ms <= newest - 10_000
            assert after - lag_ms > T0
        r = ops.rdg("lag", "live", "--interval", "0")
        assert r.returncode == 0 and ops.specs["live"].name[:10] in r.stdout


def test_replay_an_hour_into_an_empty_store_reproduces_it(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    with operations(tmp_path, kafka_bootstrap, {"playback": 1}) as ops:
        ops.create_topics(partitions=3)
        # 0.6 events/s: the stream spans about 1.4 hours, across the 01:00 boundary
        evs = events_for("playback", 3000, 9, events_per_second=0.6)
        assert max(e.ts or 0 for e in evs) > T0 + HOUR
        ops.produce("playback", evs)
        in_hour = [e for e in evs if e.ts is not None and T0 <= e.ts < T0 + HOUR]
        want = expected_graph("playback", in_hour)
        replayed = tmp_path / "replayed.db"

        r = ops.rdg(
            "replay",
            "playback",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-01T01:00:00Z",
            "--store",
            f"sqlite:///{replayed}",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        out = " ".join(r.stdout.split())
        assert "job summary" in out and "records in the range" in out
        store = open_store(f"sqlite:///{replayed}")
        try:
            compare(store.dump(), want)
            before = store.dump()
        finally:
            store.close()
        assert not any((ops.state_dir / "replays").iterdir())  # finished: nothing to resume
        # and its consumer group is gone from Kafka
        from ingest.kafka import admin

        groups = admin.list_consumer_groups(kafka_bootstrap)
        assert not [g for g in groups if g.startswith("rdg-replay-playback-")], groups

        # replaying it again (and the whole topic) changes nothing in the hour's rows...
        res = ops.rdg_json(
            "replay",
            "playback",
            "--from",
            str(T0),
            "--to",
            str(T0 + HOUR),
            "--store",
            f"sqlite:///{replayed}",
        )
        assert res["finished"] and res["partitions"] == 3
        # every message whose event time is in the hour (invalid ones included: they
        # are dead-lettered again); messages that cannot carry an event time are not
        assert res["records_in_range"] == sum(1 for e in in_hour if is_representable(e, "avro"))
        assert res["records_read"] >= res["records_in_range"]
        store = open_store(f"sqlite:///{replayed}")
        try:
            assert store.dump() == before
        finally:
            store.close()
        # ...and a replay to the end fills in the rest: the whole stream's graph
        r = ops.rdg(
            "replay",
            "playback",
            "--from",
            "2026-01-01T00:00:00Z",
            "--store",
            f"sqlite:///{replayed}",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        store = open_store(f"sqlite:///{replayed}")
        try:
            compare(store.dump(), expected_graph("playback", evs))
        finally:
            store.close()
