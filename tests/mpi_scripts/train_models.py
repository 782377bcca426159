"""Trains small float64 models and writes what the distribution tests compare.

Run as ``mpiexec -n N python train_models.py OUTDIR`` (every rank writes
``OUTDIR/rank<r>.npz``), or import ``run(outdir)`` to get the one-process figures.
The data does not split evenly: 50 samples, validation_split 0.2 (40 training rows),
batch 16 (shares of 16, 16 and 8 rows; with 3 processes 6/5/5 and 3/3/2 rows); the
regression model's batch of 2 leaves a process of 3 with an empty share.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import numnet
from numnet import callbacks, metrics

COUNTS = {"save": 0, "save_weights": 0}


def _count_saves():
    """Count the files this process writes (the test checks only rank 0 wrote)."""
    import numnet.saving as saving

    original_model, original_weights = saving.save_model, saving.save_weights

    def save_model(model, path):
        COUNTS["save"] += 1
        return original_model(model, path)

    def save_weights(model, path):
        COUNTS["save_weights"] += 1
        return original_weights(model, path)

    saving.save_model, saving.save_weights = save_model, save_weights


def classifier(outdir: str) -> dict:
    numnet.set_seed(3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    model = numnet.Sequential([numnet.Input((6,)), numnet.Dense(12, activation="tanh"), numnet.Dropout(0.25),
                               numnet.Dense(3, activation="softmax")], dtype="float64")
    model.compile(numnet.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2)])
    cbs = [callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
           callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
           callbacks.CSVLogger(os.path.join(outdir, "log.csv")),
           callbacks.ModelCheckpoint(os.path.join(outdir, "ckpt-{epoch}.npz"), save_weights_only=True)]
    history = model.fit(x, y, batch_size=16, epochs=12, validation_split=0.2, callbacks=cbs, verbose=0)
    figures = model.evaluate(x, y, batch_size=7)
    predicted = model.predict(x, batch_size=9)
    path = os.path.join(outdir, "final.npz")
    model.save(path)
    loaded = numnet.load_model(path)
    return {
        "weights": np.concatenate([w.ravel() for w in model.get_weights()]),
        "loaded": np.concatenate([w.ravel() for w in loaded.get_weights()]),
        "history": np.array([history.history[k] for k in sorted(history.history)]),
        "history_keys": np.array(sorted(history.history)),
        "evaluate": np.array(figures),
        "predict": predicted,
        "lr": np.array(model.optimizer.learning_rate),
        "iterations": np.array(model.optimizer.iterations),
    }


def absolute_error(y_true, y_pred):
    """A function metric (numnet.ops): the mean absolute error per sample."""
    return numnet.ops.mean(numnet.ops.abs(y_pred - y_true), axis=-1)


class MeanAbsolute(metrics.Metric):
    """A Keras-style metric whose state lives in add_variable Variables."""

    def __init__(self, name="mean_absolute", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(numnet.ops.sum(numnet.ops.abs(y_pred - y_true)))
        self.count.assign_add(float(y_pred.size))

    def result(self):
        return self.total / numnet.ops.maximum(self.count, 1.0)


def binary() -> dict:
    """Confusion-count metrics (AUC, Precision, Recall, F1Score): 23 samples, batches of 6."""
    numnet.set_seed(19)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(23, 4))
    y = (x[:, :1] - 0.3 * x[:, 1:2] + 0.3 * rng.normal(size=(23, 1)) > 0).astype(np.float64)
    model = numnet.Sequential([numnet.Input((4,)), numnet.Dense(5, activation="relu"),
                               numnet.Dense(1, activation="sigmoid")], dtype="float64")
    model.compile(numnet.optimizers.Adam(0.05), "binary_crossentropy",
                  metrics=["accuracy", metrics.AUC(), metrics.Precision(), metrics.Recall(),
                           metrics.F1Score(average="micro", threshold=0.5)])
    history = model.fit(x, y, batch_size=6, epochs=3, verbose=0, validation_data=(x[:9], y[:9]))
    return {"history": np.array([history.history[k] for k in sorted(history.history)]),
            "evaluate": np.array(model.evaluate(x, y, batch_size=4))}


def regression() -> dict:
    numnet.set_seed(5)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(11, 4))
    y = np.stack([x @ [1.0, -2.0, 0.5, 0.0], x[:, 0] * x[:, 1]], axis=1)
    w = rng.uniform(0.5, 2.0, size=11)
    model = numnet.Sequential([numnet.Input((4,)), numnet.Dense(8, activation="relu"), numnet.Dense(2)],
                              dtype="float64")
    model.compile(numnet.optimizers.SGD(0.05, momentum=0.9), "mse",
                  metrics=[metrics.R2Score(), metrics.MeanAbsoluteError(), absolute_error, MeanAbsolute()])
    history = model.fit(x, y, batch_size=2, epochs=3, sample_weight=w, shuffle=True, verbose=0,
                        validation_data=(x[:5], y[:5]))
    return {
        "weights": np.concatenate([v.ravel() for v in model.get_weights()]),
        "history": np.array([history.history[k] for k in sorted(history.history)]),
    }


def regularized() -> dict:
    """Weight regularizers and a constraint (added once to the reduced gradient, not once
    per rank) and an activity regularizer (a mean over the batch, like the loss)."""
    numnet.set_seed(9)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(13, 5))
    y = rng.integers(0, 3, size=13)
    model = numnet.Sequential([
        numnet.Input((5,)),
        numnet.Dense(6, activation="tanh", kernel_regularizer=numnet.regularizers.L2(0.05),
                     bias_regularizer=numnet.regularizers.L1(0.02), kernel_constraint=numnet.constraints.MaxNorm(0.8),
                     activity_regularizer=numnet.regularizers.L1(0.01)),
        numnet.Dense(3, activation="softmax", kernel_regularizer=numnet.regularizers.L1L2(0.01, 0.02)),
    ], dtype="float64")
    model.compile(numnet.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=5, epochs=3, verbose=0)
    return {"weights": np.concatenate([v.ravel() for v in model.get_weights()]),
            "history": np.array([history.history[k] for k in sorted(history.history)])}


def two_outputs() -> dict:
    """Losses that are not means over samples: ``reduction="sum"`` and ``ignore_class``
    (the share's weight then comes from the counts of every share), sample weights per
    output, loss weights; 19 samples in batches of 7."""
    numnet.set_seed(11)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(19, 5))
    inputs = numnet.Input((5,), name="x")
    hidden = numnet.Dense(8, activation="tanh")(inputs)
    model = numnet.Model(inputs, {"a": numnet.Dense(2, name="a")(hidden),
                                  "b": numnet.Dense(3, activation="softmax", name="b")(hidden)}, dtype="float64")
    model.compile(numnet.optimizers.Adam(0.02),
                  loss={"a": numnet.losses.MeanSquaredError(reduction="sum"),
                        "b": numnet.losses.SparseCategoricalCrossentropy(ignore_class=2)},
                  loss_weights={"a": 0.5, "b": 1.0}, metrics={"b": ["accuracy"]})
    targets = {"a": x[:, :2] * 2, "b": rng.integers(0, 3, size=19)}
    weights = {"a": rng.uniform(0.5, 1.5, 19), "b": rng.uniform(0.5, 1.5, 19)}
    history = model.fit(x, targets, sample_weight=weights, batch_size=7, epochs=3, verbose=0,
                        validation_data=(x[:8], {"a": targets["a"][:8], "b": targets["b"][:8]}))
    return {
        "weights": np.concatenate([v.ravel() for v in model.get_weights()]),
        "history": np.array([history.history[k] for k in sorted(history.history)]),
        "evaluate": np.array(model.evaluate(x, targets, batch_size=5)),
    }


def tagger() -> dict:
    """A masked sequence output (Embedding(mask_zero=True), LSTM): the loss is the mean over
    the real steps of the global batch; 7 sequences in batches of 3 (an empty share with
    3 processes in the last one)."""
    numnet.set_seed(13)
    rng = np.random.default_rng(4)
    lengths = [5, 2, 4, 1, 3, 5, 2]
    ids = np.zeros((7, 5), dtype=np.int64)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(1, 20, size=length)
    tags = rng.integers(0, 3, size=(7, 5))
    x = numnet.Input((None,), dtype="int64")
    h = numnet.LSTM(4, return_sequences=True)(numnet.Embedding(20, 3, mask_zero=True)(x))
    model = numnet.Model(x, numnet.Dense(3, activation="softmax")(h), dtype="float64")
    model.compile(numnet.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, tags, batch_size=3, epochs=2, verbose=0, validation_data=(ids[:4], tags[:4]))
    return {
        "weights": np.concatenate([v.ravel() for v in model.get_weights()]),
        "history": np.array([history.history[k] for k in sorted(history.history)]),
        "evaluate": np.array(model.evaluate(ids, tags, batch_size=4)),
        "predict": model.predict(ids, batch_size=4),
    }


def batchnorm() -> dict:
    """One step of a model with BatchNormalization: the moving mean after it is the global
    batch's (exact), the moving variance the share-weighted mean of the shares' variances."""
    numnet.set_seed(7)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 3)) * [1.0, 2.0, 3.0] + [0.0, 1.0, -1.0]
    y = rng.normal(size=(10, 1))
    model = numnet.Sequential([numnet.Input((3,)), numnet.BatchNormalization(momentum=0.5), numnet.Dense(1)],
                              dtype="float64")
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    bn = model.layers[0]
    return {"moving_mean": bn.buffers["moving_mean"].copy(), "moving_variance": bn.buffers["moving_variance"].copy(),
            "x": x}


def synchronized_batchnorm() -> dict:
    """BatchNormalization(synchronized=True): global batch statistics, so the weights and
    moving statistics are those of one process; 11 samples in batches of 5 (the last batch
    of 1 leaves every process but one with an empty share)."""
    numnet.set_seed(17)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(11, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    y = x @ [[1.0], [0.5], [-2.0]] + 0.1 * rng.normal(size=(11, 1))
    model = numnet.Sequential([numnet.Input((3,)), numnet.BatchNormalization(synchronized=True),
                               numnet.Dense(6, activation="tanh"),
                               numnet.BatchNormalization(momentum=0.8, synchronized=True), numnet.Dense(1)],
                              dtype="float64")
    model.compile(numnet.optimizers.Adam(0.05), "mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=5, epochs=4, verbose=0)
    return {
        "weights": np.concatenate([v.ravel() for v in model.get_weights()]),
        "history": np.array([history.history[k] for k in sorted(history.history)]),
    }


def augmented() -> dict:
    """Random augmentation layers (RandomFlip, RandomContrast) draw per image: each process
    keeps its share's rows of the global batch's draws; 13 images in batches of 4."""
    numnet.set_seed(23)
    rng = np.random.default_rng(7)
    x = rng.uniform(size=(13, 4, 4, 1))
    y = x[:, :2, :, 0].mean(axis=(1, 2))[:, None]
    model = numnet.Sequential([numnet.Input((4, 4, 1)), numnet.RandomFlip("horizontal_and_vertical"),
                               numnet.RandomContrast(0.3), numnet.Flatten(), numnet.Dense(1)], dtype="float64")
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    return {"weights": np.concatenate([v.ravel() for v in model.get_weights()]),
            "history": np.array(history.history["loss"])}


def diverging() -> str:
    numnet.set_seed(9)
    x = np.linspace(-1, 1, 24).reshape(12, 2)
    model = numnet.Sequential([numnet.Input((2,)), numnet.Dense(1)], dtype="float64")
    model.compile(numnet.optimizers.SGD(1.0), "mse")
    before = model.get_weights()
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
            model.fit(x, x[:, :1] * 1e200, batch_size=5, epochs=2, verbose=0)
    except FloatingPointError as exc:
        unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        return f"{str(exc)[:60]}|unchanged={unchanged}"
    return "no error"


def mismatched(rank: int) -> str:
    """Process 1 builds a wider model: every process refuses to fit."""
    model = numnet.Sequential([numnet.Input((2,)), numnet.Dense(3 if rank == 1 else 2)], dtype="float64")
    model.compile("sgd", "mse")
    try:
        model.fit(np.ones((4, 2)), np.ones((4, 3 if rank == 1 else 2)), verbose=0)
    except ValueError as exc:
        return str(exc)
    return "no error"


def failed_save(outdir: str) -> str:
    """Rank 0 cannot write (a file stands where the directory should be): every process raises."""
    blocker = os.path.join(outdir, "blocker")
    if numnet.distribution.is_chief():
        open(blocker, "w").close()
    numnet.distribution.barrier()
    model = numnet.Sequential([numnet.Input((2,)), numnet.Dense(1)])
    try:
        model.save(os.path.join(blocker, "model.npz"))
    except Exception as exc:  # rank 0: the OS error itself; the others: RuntimeError naming it
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def run(outdir: str) -> dict:
    results = {f"classifier_{k}": v for k, v in classifier(outdir).items()}
    results.update({f"regression_{k}": v for k, v in regression().items()})
    results.update({f"regularized_{k}": v for k, v in regularized().items()})
    results.update({f"bn_{k}": v for k, v in batchnorm().items()})
    results.update({f"outputs_{k}": v for k, v in two_outputs().items()})
    results.update({f"tagger_{k}": v for k, v in tagger().items()})
    results.update({f"syncbn_{k}": v for k, v in synchronized_batchnorm().items()})
    results.update({f"binary_{k}": v for k, v in binary().items()})
    results.update({f"augmented_{k}": v for k, v in augmented().items()})
    results["diverging"] = np.array(diverging())
    return results


def main() -> None:
    outdir = sys.argv[1]
    dist = numnet.distribution.DataParallel()
    numnet.distribution.set_distribution(dist)
    _count_saves()
    results = run(outdir)
    results["saves"] = np.array([COUNTS["save"], COUNTS["save_weights"]])
    results["mismatched"] = np.array(mismatched(dist.rank))
    results["failed_save"] = np.array(failed_save(outdir))
    results["size"] = np.array(dist.size)
    np.savez(os.path.join(outdir, f"rank{dist.rank}.npz"), **results)


if __name__ == "__main__":
    main()
