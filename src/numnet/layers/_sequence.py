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

    sigmoid as ``1 / (1 + exp(-v))``. tanh: float32 through ``np.tanh`` (vectorised: as fast
    as the exp form on a contiguous block, about half its instructions on a strided one,
    128 k against 250 k for a (64, 128) column block of a (64, 384) array); other dtypes as
    ``2 sigmoid(2 v) - 1`` (numpy's float64 tanh takes about twice the exp form's time),
    within 2 ulp of 1 in absolute terms. ``exp`` may overflow to inf, which gives the right
    limit (0 or -1): callers run under ``np.errstate(over="ignore")``.
    """
    if name == "tanh" and v.dtype == np.float32:
        np.tanh(v, out=v)
    elif name == "tanh":
        v *= -2
        _reciprocal_one_plus_exp(v)
        v *= 2
        v -= 1
    elif name == "sigmoid":
        np.negative(v, out=v)
        _reciprocal_one_plus_exp(v)
    elif name == "relu":
        np.maximum(v, 0, out=v)
    return v


def _reciprocal_one_plus_exp(v):
    np.exp(v, out=v)
    v += 1
    np.reciprocal(v, out=v)


def slope(name: str, y: np.ndarray) -> np.ndarray:
    """``f'(x)`` written with ``y = f(x)``: a new array of ``y``'s shape."""
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    if name == "relu":
        return (y > 0).astype(y.dtype)
    return np.ones_like(y)


class GateActivation:
    """The activations of ``len(names)`` contiguous gate blocks of width ``units``,
    applied in place to a row block ``z (batch, len(names) * units)``.

    When every block is tanh or sigmoid: ``sigmoid(x) = 1 / (1 + exp(-x))`` and
    ``tanh(x) = 2 sigmoid(2x) - 1``, so one ``exp``, ``+ 1`` and reciprocal over the whole
    row block, then ``2 s - 1`` on the tanh blocks. The factors -1 / -2 are folded into
    the weights by the caller (``scale``: exact, powers of two), so ``z`` arrives
    pre-scaled. Otherwise ``scale`` is None and each block is activated on its own.
    Run under ``np.errstate(over="ignore")`` (see ``activate_``).
    """

    def __init__(self, names, units: int) -> None:
        self.names, self.units = tuple(names), units
        self.fast = all(n in ("tanh", "sigmoid") for n in self.names)
        self.scale = None
        if self.fast:
            self.scale = np.concatenate([np.full(units, -1.0 if n == "sigmoid" else -2.0) for n in self.names])

    def __call__(self, z: np.ndarray) -> np.ndarray:
        u = self.units
        if self.fast:
            _reciprocal_one_plus_exp(z)
            if all(n == "tanh" for n in self.names):
                z *= 2
                z -= 1
                return z
            for k, name in enumerate(self.names):
                if name == "tanh":
                    block = z[:, k * u : (k + 1) * u]
                    block *= 2
                    block -= 1
            return z
        for k, name in enumerate(self.names):
            activate_(name, z[:, k * u : (k + 1) * u])
        return z
