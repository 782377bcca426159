"""1-D pooling over time, channels last: ``(batch, time, channels)``."""

from __future__ import annotations

import numpy as np

from . import _layout
from . import _sequence as seq
from .conv1d import conv1d_plan, padding_1d, single
from .layer import Layer


class _Pool1D(Layer):
    """Windows of ``pool_size`` steps every ``strides`` (default ``pool_size``) steps:
    ``(batch, time, c) -> (batch, out_time, c)``; ``out_time`` as in Conv1D (valid:
    ``floor((time - pool) / stride) + 1``, same: ``ceil(time / stride)``, extra padding after).
    ``data_format="channels_first"``: ``(batch, c, time)`` in and out (a transpose at the boundary)."""

    _pad_value = 0.0

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format=None,
                 name: str | None = None, **kwargs) -> None:
        owner = type(self).__name__
        self.pool_size = single(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else single(strides, "strides", owner)
        self.padding = padding_1d(padding, owner, causal=False)
        self.data_format = _layout.data_format(data_format, owner)
        super().__init__(name=name, **kwargs)
        self._x = None

    def _plan(self, length):
        return conv1d_plan(self, length, self.pool_size, self.strides, self.padding, "pool")

    def build(self, input_shape) -> None:
        if len(tuple(input_shape)) != 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape (batch, time, channels), "
                             f"got (batch, {', '.join(map(str, input_shape))}).")
        self._plan(input_shape[0])

    def compute_output_shape(self, input_shape):
        plan = self._plan(input_shape[0])
        return (None if plan is None else plan[0], input_shape[-1])

    def compute_mask(self, input_mask):
        return None

    def _views(self, input):
        """Validate and pad; the ``pool_size`` strided views ``xp[:, a + t*s]`` of shape
        ``(batch, out_time, c)``, one per window position ``a``."""
        x = seq.check_sequence(self, input)
        if not self.built:
            self.build_for((None, x.shape[2]))
        out, before, after = self._plan(x.shape[1])
        self._x, self._pads, self._out = x, (before, after), out
        xp = x
        if before or after:
            xp = np.pad(x, ((0, 0), (before, after), (0, 0)), constant_values=self._pad_value)
        self._padded_length = xp.shape[1]
        return [self._slice(xp, a) for a in range(self.pool_size)]

    def _slice(self, xp, a):
        return xp[:, a : a + (self._out - 1) * self.strides + 1 : self.strides]

    def _unpad(self, dxp):
        before, after = self._pads
        return dxp[:, before : dxp.shape[1] - after]

    def _input_error(self, dtype):
        return np.zeros((self._x.shape[0], self._padded_length, self._x.shape[2]), dtype=dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format}


@_layout.channels_aware(1)
class MaxPooling1D(_Pool1D):
    """``y[n, t, c] = max_a xp[n, t*s + a, c]``; "same" pads with -inf. Backward sends
    ``dL/dy`` to each window's first maximum."""

    _pad_value = -np.inf

    def forward(self, input, training=False, mask=None):
        views = self._views(input)
        y = views[0].copy()
        first = np.zeros(y.shape, dtype=np.intp)
        for a in range(1, len(views)):
            grew = views[a] > y  # strictly: ties keep the earlier position
            first[grew] = a
            np.maximum(y, views[a], out=y)
        self._first = first
        self.output = y
        return y

    def backward(self, output_error):
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")
        g = np.asarray(output_error)
        dxp = self._input_error(g.dtype)
        for a in range(self.pool_size):
            self._slice(dxp, a)[...] += g * (self._first == a)
        return self._unpad(dxp)


@_layout.channels_aware(1)
class AveragePooling1D(_Pool1D):
    """``y[n, t, c] = mean`` over the window's real steps: with "same", padded steps are
    not counted (as in Keras / TensorFlow). Backward gives each step ``dL/dy / count``."""

    def forward(self, input, training=False, mask=None):
        views = self._views(input)
        total = views[0].copy()
        for view in views[1:]:
            total += view
        ones = np.zeros((1, self._padded_length, 1))
        ones[:, self._pads[0] : self._padded_length - self._pads[1]] = 1
        self._count = sum(self._slice(ones, a) for a in range(self.pool_size))  # (1, out, 1)
        self.output = total / self._count.astype(total.dtype)
        return self.output

    def backward(self, output_error):
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")
        share = np.asarray(output_error) / self._count
        dxp = self._input_error(share.dtype)
        for a in range(self.pool_size):
            self._slice(dxp, a)[...] += share
        return self._unpad(dxp)


class _GlobalPool1D(Layer):
    """Over the whole time axis: ``(batch, time, c) -> (batch, c)``, or ``(batch, 1, c)``
    with ``keepdims=True``; channels first, ``(batch, c, time) -> (batch, c)`` or ``(batch, c, 1)``.
    Keras's argument order: ``data_format`` first."""

    def __init__(self, data_format=None, keepdims: bool = False, name: str | None = None, **kwargs) -> None:
        if isinstance(data_format, (bool, np.bool_)):  # numnet's former order: keepdims first
            data_format, keepdims = None, data_format
        super().__init__(name=name, **kwargs)
        self.data_format = _layout.data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self._x = None

    def compute_output_shape(self, input_shape):
        return (1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def compute_mask(self, input_mask):
        return None

    def _check(self, input):
        x = seq.check_sequence(self, input)
        if not self.built:
            self.build_for((None, x.shape[2]))
        self._x = x
        return x

    def _shape_output(self, y):
        self.output = y[:, None, :] if self.keepdims else y
        return self.output

    def _error(self, output_error):
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")
        return np.asarray(output_error).reshape(self._x.shape[0], 1, self._x.shape[2])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


@_layout.channels_aware(1)
class GlobalAveragePooling1D(_GlobalPool1D):
    """``y[n, c] = sum_t w[n, t] x[n, t, c] / sum_t w[n, t]`` with ``w`` the mask (all ones
    without one): masked steps do not count, as in Keras. A sequence masked entirely gives
    0 (numnet divides by ``max(count, 1)``). Backward: ``dL/dx[n, t] = w[n, t] dL/dy[n] / count[n]``."""

    def forward(self, input, training=False, mask=None):
        x = self._check(input)
        mask = seq.check_mask(self, mask, x.shape[0], x.shape[1])
        if mask is None:
            self._weights = np.full((x.shape[0], x.shape[1], 1), 1.0 / x.shape[1], dtype=x.dtype)
        else:
            w = mask[:, :, None].astype(x.dtype)
            self._weights = w / np.maximum(w.sum(axis=1, keepdims=True), 1)
        return self._shape_output(np.einsum("ntc,nto->nc", x, self._weights) if mask is not None else x.mean(axis=1))

    def backward(self, output_error):
        return self._error(output_error) * self._weights


@_layout.channels_aware(1)
class GlobalMaxPooling1D(_GlobalPool1D):
    """``y[n, c] = max_t x[n, t, c]``; backward sends ``dL/dy`` to the first maximum. Masks
    are ignored (as in Keras)."""

    def forward(self, input, training=False, mask=None):
        x = self._check(input)
        self._argmax = x.argmax(axis=1)[:, None, :]
        return self._shape_output(np.take_along_axis(x, self._argmax, axis=1)[:, 0, :])

    def backward(self, output_error):
        g = self._error(output_error)
        grad = np.zeros(self._x.shape, dtype=g.dtype)
        np.put_along_axis(grad, self._argmax, g, axis=1)
        return grad


# Keras's other names for the same layers.
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
