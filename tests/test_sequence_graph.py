"""Sequence layers inside models built with the graph: whole-model gradients against central
differences (check_model, float64), shared calls, list outputs, a variable time axis, and
save / load. Masks do not travel through the graph yet (the layers take them as arrays)."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Input, Model
from numnet.gradient_check import check_model

TOL = 1e-6


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_embedding_lstm_classifier_gradients():
    ids = Input((6,))
    h = nn.LSTM(4, seed=1, bias_initializer="random_normal")(nn.Embedding(12, 3, seed=0)(ids))
    model = Model(ids, nn.Dense(3, activation="softmax", seed=2)(h), dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = _rng().integers(0, 12, (5, 6)).astype(np.float64)
    assert check_model(model, x, _rng(1).integers(0, 3, 5)).passed(TOL)


def test_a_variable_time_axis_and_a_recurrent_conv_stack():
    x = Input((None, 3))
    y = nn.Bidirectional(nn.GRU(3, return_sequences=True, seed=0, bias_initializer="random_normal"))(x)
    y = nn.Conv1D(2, 3, padding="causal", activation="tanh", seed=1)(y)
    y = nn.Dense(1, seed=2)(nn.GlobalAveragePooling1D()(y))
    model = Model(x, y, dtype="float64")
    model.compile("sgd", "mse")
    assert model.output.shape == (None, 1)
    for length in (4, 7):
        xs = _rng(length).standard_normal((3, length, 3))
        assert check_model(model, xs, _rng(9).standard_normal((3, 1))).passed(TOL)
        assert model.predict(xs).shape == (3, 1)


def test_a_shared_lstm_and_a_shared_time_distributed_dense():
    a, b = Input((5, 2)), Input((5, 2))
    encoder = nn.LSTM(3, return_sequences=True, seed=0, bias_initializer="random_normal")
    per_step = nn.TimeDistributed(nn.Dense(2, activation="tanh", seed=1))
    merged = nn.Concatenate()([per_step(encoder(a)), per_step(encoder(b))])
    model = Model([a, b], nn.Dense(1, seed=2)(nn.GlobalMaxPooling1D()(merged)), dtype="float64")
    model.compile("sgd", "mse")
    xs = [_rng(1).standard_normal((4, 5, 2)), _rng(2).standard_normal((4, 5, 2))]
    assert check_model(model, xs, _rng(3).standard_normal((4, 1))).passed(TOL)
    assert len(encoder._inbound_nodes) == 2


def test_self_attention_block_with_residual_and_layer_norm():
    x = Input((5, 4))
    mha = nn.MultiHeadAttention(2, 3, seed=0, bias_initializer="random_normal")
    attended = mha([x, x])
    y = nn.LayerNormalization()(nn.Add()([x, attended]))
    y = nn.Dense(2, activation="softmax", seed=1)(nn.GlobalAveragePooling1D()(y))
    model = Model(x, y, dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    result = check_model(model, _rng().standard_normal((3, 5, 4)), np.array([0, 1, 1]))
    # The key bias cannot change the softmax (it shifts every score of a row alike): zero gradient.
    assert np.abs(mha.grads["key_bias"]).max() < 1e-12 < np.abs(mha.grads["query_bias"]).max()
    others = {k: v for k, v in result.errors.items() if not k.endswith("/key_bias")}
    assert len(others) == len(result.errors) - 1
    assert max(others.values()) < TOL, others


def test_return_state_outputs_feed_the_rest_of_the_graph():
    x = Input((4, 3))
    out, h, c = nn.LSTM(3, return_sequences=True, return_state=True, seed=0, bias_initializer="random_normal")(x)
    y = nn.Dense(1, seed=1)(nn.Concatenate()([nn.GlobalAveragePooling1D()(out), c]))  # h unused
    model = Model(x, y, dtype="float64")
    model.compile("sgd", "mse")
    assert [t.shape for t in (out, h, c)] == [(None, 4, 3), (None, 3), (None, 3)]
    assert check_model(model, _rng().standard_normal((3, 4, 3)), _rng(1).standard_normal((3, 1))).passed(TOL)


def test_sequential_text_model_trains_and_round_trips(tmp_path):
    rng = _rng(4)
    ids = rng.integers(1, 30, (64, 8))
    labels = (ids[:, 0] > 15).astype(int)
    model = nn.Sequential([
        Input((8,)),
        nn.Embedding(30, 8, seed=0),
        nn.Bidirectional(nn.GRU(8, seed=1)),
        nn.Dense(2, activation="softmax", seed=2),
    ])
    model.compile(optimizer=nn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    history = model.fit(ids.astype(np.float32), labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    model.save(tmp_path / "text.npz")
    restored = nn.load_model(tmp_path / "text.npz")
    np.testing.assert_array_equal(restored.predict(ids.astype(np.float32)), model.predict(ids.astype(np.float32)))
