"""Keras 3's activation layers with arguments: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``,
``Softmax``. (``Activation("name")`` is the seed's layer, in ``activation.py``.)

Each maps ``(n, ...)`` to the same shape; formulas are in the class docstrings, derivatives
in ``numnet.activation_functions`` (PReLU's here). Keras's defaults: ``LeakyReLU``'s slope
is 0.3 (the ``leaky_relu`` function's is 0.2), ``ELU``'s alpha 1.0, ``Softmax``'s axis -1.
"""

from __future__ import annotations

import math

import numpy as np

from .. import activation_functions as af
from .. import initializers
from . import _validate
from .layer import Layer


def _non_negative(value, what: str, owner: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    return _validate.number(value, what, owner, 0, math.inf, wording="a finite number >= 0"
                            + (" (or None)" if allow_none else ""))


class ReLU(Layer):
    """``f(x) = max_value`` for ``x >= max_value``; ``x`` for ``threshold <= x < max_value``;
    ``negative_slope * (x - threshold)`` below ``threshold`` (Keras's ``ReLU(max_value=None,
    negative_slope=0.0, threshold=0.0)``; the defaults give ``max(0, x)``)."""

    supports_masking = True

    def __init__(self, max_value=None, negative_slope: float = 0.0, threshold: float = 0.0,
                 name: str | None = None, **kwargs) -> None:
        owner = "ReLU"
        self.max_value = _non_negative(max_value, "max_value", owner, allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", owner)
        self.threshold = _validate.number(threshold, "threshold", owner, -math.inf, math.inf,
                                          wording="a finite number")
        super().__init__(name=name, **kwargs)

    def _args(self):
        return dict(negative_slope=self.negative_slope, max_value=self.max_value, threshold=self.threshold)

    def forward(self, input, training=False):
        self._x = input
        return af.relu(input, **self._args())

    def backward(self, output_error):
        return af.relu_derivative(self._x, output_error, **self._args())

    def to_onnx(self, g, inputs):
        x, name = inputs[0], self.name
        if self.negative_slope == 0 and self.threshold == 0:
            if self.max_value is None:
                return g.op("Relu", [x], name)
            return g.op("Clip", [x, g.const(f"{name}_min", 0.0), g.const(f"{name}_max", self.max_value)], name)
        threshold = g.const(f"{name}_threshold", self.threshold)
        below = g.op("Mul", [g.op("Sub", [x, threshold], f"{name}_shifted"),
                             g.const(f"{name}_slope", self.negative_slope)], f"{name}_below")
        y = g.op("Where", [g.op("GreaterOrEqual", [x, threshold], f"{name}_above"), x, below],
                 f"{name}_leaky" if self.max_value is not None else name)
        if self.max_value is None:
            return y
        top = g.const(f"{name}_max", self.max_value)
        return g.op("Where", [g.op("GreaterOrEqual", [x, top], f"{name}_capped"), top, y], name)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._args()}


class LeakyReLU(Layer):
    """``f(x) = x`` for ``x > 0`` else ``negative_slope * x`` (Keras 3 default 0.3)."""

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, name: str | None = None, **kwargs) -> None:
        if "alpha" in kwargs:  # Keras 2's name for it
            raise TypeError("LeakyReLU takes negative_slope=..., not alpha= (Keras 3's name).")
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "LeakyReLU")
        super().__init__(name=name, **kwargs)

    def forward(self, input, training=False):
        self._x = input
        return af.leaky_relu(input, self.negative_slope).astype(input.dtype, copy=False)

    def backward(self, output_error):
        return af.leaky_relu_derivative(self._x, output_error, self.negative_slope).astype(output_error.dtype,
                                                                                           copy=False)

    def to_onnx(self, g, inputs):
        return g.op("LeakyRelu", [inputs[0]], self.name, alpha=self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """``f(x) = x`` for ``x > 0`` else ``alpha * (exp(x) - 1)``."""

    supports_masking = True

    def __init__(self, alpha: float = 1.0, name: str | None = None, **kwargs) -> None:
        self.alpha = _validate.number(alpha, "alpha", "ELU", -math.inf, math.inf, wording="a finite number")
        super().__init__(name=name, **kwargs)

    def forward(self, input, training=False):
        self._x = input
        return af.elu(input, self.alpha).astype(input.dtype, copy=False)

    def backward(self, output_error):
        return af.elu_derivative(self._x, output_error, self.alpha).astype(output_error.dtype, copy=False)

    def to_onnx(self, g, inputs):
        return g.op("Elu", [inputs[0]], self.name, alpha=self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """``s_i = exp(x_i) / sum_j exp(x_j)`` along ``axis`` (an int, or a list of axes taken
    together). Keras's ``call(inputs, mask)`` argument is not taken: a numnet graph passes
    no mask to it."""

    def __init__(self, axis=-1, name: str | None = None, **kwargs) -> None:
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
        if not axes or not all(_validate.is_int(a) for a in axes):
            raise ValueError(f"Softmax axis must be an integer or a list of them, got {axis!r:.80}.")
        super().__init__(name=name, **kwargs)
        self.axis = int(axis) if _validate.is_int(axis) else tuple(int(a) for a in axes)

    def build(self, input_shape) -> None:
        rank = len(input_shape) + 1
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if not all(-rank <= a < rank and a % rank != 0 for a in axes):
            raise ValueError(f"Softmax {self.name!r}: axis {self.axis} is not a feature axis of inputs of shape "
                             f"{(None, *input_shape)}; axis 0 is the batch.")

    def forward(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        self._s = af.softmax(input, axis=self.axis)
        return self._s

    def backward(self, output_error):
        s = self._s
        return s * (output_error - (output_error * s).sum(axis=self.axis, keepdims=True))

    def to_onnx(self, g, inputs):
        if isinstance(self.axis, tuple):
            raise ValueError(f"Cannot export Softmax {self.name!r} to ONNX: ONNX's Softmax takes one axis, the "
                             f"layer has axis={list(self.axis)}.")
        return g.op("Softmax", [inputs[0]], self.name, axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class PReLU(Layer):
    """``f(x) = x`` for ``x > 0`` else ``alpha * x``, with ``alpha`` a learned weight of the
    input's shape (Keras: ``alpha_initializer="zeros"``); ``shared_axes`` (1-based axes of the
    batched input, e.g. ``[1, 2]`` for one alpha per channel of an image) share it.
    Gradients: ``dL/dalpha`` = the sum of ``g * x`` where ``x <= 0``, over the batch and the
    shared axes; ``dL/dx = g`` where ``x > 0`` else ``alpha * g``."""

    supports_masking = True
    weight_groups = {"alpha": ("alpha",)}  # alpha_regularizer=, alpha_constraint=

    def __init__(self, alpha_initializer="zeros", shared_axes=None, name: str | None = None, **kwargs) -> None:
        if shared_axes is not None:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(_validate.is_int(a) and a >= 1 for a in axes):
                raise ValueError(f"PReLU shared_axes must be None or positive axes of the batched input (1 is the "
                                 f"first after the batch), got {shared_axes!r:.80}.")
            shared_axes = tuple(sorted({int(a) for a in axes}))
        super().__init__(name=name, **kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.shared_axes = shared_axes

    def build(self, input_shape) -> None:
        shape = list(input_shape)
        for a in self.shared_axes or ():
            if a > len(shape):
                raise ValueError(f"PReLU {self.name!r}: shared axis {a} does not exist in inputs of shape "
                                 f"{(None, *input_shape)}.")
            shape[a - 1] = 1
        if any(s is None for s in shape):
            raise ValueError(f"PReLU {self.name!r}: an axis of variable size {(None, *input_shape)} must be in "
                             "shared_axes.")
        self.add_weight("alpha", tuple(shape), self.alpha_initializer)

    def forward(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        self._x = input
        return np.where(input > 0, input, self.params["alpha"] * input)

    def backward(self, output_error):
        x = self._x
        negative = x <= 0
        alpha = self.params["alpha"]
        reduce = (0,) + tuple(i + 1 for i, s in enumerate(alpha.shape) if s == 1 and x.shape[i + 1] != 1)
        self.grads["alpha"] = np.where(negative, output_error * x, 0).sum(axis=reduce, keepdims=True)[0]
        return np.where(negative, alpha * output_error, output_error)

    def to_onnx(self, g, inputs):
        return g.op("PRelu", [inputs[0], g.const(f"{self.name}_alpha", self.params["alpha"])], self.name)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "shared_axes": None if self.shared_axes is None else list(self.shared_axes)}
