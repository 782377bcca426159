"""ONNX export of the Keras 3 merge, convolution and 2-D reshaping layers and of
channels-first layers: the graph passes the checker, runs in onnxruntime and gives
model.predict's outputs within 1e-5 (float32)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import numnet as nn
from numnet import Dense, Input, Model, Sequential
from numnet.layers import (
    AveragePooling2D, Average, Conv2D, Conv2DTranspose, Cropping2D, DepthwiseConv2D, Dot, GlobalAveragePooling2D,
    GlobalMaxPooling2D, MaxPooling2D, Maximum, Minimum, Multiply, SeparableConv2D, Subtract, UpSampling2D,
    ZeroPadding2D,
)

TOL = 1e-5


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _assert_matches(model, x, tmp_path, opset=None):
    path = tmp_path / "model.onnx"
    model.export_onnx(path, opset=opset)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    xs = x if isinstance(x, list) else [x]
    (out,) = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), xs)})
    expected = model.predict(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=TOL, atol=TOL)
    return proto


@pytest.mark.parametrize("opset", [13, 17])
def test_elementwise_merges_and_dot(tmp_path, opset):
    nn.set_seed(0)
    a, b, c = Input((4,)), Input((4,)), Input((4,))
    h = Subtract()([Multiply()([a, b, c]), Average()([a, b, c])])
    h = Minimum()([Maximum()([h, a, b]), c])
    seq1, seq2 = nn.Reshape((2, 2))(h), nn.Reshape((2, 2))(b)
    d = nn.Flatten()(Dot(axes=(1, 2))([seq1, seq2]))
    out = nn.Concatenate()([h, d, Dot(axes=1)([a, c]), Dot(axes=1, normalize=True)([h, b]),
                            nn.Flatten()(Dot(axes=2, normalize=True)([seq1, seq2]))])
    model = Model([a, b, c], out)
    proto = _assert_matches(model, [_x((3, 4), i) for i in range(3)], tmp_path, opset)
    ops = {n.op_type for n in proto.graph.node}
    assert {"Mul", "Sub", "Mean", "Max", "Min", "Einsum"} <= ops


@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(6, 3, groups=3, padding="same", activation="relu"),
        Conv2D(4, (3, 2), strides=2, groups=2),
        DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="tanh"),
        DepthwiseConv2D((2, 3), strides=2, dilation_rate=1, use_bias=False),
        SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2),
        SeparableConv2D(3, 2, dilation_rate=2, use_bias=False, activation="sigmoid"),
        Conv2DTranspose(3, 3, strides=2, padding="same"),
        Conv2DTranspose(2, 2, strides=3),
        Conv2DTranspose(3, (3, 4), strides=2, padding="same", output_padding=(1, 0), activation="relu"),
        Conv2DTranspose(2, 3, strides=2, output_padding=1, dilation_rate=2, use_bias=False),
        UpSampling2D((2, 3)),
        UpSampling2D((3, 2), interpolation="bilinear"),
        ZeroPadding2D(((1, 0), (2, 3))),
        Cropping2D(((1, 2), (0, 1))),
    ],
    ids=lambda l: type(l).__name__,
)
def test_conv_and_reshaping_layers(tmp_path, layer):
    nn.set_seed(1)
    model = Sequential([Input((7, 6, 6)), layer])
    for key, value in layer.params.items():
        if key == "bias":
            value[...] = _x(value.shape, 5)
    proto = _assert_matches(model, _x((2, 7, 6, 6)), tmp_path)
    expected_op = {"Conv2D": "Conv", "DepthwiseConv2D": "Conv", "SeparableConv2D": "Conv",
                   "Conv2DTranspose": "ConvTranspose", "UpSampling2D": "Resize", "ZeroPadding2D": "Pad",
                   "Cropping2D": "Slice"}[type(layer).__name__]
    assert expected_op in {n.op_type for n in proto.graph.node}


def test_a_channels_first_cnn_exports_without_transposes(tmp_path):
    nn.set_seed(2)
    cf = dict(data_format="channels_first")
    image = Input((3, 8, 8))
    c = Conv2D(4, 3, padding="same", activation="relu", **cf)(image)
    c = MaxPooling2D(2, **cf)(c)
    c = AveragePooling2D(3, strides=1, padding="same", **cf)(DepthwiseConv2D(3, padding="same", **cf)(c))
    c = Conv2DTranspose(4, 2, strides=2, **cf)(SeparableConv2D(4, 3, **cf)(ZeroPadding2D(1, **cf)(c)))
    c = UpSampling2D(interpolation="bilinear", **cf)(Cropping2D(1, **cf)(c))
    g = nn.Add()([GlobalAveragePooling2D(**cf)(c), GlobalMaxPooling2D(**cf)(c)])
    model = Model(image, Dense(2)(g))
    proto = _assert_matches(model, _x((2, 3, 8, 8)), tmp_path)
    assert "Transpose" not in {n.op_type for n in proto.graph.node}
