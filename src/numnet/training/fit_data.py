"""The training and validation data of one ``fit``, checked before any weight changes, as
``EpochIterator`` objects (``adapters``) that the epoch loop reads.

Arrays are validated whole (``numnet.training.data``) and never copied: a
``validation_split`` is a sorted index of held-out rows that validation gathers batch by
batch, like the shuffled training rows, so a ``np.memmap`` stays on disk. Generators and
data sets are checked batch by batch as they arrive.
"""

from __future__ import annotations

import numpy as np

from .adapters import (ArraySource, EpochIterator, check_steps, describe, is_iterator, is_source, known_endless,
                       make_source)
from .data import as_inputs, as_sample_weights, as_targets


def refuse_arguments(x, **given) -> None:
    """``y`` / ``sample_weight`` next to a generator or data set: they belong in its batches."""
    for name, value in given.items():
        if value is not None:
            raise ValueError(f"When x is {describe(x)}, {name} must not be passed: give it inside each batch, "
                             "as (x, y) or (x, y, sample_weight).")


def require_steps(x, steps, name: str, what: str) -> None:
    if steps is None and known_endless(x):
        raise ValueError(f"The {what} data ({describe(x)}) never ends; pass {name} to say how many batches make "
                         "one epoch.")


def training_data(model, x, y, sample_weight, class_weight, batch_size, shuffle, validation_split,
                  validation_data, steps_per_epoch, validation_steps, validation_batch_size, validations):
    """``(train, val, n_samples)``: ``EpochIterator``s (``val`` None without validation data)
    and the number of training samples (None for a generator or data set).

    ``validations``: how many validations this ``fit`` will run (epochs and ``validation_freq``);
    a one-shot iterator given as ``validation_data`` without ``validation_steps`` would be used
    up by the first, so more than one is refused.
    """
    steps_per_epoch = check_steps("steps_per_epoch", steps_per_epoch)
    validation_steps = check_steps("validation_steps", validation_steps)
    if validation_batch_size is not None:
        validation_batch_size = check_steps("validation_batch_size", validation_batch_size, allow_none=False)
    xs = ys = weights = None
    if is_source(x):
        refuse_arguments(x, y=y, sample_weight=sample_weight)
        if validation_split:
            raise ValueError(f"validation_split needs arrays (it holds out rows), but x is {describe(x)}; pass "
                             "validation_data instead.")
        require_steps(x, steps_per_epoch, "steps_per_epoch", "training")
        train = EpochIterator(make_source(model, x, "training", shuffle, True, class_weight), steps_per_epoch)
        n_samples = None
        train_index = None
    else:
        if x is None:
            raise ValueError("fit needs training data: fit(x, y).")
        xs = as_inputs(model, x)
        n = len(xs[0])
        ys = as_targets(model, y, n)
        weights = as_sample_weights(model, ys, sample_weight, class_weight)
        train_index = None
        if validation_split and validation_data is None:
            n_val = int(n * validation_split)
            if n_val == 0 or n_val == n:
                raise ValueError(f"validation_split={validation_split} of {n} samples leaves an empty split.")
            permutation = model.rng.permutation(n)
            held_out, train_index = np.sort(permutation[:n_val]), np.sort(permutation[n_val:])
        n_samples = n if train_index is None else len(train_index)
        train = EpochIterator(ArraySource(model, xs, ys, weights, batch_size, shuffle, train_index), steps_per_epoch)

    val = None
    if validation_data is not None:
        if is_source(validation_data):
            require_steps(validation_data, validation_steps, "validation_steps", "validation")
            if is_iterator(validation_data) and validation_steps is None and validations > 1:
                raise ValueError(
                    f"validation_data is {describe(validation_data)} without validation_steps: the first of this "
                    f"fit's {validations} validations would use it up. Pass validation_steps (with an endless "
                    "generator), or a PyDataset or arrays, which can be read again.")
            source = make_source(model, validation_data, "validation")
        else:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), "
                                 "a generator or a PyDataset.")
            x_val = as_inputs(model, validation_data[0], "x_val")
            y_val = as_targets(model, validation_data[1], len(x_val[0]), "y_val")
            w_val = validation_data[2] if len(validation_data) == 3 else None
            source = ArraySource(model, x_val, y_val, as_sample_weights(model, y_val, w_val, None),
                                 _validation_batch(model, batch_size, validation_batch_size, validation_steps))
        val = EpochIterator(source, validation_steps)
    elif train_index is not None:
        source = ArraySource(model, xs, ys, weights,
                             _validation_batch(model, batch_size, validation_batch_size, validation_steps),
                             index=held_out)
        val = EpochIterator(source, validation_steps)
    return train, val, n_samples


def _validation_batch(model, batch_size, validation_batch_size, validation_steps) -> int:
    """Validation over arrays runs larger batches than training (its figures are sums over
    samples, so they do not depend on the batching), unless the user fixed the batches:
    ``validation_batch_size``, or ``validation_steps``, which counts batches of ``batch_size``."""
    from .loop import inference_batch

    if validation_batch_size is not None:
        return validation_batch_size
    if validation_steps is not None:
        return batch_size
    return inference_batch(model, max(batch_size, 256))
