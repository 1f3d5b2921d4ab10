"""The jar cache: Maven runs once, failures show Maven's output, a complete cache needs no mvn."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ops.common import ClusterError
from ops.maven import MARKER, JarSpec, ensure_jars, jars_complete

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <properties><rdg.server.version>1.2.3</rdg.server.version></properties>
</project>
"""

FAKE_MVN_OK = """#!/bin/sh
echo "called" >> "$(dirname "$0")/calls"
for arg in "$@"; do
  case "$arg" in
    -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";;
  esac
done
mkdir -p "$out" && touch "$out/server-1.2.3.jar" "$out/dep-0.1.jar"
"""

FAKE_MVN_FAIL = """#!/bin/sh
echo "[ERROR] Could not resolve dependencies: org.example:server:1.2.3 was not found"
echo "[ERROR] Network is unreachable" >&2
exit 1
"""


def _spec(tmp_path: Path) -> JarSpec:
    pom = tmp_path / "pom.xml"
    pom.write_text(POM)
    return JarSpec("demo", pom, tmp_path / "cache" / "jars", tmp_path / "cache" / "maven")


def _fake_mvn(tmp_path: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text(script)
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    return bin_dir


def test_fetch_once_then_cached_without_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = _spec(tmp_path)
    bin_dir = _fake_mvn(tmp_path, FAKE_MVN_OK, monkeypatch)
    lib = ensure_jars(spec)
    assert lib == tmp_path / "cache" / "jars" / "demo-1.2.3"
    assert sorted(p.name for p in lib.glob("*.jar")) == ["dep-0.1.jar", "server-1.2.3.jar"]
    assert json.loads((lib / MARKER).read_text())["jars"] == 2
    assert jars_complete(spec)
    assert not list(spec.jar_root.glob(".*partial*"))  # staging dir was moved into place

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no mvn at all now
    assert ensure_jars(spec) == lib
    assert (bin_dir / "calls").read_text().count("called") == 1


def test_pom_change_invalidates_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = _spec(tmp_path)
    bin_dir = _fake_mvn(tmp_path, FAKE_MVN_OK, monkeypatch)
    ensure_jars(spec)
    spec.pom.write_text(POM.replace("</project>", "<!-- one more dependency -->\n</project>"))
    assert not jars_complete(spec)
    ensure_jars(spec)
    assert (bin_dir / "calls").read_text().count("called") == 2


def test_incomplete_dir_without_marker_is_refetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spec = _spec(tmp_path)
    spec.lib_dir.mkdir(parents=True)
    (spec.lib_dir / "half-copied.jar").touch()
    assert not jars_complete(spec)
    _fake_mvn(tmp_path, FAKE_MVN_OK, monkeypatch)
    lib = ensure_jars(spec)
    assert not (lib / "half-copied.jar").exists()
    assert jars_complete(spec)


def test_maven_failure_shows_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = _spec(tmp_path)
    _fake_mvn(tmp_path, FAKE_MVN_FAIL, monkeypatch)
    with pytest.raises(ClusterError) as caught:
        ensure_jars(spec)
    message = str(caught.value)
    assert "Maven failed to fetch the demo jars (exit 1" in message
    assert "Could not resolve dependencies" in message
    assert "Network is unreachable" in message
    assert not spec.lib_dir.exists()
    assert not list(spec.jar_root.glob(".*partial*"))


def test_missing_maven_with_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = _spec(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClusterError, match="mvn"):
        ensure_jars(spec)
