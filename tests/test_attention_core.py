"""MultiHeadAttention's chunked, key-major core (numnet/layers/_attention_core.py): the
chunks change no value, and the core equals the textbook formula in the usual layout."""

import numpy as np
import pytest

import numnet
from numnet.layers import _attention_core as core

B, H, TQ, TK, D, DV = 5, 2, 4, 6, 3, 2


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((B, H, TQ, D))
    k = rng.standard_normal((B, H, TK, D))
    v = rng.standard_normal((B, H, TK, DV))
    allowed = rng.random((B, TQ, TK)) < 0.7
    allowed[0, 1] = False  # a query with no allowed key: uniform weights, as in Keras
    drop = (rng.random((B, H, TQ, TK)) >= 0.25) / 0.75
    d_out = rng.standard_normal((B, H, TQ, DV))
    d_scores = rng.standard_normal((B, H, TQ, TK))
    return q, k, v, allowed, drop, d_out, d_scores


def _textbook(q, k, v, allowed, drop, d_out, d_scores):
    """The same attention in the (B, H, Tq, Tk) layout, unchunked."""
    s = q @ k.transpose(0, 1, 3, 2)
    s = np.where(allowed[:, None], s, -core.LARGE_NEGATIVE)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = (p * drop) @ v
    dp = d_out @ v.transpose(0, 1, 3, 2) * drop + d_scores
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    ds = np.where(allowed[:, None], ds, 0.0)
    return out, p, ds @ k, ds.transpose(0, 1, 3, 2) @ q, (p * drop).transpose(0, 1, 3, 2) @ d_out


@pytest.mark.parametrize("chunk_samples", [1, 2, 3, B, 100])
def test_core_equals_the_textbook_formula_for_every_chunk_size(monkeypatch, chunk_samples):
    q, k, v, allowed, drop, d_out, d_scores = _inputs()
    monkeypatch.setattr(core, "CHUNK_ELEMENTS", chunk_samples * H * TQ * TK)
    assert core.chunk_size(B, H * TQ * TK) == min(chunk_samples, B)
    out, p = core.forward(q, k, v, allowed, drop)
    dq, dk, dv = core.backward(q, k, v, p, allowed, drop, d_out, d_scores)
    want_out, want_p, want_dq, want_dk, want_dv = _textbook(q, k, v, allowed, drop, d_out, d_scores)
    np.testing.assert_allclose(out.transpose(0, 2, 1, 3), want_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(core.as_scores(p), want_p, rtol=0, atol=1e-15)
    np.testing.assert_allclose(core.as_scores(p)[0, :, 1], 1 / TK, rtol=0, atol=1e-15)  # the refused row
    for got, want in ((dq, want_dq), (dk, want_dk), (dv, want_dv)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)


def test_core_without_mask_dropout_or_score_error(monkeypatch):
    q, k, v, _, _, d_out, _ = _inputs(1)
    monkeypatch.setattr(core, "CHUNK_ELEMENTS", 2 * H * TQ * TK)
    out, p = core.forward(q, k, v, None, None)
    dq, dk, dv = core.backward(q, k, v, p, None, None, d_out)
    ones = np.ones((B, TQ, TK), dtype=bool)
    want = _textbook(q, k, v, ones, np.ones((B, H, TQ, TK)), d_out, np.zeros((B, H, TQ, TK)))
    for got, expected in zip((out.transpose(0, 2, 1, 3), core.as_scores(p), dq, dk, dv), want):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)


def test_layer_outputs_and_gradients_do_not_depend_on_the_chunks(monkeypatch):
    """The whole layer (masks, causal mask, dropout, returned scores) with one sample per
    chunk against one chunk for the batch: equal to the last bit of float64 arithmetic."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, TK, 8))
    y = rng.standard_normal((B, TK, 6))
    mask = np.ones((B, TK), dtype=bool)
    mask[1, 4:] = False

    def run(chunk_elements):
        monkeypatch.setattr(core, "CHUNK_ELEMENTS", chunk_elements)
        layer = numnet.layers.MultiHeadAttention(num_heads=H, key_dim=D, dropout=0.3, seed=7, dtype="float64")
        out, scores = layer.forward([x, y], training=True, mask=[mask, mask], use_causal_mask=True,
                                    return_attention_scores=True)
        errors = layer.backward([np.ones_like(out), np.full_like(scores, 0.5)])
        return out, scores, errors, {k: g.copy() for k, g in layer.grads.items()}

    one = run(1)
    whole = run(1 << 30)
    np.testing.assert_allclose(one[0], whole[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(one[1], whole[1], rtol=0, atol=1e-15)
    assert one[1].shape == (B, H, TK, TK) and one[1].flags.c_contiguous
    for a, b in zip(one[2], whole[2]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert one[3].keys() == whole[3].keys()
    for key in one[3]:
        np.testing.assert_allclose(one[3][key], whole[3][key], rtol=0, atol=1e-12)
