"""Grouped 2-D convolution by im2col, shared by ``Conv2D(groups=...)``,
``DepthwiseConv2D`` and ``SeparableConv2D`` (channels last).

With ``G`` groups the ``C`` input channels and ``F`` filters split into ``G`` contiguous
blocks of ``Cg = C / G`` and ``Fg = F / G``; filter block ``g`` sees only channel block
``g`` (Keras's, TensorFlow's and PyTorch's convention). The kernel is
``(kh, kw, Cg, F)``:

``z[n, i, j, g*Fg + f] = sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * kernel[a, b, c, g*Fg + f]``

A depthwise convolution with multiplier ``m`` is the case ``G = C``, ``F = C * m``: its
``(kh, kw, C, m)`` kernel reshaped to ``(kh, kw, 1, C * m)`` puts output ``c * m + k``
in group ``c``, as Keras orders a depthwise output.

The im2col matrix is built per group, ``cols (G, M, kh*kw*Cg)`` with ``M = N*oh*ow``
rows in ``(a, b, c)`` order, and one batched product per pass gives ``z``, the kernel
gradient and the windows' gradient (summed back by ``_spatial.col2im``).
"""

from __future__ import annotations

import numpy as np

from . import _spatial


def im2col(xp, window, strides, dilation, out_hw, groups: int) -> np.ndarray:
    """``(G, N*oh*ow, kh*kw*Cg)``: the windows of ``xp (N, Hp, Wp, C)`` per channel group."""
    n, c = xp.shape[0], xp.shape[3]
    view = _spatial.windows(xp, window, strides, dilation, out_hw)  # (n, oh, ow, kh, kw, c)
    view = view.reshape(*view.shape[:5], groups, c // groups)  # splitting an axis: still a view
    cols = np.ascontiguousarray(view.transpose(5, 0, 1, 2, 3, 4, 6))
    return cols.reshape(groups, n * out_hw[0] * out_hw[1], -1)


def _group_kernel(kernel, groups: int) -> np.ndarray:
    """``(kh, kw, Cg, F)`` -> ``(G, kh*kw*Cg, Fg)``."""
    kh, kw, cg, f = kernel.shape
    return kernel.reshape(kh * kw * cg, groups, f // groups).transpose(1, 0, 2)


def product(cols, kernel, bias=None) -> np.ndarray:
    """``z (M, F)`` from ``cols (G, M, K)`` and ``kernel (kh, kw, Cg, F)``: one batched
    product ``(G, M, K) @ (G, K, Fg)``, then the groups side by side."""
    groups, m = cols.shape[:2]
    z = np.matmul(cols, _group_kernel(kernel, groups))  # (G, M, Fg)
    z = z.transpose(1, 0, 2).reshape(m, -1)
    if bias is not None:
        z += bias
    return z


def kernel_gradient(cols, d, kernel_shape) -> np.ndarray:
    """``dL/dkernel (kh, kw, Cg, F)`` for ``d = dL/dz (M, F)``: ``cols_g^T d_g`` per group."""
    groups, m = cols.shape[:2]
    dg = d.reshape(m, groups, -1).transpose(1, 0, 2)  # (G, M, Fg)
    grad = np.matmul(cols.transpose(0, 2, 1), dg)  # (G, K, Fg)
    return np.ascontiguousarray(grad.transpose(1, 0, 2)).reshape(kernel_shape)


def input_error(d, kernel, padded_shape, strides, dilation, out_hw) -> np.ndarray:
    """``dL/dxp`` for ``d = dL/dz (M, F)``: ``d_g @ kernel_g^T`` gives each window's
    gradient per group; col2im adds them back into the padded input's shape."""
    kh, kw, cg, f = kernel.shape
    n, c = padded_shape[0], padded_shape[3]
    groups = c // cg
    m = d.shape[0]
    dg = d.reshape(m, groups, -1).transpose(1, 0, 2)  # (G, M, Fg)
    dcols = np.matmul(dg, _group_kernel(kernel, groups).transpose(0, 2, 1))  # (G, M, kh*kw*Cg)
    parts = dcols.reshape(groups, n, out_hw[0], out_hw[1], kh, kw, cg)
    parts = np.ascontiguousarray(parts.transpose(4, 5, 1, 2, 3, 0, 6)).reshape(kh, kw, n, *out_hw, c)
    return _spatial.col2im(parts, padded_shape, strides, dilation)
