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

A rewrite applies only where the pool is the only reader of the layer's output in the
plan and that output is not a model output. Rewrites are steps of the plan: they keep
their cache in the run (so a shared or nested layer is still exact) and use the public
kernel API of ``Conv2D`` (``padded``, ``im2col_buffer``, ``stacked_weights``,
``weight_gradients``, ``input_error``), never its private attributes.
"""

from __future__ import annotations

import numpy as np

from ..layers import _spatial
from ..layers.conv import Conv2D
from ..layers.core import ActivatedLayer
from ..layers.pooling import MaxPool2D, running_max
from .plan import Step
from .threads import inference_view


class ConvMaxPoolStep(Step):
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
    The cache ``(xp, pads, cols, first, y)`` is the run's, never the layers'.
    """

    __slots__ = ("conv", "pool", "relu")

    def __init__(self, conv_step: Step, pool_step: Step) -> None:
        super().__init__(pool_step.node, conv_step.sources, pool_step.targets, conv_step.fed_by_inputs)
        self.conv = conv_step.layer
        self.pool = pool_step.layer
        self.relu = self.conv.activation  # an Activation("relu") or None; only its pure functions are used
        self.training = conv_step.training if conv_step.training is not None else pool_step.training

    def forward(self, run, index):
        conv, pool = self.conv, self.pool
        if not run.keep:  # inference: this thread's scratch buffers
            conv, pool = inference_view(conv), inference_view(pool)
        x = run.values[self.sources[0]]
        xp, pads = conv.padded(x)
        (rows, cols) = pads
        (ph, pw), (sh, sw) = pool.pool_size, conv.strides
        pooled_hw = (rows[0] - ph) // ph + 1, (cols[0] - pw) // pw + 1
        n, windows, f = x.shape[0], ph * pw, conv.filters
        m = n * pooled_hw[0] * pooled_hw[1]
        matrix = conv.im2col_buffer(windows * m, x.dtype)
        k_cols = matrix.shape[1] - conv.use_bias
        for k in range(windows):
            a, b = divmod(k, pw)
            _spatial.im2col(xp[:, a * sh:, b * sw:], conv.kernel_size, (sh * ph, sw * pw),
                            conv.dilation_rate, pooled_hw, out=matrix[k * m:(k + 1) * m, :k_cols])
        weights = conv.stacked_weights()
        z = conv.scratch("output", (windows, m, f), np.result_type(x.dtype, weights.dtype))
        np.matmul(matrix, weights, out=z.reshape(windows * m, f))
        y = pool.scratch("output", (m, f), z.dtype)
        first = pool.scratch("first", (m, f), np.min_scalar_type(windows - 1))
        running_max(z, y, first, pool.scratch("grew", (m, f), np.bool_))
        if y.dtype.kind == "f" and np.isnan(y).any():
            self._first_nans(z, first)
        del z
        y = y.reshape(n, *pooled_hw, f)
        if self.relu is not None:
            y = self.relu._in_place(y) if self.relu._in_place is not None else self.relu.activation(y)
        if run.keep:
            run.states[index] = (xp, pads, matrix, first, y)
        run.values[self.targets[0]] = y

    @staticmethod
    def _first_nans(z, first) -> None:
        """A window holding a NaN outputs NaN and sends its gradient to its first NaN (as
        MaxPool2D does): overwrite ``first`` there, last pixel first."""
        for k in range(len(z) - 1, -1, -1):
            first[np.isnan(z[k])] = k

    def backward(self, run, index, output_error, gradient_pass, need_input_error):
        conv = self.conv
        xp, pads, matrix, first, y = run.states.pop(index)
        g = output_error
        if self.relu is not None:
            g = self.relu._derivative_from_output(y, output_error)
        g = g.reshape(first.shape)
        windows = matrix.shape[0] // first.shape[0]
        d = conv.scratch("pooled_error", (windows,) + first.shape, g.dtype)
        for k in range(windows):
            np.multiply(g, first == k, out=d[k])
        d = d.reshape(-1, conv.filters)
        earlier = None
        if conv._grad_pass is gradient_pass:
            earlier = {k: conv.grads[k].copy() for k in conv.params if k in conv.grads}
        conv.weight_gradients(matrix, d)
        conv._grad_pass = gradient_pass
        if earlier:
            for key, value in earlier.items():
                conv.grads[key] += value
        if not need_input_error:
            return None
        # dL/dx through the usual col2im: dL/dz back in (n, rows, cols, filters) order first
        # (a few strided copies), since col2im over window-pixel blocks would need
        # pool_h * pool_w times as many, smaller, strided adds (measured 1.7x slower).
        (ph, pw) = self.pool.pool_size
        n, (rows, cols) = output_error.shape[0], output_error.shape[1:3]
        d_image = conv.scratch("pooled_error_image", (n, rows * ph, cols * pw, conv.filters), d.dtype)
        blocks = d.reshape(windows, n, rows, cols, conv.filters)
        for k in range(windows):
            a, b = divmod(k, pw)
            d_image[:, a::ph, b::pw] = blocks[k]
        return [conv.input_error(d_image, xp.shape, pads)]


class PoolThenReluStep(Step):
    """A MaxPool2D step that also applies the relu its producer (run through
    ``forward_preactivation``) skipped: ``relu(max(z)) == max(relu(z))``. The relu's output
    is this step's cache in the run."""

    __slots__ = ("relu",)

    def __init__(self, pool_step: Step, relu) -> None:
        super().__init__(pool_step.node, pool_step.sources, pool_step.targets, pool_step.fed_by_inputs)
        self.relu = relu

    def forward(self, run, index):
        super().forward(run, index)
        slot = self.targets[0]
        y = self.relu.activation(run.values[slot])  # a new array: the pool's backward may read its own output
        if run.keep:
            run.states[("relu", index)] = y
        run.values[slot] = y

    def backward(self, run, index, output_error, gradient_pass, need_input_error):
        y = run.states.pop(("relu", index))
        error = self.relu._derivative_from_output(y, output_error)
        return super().backward(run, index, error, gradient_pass, need_input_error)


def _relu_or_linear(layer) -> bool:
    return layer.output_activation in ("relu", None)


def plan_max_pool_rewrites(steps: list[Step], output_slots: list[int]) -> list[Step]:
    """The plan's steps with the rewrites applied where they hold (see the module's
    docstring): a ConvMaxPoolStep replaces a conv step and its pool's step; a conv or Dense
    step before a pool runs ``forward_preactivation`` and the pool applies the relu."""
    consumers: dict[int, int] = {}
    for step in steps:
        for source in step.sources:
            consumers[source] = consumers.get(source, 0) + 1
    producers = {step.targets[0]: step for step in steps if type(step) is Step and not step.returns_list}
    outputs = set(output_slots)
    replaced: dict[int, Step] = {}
    absorbed: set[int] = set()
    for step in steps:
        pool = step.layer
        if type(step) is not Step or type(pool) is not MaxPool2D or step.as_list:
            continue
        producer = producers.get(step.sources[0])
        if producer is None or producer.targets[0] in outputs or consumers[producer.targets[0]] != 1:
            continue
        if producer.training != step.training:
            continue
        layer = producer.layer
        if "channels_first" in (pool.data_format, getattr(layer, "data_format", None)):
            continue  # the rewrites work on channels-last arrays
        tiles = pool.padding == "valid" and pool.strides == pool.pool_size
        if type(layer) is Conv2D and layer.groups == 1 and tiles and _relu_or_linear(layer):
            replaced[id(step)] = ConvMaxPoolStep(producer, step)
            absorbed.add(id(producer))
            continue
        if not (
            isinstance(layer, ActivatedLayer)
            and type(layer).forward_preactivation is not ActivatedLayer.forward_preactivation
            and layer.output_activation == "relu"
        ):
            continue
        producer.preactivation = {}
        replaced[id(step)] = PoolThenReluStep(step, layer.activation)
        if isinstance(layer, Conv2D) and pool.padding == "valid":
            (rows, cols), (ph, pw), (sh, sw) = pool.output_shape[:2], pool.pool_size, pool.strides
            producer.preactivation = {"output_size": ((rows - 1) * sh + ph, (cols - 1) * sw + pw)}
    return [replaced.get(id(step), step) for step in steps if id(step) not in absorbed]
