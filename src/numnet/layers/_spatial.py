"""Helpers shared by the 2-D layers (Conv2D, pooling): argument parsing, Keras/TensorFlow
"same" padding, the sliding-window view (im2col) and its adjoint (col2im).

Layout is channels-last throughout: images are ``(n_samples, height, width, channels)``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate

LAYOUT = "(N, H, W, C)"


def pair(value, what: str, owner: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` -> ``(3, 2)``; anything else but integers in
    ``1 .. MAX_INT`` -> ValueError naming ``what``."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2 or not all(_validate.is_int(v) and 0 < v <= _validate.MAX_INT for v in items):
        raise ValueError(
            f"{owner} {what} must be a positive integer or a pair of them (each at most {_validate.MAX_INT}), "
            f"got {value!r:.80}."
        )
    return int(items[0]), int(items[1])


def padding_mode(padding, owner: str) -> str:
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"{owner} padding must be 'valid' or 'same', got {padding!r}.")
    return mode


def check_image_shape(layer, shape, what="inputs") -> None:
    """``shape`` is an input's shape *without* the batch dimension; it must be (H, W, C),
    with the channel count the layer was built for."""
    from . import _layout

    shape = tuple(shape)
    expected_c = _layout.channels(layer)
    if len(shape) != 3 or (expected_c is not None and shape[-1] != expected_c):
        first = getattr(layer, "data_format", "channels_last") == "channels_first"
        c = "C" if expected_c is None else expected_c
        want = f"(N, {c}, H, W)" if first else f"(N, H, W, {c})"
        # ``shape`` is channels last here (a channels-first layer moved its channels already).
        shown = _layout.shape_to_first(shape) if first and len(shape) == 3 else shape
        got = "(N, " + ", ".join(str(s) for s in shown) + ")"
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} expects {what} of shape {want} "
            f"({'channels first' if first else 'channels last'}), got {got}."
        )


def output_size(size: int, window: int, stride: int, padding: str):
    """``(out, pad_before, pad_after)`` along one axis for an effective window ``window``.

    valid: ``out = floor((size - window) / stride) + 1``, no padding.
    same (TensorFlow): ``out = ceil(size / stride)``; the padding
    ``max((out - 1) * stride + window - size, 0)`` is split with the extra one after
    (bottom / right).
    Returns ``None`` when the window does not fit a valid-padded input.
    """
    if padding == "valid":
        if window > size:
            return None
        return (size - window) // stride + 1, 0, 0
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


def _fields(window, dilation, what: str) -> str:
    """The config fields that set a window's span, as a message names them."""
    if what == "pool":
        return f"pool_size {window[0]}x{window[1]}"
    return f"kernel_size {window[0]}x{window[1]}, dilation_rate {dilation[0]}x{dilation[1]}"


def plan(layer, shape, window, strides, dilation, padding, what: str):
    """Output size and padding for an input of shape (H, W, C), or a ValueError naming the
    fields at fault when the ``what`` (kernel / pool) does not suit the input:

    * ``padding="valid"``: the window must fit in the input;
    * ``padding="same"``: along each axis a dilated kernel may reach at most twice the
      input's size beyond its undilated size (``(k - 1) * d + 1 <= k + 2 * size``), and a
      pool window at most ``2 * size + 1``. Beyond that the extra taps see only padding
      (a pool's window already covers the whole input from every position), yet the
      padded copy of the input would grow without bound: a dilation of 2500 on a 28x28
      input would pad each image to 5028x5028 pixels.
    """
    check_image_shape(layer, shape)
    effective = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    name = f"{type(layer).__name__} {layer.name!r}"
    if padding == "same":
        limits = [(2 * s + 1) if what == "pool" else (k + 2 * s) for k, s in zip(window, shape[:2])]
        if any(e > limit for e, limit in zip(effective, limits)):
            raise ValueError(
                f"{name}: with padding='same' the {what} spans {effective[0]}x{effective[1]} pixels "
                f"({_fields(window, dilation, what)}), more than the input of {shape[0]}x{shape[1]} allows "
                f"(at most {limits[0]}x{limits[1]}): the extra taps would see only padding. Use a smaller "
                f"{'pool_size' if what == 'pool' else 'dilation_rate'}."
            )
    rows = output_size(shape[0], effective[0], strides[0], padding)
    cols = output_size(shape[1], effective[1], strides[1], padding)
    if rows is None or cols is None:
        raise ValueError(
            f"{name}: the {what} spans {effective[0]}x{effective[1]} pixels "
            f"({_fields(window, dilation, what)}) but the input is only {shape[0]}x{shape[1]} with padding='valid'. Use padding='same', "
            f"a smaller {what}, or a larger input."
        )
    return rows, cols


def pad(x: np.ndarray, rows, cols, value=0.0) -> np.ndarray:
    """Pad an (N, H, W, C) array by the (out, before, after) triples of ``plan``."""
    if rows[1] == rows[2] == cols[1] == cols[2] == 0:
        return x
    return np.pad(x, ((0, 0), rows[1:], cols[1:], (0, 0)), constant_values=value)


def windows(xp: np.ndarray, window, strides, dilation, out_hw) -> np.ndarray:
    """im2col as a view: ``(N, Hp, Wp, C)`` -> ``(N, out_h, out_w, kh, kw, C)`` where
    ``view[n, i, j, a, b, c] = xp[n, i * sh + a * dh, j * sw + b * dw, c]``. No copy."""
    n, _, _, c = xp.shape
    sn, sh, sw, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp,
        shape=(n, out_hw[0], out_hw[1], window[0], window[1], c),
        strides=(sn, sh * strides[0], sw * strides[1], sh * dilation[0], sw * dilation[1], sc),
        writeable=False,
    )


def im2col(xp: np.ndarray, window, strides, dilation, out_hw, out=None) -> np.ndarray:
    """The windows of ``xp (N, Hp, Wp, C)`` as one contiguous matrix
    ``(N * out_h * out_w, kh * kw * C)``, row ``(n, i, j)`` holding the window at ``(i, j)``
    in ``(a, b, c)`` order (the layout of a ``(kh, kw, C, filters)`` kernel). Written into
    ``out`` when given: an array of that shape whose rows may be strided (e.g. the first
    columns of a wider matrix) but whose columns are contiguous.

    One copy of the strided view; with a single channel, one copy per kernel position
    instead, whose inner runs are whole output rows rather than single pixels (numpy
    copies a view with a size-1 last axis element by element, about 4x slower).
    """
    n, c = xp.shape[0], xp.shape[3]
    (kh, kw), (oh, ow) = window, out_hw
    if out is None:
        out = np.empty((n * oh * ow, kh * kw * c), dtype=xp.dtype)
    blocks = out.reshape(n, oh, ow, kh, kw, c)  # splits each axis: a view, so writes reach out
    if c == 1:
        for a in range(kh):
            for b in range(kw):
                blocks[:, :, :, a, b, :] = shifted(xp, a, b, strides, dilation, out_hw)
    else:
        np.copyto(blocks, windows(xp, window, strides, dilation, out_hw))
    return out


def shifted(xp: np.ndarray, a: int, b: int, strides, dilation, out_hw) -> np.ndarray:
    """The pixels that kernel position ``(a, b)`` sees in every window, as an
    ``(N, out_h, out_w, C)`` view: ``xp[n, i * sh + a * dh, j * sw + b * dw, c]``."""
    r, s = a * dilation[0], b * dilation[1]
    return xp[:, r : r + (out_hw[0] - 1) * strides[0] + 1 : strides[0], s : s + (out_hw[1] - 1) * strides[1] + 1 : strides[1]]


def covers_once(padded_hw, window, strides, dilation, out_hw) -> bool:
    """Whether every pixel of the padded input lies in exactly one window (windows tile
    it: no overlap, no gap), so an adjoint can assign instead of zero-fill-and-add."""
    return all(
        d == 1 and s == k and o * s == size
        for size, k, s, d, o in zip(padded_hw, window, strides, dilation, out_hw)
    )


def col2im(parts: np.ndarray, padded_shape, strides, dilation, out=None) -> np.ndarray:
    """The adjoint of ``im2col``: sum ``parts (kh, kw, N, out_h, out_w, C)``, where
    ``parts[a, b]`` is the gradient reaching the pixels kernel position ``(a, b)`` sees,
    back into an array of ``padded_shape``. One strided add per kernel position (an
    assignment, and no zero fill, when the windows tile the input exactly).

    Kernel-position-major ``parts`` (a stacked product ``d @ kernel[a, b].T``) makes each
    add run over whole contiguous output rows; the window-major layout of ``im2col``'s
    matrix would make numpy add runs of only C values (about 1.7x slower). Written into
    ``out`` (an array of ``padded_shape``) when given.
    """
    kh, kw, n, oh, ow, c = parts.shape
    once = covers_once(padded_shape[1:3], (kh, kw), strides, dilation, (oh, ow))
    if out is None:
        dxp = (np.empty if once else np.zeros)(padded_shape, dtype=parts.dtype)
    else:
        dxp = out
        if not once:
            dxp.fill(0)
    for a in range(kh):
        for b in range(kw):
            target = shifted(dxp, a, b, strides, dilation, (oh, ow))
            if once:
                target[...] = parts[a, b]
            else:
                target += parts[a, b]
    return dxp


def crop(dxp: np.ndarray, rows, cols) -> np.ndarray:
    """Undo ``pad``: drop the padded border of a gradient."""
    h, w = dxp.shape[1] - rows[1] - rows[2], dxp.shape[2] - cols[1] - cols[2]
    return dxp[:, rows[1] : rows[1] + h, cols[1] : cols[1] + w]
