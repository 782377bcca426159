"""The sequence examples train end to end (with fewer epochs than their defaults, to stay
quick) and reach their held-out figures: the LSTM digits classifier its accuracy, the CO2
forecaster a lower error than both naive forecasts (last value and seasonal naive)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lstm_digits_reaches_93_percent_in_8_epochs():
    model, metrics = load("lstm_digits").train(epochs=8, seed=0)
    assert metrics["accuracy"] >= 0.93, metrics
    assert model.layers[0].params["kernel"].shape == (8, 4 * 64)


def test_co2_forecaster_beats_last_value_and_seasonal_naive_on_the_held_out_tail():
    _, m = load("co2_forecast").train(epochs=10, seed=0)
    # The baselines do not depend on training: fixed figures of the bundled series.
    assert abs(m["mae_last_value"] - 1.113) < 1e-3 and abs(m["mae_seasonal_naive"] - 1.652) < 1e-3, m
    assert m["mae"] < 0.5 * min(m["mae_last_value"], m["mae_seasonal_naive"]), m


def test_the_scripts_run_from_the_command_line():
    for script, pattern in (("lstm_digits.py", r"^held-out accuracy: 0\.\d+  loss: "),
                            ("co2_forecast.py", r"mean absolute error: LSTM 0\.\d+, last value 1\.113")):
        result = subprocess.run([sys.executable, str(EXAMPLES / script), "--epochs", "1"], capture_output=True,
                                text=True, timeout=600, cwd=EXAMPLES.parent)
        assert result.returncode == 0, result.stderr
        assert re.search(pattern, result.stdout, re.MULTILINE), result.stdout
