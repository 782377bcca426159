"""Regularisation layers: ``Dropout``."""

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
    """

    supports_masking = True

    def __init__(self, rate: float, seed=None, name: str | None = None, **kwargs) -> None:
        rate = _validate.number(rate, "rate", "Dropout", 0, 1, high_open=True,
                                wording="a number in [0, 1) (the fraction of inputs to drop)")
        super().__init__(name=name, seed=seed, **kwargs)
        self.rate = rate

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
        keep = self._rng.random(input.shape, dtype=dtype) >= self.rate
        # Mask and scale in one array of the input's dtype: no upcast, one multiply in backward.
        self._mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.rate))
        self.output = input * self._mask
        return self.output

    def backward(self, output_error):
        return output_error if self._mask is None else output_error * self._mask

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
