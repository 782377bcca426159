"""2-D pooling, channels last: max and average over windows, and over the whole image."""

from __future__ import annotations

import numpy as np

from . import _layout, _spatial, _validate
from .layer import Layer


def running_max(blocks, y, first, grew) -> None:
    """``y = max(blocks)`` elementwise and ``first`` = the index of the first block that
    reaches it (the last at which the running maximum strictly grew); ``grew`` is a boolean
    scratch array of ``y``'s shape. All of ``y``'s shape; written in place."""
    np.copyto(y, blocks[0])
    first.fill(0)
    for k in range(1, len(blocks)):
        # first = k where blocks[k] > y: since k grows, first = max(first, k * (blocks[k] > y)).
        np.greater(blocks[k], y, out=grew)
        grew_k = grew.view(np.uint8).astype(first.dtype, copy=False)
        grew_k *= first.dtype.type(k)
        np.maximum(first, grew_k, out=first)
        np.maximum(y, blocks[k], out=y)


class _Pool2D(Layer):
    """Shared by the windowed pools: ``(n, h, w, c) -> (n, out_h, out_w, c)`` with
    ``out`` as in Conv2D (valid: ``floor((size - pool) / stride) + 1``, same:
    ``ceil(size / stride)``, extra padding at the bottom / right).
    ``data_format="channels_first"``: ``(n, c, h, w)`` in and out, by a transpose at the
    boundary (``numnet.layers._layout``)."""

    _pad_value = 0.0

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format=None,
                 name: str | None = None, **kwargs) -> None:
        owner = type(self).__name__
        self.pool_size = _spatial.pair(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else _spatial.pair(strides, "strides", owner)
        self.padding = _spatial.padding_mode(padding, owner)
        self.data_format = _layout.data_format(data_format, owner)
        super().__init__(name=name, **kwargs)

    def _plan(self, shape):
        return _spatial.plan(self, shape, self.pool_size, self.strides, (1, 1), self.padding, "pool")

    def build(self, input_shape) -> None:
        self._plan(tuple(input_shape))

    def compute_output_shape(self, input_shape):
        rows, cols = self._plan(input_shape)
        return (rows[0], cols[0], input_shape[-1])

    def _pad_input(self, input):
        """Validate, pad as planned and remember what backward needs; returns the padded
        input ``xp (n, Hp, Wp, c)`` (the input itself when there is no padding)."""
        if not self.built:
            self.build_for(input.shape[1:])
        rows, cols = self._plan(input.shape[1:])
        self.input = input
        self._pads = rows, cols
        self._out_hw = rows[0], cols[0]
        self._xp = _spatial.pad(input, rows, cols, self._pad_value)
        return self._xp

    def _positions(self):
        """The window's pixels, ``(a, b)`` in row-major order, each with its strided view
        ``(n, oh, ow, c)`` of the padded input: one whole-array operation per pixel of
        the window, never a copy of the windows."""
        for a in range(self.pool_size[0]):
            for b in range(self.pool_size[1]):
                yield a, b, _spatial.shifted(self._xp, a, b, self.strides, (1, 1), self._out_hw)

    def _new_input_error(self, dtype):
        """The padded input's gradient, to fill one window pixel at a time. Left
        uninitialised when the windows tile the padded input exactly (every pixel is
        written once); zeros otherwise (overlaps add, gaps stay 0)."""
        tiles = _spatial.covers_once(self._xp.shape[1:3], self.pool_size, self.strides, (1, 1), self._out_hw)
        if tiles:
            return self.scratch("input_error", self._xp.shape, dtype)
        return np.zeros(self._xp.shape, dtype=dtype)

    def _input_error_slice(self, dxp, a, b):
        return _spatial.shifted(dxp, a, b, self.strides, (1, 1), self._out_hw)

    @property
    def _overlapping(self) -> bool:
        return any(s < p for s, p in zip(self.strides, self.pool_size))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
        }


@_layout.channels_aware(2)
class MaxPool2D(_Pool2D):
    """``y[n, i, j, c] = max`` over the window at ``(i, j)``; "same" pads with -inf, so
    padding never wins. Backward sends ``dL/dy`` to the window's argmax only, the first
    maximum in row-major window order on ties (as PyTorch does); a window holding a NaN
    outputs NaN and sends its gradient to its first NaN.

    Forward: a running ``np.maximum`` over the ``ph * pw`` strided views of the input (one
    per window pixel), never a copy of the windows. In training it also records, in a
    small integer array of the output's shape, which pixel of each window holds the first
    maximum (the last pixel at which the running maximum strictly grew), while the input
    is still in cache; backward then needs only that index and ``dL/dy``. In inference
    nothing is recorded; a backward after an inference forward finds the first maximum
    by comparing each view with ``y``.
    """

    _pad_value = -np.inf
    _INFERENCE_BLOCK_BYTES = 256 << 10

    def forward(self, input, training=False):
        self._pad_input(input)
        views = [view for _, _, view in self._positions()]
        self._first = None
        if not training:
            # A few samples at a time, so the running maximum stays in cache (a large
            # predict batch's output is tens of MB).
            y = np.empty(views[0].shape, dtype=views[0].dtype)
            step = max(1, self._INFERENCE_BLOCK_BYTES // max(1, y[:1].nbytes))
            for start in range(0, y.shape[0], step):
                part, block = y[start : start + step], [view[start : start + step] for view in views]
                if len(block) == 1:
                    np.copyto(part, block[0])
                else:
                    np.maximum(block[0], block[1], out=part)
                for view in block[2:]:
                    np.maximum(part, view, out=part)
        else:
            y = self.scratch("output", views[0].shape, views[0].dtype)
            first = self.scratch("first", y.shape, np.min_scalar_type(len(views) - 1))
            running_max(views, y, first, self.scratch("grew", y.shape, np.bool_))
            # A NaN stops the running maximum from growing; leave such batches to backward's comparison.
            self._first = None if y.dtype.kind == "f" and np.isnan(y).any() else first
        self.output = y
        return y

    def _first_maxima(self):
        """For each window pixel ``(a, b)``: a boolean ``(n, oh, ow, c)``, True where that
        pixel is its window's first maximum."""
        if self._first is not None:
            for k, (a, b, _) in enumerate(self._positions()):
                yield a, b, self._first == k
            return
        y = self.output
        has_nan = y.dtype.kind == "f" and bool(np.isnan(y).any())
        taken = None  # True where the window's maximum was found at an earlier pixel
        for a, b, view in self._positions():
            hit = view == y
            if has_nan:
                hit |= view != view  # a NaN window's maximum is its first NaN
            yield a, b, (hit if taken is None else hit > taken)  # for booleans, > is "and not"
            if taken is None:
                taken = hit
            else:
                taken |= hit

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        dxp = self._new_input_error(output_error.dtype)
        overlapping = self._overlapping
        for a, b, first in self._first_maxima():
            target = self._input_error_slice(dxp, a, b)
            if overlapping:
                target += first * output_error
            else:
                np.multiply(output_error, first, out=target)
        return _spatial.crop(dxp, *self._pads)


@_layout.channels_aware(2)
class AveragePooling2D(_Pool2D):
    """``y[n, i, j, c] = mean`` over the window at ``(i, j)``.

    With ``padding="same"`` the padded pixels are *excluded* from the mean, as in Keras /
    TensorFlow (PyTorch's ``count_include_pad=False``): a border window divides by the
    number of real pixels it covers. Backward: each pixel of a window gets ``dL/dy / count``.
    Forward and backward run one strided whole-array operation per window pixel.
    """

    def forward(self, input):
        self._pad_input(input)
        self._count = self._real_pixels(input.shape[1:3], input.dtype)  # (oh, ow, 1)
        views = [view for _, _, view in self._positions()]
        total = views[0] + views[1] if len(views) > 1 else views[0].copy()
        for view in views[2:]:
            total += view
        total /= self._count
        self.output = total
        return total

    def _real_pixels(self, hw, dtype):
        """How many real (unpadded) pixels each window covers, ``(oh, ow, 1)``."""
        rows, cols = self._pads
        ones = _spatial.pad(np.ones((1, *hw, 1), dtype=dtype), rows, cols)
        win = _spatial.windows(ones, self.pool_size, self.strides, (1, 1), (rows[0], cols[0]))
        return win.sum(axis=(3, 4))[0]

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        share = output_error / self._count
        dxp = self._new_input_error(share.dtype)
        overlapping = self._overlapping
        for a in range(self.pool_size[0]):
            for b in range(self.pool_size[1]):
                target = self._input_error_slice(dxp, a, b)
                if overlapping:
                    target += share
                else:
                    target[...] = share
        return _spatial.crop(dxp, *self._pads)


class _GlobalPool2D(Layer):
    """Pools over all of height and width: ``(n, h, w, c) -> (n, c)``, or ``(n, 1, 1, c)``
    with ``keepdims=True``; channels first, ``(n, c, h, w) -> (n, c)`` or ``(n, c, 1, 1)``.
    Keras's argument order: ``data_format`` first."""

    def __init__(self, data_format=None, keepdims: bool = False, name: str | None = None, **kwargs) -> None:
        if isinstance(data_format, (bool, np.bool_)):  # numnet's former order: keepdims first
            data_format, keepdims = None, data_format
        super().__init__(name=name, **kwargs)
        self.data_format = _layout.data_format(data_format, type(self).__name__)
        self.keepdims = _validate.flag(keepdims, "keepdims", type(self).__name__)

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
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


@_layout.channels_aware(2)
class GlobalAveragePooling2D(_GlobalPool2D):
    """``y[n, c] = mean_{i, j} x[n, i, j, c]``; backward spreads ``dL/dy / (h * w)``."""

    def forward(self, input):
        self._check(input)
        return self._shape_output(input.mean(axis=(1, 2)))

    def backward(self, output_error):
        n, h, w, c = self.input.shape
        share = output_error.reshape(n, 1, 1, c) / (h * w)
        return np.broadcast_to(share, self.input.shape).copy()


@_layout.channels_aware(2)
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
