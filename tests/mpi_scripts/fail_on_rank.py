"""Raises on one rank in the middle of fit: the whole job must end, the error shown.

``mpiexec -n N python fail_on_rank.py RANK`` (RANK raises ValueError at its third step,
the others would wait in the next Allreduce)."""

import sys

import numpy as np

import numnet

FAILING = int(sys.argv[1])


class Boom(numnet.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2 and numnet.distribution.rank() == FAILING:
            raise ValueError(f"boom on rank {FAILING}")


numnet.distribution.set_distribution(numnet.distribution.DataParallel())
numnet.set_seed(0)
model = numnet.Sequential([numnet.Input((3,)), numnet.Dense(1)])
model.compile("sgd", "mse")
x = np.ones((64, 3), dtype=np.float32)
model.fit(x, x[:, :1], batch_size=4, epochs=50, verbose=0, callbacks=[Boom()])
print("finished without the error")
