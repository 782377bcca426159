"""Regularisation layers: ``Dropout`` (the noise layers are in ``noise.py``)."""

from __future__ import annotations

import numpy as np

from ..random import make_generator
from . import _validate
from .layer import Layer


class Dropout(Layer):
    """Inverted dropout.

    Training: ``y = x * m / (1 - rate)`` with ``m ~ Bernoulli(1 - rate)`` drawn afresh per
    call and per element, so the expected value of ``y`` is ``x``. Inference: ``y = x``,
    with nothing to rescale. Backward: ``dL/dx = dL/dy * m / (1 - rate)`` (the same mask).
    Any shape ``(n_samples, ...)``. The mask comes from the layer's own generator, seeded
    from ``seed`` or, if None, from ``numnet.random`` (so ``set_seed`` governs it).

    ``noise_shape`` (Keras's): the mask's shape including the batch axis, ``None`` entries
    taking the input's size; a 1 shares one draw along that axis (``(None, 1, None)`` drops
    whole channels of a sequence for every time step alike). Each entry is 1, None or the
    input's size.
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed=None, name: str | None = None, **kwargs) -> None:
        owner = type(self).__name__
        rate = _validate.number(rate, "rate", owner, 0, 1, high_open=True,
                                wording="a number in [0, 1) (the fraction of inputs to drop)")
        if noise_shape is not None:
            if not isinstance(noise_shape, (tuple, list)) or not noise_shape or not all(
                    s is None or (_validate.is_int(s) and 0 < s <= _validate.MAX_INT) for s in noise_shape):
                raise ValueError(f"{owner} noise_shape must be None or a tuple of positive integers and Nones "
                                 f"(the batch axis included), got {noise_shape!r:.80}.")
            noise_shape = tuple(None if s is None else int(s) for s in noise_shape)
        super().__init__(name=name, seed=seed, **kwargs)
        self.rate = rate
        self.noise_shape = noise_shape

    def _mask_shape(self, shape: tuple) -> tuple:
        """The shape of the mask for an input of (batched) ``shape``."""
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{type(self).__name__} {self.name!r}: noise_shape {self.noise_shape} has "
                             f"{len(self.noise_shape)} axes, the input {shape} has {len(shape)}.")
        out = tuple(n if s is None else s for s, n in zip(self.noise_shape, shape))
        for s, n in zip(out, shape):
            if s not in (1, n):
                raise ValueError(f"{type(self).__name__} {self.name!r}: noise_shape {self.noise_shape} does not "
                                 f"broadcast to the input's shape {shape}: each entry must be 1, None or the size.")
        return out

    def forward(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        if not training or self.rate == 0.0:
            self._mask = None
            self.output = input
            return input
        if self._rng is None:
            self._rng = make_generator(self.seed)
        dtype = input.dtype if input.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        keep = self._rng.random(self._mask_shape(input.shape), dtype=dtype) >= self.rate
        # Mask and scale in one array of the input's dtype: no upcast, one multiply in backward.
        self._mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.rate))
        self.output = input * self._mask
        return self.output

    def backward(self, output_error):
        # The mask broadcasts when noise_shape shares draws: the product has the error's shape.
        return output_error if self._mask is None else output_error * self._mask

    def get_config(self) -> dict:
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        if self.noise_shape is not None:
            config["noise_shape"] = list(self.noise_shape)
        return config
