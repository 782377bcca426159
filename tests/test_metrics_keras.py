"""Keras 3 metric classes on their own: the values in Keras's documentation, sample
weights, streaming, AUC against the exact statistic, argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numnet import metrics

RNG = np.random.default_rng(11)


def _once(metric, y, p, w=None):
    metric.reset_state()
    metric.update_state(np.asarray(y, float), np.asarray(p, float), sample_weight=w)
    return metric.result()


# --- Keras's documented examples -------------------------------------------------------------
@pytest.mark.parametrize("metric, y, p, plain, w, weighted", [
    (metrics.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75, [1, 1, 0, 0], 0.5),
    (metrics.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75, [1, 0, 0, 1], 0.5),
    (metrics.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (metrics.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (metrics.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5,
     [0.7, 0.3], 0.3),
    (metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3, [0, 0, 1, 0], 1.0),
    (metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3, [0, 0, 1, 0], 1.0),
    (metrics.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75, [1, 0, 0, 1], 1.0),
    (metrics.MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25, [1, 0], 0.5),
    (metrics.MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25, [1, 0], 0.5),
    (metrics.RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.5, [1, 0], math.sqrt(0.5)),
])
def test_keras_documented_values(metric, y, p, plain, w, weighted):
    assert _once(metric, y, p) == pytest.approx(plain, rel=1e-12)
    assert _once(metric, y, p, np.asarray(w, float)) == pytest.approx(weighted, rel=1e-12)


def test_precision_top_k_and_class_id():
    assert _once(metrics.Precision(top_k=2), [0, 0, 1, 1], [1, 1, 1, 1]) == 0.0  # the first two of the tie
    assert _once(metrics.Precision(top_k=4), [0, 0, 1, 1], [1, 1, 1, 1]) == 0.5
    y, p = np.eye(3)[[0, 1, 2, 2]], np.array([[0.6, 0.3, 0.1], [0.7, 0.2, 0.1], [0.2, 0.1, 0.7], [0.1, 0.6, 0.3]])
    assert _once(metrics.Precision(class_id=0), y, p) == 0.5  # column 0: rows 0 and 1 predicted, row 0 right
    assert _once(metrics.Recall(class_id=2), y, p) == 0.5
    many = metrics.Precision(thresholds=[0.05, 0.5, 0.65])
    np.testing.assert_allclose(_once(many, y, p), [4 / 12, 2 / 4, 1 / 2])  # > 0.65: both 0.7s


def test_f1_and_fbeta_documented_values_and_averages():
    y = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], float)
    p = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    np.testing.assert_allclose(_once(metrics.F1Score(threshold=0.5), y, p), [0.5, 0.8, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(_once(metrics.FBetaScore(beta=2.0, threshold=0.5), y, p),
                               [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)
    assert _once(metrics.F1Score(average="macro", threshold=0.5), y, p) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # micro: tp 1 + 2 + 1 = 4, fp 0 + 1 + 1 = 2, fn 2 + 0 + 0 = 2
    assert _once(metrics.F1Score(average="micro", threshold=0.5), y, p) == pytest.approx(2 * 4 / (8 + 2 + 2))
    weighted = (0.5 * 3 + 0.8 * 2 + 2 / 3 * 1) / 6  # supports 3, 2, 1
    assert _once(metrics.F1Score(average="weighted", threshold=0.5), y, p) == pytest.approx(weighted)
    # sample weights count each row w times
    w = np.array([2.0, 1.0, 1.0])
    repeated = _once(metrics.F1Score(threshold=0.5), np.vstack([y[:1], y]), np.vstack([p[:1], p]))
    np.testing.assert_allclose(_once(metrics.F1Score(threshold=0.5), y, p, w), repeated, rtol=1e-12)


def test_f1_without_threshold_takes_each_rows_largest_value():
    y, p = np.eye(3)[[0, 1, 2, 2]], np.array([[0.6, 0.3, 0.1], [0.7, 0.2, 0.1], [0.2, 0.1, 0.7], [0.1, 0.6, 0.3]])
    # predicted classes 0, 0, 2, 1: class 0 F1 2/3, class 1 0, class 2 2/3
    np.testing.assert_allclose(_once(metrics.F1Score(), y, p), [2 / 3, 0.0, 2 / 3], rtol=1e-12)
    sparse = metrics.F1Score(average="macro", sparse=True)
    assert _once(sparse, [0, 1, 2, 2], p) == pytest.approx(4 / 9)


def test_r2_documented_value_aggregations_and_weights():
    assert _once(metrics.R2Score(), [[1], [4], [3]], [[2], [4], [4]]) == pytest.approx(0.57142854, rel=1e-6)
    y = RNG.normal(size=(30, 2)) * [1.0, 10.0]
    p = y + RNG.normal(size=(30, 2))
    per_column = _once(metrics.R2Score(class_aggregation=None), y, p)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    assert _once(metrics.R2Score(class_aggregation="variance_weighted_average"), y, p) == pytest.approx(
        float((per_column * ss_tot).sum() / ss_tot.sum()))
    adjusted = _once(metrics.R2Score(num_regressors=3), y, p)
    assert adjusted == pytest.approx(1 - (1 - per_column.mean()) * 29 / 26)
    w = RNG.integers(1, 4, size=30).astype(float)
    repeated = _once(metrics.R2Score(), np.repeat(y, w.astype(int), 0), np.repeat(p, w.astype(int), 0))
    assert _once(metrics.R2Score(), y, p, w) == pytest.approx(repeated, rel=1e-12)


# --- AUC ---------------------------------------------------------------------------------------
def _exact_roc_auc(y, p, w=None):
    """P(score of a positive > score of a negative) + half the ties (Mann-Whitney)."""
    w = np.ones_like(p) if w is None else w
    pos, neg = y != 0, y == 0
    wp, wn = w[pos][:, None], w[neg][None, :]
    greater = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
    return float((wp * wn * greater).sum() / (wp.sum() * wn.sum()))


def test_roc_auc_at_every_score_is_the_exact_statistic():
    y = (RNG.uniform(size=200) < 0.4).astype(float)
    p = np.clip(np.round(0.3 * y + RNG.uniform(size=200) * 0.7, 2), 0.01, 0.99)  # ties too
    w = RNG.uniform(0.5, 2.0, size=200)
    auc = metrics.AUC(thresholds=sorted(set(p.tolist())))
    assert _once(auc, y, p) == pytest.approx(_exact_roc_auc(y, p), rel=1e-12)
    assert _once(auc, y, p, w) == pytest.approx(_exact_roc_auc(y, p, w), rel=1e-12)
    assert _once(metrics.AUC(num_thresholds=2000), y, p) == pytest.approx(_exact_roc_auc(y, p), abs=2e-3)


def test_pr_auc_interpolation_by_hand():
    # thresholds [-eps, 0.5, 1 + eps]: tp [2, 1, 0], fp [2, 0, 0], fn [0, 1, 2]; Davis & Goadrich:
    # slopes 1/3 and 1, intercepts 2/3 and 0, p ratio 4 then none.
    expected = (1 / 3) * (1 + (2 / 3) * math.log(4)) / 2 + 1 * 1 / 2
    assert _once(metrics.AUC(num_thresholds=3, curve="PR"), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(expected)
    # minoring / majoring on the ROC points (fpr 1, 0, 0; tpr 1, 0.5, 0): 0.5 and 1
    assert _once(metrics.AUC(num_thresholds=3, summation_method="minoring"), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == 0.5
    assert _once(metrics.AUC(num_thresholds=3, summation_method="majoring"), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == 1.0


def test_auc_multi_label_from_logits_and_streaming():
    y = (RNG.uniform(size=(60, 3)) < 0.5).astype(float)
    z = RNG.normal(size=(60, 3)) + 2 * y
    p = 1 / (1 + np.exp(-z))
    per_label = [_once(metrics.AUC(), y[:, j], p[:, j]) for j in range(3)]
    assert _once(metrics.AUC(multi_label=True), y, p) == pytest.approx(np.mean(per_label), rel=1e-12)
    weighted = metrics.AUC(multi_label=True, label_weights=[1.0, 0.0, 3.0])
    assert _once(weighted, y, p) == pytest.approx((per_label[0] + 3 * per_label[2]) / 4, rel=1e-12)
    assert _once(metrics.AUC(from_logits=True), y, z) == pytest.approx(_once(metrics.AUC(), y, p), rel=1e-12)
    streamed = metrics.AUC(curve="PR")
    for a, b in [(0, 7), (7, 8), (8, 60)]:
        streamed.update_state(y[a:b], p[a:b])
    assert streamed.result() == pytest.approx(_once(metrics.AUC(curve="PR"), y, p), rel=1e-12)


# --- interface ---------------------------------------------------------------------------------
def test_call_accumulates_like_keras_and_the_old_names_still_work():
    m = metrics.BinaryAccuracy()
    assert m([[1], [0]], [[0.9], [0.8]]) == 0.5
    assert m([[1], [1]], [[0.9], [0.8]]) == 0.75  # state kept between calls
    m.reset()
    m.update(np.array([[1.0]]), np.array([[0.2]]))
    assert m.result() == 0.0
    m.reset_state()
    assert m.result() == 0.0 and m.count == 0


@pytest.mark.parametrize("make, error, match", [
    (lambda: metrics.BinaryAccuracy(threshold="abc"), TypeError, "threshold must be a number"),
    (lambda: metrics.BinaryAccuracy(threshold=float("nan")), ValueError, "threshold must be a finite number"),
    (lambda: metrics.F1Score(sparse=None), TypeError, "sparse must be True or False"),
    (lambda: metrics.F1Score(average="mean"), ValueError, "average must be one of"),
    (lambda: metrics.FBetaScore(beta=0), ValueError, "beta must be positive"),
    (lambda: metrics.Precision(top_k=0), ValueError, "top_k must be an integer in"),
    (lambda: metrics.Precision(thresholds=[0.5, 2.0]), ValueError, r"thresholds\[\] must be a finite number"),
    (lambda: metrics.Recall(class_id=1.5), TypeError, "class_id must be an integer"),
    (lambda: metrics.AUC(curve="roc"), ValueError, "curve must be 'ROC' or 'PR'"),
    (lambda: metrics.AUC(num_thresholds=1), ValueError, "num_thresholds must be an integer in"),
    (lambda: metrics.AUC(summation_method="riemann"), ValueError, "summation_method"),
    (lambda: metrics.TopKCategoricalAccuracy(k=True), TypeError, "k must be an integer"),
    (lambda: metrics.R2Score(class_aggregation="mean"), ValueError, "class_aggregation"),
    (lambda: metrics.Accuracy(name=""), TypeError, "non-empty string"),
])
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_sample_weight_of_a_wrong_shape_changes_nothing():
    m = metrics.MeanSquaredError()
    m.update_state(np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\)"):
        m.update_state(np.zeros((2, 2)), np.ones((2, 2)), sample_weight=np.ones(3))
    assert m.result() == 1.0 and m.count == 4


def test_configs_rebuild_the_same_metric():
    for metric in (metrics.AUC(num_thresholds=50, curve="PR", multi_label=True, label_weights=[1.0, 2.0]),
                   metrics.Precision(thresholds=[0.3, 0.6], class_id=1), metrics.FBetaScore("weighted", beta=0.5),
                   metrics.F1Score(threshold=0.4, sparse=True), metrics.R2Score(num_regressors=2)):
        again = type(metric)(**metric.get_config())
        assert again.get_config() == metric.get_config()


def test_state_errors_leave_the_state_as_it_was():
    y, p = np.eye(3)[[0, 1, 2]], np.full((3, 3), 1 / 3)
    auc = metrics.AUC(multi_label=True)
    auc.update_state(y, p)
    before = auc.tp.copy()
    with pytest.raises(ValueError, match="saw 3 labels before, now 2"):
        auc.update_state(y[:, :2], p[:, :2])
    np.testing.assert_array_equal(auc.tp, before)
    f1 = metrics.F1Score()
    f1.update_state(y, p)
    with pytest.raises(ValueError, match="saw 3 classes before, now 2"):
        f1.update_state(y[:, :2], p[:, :2])
    np.testing.assert_array_equal(f1.tp, [1, 1, 1])
    recall = metrics.Recall(sparse=True)
    with pytest.raises(ValueError, match=r"Class labels must lie in \[0, 3\), got 0 to 5"):
        recall.update_state(np.array([0, 5, 1]), p)
    with pytest.raises(ValueError, match="class_id 4 is out of range for 3 classes"):
        metrics.Precision(class_id=4).update_state(y, p)
    assert recall.tp.sum() == 0
    with pytest.raises(ValueError, match="label_weights has 2 values for 3 labels"):
        metrics.AUC(multi_label=True, label_weights=[1.0, 1.0])(y, p)
    r2 = metrics.R2Score(num_regressors=5)
    r2.update_state(np.arange(4.0)[:, None], np.arange(4.0)[:, None] + 0.1)
    with pytest.raises(ValueError, match=r"adjusted R2 needs more samples \(4\) than num_regressors \+ 1 \(6\)"):
        r2.result()


def test_class_names_are_accepted_by_get():
    assert type(metrics.get("AUC")) is metrics.AUC and metrics.get("AUC").name == "AUC"
    assert type(metrics.get("F1Score")).__name__ == "F1Score" and metrics.get("F1Score").average == "macro"
    assert type(metrics.get("Accuracy")) is metrics.Accuracy  # the class itself, not the variant pick
    assert type(metrics.get("accuracy", n_outputs=1)) is metrics.BinaryAccuracy
    assert type(metrics.get("TopKCategoricalAccuracy", "sparse_categorical_cross_entropy")) is \
        metrics.SparseTopKCategoricalAccuracy
