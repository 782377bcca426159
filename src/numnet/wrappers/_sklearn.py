"""The scikit-learn estimators. Imported on first use by ``numnet.wrappers`` (it needs
scikit-learn).

Each estimator holds a function that builds a compiled numnet model, as Keras 3's
wrappers do: ``fit(X, y)`` validates the arrays, encodes the targets, calls
``model(X=X, y=encoded_y, **model_kwargs)`` and trains what it returns with
``model.fit(X, encoded_y, **fit_kwargs, **fit's own keyword arguments)``.

Target encodings (what the model is built for and trained on):

* classifier: ``y`` of any labels (strings, integers, ...) becomes one-hot rows
  ``(n_samples, n_classes)`` in the order of ``classes_`` (``np.unique(y)``), so the model
  ends in ``Dense(n_classes, activation="softmax")`` with ``categorical_crossentropy``;
  ``predict_proba`` is the model's output and ``predict`` is ``classes_[argmax]``;
* regressor and transformer: ``y`` as float, ``(n_samples,)`` made ``(n_samples, 1)``;
  the regressor's ``predict`` gives the 1-D shape back; ``score`` is R^2.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..models import Model

# sklearn's checks pass float64 and float32 arrays; anything else numeric becomes float64
# (numnet's fit then casts each batch to the model's dtype).
_FLOAT_DTYPES = (np.float64, np.float32)


def _model_to_bytes(model) -> bytes:
    """``model.save`` into memory (numnet's npz format, no pickle inside)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _model_from_bytes(data: bytes):
    from ..saving import load_model

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)


class _SKLBase(BaseEstimator):
    """What the three estimators share: building, fitting, predicting, pickling.

    Parameters (Keras 3's):

    * ``model``: a callable ``model(X=X, y=y, **model_kwargs)`` returning a *compiled*
      ``numnet.Model``; ``X`` is the validated input ``(n_samples, n_features)`` and ``y``
      the encoded targets (see the module docstring), so the function can size the input and
      output layers from their shapes;
    * ``warm_start``: when True, a second ``fit`` keeps training the model of the first
      (same ``classes_`` for a classifier) instead of building a new one;
    * ``model_kwargs``: a dict of further keyword arguments for ``model``;
    * ``fit_kwargs``: a dict of keyword arguments for ``Model.fit`` (``epochs``,
      ``batch_size``, ...); those given to ``fit`` itself take precedence. ``verbose``
      defaults to 0 here.

    Attributes after ``fit``: ``model_`` (the trained model), ``history_`` (the
    ``History.history`` dict: one list per logged figure), ``n_features_in_``.
    """

    def __init__(self, model=None, warm_start=False, model_kwargs=None, fit_kwargs=None):
        # sklearn's rule: __init__ stores the parameters unchanged; fit validates them.
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = False  # a builder that seeds its layers and model trains reproducibly
        return tags

    # --- checks of the parameters ----------------------------------------------------------------
    def _check_params(self) -> None:
        if isinstance(self.model, Model) or not callable(self.model):
            raise TypeError(
                f"{type(self).__name__}(model=...) expects a function that returns a compiled numnet model, "
                f"called as model(X=X, y=y, **model_kwargs); got {self.model!r:.80}. To wrap a model you "
                "already have, pass lambda X, y: that_model (with warm_start=True to keep its weights)."
            )
        for name in ("model_kwargs", "fit_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{type(self).__name__} {name} must be a dict or None, got {type(value).__name__}.")

    def _build(self, X, y):
        model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if not isinstance(model, Model):
            raise TypeError(f"{type(self).__name__}: model(X, y) must return a numnet Model, got {model!r:.80}.")
        if not getattr(model, "compiled", False):
            raise RuntimeError(
                f"{type(self).__name__}: the model returned by model(X, y) is not compiled; call "
                "model.compile(optimizer=..., loss=...) before returning it."
            )
        return model

    # --- fit / predict ---------------------------------------------------------------------------
    def fit(self, X, y, **kwargs):
        """Build (or, with ``warm_start``, reuse) the model and train it on ``X``
        ``(n_samples, n_features)`` and ``y``; ``kwargs`` go to ``Model.fit``. Returns self."""
        self._check_params()
        warm = bool(self.warm_start) and hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=not warm, dtype=_FLOAT_DTYPES, multi_output=True,
                             y_numeric=self._y_numeric)
        y = self._encode_targets(y, reset=not warm)
        model = self.model_ if warm else self._build(X, y)
        options = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        history = model.fit(X, y, **options)
        self.model_ = model
        self.history_ = {key: list(values) for key, values in history.history.items()}
        return self

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        out = self.model_.predict(X)
        if not isinstance(out, np.ndarray):
            raise ValueError(f"{type(self).__name__} wraps models with one output; this model returns "
                             f"{type(out).__name__}.")
        return out

    # --- pickling (sklearn's convention; joblib uses it for n_jobs) -------------------------------
    def __getstate__(self):
        # numnet models are not picklable (they hold locks); the trained model travels as the
        # bytes of its model.save file and is rebuilt with numnet.load_model.
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        model = state.pop("model_", None)
        if model is not None:
            state["_model_file"] = _model_to_bytes(model)
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_model_file", None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = _model_from_bytes(data)


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """A scikit-learn classifier around a numnet model (binary or multiclass targets).

    ``classes_`` holds the sorted distinct labels (any labels ``np.unique`` orders:
    strings, integers, ...). The model is built for one-hot targets ``(n_samples,
    n_classes)`` and must output one probability per class; ``predict_proba(X)`` is its
    output ``(n_samples, n_classes)`` as float64, ``predict(X)`` the label of the largest
    probability. ``score`` is the accuracy (``ClassifierMixin``).

    For example (docs/scikit_learn.md has a runnable one)::

        def build(X, y):
            inputs = numnet.Input((X.shape[1],))
            outputs = numnet.Dense(y.shape[1], activation="softmax", seed=0)(inputs)
            model = numnet.Model(inputs, outputs, seed=0)
            model.compile("adam", "categorical_crossentropy")
            return model

        SKLearnClassifier(build, fit_kwargs={"epochs": 5}).fit(X, labels).classes_
    """

    _y_numeric = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.poor_score = True  # the score is the built model's, not the wrapper's
        return tags

    def _encode_targets(self, y, reset: bool) -> np.ndarray:
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"SKLearnClassifier supports binary and multiclass targets; got {kind} targets.")
        y = column_or_1d(y, warn=True)
        if reset:
            classes, index = np.unique(y, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f"SKLearnClassifier needs at least 2 classes to train; y holds only one class "
                                 f"({classes[0].tolist()!r}).")
            self.classes_ = classes
        else:  # warm start: the labels must be among those of the first fit
            index = np.searchsorted(self.classes_, y)
            index = np.minimum(index, len(self.classes_) - 1)
            unknown = self.classes_[index] != y
            if unknown.any():
                new = np.unique(y[unknown])[:5].tolist()
                raise ValueError(f"SKLearnClassifier(warm_start=True): y holds labels {new} "
                                 f"that the first fit did not have (classes_ = {self.classes_[:10].tolist()}).")
        return np.eye(len(self.classes_), dtype=np.float32)[index]

    def predict_proba(self, X) -> np.ndarray:
        """The model's output, one probability per class of ``classes_``: ``(n_samples,
        n_classes)``, float64."""
        # fit checked that the model outputs (n_samples, n_classes): it trained on one-hot rows
        return self._outputs(X).astype(np.float64)

    def predict(self, X) -> np.ndarray:
        """The label (from ``classes_``) of the largest probability of each sample."""
        probabilities = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(probabilities, axis=1)]


class _FloatTargets:
    """Regressor and transformer: float targets, a 1-D ``y`` given to the model as a column."""

    _y_numeric = True

    def _encode_targets(self, y, reset: bool) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if reset:
            self._y_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y


class SKLearnRegressor(_FloatTargets, RegressorMixin, _SKLBase):
    """A scikit-learn regressor around a numnet model: ``predict(X)`` is the model's output
    (float64; ``(n_samples,)`` when ``fit`` had a 1-D ``y``, else ``(n_samples, n_outputs)``),
    ``score(X, y)`` the coefficient of determination R^2 = 1 - SS_res / SS_tot
    (``RegressorMixin``)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True
        return tags

    def predict(self, X) -> np.ndarray:
        out = self._outputs(X).astype(np.float64)
        if self._y_ndim == 1 and out.ndim == 2 and out.shape[1] == 1:
            return out[:, 0]
        return out


class SKLearnTransformer(_FloatTargets, TransformerMixin, _SKLBase):
    """A scikit-learn transformer around a numnet model trained on ``(X, y)``:
    ``transform(X)`` is the model's output (e.g. an embedding), in the model's dtype.
    ``fit_transform(X, y)`` is ``fit(X, y).transform(X)``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # the output has the model's dtype, whatever X had
        return tags

    def transform(self, X) -> np.ndarray:
        return self._outputs(X)
