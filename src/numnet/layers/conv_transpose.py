"""``Conv2DTranspose``: the adjoint of a strided convolution (a "deconvolution"), with
Keras 3's arguments, output size and kernel layout ``(kh, kw, filters, in)``."""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _layout, _spatial, _validate
from .core import ActivatedLayer


def transpose_length(size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding):
    """``(out, full, before)`` along one axis, Keras 3's rule:

    * ``k = (kernel - 1) * dilation + 1``; the full (uncropped) result has
      ``full = (size - 1) * stride + k`` positions;
    * without ``output_padding``: ``out = size * stride + max(k - stride, 0)`` ("valid") or
      ``size * stride`` ("same"); with it, ``out = (size - 1) * stride + k - 2 * pad +
      output_padding`` where ``pad = k // 2`` ("same") or 0 ("valid");
    * the output starts ``before`` positions into the full result: 0 for "valid" and, for
      "same", ``max(full - out, 0) // 2`` (TensorFlow's padding of the convolution whose
      gradient this is: the extra position at the end). Positions past ``full`` are 0.
    """
    k = (kernel - 1) * dilation + 1
    full = (size - 1) * stride + k
    if output_padding is None:
        out = size * stride + max(k - stride, 0) if padding == "valid" else size * stride
    else:
        pad = k // 2 if padding == "same" else 0
        out = (size - 1) * stride + k - 2 * pad + output_padding
    before = max(full - out, 0) // 2 if padding == "same" else 0
    return out, full, before


@_layout.channels_aware(2, activated=True)
class Conv2DTranspose(ActivatedLayer):
    """Transposed 2-D convolution:

    ``full[n, i*sh + a*dh, j*sw + b*dw, f] += sum_c x[n, i, j, c] * kernel[a, b, f, c]``,
    ``z[n, p, q, f] = bias[f] + full[n, p + top, q + left, f]`` (0 past the full result),
    ``y = activation(z)``; output size and offsets from ``transpose_length`` (Keras 3's).

    Shapes: ``x (N, H, W, in)``, ``kernel (kh, kw, filters, in)`` (Keras's layout: PyTorch's
    ``(in, filters, kh, kw)`` transposed), ``bias (filters,)``, ``y (N, out_h, out_w,
    filters)``.

    Forward: one stacked product ``x @ kernel[a, b]^T`` for all kernel positions, summed
    into ``full`` by col2im (one strided add per kernel position). Backward, for ``d =
    dL/dz`` placed back into the full result's shape (``g``): ``cols = im2col(g)`` (the
    windows a convolution with this kernel would see), ``dL/dx = cols @ kernel.reshape(kh*
    kw*filters, in)``, ``dL/dkernel = cols^T x``, ``dL/dbias = sum d``.
    ``output_padding`` (each below its stride) lengthens the output by that many positions.
    """

    weight_groups = {"kernel": ("kernel",), "bias": ("bias",)}  # kernel_regularizer=, bias_constraint=, ...

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", name: str | None = None,
                 **kwargs) -> None:
        owner = "Conv2DTranspose"
        self.filters = _validate.positive_int(filters, "filters", owner)
        self.kernel_size = _spatial.pair(kernel_size, "kernel_size", owner)
        self.strides = _spatial.pair(strides, "strides", owner)
        self.dilation_rate = _spatial.pair(dilation_rate, "dilation_rate", owner)
        self.padding = _spatial.padding_mode(padding, owner)
        self.output_padding = None if output_padding is None else _output_padding(output_padding, self.strides)
        self.data_format = _layout.data_format(data_format, owner)
        use_bias = _validate.flag(use_bias, "use_bias", owner)
        super().__init__(activation, name=name, **kwargs)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._x = None

    def _lengths(self, shape):
        """``((out, full, before) rows, (...) cols)`` for an input of shape (H, W, C)."""
        _spatial.check_image_shape(self, shape)
        op = self.output_padding or (None, None)
        return tuple(
            transpose_length(shape[axis], self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis],
                             self.padding, op[axis])
            for axis in (0, 1)
        )

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self._lengths(input_shape)
        self.add_weight("kernel", self.kernel_size + (self.filters, input_shape[-1]), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        rows, cols = self._lengths(input_shape)
        return (rows[0], cols[0], self.filters)

    def forward_preactivation(self, input, training=False):
        x = np.asarray(input)
        if not self.built:
            self.build_for(x.shape[1:])
        self._geometry = self._lengths(x.shape[1:])
        (out_h, full_h, top), (out_w, full_w, left) = self._geometry
        kernel = self.params["kernel"]
        kh, kw, f, c = kernel.shape
        n, h, w = x.shape[:3]
        self._x = x
        # parts[a, b] = x @ kernel[a, b]^T: what kernel position (a, b) adds at each input pixel.
        parts = np.matmul(x.reshape(-1, c), kernel.reshape(kh * kw, f, c).transpose(0, 2, 1))
        full = _spatial.col2im(parts.reshape(kh, kw, n, h, w, f), (n, full_h, full_w, f), self.strides,
                               self.dilation_rate)
        z = np.zeros((n, out_h, out_w, f), dtype=full.dtype)
        rh, rw = min(out_h, full_h - top), min(out_w, full_w - left)
        z[:, :rh, :rw] = full[:, top : top + rh, left : left + rw]
        if self.use_bias:
            z += self.params["bias"]
        self.output = z
        return z

    def backward_preactivation(self, error):
        if self._x is None:
            raise RuntimeError(f"Conv2DTranspose {self.name!r}: call forward(x) before backward(output_error).")
        (out_h, full_h, top), (out_w, full_w, left) = self._geometry
        kernel = self.params["kernel"]
        kh, kw, f, c = kernel.shape
        x = self._x
        n, h, w = x.shape[:3]
        d = np.asarray(error)
        g = np.zeros((n, full_h, full_w, f), dtype=d.dtype)
        rh, rw = min(out_h, full_h - top), min(out_w, full_w - left)
        g[:, top : top + rh, left : left + rw] = d[:, :rh, :rw]
        cols = _spatial.im2col(g, (kh, kw), self.strides, self.dilation_rate, (h, w))  # (n*h*w, kh*kw*f)
        self.grads["kernel"] = (cols.T @ x.reshape(-1, c)).reshape(kernel.shape)
        if self.use_bias:
            flat = d.reshape(-1, f)
            self.grads["bias"] = np.ones(len(flat), dtype=flat.dtype) @ flat
        if not self.needs_input_error:
            return None
        return (cols @ kernel.reshape(kh * kw * f, c)).reshape(x.shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


def _output_padding(value, strides) -> tuple[int, int]:
    """A non-negative integer or pair, each below its stride (as Keras requires)."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2 or not all(_validate.is_int(v) and v >= 0 for v in items):
        raise ValueError(
            f"Conv2DTranspose output_padding must be None, a non-negative integer or a pair of them, got {value!r:.80}."
        )
    if any(p >= s for p, s in zip(items, strides)):
        raise ValueError(
            f"Conv2DTranspose output_padding {tuple(items)} must be smaller than strides {tuple(strides)} "
            "along each axis."
        )
    return int(items[0]), int(items[1])
