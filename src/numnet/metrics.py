"""Streaming metrics: exact over a whole epoch, however the data is batched.

A metric accumulates sufficient statistics batch by batch (``update``) and computes its
value from them (``result``), so the figure equals the metric computed on the full set
(scikit-learn's ``accuracy_score``, ``precision_score``, ``r2_score`` ...), not an average
of per-batch values.

Shapes: ``y_pred`` is the model output ``(n_samples, n_outputs)``; ``y_true`` is either
the same shape or, for sparse labels, ``(n_samples,)`` integers.
"""

from __future__ import annotations

import numpy as np


class Metric:
    name = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, y_true, y_pred) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __call__(self, y_true, y_pred) -> float:
        """The metric on one pair of arrays (resets first)."""
        self.reset()
        self.update(np.asarray(y_true), np.asarray(y_pred))
        return self.result()


def _binary_predictions(y_pred, threshold=0.5):
    return (y_pred > threshold).astype(np.int64)


def _class_labels(y_true, y_pred, sparse: bool):
    """(true labels, predicted labels) as integer arrays of shape (n_samples,)."""
    predicted = y_pred.argmax(axis=-1)
    truth = y_true.reshape(predicted.shape) if sparse else y_true.argmax(axis=-1)
    return truth.astype(np.int64), predicted


class _Ratio(Metric):
    def reset(self):
        self.hits = 0.0
        self.count = 0

    def result(self):
        return float(self.hits / self.count) if self.count else 0.0


class BinaryAccuracy(_Ratio):
    """Fraction of elements where (p > threshold) equals y."""

    name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def update(self, y_true, y_pred):
        y_true = y_true.reshape(y_pred.shape)
        self.hits += np.count_nonzero(_binary_predictions(y_pred, self.threshold) == y_true)
        self.count += y_pred.size


class CategoricalAccuracy(_Ratio):
    """Fraction of samples where argmax(p) equals argmax(y)."""

    name = "categorical_accuracy"
    sparse = False

    def update(self, y_true, y_pred):
        truth, predicted = _class_labels(y_true, y_pred, self.sparse)
        self.hits += np.count_nonzero(truth == predicted)
        self.count += predicted.size


class SparseCategoricalAccuracy(CategoricalAccuracy):
    """Fraction of samples where argmax(p) equals the integer label."""

    name = "sparse_categorical_accuracy"
    sparse = True


class _Confusion(Metric):
    """Precision, recall and F1 from accumulated true/false positive counts.

    A single output column is a binary problem (p > 0.5 is the positive class). Several
    columns are a multi-class problem, averaged over classes ("macro", scikit-learn's
    ``average="macro"``) that occur in the labels or the predictions: a class present but
    never predicted (or predicted but never present) contributes 0, a class neither
    present nor predicted is left out of the mean, as scikit-learn leaves it out.
    """

    sparse = False

    def __init__(self, name=None, sparse: bool | None = None):
        if sparse is not None:
            self.sparse = sparse
        super().__init__(name)

    def reset(self):
        self.tp = self.fp = self.fn = None

    def _add(self, tp, fp, fn):
        if self.tp is None:
            self.tp, self.fp, self.fn = tp, fp, fn
        else:
            self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    def update(self, y_true, y_pred):
        if y_pred.shape[-1] == 1 or y_pred.ndim == 1:
            truth = y_true.reshape(-1).astype(np.int64)
            predicted = _binary_predictions(y_pred.reshape(-1))
            self._add(
                np.array([np.count_nonzero((predicted == 1) & (truth == 1))]),
                np.array([np.count_nonzero((predicted == 1) & (truth == 0))]),
                np.array([np.count_nonzero((predicted == 0) & (truth == 1))]),
            )
            return
        n_classes = y_pred.shape[-1]
        truth, predicted = _class_labels(y_true, y_pred, self.sparse)
        hits = np.bincount(truth[truth == predicted], minlength=n_classes)
        self._add(
            hits,
            np.bincount(predicted, minlength=n_classes) - hits,
            np.bincount(truth, minlength=n_classes) - hits,
        )

    @staticmethod
    def _safe(numerator, denominator):
        return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)

    def _precision(self):
        return self._safe(self.tp, self.tp + self.fp)

    def _recall(self):
        return self._safe(self.tp, self.tp + self.fn)

    def _macro(self, per_class) -> float:
        """Mean over the classes seen in the labels or the predictions."""
        seen = (self.tp + self.fp + self.fn) > 0
        return float(per_class[seen].mean()) if seen.any() else 0.0


class Precision(_Confusion):
    """tp / (tp + fp)."""

    name = "precision"

    def result(self):
        return 0.0 if self.tp is None else self._macro(self._precision())


class Recall(_Confusion):
    """tp / (tp + fn)."""

    name = "recall"

    def result(self):
        return 0.0 if self.tp is None else self._macro(self._recall())


class F1Score(_Confusion):
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall."""

    name = "f1"

    def result(self):
        if self.tp is None:
            return 0.0
        return self._macro(self._safe(2 * self.tp, 2 * self.tp + self.fp + self.fn))


class _ErrorSum(Metric):
    def reset(self):
        self.total = 0.0
        self.count = 0

    def update(self, y_true, y_pred):
        error = y_pred - y_true.reshape(y_pred.shape)
        self.total += float(self._elementwise(error).sum(dtype=np.float64))
        self.count += error.size


class MeanAbsoluteError(_ErrorSum):
    """mean |p - y| over every element."""

    name = "mae"
    _elementwise = staticmethod(np.abs)

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanSquaredError(_ErrorSum):
    """mean (p - y)^2 over every element."""

    name = "mse"
    _elementwise = staticmethod(np.square)

    def result(self):
        return self.total / self.count if self.count else 0.0


class RootMeanSquaredError(MeanSquaredError):
    """sqrt(mean (p - y)^2)."""

    name = "rmse"

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """1 - SS_res / SS_tot per output column, averaged over columns (scikit-learn's
    ``r2_score`` with ``multioutput="uniform_average"``): SS_res = sum (y - p)^2,
    SS_tot = sum (y - mean y)^2. A column with SS_tot = 0 scores 1 if predicted exactly,
    else 0. SS_tot is merged batch by batch from each batch's mean and centred sum of
    squares (Chan et al.), in float64, so targets with a large offset lose no precision.
    """

    name = "r2"

    def reset(self):
        self.n = 0
        self.mean = self.m2 = self.ss_res = 0.0

    def update(self, y_true, y_pred):
        y_pred = y_pred.reshape(len(y_pred), -1).astype(np.float64)
        y_true = y_true.reshape(y_pred.shape).astype(np.float64)
        n_b = len(y_true)
        if n_b == 0:
            return
        mean_b = y_true.mean(axis=0)
        m2_b = np.square(y_true - mean_b).sum(axis=0)
        total = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2_b + np.square(delta) * (self.n * n_b / total)
        self.ss_res = self.ss_res + np.square(y_true - y_pred).sum(axis=0)
        self.n = total

    def result(self):
        if self.n == 0:
            return 0.0
        ss_tot, ss_res = self.m2, self.ss_res
        constant = ss_tot == 0
        scores = np.where(constant, np.where(ss_res == 0, 1.0, 0.0),
                          1 - ss_res / np.where(constant, 1.0, ss_tot))
        return float(np.mean(scores))


_REGISTRY = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1": F1Score,
    "mae": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "rmse": RootMeanSquaredError,
    "r2": R2Score,
}
_ALIASES = {
    "acc": "accuracy",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "f1_score": "f1",
    "r2_score": "r2",
}
NAMES = ("accuracy",) + tuple(sorted(_REGISTRY)) + tuple(sorted(_ALIASES))


def get(identifier, loss_name: str | None = None, n_outputs: int | None = None) -> Metric:
    """A ``Metric`` from a name or instance.

    ``"accuracy"`` picks the variant as Keras does: sparse categorical for a sparse
    cross-entropy loss, binary for binary cross-entropy or a single output, categorical
    otherwise. Precision, recall and F1 read sparse labels when the loss is sparse.
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise ValueError(f"Unknown metric {identifier!r}; expected a Metric or one of: {', '.join(NAMES)}.")
    key = _ALIASES.get(identifier.lower(), identifier.lower())
    sparse = loss_name == "sparse_categorical_cross_entropy"
    if key == "accuracy":
        if sparse:
            return SparseCategoricalAccuracy(name=identifier)
        if loss_name == "binary_cross_entropy" or n_outputs == 1:
            return BinaryAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if key not in _REGISTRY:
        raise ValueError(f"Unknown metric {identifier!r}; expected a Metric or one of: {', '.join(NAMES)}.")
    if issubclass(_REGISTRY[key], _Confusion):
        return _REGISTRY[key](name=identifier, sparse=sparse)
    return _REGISTRY[key](name=identifier)
