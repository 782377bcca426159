"""Composite computations written with numnet.ops against PyTorch autograd (float64).

The fixture comes from tests/fixtures/make_ops_reference.py, which computes the same
losses with torch; each case here rebuilds its loss with numnet.ops and must match the
loss and every gradient to float64 rounding.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import numnet
from numnet import ops

REF = np.load(Path(__file__).parent / "fixtures" / "ops_reference.npz", allow_pickle=False)


def mlp(x, w1, b1, w2, b2, labels):
    logits = ops.relu(x @ w1 + b1) @ w2 + b2
    picked = ops.take_along_axis(ops.log_softmax(logits, axis=-1), ops.expand_dims(labels, -1), axis=-1)
    return -ops.mean(picked)


def softmax_family(x, p, q, r):
    return (ops.sum(ops.softmax(x, axis=1) * p) + ops.sum(ops.logsumexp(x, axis=0) * q)
            + ops.sum(ops.log_softmax(x, axis=-1) * r))


def layernorm(x, gamma, beta, w):
    mu = ops.mean(x, axis=-1, keepdims=True)
    normed = (x - mu) / ops.sqrt(ops.var(x, axis=-1, keepdims=True) + 1e-5)
    return ops.sum((normed * gamma + beta) * w)


def attention(q, k, v, w):
    d = q.shape[-1]
    scores = ops.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(d)
    scores = scores + ops.triu(ops.full((4, 4), -1e9, dtype="float64"), k=1)
    return ops.sum(ops.einsum("bhqk,bhkd->bhqd", ops.softmax(scores, axis=-1), v) * w)


def gelu(x, p, q):
    return ops.sum(ops.gelu(x, approximate=False) * p) + ops.sum(ops.gelu(x) * q)


def norms(x, p):
    return (ops.sum(ops.norm(x, axis=-1) * p) + ops.sum(ops.norm(x, ord=3, axis=0))
            + ops.norm(x, ord="fro", axis=(0, 1)) + ops.norm(x, ord="nuc", axis=(0, 1)))


def assorted(x, y, idx):
    return (
        ops.sum(ops.silu(x))
        + ops.mean(ops.softplus(x))
        + ops.std(ops.elu(x))
        + ops.var(ops.clip(x, -0.5, 0.5))
        + ops.sum(ops.maximum(x, y - 1))
        + ops.sum(ops.prod(ops.tanh(x) + 1.5, axis=1))
        + ops.sum(ops.log(y) * ops.sqrt(y) / ops.expm1(y))
        + ops.sum(ops.take_along_axis(x, ops.expand_dims(idx, 1), axis=1))
        + ops.sum(x[x > 0] ** 2)
        + ops.sum(ops.sigmoid(x)[:, 1:] ** y[:, 1:])
    )


def crossentropy(logits, soft, probs, bin_logits, bin_target, bin_probs, seq_logits, w, w3, labels, seq_labels):
    return (
        ops.sum(ops.binary_crossentropy(bin_target, bin_logits, from_logits=True) * w3)
        + ops.sum(ops.binary_crossentropy(bin_target, bin_probs) * w3)
        + ops.sum(ops.categorical_crossentropy(soft, logits, from_logits=True) * w)
        + ops.sum(ops.categorical_crossentropy(soft, probs) * w)
        + ops.sum(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True) * w)
        + ops.sum(ops.sparse_categorical_crossentropy(labels, probs) * w)
        + ops.sum(ops.sparse_categorical_crossentropy(seq_labels, seq_logits, from_logits=True, axis=1))
    )


CASES = {
    "crossentropy": (crossentropy, ["logits", "soft", "probs", "bin_logits", "bin_target", "bin_probs", "seq_logits",
                                    "w", "w3", "labels", "seq_labels"]),
    "mlp": (mlp, ["x", "w1", "b1", "w2", "b2", "labels"]),
    "softmax_family": (softmax_family, ["x", "p", "q", "r"]),
    "layernorm": (layernorm, ["x", "gamma", "beta", "w"]),
    "attention": (attention, ["q", "k", "v", "w"]),
    "gelu": (gelu, ["x", "p", "q"]),
    "norms": (norms, ["x", "p"]),
    "assorted": (assorted, ["x", "y", "idx"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_autograd(name):
    fn, keys = CASES[name]
    inputs = [ops.convert_to_tensor(REF[f"{name}_{k}"]) for k in keys]
    floats = [t for t in inputs if t.dtype == np.float64]
    with numnet.GradientTape() as tape:
        tape.watch(floats)
        loss = fn(*inputs)
    grads = tape.gradient(loss, inputs)
    np.testing.assert_allclose(loss.numpy(), REF[f"{name}_loss"], rtol=1e-12)
    for key, t, g in zip(keys, inputs, grads):
        if t.dtype == np.float64:
            np.testing.assert_allclose(g.numpy(), REF[f"{name}_grad_{key}"], rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            assert g is None  # integer labels / indices carry no gradient
