"""``DepthwiseConv2D`` and ``SeparableConv2D`` (Keras 3 names, arguments and weight
layouts), channels last inside; ``data_format="channels_first"`` by a transpose at the
boundary (``numnet.layers._layout``).

Both run the depthwise step as a grouped convolution with one group per input channel
(``numnet.layers._grouped``): the ``(kh, kw, C, m)`` depthwise kernel is read as a
``(kh, kw, 1, C * m)`` grouped kernel, output channel ``c * m + k`` coming from input
channel ``c`` and multiplier ``k`` (Keras's and PyTorch's order).
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _grouped, _layout, _spatial, _validate
from .core import ActivatedLayer


class _Depthwise(ActivatedLayer):
    """The depthwise step (and, in ``SeparableConv2D``, the pointwise one after it)."""

    _owner = "DepthwiseConv2D"
    _pointwise = False

    def __init__(self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                 use_bias, depthwise_initializer, bias_initializer, name, **kwargs) -> None:
        owner = self._owner
        self.kernel_size = _spatial.pair(kernel_size, "kernel_size", owner)
        self.strides = _spatial.pair(strides, "strides", owner)
        self.dilation_rate = _spatial.pair(dilation_rate, "dilation_rate", owner)
        self.padding = _spatial.padding_mode(padding, owner)
        self.depth_multiplier = _validate.positive_int(depth_multiplier, "depth_multiplier", owner)
        self.data_format = _layout.data_format(data_format, owner)
        use_bias = _validate.flag(use_bias, "use_bias", owner)
        super().__init__(activation, name=name, **kwargs)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._cols = None

    def _plan(self, shape):
        return _spatial.plan(self, shape, self.kernel_size, self.strides, self.dilation_rate, self.padding, "kernel")

    def _out_channels(self, channels: int) -> int:
        return channels * self.depth_multiplier

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self._plan(input_shape)
        c = input_shape[-1]
        self.add_weight("depthwise_kernel", self.kernel_size + (c, self.depth_multiplier), self.depthwise_initializer)
        self._build_rest(c)

    def _build_rest(self, channels: int) -> None:
        if self.use_bias:
            self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        rows, cols = self._plan(input_shape)
        return (rows[0], cols[0], self._out_channels(input_shape[-1]))

    def _grouped_kernel(self):
        kh, kw, c, m = self.params["depthwise_kernel"].shape
        return self.params["depthwise_kernel"].reshape(kh, kw, 1, c * m)

    def forward_preactivation(self, input, training=False):
        x = np.asarray(input)
        if not self.built:
            self.build_for(x.shape[1:])
        rows, cols = self._plan(x.shape[1:])
        self.input = x
        self._pads = rows, cols
        self._out_hw = rows[0], cols[0]
        self._xp = _spatial.pad(x, rows, cols)
        c = x.shape[3]
        self._cols = _grouped.im2col(self._xp, self.kernel_size, self.strides, self.dilation_rate, self._out_hw, c)
        depth_bias = self.params["bias"] if self.use_bias and not self._pointwise else None
        z = _grouped.product(self._cols, self._grouped_kernel(), depth_bias)  # (M, C*m)
        z = self._after_depthwise(z)
        self.output = z.reshape(x.shape[0], *self._out_hw, -1)
        return self.output

    def _after_depthwise(self, z):
        return z

    def _before_depthwise(self, d):
        """``dL/d(depthwise output)`` from ``d = dL/dz (M, channels out)``, writing the
        gradients of the weights after the depthwise step."""
        if self.use_bias:
            self.grads["bias"] = np.ones(len(d), dtype=d.dtype) @ d
        return d

    def backward_preactivation(self, error):
        if self._cols is None:
            raise RuntimeError(f"{self._owner} {self.name!r}: call forward(x) before backward(output_error).")
        d = self._before_depthwise(np.asarray(error).reshape(-1, error.shape[-1]))
        kernel = self._grouped_kernel()
        grad = _grouped.kernel_gradient(self._cols, d, kernel.shape)
        self.grads["depthwise_kernel"] = grad.reshape(self.params["depthwise_kernel"].shape)
        if not self.needs_input_error:
            return None
        dxp = _grouped.input_error(d, kernel, self._xp.shape, self.strides, self.dilation_rate, self._out_hw)
        return _spatial.crop(dxp, *self._pads)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


@_layout.channels_aware(2, activated=True)
class DepthwiseConv2D(_Depthwise):
    """Each input channel convolved with its own ``depth_multiplier`` filters:

    ``z[n, i, j, c*m + k] = bias[c*m + k] + sum_{a, b} xp[n, i*sh + a*dh, j*sw + b*dw, c] * depthwise_kernel[a, b, c, k]``,
    ``y = activation(z)``.

    Shapes: ``x (N, H, W, C)``, ``depthwise_kernel (kh, kw, C, depth_multiplier)``,
    ``bias (C * depth_multiplier,)``, ``y (N, out_h, out_w, C * depth_multiplier)``; the
    output size and "same" padding as in ``Conv2D`` (TensorFlow's: the extra pixel at the
    bottom / right). Backward: ``dL/dkernel`` and ``dL/dx`` as a grouped convolution's
    (``numnet.layers._grouped``), ``dL/dbias = sum d``.
    """

    weight_groups = {"depthwise": ("depthwise_kernel",), "bias": ("bias",)}  # depthwise_regularizer=, ...

    def __init__(self, kernel_size, strides=1, padding: str = "valid", depth_multiplier: int = 1, data_format=None,
                 dilation_rate=1, activation=None, use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", name: str | None = None, **kwargs) -> None:
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, name, **kwargs)


@_layout.channels_aware(2, activated=True)
class SeparableConv2D(_Depthwise):
    """A depthwise convolution (no bias) followed by a 1x1 convolution mixing channels:

    ``u = depthwise(x)`` as in ``DepthwiseConv2D`` (strides, padding and dilation apply
    here), ``z[n, i, j, f] = bias[f] + sum_q u[n, i, j, q] * pointwise_kernel[0, 0, q, f]``,
    ``y = activation(z)``.

    Shapes: ``depthwise_kernel (kh, kw, C, depth_multiplier)``, ``pointwise_kernel
    (1, 1, C * depth_multiplier, filters)``, ``bias (filters,)`` (Keras's weights, in that
    order). Backward for ``d = dL/dz``: ``dL/dpointwise = u^T d``, ``dL/dbias = sum d``,
    ``dL/du = d pointwise^T``, then the depthwise step's backward.
    """

    weight_groups = {"depthwise": ("depthwise_kernel",), "pointwise": ("pointwise_kernel",), "bias": ("bias",)}

    _owner = "SeparableConv2D"
    _pointwise = True

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", data_format=None,
                 dilation_rate=1, depth_multiplier: int = 1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", name: str | None = None, **kwargs) -> None:
        self.filters = _validate.positive_int(filters, "filters", "SeparableConv2D")
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, name, **kwargs)
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def _out_channels(self, channels: int) -> int:
        return self.filters

    def _build_rest(self, channels: int) -> None:
        self.add_weight("pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
                        self.pointwise_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _after_depthwise(self, u):
        self._u = u  # (M, C*m), for the pointwise kernel's gradient
        z = u @ self.params["pointwise_kernel"].reshape(u.shape[1], self.filters)
        if self.use_bias:
            z += self.params["bias"]
        return z

    def _before_depthwise(self, d):
        pointwise = self.params["pointwise_kernel"]
        self.grads["pointwise_kernel"] = (self._u.T @ d).reshape(pointwise.shape)
        if self.use_bias:
            self.grads["bias"] = np.ones(len(d), dtype=d.dtype) @ d
        return d @ pointwise.reshape(-1, self.filters).T

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer)}
