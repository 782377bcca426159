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


def test_a_conv_net_with_every_new_layer_passes_the_model_gradient_check():
    import numpy as np

    import numnet as nn
    from numnet.gradient_check import check_model

    model = nn.Sequential(
        [nn.Input((7, 5, 2)), nn.Conv2D(4, 3, padding="same", strides=2, activation="tanh"),
         nn.BatchNormalization(), nn.AveragePooling2D(2, padding="same"),
         nn.Conv2D(3, (2, 1), activation="relu"), nn.MaxPool2D(1), nn.Dropout(0.5),
         nn.Reshape((-1, 3)), nn.LayerNormalization(), nn.Flatten(), nn.Dense(3, activation="softmax")],
        dtype="float64", seed=0,
    )
    model.compile(loss="sparse_categorical_cross_entropy", optimizer="sgd")
    x = np.random.default_rng(0).standard_normal((5, 7, 5, 2))
    result = check_model(model, x, np.array([0, 1, 2, 1, 0]))
    assert result.max_relative_error < 1e-6, result.errors
