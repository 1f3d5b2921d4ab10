"""`rdg query ...` and `rdg stats`: JSON shapes and values on a small known graph, the
human tables, and every bad input (message + exit code, never a traceback)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from typer.testing import Result

from graphstore import BucketWrite, EdgeWrite, NodeWrite, PropVersion, open_store
from tests.jobs import cli_helpers
from tests.jobs.cli_helpers import isolate, rdg

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
H = 3_600_000
M = 60_000


def ok_json(*args: str) -> Any:
    result = rdg(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_of(result: Result, code: int) -> str:
    assert result.stdout == ""
    return cli_helpers.error_of(result, code)


def _edge(src: str, etype: str, dst: str, first: int, last: int) -> EdgeWrite:
    (st, si), (dt, di) = src.split(":", 1), dst.split(":", 1)
    return EdgeWrite(st, si, etype, dt, di, first, last)


def _bucket(src: str, etype: str, dst: str, start: int, part: str, count: int) -> BucketWrite:
    (st, si), (dt, di) = src.split(":", 1), dst.split(":", 1)
    return BucketWrite(st, si, etype, dt, di, start, part, count)


def _node(ref: str, first: int, last: int, **props: str) -> NodeWrite:
    t, i = ref.split(":", 1)
    return NodeWrite(
        t, i, first, last, {k: PropVersion(v, last, f"e-{ref}") for k, v in props.items()}
    )


#: The edges of the test graph: (src, type, dst, first_seen, last_seen).
EDGES = [
    ("account:a1", "HAS_PROFILE", "profile:p1", T0, T0 + 5 * H),
    ("account:a1", "HAS_PROFILE", "profile:p2", T0 + M, T0 + 4 * H),
    ("profile:p1", "WATCHED", "title:t1", T0 + 2 * H, T0 + 3 * H + 5 * M),
    ("profile:p1", "WATCHED", "title:t2", T0 + H, T0 + 2 * H),
    ("profile:p1", "USED_DEVICE", "device:d1", T0, T0 + H),
    ("profile:p2", "WATCHED", "title:t2", T0 + 30 * M, T0 + 30 * M),
    ("profile:p2", "SEARCHED", "query:space dogs", T0 + 10 * M, T0 + 20 * M),
    ("query:space dogs", "LED_TO", "title:t3", T0 + 20 * M, T0 + 20 * M),
]


@pytest.fixture(scope="module")
def graph_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "g.db"
    nodes = [
        _node("account:a1", T0, T0 + 5 * H, country="US"),
        _node("profile:p1", T0, T0 + 5 * H, country="US"),
        _node("profile:p2", T0 + M, T0 + 4 * H, country="GB"),
        _node("title:t1", T0 + 2 * H, T0 + 3 * H + 5 * M),
        _node("title:t2", T0 + H, T0 + 2 * H),
        _node("title:t3", T0 + 20 * M, T0 + 20 * M),
        _node("device:d1", T0, T0 + H, device_type="tv"),
        _node("query:space dogs", T0 + 10 * M, T0 + 20 * M),
        _node("game:lonely", T0, T0),  # a node without edges
    ]
    edges = [_edge(*e) for e in EDGES]
    buckets = [
        _bucket("profile:p1", "WATCHED", "title:t1", T0 + 2 * H, "0", 2),
        _bucket("profile:p1", "WATCHED", "title:t1", T0 + 2 * H, "1", 1),
        _bucket("profile:p1", "WATCHED", "title:t1", T0 + 3 * H, "0", 4),
    ] + [_bucket(s, t, d, last - last % H, "0", 1) for s, t, d, _, last in EDGES[1:]]
    with open_store(f"sqlite:///{path}") as store:
        store.write(nodes, edges, buckets)
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


@pytest.fixture
def store(graph_db: Path) -> str:
    return f"sqlite:///{graph_db}"


def ref(text: str) -> dict[str, str]:
    t, i = text.split(":", 1)
    return {"type": t, "id": i}


# --------------------------------------------------------------------------- node


def test_node_json(store: str) -> None:
    doc = ok_json("query", "node", "profile:p1", "--store", store)
    assert doc == {
        "type": "profile",
        "id": "p1",
        "props": {"country": "US"},
        "first_seen": T0,
        "last_seen": T0 + 5 * H,
    }


def test_node_table_shows_iso_times_and_props(store: str) -> None:
    result = rdg("query", "node", "device:d1", "--store", store)
    assert result.exit_code == 0
    assert "2026-01-01T00:00:00.000Z" in result.stdout
    assert "2026-01-01T01:00:00.000Z" in result.stdout
    assert "device_type" in result.stdout and "tv" in result.stdout


def test_node_id_may_contain_spaces_and_colons(store: str) -> None:
    assert ok_json("query", "node", "query:space dogs", "--store", store)["id"] == "space dogs"


def test_missing_node_is_exit_1(store: str) -> None:
    msg = error_of(rdg("query", "node", "profile:nobody", "--store", store), 1)
    assert msg.startswith("error: node profile:nobody not found")


# --------------------------------------------------------------------------- neighbors


def test_neighbors_json_shape_newest_first(store: str) -> None:
    edges = ok_json("query", "neighbors", "profile:p1", "--store", store)
    assert [e["dst"] for e in edges] == [ref("title:t1"), ref("title:t2"), ref("device:d1")]
    assert edges[0] == {
        "src": ref("profile:p1"),
        "type": "WATCHED",
        "dst": ref("title:t1"),
        "props": {},
        "first_seen": T0 + 2 * H,
        "last_seen": T0 + 3 * H + 5 * M,
        "count": 7,
    }
    assert [e["last_seen"] for e in edges] == sorted((e["last_seen"] for e in edges), reverse=True)


def test_neighbors_directions(store: str) -> None:
    incoming = ok_json("query", "neighbors", "profile:p1", "--direction", "in", "--store", store)
    assert [(e["src"], e["type"]) for e in incoming] == [(ref("account:a1"), "HAS_PROFILE")]
    both = ok_json("query", "neighbors", "profile:p1", "-d", "both", "--store", store)
    assert [e["type"] for e in both] == ["HAS_PROFILE", "WATCHED", "WATCHED", "USED_DEVICE"]
    assert ok_json("query", "neighbors", "title:t2", "-d", "out", "--store", store) == []
    into_t2 = ok_json("query", "neighbors", "title:t2", "-d", "in", "--store", store)
    assert [e["src"] for e in into_t2] == [ref("profile:p1"), ref("profile:p2")]


def test_neighbors_edge_type_filter(store: str) -> None:
    edges = ok_json(
        "query", "neighbors", "profile:p1", "--edge-type", "USED_DEVICE", "--store", store
    )
    assert [(e["type"], e["dst"]) for e in edges] == [("USED_DEVICE", ref("device:d1"))]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (["--since", "2026-01-01T02:00:00Z"], ["title:t1", "title:t2"]),
        (["--until", "2026-01-01T02:00:00Z"], ["title:t2", "device:d1"]),
        (["--since", str(T0 + H), "--until", str(T0 + H)], ["device:d1"]),
        (["--since", "2026-01-01T01:30:00", "--until", "2026-01-01T02:30:00+00:00"], ["title:t2"]),
        (["--since", "2026-02-01T00:00:00Z"], []),
    ],
)
def test_neighbors_time_window(store: str, window: list[str], expected: list[str]) -> None:
    edges = ok_json("query", "neighbors", "profile:p1", *window, "--store", store)
    assert [e["dst"] for e in edges] == [ref(r) for r in expected]


def test_neighbors_limit(store: str) -> None:
    edges = ok_json("query", "neighbors", "profile:p1", "--limit", "2", "--store", store)
    assert [e["dst"] for e in edges] == [ref("title:t1"), ref("title:t2")]
    result = rdg("query", "neighbors", "profile:p1", "-n", "2", "--store", store)
    assert "raise --limit" in result.stdout


def test_neighbors_table(store: str) -> None:
    result = rdg("query", "neighbors", "profile:p1", "-d", "both", "--store", store)
    assert result.exit_code == 0
    out = result.stdout
    assert "newest first" in out
    assert "<-HAS_PROFILE-" in out and "-WATCHED->" in out
    assert "2026-01-01T03:05:00Z" in out  # ISO time, not epoch ms
    assert str(T0) not in out
    assert out.index("title:t1") < out.index("title:t2") < out.index("device:d1")


def test_neighbors_of_a_node_without_edges(store: str) -> None:
    assert ok_json("query", "neighbors", "game:lonely", "--store", store) == []
    result = rdg("query", "neighbors", "game:lonely", "--store", store)
    assert result.exit_code == 0
    assert "no edges at game:lonely" in result.stdout


def test_neighbors_of_a_missing_node_is_exit_1(store: str) -> None:
    msg = error_of(rdg("query", "neighbors", "profile:ghost", "--store", store), 1)
    assert "node profile:ghost not found" in msg


# --------------------------------------------------------------------------- edge


def test_edge_with_buckets(store: str) -> None:
    doc = ok_json("query", "edge", "profile:p1", "WATCHED", "title:t1", "--store", store)
    assert doc == {
        "src": ref("profile:p1"),
        "type": "WATCHED",
        "dst": ref("title:t1"),
        "props": {},
        "first_seen": T0 + 2 * H,
        "last_seen": T0 + 3 * H + 5 * M,
        "count": 7,
        "buckets": [
            {"bucket_start": T0 + 2 * H, "count": 3},  # two partitions summed
            {"bucket_start": T0 + 3 * H, "count": 4},
        ],
    }


def test_edge_table(store: str) -> None:
    result = rdg("query", "edge", "profile:p1", "WATCHED", "title:t1", "--store", store)
    assert result.exit_code == 0
    assert "hourly buckets" in result.stdout
    assert "2026-01-01T02:00:00Z" in result.stdout and "2026-01-01T03:00:00Z" in result.stdout


def test_missing_edge_is_exit_1(store: str) -> None:
    msg = error_of(rdg("query", "edge", "profile:p1", "WATCHED", "title:t3", "--store", store), 1)
    assert "edge profile:p1 -WATCHED-> title:t3 not found" in msg
    msg = error_of(rdg("query", "edge", "profile:zz", "WATCHED", "title:t1", "--store", store), 1)
    assert "no node profile:zz" in msg


def test_edge_direction_matters(store: str) -> None:
    error_of(rdg("query", "edge", "title:t1", "WATCHED", "profile:p1", "--store", store), 1)


# --------------------------------------------------------------------------- khop


def test_khop(store: str) -> None:
    doc = ok_json("query", "khop", "profile:p1", "--hops", "1", "--store", store)
    assert doc["start"] == ref("profile:p1") and doc["hops"] == 1
    hops = {(n["type"], n["id"]): n["hop"] for n in doc["nodes"]}
    assert hops == {
        ("profile", "p1"): 0,
        ("account", "a1"): 1,
        ("title", "t1"): 1,
        ("title", "t2"): 1,
        ("device", "d1"): 1,
    }
    assert len(doc["edges"]) == 4
    assert set(doc["edges"][0]) == {
        "src",
        "type",
        "dst",
        "props",
        "first_seen",
        "last_seen",
        "count",
    }

    two = ok_json("query", "khop", "profile:p1", "-k", "2", "--store", store)
    hops2 = {(n["type"], n["id"]): n["hop"] for n in two["nodes"]}
    assert hops2[("profile", "p2")] == 2
    assert ("query", "space dogs") not in hops2
    three = ok_json("query", "khop", "profile:p1", "--hops", "3", "--store", store)
    assert {(n["type"], n["id"]): n["hop"] for n in three["nodes"]}[("query", "space dogs")] == 3


def test_khop_limit_per_hop_keeps_the_newest_edges(store: str) -> None:
    doc = ok_json(
        "query", "khop", "profile:p1", "--hops", "1", "--limit-per-hop", "2", "--store", store
    )
    assert {(n["type"], n["id"]) for n in doc["nodes"]} == {
        ("profile", "p1"),
        ("account", "a1"),  # HAS_PROFILE, last seen 05:00
        ("title", "t1"),  # WATCHED, last seen 03:05
    }


def test_khop_edge_type_and_direction(store: str) -> None:
    doc = ok_json(
        "query", "khop", "profile:p1", "--hops", "2", "-e", "WATCHED", "-d", "out", "--store", store
    )
    assert {n["id"] for n in doc["nodes"]} == {"p1", "t1", "t2"}


def test_khop_table(store: str) -> None:
    result = rdg("query", "khop", "profile:p1", "--hops", "2", "--store", store)
    assert result.exit_code == 0
    assert "within 2 hop(s) of profile:p1" in " ".join(result.stdout.split())
    assert "profile:p2" in result.stdout


def test_khop_missing_node_is_exit_1(store: str) -> None:
    assert "node title:none not found" in error_of(
        rdg("query", "khop", "title:none", "--hops", "2", "--store", store), 1
    )


# --------------------------------------------------------------------------- path


def test_path_json(store: str) -> None:
    doc = ok_json("query", "path", "profile:p1", "profile:p2", "--store", store)
    assert doc["from"] == ref("profile:p1") and doc["to"] == ref("profile:p2")
    assert doc["hops"] == 2
    assert doc["nodes"] == [ref("profile:p1"), ref("account:a1"), ref("profile:p2")]
    assert [(e["src"], e["type"], e["dst"]) for e in doc["edges"]] == [
        (ref("account:a1"), "HAS_PROFILE", ref("profile:p1")),
        (ref("account:a1"), "HAS_PROFILE", ref("profile:p2")),
    ]


def test_path_longer_and_table(store: str) -> None:
    doc = ok_json("query", "path", "device:d1", "title:t3", "--max-hops", "5", "--store", store)
    assert doc["hops"] == 5
    assert doc["nodes"][0] == ref("device:d1") and doc["nodes"][-1] == ref("title:t3")
    assert len(doc["edges"]) == 5
    result = rdg("query", "path", "profile:p2", "title:t3", "--store", store)
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert "profile:p2 -SEARCHED-> query:space dogs -LED_TO-> title:t3" in flat


def test_path_to_itself(store: str) -> None:
    doc = ok_json("query", "path", "profile:p1", "profile:p1", "--store", store)
    assert doc["hops"] == 0 and doc["nodes"] == [ref("profile:p1")] and doc["edges"] == []


def test_no_path_within_max_hops_is_exit_1(store: str) -> None:
    args = ("query", "path", "device:d1", "title:t3", "--store", store)
    msg = error_of(rdg(*args, "--max-hops", "4"), 1)
    assert "no path from device:d1 to title:t3 within 4 hop(s)" in msg
    assert "--max-hops" in msg
    msg = error_of(rdg("query", "path", "profile:p1", "game:lonely", "--store", store), 1)
    assert "no path from profile:p1 to game:lonely" in msg


def test_path_direction_out(store: str) -> None:
    # following edges forward only, p1 cannot reach p2
    error_of(rdg("query", "path", "profile:p1", "profile:p2", "-d", "out", "--store", store), 1)
    doc = ok_json("query", "path", "account:a1", "title:t2", "-d", "out", "--store", store)
    assert doc["hops"] == 2


def test_path_missing_endpoint_is_exit_1(store: str) -> None:
    msg = error_of(rdg("query", "path", "profile:p1", "title:nope", "--store", store), 1)
    assert "node title:nope not found" in msg


# --------------------------------------------------------------------------- export


def test_export_graphml(store: str, tmp_path: Path) -> None:
    out = tmp_path / "sub.graphml"
    result = rdg(
        "query", "export", "profile:p1", "--hops", "1", "--out", str(out), "--store", store
    )
    assert result.exit_code == 0, result.output
    assert "wrote 5 nodes and 4 edges" in " ".join(result.stdout.split())
    g = nx.read_graphml(out, force_multigraph=True)
    assert set(g.nodes) == {"profile:p1", "account:a1", "title:t1", "title:t2", "device:d1"}
    assert g.nodes["profile:p1"]["prop.country"] == "US"
    assert g.nodes["device:d1"]["hop"] == 1
    assert g.number_of_edges() == 4
    watched = g.get_edge_data("profile:p1", "title:t1")
    assert [d["count"] for d in watched.values()] == [7]


def test_export_json_with_format_flag(store: str, tmp_path: Path) -> None:
    out = tmp_path / "sub.out"
    doc = ok_json(
        "query", "export", "profile:p1", "--hops", "2", "--format", "json", "--out", str(out),
        "--store", store,
    )  # fmt: skip
    assert doc == {
        "path": str(out),
        "format": "json",
        "root": ref("profile:p1"),
        "hops": 2,
        "nodes": 6,
        "edges": 6,
    }
    data = json.loads(out.read_text())
    g = nx.node_link_graph(data, edges="edges", name="ref")
    assert g.number_of_nodes() == 6 and g.number_of_edges() == 6
    assert g.nodes["profile:p2"]["hop"] == 2
    assert g.nodes["profile:p2"]["props"] == {"country": "GB"}


def test_export_missing_node_writes_nothing(store: str, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    error_of(
        rdg("query", "export", "profile:no", "--hops", "1", "-o", str(out), "--store", store), 1
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("sub.txt", [], "cannot tell the format of 'sub.txt' from its extension; pass --format"),
        ("sub.json", ["--format", "csv"], "--format 'csv' is not one of graphml, json"),
        ("no/such/dir/sub.json", [], "directory 'no/such/dir' does not exist"),
        (".", ["--format", "json"], "is a directory"),
    ],
)
def test_export_bad_output(store: str, out: str, extra: list[str], message: str) -> None:
    args = ("query", "export", "profile:p1", "--hops", "1", "--out", out, *extra)
    assert message in error_of(rdg(*args, "--store", store), 2)


def test_export_needs_out(store: str) -> None:
    result = rdg("query", "export", "profile:p1", "--store", store)
    assert result.exit_code == 2
    assert "--out" in result.output


# --------------------------------------------------------------------------- stats


def test_stats_json(store: str) -> None:
    assert ok_json("stats", "--store", store) == {
        "nodes": {
            "account": 1,
            "device": 1,
            "game": 1,
            "profile": 2,
            "query": 1,
            "title": 3,
        },
        "edges": {"HAS_PROFILE": 2, "LED_TO": 1, "SEARCHED": 1, "USED_DEVICE": 1, "WATCHED": 3},
    }


def test_stats_table(store: str) -> None:
    result = rdg("stats", "--store", store)
    assert result.exit_code == 0
    for word in ("node type", "edge type", "HAS_PROFILE", "title", "total", "9", "8"):
        assert word in result.stdout


def test_stats_of_an_empty_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    assert ok_json("stats", "--store", url) == {"nodes": {}, "edges": {}}
    assert "is empty" in rdg("stats", "--store", url).stdout


# --------------------------------------------------------------------------- where the store is


def test_store_from_global_option_and_env(store: str, graph_db: Path) -> None:
    result = rdg("--store", store, "query", "node", "title:t1", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["id"] == "t1"
    result = rdg("stats", "--json", env={"RDG_STORE": store})
    assert result.exit_code == 0 and json.loads(result.stdout)["nodes"]["title"] == 3
    # the command's --store wins over the global one
    result = rdg("--store", "sqlite:///./elsewhere.db", "stats", "--store", store, "--json")
    assert result.exit_code == 0


def test_store_from_rdg_toml(store: str, tmp_path: Path) -> None:
    (tmp_path / "rdg.toml").write_text(f'[rdg]\nstore = "{store}"\n')
    assert ok_json("stats")["nodes"]["profile"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["query", "node", "profile:p1"],
        ["query", "neighbors", "profile:p1"],
        ["query", "edge", "profile:p1", "WATCHED", "title:t1"],
        ["query", "khop", "profile:p1", "--hops", "1"],
        ["query", "path", "profile:p1", "profile:p2"],
        ["query", "export", "profile:p1", "--hops", "1", "--out", "x.json"],
    ],
)
def test_missing_sqlite_store_is_not_created(args: list[str], tmp_path: Path) -> None:
    msg = error_of(rdg(*args), 2)
    assert f"no graph store at {tmp_path / 'rdg.db'}" in msg
    assert "rdg demo" in msg and "rdg run" in msg
    assert not (tmp_path / "rdg.db").exists()
    assert not (tmp_path / "x.json").exists()


def test_other_unusable_stores(tmp_path: Path) -> None:
    msg = error_of(rdg("stats", "--store", "sqlite:///:memory:"), 2)
    assert "in-memory" in msg
    (tmp_path / "notes.db").write_text("not a database\n")
    msg = error_of(rdg("stats", "--store", "sqlite:///notes.db"), 2)
    assert "notes.db is not a SQLite database" in msg
    (tmp_path / "empty.db").write_bytes(b"")
    msg = error_of(rdg("stats", "--store", "sqlite:///empty.db"), 2)
    assert "empty.db is a SQLite database without graph tables" in msg
    assert (tmp_path / "empty.db").read_bytes() == b""  # not turned into a store
    with closing(sqlite3.connect(tmp_path / "app.db")) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    before = (tmp_path / "app.db").read_bytes()
    msg = error_of(rdg("query", "node", "profile:p1", "--store", "sqlite:///app.db"), 2)
    assert "app.db is a SQLite database without graph tables" in msg
    assert (tmp_path / "app.db").read_bytes() == before
    msg = error_of(rdg("stats", "--store", "mysql://db/graph"), 2)
    assert "unsupported scheme 'mysql'" in msg
    msg = error_of(rdg("stats", "--store", "sqlite:///missing/dir/g.db"), 2)
    assert "no graph store at" in msg


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["query", "node", "profile:p1"],
        ["query", "neighbors", "profile:p1", "--json"],
    ],
)
def test_unreachable_cassandra_is_exit_3(args: list[str]) -> None:
    msg = error_of(rdg(*args, "--store", "cassandra://127.0.0.1:1/rdg"), 3)
    assert "cannot connect to Cassandra at 127.0.0.1:1" in msg


# --------------------------------------------------------------------------- bad input

NODE_TYPES_HINT = "node types: account, profile, title, device, query, game, live_event"

BAD_INPUT = [
    # (args, message fragments); all exit 2 before the store is opened
    (["query", "node", "profile"], ["node 'profile' is not of the form TYPE:ID", NODE_TYPES_HINT]),
    (["query", "node", ":p1"], ["node ':p1' is not of the form TYPE:ID"]),
    (["query", "node", "profile:"], ["node 'profile:' is not of the form TYPE:ID"]),
    (["query", "node", "Profile:p1"], ["unknown node type 'Profile'", "did you mean 'profile'?"]),
    (["query", "node", "user:1"], ["unknown node type 'user' in node 'user:1'", NODE_TYPES_HINT]),
    (["query", "neighbors", "p1"], ["node 'p1' is not of the form TYPE:ID"]),
    (["query", "neighbors", "profile:p1", "--direction", "up"], ["--direction 'up' is not one of out, in, both"]),
    (["query", "neighbors", "profile:p1", "-e", "watched"], ["unknown edge type 'watched'", "did you mean 'WATCHED'?", "edge types: HAS_PROFILE"]),
    (["query", "neighbors", "profile:p1", "-e", "FOLLOWS"], ["unknown edge type 'FOLLOWS'"]),
    (["query", "neighbors", "profile:p1", "--since", "yesterday"], ["--since 'yesterday' is neither ISO-8601", "epoch ms"]),
    (["query", "neighbors", "profile:p1", "--until", "2026-13-01"], ["--until '2026-13-01' is neither ISO-8601"]),
    (["query", "neighbors", "profile:p1", "--since", "2026-01-02", "--until", "2026-01-01"], ["--since 2026-01-02 is after --until 2026-01-01"]),
    (["query", "neighbors", "profile:p1", "--limit", "0"], ["--limit 0 must be a positive whole number"]),
    (["query", "neighbors", "profile:p1", "--limit", "-5"], ["--limit -5 must be a positive whole number"]),
    (["query", "edge", "profile:p1", "watched", "title:t1"], ["unknown edge type 'watched'"]),
    (["query", "edge", "profile-p1", "WATCHED", "title:t1"], ["source node 'profile-p1' is not of the form TYPE:ID"]),
    (["query", "edge", "profile:p1", "WATCHED", "movie:t1"], ["unknown node type 'movie' in destination node 'movie:t1'"]),
    (["query", "khop", "profile:p1", "--hops", "0"], ["--hops 0 must be a positive whole number"]),
    (["query", "khop", "profile:p1", "--hops", "-2"], ["--hops -2 must be a positive whole number"]),
    (["query", "khop", "profile:p1", "--limit-per-hop", "0"], ["--limit-per-hop 0 must be a positive"]),
    (["query", "khop", "profile:p1", "-d", "sideways"], ["--direction 'sideways' is not one of"]),
    (["query", "khop", "nope"], ["node 'nope' is not of the form TYPE:ID"]),
    (["query", "path", "profile:p1", "title"], ["end node 'title' is not of the form TYPE:ID"]),
    (["query", "path", "x:1", "title:t1"], ["unknown node type 'x' in start node 'x:1'"]),
    (["query", "path", "profile:p1", "title:t1", "--max-hops", "0"], ["--max-hops 0 must be a positive"]),
    (["query", "path", "profile:p1", "title:t1", "-e", "LIKES"], ["unknown edge type 'LIKES'"]),
    (["query", "export", "profile:p1", "--hops", "0", "--out", "x.json"], ["--hops 0 must be a positive"]),
    (["query", "export", "profile", "--out", "x.json"], ["node 'profile' is not of the form TYPE:ID"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT, ids=lambda v: " ".join(v)[:60])
def test_bad_input_is_exit_2(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    # no store exists here: bad input is reported before the store would be opened
    msg = error_of(rdg(*args), 2)
    assert msg.startswith("error: ")
    for fragment in fragments:
        assert fragment in msg
    assert not (tmp_path / "rdg.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["query", "neighbors", "profile:p1", "--limit", "many"],
        ["query", "khop", "profile:p1", "--hops", "two"],
        ["query", "edge", "profile:p1", "WATCHED"],
        ["query", "node"],
        ["query", "frobnicate"],
    ],
)
def test_malformed_command_lines_are_exit_2(args: list[str]) -> None:
    result = rdg(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Usage:" in result.output


# --------------------------------------------------------------------------- help

HELP = {
    (): ["query", "stats", "generate", "--store"],
    ("query",): ["node", "neighbors", "edge", "khop", "path", "export"],
    ("query", "node"): ["TYPE:ID", "--store", "--json"],
    ("query", "neighbors"): ["--direction", "--edge-type", "--since", "--until", "--limit", "--json"],
    ("query", "edge"): ["SRC_TYPE:SRC_ID", "EDGE_TYPE", "DST_TYPE:DST_ID", "--json"],
    ("query", "khop"): ["--hops", "--limit-per-hop", "--direction", "--json"],
    ("query", "path"): ["--max-hops", "--limit-per-hop", "--json"],
    ("query", "export"): ["--hops", "--format", "--out", "--limit-per-hop", "graphml"],
    ("stats",): ["--store", "--json"],
    ("generate",): ["TOPIC", "--all", "--events", "--seed", "--out", "--bootstrap", "--partitions",
                    "--rate", "--duplicates", "--out-of-order", "--late", "--invalid", "--format",
                    "--serialization", "--kafka-topic"],
}  # fmt: skip


@pytest.mark.parametrize(("command", "words"), HELP.items(), ids=lambda v: " ".join(v)[:40])
def test_help(command: tuple[str, ...], words: list[str]) -> None:
    result = rdg(*command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.stdout, word
