"""numnet's one source of randomness.

Every random draw in numnet (weight initialisation, shuffling, validation splits,
dropout) comes from a ``numpy.random.Generator``; numpy's global random state is never
touched. ``set_seed(n)`` replaces the library generator, so one call makes every later
draw reproducible bit for bit. Layers and models may also be given their own ``seed``.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Make every later random draw in numnet reproducible.

    ``seed`` must be a non-negative integer.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed expects a non-negative integer, got {seed!r}.")
    _generator = np.random.default_rng(int(seed))


def get_generator() -> np.random.Generator:
    """The library generator that ``set_seed`` controls."""
    return _generator


def make_generator(seed=None) -> np.random.Generator:
    """A generator for one object: seeded from ``seed`` if given, else drawn from the
    library generator, so that ``set_seed`` still governs it."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_generator.integers(2**63))
    return np.random.default_rng(seed)
