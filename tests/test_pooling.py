"""Pooling: PyTorch parity (fixtures, including ties and TensorFlow 'same' padding),
gradient checks, global pools, dtype, config and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet.gradient_check import check_layer
from numnet.layers import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)

REF = np.load(Path(__file__).parent / "fixtures" / "conv_reference.npz", allow_pickle=False)
POOL_CASES = sorted({k.split("_")[0] for k in REF.files if k.startswith("pool")})
X = np.random.default_rng(3).standard_normal((2, 7, 5, 3))


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_matches_pytorch_outputs_and_gradients(case):
    r = {k[len(case) + 1:]: REF[k] for k in REF.files if k.startswith(case + "_")}
    is_max, ph, pw, sh, sw, same, _ = (int(v) for v in r["config"])
    cls = MaxPool2D if is_max else AveragePooling2D
    layer = cls((ph, pw), strides=(sh, sw), padding="same" if same else "valid")
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.backward(r["g"]), r["dx"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls", [MaxPool2D, AveragePooling2D])
@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(pool_size=3, strides=2, padding="same"), dict(pool_size=(3, 2), strides=1),
     dict(pool_size=2, strides=1, padding="same"), dict(pool_size=(2, 3), strides=(2, 1), padding="same")],
)
def test_pooling_gradients_match_finite_differences(cls, kwargs):
    result = check_layer(cls(**kwargs), X)
    assert result.max_relative_error < 1e-6, result.errors


@pytest.mark.parametrize("layer", [GlobalAveragePooling2D(), GlobalMaxPooling2D(), GlobalMaxPooling2D(keepdims=True)])
def test_global_pooling_gradients_match_finite_differences(layer):
    result = check_layer(layer, X)
    assert result.max_relative_error < 1e-6, result.errors


def test_max_pool_sends_the_gradient_to_the_first_maximum_on_ties():
    x = np.array([[1.0, 2.0], [2.0, 0.0]]).reshape(1, 2, 2, 1)
    layer = MaxPool2D(2)
    assert layer.forward(x).item() == 2.0
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1))).reshape(2, 2), [[0, 1], [0, 0]])
    glob = GlobalMaxPooling2D()
    glob.forward(x)
    np.testing.assert_array_equal(glob.backward(np.ones((1, 1))).reshape(2, 2), [[0, 1], [0, 0]])


def test_same_average_pooling_excludes_padding_from_the_count():
    # 3x3 input, pool 2, stride 2, 'same': out 2x2, one padded row and column at the end.
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    y = AveragePooling2D(2, padding="same").forward(x)[0, :, :, 0]
    np.testing.assert_allclose(y, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8 / 1]])


def test_global_pools_values_and_shapes():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    np.testing.assert_allclose(GlobalAveragePooling2D().forward(x), x.mean(axis=(1, 2)))
    np.testing.assert_allclose(GlobalMaxPooling2D().forward(x), x.max(axis=(1, 2)))
    layer = GlobalAveragePooling2D(keepdims=True)
    assert layer.forward(x).shape == (2, 1, 1, 2) and layer.output_shape == (1, 1, 2)


@pytest.mark.parametrize(
    "layer", [MaxPool2D(), AveragePooling2D(3, 2, "same"), GlobalAveragePooling2D(), GlobalMaxPooling2D()]
)
def test_pooling_keeps_float32(layer):
    x = X.astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_aliases_are_the_same_classes():
    assert MaxPooling2D is MaxPool2D and AvgPool2D is AveragePooling2D


def test_strides_default_to_the_pool_size():
    layer = MaxPool2D((3, 2))
    assert layer.strides == (3, 2)
    assert layer.forward(np.zeros((1, 9, 4, 1))).shape == (1, 3, 2, 1)


@pytest.mark.parametrize("cls", [MaxPool2D, AveragePooling2D])
def test_pooling_config_round_trip(cls):
    layer = cls((3, 2), strides=1, padding="same", name="p")
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.pool_size, clone.strides, clone.padding) == ((3, 2), (1, 1), "same")


@pytest.mark.parametrize("cls", [GlobalAveragePooling2D, GlobalMaxPooling2D])
def test_global_pooling_config_round_trip(cls):
    layer = cls(keepdims=True)
    assert cls.from_config(layer.get_config()).keepdims is True


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pool_size=0), "pool_size must be a positive integer or a pair"),
        (dict(pool_size=2, strides=(1, -1)), "strides must be"),
        (dict(pool_size=2, padding="causal"), "padding must be 'valid' or 'same'"),
    ],
)
@pytest.mark.parametrize("cls", [MaxPool2D, AveragePooling2D])
def test_pooling_rejects_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [MaxPool2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D])
def test_pooling_rejects_inputs_that_are_not_nhwc(cls):
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, C\).*got \(N, 10\)"):
        cls().build_for((10,))
    layer = cls()
    layer.forward(np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"\(N, H, W, 2\).*got \(N, 4, 4, 3\)"):
        layer.forward(np.zeros((1, 4, 4, 3)))


def test_pooling_rejects_a_pool_larger_than_the_input_at_build_time():
    with pytest.raises(ValueError, match=r"pool spans 3x3 pixels .* input is only 2x5"):
        MaxPool2D(3).build_for((2, 5, 1))
    AveragePooling2D(3, padding="same").build_for((2, 5, 1))  # 'same' pads up to the pool


def _reference_max_pool(x, pool, strides, g):
    """Loops over every window: forward max, backward to the first maximum (row-major)."""
    n, h, w, c = x.shape
    oh, ow = (h - pool[0]) // strides[0] + 1, (w - pool[1]) // strides[1] + 1
    y, dx = np.empty((n, oh, ow, c)), np.zeros_like(x)
    for s in range(n):
        for i in range(oh):
            for j in range(ow):
                for k in range(c):
                    window = x[s, i * strides[0] : i * strides[0] + pool[0], j * strides[1] : j * strides[1] + pool[1], k]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    y[s, i, j, k] = window[a, b]
                    dx[s, i * strides[0] + a, j * strides[1] + b, k] += g[s, i, j, k]
    return y, dx


@pytest.mark.parametrize(
    "pool, strides", [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 3), (1, 2)), ((3, 2), (3, 2)), ((2, 2), (3, 3))]
)
@pytest.mark.parametrize("training", [False, True])
def test_max_pool_matches_a_per_window_argmax_on_ties(pool, strides, training):
    # Integer values in {0, 1, 2}: most windows hold several maxima; tiling, overlapping
    # and gapped windows (stride > pool) all send the gradient to the first one only, both
    # from the index recorded in training and from backward's comparison after inference.
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (3, 8, 7, 2)).astype(np.float64)
    layer = MaxPool2D(pool, strides=strides)
    y = layer.forward(x, training=training)
    g = rng.standard_normal(y.shape)
    y_ref, dx_ref = _reference_max_pool(x, pool, strides, g)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(layer.backward(g), dx_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [False, True])
def test_max_pool_window_with_nan_outputs_nan_and_sends_the_gradient_to_the_first_nan(training):
    x = np.array([[1.0, np.nan], [np.nan, 5.0]]).reshape(1, 2, 2, 1)
    layer = MaxPool2D(2)
    assert np.isnan(layer.forward(x, training=training).item())
    np.testing.assert_array_equal(layer.backward(np.full((1, 1, 1, 1), 3.0)).reshape(2, 2), [[0, 3], [0, 0]])


@pytest.mark.parametrize("cls", [MaxPool2D, AveragePooling2D])
def test_pooling_after_the_input_computes_no_input_gradient(cls):
    import numnet

    model = numnet.Sequential([numnet.Input((4, 4, 2)), cls(2), numnet.Flatten(), numnet.Dense(3)])
    model.compile(loss="mse", optimizer="sgd")
    pool = next(layer for layer in model.layers if isinstance(layer, cls))
    x = np.random.default_rng(0).standard_normal((5, 4, 4, 2)).astype(np.float32)
    model.fit(x, np.zeros((5, 3), np.float32), epochs=1, batch_size=5, verbose=0)
    assert pool.needs_input_error is False  # the plan told the call fed by the Input
    assert pool.backward(np.ones((5, 2, 2, 2), np.float32)) is None


def test_max_pool_gives_the_same_output_in_training_and_inference():
    import numnet

    model = numnet.Sequential([numnet.Input((6, 6, 3)), numnet.Conv2D(2, 3), MaxPool2D(2), numnet.Flatten()])
    x = np.random.default_rng(1).standard_normal((4, 6, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(model.forward([x], training=True), model.forward([x], training=False))


@pytest.mark.parametrize("kwargs", [dict(pool_size=1), dict(pool_size=2), dict(pool_size=3, strides=1, padding="same")])
def test_max_pool_inference_in_blocks_of_samples_equals_training(kwargs, monkeypatch):
    monkeypatch.setattr(MaxPool2D, "_INFERENCE_BLOCK_BYTES", 100)  # one or two samples per block
    x = np.random.default_rng(0).standard_normal((37, 9, 8, 5)).astype(np.float32)
    layer = MaxPool2D(**kwargs)
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x, training=True))
