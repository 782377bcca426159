"""MultiHeadAttention on one tensor (``mha([x, x])``) projects query, key and value in one
product (layers/_attention_projection.py): the same outputs, input errors and weight
gradients as the three separate projections, a passing gradient check, and the path is the
one a model's self-attention takes."""

from __future__ import annotations

import numpy as np
import pytest

import numnet.layers._attention_projection as projection
from numnet import Input, Model
from numnet.layers import Add, GlobalAveragePooling1D, MultiHeadAttention
from seq_helpers import numeric_check


@pytest.mark.parametrize("kwargs", [{}, {"value_dim": 4, "output_shape": 3}, {"use_bias": False}])
@pytest.mark.parametrize("causal", [False, True])
def test_one_product_equals_three(kwargs, causal):
    x = np.random.default_rng(0).standard_normal((3, 5, 6))
    layer = MultiHeadAttention(2, 3, seed=0, bias_initializer="random_normal", dtype=np.float64, **kwargs)
    layer.build_for([(5, 6), (5, 6)])
    g = np.random.default_rng(1).standard_normal((3, 5, layer.output_shape[-1]))
    fused_y = layer.forward([x, x], use_causal_mask=causal)  # the same array twice: one product
    fused_errors = layer.backward(g)
    fused_grads = {k: v.copy() for k, v in layer.grads.items()}
    y = layer.forward([x, x.copy()], use_causal_mask=causal)  # equal values, two arrays: three products
    errors = layer.backward(g)
    np.testing.assert_allclose(fused_y, y, rtol=1e-13, atol=1e-14)
    for a, b in zip(fused_errors, errors):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert set(fused_grads) == set(layer.grads)
    for k, v in layer.grads.items():
        assert fused_grads[k].shape == v.shape
        np.testing.assert_allclose(fused_grads[k], v, rtol=1e-12, atol=1e-13, err_msg=k)


def test_self_attention_gradient_check():
    x = np.random.default_rng(2).standard_normal((2, 4, 5))
    layer = MultiHeadAttention(2, 3, seed=1, bias_initializer="random_normal")
    layer.build_for([(4, 5), (4, 5)])
    error, errors = numeric_check(layer, lambda a: layer.forward([a[0], a[0]], use_causal_mask=True), [x],
                                  errors_of=lambda e: [e[0] + e[1]], zero=("param:key_bias",))
    assert error < 1e-6, errors


def test_a_model_self_attention_takes_the_one_product_path(monkeypatch):
    calls = []
    original = projection.project_all_backward

    def spy(*args):
        calls.append(args[1].shape)
        return original(*args)

    monkeypatch.setattr("numnet.layers.attention.project_all_backward", spy)
    x = Input((6, 4))
    h = GlobalAveragePooling1D()(Add()([x, MultiHeadAttention(2, 2)([x, x])]))
    model = Model(x, h)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.ones((8, 6, 4), np.float32), np.zeros((8, 4), np.float32), batch_size=4, epochs=1, verbose=0)
    assert calls == [(4, 6, 4), (4, 6, 4)]
