"""timeseries_dataset_from_array: Keras's windows, targets, batches and argument checks,
against windows written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import numnet
from numnet import Dense, Input, Sequential
from numnet.utils import PyDataset, TimeseriesDataset, timeseries_dataset_from_array


def test_windows_strides_sampling_and_bounds_by_hand():
    data, targets = np.arange(20), np.arange(100, 120)
    # n = end - start - (length - 1) * rate = 15 - 2 - 4 = 9 -> starts 2 + (0, 3, 6)
    ds = timeseries_dataset_from_array(data, targets, sequence_length=3, sequence_stride=3, sampling_rate=2,
                                       batch_size=2, start_index=2, end_index=15)
    assert isinstance(ds, PyDataset) and len(ds) == 2
    x0, y0 = ds[0]
    np.testing.assert_array_equal(x0, [[2, 4, 6], [5, 7, 9]])
    np.testing.assert_array_equal(y0, [102, 105])
    x1, y1 = ds[1]
    np.testing.assert_array_equal(x1, [[8, 10, 12]])
    np.testing.assert_array_equal(y1, [108])


def test_keras_documented_example_next_step_targets():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = ds[0]
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    assert len(inputs) == 81  # 90 - 9 windows, one batch of up to 128


def test_targets_shorter_than_the_windows_cap_the_count_and_none_gives_windows_alone():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = timeseries_dataset_from_array(data, np.arange(3), sequence_length=2, batch_size=10)
    x, y = ds[0]
    assert x.shape == (3, 2, 2)  # min(6 - 1, len(targets) = 3) windows
    np.testing.assert_array_equal(x[2], [[4, 5], [6, 7]])
    np.testing.assert_array_equal(y, [0, 1, 2])
    alone = timeseries_dataset_from_array(data, None, sequence_length=4, batch_size=None)
    assert len(alone) == 3
    np.testing.assert_array_equal(alone[2], data[2:6])  # unbatched: one window, no batch axis


def test_shuffle_is_reproducible_covers_every_window_and_redraws_each_epoch():
    data = np.arange(50)
    make = lambda: timeseries_dataset_from_array(data, None, sequence_length=5, batch_size=8, shuffle=True, seed=3)
    a, b = make(), make()
    first = np.concatenate([a[i][:, 0] for i in range(len(a))])
    np.testing.assert_array_equal(first, np.concatenate([b[i][:, 0] for i in range(len(b))]))
    np.testing.assert_array_equal(np.sort(first), np.arange(46))
    assert not np.array_equal(first, np.arange(46))
    a.on_epoch_end()
    second = np.concatenate([a[i][:, 0] for i in range(len(a))])
    assert not np.array_equal(first, second) and np.array_equal(np.sort(second), np.arange(46))


def test_fit_trains_on_the_windows():
    numnet.set_seed(0)
    series = np.sin(np.arange(300) / 5).astype(np.float32)[:, None]
    ds = timeseries_dataset_from_array(series[:-8], series[8:, 0], sequence_length=8, batch_size=32)
    model = Sequential([Input((8, 1)), numnet.Flatten(), Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(ds, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(ds).shape == (len(series) - 8 - 7, 1)


def test_the_data_is_not_copied():
    data = np.arange(40.0).reshape(20, 2)
    ds = timeseries_dataset_from_array(data, None, sequence_length=3)
    assert isinstance(ds, TimeseriesDataset) and ds.data is data


@pytest.mark.parametrize("kwargs, match", [
    (dict(start_index=-1), r"`start_index` must be 0 or greater. Received: start_index=-1"),
    (dict(start_index=10), r"`start_index` must be lower than the length of the data. Received: start_index=10, "
                           r"for data of length 10"),
    (dict(start_index=4, end_index=4), r"`end_index` must be higher than `start_index`"),
    (dict(end_index=10), r"`end_index` must be lower than the length of the data. Received: end_index=10"),
    (dict(end_index=-3), r"`end_index` must be higher than 0. Received: end_index=-3"),
    (dict(sampling_rate=0), r"`sampling_rate` must be higher than 0. Received: sampling_rate=0"),
    (dict(sampling_rate=10), r"`sampling_rate` must be lower than the length of the data"),
    (dict(sequence_stride=0), r"`sequence_stride` must be higher than 0. Received: sequence_stride=0"),
    (dict(sequence_stride=12), r"`sequence_stride` must be lower than the length of the data"),
    (dict(sequence_length=0), r"`sequence_length` must be higher than 0"),
    (dict(sequence_length=11), r"no window of sequence_length=11 at sampling_rate=1 fits between start_index=0 and "
                               r"end_index=10"),
    (dict(batch_size=0), r"`batch_size` must be a positive integer or None"),
])
def test_keras_argument_checks(kwargs, match):
    arguments = dict(sequence_length=3) | kwargs
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.arange(10), None, **arguments)


def test_wrong_kinds_and_out_of_range_batches():
    with pytest.raises(TypeError, match="`sequence_length` must be an integer, got 2.5"):
        timeseries_dataset_from_array(np.arange(10), None, sequence_length=2.5)
    ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    with pytest.raises(IndexError, match=r"TimeseriesDataset has 2 batches \(0..1\); got index 2"):
        ds[2]
