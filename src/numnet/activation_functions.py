"""Activation functions and their derivatives, as pure functions of NumPy arrays.

Every activation is a pair ``(function, derivative)``:

* ``function(x)`` maps an array of any shape elementwise (softmax: along the last axis)
  and returns an array of the same shape and dtype.
* ``derivative(x, output_error)`` is the vector-Jacobian product: given ``x`` and
  ``g = dL/dy`` for ``y = function(x)``, it returns ``dL/dx`` with the shape of ``x``.

Keras 3's arguments are keyword arguments of both (``relu(x, negative_slope, max_value,
threshold)``, ``leaky_relu(x, negative_slope=0.2)``, ``elu(x, alpha)``, ``gelu(x,
approximate=False)``, ``softmax(x, axis)``, ``log_softmax(x, axis)``); a name uses the defaults.

``get_function(name)`` looks a pair up by name, as the seed's ``Activation`` layer does; the
name may also be one of the functions themselves (``numnet.activations.gelu``).
Layers that cache their output also use ``get_output_derivative(name)``: the same
product computed from ``y`` instead of ``x`` where that is cheaper (sigmoid, tanh,
relu, softmax), so the forward pass is never recomputed during backward.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ._names import canonical

ArrayFn = Callable[[np.ndarray], np.ndarray]
DerivativeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

LEAKY_RELU_SLOPE = 0.2  # Keras 3's keras.activations.leaky_relu default (PyTorch: 0.01)
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
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """f(x) = max_value for x >= max_value; x for threshold <= x < max_value;
    negative_slope * (x - threshold) below threshold. The defaults give max(0, x).

    Keras's ``relu(x, negative_slope, max_value, threshold)``; the arguments are checked
    by ``ReLU``-style callers once, not on every call.
    """
    if negative_slope == 0 and max_value is None and threshold == 0:
        return np.maximum(x, 0)
    y = np.where(x >= threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = np.where(x >= max_value, np.asarray(max_value, dtype=y.dtype), y)
    return y.astype(x.dtype, copy=False)


def relu_derivative(x, output_error, negative_slope=0.0, max_value=None, threshold=0.0):
    """f'(x) = 1 on [threshold, max_value), negative_slope below threshold, 0 above
    max_value (f'(0) = 0 for plain relu, as in PyTorch: 0 is not > 0)."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return output_error * (x > 0)
    slope = np.where(x > threshold, 1.0, negative_slope)  # at the kink itself: the lower slope
    if max_value is not None:
        slope = np.where(x >= max_value, 0.0, slope)
    return output_error * slope.astype(x.dtype, copy=False)


def _relu_from_output(y, output_error):
    # y > 0 exactly where x > 0.
    return output_error * (y > 0)


# --- leaky relu -------------------------------------------------------------------------
def leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE):
    """f(x) = x for x > 0 else negative_slope * x (Keras's default slope, 0.2)."""
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_derivative(x, output_error, negative_slope=LEAKY_RELU_SLOPE):
    return np.where(x > 0, output_error, output_error * negative_slope)


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
def softmax(x, axis=-1):
    """s_i = exp(x_i - max x) / sum_j exp(x_j - max x) along ``axis`` (the last by default).

    Shifting by the maximum leaves the result unchanged and keeps exp finite.
    """
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_derivative(x, output_error, axis=-1):
    """The true Jacobian-vector product: dL/dx = s * (g - sum(g * s)) along ``axis``."""
    return _softmax_from_output(softmax(x, axis), output_error, axis)


def _softmax_from_output(s, g, axis=-1):
    return s * (g - (g * s).sum(axis=axis, keepdims=True))


# --- elu / selu -------------------------------------------------------------------------
def elu(x, alpha=ELU_ALPHA):
    """f(x) = x for x > 0 else alpha (exp(x) - 1); alpha = 1 by default."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_derivative(x, output_error, alpha=ELU_ALPHA):
    """f'(x) = 1 for x > 0 else alpha exp(x)."""
    return output_error * np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0)))


def selu(x):
    """f(x) = scale * elu(x, alpha) with the self-normalising constants."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu_derivative(x, output_error):
    slope = np.where(x > 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    return output_error * (SELU_SCALE * slope)


# --- gelu -------------------------------------------------------------------------------
_ERF = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; the C library's, element by element
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


def _erf(x):
    """erf(x) elementwise in float64 (math.erf per element: exact, about 0.1 us each)."""
    return _ERF(np.asarray(x, dtype=np.float64)).astype(np.float64)


def gelu(x, approximate=False):
    """Exact: f(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (Keras's and PyTorch's default).

    ``approximate=True``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's
    ``gelu(approximate="tanh")``; the two differ by less than 1e-3.
    """
    if approximate:
        return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))
    x = np.asarray(x)
    return (0.5 * x * (1 + _erf(x * _SQRT_HALF))).astype(x.dtype, copy=False)


def gelu_derivative(x, output_error, approximate=False):
    """Exact: f'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    if approximate:
        t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
        dt = (1 - t * t) * (_GELU_C * (1 + 3 * 0.044715 * x * x))
        return output_error * (0.5 * (1 + t) + 0.5 * x * dt)
    x = np.asarray(x)
    cdf = 0.5 * (1 + _erf(x * _SQRT_HALF))
    slope = cdf + x * (_INV_SQRT_2PI * np.exp(-0.5 * x.astype(np.float64) ** 2))
    return output_error * slope.astype(x.dtype, copy=False)


def gelu_approximate(x):
    """gelu(x, approximate=True): the tanh form, under its own name."""
    return gelu(x, approximate=True)


def gelu_approximate_derivative(x, output_error):
    return gelu_derivative(x, output_error, approximate=True)


# --- hard sigmoid / mish / log_softmax --------------------------------------------------
def hard_sigmoid(x):
    """f(x) = relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1), Keras 3's (and PyTorch's) form."""
    return (np.clip(x + 3, 0, 6) / 6).astype(np.asarray(x).dtype, copy=False)


def hard_sigmoid_derivative(x, output_error):
    """f'(x) = 1/6 on (-3, 3), 0 outside."""
    return output_error * ((x > -3) & (x < 3)) / 6


def mish(x):
    """f(x) = x tanh(softplus(x))."""
    return x * np.tanh(softplus(x))


def mish_derivative(x, output_error):
    """f'(x) = tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x), sp = softplus(x)."""
    t = np.tanh(softplus(x))
    return output_error * (t + x * (1 - t * t) * sigmoid(x))


def log_softmax(x, axis=-1):
    """f(x)_i = x_i - max x - log sum_j exp(x_j - max x) along ``axis``."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax_derivative(x, output_error, axis=-1):
    """dL/dx = g - softmax(x) sum(g) along ``axis``."""
    return output_error - np.exp(log_softmax(x, axis)) * output_error.sum(axis=axis, keepdims=True)


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
    "log_softmax": _Entry(log_softmax, log_softmax_derivative),
    "elu": _Entry(elu, elu_derivative),
    "selu": _Entry(selu, selu_derivative),
    "gelu": _Entry(gelu, gelu_derivative),
    "gelu_approximate": _Entry(gelu_approximate, gelu_approximate_derivative),
    "softplus": _Entry(softplus, softplus_derivative),
    "silu": _Entry(silu, silu_derivative),
    "hard_sigmoid": _Entry(hard_sigmoid, hard_sigmoid_derivative),
    "mish": _Entry(mish, mish_derivative),
}
_ALIASES = {"swish": "silu", "gelu_tanh": "gelu_approximate"}

NAMES = tuple(sorted(_REGISTRY)) + tuple(sorted(_ALIASES))


def _callable_key(fn):
    """The registry key of a numnet activation callable (``numnet.activations.relu`` or one
    of this module's functions), else None."""
    key = getattr(fn, "_numnet_activation", None)
    if key in _REGISTRY:
        return key
    for key, entry in _REGISTRY.items():
        if entry.function is fn:
            return key
    return None


def canonical_name(name) -> str:
    """The registry key for ``name``: a name (resolving aliases, case-insensitive) or one of
    numnet's activation callables (``numnet.activations.gelu``); otherwise ``ValueError``
    (an unknown name) or ``TypeError`` (a callable numnet has no derivative for)."""
    if callable(name) and not isinstance(name, str):
        key = _callable_key(name)
        if key is None:
            raise TypeError(
                f"The activation {name!r} is a callable numnet has no derivative for; pass one of "
                f"numnet.activations ({', '.join(sorted(_REGISTRY))}) or a name."
            )
        return key
    return canonical(name, _REGISTRY, _ALIASES, "activation")


def get_function(name) -> tuple[ArrayFn, DerivativeFn]:
    """Return ``(function, derivative)`` for the activation ``name`` (a name or one of
    numnet.activations' callables).

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
