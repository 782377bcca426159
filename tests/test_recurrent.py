"""SimpleRNN, LSTM, GRU: PyTorch parity (fixtures), a NumPy reference for GRU
reset_after=False, gradient checks (masks, return_state, go_backwards, initial_state,
dropout), mask semantics, stateful, errors, configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numnet import initializers
from numnet.gradient_check import check_layer
from numnet.layers import GRU, LSTM, SimpleRNN
from numnet.saving import _builtin_layers
from seq_helpers import numeric_check

REF = np.load(Path(__file__).parent / "fixtures" / "sequence_reference.npz", allow_pickle=False)
RNN_CASES = sorted({k.split("_")[0] for k in REF.files if k.startswith("rnn")})
KINDS = {0: (SimpleRNN, {}), 1: (LSTM, {}), 2: (GRU, {}), 3: (GRU, {"reset_after": False})}


def case(name):
    return {k[len(name) + 1 :]: REF[k] for k in REF.files if k.startswith(name + "_")}


@pytest.mark.parametrize("name", RNN_CASES)
def test_recurrent_layers_match_pytorch(name):
    r = case(name)
    kind, units, back, masked = (int(v) for v in r["config"])
    cls, kwargs = KINDS[kind]
    layer = cls(units, return_sequences=True, return_state=True, go_backwards=bool(back), dtype=np.float64, **kwargs)
    layer.build_for((None, r["x"].shape[2]))
    layer.set_weights([r["kernel"], r["recurrent_kernel"], r["bias"]])
    mask = r["mask"] if masked else None
    out = layer.forward(r["x"], mask=mask, initial_state=list(r["h0"]))
    np.testing.assert_allclose(out[0], r["y"], rtol=1e-10, atol=1e-12)
    for got, want in zip(out[1:], r["states"]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    errors = layer.backward([r["gy"], *r["gstates"]])
    np.testing.assert_allclose(errors[0], r["dx"], rtol=1e-9, atol=1e-11)
    for got, want in zip(errors[1:], r["dh0"]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.grads["kernel"], r["dkernel"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.grads["recurrent_kernel"], r["drecurrent_kernel"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.grads["bias"], r["dbias"], rtol=1e-9, atol=1e-11)


def numpy_gru_reset_before(x, kernel, rec, bias, h):
    """GRU(reset_after=False) written out step by step, as Keras defines it."""
    u = rec.shape[0]
    sig = lambda a: 1 / (1 + np.exp(-a))
    outputs = []
    for t in range(x.shape[1]):
        xw = x[:, t] @ kernel + bias
        z = sig(xw[:, :u] + h @ rec[:, :u])
        r = sig(xw[:, u : 2 * u] + h @ rec[:, u : 2 * u])
        hh = np.tanh(xw[:, 2 * u :] + (r * h) @ rec[:, 2 * u :])
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1)


def test_gru_reset_after_false_matches_a_numpy_reference():
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((4, 7, 5)), rng.standard_normal((4, 3))
    layer = GRU(3, reset_after=False, return_sequences=True, dtype=np.float64, bias_initializer="random_normal", seed=2)
    y = layer.forward(x, initial_state=[h0])
    kernel, rec, bias = layer.get_weights()
    assert bias.shape == (9,)
    np.testing.assert_allclose(y, numpy_gru_reset_before(x, kernel, rec, bias, h0), rtol=1e-12, atol=1e-13)


def test_weight_shapes_and_order_follow_keras():
    x = np.zeros((2, 4, 5))
    shapes = {
        SimpleRNN(3): [(5, 3), (3, 3), (3,)],
        LSTM(3): [(5, 12), (3, 12), (12,)],
        GRU(3): [(5, 9), (3, 9), (2, 9)],
        GRU(3, reset_after=False): [(5, 9), (3, 9), (9,)],
        LSTM(3, use_bias=False): [(5, 12), (3, 12)],
    }
    for layer, want in shapes.items():
        layer.forward(x)
        assert [w.shape for w in layer.get_weights()] == want
        assert list(layer.params) == ["kernel", "recurrent_kernel", "bias"][: len(want)]


def test_default_initializers_orthogonal_recurrent_kernel_and_unit_forget_bias():
    layer = LSTM(4, seed=0)
    layer.build_for((None, 3))
    rec = layer.params["recurrent_kernel"].astype(np.float64)  # (4, 16): orthonormal rows
    np.testing.assert_allclose(rec @ rec.T, np.eye(4), atol=1e-6)
    np.testing.assert_array_equal(layer.params["bias"], np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    plain = LSTM(4, unit_forget_bias=False, seed=0)
    plain.build_for((None, 3))
    np.testing.assert_array_equal(plain.params["bias"], np.zeros(16))


GRAD_CASES = [
    (SimpleRNN, {}),
    (SimpleRNN, {"activation": "relu", "return_sequences": True}),
    (LSTM, {}),
    (LSTM, {"return_sequences": True, "go_backwards": True}),
    (LSTM, {"use_bias": False, "unit_forget_bias": False}),
    (GRU, {}),
    (GRU, {"reset_after": False, "return_sequences": True}),
    (GRU, {"go_backwards": True, "recurrent_activation": "tanh"}),
    # Activations outside the one-exp fast path (each gate block activated on its own).
    (LSTM, {"activation": "relu", "return_sequences": True}),
    (GRU, {"activation": "linear", "recurrent_activation": "sigmoid", "reset_after": False}),
    (SimpleRNN, {"activation": "sigmoid"}),
]


@pytest.mark.parametrize("cls, kwargs", GRAD_CASES)
def test_gradient_check_plain(cls, kwargs):
    x = np.random.default_rng(0).standard_normal((3, 5, 4))
    result = check_layer(cls(5, seed=1, bias_initializer="random_normal", **kwargs), x)
    assert result.max_relative_error < 1e-6, result.errors


@pytest.mark.parametrize("cls, kwargs", GRAD_CASES)
def test_gradient_check_with_dropout_in_training(cls, kwargs):
    x = np.random.default_rng(0).standard_normal((3, 5, 4))
    layer = cls(5, seed=1, dropout=0.3, recurrent_dropout=0.4, bias_initializer="random_normal", **kwargs)
    result = check_layer(layer, x, training=True)
    assert result.max_relative_error < 1e-6, result.errors


MASK = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1]], dtype=bool)


@pytest.mark.parametrize("cls, kwargs", GRAD_CASES)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradient_check_with_mask_return_state_and_initial_state(cls, kwargs, go_backwards):
    rng = np.random.default_rng(4)
    kwargs = {**kwargs, "go_backwards": go_backwards}
    layer = cls(4, seed=2, return_state=True, bias_initializer="random_normal", **kwargs)
    layer.build_for((None, 3))
    n_states = 2 if cls is LSTM else 1
    arrays = [rng.standard_normal((3, 6, 3))] + [rng.standard_normal((3, 4)) for _ in range(n_states)]
    error, errors = numeric_check(
        layer, lambda a: layer.forward(a[0], mask=MASK, initial_state=a[1:], training=True), arrays
    )
    assert error < 1e-6, errors
    assert set(errors) == {f"input:{i}" for i in range(1 + n_states)} | {f"param:{k}" for k in layer.params}


def test_backward_accepts_none_for_unused_outputs():
    rng = np.random.default_rng(5)
    layer = LSTM(3, return_state=True, seed=0, dtype=np.float64)
    x = rng.standard_normal((2, 4, 3))
    layer.build_for((None, 3))
    error, errors = numeric_check(layer, lambda a: layer.forward(a[0]), [x], unused=(2,))
    assert error < 1e-6, errors
    # Only the last output's error: the same as a layer without return_state.
    g = rng.standard_normal((2, 3))
    layer.forward(x)
    dx = layer.backward([g, None, None])
    plain = LSTM(3, dtype=np.float64)
    plain.build_for((None, 3))
    plain.set_weights(layer.get_weights())
    plain.forward(x)
    np.testing.assert_allclose(dx, plain.backward(g), rtol=1e-12)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_masked_steps_carry_state_and_output_over(cls):
    rng = np.random.default_rng(6)
    layer = cls(3, return_sequences=True, seed=0, dtype=np.float64)
    x = rng.standard_normal((3, 6, 2))
    y = layer.forward(x, mask=MASK)
    for n in range(3):
        for t in range(6):
            if not MASK[n, t]:
                np.testing.assert_array_equal(y[n, t], y[n, t - 1] if t else 0.0)
    # Masked steps' values never matter.
    x2 = x.copy()
    x2[~MASK] = 1e3
    np.testing.assert_array_equal(layer.forward(x2, mask=MASK), y)
    assert layer.compute_mask(MASK) is MASK
    assert cls(3).compute_mask(MASK) is None
    assert cls(3, return_state=True).compute_mask(MASK) == [None] * (3 if cls is LSTM else 2)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from([0, 1, 2, 3]),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    extra=st.integers(1, 4),
    backwards=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_post_padding_a_masked_sequence_changes_no_output(kind, lengths, extra, backwards, seed):
    cls, kwargs = KINDS[kind]
    rng = np.random.default_rng(seed)
    t = max(lengths)
    x = rng.standard_normal((len(lengths), t, 3))
    mask = np.arange(t)[None, :] < np.array(lengths)[:, None]
    layer = cls(4, seed=seed, go_backwards=backwards, return_state=True, dtype=np.float64, **kwargs)
    out = layer.forward(x, mask=mask)
    padded = np.concatenate([x, rng.standard_normal((len(lengths), extra, 3))], axis=1)
    longer_mask = np.concatenate([mask, np.zeros((len(lengths), extra), dtype=bool)], axis=1)
    out_padded = layer.forward(padded, mask=longer_mask)
    for a, b in zip(out, out_padded):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_go_backwards_returns_the_sequence_in_processing_order():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 5, 3))
    fwd = GRU(3, return_sequences=True, seed=0, dtype=np.float64)
    back = GRU(3, return_sequences=True, go_backwards=True, dtype=np.float64)
    fwd.build_for((None, 3))
    back.build_for((None, 3))
    back.set_weights(fwd.get_weights())
    np.testing.assert_allclose(back.forward(x), fwd.forward(x[:, ::-1]), rtol=1e-12)


def test_stateful_carries_the_state_across_calls_until_reset():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 3))
    whole = LSTM(4, seed=0, dtype=np.float64)
    whole.build_for((None, 3))
    stateful = LSTM(4, stateful=True, dtype=np.float64)
    stateful.build_for((None, 3))
    stateful.set_weights(whole.get_weights())
    stateful.forward(x[:, :3])
    np.testing.assert_allclose(stateful.forward(x[:, 3:]), whole.forward(x), rtol=1e-12)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.forward(x[:, 3:]), whole.forward(x[:, 3:]), rtol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*same batch size"):
        stateful.forward(x[:1].repeat(3, axis=0))
    kept = [s.copy() for s in stateful.states]
    with pytest.raises(ValueError, match="same batch size"):
        stateful.forward(np.zeros((5, 2, 3)))
    for a, b in zip(stateful.states, kept):
        np.testing.assert_array_equal(a, b)


def test_dropout_masks_are_fixed_over_time_and_off_in_inference():
    rng = np.random.default_rng(9)
    layer = SimpleRNN(3, dropout=0.5, seed=0, activation="linear", dtype=np.float64, use_bias=False)
    layer.build_for((None, 4))
    layer.params["recurrent_kernel"][...] = 0  # output at each step = x_t (dropped) @ kernel
    x = np.broadcast_to(rng.standard_normal((2, 1, 4)), (2, 5, 4)).copy()
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(layer.forward(x, training=False), x[:, -1] @ layer.params["kernel"], rtol=1e-12)
    seq = SimpleRNN(3, dropout=0.5, seed=0, activation="linear", dtype=np.float64, use_bias=False, return_sequences=True)
    seq.build_for((None, 4))
    seq.set_weights([layer.params["kernel"], np.zeros((3, 3))])
    ys = seq.forward(x, training=True)
    for t in range(1, 5):
        np.testing.assert_array_equal(ys[:, t], ys[:, 0])  # same mask at every step
    assert not np.allclose(ys[:, 0], x[:, 0] @ layer.params["kernel"])
    assert y.shape == (2, 3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: LSTM(0), "units must be a positive integer"),
        (lambda: GRU(3, dropout=1.0), r"dropout must be a number in \[0, 1\)"),
        (lambda: SimpleRNN(3, activation="softmax"), "activation must be one of"),
        (lambda: LSTM(3, recurrent_activation="gelu"), "recurrent_activation must be one of"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_calls_are_refused_and_change_nothing():
    layer = LSTM(3, return_state=True, seed=0)
    x = np.zeros((2, 4, 5))
    with pytest.raises(RuntimeError, match=r"call forward\(x\) before backward"):
        layer.backward([np.zeros((2, 3)), None, None])
    layer.forward(x)
    weights = layer.get_weights()
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, 5\)"):
        layer.forward(np.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, features\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\) = \(2, 4\)"):
        layer.forward(x, mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="initial_state as a list of 2"):
        layer.forward(x, initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"a state must have shape \(2, 3\)"):
        layer.forward(x, initial_state=[np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="backward expects a list of 3 errors"):
        layer.backward(np.zeros((2, 3)))
    for a, b in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "layer",
    [
        SimpleRNN(3, activation="relu", return_sequences=True, dropout=0.1, seed=4),
        LSTM(5, unit_forget_bias=False, go_backwards=True, return_state=True, recurrent_initializer="glorot_uniform"),
        GRU(2, reset_after=False, stateful=True, recurrent_dropout=0.2, use_bias=False),
    ],
)
def test_config_round_trip_and_registration(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert _builtin_layers()[type(layer).__name__] is type(layer)
    layer.build_for((None, 4))
    rebuilt.build_for((None, 4))
    rebuilt.set_weights(layer.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    a, b = layer.forward(x), rebuilt.forward(x)
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_array_equal(u, v)


def test_float32_layers_compute_in_float32():
    layer = GRU(3, return_sequences=True)
    y = layer.forward(np.ones((2, 4, 3), dtype=np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    assert LSTM(4, return_state=True).compute_output_shape((7, 3)) == [(4,), (4,), (4,)]


def test_orthogonal_initializer():
    rng = np.random.default_rng(0)
    for shape in [(4, 12), (12, 4), (2, 3, 5)]:
        w = initializers.get("orthogonal")(shape, rng, np.float64).reshape(-1, shape[-1])
        small = w @ w.T if w.shape[0] < w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, np.eye(min(w.shape)), atol=1e-12)
    w = initializers.Orthogonal(gain=2.0)((3, 3), np.random.default_rng(1), np.float64)
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(3), atol=1e-12)
    again = initializers.Orthogonal(gain=2.0)((3, 3), np.random.default_rng(1), np.float64)
    np.testing.assert_array_equal(w, again)
    assert initializers.deserialize(initializers.serialize(initializers.Orthogonal(2.0))).gain == 2.0
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        initializers.Orthogonal()((3,), rng)


def test_loading_weights_from_a_file_keeps_the_lstm_bias(tmp_path):
    # unit_forget_bias is part of the initializer: a loaded bias must not be reset to 1.
    import numnet as nn

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 20, (6, 5)).astype(np.float32)
    model = nn.Sequential([nn.Input((5,)), nn.Embedding(20, 4, seed=0), nn.LSTM(3, seed=1), nn.Dense(2, seed=2)])
    model.layers[-2].params["bias"][...] = rng.standard_normal(12)
    model.save(tmp_path / "lstm.npz")
    restored = nn.load_model(tmp_path / "lstm.npz")
    np.testing.assert_array_equal(restored.layers[-2].params["bias"], model.layers[-2].params["bias"])
    np.testing.assert_array_equal(restored.predict(ids), model.predict(ids))
