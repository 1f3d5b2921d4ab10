"""Model helpers, JSON shapes, store URLs and the Cassandra encodings (no server needed)."""

from __future__ import annotations

import pytest

from graphstore import open_store
from graphstore.cassandra.config import parse_cassandra_url
from graphstore.cassandra.encoding import (
    FIRST_SEEN_BASE,
    decode_prop,
    encode_prop,
    first_seen_timestamp,
)
from graphstore.export import khop_to_json, node_to_json
from graphstore.factory import sqlite_path_from_url
from graphstore.merge import prop_wins
from graphstore.model import (
    HOUR_MS,
    Edge,
    InvalidQueryError,
    KHopResult,
    Node,
    PropVersion,
    format_ref,
    hour_bucket,
    parse_ref,
)
from graphstore.sqlite import SQLiteGraphStore
from ingest.errors import ConfigError, RDGError


def test_refs_print_and_parse() -> None:
    assert format_ref(("Profile", "42")) == "Profile:42"
    assert parse_ref("Title:tt:01") == ("Title", "tt:01")  # ids may contain ':'
    with pytest.raises(InvalidQueryError, match="'Profile' is not of the form 'TYPE:ID'"):
        parse_ref("Profile")


def test_hour_bucket_aligns_to_utc_hour() -> None:
    assert hour_bucket(0) == 0
    assert hour_bucket(HOUR_MS - 1) == 0
    assert hour_bucket(1_700_000_123_456) == 1_699_999_200_000


def test_prop_wins_orders_by_ts_then_event_id_then_value() -> None:
    assert prop_wins(PropVersion("a", 2, "a"), PropVersion("b", 1, "z"))
    assert prop_wins(PropVersion("a", 1, "e2"), PropVersion("b", 1, "e10"))
    assert not prop_wins(PropVersion("a", 1, "e1"), PropVersion("a", 1, "e1"))
    assert prop_wins(PropVersion("b", 1, "e1"), PropVersion("a", 1, "e1"))


def test_json_shapes() -> None:
    node = Node("Profile", "1", {"country": "US"}, 1, 2)
    assert node_to_json(node) == {
        "type": "Profile",
        "id": "1",
        "props": {"country": "US"},
        "first_seen": 1,
        "last_seen": 2,
    }
    edge = Edge(("Profile", "1"), "PLAYED", ("Title", "9"), {}, 1, 2, 3)
    doc = khop_to_json(
        KHopResult(("Profile", "1"), 1, {("Profile", "1"): 0, ("Title", "9"): 1}, [edge])
    )
    assert doc["nodes"] == [
        {"type": "Profile", "id": "1", "hop": 0},
        {"type": "Title", "id": "9", "hop": 1},
    ]
    assert doc["edges"][0]["src"] == {"type": "Profile", "id": "1"}


@pytest.mark.parametrize(
    "event_ids",
    [["e1", "e2", "e10", "e", "e0"], ["z", "é", "日本", "a\x00", "a\x01", "", "\U0001f600"]],
)
def test_prop_encoding_orders_like_python_strings(event_ids: list[str]) -> None:
    """Equal-timestamp Cassandra cells are won by the greater value bytes; the payload must
    order exactly like (event_id, value) in Python, compared signed or unsigned."""
    payloads = {e: encode_prop(PropVersion("v\u00e9", 5, e)).encode() for e in event_ids}
    by_python = sorted(event_ids)
    by_unsigned = sorted(event_ids, key=lambda e: payloads[e])
    by_signed = sorted(event_ids, key=lambda e: [b - 256 if b > 127 else b for b in payloads[e]])
    assert by_unsigned == by_python
    assert by_signed == by_python
    for e in event_ids:
        assert decode_prop(payloads[e].decode()) == PropVersion("v\u00e9", 5, e)


def test_first_seen_timestamp_prefers_smaller_values() -> None:
    assert first_seen_timestamp(10) > first_seen_timestamp(11)
    assert first_seen_timestamp(2**53 - 1) > 0
    assert FIRST_SEEN_BASE - first_seen_timestamp(7) == 7


def test_sqlite_urls(tmp_path, monkeypatch) -> None:
    assert sqlite_path_from_url("sqlite:///rdg.db") == "rdg.db"
    assert sqlite_path_from_url("sqlite:////var/lib/rdg.db") == "/var/lib/rdg.db"
    assert sqlite_path_from_url("sqlite:///:memory:") == ":memory:"
    assert sqlite_path_from_url("sqlite://") == ":memory:"
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///graph.db") as store:
        assert isinstance(store, SQLiteGraphStore)
    assert (tmp_path / "graph.db").exists()
    with pytest.raises(ConfigError, match="unknown option"):
        open_store("sqlite:///graph.db", node_ttl={"Profile": 1})
    with pytest.raises(ConfigError, match="does not exist"):
        open_store("sqlite:///no/such/dir/graph.db")


def test_bad_urls_name_the_url_and_the_accepted_forms() -> None:
    with pytest.raises(ConfigError, match=r"'postgres://x/y'.*sqlite:///.*cassandra://"):
        open_store("postgres://x/y")
    with pytest.raises(ConfigError, match="is not a URL"):
        open_store("rdg.db")
    with pytest.raises(ConfigError, match="must name exactly one keyspace"):
        parse_cassandra_url("cassandra://localhost")
    with pytest.raises(ConfigError, match=r"unknown option .rf.*replication_factor"):
        parse_cassandra_url("cassandra://localhost/rdg?rf=3")
    with pytest.raises(ConfigError, match="keyspace 'bad-name' is not a valid name"):
        parse_cassandra_url("cassandra://localhost/bad-name")
    with pytest.raises(ConfigError, match="'dc1:3,dc2:2'"):
        parse_cassandra_url("cassandra://localhost/rdg?replication=dc1")
    assert issubclass(ConfigError, RDGError)


def test_credentials_never_come_from_or_leak_through_urls(monkeypatch) -> None:
    with pytest.raises(ConfigError) as info:
        parse_cassandra_url("cassandra://admin:s3cret@db1/rdg")
    assert "s3cret" not in str(info.value) and "RDG_CASSANDRA_PASSWORD" in str(info.value)
    with pytest.raises(ConfigError) as info2:
        open_store("mongodb://admin:s3cret@db1/rdg")
    assert "s3cret" not in str(info2.value)
    monkeypatch.setenv("RDG_CASSANDRA_USERNAME", "rdg")
    monkeypatch.setenv("RDG_CASSANDRA_PASSWORD", "s3cret")
    config = parse_cassandra_url("cassandra://db1/rdg")
    assert (config.username, config.password) == ("rdg", "s3cret")
    assert "s3cret" not in repr(config) and "s3cret" not in config.url
    explicit = parse_cassandra_url("cassandra://db1/rdg", username="u", password="p")
    assert (explicit.username, explicit.password) == ("u", "p")


def test_cassandra_url_options() -> None:
    config = parse_cassandra_url(
        "cassandra://h1:9142,h2:9142/graph?replication=dc1:3,dc2:2&consistency=local_one"
        "&concurrency=8",
        edge_ttl={"PLAYED": 3600, "*": 86400},
        node_ttl={"Session": 60},
    )
    assert config.hosts == ("h1", "h2") and config.port == 9142
    assert config.replication() == {"class": "NetworkTopologyStrategy", "dc1": 3, "dc2": 2}
    assert config.consistency == "LOCAL_ONE" and config.concurrency == 8
    assert config.edge_ttl_for("PLAYED") == 3600 and config.edge_ttl_for("LIKED") == 86400
    assert config.node_ttl_for("Session") == 60 and config.node_ttl_for("Profile") == 0
    simple = parse_cassandra_url("cassandra://localhost/rdg?replication_factor=3")
    assert simple.replication() == {"class": "SimpleStrategy", "replication_factor": 3}
    assert simple.hosts == ("localhost",) and simple.port == 9042
    with pytest.raises(ConfigError, match="same port"):
        parse_cassandra_url("cassandra://h1:1,h2:2/rdg")
    with pytest.raises(ConfigError, match="node_ttl must be a mapping"):
        parse_cassandra_url("cassandra://h1/rdg", node_ttl=5)


def test_fast_key_list_serializer_matches_the_driver() -> None:
    from cassandra.cqltypes import lookup_casstype

    from graphstore.cassandra.reads import pack_text_tuples

    list_type = lookup_casstype("ListType(TupleType(UTF8Type, UTF8Type, UTF8Type, UTF8Type))")
    keys = [("out", "PLAYED", "Title", "t1"), ("in", "é", "日本", ""), ("out", "a\x00b", "x", "y")]
    assert pack_text_tuples(keys, 4) == list_type.serialize(keys, 4)
    assert pack_text_tuples([], 4) == list_type.serialize([], 4)
