"""Array helpers with Keras's names: ``to_categorical`` and ``normalize``."""

from __future__ import annotations

import numpy as np


def to_categorical(x, num_classes=None) -> np.ndarray:
    """One-hot rows for integer class labels, as Keras's ``to_categorical``.

    ``x``: integer labels of any shape ``S`` (a trailing axis of size 1, as in a column
    vector ``(n, 1)``, is dropped first, as Keras does); ``num_classes`` defaults to
    ``max(x) + 1``. Returns float32 ``S + (num_classes,)`` with ``out[..., x] = 1``.

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(x)
    if labels.dtype.kind == "f":
        if labels.size and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
            raise ValueError("to_categorical expects integer class labels; x holds non-integer values such as "
                             f"{float(labels[~(np.isfinite(labels) & (labels == np.round(labels)))].flat[0])!r}.")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"to_categorical expects integer class labels, got an array of {labels.dtype}.")
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"to_categorical num_classes must be a positive integer or None, got {num_classes!r}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise ValueError(f"to_categorical: label {int(bad)} is outside [0, {num_classes}) "
                         f"(num_classes={num_classes}).")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=np.float32)
    np.put_along_axis(out, labels[..., None].astype(np.intp), 1.0, axis=-1)
    return out


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
