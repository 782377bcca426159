"""numnet.utils: to_categorical, normalize, set_random_seed, split_dataset (Keras's semantics)."""

from __future__ import annotations

import numpy as np
import pytest

import numnet
from numnet.utils import normalize, set_random_seed, split_dataset, to_categorical


# --- to_categorical --------------------------------------------------------------------------------
def test_to_categorical_values_and_shapes():
    np.testing.assert_array_equal(to_categorical([1, 0, 3]),
                                  [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    assert to_categorical([1, 0, 3]).dtype == np.float32  # Keras 3 gives float64 for NumPy input
    np.testing.assert_array_equal(to_categorical([1], num_classes=3), [[0, 1, 0]])
    # A column vector (n, 1) loses its last axis, as in Keras.
    assert to_categorical(np.array([[2], [0]])).shape == (2, 3)
    labels = np.array([[0, 2], [1, 1]])
    out = to_categorical(labels, 4)
    assert out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.argmax(-1), labels)
    np.testing.assert_array_equal(out.sum(-1), 1)
    np.testing.assert_array_equal(to_categorical(np.array([2.0, 0.0])), [[0, 0, 1], [1, 0, 0]])  # integral floats


def test_to_categorical_is_the_datasets_one_and_its_errors():
    assert to_categorical is numnet.datasets.to_categorical
    with pytest.raises(ValueError, match=r"Label 3 is out of range for num_classes=3 \(0..2\)"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="Class labels must be non-negative, got -1"):
        to_categorical([-1, 1])
    with pytest.raises(ValueError, match="integer class labels, got non-integer values"):
        to_categorical([0.5, 1.0])
    with pytest.raises(ValueError, match="integer class labels, got an array of dtype <U1"):
        to_categorical(["a", "b"])
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got 0"):
        to_categorical([0], num_classes=0)


# --- normalize -------------------------------------------------------------------------------------------
def test_normalize_l2_l1_axis_and_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0, 0], [2 ** -0.5, -(2 ** -0.5)]], rtol=1e-15)
    np.testing.assert_allclose(normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0], [0.5, -0.5]], rtol=1e-15)
    np.testing.assert_allclose(normalize(x, axis=0),
                               [[3 / np.sqrt(10), 4 / np.sqrt(17)], [0, 0], [1 / np.sqrt(10), -1 / np.sqrt(17)]],
                               rtol=1e-15)
    assert normalize(x.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(normalize(np.array([[1, 3]]), order=1), [[0.25, 0.75]], rtol=1e-15)


def test_normalize_errors():
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 2\) for an array of shape \(1, 2\), got 2"):
        normalize(np.ones((1, 2)), axis=2)
    with pytest.raises(ValueError, match="at least one axis, got a scalar"):
        normalize(3.0)
    with pytest.raises(TypeError, match="numeric array, got <U1"):
        normalize(["a"])


# --- set_random_seed ----------------------------------------------------------------------------------
def test_set_random_seed_is_numnet_set_seed():
    assert set_random_seed is numnet.set_seed

    def weights():
        inputs = numnet.Input((3,))
        return numnet.Model(inputs, numnet.Dense(2)(inputs)).get_weights()[0]

    set_random_seed(7)
    first = weights()
    set_random_seed(7)
    np.testing.assert_array_equal(weights(), first)
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        set_random_seed(-1)


# --- split_dataset -------------------------------------------------------------------------------------
def test_split_dataset_sizes_follow_keras():
    data = np.arange(10)
    left, right = split_dataset(data, left_size=0.8)
    np.testing.assert_array_equal(left, np.arange(8))
    np.testing.assert_array_equal(right, [8, 9])
    left, right = split_dataset(data, right_size=3)
    np.testing.assert_array_equal(left, np.arange(7))
    np.testing.assert_array_equal(right, [7, 8, 9])
    # Both given and short of the whole: the left part is the head, the right part the tail.
    left, right = split_dataset(data, left_size=2, right_size=0.3)
    np.testing.assert_array_equal(left, [0, 1])
    np.testing.assert_array_equal(right, [7, 8, 9])
    # round() of Python: 0.25 * 10 = 2.5 -> 2, 0.35 * 10 = 3.5 -> 4.
    assert len(split_dataset(data, left_size=0.25)[0]) == 2
    assert len(split_dataset(data, left_size=0.35)[0]) == 4


def test_split_dataset_of_tuples_lists_and_dicts_keeps_rows_together():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    (x_left, y_left), (x_right, y_right) = split_dataset((x, y), left_size=0.6, shuffle=True, seed=3)
    assert x_left.shape == (6, 2) and y_right.shape == (4,)
    np.testing.assert_array_equal(x_left[:, 0] * 5, y_left)  # each row kept with its label
    np.testing.assert_array_equal(x_right[:, 0] * 5, y_right)
    assert sorted(np.concatenate([y_left, y_right])) == list(y)  # a partition
    order = np.random.default_rng(3).permutation(10)
    np.testing.assert_array_equal(y_left, y[order[:6]])  # seeded: the generator of numnet.random
    left, right = split_dataset([x, y], left_size=5)
    assert isinstance(left, list) and len(left) == 2
    left, right = split_dataset({"a": x, "b": y}, right_size=0.2)
    assert set(left) == {"a", "b"}
    np.testing.assert_array_equal(right["b"], [80, 90])


def test_split_dataset_errors():
    data = np.arange(10)
    with pytest.raises(ValueError, match="needs left_size or right_size"):
        split_dataset(data)
    for bad in (0, 10, -1):
        with pytest.raises(ValueError, match=f"positive integer smaller than 10 .* got left_size={bad}"):
            split_dataset(data, left_size=bad)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=f"got right_size={bad}"):
            split_dataset(data, right_size=bad)
    with pytest.raises(TypeError, match="left_size must be an int, a float or None, got str"):
        split_dataset(data, left_size="half")
    with pytest.raises(ValueError, match="must be at most 1, got 0.6 \\+ 0.5"):
        split_dataset(data, left_size=0.6, right_size=0.5)
    with pytest.raises(ValueError, match="ask for 6 \\+ 5 samples; the data set has 10"):
        split_dataset(data, left_size=6, right_size=5)
    with pytest.raises(ValueError, match="leave the right part empty"):
        split_dataset(data, left_size=0.96)
    with pytest.raises(ValueError, match=r"same number of samples, got \[10, 9\]"):
        split_dataset((data, data[:9]), left_size=0.5)
    with pytest.raises(ValueError, match="item 1 of dataset is a scalar"):
        split_dataset((data, 3), left_size=0.5)
