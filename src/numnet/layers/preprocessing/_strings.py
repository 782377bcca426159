"""Strings as numpy arrays: what every text layer (and a string model input) accepts.

numnet represents a batch of strings as a numpy unicode array (dtype ``<U..``, kind
``"U"``), never as an object array: it saves without pickle and compares elementwise.
Python lists (nested to any depth), bytes (decoded as UTF-8) and object arrays holding
``str`` / ``bytes`` are converted on the way in.
"""

from __future__ import annotations

import numpy as np


def _decode(value, what: str) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} holds bytes that are not UTF-8 ({exc}).") from None
    if isinstance(value, (str, np.str_)):
        return str(value)
    raise TypeError(f"{what} must hold strings, found {type(value).__name__} {value!r:.40}.")


def as_string_array(value, what: str = "the input") -> np.ndarray:
    """``value`` as a unicode array of the same shape (a scalar string gives a 0-d array).

    TypeError when an element is not a string (a number in an object array, None)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U":
            return value
        if value.dtype.kind == "S":
            return np.char.decode(value, "utf-8") if value.size else value.astype(str)
        if value.dtype.kind != "O":
            raise TypeError(f"{what} must hold strings, got an array of dtype {value.dtype}.")
        flat = [_decode(v, what) for v in value.reshape(-1)]
        return np.array(flat, dtype=str).reshape(value.shape) if flat else np.zeros(value.shape, dtype="<U1")
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return np.array(_decode(value, what))
    if isinstance(value, (list, tuple)):
        try:
            array = np.array(value, dtype=object)
        except ValueError as exc:  # ragged nesting
            raise ValueError(f"{what} is a ragged list of strings ({exc}); give rows of equal length.") from None
        if array.size == 0:
            return np.zeros(array.shape, dtype="<U1")
        return as_string_array(array, what)
    raise TypeError(f"{what} must be strings (a str, a list of str or a numpy string array), "
                    f"got {type(value).__name__}.")
