"""Random augmentation: ``RandomRotation``, ``RandomZoom``, ``RandomTranslation`` (geometric,
sampled with a fill mode), ``RandomContrast``, ``RandomBrightness``. Random only with
``training=True`` (identity in inference); one draw per image from the layer's seeded
generator (``seed=``, else ``numnet.random``). All differentiable: the geometric ones
scatter the error back with the sampling weights, the colour ones through their formula
(zero where the value was clipped).

Geometry (``_image_ops.transform_coordinates``): about the image centre; a rotation by
``factor * 2 pi`` radians, counter-clockwise as the image is viewed for a positive
angle; zoom ``1 + factor`` (> 1 zooms out, as Keras's positive factors); shifts of
``factor * height`` / ``factor * width`` pixels (> 0: down / right). Points outside the
image are filled by ``fill_mode``: ``"reflect"`` (d c b a | a b c d | d c b a, the default),
``"wrap"``, ``"nearest"``, ``"constant"`` (``fill_value``). numnet reflects / wraps the
integer neighbours of a sample point; Keras maps the point first, so pixels that read
across the border can differ slightly from Keras's.
"""

from __future__ import annotations

import numpy as np

from ._image_base import ImageLayer, choice, factor_range
from ._image_ops import FILL_MODES, INTERPOLATIONS, sample, sample_backward, sampling, transform_coordinates


class _GeometricLayer(ImageLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 name=None, **kwargs) -> None:
        owner = type(self).__name__
        self.fill_mode = choice(fill_mode, FILL_MODES, "fill_mode", owner)
        self.interpolation = choice(interpolation, INTERPOLATIONS, "interpolation", owner)
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{owner} fill_value must be a number, got {fill_value!r:.80}.")
        self.fill_value = float(fill_value)
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)

    def _draw(self, n: int, height: int, width: int) -> dict:
        raise NotImplementedError

    def transform(self, images, **parameters):
        """Apply the transform with fixed parameters (``angle``, ``zoom``, ``shift``, one value
        per image): what a training call does after drawing them."""
        x, single = self._images(images)
        out = self._apply(x, parameters)
        return out[0] if single else out

    def _apply(self, x, parameters):
        n, h, w, _ = x.shape
        rows, cols = transform_coordinates(n, h, w, **parameters)
        self._terms = sampling(rows, cols, h, w, self.interpolation, self.fill_mode)
        self._shape = x.shape
        return sample(x, self._terms, self.fill_value if self.fill_mode == "constant" else 0.0)

    def forward(self, input, training=False):
        x, single = self._images(input)
        self._single = single
        if not training:
            self._terms = None
            return x[0] if single else x
        n, h, w, _ = x.shape
        out = self._apply(x, self._draw(n, h, w))
        return out[0] if single else out

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        if self._terms is None:
            return output_error
        error = output_error[None] if self._single else output_error
        grad = sample_backward(error, self._terms, self._shape)
        return grad[0] if self._single else grad

    def get_config(self) -> dict:
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


class RandomRotation(_GeometricLayer):
    """Rotate each image by an angle drawn uniformly from ``factor * 2 pi`` radians:
    ``factor=0.1`` is up to +-36 degrees, ``(-0.1, 0.2)`` from -36 to +72 (positive:
    counter-clockwise)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, name=None, **kwargs) -> None:
        self.factor = factor_range(factor, "factor", "RandomRotation", -1.0, 1.0)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, name, **kwargs)

    def _draw(self, n, height, width):
        low, high = self.factor
        return {"angle": self._generator().uniform(low, high, n) * 2 * np.pi}

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_GeometricLayer):
    """Zoom each image by ``1 + f`` with ``f`` drawn from ``height_factor`` (vertically) and
    ``width_factor`` (horizontally; None: the same draw, keeping the aspect ratio).
    ``f > 0`` zooms out (the image shrinks, borders filled), ``f < 0`` zooms in; a single
    number ``a`` means ``(-a, a)``."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, name=None, **kwargs) -> None:
        self.height_factor = factor_range(height_factor, "height_factor", "RandomZoom", -1.0, np.inf)
        self.width_factor = None if width_factor is None else factor_range(width_factor, "width_factor",
                                                                            "RandomZoom", -1.0, np.inf)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, name, **kwargs)

    def _draw(self, n, height, width):
        rng = self._generator()
        zoom_h = 1.0 + rng.uniform(*self.height_factor, n)
        zoom_w = zoom_h if self.width_factor is None else 1.0 + rng.uniform(*self.width_factor, n)
        return {"zoom": (zoom_h, zoom_w)}

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}


class RandomTranslation(_GeometricLayer):
    """Shift each image by ``f * height`` pixels down and ``g * width`` right, ``f`` drawn
    from ``height_factor`` and ``g`` from ``width_factor`` (a single number ``a``:
    ``(-a, a)``)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, name=None, **kwargs) -> None:
        self.height_factor = factor_range(height_factor, "height_factor", "RandomTranslation", -1.0, 1.0)
        self.width_factor = factor_range(width_factor, "width_factor", "RandomTranslation", -1.0, 1.0)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, name, **kwargs)

    def _draw(self, n, height, width):
        rng = self._generator()
        return {"shift": (rng.uniform(*self.height_factor, n) * height, rng.uniform(*self.width_factor, n) * width)}

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


def _value_range(value_range, owner):
    if not (isinstance(value_range, (list, tuple)) and len(value_range) == 2
            and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                    for v in value_range) and value_range[0] < value_range[1]):
        raise ValueError(f"{owner} value_range must be (low, high) with low < high, got {value_range!r:.80}.")
    return (float(value_range[0]), float(value_range[1]))


class RandomContrast(ImageLayer):
    """``y = clip((x - mean) * c + mean, *value_range)`` with ``mean`` per image and channel
    (over height and width) and ``c`` drawn per image from ``[1 - lower, 1 + upper]``
    (``factor=a``: ``[1 - a, 1 + a]``). Backward (where not clipped):
    ``dL/dx = c * g + (1 - c) * mean_hw(g)``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, name=None, **kwargs) -> None:
        low, high = factor_range(factor, "factor", "RandomContrast", 0.0, np.inf, symmetric=False)
        if low > 1:
            raise ValueError(f"RandomContrast factor's lower bound must be at most 1, got {factor!r:.80}.")
        self.factor = (low, high)
        self.value_range = _value_range(value_range, "RandomContrast")
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)

    def adjust(self, images, contrast):
        """The contrast change with fixed factors (one per image)."""
        x, single = self._images(images)
        out = self._apply(x, np.asarray(contrast, dtype=np.float64))
        return out[0] if single else out

    def _apply(self, x, c):
        c = c.reshape(-1, 1, 1, 1).astype(x.dtype)
        mean = x.mean(axis=(1, 2), keepdims=True)
        out = (x - mean) * c + mean
        self._c = c
        self._inside = (out >= self.value_range[0]) & (out <= self.value_range[1])
        return np.clip(out, *self.value_range)

    def forward(self, input, training=False):
        x, single = self._images(input)
        self._single = single
        if not training:
            self._c = None
            return x[0] if single else x
        low, high = self.factor
        out = self._apply(x, self._generator().uniform(1.0 - low, 1.0 + high, len(x)))
        return out[0] if single else out

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        if self._c is None:
            return output_error
        g = (output_error[None] if self._single else output_error) * self._inside
        grad = self._c * g + (1 - self._c) * g.mean(axis=(1, 2), keepdims=True)
        return grad[0] if self._single else grad

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(ImageLayer):
    """``y = clip(x + d * (high - low), low, high)`` for ``value_range=(low, high)``, ``d``
    drawn per image from ``factor`` (``a``: ``(-a, a)``; within [-1, 1]), the same for every
    channel. Backward: ``dL/dx = g`` where not clipped, else 0."""

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, name=None, **kwargs) -> None:
        self.factor = factor_range(factor, "factor", "RandomBrightness", -1.0, 1.0)
        self.value_range = _value_range(value_range, "RandomBrightness")
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)

    def adjust(self, images, delta):
        """The brightness change with fixed ``delta`` (one per image, as a fraction of the range)."""
        x, single = self._images(images)
        out = self._apply(x, np.asarray(delta, dtype=np.float64))
        return out[0] if single else out

    def _apply(self, x, delta):
        low, high = self.value_range
        out = x + (delta * (high - low)).reshape(-1, 1, 1, 1).astype(x.dtype)
        self._inside = (out >= low) & (out <= high)
        return np.clip(out, low, high)

    def forward(self, input, training=False):
        x, single = self._images(input)
        self._single = single
        if not training:
            self._inside = None
            return x[0] if single else x
        out = self._apply(x, self._generator().uniform(*self.factor, len(x)))
        return out[0] if single else out

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        if self._inside is None:
            return output_error
        inside = self._inside[0] if self._single else self._inside
        return output_error * inside

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
