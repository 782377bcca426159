"""MultiHeadAttention's query / key / value projections of one tensor in one product.

Self-attention (``mha([x, x])``: the query, value and key are the same array) projects
``x (B, T, E)`` three times. Here the three kernels are laid side by side,
``W = [Wq | Wk | Wv]`` of shape ``(E, H*dk + H*dk + H*dv)``, so the forward is one product
``x W + [bq | bk | bv]`` and the backward two: ``dL/dW = x^T [dQ | dK | dV]`` (all three
weight gradients, split afterwards) and the input errors ``[dQ | dK | dV] W^T``, split as
the query's part and the value's plus key's part (what ``backward`` returns for two inputs).
Fewer, wider products than three separate ones: each column block is the same sum of
``E`` terms as before.
"""

from __future__ import annotations

import numpy as np

PREFIXES = ("query", "key", "value")


def _widths(layer):
    h = layer.num_heads
    return [h * layer.key_dim, h * layer.key_dim, h * layer.value_dim]


def _stacked_kernel(layer):
    kernels = [layer.params[f"{p}_kernel"] for p in PREFIXES]
    return np.concatenate([k.reshape(k.shape[0], -1) for k in kernels], axis=1)


def project_all(layer, x, scale: float):
    """``(q * scale, k, v)``, each ``(B, H, T, width)``, from one product of ``x (B, T, E)``."""
    b, t, e = x.shape
    flat = x.reshape(b * t, e) @ _stacked_kernel(layer)
    if layer.use_bias:
        flat += np.concatenate([layer.params[f"{p}_bias"].reshape(-1) for p in PREFIXES])
    out, start = [], 0
    for width in _widths(layer):
        block = flat[:, start : start + width].reshape(b, t, layer.num_heads, -1).transpose(0, 2, 1, 3)
        out.append(block)
        start += width
    # As the separate projection: (x Wq + bq) * scale. Not folded into Wq: the product also
    # makes q a compact array, which the core's backward reads faster than a view of `flat`
    # (folded: MultiHeadAttention forward + backward at batch 32 about 5 % slower, 8 of 8 pairs).
    out[0] = out[0] * scale
    return out


def project_all_backward(layer, x, dq, dk, dv):
    """Weight gradients of the three projections (into ``layer.grads``) and the input errors
    ``(query part, value part + key part)`` from ``dQ, dK, dV (B, H, T, width)``."""
    b, t, e = x.shape
    widths = _widths(layer)
    d = np.empty((b * t, sum(widths)), dtype=np.result_type(dq.dtype, x.dtype))
    d3 = d.reshape(b, t, -1)
    start = 0
    for part, width in zip((dq, dk, dv), widths):  # (B, H, T, w) -> columns of (B*T, H*w)
        np.copyto(d3[:, :, start : start + width].reshape(b, t, layer.num_heads, -1), part.transpose(0, 2, 1, 3))
        start += width
    x2 = x.reshape(b * t, e)
    grad = x2.T @ d
    sums = np.ones(len(d), dtype=d.dtype) @ d if layer.use_bias else None
    start = 0
    for prefix, width in zip(PREFIXES, widths):
        kernel = layer.params[f"{prefix}_kernel"]
        layer.grads[f"{prefix}_kernel"] = np.ascontiguousarray(grad[:, start : start + width]).reshape(kernel.shape)
        if sums is not None:
            layer.grads[f"{prefix}_bias"] = sums[start : start + width].reshape(kernel.shape[1:])
        start += width
    kernel = _stacked_kernel(layer)
    q_width = widths[0]
    d_query = (d[:, :q_width] @ kernel[:, :q_width].T).reshape(x.shape)
    d_rest = (d[:, q_width:] @ kernel[:, q_width:].T).reshape(x.shape)
    return d_query, d_rest
