"""The graph jobs against the independent expected graph, on the embedded SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphstore import open_store
from ingest import CheckpointConfig, CollectSink, FileSource, StreamEnvironment
from jobs.generate import generate_events, write_avro_files, write_jsonl_files
from jobs.graph_job import JobSummary, build_graph_job
from schemas.serde import read_avro_container
from tests.transforms.expected import compare, expected_graph
from transforms.sink import GraphStoreSink

TOPICS = ["playback", "login", "search", "gaming", "live"]
BATCH = 100
PARTITIONS = 4
# The watermark moves once per poll round (up to BATCH records per partition), and is the
# minimum over partitions: before the first round completes nothing can be judged late.
# The generator injects late events only after that many events.
MIX = dict(
    duplicates=0.05, out_of_order_s=8.0, late=0.02, invalid=0.04, late_warmup=2 * BATCH * PARTITIONS
)


def _events(topic: str, n: int = 3000, seed: int = 11) -> list[Any]:
    return list(generate_events(topic, n, seed, events_per_second=2.0, **MIX))  # type: ignore[arg-type]


def run_job(
    topic: str, files: Path, store_url: str, *, batch: int = BATCH, ckpt: Path | None = None
) -> tuple[JobSummary, CollectSink, CollectSink]:
    store = open_store(store_url)
    dead, late = CollectSink(), CollectSink()
    env = StreamEnvironment(
        f"graph-{topic}",
        max_batch=batch,
        checkpoint=CheckpointConfig(ckpt, interval_ms=0) if ckpt else None,
    )
    build_graph_job(
        env,
        topic,
        FileSource(files, batch_size=batch, avro_reader=read_avro_container),
        GraphStoreSink(store),
        dead_letter_sink=dead,
        late_sink=late,
    )
    summary = JobSummary.of(topic, env.execute())
    store.close()
    return summary, dead, late


@pytest.mark.parametrize("topic", TOPICS)
def test_graph_matches_expected_from_jsonl(topic: str, tmp_path: Path) -> None:
    events = _events(topic)
    write_jsonl_files(tmp_path / "in", topic, events, partitions=PARTITIONS)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    summary, dead, late = run_job(topic, tmp_path / "in" / topic, url)
    g = expected_graph(topic, events)
    store = open_store(url)
    compare(store.dump(), g)
    store.close()
    # every input is accounted for: graph, duplicate, dead letter (late events also update
    # the graph, and are additionally reported)
    assert summary.events_read == len(events)
    assert summary.dead_lettered == g.dead == len(dead.values)
    assert summary.duplicates_dropped == g.duplicates
    assert summary.late == g.late == len(late.values)
    assert summary.failed_logins == g.failed_logins
    reasons = {dl.reason.split(":")[0] for dl in dead.values}
    want = {e.reason for e in events if e.reason} - {"undecodable"}
    assert want <= reasons | {"undecodable"}
    assert all(dl.value["event_id"] for dl in late.values)
    assert summary.writes_issued < summary.graph_updates  # coalescing reduced the writes


def test_avro_files_replay_and_reorder_converge(tmp_path: Path) -> None:
    topic = "playback"
    events = _events(topic, 4000, seed=5)
    write_avro_files(tmp_path / "in", topic, events, partitions=PARTITIONS)
    files = tmp_path / "in" / topic
    ok_events = [e for e in events if e.kind in ("ok", "duplicate", "late")]

    url_a = f"sqlite:///{tmp_path / 'a.db'}"
    run_job(topic, files, url_a, ckpt=tmp_path / "ck")
    a = open_store(url_a)
    first = a.dump()
    compare(first, expected_graph(topic, ok_events))

    # replay with the checkpoint: nothing new is read
    again, _, _ = run_job(topic, files, url_a, ckpt=tmp_path / "ck")
    assert again.events_read == 0
    # replay from scratch (fresh state, same store): every row converges to the same value
    run_job(topic, files, url_a, batch=37)  # smaller rounds: lateness cannot differ
    assert a.dump() == first
    a.close()

    # partitions in another order and other batch sizes into a fresh store: same rows
    url_b = f"sqlite:///{tmp_path / 'b.db'}"
    for part in sorted(files.iterdir(), reverse=True):
        run_job(topic, part, url_b, batch=91)
    b = open_store(url_b)
    assert b.dump() == first
    b.close()


def test_edges_written_by_several_topics_add_up(tmp_path: Path) -> None:
    """USED_DEVICE comes from playback and gaming; their partition files have the same
    names, and each topic's per-partition counts must add up in the store, not max-merge."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    base = {"ts": 1_767_225_600_000, "profile_id": "p1", "device_id": "d1", "device_type": "tv"}
    play = [
        {
            **base,
            "event_id": f"pb{i}",
            "account_id": "a1",
            "title_id": "t1",
            "country": "NL",
            "action": "START",
            "position_ms": 0,
        }
        for i in range(3)
    ]
    game = [{**base, "event_id": f"gm{i}", "game_id": "g1", "session_seconds": 5} for i in range(2)]
    for topic, recs in (("playback", play), ("gaming", game)):
        d = tmp_path / topic
        d.mkdir()
        (d / "part-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        run_job(topic, d, url)
    store = open_store(url)
    edge = store.get_edge(("profile", "p1"), "USED_DEVICE", ("device", "d1"))
    rows = {b.partition: b.count for b in store.dump().buckets if b.edge_type == "USED_DEVICE"}
    store.close()
    assert edge is not None and edge.count == 5
    assert rows == {"playback/part-00000.jsonl": 3, "gaming/part-00000.jsonl": 2}


@pytest.mark.parametrize("backend", ["heap", "rocksdb"])
def test_graph_with_checkpoints_mid_run_on_each_backend(tmp_path: Path, backend: str) -> None:
    """Frequent checkpoints move the state into the backend's committed base mid-run, so the
    operator's reads go through it (RocksDB included); the graph must still be exact."""
    from ingest import CheckpointConfig
    from ingest.state import HeapStateBackend, RocksDBStateBackend

    topic = "playback"
    events = _events(topic, 2500, seed=13)
    write_jsonl_files(tmp_path / "in", topic, events, partitions=PARTITIONS)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    store = open_store(url)
    env = StreamEnvironment(
        "graph-ckpt",
        max_batch=BATCH,
        state_backend=HeapStateBackend(compact_every=3)
        if backend == "heap"
        else RocksDBStateBackend(tmp_path / "rocks", compact_every=3),
        checkpoint=CheckpointConfig(tmp_path / "ck", interval_ms=1, compact_every=3),
    )
    build_graph_job(
        env,
        topic,
        FileSource(tmp_path / "in" / topic, batch_size=BATCH),
        GraphStoreSink(store),
        dead_letter_sink=CollectSink(),
        late_sink=CollectSink(),
    )
    result = env.execute()
    assert len(result.checkpoints) >= 3
    compare(store.dump(), expected_graph(topic, events))
    store.close()


def test_dedup_within_and_across_batches_and_hours() -> None:
    """Repeats of an id count once when less than an hour apart and again when further
    apart, whether they meet in one batch, across batches, or straddle an hour."""
    from ingest import MemorySource
    from tests.schemas.conftest import sample
    from transforms.sink import NullGraphSink

    hour = 3_600_000
    t0 = 1_767_225_600_000  # an hour boundary
    rows = [
        ("a", t0 + 10),
        ("b", t0 + 20),
        ("a", t0 + 30),  # repeat in the batch
        ("a", t0 + 40),  # and again
        ("c", t0 + hour - 5),
        ("b", t0 + 50),  # batch 2: b seen in the state
        ("b", t0 + 60),  # twice
        ("d", t0 + hour + 10),  # the next hour, in the same batch
        ("c", t0 + hour + 20),  # c from the previous hour, 25 ms apart: a duplicate
        ("a", t0 + 2 * hour + 100),  # more than an hour after a: counted again
        ("a", t0 + 2 * hour + 200),  # and its repeat in the batch is a duplicate
    ]
    events = [sample("playback", event_id=e, ts=t, profile_id=f"p-{e}") for e, t in rows]
    want_dups = 6  # rows 3, 4, 6, 7, 9 and 11
    for batch in (5, 3, 100):
        env = StreamEnvironment("dedup", max_batch=batch)
        build_graph_job(env, "playback", MemorySource([events], batch_size=batch), NullGraphSink())
        summary = JobSummary.of("playback", env.execute())
        assert summary.duplicates_dropped == want_dups, batch
        assert summary.events_read == len(events)


def test_mixed_batches_dead_letter_everything_but_valid_events_in_order() -> None:
    """A batch mixing decoded records with decode failures and stray objects: valid events
    go on, everything else is a dead letter with its reason, in input order."""
    from ingest import DeadLetter, InvalidRecord, MemorySource
    from tests.schemas.conftest import sample
    from transforms.sink import NullGraphSink

    t0 = 1_767_225_600_000
    values: list[Any] = [
        sample("playback", event_id="ok-1", ts=t0),
        InvalidRecord(b"\xff", "undecodable: not JSON", "0", 1),
        sample("playback", event_id="   ", ts=t0 + 1),  # empty id after trimming
        DeadLetter("truncated: cut short", b"\x02", "decode"),
        sample("playback", event_id="ok-2", ts=t0 + 2),
        42,
    ]
    for batch in (100, 2):
        dead = CollectSink()
        env = StreamEnvironment("mixed", max_batch=batch)
        build_graph_job(
            env,
            "playback",
            MemorySource([values], batch_size=batch),
            NullGraphSink(),
            dead_letter_sink=dead,
        )
        summary = JobSummary.of("playback", env.execute())
        assert summary.dead_lettered == 4
        assert [(d.reason.split(":")[0], d.step) for d in dead.values] == [
            ("undecodable", "decode"),
            ("bad_id", "validate"),
            ("truncated", "decode"),
            ("not an event object", "validate"),
        ]
        # two valid playback events: 4 node, 3 edge and 3 bucket updates each
        assert summary.graph_updates == 2 * 10
