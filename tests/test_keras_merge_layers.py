"""Multiply, Subtract, Average, Maximum, Minimum and Dot: gradient checks, values from Keras's
documented examples, shapes, shared calls in a functional model, save / load, errors."""

from __future__ import annotations

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Model
from numnet.gradient_check import check_layer
from numnet.layers import Average, Dot, Maximum, Minimum, Multiply, Subtract


def _xs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize(
    "layer, shapes",
    [
        (Multiply(), [(3, 4)] * 2),
        (Multiply(), [(2, 3, 4)] * 4),
        (Subtract(), [(3, 2, 5)] * 2),
        (Average(), [(3, 4)] * 3),
        (Maximum(), [(3, 6)] * 3),
        (Minimum(), [(3, 2, 2)] * 2),
        (Dot(axes=1), [(4, 5)] * 2),
        (Dot(axes=(1, 2)), [(2, 3, 5), (2, 4, 3)]),
        (Dot(axes=(2, 1)), [(2, 3, 4), (2, 4, 6)]),
        (Dot(axes=-1, normalize=True), [(3, 4, 5), (3, 2, 5)]),
        (Dot(axes=1, normalize=True), [(4, 6)] * 2),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Layer) else "",
)
def test_merge_gradients_match_finite_differences(layer, shapes):
    result = check_layer(layer, _xs(shapes))
    assert result.max_relative_error < 1e-6, result.errors
    assert set(result.errors) == {f"input:{i}" for i in range(len(shapes))}


def test_values_from_keras_documented_examples():
    # keras.layers.Dot(axes=(1, 2)) on arange(10).reshape(1, 5, 2) and arange(10, 20).reshape(1, 2, 5)
    x = np.arange(10, dtype=np.float64).reshape(1, 5, 2)
    y = np.arange(10, 20, dtype=np.float64).reshape(1, 2, 5)
    np.testing.assert_array_equal(Dot(axes=(1, 2))([x, y]), [[[260, 360], [320, 445]]])
    a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, -5.0, 0.5]])
    np.testing.assert_array_equal(Multiply()([a, b]), [[4.0, -10.0, 1.5]])
    np.testing.assert_array_equal(Subtract()([a, b]), [[-3.0, 7.0, 2.5]])
    np.testing.assert_array_equal(Average()([a, b]), [[2.5, -1.5, 1.75]])
    np.testing.assert_array_equal(Maximum()([a, b]), [[4.0, 2.0, 3.0]])
    np.testing.assert_array_equal(Minimum()([a, b]), [[1.0, -5.0, 0.5]])
    np.testing.assert_array_equal(Dot(axes=1)([a, b]), [[4.0 - 10.0 + 1.5]])
    cosine = (4.0 - 10.0 + 1.5) / (np.sqrt(14.0) * np.sqrt(16 + 25 + 0.25))
    np.testing.assert_allclose(Dot(axes=1, normalize=True)([a, b]), [[cosine]], rtol=1e-12)


def test_maximum_sends_a_tie_to_the_first_input():
    layer = Maximum()
    a, b = np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]])
    layer.forward([a, b])
    da, db = layer.backward(np.array([[5.0, 7.0]]))
    np.testing.assert_array_equal(da, [[5.0, 0.0]])
    np.testing.assert_array_equal(db, [[0.0, 7.0]])


def test_multiply_gradient_with_zeros_in_the_inputs():
    layer = Multiply()
    a, b, c = np.array([[0.0, 2.0]]), np.array([[3.0, 0.0]]), np.array([[4.0, 5.0]])
    layer.forward([a, b, c])
    da, db, dc = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(da, [[12.0, 0.0]])
    np.testing.assert_array_equal(db, [[0.0, 10.0]])
    np.testing.assert_array_equal(dc, [[0.0, 0.0]])


def test_dot_normalize_of_a_zero_vector_divides_by_epsilon_not_zero():
    layer = Dot(axes=1, normalize=True)
    y = layer.forward([np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0]])])
    np.testing.assert_array_equal(y, [[0.0]])
    d0, _ = layer.backward(np.ones((1, 1)))
    np.testing.assert_allclose(d0, [[1e7, 0.0, 0.0]])


@pytest.mark.parametrize(
    "axes, shapes, expected",
    [(1, [(5,), (5,)], (1,)), ((1, 2), [(3, 5), (10, 3)], (5, 10)), (-1, [(3, 4), (2, 4)], (3, 2)),
     ((2, 1), [(3, 4), (4,)], (3,))],
)
def test_dot_output_shapes(axes, shapes, expected):
    layer = Dot(axes=axes)
    out = layer([Input(s) for s in shapes])
    assert out.shape == (None, *expected)
    y = layer.forward(_xs([(2, *s) for s in shapes]))
    assert y.shape == (2, *expected)


def test_shared_merge_layers_in_a_functional_model_accumulate_gradients(tmp_path):
    nn.set_seed(0)
    a, b = Input((4,), name="a"), Input((4,), name="b")
    dense = Dense(4, activation="tanh")
    multiply, dot = Multiply(), Dot(axes=1, normalize=True)
    ha, hb = dense(a), dense(b)
    h = Subtract()([multiply([ha, hb]), multiply([ha, a])])
    h = Average()([Maximum()([h, hb]), Minimum()([h, ha])])
    out = Dense(1)(nn.Concatenate()([h, dot([ha, hb]), dot([h, b])]))
    model = Model([a, b], out)
    x = _xs([(16, 4), (16, 4)], seed=3)
    y = np.random.default_rng(4).standard_normal((16, 1))
    model.compile(optimizer="sgd", loss="mse")
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y) < before
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]


def test_shared_merge_layer_gradients_add_up_in_a_model():
    # y = Multiply()([a, b]) + Multiply()([a, a]) with the same layer: dy/da = b + 2a.
    a, b = Input((3,)), Input((3,))
    multiply = Multiply()
    model = Model([a, b], nn.Add()([multiply([a, b]), multiply([a, a])]))
    xa, xb = _xs([(2, 3), (2, 3)])
    from numnet.ops import GradientTape, Tensor

    ta, tb = Tensor(xa), Tensor(xb)
    with GradientTape() as tape:
        tape.watch(ta)
        total = nn.ops.sum(model([ta, tb]))
    np.testing.assert_allclose(tape.gradient(total, ta).numpy(), xb + 2 * xa, rtol=1e-6)


@pytest.mark.parametrize("layer", [Multiply(), Subtract(), Average(), Maximum(), Minimum(), Dot(axes=(1, 2)),
                                   Dot(axes=-1, normalize=True)], ids=lambda l: type(l).__name__)
def test_merge_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("layer_cls", [Multiply, Average, Maximum, Minimum, Subtract])
def test_mismatched_shapes_are_refused_and_nothing_is_kept(layer_cls):
    layer = layer_cls()
    with pytest.raises(ValueError, match="needs inputs of one shape"):
        layer.forward([np.zeros((2, 3)), np.zeros((2, 4))])
    assert not layer.built and "input" not in layer.__dict__
    with pytest.raises(ValueError, match="needs inputs of one shape"):
        layer([Input((3,)), Input((4,))])
    assert layer._inbound_nodes == []


def test_merge_argument_and_count_errors():
    with pytest.raises(ValueError, match="at least two inputs"):
        Multiply().forward([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract().forward([np.zeros((2, 3))] * 3)
    with pytest.raises(TypeError, match="takes a list of arrays"):
        Maximum().forward(np.zeros((2, 3)))
    layer = Average()
    layer.forward([np.ones((2, 3))] * 2)
    kept = layer.input
    with pytest.raises(ValueError, match="different batch sizes"):
        layer.forward([np.zeros((2, 3)), np.zeros((3, 3))])
    assert layer.input is kept


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(axes="1"), "axes must be an integer or a pair"), (dict(axes=(1, 2, 3)), "axes must be an integer or a pair"),
     (dict(axes=1, normalize="yes"), "normalize must be True or False")],
)
def test_dot_argument_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Dot(**kwargs)


def test_dot_shape_errors_change_nothing():
    layer = Dot(axes=1)
    with pytest.raises(ValueError, match="different sizes, 3 .* and 4"):
        layer([Input((3,)), Input((4,))])
    assert not layer.built and layer._inbound_nodes == []
    with pytest.raises(ValueError, match="not a non-batch axis"):
        Dot(axes=0).forward([np.zeros((2, 3))] * 2)
    with pytest.raises(ValueError, match="not a non-batch axis"):
        Dot(axes=3).forward([np.zeros((2, 3))] * 2)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Dot(axes=1).forward([np.zeros((2, 3))] * 3)
