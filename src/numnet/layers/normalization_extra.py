"""More normalisation layers: ``GroupNormalization``, ``UnitNormalization``,
``RMSNormalization``, and the RMS arithmetic of ``LayerNormalization(rms_scaling=True)``.

* RMS: ``y = gamma * x * r`` with ``r = 1 / sqrt(mean(x ** 2) + epsilon)`` over the
  normalised axes (torch's ``RMSNorm``); backward, for ``d = gamma * dL/dy`` and means over
  the same axes, ``dL/dx = r * d - x * r ** 3 * mean(d * x)``.
* Group: the channels (``axis``) are split into ``groups`` consecutive groups; each
  sample's group is normalised over its channels and every other non-batch axis (mean and
  biased variance), then ``gamma`` / ``beta`` apply per channel (torch's ``GroupNorm``).
* Unit: ``y = x / max(||x||_2, 1e-12)`` over ``axis`` (torch's ``F.normalize``).
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .layer import Layer
from .normalization import _Normalization, _normalize, _normalize_backward


# --- RMS ------------------------------------------------------------------------------------------
def rms_forward(x, axes, epsilon):
    """``(x * r, r)`` with ``r = 1 / sqrt(mean(x ** 2, axes) + epsilon)`` kept as size-1 axes."""
    r = 1.0 / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + x.dtype.type(epsilon))
    return x * r, r


def rms_backward(d, x, r, axes):
    """dL/dx through ``rms_forward`` given ``d = dL/d(x * r)``."""
    return r * d - x * (r * r * r) * np.mean(d * x, axis=axes, keepdims=True)


class RMSNormalization(Layer):
    """Keras 3's ``RMSNormalization(axis=-1, epsilon=1e-6)``: ``y = scale * x / sqrt(mean(x **
    2) + epsilon)`` over ``axis`` (an int or a list), with a weight ``scale`` (ones) of the
    normalised axes' shape. Any shape ``(n, ...)``."""

    supports_masking = True
    weight_groups = {"scale": ("scale",)}

    def __init__(self, axis=-1, epsilon: float = 1e-6, name: str | None = None, **kwargs) -> None:
        owner = "RMSNormalization"
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
        if not axes or not all(_validate.is_int(a) for a in axes):
            raise ValueError(f"{owner} axis must be an integer or a list of them, got {axis!r:.80}.")
        self.epsilon = _validate.number(epsilon, "epsilon", owner, 0, 1e6, low_open=True,
                                        wording="a positive number (at most 1e6)")
        super().__init__(name=name, **kwargs)
        self.axis = int(axis) if _validate.is_int(axis) else tuple(int(a) for a in axes)

    _resolve_axes = _Normalization._resolve_axes

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self._axes = self._resolve_axes(input_shape)
        full = (None,) + input_shape
        if any(full[a] is None for a in self._axes):
            raise ValueError(f"RMSNormalization {self.name!r}: the normalised axes need a fixed size, got "
                             f"inputs of shape {full}.")
        self._bshape = tuple(full[i] if i in self._axes else 1 for i in range(len(full)))
        self.add_weight("scale", tuple(full[a] for a in self._axes), "ones")

    def forward(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        self._x = input
        self._y_hat, self._r = rms_forward(input, self._axes, self.epsilon)
        return self._y_hat * self.params["scale"].reshape(self._bshape)

    def backward(self, output_error):
        reduce = tuple(i for i in range(output_error.ndim) if i not in self._axes)
        scale = self.params["scale"]
        self.grads["scale"] = (output_error * self._y_hat).sum(axis=reduce).reshape(scale.shape)
        if not self.needs_input_error:
            return None
        return rms_backward(output_error * scale.reshape(self._bshape), self._x, self._r, self._axes)

    def to_onnx(self, g, inputs):
        return rms_to_onnx(g, self, inputs[0], self.params["scale"].reshape(self._bshape[1:]))

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
                "epsilon": self.epsilon}


def rms_to_onnx(g, layer, x, gamma):
    """``x / sqrt(mean(x ** 2) + eps) * gamma`` in ONNX ops (any opset numnet exports)."""
    name = layer.name
    mean_sq = g.reduce("ReduceMean", g.op("Mul", [x, x], f"{name}_sq"), list(layer._axes), True, f"{name}_ms")
    root = g.op("Sqrt", [g.op("Add", [mean_sq, g.const(f"{name}_eps", layer.epsilon)], f"{name}_mseps")],
                f"{name}_rms")
    y = g.op("Div", [x, root], f"{name}_normalized")
    return g.op("Mul", [y, g.const(f"{name}_gamma", gamma)], f"{name}_scaled")


# --- groups ---------------------------------------------------------------------------------------
class GroupNormalization(_Normalization):
    """Keras 3's ``GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True,
    scale=True, ...)``: ``(n, ..., channels)`` with the channels on ``axis``; ``groups`` must
    divide the channel count (``-1``: one group per channel, instance normalisation).
    ``gamma`` / ``beta`` have shape ``(channels,)``."""

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones", name: str | None = None,
                 **kwargs) -> None:
        if not _validate.is_int(groups) or not (groups > 0 or groups == -1) or groups > _validate.MAX_INT:
            raise ValueError(f"GroupNormalization groups must be a positive integer (or -1 for one group per "
                             f"channel), got {groups!r:.80}.")
        if not _validate.is_int(axis):
            raise ValueError(f"GroupNormalization axis must be an integer, got {axis!r:.80}.")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, **kwargs)
        self.groups = int(groups)

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        (self._channel_axis,) = self._resolve_axes(input_shape)
        channels = input_shape[self._channel_axis - 1]
        if channels is None:
            raise ValueError(f"GroupNormalization {self.name!r}: the channel axis needs a fixed size, got inputs "
                             f"of shape {(None, *input_shape)}.")
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ValueError(f"GroupNormalization {self.name!r}: groups={self.groups} must divide the "
                             f"{channels} channels of axis {self.axis}.")
        self._n_groups = groups
        self._axes = (self._channel_axis,)  # what _check compares
        full = (None,) + input_shape
        self._bshape = tuple(channels if i == self._channel_axis else 1 for i in range(len(full)))
        self._add_affine((channels,))

    def _grouped(self, x):
        """``x`` with the channels last, as ``(n, rest, groups, channels / groups)``."""
        moved = np.moveaxis(x, self._channel_axis, -1)
        return moved.reshape(x.shape[0], -1, self._n_groups, moved.shape[-1] // self._n_groups)

    def _ungrouped(self, y, shape):
        moved_shape = tuple(np.moveaxis(np.empty(shape, dtype=np.bool_), self._channel_axis, -1).shape)
        return np.moveaxis(y.reshape(moved_shape), -1, self._channel_axis)

    def forward(self, input, training=False):
        self._check(input)
        x_hat, self._inv_std, _, _ = _normalize(self._grouped(input), (1, 3), self.epsilon)
        self._x_hat = self._ungrouped(x_hat, input.shape)
        return self._affine(self._x_hat, input.dtype)

    def backward(self, output_error):
        d = self._affine_backward(output_error)
        if not self.needs_input_error:
            return None
        dx = _normalize_backward(self._grouped(d), self._grouped(self._x_hat), self._inv_std, (1, 3))
        return self._ungrouped(dx, output_error.shape)

    def to_onnx(self, g, inputs):
        return group_norm_to_onnx(g, self, inputs[0])

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups}


def group_norm_to_onnx(g, layer, x):
    """Reshape to ``(n, rest, groups, c / groups)`` (channels last), normalise over axes 1 and
    3, reshape back, then gamma / beta: ONNX's GroupNormalization op wants channels first
    and changed its scale's meaning between opsets 18 and 21, so the arithmetic is spelled out."""
    name = layer.name
    if layer._channel_axis != len(layer.input_shape):
        raise ValueError(f"Cannot export GroupNormalization {name!r} to ONNX with axis={layer.axis}: only the "
                         "last axis (channels last) is exported.")
    channels = layer.input_shape[-1]
    shape = g.const(f"{name}_grouped_shape", [0, -1, layer._n_groups, channels // layer._n_groups], np.int64)
    grouped = g.op("Reshape", [x, shape], f"{name}_grouped")
    mean = g.reduce("ReduceMean", grouped, [1, 3], True, f"{name}_mean")
    centered = g.op("Sub", [grouped, mean], f"{name}_centered")
    var = g.reduce("ReduceMean", g.op("Mul", [centered, centered], f"{name}_sq"), [1, 3], True, f"{name}_var")
    std = g.op("Sqrt", [g.op("Add", [var, g.const(f"{name}_eps", layer.epsilon)], f"{name}_vareps")], f"{name}_std")
    normalized = g.op("Div", [centered, std], f"{name}_normalized_grouped")
    y = g.op("Reshape", [normalized, g.op("Shape", [x], f"{name}_shape")], f"{name}_normalized")
    if layer.scale:
        y = g.op("Mul", [y, g.const(f"{name}_gamma", layer.params["gamma"])], f"{name}_scaled")
    if layer.center:
        y = g.op("Add", [y, g.const(f"{name}_beta", layer.params["beta"])], f"{name}_shifted")
    return y


# --- unit norm ------------------------------------------------------------------------------------
UNIT_EPSILON = 1e-12


class UnitNormalization(Layer):
    """Keras 3's ``UnitNormalization(axis=-1)``: ``y = x / max(||x||_2, 1e-12)`` over ``axis``
    (an int or a list). Backward, where the norm ``n`` is above the floor: ``dL/dx = (g - y *
    sum(g * y)) / n``; below it, ``g / 1e-12``."""

    supports_masking = True

    def __init__(self, axis=-1, name: str | None = None, **kwargs) -> None:
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
        if not axes or not all(_validate.is_int(a) for a in axes):
            raise ValueError(f"UnitNormalization axis must be an integer or a list of them, got {axis!r:.80}.")
        super().__init__(name=name, **kwargs)
        self.axis = int(axis) if _validate.is_int(axis) else tuple(int(a) for a in axes)

    _resolve_axes = _Normalization._resolve_axes

    def build(self, input_shape) -> None:
        self._axes = self._resolve_axes(tuple(input_shape))

    def forward(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        square_sum = np.sum(input * input, axis=self._axes, keepdims=True)
        self._floored = square_sum < UNIT_EPSILON ** 2
        self._inv_norm = 1.0 / np.sqrt(np.maximum(square_sum, input.dtype.type(UNIT_EPSILON ** 2)))
        self._y = input * self._inv_norm
        return self._y

    def backward(self, output_error):
        y, inv = self._y, self._inv_norm
        projected = y * np.sum(output_error * y, axis=self._axes, keepdims=True)
        # Where the norm was floored, y = x / eps is linear in x: no projection term.
        return inv * (output_error - np.where(self._floored, 0, projected))

    def to_onnx(self, g, inputs):
        x = inputs[0]
        name = self.name
        axes = list(self._axes)
        # ReduceSum takes its axes as an input from opset 13 on (every opset numnet exports).
        square_sum = g.op("ReduceSum", [g.op("Mul", [x, x], f"{name}_sq"), g.const(f"{name}_axes", axes, np.int64)],
                          f"{name}_sumsq", keepdims=1)
        floored = g.op("Max", [square_sum, g.const(f"{name}_eps2", UNIT_EPSILON ** 2)], f"{name}_floored")
        return g.op("Div", [x, g.op("Sqrt", [floored], f"{name}_norm")], name)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}

