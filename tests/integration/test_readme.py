"""The README's commands, run as written (from a scratch directory whose .venv, Makefile and
pyproject.toml link to this checkout, so nothing lands in the work tree).

Skipped on purpose: `make test` (this test runs inside it) and `make down` (it would stop
the cluster the rest of the suite is using).  Between `rdg deploy` and the first query the
test waits, with a deadline, until `rdg lag --json` shows the jobs caught up.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"make test", "make down"}


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            cmd = line.split("#", 1)[0].strip()
            if cmd and cmd not in SKIP:
                cmds.append(cmd)
    return cmds


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first is not None
    lines = [ln.split("#")[0].strip() for ln in first.group(1).splitlines() if ln.strip()]
    assert lines == ["make demo", "make test"]
    assert text.index("make demo") < 200  # first thing after the title


def _wait_for_zero_lag(cwd: Path, env: dict[str, str]) -> None:
    deadline = time.monotonic() + 240
    last = ""
    while time.monotonic() < deadline:
        r = subprocess.run(
            [".venv/bin/rdg", "lag", "--json"], cwd=cwd, env=env, text=True, capture_output=True
        )
        last = r.stdout + r.stderr
        if r.returncode == 0:
            jobs = json.loads(r.stdout)["jobs"]
            if jobs and all(j["total_lag"] == 0 for j in jobs):
                return
        time.sleep(1)
    pytest.fail(f"the deployed jobs did not catch up: {last[-2000:]}")


def test_readme_commands_run_as_written(
    tmp_path: Path, kafka_bootstrap: str, cassandra_contact: object
) -> None:
    for name in (".venv", "Makefile", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("RDG_STORE", "RDG_SOURCE", "RDG_DATA_DIR", "RDG_STATE_DIR", "RDG_CONFIG"):
        env.pop(var, None)
    deployed = False
    try:
        for cmd in _commands():
            r = subprocess.run(
                shlex.split(cmd), cwd=tmp_path, env=env, text=True, capture_output=True, timeout=600
            )
            assert r.returncode == 0, (
                f"`{cmd}` failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            )
            if "rdg deploy" in cmd:
                deployed = True
                _wait_for_zero_lag(tmp_path, env)
            if "rdg stop" in cmd:
                deployed = False
        assert (tmp_path / "rdg.db").exists() and (tmp_path / "profile.graphml").exists()
    finally:
        if deployed:
            subprocess.run([".venv/bin/rdg", "stop", "--all"], cwd=tmp_path, env=env, timeout=120)
