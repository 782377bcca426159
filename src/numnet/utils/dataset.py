"""``PyDataset``: a data set that hands out whole batches by index (Keras 3's protocol).

Subclass it and implement ``__len__`` (the number of batches in one epoch) and ``__getitem__(i)``
(batch ``i``: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``, each a NumPy array or a list/dict of them).
``on_epoch_begin`` / ``on_epoch_end`` run before / after every epoch (reshuffle there). ``workers``,
``use_multiprocessing`` and ``max_queue_size`` say how the training loop may prepare batches ahead of
the step that uses them (``numnet.training.prefetch``; docs/data.md). A data set without an end
overrides ``num_batches`` to return None; ``fit`` then needs ``steps_per_epoch``.
"""

from __future__ import annotations


class PyDataset:
    """Base class of batch-indexed data sets: ``len(ds)`` batches, ``ds[i]`` is batch ``i``."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"PyDataset workers must be an integer >= 1, got {workers!r:.80}.")
        if not isinstance(max_queue_size, int) or isinstance(max_queue_size, bool) or max_queue_size < 1:
            raise ValueError(f"PyDataset max_queue_size must be an integer >= 1, got {max_queue_size!r:.80}.")
        self.workers = workers
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = max_queue_size

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (the number of batches).")

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning one batch.")

    def on_epoch_begin(self) -> None:
        """Called before every epoch's first batch; does nothing unless a subclass overrides it."""

    def on_epoch_end(self) -> None:
        """Called after every epoch; does nothing unless a subclass overrides it."""

    def __iter__(self):
        """The batches in index order, without workers (endless when ``num_batches`` is None)."""
        count = self.num_batches
        index = 0
        while count is None or index < count:
            yield self[index]
            index += 1

    @property
    def num_batches(self) -> int | None:
        """The number of batches per epoch (``len(self)``); None for a data set without an end."""
        return len(self)
