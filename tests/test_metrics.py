"""Streaming metrics equal the scikit-learn definitions computed on the full set (written
out here in numpy), however the data is split into batches."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import numnet as nn
from numnet import Dense, Input, Sequential, metrics


# --- reference formulas (scikit-learn's definitions, on the full set) -----------------
def ref_accuracy(truth, predicted):
    return np.mean(truth == predicted)


def ref_prf(truth, predicted, binary):
    """(precision, recall, f1): binary for the positive class 1, else macro over the
    classes occurring in truth or predictions; 0 where a ratio is 0 / 0."""
    classes = [1] if binary else np.union1d(truth, predicted)
    p, r, f = [], [], []
    for c in classes:
        tp = np.sum((predicted == c) & (truth == c))
        fp = np.sum((predicted == c) & (truth != c))
        fn = np.sum((predicted != c) & (truth == c))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        p.append(precision)
        r.append(recall)
        f.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return np.mean(p), np.mean(r), np.mean(f)


def ref_threshold_pr(y_onehot, p, threshold=0.5):
    """Keras's Precision / Recall: every element is a binary decision p > threshold."""
    predicted, truth = p > threshold, y_onehot != 0
    tp = np.sum(predicted & truth)
    return tp / np.sum(predicted), tp / np.sum(truth)


def ref_f1_all_classes(truth, predicted, n_classes):
    """Keras's F1Score(average="macro"): the mean over every class, 0 for a class with no
    true and no predicted sample."""
    scores = []
    for c in range(n_classes):
        tp = np.sum((predicted == c) & (truth == c))
        fp = np.sum((predicted == c) & (truth != c))
        fn = np.sum((predicted != c) & (truth == c))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return np.mean(scores)


def ref_r2(y, p):
    scores = []
    for col in range(y.shape[1]):
        ss_res = np.sum((y[:, col] - p[:, col]) ** 2)
        ss_tot = np.sum((y[:, col] - y[:, col].mean()) ** 2)
        scores.append((1.0 if ss_res == 0 else 0.0) if ss_tot == 0 else 1 - ss_res / ss_tot)
    return np.mean(scores)


# --- data --------------------------------------------------------------------------------
RNG = np.random.default_rng(0)
N, K = 53, 4
PROBS = RNG.dirichlet(np.ones(K), size=N)
# Classes 0..2 only in the labels, and class 3 rarely predicted: exercises the averaging.
LABELS = RNG.integers(0, 3, size=N)
ONEHOT = np.eye(K)[LABELS]
P_BIN = RNG.uniform(size=(N, 1))
Y_BIN = (RNG.uniform(size=(N, 1)) < 0.4).astype(float)
Y_REG = RNG.normal(size=(N, 3)) * [1.0, 5.0, 0.1] + [0.0, 100.0, -3.0]
P_REG = Y_REG + RNG.normal(size=(N, 3)) * [0.5, 2.0, 0.2]
UNEVEN = [0, 3, 10, 11, 40, N]  # batches of 3, 7, 1, 29, 13


def _streamed(metric, y, p, bounds=UNEVEN):
    metric.reset()
    for a, b in zip(bounds[:-1], bounds[1:]):
        metric.update(y[a:b], p[a:b])
    return metric.result()


def _references():
    predicted = PROBS.argmax(axis=1)
    bin_pred = (P_BIN > 0.5).astype(int).ravel()
    bin_true = Y_BIN.astype(int).ravel()
    multi = (*ref_threshold_pr(ONEHOT, PROBS), ref_f1_all_classes(LABELS, predicted, K))
    binary = ref_prf(bin_true, bin_pred, binary=True)
    err = P_REG - Y_REG
    return [
        ("sparse_categorical_accuracy", LABELS, PROBS, ref_accuracy(LABELS, predicted)),
        ("categorical_accuracy", ONEHOT, PROBS, ref_accuracy(LABELS, predicted)),
        ("binary_accuracy", Y_BIN, P_BIN, ref_accuracy(bin_true, bin_pred)),
        ("precision", ONEHOT, PROBS, multi[0]),
        ("recall", ONEHOT, PROBS, multi[1]),
        ("f1", ONEHOT, PROBS, multi[2]),
        ("precision", Y_BIN, P_BIN, binary[0]),
        ("recall", Y_BIN, P_BIN, binary[1]),
        ("f1", Y_BIN, P_BIN, binary[2]),
        ("mae", Y_REG, P_REG, np.mean(np.abs(err))),
        ("mse", Y_REG, P_REG, np.mean(err**2)),
        ("rmse", Y_REG, P_REG, np.sqrt(np.mean(err**2))),
        ("r2", Y_REG, P_REG, ref_r2(Y_REG, P_REG)),
    ]


CASES = _references()


@pytest.mark.parametrize("name, y, p, expected", CASES, ids=[f"{c[0]}-{c[1].shape[1:]}" for c in CASES])
def test_metric_equals_the_full_set_formula(name, y, p, expected):
    metric = metrics.get(name)
    assert metric(y, p) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name, y, p, expected", CASES, ids=[f"{c[0]}-{c[1].shape[1:]}" for c in CASES])
def test_metric_streamed_over_uneven_batches_equals_the_full_set(name, y, p, expected):
    assert _streamed(metrics.get(name), y, p) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_macro_f1_averages_over_every_class_as_keras():
    # 4 output columns, but only classes 0 and 1 occur anywhere: Keras's macro mean is over
    # all 4 (classes 2 and 3 score 0); precision and recall count elements (micro).
    y = np.array([0, 0, 1, 1])
    p = np.eye(4)[[0, 1, 1, 1]]
    sparse = "sparse_categorical_cross_entropy"
    # class 0: precision 1, recall 1/2, F1 2/3; class 1: precision 2/3, recall 1, F1 4/5.
    assert metrics.get("f1", sparse)(y, p) == pytest.approx((2 / 3 + 0.8) / 4)
    # 3 of the 4 predicted positives are right, 3 of the 4 true positives are found
    assert metrics.get("precision", sparse)(y, p) == pytest.approx(0.75)
    assert metrics.get("recall", sparse)(y, p) == pytest.approx(0.75)


def test_precision_with_sparse_labels_reads_integer_classes():
    expected = ref_threshold_pr(ONEHOT, PROBS)
    for name, value in zip(("precision", "recall"), expected):
        metric = metrics.get(name, "sparse_categorical_cross_entropy")
        assert _streamed(metric, LABELS, PROBS) == pytest.approx(value, rel=1e-12)
    f1 = metrics.get("f1", "sparse_categorical_cross_entropy")
    assert _streamed(f1, LABELS, PROBS) == pytest.approx(ref_f1_all_classes(LABELS, PROBS.argmax(1), K), rel=1e-12)


def test_r2_keeps_precision_with_a_large_offset_and_handles_constant_targets():
    y = 1e6 + RNG.normal(size=(200, 1)) * 1e-3
    p = y + RNG.normal(size=(200, 1)) * 5e-4
    assert _streamed(metrics.get("r2"), y, p, [0, 7, 100, 200]) == pytest.approx(ref_r2(y, p), rel=1e-9)
    constant = np.full((6, 2), 3.0)
    assert metrics.get("r2")(constant, constant) == 1.0
    assert metrics.get("r2")(constant, constant + [[0.0, 1.0]]) == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=N - 1), max_size=8, unique=True))
def test_any_batching_gives_the_same_value(cuts):
    bounds = [0, *sorted(cuts), N]
    for name, y, p, expected in CASES:
        assert _streamed(metrics.get(name), y, p, bounds) == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def _compiled(loss, units, activation):
    model = Sequential([Input((3,)), Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer="sgd", metrics=["accuracy", "acc"])
    return model


@pytest.mark.parametrize("loss, units, activation, kind", [
    ("sparse_categorical_crossentropy", 4, "softmax", metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", 4, "softmax", metrics.CategoricalAccuracy),
    ("binary_crossentropy", 1, "sigmoid", metrics.BinaryAccuracy),
    ("binary_crossentropy", 3, "sigmoid", metrics.BinaryAccuracy),
    ("mse", 1, None, metrics.BinaryAccuracy),
    ("mse", 4, "softmax", metrics.CategoricalAccuracy),
])
def test_accuracy_picks_the_variant_from_the_loss(loss, units, activation, kind):
    model = _compiled(loss, units, activation)
    assert [type(m) for m in model.metrics] == [kind, kind]
    assert [m.name for m in model.metrics] == ["accuracy", "acc"]


def test_evaluate_reports_metrics_equal_to_the_formulas_on_predictions():
    nn.set_seed(3)
    x = RNG.normal(size=(N, 3))
    model = Sequential([Input((3,)), Dense(K, activation="softmax")], dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy", "precision", "f1"])
    logs = model.evaluate(x, LABELS, batch_size=10, return_dict=True)
    probs = model.predict(x)
    predicted = probs.argmax(axis=1)
    p, f = ref_threshold_pr(ONEHOT, probs)[0], ref_f1_all_classes(LABELS, predicted, K)
    assert logs["accuracy"] == pytest.approx(ref_accuracy(LABELS, predicted))
    assert logs["precision"] == pytest.approx(p) and logs["f1"] == pytest.approx(f)


def test_unknown_metric_lists_the_choices():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*accuracy, auc, binary_accuracy"):
        metrics.get("acuracy")
    model = Sequential([Input((3,)), Dense(2)])
    with pytest.raises(ValueError, match="Unknown metric 'roc'"):
        model.compile(loss="mse", optimizer="sgd", metrics=["roc"])
    with pytest.raises(ValueError, match="unique"):
        model.compile(loss="mse", optimizer="sgd", metrics=["mse", "mse"])
