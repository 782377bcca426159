"""Every Python example in docs/preprocessing.md runs as written (each asserts its values)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "preprocessing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_preprocessing_doc_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"docs/preprocessing.md example {index + 1}", "exec"), {"__name__": "doc"})


def test_the_doc_has_its_examples():
    assert len(BLOCKS) == 6
