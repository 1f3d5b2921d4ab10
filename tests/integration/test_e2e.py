"""The whole product against the real Kafka and Cassandra, as an operator runs it.

All five jobs are deployed (`rdg deploy --all`) into a fresh Cassandra keyspace; events
for all five topics, with duplicates, disorder and invalid records, are produced partly
before and partly while the jobs run; one worker is SIGKILLed mid-stream and restarted by
its supervisor.  Once `rdg lag` shows no lag, the graph in Cassandra must equal the graph
an independent model (tests/transforms/expected.py) computes from the generator's ground
truth - nothing lost, nothing counted twice - and `rdg query` must answer accordingly.
A replay of a time range then leaves every answer unchanged, and `rdg stop --all` stops
everything gracefully.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from graphstore import open_store
from graphstore.model import GraphDump
from jobs.deploy import process_alive
from jobs.generate import GeneratedEvent
from schemas.serde import AvroSerde
from tests.integration.conftest import CassandraContact
from tests.integration.test_operations import (
    HOUR,
    T0,
    Ops,
    events_for,
    operations,
    poll_until,
)
from tests.transforms.expected import ExpectedGraph, bucket_totals, expected_graph, normalize

TOPICS = ("playback", "login", "search", "gaming", "live")
PARALLELISM = {"playback": 2, "login": 1, "search": 1, "gaming": 1, "live": 1}
EVENTS = 2500  # per topic; at 0.5 events/s they span ~83 minutes, across 01:00
BEFORE = 1500  # produced before the deploy; the rest while the jobs run
SEED = 2026


# --------------------------------------------------------------------------- the model


def merge(graphs: list[ExpectedGraph]) -> ExpectedGraph:
    """One store holds every topic's graph: merge the per-topic expected graphs with the
    store's rules (min first_seen, max last_seen, the latest property, summed counts)."""
    out = ExpectedGraph()
    for g in graphs:
        for key, (first, last, props) in g.nodes.items():
            n = out.nodes.setdefault(key, [first, last, {}])
            n[0], n[1] = min(n[0], first), max(n[1], last)
            for name, version in props.items():  # (ts, event_id, value)
                old = n[2].get(name)
                if old is None or version[:2] > old[:2]:
                    n[2][name] = version
        for key, (first, last) in g.edges.items():
            e = out.edges.setdefault(key, [first, last])
            e[0], e[1] = min(e[0], first), max(e[1], last)
        out.buckets.update(g.buckets)
    return out


def kafka_partitions(bootstrap: str, kafka_topic: str, topic: str) -> dict[str, str]:
    """event_id -> the Kafka partition its message is in (read back from the broker)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    serde = AvroSerde(topic)
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rdg-e2e-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        parts = sorted(c.list_topics(kafka_topic, timeout=10).topics[kafka_topic].partitions)
        ends = {
            p: c.get_watermark_offsets(TopicPartition(kafka_topic, p), timeout=10)[1] for p in parts
        }
        c.assign([TopicPartition(kafka_topic, p, OFFSET_BEGINNING) for p in parts])
        left = {p for p, end in ends.items() if end > 0}
        out: dict[str, str] = {}
        while left:
            for m in c.consume(1000, timeout=5):
                if m.error():
                    continue
                try:
                    eid = normalize(serde.decode(m.value()))["event_id"]
                except Exception:  # undecodable test records
                    eid = None
                if isinstance(eid, str):
                    out[eid] = str(m.partition())
                if m.offset() + 1 >= ends[m.partition()]:
                    left.discard(m.partition())
        return out
    finally:
        c.close()


def expected_bucket_rows(
    streams: dict[str, list[GeneratedEvent]],
    partition_of: dict[str, dict[str, str]],
    source_topic: dict[str, str],
) -> Counter[tuple[Any, ...]]:
    """Bucket rows as the store must keep them: keyed by (edge, hour, "<topic>/<partition>"),
    each row the count of that source partition's events in that hour."""
    rows: Counter[tuple[Any, ...]] = Counter()
    for topic, evs in streams.items():
        by_part: dict[str, list[GeneratedEvent]] = {}
        for e in evs:
            if not e.kind.startswith("invalid"):
                assert e.record is not None
                eid = normalize(e.record)["event_id"]
                by_part.setdefault(partition_of[topic][eid], []).append(e)
        for p, part_events in by_part.items():
            for key, n in expected_graph(topic, part_events).buckets.items():
                row = (*key, f"{source_topic[topic]}/{p}")
                assert row not in rows
                rows[row] = n
    return rows


def check_nodes_and_edges(dump: GraphDump, want: ExpectedGraph) -> None:
    got_nodes = {
        (n.type, n.id): (
            n.first_seen,
            n.last_seen,
            {p.name: (p.ts, p.event_id, p.value) for p in n.props},
        )
        for n in dump.nodes
    }
    assert got_nodes == {k: (v[0], v[1], v[2]) for k, v in want.nodes.items()}
    got_edges = {
        (e.src_type, e.src_id, e.edge_type, e.dst_type, e.dst_id): (e.first_seen, e.last_seen)
        for e in dump.edges
    }
    assert got_edges == {k: tuple(v) for k, v in want.edges.items()}


# --------------------------------------------------------------------------- queries


def query_samples(want: ExpectedGraph, counts: Counter[tuple[Any, ...]]) -> list[list[str]]:
    """A few `rdg query` calls: shared and single-topic nodes, a busy node's neighbours,
    edges seen by several topics and by one."""
    topics_of: dict[tuple[str, str], int] = Counter()
    for src_t, src, _et, dst_t, dst in want.edges:
        topics_of[(src_t, src)] += 1
        topics_of[(dst_t, dst)] += 1
    busiest = sorted((k for k in want.nodes if k[0] == "profile"), key=lambda k: (-topics_of[k], k))
    profile = busiest[0]
    device = sorted(k for k in want.nodes if k[0] == "device")[0]
    account = sorted(k for k in want.nodes if k[0] == "account")[0]
    used = sorted(
        (e for e in want.edges if e[2] == "USED_DEVICE"),
        key=lambda e: (-sum(n for b, n in counts.items() if b[:5] == e), e),
    )[0]
    watched = sorted(e for e in want.edges if e[2] == "WATCHED")[0]
    calls = [["node", f"{t}:{i}"] for t, i in (profile, device, account, busiest[1])]
    calls.append(["neighbors", f"{profile[0]}:{profile[1]}", "-d", "both", "-n", "1000"])
    for e in (used, watched):
        calls.append(["edge", f"{e[0]}:{e[1]}", e[2], f"{e[3]}:{e[4]}"])
    return calls


def ref(d: dict[str, Any]) -> tuple[str, str]:
    return (d["type"], d["id"])


def check_answer(call: list[str], got: Any, want: ExpectedGraph, counts: Counter[Any]) -> None:
    """One `rdg query ... --json` answer against the model."""
    kind = call[0]
    if kind == "node":
        t, i = call[1].split(":", 1)
        first, last, props = want.nodes[(t, i)]
        assert got == {
            "type": t,
            "id": i,
            "props": {name: v[2] for name, v in props.items()},
            "first_seen": first,
            "last_seen": last,
        }
    elif kind == "neighbors":
        node = tuple(call[1].split(":", 1))
        touching = {
            e: v for e, v in want.edges.items() if (e[0], e[1]) == node or (e[3], e[4]) == node
        }
        answer = {
            (*ref(e["src"]), e["type"], *ref(e["dst"])): (
                e["first_seen"],
                e["last_seen"],
                e["count"],
            )
            for e in got
        }
        assert answer == {
            e: (v[0], v[1], sum(n for b, n in counts.items() if b[:5] == e))
            for e, v in touching.items()
        }
        lasts = [e["last_seen"] for e in got]
        assert lasts == sorted(lasts, reverse=True)  # newest first
    else:
        src, et, dst = call[1].split(":", 1), call[2], call[3].split(":", 1)
        key = (src[0], src[1], et, dst[0], dst[1])
        hours = {b[5]: n for b, n in counts.items() if b[:5] == key}
        assert (got["first_seen"], got["last_seen"]) == tuple(want.edges[key])
        assert got["count"] == sum(hours.values())
        assert [(b["bucket_start"], b["count"]) for b in got["buckets"]] == sorted(hours.items())


def run_queries(ops: Ops, calls: list[list[str]]) -> list[Any]:
    out = []
    for call in calls:
        r = ops.rdg("query", *call, "--json")
        assert r.returncode == 0, f"rdg query {call}: {r.stdout}\n{r.stderr}"
        out.append(json.loads(r.stdout))
    return out


# --------------------------------------------------------------------------- the test


def test_five_jobs_deployed_on_kafka_into_cassandra(
    tmp_path: Path,
    kafka_bootstrap: str,
    cassandra_contact: CassandraContact,
    fresh_keyspace_name: str,
) -> None:
    store_url = (
        f"cassandra://{cassandra_contact.hosts[0]}:{cassandra_contact.port}/{fresh_keyspace_name}"
    )
    streams = {t: events_for(t, EVENTS, SEED, events_per_second=0.5, late=0.0) for t in TOPICS}
    assert all(max(e.ts or 0 for e in evs) > T0 + HOUR for evs in streams.values())
    with operations(tmp_path, kafka_bootstrap, PARALLELISM, store=store_url) as ops:
        ops.create_topics(partitions=3)
        for t in TOPICS:
            ops.produce(t, streams[t][:BEFORE])

        r = ops.rdg("deploy", "--all")
        assert r.returncode == 0, r.stdout + r.stderr
        jobs = ops.jobs()
        assert {t: j["state"] for t, j in jobs.items()} == {t: "running" for t in TOPICS}
        assert {t: len(jobs[t]["workers"]) for t in TOPICS} == PARALLELISM

        # the rest arrives while the jobs run; a playback worker that is reading its
        # partitions is killed meanwhile
        w0_log = Path(ops.status("playback").workers["w0"].log)
        poll_until(lambda: "assigned partitions" in w0_log.read_text(), "w0 reads partitions")
        producers = [
            threading.Thread(target=ops.produce, args=(t, streams[t][BEFORE:], 250.0))
            for t in TOPICS
        ]
        for p in producers:
            p.start()
        try:
            victim = ops.status("playback").workers["w0"].pid
            os.kill(victim, signal.SIGKILL)

            def restarted() -> bool:
                w0 = ops.status("playback").workers["w0"]
                return w0.restarts == 1 and w0.ready and process_alive(w0.pid)

            poll_until(restarted, "the killed playback worker is restarted")
        finally:
            for p in producers:
                p.join()
        info = ops.jobs()["playback"]
        assert info["state"] == "running" and info["restarts"] == 1
        w0 = next(w for w in info["workers"] if w["worker"] == "w0")
        assert w0["last_exit_code"] == -signal.SIGKILL and w0["pid"] != victim

        lag = ops.wait_zero_lag(list(TOPICS), timeout=300)
        assert sum(j["total_lag"] for j in lag.values()) == 0
        assert all(info["last_checkpoint_id"] is not None for info in ops.jobs().values())

        # the graph: exactly the model's, nothing lost, nothing counted twice
        want = merge([expected_graph(t, evs) for t, evs in streams.items()])
        store = open_store(store_url)
        try:
            dump = store.dump()
        finally:
            store.close()
        check_nodes_and_edges(dump, want)
        # buckets: one row per (edge, hour, source topic/partition); the counts of the
        # topics that write the same edge (USED_DEVICE) add up
        partition_of = {
            t: kafka_partitions(kafka_bootstrap, ops.specs[t].source_topic, t) for t in TOPICS
        }
        source_topic = {t: ops.specs[t].source_topic for t in TOPICS}
        got_rows = Counter(
            {
                (
                    b.src_type,
                    b.src_id,
                    b.edge_type,
                    b.dst_type,
                    b.dst_id,
                    b.bucket_start,
                    b.partition,
                ): b.count
                for b in dump.buckets
            }
        )
        assert got_rows == expected_bucket_rows(streams, partition_of, source_topic)
        counts: Counter[tuple[Any, ...]] = bucket_totals(dump.buckets)
        assert counts == want.buckets

        # `rdg query` answers as the model says
        calls = query_samples(want, counts)
        answers = run_queries(ops, calls)
        for call, got in zip(calls, answers, strict=True):
            check_answer(call, got, want, counts)

        # replaying a range the jobs already processed changes nothing
        r = ops.rdg(
            "replay",
            "playback",
            "--from",
            "2026-01-01T00:30:00Z",
            "--to",
            "2026-01-01T01:10:00Z",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert "records in the range" in " ".join(r.stdout.split())
        store = open_store(store_url)
        try:
            assert store.dump() == dump
        finally:
            store.close()
        assert run_queries(ops, calls) == answers

        # stop everything gracefully: final checkpoints, offsets committed
        r = ops.rdg("stop", "--all")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.count("stopped") >= len(TOPICS)
        assert {j["state"] for j in ops.jobs().values()} == {"stopped"}
        for t in TOPICS:
            st = ops.status(t)
            assert all(w.last_exit_code == 0 for w in st.workers.values()), st
        assert ops.lag_is_zero(list(TOPICS))
