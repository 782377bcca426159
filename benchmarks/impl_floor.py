"""The "GEMM floor": only the matrix products one training step needs, with numpy on
preallocated float32 arrays (``np.matmul(..., out=...)``): forward ``x @ W`` per layer,
backward ``dW = x^T g`` and ``dX = g W^T`` (no ``dX`` for the first layer); for a
convolution the same three products on the im2col matrix ``(n*oh*ow, kh*kw*c_in)`` (the
im2col gather itself is not counted). No bias, activation, loss or optimizer: it is the
BLAS cost any numpy implementation must pay, so numnet/floor is numnet's overhead factor."""

from __future__ import annotations

import numpy as np

from common import CNN_TRAIN_BATCH, MLP_BATCH, N_CLASSES, PREDICT_BATCH, SEED, Data, Job, mlp_sizes

NAME = "floor"


def version() -> dict:
    return {}


def _batch_sizes(n: int, batch_size: int) -> list[int]:
    sizes = [batch_size] * (n // batch_size)
    if n % batch_size:
        sizes.append(n % batch_size)
    return sizes


def floor_job(gemms, n: int, batch_size: int, train: bool) -> Job:
    """``gemms`` lists the layers as (rows_per_sample, k, m, first): a product
    ``(b*rows, k) @ (k, m)``; training adds ``dW = A^T G`` and, unless ``first``,
    ``dA = G W^T``."""
    sizes = _batch_sizes(n, batch_size)
    rng = np.random.default_rng(SEED)

    def setup():
        buffers = []
        for rows, k, m, first in gemms:
            big = batch_size * rows
            a = rng.random((big, k), dtype=np.float32)
            w = rng.random((k, m), dtype=np.float32) - 0.5
            z = np.empty((big, m), dtype=np.float32)
            g = rng.random((big, m), dtype=np.float32) - 0.5
            dw = np.empty((k, m), dtype=np.float32)
            da = None if first else np.empty((big, k), dtype=np.float32)
            buffers.append((rows, a, w, z, g, dw, da))
        return buffers

    def run(buffers):
        matmul = np.matmul
        for b in sizes:
            views = [(a[: b * rows], w, z[: b * rows], g[: b * rows], dw, None if da is None else da[: b * rows])
                     for rows, a, w, z, g, dw, da in buffers]
            for a, w, z, _, _, _ in views:
                matmul(a, w, out=z)
            if train:
                for a, w, _, g, dw, da in reversed(views):
                    matmul(a.T, g, out=dw)
                    if da is not None:
                        matmul(g, w.T, out=da)
        return None

    return Job(setup, run)


def mlp_gemms(sizes):
    return [(1, sizes[i], sizes[i + 1], i == 0) for i in range(len(sizes) - 1)]


CNN_GEMMS = [
    (26 * 26, 3 * 3 * 1, 32, True),     # conv1 on the im2col matrix
    (11 * 11, 3 * 3 * 32, 64, False),   # conv2
    (1, 5 * 5 * 64, 128, False),        # dense
    (1, 128, N_CLASSES, False),         # dense (output)
]


def jobs(case: str, data: Data) -> dict[str, Job]:
    n = len(data.x)
    if case in "abd":
        return {case: floor_job(mlp_gemms(mlp_sizes(case)), n, MLP_BATCH[case], train=True)}
    if case == "c":
        return {"c": floor_job(mlp_gemms(mlp_sizes("c")), n, PREDICT_BATCH, train=False)}
    if case == "e":
        nc = data.cnn_samples
        return {"e-train": floor_job(CNN_GEMMS, nc, CNN_TRAIN_BATCH, train=True),
                "e-predict": floor_job(CNN_GEMMS, nc, PREDICT_BATCH, train=False)}
    return {}
