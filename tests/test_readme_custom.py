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
    code = _section_code("Custom layers and training loops")
    assert "class ScaledDense" in code and "GradientTape" in code and "class Residual" in code
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    model, data, target = namespace["model"], namespace["data"], namespace["target"]
    # fit and then the custom loop brought the error well below predicting zero.
    mse = float(np.mean((model.predict(data) - target) ** 2))
    assert mse < 0.5 * float(np.mean(target ** 2))
    assert "Total params" in capsys.readouterr().out  # residual.summary() printed its table
    residual = namespace["residual"]
    assert residual.metrics_names == ["loss", "mean_absolute"]
    # The registered call layer and the op nodes save and load with the model.
    model.save(tmp_path / "model.npz")
    np.testing.assert_array_equal(numnet.load_model(tmp_path / "model.npz").predict(data), model.predict(data))
    residual.save_weights(tmp_path / "residual.npz")
    again = namespace["Residual"]()
    again.build((4,))
    again.load_weights(tmp_path / "residual.npz")
    np.testing.assert_array_equal(again.predict(data), residual.predict(data))
