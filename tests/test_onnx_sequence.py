"""ONNX export of the sequence layers: the exported graph passes the ONNX checker, runs in
onnxruntime and gives model.predict's outputs within 1e-5 (float32), for two batch sizes
and two time lengths when the time axis is variable; masks that a layer would use are
refused with an error naming the layer."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from numnet import (
    GRU, LSTM, Attention, AveragePooling1D, Bidirectional, Conv1D, Cropping1D, Dense, Embedding,
    GlobalAveragePooling1D, GlobalMaxPooling1D, Input, LayerNormalization, Masking, MaxPooling1D, Model,
    MultiHeadAttention, RepeatVector, Reshape, SimpleRNN, TimeDistributed, UpSampling1D, ZeroPadding1D, Add,
)

TOL = 1e-5


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _randomize(model, seed=1):
    """Every weight (biases included) random, so a wrong gate order or bias row shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(w.dtype) for w in weights])


def _session(model, tmp_path, opset=None):
    path = tmp_path / "model.onnx"
    model.export_onnx(path, opset=opset)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _check(session, model, xs):
    xs = xs if isinstance(xs, list) else [xs]
    outs = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs)})
    expected = model.predict(xs if len(xs) > 1 else xs[0])
    expected = expected if isinstance(expected, list) else [expected]
    assert len(outs) == len(expected)
    for out, want in zip(outs, expected):
        assert out.shape == want.shape
        np.testing.assert_allclose(out, want, rtol=TOL, atol=TOL)


def _assert_matches(model, make, tmp_path, lengths=(7, 12), opset=None):
    """``make(batch, length)`` -> inputs; checked for two batches and (variable time) two lengths."""
    _randomize(model)
    session = _session(model, tmp_path, opset)
    for batch, length in ((3, lengths[0]), (5, lengths[-1])):
        _check(session, model, make(batch, length))


RECURRENT_CASES = [
    (LSTM, {}), (LSTM, {"return_sequences": True}), (LSTM, {"go_backwards": True}),
    (LSTM, {"go_backwards": True, "return_sequences": True}), (LSTM, {"return_state": True}),
    (LSTM, {"return_sequences": True, "return_state": True, "go_backwards": True}),
    (LSTM, {"activation": "relu", "recurrent_activation": "tanh"}), (LSTM, {"use_bias": False}),
    (LSTM, {"activation": "linear", "return_sequences": True}),
    (GRU, {}), (GRU, {"return_sequences": True}), (GRU, {"reset_after": False, "return_sequences": True}),
    (GRU, {"go_backwards": True, "return_sequences": True}), (GRU, {"return_state": True}),
    (GRU, {"reset_after": False, "use_bias": False}),
    (SimpleRNN, {}), (SimpleRNN, {"return_sequences": True, "go_backwards": True}),
    (SimpleRNN, {"activation": "relu", "return_state": True}),
]


@pytest.mark.parametrize("cls, kwargs", RECURRENT_CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_recurrent_layers(tmp_path, cls, kwargs):
    x = Input((None, 5))
    model = Model(x, cls(6, dropout=0.2, recurrent_dropout=0.1, seed=0, **kwargs)(x))  # dropout: inference only
    _assert_matches(model, lambda n, t: _x((n, t, 5)), tmp_path)


def test_recurrent_uses_the_onnx_operators_with_their_gate_layout(tmp_path):
    x = Input((None, 3))
    model = Model(x, [LSTM(4, name="l")(x), GRU(4, name="g")(x), GRU(4, reset_after=False, name="h")(x),
                      SimpleRNN(4, name="s")(x)])
    _randomize(model)
    _session(model, tmp_path)
    proto = onnx.load(tmp_path / "model.onnx")
    nodes = {n.op_type: n for n in proto.graph.node if n.op_type in ("LSTM", "GRU", "RNN")}
    assert sorted(n.op_type for n in proto.graph.node if n.op_type in ("LSTM", "GRU", "RNN")) == \
        ["GRU", "GRU", "LSTM", "RNN"]
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    lstm = model.get_layer("l")
    w = weights[nodes["LSTM"].input[1]][0]  # (4U, F), ONNX's i, o, f, c
    kernel = lstm.params["kernel"]  # (F, 4U), numnet's i, f, c, o
    for onnx_block, numnet_block in enumerate([0, 3, 1, 2]):
        np.testing.assert_array_equal(w[4 * onnx_block : 4 * onnx_block + 4], kernel[:, 4 * numnet_block :][:, :4].T)
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
             for n in proto.graph.node if n.op_type == "GRU"]
    assert sorted(a["linear_before_reset"] for a in attrs) == [0, 1]


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("cell", [LSTM, GRU])
def test_bidirectional(tmp_path, merge_mode, cell):
    x = Input((None, 4))
    y = Bidirectional(cell(5, return_sequences=True), merge_mode=merge_mode)(x)
    model = Model(x, y)
    _assert_matches(model, lambda n, t: _x((n, t, 4)), tmp_path)


def test_bidirectional_return_state_and_last_output(tmp_path):
    x = Input((None, 4))
    model = Model(x, Bidirectional(LSTM(5, return_state=True))(x))
    _assert_matches(model, lambda n, t: _x((n, t, 4)), tmp_path)


def test_embedding_lstm_classifier_float_and_integer_ids(tmp_path):
    rng = np.random.default_rng(0)
    for dtype in (None, "int64", "int32"):
        ids = Input((None,), dtype=dtype)
        h = LSTM(8)(Embedding(50, 6)(ids))
        model = Model(ids, Dense(3, activation="softmax")(h))
        as_type = np.float32 if dtype is None else dtype
        _assert_matches(model, lambda n, t: rng.integers(0, 50, size=(n, t)).astype(as_type), tmp_path)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides, dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)])
@pytest.mark.parametrize("length", [None, 11])
def test_conv1d(tmp_path, padding, strides, dilation, length):
    x = Input((length, 3))
    model = Model(x, Conv1D(4, 3, strides=strides, dilation_rate=dilation, padding=padding, activation="tanh")(x))
    _assert_matches(model, lambda n, t: _x((n, t, 3)), tmp_path, lengths=(11, 11) if length else (9, 14))


def test_conv1d_same_with_strides_and_dilation_on_a_variable_length_is_refused(tmp_path):
    x = Input((None, 3))
    model = Model(x, Conv1D(4, 3, strides=2, dilation_rate=2, padding="same")(x))
    with pytest.raises(ValueError, match="conv1d.*dilation_rate"):
        model.export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("pool", [MaxPooling1D, AveragePooling1D])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("length", [None, 10])
@pytest.mark.parametrize("size, strides", [(2, None), (3, 2), (3, 1)])
def test_pooling1d(tmp_path, pool, padding, length, size, strides):
    x = Input((length, 3))
    model = Model(x, pool(size, strides=strides, padding=padding)(x))
    _assert_matches(model, lambda n, t: _x((n, t, 3)), tmp_path, lengths=(10, 10) if length else (7, 12))


@pytest.mark.parametrize("pool", [GlobalAveragePooling1D, GlobalMaxPooling1D])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling1d(tmp_path, pool, keepdims):
    x = Input((None, 3))
    model = Model(x, pool(keepdims=keepdims)(x))
    _assert_matches(model, lambda n, t: _x((n, t, 3)), tmp_path)


@pytest.mark.parametrize("layer", [UpSampling1D(3), ZeroPadding1D((1, 2)), ZeroPadding1D(2), Cropping1D((2, 1)),
                                   Cropping1D((1, 0)), TimeDistributed(Dense(4, activation="relu")),
                                   TimeDistributed(Reshape((3, 1)))], ids=lambda l: type(l).__name__)
def test_reshaping_and_time_distributed(tmp_path, layer):
    x = Input((None, 3))
    model = Model(x, layer(x))
    _assert_matches(model, lambda n, t: _x((n, t, 3)), tmp_path)


def test_repeat_vector_into_an_lstm(tmp_path):
    x = Input((3,))
    model = Model(x, LSTM(4, return_sequences=True)(RepeatVector(5)(x)))
    _assert_matches(model, lambda n, t: _x((n, 3)), tmp_path)


@pytest.mark.parametrize("length", [None, 9])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_block(tmp_path, length, causal):
    """Embedding -> MultiHeadAttention + residual + LayerNormalization -> pooling -> Dense."""
    ids = Input((length,))
    e = Embedding(30, 8)(ids)
    a = MultiHeadAttention(2, 4)([e, e], use_causal_mask=causal)
    h = GlobalAveragePooling1D()(LayerNormalization()(Add()([e, a])))
    model = Model(ids, Dense(2, activation="softmax")(h))
    rng = np.random.default_rng(3)
    _assert_matches(model, lambda n, t: rng.integers(0, 30, size=(n, t)).astype(np.float32), tmp_path,
                    lengths=(9, 9) if length else (6, 13))


def test_multi_head_attention_cross_with_key_value_dim_and_output_shape(tmp_path):
    q, v, k = Input((None, 5)), Input((None, 3)), Input((None, 4))
    model = Model([q, v, k], MultiHeadAttention(3, 2, value_dim=4, output_shape=6)([q, v, k]))
    _assert_matches(model, lambda n, t: [_x((n, t, 5)), _x((n, t + 3, 3), 1), _x((n, t + 3, 4), 2)], tmp_path)


def test_multi_head_attention_with_a_fixed_attention_mask(tmp_path):
    allowed = np.random.default_rng(0).random((1, 4, 6)) > 0.4
    allowed[:, :, 0] = True
    q, v = Input((4, 5)), Input((6, 5))
    model = Model([q, v], MultiHeadAttention(2, 3)([q, v], attention_mask=allowed, use_causal_mask=True))
    _assert_matches(model, lambda n, t: [_x((n, 4, 5)), _x((n, 6, 5), 1)], tmp_path)


@pytest.mark.parametrize("kwargs", [{}, {"use_scale": True}, {"score_mode": "concat"},
                                    {"score_mode": "concat", "use_scale": True}])
@pytest.mark.parametrize("causal", [False, True])
def test_attention(tmp_path, kwargs, causal):
    q, v = Input((None, 4)), Input((None, 4))
    model = Model([q, v], Attention(**kwargs)([q, v], use_causal_mask=causal))
    _assert_matches(model, lambda n, t: [_x((n, t, 4)), _x((n, t + 2, 4), 1)], tmp_path)


def test_masking_alone_exports(tmp_path):
    x = Input((None, 3))
    model = Model(x, Dense(2)(Masking(0.0)(x)))

    def make(n, t):
        data = _x((n, t, 3))
        data[:, -2:] = 0.0
        return data

    _assert_matches(model, make, tmp_path)


@pytest.mark.parametrize("consumer", [lambda: LSTM(3), lambda: GRU(3), lambda: Bidirectional(SimpleRNN(3)),
                                      lambda: GlobalAveragePooling1D(), lambda: TimeDistributed(Dense(2))],
                         ids=["lstm", "gru", "bidirectional", "gap", "time_distributed"])
def test_a_layer_that_would_use_a_mask_is_refused(tmp_path, consumer):
    ids = Input((None,))
    layer = consumer()
    h = layer(Dense(4)(Embedding(20, 4, mask_zero=True, name="ids_embedding")(ids)))  # Dense passes the mask on
    model = Model(ids, h)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=rf"'{layer.name}'.*mask made by 'ids_embedding'"):
        model.export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_attention_with_a_masked_key_is_refused_and_a_dropped_mask_is_not(tmp_path):
    x = Input((None, 3))
    m = Masking(name="pad")(x)
    model = Model(x, MultiHeadAttention(1, 2, name="mha")([m, m]))
    with pytest.raises(ValueError, match="'mha'.*mask made by 'pad'"):
        model.export_onnx(tmp_path / "m.onnx")
    # Conv1D drops the mask (as in Keras): the LSTM after it gets none, so the model exports.
    ids = Input((None,))
    h = LSTM(3)(Conv1D(4, 2)(Embedding(20, 4, mask_zero=True)(ids)))
    model = Model(ids, h)
    rng = np.random.default_rng(0)
    _assert_matches(model, lambda n, t: rng.integers(0, 20, size=(n, t)).astype(np.float32), tmp_path)


def test_stateful_and_fixed_initial_state_are_refused(tmp_path):
    x = Input((4, 3), batch_size=2)
    model = Model(x, LSTM(3, stateful=True, name="carry")(x))
    with pytest.raises(ValueError, match="'carry'.*stateful"):
        model.export_onnx(tmp_path / "m.onnx")
    x = Input((4, 3))
    model = Model(x, GRU(3, name="start")(x, initial_state=[np.ones((2, 3), dtype=np.float32)]))
    with pytest.raises(ValueError, match="'start'.*initial_state"):
        model.export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [13, 20])
def test_sequence_model_at_other_opsets(tmp_path, opset):
    ids = Input((None,))
    e = Embedding(20, 6)(ids)
    c = MaxPooling1D(2, padding="same")(Conv1D(6, 3, padding="causal", activation="relu")(e))
    h = Bidirectional(GRU(4, return_sequences=True))(c)
    a = MultiHeadAttention(2, 3)([h, h], use_causal_mask=True)
    model = Model(ids, Dense(2)(GlobalMaxPooling1D()(a)))
    rng = np.random.default_rng(0)
    _assert_matches(model, lambda n, t: rng.integers(0, 20, size=(n, t)).astype(np.float32), tmp_path, opset=opset)


def test_the_documented_example_runs(tmp_path, monkeypatch):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "sequence_models.md").read_text()
    section = doc[doc.index("## ONNX export"):doc.index("## Not done yet")]
    block = section.split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "sequence_models.md", "exec"), {})
    assert (tmp_path / "sequence.onnx").exists()
