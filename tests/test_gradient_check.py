"""The gradient checker itself: near zero for correct layers, large for broken ones."""

from __future__ import annotations

import numpy as np
import pytest

from numnet import Dense, Layer
from numnet.gradient_check import GradientCheckResult, check_layer, relative_error


class Affine(Layer):
    """y = x * w + b, elementwise; ``mistake`` breaks one part of backward on purpose."""

    def __init__(self, mistake=None, **kwargs):
        super().__init__(seed=0, **kwargs)  # the same weights whatever ran before
        self.mistake = mistake

    def build(self, input_shape):
        self.add_weight("w", input_shape, "random_normal")
        self.add_weight("b", input_shape, "random_normal")

    def forward(self, input):
        self.input = input
        return input * self.params["w"] + self.params["b"]

    def backward(self, output_error):
        g = output_error
        self.grads["w"] = (g * self.input).sum(axis=0) * (2.0 if self.mistake == "w_scaled" else 1.0)
        self.grads["b"] = g.sum(axis=0) if self.mistake != "b_first_sample" else g[0]
        if self.mistake == "input_sign":
            return -g * self.params["w"]
        if self.mistake == "input_missing_w":
            return g
        return g * self.params["w"]


X = np.random.default_rng(0).standard_normal((4, 5))


def test_correct_layer_reports_near_zero_error():
    result = check_layer(Affine(), X)
    assert isinstance(result, GradientCheckResult)
    assert set(result.errors) == {"param:w", "param:b", "input:0"}
    assert result.max_relative_error < 1e-7
    assert result.passed()


@pytest.mark.parametrize(
    ("mistake", "broken"),
    [("w_scaled", "param:w"), ("b_first_sample", "param:b"), ("input_sign", "input:0"), ("input_missing_w", "input:0")],
)
def test_broken_backward_reports_a_large_error_where_it_is_broken(mistake, broken):
    result = check_layer(Affine(mistake=mistake), X)
    assert result.errors[broken] > 0.1
    assert result.max_relative_error == result.errors[broken]
    assert not result.passed()
    for name, error in result.errors.items():
        if name != broken:
            assert error < 1e-6


def test_check_inputs_false_skips_the_input_error():
    result = check_layer(Affine(mistake="input_sign"), X, check_inputs=False)
    assert set(result.errors) == {"param:w", "param:b"}
    assert result.passed()


def test_dense_whose_backward_forgets_the_activation_derivative_fails():
    class LineageDense(Dense):
        def backward(self, output_error):  # the seed lineage's bug
            return self.backward_preactivation(output_error)

    assert check_layer(Dense(3, activation="tanh"), X).passed()
    result = check_layer(LineageDense(3, activation="tanh"), X)
    assert result.max_relative_error > 0.01
    assert not result.passed()


class Noise(Layer):
    """Multiplies by a fresh random mask each forward, drawn from ``self._rng``."""

    def forward(self, input, training=False):
        if self._rng is None:
            self._rng = np.random.default_rng(1)
        self.mask = self._rng.uniform(0.5, 1.5, size=input.shape)
        return input * self.mask if training else input

    def backward(self, output_error):
        return output_error * self.mask


def test_random_layers_are_replayed_with_the_same_draws():
    assert check_layer(Noise(), X, training=True).passed()

    class Unreplayable(Noise):  # draws from a generator the checker does not know about
        def forward(self, input, training=False):
            self._rng, hidden = None, getattr(self, "_hidden", None) or np.random.default_rng(1)
            self._hidden = hidden
            self.mask = hidden.uniform(0.5, 1.5, size=input.shape)
            return input * self.mask

    assert check_layer(Unreplayable(), X, training=True).max_relative_error > 0.01


def test_layer_without_anything_to_check_reports_zero():
    class Identity(Layer):
        def forward(self, input):
            return input

        def backward(self, output_error):
            return output_error

    result = check_layer(Identity(), X, check_inputs=False)
    assert result.errors == {} and result.max_relative_error == 0.0


def test_relative_error():
    assert relative_error(1.0, 1.0) == 0.0
    assert relative_error(2.0, 1.0) == pytest.approx(0.5)
    assert relative_error(-1.0, 1.0) == pytest.approx(2.0)
    assert relative_error(1e-14, 3e-14) == pytest.approx(2e-14)  # both tiny: absolute
    # the floor: a derivative near zero by chance is measured against the typical size
    assert relative_error(1e-10, 2e-10) == pytest.approx(0.5)
    assert relative_error(1e-10, 2e-10, floor=1e-2) == pytest.approx(1e-8)
    assert relative_error(float("nan"), 1.0) == float("inf")
    assert GradientCheckResult(1e-5).passed(tolerance=1e-4)
    assert not GradientCheckResult(1e-5).passed()


@pytest.mark.parametrize(("seed", "activation"), [(149, "softplus"), (360, "sigmoid"), (466, "tanh")])
def test_a_direction_nearly_orthogonal_to_the_gradient_does_not_fail_a_correct_layer(seed, activation):
    # Without the floor these (correct) layers reported ~3e-6: a random direction made the
    # directional derivative of the input error almost zero, and rounding noise was divided
    # by it. Measured against 1% of its typical size, the error is back under 1e-6.
    layer = Dense(5, activation=activation, seed=seed)
    result = check_layer(layer, np.random.default_rng(seed).standard_normal((4, 3)), seed=seed)
    assert result.passed(), result.errors
    assert isinstance(result.max_relative_error, float)


def test_correct_layers_pass_for_many_seeds_of_weights_and_directions():
    for seed in range(60):
        layer = Dense(4, activation=("sigmoid", "softplus", "tanh", "softmax")[seed % 4], seed=seed)
        result = check_layer(layer, np.random.default_rng(seed).standard_normal((3, 6)), seed=seed)
        assert result.passed(), (seed, result.errors)
