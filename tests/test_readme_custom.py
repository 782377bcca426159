"""The README's "Custom layers and training loops" examples run, in order, as one program,
and do what the text says."""

import re
from pathlib import Path

import numpy as np

import numnet

README = Path(__file__).resolve().parent.parent / "README.md"


def _section_code(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return "\n".join(re.findall(r"```python\n(.*?)```", text[start:end], re.DOTALL))


def test_custom_section_runs_trains_and_saves(tmp_path, capsys):
    blocks = _section_code("Custom layers and training loops").split("\nimport numpy as np\n")
    assert len(blocks) == 3 and "class ScaledDense" in blocks[0] and "class Residual" in blocks[1]
    spaces = []
    for index, code in enumerate(blocks):  # each example starts afresh (and asserts its own figures)
        namespace = {"__name__": f"readme_custom_{index}"}
        exec(compile(code if index == 0 else "import numpy as np\n" + code, str(README), "exec"), namespace)
        spaces.append(namespace)
    assert "Total params" in capsys.readouterr().out  # residual.summary() printed its table
    # The registered call layer and the op nodes save and load with the model.
    model, data = spaces[0]["model"], spaces[0]["data"]
    assert any(type(layer).__name__ == "ScaledDense" for layer in model.layers)
    model.save(tmp_path / "model.npz")
    np.testing.assert_array_equal(numnet.load_model(tmp_path / "model.npz").predict(data), model.predict(data))
    residual = spaces[1]["residual"]
    residual.save_weights(tmp_path / "residual.npz")
    again = spaces[1]["Residual"]()
    again.build((4,))
    again.load_weights(tmp_path / "residual.npz")
    np.testing.assert_array_equal(again.predict(data), residual.predict(data))
    # The tape loop trained the model of the third example (its own assert checked the loss).
    assert len(spaces[2]["variables"]) == 4
