"""Weight constraints, under Keras 3's names and formulas: ``numnet.constraints``.

>>> from numnet import constraints
>>> Dense(8, kernel_constraint=constraints.MaxNorm(2.0))

A constraint maps a weight array to its projection; numnet applies it, in place, to the
weight after every optimizer update (``fit``, ``train_on_batch`` and
``optimizer.apply_gradients``), as Keras does. With ``norms = sqrt(sum(w ** 2, axis,
keepdims=True))`` and ``eps = 1e-7`` (Keras's epsilon):

* ``MaxNorm(max_value=2, axis=0)``: ``w * clip(norms, 0, max_value) / (eps + norms)``;
* ``NonNeg()``: ``maximum(w, 0)``;
* ``UnitNorm(axis=0)``: ``w / (eps + norms)``;
* ``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)``:
  ``w * (rate * clip(norms, min_value, max_value) + (1 - rate) * norms) / (eps + norms)``.

``axis=0`` on a Dense kernel ``(in, out)`` constrains each unit's incoming weight vector;
for a Conv2D kernel ``(rows, cols, in, out)`` use ``axis=[0, 1, 2]``.
"""

from __future__ import annotations

from . import _serial

import math

import numpy as np

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]

EPSILON = 1e-7


def _number(value, name: str, owner: str, low=None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or (low is not None and value < low):
        raise ValueError(f"{owner}: {name} must be a finite number{'' if low is None else f' >= {low}'}, "
                         f"got {value!r}.")
    return value


def _axis(axis, owner: str):
    if isinstance(axis, (list, tuple)):
        items = [a for a in axis]
        if not items or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in items):
            raise TypeError(f"{owner}: axis must be an int or a non-empty list of ints, got {axis!r}.")
        return [int(a) for a in items]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{owner}: axis must be an int or a list of ints, got {axis!r}.")
    return int(axis)


class Constraint:
    """Base class: ``constraint(w)`` returns the projected array (same shape and dtype)."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def _norms(self, w):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        try:
            return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))
        except np.exceptions.AxisError as exc:
            raise ValueError(f"{type(self).__name__}(axis={self.axis!r}) does not fit a weight of shape "
                             f"{np.shape(w)}.") from exc

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Scale each slice along ``axis`` down to an L2 norm of at most ``max_value``."""

    def __init__(self, max_value=2, axis=0) -> None:
        self.max_value = _number(max_value, "max_value", "MaxNorm", low=0)
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w):
        norms = self._norms(w)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative weights to 0."""

    def __call__(self, w):
        return np.maximum(w, 0).astype(w.dtype, copy=False)


class UnitNorm(Constraint):
    """Scale each slice along ``axis`` to an L2 norm of 1."""

    def __init__(self, axis=0) -> None:
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w):
        return (w / (EPSILON + self._norms(w))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's L2 norm (by ``rate``: 1 = all the way) into ``[min_value, max_value]``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0) -> None:
        self.min_value = _number(min_value, "min_value", "MinMaxNorm", low=0)
        self.max_value = _number(max_value, "max_value", "MinMaxNorm", low=0)
        if self.max_value < self.min_value:
            raise ValueError(f"MinMaxNorm: max_value ({self.max_value}) must be >= min_value ({self.min_value}).")
        self.rate = _number(rate, "rate", "MinMaxNorm", low=0)
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w):
        norms = self._norms(w)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras's lower-case aliases.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = {c.__name__: c for c in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
          "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm, "minmaxnorm": MinMaxNorm}


def get(identifier):
    """A ``Constraint`` from None (None), a name (``"max_norm"``, ``"non_neg"``,
    ``"unit_norm"``, ``"min_max_norm"``, or the class name), a ``serialize`` dict, or an instance."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown constraint {identifier!r}; expected one of {sorted(_CLASSES)} "
                             f"({', '.join(sorted(k for k in _NAMES if '_' in k))}).")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):  # a plain function w -> w (applied like a Constraint; not saved)
        return identifier
    raise TypeError(f"A constraint must be None, a name, a dict or a numnet.constraints.Constraint, got "
                    f"{type(identifier).__name__}.")


def serialize(constraint) -> dict | None:
    """``{"class_name": ..., "config": ...}`` (None for None)."""
    return _serial.serialize(constraint)


def deserialize(config, custom_objects=None):
    """The constraint ``serialize`` described (``custom_objects``: your own classes by name)."""
    return _serial.deserialize(config, _CLASSES, custom_objects, "constraint", get)
