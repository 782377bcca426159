"""Elementwise arithmetic, comparisons and products (``keras.ops`` names).

Each op: forward with NumPy, then its derivative. ``g`` is the gradient of the loss with
respect to the op's output; binary ops return gradients at the broadcast shape and
``core.binary`` sums them back to each input's shape.
"""

from __future__ import annotations

import math as _pymath
import string
from collections import Counter

import numpy as np

from .core import _active, binary, constant, elementwise, input_gradient, operand, unary, unbroadcast
from .tape import link
from .tensor import wrap

# --- arithmetic ------------------------------------------------------------------------


def add(x1, x2):
    """x1 + x2.  d/dx1 = 1, d/dx2 = 1."""
    return binary("add", x1, x2, np.add, lambda g, a, b, y, n: (g if n[0] else None, g if n[1] else None))


def subtract(x1, x2):
    """x1 - x2.  d/dx1 = 1, d/dx2 = -1."""
    return binary("subtract", x1, x2, np.subtract, lambda g, a, b, y, n: (g if n[0] else None, -g if n[1] else None))


def multiply(x1, x2):
    """x1 * x2.  d/dx1 = x2, d/dx2 = x1."""
    def grad(g, a, b, y, needed):
        return (g * b if needed[0] else None), (g * a if needed[1] else None)

    return binary("multiply", x1, x2, np.multiply, grad)


def divide(x1, x2):
    """x1 / x2.  d/dx1 = 1 / x2, d/dx2 = -x1 / x2**2."""
    def grad(g, a, b, y, needed):
        return (g / b if needed[0] else None), (-g * y / b if needed[1] else None)

    return binary("divide", x1, x2, np.true_divide, grad)


true_divide = divide


def power(x1, x2):
    """x1 ** x2.  d/dx1 = x2 x1**(x2-1), d/dx2 = x1**x2 log(x1) (0 where x1 <= 0)."""
    def grad(g, a, b, y, needed):
        ga = g * (b * np.power(a, b - 1)) if needed[0] else None
        if not needed[1]:
            return ga, None
        # d/db a**b = a**b log a exists for a > 0; taken as 0 elsewhere (there a**b is not
        # differentiable in b, or only with complex values).
        positive = np.asarray(a) > 0
        gb = g * np.where(positive, y * np.log(np.where(positive, a, 1)), 0)
        return ga, gb

    return binary("power", x1, x2, np.power, grad)


def negative(x):
    """-x.  d/dx = -1."""
    return unary("negative", x, np.negative, lambda g, x, y: -g)


def square(x):
    """x**2.  d/dx = 2x."""
    return unary("square", x, np.square, lambda g, x, y: g * (2 * x))


def sqrt(x):
    """sqrt(x).  d/dx = 1 / (2 sqrt(x))."""
    return unary("sqrt", x, np.sqrt, lambda g, x, y: g / (2 * y))


def abs(x):  # noqa: A001 - keras.ops name
    """|x|.  d/dx = sign(x) (0 at 0)."""
    return unary("abs", x, np.abs, lambda g, x, y: g * np.sign(x))


absolute = abs


def sign(x):
    """sign(x); its derivative is 0 almost everywhere, so it carries no gradient."""
    return constant(np.sign(operand(x)))


def exp(x):
    """e**x.  d/dx = e**x."""
    return unary("exp", x, np.exp, lambda g, x, y: g * y)


def log(x):
    """ln x.  d/dx = 1 / x."""
    return unary("log", x, np.log, lambda g, x, y: g / x)


def log1p(x):
    """ln(1 + x).  d/dx = 1 / (1 + x)."""
    return unary("log1p", x, np.log1p, lambda g, x, y: g / (1 + x))


def expm1(x):
    """e**x - 1.  d/dx = e**x."""
    return unary("expm1", x, np.expm1, lambda g, x, y: g * (y + 1))


def sin(x):
    """sin x.  d/dx = cos x."""
    return unary("sin", x, np.sin, lambda g, x, y: g * np.cos(x))


def cos(x):
    """cos x.  d/dx = -sin x."""
    return unary("cos", x, np.cos, lambda g, x, y: -g * np.sin(x))


def tanh(x):
    """tanh x.  d/dx = 1 - tanh(x)**2."""
    return unary("tanh", x, np.tanh, lambda g, x, y: g * (1 - y * y))


_erf_scalar = np.frompyfunc(_pymath.erf, 1, 1)


def _erf(a):
    # NumPy has no erf; math.erf per element is exact to double precision (and slow:
    # about 50 ns an element).
    a = np.asarray(a)
    dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return np.asarray(_erf_scalar(a.astype(np.float64)), dtype=np.float64).astype(dtype, copy=False)


_TWO_OVER_SQRT_PI = 2.0 / _pymath.sqrt(_pymath.pi)


def erf(x):
    """erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt.  d/dx = 2/sqrt(pi) e^(-x^2)."""
    return unary("erf", x, _erf, lambda g, x, y: g * (_TWO_OVER_SQRT_PI * np.exp(-x * x)))


def maximum(x1, x2):
    """max(x1, x2) elementwise.  The gradient goes to the larger input, split evenly on ties."""

    def grad(g, a, b, y, needed):
        ga = g * ((a > b) + 0.5 * (a == b))
        return ga, g - ga

    return binary("maximum", x1, x2, np.maximum, grad)


def minimum(x1, x2):
    """min(x1, x2) elementwise.  The gradient goes to the smaller input, split evenly on ties."""

    def grad(g, a, b, y, needed):
        ga = g * ((a < b) + 0.5 * (a == b))
        return ga, g - ga

    return binary("minimum", x1, x2, np.minimum, grad)


def clip(x, x_min, x_max):
    """x limited to [x_min, x_max].  d/dx = 1 where x_min <= x <= x_max, else 0; the bounds
    are constants (no gradient)."""
    if x_min is None and x_max is None:
        raise ValueError("clip: give x_min, x_max or both; got neither.")
    a = operand(x)
    lo = -np.inf if x_min is None else operand(x_min)
    hi = np.inf if x_max is None else operand(x_max)
    y = wrap(elementwise("clip", np.clip, a, lo, hi))
    if _active:
        link(y, (x,), lambda g: (unbroadcast(g * ((a >= lo) & (a <= hi)), np.shape(a)),), "clip")
    return y


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` else ``x2`` (broadcast). The gradient of each branch is
    ``g`` where it was chosen. With neither branch: the indices of the true elements, one
    integer Tensor per axis (no gradient)."""
    c = operand(condition)
    if x1 is None and x2 is None:
        return tuple(constant(i) for i in np.nonzero(c))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither.")
    c = c.astype(bool, copy=False) if isinstance(c, np.ndarray) else bool(c)
    a, b = operand(x1), operand(x2)
    y = wrap(elementwise("where", np.where, c, a, b))
    if _active:

        def backward(g):
            return None, unbroadcast(np.where(c, g, 0), np.shape(a)), unbroadcast(np.where(c, 0, g), np.shape(b))

        link(y, (condition, x1, x2), backward, "where")
    return y


# --- comparisons (boolean results, no gradient) ------------------------------------------


def _compare(name, f, x1, x2):
    return constant(elementwise(name, f, operand(x1), operand(x2)))


def equal(x1, x2):
    return _compare("equal", np.equal, x1, x2)


def not_equal(x1, x2):
    return _compare("not_equal", np.not_equal, x1, x2)


def less(x1, x2):
    return _compare("less", np.less, x1, x2)


def less_equal(x1, x2):
    return _compare("less_equal", np.less_equal, x1, x2)


def greater(x1, x2):
    return _compare("greater", np.greater, x1, x2)


def greater_equal(x1, x2):
    return _compare("greater_equal", np.greater_equal, x1, x2)


def logical_and(x1, x2):
    return _compare("logical_and", np.logical_and, x1, x2)


def logical_or(x1, x2):
    return _compare("logical_or", np.logical_or, x1, x2)


def logical_not(x):
    return constant(np.logical_not(operand(x)))


# --- dtype and gradient control -----------------------------------------------------------


def cast(x, dtype):
    """``x`` converted to ``dtype``. The gradient is cast back to ``x``'s dtype; a cast to or
    from an integer or boolean dtype carries none."""
    a = operand(x)
    dtype = np.dtype(dtype)
    y = wrap(np.asarray(a).astype(dtype))
    if _active:
        link(y, (x,), lambda g: (g,), "cast")
    return y


def stop_gradient(variable):
    """The same values with no gradient path back (a new Tensor no tape has recorded)."""
    return wrap(operand(variable))


# --- products --------------------------------------------------------------------------------


def _matmul_shape_error(a, b):
    return ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} are not aligned "
                      f"(last axis of x1 must equal the second-to-last of x2, batch axes broadcast).")


def matmul(x1, x2):
    """Matrix product with NumPy's rules (1-D operands promoted, batch axes broadcast).

    For y = a @ b:  dL/da = g @ b^T,  dL/db = a^T @ g  (summed over broadcast batch axes).
    """
    a, b = operand(x1), operand(x2)
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                         f"{np.shape(a)} and {np.shape(b)}.")
    try:
        y = wrap(np.matmul(a, b))
    except ValueError:
        raise _matmul_shape_error(a, b) from None
    if _active:

        def backward(g, needed):
            if a.ndim == 2 and b.ndim == 2:  # the common case: no axes to restore or sum
                ga = None if needed[0] is False else input_gradient(g @ b.T, a)
                if needed[1] is False:
                    return ga, None
                out = needed[1]
                if type(out) is np.ndarray and out.shape == b.shape and out.dtype == a.dtype == g.dtype:
                    return ga, np.matmul(a.T, g, out=out)  # straight into the layer's gradient buffer
                return ga, input_gradient(a.T @ g, b)
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = g  # restore the axes NumPy dropped for 1-D operands: (..., m, n)
            if b.ndim == 1:
                g2 = np.expand_dims(g2, -1)
            if a.ndim == 1:
                g2 = np.expand_dims(g2, -2)
            ga = gb = None
            if needed[0] is not False:  # a model's first layer: no gradient for the data
                ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
                ga = input_gradient(ga[..., 0, :] if a.ndim == 1 else ga, a)
            if needed[1] is not False:
                gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
                gb = input_gradient(gb[..., 0] if b.ndim == 1 else gb, b)
            return ga, gb

        link(y, (x1, x2), backward, "matmul", pass_needed="out", checked=False)
    return y


def dot(x1, x2):
    """``np.dot``: a product for scalars, the matrix product for 1-D / 2-D operands, and for
    N-D ``dot(a, b)[i..., j..., k] = sum_m a[i..., m] b[j..., m, k]`` (via ``einsum``)."""
    a, b = operand(x1), operand(x2)
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return multiply(x1, x2)
    if na <= 2 and nb <= 2:
        return matmul(x1, x2)
    letters = iter(string.ascii_letters)
    sa = "".join(next(letters) for _ in range(na - 1))
    m = next(letters)
    if nb == 1:
        return einsum(f"{sa}{m},{m}->{sa}", x1, x2)
    sb = "".join(next(letters) for _ in range(nb - 2))
    k = next(letters)
    return einsum(f"{sa}{m},{sb}{m}{k}->{sa}{sb}{k}", x1, x2)


def _einsum_terms(subscripts: str, shapes) -> tuple[list[str], str]:
    """Explicit per-operand subscripts and output, with ``...`` replaced by letters."""
    s = subscripts.replace(" ", "")
    inputs, _, output = s.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(shapes)}.")
    spare = [c for c in string.ascii_letters if c not in s]
    widths = [len(shape) - (len(t) - 3) for t, shape in zip(terms, shapes) if "..." in t]
    width = max(widths, default=0)
    ellipsis = "".join(spare[:width])
    explicit = []
    for t, shape in zip(terms, shapes):
        if "..." in t:
            n = len(shape) - (len(t) - 3)
            t = t.replace("...", ellipsis[width - n:])  # right-aligned, as broadcasting is
        explicit.append(t)
    if "->" in s:
        output = output.replace("...", ellipsis)
    else:
        counts = Counter("".join(explicit))
        output = ellipsis + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ellipsis))
    for t in explicit:
        if len(set(t)) != len(t):
            raise ValueError(
                f"einsum: {subscripts!r} repeats an index within one operand (a trace or "
                f"diagonal), which numnet.ops.einsum does not differentiate."
            )
    return explicit, output


def einsum(subscripts, *operands):
    """``np.einsum(subscripts, *operands)``.

    For ``y = einsum("A,B,...->Y")`` the gradient of operand A is
    ``einsum("Y,B,...->A", g, b, ...)``; indices of A found nowhere else are broadcast,
    and indices where A has size 1 but the others do not are summed.
    """
    values = [operand(x) for x in operands]
    terms, output = _einsum_terms(subscripts, [np.shape(v) for v in values])
    try:
        y = wrap(np.einsum(subscripts, *values))
    except ValueError as e:
        shapes = ", ".join(str(np.shape(v)) for v in values)
        raise ValueError(f"einsum: {subscripts!r} does not fit shapes {shapes}: {e}") from None
    if _active:

        def backward(g, needed):
            grads = []
            for i, (term, v) in enumerate(zip(terms, values)):
                if not needed[i]:
                    grads.append(None)
                    continue
                others = [(t, w) for j, (t, w) in enumerate(zip(terms, values)) if j != i]
                available = set(output).union(*(t for t, _ in others))
                present = "".join(c for c in term if c in available)
                spec = ",".join([output] + [t for t, _ in others]) + "->" + present
                r = np.einsum(spec, g, *(w for _, w in others))
                shape = np.shape(v)
                full = [r.shape[present.index(c)] if c in present else 1 for c in term]
                r = r.reshape(full)
                summed = tuple(k for k, (n, m) in enumerate(zip(shape, full)) if n == 1 and m != 1)
                if summed:
                    r = r.sum(axis=summed, keepdims=True)
                grads.append(np.broadcast_to(r, shape).copy() if r.shape != shape else r)
            return grads

        link(y, tuple(operands), backward, "einsum", pass_needed=True)
    return y

