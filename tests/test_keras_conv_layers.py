"""Conv2D(groups), DepthwiseConv2D, SeparableConv2D, Conv2DTranspose: gradient checks,
Keras's weight layouts and output sizes, shared calls, save / load, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Flatten, Input, Model, Sequential
from numnet.gradient_check import check_layer
from numnet.layers import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D


def _x(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Conv2D(6, 3, groups=2),
        lambda: Conv2D(4, (3, 2), strides=2, padding="same", groups=4, activation="tanh"),
        lambda: Conv2D(2, 2, dilation_rate=2, padding="same", groups=2, use_bias=False),
        lambda: DepthwiseConv2D(3),
        lambda: DepthwiseConv2D((2, 3), strides=(2, 1), padding="same", depth_multiplier=3, activation="sigmoid"),
        lambda: DepthwiseConv2D(2, dilation_rate=2, use_bias=False),
        lambda: SeparableConv2D(5, 3),
        lambda: SeparableConv2D(3, (3, 2), strides=2, padding="same", depth_multiplier=2, activation="tanh"),
        lambda: SeparableConv2D(2, 2, dilation_rate=(2, 1), use_bias=False),
        lambda: Conv2DTranspose(3, 3),
        lambda: Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh"),
        lambda: Conv2DTranspose(2, (2, 3), strides=(3, 2), output_padding=(1, 1)),
        lambda: Conv2DTranspose(3, 3, strides=2, dilation_rate=2, padding="same", output_padding=1, use_bias=False),
    ],
)
def test_conv_variant_gradients_match_finite_differences(make):
    layer = make()
    layer.seed = 0
    result = check_layer(layer, _x((2, 6, 5, 4)))
    assert result.max_relative_error < 1e-6, result.errors
    assert {f"param:{k}" for k in layer.params} | {"input:0"} == set(result.errors)


@pytest.mark.parametrize(
    "layer, weights",
    [
        (Conv2D(6, (3, 2), groups=3), {"kernel": (3, 2, 2, 6), "bias": (6,)}),
        (DepthwiseConv2D((3, 2), depth_multiplier=2), {"depthwise_kernel": (3, 2, 6, 2), "bias": (12,)}),
        (SeparableConv2D(5, 3, depth_multiplier=2),
         {"depthwise_kernel": (3, 3, 6, 2), "pointwise_kernel": (1, 1, 12, 5), "bias": (5,)}),
        (Conv2DTranspose(5, (3, 2)), {"kernel": (3, 2, 5, 6), "bias": (5,)}),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Layer) else "",
)
def test_weights_have_keras_names_order_and_layouts(layer, weights):
    layer.build_for((8, 8, 6))
    assert {k: v.shape for k, v in layer.params.items()} == weights
    assert list(layer.params) == list(weights)


@pytest.mark.parametrize(
    "kwargs, size, expected",
    [
        (dict(kernel_size=3), 5, 7), (dict(kernel_size=3, strides=2), 5, 11), (dict(kernel_size=2, strides=3), 5, 15),
        (dict(kernel_size=3, strides=2, padding="same"), 5, 10), (dict(kernel_size=4, strides=2, padding="same"), 5, 10),
        (dict(kernel_size=3, strides=2, padding="same", output_padding=1), 5, 10),
        (dict(kernel_size=3, strides=2, padding="same", output_padding=0), 5, 9),
        (dict(kernel_size=3, strides=2, output_padding=1), 5, 12),
        (dict(kernel_size=3, strides=1, dilation_rate=2), 5, 9),
    ],
)
def test_conv2d_transpose_output_size_follows_keras(kwargs, size, expected):
    layer = Conv2DTranspose(2, **kwargs)
    y = layer.forward(np.zeros((1, size, size, 3), np.float32))
    assert y.shape == (1, expected, expected, 2) and layer.output_shape == (expected, expected, 2)


def test_conv2d_transpose_is_the_adjoint_of_the_strided_conv2d():
    # <conv(u), v> == <u, conv_transpose(v)> for the same kernel, "same" padding, stride 2.
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 4, 2))  # Conv2D: (kh, kw, in=4, out=2)
    conv = Conv2D(2, 3, strides=2, padding="same", use_bias=False, dtype=np.float64)
    conv.build_for((8, 8, 4))
    conv.set_weights([kernel])
    transpose = Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False, dtype=np.float64)
    transpose.build_for((4, 4, 2))
    transpose.set_weights([kernel])  # Conv2DTranspose: (kh, kw, filters=4, in=2), the same array
    u, v = rng.standard_normal((2, 8, 8, 4)), rng.standard_normal((2, 4, 4, 2))
    np.testing.assert_allclose(np.sum(conv.forward(u) * v), np.sum(u * transpose.forward(v)), rtol=1e-12)


def test_depthwise_with_one_multiplier_equals_a_conv2d_with_groups_equal_to_channels():
    x = _x((2, 6, 6, 3)).astype(np.float32)
    depthwise = DepthwiseConv2D(3, padding="same", seed=1, bias_initializer="random_normal")
    y = depthwise.forward(x)
    grouped = Conv2D(3, 3, padding="same", groups=3)
    grouped.build_for((6, 6, 3))
    grouped.set_weights([depthwise.params["depthwise_kernel"].reshape(3, 3, 1, 3), depthwise.params["bias"]])
    np.testing.assert_allclose(grouped.forward(x), y, rtol=1e-5, atol=1e-6)


def test_grouped_conv_training_and_inference_agree_in_float32():
    layer = Conv2D(4, 3, groups=2, activation="relu", seed=0)
    x = _x((3, 7, 7, 6)).astype(np.float32)
    y_train = layer.forward(x, training=True)
    y_infer = layer.forward(x)
    assert y_train.dtype == y_infer.dtype == np.float32
    np.testing.assert_array_equal(y_train, y_infer)


@pytest.mark.parametrize(
    "layer",
    [Conv2D(4, 3, groups=2, strides=2, padding="same", activation="relu"),
     DepthwiseConv2D((3, 2), depth_multiplier=2, dilation_rate=2, depthwise_initializer="he_normal"),
     SeparableConv2D(3, 2, padding="same", pointwise_initializer="ones", use_bias=False),
     Conv2DTranspose(2, 3, strides=2, output_padding=1, activation="tanh")],
    ids=lambda l: type(l).__name__,
)
def test_conv_variant_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_a_model_with_every_conv_variant_trains_saves_and_loads_exactly(tmp_path):
    nn.set_seed(0)
    image = Input((8, 8, 4), name="image")
    shared = SeparableConv2D(4, 3, padding="same", activation="relu")
    a = shared(Conv2D(4, 3, padding="same", groups=2, activation="relu")(image))
    b = shared(DepthwiseConv2D(3, padding="same", activation="relu")(image))  # a second call: shared weights
    c = nn.Add()([a, b])
    c = Conv2DTranspose(2, 3, strides=2, padding="same")(Conv2D(4, 3, strides=2, padding="same")(c))
    out = Dense(3, activation="softmax")(Flatten()(c))
    model = Model(image, out)
    x = _x((16, 8, 8, 4)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 3, 16)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert model.evaluate(x, y) < before
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_shared_separable_conv_gradients_are_the_sum_of_its_calls():
    nn.set_seed(1)
    x1, x2 = Input((5, 5, 2)), Input((5, 5, 2))
    shared = SeparableConv2D(2, 3, depth_multiplier=2, dtype=np.float64)
    model = Model([x1, x2], nn.Add()([shared(x1), shared(x2)]), dtype="float64")
    u, v = _x((2, 5, 5, 2), 3), _x((2, 5, 5, 2), 4)
    g = _x((2, 3, 3, 2), 5)
    alone = SeparableConv2D(2, 3, depth_multiplier=2, dtype=np.float64)
    alone.build_for((5, 5, 2))
    alone.set_weights(shared.get_weights())
    expected = {}
    for data in (u, v):
        alone.forward(data)
        alone.backward(g)
        for k, grad in alone.grads.items():
            expected[k] = expected.get(k, 0) + grad
    from numnet.ops import GradientTape, Tensor

    with GradientTape() as tape:
        total = nn.ops.sum(model([Tensor(u), Tensor(v)]) * Tensor(g))
    grads = tape.gradient(total, shared.trainable_variables)
    for variable, grad in zip(shared.trainable_variables, grads):
        name = variable.name.split("/")[-1]
        np.testing.assert_allclose(grad.numpy(), expected[name], rtol=1e-10)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Conv2D(5, 3, groups=2), ValueError, r"filters \(5\) must be a multiple of groups \(2\)"),
        (lambda: Conv2D(4, 3, groups=0), ValueError, "groups must be a positive integer"),
        (lambda: DepthwiseConv2D(3, depth_multiplier=0), ValueError, "depth_multiplier must be a positive integer"),
        (lambda: DepthwiseConv2D(3, padding="full"), ValueError, "padding must be 'valid' or 'same'"),
        (lambda: SeparableConv2D(0, 3), ValueError, "filters must be a positive integer"),
        (lambda: SeparableConv2D(2, 3, use_bias=1), TypeError, "use_bias must be True or False"),
        (lambda: Conv2DTranspose(2, 3, strides=2, output_padding=2), ValueError,
         r"output_padding \(2, 2\) must be smaller than strides \(2, 2\)"),
        (lambda: Conv2DTranspose(2, 3, output_padding=-1), ValueError, "output_padding must be None"),
        (lambda: Conv2DTranspose(2, (3, 3, 3)), ValueError, "kernel_size must be a positive integer or a pair"),
        (lambda: Conv2D(4, 3, data_format="NCHW"), ValueError, "data_format must be 'channels_last' or"),
    ],
)
def test_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_input_errors_change_nothing():
    layer = Conv2D(4, 3, groups=2)
    with pytest.raises(ValueError, match="3 channels are not a multiple of groups"):
        layer.forward(np.zeros((1, 5, 5, 3), np.float32))
    assert not layer.built and layer.params == {}
    depthwise = DepthwiseConv2D(3)
    depthwise.forward(np.zeros((1, 5, 5, 2), np.float32))
    kernel = depthwise.params["depthwise_kernel"].copy()
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, 2\)"):
        depthwise.forward(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="the kernel spans 3x3 pixels"):
        depthwise.forward(np.zeros((1, 2, 2, 2), np.float32))
    np.testing.assert_array_equal(depthwise.params["depthwise_kernel"], kernel)
    transpose = Conv2DTranspose(2, 3)
    with pytest.raises(RuntimeError, match="call forward"):
        transpose.backward(np.zeros((1, 3, 3, 2)))
    with pytest.raises(RuntimeError, match="call forward"):
        SeparableConv2D(2, 3).backward(np.zeros((1, 3, 3, 2)))


def test_sequential_of_conv_variants_builds_from_input():
    model = Sequential([Input((6, 6, 2)), DepthwiseConv2D(3, depth_multiplier=2), SeparableConv2D(3, 2),
                        Conv2DTranspose(2, 2, strides=2), Conv2D(4, 1, groups=2)])
    assert model.output_shape == (6, 6, 4)
    assert model.predict(np.ones((2, 6, 6, 2), np.float32)).shape == (2, 6, 6, 4)
