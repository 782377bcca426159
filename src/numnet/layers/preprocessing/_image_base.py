"""The base of the image layers: ``(batch, height, width, channels)`` float images
(``channels_last``; one unbatched ``(H, W, C)`` image is accepted eagerly), factor
arguments in Keras's forms, and the layer's seeded generator."""

from __future__ import annotations

import numpy as np

from ...random import make_generator
from ._base import PreprocessingLayer, check_choice


def check_size(value, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner} {what} must be a positive integer, got {value!r:.80}.")
    return int(value)


def factor_range(factor, what: str, owner: str, low: float = -1.0, high: float = 1.0, symmetric=True) -> tuple:
    """``f`` -> ``(-f, f)`` (``symmetric``) or ``(f, f)``; ``(lower, upper)`` as given; both
    within ``[low, high]``, lower <= upper."""
    if isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
        if factor < 0:
            raise ValueError(f"{owner} {what} must be non-negative when given as one number, got {factor!r}.")
        pair = (-float(factor), float(factor)) if symmetric else (float(factor), float(factor))
    elif isinstance(factor, (list, tuple)) and len(factor) == 2 and all(
            isinstance(f, (int, float, np.integer, np.floating)) and not isinstance(f, bool) for f in factor):
        pair = (float(factor[0]), float(factor[1]))
    else:
        raise ValueError(f"{owner} {what} must be a number or a pair (lower, upper), got {factor!r:.80}.")
    if not (low <= pair[0] <= pair[1] <= high) or not all(np.isfinite(pair)):
        raise ValueError(f"{owner} {what} must lie in [{low:g}, {high:g}] with lower <= upper, got {factor!r:.80}.")
    return pair


class ImageLayer(PreprocessingLayer):
    """An image preprocessing layer (differentiable unless it says otherwise)."""

    differentiable = True

    def __init__(self, data_format=None, seed=None, name=None, **kwargs) -> None:
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} data_format must be 'channels_last' (numnet's image layout), "
                             f"got {data_format!r:.80}.")
        super().__init__(name=name, seed=seed, **kwargs)

    def _images(self, input):
        """``(images as a 4-D float array, whether one unbatched image came in)``."""
        x = np.asarray(input)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__} expects numeric images, got dtype {x.dtype}.")
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects images (batch, height, width, channels), "
                             f"got shape {x.shape}.")
        if x.dtype.kind != "f":
            x = x.astype(self._float_dtype())
        if not self.built:
            self.build_for(x.shape[1:])
        return x, single

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects images (batch, height, width, channels), "
                             f"got (batch, {', '.join(str(s) for s in input_shape)}).")
        return tuple(input_shape)

    def _generator(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = make_generator(self.seed)
        return self._rng

    def get_config(self) -> dict:
        config = super().get_config()
        if self.seed is not None:
            config["seed"] = self.seed
        return config


def choice(value, allowed, what, owner):
    return check_choice(value, allowed, what, owner)
