"""Where ``fit`` / ``evaluate`` / ``predict`` get their batches from: arrays, a Python
generator or iterator, or a ``numnet.utils.PyDataset``; and ``EpochIterator``, which cuts
them into epochs with Keras 3's ``steps_per_epoch`` rules.

Every source yields whole batches as the step takes them, ``(xs, ys, sample_weights)`` (or
``(xs,)`` for ``predict``), lists of arrays in the model dtype. Arrays are gathered one batch
at a time (rows of a ``np.memmap`` are read when their batch comes, never the whole file);
generator and data set batches are checked one by one (``batches.BatchChecker``).

Epochs (Keras 3's ``EpochIterator``):

* without ``steps``, an epoch is one pass over the data; a generator's first pass ends when
  it runs dry, which tells its length;
* with ``steps``, an epoch is ``steps`` batches, and the next epoch continues where the last
  stopped: over arrays and a finite ``PyDataset`` a new pass (a new shuffle) starts when one
  ends, and an epoch cut short by the end of a pass warns "Your input ran out of data"; a
  generator is one stream for the whole ``fit``, and running dry warns the same way.
"""

from __future__ import annotations

import itertools
import types
import warnings

import numpy as np

from ..utils.dataset import PyDataset
from .batches import BatchChecker
from .prefetch import Prefetcher, batch_error

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
           "generate at least `steps_per_epoch * epochs` batches.")

# Iterators known to never end (itertools.repeat without ``times`` has no length hint).
_ENDLESS = (itertools.count, itertools.cycle)


def is_iterator(x) -> bool:
    """A Python generator or another one-shot iterator (not an array, list or dict)."""
    return isinstance(x, types.GeneratorType) or (
        hasattr(x, "__next__") and hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict)))


def is_source(x) -> bool:
    """Whether ``x`` is a generator / iterator or a ``PyDataset`` (not arrays)."""
    return isinstance(x, PyDataset) or is_iterator(x)


def known_endless(x) -> bool:
    """An iterator that certainly never ends, or a ``PyDataset`` whose ``num_batches`` is None."""
    if isinstance(x, PyDataset):
        return dataset_length(x) is None
    if isinstance(x, _ENDLESS):
        return True
    if isinstance(x, itertools.repeat):
        try:
            x.__length_hint__()
        except TypeError:
            return True
    return False


def dataset_length(dataset) -> int | None:
    length = dataset.num_batches
    if length is None:
        return None
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"{type(dataset).__name__}.num_batches (len) must be a non-negative integer or None, "
                         f"got {length!r:.80}.")
    return int(length)


def describe(x) -> str:
    if isinstance(x, PyDataset):
        return f"the PyDataset {type(x).__name__}"
    return "a generator" if isinstance(x, types.GeneratorType) else f"an iterator ({type(x).__name__})"


class ArraySource:
    """Validated arrays; ``index`` (sorted rows, e.g. a validation split) or all rows."""

    def __init__(self, model, xs, ys, weights, batch_size: int, shuffle: bool = False, index=None,
                 targets: bool = True) -> None:
        from .loop import _take, _take_targets, _take_weights

        self.model, self.xs, self.ys, self.weights = model, xs, ys, weights
        self.index = index
        self.n = len(xs[0]) if index is None else len(index)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.targets = targets
        self.num_batches = -(-self.n // batch_size)
        self._take, self._take_targets, self._take_weights = _take, _take_targets, _take_weights

    def pass_order(self):
        """The rows of one pass in order (None: all rows, unshuffled, read as slices: views)."""
        if self.shuffle:
            return self.model.rng.permutation(self.n if self.index is None else self.index)
        return self.index

    def batches(self, order, start: int, stop: int):
        """The step data of batches ``start .. stop - 1`` of a pass in ``order``."""
        model, size, n = self.model, self.batch_size, self.n
        dtype = model.dtype
        for b in range(start, stop):
            rows = slice(b * size, min((b + 1) * size, n))
            index = rows if order is None else order[rows]
            if not self.targets:
                yield (self._take(self.xs, index, dtype),)
                continue
            yield (self._take(self.xs, index, dtype), self._take_targets(model, self.ys, index),
                   self._take_weights(self.weights, index))

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class DatasetSource:
    """A ``PyDataset``: batch ``i`` is ``dataset[i]``, prepared ahead by its workers."""

    def __init__(self, model, dataset, label: str, shuffle: bool, needs_targets: bool = True,
                 class_weight=None) -> None:
        self.model = model
        self.dataset = dataset
        self.label = label
        self.num_batches = dataset_length(dataset)
        # Keras shuffles the order of a finite data set's batches (fit's shuffle=True);
        # the order comes from the model's seeded generator.
        self.shuffle = shuffle and self.num_batches is not None
        self.check = BatchChecker(model, label, needs_targets, class_weight)
        workers, processes, queue = _worker_settings(dataset)
        self.prefetcher = Prefetcher(dataset, workers, processes, queue, type(dataset).__name__) \
            if workers > 1 or processes else None
        self.seen = 0

    def pass_order(self):
        if self.num_batches is None:
            return None
        if self.shuffle:
            return self.model.rng.permutation(self.num_batches)
        return np.arange(self.num_batches)

    def batches(self, order, start: int, stop: int):
        indices = range(start, stop) if order is None else order[start:stop]
        indices = [int(i) for i in indices]
        self.dataset.on_epoch_begin()
        if self.prefetcher is not None:
            raw = self.prefetcher.run(indices)
        else:
            raw = (self._getitem(i) for i in indices)
        for index, batch in zip(indices, raw):
            yield self.check(batch, index)

    def build_model(self) -> None:
        """Build an unbuilt model (a Sequential without an input shape) from batch 0."""
        if self.num_batches != 0:
            self.check(self._getitem(0), 0)

    def _getitem(self, index: int):
        try:
            return self.dataset[index]
        except Exception as exc:  # noqa: BLE001 - re-raised with the batch index
            raise batch_error(exc, f"{type(self.dataset).__name__}[{index}]") from exc

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()

    def close(self) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close()


class IteratorSource:
    """A generator or iterator: one stream of batches, read as the steps need them."""

    num_batches = None

    def __init__(self, model, iterator, label: str, needs_targets: bool = True, class_weight=None) -> None:
        self.iterator = iter(iterator)
        self.label = label
        self.check = BatchChecker(model, label, needs_targets, class_weight)
        self.count = 0  # batches read so far
        self.exhausted = False
        self._peeked = []

    def build_model(self) -> None:
        """Build an unbuilt model from the first batch, which is kept for the first step."""
        batch = next(self.take(1), None)
        if batch is not None:
            self.count -= 1
            self._peeked.append(batch)

    def take(self, steps: int | None):
        """Up to ``steps`` (all, when None) further batches; sets ``exhausted`` when it runs dry."""
        taken = 0
        while steps is None or taken < steps:
            if self._peeked:
                self.count += 1
                taken += 1
                yield self._peeked.pop()
                continue
            if self.exhausted:
                return
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.exhausted = True
                return
            except Exception as exc:  # noqa: BLE001 - re-raised with the batch index
                self.exhausted = True
                raise batch_error(exc, f"{self.label[0].upper()}{self.label[1:]} (batch {self.count})") from exc
            index = self.count
            self.count += 1
            taken += 1
            yield self.check(batch, index)

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


def _worker_settings(dataset):
    """``workers``, ``use_multiprocessing``, ``max_queue_size`` of a data set, checked (a
    subclass that did not call ``super().__init__`` gets Keras's defaults, with its warning)."""
    missing = [name for name in ("workers", "use_multiprocessing", "max_queue_size") if not hasattr(dataset, name)]
    if missing:
        warnings.warn(f"{type(dataset).__name__} should call super().__init__(**kwargs) in its constructor "
                      "(kwargs may include workers, use_multiprocessing, max_queue_size); using workers=1.",
                      stacklevel=4)
    workers = getattr(dataset, "workers", 1)
    queue = getattr(dataset, "max_queue_size", 10)
    for name, value in (("workers", workers), ("max_queue_size", queue)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{type(dataset).__name__}.{name} must be an integer >= 1, got {value!r:.80}.")
    return int(workers), bool(getattr(dataset, "use_multiprocessing", False)), int(queue)


def make_source(model, x, what: str, shuffle: bool = False, needs_targets: bool = True, class_weight=None):
    """A ``DatasetSource`` or ``IteratorSource`` for ``x`` (a data set or iterator); ``what``
    says where it is used ("training", "validation", "evaluation", "prediction")."""
    label = f"the {what} data ({describe(x)})"
    if isinstance(x, PyDataset):
        source = DatasetSource(model, x, label, shuffle, needs_targets, class_weight)
    else:
        source = IteratorSource(model, x, label, needs_targets, class_weight)
    if getattr(model, "_plan", None) is None:
        source.build_model()
    return source


class EpochIterator:
    """Epochs of batches from one source, with Keras 3's ``steps_per_epoch`` rules (module
    docstring). ``epoch()`` yields the step data of one epoch; afterwards ``ran_out`` says
    whether the data ended before ``steps`` batches."""

    def __init__(self, source, steps: int | None = None) -> None:
        self.source = source
        self.steps = steps
        self._order = None
        self._position = None  # where the current pass has got to (None: start a new one)
        self.ran_out = False

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch: ``steps``, the source's length, or None while unknown."""
        if self.steps:
            return self.steps
        return self.source.num_batches

    def epoch(self):
        self.ran_out = False
        source = self.source
        if isinstance(source, IteratorSource):
            yield from source.take(self.steps)
            if source.exhausted:
                if source.num_batches is None and not self.steps:
                    source.num_batches = source.count  # a first pass run dry: its length is known
                self.ran_out = bool(self.steps)
        else:
            n = source.num_batches
            if self._position is None or not self.steps:
                self._order, self._position = source.pass_order(), 0
            start = self._position
            stop = start + (self.steps or n) if n is None else min(start + (self.steps or n), n)
            yield from source.batches(self._order, start, stop)
            self._position = stop
            if n is not None and stop >= n:
                self.ran_out = bool(self.steps) and stop - start < self.steps
                self._position = None
        source.on_epoch_end()

    def close(self) -> None:
        self.source.close()


def check_steps(name: str, value, allow_none: bool = True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r:.80}.")
    return int(value)


def check_validation_freq(value):
    """``validation_freq``: a positive int (every that many epochs) or a list of epoch
    numbers, counted from 1 (Keras)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"validation_freq must be a positive integer or a list of epochs, got {value!r}.")
        return int(value)
    if isinstance(value, (list, tuple)):
        for epoch in value:
            if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
                raise ValueError(f"validation_freq lists the epochs to validate after, counted from 1; "
                                 f"{epoch!r:.80} is not one.")
        return [int(e) for e in value]
    raise TypeError(f"validation_freq must be an int or a list of epochs, got {type(value).__name__}.")


def should_validate(epoch: int, freq) -> bool:
    """Validate after ``epoch`` (0-based)?"""
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq
