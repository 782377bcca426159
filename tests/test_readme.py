"""Every Python example in README.md runs as written; the examples assert their own figures.

An example that imports nothing continues the README's first example (the digits model it
saves and exports); every other example starts afresh."""

import os
import re

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README, encoding="utf-8").read(), flags=re.S)


def _continues(code: str) -> bool:
    return not re.search(r"^(import|from) ", code, flags=re.M)


def test_every_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert len(BLOCKS) >= 6
    first = {"__name__": "readme_0"}
    for index, code in enumerate(BLOCKS):
        namespace = first if index == 0 or _continues(code) else {"__name__": f"readme_{index}"}
        code = code.replace("validation_split=0.1)", "validation_split=0.1, verbose=0)")
        exec(compile(code, f"README.md example {index + 1}", "exec"), namespace)
    assert os.path.exists(tmp_path / "model.onnx")
