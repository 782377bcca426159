"""``split_dataset``: cut in-memory arrays into a left and a right part, as Keras's
``keras.utils.split_dataset`` (which returns ``tf.data`` datasets; numnet returns arrays)."""

from __future__ import annotations

import numpy as np

from ..random import make_generator


def _size(value, name: str, total: int):
    """``value`` checked as Keras checks it: an int in (0, total), a float in (0, 1), or None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"split_dataset {name} must be an int, a float or None, got {type(value).__name__}.")
    if isinstance(value, (int, np.integer)):
        if not 0 < value < total:
            raise ValueError(f"split_dataset {name} must be a positive integer smaller than {total} (the number of "
                             f"samples) or a fraction in (0, 1); got {name}={value}.")
        return int(value)
    if not 0 < value < 1:
        raise ValueError(f"split_dataset {name} must be a positive integer smaller than {total} (the number of "
                         f"samples) or a fraction in (0, 1); got {name}={value}.")
    return float(value)


def _sizes(left, right, total: int) -> tuple[int, int]:
    if left is None and right is None:
        raise ValueError("split_dataset needs left_size or right_size (or both); got neither.")
    left, right = _size(left, "left_size", total), _size(right, "right_size", total)
    if isinstance(left, float) and isinstance(right, float) and left + right > 1:
        raise ValueError(f"split_dataset left_size + right_size must be at most 1, got {left} + {right}.")
    # Keras's rounding: Python's round (halves to even) of fraction * number of samples.
    n_left = round(left * total) if isinstance(left, float) else left
    n_right = round(right * total) if isinstance(right, float) else right
    if n_left is None:
        n_left = total - n_right
    elif n_right is None:
        n_right = total - n_left
    if n_left + n_right > total:
        raise ValueError(f"split_dataset: left_size and right_size ask for {n_left} + {n_right} samples; the data "
                         f"set has {total}.")
    for n, side in ((n_left, "left"), (n_right, "right")):
        if n == 0:
            raise ValueError(f"split_dataset: with {total} samples, left_size={left} and right_size={right} leave "
                             f"the {side} part empty.")
    return n_left, n_right


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """``(left, right)``: the first ``left_size`` samples and the last ``right_size``
    samples of ``dataset`` (after shuffling them all with ``shuffle=True``).

    ``dataset``: an array (samples along axis 0), or a tuple, list or dict of arrays with
    the same number of samples (e.g. ``(x, y)``); each part has the same structure. Sizes,
    as in Keras: an int is a number of samples in (0, n); a float a fraction in (0, 1),
    ``round(fraction * n)`` samples; None the complement of the other size. When both are
    given and add up to less than n, the samples in between belong to neither part.
    ``seed``: an int or a ``numpy.random.Generator`` for the shuffle (None: drawn from
    numnet's generator, which ``numnet.set_seed`` controls).

    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> left.shape, right.shape
    ((8,), (2,))
    """
    if isinstance(dataset, dict):
        keys, arrays = list(dataset), [np.asarray(v) for v in dataset.values()]
        rebuild = lambda parts: dict(zip(keys, parts))  # noqa: E731
    elif isinstance(dataset, (tuple, list)):
        arrays = [np.asarray(v) for v in dataset]
        rebuild = type(dataset)
    else:
        arrays = [np.asarray(dataset)]
        rebuild = lambda parts: parts[0]  # noqa: E731
    if not arrays:
        raise ValueError("split_dataset got an empty tuple / list / dict; give an array or a tuple of arrays.")
    for i, array in enumerate(arrays):
        if array.ndim == 0:
            raise ValueError(f"split_dataset: item {i} of dataset is a scalar; each must be an array of samples.")
    total = len(arrays[0])
    lengths = [len(a) for a in arrays]
    if any(n != total for n in lengths):
        raise ValueError(f"split_dataset: the arrays of dataset must have the same number of samples, got {lengths}.")
    n_left, n_right = _sizes(left_size, right_size, total)
    order = make_generator(seed).permutation(total) if shuffle else np.arange(total)
    left_rows, right_rows = order[:n_left], order[total - n_right:]
    return rebuild([a[left_rows] for a in arrays]), rebuild([a[right_rows] for a in arrays])
