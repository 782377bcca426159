"""Noise layers, active in training only (inference returns the input itself):
``SpatialDropout1D/2D/3D``, ``GaussianNoise`` and ``GaussianDropout``.

Randomness comes from the layer's own generator (``seed``, else ``numnet.random``), drawn
afresh per call; the backward pass reuses the call's draw. In ONNX they are ``Identity``
(the inference form).
"""

from __future__ import annotations

import math

import numpy as np

from ..random import make_generator
from . import _validate
from .layer import Layer
from .regularization import Dropout


def _float_dtype(x) -> np.dtype:
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _identity_onnx(layer, g, inputs):
    return g.op("Identity", [inputs[0]], layer.name)


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one draw per (sample, channel), shared along the spatial axes."""

    _RANK = 0  # spatial axes

    def __init__(self, rate: float, data_format: str | None = None, seed=None, name: str | None = None,
                 **kwargs) -> None:
        if "noise_shape" in kwargs:
            raise TypeError(f"{type(self).__name__} takes no noise_shape: it drops whole channels.")
        if data_format is None:
            data_format = "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__} data_format must be 'channels_last' or 'channels_first', "
                             f"got {data_format!r:.80}.")
        super().__init__(rate, seed=seed, name=name, **kwargs)
        self.data_format = data_format

    def build(self, input_shape) -> None:
        if len(input_shape) != self._RANK + 1:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of {self._RANK + 2} axes "
                             f"(batch, {self._RANK} spatial, channels), got shape {(None, *input_shape)}.")

    def _mask_shape(self, shape: tuple) -> tuple:
        if len(shape) != self._RANK + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of {self._RANK + 2} axes, got "
                             f"shape {shape}.")
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + (1,) * self._RANK
        return (shape[0],) + (1,) * self._RANK + (shape[-1],)

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """``(batch, steps, channels)``: each sample's channel is kept (scaled by ``1 / (1 - rate)``)
    or zeroed for every step alike. Keras's layer takes no ``data_format``; numnet's also
    accepts ``"channels_first"`` (``(batch, channels, steps)``)."""

    _RANK = 1


class SpatialDropout2D(_SpatialDropout):
    """``(batch, rows, cols, channels)`` (``data_format="channels_first"``: ``(batch, channels,
    rows, cols)``): whole feature maps are dropped."""

    _RANK = 2


class SpatialDropout3D(_SpatialDropout):
    """``(batch, d1, d2, d3, channels)``, or channels first: whole volumes are dropped."""

    _RANK = 3


class GaussianNoise(Layer):
    """Training: ``y = x + n`` with ``n ~ N(0, stddev**2)`` per element; inference: ``y = x``.
    Backward: ``dL/dx = dL/dy``. Any shape."""

    supports_masking = True

    def __init__(self, stddev: float, seed=None, name: str | None = None, **kwargs) -> None:
        stddev = _validate.number(stddev, "stddev", "GaussianNoise", 0, math.inf,
                                  wording="a finite number >= 0 (the noise's standard deviation)")
        super().__init__(name=name, seed=seed, **kwargs)
        self.stddev = stddev

    def forward(self, input, training=False):
        if not training or self.stddev == 0.0:
            return input
        if self._rng is None:
            self._rng = make_generator(self.seed)
        dtype = _float_dtype(input)
        noise = self._rng.standard_normal(input.shape, dtype=dtype)
        noise *= dtype.type(self.stddev)
        return input + noise

    def backward(self, output_error):
        return output_error

    def to_onnx(self, g, inputs):
        return _identity_onnx(self, g, inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Training: ``y = x * m`` with ``m ~ N(1, rate / (1 - rate))`` per element (mean 1, so
    no rescaling); inference: ``y = x``. Backward: ``dL/dx = dL/dy * m``. Any shape."""

    supports_masking = True

    def __init__(self, rate: float, seed=None, name: str | None = None, **kwargs) -> None:
        rate = _validate.number(rate, "rate", "GaussianDropout", 0, 1, high_open=True,
                                wording="a number in [0, 1) (the drop probability it imitates)")
        super().__init__(name=name, seed=seed, **kwargs)
        self.rate = rate

    def forward(self, input, training=False):
        if not training or self.rate == 0.0:
            self._noise = None
            return input
        if self._rng is None:
            self._rng = make_generator(self.seed)
        dtype = _float_dtype(input)
        noise = self._rng.standard_normal(input.shape, dtype=dtype)
        noise *= dtype.type(math.sqrt(self.rate / (1.0 - self.rate)))
        noise += dtype.type(1.0)
        self._noise = noise
        return input * noise

    def backward(self, output_error):
        return output_error if self._noise is None else output_error * self._noise

    def to_onnx(self, g, inputs):
        return _identity_onnx(self, g, inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
