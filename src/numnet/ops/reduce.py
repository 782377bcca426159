"""Reductions over ``axis`` (None: all axes; an int or a tuple) with ``keepdims``.

Each reduction computes its result with ``keepdims=True`` (``y``) so that the backward
pass broadcasts ``g`` (reshaped to ``y``'s shape) against the input without bookkeeping;
``n`` is the number of elements reduced into each result.
"""

from __future__ import annotations

import math as _pymath

import numpy as np

from .core import _active, axes_of, constant, operand
from .tape import link
from .tensor import wrap


def _reduction(name, x, axis, keepdims, f, grad):
    """``f(a, axes) -> y`` (keepdims); ``grad(g, a, y, axes) -> dL/da`` with g shaped like y."""
    a = np.asarray(operand(x))
    axes = axes_of(axis, a.ndim)
    y = f(a, axes)
    out = wrap(y if keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in axes]))
    if _active:
        link(out, (x,), lambda g: (grad(g.reshape(y.shape), a, y, axes),), name)
    return out


def _count(a, axes) -> int:
    return _pymath.prod(a.shape[i] for i in axes)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops name
    """sum over axis.  d/dx = 1 (g broadcast back)."""
    return _reduction("sum", x, axis, keepdims, lambda a, ax: np.sum(a, axis=ax, keepdims=True),
                      lambda g, a, y, ax: np.broadcast_to(g, a.shape))


def mean(x, axis=None, keepdims=False):
    """mean over axis.  d/dx = 1 / n."""
    return _reduction("mean", x, axis, keepdims, lambda a, ax: np.mean(a, axis=ax, keepdims=True),
                      lambda g, a, y, ax: np.broadcast_to(g / _count(a, ax), a.shape))


def _extreme_grad(g, a, y, ax):
    # The gradient goes to the elements equal to the extreme, split evenly among ties.
    mask = a == y
    # max(..., initial=...) above every element: no element is the maximum, no gradient.
    return g * mask / np.maximum(np.sum(mask, axis=ax, keepdims=True), 1)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """max over axis (``initial``: a lower bound, as in NumPy).  d/dx = 1 at the maximum
    (split evenly among ties), 0 elsewhere."""
    kw = {} if initial is None else {"initial": initial}
    return _reduction("max", x, axis, keepdims, lambda a, ax: np.max(a, axis=ax, keepdims=True, **kw), _extreme_grad)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """min over axis.  d/dx = 1 at the minimum (split evenly among ties), 0 elsewhere."""
    kw = {} if initial is None else {"initial": initial}
    return _reduction("min", x, axis, keepdims, lambda a, ax: np.min(a, axis=ax, keepdims=True, **kw), _extreme_grad)


amax, amin = max, min


def _prod_grad(g, a, y, ax):
    # d prod / d a_i = product of the other elements: exclusive cumulative products from
    # the left and the right (exact when some elements are zero, unlike y / a_i).
    rest = [i for i in range(a.ndim) if i not in ax]
    moved = np.transpose(a, rest + list(ax))
    flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    inverse = np.argsort(rest + list(ax))
    return g * np.transpose(others, inverse)


def prod(x, axis=None, keepdims=False, dtype=None):
    """product over axis.  d/dx_i = product of the other elements."""
    return _reduction("prod", x, axis, keepdims, lambda a, ax: np.prod(a, axis=ax, keepdims=True, dtype=dtype),
                      _prod_grad)


def var(x, axis=None, keepdims=False):
    """population variance (ddof 0) over axis.  d/dx = 2 (x - mean) / n."""
    return _reduction("var", x, axis, keepdims, lambda a, ax: np.var(a, axis=ax, keepdims=True),
                      lambda g, a, y, ax: g * (2.0 / _count(a, ax)) * (a - np.mean(a, axis=ax, keepdims=True)))


def std(x, axis=None, keepdims=False):
    """population standard deviation over axis.  d/dx = (x - mean) / (n std)."""

    def grad(g, a, y, ax):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * (a - np.mean(a, axis=ax, keepdims=True)) / (_count(a, ax) * y)

    return _reduction("std", x, axis, keepdims, lambda a, ax: np.std(a, axis=ax, keepdims=True), grad)


def _logsumexp(a, ax):
    m = np.max(a, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or an inf) along an axis: no shift
    with np.errstate(divide="ignore"):
        return m + np.log(np.sum(np.exp(a - m), axis=ax, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) over axis, computed stably.  d/dx = softmax(x) along axis."""
    return _reduction("logsumexp", x, axis, keepdims, _logsumexp, lambda g, a, y, ax: g * np.exp(a - y))


def _arg(f, x, axis, keepdims):
    a = np.asarray(operand(x))
    if axis is None:
        r = f(a.reshape(-1))
        return constant(np.reshape(r, (1,) * a.ndim) if keepdims else r)
    return constant(f(a, axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    """indices of the maxima (first on ties); integer, no gradient."""
    return _arg(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """indices of the minima (first on ties); integer, no gradient."""
    return _arg(np.argmin, x, axis, keepdims)


# --- norm --------------------------------------------------------------------------------


def _vector_norm_grad(ord):
    def grad(g, a, y, ax):
        with np.errstate(divide="ignore", invalid="ignore"):
            if ord in (np.inf, -np.inf):
                mask = np.abs(a) == y
                d = np.sign(a) * mask / np.sum(mask, axis=ax, keepdims=True)
            elif ord == 0:
                d = np.zeros_like(a)  # a count of non-zeros: piecewise constant
            elif ord == 1:
                d = np.sign(a)
            elif ord == 2:
                d = a / y
            else:
                d = np.sign(a) * np.abs(a) ** (ord - 1) / y ** (ord - 1)
            return g * np.where(y > 0, d, 0)  # at 0 the norm's subgradient 0 is taken

    return grad


def _nuclear_grad(g, a, y, ax):
    # d ||A||_* / dA = U V^T from the thin SVD, on the two reduced axes.
    rest = [i for i in range(a.ndim) if i not in ax]
    moved = np.transpose(a, rest + list(ax))
    u, _, vt = np.linalg.svd(moved, full_matrices=False)
    d = np.transpose(u @ vt, np.argsort(rest + list(ax)))
    return g * d


def norm(x, ord=None, axis=None, keepdims=False):
    """``np.linalg.norm``: a vector norm over one axis (or all elements, ord None), a matrix
    norm over two.

    Gradients: vector ord None/2 -> x/||x||, 1 -> sign(x), p -> sign(x)|x|^(p-1)/||x||^(p-1),
    inf/-inf -> sign(x) at the extreme element(s), 0 -> 0; matrix 'fro' -> X/||X||,
    'nuc' -> U V^T. (Gradient 0 where the norm is 0.) Other matrix norms (ord 1, -1, 2,
    -2, inf, -inf over two axes) are computed but cannot be differentiated: recording
    one on a tape raises ValueError.
    """
    a = np.asarray(operand(x))
    if axis is None and ord is None:
        axes = tuple(range(a.ndim))
        kind = "vector2"
    else:
        axes = axes_of(axis, a.ndim)
        if len(axes) == 1:
            kind = "vector"
        elif len(axes) == 2:
            kind = "matrix"
        else:
            raise ValueError(f"norm: axis must name one or two axes (or be None), got {axis!r}.")
    if kind == "vector2" or (kind == "matrix" and ord in (None, "fro")):
        y = np.sqrt(np.sum(np.square(np.abs(a)), axis=axes, keepdims=True))
        grad = _vector_norm_grad(2)
    elif kind == "vector":
        if isinstance(ord, str):
            raise ValueError(f"norm: ord {ord!r} is for matrices (two axes); got axis {axis!r}.")
        y = np.linalg.norm(a, ord=ord, axis=axes[0], keepdims=True)
        grad = _vector_norm_grad(2 if ord is None else ord)
    else:
        y = np.linalg.norm(a, ord=ord, axis=axes, keepdims=True)
        grad = _nuclear_grad if ord == "nuc" else None
    out = wrap(y if keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in axes]))
    if _active and any(tape._watches_any((x,)) for tape in _active):
        if grad is None:
            raise ValueError(f"norm: the matrix norm ord={ord!r} has no gradient in numnet.ops; "
                             f"use ord='fro' or 'nuc', or compute it under tape.stop_recording().")
        link(out, (x,), lambda g: (grad(g.reshape(y.shape), a, y, axes),), "norm")
    return out
