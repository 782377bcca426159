"""scikit-learn's ``MLPClassifier``, the same network as numnet's MLP cases: hidden layers
of the case, ReLU, softmax output with log-loss, ``solver="adam"`` with the same lr, betas
and epsilon, the case's ``batch_size``, one epoch (``max_iter=1``), ``shuffle=True``,
``alpha=0`` (scikit-learn adds an L2 penalty of 1e-4 by default; numnet and torch add none)
and no early stopping. float32 data stays float32 (scikit-learn keeps the input's dtype).
``predict`` (case c) is ``predict_proba`` on the whole array, as a user calls it; its model
is fitted first, untimed, for one epoch on the held-out samples. There is no CNN in scikit-learn: case e is n/a."""

from __future__ import annotations

import warnings

import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from common import BETA_1, BETA_2, EPS, LR, MLP_BATCH, SEED, Data, Job, accuracy_of, mlp_sizes

NAME = "sklearn"


def version() -> dict:
    return {"sklearn": sklearn.__version__}


def classifier(sizes: list[int], batch_size: int) -> MLPClassifier:
    return MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam", alpha=0.0,
                         batch_size=batch_size, learning_rate_init=LR, beta_1=BETA_1, beta_2=BETA_2,
                         epsilon=EPS, max_iter=1, shuffle=True, random_state=SEED, tol=0.0,
                         early_stopping=False)


def _fit(model, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 is meant
        model.fit(x, y)


def train_job(sizes, x, y, batch_size, x_test, y_test) -> Job:
    def run(model):
        _fit(model, x, y)
        steps = -(-len(x) // batch_size) * int(model.n_iter_)
        return {"loss": float(model.loss_), "steps": steps}

    return Job(lambda: classifier(sizes, batch_size), run,
               lambda model: accuracy_of(model.predict_proba(x_test), y_test))


def predict_job(sizes, x, fit_x, fit_y) -> Job:
    def setup():
        model = classifier(sizes, 128)
        _fit(model, fit_x, fit_y)
        return model

    def run(model):
        model.predict_proba(x)
        return None

    return Job(setup, run)


def jobs(case: str, data: Data) -> dict[str, Job]:
    if case in "abd":
        sizes = mlp_sizes(case)
        return {case: train_job(sizes, data.x, data.y, MLP_BATCH[case], data.x_test, data.y_test)}
    if case == "c":
        return {"c": predict_job(mlp_sizes("c"), data.x, data.x_test, data.y_test)}
    return {}
