"""``Hashing``: strings or integers to one of ``num_bins`` bins by a stable hash."""

from __future__ import annotations

import numpy as np

from ._base import PreprocessingLayer, categorical_output_shape, check_choice, encode_categorical
from ._hash import hash_strings, salt_key
from ._strings import as_string_array


class Hashing(PreprocessingLayer):
    """``bin = blake2b64(str(value)) % num_bins`` (see ``_hash``: stable, documented, but
    not Keras's FarmHash / SipHash, so bins differ from Keras's).

    ``mask_value``: inputs equal to it go to bin 0 and the others to ``1 + hash %
    (num_bins - 1)``. ``salt``: an int or two ints keying the hash. Integers (or floats
    holding whole numbers) are hashed as their decimal strings. ``output_mode``:
    ``"int"`` (int64, the input's shape), ``"one_hot"``, ``"multi_hot"``, ``"count"``
    (``num_bins`` wide). Not differentiable.
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, name=None,
                 **kwargs) -> None:
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
            raise ValueError(f"Hashing num_bins must be a positive integer, got {num_bins!r:.80}.")
        if mask_value is not None and num_bins < 2:
            raise ValueError("Hashing num_bins must be at least 2 with a mask_value (bin 0 is the mask).")
        check_choice(output_mode, ("int", "one_hot", "multi_hot", "count"), "output_mode", "Hashing")
        if sparse:
            raise ValueError("Hashing sparse=True is not supported: numnet has no sparse tensors (sparse=False).")
        self._key = salt_key(salt)
        super().__init__(name=name, **kwargs)
        self.num_bins, self.mask_value, self.salt, self.output_mode = int(num_bins), mask_value, salt, output_mode

    @property
    def output_is_float(self) -> bool:
        return self.output_mode != "int"

    def compute_output_shape(self, input_shape):
        return categorical_output_shape(input_shape, self.output_mode, self.num_bins)

    @staticmethod
    def _as_strings(data) -> np.ndarray:
        array = data if isinstance(data, np.ndarray) else None
        if array is None:
            try:
                return as_string_array(data, "Hashing input")
            except TypeError:
                array = np.asarray(data)
        if array.dtype.kind in "USO":
            return as_string_array(array, "Hashing input")
        if array.dtype.kind == "f":
            if array.size and not np.array_equal(array, np.floor(array)):
                raise ValueError("Hashing input must hold strings or integers, got non-integral floats.")
            array = array.astype(np.int64)
        if array.dtype.kind not in "iub":
            raise TypeError(f"Hashing input must hold strings or integers, got dtype {array.dtype}.")
        return array.astype(np.int64).astype(str)

    def forward(self, input, training=False):
        strings = self._as_strings(input)
        if not self.built:
            self.build_for(strings.shape[1:])
        if self.mask_value is None:
            ids = hash_strings(strings, self.num_bins, self._key)
        else:
            masked = strings == str(self.mask_value)
            ids = 1 + hash_strings(strings, self.num_bins - 1, self._key)
            ids[masked] = 0
        if self.output_mode == "int":
            return ids
        return encode_categorical(ids, self.output_mode, self.num_bins, self._float_dtype())

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "mask_value": self.mask_value,
                "salt": self.salt, "output_mode": self.output_mode}
