"""MultiHeadAttention and Attention: PyTorch parity (fixtures) with and without causal
and explicit masks, gradient checks, masks, errors, configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import numnet
from numnet.layers import Attention, MultiHeadAttention
from numnet.saving import _builtin_layers
from seq_helpers import numeric_check

REF = np.load(Path(__file__).parent / "fixtures" / "sequence_reference.npz", allow_pickle=False)
MHA_CASES = sorted({k.split("_")[0] for k in REF.files if k.startswith("mha")})
WEIGHTS = ["query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias",
           "output_kernel", "output_bias"]


def case(name):
    return {k[len(name) + 1 :]: REF[k] for k in REF.files if k.startswith(name + "_")}


@pytest.mark.parametrize("name", MHA_CASES)
def test_multi_head_attention_matches_pytorch(name):
    r = case(name)
    heads, key_dim, value_dim, out, three, causal, explicit = (int(v) for v in r["config"])
    layer = MultiHeadAttention(heads, key_dim, value_dim=value_dim, output_shape=out or None, dtype=np.float64)
    inputs = [r["query"], r["value"]] + ([r["key"]] if three else [])
    layer.build_for([a.shape[1:] for a in inputs])
    assert list(layer.params) == WEIGHTS
    layer.set_weights([r[k] for k in WEIGHTS])
    y = layer.forward(inputs, attention_mask=r["mask"] if explicit else None, use_causal_mask=bool(causal))
    np.testing.assert_allclose(y, r["y"], rtol=1e-10, atol=1e-12)
    errors = layer.backward(r["g"])
    np.testing.assert_allclose(errors[0], r["dquery"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(errors[1], r["dvalue"], rtol=1e-9, atol=1e-11)
    if three:
        np.testing.assert_allclose(errors[2], r["dkey"], rtol=1e-9, atol=1e-11)
    for k in WEIGHTS:
        np.testing.assert_allclose(layer.grads[k], r[f"d{k}"], rtol=1e-9, atol=1e-11, err_msg=k)


def test_attention_matches_pytorch_with_query_and_value_masks():
    r = case("attention")
    layer = Attention(use_scale=True, dtype=np.float64)
    layer.build_for([(4, 3), (5, 3)])
    layer.set_weights([r["scale"]])
    mask = [r["query_mask"], r["value_mask"]]
    y = layer.forward([r["query"], r["value"]], mask=mask)
    np.testing.assert_allclose(y, r["y"], rtol=1e-10, atol=1e-12)
    dq, dv = layer.backward(r["g"])
    np.testing.assert_allclose(dq, r["dquery"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(dv, r["dvalue"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.grads["scale"], r["dscale"], rtol=1e-9)
    np.testing.assert_array_equal(layer.compute_mask(mask), r["query_mask"])


def _mha_inputs(rng, three):
    arrays = [rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 3, 6))]
    if three:
        arrays.append(rng.standard_normal((2, 3, 2)))
    return arrays


@pytest.mark.parametrize(
    "kwargs, call",
    [
        ({}, {}),
        ({"value_dim": 3, "output_shape": 4, "use_bias": False}, {}),
        ({}, {"use_causal_mask": True}),
        ({"dropout": 0.3}, {"training": True}),
        ({}, {"attention_mask": np.array([[[1, 0, 1]] * 4, [[0, 1, 1]] * 4], dtype=bool)}),
        ({}, {"mask": [np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool), np.array([[1, 1, 0], [1, 0, 1]], bool)]}),
    ],
)
@pytest.mark.parametrize("three", [False, True])
def test_multi_head_attention_gradient_check(kwargs, call, three):
    rng = np.random.default_rng(0)
    arrays = _mha_inputs(rng, three)
    if call.get("use_causal_mask"):
        arrays = [arrays[0][:, :3], *arrays[1:]]
    layer = MultiHeadAttention(2, 3, seed=1, bias_initializer="random_normal", **kwargs)
    layer.build_for([a.shape[1:] for a in arrays])
    # The key bias adds q . b_k to every score of a row: the softmax ignores it (zero gradient).
    zero = ("param:key_bias",) if layer.use_bias else ()
    error, errors = numeric_check(layer, lambda a: layer.forward(list(a), **call), arrays, zero=zero)
    assert error < 1e-6, errors
    assert len([k for k in errors if k.startswith("input")]) == len(arrays)


def test_multi_head_attention_scores_output_and_its_error():
    rng = np.random.default_rng(1)
    arrays = _mha_inputs(rng, False)
    layer = MultiHeadAttention(2, 3, seed=0)
    layer.build_for([a.shape[1:] for a in arrays])
    y, scores = layer.forward(arrays, return_attention_scores=True, use_causal_mask=False)
    assert scores.shape == (2, 2, 4, 3)
    np.testing.assert_allclose(scores.sum(axis=-1), 1, rtol=1e-6)
    # The scores themselves ignore the key bias too (softmax is shift-invariant per row).
    error, errors = numeric_check(layer, lambda a: layer.forward(list(a), return_attention_scores=True), arrays,
                                  zero=("param:key_bias",))
    assert error < 1e-6, errors
    error, errors = numeric_check(layer, lambda a: layer.forward(list(a), return_attention_scores=True), arrays,
                                  unused=(1,), zero=("param:key_bias",))
    assert error < 1e-6, errors


def test_masked_keys_get_zero_weight_and_masks_combine():
    rng = np.random.default_rng(2)
    q, v = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 3, 4))
    layer = MultiHeadAttention(1, 2, seed=0, dtype=np.float64)
    vmask = np.array([[1, 1, 0]], bool)
    _, p = layer.forward([q, v], mask=[None, vmask], return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_array_equal(p[0, 0, :, 2], 0)
    np.testing.assert_array_equal(p[0, 0, 0, 1:], 0)  # causal: query 0 sees key 0 only
    np.testing.assert_allclose(p[0, 0, 0, 0], 1)
    # Changing a masked key or value changes nothing.
    v2 = v.copy()
    v2[0, 2] += 5
    np.testing.assert_allclose(layer.forward([q, v2], mask=[None, vmask]), layer.forward([q, v], mask=[None, vmask]),
                               rtol=1e-12)
    # A query row with no allowed key is uniform (Keras's -1e9 rule), never NaN.
    _, p = layer.forward([q, v], attention_mask=np.zeros((1, 3, 3), bool), return_attention_scores=True)
    np.testing.assert_allclose(p, 1 / 3, rtol=1e-12)
    np.testing.assert_array_equal(layer.compute_mask([vmask, None]), vmask)
    # Keras's keyword form gives the same as the list.
    np.testing.assert_array_equal(layer.forward([q, v], value_mask=vmask, use_causal_mask=True),
                                  layer.forward([q, v], mask=[None, vmask], use_causal_mask=True))


@pytest.mark.parametrize("layer", [MultiHeadAttention(2, 3, seed=0, dtype=np.float64), Attention(dtype=np.float64)])
def test_post_padding_masked_keys_changes_no_output(layer):
    rng = np.random.default_rng(5)
    q, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    vmask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    y = layer.forward([q, v], mask=[None, vmask])
    padded = np.concatenate([v, rng.standard_normal((2, 3, 3))], axis=1)
    longer = np.concatenate([vmask, np.zeros((2, 3), bool)], axis=1)
    np.testing.assert_allclose(layer.forward([q, padded], mask=[None, longer]), y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, call",
    [
        ({}, {}),
        ({"use_scale": True}, {"use_causal_mask": True}),
        ({"score_mode": "concat"}, {}),
        ({"score_mode": "concat", "use_scale": True}, {"mask": [np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool),
                                                               np.array([[1, 0, 1], [1, 1, 1]], bool)]}),
        ({"dropout": 0.4, "seed": 3}, {"training": True}),
    ],
)
@pytest.mark.parametrize("three", [False, True])
def test_attention_gradient_check(kwargs, call, three):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3, 5))]
    arrays.append(rng.standard_normal((2, 3, 3)) if three else None)
    if not three:
        arrays = [arrays[0], rng.standard_normal((2, 3, 3))]
    layer = Attention(**kwargs)
    layer.build_for([a.shape[1:] for a in arrays])
    if layer.params:
        for v in layer.params.values():
            v[...] = 0.8
    error, errors = numeric_check(layer, lambda a: layer.forward(list(a), **call), arrays)
    assert error < 1e-6, errors


def test_attention_errors_change_nothing():
    layer = MultiHeadAttention(2, 3, seed=0)
    x = np.zeros((2, 4, 5))
    layer.forward([x, x])
    before = layer.get_weights()
    with pytest.raises(TypeError, match=r"expects a list \[query, value\]"):
        layer.forward(x)
    with pytest.raises(ValueError, match="the value must have 5 features"):
        layer.forward([x, np.zeros((2, 4, 6))])
    with pytest.raises(ValueError, match=r"attention_mask must have shape \(batch, Tq, Tk\) = \(2, 4, 4\)"):
        layer.forward([x, x], attention_mask=np.ones((2, 4, 3), bool))
    with pytest.raises(ValueError, match="share the batch size"):
        layer.forward([x, np.zeros((3, 4, 5))])
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        Attention(score_mode="general")
    with pytest.raises(RuntimeError, match="before backward"):
        Attention().backward(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="query and key must have the same features"):
        Attention().forward([np.zeros((1, 2, 3)), np.zeros((1, 2, 4))])
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "layer",
    [MultiHeadAttention(4, 16), MultiHeadAttention(2, 3, value_dim=5, dropout=0.1, use_bias=False, output_shape=7, seed=2),
     Attention(), Attention(use_scale=True, score_mode="concat", dropout=0.2)],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert _builtin_layers()[type(layer).__name__] is type(layer)


def test_multi_head_attention_takes_keras_positional_call_and_returns_scores_in_a_graph():
    """``mha(query, value)`` as Keras calls it (value was once taken for ``training``), and
    ``return_attention_scores=True`` on symbolic tensors gives two tensors, the scores
    (heads, T_query, T_value) rows summing to 1, equal to the eager call's."""
    rng = np.random.default_rng(7)
    query, value = numnet.Input((5, 8)), numnet.Input((7, 8))
    mha = numnet.MultiHeadAttention(num_heads=2, key_dim=4, seed=1)
    y, scores = mha(query, value, return_attention_scores=True)
    assert y.shape == (None, 5, 8) and scores.shape == (None, 2, 5, 7)
    model = numnet.Model([query, value], [y, scores])
    a = rng.normal(size=(3, 5, 8)).astype(np.float32)
    b = rng.normal(size=(3, 7, 8)).astype(np.float32)
    out, got = model.predict([a, b], verbose=0)
    eager_out, eager_scores = mha([a, b], return_attention_scores=True)
    np.testing.assert_allclose(out, eager_out, rtol=1e-6)
    np.testing.assert_allclose(got, eager_scores, rtol=1e-6)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-5)
    keyed = numnet.MultiHeadAttention(num_heads=2, key_dim=4, seed=1)
    key = numnet.Input((7, 8))
    with_key = numnet.Model([query, value, key], keyed(query, value, key))  # key given positionally
    keyed.set_weights(mha.get_weights())
    np.testing.assert_allclose(with_key.predict([a, b, b], verbose=0), out, rtol=1e-6)


def test_attention_returns_scores_in_a_graph():
    query, value = numnet.Input((4, 6)), numnet.Input((9, 6))
    out, scores = numnet.Attention()([query, value], return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 9)
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 9, 6))
    _, got = numnet.Model([query, value], [out, scores]).predict([a, b], verbose=0)
    weights = np.exp(a @ b.transpose(0, 2, 1))
    np.testing.assert_allclose(got, weights / weights.sum(-1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("make", [lambda: MultiHeadAttention(num_heads=2, key_dim=3, seed=0), Attention],
                         ids=["mha", "attention"])
def test_backward_after_returning_scores_needs_two_errors(make):
    layer = make()
    rng = np.random.default_rng(1)
    q, v = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 5, 6))
    out, scores = layer.forward([q, v], return_attention_scores=True)
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ValueError, match=r"returned \[output, scores\]: backward expects a list of two errors"):
        layer.backward(np.ones_like(out))
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    layer.needs_input_error = True
    dq, dv = layer.backward([np.ones_like(out), None])
    assert dq.shape == q.shape and dv.shape == v.shape
