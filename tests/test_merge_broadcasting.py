"""Elementwise merge layers broadcast as Keras does: shapes aligned at the last axis (a
shorter input gains axes of size 1 after the batch axis), each axis equal or 1. Values
against NumPy on explicitly reshaped arrays, gradient checks, symbolic shapes, training,
errors that change nothing, ONNX export."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Model
from numnet.gradient_check import check_layer
from numnet.layers import Add, Average, Maximum, Minimum, Multiply, Subtract

REFERENCE = {
    Add: lambda xs: sum(xs[1:], xs[0]),
    Subtract: lambda xs: xs[0] - xs[1],
    Multiply: lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0),
    Average: lambda xs: sum(xs[1:], xs[0]) / len(xs),
    Maximum: lambda xs: np.max(np.broadcast_arrays(*xs), axis=0),
    Minimum: lambda xs: np.min(np.broadcast_arrays(*xs), axis=0),
}
# (batch, ...) shapes and the explicit reshapes that align them after the batch axis
CASES = [
    ([(2, 4, 3), (2, 3)], [(2, 4, 3), (2, 1, 3)]),
    ([(2, 4, 1), (2, 1, 5)], [(2, 4, 1), (2, 1, 5)]),
    ([(3, 2, 4, 3), (3, 4, 1), (3, 3)], [(3, 2, 4, 3), (3, 1, 4, 1), (3, 1, 1, 3)]),
]


def _xs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("layer_cls", list(REFERENCE))
@pytest.mark.parametrize("shapes, aligned", CASES)
def test_values_equal_numpy_on_inputs_aligned_after_the_batch_axis(layer_cls, shapes, aligned):
    if layer_cls is Subtract and len(shapes) != 2:
        shapes, aligned = shapes[:2], aligned[:2]
    xs = _xs(shapes)
    expected = REFERENCE[layer_cls]([x.reshape(s) for x, s in zip(xs, aligned)])
    out = layer_cls().forward(xs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("layer_cls", list(REFERENCE))
@pytest.mark.parametrize("shapes", [c[0] for c in CASES])
def test_broadcast_gradients_match_finite_differences(layer_cls, shapes):
    if layer_cls is Subtract:
        shapes = shapes[:2]
    xs = _xs(shapes, seed=1)
    if layer_cls in (Maximum, Minimum):  # keep ties (where the max is not differentiable) away
        xs = [x + 0.5 * i for i, x in enumerate(xs)]
    result = check_layer(layer_cls(), xs)
    assert result.max_relative_error < 1e-6, result.errors
    assert set(result.errors) == {f"input:{i}" for i in range(len(shapes))}


def test_a_broadcast_input_gets_its_error_summed_over_the_broadcast_axes():
    layer = Add()
    a, b = np.ones((2, 4, 3)), np.ones((2, 3))
    layer.forward([a, b])
    error = np.arange(24.0).reshape(2, 4, 3)
    da, db = layer.backward(error)
    np.testing.assert_array_equal(da, error)
    np.testing.assert_array_equal(db, error.sum(axis=1))
    assert db.shape == b.shape


def test_symbolic_shapes_and_a_model_that_trains():
    nn.set_seed(0)
    seq, vec, unknown = Input((4, 3)), Input((3,)), Input((None, 3))
    assert Add()([seq, vec]).shape == (None, 4, 3)
    assert Multiply()([Input((4, 1)), Input((1, 5))]).shape == (None, 4, 5)
    assert Maximum()([unknown, vec]).shape == (None, None, 3)
    inner, head = Dense(3), Dense(2)
    y = head(nn.layers.Flatten()(Multiply()([Add()([seq, inner(vec)]), vec])))
    model = Model([seq, vec], y)
    model.compile(loss="mse", optimizer="adam")
    rng = np.random.default_rng(0)
    x1, x2, target = rng.normal(size=(32, 4, 3)), rng.normal(size=(32, 3)), rng.normal(size=(32, 2))
    history = model.fit([x1, x2], target, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    h = x1 + (x2 @ inner.params["kernel"] + inner.params["bias"])[:, None, :]  # (32, 4, 3) + (32, 1, 3)
    out = (h * x2[:, None, :]).reshape(32, -1) @ head.params["kernel"] + head.params["bias"]
    np.testing.assert_allclose(model.predict([x1, x2]), out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer_cls", list(REFERENCE))
def test_shapes_that_do_not_broadcast_are_refused_and_nothing_is_kept(layer_cls):
    layer = layer_cls()
    with pytest.raises(ValueError, match="shapes that broadcast"):
        layer.forward([np.zeros((2, 4, 3)), np.zeros((2, 2))])
    assert "input" not in layer.__dict__
    with pytest.raises(ValueError, match="shapes that broadcast"):
        layer_cls()([Input((4, 3)), Input((4,))])
    with pytest.raises(ValueError, match="different batch sizes"):
        layer.forward([np.zeros((2, 4, 3)), np.zeros((3, 3))])
    assert "input" not in layer.__dict__


def test_onnx_export_of_broadcasting_merges_matches_predict(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    nn.set_seed(0)
    seq, vec = Input((4, 3)), Input((3,))
    h = Subtract()([Multiply()([seq, vec]), Average()([vec, seq])])
    h = Minimum()([Maximum()([h, vec]), Add()([seq, vec, Dense(3)(vec)])])
    model = Model([seq, vec], Dense(2)(nn.layers.Flatten()(h)))
    path = tmp_path / "broadcast.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(5, 4, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)]
    (out,) = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), xs)})
    np.testing.assert_allclose(out, model.predict(xs), rtol=1e-5, atol=1e-5)
