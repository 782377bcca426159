"""evaluate(verbose=1) under DataParallel: the global figures are printed by rank 0 only."""

import numpy as np

import numnet

numnet.distribution.set_distribution(numnet.distribution.DataParallel())
numnet.set_seed(3)
x = np.random.default_rng(0).normal(size=(10, 3))
model = numnet.Sequential([numnet.Input((3,)), numnet.Dense(1)], dtype="float64")
model.compile("sgd", "mse")
model.evaluate(x, x[:, :1], batch_size=4, verbose=1)
