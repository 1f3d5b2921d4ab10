"""The graph jobs into the real Cassandra node: exactly the expected graph, and the same rows
as the SQLite store; replays leave it unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphstore import open_store
from jobs.generate import write_jsonl_files
from tests.transforms.expected import compare, expected_graph
from tests.transforms.test_graph_job import PARTITIONS, _events, run_job


@pytest.mark.parametrize("topic", ["playback", "search"])
def test_cassandra_holds_exactly_the_expected_graph(
    topic: str, tmp_path: Path, cassandra_contact: Any, fresh_keyspace_name: str
) -> None:
    events = _events(topic, 2500, seed=21)
    write_jsonl_files(tmp_path / "in", topic, events, partitions=PARTITIONS)
    files = tmp_path / "in" / topic
    host = cassandra_contact.hosts[0]
    url = f"cassandra://{host}:{cassandra_contact.port}/{fresh_keyspace_name}"
    summary, _, _ = run_job(topic, files, url)
    assert summary.events_read == len(events)

    cass = open_store(url)
    dump = cass.dump()
    compare(dump, expected_graph(topic, events))

    sqlite_url = f"sqlite:///{tmp_path / 'g.db'}"
    run_job(topic, files, sqlite_url)
    lite = open_store(sqlite_url)
    assert lite.dump() == dump  # the two stores hold the same rows
    lite.close()

    # replay from scratch into the same keyspace, with other batch sizes: unchanged
    run_job(topic, files, url, batch=53)
    assert cass.dump() == dump
    cass.close()
