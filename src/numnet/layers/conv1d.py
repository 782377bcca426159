"""1-D convolution over time, channels last: ``(batch, time, channels)``."""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _layout
from . import _sequence as seq
from . import _spatial
from .core import ActivatedLayer


def conv1d_plan(layer, length, window: int, stride: int, padding: str, what: str):
    """``(out, pad_before, pad_after)`` for ``length`` time steps, or None for an unknown
    (variable) length. valid / same as in Conv2D (TensorFlow's "same": the extra step goes
    after); causal pads ``window - 1`` steps before, so ``y[t]`` sees no step after ``t``."""
    if length is None:
        return None
    if padding == "causal":
        return (length - 1) // stride + 1, window - 1, 0
    plan = _spatial.output_size(length, window, stride, padding)
    if plan is None:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: the {what} spans {window} time steps but the input has "
            f"only {length} with padding='valid'. Use padding='same', a smaller {what}, or longer inputs."
        )
    return plan


def padding_1d(padding, owner: str, causal: bool) -> str:
    mode = padding.lower() if isinstance(padding, str) else padding
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if mode not in allowed:
        raise ValueError(f"{owner} padding must be one of {', '.join(map(repr, allowed))}, got {padding!r}.")
    return mode


@_layout.channels_aware(1, activated=True)
class Conv1D(ActivatedLayer):
    """``z[n, t, f] = bias[f] + sum_{a, c} xp[n, t*s + a*d, c] * kernel[a, c, f]``, ``y = activation(z)``.

    Shapes: ``x (batch, time, in)``, ``kernel (kernel_size, in, filters)``, ``bias
    (filters,)``, ``y (batch, out_time, filters)`` with ``out_time`` as in
    ``conv1d_plan`` (valid: ``floor((time - (k-1)*d - 1) / s) + 1``; same: ``ceil(time / s)``;
    causal: ``ceil(time / s)`` with all padding before).

    Forward: im2col (``cols (batch*out_time, k*in)``, the windows as rows) and one
    product with ``kernel.reshape(k*in, filters)``. Backward for ``d = dL/dz``:
    ``dL/dkernel = cols^T d``, ``dL/dbias = sum d``, and ``dL/dx`` adds ``d @ kernel[a]^T``
    (one stacked product) back at each kernel position (col2im). The time axis may vary
    between calls. Masks are not propagated (as in Keras).
    ``data_format="channels_first"``: ``(batch, in, time)`` in, ``(batch, filters, out_time)``
    out, by a transpose at the boundary (``numnet.layers._layout``).
    """

    weight_groups = {"kernel": ("kernel",), "bias": ("bias",)}  # kernel_regularizer=, bias_constraint=, ...

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name: str | None = None, **kwargs) -> None:
        self.filters = seq.check_positive_int(filters, "filters", "Conv1D")
        self.kernel_size = single(kernel_size, "kernel_size")
        self.strides = single(strides, "strides")
        self.dilation_rate = single(dilation_rate, "dilation_rate")
        self.padding = padding_1d(padding, "Conv1D", causal=True)
        self.data_format = _layout.data_format(data_format, "Conv1D")
        super().__init__(activation, name=name, **kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._cols = None

    @property
    def _span(self) -> int:
        return (self.kernel_size - 1) * self.dilation_rate + 1

    def _plan(self, length):
        return conv1d_plan(self, length, self._span, self.strides, self.padding, "kernel")

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"Conv1D {self.name!r} expects inputs of shape (batch, time, channels), got "
                             f"(batch, {', '.join(map(str, input_shape))}).")
        self._plan(input_shape[0])
        self.add_weight("kernel", (self.kernel_size, input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        plan = self._plan(input_shape[0])
        return (None if plan is None else plan[0], self.filters)

    def compute_mask(self, input_mask):
        return None

    def forward(self, input, training=False, mask=None):
        """``activation(z)``; a mask is accepted and ignored (Conv1D does not propagate one)."""
        return super().forward(input, training=training)

    def forward_preactivation(self, input, training=False):
        x = seq.check_sequence(self, input)
        if not self.built:
            self.build_for((None, x.shape[2]))
        x = seq.check_sequence(self, x, self.params["kernel"].shape[1])
        out, before, after = self._plan(x.shape[1])
        self.input = x
        self._pads = before, after
        xp = np.pad(x, ((0, 0), (before, after), (0, 0))) if before or after else x
        self._xp = xp[:, None]  # (batch, 1, time, channels): a one-row image for the 2-D helpers
        self._out = out
        k, c = self.kernel_size, x.shape[2]
        self._cols = _spatial.im2col(self._xp, (1, k), (1, self.strides), (1, self.dilation_rate), (1, out))
        z = self._cols @ self.params["kernel"].reshape(k * c, self.filters)
        if self.use_bias:
            z += self.params["bias"]
        self.output = z.reshape(x.shape[0], out, self.filters)
        return self.output

    def backward_preactivation(self, error):
        if self._cols is None:
            raise RuntimeError(f"Conv1D {self.name!r}: call forward(x) before backward(output_error).")
        kernel = self.params["kernel"]
        k, c, f = kernel.shape
        n = self.input.shape[0]
        d = np.asarray(error).reshape(-1, f)
        self.grads["kernel"] = (self._cols.T @ d).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = np.ones(len(d), dtype=d.dtype) @ d
        if not self.needs_input_error:
            return None
        parts = np.matmul(d, kernel.transpose(0, 2, 1))  # (k, batch*out, in)
        parts = parts.reshape(1, k, n, 1, self._out, c)
        dxp = _spatial.col2im(parts, self._xp.shape, (1, self.strides), (1, self.dilation_rate))[:, 0]
        before, after = self._pads
        return dxp[:, before : dxp.shape[1] - after]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


def single(value, what: str, owner: str = "Conv1D") -> int:
    """``3`` or ``(3,)`` -> 3 (Keras accepts both)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return seq.check_positive_int(value, what, owner)
