"""Merge layers: combine several inputs into one output (residual and multi-branch nets)."""

from __future__ import annotations

import numpy as np

from . import _validate
from .layer import Layer


class _Merge(Layer):
    def _check_many(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} merges a list of at least two inputs, "
                f"got {input_shape!r}."
            )


class Add(_Merge):
    """``y = x_1 + x_2 + ... + x_k``; every input has the same shape. Backward hands
    ``dL/dy`` to each input unchanged."""

    def build(self, input_shape):
        self._check_many(input_shape)
        if any(s != input_shape[0] for s in input_shape):
            raise ValueError(f"Add {self.name!r} needs inputs of one shape, got {input_shape}.")

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def forward(self, inputs):
        self.input = inputs
        out = inputs[0] + inputs[1]
        for x in inputs[2:]:
            out += x
        self.output = out
        return out

    def backward(self, output_error):
        return [output_error] * len(self.input)


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
