"""2-D pooling, channels last: max and average over windows, and over the whole image."""

from __future__ import annotations

import numpy as np

from . import _spatial
from .layer import Layer


class _Pool2D(Layer):
    """Shared by the windowed pools: ``(n, h, w, c) -> (n, out_h, out_w, c)`` with
    ``out`` as in Conv2D (valid: ``floor((size - pool) / stride) + 1``, same:
    ``ceil(size / stride)``, extra padding at the bottom / right)."""

    _pad_value = 0.0

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name: str | None = None, **kwargs) -> None:
        owner = type(self).__name__
        self.pool_size = _spatial.pair(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else _spatial.pair(strides, "strides", owner)
        self.padding = _spatial.padding_mode(padding, owner)
        super().__init__(name=name, **kwargs)

    def _plan(self, shape):
        return _spatial.plan(self, shape, self.pool_size, self.strides, (1, 1), self.padding, "pool")

    def build(self, input_shape) -> None:
        self._plan(tuple(input_shape))

    def compute_output_shape(self, input_shape):
        rows, cols = self._plan(input_shape)
        return (rows[0], cols[0], input_shape[-1])

    def _windows(self, input):
        """The input's pooling windows, ``(n, oh, ow, ph * pw, c)`` (a copy)."""
        if not self.built:
            self.build_for(input.shape[1:])
        rows, cols = self._plan(input.shape[1:])
        self.input = input
        self._pads = rows, cols
        xp = _spatial.pad(input, rows, cols, self._pad_value)
        self._padded_shape = xp.shape
        win = _spatial.windows(xp, self.pool_size, self.strides, (1, 1), (rows[0], cols[0]))
        n, oh, ow, ph, pw, c = win.shape
        return win.reshape(n, oh, ow, ph * pw, c)

    def _scatter(self, dwin):
        """Send ``dwin (n, oh, ow, ph * pw, c)`` back to the input's pixels."""
        n, oh, ow, _, c = dwin.shape
        dwin = dwin.reshape(n, oh, ow, *self.pool_size, c)
        dxp = _spatial.scatter_windows(dwin, self._padded_shape, self.strides, (1, 1))
        return _spatial.crop(dxp, *self._pads)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPool2D(_Pool2D):
    """``y[n, i, j, c] = max`` over the window at ``(i, j)``; "same" pads with -inf, so
    padding never wins. Backward sends ``dL/dy`` to the window's argmax only, the first
    maximum in row-major window order on ties (as PyTorch does)."""

    _pad_value = -np.inf

    def forward(self, input):
        win = self._windows(input)
        self._argmax = win.argmax(axis=3)[:, :, :, None, :]  # (n, oh, ow, 1, c)
        self.output = np.take_along_axis(win, self._argmax, axis=3)[:, :, :, 0, :]
        return self.output

    def backward(self, output_error):
        positions = np.arange(self.pool_size[0] * self.pool_size[1])[:, None]  # (ph*pw, 1)
        dwin = (self._argmax == positions) * output_error[:, :, :, None, :]
        return self._scatter(dwin)


class AveragePooling2D(_Pool2D):
    """``y[n, i, j, c] = mean`` over the window at ``(i, j)``.

    With ``padding="same"`` the padded pixels are *excluded* from the mean, as in Keras /
    TensorFlow (PyTorch's ``count_include_pad=False``): a border window divides by the
    number of real pixels it covers. Backward: each pixel of a window gets ``dL/dy / count``.
    """

    def forward(self, input):
        win = self._windows(input)
        self._count = self._real_pixels(input.shape[1:3], input.dtype)  # (oh, ow, 1)
        self.output = win.sum(axis=3) / self._count
        return self.output

    def _real_pixels(self, hw, dtype):
        """How many real (unpadded) pixels each window covers, ``(oh, ow, 1)``."""
        rows, cols = self._pads
        ones = _spatial.pad(np.ones((1, *hw, 1), dtype=dtype), rows, cols)
        win = _spatial.windows(ones, self.pool_size, self.strides, (1, 1), (rows[0], cols[0]))
        return win.sum(axis=(3, 4))[0]

    def backward(self, output_error):
        share = (output_error / self._count)[:, :, :, None, :]
        n, oh, ow, c = output_error.shape
        return self._scatter(np.broadcast_to(share, (n, oh, ow, self.pool_size[0] * self.pool_size[1], c)))


class _GlobalPool2D(Layer):
    """Pools over all of height and width: ``(n, h, w, c) -> (n, c)``, or ``(n, 1, 1, c)``
    with ``keepdims=True``."""

    def __init__(self, keepdims: bool = False, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.keepdims = bool(keepdims)

    def build(self, input_shape) -> None:
        _spatial.check_image_shape(self, input_shape)

    def compute_output_shape(self, input_shape):
        return (1, 1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def _check(self, input):
        if not self.built:
            self.build_for(input.shape[1:])
        _spatial.check_image_shape(self, input.shape[1:])
        self.input = input

    def _shape_output(self, y):
        self.output = y[:, None, None, :] if self.keepdims else y
        return self.output

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool2D):
    """``y[n, c] = mean_{i, j} x[n, i, j, c]``; backward spreads ``dL/dy / (h * w)``."""

    def forward(self, input):
        self._check(input)
        return self._shape_output(input.mean(axis=(1, 2)))

    def backward(self, output_error):
        n, h, w, c = self.input.shape
        share = output_error.reshape(n, 1, 1, c) / (h * w)
        return np.broadcast_to(share, self.input.shape).copy()


class GlobalMaxPooling2D(_GlobalPool2D):
    """``y[n, c] = max_{i, j} x[n, i, j, c]``; backward sends ``dL/dy`` to the first
    maximum (row-major) of each channel."""

    def forward(self, input):
        self._check(input)
        flat = input.reshape(input.shape[0], -1, input.shape[3])  # (n, h*w, c)
        self._argmax = flat.argmax(axis=1)[:, None, :]
        return self._shape_output(np.take_along_axis(flat, self._argmax, axis=1)[:, 0, :])

    def backward(self, output_error):
        n, h, w, c = self.input.shape
        grad = np.zeros((n, h * w, c), dtype=output_error.dtype)
        np.put_along_axis(grad, self._argmax, output_error.reshape(n, 1, c), axis=1)
        return grad.reshape(n, h, w, c)


# Keras's other names for the same layers.
MaxPooling2D = MaxPool2D
AvgPool2D = AveragePooling2D
