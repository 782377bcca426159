"""Tensors from shapes and values, and the way back to NumPy (no gradients here).

As in Keras, ``dtype=None`` means float32 for ops that make floats (``zeros``, ``ones``,
``full``, ``eye``) and for Python floats given to ``convert_to_tensor``; Python ints
become int32. NumPy arrays keep their dtype.
"""

from __future__ import annotations

import numpy as np

from .core import constant, operand
from .math import cast
from .tensor import Tensor, as_array

FLOATX = np.dtype(np.float32)


def _dtype(dtype, default=FLOATX) -> np.dtype:
    return np.dtype(default if dtype is None else dtype)


def convert_to_tensor(x, dtype=None, sparse=None):
    """``x`` as a Tensor. A Tensor or Variable of the requested dtype is returned as it is
    (so a tape still sees it); one of another dtype goes through ``cast`` (recorded, so
    float-to-float conversions keep their gradient)."""
    if sparse:
        raise ValueError("convert_to_tensor: numnet.ops has no sparse tensors (sparse=True).")
    if isinstance(x, Tensor):
        if dtype is None or np.dtype(dtype) == x.dtype:
            return x
        return cast(x, dtype)
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        array = as_array(x)
    else:
        array = as_array(x)
        # Python values follow Keras: floats are float32, ints int32.
        if array.dtype == np.float64:
            array = array.astype(FLOATX)
        elif array.dtype == np.int64:
            array = array.astype(np.int32)
    if dtype is not None and array.dtype != np.dtype(dtype):
        array = array.astype(dtype)
    return constant(array)


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy copy of ``x``'s values (a copy, so that changing it cannot corrupt a value a
    tape still needs)."""
    return np.array(operand(x))


def zeros(shape, dtype=None):
    return constant(np.zeros(shape, dtype=_dtype(dtype)))


def ones(shape, dtype=None):
    return constant(np.ones(shape, dtype=_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    return constant(np.full(shape, operand(fill_value), dtype=_dtype(dtype)))


def zeros_like(x, dtype=None):
    a = np.asarray(operand(x))
    return constant(np.zeros(a.shape, dtype=a.dtype if dtype is None else dtype))


def ones_like(x, dtype=None):
    a = np.asarray(operand(x))
    return constant(np.ones(a.shape, dtype=a.dtype if dtype is None else dtype))


def full_like(x, fill_value, dtype=None):
    a = np.asarray(operand(x))
    return constant(np.full(a.shape, operand(fill_value), dtype=a.dtype if dtype is None else dtype))


def eye(N, M=None, k=0, dtype=None):
    return constant(np.eye(N, M, k, dtype=_dtype(dtype)))


def arange(start, stop=None, step=1, dtype=None):
    """``np.arange``; without ``dtype``: int32 when every argument is an int, else float32."""
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step) if v is not None)
        dtype = np.int32 if ints else FLOATX
    if stop is None:
        start, stop = 0, start
    return constant(np.arange(start, stop, step, dtype=dtype))
