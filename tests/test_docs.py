"""Every ```python block in README.md and docs/*.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        if doc.exists():
            for i, m in enumerate(BLOCK.finditer(doc.read_text())):
                out.append((doc.name, i, m.group(1)))
    return out


@pytest.mark.parametrize(("doc", "index", "code"), _blocks(), ids=lambda v: str(v)[:30])
def test_doc_example_runs(
    doc: str, index: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{doc}[{index}]", "exec"), {"__name__": f"doc_{index}"})


def test_there_are_doc_examples() -> None:
    assert any(doc == "engine.md" for doc, _, _ in _blocks())
