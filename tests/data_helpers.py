"""Models, arrays and data sets shared by the data-pipeline tests (module level, so that
worker processes can use them)."""

from __future__ import annotations

import threading

import numpy as np

import numnet
from numnet import Dense, Input, Sequential
from numnet.utils import PyDataset

N, FEATURES, BATCH = 60, 5, 8


def arrays(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:2]).astype(np.float32)
    return x, y


def model(seed: int = 0, metrics=None):
    numnet.set_seed(seed)
    net = Sequential([Input((FEATURES,)), Dense(7, activation="tanh"), Dense(1)])
    net.compile("adam", "mse", metrics=metrics)
    return net


def weights_equal(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


def batches_of(x, y, batch=BATCH, w=None):
    """The unshuffled batches the array path trains on."""
    out = []
    for start in range(0, len(x), batch):
        part = (x[start:start + batch], y[start:start + batch])
        out.append(part if w is None else part + (w[start:start + batch],))
    return out


def generator(x, y, passes=1, batch=BATCH, w=None):
    for _ in range(passes):
        yield from batches_of(x, y, batch, w)


class ArrayDataset(PyDataset):
    """Batch ``i`` of ``x, y`` (optionally reordered per epoch by ``on_epoch_end``)."""

    def __init__(self, x, y, batch=BATCH, reshuffle=False, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch = x, y, batch
        self.order = np.arange(len(x))
        self.reshuffle = reshuffle
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        rows = self.order[i * self.batch:(i + 1) * self.batch]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1
        if self.reshuffle:  # a fixed, data-set-owned reorder: the same in every process
            self.order = np.random.default_rng(self.epochs_ended).permutation(len(self.x))


class FailingDataset(ArrayDataset):
    """``__getitem__(bad)`` raises ValueError."""

    def __init__(self, x, y, bad=3, **kwargs):
        super().__init__(x, y, **kwargs)
        self.bad = bad

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"cannot read the file of batch {i}")
        return super().__getitem__(i)


class EndlessDataset(ArrayDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, i):
        return super().__getitem__(i % len(self))


class CountingDataset(ArrayDataset):
    """Records which batches were read."""

    def __init__(self, x, y, **kwargs):
        super().__init__(x, y, **kwargs)
        self.read = []
        self.lock = threading.Lock()

    def __getitem__(self, i):
        with self.lock:
            self.read.append(i)
        return super().__getitem__(i)


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("numnet-prefetch")]
