"""BatchNormalization and LayerNormalization: PyTorch parity (fixtures), Keras-style moving
statistics, training vs inference, gradient checks, dtype, config and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet.gradient_check import check_layer
from numnet.layers import BatchNormalization, LayerNormalization

REF = np.load(Path(__file__).parent / "fixtures" / "conv_reference.npz", allow_pickle=False)
RNG = np.random.default_rng(5)


def case(name):
    return {k[len(name) + 1:]: REF[k] for k in REF.files if k.startswith(name + "_")}


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted({k.split("_")[0] for k in REF.files if k.startswith("bn")}))
def test_batch_norm_matches_pytorch_and_keras_moving_update(name):
    r = case(name)
    training = bool(r["config"][0])
    layer = BatchNormalization(dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    layer.set_weights([r["gamma"], r["beta"], r["moving_mean"], r["moving_variance"]])
    close(layer.forward(r["x"], training=training), r["y"])
    close(layer.backward(r["g"]), r["dx"])
    close(layer.grads["gamma"], r["dgamma"])
    close(layer.grads["beta"], r["dbeta"])
    close(layer.buffers["moving_mean"], r["new_moving_mean"])
    close(layer.buffers["moving_variance"], r["new_moving_variance"])


@pytest.mark.parametrize("name", sorted({k.split("_")[0] for k in REF.files if k.startswith("ln")}))
def test_layer_norm_matches_pytorch(name):
    r = case(name)
    n_axes = int(r["config"][0])
    axis = -1 if n_axes == 1 else list(range(r["x"].ndim - n_axes, r["x"].ndim))
    layer = LayerNormalization(axis=axis, dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    layer.set_weights([r["gamma"], r["beta"]])
    close(layer.forward(r["x"]), r["y"])
    close(layer.backward(r["g"]), r["dx"])
    close(layer.grads["gamma"], r["dgamma"])
    close(layer.grads["beta"], r["dbeta"])


def randomized(layer, shape):
    """Build ``layer`` and give it random gamma / beta (and positive moving variance)."""
    layer.build_for(shape)
    layer.set_weights([abs(RNG.standard_normal(w.shape)) + 0.5 if k == "moving_variance" else RNG.standard_normal(w.shape)
                       for k, w in {**layer.params, **layer.buffers}.items()])
    return layer


# Step 1e-5: BatchNorm's training-mode input gradient is orthogonal to per-channel shifts and
# scalings, so along some random directions the derivative is small and the default 1e-6
# step leaves rounding noise of ~1e-7 relative to it.
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 3, 2)])
@pytest.mark.parametrize("kwargs", [dict(), dict(center=False), dict(scale=False, center=False), dict(axis=1)])
def test_batch_norm_gradients_match_finite_differences(training, shape, kwargs):
    x = RNG.standard_normal(shape) * 2 + 1
    layer = randomized(BatchNormalization(**kwargs), shape[1:])
    result = check_layer(layer, x, training=training, step=1e-5)
    assert result.max_relative_error < 1e-6, result.errors


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], [1, 2, 3]])
def test_layer_norm_gradients_match_finite_differences(axis):
    x = RNG.standard_normal((2, 4, 3, 5))
    layer = randomized(LayerNormalization(axis=axis), x.shape[1:])
    result = check_layer(layer, x, step=1e-5)
    assert result.max_relative_error < 1e-6, result.errors


def test_batch_norm_training_normalises_with_batch_statistics_per_channel():
    x = (RNG.standard_normal((8, 4, 4, 3)) * [1.0, 5.0, 0.1] + [0.0, -3.0, 7.0]).astype(np.float32)
    layer = BatchNormalization(epsilon=1e-6)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)  # float32 rounding
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, rtol=1e-3)
    # Keras's update from zeros / ones, with the biased variance.
    np.testing.assert_allclose(layer.buffers["moving_mean"], 0.01 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.buffers["moving_variance"], 0.99 + 0.01 * x.var(axis=(0, 1, 2)), rtol=1e-5)


def test_batch_norm_inference_uses_moving_statistics_and_leaves_them_alone():
    layer = BatchNormalization(momentum=0.5)
    x = RNG.standard_normal((16, 3)).astype(np.float32) * 4 + 2
    for _ in range(30):
        layer.forward(x, training=True)
    before = layer.get_weights()
    y = layer.forward(x[:2], training=False)
    expected = (x[:2] - before[2]) / np.sqrt(before[3] + 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    # After many steps on one batch the moving statistics are that batch's.
    np.testing.assert_allclose(layer.buffers["moving_mean"], x.mean(axis=0), rtol=1e-4)


def test_batch_norm_frozen_layer_runs_in_inference_mode_like_keras():
    layer = BatchNormalization(trainable=False)
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(x, training=True), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.buffers["moving_mean"], 0)


@pytest.mark.parametrize("layer", [BatchNormalization(), LayerNormalization()])
@pytest.mark.parametrize("training", [True, False])
def test_normalization_keeps_float32(layer, training):
    x = RNG.standard_normal((4, 3, 3, 2)).astype(np.float32)
    y = layer.forward(x, training=training)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(v.dtype == np.float32 for v in [*layer.grads.values(), *layer.buffers.values()])


def test_normalization_weights_and_buffers():
    bn = BatchNormalization()
    bn.build_for((5, 5, 8))
    assert list(bn.params) == ["gamma", "beta"] and list(bn.buffers) == ["moving_mean", "moving_variance"]
    assert all(w.shape == (8,) for w in bn.weights)
    ln = LayerNormalization(axis=[2, 3])
    ln.build_for((5, 4, 8))
    assert ln.params["gamma"].shape == (4, 8) and not ln.buffers


@pytest.mark.parametrize("cls, kwargs", [
    (BatchNormalization, dict(axis=1, momentum=0.9, epsilon=1e-5, center=False, gamma_initializer="random_normal")),
    (LayerNormalization, dict(axis=[1, 2], epsilon=1e-5, scale=False)),
])
def test_normalization_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("make, match", [
    (lambda: BatchNormalization(momentum=1.5), "momentum must be a number in"),
    (lambda: BatchNormalization(epsilon=0), "epsilon must be a positive number"),
    (lambda: BatchNormalization(axis=[1, 2]), "axis must be an integer"),
    (lambda: LayerNormalization(axis="last"), "axis must be an integer"),
    (lambda: LayerNormalization(epsilon=-1.0), "epsilon must be a positive number"),
])
def test_normalization_rejects_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_normalization_rejects_the_batch_axis_or_an_axis_out_of_range():
    with pytest.raises(ValueError, match=r"axis 0 is not a feature axis of inputs of shape \(N, 4\)"):
        BatchNormalization(axis=0).build_for((4,))
    with pytest.raises(ValueError, match=r"axis 3 is not a feature axis"):
        BatchNormalization(axis=3).build_for((4, 5))
    with pytest.raises(ValueError, match=r"axis \(-1, 3\) is not a feature axis"):
        LayerNormalization(axis=[-1, 3]).build_for((2, 3, 4))  # the same axis twice


@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
def test_normalization_rejects_a_different_layout_after_building(cls):
    layer = cls()
    layer.forward(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(N, _, _, 3\).*got \(2, 4, 4, 5\)"):
        layer.forward(np.zeros((2, 4, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(N, _, _, 3\).*got \(2, 3\)"):
        layer.forward(np.zeros((2, 3), np.float32))
