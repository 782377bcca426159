"""The CNN example trains end to end through Sequential / fit / evaluate and reaches its
advertised held-out accuracy on the bundled digits (about 4 s)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "cnn_digits.py"


def load_example():
    spec = importlib.util.spec_from_file_location("cnn_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_example_reaches_98_percent_held_out_accuracy():
    model, metrics = load_example().train(epochs=30, seed=0)
    assert metrics["accuracy"] >= 0.98, metrics
    assert model.layers[0].params["kernel"].dtype.name == "float32"
