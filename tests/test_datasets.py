import numpy as np
import pytest

import numnet
from numnet.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    to_categorical,
    train_test_split,
)


# ---------------------------------------------------------------- loaders


def test_iris_shapes_dtypes_and_class_counts():
    x, y = load_iris()
    assert x.shape == (150, 4) and x.dtype == np.float64
    assert y.shape == (150,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert np.all(np.diff(y) >= 0)  # sorted by class


def test_iris_known_values():
    x, y = load_iris()
    np.testing.assert_array_equal(x[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_array_equal(x[50], [7.0, 3.2, 4.7, 1.4])
    np.testing.assert_array_equal(x[-1], [5.9, 3.0, 5.1, 1.8])
    # Fisher's values for samples 35 and 38 (the UCI file has two errors here).
    np.testing.assert_array_equal(x[34], [4.9, 3.1, 1.5, 0.2])
    np.testing.assert_array_equal(x[37], [4.9, 3.6, 1.4, 0.1])
    np.testing.assert_allclose(x.min(axis=0), [4.3, 2.0, 1.0, 0.1])
    np.testing.assert_allclose(x.max(axis=0), [7.9, 4.4, 6.9, 2.5])
    np.testing.assert_allclose(x.mean(axis=0), [5.8433, 3.0573, 3.7580, 1.1993], atol=1e-4)
    assert y[0] == 0 and y[50] == 1 and y[100] == 2


def test_digits_shapes_range_and_counts():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16
    np.testing.assert_array_equal(x, np.round(x))  # integer pixel counts
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_first_image_is_a_zero():
    x, y = load_digits()
    assert y[:10].tolist() == list(range(10))
    np.testing.assert_array_equal(
        x[0].reshape(8, 8)[:3],
        [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0]],
    )


def test_breast_cancer_shapes_and_values():
    x, y = load_breast_cancer()
    assert x.shape == (569, 30) and x.dtype == np.float64
    assert y.shape == (569,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [212, 357]  # 0 = malignant, 1 = benign
    np.testing.assert_array_equal(x[0, :4], [17.99, 10.38, 122.8, 1001.0])
    assert y[0] == 0
    assert x[:, 3].max() == 2501.0  # largest mean area
    assert x[:, 23].max() == 4254.0  # largest worst area


def test_loaders_return_fresh_arrays():
    x1, y1 = load_iris()
    x1[0, 0] = -1.0
    y1[0] = 7
    x2, y2 = load_iris()
    assert x2[0, 0] == 5.1 and y2[0] == 0


def test_datasets_reachable_from_package():
    assert numnet.datasets.load_iris is load_iris


# ---------------------------------------------------------------- train_test_split


def test_split_sizes_and_order_of_outputs():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, seed=0)
    assert x_train.shape == (7, 2) and x_test.shape == (3, 2)
    assert y_train.shape == (7,) and y_test.shape == (3,)
    # rows stay paired and together cover every sample exactly once
    np.testing.assert_array_equal(x_train[:, 0] // 2, y_train)
    np.testing.assert_array_equal(x_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))


def test_split_default_test_size_rounds_up():
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, seed=1)
    assert len(x_test) == 450 and len(x_train) == 1347  # ceil(0.25 * 1797)


def test_split_integer_test_size():
    parts = train_test_split(np.arange(10), test_size=4, seed=0)
    assert [len(p) for p in parts] == [6, 4]


def test_split_is_reproducible_with_seed_and_differs_across_seeds():
    x = np.arange(100)
    a = train_test_split(x, seed=42)
    b = train_test_split(x, seed=42)
    c = train_test_split(x, seed=43)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_split_without_seed_follows_set_seed():
    x = np.arange(100)
    numnet.set_seed(3)
    a = train_test_split(x)
    numnet.set_seed(3)
    b = train_test_split(x)
    np.testing.assert_array_equal(a[1], b[1])


def test_split_leaves_numpy_global_state_alone():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    train_test_split(np.arange(50), seed=None, stratify=None)
    train_test_split(np.arange(50), stratify=np.arange(50) % 2)
    assert np.random.random() == expected


def test_split_without_shuffle_keeps_order():
    x_train, x_test = train_test_split(np.arange(10), test_size=0.2, shuffle=False)
    assert x_train.tolist() == list(range(8)) and x_test.tolist() == [8, 9]


def test_stratified_split_keeps_class_proportions():
    x, y = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0, stratify=y)
    assert np.bincount(y_test).tolist() == [10, 10, 10]
    assert np.bincount(y_train).tolist() == [40, 40, 40]
    # the test part is shuffled, not grouped by class
    assert not np.all(np.diff(y_test) >= 0)


def test_stratified_split_of_digits_is_within_one_of_exact_share():
    x, y = load_digits()
    _, _, y_train, y_test = train_test_split(x, y, seed=5, stratify=y)
    counts = np.bincount(y)
    share = counts * 450 / 1797
    assert len(y_test) == 450
    assert np.all(np.abs(np.bincount(y_test, minlength=10) - share) < 1)
    np.testing.assert_array_equal(np.bincount(y_train) + np.bincount(y_test), counts)


def test_stratified_split_with_imbalanced_labels():
    y = np.array([0] * 90 + [1] * 10)
    _, y_test = train_test_split(y, test_size=0.3, seed=0, stratify=y)
    assert np.bincount(y_test).tolist() == [27, 3]


def test_split_accepts_lists():
    a_train, a_test = train_test_split([1, 2, 3, 4], test_size=0.5, seed=0)
    assert isinstance(a_train, np.ndarray) and sorted(a_train.tolist() + a_test.tolist()) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_size": 0.0}, "between 0 and 1"),
        ({"test_size": 1.0}, "between 0 and 1"),
        ({"test_size": -0.1}, "between 0 and 1"),
        ({"test_size": 0}, "give a count from 1 to 9"),
        ({"test_size": 10}, "give a count from 1 to 9"),
        ({"test_size": "half"}, "test_size must be"),
        ({"test_size": True}, "test_size must be"),
        ({"test_size": 0.999}, "leaves no training data"),
    ],
)
def test_split_rejects_bad_test_size(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.arange(10), **kwargs)


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*\[10, 9\]"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_split_rejects_no_arrays_scalars_and_tiny_inputs():
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(ValueError, match="scalar"):
        train_test_split(np.float64(3.0))
    with pytest.raises(ValueError, match="Cannot split 1 sample"):
        train_test_split(np.zeros(1))


def test_split_rejects_bad_stratify():
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match=r"stratify must have shape \(10,\)"):
        train_test_split(y, stratify=y[:9])
    with pytest.raises(ValueError, match="requires shuffle=True"):
        train_test_split(y, shuffle=False, stratify=y)
    with pytest.raises(ValueError, match="at least 2 samples of every class"):
        train_test_split(y, stratify=np.array([0] * 9 + [1]))
    with pytest.raises(ValueError, match="cannot hold all 5 classes"):
        train_test_split(np.arange(10), test_size=2, stratify=np.arange(10) % 5)


# ---------------------------------------------------------------- to_categorical


def test_to_categorical_values_shape_and_dtype():
    out = to_categorical([2, 0, 1])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_to_categorical_num_classes_and_dtype():
    out = to_categorical(np.array([1, 3]), num_classes=5, dtype="float64")
    assert out.shape == (2, 5) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=1), [1, 3])


def test_to_categorical_column_vector_and_higher_rank():
    assert to_categorical(np.array([[0], [1], [1]])).shape == (3, 2)
    out = to_categorical(np.array([[0, 1], [2, 1]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.sum(axis=-1), np.ones((2, 2)))
    np.testing.assert_array_equal(out.argmax(axis=-1), [[0, 1], [2, 1]])


def test_to_categorical_accepts_integer_valued_floats_and_empty():
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert to_categorical(np.array([], dtype=int), num_classes=3).shape == (0, 3)


def test_to_categorical_round_trips_digits_labels():
    _, y = load_digits()
    np.testing.assert_array_equal(to_categorical(y).argmax(axis=1), y)


@pytest.mark.parametrize(
    "y, num_classes, match",
    [
        ([0, -1], None, "non-negative"),
        ([0.5, 1.0], None, "non-integer"),
        ([0.0, np.nan], None, "non-integer"),
        (["a", "b"], None, "dtype"),
        ([True, False], None, "dtype"),
        ([0, 3], 3, "out of range for num_classes=3"),
        ([0, 1], 0, "positive integer"),
        ([0, 1], 2.5, "positive integer"),
        (np.array([], dtype=int), None, "Cannot infer num_classes"),
    ],
)
def test_to_categorical_rejects_bad_labels(y, num_classes, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(y, num_classes=num_classes)
