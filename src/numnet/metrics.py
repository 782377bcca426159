"""Streaming metrics under Keras 3's names: exact over a whole epoch, however it is batched.

A metric accumulates sufficient statistics batch by batch and computes its value from them,
so the figure equals the metric computed on the full set, not an average of per-batch
values. Keras's interface::

    m = Precision(thresholds=0.5)
    m.update_state(y_true, y_pred, sample_weight=None)   # any number of times
    m.result()                                           # a float (or an array, see below)
    m.reset_state()
    m(y_true, y_pred)                                    # update_state, then result (Keras)

``update`` / ``reset`` are the same methods under the names numnet's training loop uses.

``sample_weight`` (every metric): ``(n_samples,)`` weights, or an array broadcastable to the
metric's per-sample values; a weighted mean metric is ``sum(w v) / sum(w)``, a confusion
count ``sum(w [condition])``.

Shapes: ``y_pred`` is ``(n_samples, ...)``; ``y_true`` has its shape or, for the sparse
metrics (and ``sparse=True``), holds integer labels ``(n_samples, ...)`` without the class
axis (a trailing axis of 1 is accepted).
"""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-7  # Keras's backend.epsilon(): AUC's outermost thresholds


# --- argument checks --------------------------------------------------------------------------
def _number(owner, name, value, low=-math.inf, high=math.inf):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} {name} must be a number, got {type(value).__name__} {value!r:.60}.")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{owner} {name} must be a finite number in [{low}, {high}], got {value!r}.")
    return value


def _integer(owner, name, value, low, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner} {name} must be an integer{' or None' if allow_none else ''}, got {value!r:.60}.")
    if value < low or value >= 2**31:
        raise ValueError(f"{owner} {name} must be an integer in [{low}, 2**31), got {value}.")
    return int(value)


def _flag(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner} {name} must be True or False, got {value!r:.60}.")
    return bool(value)


def _thresholds(owner, value, default):
    """A float in [0, 1] or a non-empty list of them (kept as given: float or list)."""
    if value is None:
        return default
    if isinstance(value, (list, tuple)):
        if not value or len(value) > 10_000:
            raise ValueError(f"{owner} thresholds must hold 1 to 10000 values, got {len(value)}.")
        return [_number(owner, "thresholds[]", v, 0.0, 1.0) for v in value]
    return _number(owner, "thresholds", value, 0.0, 1.0)


# --- array helpers ----------------------------------------------------------------------------
def _weights(sample_weight, like: np.ndarray) -> np.ndarray:
    """Sample weights broadcast to ``like`` (per-sample values, shape (n, ...))."""
    if sample_weight is None:
        return np.ones(like.shape, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim and w.shape[0] != like.shape[0] and w.size != 1:
        raise ValueError(f"sample_weight has shape {w.shape} but the metric's values have shape {like.shape}; "
                         f"expected ({like.shape[0]},) or a shape that broadcasts to {like.shape}.")
    while w.ndim < like.ndim:
        w = w[..., None]
    if w.ndim > like.ndim and w.shape[-1] == 1:
        w = w[..., 0]
    try:
        return np.broadcast_to(w, like.shape)
    except ValueError:
        raise ValueError(f"sample_weight has shape {np.shape(sample_weight)}, which does not broadcast to the "
                         f"metric's values of shape {like.shape}.") from None


def _labels(y_true, y_pred) -> np.ndarray:
    """Integer labels of y_pred.shape[:-1] from sparse y_true (a trailing 1 accepted)."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim:
        labels = labels[..., 0]
    labels = labels.reshape(y_pred.shape[:-1])
    return labels.astype(np.int64)


def _one_hot(labels, n_classes) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"Class labels must lie in [0, {n_classes}), got {labels.min()} to {labels.max()}.")
    return np.eye(n_classes)[labels]


def _safe_divide(numerator, denominator):
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.divide(numerator, denominator, out=np.zeros(np.broadcast(numerator, denominator).shape),
                     where=denominator > 0)


def _scalar(value):
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def _plain_result(result):
    def plain_result(self):
        value = result(self)
        return _scalar(getattr(value, "value", value))

    plain_result.__doc__ = result.__doc__
    plain_result.__wrapped__ = result
    return plain_result


class Metric:
    """Base class: implement ``reset_state``, ``update_state`` and ``result``."""

    name = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"A metric name must be a non-empty string, got {name!r:.60}.")
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        """Every ``add_variable`` Variable back to its initial value (Keras's default)."""
        for variable, initial in self.__dict__.get("_state_variables", ()):
            variable.assign(initial)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state Variable (``numnet.ops.Variable``, not trainable) of ``shape`` from
        ``initializer`` (``"zeros"``, ``"ones"`` or a numnet initializer), which
        ``reset_state`` puts back to that value. ``update_state`` updates it with
        ``assign`` / ``assign_add``."""
        from . import initializers
        from .ops import Variable
        from .random import make_generator

        shape = tuple(int(s) for s in shape) if isinstance(shape, (list, tuple)) else (int(shape),)
        dtype = np.dtype(dtype or np.float32)
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            initial = (np.zeros if initializer == "zeros" else np.ones)(shape, dtype=dtype)
        else:
            initial = np.asarray(initializers.get(initializer)(shape, make_generator(0), dtype), dtype=dtype)
        variable = Variable(initial.copy(), trainable=False, name=name or f"{self.name}_variable")
        self.__dict__.setdefault("_state_variables", []).append((variable, initial))
        return variable

    @property
    def variables(self) -> list:
        """The state Variables made by ``add_variable``."""
        return [v for v, _ in self.__dict__.get("_state_variables", ())]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            return
        if "result" in cls.__dict__:
            cls.result = _plain_result(cls.__dict__["result"])  # a Tensor result logs as a number
        if "name" not in cls.__dict__:
            from .layers.layer import _snake_case

            cls.name = _snake_case(cls.__name__)  # Keras's default: the class name in snake case

    def result(self):
        raise NotImplementedError

    # the names numnet's training loop calls
    def reset(self) -> None:
        self.reset_state()

    def update(self, y_true, y_pred, sample_weight=None) -> None:
        self.update_state(y_true, y_pred, sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's ``__call__``: ``update_state`` then ``result`` (the state is kept)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}


# --- weighted means of per-sample values -------------------------------------------------------
class _Mean(Metric):
    """sum(w v) / sum(w) over everything seen, ``v = self._values(y_true, y_pred)``."""

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self._values(np.asarray(y_true), np.asarray(y_pred)), dtype=np.float64)
        w = _weights(sample_weight, values)
        self.total += float((w * values).sum())
        self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class Accuracy(_Mean):
    """How often y_pred equals y_true exactly, elementwise."""

    name = "accuracy"

    def _values(self, y_true, y_pred):
        return (y_true.reshape(y_pred.shape) == y_pred).astype(np.float64)


class BinaryAccuracy(_Mean):
    """Fraction of elements where (p > threshold) equals y (y > threshold for soft labels
    is not used: y is compared as given, 0 or 1)."""

    name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = _number("BinaryAccuracy", "threshold", threshold, 0.0, 1.0)
        super().__init__(name)

    def _values(self, y_true, y_pred):
        return ((y_pred > self.threshold).astype(np.float64) == y_true.reshape(y_pred.shape)).astype(np.float64)


class CategoricalAccuracy(_Mean):
    """Fraction of distributions where argmax(p) equals argmax(y)."""

    name = "categorical_accuracy"
    sparse = False

    def _values(self, y_true, y_pred):
        predicted = y_pred.argmax(axis=-1)
        truth = _labels(y_true, y_pred) if self.sparse else y_true.argmax(axis=-1)
        return (truth == predicted).astype(np.float64)


class SparseCategoricalAccuracy(CategoricalAccuracy):
    """Fraction of distributions where argmax(p) equals the integer label."""

    name = "sparse_categorical_accuracy"
    sparse = True


class TopKCategoricalAccuracy(_Mean):
    """Fraction of distributions whose true class (argmax y) is among the ``k`` largest
    predictions; ties at the k-th value count as in, as Keras's ``in_top_k`` does."""

    name = "top_k_categorical_accuracy"
    sparse = False

    def __init__(self, k=5, name=None):
        self.k = _integer(type(self).__name__, "k", k, 1, allow_none=False)
        super().__init__(name)

    def _values(self, y_true, y_pred):
        truth = _labels(y_true, y_pred) if self.sparse else y_true.argmax(axis=-1)
        target = np.take_along_axis(y_pred, truth[..., None], axis=-1)
        return ((y_pred > target).sum(axis=-1) < self.k).astype(np.float64)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """``TopKCategoricalAccuracy`` with integer labels."""

    name = "sparse_top_k_categorical_accuracy"
    sparse = True


class MeanAbsoluteError(_Mean):
    """mean |p - y| (weighted per sample)."""

    name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return np.abs(y_pred - y_true.reshape(y_pred.shape))


class MeanSquaredError(_Mean):
    """mean (p - y)^2 (weighted per sample)."""

    name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        return np.square(y_pred - y_true.reshape(y_pred.shape))


class RootMeanSquaredError(MeanSquaredError):
    """sqrt(mean (p - y)^2)."""

    name = "root_mean_squared_error"

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """1 - SS_res / SS_tot per output column, averaged over columns (``class_aggregation=
    "uniform_average"``; ``"variance_weighted_average"`` weighs by SS_tot; ``None`` returns
    each column's score): SS_res = sum w (y - p)^2, SS_tot = sum w (y - mean_w y)^2. A column
    with SS_tot = 0 scores 1 if predicted exactly, else 0. SS_tot is merged batch by batch
    from each batch's weighted mean and centred sum of squares (Chan et al.), in float64, so
    targets with a large offset lose no precision. ``num_regressors`` gives the adjusted R2,
    1 - (1 - R2) (n - 1) / (n - num_regressors - 1).
    """

    name = "r2_score"
    _AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"R2Score class_aggregation must be one of {self._AGGREGATIONS}, "
                             f"got {class_aggregation!r:.60}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = _integer("R2Score", "num_regressors", num_regressors, 0, allow_none=False)
        super().__init__(name)

    def reset_state(self):
        self.n = 0.0
        self.samples = 0
        self.mean = self.m2 = self.ss_res = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_pred = y_pred.reshape(len(y_pred), -1)
        y_true = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape)
        if len(y_true) == 0:
            return
        w = _weights(sample_weight, y_true)
        w_b = w.sum(axis=0)
        if not np.all(w_b > 0):
            return
        mean_b = (w * y_true).sum(axis=0) / w_b
        m2_b = (w * np.square(y_true - mean_b)).sum(axis=0)
        total = self.n + w_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (w_b / total)
        self.m2 = self.m2 + m2_b + np.square(delta) * (self.n * w_b / total)
        self.ss_res = self.ss_res + (w * np.square(y_true - y_pred)).sum(axis=0)
        self.n = total
        self.samples += len(y_true)

    def result(self):
        if self.samples == 0:
            return 0.0
        ss_tot, ss_res = self.m2, self.ss_res
        constant = ss_tot == 0
        scores = np.where(constant, np.where(ss_res == 0, 1.0, 0.0), 1 - ss_res / np.where(constant, 1.0, ss_tot))
        if self.class_aggregation is None:
            score = scores
        elif self.class_aggregation == "variance_weighted_average" and np.sum(ss_tot) > 0:
            score = np.sum(scores * ss_tot) / np.sum(ss_tot)
        else:
            score = np.mean(scores)
        if self.num_regressors:
            n = self.samples
            if n - self.num_regressors - 1 <= 0:
                raise ValueError(f"R2Score: adjusted R2 needs more samples ({n}) than num_regressors + 1 "
                                 f"({self.num_regressors + 1}).")
            score = 1 - (1 - score) * (n - 1) / (n - self.num_regressors - 1)
        return _scalar(score)


# --- confusion counts at thresholds -------------------------------------------------------------
class _Thresholded(Metric):
    """Counts tp, fp, fn (and tn) of ``p > threshold`` against ``y != 0``, elementwise, at
    each threshold (Keras's ``Precision`` / ``Recall``).

    ``top_k``: only each row's k largest predictions can be positive; ``class_id``: only
    that column is counted. ``sparse=True`` (numnet): y_true holds integer labels, one-hot
    encoded first (so the metric works with a sparse cross-entropy loss).
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, sparse=False):
        owner = type(self).__name__
        self.top_k = _integer(owner, "top_k", top_k, 1)
        self.class_id = _integer(owner, "class_id", class_id, 0)
        self.thresholds = _thresholds(owner, thresholds, None)
        self.sparse = _flag(owner, "sparse", sparse)
        default = 0.5 if self.top_k is None else -math.inf  # top_k alone: its k are the positives
        value = default if self.thresholds is None else self.thresholds
        self._thr = np.atleast_1d(np.asarray(value, dtype=np.float64))
        super().__init__(name)

    def reset_state(self):
        size = len(self._thr)
        self.tp, self.fp, self.fn, self.tn = (np.zeros(size) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = _one_hot(_labels(y_true, y_pred), y_pred.shape[-1]) if self.sparse else np.asarray(y_true)
        y_true = y_true.reshape(y_pred.shape)
        w = _weights(sample_weight, y_pred)
        if self.top_k is not None:
            # exactly k per row, the lower index first among ties (as Keras's top_k)
            top = np.argsort(-y_pred, axis=-1, kind="stable")[..., : self.top_k]
            kept = np.full(y_pred.shape, -np.inf)
            np.put_along_axis(kept, top, np.take_along_axis(y_pred, top, axis=-1), axis=-1)
            y_pred = kept
        if self.class_id is not None:
            if self.class_id >= y_pred.shape[-1]:
                raise ValueError(f"{type(self).__name__} class_id {self.class_id} is out of range for "
                                 f"{y_pred.shape[-1]} classes.")
            y_pred, y_true, w = (a[..., self.class_id] for a in (y_pred, y_true, w))
        pred, true, w = y_pred.reshape(-1), y_true.reshape(-1) != 0, w.reshape(-1)
        positive = pred[None, :] > self._thr[:, None]  # (thresholds, elements)
        self.tp += (positive & true) @ w
        self.fp += (positive & ~true) @ w
        self.fn += (~positive & true) @ w
        self.tn += (~positive & ~true) @ w

    def _out(self, values):
        return float(values[0]) if not isinstance(self.thresholds, list) else values

    def get_config(self):
        return {"thresholds": self.thresholds, "top_k": self.top_k, "class_id": self.class_id, "name": self.name,
                "sparse": self.sparse}


class Precision(_Thresholded):
    """tp / (tp + fp); a list of thresholds gives one value each (0 where nothing was
    predicted positive)."""

    name = "precision"

    def result(self):
        return self._out(_safe_divide(self.tp, self.tp + self.fp))


class Recall(_Thresholded):
    """tp / (tp + fn); a list of thresholds gives one value each."""

    name = "recall"

    def result(self):
        return self._out(_safe_divide(self.tp, self.tp + self.fn))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at
    ``num_thresholds`` thresholds (Keras's ``AUC``).

    Thresholds: ``[-eps, 1/(T-1), ..., (T-2)/(T-1), 1 + eps]`` (eps = 1e-7) or the sorted
    ``thresholds`` given plus those two ends. ``curve="ROC"``: TPR against FPR; ``"PR"``:
    precision against recall. ``summation_method="interpolation"``: the trapezoid rule for
    ROC, Davis & Goadrich's interpolation for PR; ``"minoring"`` / ``"majoring"``: the lower /
    upper Riemann sum. ``multi_label=True`` keeps one curve per label (column) and averages
    their areas (weighted by ``label_weights``); otherwise every element is one example.
    ``from_logits=True`` applies a sigmoid to y_pred first.
    """

    name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        owner = "AUC"
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC curve must be 'ROC' or 'PR', got {curve!r:.60}.")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC summation_method must be 'interpolation', 'minoring' or 'majoring', "
                             f"got {summation_method!r:.60}.")
        self.curve, self.summation_method = curve, summation_method
        self.multi_label = _flag(owner, "multi_label", multi_label)
        self.from_logits = _flag(owner, "from_logits", from_logits)
        self.num_labels = _integer(owner, "num_labels", num_labels, 1)
        if thresholds is not None:
            given = _thresholds(owner, list(thresholds) if not isinstance(thresholds, list) else thresholds, None)
            self.thresholds = sorted(given)
            self.num_thresholds = len(self.thresholds) + 2
            inner = np.asarray(self.thresholds)
        else:
            self.thresholds = None
            self.num_thresholds = _integer(owner, "num_thresholds", num_thresholds, 2, allow_none=False)
            if self.num_thresholds > 100_000:
                raise ValueError(f"AUC num_thresholds must be at most 100000, got {self.num_thresholds}.")
            inner = np.arange(1, self.num_thresholds - 1) / (self.num_thresholds - 1)
        self._thr = np.concatenate([[0.0 - EPSILON], inner, [1.0 + EPSILON]])
        if label_weights is not None:
            label_weights = [_number(owner, "label_weights[]", v, 0.0) for v in label_weights]
        self.label_weights = label_weights
        super().__init__(name)

    def reset_state(self):
        shape = (len(self._thr),) + ((self.num_labels,) if self.multi_label and self.num_labels else ())
        self.tp, self.fp, self.fn, self.tn = (np.zeros(shape) for _ in range(4))
        self._labels_fixed = bool(self.multi_label and self.num_labels)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        y_true = np.asarray(y_true).reshape(y_pred.shape) != 0
        w = _weights(sample_weight, y_pred)
        if self.multi_label:
            pred = y_pred.reshape(-1, y_pred.shape[-1])
            true, w = y_true.reshape(pred.shape), w.reshape(pred.shape)
            if not self._labels_fixed:
                self.tp, self.fp, self.fn, self.tn = (np.zeros((len(self._thr), pred.shape[1])) for _ in range(4))
                self._labels_fixed = True
            if pred.shape[1] != self.tp.shape[1]:
                raise ValueError(f"AUC(multi_label=True) saw {self.tp.shape[1]} labels before, now {pred.shape[1]}.")
        else:
            pred, true, w = y_pred.reshape(-1, 1), y_true.reshape(-1, 1), w.reshape(-1, 1)
        # how many thresholds lie strictly below each prediction: it is positive at those
        below = np.searchsorted(self._thr, pred, side="left")  # (elements, labels)
        n_thr = len(self._thr)
        n_labels = pred.shape[1]
        index = (below * n_labels + np.arange(n_labels)).reshape(-1)  # (bin, label) flattened
        for kind, mask in (("pos", true), ("neg", ~true)):
            weights = np.where(mask, w, 0.0)
            hist = np.bincount(index, weights=weights.reshape(-1), minlength=(n_thr + 1) * n_labels)
            hist = hist.reshape(n_thr + 1, n_labels)
            # positive at threshold i  <=>  below > i: the sum of hist[i + 1:]
            above = np.cumsum(hist[::-1], axis=0)[::-1][1:]
            total = weights.sum(axis=0)
            counts_pos, counts_neg = above, total - above
            if not self.multi_label:
                counts_pos, counts_neg = counts_pos[:, 0], counts_neg[:, 0]
            if kind == "pos":
                self.tp += counts_pos
                self.fn += counts_neg
            else:
                self.fp += counts_pos
                self.tn += counts_neg

    def _area(self, tp, fp, fn, tn):
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = _safe_divide(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            both = (p[:-1] > 0) & (p[1:] > 0)
            ratio = np.where(both, _safe_divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
            ratio = np.where(ratio > 0, ratio, 1.0)
            return float(np.sum(_safe_divide(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))))
        recall = _safe_divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _safe_divide(fp, fp + tn), recall
        else:
            x, y = recall, _safe_divide(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def result(self):
        if not self.multi_label:
            return self._area(self.tp, self.fp, self.fn, self.tn)
        if self.tp.ndim == 1:
            return 0.0
        areas = np.array([self._area(*(a[:, j] for a in (self.tp, self.fp, self.fn, self.tn)))
                          for j in range(self.tp.shape[1])])
        if self.label_weights is None:
            return float(areas.mean())
        weights = np.asarray(self.label_weights, dtype=np.float64)
        if len(weights) != len(areas):
            raise ValueError(f"AUC label_weights has {len(weights)} values for {len(areas)} labels.")
        return float(_safe_divide(np.sum(areas * weights), np.sum(weights)))

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "name": self.name, "thresholds": self.thresholds,
                "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": self.label_weights, "from_logits": self.from_logits}


class FBetaScore(Metric):
    """F-beta = (1 + b^2) P R / (b^2 P + R) per class from accumulated tp, fp, fn.

    Predictions: with ``threshold=None`` each row's largest value(s) are the positive
    class (ties all count, as Keras); otherwise ``p > threshold``. ``average``: ``None``
    (one score per class, an array), ``"micro"`` (from the counts summed over classes),
    ``"macro"`` (the mean over every class), ``"weighted"`` (weighted by each class's
    weighted support). A single output column with ``threshold=None`` uses 0.5 (numnet:
    Keras's argmax would call every sample positive). Ratios are exact, 0 where 0 / 0
    (Keras adds 1e-7 to each denominator). ``sparse=True`` (numnet): integer labels.
    """

    name = "fbeta_score"
    _AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta=1.0, threshold=None, name=None, sparse=False):
        owner = type(self).__name__
        if average not in self._AVERAGES:
            raise ValueError(f"{owner} average must be one of None, 'micro', 'macro', 'weighted'; "
                             f"got {average!r:.60}.")
        self.average = average
        self.beta = _number(owner, "beta", beta, 0.0)
        if self.beta <= 0:
            raise ValueError(f"{owner} beta must be positive, got {beta!r}.")
        self.threshold = None if threshold is None else _number(owner, "threshold", threshold, 0.0, 1.0)
        self.sparse = _flag(owner, "sparse", sparse)
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = self.support = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_pred = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 1 else y_pred.reshape(-1, 1)
        if self.sparse:
            y_true = _one_hot(np.asarray(y_true).reshape(-1), y_pred.shape[-1])
        y_true = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape)
        if self.threshold is None and y_pred.shape[-1] > 1:
            top = y_pred.max(axis=-1, keepdims=True)
            predicted = ((y_pred >= top) & (np.abs(y_pred) > 1e-9)).astype(np.float64)
        else:
            predicted = (y_pred > (0.5 if self.threshold is None else self.threshold)).astype(np.float64)
        w = _weights(sample_weight, y_pred[:, 0])[:, None]
        tp = (w * predicted * y_true).sum(axis=0)
        fp = (w * predicted * (1 - y_true)).sum(axis=0)
        fn = (w * (1 - predicted) * y_true).sum(axis=0)
        support = (w * y_true).sum(axis=0)
        if self.tp is None:
            self.tp, self.fp, self.fn, self.support = tp, fp, fn, support
        elif len(tp) != len(self.tp):
            raise ValueError(f"{type(self).__name__} saw {len(self.tp)} classes before, now {len(tp)}.")
        else:
            self.tp, self.fp, self.fn, self.support = self.tp + tp, self.fp + fp, self.fn + fn, self.support + support

    def result(self):
        if self.tp is None:
            return 0.0
        tp, fp, fn = self.tp, self.fp, self.fn
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = _safe_divide(tp, tp + fp), _safe_divide(tp, tp + fn)
        b2 = self.beta**2
        score = _safe_divide((1 + b2) * precision * recall, b2 * precision + recall)
        if self.average == "macro":
            return float(np.mean(score))
        if self.average == "weighted":
            return float(_safe_divide(np.sum(score * self.support), np.sum(self.support)))
        return _scalar(score)

    def get_config(self):
        return {"average": self.average, "beta": self.beta, "threshold": self.threshold, "name": self.name,
                "sparse": self.sparse}


class F1Score(FBetaScore):
    """``FBetaScore`` with beta = 1: 2 P R / (P + R)."""

    name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None, sparse=False):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, sparse=sparse)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


_REGISTRY = {
    "accuracy": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "f1": F1Score,
    "fbeta": FBetaScore,
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
    "fbeta_score": "fbeta",
    "r2_score": "r2",
}
NAMES = tuple(sorted(_REGISTRY)) + tuple(sorted(_ALIASES))


def get(identifier, loss_name: str | None = None, n_outputs: int | None = None) -> Metric:
    """A ``Metric`` from a name or instance.

    ``"accuracy"`` picks the variant as Keras does: sparse categorical for a sparse
    cross-entropy loss, binary for binary cross-entropy or a single output, categorical
    otherwise. With a sparse loss, precision, recall and the F scores read integer labels
    (``sparse=True``), top-k accuracy is the sparse one. ``"f1"`` / ``"fbeta"`` by name
    average over classes (``"macro"``), so that the log holds one number.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        raise TypeError(f"metrics=[...] got the class {identifier.__name__}; pass an instance: {identifier.__name__}().")
    if callable(identifier) and not isinstance(identifier, str):
        from .training.custom_loss import FunctionMetric

        return FunctionMetric(identifier)  # fn(y_true, y_pred) -> per-sample values, averaged
    if not isinstance(identifier, str):
        raise ValueError(f"Unknown metric {identifier!r}; expected a Metric or one of: {', '.join(NAMES)}.")
    by_class = {cls.__name__: key for key, cls in _REGISTRY.items()}  # "AUC", "F1Score" ... as Keras takes
    key = by_class.get(identifier) or _ALIASES.get(identifier.lower(), identifier.lower())
    sparse = loss_name == "sparse_categorical_cross_entropy"
    if key == "accuracy" and identifier != "Accuracy":
        if sparse:
            return SparseCategoricalAccuracy(name=identifier)
        if loss_name == "binary_cross_entropy" or n_outputs == 1:
            return BinaryAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if key not in _REGISTRY:
        raise ValueError(f"Unknown metric {identifier!r}; expected a Metric or one of: {', '.join(NAMES)}.")
    cls = _REGISTRY[key]
    if cls is TopKCategoricalAccuracy and sparse:
        return SparseTopKCategoricalAccuracy(name=identifier)
    if issubclass(cls, FBetaScore):
        return cls(average="macro", name=identifier, sparse=sparse)
    if issubclass(cls, _Thresholded):
        return cls(name=identifier, sparse=sparse)
    return cls(name=identifier)
