"""Reshaping, joining, splitting, gathering and indexing.

Backward passes move ``g`` back into the input's layout: a reshape or transpose undoes
itself; a gather scatters ``g`` with ``np.add.at`` (indices may repeat, and a repeated
index collects the gradient of every copy).
"""

from __future__ import annotations

import numpy as np

from .core import _active, operand, unbroadcast
from .tape import link, link_many
from .tensor import Tensor, wrap


def _array(x) -> np.ndarray:
    return np.asarray(operand(x))


def shape(x) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(np.shape(operand(x)))


def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be -1).  dL/dx = g reshaped back."""
    a = _array(x)
    try:
        y = wrap(np.reshape(a, newshape))
    except ValueError:
        raise ValueError(f"reshape: cannot reshape an array of shape {a.shape} into {newshape}.") from None
    if _active:
        link(y, (x,), lambda g: (g.reshape(a.shape),), "reshape")
    return y


def transpose(x, axes=None):
    """Axes permuted (reversed when ``axes`` is None).  dL/dx = g with the inverse permutation."""
    a = _array(x)
    perm = tuple(range(a.ndim))[::-1] if axes is None else tuple(int(i) % max(a.ndim, 1) for i in axes)
    if sorted(perm) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape {a.shape}.")
    y = wrap(np.transpose(a, perm))
    if _active:
        inverse = tuple(np.argsort(perm))
        link(y, (x,), lambda g: (np.transpose(g, inverse),), "transpose")
    return y


def expand_dims(x, axis):
    """A new axis of length 1 at ``axis``.  dL/dx = g reshaped back."""
    a = _array(x)
    y = wrap(np.expand_dims(a, axis))
    if _active:
        link(y, (x,), lambda g: (g.reshape(a.shape),), "expand_dims")
    return y


def squeeze(x, axis=None):
    """Axes of length 1 removed (all, or those in ``axis``).  dL/dx = g reshaped back."""
    a = _array(x)
    try:
        y = wrap(np.squeeze(a, axis))
    except ValueError:
        raise ValueError(f"squeeze: axis {axis} of shape {a.shape} does not have length 1.") from None
    if _active:
        link(y, (x,), lambda g: (g.reshape(a.shape),), "squeeze")
    return y


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``.  dL/dx = g summed over the broadcast axes."""
    a = _array(x)
    try:
        y = wrap(np.broadcast_to(a, shape))
    except ValueError:
        raise ValueError(f"broadcast_to: shape {a.shape} does not broadcast to {tuple(shape)}.") from None
    if _active:
        link(y, (x,), lambda g: (unbroadcast(g, a.shape),), "broadcast_to")
    return y


def concatenate(xs, axis=0):
    """The inputs joined along ``axis``.  dL/dx_i = the slice of g that came from x_i."""
    xs = tuple(xs)
    values = [_array(x) for x in xs]
    try:
        y = wrap(np.concatenate(values, axis=axis))
    except ValueError:
        shapes = ", ".join(str(v.shape) for v in values)
        raise ValueError(f"concatenate: shapes {shapes} cannot be joined along axis {axis}.") from None
    if _active:
        cuts = np.cumsum([v.shape[axis] for v in values])[:-1]
        link(y, xs, lambda g: tuple(np.split(g, cuts, axis=axis)), "concatenate")
    return y


def stack(x, axis=0):
    """The inputs (all of one shape) stacked along a new ``axis``.  dL/dx_i = g[..., i, ...]."""
    xs = tuple(x)
    values = [_array(v) for v in xs]
    try:
        y = wrap(np.stack(values, axis=axis))
    except ValueError:
        shapes = ", ".join(str(v.shape) for v in values)
        raise ValueError(f"stack: shapes {shapes} must all be equal.") from None
    if _active:
        n = len(values)
        link(y, xs, lambda g: tuple(np.take(g, i, axis=axis) for i in range(n)), "stack")
    return y


def split(x, indices_or_sections, axis=0):
    """``np.split``: a list of pieces along ``axis``.  One node with several outputs:
    dL/dx = the pieces' gradients joined (zeros for pieces that got none)."""
    a = _array(x)
    try:
        pieces = np.split(a, indices_or_sections, axis=axis)
    except ValueError:
        raise ValueError(
            f"split: an axis of length {a.shape[axis]} does not divide into {indices_or_sections} equal parts."
        ) from None
    outs = tuple(wrap(p) for p in pieces)
    if _active:
        link_many(outs, (x,), lambda gs: (np.concatenate(gs, axis=axis),), "split")
    return list(outs)


def take(x, indices, axis=None):
    """``np.take``: elements at ``indices`` along ``axis`` (of the flattened ``x`` when None).
    dL/dx: g scattered (summed) back to the taken positions."""
    a = _array(x)
    idx = np.asarray(operand(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got dtype {idx.dtype}.")
    try:
        y = wrap(np.take(a, idx, axis=axis))
    except IndexError as e:
        raise IndexError(f"take: {e} (x has shape {a.shape}).") from None
    if _active:

        def backward(g):
            gx = np.zeros(a.shape, dtype=g.dtype)
            if axis is None:
                np.add.at(gx.reshape(-1), idx, g)
                return gx, None
            ax = axis % a.ndim
            gm = np.moveaxis(g, tuple(range(ax, ax + idx.ndim)), tuple(range(idx.ndim)))
            np.add.at(np.moveaxis(gx, ax, 0), idx, gm)
            return gx, None

        link(y, (x, indices), backward, "take")
    return y


def take_along_axis(x, indices, axis=None):
    """``np.take_along_axis``: ``y[..., j, ...] = x[..., indices[..., j, ...], ...]`` along
    ``axis`` (the flattened ``x`` when None). dL/dx: g scattered back (summed over repeats
    and over axes that broadcast)."""
    a = _array(x)
    idx = np.asarray(operand(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got dtype {idx.dtype}.")
    if axis is None:
        source, ax = a.reshape(-1), 0
    else:
        source, ax = a, axis % max(a.ndim, 1)
    try:
        y = wrap(np.take_along_axis(source, idx, axis=ax))
    except (ValueError, IndexError) as e:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} do not fit x of shape {a.shape}: {e}"
        ) from None
    if _active:

        def backward(g):
            # Scatter into x broadcast to g's shape on the other axes, then sum back.
            full = list(g.shape)
            full[ax] = source.shape[ax]
            gx = np.zeros(full, dtype=g.dtype)
            grid = list(np.ix_(*[np.arange(n) for n in g.shape]))
            grid[ax] = np.broadcast_to(idx, g.shape)
            np.add.at(gx, tuple(grid), g)
            return unbroadcast(gx, source.shape).reshape(a.shape), None

        link(y, (x, indices), backward, "take_along_axis")
    return y


def _plain_key(key):
    """An indexing key with Tensors replaced by their arrays; whether it uses advanced
    (integer-array or boolean) indexing, under which positions may repeat."""
    parts = key if isinstance(key, tuple) else (key,)
    plain, advanced = [], False
    for k in parts:
        if isinstance(k, Tensor):
            k = k.value
        if isinstance(k, (list, np.ndarray)):
            advanced = True
        plain.append(k)
    return (tuple(plain) if isinstance(key, tuple) else plain[0]), advanced


def getitem(x, key):
    """``x[key]`` with NumPy's basic and advanced indexing (slices, ints, None, ``...``,
    integer arrays, boolean masks). dL/dx: g written back to the selected positions,
    summed where an integer array selects one position several times."""
    a = _array(x)
    key, advanced = _plain_key(key)
    y = wrap(a[key])
    if _active:

        def backward(g):
            gx = np.zeros(a.shape, dtype=g.dtype)
            if advanced:
                np.add.at(gx, key, g)
            else:
                gx[key] = g
            return (gx,)

        link(y, (x,), backward, "getitem")
    return y


def tril(x, k=0):
    """Lower triangle of the last two axes (entries above diagonal ``k`` zeroed).  dL/dx = tril(g)."""
    a = _array(x)
    y = wrap(np.tril(a, k))
    if _active:
        link(y, (x,), lambda g: (np.tril(g, k),), "tril")
    return y


def triu(x, k=0):
    """Upper triangle of the last two axes (entries below diagonal ``k`` zeroed).  dL/dx = triu(g)."""
    a = _array(x)
    y = wrap(np.triu(a, k))
    if _active:
        link(y, (x,), lambda g: (np.triu(g, k),), "triu")
    return y
