"""Bidirectional and TimeDistributed: PyTorch parity (fixtures), merge modes, masks,
states, gradient checks, weights, configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet.gradient_check import check_layer
from numnet.layers import GRU, LSTM, Bidirectional, Conv1D, Dense, SimpleRNN, TimeDistributed
from numnet.saving import _builtin_layers
from seq_helpers import numeric_check

REF = np.load(Path(__file__).parent / "fixtures" / "sequence_reference.npz", allow_pickle=False)
BIDIR_CASES = sorted({k.split("_")[0] for k in REF.files if k.startswith("bidir")})
MASK = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=bool)


def case(name):
    return {k[len(name) + 1 :]: REF[k] for k in REF.files if k.startswith(name + "_")}


@pytest.mark.parametrize("name", BIDIR_CASES)
def test_bidirectional_matches_pytorch(name):
    r = case(name)
    kind, units, return_sequences = (int(v) for v in r["config"])
    inner = (LSTM if kind == 1 else GRU)(units, return_sequences=bool(return_sequences))
    layer = Bidirectional(inner, dtype=np.float64)
    layer.build_for((None, r["x"].shape[2]))
    names = [f"{side}_{w}" for side in ("forward", "backward") for w in ("kernel", "recurrent_kernel", "bias")]
    assert list(layer.params) == names
    layer.set_weights([r[n] for n in names])
    np.testing.assert_allclose(layer.forward(r["x"]), r["y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(r["g"]), r["dx"], rtol=1e-9, atol=1e-11)
    for n in names:
        np.testing.assert_allclose(layer.grads[n], r[f"d{n}"], rtol=1e-9, atol=1e-11, err_msg=n)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gradient_checks_over_merge_modes(merge_mode, return_sequences):
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    layer = Bidirectional(GRU(3, return_sequences=return_sequences, seed=0, bias_initializer="random_normal"),
                          merge_mode=merge_mode)
    layer.build_for((None, 3))
    error, errors = numeric_check(layer, lambda a: layer.forward(a[0], mask=MASK), [x])
    assert error < 1e-6, errors
    if merge_mode is not None:
        result = check_layer(layer, x)
        assert result.max_relative_error < 1e-6, result.errors


def test_bidirectional_merge_modes_combine_the_two_directions():
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    outputs = {}
    for mode in ("concat", "sum", "mul", "ave", None):
        layer = Bidirectional(SimpleRNN(2, return_sequences=True, seed=5), merge_mode=mode, dtype=np.float64)
        outputs[mode] = layer.forward(x)
    fw, bw = outputs[None]
    np.testing.assert_allclose(outputs["concat"], np.concatenate([fw, bw], axis=-1))
    np.testing.assert_allclose(outputs["sum"], fw + bw)
    np.testing.assert_allclose(outputs["mul"], fw * bw)
    np.testing.assert_allclose(outputs["ave"], (fw + bw) / 2)
    # The backward half at step t has read steps t..end: it equals a go_backwards run, flipped.
    layer = Bidirectional(SimpleRNN(2, return_sequences=True, seed=5), merge_mode=None, dtype=np.float64)
    layer.forward(x)
    alone = SimpleRNN(2, return_sequences=True, go_backwards=True, dtype=np.float64)
    alone.build_for((None, 3))
    alone.set_weights(layer.backward_layer.get_weights())
    np.testing.assert_allclose(layer.forward(x)[1], alone.forward(x)[:, ::-1], rtol=1e-12)


def test_bidirectional_return_state_initial_state_and_mask_gradients():
    rng = np.random.default_rng(2)
    layer = Bidirectional(LSTM(3, return_state=True, return_sequences=True, seed=1, bias_initializer="random_normal"))
    layer.build_for((None, 4))
    arrays = [rng.standard_normal((2, 5, 4))] + [rng.standard_normal((2, 3)) for _ in range(4)]
    out = layer.forward(arrays[0], initial_state=arrays[1:])
    assert len(out) == 5 and out[0].shape == (2, 5, 6) and all(s.shape == (2, 3) for s in out[1:])
    error, errors = numeric_check(layer, lambda a: layer.forward(a[0], mask=MASK, initial_state=a[1:]), arrays)
    assert error < 1e-6, errors
    assert len([k for k in errors if k.startswith("input")]) == 5
    assert layer.compute_mask(MASK)[0] is MASK and layer.compute_mask(MASK)[1:] == [None] * 4
    assert layer.compute_output_shape((None, 4)) == [(None, 6)] + [(3,)] * 4


def test_bidirectional_post_padding_changes_nothing():
    rng = np.random.default_rng(3)
    layer = Bidirectional(GRU(3, return_sequences=True, seed=0), dtype=np.float64)
    x = rng.standard_normal((2, 5, 2))
    y = layer.forward(x, mask=MASK)
    padded = np.concatenate([x, rng.standard_normal((2, 3, 2))], axis=1)
    longer = np.concatenate([MASK, np.zeros((2, 3), bool)], axis=1)
    y2 = layer.forward(padded, mask=longer)
    np.testing.assert_allclose(y2[:, :5][MASK], y[MASK], rtol=1e-12, atol=1e-14)
    last = Bidirectional(LSTM(3, seed=0), dtype=np.float64)
    np.testing.assert_allclose(last.forward(padded, mask=longer), last.forward(x, mask=MASK), rtol=1e-12, atol=1e-14)


def test_wrappers_follow_a_model_moving_their_weights():
    # A model's flat parameter buffer rebinds params to views: the wrapper must hand them down.
    x = np.random.default_rng(4).standard_normal((2, 3, 2))
    layer = Bidirectional(SimpleRNN(2, seed=0), dtype=np.float64)
    y = layer.forward(x)
    for k in layer.params:
        layer.params[k] = layer.params[k] * 2
    assert not np.allclose(layer.forward(x), y)
    assert layer.forward_layer.params["kernel"] is layer.params["forward_kernel"]
    layer.backward(np.ones((2, 4)))
    assert set(layer.grads) == set(layer.params)
    td = TimeDistributed(Dense(3), dtype=np.float64)
    td.forward(x)
    td.params["kernel"] = np.ones((2, 3))
    np.testing.assert_allclose(td.forward(x), x.sum(axis=-1, keepdims=True) * np.ones(3) + td.params["bias"])


def test_time_distributed_dense_and_conv1d():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 3))
    td = TimeDistributed(Dense(5, activation="tanh", seed=0, bias_initializer="random_normal"), dtype=np.float64)
    y = td.forward(x)
    kernel, bias = td.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ kernel + bias), rtol=1e-12)
    assert list(td.params) == ["kernel", "bias"]
    assert td.compute_output_shape((None, 3)) == (None, 5)
    mask = np.ones((2, 4), bool)
    assert td.compute_mask(mask) is mask
    result = check_layer(TimeDistributed(Dense(5, activation="tanh", seed=0, bias_initializer="random_normal")), x)
    assert result.max_relative_error < 1e-6, result.errors
    frames = rng.standard_normal((2, 3, 6, 2))  # (batch, time, steps, channels)
    result = check_layer(TimeDistributed(Conv1D(2, 3, seed=1)), frames)
    assert result.max_relative_error < 1e-6, result.errors


def test_wrapper_errors():
    with pytest.raises(TypeError, match="Bidirectional wraps a SimpleRNN, LSTM or GRU layer"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards is the opposite"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(TypeError, match="TimeDistributed wraps a numnet Layer"):
        TimeDistributed("dense")
    layer = Bidirectional(LSTM(2, seed=0))
    with pytest.raises(RuntimeError, match="before backward"):
        layer.backward(np.zeros((1, 4)))
    layer.forward(np.zeros((1, 3, 2)))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="initial_state as a list of 4 arrays"):
        layer.forward(np.zeros((1, 3, 2)), initial_state=[np.zeros((1, 2))])
    with pytest.raises(ValueError, match=r"expects inputs \(batch, time, \.\.\.\)"):
        TimeDistributed(Dense(2)).forward(np.zeros((2, 3)))
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "layer",
    [
        Bidirectional(LSTM(3, return_sequences=True, name="enc"), merge_mode="sum"),
        Bidirectional(GRU(2, reset_after=False), merge_mode=None,
                      backward_layer=GRU(2, reset_after=False, go_backwards=True)),
        TimeDistributed(Dense(4, activation="relu")),
    ],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert _builtin_layers()[type(layer).__name__] is type(layer)
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    layer.forward(x)
    rebuilt.forward(x)
    rebuilt.set_weights(layer.get_weights())
    a, b = layer.forward(x), rebuilt.forward(x)
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_array_equal(u, v)


def test_seeded_bidirectional_directions_start_apart_and_reproducibly():
    a = Bidirectional(LSTM(3, seed=7))
    a.build_for((None, 2))
    assert not np.allclose(a.params["forward_kernel"], a.params["backward_kernel"])
    b = Bidirectional.from_config(a.get_config())
    b.build_for((None, 2))
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_models_with_sequence_layers_save_and_load_exactly(tmp_path):
    import numnet as nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6, 3)).astype(np.float32)
    model = nn.Sequential([
        nn.Input((6, 3)),
        nn.Bidirectional(nn.LSTM(4, return_sequences=True, seed=0)),
        nn.TimeDistributed(nn.Dense(3, seed=1)),
        nn.Conv1D(2, 2, padding="causal", seed=2),
        nn.GlobalAveragePooling1D(),
        nn.Dense(2, seed=3),
    ])
    model.compile(loss="mse", optimizer="adam")
    model.fit(x, rng.standard_normal((8, 2)).astype(np.float32), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "seq.npz")
    restored = nn.load_model(tmp_path / "seq.npz")
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
