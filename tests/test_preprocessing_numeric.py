"""Normalization, Rescaling and CategoryEncoding: values, gradients, adapt, errors, ONNX."""

import numpy as np
import onnxruntime as ort
import pytest

import numnet
from numnet import CategoryEncoding, Dense, Input, Model, Normalization, Rescaling, StringLookup
from numnet.gradient_check import check_layer


def test_normalization_adapt_uses_the_population_variance():
    data = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    layer = Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer.buffers["mean"], [3.0, 3.0])
    np.testing.assert_allclose(layer.buffers["variance"], [8 / 3, 14 / 3], rtol=1e-6)
    np.testing.assert_allclose(layer(data), (data - [3, 3]) / np.sqrt([8 / 3, 14 / 3]), rtol=1e-6)


def test_normalization_axis_none_and_tuples():
    data = np.arange(24, dtype=float).reshape(2, 3, 4)
    scalar = Normalization(axis=None)
    scalar.adapt(data)
    assert scalar.buffers["mean"].shape == () and scalar.buffers["mean"] == pytest.approx(11.5)
    per_row = Normalization(axis=1)
    per_row.adapt(data)
    np.testing.assert_allclose(per_row.buffers["mean"], data.mean(axis=(0, 2)))
    both = Normalization(axis=(1, 2))
    both.adapt(data)
    np.testing.assert_allclose(both.buffers["variance"], data.var(axis=0))


def test_normalization_adapt_pools_batches_exactly():
    rng = np.random.default_rng(0)
    data = rng.normal(3, 2, size=(50, 3))
    whole, batched = Normalization(), Normalization()
    whole.adapt(data)
    batched.adapt(iter([data[:7], data[7:30], data[30:]]))
    np.testing.assert_allclose(batched.buffers["mean"], whole.buffers["mean"], rtol=1e-6)
    np.testing.assert_allclose(batched.buffers["variance"], whole.buffers["variance"], rtol=1e-6)


def test_normalization_given_statistics_invert_and_the_epsilon_floor():
    layer = Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    np.testing.assert_allclose(layer(np.array([[3.0, 2.0]])), [[1.0, 0.0]])
    np.testing.assert_allclose(layer(np.array([[1.0, 2.0 + 1e-7]])), [[0.0, 1.0]], rtol=1e-3)  # / max(0, 1e-7)
    inverse = Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(inverse(np.array([[1.0, -1.0]])), [[3.0, -1.0]])


def test_normalization_gradient():
    layer = Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 9.0])
    assert check_layer(layer, np.random.default_rng(0).normal(size=(4, 3))).passed()
    inverse = Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 9.0], invert=True)
    assert check_layer(inverse, np.random.default_rng(1).normal(size=(4, 3))).passed()


def test_normalization_errors_change_nothing():
    layer = Normalization()
    layer.adapt(np.array([[1.0], [3.0]]))
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ValueError, match="empty"):
        layer.adapt(np.zeros((0, 1)))
    with pytest.raises(ValueError, match="NaN"):
        layer.adapt(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="built for"):
        layer.adapt(np.ones((2, 2)))
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
    with pytest.raises(ValueError, match="batch axis"):
        Normalization(axis=0).build_for((3,))
    with pytest.raises(ValueError, match="both mean and variance"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="given mean and variance"):
        Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 1)))


def test_rescaling_values_and_gradient():
    layer = Rescaling(1 / 127.5, offset=-1)
    np.testing.assert_allclose(layer(np.array([[0, 127.5, 255]])), [[-1, 0, 1]])
    assert layer(np.array([[0, 255]], dtype=np.uint8)).dtype == np.float32
    per_channel = Rescaling([1.0, 2.0], offset=[0.0, 1.0])
    np.testing.assert_allclose(per_channel(np.ones((1, 2, 2))), np.tile([1.0, 3.0], (1, 2, 1)))
    assert check_layer(Rescaling(0.5, 3.0), np.random.default_rng(0).normal(size=(3, 4))).passed()
    assert check_layer(Rescaling([1.0, -2.0]), np.random.default_rng(0).normal(size=(3, 5, 2))).passed()
    with pytest.raises(TypeError, match="scale"):
        Rescaling("big")
    with pytest.raises(ValueError, match="finite"):
        Rescaling(np.inf)


def test_category_encoding_modes_as_keras_documents_them():
    one_hot = CategoryEncoding(num_tokens=4, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot([3, 2, 0, 1]), np.eye(4)[[3, 2, 0, 1]])
    multi = CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    np.testing.assert_array_equal(multi([[0, 1], [0, 0], [1, 2], [3, 1]]),
                                  [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]])
    count = CategoryEncoding(num_tokens=4, output_mode="count")
    np.testing.assert_array_equal(count([[0, 1], [0, 0], [1, 2], [3, 1]]),
                                  [[1, 1, 0, 0], [2, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]])
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    np.testing.assert_allclose(count([[0, 1], [0, 0], [1, 2], [3, 1]], count_weights=weights),
                               [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0], [0, 0.2, 0, 0.4]], rtol=1e-6)


def test_category_encoding_errors():
    layer = CategoryEncoding(num_tokens=3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        layer([[0, 3]])
    with pytest.raises(ValueError, match="integer ids"):
        layer(np.array([[0.5]]))
    with pytest.raises(ValueError, match="num_tokens"):
        CategoryEncoding(num_tokens=0)
    with pytest.raises(ValueError, match="output_mode"):
        CategoryEncoding(num_tokens=3, output_mode="tf_idf")


def test_category_encoding_in_a_model_gives_float_features():
    x = Input((2,), dtype="int64")
    encoded = CategoryEncoding(num_tokens=5)(x)
    assert encoded.shape == (None, 5) and encoded.dtype == np.float32
    model = Model(x, Dense(1)(encoded))
    assert model.predict(np.array([[0, 4], [1, 1]])).shape == (2, 1)


def _onnx_run(model, data, tmp_path):
    path = tmp_path / "m.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: data})[0]


def test_rescaling_and_normalization_export_to_onnx(tmp_path):
    numnet.set_seed(0)
    rng = np.random.default_rng(0)
    x = Input((4,))
    norm = Normalization()
    norm.adapt(rng.normal(2, 3, size=(40, 4)))
    inverse = Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 16.0], invert=True)
    model = Model(x, Dense(2)(inverse(Rescaling([0.5, 1, 2, 3], offset=1.0)(norm(x)))))
    data = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(_onnx_run(model, data, tmp_path), model.predict(data), rtol=1e-5, atol=1e-6)


def test_other_preprocessing_layers_refuse_onnx_export_by_name(tmp_path):
    x = Input((1,), dtype="int64")
    model = Model(x, Dense(1)(CategoryEncoding(num_tokens=3, name="encode_me")(x)))
    with pytest.raises(ValueError, match="'encode_me'.*CategoryEncoding"):
        model.export_onnx(tmp_path / "m.onnx")
    s = Input((1,), dtype="string")
    text = Model(s, Dense(1)(StringLookup(vocabulary=["a"], output_mode="one_hot", name="words")(s)))
    with pytest.raises(ValueError, match="'words'.*StringLookup"):
        text.export_onnx(tmp_path / "t.onnx")
    assert not (tmp_path / "m.onnx").exists()
