"""MultiHeadAttention's scaled dot-product core, in batch chunks, with the scores key-major.

Shapes: ``q (B, H, Tq, d)`` (already multiplied by ``1 / sqrt(d)``), ``k (B, H, Tk, d)``,
``v (B, H, Tk, dv)``; ``allowed (B, Tq, Tk)`` boolean or None; ``drop (B, H, Tq, Tk)``
inverted-dropout factors or None.

Forward: ``S = q k^T``, ``P = softmax over the keys of S`` (``-1e9`` where not allowed),
``O = (P * drop) V``. Backward, from ``dO``: ``dP = dO V^T (* drop)``,
``dS = P (dP - sum_keys(dP P))``, ``dq = dS k``, ``dk = dS^T q``, ``dv = (P * drop)^T dO``.

Why the layout. The probabilities are stored as ``(B, Tk, H, Tq)``: for one sample, the key
axis is the outer one, so the softmax's maximum and sum over the keys are elementwise
maxima / sums of ``Tk`` contiguous rows of ``H * Tq`` values, which NumPy vectorises, where
a reduction over a short last axis of 64 values runs about 5x slower per element (measured:
0.57 against 3.4 ms for the maximum over 4.2 million scores). Every product reads or writes
the layout through strides BLAS takes (``P`` as a ``(Tq, Tk)`` matrix is the transpose of
a row-major block). Why the chunks: the scores of a whole batch are the layer's largest
array (16 MB for 256 sequences of 64 with 4 heads in float32); taken ``CHUNK_ELEMENTS`` at a
time, every pass over them stays in the core's cache. Each sample is computed on its own,
so chunking changes no value.
"""

from __future__ import annotations

import numpy as np

LARGE_NEGATIVE = 1e9

# Scores per chunk: 64 Ki values (256 KB in float32) fit in a core's L2 cache with room for
# the chunk's queries, keys and values.
CHUNK_ELEMENTS = 1 << 16


def chunk_size(batch: int, per_sample: int) -> int:
    """Samples per chunk: ``CHUNK_ELEMENTS`` scores, at least one sample, at most the batch."""
    return max(1, min(batch, CHUNK_ELEMENTS // max(1, per_sample)))


def chunks(batch: int, size: int):
    """``(lo, hi)`` ranges of ``size`` samples covering ``range(batch)``."""
    return [(lo, min(lo + size, batch)) for lo in range(0, batch, size)]


def key_major(array):
    """A ``(B, H, Tq, Tk)`` array as the ``(B, Tk, H, Tq)`` view this module works in."""
    return array.transpose(0, 3, 1, 2)


def as_scores(p_km):
    """The ``(B, H, Tq, Tk)`` view of key-major probabilities (Keras's score layout)."""
    return p_km.transpose(0, 2, 3, 1)


def forward(q, k, v, allowed, drop):
    """``(O (B, Tq, H, dv), P (B, Tk, H, Tq))``: the attention output and the probabilities."""
    b, h, tq, _ = q.shape
    tk, dv = k.shape[2], v.shape[3]
    dtype = np.result_type(q.dtype, k.dtype, v.dtype)
    p = np.empty((b, tk, h, tq), dtype=dtype)
    out = np.empty((b, tq, h, dv), dtype=dtype)
    q_t = q.transpose(0, 1, 3, 2)
    refused = None if allowed is None else ~allowed.transpose(0, 2, 1)[:, :, None, :]  # (B, Tk, 1, Tq)
    drop_km = None if drop is None else key_major(drop)
    size = chunk_size(b, h * tq * tk)
    maxima = np.empty((size, 1, h, tq), dtype=dtype)
    for lo, hi in chunks(b, size):
        s = p[lo:hi]  # (n, Tk, H, Tq), contiguous
        np.matmul(k[lo:hi], q_t[lo:hi], out=s.transpose(0, 2, 1, 3))  # S^T per sample and head
        if refused is not None:
            np.copyto(s, -LARGE_NEGATIVE, where=refused[lo:hi])
        m = maxima[: hi - lo]
        np.max(s, axis=1, keepdims=True, out=m)
        s -= m
        np.exp(s, out=s)
        np.add.reduce(s, axis=1, keepdims=True, out=m)
        s *= np.reciprocal(m, out=m)  # one division per (query, head)
        weights = s if drop_km is None else s * drop_km[lo:hi]
        np.matmul(weights.transpose(0, 2, 3, 1), v[lo:hi], out=out[lo:hi].transpose(0, 2, 1, 3))
    return out, p


def backward(q, k, v, p, allowed, drop, d_out, d_scores=None):
    """``(dq, dk, dv)``, each like its input, from ``d_out = dL/dO (B, H, Tq, dv)`` and, when
    the layer returned its scores, ``d_scores = dL/dP (B, H, Tq, Tk)``. ``p`` is ``forward``'s."""
    b, h, tq, _ = q.shape
    tk = k.shape[2]
    dtype = p.dtype
    dq, dk, dv = np.empty(q.shape, dtype), np.empty(k.shape, dtype), np.empty(v.shape, dtype)
    refused = None if allowed is None else ~allowed.transpose(0, 2, 1)[:, :, None, :]
    drop_km = None if drop is None else key_major(drop)
    scores_km = None if d_scores is None else key_major(d_scores)
    size = chunk_size(b, h * tq * tk)
    ds, products = np.empty((size, tk, h, tq), dtype=dtype), np.empty((size, tk, h, tq), dtype=dtype)
    sums = np.empty((size, 1, h, tq), dtype=dtype)
    for lo, hi in chunks(b, size):
        n = hi - lo
        pc, d = p[lo:hi], ds[:n]
        weights = pc if drop_km is None else pc * drop_km[lo:hi]
        np.matmul(weights.transpose(0, 2, 1, 3), d_out[lo:hi], out=dv[lo:hi])  # (P*drop)^T dO
        np.matmul(v[lo:hi], d_out[lo:hi].transpose(0, 1, 3, 2), out=d.transpose(0, 2, 1, 3))  # dP^T
        if drop_km is not None:
            d *= drop_km[lo:hi]
        if scores_km is not None:
            d += scores_km[lo:hi]
        s = sums[:n]
        np.add.reduce(np.multiply(d, pc, out=products[:n]), axis=1, keepdims=True, out=s)
        d -= s
        d *= pc  # dS, key-major
        if refused is not None:
            np.copyto(d, 0, where=refused[lo:hi])
        d_t = d.transpose(0, 2, 1, 3)  # (n, H, Tk, Tq): dS^T per sample and head
        np.matmul(d_t.transpose(0, 1, 3, 2), k[lo:hi], out=dq[lo:hi])
        np.matmul(d_t, q[lo:hi], out=dk[lo:hi])
    return dq, dk, dv

