"""``normalize``, as Keras's ``keras.utils.normalize`` (``to_categorical`` lives in
``numnet.datasets.utils`` and is exported from ``numnet.utils`` too)."""

from __future__ import annotations

import numpy as np


def normalize(x, axis=-1, order=2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (``np.linalg.norm(x, order,
    axis)``, 2 the Euclidean norm, 1 the sum of absolute values), as Keras's ``normalize``
    does for NumPy input: slices whose norm is 0 stay 0. Same shape as ``x``; float input
    keeps its dtype, integers become float64.

    >>> normalize([[3.0, 4.0]])
    array([[0.6, 0.8]])
    """
    array = np.asarray(x)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"normalize expects a numeric array, got {array.dtype}.")
    if array.ndim == 0:
        raise ValueError("normalize expects an array with at least one axis, got a scalar.")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -array.ndim <= axis < array.ndim:
        raise ValueError(f"normalize axis must be an integer in [{-array.ndim}, {array.ndim}) for an array of "
                         f"shape {array.shape}, got {axis!r}.")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    norm = np.linalg.norm(array, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1  # leave all-zero slices as they are
    return (array / norm).astype(array.dtype, copy=False)
