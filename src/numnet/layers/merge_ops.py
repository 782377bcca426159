"""Elementwise merge layers (``Multiply``, ``Subtract``, ``Average``, ``Maximum``,
``Minimum``) and ``Dot``, as Keras 3 names them.

The elementwise layers take a list of inputs of one shape, or of shapes that broadcast as
Keras broadcasts them (``merge.broadcast_shape``: aligned at the last axis, each axis equal
or 1), and return one output of the broadcast shape; each input's gradient is summed over
the axes it was broadcast along.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .merge import _Merge, aligned, broadcast_shape, check_batch_sizes, reduce_to

# Keras 3's backend epsilon: the smallest norm ``Dot(normalize=True)`` divides by.
NORMALIZE_EPSILON = 1e-7


class _Elementwise(_Merge):
    """Shared by the elementwise merges: a list of at least two inputs whose shapes broadcast."""

    _exact_count = None  # Subtract takes exactly two

    def build(self, input_shape):
        self._check_many(input_shape)
        if self._exact_count is not None and len(input_shape) != self._exact_count:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} merges exactly {self._exact_count} inputs, "
                f"got {len(input_shape)}."
            )
        broadcast_shape(self, input_shape)

    def compute_output_shape(self, input_shape):
        return broadcast_shape(self, input_shape)

    def _start(self, inputs):
        """Build on the first call and check that the arrays agree (before anything is kept);
        returns them ``aligned`` for NumPy's broadcasting."""
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{type(self).__name__} {self.name!r} takes a list of arrays, got {type(inputs).__name__}.")
        shapes = [tuple(np.shape(x)[1:]) for x in inputs]
        if not self.built:
            self.build_for(shapes)
        else:
            self.build(shapes)
        check_batch_sizes(self, inputs)
        self.input = [np.asarray(x) for x in inputs]
        return aligned(self.input)


class Subtract(_Elementwise):
    """``y = x_1 - x_2`` (exactly two inputs). Backward: ``[dL/dy, -dL/dy]``."""

    _exact_count = 2

    def forward(self, inputs):
        a, b = self._start(inputs)
        self.output = a - b
        return self.output

    def backward(self, output_error):
        return [reduce_to(output_error, self.input[0]), reduce_to(-output_error, self.input[1])]


class Multiply(_Elementwise):
    """``y = x_1 * x_2 * ... * x_k``. Backward: ``dL/dx_i = dL/dy * prod_{j != i} x_j``,
    from prefix and suffix products (no division, so zeros in the inputs are fine)."""

    def forward(self, inputs):
        self._aligned = xs = self._start(inputs)
        out = xs[0] * xs[1]
        for x in xs[2:]:
            out = out * x
        self.output = out
        return out

    def backward(self, output_error):
        xs = self._aligned
        k = len(xs)
        suffix = [None] * k  # suffix[i] = x_{i+1} * ... * x_{k-1}
        for i in range(k - 2, -1, -1):
            suffix[i] = xs[i + 1] if suffix[i + 1] is None else xs[i + 1] * suffix[i + 1]
        errors, prefix = [], None  # prefix = x_0 * ... * x_{i-1}
        for i in range(k):
            others = prefix if suffix[i] is None else (suffix[i] if prefix is None else prefix * suffix[i])
            errors.append(reduce_to(output_error * others, self.input[i]))
            prefix = xs[i] if prefix is None else prefix * xs[i]
        return errors


class Average(_Elementwise):
    """``y = (x_1 + ... + x_k) / k``. Backward: ``dL/dx_i = dL/dy / k``."""

    def forward(self, inputs):
        xs = self._start(inputs)
        total = xs[0] + xs[1]
        for x in xs[2:]:
            total = total + x
        self.output = total / len(xs)
        return self.output

    def backward(self, output_error):
        share = output_error / len(self.input)
        return [reduce_to(share, self.input[0])] + [reduce_to(share, x).copy() for x in self.input[1:]]


class _Extremum(_Elementwise):
    """``y = max`` (or ``min``) of the inputs, elementwise. Backward sends ``dL/dy`` to the
    first input that attains it (ties go to the earlier input, as Keras's chain of
    ``maximum`` ops on TensorFlow does; PyTorch splits a tie evenly)."""

    _pick = None  # np.argmax or np.argmin

    def forward(self, inputs):
        stacked = np.stack(np.broadcast_arrays(*self._start(inputs)))
        self._winner = type(self)._pick(stacked, axis=0)  # the first extreme input, per element
        self.output = np.take_along_axis(stacked, self._winner[None], axis=0)[0]
        return self.output

    def backward(self, output_error):
        return [reduce_to(np.where(self._winner == i, output_error, 0).astype(output_error.dtype, copy=False), x)
                for i, x in enumerate(self.input)]


class Maximum(_Extremum):
    __doc__ = _Extremum.__doc__.replace("``max`` (or ``min``)", "``max``")
    _pick = staticmethod(np.argmax)


class Minimum(_Extremum):
    __doc__ = _Extremum.__doc__.replace("``max`` (or ``min``)", "``min``")
    _pick = staticmethod(np.argmin)


def _normalize(x, axis):
    """``(x / max(|x|, eps), |x|)`` along ``axis`` (Keras 3's ``normalize``; PyTorch's
    ``F.normalize`` with ``eps=1e-7``)."""
    norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return x / np.maximum(norm, NORMALIZE_EPSILON), norm


def _normalize_backward(g, unit, norm, axis):
    """``dL/dx`` for ``u = x / max(n, eps)``: ``(g - u * sum(g * u)) / n`` where ``n > eps``
    and ``g / eps`` where the norm is clamped (then ``u`` does not depend on ``n``)."""
    clamped = norm <= NORMALIZE_EPSILON
    projected = (g - unit * np.sum(g * unit, axis=axis, keepdims=True)) / np.where(clamped, 1.0, norm)
    return np.where(clamped, g / NORMALIZE_EPSILON, projected)


class Dot(_Merge):
    """The batchwise dot product of two inputs along ``axes`` (Keras 3's ``Dot``):

    ``y[n, ...] = sum_k x1[n, ..., k, ...] * x2[n, ..., k, ...]`` over axis ``axes[0]`` of
    ``x1`` and ``axes[1]`` of ``x2`` (axes count the batch axis as 0, which cannot be
    used; an int uses the same axis on both; negative counts from the end). The output
    holds ``x1``'s other axes, then ``x2``'s other non-batch axes; ``(batch, 1)`` when
    nothing but the batch remains. E.g. ``(b, n)`` and ``(b, n)`` with ``axes=1`` give
    ``(b, 1)``; ``(b, 3, 5)`` and ``(b, 10, 3)`` with ``axes=(1, 2)`` give ``(b, 5, 10)``.

    ``normalize=True`` divides each input by its L2 norm along the axis first,
    ``x / max(|x|, 1e-7)`` (the cosine similarity). Computed with ``np.einsum``; the
    backward contractions are the same einsum with the output's gradient in place of an
    input.
    """

    def __init__(self, axes, normalize: bool = False, **kwargs) -> None:
        items = [axes, axes] if _validate.is_int(axes) else axes
        if not isinstance(items, (list, tuple)) or len(items) != 2 or not all(_validate.is_int(a) for a in items):
            raise ValueError(f"Dot axes must be an integer or a pair of integers, got {axes!r:.80}.")
        normalize = _validate.flag(normalize, "normalize", "Dot")
        super().__init__(**kwargs)
        self.axes = int(axes) if _validate.is_int(axes) else [int(a) for a in axes]
        self.normalize = normalize

    def _resolve(self, input_shape):
        """The contracted axes of the batched inputs, validated against ``input_shape``."""
        self._check_many(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Dot {self.name!r} takes exactly 2 inputs, got {len(input_shape)}.")
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else self.axes
        resolved = []
        for a, shape in zip(pair, input_shape):
            rank = len(shape) + 1
            axis = a % rank if -rank <= a < rank else None
            if axis in (None, 0):
                raise ValueError(
                    f"Dot {self.name!r}: axis {a} is not a non-batch axis of an input of shape {(None, *shape)}."
                )
            resolved.append(axis)
        size1, size2 = input_shape[0][resolved[0] - 1], input_shape[1][resolved[1] - 1]
        if size1 is not None and size2 is not None and size1 != size2:
            raise ValueError(
                f"Dot {self.name!r}: the dot product axes have different sizes, {size1} (axis {resolved[0]} of "
                f"{(None, *input_shape[0])}) and {size2} (axis {resolved[1]} of {(None, *input_shape[1])})."
            )
        return resolved

    def build(self, input_shape):
        self._resolve(input_shape)

    def compute_output_shape(self, input_shape):
        a1, a2 = self._resolve(input_shape)
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        del s1[a1 - 1]
        del s2[a2 - 1]
        return tuple(s1 + s2) or (1,)

    def _specs(self, rank1, rank2, a1, a2):
        """einsum subscripts ``(x1, x2, y)``: batch ``a``, the contracted axis ``b``."""
        letters = iter("cdefghijklmnopqrstuvwxyz")
        s1 = ["a"] + [next(letters) for _ in range(rank1 - 1)]
        s2 = ["a"] + [next(letters) for _ in range(rank2 - 1)]
        s1[a1] = s2[a2] = "b"
        out = [c for c in s1 if c != "b"] + [c for c in s2[1:] if c != "b"]
        return "".join(s1), "".join(s2), "".join(out)

    def forward(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"Dot {self.name!r} takes a list of two arrays, got {type(inputs).__name__}.")
        shapes = [tuple(np.shape(x)[1:]) for x in inputs]
        if not self.built:
            self.build_for(shapes)
        a1, a2 = self._resolve(shapes)
        x1, x2 = (np.asarray(x) for x in inputs)
        if x1.shape[0] != x2.shape[0]:
            raise ValueError(f"Dot {self.name!r}: the inputs have different batch sizes {x1.shape[0]} and {x2.shape[0]}.")
        self.input = [x1, x2]
        self._axes = (a1, a2)
        self._subscripts = self._specs(x1.ndim, x2.ndim, a1, a2)
        if self.normalize:
            (u1, self._norm1), (u2, self._norm2) = _normalize(x1, a1), _normalize(x2, a2)
        else:
            u1, u2 = x1, x2
        self._units = (u1, u2)
        s1, s2, so = self._subscripts
        y = np.einsum(f"{s1},{s2}->{so}", u1, u2)
        self.output = y.reshape(y.shape[0], 1) if y.ndim == 1 else y
        return self.output

    def backward(self, output_error):
        s1, s2, so = self._subscripts
        u1, u2 = self._units
        g = output_error.reshape(output_error.shape[0]) if len(so) == 1 else output_error
        d1 = np.einsum(f"{so},{s2}->{s1}", g, u2)
        d2 = np.einsum(f"{so},{s1}->{s2}", g, u1)
        if self.normalize:
            d1 = _normalize_backward(d1, u1, self._norm1, self._axes[0])
            d2 = _normalize_backward(d2, u2, self._norm2, self._axes[1])
        return [d1, d2]

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}
