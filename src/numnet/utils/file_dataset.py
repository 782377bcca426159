"""What ``image_dataset_from_directory`` and ``text_dataset_from_directory`` share: finding the
files and their labels, the training / validation split, and the ``PyDataset`` that hands
out batches of them.

Keras's rules, which both follow:

* ``labels="inferred"``: every sub-folder of ``directory`` is a class, in alphanumeric order
  (or the order of ``class_names``, which must name sub-folders); its files, found
  recursively, are labelled with the class's index. Hidden folders (``.name``) are not classes.
  ``labels=None``: every file under ``directory``, no labels. A list / tuple of integers: one
  label per file, the files in the alphanumeric order of their paths.
* The files are shuffled once (``shuffle=True``) from ``seed``; the last
  ``int(validation_split * n)`` of that order are the validation subset, the rest the
  training subset. The same ``seed`` gives the same order, so the two subsets never overlap.
* ``label_mode``: ``"int"`` (``int32`` of shape ``(batch,)``), ``"categorical"`` (one-hot
  ``float32`` ``(batch, classes)``), ``"binary"`` (``float32`` ``(batch, 1)``, two classes
  only) or ``None`` (batches hold the inputs alone).
"""

from __future__ import annotations

import os

import numpy as np

from ..random import make_generator
from .dataset import PyDataset

LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(what: str, labels, label_mode, class_names, batch_size, validation_split, subset, shuffle,
                    seed) -> None:
    """The checks Keras makes before reading the folder; a ValueError names the argument."""
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"{what}: labels must be 'inferred', None or a list of integer labels (one per file), got "
                         f"{labels!r:.80}.")
    if class_names is not None and not isinstance(labels, str):
        raise ValueError(f"{what}: class_names can only be given with labels='inferred'.")
    if class_names is not None and (not isinstance(class_names, (list, tuple)) or not class_names
                                    or not all(isinstance(c, str) for c in class_names)
                                    or len(set(class_names)) != len(class_names)):
        raise ValueError(f"{what}: class_names must be a list of distinct folder names, got {class_names!r:.120}.")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{what}: label_mode must be one of {LABEL_MODES}, got {label_mode!r:.40}.")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"{what}: batch_size must be a positive integer or None, got {batch_size!r:.40}.")
    if validation_split is not None and (isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float)) or not 0 < validation_split < 1):
        raise ValueError(f"{what}: validation_split must be between 0 and 1 (exclusive), got {validation_split!r:.40}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"{what}: subset must be 'training', 'validation', 'both' or None, got {subset!r:.40}.")
    if (validation_split is None) != (subset is None):
        raise ValueError(f"{what}: give validation_split and subset together (got validation_split="
                         f"{validation_split!r:.20}, subset={subset!r:.20}).")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"{what}: seed must be a non-negative integer or None, got {seed!r:.40}.")
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(f"{what}: with validation_split and shuffle=True give a seed, so that the training and "
                         "validation subsets are drawn from the same order and never overlap.")


def index_directory(what: str, directory, labels, formats: tuple, class_names=None, follow_links=False):
    """``(paths, labels or None, class_names or None)``: the files under ``directory`` whose
    name ends with one of ``formats`` (case-insensitive), sorted by path within each class."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{what}: directory {directory!r} does not exist or is not a folder.")
    if labels == "inferred":
        found = sorted(entry for entry in os.listdir(directory)
                       if not entry.startswith(".") and os.path.isdir(os.path.join(directory, entry)))
        if class_names is not None:
            missing = [c for c in class_names if c not in found]
            if missing:
                raise ValueError(f"{what}: class_names {missing} are not sub-folders of {directory!r}; its "
                                 f"sub-folders are {found}.")
            found = list(class_names)
        folders = [(os.path.join(directory, name), index) for index, name in enumerate(found)]
    else:
        folders = [(directory, None)]
    paths, indices = [], []
    for folder, index in folders:
        for path in _files(folder, formats, follow_links):
            paths.append(path)
            indices.append(index)
    if labels == "inferred":
        return paths, np.asarray(indices, dtype=np.int32), list(found)
    if labels is None:
        return paths, None, None
    given = np.asarray(labels)
    if given.ndim != 1 or given.dtype.kind not in "iu" or (given.size and given.min() < 0):
        raise ValueError(f"{what}: labels must be non-negative integers, one per file, got {labels!r:.80}.")
    if len(given) != len(paths):
        raise ValueError(f"{what}: labels has {len(given)} entries but {directory!r} holds {len(paths)} files "
                         f"ending in {formats}.")
    return paths, given.astype(np.int32), [str(label) for label in sorted(set(given.tolist()))]


def _files(folder: str, formats: tuple, follow_links: bool) -> list:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in files if name.lower().endswith(formats))
    return sorted(found)


def shuffled_split(paths, labels, shuffle, seed, validation_split, subset):
    """``[(paths, labels)]`` for ``subset`` (two entries for ``"both"``): shuffled once from
    ``seed``, the last ``int(validation_split * n)`` files being the validation subset."""
    paths = list(paths)
    if shuffle:
        order = make_generator(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        labels = None if labels is None else labels[order]
    if validation_split is None:
        return [(paths, labels)]
    n_val = int(validation_split * len(paths))
    n_train = len(paths) - n_val
    parts = {"training": (paths[:n_train], None if labels is None else labels[:n_train]),
             "validation": (paths[n_train:], None if labels is None else labels[n_train:])}
    return [parts["training"], parts["validation"]] if subset == "both" else [parts[subset]]


class FileDataset(PyDataset):
    """Batches of files read on demand: ``len(ds)`` batches of ``batch_size`` (the last one
    may be smaller), ``ds[i]`` is ``(inputs, labels)`` (``inputs`` alone without labels).
    ``on_epoch_end`` reshuffles when made with ``shuffle=True``. Iterating gives one epoch of
    batches; ``to_arrays()`` every sample at once.

    ``class_names`` (None without labels), ``file_paths`` (in the current order) and
    ``labels`` are Keras's attributes. Subclasses implement ``load(path)`` and ``stack``.
    """

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed) -> None:
        super().__init__()
        self.file_paths = list(paths)
        self.labels = labels
        self.class_names = class_names
        self.label_mode = label_mode if labels is not None else None
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        # Its own stream for the epochs' orders, apart from the one that drew the split.
        self._rng = make_generator(None if seed is None else [int(seed), 1]) if shuffle else None

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def _encoded(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[labels]
        if self.label_mode == "binary":
            return labels.astype(np.float32)[:, None]
        return labels.astype(np.int32)

    def __getitem__(self, index):
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices are batch numbers (int), got {index!r:.40}.")
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"batch {index} out of range: the data set has {count} batches.")
        index = int(index) % count
        if self.batch_size is None:  # Keras's batch_size=None: single samples, no batch axis
            inputs = self.stack([self.load(self.file_paths[index])])[0]
            return inputs if self.labels is None else (inputs, self._encoded(self.labels[index:index + 1])[0])
        start = index * self.batch_size
        stop = min(start + self.batch_size, len(self.file_paths))
        inputs = self.stack([self.load(path) for path in self.file_paths[start:stop]])
        return inputs if self.labels is None else (inputs, self._encoded(self.labels[start:stop]))

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def on_epoch_end(self) -> None:
        """A new order of the samples for the next epoch (``shuffle=True`` only)."""
        if self._rng is not None:
            order = self._rng.permutation(len(self.file_paths))
            self.file_paths = [self.file_paths[i] for i in order]
            if self.labels is not None:
                self.labels = self.labels[order]

    def to_arrays(self):
        """Every sample in the current order: ``(inputs, labels)`` (``inputs`` alone without labels)."""
        inputs = self.stack([self.load(path) for path in self.file_paths])
        return inputs if self.labels is None else (inputs, self._encoded(self.labels))

    def load(self, path: str):
        raise NotImplementedError

    def stack(self, items: list) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        classes = "" if self.class_names is None else f", classes={self.class_names!r:.80}"
        return (f"<{type(self).__name__} files={len(self.file_paths)}, batches={len(self)}, "
                f"batch_size={self.batch_size}{classes}>")
