"""Exact rewrites a model applies to ``Conv2D / Dense(activation="relu") -> MaxPool2D``.

Each gives the same outputs and gradients as running the two layers one after the other
(the tests compare them on inputs full of ties and negative values) and saves work:

1. **relu after the pool.** relu is non-decreasing, so ``max(relu(z)) == relu(max(z))``
   over every window, and the gradients agree: where a window's maximum is positive both
   send ``dL/dy`` to the same first maximum; where it is not, relu's derivative is 0 on
   both paths. relu and its derivative then touch ``1 / (pool_h * pool_w)`` of the values.
2. **Only what the pool reads.** A "valid" pool whose windows stop short of the edge
   (11 rows, pool 2, stride 2: the windows cover 10) never reads the last rows or
   columns of ``z``, and their gradient is 0: a Conv2D does not compute them.
3. **Conv and pool as one step** (``ConvMaxPool``) when the pool's windows tile ``z``
   (``strides == pool_size``, "valid"): the conv computes ``z`` grouped by window pixel
   (all the top-left pixels of every window, then all the top-right ones, ...), so the
   pool is a running maximum over ``pool_h * pool_w`` contiguous blocks and its gradient
   goes back into such blocks, instead of strided views of an ``(n, h, w, c)`` array.
   The kernel gradient ``cols^T dL/dz`` does not care in which order the rows come.

A rewrite applies only where the pool is the layer's sole consumer and the layer is not
the model's output. The layers' ``output`` attributes then hold what the rewrite computed
(the conv's pre-activation, or nothing for a fused pair), and their cached state is the
rewrite's: after a model's forward, go through ``model.backward``, not a rewritten layer's
own ``backward``. A layer called on its own behaves as usual.
"""

from __future__ import annotations

import numpy as np

from .layers import _spatial
from .layers.conv import Conv2D
from .layers.core import ActivatedLayer
from .layers.pooling import MaxPool2D, running_max


class ConvMaxPool:
    """``MaxPool2D(activation(Conv2D(x)))`` for a "valid" pool with ``strides == pool_size``
    and a relu (or no) activation, in one forward and one backward.

    Shapes: ``x (n, H, W, in)``; the pool's output ``(n, PH, PW, filters)``; with
    ``P = pool_h * pool_w`` window pixels and ``M = n * PH * PW`` windows, the conv's
    ``cols`` is ``(P * M, kh*kw*in [+ 1])`` and ``z`` is ``(P, M, filters)``: block ``k``
    holds window pixel ``(k // pool_w, k % pool_w)`` of every window, which is the conv
    output at ``(i * pool_h + a, j * pool_w + b)``, i.e. the conv with strides
    ``(sh * pool_h, sw * pool_w)`` on the input shifted by ``(a * sh, b * sw)``.

    Forward: ``y = max_k z[k]`` with ``first`` the first ``k`` reaching it (row-major window
    order, as MaxPool2D breaks ties), then relu on ``y``. Backward, for ``g = dL/dy``:
    ``g`` times relu's derivative, ``dL/dz[k] = g * (first == k)``, the conv's gradients
    from ``cols^T dL/dz``, and ``dL/dx`` by col2im once ``dL/dz`` is back in image order.
    """

    def __init__(self, conv: Conv2D, pool: MaxPool2D) -> None:
        self.conv = conv
        self.pool = pool
        self.activation = conv.activation  # relu or None
        self._first = None

    def forward(self, x, training=False):
        conv, pool = self.conv, self.pool
        if not conv.built:
            conv.build_for(x.shape[1:])
        rows, cols = conv._plan(x.shape[1:])
        (ph, pw), (sh, sw) = pool.pool_size, conv.strides
        pooled_hw = (rows[0] - ph) // ph + 1, (cols[0] - pw) // pw + 1
        conv.input, conv._pads = x, (rows, cols)
        conv._xp = _spatial.pad(x, rows, cols)
        n, windows, f = x.shape[0], ph * pw, conv.filters
        m = n * pooled_hw[0] * pooled_hw[1]
        conv._cols = None  # let the im2col buffer be reused
        matrix = conv._im2col_buffer(windows * m, x.dtype)
        k_cols = matrix.shape[1] - conv.use_bias
        for k in range(windows):
            a, b = divmod(k, pw)
            _spatial.im2col(conv._xp[:, a * sh:, b * sw:], conv.kernel_size, (sh * ph, sw * pw),
                            conv.dilation_rate, pooled_hw, out=matrix[k * m:(k + 1) * m, :k_cols])
        conv._cols = matrix
        weights = conv._stacked_weights()
        z = conv.scratch("output", (windows, m, f), np.result_type(x.dtype, weights.dtype))
        np.matmul(matrix, weights, out=z.reshape(windows * m, f))
        conv.output = None  # z exists only grouped by window pixel

        y = pool.scratch("output", (m, f), z.dtype)
        self._first = None  # let the index buffer be reused
        first = self._first = pool.scratch("first", (m, f), np.min_scalar_type(windows - 1))
        running_max(z, y, first, pool.scratch("grew", (m, f), np.bool_))
        if y.dtype.kind == "f" and np.isnan(y).any():
            self._first_nans(z, first)
        y = y.reshape(n, *pooled_hw, f)
        pool.input, pool.output = None, y
        if self.activation is not None:
            y = self.activation.forward_owned(y)
        return y

    @staticmethod
    def _first_nans(z, first) -> None:
        """A window holding a NaN outputs NaN and sends its gradient to its first NaN (as
        MaxPool2D does): overwrite ``first`` there, last pixel first."""
        for k in range(len(z) - 1, -1, -1):
            first[np.isnan(z[k])] = k

    def backward(self, output_error):
        conv, first = self.conv, self._first
        if first is None:
            raise RuntimeError("ConvMaxPool: call forward before backward.")
        g = output_error if self.activation is None else self.activation.backward(output_error)
        g = g.reshape(first.shape)
        windows = conv._cols.shape[0] // first.shape[0]
        d = conv.scratch("pooled_error", (windows,) + first.shape, g.dtype)
        for k in range(windows):
            np.multiply(g, first == k, out=d[k])
        d = d.reshape(-1, conv.filters)
        conv._weight_gradients(conv._cols, d)
        if not conv.needs_input_error:
            return None
        # dL/dx through the usual col2im: dL/dz back in (n, rows, cols, filters) order first
        # (a few strided copies), since col2im over window-pixel blocks would need
        # pool_h * pool_w times as many, smaller, strided adds (measured 1.7x slower).
        (ph, pw), (kh, kw) = self.pool.pool_size, conv.kernel_size
        n, (rows, cols) = output_error.shape[0], output_error.shape[1:3]
        d_image = conv.scratch("pooled_error_image", (n, rows * ph, cols * pw, conv.filters), d.dtype)
        blocks = d.reshape(windows, n, rows, cols, conv.filters)
        for k in range(windows):
            a, b = divmod(k, pw)
            d_image[:, a::ph, b::pw] = blocks[k]
        parts = conv._input_error_parts(d_image.reshape(-1, conv.filters))
        parts = parts.reshape(kh, kw, *d_image.shape[:3], -1)
        dxp = _spatial.col2im(parts, conv._xp.shape, conv.strides, conv.dilation_rate,
                              out=conv.scratch("input_error", conv._xp.shape, parts.dtype))
        return _spatial.crop(dxp, *conv._pads)


def _relu_or_linear(layer) -> bool:
    return layer.output_activation in ("relu", None)


def plan_max_pool_rewrites(plan, output_layer) -> list:
    """Apply the rewrites to a model's plan (a list of ``(position, _Step)``): returns the
    plan without the conv steps that a ``ConvMaxPool`` now runs inside its pool's step;
    sets ``step.fused``, ``step.sources``, ``step.preactivation`` and
    ``step.activation_after`` where a rewrite applies."""
    consumers: dict[int, int] = {}
    for _, step in plan:
        for source in step.layer.inbound:
            consumers[id(source)] = consumers.get(id(source), 0) + 1
    steps = {id(step.layer): step for _, step in plan}
    absorbed = set()
    for _, step in plan:
        pool = step.layer
        if not isinstance(pool, MaxPool2D) or len(pool.inbound) != 1:
            continue
        producer = steps.get(id(pool.inbound[0]))
        if producer is None or producer.layer is output_layer or consumers[id(producer.layer)] != 1:
            continue
        layer = producer.layer
        tiles = pool.padding == "valid" and pool.strides == pool.pool_size
        if isinstance(layer, Conv2D) and type(layer).forward is Conv2D.forward and tiles and _relu_or_linear(layer):
            step.fused = ConvMaxPool(layer, pool)
            step.sources = producer.sources
            absorbed.add(id(layer))
            continue
        if not (
            isinstance(layer, ActivatedLayer)
            and type(layer).forward_preactivation is not ActivatedLayer.forward_preactivation
            and layer.output_activation == "relu"
        ):
            continue
        producer.preactivation = {}
        step.activation_after = layer.activation
        if isinstance(layer, Conv2D) and pool.padding == "valid":
            (rows, cols), (ph, pw), (sh, sw) = pool.output_shape[:2], pool.pool_size, pool.strides
            producer.preactivation = {"output_size": ((rows - 1) * sh + ph, (cols - 1) * sw + pw)}
    return [(position, step) for position, step in plan if id(step.layer) not in absorbed]
