"""Embedding, Masking, Conv1D, 1-D pooling, RepeatVector, UpSampling1D, ZeroPadding1D,
Cropping1D and pad_sequences: PyTorch parity (fixtures), gradient checks, masks, errors,
configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import numnet
from numnet.gradient_check import check_layer
from numnet.layers import (
    AveragePooling1D,
    Conv1D,
    Cropping1D,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
    MaxPooling1D,
    RepeatVector,
    UpSampling1D,
    ZeroPadding1D,
)
from numnet.saving import _builtin_layers
from numnet.utils import pad_sequences
from seq_helpers import numeric_check

REF = np.load(Path(__file__).parent / "fixtures" / "sequence_reference.npz", allow_pickle=False)


def case(name):
    return {k[len(name) + 1 :]: REF[k] for k in REF.files if k.startswith(name + "_")}


def cases(prefix):
    return sorted({k.split("_")[0] for k in REF.files if k.startswith(prefix) and k.split("_")[0][len(prefix):].isdigit()})


# --- Embedding --------------------------------------------------------------------------------
def test_embedding_matches_pytorch_with_repeated_ids():
    r = case("embedding")
    layer = Embedding(9, 4, dtype=np.float64)
    layer.build_for(r["ids"].shape[1:])
    layer.set_weights([r["embeddings"]])
    np.testing.assert_array_equal(layer.forward(r["ids"]), r["y"])
    assert layer.backward(r["g"]) is None
    np.testing.assert_allclose(layer.grads["embeddings"], r["dembeddings"], rtol=1e-12, atol=1e-14)
    # Row 7 appears three times: its gradient is the sum of those three errors.
    g = r["g"].reshape(-1, 4)
    np.testing.assert_allclose(layer.grads["embeddings"][7], g[r["ids"].ravel() == 7].sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(layer.grads["embeddings"][[4, 5, 6, 8]], 0)


def test_embedding_gradient_check_and_float_ids():
    ids = np.array([[1, 2, 2, 0], [3, 3, 3, 1]])
    result = check_layer(Embedding(5, 3, seed=0), ids.astype(np.float64), check_inputs=False)
    assert result.max_relative_error < 1e-6, result.errors
    layer = Embedding(5, 3, seed=0)
    np.testing.assert_array_equal(layer.forward(ids.astype(np.float32)), layer.forward(ids))
    assert layer.forward(ids).shape == (2, 4, 3)
    assert layer.compute_output_shape((None,)) == (None, 3)


def test_embedding_default_initializer_and_mask_zero():
    layer = Embedding(1000, 8, seed=0)
    layer.build_for((5,))
    table = layer.params["embeddings"]
    assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.02
    ids = np.array([[4, 2, 0, 0], [1, 0, 3, 0]])
    masked = Embedding(5, 2, mask_zero=True)
    masked.forward(ids)
    np.testing.assert_array_equal(masked.compute_mask(None), ids != 0)
    assert Embedding(5, 2).compute_mask(None, inputs=ids) is None
    np.testing.assert_array_equal(Embedding(5, 2, mask_zero=True).compute_mask(None, inputs=ids), ids != 0)


def test_embedding_refuses_bad_ids_and_changes_nothing():
    layer = Embedding(5, 2, seed=0)
    layer.forward(np.array([[1, 2]]))
    before = layer.get_weights()
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 5\).*from 0 to 5"):
        layer.forward(np.array([[0, 5]]))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 5\).*from -1"):
        layer.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="non-integral"):
        layer.forward(np.array([[0.5, 1.0]]))
    with pytest.raises(TypeError, match="integer array of ids"):
        layer.forward(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        Embedding(0, 3)
    np.testing.assert_array_equal(layer.get_weights()[0], before[0])
    assert np.array_equal(layer._ids, [[1, 2]])


# --- Masking ----------------------------------------------------------------------------------
def test_masking_zeroes_padding_steps_and_makes_a_mask():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]], [[-1.0, -1.0], [5.0, 6.0], [-1.0, -1.0]]])
    layer = Masking(mask_value=-1.0)
    y = layer.forward(x)
    keep = np.array([[True, True, True], [False, True, False]])
    np.testing.assert_array_equal(layer.compute_mask(None), keep)
    np.testing.assert_array_equal(y, x * keep[..., None])
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.broadcast_to(keep[..., None], x.shape))
    zero = Masking()
    zero.forward(x)
    np.testing.assert_array_equal(zero.compute_mask(None), [[True, False, True], [True, True, True]])
    np.testing.assert_array_equal(zero.compute_mask(keep), [[True, False, True], [False, True, False]])
    np.testing.assert_array_equal(Masking(-1.0).compute_mask(None, inputs=x), keep)
    result = check_layer(Masking(mask_value=0.5), np.random.default_rng(0).standard_normal((2, 4, 3)))
    assert result.max_relative_error < 1e-6
    with pytest.raises(TypeError, match="mask_value must be a number"):
        Masking("0")


# --- Conv1D -----------------------------------------------------------------------------------
PADDINGS = {0: "valid", 1: "same", 2: "causal"}


@pytest.mark.parametrize("name", cases("conv"))
def test_conv1d_matches_pytorch(name):
    r = case(name)
    k, s, d, pad, use_bias = (int(v) for v in r["config"])
    layer = Conv1D(4, k, strides=s, dilation_rate=d, padding=PADDINGS[pad], use_bias=bool(use_bias), dtype=np.float64)
    layer.build_for((None, 3))
    layer.set_weights([r["kernel"], r["bias"]] if use_bias else [r["kernel"]])
    y = layer.forward(r["x"])
    np.testing.assert_allclose(y, r["y"], rtol=1e-11, atol=1e-12)
    assert layer.compute_output_shape((11, 3)) == y.shape[1:]
    np.testing.assert_allclose(layer.backward(r["g"]), r["dx"], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], r["dkernel"], rtol=1e-11, atol=1e-12)
    if use_bias:
        np.testing.assert_allclose(layer.grads["bias"], r["dbias"], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [dict(kernel_size=3), dict(kernel_size=3, strides=2, padding="same"), dict(kernel_size=2, dilation_rate=2, padding="causal"),
     dict(kernel_size=3, padding="causal", activation="tanh"), dict(kernel_size=(2,), strides=(3,), use_bias=False)],
)
def test_conv1d_gradient_check(kwargs):
    x = np.random.default_rng(1).standard_normal((2, 9, 3))
    result = check_layer(Conv1D(4, seed=0, bias_initializer="random_normal", **kwargs), x)
    assert result.max_relative_error < 1e-6, result.errors


def test_conv1d_causal_output_never_sees_the_future_and_time_may_vary():
    rng = np.random.default_rng(2)
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2, dtype=np.float64, seed=0)
    x = rng.standard_normal((1, 10, 2))
    y = layer.forward(x)
    x2 = x.copy()
    x2[:, 6:] += 10
    np.testing.assert_array_equal(layer.forward(x2)[:, :6], y[:, :6])
    assert layer.forward(rng.standard_normal((3, 4, 2))).shape == (3, 4, 2)
    assert layer.compute_output_shape((None, 2)) == (None, 2)
    assert layer.compute_mask(np.ones((1, 10), bool)) is None
    np.testing.assert_array_equal(layer.forward(x, mask=np.zeros((1, 10), bool)), y)  # accepted, ignored


def test_conv1d_errors_change_nothing():
    layer = Conv1D(2, 5, seed=0)
    layer.forward(np.zeros((1, 6, 3)))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="kernel spans 5 time steps but the input has only 4"):
        layer.forward(np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match=r"shape \(batch, time, 3\)"):
        layer.forward(np.zeros((1, 6, 2)))
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same', 'causal'"):
        Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        Conv1D(2, 0)
    with pytest.raises(RuntimeError, match="before backward"):
        Conv1D(2, 3).backward(np.zeros((1, 2, 2)))
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# --- pooling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", cases("pool"))
def test_pooling1d_matches_pytorch(name):
    r = case(name)
    is_max, p, s, same = (int(v) for v in r["config"])
    layer = (MaxPooling1D if is_max else AveragePooling1D)(p, strides=s, padding="same" if same else "valid")
    y = layer.forward(r["x"])
    np.testing.assert_allclose(y, r["y"], rtol=1e-12, atol=1e-14)
    assert layer.compute_output_shape((9, 3)) == y.shape[1:]
    np.testing.assert_allclose(layer.backward(r["g"]), r["dx"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "layer",
    [MaxPooling1D(3, 2, "same"), AveragePooling1D(3, 2, "same"), AveragePooling1D(2), GlobalMaxPooling1D(),
     GlobalAveragePooling1D(), GlobalAveragePooling1D(keepdims=True), UpSampling1D(3), ZeroPadding1D((1, 2)),
     Cropping1D((2, 1))],
)
def test_pooling_and_reshaping_gradient_checks(layer):
    x = np.random.default_rng(3).standard_normal((2, 7, 3))
    result = check_layer(layer, x)
    assert result.max_relative_error < 1e-6, result.errors


def test_max_pooling_ties_send_the_gradient_to_the_first_maximum():
    x = np.array([[[1.0], [1.0], [0.0], [2.0]]])
    layer = MaxPooling1D(2)
    np.testing.assert_array_equal(layer.forward(x), [[[1.0], [2.0]]])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2, 1))), [[[1.0], [0.0], [0.0], [1.0]]])
    glob = GlobalMaxPooling1D()
    np.testing.assert_array_equal(glob.forward(x), [[2.0]])
    np.testing.assert_array_equal(glob.backward(np.array([[5.0]])), [[[0.0], [0.0], [0.0], [5.0]]])


def test_global_average_pooling_consumes_the_mask():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 3))
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    layer = GlobalAveragePooling1D()
    y = layer.forward(x, mask=mask)
    np.testing.assert_allclose(y, [x[0, :2].mean(axis=0), x[1].mean(axis=0)], rtol=1e-12)
    assert layer.compute_mask(mask) is None
    error, errors = numeric_check(layer, lambda a: layer.forward(a[0], mask=mask), [x])
    assert error < 1e-6, errors
    # Post-padding a masked sequence changes nothing.
    padded = np.concatenate([x, rng.standard_normal((2, 3, 3))], axis=1)
    longer = np.concatenate([mask, np.zeros((2, 3), dtype=bool)], axis=1)
    np.testing.assert_allclose(layer.forward(padded, mask=longer), y, rtol=1e-12)
    # A wholly masked sequence averages to zero, not NaN.
    np.testing.assert_array_equal(layer.forward(x, mask=np.zeros((2, 5), bool)), 0.0)


def test_pooling_errors():
    with pytest.raises(ValueError, match="pool spans 4 time steps but the input has only 3"):
        MaxPooling1D(4).forward(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same'"):
        AveragePooling1D(2, padding="causal")
    with pytest.raises(ValueError, match="pool_size must be a positive integer"):
        MaxPooling1D(0)
    with pytest.raises(ValueError, match=r"shape \(batch, time, features\)"):
        GlobalAveragePooling1D().forward(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="before backward"):
        GlobalMaxPooling1D().backward(np.zeros((1, 2)))


# --- reshaping --------------------------------------------------------------------------------
def test_reshaping_layers_values_and_shapes():
    x = np.arange(12.0).reshape(2, 3, 2)
    up = UpSampling1D(2)
    np.testing.assert_array_equal(up.forward(x)[0, :, 0], [0, 0, 2, 2, 4, 4])
    np.testing.assert_array_equal(up.backward(np.ones((2, 6, 2))), 2 * np.ones((2, 3, 2)))
    pad = ZeroPadding1D(2)
    y = pad.forward(x)
    assert y.shape == (2, 7, 2) and pad.compute_output_shape((3, 2)) == (7, 2)
    np.testing.assert_array_equal(y[:, 2:5], x)
    np.testing.assert_array_equal(y[:, :2], 0)
    crop = Cropping1D((1, 0))
    np.testing.assert_array_equal(crop.forward(x), x[:, 1:])
    np.testing.assert_array_equal(crop.backward(np.ones((2, 2, 2)))[:, 0], 0)
    rep = RepeatVector(3)
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(rep.forward(v), np.repeat(v[:, None], 3, axis=1))
    np.testing.assert_array_equal(rep.backward(np.ones((2, 3, 2))), 3 * np.ones((2, 2)))
    assert rep.compute_output_shape((2,)) == (3, 2)
    result = check_layer(RepeatVector(4), np.random.default_rng(0).standard_normal((3, 2)))
    assert result.max_relative_error < 1e-6
    assert UpSampling1D(2).compute_output_shape((None, 4)) == (None, 4)
    for layer in (up, pad, crop, rep):
        assert layer.compute_mask(np.ones((2, 3), bool)) is None


def test_reshaping_errors():
    with pytest.raises(ValueError, match=r"cropping \(2, 2\) leaves nothing of 4 time steps"):
        Cropping1D(2).forward(np.zeros((1, 4, 1)))
    with pytest.raises(ValueError, match="padding must be a non-negative integer or a pair"):
        ZeroPadding1D((1, 2, 3))
    with pytest.raises(ValueError, match=r"RepeatVector .* expects inputs of shape \(batch, features\)"):
        RepeatVector(2).forward(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="size must be a positive integer"):
        UpSampling1D(0)


# --- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [Embedding(7, 3, mask_zero=True, embeddings_initializer="glorot_uniform"), Embedding(4, 2), Masking(-1.0),
     Conv1D(3, 2, strides=2, padding="causal", dilation_rate=1, activation="relu"), MaxPooling1D(3, 1, "same"),
     AveragePooling1D(2), GlobalMaxPooling1D(keepdims=True), GlobalAveragePooling1D(), RepeatVector(2),
     UpSampling1D(3), ZeroPadding1D((0, 2)), Cropping1D((1, 2))],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert _builtin_layers()[type(layer).__name__] is type(layer)
    assert getattr(numnet, type(layer).__name__) is type(layer)


def test_every_sequence_layer_is_exported_and_registered():
    import numnet.layers as layers

    names = ["Attention", "AveragePooling1D", "Bidirectional", "Conv1D", "Cropping1D", "Embedding",
             "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GRU", "LSTM", "Masking", "MaxPooling1D",
             "MultiHeadAttention", "RepeatVector", "SimpleRNN", "TimeDistributed", "UpSampling1D", "ZeroPadding1D"]
    for name in names:
        cls = getattr(layers, name)
        assert getattr(numnet, name) is cls and name in layers.__all__
        assert _builtin_layers()[name] is cls
    assert layers.MaxPool1D is MaxPooling1D and layers.AvgPool1D is AveragePooling1D
    assert layers.GlobalMaxPool1D is GlobalMaxPooling1D and layers.GlobalAvgPool1D is GlobalAveragePooling1D
    assert numnet.utils.pad_sequences is pad_sequences


# --- pad_sequences ----------------------------------------------------------------------------
def test_pad_sequences_follows_keras():
    seqs = [[1, 2, 3], [4, 5], [6]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[1, 2, 3], [0, 4, 5], [0, 0, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"), [[1, 2, 3], [4, 5, 0], [6, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[2, 3], [4, 5], [0, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2, truncating="post"), [[1, 2], [4, 5], [0, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1, padding="post", maxlen=4)[2], [6, -1, -1, -1])
    assert pad_sequences(seqs).dtype == np.int32
    floats = pad_sequences([[0.5], []], dtype="float32", value=0.25)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, [[0.5], [0.25]])
    items = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float64")
    assert items.shape == (2, 2, 3)
    np.testing.assert_array_equal(items[1, 0], 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="truncating must be 'pre' or 'post'"):
        pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="sequence 1 is not a sequence"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="maxlen must be a non-negative integer"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match=r"sequence 1 has items of shape \(2,\), expected \(3,\)"):
        pad_sequences([np.ones((1, 3)), np.ones((1, 2))])
