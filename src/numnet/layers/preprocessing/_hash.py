"""The string hash of ``Hashing`` and of the extra OOV buckets of the lookup layers.

numnet uses 64-bit BLAKE2b (RFC 7693, ``hashlib.blake2b(digest_size=8)``) of the UTF-8
bytes, read as a little-endian unsigned integer, modulo the number of bins; with a
``salt`` the hash is keyed (BLAKE2b's key: the two 64-bit salt words, little-endian).
It is stable across runs, platforms and Python versions (unlike ``hash()``), so a saved
model hashes exactly as it did when trained. It is NOT Keras's hash (FarmHash64 without
a salt, SipHash64 with one): the same token lands in a different bin than in Keras.
Integers are hashed through their decimal string, as Keras does.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np


def salt_key(salt) -> bytes | None:
    """``None``, an int, or two ints -> the BLAKE2b key (16 bytes), or None for no salt."""
    if salt is None:
        return None
    words = [salt, salt] if not isinstance(salt, (list, tuple)) else list(salt)
    if len(words) != 2 or not all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) and
                                  0 <= w < 2**64 for w in words):
        raise ValueError(f"salt must be None, a non-negative integer or a list of two (below 2**64), got {salt!r:.80}.")
    return struct.pack("<QQ", int(words[0]), int(words[1]))


def hash_token(token: str, num_bins: int, key: bytes | None) -> int:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8, key=key or b"").digest()
    return int.from_bytes(digest, "little") % num_bins


def hash_strings(values: np.ndarray, num_bins: int, key: bytes | None) -> np.ndarray:
    """The bin in ``[0, num_bins)`` of every element of a unicode array (int64, same shape).
    Each distinct string is hashed once."""
    unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
    bins = np.array([hash_token(str(u), num_bins, key) for u in unique], dtype=np.int64)
    return bins[inverse].reshape(values.shape)
