"""Activation functions: known values, PyTorch parity, stability, derivatives, lookup errors."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numnet import Activation
from numnet import activation_functions as af

# Overflow, 0/0 and division by zero are the failures; underflow to 0 is exact and silent
# in numpy by default, so it is not one.
STRICT = dict(over="raise", invalid="raise", divide="raise")
REF = np.load(Path(__file__).parent / "fixtures" / "core_reference.npz", allow_pickle=False)
CANONICAL = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "softplus", "silu",
             "gelu_approximate", "hard_sigmoid", "mish", "log_softmax")
ALL_NAMES = CANONICAL + ("swish", "gelu_tanh")

# name -> (inputs, expected outputs), worked out by hand from each formula.
KNOWN = {
    "linear": ([-2.0, 0.0, 3.5], [-2.0, 0.0, 3.5]),
    "relu": ([-2.0, 0.0, 3.5], [0.0, 0.0, 3.5]),
    "leaky_relu": ([-2.0, 0.0, 3.5], [-0.4, 0.0, 3.5]),  # Keras 3's slope 0.2
    "sigmoid": ([-1.0, 0.0, 2.0], [1 / (1 + math.e), 0.5, 1 / (1 + math.exp(-2))]),
    "tanh": ([-1.0, 0.0, 0.5], [-math.tanh(1), 0.0, math.tanh(0.5)]),
    "softmax": ([0.0, math.log(2), math.log(5)], [1 / 8, 2 / 8, 5 / 8]),
    "elu": ([-1.0, 0.0, 2.0], [math.exp(-1) - 1, 0.0, 2.0]),
    "selu": ([-1.0, 0.0, 1.0], [af.SELU_SCALE * af.SELU_ALPHA * (math.exp(-1) - 1), 0.0, af.SELU_SCALE]),
    "gelu": ([-1.0, 0.0, 1.0], [-0.15865525393145707, 0.0, 0.8413447460685429]),  # x Phi(x)
    "gelu_approximate": ([-1.0, 0.0, 1.0], [-0.15880800939172324, 0.0, 0.8411919906082768]),
    "hard_sigmoid": ([-4.0, 0.0, 1.5], [0.0, 0.5, 0.75]),
    "mish": ([-1.0, 0.0, 1.0], [-math.tanh(math.log1p(math.exp(-1))), 0.0, math.tanh(math.log1p(math.e))]),
    "log_softmax": ([0.0, math.log(2), math.log(5)], [math.log(1 / 8), math.log(2 / 8), math.log(5 / 8)]),
    "softplus": ([-1.0, 0.0, 2.0], [math.log1p(math.exp(-1)), math.log(2), math.log1p(math.exp(2))]),
    "silu": ([-1.0, 0.0, 1.0], [-1 / (1 + math.e), 0.0, 1 / (1 + math.exp(-1))]),
}


@pytest.mark.parametrize("name", CANONICAL)
def test_known_values(name):
    x, expected = KNOWN[name]
    f, _ = af.get_function(name)
    np.testing.assert_allclose(f(np.array(x)), expected, rtol=1e-12, atol=1e-15)


def test_swish_is_silu():
    x = np.linspace(-5, 5, 11)
    f, df = af.get_function("swish")
    g = np.arange(11.0)
    np.testing.assert_array_equal(f(x), af.silu(x))
    np.testing.assert_array_equal(df(x, g), af.silu_derivative(x, g))


def test_names_are_case_insensitive():
    assert af.get_function("ReLU") == af.get_function("relu")


@pytest.mark.parametrize("name", CANONICAL)
def test_output_and_vjp_match_pytorch(name):
    x, g = REF["act_x"], REF["act_g"]
    f, df = af.get_function(name)
    np.testing.assert_allclose(f(x), REF[f"act_{name}_y"], rtol=1e-12, atol=1e-14)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (relative 3e-8);
    # numnet's slope is 1/6 in the input's dtype.
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(df(x, g), REF[f"act_{name}_dx"], rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("bad", ["nope", None, "", 3, ["relu"], b"relu"])
def test_get_function_rejects_unknown_names_listing_valid_ones(bad):
    with pytest.raises(ValueError) as info:
        af.get_function(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in ALL_NAMES:
        assert name in message


def test_get_output_derivative_rejects_unknown_name():
    with pytest.raises(ValueError, match="expected one of"):
        af.get_output_derivative("bogus")


def test_sigmoid_saturates_exactly_without_warnings():
    with np.errstate(**STRICT), warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float32, np.float64):
            y = af.sigmoid(np.array([-1000.0, 1000.0], dtype=dtype))
            assert y.tolist() == [0.0, 1.0]
            dy = af.sigmoid_derivative(np.array([-1000.0, 1000.0], dtype=dtype), np.ones(2, dtype=dtype))
            assert dy.tolist() == [0.0, 0.0]


def test_softplus_silu_elu_extreme_inputs_are_finite_without_warnings():
    x = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(**STRICT):
        np.testing.assert_allclose(af.softplus(x), [0.0, math.exp(-50), 50.0, 1000.0], rtol=1e-12, atol=0)
        np.testing.assert_allclose(af.silu(x), [-0.0, -50 * math.exp(-50), 50.0, 1000.0], rtol=1e-12, atol=0)
        np.testing.assert_allclose(af.elu(x), [-1.0, math.expm1(-50), 50.0, 1000.0])
        assert np.all(np.isfinite(af.selu_derivative(x, np.ones(4))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits_is_finite_and_normalised(dtype):
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1], [-1e4, -1e4, -1e4]], dtype=dtype)
    with np.errstate(**STRICT):
        s = af.softmax(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(s[2], [1 / 3] * 3, rtol=1e-6)


def test_softmax_acts_on_the_last_axis_only():
    z = np.arange(24.0).reshape(2, 3, 4)
    s = af.softmax(z)
    np.testing.assert_allclose(s.sum(axis=-1), np.ones((2, 3)))
    np.testing.assert_allclose(s[0, 0], s[1, 2])  # shift-invariant per row


def test_softmax_derivative_is_the_full_jacobian_product():
    z = np.array([[0.3, -1.2, 2.0]])
    g = np.array([[1.0, -2.0, 0.5]])
    s = af.softmax(z)[0]
    jacobian = np.diag(s) - np.outer(s, s)
    np.testing.assert_allclose(af.softmax_derivative(z, g)[0], jacobian.T @ g[0], rtol=1e-12)
    # Not the seed's pass-through: the error really changes.
    assert not np.allclose(af.softmax_derivative(z, g), g)


def test_relu_derivative_at_zero_is_zero():
    _, drelu = af.get_function("relu")
    np.testing.assert_array_equal(drelu(np.array([-1.0, 0.0, 1.0]), np.ones(3)), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(af.get_output_derivative("relu")(np.array([0.0]), np.ones(1)), [0.0])


def _central_difference_vjp(f, x, g, h=1e-6):
    """Elementwise activations: d/dx_i sum(g * f(x)) by central differences, all i at once
    (softmax couples a row, so it goes entry by entry)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        grad[idx] = np.sum(g * (f(x + e) - f(x - e))) / (2 * h)
    return grad


# Stay clear of the kinks (relu, leaky_relu, elu, selu at 0; hard_sigmoid at +-3), where
# differences straddle two slopes.
_finite = st.floats(-6, 6, allow_nan=False, allow_infinity=False).filter(
    lambda v: abs(v) > 1e-3 and abs(abs(v) - 3) > 1e-3)
_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4), elements=_finite)


@pytest.mark.parametrize("name", CANONICAL)
@settings(max_examples=15, deadline=None)
@given(x=_arrays, seed=st.integers(0, 2**32 - 1))
def test_derivative_matches_central_differences(name, x, seed):
    f, df = af.get_function(name)
    g = np.random.default_rng(seed).standard_normal(x.shape)
    np.testing.assert_allclose(df(x, g), _central_difference_vjp(f, x, g), rtol=1e-5, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(-1e4, 1e4, allow_nan=False),
    )
)
def test_softmax_rows_sum_to_one(x):
    s = af.softmax(x)
    assert np.all(s >= 0) and np.all(s <= 1)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "softmax"])
@settings(max_examples=20, deadline=None)
@given(x=_arrays, seed=st.integers(0, 2**32 - 1))
def test_derivative_from_output_equals_derivative_from_input(name, x, seed):
    f, df = af.get_function(name)
    from_output = af.get_output_derivative(name)
    assert from_output is not None
    g = np.random.default_rng(seed).standard_normal(x.shape)
    np.testing.assert_allclose(from_output(f(x), g), df(x, g), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "gelu", "softplus", "silu"])
def test_activations_without_output_form_say_so(name):
    assert af.get_output_derivative(name) is None


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(name, dtype):
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    f, df = af.get_function(name)
    assert f(x).dtype == dtype
    assert df(x, np.ones_like(x)).dtype == dtype
    from_output = af.get_output_derivative(name)
    if from_output is not None:
        assert from_output(f(x), np.ones_like(x)).dtype == dtype


def test_names_lists_every_activation_and_alias():
    assert set(af.NAMES) == set(ALL_NAMES)


@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "softmax"])
def test_in_place_forms_equal_the_functions_and_need_only_the_output(name):
    x = np.random.default_rng(3).standard_normal((5, 7)).astype(np.float32) * 4
    function, _ = af.get_function(name)
    in_place = af.get_in_place(name)
    target = x.copy()
    result = in_place(target)
    np.testing.assert_array_equal(result, function(x))
    assert result is target or name == "linear"  # written into its argument
    assert af.get_output_derivative(name) is not None


def test_activations_without_an_in_place_form_keep_their_input():
    assert af.get_in_place("sigmoid") is None and af.get_in_place("gelu") is None
    layer = Activation("gelu")
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    before = x.copy()
    layer.forward_owned(x)
    np.testing.assert_array_equal(x, before)
