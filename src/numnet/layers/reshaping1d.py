"""Layers that rearrange sequences: ``RepeatVector``, ``UpSampling1D``, ``ZeroPadding1D``,
``Cropping1D``. None of them propagates a mask (as in Keras)."""

from __future__ import annotations

import numpy as np

from . import _sequence as seq
from .layer import Layer


def _pair(value, what: str, owner: str, allow_zero: bool = True) -> tuple[int, int]:
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in items
    ):
        raise ValueError(f"{owner} {what} must be a non-negative integer or a pair of them, got {value!r}.")
    return int(items[0]), int(items[1])


class _SequenceLayer(Layer):
    def compute_mask(self, input_mask):
        return None

    def _check(self, input):
        x = seq.check_sequence(self, input)
        if not self.built:
            self.build_for(tuple(x.shape[1:]))
        self._x_shape = x.shape
        return x

    def _need_forward(self):
        if getattr(self, "_x_shape", None) is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")


class RepeatVector(Layer):
    """``(batch, features) -> (batch, n, features)``: ``y[:, t] = x`` for every ``t``.
    Backward sums ``dL/dy`` over the ``n`` copies."""

    def __init__(self, n: int, name: str | None = None, **kwargs) -> None:
        self.n = seq.check_positive_int(n, "n", "RepeatVector")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def compute_output_shape(self, input_shape):
        return (self.n,) + tuple(input_shape)

    def compute_mask(self, input_mask):
        return None

    def forward(self, input, training=False, mask=None):
        x = np.asarray(input)
        if x.ndim != 2:
            raise ValueError(f"RepeatVector {self.name!r} expects inputs of shape (batch, features), got {x.shape}.")
        if not self.built:
            self.build_for(tuple(x.shape[1:]))
        self._x_shape = x.shape
        self.output = np.repeat(x[:, None, :], self.n, axis=1)
        return self.output

    def backward(self, output_error):
        if self._x_shape is None:
            raise RuntimeError(f"RepeatVector {self.name!r}: call forward(x) before backward(output_error).")
        return np.asarray(output_error).sum(axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class UpSampling1D(_SequenceLayer):
    """Repeats each time step ``size`` times: ``y[:, t] = x[:, t // size]``. Backward sums
    each group of ``size`` errors."""

    def __init__(self, size: int = 2, name: str | None = None, **kwargs) -> None:
        self.size = seq.check_positive_int(size, "size", "UpSampling1D")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def compute_output_shape(self, input_shape):
        t = input_shape[0]
        return (None if t is None else t * self.size, input_shape[-1])

    def forward(self, input, training=False, mask=None):
        x = self._check(input)
        self.output = np.repeat(x, self.size, axis=1)
        return self.output

    def backward(self, output_error):
        self._need_forward()
        n, t, c = self._x_shape
        return np.asarray(output_error).reshape(n, t, self.size, c).sum(axis=2)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


class ZeroPadding1D(_SequenceLayer):
    """Adds ``padding = (before, after)`` (or one number for both) zero steps around the
    time axis. Backward crops them away."""

    def __init__(self, padding=1, name: str | None = None, **kwargs) -> None:
        self.padding = _pair(padding, "padding", "ZeroPadding1D")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def compute_output_shape(self, input_shape):
        t = input_shape[0]
        return (None if t is None else t + sum(self.padding), input_shape[-1])

    def forward(self, input, training=False, mask=None):
        x = self._check(input)
        self.output = np.pad(x, ((0, 0), self.padding, (0, 0)))
        return self.output

    def backward(self, output_error):
        self._need_forward()
        before = self.padding[0]
        return np.asarray(output_error)[:, before : before + self._x_shape[1]]

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": list(self.padding)}


class Cropping1D(_SequenceLayer):
    """Drops ``cropping = (before, after)`` (or one number for both) steps from the ends of
    the time axis. Backward pads the error with zeros back to the input's length."""

    def __init__(self, cropping=(1, 1), name: str | None = None, **kwargs) -> None:
        self.cropping = _pair(cropping, "cropping", "Cropping1D")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def compute_output_shape(self, input_shape):
        t = input_shape[0]
        if t is not None and t <= sum(self.cropping):
            raise ValueError(f"Cropping1D {self.name!r}: cropping {self.cropping} leaves nothing of {t} time steps.")
        return (None if t is None else t - sum(self.cropping), input_shape[-1])

    def forward(self, input, training=False, mask=None):
        x = self._check(input)
        self.compute_output_shape(x.shape[1:])
        self.output = x[:, self.cropping[0] : x.shape[1] - self.cropping[1]]
        return self.output

    def backward(self, output_error):
        self._need_forward()
        return np.pad(np.asarray(output_error), ((0, 0), self.cropping, (0, 0)))

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": list(self.cropping)}
