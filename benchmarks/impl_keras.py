"""Keras 3 (optional peer) on the backend named by ``KERAS_BACKEND`` (bench.py sets it from
``--keras-backend``, default ``jax``): the same ``Sequential`` models as numnet's, compiled
with ``loss="sparse_categorical_crossentropy"`` and ``keras.optimizers.Adam`` with the same
hyper-parameters; ``fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=True)`` and
``predict(x, batch_size=B, verbose=0)``.

Keras compiles its step functions (XLA under JAX) the first time a model meets a batch
shape. That cost belongs to no epoch, so ``setup`` (untimed) compiles them: two training
steps (a full batch and the epoch's last, shorter one) or one prediction of both shapes.
The timed epoch therefore starts from weights that took two steps; the accuracy column
is hardly affected."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from common import (BETA_1, BETA_2, CNN_TRAIN_BATCH, EPS, LR, MLP_BATCH, N_CLASSES, PREDICT_BATCH, SEED, Data,
                    Job, accuracy_of, mlp_sizes)

NAME = "keras"


def version() -> dict:
    info = {"keras": keras.__version__, "keras_backend": keras.backend.backend()}
    if info["keras_backend"] == "jax":
        import jax

        info["jax"] = jax.__version__
    return info


def _compiled(model):
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS))
    return model


def mlp(sizes: list[int]):
    keras.utils.set_random_seed(SEED)
    layers = [keras.Input((sizes[0],))]
    layers += [keras.layers.Dense(width, activation="relu") for width in sizes[1:-1]]
    layers.append(keras.layers.Dense(sizes[-1], activation="softmax"))
    return _compiled(keras.Sequential(layers))


def cnn():
    keras.utils.set_random_seed(SEED)
    L = keras.layers
    return _compiled(keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(N_CLASSES, activation="softmax"),
    ]))


def _shapes(n: int, batch_size: int) -> int:
    """How many samples give one full batch and one of the epoch's last batch size."""
    rest = n % batch_size
    return batch_size + rest if rest else batch_size


def train_job(make_model, x, y, batch_size, x_test, y_test) -> Job:
    def setup():
        model = make_model()
        k = _shapes(len(x), batch_size)
        model.fit(x[:k], y[:k], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        return model

    def run(model):
        history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
        return {"loss": float(history.history["loss"][-1]), "steps": -(-len(x) // batch_size)}

    return Job(setup, run,
               lambda model: accuracy_of(model.predict(x_test, batch_size=PREDICT_BATCH, verbose=0), y_test))


def predict_job(make_model, x, batch_size) -> Job:
    def setup():
        model = make_model()
        model.predict(x[:_shapes(len(x), batch_size)], batch_size=batch_size, verbose=0)
        return model

    def run(model):
        model.predict(x, batch_size=batch_size, verbose=0)
        return None

    return Job(setup, run)


def jobs(case: str, data: Data) -> dict[str, Job]:
    if case in "abd":
        sizes = mlp_sizes(case)
        return {case: train_job(lambda: mlp(sizes), data.x, data.y, MLP_BATCH[case], data.x_test, data.y_test)}
    if case == "c":
        return {"c": predict_job(lambda: mlp(mlp_sizes("c")), data.x, PREDICT_BATCH)}
    if case == "e":
        n = data.cnn_samples
        xi, yi = data.images(data.x[:n]), data.y[:n]
        return {"e-train": train_job(cnn, xi, yi, CNN_TRAIN_BATCH, data.images(data.x_test), data.y_test),
                "e-predict": predict_job(cnn, xi, PREDICT_BATCH)}
    return {}
