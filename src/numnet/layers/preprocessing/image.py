"""Image layers that change the size: ``Resizing``, ``CenterCrop``, ``RandomCrop``; and
``RandomFlip``. All differentiable (each is linear in the pixels)."""

from __future__ import annotations

import numpy as np

from ._image_base import ImageLayer, check_size, choice
from ._image_ops import INTERPOLATIONS, aspect_crop_box, resize_matrix


class _Resizer:
    """A crop ``(top, left, h, w)`` then a resize to ``(out_h, out_w)`` by the matrices
    ``Rh (out_h, h)`` and ``Rw (out_w, w)``: ``y = Rh x Rw^T`` per image and channel.
    Backward: ``dx[crop] = Rh^T dy Rw`` (zero outside the crop)."""

    def __init__(self, image_shape, box, out_size, interpolation):
        self.image_shape, self.box = image_shape, box
        top, left, h, w = box
        self.identity = (h, w) == tuple(out_size)
        if not self.identity:
            self.rh = resize_matrix(h, out_size[0], interpolation)
            self.rw = resize_matrix(w, out_size[1], interpolation)

    def forward(self, x):
        top, left, h, w = self.box
        x = x[:, top:top + h, left:left + w]
        if self.identity:
            return x.copy()
        return np.einsum("oh,nhwc,pw->nopc", self.rh.astype(x.dtype), x, self.rw.astype(x.dtype), optimize=True)

    def backward(self, error):
        top, left, h, w = self.box
        grad = np.zeros((len(error),) + tuple(self.image_shape[1:]), dtype=error.dtype)
        if self.identity:
            grad[:, top:top + h, left:left + w] = error
        else:
            grad[:, top:top + h, left:left + w] = np.einsum(
                "oh,nopc,pw->nhwc", self.rh.astype(error.dtype), error, self.rw.astype(error.dtype), optimize=True)
        return grad


class _SizedLayer(ImageLayer):
    def __init__(self, height, width, name=None, **kwargs) -> None:
        owner = type(self).__name__
        self.height, self.width = check_size(height, "height", owner), check_size(width, "width", owner)
        super().__init__(name=name, **kwargs)

    def compute_output_shape(self, input_shape):
        super().compute_output_shape(input_shape)
        return (self.height, self.width, input_shape[2])

    def _run(self, x, single, resizer):
        self._resizer, self._single = resizer, single
        out = resizer.forward(x)
        return out[0] if single else out

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        error = output_error[None] if self._single else output_error
        grad = self._resizer.backward(error)
        return grad[0] if self._single else grad

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


class Resizing(_SizedLayer):
    """Resize images to ``(height, width)``: ``"bilinear"`` (half-pixel centres, no
    antialiasing: PyTorch's ``interpolate(mode="bilinear", align_corners=False)``) or
    ``"nearest"``. ``crop_to_aspect_ratio=True`` first crops the largest centred window
    with the target's aspect ratio, so nothing is stretched."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, data_format=None,
                 name=None, **kwargs) -> None:
        self.interpolation = choice(interpolation, INTERPOLATIONS, "interpolation", "Resizing")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        super().__init__(height, width, data_format=data_format, name=name, **kwargs)

    def forward(self, input, training=False):
        x, single = self._images(input)
        _, h, w, _ = x.shape
        box = aspect_crop_box(h, w, self.height, self.width) if self.crop_to_aspect_ratio else (0, 0, h, w)
        return self._run(x, single, _Resizer(x.shape, box, (self.height, self.width), self.interpolation))

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


def _center_box(h, w, height, width):
    """Keras's centre crop: the centred ``height x width`` window when the image is large
    enough, else the largest centred window of the target's aspect ratio (then resized)."""
    if h >= height and w >= width:
        return (int((h - height) / 2), int((w - width) / 2), height, width)
    return aspect_crop_box(h, w, height, width)


class CenterCrop(_SizedLayer):
    """The centred ``(height, width)`` window of each image (``top = (H - height) // 2``);
    an image smaller than that is cropped to the target's aspect ratio and resized
    (bilinear), as in Keras."""

    def __init__(self, height, width, data_format=None, name=None, **kwargs) -> None:
        super().__init__(height, width, data_format=data_format, name=name, **kwargs)

    def forward(self, input, training=False):
        x, single = self._images(input)
        _, h, w, _ = x.shape
        box = _center_box(h, w, self.height, self.width)
        return self._run(x, single, _Resizer(x.shape, box, (self.height, self.width), "bilinear"))


class RandomCrop(_SizedLayer):
    """Training: one random ``(height, width)`` window per batch, its top-left corner
    uniform over the valid positions (from the layer's seeded generator). Inference (and an
    image not larger than the window): the largest centred window of the target's aspect
    ratio, resized to ``(height, width)`` (bilinear), as in Keras."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs) -> None:
        super().__init__(height, width, data_format=data_format, seed=seed, name=name, **kwargs)

    def forward(self, input, training=False):
        x, single = self._images(input)
        _, h, w, _ = x.shape
        if training and h > self.height and w > self.width:
            rng = self._generator()
            box = (int(rng.integers(0, h - self.height + 1)), int(rng.integers(0, w - self.width + 1)),
                   self.height, self.width)
        else:
            box = aspect_crop_box(h, w, self.height, self.width)
        return self._run(x, single, _Resizer(x.shape, box, (self.height, self.width), "bilinear"))


class RandomFlip(ImageLayer):
    """Training: each image flipped left-right (``"horizontal"``), top-bottom
    (``"vertical"``) or each independently (``"horizontal_and_vertical"``, the default),
    each with probability 1/2, from the layer's seeded generator. Inference: identity.
    Backward: the same flips of the error."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, name=None, **kwargs) -> None:
        self.mode = choice(mode, self.MODES, "mode", "RandomFlip")
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)

    def forward(self, input, training=False):
        x, single = self._images(input)
        self._single = single
        if not training:
            self._flips = None
            return x[0] if single else x
        rng = self._generator()
        n = len(x)
        horizontal = rng.random(n) < 0.5 if "horizontal" in self.mode else np.zeros(n, dtype=bool)
        vertical = rng.random(n) < 0.5 if "vertical" in self.mode else np.zeros(n, dtype=bool)
        self._flips = (horizontal, vertical)
        out = self._flip(x)
        return out[0] if single else out

    def _flip(self, x):
        horizontal, vertical = self._flips
        out = x.copy()
        out[horizontal] = out[horizontal][:, :, ::-1]
        out[vertical] = out[vertical][:, ::-1]
        return out

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        if self._flips is None:
            return output_error
        error = output_error[None] if self._single else output_error
        grad = self._flip(error)  # a flip is its own inverse
        return grad[0] if self._single else grad

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}
