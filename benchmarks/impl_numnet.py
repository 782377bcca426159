"""numnet as a user calls it: ``Sequential([...])``, ``compile(loss="sparse_categorical_cross_entropy",
optimizer=numnet.optimizers.Adam(...))``, ``fit(x, y, epochs=1, batch_size=B, verbose=0,
shuffle=True)`` and ``predict(x, batch_size=B)``; default float32. A fresh model is built
(untimed) for each run. Which numnet is imported is up to ``PYTHONPATH`` (bench.py's
``--numnet-src``)."""

from __future__ import annotations

import numnet

from common import (BETA_1, BETA_2, CNN_TRAIN_BATCH, EPS, LR, MLP_BATCH, N_CLASSES, PREDICT_BATCH, SEED, Data,
                    Job, accuracy_of, mlp_sizes)

NAME = "numnet"


def version() -> dict:
    import os

    return {"numnet": getattr(numnet, "__version__", None), "numnet_path": os.path.dirname(numnet.__file__)}


def _adam():
    return numnet.optimizers.Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS)


def mlp(sizes: list[int], seed: int = SEED):
    layers = [numnet.Input((sizes[0],))]
    layers += [numnet.Dense(width, activation="relu") for width in sizes[1:-1]]
    layers.append(numnet.Dense(sizes[-1], activation="softmax"))
    model = numnet.Sequential(layers, seed=seed)
    model.compile(loss="sparse_categorical_cross_entropy", optimizer=_adam())
    return model


def cnn(seed: int = SEED):
    model = numnet.Sequential(
        [
            numnet.Input((28, 28, 1)),
            numnet.Conv2D(32, 3, activation="relu"),
            numnet.MaxPool2D(2),
            numnet.Conv2D(64, 3, activation="relu"),
            numnet.MaxPool2D(2),
            numnet.Flatten(),
            numnet.Dense(128, activation="relu"),
            numnet.Dense(N_CLASSES, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(loss="sparse_categorical_cross_entropy", optimizer=_adam())
    return model


def has_cnn() -> bool:
    return all(hasattr(numnet, name) for name in ("Conv2D", "MaxPool2D", "Flatten"))


def train_job(make_model, x, y, batch_size, x_test, y_test) -> Job:
    def run(model):
        history = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True)
        return {"loss": float(history.history["loss"][-1]), "steps": int(model.optimizer.iterations)}

    return Job(make_model, run, lambda model: accuracy_of(model.predict(x_test, batch_size=PREDICT_BATCH), y_test))


def predict_job(make_model, x, batch_size) -> Job:
    def run(model):
        model.predict(x, batch_size=batch_size)
        return None

    return Job(make_model, run)


def jobs(case: str, data: Data) -> dict[str, Job]:
    if case in "abd":
        sizes = mlp_sizes(case)
        return {case: train_job(lambda: mlp(sizes), data.x, data.y, MLP_BATCH[case], data.x_test, data.y_test)}
    if case == "c":
        return {"c": predict_job(lambda: mlp(mlp_sizes("c")), data.x, PREDICT_BATCH)}
    if case == "e":
        if not has_cnn():
            return {}
        n = data.cnn_samples
        xi, yi = data.images(data.x[:n]), data.y[:n]
        return {"e-train": train_job(cnn, xi, yi, CNN_TRAIN_BATCH, data.images(data.x_test), data.y_test),
                "e-predict": predict_job(cnn, xi, PREDICT_BATCH)}
    if case in "fgh":  # the sequence cases: seq_numnet.py
        import seq_numnet

        return seq_numnet.jobs(case, data)
    return {}
