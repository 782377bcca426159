"""``timeseries_dataset_from_array``: sliding windows over a time series, as a ``PyDataset``
(Keras 3's function, its arguments, defaults and checks).

Window ``j`` starts at ``p_j = start_index + j * sequence_stride`` and holds the time steps
``data[p_j], data[p_j + r], ..., data[p_j + (sequence_length - 1) * r]`` (``r`` the
``sampling_rate``); its target is ``targets[p_j]``. There are

    num_windows = ceil(n / sequence_stride),   n = end_index - start_index - (sequence_length - 1) * r

windows (``n`` capped at ``len(targets)`` when targets are given), so no window reads at or
after ``end_index``. Batch ``i`` stacks windows ``i * batch_size`` onwards:
``x (batch, sequence_length, *data.shape[1:])`` and ``y (batch, *targets.shape[1:])``.
Windows are gathered when their batch is asked for; ``data`` is never copied (a ``np.memmap``
stays on disk).
"""

from __future__ import annotations

import numpy as np

from ..random import make_generator
from .dataset import PyDataset


def _integer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {value!r:.80}.")
    return int(value)


class TimeseriesDataset(PyDataset):
    """The windows of ``timeseries_dataset_from_array`` (see the module docstring).

    With ``shuffle=True`` the windows are drawn in a random order (from ``seed``, or from
    numnet's generator, which ``numnet.set_seed`` governs), drawn again after every epoch.
    With ``batch_size=None`` every item is one window without a batch axis (as Keras's
    unbatched data set).
    """

    def __init__(self, data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                 shuffle=False, seed=None, start_index=None, end_index=None) -> None:
        super().__init__()
        self.data = data
        self.targets = targets
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        start = 0 if start_index is None else start_index
        end = len(data) if end_index is None else end_index
        n = end - start - (sequence_length - 1) * sampling_rate
        if targets is not None:
            n = min(n, len(targets))
        if n <= 0:
            raise ValueError(
                f"timeseries_dataset_from_array: no window of sequence_length={sequence_length} at "
                f"sampling_rate={sampling_rate} fits between start_index={start} and end_index={end} "
                f"({end - start} time steps).")
        self.positions = start + np.arange(0, n, sequence_stride)
        self.offsets = np.arange(sequence_length) * sampling_rate
        self._rng = make_generator(seed) if self.shuffle else None
        if self.shuffle:
            self._rng.shuffle(self.positions)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.positions)
        return -(-len(self.positions) // self.batch_size)

    def __getitem__(self, index):
        count = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < count:
            raise IndexError(f"TimeseriesDataset has {count} batches (0..{count - 1}); got index {index!r:.80}.")
        if self.batch_size is None:
            starts = self.positions[index]
        else:
            starts = self.positions[index * self.batch_size:(index + 1) * self.batch_size]
        windows = np.asarray(self.data[np.add.outer(starts, self.offsets)])
        if self.targets is None:
            return windows
        return windows, np.asarray(self.targets[starts])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self.positions)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over ``data`` (time on axis 0) with ``targets[start of window]``, as a
    ``TimeseriesDataset`` (a ``PyDataset``) that ``fit`` / ``evaluate`` / ``predict`` take.

    ``targets=None`` gives windows alone. Keras's checks: ``start_index`` in ``[0, len(data))``,
    ``end_index`` in ``(start_index, len(data))``, ``sampling_rate`` and ``sequence_stride`` in
    ``[1, len(data))`` (ValueError). Windows and batches as in the module docstring.

    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    >>> ds[0]
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4],
           [3, 4, 5]])
    """
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(f"`data` must be an array with time on axis 0, got {type(data).__name__}.")
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    if targets is not None and not isinstance(targets, np.ndarray):
        targets = np.asarray(targets)
    length = len(data)
    sequence_length = _integer("sequence_length", sequence_length)
    sequence_stride = _integer("sequence_stride", sequence_stride)
    sampling_rate = _integer("sampling_rate", sampling_rate)
    if sequence_length <= 0:
        raise ValueError(f"`sequence_length` must be higher than 0. Received: sequence_length={sequence_length}")
    if start_index is not None:
        start_index = _integer("start_index", start_index)
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= length:
            raise ValueError(f"`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {length}")
    if end_index is not None:
        end_index = _integer("end_index", end_index)
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: start_index={start_index}, "
                             f"and end_index={end_index}")
        if end_index >= length:
            raise ValueError(f"`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: sampling_rate={sampling_rate}")
    if sampling_rate >= length:
        raise ValueError(f"`sampling_rate` must be lower than the length of the data. Received: "
                         f"sampling_rate={sampling_rate}, for data of length {length}")
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: sequence_stride={sequence_stride}")
    if sequence_stride >= length:
        raise ValueError(f"`sequence_stride` must be lower than the length of the data. Received: "
                         f"sequence_stride={sequence_stride}, for data of length {length}")
    if batch_size is not None:
        batch_size = _integer("batch_size", batch_size)
        if batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size}")
    return TimeseriesDataset(data, targets, sequence_length, sequence_stride, sampling_rate, batch_size, shuffle,
                             seed, start_index, end_index)
