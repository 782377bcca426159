"""Dropout(noise_shape), SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout: statistics of
the seeded noise in training, exact identity in inference, gradient checks, save / load,
ONNX export, errors."""

import numpy as np
import onnxruntime as ort
import pytest

import numnet
from numnet import layers
from numnet.gradient_check import check_layer


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32) + 3.0  # no zeros


def test_dropout_noise_shape_shares_the_draw_along_axes_of_size_one():
    layer = layers.Dropout(0.4, noise_shape=(None, 1, None), seed=3)
    x = _x((200, 6, 5))
    y = layer(x, training=True)
    kept = y != 0
    assert np.all(kept == kept[:, :1, :])  # the same for every step
    np.testing.assert_allclose(y[kept], x[kept] / 0.6, rtol=1e-6)
    assert abs(kept[:, 0, :].mean() - 0.6) < 0.05  # 1000 draws: 4 standard deviations is 0.06
    g = np.ones_like(x)
    np.testing.assert_allclose(layer.backward(g), kept / 0.6, rtol=1e-6)


def test_spatial_dropout_drops_whole_channels():
    x = _x((300, 4, 5, 3))
    y = layers.SpatialDropout2D(0.5, seed=1)(x, training=True)
    zero = (y == 0).reshape(300, -1, 3)
    assert np.all(zero.all(axis=1) | (~zero).all(axis=1))  # a channel is all dropped or all kept
    assert abs(zero[:, 0, :].mean() - 0.5) < 0.06
    first = layers.SpatialDropout2D(0.5, data_format="channels_first", seed=1)(x, training=True)
    zero = (first == 0).reshape(300, 4, -1)
    assert np.all(zero.all(axis=2) | (~zero).all(axis=2))
    seq = layers.SpatialDropout1D(0.3, seed=2)(_x((100, 7, 4)), training=True)
    assert np.all((seq == 0).all(axis=1) | (seq != 0).all(axis=1))
    vol = layers.SpatialDropout3D(0.3, seed=2)(_x((50, 2, 3, 2, 4)), training=True)
    zero = (vol == 0).reshape(50, -1, 4)
    assert np.all(zero.all(axis=1) | (~zero).all(axis=1))


def test_gaussian_noise_statistics_and_seeding():
    x = _x((400, 250))
    layer = layers.GaussianNoise(0.5, seed=7)
    noise = layer(x, training=True) - x
    assert abs(noise.mean()) < 0.005  # 1e5 draws: 4 standard errors is 0.0063 * ... (0.5 / 316 * 4 = 0.0063)
    assert abs(noise.std() - 0.5) < 0.005
    again = layers.GaussianNoise(0.5, seed=7)(x, training=True) - x
    np.testing.assert_array_equal(noise, again)
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 2.0)), np.full_like(x, 2.0))
    assert layer(x, training=True).dtype == np.float32


def test_gaussian_dropout_statistics():
    x = _x((400, 250))
    layer = layers.GaussianDropout(0.2, seed=5)
    factor = layer(x, training=True) / x
    assert abs(factor.mean() - 1.0) < 0.005
    assert abs(factor.std() - np.sqrt(0.2 / 0.8)) < 0.005
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), factor, rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: layers.Dropout(0.5, noise_shape=(None, 1, None), seed=0),
    lambda: layers.SpatialDropout1D(0.5, seed=0),
    lambda: layers.GaussianNoise(1.0, seed=0),
    lambda: layers.GaussianDropout(0.5, seed=0),
])
def test_inference_is_the_identity(make):
    x = _x((4, 3, 2))
    layer = make()
    assert layer(x) is x
    assert layer(x, training=False) is x
    inputs = numnet.Input((3, 2))
    model = numnet.Model(inputs, make()(inputs))
    np.testing.assert_array_equal(model.predict(x), x)


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Dropout(0.3, noise_shape=(None, 1, None), seed=0), (4, 3, 5)),
    (lambda: layers.SpatialDropout1D(0.3, seed=0), (4, 3, 5)),
    (lambda: layers.SpatialDropout2D(0.3, seed=0), (3, 3, 4, 2)),
    (lambda: layers.SpatialDropout2D(0.3, data_format="channels_first", seed=0), (3, 2, 3, 4)),
    (lambda: layers.GaussianNoise(0.7, seed=0), (4, 5)),
    (lambda: layers.GaussianDropout(0.3, seed=0), (4, 5)),
])
def test_gradient_check_in_training(make, shape):
    result = check_layer(make(), _x(shape).astype(np.float64), training=True)
    assert result.passed(1e-6), result.errors  # a wrong mask would be off by O(1)


def test_noise_layers_train_in_a_model():
    rng = np.random.default_rng(0)
    inputs = numnet.Input((8, 3))
    h = layers.SpatialDropout1D(0.2, seed=1)(layers.Dense(4)(inputs))
    h = layers.GaussianNoise(0.1, seed=2)(h)
    out = layers.Dense(1)(layers.GaussianDropout(0.1, seed=3)(layers.Flatten()(h)))
    model = numnet.Model(inputs, out, seed=0)
    model.compile("adam", "mse")
    x, y = rng.normal(size=(64, 8, 3)).astype("f"), rng.normal(size=(64, 1)).astype("f")
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


MODELS = [
    lambda: layers.Dropout(0.5, noise_shape=(None, 1, None), seed=4),
    lambda: layers.SpatialDropout1D(0.25, seed=4),
    lambda: layers.GaussianNoise(0.3, seed=4),
    lambda: layers.GaussianDropout(0.3, seed=4),
]


@pytest.mark.parametrize("make", MODELS)
def test_save_load_and_onnx(make, tmp_path):
    inputs = numnet.Input((3, 4))
    layer = make()
    model = numnet.Model(inputs, layers.Dense(2)(layer(inputs)), seed=0)
    x = _x((5, 3, 4))
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    assert loaded.get_layer(layer.name).get_config() == layer.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    model.export_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-6, atol=1e-6)


def test_spatial_dropout_2d_config_keeps_the_data_format(tmp_path):
    layer = layers.SpatialDropout2D(0.1, data_format="channels_first")
    assert layers.SpatialDropout2D.from_config(layer.get_config()).data_format == "channels_first"


@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.Dropout(0.5, noise_shape=(None, 0)), ValueError, "noise_shape must be None or a tuple"),
    (lambda: layers.Dropout(0.5, noise_shape="all"), ValueError, "noise_shape must be None or a tuple"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="nhwc"), ValueError, "data_format must be"),
    (lambda: layers.SpatialDropout1D(0.5, noise_shape=(None, 1, None)), TypeError, "takes no noise_shape"),
    (lambda: layers.SpatialDropout1D(1.0), ValueError, r"rate must be a number in \[0, 1\)"),
    (lambda: layers.GaussianNoise(-0.1), ValueError, "stddev must be a finite number >= 0"),
    (lambda: layers.GaussianDropout(1.0), ValueError, r"rate must be a number in \[0, 1\)"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_noise_shape_that_does_not_fit_the_input():
    layer = layers.Dropout(0.5, noise_shape=(None, 2, None), seed=0)
    with pytest.raises(ValueError, match=r"does not broadcast to the input's shape \(2, 3, 4\)"):
        layer(_x((2, 3, 4)), training=True)
    with pytest.raises(ValueError, match="noise_shape .* has 3 axes, the input .* has 2"):
        layers.Dropout(0.5, noise_shape=(None, 1, None))(_x((2, 3)), training=True)


def test_spatial_dropout_needs_its_rank():
    layer = layers.SpatialDropout2D(0.5)
    with pytest.raises(ValueError, match=r"expects inputs of 4 axes"):
        layer(numnet.Input((5, 3)))
    assert not layer.built
