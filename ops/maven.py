"""Resolve a server's jars with Maven once and cache them outside the work tree.

A cached directory counts as complete only when its marker file names the same POM
content hash; then no Maven process is started at all, so warm starts need no network.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ops.common import ClusterError
from ops.procs import find_mvn

__all__ = ["MARKER", "JarSpec", "ensure_jars", "jars_complete", "pom_version"]

log = logging.getLogger(__name__)

MARKER = ".rdg-complete"
PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"
MAVEN_TIMEOUT = 20 * 60.0


def pom_version(pom: Path) -> str:
    """The `rdg.server.version` property of a server POM (the cache dir is named after it)."""
    try:
        root = ET.parse(pom).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ClusterError(f"cannot read server POM {pom}: {exc}") from exc
    node = root.find(f"{_POM_NS}properties/{_POM_NS}rdg.server.version")
    if node is None or not (node.text or "").strip():
        raise ClusterError(f"{pom} has no <properties><rdg.server.version>")
    return (node.text or "").strip()


@dataclass(frozen=True)
class JarSpec:
    """One server's Maven project and where its jars go."""

    name: str
    pom: Path
    jar_root: Path
    maven_root: Path

    @property
    def version(self) -> str:
        return pom_version(self.pom)

    @property
    def lib_dir(self) -> Path:
        return self.jar_root / f"{self.name}-{self.version}"

    def pom_hash(self) -> str:
        return hashlib.sha256(self.pom.read_bytes()).hexdigest()


def jars_complete(spec: JarSpec) -> bool:
    """True when lib_dir holds a finished copy made from the current POM."""
    try:
        marker = json.loads((spec.lib_dir / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("pom_sha256") == spec.pom_hash()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise fetches of one server across processes (two `make up` at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_jars(spec: JarSpec) -> Path:
    """Return the lib dir of `spec`, running Maven only if no complete copy is cached."""
    if jars_complete(spec):
        log.debug("%s jars cached in %s", spec.name, spec.lib_dir)
        return spec.lib_dir
    mvn = find_mvn()
    with _locked(spec.jar_root / f".{spec.name}.lock"):
        if jars_complete(spec):  # another process fetched while we waited
            return spec.lib_dir
        _fetch(spec, mvn)
    return spec.lib_dir


def _fetch(spec: JarSpec, mvn: str) -> None:
    work = spec.maven_root / spec.name
    work.mkdir(parents=True, exist_ok=True)
    pom_copy = work / "pom.xml"  # Maven runs here, so nothing (target/) lands in the repo
    shutil.copyfile(spec.pom, pom_copy)
    staging = spec.jar_root / f".{spec.lib_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(pom_copy),
        f"-Dmaven.repo.local={work / 'repository'}",
        f"{PLUGIN}:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    log.debug("running %s", " ".join(cmd))
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=work,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=MAVEN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ClusterError(
            f"Maven did not finish fetching the {spec.name} jars in {MAVEN_TIMEOUT:.0f} s: "
            "check that Maven Central is reachable (proxy settings in ~/.m2/settings.xml)"
        ) from exc
    jars = sorted(staging.glob("*.jar")) if staging.is_dir() else []
    if proc.returncode != 0 or not jars:
        shutil.rmtree(staging, ignore_errors=True)
        output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise ClusterError(
            f"Maven failed to fetch the {spec.name} jars (exit {proc.returncode}, "
            f"{len(jars)} jars) with: {' '.join(cmd)}\n--- Maven output (tail) ---\n"
            f"{output or '(no output)'}\n---\nFix the cause above (network to Maven Central, "
            f"the POM {spec.pom}) and run `make up` again."
        )
    marker = {
        "pom_sha256": spec.pom_hash(),
        "jars": len(jars),
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started, 1),
    }
    (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    if spec.lib_dir.exists():
        shutil.rmtree(spec.lib_dir)  # an incomplete or outdated copy
    staging.replace(spec.lib_dir)
    log.info("%s: %d jars in %s (%.0f s)", spec.name, len(jars), spec.lib_dir, marker["seconds"])
