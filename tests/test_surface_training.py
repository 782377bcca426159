"""The new losses, metrics and optimizers inside fit / evaluate: they train, and the logged
figures equal the standalone objects' values on the model's predictions."""

from __future__ import annotations

import numpy as np
import pytest

from numnet import Dense, Input, Sequential, losses, metrics, optimizers


def _classifier(loss, optimizer, metric_list, units=3, activation="softmax"):
    model = Sequential([Input((4,)), Dense(8, activation="tanh", seed=1), Dense(units, activation=activation, seed=2)],
                       dtype="float64")
    model.compile(loss=loss, optimizer=optimizer, metrics=metric_list)
    return model


def _data(n=60):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, 4))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, labels


@pytest.mark.parametrize("loss, optimizer", [
    (losses.CategoricalFocalCrossentropy(gamma=2.0), optimizers.Nadam(0.05, clipnorm=1.0)),
    (losses.KLDivergence(), optimizers.Adamax(0.05, global_clipnorm=1.0)),
    (losses.CategoricalHinge(), optimizers.Lion(0.01, clipvalue=0.5)),
    (losses.MeanSquaredError(reduction="sum"), optimizers.Adam(0.01, amsgrad=True)),
], ids=["focal-nadam", "kld-adamax", "hinge-lion", "mse_sum-amsgrad"])
def test_training_lowers_the_loss_and_logs_match_standalone_values(loss, optimizer):
    x, labels = _data()
    y = np.eye(3)[labels]
    auc, f1 = metrics.AUC(name="auc"), metrics.F1Score(average="macro", name="f1")
    model = _classifier(loss, optimizer, [auc, f1, metrics.TopKCategoricalAccuracy(k=2, name="top2")])
    before = model.evaluate(x, y, batch_size=60, return_dict=True)["loss"]
    history = model.fit(x, y, epochs=15, batch_size=60, shuffle=False, verbose=0)
    logs = model.evaluate(x, y, batch_size=60, return_dict=True)
    assert logs["loss"] < before
    assert set(history.history) >= {"loss", "auc", "f1", "top2"}
    p = model.predict(x)
    assert logs["loss"] == pytest.approx(loss(y, p), rel=1e-10)
    assert logs["auc"] == pytest.approx(metrics.AUC()(y, p), rel=1e-12)
    assert logs["f1"] == pytest.approx(metrics.F1Score(average="macro")(y, p), rel=1e-12)
    assert logs["top2"] == pytest.approx(metrics.TopKCategoricalAccuracy(k=2)(y, p), rel=1e-12)


def test_sparse_metrics_by_name_with_a_sparse_loss():
    x, labels = _data()
    model = _classifier("sparse_categorical_crossentropy", "adam", ["accuracy", "precision", "f1", "top_k_categorical_accuracy"])
    assert isinstance(model.metrics[3], metrics.SparseTopKCategoricalAccuracy)
    model.fit(x, labels, epochs=2, verbose=0)
    logs = model.evaluate(x, labels, return_dict=True)
    p = model.predict(x)
    assert logs["precision"] == pytest.approx(metrics.Precision()(np.eye(3)[labels], p), rel=1e-12)
    assert logs["f1"] == pytest.approx(metrics.F1Score(average="macro")(np.eye(3)[labels], p), rel=1e-12)
