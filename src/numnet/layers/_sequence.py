"""Helpers shared by the sequence layers: checking ``(batch, time, features)`` inputs and
``(batch, time)`` masks, and elementwise activations applied in place with their
derivative taken from the output (what a recurrent cell's backward pass needs).

Masks follow Keras: a boolean array ``(batch, time)``, True where a time step is real and
False where it is padding.
"""

from __future__ import annotations

import numpy as np

from .. import activation_functions


def check_sequence(layer, x, features=None, what="inputs") -> np.ndarray:
    """``x`` as an array ``(batch, time, features)`` with at least one time step, and
    ``features`` channels when given; a ValueError naming the layer otherwise."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] == 0 or (features is not None and x.shape[2] != features):
        want = "(batch, time, features)" if features is None else f"(batch, time, {features})"
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} expects {what} of shape {want} with at least one "
            f"time step, got an array of shape {x.shape}."
        )
    return x


def check_mask(layer, mask, batch: int, time: int):
    """``mask`` as a boolean ``(batch, time)`` array (None stays None)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != (batch, time):
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: the mask must have shape (batch, time) = "
            f"({batch}, {time}), got {mask.shape}."
        )
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"{type(layer).__name__} {layer.name!r}: a mask must be boolean, got dtype {mask.dtype}.")
        mask = mask != 0
    return mask


def check_rate(value, what: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 <= value < 1:
        raise ValueError(f"{owner} {what} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_positive_int(value, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner} {what} must be a positive integer, got {value!r}.")
    return int(value)


def dropout_mask(rng: np.random.Generator, shape, rate: float, dtype) -> np.ndarray:
    """An inverted-dropout mask: ``Bernoulli(1 - rate) / (1 - rate)`` per element."""
    keep = rng.random(shape) >= rate
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))


# Activations whose derivative follows from the output: a recurrent layer keeps only the
# activated gates for its backward pass.
RECURRENT_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def recurrent_activation_name(activation, what: str, owner: str) -> str:
    name = "linear" if activation is None else activation_functions.canonical_name(activation)
    if name not in RECURRENT_ACTIVATIONS:
        raise ValueError(
            f"{owner} {what} must be one of {', '.join(RECURRENT_ACTIVATIONS)} (activations whose "
            f"derivative follows from their output), got {activation!r}."
        )
    return name


def activate_(name: str, v: np.ndarray) -> np.ndarray:
    """``v = f(v)`` in place (``v`` may be a strided view) and return ``v``.
    sigmoid as ``(1 + tanh(v / 2)) / 2``: one transcendental call, never overflows."""
    if name == "tanh":
        np.tanh(v, out=v)
    elif name == "sigmoid":
        v *= 0.5
        np.tanh(v, out=v)
        v *= 0.5
        v += 0.5
    elif name == "relu":
        np.maximum(v, 0, out=v)
    return v


def derivative(name: str, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g * f'(x)`` written with ``y = f(x)``: a new array."""
    if name == "tanh":
        return g * (1 - y * y)
    if name == "sigmoid":
        return g * y * (1 - y)
    if name == "relu":
        return g * (y > 0)
    return g.copy()
