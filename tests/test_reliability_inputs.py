"""Bad training inputs are refused before anything changes (issue 15, items 9 and 13):
``class_weight`` keys beyond the model's classes, tables with non-numeric columns."""

import tracemalloc

import numpy as np
import pytest

import numnet as nn


def _classifier(units=3, loss="sparse_categorical_crossentropy", activation="softmax"):
    model = nn.Sequential([nn.Input((4,)), nn.Dense(units, activation=activation)], seed=0)
    model.compile(loss=loss, optimizer="adam")
    return model


def _state(model):
    return [w.copy() for layer in model.layers for w in layer.weights], model.optimizer.iterations


X = np.random.default_rng(0).normal(size=(12, 4))


@pytest.mark.parametrize("key", [3, 10**9, 2**40, 2**70])
def test_a_class_weight_key_beyond_the_classes_is_refused_naming_it_without_allocating(key):
    model = _classifier()
    before = _state(model)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"class_weight must map class indices \(0\.\.2 for this output\) to "
                                             rf"non-negative weights; key {key} is not one"):
            model.fit(X, np.arange(12) % 3, class_weight={0: 1.0, key: 2.0}, epochs=1, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # {10**9: 2} used to allocate 8 GB, {2**40: 2} to raise MemoryError
    weights, iterations = _state(model)
    assert iterations == before[1] == 0 and all(np.array_equal(a, b) for a, b in zip(weights, before[0]))


@pytest.mark.parametrize("loss, units, y, n_classes", [
    ("binary_crossentropy", 1, (np.arange(12) % 2).astype(float), 2),  # one sigmoid unit: classes 0 and 1
    ("categorical_crossentropy", 3, np.eye(3)[np.arange(12) % 3], 3),
])
def test_class_weight_bounds_for_other_losses(loss, units, y, n_classes):
    model = _classifier(units, loss, "sigmoid" if units == 1 else "softmax")
    with pytest.raises(ValueError, match=rf"\(0\.\.{n_classes - 1} for this output\).*key {n_classes} is not one"):
        model.fit(X, y, class_weight={n_classes: 2.0}, epochs=1, verbose=0)
    assert model.optimizer.iterations == 0
    history = model.fit(X, y, class_weight={n_classes - 1: 2.0}, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_class_weight_within_the_classes_weights_the_loss_as_before():
    y = np.arange(12) % 3
    weighted = nn.training.data.as_sample_weights(_classifier(), [y], None, {1: 5.0})
    np.testing.assert_array_equal(weighted[0], np.where(y == 1, 5.0, 1.0))


def test_huge_labels_of_a_one_unit_output_do_not_size_the_class_weight_table():
    """A one-unit output trained with mse on large values: rint(y) = 10**9 used to make a
    table of 10**9 + 1 weights (8 GB). Labels outside 0..1 keep weight 1."""
    model = _classifier(1, "mse", None)
    y = np.array([0.0, 1.0, 10.0**9, -3.0] * 3)
    tracemalloc.start()
    try:
        weighted = nn.training.data.as_sample_weights(model, [y.reshape(-1, 1)], None, {1: 4.0})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    np.testing.assert_array_equal(weighted[0], np.tile([1.0, 4.0, 1.0, 1.0], 3))


class _Table:
    """What numnet reads of a pandas DataFrame: ``columns``, ``dtypes`` and ``__array__``
    (a frame whose columns' dtypes differ gives an object array)."""

    def __init__(self, columns: dict):
        self.columns = list(columns)
        self.dtypes = [np.asarray(v).dtype for v in columns.values()]
        self._values = list(columns.values())

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            dtype = self.dtypes[0] if len(set(self.dtypes)) == 1 else object
        return np.stack([np.asarray(v).astype(dtype) for v in self._values], axis=1)


def test_a_table_with_a_text_column_is_refused_naming_the_column():
    model = _classifier()
    before = _state(model)
    table = _Table({"age": X[:, 0], "height": X[:, 1], "city": np.array(["a", "b"] * 6), "score": X[:, 3]})
    with pytest.raises(TypeError, match=r"x must hold numbers \(bool, int or float\), but its column 'city' has "
                                        r"dtype <U1; convert or drop that column"):
        model.fit(table, np.arange(12) % 3, epochs=1, verbose=0)
    weights, iterations = _state(model)
    assert iterations == 0 and all(np.array_equal(a, b) for a, b in zip(weights, before[0]))


def test_a_table_of_mixed_numeric_columns_is_converted_to_one_dtype():
    table = _Table({"a": X[:, 0], "flag": X[:, 1] > 0, "n": np.arange(12), "d": X[:, 3]})
    assert np.asarray(table).dtype == object  # what a bool + float frame gives
    model = _classifier()
    model.fit(table, np.arange(12) % 3, epochs=1, verbose=0)
    expected = np.stack([X[:, 0], X[:, 1] > 0, np.arange(12), X[:, 3]], axis=1).astype(np.float64)
    np.testing.assert_array_equal(model.predict(table, verbose=0), model.predict(expected, verbose=0))
