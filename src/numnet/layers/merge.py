"""Merge layers: combine several inputs into one output (residual and multi-branch nets)."""

from __future__ import annotations

import numpy as np

from ..ops.core import unbroadcast
from . import _validate
from .layer import Layer


class _Merge(Layer):
    def _check_many(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} merges a list of at least two inputs, "
                f"got {input_shape!r}."
            )


def broadcast_shape(layer, input_shape) -> tuple:
    """The output shape (no batch axis) of an elementwise merge of inputs of ``input_shape``,
    as Keras broadcasts them: the shapes are aligned at their last axes (a shorter one gains
    axes of size 1 right after the batch axis), and on every axis the sizes are equal or 1
    (an unknown size, None, gives None). E.g. ``(4, 3)`` and ``(3,)`` give ``(4, 3)``;
    ``(4, 1)`` and ``(1, 5)`` give ``(4, 5)``. Raises ValueError for any other pair."""
    shapes = [tuple(s) for s in input_shape]
    rank = max(len(s) for s in shapes)
    out = [1] * rank
    for shape in shapes:
        for axis, size in enumerate((1,) * (rank - len(shape)) + shape):
            if size is None or out[axis] is None:
                out[axis] = None
            elif out[axis] == 1:
                out[axis] = size
            elif size not in (1, out[axis]):
                raise ValueError(
                    f"{type(layer).__name__} {layer.name!r} needs inputs of one shape, or shapes that broadcast "
                    f"(each axis, counted from the last, equal or 1); got {input_shape}."
                )
    return tuple(out)


def aligned(arrays):
    """The arrays with axes of size 1 inserted after the batch axis up to the largest rank,
    so that NumPy broadcasts them as ``broadcast_shape`` does (NumPy alone would pad before
    the batch axis)."""
    rank = max(a.ndim for a in arrays)
    return [a if a.ndim == rank else a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in arrays]


def reduce_to(error, array):
    """``error`` (the merge output's shape) summed over the axes ``array`` was broadcast
    along, in ``array``'s shape: the gradient of a broadcast input (``ops``' unbroadcast
    on the shape ``aligned`` gave it)."""
    if error.shape == array.shape:
        return error
    shape = array.shape[:1] + (1,) * (error.ndim - array.ndim) + array.shape[1:]
    return unbroadcast(error, shape).reshape(array.shape)


def check_batch_sizes(layer, arrays) -> None:
    """Merged inputs share the batch axis: it never broadcasts (Keras)."""
    if any(np.shape(a)[0] != np.shape(arrays[0])[0] for a in arrays):
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: the inputs have different batch sizes "
            f"{[np.shape(a)[0] for a in arrays]}."
        )


class Add(_Merge):
    """``y = x_1 + x_2 + ... + x_k``. The inputs have one shape, or shapes that broadcast as
    Keras broadcasts them (``broadcast_shape``: ``(batch, 4, 3) + (batch, 3)`` gives
    ``(batch, 4, 3)``). Backward hands ``dL/dy`` to each input, summed over the axes that
    input was broadcast along."""

    def build(self, input_shape):
        self._check_many(input_shape)
        broadcast_shape(self, input_shape)

    def compute_output_shape(self, input_shape):
        return broadcast_shape(self, input_shape)

    def forward(self, inputs):
        if all(x.shape == inputs[0].shape for x in inputs[1:]):
            out = inputs[0] + inputs[1]
            for x in inputs[2:]:
                out += x
        else:
            check_batch_sizes(self, inputs)
            broadcast_shape(self, [x.shape[1:] for x in inputs])  # a Keras-worded error for shapes that do not
            arrays = aligned(inputs)
            out = arrays[0] + arrays[1]
            for x in arrays[2:]:
                out = out + x
        self.input = inputs
        self.output = out
        return out

    def backward(self, output_error):
        return [reduce_to(output_error, x) for x in self.input]


class Concatenate(_Merge):
    """Joins inputs along ``axis`` (default -1, the feature axis; the batch axis is 0 and
    cannot be used). Backward splits ``dL/dy`` back into the inputs' pieces."""

    def __init__(self, axis: int = -1, **kwargs) -> None:
        axis = _validate.axis(axis, "Concatenate")
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        self._check_many(input_shape)
        rank = len(input_shape[0])
        if self.axis == 0 or not -rank <= self.axis <= rank or any(len(s) != rank for s in input_shape):
            raise ValueError(
                f"Concatenate {self.name!r}: axis {self.axis} is not a feature axis of inputs {input_shape}."
            )
        self._feature_axis = self.axis - 1 if self.axis > 0 else self.axis + rank
        for s in input_shape:
            rest = s[: self._feature_axis] + s[self._feature_axis + 1 :]
            first = input_shape[0][: self._feature_axis] + input_shape[0][self._feature_axis + 1 :]
            if rest != first:
                raise ValueError(
                    f"Concatenate {self.name!r}: shapes {input_shape} differ outside axis {self.axis}."
                )

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        out[self._feature_axis] = sum(s[self._feature_axis] for s in input_shape)
        return tuple(out)

    def forward(self, inputs):
        if not self.built:
            self.build_for([x.shape[1:] for x in inputs])
        self.input = inputs
        self.output = np.concatenate(inputs, axis=self._feature_axis + 1)
        return self.output

    def backward(self, output_error):
        sizes = [x.shape[self._feature_axis + 1] for x in self.input]
        return np.split(output_error, np.cumsum(sizes)[:-1], axis=self._feature_axis + 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
