"""UpSampling2D, ZeroPadding2D, Cropping2D: values, gradient checks, shapes, save / load, errors."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Input, Model
from numnet.gradient_check import check_layer
from numnet.layers import Conv2D, Cropping2D, UpSampling2D, ZeroPadding2D


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(
    "layer",
    [UpSampling2D(), UpSampling2D((2, 3)), UpSampling2D((3, 2), interpolation="bilinear"),
     UpSampling2D(1, interpolation="bilinear"), ZeroPadding2D(), ZeroPadding2D((1, 2)), ZeroPadding2D(((0, 2), (3, 1))),
     Cropping2D(1), Cropping2D((1, 0)), Cropping2D(((0, 2), (1, 1)))],
    ids=lambda l: f"{type(l).__name__}",
)
def test_gradients_match_finite_differences(layer):
    result = check_layer(layer, _x((2, 5, 4, 3)))
    assert result.max_relative_error < 1e-6, result.errors


def test_upsampling_nearest_repeats_rows_and_columns_as_keras_documents():
    # Keras's example: input_shape (2, 2, 1, 3), size (1, 2).
    x = np.arange(12, dtype=np.float64).reshape(2, 2, 1, 3)
    y = UpSampling2D(size=(1, 2))(x)
    np.testing.assert_array_equal(y, [[[[0, 1, 2], [0, 1, 2]], [[3, 4, 5], [3, 4, 5]]],
                                      [[[6, 7, 8], [6, 7, 8]], [[9, 10, 11], [9, 10, 11]]]])


def test_upsampling_bilinear_uses_half_pixel_centres():
    # One row [0, 4], doubled: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    x = np.array([0.0, 4.0]).reshape(1, 1, 2, 1)
    y = UpSampling2D((1, 2), interpolation="bilinear")(x)
    np.testing.assert_allclose(y.ravel(), [0.0, 1.0, 3.0, 4.0])


def test_padding_and_cropping_values():
    x = np.arange(6, dtype=np.float64).reshape(1, 2, 3, 1)
    y = ZeroPadding2D(((1, 0), (0, 2)))(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 0, 0, 0, 0], [0, 1, 2, 0, 0], [3, 4, 5, 0, 0]])
    np.testing.assert_array_equal(Cropping2D(((1, 0), (0, 2)))(y), x)
    np.testing.assert_array_equal(Cropping2D((0, 1))(x)[0, :, :, 0], [[1], [4]])


@pytest.mark.parametrize(
    "layer, expected",
    [(UpSampling2D((2, 3)), (10, 12, 3)), (ZeroPadding2D(2), (9, 8, 3)), (ZeroPadding2D((1, 0)), (7, 4, 3)),
     (Cropping2D(((1, 2), (0, 3))), (2, 1, 3))],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Layer) else "",
)
def test_output_shapes(layer, expected):
    assert layer(Input((5, 4, 3))).shape == (None, *expected)
    assert layer.forward(np.zeros((2, 5, 4, 3))).shape == (2, *expected)


def test_a_unet_like_model_trains_saves_and_loads(tmp_path):
    nn.set_seed(0)
    image = Input((8, 8, 1))
    down = Conv2D(4, 3, strides=2, padding="same", activation="relu")(ZeroPadding2D(1)(Cropping2D(1)(image)))
    up = UpSampling2D(interpolation="bilinear")(down)
    out = Conv2D(1, 3, padding="same")(nn.Concatenate()([up, UpSampling2D()(down), image]))
    model = Model(image, out)
    x = _x((8, 8, 8, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, x)
    model.fit(x, x, epochs=5, batch_size=4, verbose=0)
    assert model.evaluate(x, x) < before
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: UpSampling2D(0), "size must be a positive integer"),
        (lambda: UpSampling2D(interpolation="bicubic"), "interpolation must be 'nearest' or 'bilinear'"),
        (lambda: ZeroPadding2D(-1), "padding must be a non-negative integer"),
        (lambda: ZeroPadding2D((1, 2, 3)), "padding must be a non-negative integer"),
        (lambda: Cropping2D(((1, 2), (3,))), "cropping must be a non-negative integer"),
        (lambda: Cropping2D(1.5), "cropping must be a non-negative integer"),
    ],
)
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_input_errors_change_nothing():
    layer = Cropping2D(((2, 1), (0, 0)))
    with pytest.raises(ValueError, match="leaves nothing of an input of 3x4 pixels"):
        layer.forward(np.zeros((1, 3, 4, 2)))
    assert not layer.built and layer._x_shape is None
    with pytest.raises(ValueError, match="leaves nothing"):
        layer(Input((3, 4, 2)))
    assert layer._inbound_nodes == []
    padding = ZeroPadding2D(1)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, C\)"):
        padding.forward(np.zeros((1, 3, 4)))
    assert padding._x_shape is None
    with pytest.raises(RuntimeError, match="call forward"):
        UpSampling2D().backward(np.zeros((1, 2, 2, 1)))


@pytest.mark.parametrize("layer", [UpSampling2D((2, 3), interpolation="bilinear"), ZeroPadding2D(((0, 1), (2, 3))),
                                   Cropping2D(((1, 0), (0, 1)))], ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
