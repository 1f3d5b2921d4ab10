"""`rdg generate` into files: determinism, layout, summary, defaults, every bad input;
and generate -> `rdg run` -> `rdg query` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.registry import TOPICS
from schemas.serde import read_avro_container
from tests.jobs.cli_helpers import error_of, isolate, rdg
from transforms.rules import NODE_TYPES


def generate_json(*args: str) -> Any:
    result = rdg("generate", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- files


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    noisy = ["--duplicates", "0.05", "--late", "0.02", "--invalid", "0.05", "--out-of-order", "5"]
    for name in ("a", "b"):
        generate_json("playback", "search", "--events", "400", "--seed", "7", "--out", name, *noisy)
    generate_json("playback", "search", "--events", "400", "--seed", "8", "--out", "c", *noisy)
    a, b, c = (files_of(tmp_path / n) for n in ("a", "b", "c"))
    assert sorted(a) == [
        f"{topic}/part-{p:05d}.avro" for topic in ("playback", "search") for p in range(4)
    ]
    assert a == b
    assert a != c


def test_summary_and_avro_files(tmp_path: Path) -> None:
    doc = generate_json(
        "login", "--events", "500", "--seed", "3", "--out", "out", "--invalid", "0.1",
        "--duplicates", "0.05", "--partitions", "3",
    )  # fmt: skip
    assert doc["destination"] == "files" and doc["format"] == "avro" and doc["seed"] == 3
    login = doc["topics"]["login"]
    assert login["events"] == 500
    assert sum(login["kinds"].values()) == 500
    assert login["kinds"]["invalid"] > 0 and login["kinds"]["duplicate"] > 0
    assert login["written"] + login["skipped"] == 500
    assert login["files"] == [str(Path("out") / "login" / f"part-{p:05d}.avro") for p in range(3)]
    records = [r for name in login["files"] for r in read_avro_container(name)]
    assert len(records) == login["written"]
    assert all("account_id" in r and "ts" in r for r in records)


def test_jsonl_keeps_every_event(tmp_path: Path) -> None:
    doc = generate_json(
        "search", "--events", "300", "--format", "jsonl", "--invalid", "0.2", "--out", "j"
    )
    search = doc["topics"]["search"]
    assert search["written"] == 300 and search["skipped"] == 0
    lines = [
        line for p in sorted((tmp_path / "j" / "search").glob("part-*.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
    ]  # fmt: skip
    assert len(lines) == 300


def test_all_topics_and_human_summary(tmp_path: Path) -> None:
    result = rdg("generate", "--all", "--events", "50", "--out", "all")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(TOPICS)
    out = " ".join(result.stdout.split())
    assert "generating 50 events per topic (seed 42)" in out
    for topic in TOPICS:
        assert topic in out
    assert "next: rdg run playback --source file:all" in out


def test_default_out_is_the_data_dir(tmp_path: Path) -> None:
    generate_json("gaming", "--events", "20")
    assert len(list((tmp_path / "data" / "gaming").glob("part-*.avro"))) == 4
    rdg_env = {"RDG_DATA_DIR": str(tmp_path / "elsewhere")}
    result = rdg("generate", "live", "--events", "20", env=rdg_env)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "elsewhere" / "live").glob("part-*.avro"))) == 4


def test_start_time(tmp_path: Path) -> None:
    generate_json(
        "gaming", "--events", "10", "--partitions", "1", "--start", "2025-06-01T12:00:00Z"
    )
    ts = [r["ts"] for r in read_avro_container(tmp_path / "data" / "gaming" / "part-00000.avro")]
    first = 1_748_779_200_000  # 2025-06-01T12:00:00Z
    assert len(ts) == 10 and all(first <= t < first + 3_600_000 for t in ts)


BAD = [
    ([], ["name at least one topic", "or pass --all"]),
    (["--all", "login"], ["give topics or --all, not both"]),
    (["clicks"], ["unknown topic 'clicks'", "topics: playback, login, search, gaming, live"]),
    (["login", "--events", "0"], ["--events 0 must be a positive whole number"]),
    (["login", "--events", "-3"], ["--events -3 must be a positive whole number"]),
    (["login", "--partitions", "0"], ["--partitions 0 must be a positive whole number"]),
    (["login", "--duplicates", "1.5"], ["--duplicates 1.5 must be a fraction between 0 and 1"]),
    (["login", "--late", "-0.1"], ["--late -0.1 must be a fraction between 0 and 1"]),
    (["login", "--invalid", "2"], ["--invalid 2 must be a fraction between 0 and 1"]),
    (["login", "--invalid", "nan"], ["--invalid nan must be a fraction"]),
    (["login", "--duplicates", "0.5", "--late", "0.3", "--invalid", "0.3"], ["--duplicates + --late + --invalid = 1.1 is more than 1"]),
    (["login", "--out-of-order", "-1"], ["--out-of-order -1 must be seconds in [0, 3600)"]),
    (["login", "--out-of-order", "7200"], ["--out-of-order 7200 must be seconds in [0, 3600)"]),
    (["login", "--event-rate", "0"], ["--event-rate 0 must be a positive number"]),
    (["login", "--start", "last week"], ["--start 'last week' is neither ISO-8601"]),
    (["login", "--format", "parquet"], ["--format 'parquet' is not one of avro, jsonl"]),
    (["login", "--rate", "100"], ["--rate applies to Kafka output (--bootstrap HOST:PORT)"]),
    (["login", "--serialization", "json"], ["--serialization applies to Kafka output"]),
    (["login", "--kafka-topic", "x"], ["--kafka-topic applies to Kafka output"]),
    (["login", "--out", "d", "--bootstrap", "127.0.0.1:9092"], ["give --out DIR (files) or --bootstrap HOST:PORT (Kafka), not both"]),
    (["login", "--bootstrap", "broker"], ["bootstrap 'broker' is not HOST:PORT"]),
    (["login", "--bootstrap", "127.0.0.1:9092", "--format", "jsonl"], ["--format applies to files; for Kafka use --serialization"]),
    (["login", "--bootstrap", "127.0.0.1:9092", "--serialization", "protobuf"], ["--serialization 'protobuf' is not one of avro, avro-confluent, json"]),
    (["login", "gaming", "--bootstrap", "127.0.0.1:9092", "--kafka-topic", "t"], ["--kafka-topic needs exactly one TOPIC"]),
    (["login", "--bootstrap", "127.0.0.1:9092", "--schema-id", "3"], ["--schema-id only applies with --serialization avro-confluent"]),
    (["login", "--bootstrap", "127.0.0.1:9092", "--rate", "0"], ["--rate 0 must be a positive number"]),
    (["login", "--bootstrap", "127.0.0.1:9092", "--timeout", "0"], ["--timeout 0 must be a positive number"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "fragments"), BAD, ids=lambda v: " ".join(v)[:60])
def test_bad_input_is_exit_2(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    msg = error_of(rdg("generate", *args), 2)
    assert msg.startswith("error: ")
    for fragment in fragments:
        assert fragment in msg
    assert not (tmp_path / "data").exists()  # nothing was written


def test_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    assert "--out 'taken' is a file, not a directory" in error_of(
        rdg("generate", "login", "--out", "taken"), 2
    )


def test_malformed_numbers_are_usage_errors() -> None:
    result = rdg("generate", "login", "--events", "lots")
    assert result.exit_code == 2 and "Usage:" in result.output


def test_unreachable_kafka_is_exit_3(tmp_path: Path) -> None:
    msg = error_of(
        rdg("generate", "login", "--events", "5", "--bootstrap", "127.0.0.1:1", "--timeout", "1"),
        3,
    )
    assert "Kafka broker at 127.0.0.1:1 is unreachable" in msg


def test_global_bootstrap_selects_kafka() -> None:
    # the global option counts as asking for Kafka (here with a bad address, so it fails early)
    msg = error_of(rdg("--bootstrap", "nohost", "generate", "login"), 2)
    assert "bootstrap 'nohost' is not HOST:PORT" in msg


# --------------------------------------------------------------------------- end to end


def profile_ids(directory: Path) -> list[str]:
    """The profile_id of every record in a topic directory's Avro files."""
    ids: list[str] = []
    for path in sorted(directory.glob("part-*.avro")):
        ids.extend(str(r["profile_id"]) for r in read_avro_container(path))
    return ids


def test_generate_run_query(tmp_path: Path) -> None:
    generate_json("--all", "--events", "400", "--seed", "5", "--out", "ev", "--duplicates", "0.05")
    store = f"sqlite:///{tmp_path / 'g.db'}"
    for topic in TOPICS:
        result = rdg("run", topic, "--source", "file:ev", "--store", store, "--json")
        assert result.exit_code == 0, result.output
    stats = json.loads(rdg("stats", "--store", store, "--json").stdout)
    assert set(stats["nodes"]) == set(NODE_TYPES)
    assert all(n > 0 for n in stats["edges"].values())
    # the busiest profile: its neighbors come back newest first and agree with `query edge`
    profiles = profile_ids(tmp_path / "ev" / "playback")
    profile = max(sorted(set(profiles)), key=profiles.count)
    edges = json.loads(
        rdg(
            "query", "neighbors", f"profile:{profile}", "-d", "both", "--store", store, "--json"
        ).stdout
    )
    assert edges
    assert [e["last_seen"] for e in edges] == sorted((e["last_seen"] for e in edges), reverse=True)
    e = edges[0]
    detail = json.loads(
        rdg(
            "query", "edge", f"{e['src']['type']}:{e['src']['id']}", e["type"],
            f"{e['dst']['type']}:{e['dst']['id']}", "--store", store, "--json",
        ).stdout
    )  # fmt: skip
    assert detail["count"] == e["count"] == sum(b["count"] for b in detail["buckets"])
