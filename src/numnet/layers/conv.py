"""2-D convolution, channels last, by im2col and one matrix product."""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _grouped, _layout, _spatial, _validate
from .core import ActivatedLayer


@_layout.channels_aware(2, activated=True)
class Conv2D(ActivatedLayer):
    """2-D convolution (cross-correlation, as in Keras and PyTorch):

    ``z[n, i, j, f] = bias[f] + sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, c] * kernel[a, b, c, f]``
    and ``y = activation(z)``, where ``xp`` is the input padded as TensorFlow pads it.

    Shapes: ``x`` is ``(n_samples, height, width, in_channels)``, ``kernel`` is
    ``(kh, kw, in_channels, filters)``, ``bias`` is ``(filters,)``, ``y`` is
    ``(n_samples, out_height, out_width, filters)``.
    ``padding="valid"``: ``out = floor((size - (k - 1) * d - 1) / stride) + 1``.
    ``padding="same"``: ``out = ceil(size / stride)``; the extra pixel of an odd padding
    goes at the bottom / right, as in TensorFlow (PyTorch would pad symmetrically).

    Forward: the windows of ``xp`` are gathered into ``cols (n*oh*ow, kh*kw*in + 1)``
    (im2col, with a last column of ones when there is a bias) and
    ``z = cols @ [kernel.reshape(kh*kw*in, filters); bias]``. Training keeps ``cols`` for
    backward; inference builds it, multiplies it and applies the activation a few samples
    at a time (in cache), keeping neither ``cols`` nor ``z``. Backward, for ``d = dL/dz``: ``[dL/dkernel; dL/dbias] = cols^T d``, and
    ``dL/dx`` sums ``d @ kernel[a, b]^T`` (one stacked product) back over the windows
    (col2im, one strided add per kernel position). No ``dL/dx`` for a layer fed by Input.
    In training, ``cols`` and ``z`` live in arrays reused from step to step (``Layer.scratch``).
    Inside a model, a Conv2D followed by a MaxPool2D may run through ``forward_preactivation``
    or as one step with the pool (see ``numnet.fusion``).

    ``groups=G`` splits the ``in`` channels and the filters into ``G`` blocks, filter block
    ``g`` seeing channel block ``g`` only; the kernel is then ``(kh, kw, in / G, filters)``
    (Keras's layout) and the layer runs through ``numnet.layers._grouped`` (one batched
    product per group instead of the single one; training and inference alike).
    ``data_format="channels_first"`` takes and returns ``(N, C, H, W)``: a transpose at
    the boundary (``numnet.layers._layout``), the computation stays channels last.
    """

    weight_groups = {"kernel": ("kernel",), "bias": ("bias",)}  # kernel_regularizer=, bias_constraint=, ...

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        data_format=None,
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        name: str | None = None,
        **kwargs,
    ) -> None:
        self.filters = _validate.positive_int(filters, "filters", "Conv2D")
        self.kernel_size = _spatial.pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = _spatial.pair(strides, "strides", "Conv2D")
        self.dilation_rate = _spatial.pair(dilation_rate, "dilation_rate", "Conv2D")
        self.padding = _spatial.padding_mode(padding, "Conv2D")
        self.data_format = _layout.data_format(data_format, "Conv2D")
        self.groups = _validate.positive_int(groups, "groups", "Conv2D")
        if self.filters % self.groups:
            raise ValueError(f"Conv2D filters ({self.filters}) must be a multiple of groups ({self.groups}).")
        super().__init__(activation, name=name, **kwargs)
        self.use_bias = _validate.flag(use_bias, "use_bias", "Conv2D")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def _plan(self, shape):
        return _spatial.plan(self, shape, self.kernel_size, self.strides, self.dilation_rate, self.padding, "kernel")

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self._plan(input_shape)  # validates the rank and that the kernel fits
        if input_shape[-1] % self.groups:
            raise ValueError(
                f"Conv2D {self.name!r}: the input's {input_shape[-1]} channels are not a multiple of groups "
                f"({self.groups})."
            )
        self.add_weight("kernel", self.kernel_size + (input_shape[-1] // self.groups, self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        rows, cols = self._plan(input_shape)
        return (rows[0], cols[0], self.filters)

    # In inference the layer runs a few samples at a time: im2col, product and activation
    # of each piece (about this many bytes) stay in cache, and only the activated output
    # goes to memory. Whole-batch, the im2col matrix of a large predict batch is kh*kw
    # times the input, and z is written, read back and written again activated.
    _INFERENCE_CHUNK_BYTES = 2 << 20

    def forward(self, input, training=False):
        return self._forward(input, training, self.activation)

    def forward_preactivation(self, input, training=False, output_size=None):
        """``z``; with ``output_size=(rows, cols)`` only its first rows and columns (a
        model asks for that when the next layer, a pool, reads no more of it)."""
        return self._forward(input, training, None, output_size)

    def _forward(self, input, training, activation, output_size=None):
        """``activation(z)``, or ``z`` itself when ``activation`` is None."""
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        self._xp, self._pads = self.padded(input)
        (rows, cols) = self._pads
        out_hw = rows[0], cols[0]
        if output_size is not None:
            out_hw = min(out_hw[0], output_size[0]), min(out_hw[1], output_size[1])
        if self.groups > 1:
            return self._grouped_forward(training, activation, out_hw)
        weights = self.stacked_weights()
        n, per_sample = input.shape[0], out_hw[0] * out_hw[1]
        dtype = np.result_type(input.dtype, weights.dtype)
        if training:
            # One matrix for the whole batch, kept for the kernel gradient.
            self._cols = None  # let the im2col buffer be reused
            self._cols = self._im2col(self._xp, out_hw)
            z = self.scratch("output", (n, *out_hw, self.filters), dtype)
            np.matmul(self._cols, weights, out=z.reshape(-1, self.filters))
            self.output = z if activation is None else activation.forward_owned(z)
            return self.output
        self._cols = None  # a backward after this rebuilds cols (and z) from self._xp
        width = max(weights.shape)
        step = max(1, self._INFERENCE_CHUNK_BYTES // (per_sample * width * np.dtype(dtype).itemsize))
        buffer = self.im2col_buffer(min(n, step) * per_sample, input.dtype)
        y = np.empty((n * per_sample, self.filters), dtype=dtype)
        z = np.empty((min(n, step) * per_sample, self.filters), dtype=dtype)
        function = None if activation is None else activation.activation
        for start in range(0, n, step):
            stop = min(n, start + step)
            size = (stop - start) * per_sample
            piece = self._im2col(self._xp[start:stop], out_hw, buffer[:size])
            if function is None:
                np.matmul(piece, weights, out=y[start * per_sample : start * per_sample + size])
            else:
                np.matmul(piece, weights, out=z[:size])
                # Rows are whole samples, so softmax (over the filters) is unaffected.
                y[start * per_sample : start * per_sample + size] = function(z[:size])
        y = y.reshape(n, *out_hw, self.filters)
        if activation is not None:
            activation.input, activation.output = None, y
        self.output = y
        return y

    def _grouped_forward(self, training, activation, out_hw):
        """``groups > 1``: ``z`` from the per-group im2col matrix (kept for backward in
        training, rebuilt there after an inference forward)."""
        cols = _grouped.im2col(self._xp, self.kernel_size, self.strides, self.dilation_rate, out_hw, self.groups)
        z = _grouped.product(cols, self.params["kernel"], self.params["bias"] if self.use_bias else None)
        self._cols = cols if training else None
        z = z.reshape(self._xp.shape[0], *out_hw, self.filters)
        self.output = z if activation is None else activation.forward_owned(z)
        return self.output

    def _make_cols(self, out_hw):
        if self.groups > 1:
            return _grouped.im2col(self._xp, self.kernel_size, self.strides, self.dilation_rate, out_hw, self.groups)
        return self._im2col(self._xp, out_hw)

    def backward(self, output_error):
        if self._cols is None:
            # Forward ran in inference mode, which keeps neither cols nor z: rebuild them.
            self._cols = self._make_cols(output_error.shape[1:3])
            if self.activation is not None:
                if self.groups > 1:
                    z = _grouped.product(self._cols, self.params["kernel"], self.params["bias"] if self.use_bias else None)
                else:
                    z = self._cols @ self.stacked_weights()
                self.activation.input = z.reshape(output_error.shape[:3] + (self.filters,))
        return super().backward(output_error)

    def stacked_weights(self):
        """``(kh*kw*in, filters)`` kernel, with the bias as one more row when there is one:
        the im2col matrix then ends with a column of ones and one product adds the bias
        (and, in backward, one product gives the bias gradient too)."""
        kernel = self.params["kernel"].reshape(-1, self.filters)
        if not self.use_bias:
            return kernel
        return np.concatenate([kernel, self.params["bias"][None, :]])

    def im2col_buffer(self, n_rows, dtype):
        """The layer's reusable im2col matrix (see ``Layer.scratch``), ones column included."""
        k = self.kernel_size[0] * self.kernel_size[1] * self.params["kernel"].shape[2]
        buffer = self.scratch("cols", (n_rows, k + self.use_bias), dtype)
        if self.use_bias:
            buffer[:, k] = 1
        return buffer

    def _im2col(self, xp, out_hw, buffer=None):
        """The im2col matrix of ``xp``, followed by a column of ones when there is a bias."""
        if buffer is None:
            buffer = self.im2col_buffer(xp.shape[0] * out_hw[0] * out_hw[1], xp.dtype)
        k = buffer.shape[1] - self.use_bias
        _spatial.im2col(xp, self.kernel_size, self.strides, self.dilation_rate, out_hw, out=buffer[:, :k])
        return buffer

    def backward_preactivation(self, error):
        d = error.reshape(-1, self.filters)
        cols = self._cols
        if cols is None:  # forward ran in inference mode
            cols = self._cols = self._make_cols(error.shape[1:3])
        if self.groups > 1:
            return self._grouped_backward(cols, d, error.shape[1:3])
        self.weight_gradients(cols, d)
        if not self.needs_input_error:
            return None
        return self.input_error(error, self._xp.shape, self._pads)

    def _grouped_backward(self, cols, d, out_hw):
        self.grads["kernel"] = _grouped.kernel_gradient(cols, d, self.params["kernel"].shape)
        if self.use_bias:
            self.grads["bias"] = np.ones(len(d), dtype=d.dtype) @ d
        if not self.needs_input_error:
            return None
        dxp = _grouped.input_error(d, self.params["kernel"], self._xp.shape, self.strides, self.dilation_rate, out_hw)
        return _spatial.crop(dxp, *self._pads)

    # --- the kernel API (used by the layer itself and by numnet.graph.rewrites) --------------
    def padded(self, x):
        """``(xp, pads)``: ``x`` padded as the layer pads it, and the padding planned for
        ``x``'s shape (``((out_rows, top, bottom), (out_cols, left, right))``)."""
        rows, cols = self._plan(x.shape[1:])
        return _spatial.pad(x, rows, cols), (rows, cols)

    def input_error(self, d, padded_shape, pads):
        """``dL/dx`` for ``d = dL/dz`` of shape ``(n, out_rows, out_cols, filters)``, given
        the padded input's shape and the padding (from ``padded``)."""
        kh, kw = self.kernel_size
        parts = self._input_error_parts(d.reshape(-1, self.filters)).reshape(kh, kw, *d.shape[:3], -1)
        dxp = _spatial.col2im(parts, padded_shape, self.strides, self.dilation_rate,
                              out=self.scratch("input_error", padded_shape, parts.dtype))
        return _spatial.crop(dxp, *pads)

    def weight_gradients(self, cols, d) -> None:
        """``grads["kernel"]`` and ``grads["bias"]`` from ``cols^T d``; ``d`` is ``dL/dz``
        as a matrix whose rows are ``cols``' rows (in any order both share)."""
        kernel_grad = self.grad_buffer("kernel")
        if kernel_grad is None:
            kernel_grad = np.empty_like(self.params["kernel"])
        if self.use_bias:
            # (kh*kw*in + 1, filters): the kernel gradient, then the bias gradient (cols' ones column).
            stacked = cols.T @ d
            kernel_grad.reshape(-1, self.filters)[...] = stacked[:-1]
            bias_grad = self.grad_buffer("bias")
            if bias_grad is None:
                bias_grad = np.empty_like(self.params["bias"])
            bias_grad[...] = stacked[-1]
            self.grads["bias"] = bias_grad
        else:
            np.matmul(cols.T, d, out=kernel_grad.reshape(-1, self.filters))  # a view: writes in place
        self.grads["kernel"] = kernel_grad

    def _input_error_parts(self, d):
        """``(kh*kw, rows, in)``: ``d @ kernel[a, b].T`` for every kernel position, one
        stacked product; col2im sums them back over the windows."""
        kernel = self.params["kernel"]
        kh, kw, c, f = kernel.shape
        parts = self.scratch("input_error_parts", (kh * kw, d.shape[0], c), np.result_type(d, kernel))
        np.matmul(d, kernel.reshape(kh * kw, c, f).transpose(0, 2, 1), out=parts)
        return parts

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
