"""Weight and activity regularizers, under Keras 3's names and formulas: ``numnet.regularizers``.

>>> from numnet import regularizers
>>> Dense(8, kernel_regularizer=regularizers.L2(1e-4), activity_regularizer="l1")

* ``L1(l1=0.01)``: ``l1 * sum(|w|)``; gradient ``l1 * sign(w)`` (0 at 0).
* ``L2(l2=0.01)``: ``l2 * sum(w ** 2)`` (no factor 1/2, as Keras); gradient ``2 * l2 * w``.
* ``L1L2(l1=0.0, l2=0.0)``: the sum of both.

The strings ``"l1"``, ``"l2"`` and ``"l1_l2"`` give the documented defaults (0.01 each;
``"l1_l2"`` is ``L1L2(0.01, 0.01)`` as Keras documents it). A regularizer is called on a
weight array (or a ``numnet.ops`` Tensor, then the result is a Tensor on the tape, so that
``ops.sum(model.losses)`` can be differentiated in a ``GradientTape``).

A weight regularizer's term is added to the training loss once per step (it does not
depend on the batch); an activity regularizer's term is ``regularizer(output) / batch_size``
for the layer's output in that step. Both are in ``model.losses`` and in the logged loss,
as in Keras. Write your own by subclassing ``Regularizer`` and implementing ``value`` and
``gradient`` (NumPy) and ``get_config``.
"""

from __future__ import annotations

from . import _serial

import math

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def _factor(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Regularizer argument {name} must be a non-negative number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Regularizer argument {name} must be a non-negative finite number, got {value!r}.")
    return value


class Regularizer:
    """Base class: ``value(w)`` the scalar penalty of array ``w``, ``gradient(w)`` its
    derivative (an array of ``w``'s shape and dtype); ``regularizer(w)`` is ``value(w)`` for
    an array and the same penalty as a ``numnet.ops`` Tensor for a Tensor (``tensor_value``)."""

    def value(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def tensor_value(self, w):
        """The penalty of Tensor ``w`` as a Tensor on the tape (default: an op whose backward
        is ``gradient``)."""
        from .ops import tape
        from .ops.tensor import as_array, wrap

        array = as_array(w)
        out = wrap(np.asarray(self.value(array), dtype=array.dtype))
        if tape._active:
            tape.record(lambda g: (np.asarray(g) * self.gradient(array),), (w,), out, name=type(self).__name__)
        return out

    def __call__(self, w):
        from .ops.tensor import Tensor

        if isinstance(w, Tensor):
            return self.tensor_value(w)
        return self.value(np.asarray(w))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0) -> None:
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def value(self, w):
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum(dtype=np.float64))
        if self.l2:
            total += self.l2 * float(np.square(w).sum(dtype=np.float64))
        return total

    def gradient(self, w):
        dtype = w.dtype.type
        grad = np.zeros_like(w)
        if self.l1:
            grad += dtype(self.l1) * np.sign(w)
        if self.l2:
            grad += dtype(2.0 * self.l2) * w
        return grad

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)``."""

    def __init__(self, l1=0.01) -> None:
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w ** 2)``."""

    def __init__(self, l2=0.01) -> None:
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


# Keras's lower-case aliases.
l1 = L1
l2 = L2


def l1_l2(l1=0.01, l2=0.01) -> L1L2:  # noqa: D103 -- Keras 2's function, defaults 0.01 each
    return L1L2(l1=l1, l2=l2)


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": l1_l2}


def get(identifier):
    """A ``Regularizer`` from None (None), a name (``"l1"``, ``"l2"``, ``"l1_l2"``), a
    ``serialize`` dict, or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:  # the class with its own defaults (L1L2: 0 and 0)
            return _CLASSES[identifier]()
        if identifier.lower() in _NAMES:
            return _NAMES[identifier.lower()]()
        raise ValueError(f"Unknown regularizer {identifier!r}; expected one of {sorted(_NAMES)}, a "
                         "numnet.regularizers.Regularizer or a dict from regularizers.serialize.")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"A regularizer must be None, a name, a dict or a numnet.regularizers.Regularizer, got "
                    f"{type(identifier).__name__}.")


def serialize(regularizer) -> dict | None:
    """``{"class_name": ..., "config": ...}`` (None for None)."""
    return _serial.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer ``serialize`` described (``custom_objects``: your own classes by name)."""
    return _serial.deserialize(config, _CLASSES, custom_objects, "regularizer", get)
