"""compile(weighted_metrics=...): those metrics get the sample weights (sample_weight= and
class_weight=), the plain metrics do not; log names follow Keras (weighted_<name> on a
clash); several outputs; errors; DataParallel refuses them before a step changes anything."""

from __future__ import annotations

import numpy as np
import pytest

import numnet
from numnet import Dense, Input, Model


def _classifier():
    numnet.set_seed(0)
    return numnet.Sequential([Input((3,)), Dense(2, activation="softmax")])


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)), rng.integers(0, 2, 40), rng.uniform(0.0, 2.0, 40)


def test_weighted_and_plain_metrics_side_by_side():
    x, y, w = _data()
    model = _classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    logs = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    correct = (model.predict(x).argmax(axis=1) == y).astype(float)
    assert logs["accuracy"] == pytest.approx(correct.mean(), abs=1e-12)
    assert logs["weighted_accuracy"] == pytest.approx((correct * w).sum() / w.sum(), abs=1e-12)
    assert logs["accuracy"] != logs["weighted_accuracy"]
    unweighted = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)  # no weights: they agree
    assert unweighted["weighted_accuracy"] == pytest.approx(unweighted["accuracy"], abs=1e-12)


def test_a_weighted_metric_alone_keeps_its_name_and_sees_class_weights():
    x, y, _ = _data()
    model = _classifier()
    model.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    class_weight = {0: 1.0, 1: 3.0}
    history = model.fit(x, y, batch_size=40, epochs=1, class_weight=class_weight, verbose=0)
    assert list(history.history) == ["loss", "accuracy"]
    # The one step's metric is computed on the outputs before its update: recompute them.
    numnet.set_seed(0)
    fresh = _classifier()
    fresh.compile("sgd", "sparse_categorical_crossentropy")
    correct = (fresh.predict(x).argmax(axis=1) == y).astype(float)
    w = np.where(y == 1, 3.0, 1.0)
    assert history.history["accuracy"][0] == pytest.approx((correct * w).sum() / w.sum(), abs=1e-12)


def test_several_outputs_with_a_dict():
    numnet.set_seed(0)
    x = Input((3,), name="x")
    model = Model(x, [Dense(1, name="a")(x), Dense(1, name="b")(x)])
    model.compile("adam", "mse", metrics={"a": ["mae"]}, weighted_metrics={"a": ["mae"], "b": ["mae"]})
    assert model.metrics_names == ["loss", "a_loss", "b_loss", "a_mae", "a_weighted_mae", "b_mae"]
    rng = np.random.default_rng(1)
    xs, ya, yb, w = rng.normal(size=(24, 3)), rng.normal(size=(24, 1)), rng.normal(size=(24, 1)), rng.uniform(size=24)
    logs = model.evaluate(xs, [ya, yb], sample_weight=w, verbose=0, return_dict=True)
    pa, pb = model.predict(xs)
    ea, eb = np.abs(pa - ya)[:, 0], np.abs(pb - yb)[:, 0]
    assert logs["a_mae"] == pytest.approx(ea.mean(), rel=1e-6)
    assert logs["a_weighted_mae"] == pytest.approx((ea * w).sum() / w.sum(), rel=1e-6)
    assert logs["b_mae"] == pytest.approx((eb * w).sum() / w.sum(), rel=1e-6)


def test_bad_weighted_metrics_are_refused_and_nothing_is_kept():
    model = _classifier()
    with pytest.raises(ValueError, match="weighted_metrics has keys"):
        model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics={"nope": ["accuracy"]})
    assert not getattr(model, "compiled", False)
    with pytest.raises(ValueError):
        model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics=["no_such_metric"])
    assert not getattr(model, "compiled", False)


def test_data_parallel_refuses_weighted_metrics_before_a_step():
    from numnet.distribution.metric_state import MetricsUpdate

    model = _classifier()
    model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    with pytest.raises(NotImplementedError, match="weighted metrics"):
        MetricsUpdate(model._compiled)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert len(MetricsUpdate(model._compiled).entries) == 1


def test_each_real_step_of_a_masked_sequence_carries_its_samples_weight():
    numnet.set_seed(0)
    ids = Input((4,))
    out = Dense(1)(numnet.layers.Embedding(6, 3, mask_zero=True)(ids))  # (n, 4, 1), masked where ids == 0
    model = Model(ids, out)
    model.compile("adam", "mse", metrics=["mae"], weighted_metrics=["mae"])
    x = np.array([[1, 2, 0, 0], [3, 4, 5, 0], [1, 1, 1, 1]], dtype=float)
    y = np.arange(12, dtype=float).reshape(3, 4, 1) / 10
    w = np.array([0.5, 2.0, 1.0])
    logs = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    error = np.abs(model.predict(x) - y)[:, :, 0]
    real = x != 0
    assert logs["mae"] == pytest.approx(error[real].mean(), rel=1e-6)
    per_step = np.broadcast_to(w[:, None], real.shape)
    assert logs["weighted_mae"] == pytest.approx((error * per_step)[real].sum() / per_step[real].sum(), rel=1e-6)


def test_weighted_metrics_survive_save_and_load(tmp_path):
    x, y, w = _data()
    model = _classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    model.fit(x, y, sample_weight=w, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    assert loaded.metrics_names == model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    assert loaded.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True) == \
        model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
