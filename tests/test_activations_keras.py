"""Keras 3's activation arguments and the public ``numnet.activations`` module: values,
gradient checks of the parameterised forms, callables in place of names."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from numnet import activation_functions as af
from numnet import activations
from numnet.gradient_check import check_layer
from numnet.layers.layer import Layer

X = np.array([-3.0, -1.5, -0.5, 0.25, 1.0, 2.0, 7.0])


def test_relu_arguments_follow_keras():
    # Keras: max_value for x >= max_value, x for threshold <= x < max_value,
    # negative_slope * (x - threshold) otherwise
    np.testing.assert_allclose(af.relu(X, max_value=6.0), [0, 0, 0, 0.25, 1, 2, 6])
    np.testing.assert_allclose(af.relu(X, negative_slope=0.1), [-0.3, -0.15, -0.05, 0.25, 1, 2, 7])
    np.testing.assert_allclose(af.relu(X, threshold=1.0), [-0.0, 0, 0, 0, 1, 2, 7])
    np.testing.assert_allclose(af.relu(X, negative_slope=0.5, max_value=2.0, threshold=0.5),
                               [-1.75, -1.0, -0.5, -0.125, 1.0, 2.0, 2.0])
    assert af.relu(X.astype(np.float32), max_value=6.0).dtype == np.float32


def test_leaky_relu_elu_gelu_softmax_arguments():
    np.testing.assert_allclose(af.leaky_relu(X), np.where(X > 0, X, 0.2 * X))
    np.testing.assert_allclose(af.leaky_relu(X, negative_slope=0.01), np.where(X > 0, X, 0.01 * X))
    np.testing.assert_allclose(af.elu(X, alpha=0.5), np.where(X > 0, X, 0.5 * np.expm1(X)))
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in X])
    np.testing.assert_allclose(af.gelu(X), exact, rtol=1e-15)
    np.testing.assert_allclose(af.gelu(X, approximate=True), af.gelu_approximate(X))
    assert np.max(np.abs(af.gelu(X) - af.gelu(X, approximate=True))) < 1e-3
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(af.softmax(m, axis=0), np.exp(m) / np.exp(m).sum(axis=0))
    np.testing.assert_allclose(af.log_softmax(m, axis=0), np.log(af.softmax(m, axis=0)))


class Fn(Layer):
    """An activation with fixed arguments as a layer, for the gradient checker."""

    def __init__(self, f, df):
        super().__init__()
        self.f, self.df = f, df

    def forward(self, input, training=False):
        self._x = input
        return self.f(input)

    def backward(self, output_error):
        return self.df(self._x, output_error)


# x values away from every kink (0, the thresholds, max_value, +-3)
GRID = np.array([[-2.7, -1.3, -0.4, 0.3, 0.9, 1.7], [2.3, 4.1, -0.7, 0.6, -2.2, 5.3]])


@pytest.mark.parametrize("f, df", [
    (functools.partial(af.relu, negative_slope=0.1, max_value=2.0, threshold=0.5),
     functools.partial(af.relu_derivative, negative_slope=0.1, max_value=2.0, threshold=0.5)),
    (functools.partial(af.leaky_relu, negative_slope=0.3), functools.partial(af.leaky_relu_derivative,
                                                                             negative_slope=0.3)),
    (functools.partial(af.elu, alpha=0.7), functools.partial(af.elu_derivative, alpha=0.7)),
    (af.gelu, af.gelu_derivative),
    (functools.partial(af.gelu, approximate=True), functools.partial(af.gelu_derivative, approximate=True)),
    (af.hard_sigmoid, af.hard_sigmoid_derivative),
    (af.mish, af.mish_derivative),
    (af.log_softmax, af.log_softmax_derivative),
    (functools.partial(af.log_softmax, axis=0), functools.partial(af.log_softmax_derivative, axis=0)),
    (functools.partial(af.softmax, axis=0), functools.partial(af.softmax_derivative, axis=0)),
], ids=["relu_args", "leaky", "elu", "gelu", "gelu_tanh", "hard_sigmoid", "mish", "log_softmax", "log_softmax0",
        "softmax0"])
def test_gradient_checks(f, df):
    result = check_layer(Fn(f, df), GRID)
    assert result.passed(), result.errors


def test_activation_callables_are_accepted_by_name_lookup():
    for name in ("relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "leaky_relu", "hard_sigmoid", "mish",
                 "log_softmax", "linear", "softplus", "silu"):
        fn = getattr(activations, name)
        assert af.canonical_name(fn) == name
        assert af.get_function(fn) == af.get_function(name)
    assert af.canonical_name(activations.swish) == "silu"
    assert activations.get("gelu") is af.gelu and activations.get(None) is af.linear
    assert activations.serialize(activations.mish) == "mish" and activations.deserialize("mish") is af.mish


@pytest.mark.parametrize("foreign", [np.tanh, lambda x: x, functools.partial(af.relu, max_value=6.0)])
def test_a_callable_without_a_numnet_derivative_is_a_type_error(foreign):
    with pytest.raises(TypeError, match="numnet has no derivative for"):
        af.get_function(foreign)
