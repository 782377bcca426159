"""Weight initializers.

An initializer is called as ``init(shape, rng, dtype)`` and returns a new array. Fan-in
and fan-out follow Keras: for a 2-D kernel ``(fan_in, fan_out)``; for a convolution
kernel ``(kh, kw, in, out)``, ``fan_in = kh * kw * in`` and ``fan_out = kh * kw * out``.
Values are drawn in float64 and then cast, so a float32 and a float64 model built from
the same seed start from the same numbers (up to rounding).
"""

from __future__ import annotations

import math

import numpy as np


def _fans(shape) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``sample(shape, rng)`` returning float64."""

    def __call__(self, shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        return np.asarray(self.sample(tuple(shape), rng), dtype=dtype)

    def sample(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(vars(self))


class Zeros(Initializer):
    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape, rng):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    """N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)


class VarianceScaling(Initializer):
    """Variance ``scale / n`` where n is fan_in, fan_out or their mean.

    ``distribution="uniform"``: U(-limit, limit) with limit = sqrt(3 scale / n).
    ``distribution="normal"``: N(0, scale / n) (untruncated).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}.")
        if distribution not in ("normal", "uniform"):
            raise ValueError(f"distribution must be 'normal' or 'uniform', got {distribution!r}.")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape)
        return rng.normal(0.0, math.sqrt(variance), size=shape)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, as Keras draws it: the kernel is viewed
    as ``(prod(shape[:-1]), shape[-1])``; a standard-normal matrix of that shape (its
    transpose when it has fewer rows than columns) is QR-factored, and ``Q`` with its
    columns' signs fixed by ``sign(diag(R))`` (so the result is uniformly distributed) is
    returned. Rows or columns are orthonormal, whichever there are fewer of.
    """

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"The orthogonal initializer needs a shape of at least 2 dimensions, got {shape}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


def GlorotUniform():
    """U(-sqrt(6 / (fan_in + fan_out)), +sqrt(6 / (fan_in + fan_out)))."""
    return VarianceScaling(1.0, "fan_avg", "uniform")


def GlorotNormal():
    """N(0, 2 / (fan_in + fan_out))."""
    return VarianceScaling(1.0, "fan_avg", "normal")


def HeUniform():
    """U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))."""
    return VarianceScaling(2.0, "fan_in", "uniform")


def HeNormal():
    """N(0, 2 / fan_in)."""
    return VarianceScaling(2.0, "fan_in", "normal")


def LecunNormal():
    """N(0, 1 / fan_in)."""
    return VarianceScaling(1.0, "fan_in", "normal")


def LecunUniform():
    """U(-sqrt(3 / fan_in), +sqrt(3 / fan_in))."""
    return VarianceScaling(1.0, "fan_in", "uniform")


_REGISTRY = {
    "zeros": Zeros,
    "ones": Ones,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform,
    "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
}


def get(identifier) -> Initializer:
    """An ``Initializer`` from a name (``"glorot_uniform"``, ...) or an instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _REGISTRY:
        return _REGISTRY[identifier.lower()]()
    raise ValueError(
        f"Unknown initializer {identifier!r}; expected an Initializer or one of: "
        f"{', '.join(sorted(_REGISTRY))}."
    )


def serialize(initializer: Initializer) -> dict:
    """A JSON-able description that ``deserialize`` turns back into the initializer."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config) -> Initializer:
    if isinstance(config, str):
        return get(config)
    classes = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform, VarianceScaling, Orthogonal)}
    try:
        cls = classes[config["class_name"]]
        return cls(**config["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"Cannot rebuild an initializer from {config!r:.200} ({exc}).") from exc
