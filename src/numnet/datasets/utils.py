"""Splitting data and encoding labels."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..random import make_generator


def _n_test(test_size, n: int) -> int:
    """How many of ``n`` samples go to the test set (a fraction is rounded up)."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(
            f"test_size must be a fraction in (0, 1) or a number of samples, got {test_size!r}."
        )
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"test_size={n_test} samples leaves no train or no test data out of {n} samples; "
                f"give a count from 1 to {n - 1}."
            )
        return n_test
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size as a fraction must lie strictly between 0 and 1, got {test_size!r}.")
    n_test = math.ceil(test_size * n)
    if n_test >= n:
        raise ValueError(
            f"test_size={test_size!r} of {n} samples leaves no training data; use a smaller fraction."
        )
    return n_test


def _stratified_test_indices(labels: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``n_test`` indices so that each class keeps (as nearly as possible) its share."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n = labels.shape[0]
    if counts.min() < 2:
        raise ValueError(
            f"stratify needs at least 2 samples of every class; class {classes[counts.argmin()]!r} has 1."
        )
    if n_test < len(classes) or n - n_test < len(classes):
        raise ValueError(
            f"A stratified split of {n} samples into {n - n_test} train and {n_test} test cannot hold "
            f"all {len(classes)} classes on both sides; change test_size."
        )
    # Largest-remainder allocation: each class gets floor(share), then the samples left
    # over go to the classes with the largest fractional parts (ties broken at random).
    quota = counts * n_test / n
    per_class = np.floor(quota).astype(np.int64)
    left = n_test - int(per_class.sum())
    if left:
        order = np.lexsort((rng.random(len(classes)), -(quota - per_class)))
        per_class[order[:left]] += 1
    picked = [rng.permutation(np.flatnonzero(inverse == k))[:m] for k, m in enumerate(per_class)]
    return np.concatenate(picked)


def train_test_split(*arrays, test_size=0.25, shuffle=True, seed=None, stratify=None):
    """Split arrays into random train and test parts, row for row.

    ``arrays``: one or more arrays (or lists) with the same first dimension ``n``.
    ``test_size``: a fraction in (0, 1) of ``n`` (rounded up), or an int number of samples.
    ``shuffle``: if False, the first rows are the training set and the last ``n_test`` the
    test set, in order. ``seed``: an int or ``numpy.random.Generator`` for reproducible
    splits; ``None`` draws from numnet's generator (see ``numnet.set_seed``).
    ``stratify``: labels of shape ``(n,)``; if given, each class keeps its proportion
    in both parts (requires ``shuffle=True``).

    Returns a list ``[a_train, a_test, b_train, b_test, ...]``, as in scikit-learn, so
    ``x_train, x_test, y_train, y_test = train_test_split(x, y)``. Each part is a numpy
    array of shape ``(n_train, ...)`` or ``(n_test, ...)``.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array.")
    arrays = [np.asarray(a) for a in arrays]
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"Array {i} is a scalar; train_test_split splits arrays along their first axis.")
    lengths = [a.shape[0] for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"All arrays must have the same number of samples (first dimension), got {lengths}.")
    n = lengths[0]
    if n < 2:
        raise ValueError(f"Cannot split {n} sample(s) into a train and a test part.")
    n_test = _n_test(test_size, n)

    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify requires shuffle=True.")
        labels = np.asarray(stratify)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(f"stratify must have shape ({n},), the number of samples; got {labels.shape}.")
        rng = make_generator(seed)
        test_idx = _stratified_test_indices(labels, n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test_idx] = True
        train_idx = rng.permutation(np.flatnonzero(~is_test))
        test_idx = rng.permutation(test_idx)
    elif shuffle:
        order = make_generator(seed).permutation(n)
        train_idx, test_idx = order[n_test:], order[:n_test]
    else:
        train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)

    parts = []
    for a in arrays:
        parts += [a[train_idx], a[test_idx]]
    return parts


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """One-hot encode integer class labels.

    ``y``: labels 0..num_classes-1 of any shape ``s`` (integer-valued floats are accepted;
    a trailing axis of size 1, as in ``(n, 1)``, is dropped). ``num_classes``: defaults to
    ``max(y) + 1``. Returns an array of shape ``s + (num_classes,)`` and dtype ``dtype``
    with a single 1 in each row of the last axis.
    """
    labels = np.asarray(y)
    if labels.dtype == bool or not (
        np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)
    ):
        raise ValueError(f"to_categorical expects integer class labels, got an array of dtype {labels.dtype}.")
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError("to_categorical expects integer class labels, got non-integer values.")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"Class labels must be non-negative, got {labels.min()}.")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("Cannot infer num_classes from empty labels; pass num_classes.")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")
    num_classes = int(num_classes)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"Label {labels.max()} is out of range for num_classes={num_classes} (0..{num_classes - 1}).")
    out = np.zeros(labels.shape + (num_classes,), dtype=np.dtype(dtype))
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out
