"""Conv2D: gradient checks, PyTorch parity (fixtures), shapes, dtype, fused activation, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet.gradient_check import check_layer
from numnet.layers import Conv2D

REF = np.load(Path(__file__).parent / "fixtures" / "conv_reference.npz", allow_pickle=False)
CONV_CASES = sorted({k.split("_")[0] for k in REF.files if k.startswith("conv")})


def conv_from_config(cfg, **kwargs) -> Conv2D:
    kh, kw, sh, sw, dh, dw, same, use_bias = (int(v) for v in cfg)
    return Conv2D(4, (kh, kw), strides=(sh, sw), dilation_rate=(dh, dw),
                  padding="same" if same else "valid", use_bias=bool(use_bias), **kwargs)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_pytorch_outputs_and_gradients(case):
    r = {k[len(case) + 1:]: REF[k] for k in REF.files if k.startswith(case + "_")}
    layer = conv_from_config(r["config"], dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    layer.set_weights([r["kernel"], r["bias"]] if layer.use_bias else [r["kernel"]])
    y = layer.forward(r["x"])
    np.testing.assert_allclose(y, r["y"], rtol=1e-10, atol=1e-10)
    dx = layer.backward(r["g"])
    np.testing.assert_allclose(dx, r["dx"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grads["kernel"], r["dkernel"], rtol=1e-10, atol=1e-10)
    if layer.use_bias:
        np.testing.assert_allclose(layer.grads["bias"], r["dbias"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3),
        dict(kernel_size=(3, 2), strides=2),
        dict(kernel_size=3, strides=2, padding="same"),
        dict(kernel_size=(3, 2), padding="same", dilation_rate=2),
        dict(kernel_size=(2, 3), strides=(2, 1), dilation_rate=(2, 1), padding="same", use_bias=False),
        dict(kernel_size=(3, 2), activation="tanh"),
        dict(kernel_size=2, strides=2, padding="same", activation="sigmoid", use_bias=False),
    ],
)
def test_conv2d_gradients_match_finite_differences(kwargs):
    x = np.random.default_rng(1).standard_normal((2, 7, 5, 3))
    result = check_layer(Conv2D(4, seed=0, bias_initializer="random_normal", **kwargs), x)
    assert result.max_relative_error < 1e-6, result.errors


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(kernel_size=3), (5, 3, 8)),
        (dict(kernel_size=(3, 2), strides=2), (3, 2, 8)),
        (dict(kernel_size=3, padding="same"), (7, 5, 8)),
        (dict(kernel_size=3, strides=2, padding="same"), (4, 3, 8)),
        (dict(kernel_size=3, dilation_rate=2), (3, 1, 8)),
    ],
)
def test_conv2d_output_shape(kwargs, expected):
    layer = Conv2D(8, **kwargs)
    y = layer.forward(np.zeros((2, 7, 5, 3), np.float32))
    assert y.shape == (2,) + expected
    assert layer.output_shape == expected
    assert layer.params["kernel"].shape == layer.kernel_size + (3, 8)


def test_conv2d_same_padding_puts_the_extra_pixel_bottom_right_like_tensorflow():
    # 1-D view: width 4, kernel 2, stride 1, 'same' -> pad 0 left, 1 right.
    layer = Conv2D(1, (1, 2), padding="same", use_bias=False, kernel_initializer="ones")
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(layer.forward(x).ravel(), [0 + 1, 1 + 2, 2 + 3, 3 + 0])


def test_conv2d_keeps_float32():
    layer = Conv2D(4, 3, activation="relu")
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 2)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_conv2d_fused_activation_skips_the_activation_derivative():
    layer = Conv2D(3, 2, activation="softmax", seed=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 2))
    layer.forward(x)
    assert layer.output_activation == "softmax"
    g = np.random.default_rng(1).standard_normal(layer.output.shape).astype(np.float32)
    dx = layer.backward_preactivation(g)
    linear = Conv2D(3, 2, seed=0)
    linear.forward(x)
    np.testing.assert_allclose(dx, linear.backward(g), rtol=1e-6)


def test_conv2d_skips_the_input_gradient_when_not_needed():
    layer = Conv2D(2, 3)
    layer.forward(np.ones((1, 5, 5, 1), np.float32))
    layer.needs_input_error = False
    assert layer.backward(np.ones((1, 3, 3, 2), np.float32)) is None
    assert layer.grads["kernel"].shape == (3, 3, 1, 2)


def test_conv2d_config_round_trip():
    layer = Conv2D(6, (3, 2), strides=2, padding="same", dilation_rate=(1, 2), activation="relu",
                   use_bias=False, kernel_initializer="he_normal", name="c1")
    clone = Conv2D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.kernel_size, clone.strides, clone.dilation_rate) == ((3, 2), (2, 2), (1, 2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filters=0, kernel_size=3), "filters must be a positive integer"),
        (dict(filters=2, kernel_size=(3, 0)), "kernel_size must be a positive integer or a pair"),
        (dict(filters=2, kernel_size=3, strides=(1, 2, 3)), "strides must be"),
        (dict(filters=2, kernel_size=3, dilation_rate=0), "dilation_rate must be"),
        (dict(filters=2, kernel_size=3, padding="full"), "padding must be 'valid' or 'same'"),
    ],
)
def test_conv2d_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2D(**kwargs)


def test_conv2d_rejects_inputs_that_are_not_nhwc():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, C\).*got \(N, 28, 28\)"):
        Conv2D(2, 3).build_for((28, 28))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\).*got \(N, 784\)"):
        Conv2D(2, 3).forward(np.zeros((4, 784), np.float32))


def test_conv2d_rejects_a_different_channel_count_after_building():
    layer = Conv2D(2, 3)
    layer.forward(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, 3\).*got \(N, 5, 5, 1\)"):
        layer.forward(np.zeros((1, 5, 5, 1), np.float32))


def test_conv2d_rejects_a_kernel_larger_than_the_input_at_build_time():
    with pytest.raises(ValueError, match=r"kernel spans 5x5 pixels .* input is only 4x4"):
        Conv2D(2, 5).build_for((4, 4, 1))
    with pytest.raises(ValueError, match=r"kernel spans 5x3 pixels .*dilation_rate 2x2"):
        Conv2D(2, (3, 2), dilation_rate=2).build_for((4, 8, 1))
    Conv2D(2, 5, padding="same").build_for((4, 4, 1))  # 'same' always fits


@pytest.mark.parametrize("training", [True, False])
def test_forward_preactivation_with_an_output_size_computes_the_top_left_block(training):
    rng = np.random.default_rng(4)
    layer = Conv2D(3, 3, strides=(2, 1), padding="same", activation="relu", dtype=np.float64, seed=0)
    x = rng.standard_normal((2, 9, 8, 2))
    full = layer.forward_preactivation(x, training=training)
    assert full.shape == (2, 5, 8, 3)
    part = layer.forward_preactivation(x, training=training, output_size=(4, 6))
    np.testing.assert_allclose(part, full[:, :4, :6], rtol=1e-14, atol=1e-15)
    # Backward of the block equals backward of the full map with zeros outside it.
    g = rng.standard_normal(part.shape)
    dx_part = layer.backward_preactivation(g)
    grads_part = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward_preactivation(x, training=training)
    g_full = np.zeros(full.shape)
    g_full[:, :4, :6] = g
    np.testing.assert_allclose(dx_part, layer.backward_preactivation(g_full), rtol=1e-12, atol=1e-14)
    for key, grad in grads_part.items():
        np.testing.assert_allclose(grad, layer.grads[key], rtol=1e-12, atol=1e-14)


def test_a_kept_training_output_is_not_overwritten_by_later_steps():
    rng = np.random.default_rng(5)
    layer = Conv2D(2, 3, activation="relu", seed=0)
    x1, x2, x3 = (rng.standard_normal((2, 6, 6, 1)).astype(np.float32) for _ in range(3))
    kept = layer.forward(x1, training=True)
    snapshot = kept.copy()
    layer.forward(x2, training=True)
    latest = layer.forward(x3, training=True)
    np.testing.assert_array_equal(kept, snapshot)
    np.testing.assert_array_equal(latest, layer.forward(x3))  # inference path agrees

