"""Activations and softmax-type ops (``keras.ops.nn`` names and defaults)."""

from __future__ import annotations

import math as _pymath

import numpy as np

from .core import _active, axes_of, constant, operand, unary
from .math import _erf
from .tape import link
from .tensor import wrap


def _sigmoid(a):
    # 1 / (1 + e^-x) without overflow for large |x|.
    return np.exp(-np.logaddexp(0, -a))


def sigmoid(x):
    """1 / (1 + e^-x).  d/dx = s (1 - s)."""
    return unary("sigmoid", x, _sigmoid, lambda g, x, y: g * y * (1 - y))


def log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x).  d/dx = 1 - sigmoid(x)."""
    return unary("log_sigmoid", x, lambda a: -np.logaddexp(0, -a), lambda g, x, y: g * _sigmoid(-x))


def relu(x):
    """max(x, 0).  d/dx = 1 for x > 0, else 0."""
    return unary("relu", x, lambda a: np.maximum(a, 0), lambda g, x, y: g * (x > 0))


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, negative_slope * x below.  d/dx = 1 or negative_slope."""
    return unary("leaky_relu", x, lambda a: np.where(a >= 0, a, negative_slope * a),
                 lambda g, x, y: g * np.where(x >= 0, 1, negative_slope))


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) below.  d/dx = 1, or alpha e^x."""
    return unary("elu", x, lambda a: np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0))),
                 lambda g, x, y: g * np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))))


def softplus(x):
    """log(1 + e^x).  d/dx = sigmoid(x)."""
    return unary("softplus", x, lambda a: np.logaddexp(0, a), lambda g, x, y: g * _sigmoid(x))


def silu(x):
    """x sigmoid(x) (swish).  d/dx = s + x s (1 - s)."""

    def grad(g, a, y):
        s = _sigmoid(a)
        return g * (s * (1 + a * (1 - s)))

    return unary("silu", x, lambda a: a * _sigmoid(a), grad)


swish = silu

_SQRT_2_OVER_PI = _pymath.sqrt(2.0 / _pymath.pi)
_INV_SQRT_2 = 1.0 / _pymath.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / _pymath.sqrt(2.0 * _pymath.pi)


def gelu(x, approximate=True):
    """Gaussian error linear unit; ``approximate=True`` by default, as ``keras.ops.gelu``.

    exact:  x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2;  d/dx = Phi(x) + x phi(x).
    tanh:   x (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3);
            d/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2.
    """
    if approximate:

        def f(a):
            return 0.5 * a * (1 + np.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a**3)))

        def grad(g, a, y):
            t = np.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a**3))
            return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a))

        return unary("gelu", x, f, grad)

    def f_exact(a):
        return a * (0.5 * (1 + _erf(a * _INV_SQRT_2)))

    def grad_exact(g, a, y):
        return g * (0.5 * (1 + _erf(a * _INV_SQRT_2)) + a * _INV_SQRT_2PI * np.exp(-0.5 * a * a))

    return unary("gelu", x, f_exact, grad_exact)


def _softmax_axes(x, axis):
    a = np.asarray(operand(x))
    return a, axes_of(axis, a.ndim)


def softmax(x, axis=-1):
    """e^x / sum e^x along axis (an int or a tuple).  dL/dx = y (g - sum(g y, axis))."""
    a, ax = _softmax_axes(x, axis)
    e = np.exp(a - np.max(a, axis=ax, keepdims=True))
    y = wrap(e / np.sum(e, axis=ax, keepdims=True))
    if _active:
        s = y.value
        link(y, (x,), lambda g: (s * (g - np.sum(g * s, axis=ax, keepdims=True)),), "softmax")
    return y


def log_softmax(x, axis=-1):
    """x - logsumexp(x, axis).  dL/dx = g - softmax(x) sum(g, axis)."""
    a, ax = _softmax_axes(x, axis)
    shifted = a - np.max(a, axis=ax, keepdims=True)
    y = wrap(shifted - np.log(np.sum(np.exp(shifted), axis=ax, keepdims=True)))
    if _active:
        s = y.value
        link(y, (x,), lambda g: (g - np.exp(s) * np.sum(g, axis=ax, keepdims=True),), "log_softmax")
    return y


def one_hot(x, num_classes, axis=-1, dtype=None):
    """A new axis of length ``num_classes`` (at ``axis``) with 1 at each index of ``x`` and 0
    elsewhere (all 0 for an index outside [0, num_classes)). float32 unless ``dtype``;
    no gradient."""
    idx = np.asarray(operand(x))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: x must hold integer class indices, got dtype {idx.dtype}.")
    out = (idx[..., None] == np.arange(int(num_classes))).astype(dtype or np.float32)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return constant(out)
