"""Helpers every op module shares: reading operands, broadcasting errors, recording.

An op reads its operands with ``operand`` (a Tensor's array, a Python scalar kept as a
scalar so NumPy's weak scalar typing keeps ``float32 * 2.0`` in float32, or a validated
array), computes with NumPy, wraps the result with ``wrap`` and, only when a tape
is active, links a backward closure to it.
"""

from __future__ import annotations

import numpy as np

from .tape import _active, link
from .tensor import Tensor, as_array, wrap

_SCALARS = (int, float, complex, bool)


def operand(x):
    """The value an op computes with: a Tensor's array, a Python scalar as it is, or a
    validated NumPy array (TypeError for object / string arrays)."""
    if isinstance(x, Tensor):
        return x.value
    if type(x) in _SCALARS:
        return x
    return as_array(x)


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` (the gradient of a broadcast result) back to an input's ``shape``: over the
    leading axes the input lacked and over the axes where it had size 1."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead == 1 and g.shape[1:] == shape:  # a bias added to a batch: the common case
        return np.add.reduce(g, axis=0)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return np.add.reduce(g, axis=axes).reshape(shape)


def broadcast_error(name: str, *values) -> ValueError:
    shapes = " and ".join(str(np.shape(v)) for v in values)
    return ValueError(f"{name}: shapes {shapes} do not broadcast together.")


def elementwise(name: str, f, *values):
    """``f(*values)``, turning NumPy's broadcasting failure into a ValueError naming the op
    and every shape."""
    try:
        return f(*values)
    except ValueError:
        try:
            np.broadcast_shapes(*(np.shape(v) for v in values))
        except ValueError:
            raise broadcast_error(name, *values) from None
        raise


def unary(name: str, x, f, grad):
    """``y = f(x)`` elementwise; ``grad(g, x, y)`` is dL/dx given g = dL/dy."""
    a = operand(x)
    y = wrap(f(a))
    if _active:

        def backward(g):
            return (input_gradient(grad(g, a, y.value), a),)

        link(y, (x,), backward, name, checked=False)
    return y


def binary(name: str, x1, x2, f, grad):
    """``y = f(x1, x2)`` with broadcasting; ``grad(g, a, b, y, needed) -> (ga, gb)`` at the
    broadcast shape (None for an input that ``needed`` says needs none), summed back to
    each input's shape here."""
    a, b = operand(x1), operand(x2)
    try:
        y = wrap(f(a, b))
    except ValueError:
        y = wrap(elementwise(name, f, a, b))  # raises the ValueError naming the op
    if _active:

        def backward(g, needed):
            ga, gb = grad(g, a, b, y.value, needed)
            return (None if ga is None else input_gradient(ga, a),
                    None if gb is None else input_gradient(gb, b))

        link(y, (x1, x2), backward, name, pass_needed=True, checked=False)
    return y


def input_gradient(g, a):
    """The gradient ``g`` of an elementwise op's input ``a``, given at the broadcast shape,
    as the reverse pass takes it: summed to ``a``'s shape, in ``a``'s dtype (a float32
    input of a float64 product gets a float32 gradient). None for a Python scalar operand,
    which is not differentiable."""
    if type(a) is not np.ndarray:
        return None
    if g.shape != a.shape:
        g = unbroadcast(g, a.shape)
    if g.dtype != a.dtype:
        g = g.astype(a.dtype)
    return g


def constant(value) -> Tensor:
    """A result that carries no gradient (comparisons, argmax, one_hot, creation ops)."""
    return wrap(value)


def axes_of(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for ax in axis:
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} is out of range for an array with {ndim} dimensions.")
        out.append(int(ax) % ndim)
    return tuple(sorted(out))
