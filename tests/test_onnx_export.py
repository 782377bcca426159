"""ONNX export: for every layer kind, the exported graph passes the ONNX checker, runs in
onnxruntime and gives model.predict's outputs within 1e-5 (float32)."""

import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import numnet as nn
from numnet import (
    Activation, Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, GlobalMaxPooling2D, Input, Layer, LayerNormalization, MaxPool2D, Model, Reshape,
    Sequential,
)
from numnet import activation_functions

TOL = 1e-5


def _run(model, x, tmp_path, opset=None, dtype=None):
    path = tmp_path / "model.onnx"
    model.export_onnx(path, opset=opset, dtype=dtype)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    xs = x if isinstance(x, list) else [x]
    feeds = {i.name: np.asarray(v, dtype=dtype or model.dtype) for i, v in zip(session.get_inputs(), xs)}
    (out,) = session.run(None, feeds)
    return proto, out


def _assert_matches(model, x, tmp_path, opset=None):
    _, out = _run(model, x, tmp_path, opset)
    expected = model.predict(x)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=TOL, atol=TOL)


def _x(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def _randomize_normalization(model, seed=1):
    """Non-trivial gamma, beta and moving statistics, so the test can tell them apart."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for store in (layer.params, layer.buffers):
            for key, value in store.items():
                if key in ("gamma", "beta", "moving_mean"):
                    value[...] = rng.normal(size=value.shape)
                elif key == "moving_variance":
                    value[...] = rng.uniform(0.5, 2.0, size=value.shape)


ACTIVATIONS = [name for name in activation_functions.NAMES if name != "swish"]


@pytest.mark.parametrize("opset", [13, 17, 20])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_every_activation_on_3d_inputs(tmp_path, activation, opset):
    nn.set_seed(0)
    model = Sequential([Input((3, 5)), Dense(4, activation=activation)])  # Dense over the last axis
    _assert_matches(model, _x((7, 3, 5), scale=2.0), tmp_path, opset)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layers(tmp_path, activation):
    model = Sequential([Input((6,)), Activation(activation)])
    _assert_matches(model, _x((5, 6), scale=3.0), tmp_path)


def test_dense_without_bias(tmp_path):
    model = Sequential([Input((4,)), Dense(3, use_bias=False, activation="relu")])
    _assert_matches(model, _x((5, 4)), tmp_path)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "kwargs",
    [{"kernel_size": 3}, {"kernel_size": (2, 3), "strides": 2}, {"kernel_size": 3, "dilation_rate": 2},
     {"kernel_size": (3, 1), "strides": (1, 2), "use_bias": False}],
)
def test_conv2d(tmp_path, padding, kwargs):
    nn.set_seed(0)
    # Height 8, width 9 with stride 2 give asymmetric "same" padding (extra row / column last).
    model = Sequential([Input((8, 9, 3)), Conv2D(4, padding=padding, activation="tanh", **kwargs)])
    _assert_matches(model, _x((2, 8, 9, 3)), tmp_path)


@pytest.mark.parametrize("layer_cls", [MaxPool2D, AveragePooling2D])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool, strides", [(2, None), (3, 2), ((2, 3), (1, 2))])
def test_pooling(tmp_path, layer_cls, padding, pool, strides):
    model = Sequential([Input((7, 8, 2)), layer_cls(pool, strides=strides, padding=padding)])
    x = _x((3, 7, 8, 2))
    if layer_cls is MaxPool2D:
        x = x - 5.0  # all negative: zero padding would win a max, ONNX's -inf padding must not
    _assert_matches(model, x, tmp_path)


@pytest.mark.parametrize("layer_cls", [GlobalAveragePooling2D, GlobalMaxPooling2D])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("opset", [13, 18])
def test_global_pooling(tmp_path, layer_cls, keepdims, opset):
    model = Sequential([Input((5, 6, 3)), layer_cls(keepdims=keepdims)])
    _assert_matches(model, _x((4, 5, 6, 3)), tmp_path, opset)


def test_flatten_keeps_numnets_channels_last_order(tmp_path):
    """A Dense after Flatten only matches if the graph flattens (H, W, C) as numnet does."""
    nn.set_seed(0)
    model = Sequential([Input((4, 5, 3)), Conv2D(2, 3, padding="same"), Flatten(), Dense(6)])
    _assert_matches(model, _x((3, 4, 5, 3)), tmp_path)
    identity = Sequential([Input((2, 3, 4)), Flatten()])
    x = _x((2, 2, 3, 4))
    _, out = _run(identity, x, tmp_path)
    np.testing.assert_array_equal(out, x.reshape(2, -1))


@pytest.mark.parametrize("target", [(6, 4), (-1, 2), (24,), (2, -1, 3)])
def test_reshape(tmp_path, target):
    model = Sequential([Input((4, 6)), Reshape(target), Dense(3)])
    _assert_matches(model, _x((5, 4, 6)), tmp_path)


def test_dropout_is_identity_at_inference(tmp_path):
    model = Sequential([Input((5,)), Dropout(0.5), Dense(2)])
    _assert_matches(model, _x((4, 5)), tmp_path)


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False), (False, False)])
def test_batch_normalization_inference(tmp_path, center, scale):
    model = Sequential([Input((4, 5, 3)), BatchNormalization(center=center, scale=scale),
                        Flatten(), BatchNormalization(axis=-1, epsilon=0.01)])
    _randomize_normalization(model)
    _assert_matches(model, _x((6, 4, 5, 3)), tmp_path)


def test_batch_normalization_after_training(tmp_path):
    nn.set_seed(0)
    model = Sequential([Input((4, 4, 2)), Conv2D(3, 2), BatchNormalization(momentum=0.5), Flatten(), Dense(2)])
    model.compile(loss="mse", optimizer="adam")
    x = _x((16, 4, 4, 2))
    model.fit(x, _x((16, 2), seed=3), epochs=2, batch_size=4, verbose=0)
    _assert_matches(model, x, tmp_path)


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("axis", [-1, 1, [2, 3], [1, 2, 3]])
@pytest.mark.parametrize("center, scale", [(True, True), (False, False)])
def test_layer_normalization(tmp_path, opset, axis, center, scale):
    model = Sequential([Input((3, 4, 5)), LayerNormalization(axis=axis, center=center, scale=scale, epsilon=1e-3)])
    _randomize_normalization(model)
    _assert_matches(model, _x((4, 3, 4, 5), scale=3.0), tmp_path, opset)


def test_merge_layers_and_several_inputs(tmp_path):
    nn.set_seed(0)
    a, b = Input((4,), name="left"), Input((4,), name="right")
    h = Add()([Dense(4, activation="relu")(a), b, a])
    out = Concatenate()([h, Activation("gelu")(b), Dense(2)(a)])
    model = Model([a, b], out, name="two_inputs")
    proto, _ = _run(model, [_x((3, 4)), _x((3, 4), 1)], tmp_path)
    assert [i.name for i in proto.graph.input] == ["left", "right"]
    _assert_matches(model, [_x((3, 4)), _x((3, 4), 1)], tmp_path)


def test_concatenate_on_a_spatial_axis(tmp_path):
    a = Input((3, 4, 2))
    model = Model(a, Concatenate(axis=2)([Conv2D(2, 1)(a), a]))
    _assert_matches(model, _x((2, 3, 4, 2)), tmp_path)


def test_a_cnn_with_every_layer_kind(tmp_path):
    nn.set_seed(0)
    image = Input((12, 12, 1), name="image")
    c = Conv2D(4, 3, padding="same", activation="relu")(image)
    c = BatchNormalization()(c)
    c = MaxPool2D(2)(c)
    c = AveragePooling2D(3, strides=2, padding="same")(Conv2D(6, 3, strides=1, activation="selu")(c))
    g = Add()([GlobalAveragePooling2D()(c), GlobalMaxPooling2D()(c)])
    f = LayerNormalization()(Dense(8, activation="silu")(Dropout(0.3)(Flatten()(c))))
    out = Dense(10, activation="softmax", name="probabilities")(Concatenate()([f, g]))
    model = Model(image, out)
    _randomize_normalization(model)
    x = _x((5, 12, 12, 1))
    _assert_matches(model, x, tmp_path)
    proto, _ = _run(model, x, tmp_path)
    assert proto.graph.output[0].name == "probabilities"


def test_batch_dimension_is_symbolic(tmp_path):
    model = Sequential([Input((4,)), Dense(3)])
    proto, _ = _run(model, _x((2, 4)), tmp_path)
    for value, size in ((proto.graph.input[0], 4), (proto.graph.output[0], 3)):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [size]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 17):
        x = _x((n, 4))
        (out,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(out, model.predict(x), rtol=TOL, atol=TOL)


def test_float64_models_export_as_double_or_as_float32(tmp_path):
    nn.set_seed(0)
    dense = Sequential([Input((4,)), Dense(3, activation="tanh")], dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 4))
    _, out = _run(dense, x, tmp_path)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, dense.predict(x), rtol=1e-12, atol=1e-12)

    # onnxruntime has no float64 Conv / pooling kernels: such models export as float32.
    cnn = Sequential([Input((6, 6, 2)), Conv2D(3, 3, padding="same"), MaxPool2D(), Flatten(), Dense(2)],
                     dtype="float64")
    images = _x((2, 6, 6, 2))
    _, out = _run(cnn, images, tmp_path, dtype="float32")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, cnn.predict(images), rtol=TOL, atol=TOL)


def test_bad_opset_and_unknown_layers_are_refused(tmp_path):
    model = Sequential([Input((4,)), Dense(3)])
    for opset in (7, 10_000, "17"):
        with pytest.raises(ValueError, match="opset"):
            model.export_onnx(tmp_path / "m.onnx", opset=opset)

    class Custom(Layer):
        def forward(self, input):
            return input

    x = Input((4,))
    with pytest.raises(ValueError, match="no ONNX conversion for Custom"):
        Model(x, Custom()(x)).export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_missing_onnx_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model = Sequential([Input((4,)), Dense(3)])
    with pytest.raises(ImportError, match=r"pip install numnet\[onnx\]"):
        model.export_onnx(tmp_path / "m.onnx")
