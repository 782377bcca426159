"""Activation functions and their derivatives, as pure functions of NumPy arrays.

Every activation is a pair ``(function, derivative)``:

* ``function(x)`` maps an array of any shape elementwise (softmax: along the last axis)
  and returns an array of the same shape and dtype.
* ``derivative(x, output_error)`` is the vector-Jacobian product: given ``x`` and
  ``g = dL/dy`` for ``y = function(x)``, it returns ``dL/dx`` with the shape of ``x``.

``get_function(name)`` looks a pair up by name, as the seed's ``Activation`` layer does.
Layers that cache their output also use ``get_output_derivative(name)``: the same
product computed from ``y`` instead of ``x`` where that is cheaper (sigmoid, tanh,
relu, softmax), so the forward pass is never recomputed during backward.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._names import canonical

ArrayFn = Callable[[np.ndarray], np.ndarray]
DerivativeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_GELU_C = 0.7978845608028654  # sqrt(2 / pi)


# --- linear -----------------------------------------------------------------------------
def linear(x):
    """f(x) = x."""
    return x


def linear_derivative(x, output_error):
    return output_error


# --- relu -------------------------------------------------------------------------------
def relu(x):
    """f(x) = max(0, x)."""
    return np.maximum(x, 0)


def relu_derivative(x, output_error):
    """f'(x) = 1 for x > 0 else 0 (f'(0) = 0, as in PyTorch)."""
    return output_error * (x > 0)


def _relu_from_output(y, output_error):
    # y > 0 exactly where x > 0.
    return output_error * (y > 0)


# --- leaky relu -------------------------------------------------------------------------
def leaky_relu(x):
    """f(x) = x for x > 0 else 0.01 x."""
    return np.where(x > 0, x, x * LEAKY_RELU_SLOPE)


def leaky_relu_derivative(x, output_error):
    return np.where(x > 0, output_error, output_error * LEAKY_RELU_SLOPE)


# --- sigmoid ----------------------------------------------------------------------------
def sigmoid(x):
    """f(x) = 1 / (1 + exp(-x)), computed from exp(-|x|) so it never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def sigmoid_derivative(x, output_error):
    """f'(x) = s (1 - s) with s = sigmoid(x)."""
    return _sigmoid_from_output(sigmoid(x), output_error)


def _sigmoid_from_output(y, output_error):
    return output_error * y * (1 - y)


# --- tanh -------------------------------------------------------------------------------
def tanh(x):
    """f(x) = (e^x - e^-x) / (e^x + e^-x)."""
    return np.tanh(x)


def tanh_derivative(x, output_error):
    """f'(x) = 1 - tanh(x)^2."""
    return _tanh_from_output(np.tanh(x), output_error)


def _tanh_from_output(y, output_error):
    return output_error * (1 - y * y)


# --- softmax ----------------------------------------------------------------------------
def softmax(x):
    """s_i = exp(x_i - max x) / sum_j exp(x_j - max x) along the last axis.

    Shifting by the row maximum leaves the result unchanged and keeps exp finite.
    """
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_derivative(x, output_error):
    """The true Jacobian-vector product: dL/dx = s * (g - sum(g * s)), row by row."""
    return _softmax_from_output(softmax(x), output_error)


def _softmax_from_output(s, g):
    return s * (g - (g * s).sum(axis=-1, keepdims=True))


# --- elu / selu -------------------------------------------------------------------------
def elu(x):
    """f(x) = x for x > 0 else alpha (exp(x) - 1), alpha = 1."""
    return np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0)))


def elu_derivative(x, output_error):
    return output_error * np.where(x > 0, 1, ELU_ALPHA * np.exp(np.minimum(x, 0)))


def selu(x):
    """f(x) = scale * elu(x, alpha) with the self-normalising constants."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu_derivative(x, output_error):
    slope = np.where(x > 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    return output_error * (SELU_SCALE * slope)


# --- gelu (tanh approximation) ----------------------------------------------------------
def gelu(x):
    """f(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    The tanh approximation, identical to PyTorch's ``gelu(approximate="tanh")``; NumPy has
    no ``erf``, and the two forms differ by less than 1e-3.
    """
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def gelu_derivative(x, output_error):
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    dt = (1 - t * t) * (_GELU_C * (1 + 3 * 0.044715 * x * x))
    return output_error * (0.5 * (1 + t) + 0.5 * x * dt)


# --- softplus ---------------------------------------------------------------------------
def softplus(x):
    """f(x) = log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_derivative(x, output_error):
    """f'(x) = sigmoid(x)."""
    return output_error * sigmoid(x)


# --- silu / swish -----------------------------------------------------------------------
def silu(x):
    """f(x) = x * sigmoid(x)."""
    return x * sigmoid(x)


def silu_derivative(x, output_error):
    """f'(x) = s (1 + x (1 - s)) with s = sigmoid(x)."""
    s = sigmoid(x)
    return output_error * (s * (1 + x * (1 - s)))


def _relu_in_place(x):
    return np.maximum(x, 0, out=x)


def _tanh_in_place(x):
    return np.tanh(x, out=x)


def _softmax_in_place(x):
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


class _Entry(NamedTuple):
    function: ArrayFn
    derivative: DerivativeFn
    from_output: DerivativeFn | None = None
    # The same function overwriting its argument: only for activations whose backward
    # needs just the output, applied by layers to a pre-activation nobody else holds.
    in_place: ArrayFn | None = None


_REGISTRY: dict[str, _Entry] = {
    "linear": _Entry(linear, linear_derivative, linear_derivative, linear),
    "relu": _Entry(relu, relu_derivative, _relu_from_output, _relu_in_place),
    "leaky_relu": _Entry(leaky_relu, leaky_relu_derivative),
    "sigmoid": _Entry(sigmoid, sigmoid_derivative, _sigmoid_from_output),
    "tanh": _Entry(tanh, tanh_derivative, _tanh_from_output, _tanh_in_place),
    "softmax": _Entry(softmax, softmax_derivative, _softmax_from_output, _softmax_in_place),
    "elu": _Entry(elu, elu_derivative),
    "selu": _Entry(selu, selu_derivative),
    "gelu": _Entry(gelu, gelu_derivative),
    "softplus": _Entry(softplus, softplus_derivative),
    "silu": _Entry(silu, silu_derivative),
}
_ALIASES = {"swish": "silu"}

NAMES = tuple(sorted(_REGISTRY)) + tuple(sorted(_ALIASES))


def canonical_name(name) -> str:
    """Return the registry key for ``name`` (resolving aliases), or raise ``ValueError``."""
    return canonical(name, _REGISTRY, _ALIASES, "activation")


def get_function(name: str) -> tuple[ArrayFn, DerivativeFn]:
    """Return ``(function, derivative)`` for the activation called ``name``.

    >>> f, df = get_function("relu")
    """
    entry = _REGISTRY[canonical_name(name)]
    return entry.function, entry.derivative


def get_in_place(name: str) -> ArrayFn | None:
    """``function(x)`` computed into ``x`` itself, or None where numnet has no such form.
    Every activation with one also has ``get_output_derivative``."""
    return _REGISTRY[canonical_name(name)].in_place


def get_output_derivative(name: str) -> DerivativeFn | None:
    """Return ``derivative(y, output_error)`` computed from the output, or None if the
    activation has no cheaper form than recomputing from the input."""
    return _REGISTRY[canonical_name(name)].from_output
