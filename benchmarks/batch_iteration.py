"""The cost of reading one epoch of batches, without training: the loop before the data
pipelines (``loop._batches`` + ``_take``) against ``adapters.EpochIterator`` over an
``ArraySource``, alternating in one process. Case (a)'s data: 60,000 x 784 float32, batch 128,
shuffled. ``python benchmarks/batch_iteration.py [--rounds 3]``."""

from __future__ import annotations

import argparse
import time

import numpy as np

import numnet
from numnet import Dense, Input, Sequential
from numnet.training import adapters, loop
from numnet.training.data import as_inputs, as_targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    numnet.set_seed(0)
    model = Sequential([Input((784,)), Dense(256, activation="relu"), Dense(128, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(60000, 784)).astype(np.float32)
    xs, ys = as_inputs(model, x), as_targets(model, np.zeros(60000, np.intp), 60000)

    def before():
        order = model.rng.permutation(60000)
        for rows in loop._batches(60000, 128):
            index = order[rows]
            (loop._take(xs, index, model.dtype), loop._take_targets(model, ys, index), loop._take_weights(None, index))

    def adapters_path():
        for _ in adapters.EpochIterator(adapters.ArraySource(model, xs, ys, None, 128, True)).epoch():
            pass

    for _ in range(args.rounds):
        for f in (before, adapters_path):
            start = time.perf_counter()
            f()
            print(f"{f.__name__:14s} {time.perf_counter() - start:.4f} s")


if __name__ == "__main__":
    main()
