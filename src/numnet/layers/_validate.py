"""Checks of layer constructor arguments, shared by the built-in layers.

Every built-in layer validates each constructor argument here (or in ``_spatial``) when
it is constructed, and what depends on the input shape when it is built; ``load_model``
rebuilds layers through the same constructors and ``build``, so a value a file holds is
checked exactly as one passed in code. Wrong kinds raise ``TypeError``, bad values
``ValueError``; each message names the layer class and the argument.
"""

from __future__ import annotations

import math

import numpy as np

# The largest size, stride, dilation or unit count accepted: the int32 range Keras and
# TensorFlow configs live in, and far below where numpy's index arithmetic overflows.
MAX_INT = 2**31 - 1
MAX_SEED = 2**128  # numpy's SeedSequence takes any non-negative int; longer ones are surely junk

_DTYPES = ("float32", "float64")


def is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def flag(value, what: str, owner: str) -> bool:
    """A boolean argument: ``True`` / ``False`` (or numpy's), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner} {what} must be True or False, got {value!r:.80}.")
    return bool(value)


def positive_int(value, what: str, owner: str) -> int:
    """An integer in ``1 .. MAX_INT``."""
    if not is_int(value) or not 0 < value <= MAX_INT:
        raise ValueError(f"{owner} {what} must be a positive integer (at most {MAX_INT}), got {value!r:.80}.")
    return int(value)


def number(value, what: str, owner: str, low: float, high: float, *, low_open=False, high_open=False,
           wording: str | None = None) -> float:
    """A finite real number in ``[low, high]`` (an end excluded where ``*_open``);
    ``wording`` replaces "a number in [low, high]" in the message."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if ok:
        x = float(value)
        ok = math.isfinite(x) and (low < x if low_open else low <= x) and (x < high if high_open else x <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner} {what} must be {wording or f'a number in {interval}'}, got {value!r:.80}.")
    return float(value)


def seed(value, owner: str):
    """``None`` or a non-negative integer (below 2**128)."""
    if value is not None and (not is_int(value) or not 0 <= value < MAX_SEED):
        raise ValueError(f"{owner} seed must be None or a non-negative integer, got {value!r:.80}.")
    return None if value is None else int(value)


def dtype(value, owner: str):
    """``None``, ``"float32"`` or ``"float64"`` (names or numpy dtypes)."""
    if value is None:
        return None
    try:
        resolved = np.dtype(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner} dtype must be 'float32' or 'float64', got {value!r:.80}.") from exc
    if resolved.name not in _DTYPES:
        raise ValueError(f"{owner} dtype must be 'float32' or 'float64', got {value!r:.80}.")
    return resolved


def shape(value, what: str, owner: str, allow_none: bool = False) -> tuple:
    """A non-empty tuple of positive integers (a lone integer is a 1-tuple); with
    ``allow_none``, ``None`` stands for a length that varies (a time axis)."""
    items = (value,) if is_int(value) else value
    if not isinstance(items, (tuple, list)) or not items or not all(
        (s is None and allow_none) or (is_int(s) and 0 < s <= MAX_INT) for s in items
    ):
        varies = " (or None for a length that varies)" if allow_none else ""
        examples = "(784,), (28, 28, 1) or (None, 16)" if allow_none else "(784,) or (28, 28, 1)"
        raise ValueError(
            f"{owner} {what} must be a non-empty tuple of positive integers{varies}, each at most {MAX_INT}, "
            f"without the batch dimension, e.g. {examples}; got {value!r:.80}."
        )
    return tuple(None if s is None else int(s) for s in items)


def axis(value, owner: str) -> int:
    if not is_int(value) or not -MAX_INT <= value <= MAX_INT:
        raise ValueError(f"{owner} axis must be an integer, got {value!r:.80}.")
    return int(value)
