"""Losses as objects: Keras 3's classes and functions over ``numnet.loss_functions``.

>>> loss = CategoricalCrossentropy(label_smoothing=0.1)
>>> value = loss(y_true, y_pred)                  # float: the reduced loss
>>> grad = loss.backward(y_true, y_pred)         # d value / d y_pred, shape of y_pred
>>> Loss("categorical_cross_entropy")            # the seed's spelling, still valid

Reductions (``reduction=``), over the unreduced values ``v`` (Keras's function output:
``y_pred``'s shape without the class axis) times the sample weights ``w``:

* ``"sum_over_batch_size"`` (default): ``sum(w v) / size(v)``: PyTorch's mean; with
  ``ignore_class`` the size counts only positions that are not ignored, as Keras masks them;
* ``"sum"``: ``sum(w v)``;
* ``None`` (or ``"none"``): ``w v`` itself, an array; ``backward`` and training then use
  ``"sum_over_batch_size"``.

``backward`` is the gradient of exactly what ``__call__`` returns (for ``None``: of the
``sum_over_batch_size`` value). ``per_sample`` (``(n_samples,)``) and ``derivative`` are the
training loop's interface: the reduced loss is ``mean(w * per_sample(y, p))`` and its
gradient ``w * derivative(y, p)``.

``loss.name`` is the registry key the training loop reads (``"categorical_cross_entropy"``);
Keras's display name (``"categorical_crossentropy"`` or the ``name=`` given) is
``loss.display_name``.
"""

from __future__ import annotations

import math

import numpy as np

from . import loss_functions
from .loss_functions import (  # noqa: F401  (Keras's function names, re-exported)
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

REDUCTIONS = ("sum_over_batch_size", "sum", None)
_REDUCTION_ALIASES = {"none": None, "mean": "sum_over_batch_size"}


# --- argument checks ----------------------------------------------------------------------
def _number(owner, name, value, low=-math.inf, high=math.inf, low_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} {name} must be a number, got {type(value).__name__} {value!r:.60}.")
    value = float(value)
    if not (math.isfinite(value) and (value > low if low_open else value >= low) and value <= high):
        bound = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ValueError(f"{owner} {name} must be a finite number in {bound}, got {value!r}.")
    return value


def _flag(owner, name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner} {name} must be True or False, got {value!r:.60}.")
    return bool(value)


def _integer(owner, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner} {name} must be an integer{' or None' if allow_none else ''}, got {value!r:.60}.")
    return int(value)


def _reduction(owner, value):
    if isinstance(value, str) and value.lower() in _REDUCTION_ALIASES:
        return _REDUCTION_ALIASES[value.lower()]
    if value not in REDUCTIONS:
        raise ValueError(f"{owner} reduction must be one of 'sum_over_batch_size', 'sum', None; got {value!r:.60}.")
    return value


def _check_params(owner, key, params) -> dict:
    """The loss's parameters checked once, at construction (Keras takes them unchecked)."""
    out = {}
    for name, value in params.items():
        if name in ("from_logits", "apply_class_balancing"):
            out[name] = _flag(owner, name, value)
        elif name == "label_smoothing":
            out[name] = _number(owner, name, value, 0.0, 1.0)
        elif name == "delta":
            out[name] = _number(owner, name, value, 0.0, low_open=True)
        elif name == "gamma":
            out[name] = _number(owner, name, value, 0.0)
        elif name == "ignore_class":
            out[name] = _integer(owner, name, value, allow_none=True)
        elif name == "alpha":
            if key == "categorical_focal_cross_entropy" and isinstance(value, (list, tuple)):
                out[name] = [_number(owner, "alpha[]", a, 0.0, 1.0) for a in value]
            else:
                out[name] = _number(owner, name, value, 0.0, 1.0)
        else:
            raise TypeError(f"{owner} got an unexpected argument {name!r}.")
    return out


class LossKey(str):
    """A loss's registry key (``"categorical_cross_entropy"``) that also carries the loss.

    It equals and hashes as the plain string; ``loss_functions.fused_gradient(loss.name,
    activation)``, the call ``Model.compile`` makes, reads ``.loss`` so that the fused
    gradient accounts for label smoothing, the reduction, ``ignore_class`` and ``axis``
    instead of assuming the defaults.
    """

    loss: "Loss"


class Loss:
    """A loss with ``forward`` / ``__call__`` (the reduced value) and ``backward`` (its
    gradient with respect to ``y_pred``).

    ``Loss(name, from_logits=False, reduction="sum_over_batch_size", axis=-1, **params)``:
    ``name`` is any loss name (``"huber"``, ``"categorical_crossentropy"``), ``params`` the
    keyword arguments that loss takes (``delta``, ``label_smoothing`` ...). The Keras classes
    below are this class with a fixed name.
    """

    is_custom = False

    def __init__(self, name: str | None = None, from_logits: bool = False, reduction="sum_over_batch_size",
                 axis: int = -1, display_name: str | None = None, **params) -> None:
        if type(self).call is not Loss.call:  # a Keras-style subclass: call(y_true, y_pred) in numnet.ops
            self._init_custom(name, from_logits, reduction, params)
            return
        key = loss_functions.canonical_name(name)
        spec = loss_functions.spec(key)
        owner = f"Loss {key!r}"
        from_logits = _flag(owner, "from_logits", from_logits)
        if from_logits and not spec.from_logits:
            raise ValueError(f"Loss {key!r} has no from_logits form; only the cross-entropies do.")
        axis = _integer(owner, "axis", axis)
        if axis != -1 and not spec.has_axis:
            raise ValueError(f"Loss {key!r} has no axis argument; it reduces over the last axis.")
        unknown = set(params) - set(spec.params)
        if unknown:
            raise TypeError(f"Loss {key!r} takes no argument {sorted(unknown)[0]!r}; it takes: "
                            f"{', '.join(sorted(set(spec.params) - {'from_logits'})) or 'none'}.")
        self.name = LossKey(key)
        self.name.loss = self
        self.display_name = key if display_name is None else str(display_name)
        self.from_logits = from_logits
        self.reduction = _reduction(owner, reduction)
        self.axis = axis
        self.params = {k: v for k, v in spec.params.items() if k != "from_logits"}
        self.params.update(_check_params(owner, key, params))
        self.is_sparse = spec.sparse
        self._spec = spec
        self._kwargs = dict(self.params, **({"from_logits": True} if from_logits else {}))
        self._kernel_kwargs = dict(self._kwargs)
        if spec.has_axis:
            self._kwargs["axis"] = axis
        # the last axis, no ignored class: the kernel can be called as it is
        self._plain = axis == -1 and self.params.get("ignore_class") is None

    # --- checks ----------------------------------------------------------------------------
    def _expected_true_shape(self, pred_shape):
        if not self.is_sparse:
            return pred_shape
        axis = self.axis % len(pred_shape) if pred_shape else 0
        return pred_shape[:axis] + pred_shape[axis + 1:]

    def _check(self, y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_pred.ndim == 0:
            raise ValueError(f"Loss {self.name!r}: y_pred must have at least one axis, got a scalar.")
        if self._spec.has_axis and not -y_pred.ndim <= self.axis < y_pred.ndim:
            raise ValueError(f"Loss {self.name!r}: axis {self.axis} is out of range for y_pred of shape "
                             f"{y_pred.shape}.")
        expected = self._expected_true_shape(y_pred.shape)
        if y_true.shape != expected and not (self.is_sparse and y_true.shape == expected + (1,)):
            raise ValueError(
                f"Loss {self.name!r}: y_true has shape {y_true.shape} but y_pred has shape "
                f"{y_pred.shape}; expected y_true of shape {expected}."
            )
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float64)
        if self.is_sparse and y_true.size:
            labels = y_true[y_true != self.params["ignore_class"]] if self.params["ignore_class"] is not None \
                else y_true
            n_classes = y_pred.shape[self.axis]
            if labels.size and (np.any(labels != np.floor(labels)) or labels.min() < 0 or labels.max() >= n_classes):
                raise ValueError(f"Loss {self.name!r}: y_true must hold whole-number class labels in [0, "
                                 f"{n_classes}) (or ignore_class), got values from {labels.min()} to {labels.max()}.")
        return y_true, y_pred

    def _weights(self, sample_weight, values):
        """Sample weights broadcast to ``values``: ``(n,)``, ``(n, 1)`` or ``values.shape``."""
        w = np.asarray(sample_weight, dtype=values.dtype)
        if w.shape == values.shape:
            return w
        n = values.shape[0] if values.ndim else 1
        if w.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"sample_weight must have shape ({n},), one weight per sample, or the shape of the "
                f"unreduced loss {values.shape}; got shape {w.shape}."
            )
        return w.reshape((n,) + (1,) * (values.ndim - 1))

    def _count(self, y_true, values):
        return loss_functions.valid_count(self.name, y_true, values, self.params.get("ignore_class"))

    def _scale(self, y_true, values) -> float:
        """The factor from ``sum(w v)`` to the reduced loss."""
        if self.reduction == "sum":
            return 1.0
        return 1.0 / max(self._count(y_true, values), 1)

    # --- Keras's interface -----------------------------------------------------------------
    def call(self, y_true, y_pred):
        """The unreduced values (Keras's ``Loss.call``)."""
        y_true, y_pred = self._check(y_true, y_pred)
        return loss_functions.unreduced(self.name, y_true, y_pred, need_grad=False, **self._kwargs)[0]

    def forward(self, y_true, y_pred, sample_weight=None):
        """The reduced loss: a float, or for ``reduction=None`` the weighted values."""
        y_true, y_pred = self._check(y_true, y_pred)
        values, _ = loss_functions.unreduced(self.name, y_true, y_pred, need_grad=False, **self._kwargs)
        if sample_weight is not None:
            values = values * self._weights(sample_weight, values)
        if self.reduction is None:
            return values
        return float(values.sum(dtype=np.float64) * self._scale(y_true, values))

    def __call__(self, y_true, y_pred, sample_weight=None):
        """``forward``: a float on arrays. When an argument is a Tensor or a GradientTape
        records, the weighted mean over samples as a Tensor (one op whose backward is this
        loss's derivative, or a subclass's ops), so that a training loop can differentiate it."""
        from .layers.custom import wants_tape

        if self.is_custom or wants_tape([y_true, y_pred]):
            from .training.custom_loss import loss_on_tensors

            return loss_on_tensors(self, y_true, y_pred, sample_weight)
        return self.forward(y_true, y_pred, sample_weight)

    # --- subclasses with call(): numnet.training.custom_loss ----------------------------------
    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__:
            for name in ("forward", "backward", "get_config", "__repr__", "fused_gradient"):
                if name not in cls.__dict__:
                    setattr(cls, name, getattr(Loss, f"_custom_{name.strip('_')}"))

    def _init_custom(self, name, from_logits, reduction, params) -> None:
        from .layers.layer import _snake_case
        from .training.custom_loss import FunctionLoss

        if reduction != "sum_over_batch_size":
            raise ValueError(f"Loss {type(self).__name__}: a subclass's loss is reduced as 'sum_over_batch_size' "
                             f"(the mean over samples), got reduction={reduction!r}.")
        if params:
            raise TypeError(f"Loss {type(self).__name__} got unexpected arguments {sorted(params)}.")
        self.is_custom = True
        self.name = name or _snake_case(type(self).__name__)
        self.display_name = self.name
        self.from_logits = bool(from_logits)
        self.reduction = reduction
        self.is_sparse = False
        function = FunctionLoss(self.call, self.name)
        self.per_sample = function.per_sample
        self.derivative = function.derivative
        self._evaluate = function._evaluate

    def _custom_forward(self, y_true, y_pred, sample_weight=None) -> float:
        y_pred = np.asarray(y_pred)
        values = self.per_sample(np.asarray(y_true), y_pred)
        if sample_weight is not None:
            values = values * sample_weights(sample_weight, len(values), values.dtype)
        return float(values.mean())

    def _custom_backward(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        grad = self.derivative(np.asarray(y_true), np.asarray(y_pred))
        return grad if sample_weight is None else grad * weight_column(sample_weight, grad)

    def _custom_get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}

    def _custom_repr(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def _custom_fused_gradient(self, activation):
        return None  # the tape's gradient, never the fused softmax / sigmoid one

    def backward(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """d forward / d y_pred (for ``reduction=None``: of the ``sum_over_batch_size`` value)."""
        y_true, y_pred = self._check(y_true, y_pred)
        values, grad = loss_functions.unreduced(self.name, y_true, y_pred, **self._kwargs)
        scale = self._scale(y_true, values)
        if sample_weight is not None:
            w = self._weights(sample_weight, values)
            axis = self.axis % y_pred.ndim if self._spec.has_axis else y_pred.ndim - 1
            grad = grad * np.expand_dims(np.broadcast_to(w, values.shape), axis)
        return grad * np.asarray(scale, dtype=grad.dtype)

    # --- the training loop's interface (called every batch: a direct path) -----------------
    def _direct(self, y_true, y_pred):
        """``(values, grad thunk)`` from the kernel itself, or None where ``unreduced``'s
        axis moving / masking is needed."""
        if not self._plain:
            return None
        if self.is_sparse:
            return self._spec.kernel(loss_functions._sparse_labels(y_true, y_pred), y_pred,
                                     from_logits=self.from_logits)
        return self._spec.kernel(y_true, y_pred, **self._kernel_kwargs)

    def per_sample(self, y_true, y_pred) -> np.ndarray:
        """``(n_samples,)`` losses ``r`` with ``mean(w * r)`` the reduced loss."""
        direct = self._direct(y_true, y_pred)
        if direct is None:
            values, _ = loss_functions.unreduced(self.name, y_true, y_pred, need_grad=False, **self._kwargs)
        else:
            values = direct[0]
        n = values.shape[0]
        if self.reduction != "sum" and direct is not None:  # size(v) = n * positions per sample
            return values if values.ndim == 1 else values.reshape(n, -1).mean(axis=1)
        return values.reshape(n, -1).sum(axis=1) * (n * self._scale(y_true, values))

    def derivative(self, y_true, y_pred) -> np.ndarray:
        """The gradient of the (unweighted) reduced loss with respect to ``y_pred``."""
        direct = self._direct(y_true, y_pred)
        if direct is None:
            values, grad = loss_functions.unreduced(self.name, y_true, y_pred, **self._kwargs)
        else:
            values, grad = direct[0], direct[1]()
        scale = self._scale(y_true, values) if direct is None or self.reduction == "sum" else 1.0 / values.size
        return (grad * scale).astype(y_pred.dtype, copy=False)

    def fused_gradient(self, activation):
        """``gradient(y_true, p)`` with respect to the logits of an output ``activation``
        (``"softmax"`` / ``"sigmoid"``) given its output ``p``, or None where it does not
        fuse: logits, an axis other than the last, focal losses, ``ignore_class``. Label
        smoothing and the ``"sum"`` reduction are accounted for."""
        fused = self._spec.fused
        if (fused is None or fused[0] != activation or self.from_logits or self.axis != -1
                or self.params.get("ignore_class") is not None):
            return None
        base = fused[1]
        smoothing = self.params.get("label_smoothing", 0.0)
        sum_reduction = self.reduction == "sum"

        def gradient(y_true, p):
            if smoothing:
                y_true = (loss_functions._smooth_categorical(y_true, smoothing) if activation == "softmax"
                          else loss_functions._smooth_binary(y_true, smoothing))
            grad = base(y_true, p)
            if sum_reduction:  # base is the mean's gradient: undo its 1 / count
                grad = grad * np.asarray(p.size // (p.shape[-1] if activation == "softmax" else 1), grad.dtype)
            return grad

        return gradient

    # --- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": str(self.name), "from_logits": self.from_logits}
        if self.reduction != "sum_over_batch_size":
            config["reduction"] = self.reduction
        if self.axis != -1:
            config["axis"] = self.axis
        defaults = loss_functions.spec(self.name).params
        config.update({k: v for k, v in self.params.items() if defaults.get(k) != v})
        if self.display_name != self.name:
            config["display_name"] = self.display_name
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return Loss(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"Loss({self.name!r}{', ' if args else ''}{args})"


def _keras_class(class_name, key, keras_name, params=(), from_logits=False, axis=False, doc=""):
    """A Keras loss class: ``Loss`` with the name fixed and Keras's keyword arguments."""
    signature = list(params)

    def __init__(self, *args, reduction="sum_over_batch_size", name=keras_name, **kwargs):
        if len(args) > len(signature):
            raise TypeError(f"{class_name} takes at most {len(signature)} positional arguments.")
        kwargs.update(zip(signature, args))
        Loss.__init__(self, key, reduction=reduction, display_name=name, **kwargs)

    def get_config(self):
        config = {"reduction": self.reduction, "name": self.display_name}
        if from_logits:
            config["from_logits"] = self.from_logits
        if axis:
            config["axis"] = self.axis
        config.update(self.params)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    return type(class_name, (Loss,), {"__init__": __init__, "get_config": get_config, "from_config": from_config,
                                      "__doc__": doc, "__module__": __name__})


MeanSquaredError = _keras_class("MeanSquaredError", "mse", "mean_squared_error",
                                doc="mean((y_true - y_pred)^2) over the last axis.")
MeanAbsoluteError = _keras_class("MeanAbsoluteError", "mae", "mean_absolute_error",
                                 doc="mean(|y_true - y_pred|) over the last axis.")
MeanAbsolutePercentageError = _keras_class(
    "MeanAbsolutePercentageError", "mape", "mean_absolute_percentage_error",
    doc="100 mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis.")
MeanSquaredLogarithmicError = _keras_class(
    "MeanSquaredLogarithmicError", "msle", "mean_squared_logarithmic_error",
    doc="mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis.")
Huber = _keras_class("Huber", "huber", "huber_loss", params=("delta",),
                     doc="Huber(delta=1.0): 0.5 d^2 for |d| <= delta, else delta |d| - 0.5 delta^2.")
LogCosh = _keras_class("LogCosh", "log_cosh", "log_cosh", doc="mean(log(cosh(y_pred - y_true))).")
Hinge = _keras_class("Hinge", "hinge", "hinge", doc="mean(max(1 - y_true y_pred, 0)); 0/1 labels become -1/1.")
SquaredHinge = _keras_class("SquaredHinge", "squared_hinge", "squared_hinge",
                            doc="mean(max(1 - y_true y_pred, 0)^2); 0/1 labels become -1/1.")
CategoricalHinge = _keras_class("CategoricalHinge", "categorical_hinge", "categorical_hinge",
                                doc="max(max((1 - y) p) - sum(y p) + 1, 0).")
KLDivergence = _keras_class("KLDivergence", "kl_divergence", "kl_divergence",
                            doc="sum(y log(y / p)), y and p clipped to [1e-7, 1].")
Poisson = _keras_class("Poisson", "poisson", "poisson", doc="mean(p - y log(p + 1e-7)).")
CosineSimilarity = _keras_class("CosineSimilarity", "cosine_similarity", "cosine_similarity", axis=True,
                                doc="CosineSimilarity(axis=-1): -sum(l2_normalize(y) l2_normalize(p), axis).")
BinaryCrossentropy = _keras_class(
    "BinaryCrossentropy", "binary_cross_entropy", "binary_crossentropy",
    params=("from_logits", "label_smoothing", "axis"), from_logits=True, axis=True,
    doc="BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1).")
CategoricalCrossentropy = _keras_class(
    "CategoricalCrossentropy", "categorical_cross_entropy", "categorical_crossentropy",
    params=("from_logits", "label_smoothing", "axis"), from_logits=True, axis=True,
    doc="CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1); probabilities are "
        "divided by their sum over the class axis first, as in Keras.")
SparseCategoricalCrossentropy = _keras_class(
    "SparseCategoricalCrossentropy", "sparse_categorical_cross_entropy", "sparse_categorical_crossentropy",
    params=("from_logits", "ignore_class", "axis"), from_logits=True, axis=True,
    doc="SparseCategoricalCrossentropy(from_logits=False, ignore_class=None): integer labels; positions "
        "labelled ignore_class count neither in the sum nor in the mean's denominator.")
BinaryFocalCrossentropy = _keras_class(
    "BinaryFocalCrossentropy", "binary_focal_cross_entropy", "binary_focal_crossentropy",
    params=("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis"),
    from_logits=True, axis=True,
    doc="BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, "
        "label_smoothing=0.0, axis=-1).")
CategoricalFocalCrossentropy = _keras_class(
    "CategoricalFocalCrossentropy", "categorical_focal_cross_entropy", "categorical_focal_crossentropy",
    params=("alpha", "gamma", "from_logits", "label_smoothing", "axis"), from_logits=True, axis=True,
    doc="CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1).")

CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
           LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson, CosineSimilarity,
           BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
           CategoricalFocalCrossentropy)
_CLASSES = {cls.__name__: cls for cls in CLASSES}


def sample_weights(sample_weight, n_samples: int, dtype) -> np.ndarray:
    """Sample weights as a flat ``(n_samples,)`` array; ``(n_samples, 1)`` is accepted too.

    Any other shape is a ``ValueError``: a ``(n, 1)`` column multiplied into ``(n,)``
    losses would otherwise broadcast to ``(n, n)`` and give a wrong mean silently.
    """
    w = np.asarray(sample_weight, dtype=dtype)
    if w.shape not in ((n_samples,), (n_samples, 1)):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; got shape {w.shape}."
        )
    return w.reshape(n_samples)


def weight_column(sample_weight, like: np.ndarray) -> np.ndarray:
    """Sample weights ``(n,)`` reshaped to broadcast over ``like`` of shape ``(n, ...)``."""
    w = sample_weights(sample_weight, like.shape[0], like.dtype)
    return w.reshape((-1,) + (1,) * (like.ndim - 1))


def serialize(loss: Loss) -> dict:
    """``{"class_name": ..., "config": ...}`` for saving: a Keras class or ``Loss``."""
    if not isinstance(loss, Loss):
        raise TypeError(f"serialize expects a numnet Loss, got {type(loss).__name__}.")
    class_name = type(loss).__name__
    if _CLASSES.get(class_name) is not type(loss):
        class_name = "Loss"
    return {"class_name": class_name, "config": loss.get_config()}


def deserialize(record) -> Loss:
    """The loss ``serialize`` described; every value is checked as a constructor checks it
    (``ValueError`` / ``TypeError`` for bad ones)."""
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise ValueError(f"Cannot rebuild a loss from {record!r:.200}.")
    class_name = record.get("class_name", "Loss")
    cls = Loss if class_name == "Loss" else _CLASSES.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown loss class {class_name!r:.80}; known: Loss, {', '.join(sorted(_CLASSES))}.")
    return cls.from_config(dict(record["config"]))


def get(identifier) -> Loss:
    """A ``Loss`` from a name (``"mse"``, ``"huber"``), a Keras class name
    (``"MeanSquaredError"``) or a ``Loss``."""
    if isinstance(identifier, Loss) or getattr(identifier, "is_custom", False):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        raise TypeError(f"compile(loss=...) got the class {identifier.__name__}; pass an instance: "
                        f"{identifier.__name__}().")
    if callable(identifier) and not isinstance(identifier, str):
        from .training.custom_loss import FunctionLoss

        return FunctionLoss(identifier)  # fn(y_true, y_pred) written with numnet.ops
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    return Loss(identifier)
