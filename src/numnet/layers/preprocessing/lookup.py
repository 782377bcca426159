"""``StringLookup`` and ``IntegerLookup``: a vocabulary of strings or integers to indices
(see ``_lookup`` for the index layout, the adapt order and OOV handling)."""

from __future__ import annotations

import numpy as np

from ._hash import hash_strings
from ._lookup import IndexLookup
from ._strings import as_string_array


class StringLookup(IndexLookup):
    """Strings to integer indices (or, ``invert=True``, indices back to strings).

    ``StringLookup(vocabulary=["a", "b", "c"])(["a", "c", "z"])`` is ``[1, 3, 0]``: index 0
    is the OOV token ``"[UNK]"``. With ``mask_token=""``: 0 is the mask, 1 the OOV token.
    ``output_mode``: ``"int"`` (same shape as the input, int64), ``"one_hot"``,
    ``"multi_hot"``, ``"count"``, ``"tf_idf"`` (``(batch, vocabulary_size)`` floats, or
    ``max_tokens`` wide with ``pad_to_max_tokens``). Not differentiable.
    """

    _kind = "string"
    _input_dtype = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, **kwargs) -> None:
        if encoding not in ("utf-8", "UTF-8", "utf8"):
            raise ValueError(f"StringLookup encoding must be 'utf-8' (numnet strings are unicode), got {encoding!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         **kwargs)

    def _special(self, token, what: str):
        if not isinstance(token, str):
            raise TypeError(f"StringLookup {what} must be a string or None, got {token!r:.80}.")
        return token

    def _as_tokens(self, data, what: str) -> np.ndarray:
        if what == "the input" and self.invert:
            return _as_ints(data, f"StringLookup {self.name!r} (invert=True) {what}")
        return as_string_array(data, f"StringLookup {what}")

    def _hash_oov(self, tokens: np.ndarray) -> np.ndarray:
        return hash_strings(tokens, self.num_oov_indices, None)


def _as_ints(data, what: str) -> np.ndarray:
    """Integers (int arrays, or floats holding whole numbers, as a model's input arrays are)."""
    array = np.asarray(data)
    if array.dtype.kind == "f":
        if array.size and not np.array_equal(array, np.floor(array)):
            raise ValueError(f"{what} must hold integers, got non-integral values.")
        return array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise TypeError(f"{what} must hold integers, got an array of dtype {array.dtype}.")
    return array.astype(np.int64, copy=False)


class IntegerLookup(IndexLookup):
    """Integers (any values, e.g. category codes) to contiguous indices, or back.

    ``IntegerLookup(vocabulary=[12, 36, 1138])([[12], [1138], [7]])`` is ``[[1], [3], [0]]``:
    index 0 is the OOV value ``-1``. With ``num_oov_indices > 1`` an unknown value ``v``
    goes to OOV index ``v % num_oov_indices`` (Keras's default). ``mask_token`` (e.g. 0)
    maps to index 0. Inputs may be floats holding whole numbers (a model's input arrays
    are cast to float). Not differentiable.
    """

    _kind = "int"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, name=None, **kwargs) -> None:
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup vocabulary_dtype must be 'int64' or 'int32', got {vocabulary_dtype!r}.")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         **kwargs)

    def _special(self, token, what: str):
        if isinstance(token, bool) or not isinstance(token, (int, np.integer)):
            raise TypeError(f"IntegerLookup {what} must be an integer or None, got {token!r:.80}.")
        return int(token)

    def _as_tokens(self, data, what: str) -> np.ndarray:
        return _as_ints(data, f"IntegerLookup {self.name!r} {what}")

    def _hash_oov(self, tokens: np.ndarray) -> np.ndarray:
        return np.mod(tokens, self.num_oov_indices)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}
