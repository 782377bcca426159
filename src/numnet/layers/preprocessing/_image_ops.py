"""Image arithmetic behind the image preprocessing layers: resizing as two interpolation
matrices, centred crops, and sampling at transformed coordinates (rotation, zoom,
translation) with Keras's fill modes. Images are ``(batch, height, width, channels)``."""

from __future__ import annotations

import numpy as np

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def resize_matrix(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """``(size_out, size_in)`` weights of a 1-D resize with half-pixel centres (TensorFlow's
    ``tf.image.resize`` without antialiasing = PyTorch ``interpolate(align_corners=False)``):
    output ``i`` samples input coordinate ``(i + 0.5) * size_in / size_out - 0.5``,
    bilinear between its two neighbours (clamped at the edges) or the nearest pixel
    ``floor((i + 0.5) * size_in / size_out)``."""
    scale = size_in / size_out
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    if interpolation == "nearest":
        matrix[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), size_in - 1)] = 1.0
        return matrix
    source = np.maximum((rows + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    weight = source - low
    np.add.at(matrix, (rows, low), 1.0 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix


def aspect_crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """``(top, left, crop_height, crop_width)``: the largest centred window of the image with
    the target's aspect ratio (Keras's ``crop_to_aspect_ratio``)."""
    crop_height = max(min(height, int(width * target_height / target_width)), 1)
    crop_width = max(min(width, int(height * target_width / target_height)), 1)
    return int((height - crop_height) / 2), int((width - crop_width) / 2), crop_height, crop_width


def _fill_index(index: np.ndarray, size: int, mode: str):
    """Integer pixel indices mapped into ``[0, size)`` by the fill mode, and (constant mode)
    which of them lie outside the image."""
    outside = (index < 0) | (index >= size)
    if mode == "reflect":  # d c b a | a b c d | d c b a
        period = np.mod(index, 2 * size)
        index = np.where(period >= size, 2 * size - 1 - period, period)
    elif mode == "wrap":  # a b c d | a b c d
        index = np.mod(index, size)
    else:  # nearest (a a | a b c d | d d), constant (read anything, weight 0)
        index = np.clip(index, 0, size - 1)
    return index, (outside if mode == "constant" else None)


def sampling(rows: np.ndarray, cols: np.ndarray, height: int, width: int, interpolation: str, fill_mode: str):
    """Where each output pixel reads: ``rows`` / ``cols`` ``(batch, H, W)`` float input
    coordinates -> a list of ``(row index, col index, weight)`` (each ``(batch, H, W)``), one
    term per neighbour read; constant-mode neighbours outside the image get weight 0 and
    are added as ``fill_value * (1 - sum of weights)``."""
    if interpolation == "nearest":
        r, c = np.floor(rows + 0.5).astype(np.int64), np.floor(cols + 0.5).astype(np.int64)
        terms = [(r, c, np.ones(rows.shape))]
    else:
        r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        fr, fc = rows - r0, cols - c0
        terms = [(r0, c0, (1 - fr) * (1 - fc)), (r0, c0 + 1, (1 - fr) * fc),
                 (r0 + 1, c0, fr * (1 - fc)), (r0 + 1, c0 + 1, fr * fc)]
    out = []
    for r, c, w in terms:
        r, out_r = _fill_index(r, height, fill_mode)
        c, out_c = _fill_index(c, width, fill_mode)
        if out_r is not None:
            w = np.where(out_r | out_c, 0.0, w)
        out.append((r, c, w))
    return out


def sample(images: np.ndarray, terms, fill_value: float) -> np.ndarray:
    """``out[n, i, j] = sum_k w_k * images[n, r_k, c_k] + fill_value * (1 - sum_k w_k)``."""
    batch = np.arange(len(images))[:, None, None]
    out = np.zeros(images.shape[:1] + terms[0][0].shape[1:] + images.shape[3:], dtype=np.float64)
    total = np.zeros(terms[0][0].shape)
    for r, c, w in terms:
        out += w[..., None] * images[batch, r, c]
        total += w
    if fill_value:
        out += (fill_value * (1.0 - total))[..., None]
    return out.astype(images.dtype, copy=False)


def sample_backward(error: np.ndarray, terms, image_shape) -> np.ndarray:
    """The input gradient of ``sample``: each output pixel's error scattered back onto the
    pixels it read, with the same weights."""
    grad = np.zeros(image_shape, dtype=np.float64)
    batch = np.broadcast_to(np.arange(len(error))[:, None, None], terms[0][0].shape)
    for r, c, w in terms:
        np.add.at(grad, (batch, r, c), w[..., None] * error)
    return grad.astype(error.dtype, copy=False)


def transform_coordinates(batch: int, height: int, width: int, angle=None, zoom=None, shift=None):
    """Input coordinates ``(rows, cols)`` ``(batch, H, W)`` each output pixel reads for a
    rotation by ``angle`` (radians, counter-clockwise as the image is viewed), a zoom
    ``(zoom_h, zoom_w)`` (> 1 zooms out: the output shows more of the image) and a shift
    ``(dy, dx)`` in pixels (> 0 moves the content down / right), all about the centre
    ``((H - 1) / 2, (W - 1) / 2)``; each argument one value per image."""
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    i, j = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    y = np.broadcast_to(i - cy, (batch, height, width)).copy()
    x = np.broadcast_to(j - cx, (batch, height, width)).copy()
    if shift is not None:
        y -= np.asarray(shift[0], dtype=np.float64).reshape(-1, 1, 1)
        x -= np.asarray(shift[1], dtype=np.float64).reshape(-1, 1, 1)
    if angle is not None:
        # Content turned counter-clockwise by a: output (x, y) reads input R(a)(x, y) with y pointing down.
        a = np.asarray(angle, dtype=np.float64).reshape(-1, 1, 1)
        x, y = np.cos(a) * x - np.sin(a) * y, np.sin(a) * x + np.cos(a) * y
    if zoom is not None:
        y = y * np.asarray(zoom[0], dtype=np.float64).reshape(-1, 1, 1)
        x = x * np.asarray(zoom[1], dtype=np.float64).reshape(-1, 1, 1)
    return y + cy, x + cx
