"""data_format="channels_first" on the convolution, pooling and 2-D reshaping layers: the same
numbers as channels last with the channel axis moved, gradient checks, models, save / load."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Model
from numnet.gradient_check import check_layer
from numnet.layers.layer import call_forward
from numnet.layers import (
    AveragePooling1D, AveragePooling2D, Conv1D, Conv2D, Conv2DTranspose, Cropping2D, DepthwiseConv2D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
    MaxPooling2D, SeparableConv2D, UpSampling2D, ZeroPadding2D,
)

LAYERS_2D = [
    (Conv2D, dict(filters=4, kernel_size=3, strides=2, padding="same", activation="tanh")),
    (Conv2D, dict(filters=4, kernel_size=(3, 2), groups=2, activation="relu")),
    (DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2, padding="same")),
    (SeparableConv2D, dict(filters=3, kernel_size=2, strides=2, activation="sigmoid")),
    (Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same")),
    (MaxPooling2D, dict(pool_size=2)),
    (MaxPooling2D, dict(pool_size=3, strides=1, padding="same")),
    (AveragePooling2D, dict(pool_size=2, strides=1, padding="same")),
    (GlobalAveragePooling2D, dict()),
    (GlobalMaxPooling2D, dict(keepdims=True)),
    (UpSampling2D, dict(size=(2, 3), interpolation="bilinear")),
    (ZeroPadding2D, dict(padding=((1, 0), (2, 1)))),
    (Cropping2D, dict(cropping=((1, 0), (0, 2)))),
]
LAYERS_1D = [
    (Conv1D, dict(filters=3, kernel_size=3, padding="causal", activation="tanh")),
    (Conv1D, dict(filters=2, kernel_size=2, strides=2)),
    (MaxPooling1D, dict(pool_size=2)),
    (AveragePooling1D, dict(pool_size=3, strides=1, padding="same")),
    (GlobalAveragePooling1D, dict()),
    (GlobalMaxPooling1D, dict(keepdims=True)),
]


def _pair(cls, kwargs, shape_last):
    """The same layer channels last and channels first, with the same weights."""
    last = cls(**kwargs, dtype=np.float64, seed=3)
    first = cls(**kwargs, data_format="channels_first", dtype=np.float64)
    last.build_for(shape_last)
    first.build_for(shape_last[-1:] + shape_last[:-1])
    first.set_weights(last.get_weights())
    return last, first


def _ids(case):
    cls, kwargs = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", LAYERS_2D + LAYERS_1D, ids=_ids)
def test_channels_first_is_channels_last_with_the_channel_axis_moved(case):
    cls, kwargs = case
    shape_last = (7, 6, 4) if case in LAYERS_2D else (9, 4)
    last, first = _pair(cls, kwargs, shape_last)
    x = np.random.default_rng(0).standard_normal((2, *shape_last))
    x_first = np.moveaxis(x, -1, 1)
    y_last, y_first = call_forward(last, x, training=True), call_forward(first, x_first, training=True)
    moved = np.moveaxis(y_last, -1, 1) if y_last.ndim == x.ndim else y_last
    assert y_first.shape == moved.shape
    assert first.output_shape == moved.shape[1:] and first.input_shape == x_first.shape[1:]
    np.testing.assert_allclose(y_first, moved, rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y_last.shape)
    g_first = np.moveaxis(g, -1, 1) if g.ndim == x.ndim else g
    np.testing.assert_allclose(first.backward(g_first), np.moveaxis(last.backward(g), -1, 1), rtol=1e-12, atol=1e-12)
    for key in last.grads:
        np.testing.assert_allclose(first.grads[key], last.grads[key], rtol=1e-12, atol=1e-12)
    assert first.get_config()["data_format"] == "channels_first"
    assert type(first).from_config(first.get_config()).get_config() == first.get_config()


@pytest.mark.parametrize("case", LAYERS_2D + LAYERS_1D, ids=_ids)
def test_channels_first_gradients_match_finite_differences(case):
    cls, kwargs = case
    shape = (2, 4, 7, 6) if case in LAYERS_2D else (2, 4, 9)
    layer = cls(**kwargs, data_format="channels_first", seed=0)
    result = check_layer(layer, np.random.default_rng(2).standard_normal(shape))
    assert result.max_relative_error < 1e-6, result.errors


def _cnn(data_format, shape):
    nn.set_seed(0)
    image = Input(shape)
    c = Conv2D(4, 3, padding="same", activation="relu", data_format=data_format, name="conv")(image)
    c = MaxPooling2D(2, data_format=data_format)(c)
    c = SeparableConv2D(4, 3, padding="same", activation="relu", data_format=data_format, name="sep")(c)
    c = UpSampling2D(data_format=data_format)(c)
    out = Dense(3, activation="softmax", name="dense")(GlobalAveragePooling2D(data_format=data_format)(c))
    model = Model(image, out, dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_a_channels_first_model_trains_like_the_channels_last_one(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 8, 8, 2)), rng.integers(0, 3, 12)
    last, first = _cnn("channels_last", (8, 8, 2)), _cnn("channels_first", (2, 8, 8))
    first.set_weights(last.get_weights())
    x_first = np.moveaxis(x, -1, 1)
    np.testing.assert_allclose(first.predict(x_first), last.predict(x), rtol=1e-12)
    last.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    first.fit(x_first, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(first.get_weights(), last.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    first.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert loaded.layers[1].data_format == "channels_first"
    np.testing.assert_array_equal(loaded.predict(x_first), first.predict(x_first))


def test_channels_first_symbolic_shapes():
    x = Input((3, 10, 8))
    assert Conv2D(5, 3, data_format="channels_first")(x).shape == (None, 5, 8, 6)
    assert Conv2DTranspose(2, 2, strides=2, data_format="channels_first")(x).shape == (None, 2, 20, 16)
    assert GlobalMaxPooling2D(data_format="channels_first", keepdims=True)(x).shape == (None, 3, 1, 1)
    assert Conv1D(4, 3, data_format="channels_first")(Input((2, None))).shape == (None, 4, None)


def test_keras_argument_order_and_the_former_keepdims_first_order():
    assert GlobalAveragePooling2D("channels_first").data_format == "channels_first"
    legacy = GlobalAveragePooling2D(True)
    assert legacy.keepdims is True and legacy.data_format == "channels_last"
    assert GlobalMaxPooling1D(True).keepdims is True


@pytest.mark.parametrize("cls, shape", [(Conv2D, (2, 3, 6, 5)), (Conv1D, (2, 3, 7))])
def test_a_channels_first_softmax_runs_over_the_last_axis_as_in_keras(cls, shape):
    plain = cls(4, 3, data_format="channels_first", seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal(shape)
    z = plain.forward(x)
    softmax = cls(4, 3, data_format="channels_first", activation="softmax", dtype=np.float64)
    softmax.build_for(shape[1:])
    softmax.set_weights(plain.get_weights())
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(softmax.forward(x), e / e.sum(axis=-1, keepdims=True), rtol=1e-12)
    result = check_layer(softmax, x)
    assert result.errors["param:kernel"] < 1e-6 and result.errors["input:0"] < 1e-6, result.errors
    # A per-channel bias is constant along the width, which the softmax normalises: its
    # gradient is exactly 0 (relative errors of rounding noise say nothing there).
    softmax.forward(x)
    softmax.backward(np.random.default_rng(1).standard_normal(z.shape))
    assert np.abs(softmax.grads["bias"]).max() < 1e-12


def test_errors():
    with pytest.raises(ValueError, match="data_format must be 'channels_last' or 'channels_first'"):
        MaxPooling2D(data_format="NCHW")
    layer = Conv2D(3, 3, data_format="channels_first")
    layer.forward(np.zeros((1, 2, 5, 5)))
    kernel = layer.params["kernel"].copy()
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, 2, H, W\) \(channels first\), got \(N, 5, 5, 2\)"):
        layer.forward(np.zeros((1, 5, 5, 2)))
    np.testing.assert_array_equal(layer.params["kernel"], kernel)
