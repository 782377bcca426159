"""Flatten, Reshape and Dropout: values, gradients, modes, seeds, config and errors."""

from __future__ import annotations

import numpy as np
import pytest

import numnet
from numnet.gradient_check import check_layer
from numnet.layers import Dropout, Flatten, Reshape

X = np.random.default_rng(7).standard_normal((3, 4, 5, 2))


def test_flatten_is_row_major_channels_last():
    layer = Flatten()
    y = layer.forward(X)
    assert y.shape == (3, 40) and layer.output_shape == (40,)
    np.testing.assert_array_equal(y[1], X[1].ravel())
    np.testing.assert_array_equal(layer.backward(y), X)


@pytest.mark.parametrize("target, expected", [((10, 4), (10, 4)), ((-1, 8), (5, 8)), (40, (40,)), ((2, -1, 2), (2, 10, 2))])
def test_reshape_targets(target, expected):
    layer = Reshape(target)
    y = layer.forward(X)
    assert y.shape == (3,) + expected and layer.output_shape == expected
    np.testing.assert_array_equal(layer.backward(y), X)


@pytest.mark.parametrize("layer", [Flatten(), Reshape((-1, 4))])
def test_reshaping_gradients_match_finite_differences(layer):
    assert check_layer(layer, X).max_relative_error < 1e-6


@pytest.mark.parametrize("target", [(0, 4), (-1, -1), "7x7", (), (2.5, 2), (True, 4)])
def test_reshape_rejects_bad_target_shapes(target):
    with pytest.raises(ValueError, match="target_shape must be a tuple of positive integers with at most one -1"):
        Reshape(target)


@pytest.mark.parametrize("target", [(7, 7), (-1, 3)])
def test_reshape_rejects_sizes_that_do_not_divide(target):
    with pytest.raises(ValueError, match=r"cannot reshape inputs of shape \(N, 4, 5, 2\) \(40 values per sample\)"):
        Reshape(target).build_for((4, 5, 2))


@pytest.mark.parametrize("layer", [Flatten(name="f"), Reshape((8, -1), name="r")])
def test_reshaping_config_round_trip(layer):
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_dropout_is_identity_at_inference():
    layer = Dropout(0.5, seed=0)
    assert layer.forward(X) is X
    assert layer.forward(X, training=False) is X
    g = np.ones_like(X)
    assert layer.backward(g) is g


def test_dropout_training_zeroes_about_rate_and_rescales_the_rest():
    x = np.ones((200, 100), np.float32)
    layer = Dropout(0.3, seed=1)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    # Backward uses the same mask and scale.
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_dropout_draws_a_new_mask_each_call_and_a_seed_reproduces_them():
    a, b = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    first, second = a.forward(X, training=True), a.forward(X, training=True)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(b.forward(X, training=True), first)


def test_dropout_without_a_seed_follows_numnet_set_seed():
    numnet.set_seed(11)
    first = Dropout(0.5).forward(X, training=True)
    numnet.set_seed(11)
    np.testing.assert_array_equal(Dropout(0.5).forward(X, training=True), first)


def test_dropout_gradient_check_replays_the_mask():
    result = check_layer(Dropout(0.4, seed=2), X, training=True)
    assert result.max_relative_error < 1e-6, result.errors


def test_dropout_rate_zero_is_identity_even_in_training():
    assert Dropout(0.0).forward(X, training=True) is X


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, "0.5", None, True])
def test_dropout_rejects_rates_outside_zero_one(rate):
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\)"):
        Dropout(rate)


def test_dropout_config_round_trip():
    layer = Dropout(0.25, seed=4, name="drop")
    clone = Dropout.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() == {"name": "drop", "trainable": True, "rate": 0.25, "seed": 4}
