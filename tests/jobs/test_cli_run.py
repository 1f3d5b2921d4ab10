"""`rdg run` and `rdg demo` on the embedded default, as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphstore import open_store
from jobs.generate import generate_events, is_representable, write_avro_files

RDG = [sys.executable, "-m", "jobs.cli"]


def rdg(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RDG, *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})},
    )


def test_run_on_files_prints_summary_and_fills_the_store(tmp_path: Path) -> None:
    evs = list(generate_events("login", 2000, 3, duplicates=0.05, invalid=0.02))
    write_avro_files(tmp_path / "data", "login", evs, partitions=2)
    r = rdg("run", "login", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    in_files = [e for e in evs if is_representable(e, "avro-file")]
    assert summary["events_read"] == len(in_files)
    assert summary["duplicates_dropped"] == sum(e.kind == "duplicate" for e in evs)
    # invalid events a container file can hold (bad ids, bad times) are dead-lettered
    assert summary["dead_lettered"] == sum(e.kind.startswith("invalid") for e in in_files) > 0
    assert summary["failed_logins"] > 0
    assert summary["writes_issued"] < summary["graph_updates"]
    store = open_store(f"sqlite:///{tmp_path / 'rdg.db'}")
    assert store.stats()["edges"]["LOGGED_IN_FROM"] > 0
    store.close()
    # the file outputs exist (late events, dead letters) under the state dir
    assert (tmp_path / ".rdg" / "outputs" / "graph-login").is_dir()


def test_run_bad_inputs(tmp_path: Path) -> None:
    r = rdg("run", "clicks", cwd=tmp_path)
    assert r.returncode == 2 and "no job for topic 'clicks'" in r.stderr
    r = rdg("run", "login", cwd=tmp_path)
    assert r.returncode == 2 and "no event files for topic 'login'" in r.stderr
    assert "rdg generate login" in r.stderr
    r = rdg("run", "login", "--source", "ftp://x", cwd=tmp_path)
    assert r.returncode == 2 and "file:DIR or kafka://HOST:PORT" in r.stderr
    r = rdg("run", "login", "--state", "memory", cwd=tmp_path)
    assert r.returncode == 2 and "heap, rocksdb" in r.stderr
    (tmp_path / "rdg.toml").write_text('[rdg]\nstroe = "x"\n')
    r = rdg("run", "login", cwd=tmp_path)
    assert r.returncode == 2 and "unknown setting 'stroe'" in r.stderr


def test_settings_precedence_flags_over_env_over_toml(tmp_path: Path) -> None:
    from jobs.config import load_settings

    (tmp_path / "rdg.toml").write_text('[rdg]\nstore = "sqlite:///toml.db"\nbootstrap = "toml:1"\n')
    os.environ.pop("RDG_STORE", None)
    try:
        os.environ["RDG_BOOTSTRAP"] = "env:2"
        s = load_settings({"store": None}, tmp_path / "rdg.toml")
        assert s.store == "sqlite:///toml.db" and s.bootstrap == "env:2"
        s = load_settings({"bootstrap": "flag:3"}, tmp_path / "rdg.toml")
        assert s.bootstrap == "flag:3"
    finally:
        os.environ.pop("RDG_BOOTSTRAP", None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('name = "x"\ntopic = "clicks"\n', "topic: Value error, unknown topic 'clicks'"),
        (
            'name = "x"\ntopic = "login"\n[window]\nallowed_lateness_ms = -1\n',
            "window.allowed_lateness_ms",
        ),
        (
            'name = "x"\ntopic = "login"\nparalelism = 2\n',
            "paralelism: Extra inputs are not permitted",
        ),
        ('name = "Bad Name"\ntopic = "login"\n', "name: String should match pattern"),
    ],
)
def test_invalid_job_spec_names_the_field(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bad.toml").write_text(content)
    r = rdg("jobs", "validate", "--specs-dir", str(tmp_path / "specs"), cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.toml" in r.stderr and message in r.stderr


def test_shipped_specs_validate(tmp_path: Path) -> None:
    r = rdg("jobs", "validate", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    specs = json.loads(r.stdout)
    assert sorted(specs) == ["gaming", "live", "login", "playback", "search"]
    assert specs["playback"]["window"]["allowed_lateness_ms"] == 60_000


def test_demo_runs_the_whole_product(tmp_path: Path) -> None:
    r = rdg("demo", "--events", "3000", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for expected in (
        "job summary",
        "rdg stats",
        "rdg query node profile:",
        "rdg query neighbors",
        "WATCHED",
    ):
        assert expected in out
    store = open_store(f"sqlite:///{tmp_path / 'rdg.db'}")
    stats = store.stats()
    store.close()
    assert set(stats["nodes"]) == {
        "account",
        "profile",
        "title",
        "device",
        "query",
        "game",
        "live_event",
    }
    assert len(stats["edges"]) == 8
