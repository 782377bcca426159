"""Run under mpiexec by tests/test_callbacks_backup_mpi.py: a fit interrupted at epoch 3 and
resumed with BackupAndRestore under DataParallel; each rank writes its final weights and
whether the backup directory is gone."""

import os
import sys

import numpy as np

import numnet
from numnet.callbacks import BackupAndRestore, Callback


class Interrupt(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise RuntimeError("interrupted")


def make():
    inputs = numnet.Input((4,))
    h = numnet.Dropout(0.2, seed=4)(numnet.Dense(8, activation="relu", seed=1)(inputs))
    model = numnet.Model(inputs, numnet.Dense(1, seed=2)(h), seed=3, dtype="float64")
    model.compile("adam", "mse")
    return model


def data():
    x = np.random.default_rng(0).standard_normal((60, 4))
    return x, x.sum(axis=1, keepdims=True)


def resumed(backup_dir: str) -> list:
    x, y = data()
    model = make()
    backup = BackupAndRestore(backup_dir, save_freq=3, double_checkpoint=True)
    try:
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[backup, Interrupt()])
    except RuntimeError:
        pass
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[backup])
    return model.get_weights()


def main() -> None:
    outdir = sys.argv[1]
    dist = numnet.distribution.DataParallel()
    numnet.distribution.set_distribution(dist)
    backup_dir = os.path.join(outdir, "backup")
    weights = resumed(backup_dir)
    np.savez(os.path.join(outdir, f"rank{dist.rank}.npz"), *weights, gone=np.array(not os.path.exists(backup_dir)))


if __name__ == "__main__":
    main()
