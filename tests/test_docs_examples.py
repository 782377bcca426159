"""The Python examples of docs/callbacks.md and docs/scikit_learn.md run as written (each
file's blocks in order, as one program); they assert their own figures."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("name", ["callbacks.md", "scikit_learn.md"])
def test_doc_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 1
    namespace = {"__name__": f"docs_{name}"}
    exec(compile("\n".join(blocks), str(DOCS / name), "exec"), namespace)
