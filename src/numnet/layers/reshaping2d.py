"""Layers that rearrange images: ``UpSampling2D``, ``ZeroPadding2D``, ``Cropping2D``
(Keras 3 names and arguments). Channels last inside; ``data_format="channels_first"`` by a
transpose at the boundary (``numnet.layers._layout``)."""

from __future__ import annotations

import numpy as np

from . import _layout, _spatial, _validate
from .layer import Layer


def _borders(value, what: str, owner: str):
    """Keras's three spellings: ``p`` (all four sides), ``(ph, pw)`` (symmetric per axis) or
    ``((top, bottom), (left, right))``; non-negative integers. Returns the last form."""
    def count(v):
        return _validate.is_int(v) and 0 <= v <= _validate.MAX_INT

    if count(value):
        return ((int(value),) * 2,) * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(count(v) for v in value):
            return ((int(value[0]),) * 2, (int(value[1]),) * 2)
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(count(u) for u in v) for v in value):
            return tuple((int(v[0]), int(v[1])) for v in value)
    raise ValueError(
        f"{owner} {what} must be a non-negative integer, a pair of them, or a pair of pairs "
        f"((top, bottom), (left, right)); got {value!r:.80}."
    )


class _Image(Layer):
    """Shared: an ``(N, H, W, C)`` input checked once, its shape kept for backward."""

    def _check(self, input):
        x = np.asarray(input)
        if not self.built:
            self.build_for(x.shape[1:])
        _spatial.check_image_shape(self, x.shape[1:])
        self._shape(x.shape[1:])  # raises before anything is kept
        self._x_shape = x.shape
        return x

    def build(self, input_shape) -> None:
        _spatial.check_image_shape(self, input_shape)
        self._shape(tuple(input_shape))

    def compute_output_shape(self, input_shape):
        return self._shape(tuple(input_shape))

    def _need_forward(self):
        if getattr(self, "_x_shape", None) is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")


def _bilinear_matrix(size: int, scale: int, dtype) -> np.ndarray:
    """``(size * scale, size)``: row ``o`` interpolates linearly at source coordinate
    ``(o + 0.5) / scale - 0.5`` clamped to ``[0, size - 1]`` (half-pixel centres:
    TensorFlow's / JAX's ``resize`` and PyTorch's ``align_corners=False``)."""
    src = np.clip((np.arange(size * scale) + 0.5) / scale - 0.5, 0, size - 1)
    low = np.floor(src).astype(np.intp)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    matrix = np.zeros((size * scale, size), dtype=dtype)
    rows = np.arange(size * scale)
    np.add.at(matrix, (rows, low), 1 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


@_layout.channels_aware(2)
class UpSampling2D(_Image):
    """Enlarges images ``size = (sh, sw)`` times: ``(N, H, W, C) -> (N, H*sh, W*sw, C)``.

    ``interpolation="nearest"`` repeats rows and columns (``y[n, i, j] = x[n, i // sh,
    j // sw]``; backward sums each ``sh x sw`` block). ``"bilinear"`` interpolates with
    half-pixel centres, as Keras 3 does through ``ops.image.resize`` (PyTorch's
    ``interpolate(mode="bilinear", align_corners=False)``): ``y = A_h x A_w^T`` per image
    and channel, with the ``(H*sh, H)`` / ``(W*sw, W)`` interpolation matrices of
    ``_bilinear_matrix``; backward applies their transposes.
    """

    def __init__(self, size=2, data_format=None, interpolation: str = "nearest", name: str | None = None,
                 **kwargs) -> None:
        self.size = _spatial.pair(size, "size", "UpSampling2D")
        self.data_format = _layout.data_format(data_format, "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D interpolation must be 'nearest' or 'bilinear', got {interpolation!r:.80}.")
        self.interpolation = interpolation
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def _shape(self, input_shape):
        h, w, c = input_shape
        return (h * self.size[0], w * self.size[1], c)

    def forward(self, input):
        x = self._check(input)
        sh, sw = self.size
        if self.interpolation == "nearest":
            self.output = np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
            return self.output
        self._ah = _bilinear_matrix(x.shape[1], sh, x.dtype)
        self._aw = _bilinear_matrix(x.shape[2], sw, x.dtype)
        self.output = np.einsum("ph,nhwc,qw->npqc", self._ah, x, self._aw, optimize=True)
        return self.output

    def backward(self, output_error):
        self._need_forward()
        n, h, w, c = self._x_shape
        sh, sw = self.size
        g = np.asarray(output_error)
        if self.interpolation == "nearest":
            return g.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4))
        return np.einsum("ph,npqc,qw->nhwc", self._ah, g, self._aw, optimize=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


@_layout.channels_aware(2)
class ZeroPadding2D(_Image):
    """Adds rows and columns of zeros: ``padding=((top, bottom), (left, right))`` (or ``p``,
    or ``(ph, pw)``). ``(N, H, W, C) -> (N, H + top + bottom, W + left + right, C)``;
    backward crops the border away."""

    def __init__(self, padding=(1, 1), data_format=None, name: str | None = None, **kwargs) -> None:
        self.padding = _borders(padding, "padding", "ZeroPadding2D")
        self.data_format = _layout.data_format(data_format, "ZeroPadding2D")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def _shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        h, w, c = input_shape
        return (h + top + bottom, w + left + right, c)

    def forward(self, input):
        x = self._check(input)
        self.output = np.pad(x, ((0, 0), *self.padding, (0, 0)))
        return self.output

    def backward(self, output_error):
        self._need_forward()
        (top, _), (left, _) = self.padding
        h, w = self._x_shape[1:3]
        return np.asarray(output_error)[:, top : top + h, left : left + w]

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


@_layout.channels_aware(2)
class Cropping2D(_Image):
    """Drops rows and columns at the border: ``cropping=((top, bottom), (left, right))``
    (or ``p``, or ``(ph, pw)``); at least one row and column must remain. Backward pads the
    error with zeros back to the input's size."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, name: str | None = None, **kwargs) -> None:
        self.cropping = _borders(cropping, "cropping", "Cropping2D")
        self.data_format = _layout.data_format(data_format, "Cropping2D")
        super().__init__(name=name, **kwargs)
        self._x_shape = None

    def _shape(self, input_shape):
        (top, bottom), (left, right) = self.cropping
        h, w, c = input_shape
        if h <= top + bottom or w <= left + right:
            raise ValueError(
                f"Cropping2D {self.name!r}: cropping {self.cropping} leaves nothing of an input of {h}x{w} pixels."
            )
        return (h - top - bottom, w - left - right, c)

    def forward(self, input):
        x = self._check(input)
        (top, bottom), (left, right) = self.cropping
        self.output = x[:, top : x.shape[1] - bottom, left : x.shape[2] - right]
        return self.output

    def backward(self, output_error):
        self._need_forward()
        return np.pad(np.asarray(output_error), ((0, 0), *self.cropping, (0, 0)))

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping], "data_format": self.data_format}
