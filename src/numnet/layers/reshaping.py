"""Layers that only rearrange values: ``Flatten`` and ``Reshape``."""

from __future__ import annotations

import math

import numpy as np

from . import _validate
from .layer import Layer


class Flatten(Layer):
    """``(n_samples, d1, d2, ...) -> (n_samples, d1 * d2 * ...)`` in row-major (C) order,
    so channels-last images flatten as Keras flattens them. Backward reshapes back."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, input):
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        self.output = input.reshape(input.shape[0], -1)
        return self.output

    def backward(self, output_error):
        return output_error.reshape(self.input.shape)


class Reshape(Layer):
    """``(n_samples, *input_shape) -> (n_samples, *target_shape)``; ``target_shape``
    excludes the batch dimension and may hold one ``-1``, inferred from the size."""

    def __init__(self, target_shape, name: str | None = None, **kwargs) -> None:
        shape = (target_shape,) if isinstance(target_shape, (int, np.integer)) else target_shape
        if (
            not isinstance(shape, (tuple, list))
            or not shape
            or not all(_validate.is_int(s) and (0 < s <= _validate.MAX_INT or s == -1) for s in shape)
            or list(shape).count(-1) > 1
        ):
            raise ValueError(
                f"Reshape target_shape must be a tuple of positive integers with at most one -1, "
                f"without the batch dimension, e.g. (7, 7, 64) or (-1, 16); got {target_shape!r:.80}."
            )
        super().__init__(name=name, **kwargs)
        self.target_shape = tuple(int(s) for s in shape)

    def compute_output_shape(self, input_shape):
        size, known = math.prod(input_shape), -math.prod(self.target_shape)
        if -1 in self.target_shape and known > 0 and size % known == 0:
            return tuple(size // known if s == -1 else s for s in self.target_shape)
        if -1 not in self.target_shape and math.prod(self.target_shape) == size:
            return self.target_shape
        raise ValueError(
            f"Reshape {self.name!r} cannot reshape inputs of shape (N, "
            f"{', '.join(map(str, input_shape))}) ({size} values per sample) to target_shape "
            f"{self.target_shape}."
        )

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))  # raises if the sizes disagree

    def forward(self, input):
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        shape = self.output_shape if input.shape[1:] == tuple(self.input_shape) else self.compute_output_shape(input.shape[1:])
        self.output = input.reshape((input.shape[0],) + tuple(shape))
        return self.output

    def backward(self, output_error):
        return output_error.reshape(self.input.shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
