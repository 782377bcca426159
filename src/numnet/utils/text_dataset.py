"""``text_dataset_from_directory``: a folder of ``.txt`` files (one sub-folder per class) as
batches of strings, a NumPy unicode array of shape ``(batch,)``, with Keras's arguments.

Each file is read as UTF-8 when its batch is made. A file that cannot be read or is not
UTF-8 raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import os

import numpy as np

from .file_dataset import FileDataset, check_arguments, index_directory, shuffled_split

TEXT_FORMATS = (".txt",)


class TextDataset(FileDataset):
    """Batches of texts read from files: ``(texts, labels)``, ``texts`` a ``str`` array of
    shape ``(batch,)``. See ``text_dataset_from_directory``."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed, max_length) -> None:
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.max_length = max_length

    def load(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8", newline="") as f:  # the text as written, \r\n kept
                text = f.read() if self.max_length is None else f.read(self.max_length)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"Cannot read the text file {path!r} as UTF-8: {exc}") from exc
        return text

    def stack(self, items: list) -> np.ndarray:
        return np.array(items, dtype=np.str_) if items else np.zeros((0,), dtype=np.str_)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Text files in ``directory`` as a ``TextDataset`` (a ``numnet.utils.PyDataset``) of
    ``(texts, labels)`` batches::

        reviews/neg/1.txt, reviews/pos/7.txt, ...
        train = text_dataset_from_directory("reviews", validation_split=0.2, subset="training", seed=1)
        train.class_names                     # ["neg", "pos"]

    ``max_length`` keeps at most that many characters of each text. The other arguments
    are ``image_dataset_from_directory``'s (see ``numnet.utils.file_dataset``).
    """
    what = "text_dataset_from_directory"
    check_arguments(what, labels, label_mode, class_names, batch_size, validation_split, subset, shuffle, seed)
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer))
                                   or max_length < 1):
        raise ValueError(f"{what}: max_length must be a positive integer or None, got {max_length!r:.40}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    paths, found, names = index_directory(what, directory, labels, TEXT_FORMATS, class_names, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{what}: label_mode='binary' needs exactly 2 classes, found {len(names)}: {names!r:.120}.")
    if not paths:
        raise ValueError(f"{what}: no text files found in {os.fspath(directory)!r} (files ending in {TEXT_FORMATS}).")
    if verbose:
        print(f"Found {len(paths)} files" + ("." if names is None else f" belonging to {len(names)} classes."))
    datasets = [TextDataset(part_paths, part_labels, names, label_mode, batch_size, shuffle, seed, max_length)
                for part_paths, part_labels in shuffled_split(paths, found, shuffle, seed, validation_split, subset)]
    if verbose and validation_split is not None:
        for dataset, name in zip(datasets, ["training", "validation"] if subset == "both" else [subset]):
            print(f"Using {len(dataset.file_paths)} files for {name}.")
    return tuple(datasets) if subset == "both" else datasets[0]
