"""Cross-entropies as ``keras.ops.nn`` defines them: per-element or per-sample values,
no reduction. They are compositions of other ops, so their gradients come from those.

Probabilities (``from_logits=False``) are clipped to [1e-7, 1 - 1e-7] (Keras' epsilon)
before the logarithm; logits go through ``log_softmax`` / the stable form of
``log(sigmoid)``, with no clipping.
"""

from __future__ import annotations

import numpy as np

from . import math as m
from . import nn
from . import reduce as r
from .core import operand
from .tensor import Tensor

EPSILON = 1e-7


def _shape(x) -> tuple:
    return tuple(np.shape(operand(x)))


def binary_crossentropy(target, output, from_logits=False):
    """-(t log p + (1 - t) log(1 - p)) elementwise, p = output (clipped) or sigmoid(output).

    From logits x this is ``max(x, 0) - x t + log(1 + e^-|x|)``, exact for large |x|.
    ``target`` and ``output`` must have the same shape.
    """
    if _shape(target) != _shape(output):
        raise ValueError(
            f"binary_crossentropy: target and output must have the same shape, got "
            f"{_shape(target)} and {_shape(output)}."
        )
    if from_logits:
        return nn.relu(output) - output * _target(target, output) + m.log1p(m.exp(-m.abs(output)))
    p = m.clip(output, EPSILON, 1.0 - EPSILON)
    t = _target(target, output)
    return -(t * m.log(p) + (1.0 - t) * m.log(1.0 - p))


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return nn.log_softmax(output, axis=axis)
    p = output / r.sum(output, axis=axis, keepdims=True)
    return m.log(m.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log p, axis), p = output normalised to sum 1 along ``axis`` and
    clipped, or softmax(output). ``target`` (one-hot or soft labels) has output's shape."""
    if _shape(target) != _shape(output):
        raise ValueError(
            f"categorical_crossentropy: target and output must have the same shape, got "
            f"{_shape(target)} and {_shape(output)}."
        )
    return -r.sum(_target(target, output) * _log_probabilities(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """categorical_crossentropy with integer class indices: ``target`` has output's shape
    without ``axis`` (a trailing axis of length 1 is squeezed). As in Keras, an index
    outside [0, classes) selects nothing and contributes 0."""
    labels = np.asarray(operand(target))
    out_shape = _shape(output)
    if labels.ndim == len(out_shape) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"sparse_categorical_crossentropy: target must hold integer class indices, got dtype {labels.dtype}."
        )
    expected = out_shape[:axis % len(out_shape)] + out_shape[axis % len(out_shape) + 1:] if out_shape else None
    if not out_shape or labels.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: target must have output's shape without the class axis "
            f"({expected}), got {labels.shape} for output {out_shape}."
        )
    one_hot = nn.one_hot(labels, out_shape[axis], axis=axis, dtype=np.asarray(operand(output)).dtype)
    return -r.sum(one_hot * _log_probabilities(output, from_logits, axis), axis=axis)


def _target(target, output):
    """``target`` in ``output``'s float dtype (as Keras casts it), kept on the tape."""
    dtype = np.asarray(operand(output)).dtype
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    if isinstance(target, Tensor):
        return target if target.dtype == dtype else m.cast(target, dtype)
    return Tensor(np.asarray(operand(target), dtype=dtype))

