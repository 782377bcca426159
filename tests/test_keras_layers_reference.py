"""The Keras 3 merge, convolution and upsampling layers against PyTorch (float64 fixtures from
tests/fixtures/make_keras_layers_reference.py): outputs, input gradients and weight gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet.layers import (
    Average, Conv2D, Conv2DTranspose, DepthwiseConv2D, Dot, Maximum, Minimum, Multiply, SeparableConv2D,
    Subtract, UpSampling2D,
)

REF = np.load(Path(__file__).parent / "fixtures" / "keras_layers_reference.npz", allow_pickle=False)
TOL = dict(rtol=1e-10, atol=1e-10)


def case(name):
    return {k[len(name) + 1:]: REF[k] for k in REF.files if k.startswith(name + "_")}


def cases(prefix):
    return sorted({k.split("_")[0] for k in REF.files if k.startswith(prefix) and k.split("_")[0][len(prefix):].isdigit()})


MERGES = {
    "multiply": Multiply, "subtract": Subtract, "average": Average, "maximum": Maximum, "minimum": Minimum,
    "dot1": lambda **kw: Dot(axes=1, **kw), "dot12": lambda **kw: Dot(axes=(1, 2), **kw),
    "dotnorm": lambda **kw: Dot(axes=-1, normalize=True, **kw),
}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_layers_match_pytorch(name):
    r = case(name)
    xs = [r[f"x{i}"] for i in range(sum(k.startswith("x") for k in r))]
    layer = MERGES[name](dtype=np.float64)
    y = layer.forward(xs)
    assert y.shape == r["y"].shape
    np.testing.assert_allclose(y, r["y"], **TOL)
    errors = layer.backward(r["g"])
    assert len(errors) == len(xs)
    for i, dx in enumerate(errors):
        np.testing.assert_allclose(dx, r[f"dx{i}"], **TOL)


def _check_grads(layer, r, names):
    dx = layer.backward(r["g"])
    np.testing.assert_allclose(dx, r["dx"], **TOL)
    for name in names:
        np.testing.assert_allclose(layer.grads[name], r[f"d{name}"], **TOL)


@pytest.mark.parametrize("name", cases("grouped"))
def test_grouped_conv2d_matches_pytorch(name):
    r = case(name)
    groups, cin, filters, kh, kw, s, d, same, use_bias = (int(v) for v in r["config"])
    layer = Conv2D(filters, (kh, kw), strides=s, dilation_rate=d, padding="same" if same else "valid",
                   groups=groups, use_bias=bool(use_bias), dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    assert layer.params["kernel"].shape == (kh, kw, cin // groups, filters)
    layer.set_weights([r["kernel"], r["bias"]] if use_bias else [r["kernel"]])
    np.testing.assert_allclose(layer.forward(r["x"], training=True), r["y"], **TOL)
    _check_grads(layer, r, ["kernel", "bias"] if use_bias else ["kernel"])
    # Inference keeps no im2col matrix; a backward after it rebuilds it.
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], **TOL)
    _check_grads(layer, r, ["kernel"])


@pytest.mark.parametrize("name", cases("depthwise"))
def test_depthwise_conv2d_matches_pytorch(name):
    r = case(name)
    cin, m, _, kh, kw, s, d, same = (int(v) for v in r["config"])
    layer = DepthwiseConv2D((kh, kw), strides=s, dilation_rate=d, padding="same" if same else "valid",
                            depth_multiplier=m, dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    assert [k for k in layer.params] == ["depthwise_kernel", "bias"]
    assert layer.params["depthwise_kernel"].shape == (kh, kw, cin, m)
    layer.set_weights([r["depthwise_kernel"], r["bias"]])
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], **TOL)
    _check_grads(layer, r, ["depthwise_kernel", "bias"])


@pytest.mark.parametrize("name", cases("separable"))
def test_separable_conv2d_matches_pytorch(name):
    r = case(name)
    cin, m, filters, kh, kw, s, d, same = (int(v) for v in r["config"])
    layer = SeparableConv2D(filters, (kh, kw), strides=s, dilation_rate=d, padding="same" if same else "valid",
                            depth_multiplier=m, dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    assert [k for k in layer.params] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert layer.params["pointwise_kernel"].shape == (1, 1, cin * m, filters)
    layer.set_weights([r["depthwise_kernel"], r["pointwise_kernel"], r["bias"]])
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], **TOL)
    _check_grads(layer, r, ["depthwise_kernel", "pointwise_kernel", "bias"])


@pytest.mark.parametrize("name", cases("transpose"))
def test_conv2d_transpose_matches_pytorch(name):
    r = case(name)
    cin, filters, kh, kw, sh, sw, d, same, oph, opw, use_bias = (int(v) for v in r["config"])
    output_padding = None if oph < 0 else (oph, opw)
    layer = Conv2DTranspose(filters, (kh, kw), strides=(sh, sw), dilation_rate=d, padding="same" if same else "valid",
                            output_padding=output_padding, use_bias=bool(use_bias), dtype=np.float64)
    layer.build_for(r["x"].shape[1:])
    assert layer.params["kernel"].shape == (kh, kw, filters, cin)
    assert layer.output_shape == r["y"].shape[1:]
    layer.set_weights([r["kernel"], r["bias"]] if use_bias else [r["kernel"]])
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], **TOL)
    _check_grads(layer, r, ["kernel", "bias"] if use_bias else ["kernel"])


@pytest.mark.parametrize("name", cases("upsampling"))
def test_upsampling2d_matches_pytorch(name):
    r = case(name)
    sh, sw, bilinear = (int(v) for v in r["config"])
    layer = UpSampling2D((sh, sw), interpolation="bilinear" if bilinear else "nearest", dtype=np.float64)
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], **TOL)
    np.testing.assert_allclose(layer.backward(r["g"]), r["dx"], **TOL)
