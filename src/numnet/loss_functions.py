"""Loss functions and their gradients, as pure functions of NumPy arrays.

Every loss has a *kernel* ``kernel(y_true, y_pred, **params) -> (values, grad)``, ``grad`` a
function of no arguments so that a caller wanting only the values never computes it:

* ``values``: the unreduced loss, Keras's function output: ``y_pred``'s shape without the
  class / feature axis (``axis``, the last by default), e.g. ``(n_samples,)`` for 2-D input;
* ``grad``: ``d sum(values) / d y_pred``, with ``y_pred``'s shape and dtype.

Keras's functions (``mean_squared_error(y_true, y_pred)``, ``binary_crossentropy(...,
from_logits, label_smoothing, axis)`` ...) return ``values``; ``numnet.losses`` wraps a
kernel in a class that reduces it (``"sum_over_batch_size"``: the sum divided by the number
of values, PyTorch's mean; ``"sum"``; ``None``).

The seed's interface stays: ``get_loss(name, from_logits) -> (loss, derivative)`` with
``loss(y_true, y_pred)`` the mean loss and ``derivative`` its gradient; ``per_sample(name)``
gives ``(n_samples,)`` losses whose mean is ``loss``; ``fused_gradient(name, activation)``
gives the gradient with respect to the *logits* of a softmax / sigmoid output.

Probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` so ``log(0)`` never happens (the
clipped region has zero gradient). As in Keras, the categorical cross-entropies first divide
``y_pred`` by its sum over the class axis, so probabilities that do not sum to 1 give the
loss Keras gives (PyTorch's ``NLLLoss(log p)`` does not normalise; for outputs of a softmax
the two agree).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ._names import canonical
from .activation_functions import sigmoid, softmax

EPSILON = 1e-7  # Keras's backend.epsilon()
HUBER_DELTA = 1.0
_LOG2 = math.log(2.0)


# --- helpers ---------------------------------------------------------------------------------
def _clip_inside(p):
    """(clip(p, eps, 1 - eps), mask of where p was not clipped)."""
    return np.clip(p, EPSILON, 1 - EPSILON), (p > EPSILON) & (p < 1 - EPSILON)


def _normalise_vjp(g, q, total):
    """Gradient through q = p / sum(p): dL/dp = (g - sum(g q)) / sum(p), last axis."""
    return (g - (g * q).sum(axis=-1, keepdims=True)) / total


def _softmax_vjp(g, s):
    return s * (g - (g * s).sum(axis=-1, keepdims=True))


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Integer labels of shape y_pred.shape[:-1], from that shape or with a trailing 1."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim:
        labels = labels[..., 0]
    return labels.astype(np.intp, copy=False)


def _pick(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """p[..., labels] position by position (fancy indexing on the 2-D view: far cheaper per
    call than take_along_axis)."""
    flat = labels.reshape(-1)
    return p.reshape(-1, p.shape[-1])[np.arange(flat.size), flat].reshape(labels.shape)


def _scatter(like: np.ndarray, labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """An array of zeros like ``like`` holding ``values`` at each position's label."""
    out = np.zeros_like(like)
    flat = labels.reshape(-1)
    out.reshape(-1, out.shape[-1])[np.arange(flat.size), flat] = values.reshape(-1)
    return out


def _hinge_labels(y):
    """Keras converts labels that are all 0 or 1 to -1 / 1; others are used as given."""
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


def _smooth_binary(y, label_smoothing):
    return y * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y


def _smooth_categorical(y, label_smoothing):
    return y * (1.0 - label_smoothing) + label_smoothing / y.shape[-1] if label_smoothing else y


def _mean_last(elementwise, grad):
    """values = mean over the last axis; the gradient of their sum is grad() / K."""
    k = elementwise.shape[-1]
    return elementwise.mean(axis=-1), lambda: grad() * (1.0 / k)


# --- regression kernels (class axis: the last) ----------------------------------------------
def _mse(y, p):
    d = p - y
    return _mean_last(d * d, lambda: 2.0 * d)


def _mae(y, p):
    d = p - y
    return _mean_last(np.abs(d), lambda: np.sign(d))


def _mape(y, p):
    """100 mean(|y - p| / max(|y|, eps))."""
    scale = 100.0 / np.maximum(np.abs(y), EPSILON)
    d = p - y
    return _mean_last(np.abs(d) * scale, lambda: np.sign(d) * scale)


def _msle(y, p):
    """mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))^2)."""
    pm = np.maximum(p, EPSILON)
    a = np.log1p(pm) - np.log1p(np.maximum(y, EPSILON))
    return _mean_last(a * a, lambda: 2.0 * a / (1.0 + pm) * (p > EPSILON))


def _huber(y, p, delta=HUBER_DELTA):
    """0.5 d^2 where |d| <= delta, else delta |d| - 0.5 delta^2; d = p - y."""
    d = p - y
    a = np.abs(d)
    return _mean_last(np.where(a <= delta, 0.5 * d * d, delta * a - 0.5 * delta * delta), lambda:
                      np.clip(d, -delta, delta))


def _log_cosh(y, p):
    """log(cosh(d)) = d + softplus(-2 d) - log 2, which never overflows; d' = tanh(d)."""
    d = p - y
    softplus = np.maximum(-2 * d, 0) + np.log1p(np.exp(-np.abs(2 * d)))
    return _mean_last(d + softplus - _LOG2, lambda: np.tanh(d))


def _hinge(y, p):
    t = _hinge_labels(y)
    margin = 1.0 - t * p
    return _mean_last(np.maximum(margin, 0), lambda: np.where(margin > 0, -t, 0.0))


def _squared_hinge(y, p):
    t = _hinge_labels(y)
    m = np.maximum(1.0 - t * p, 0)
    return _mean_last(m * m, lambda: -2.0 * t * m)


def _categorical_hinge(y, p):
    """max(neg - pos + 1, 0), pos = sum(y p), neg = max((1 - y) p)."""
    pos = (y * p).sum(axis=-1)
    other = (1.0 - y) * p
    neg = other.max(axis=-1)
    value = np.maximum(neg - pos + 1.0, 0)
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, np.argmax(other, axis=-1)[..., None], 1.0, axis=-1)
    return value, lambda: (onehot * (1.0 - y) - y) * (value > 0)[..., None]


def _kl_divergence(y, p):
    """sum(y log(y / p)), y and p clipped to [eps, 1]."""
    yc = np.clip(y, EPSILON, 1)
    pc = np.clip(p, EPSILON, 1)
    inside = (p > EPSILON) & (p < 1)
    return (yc * np.log(yc / pc)).sum(axis=-1), lambda: np.where(inside, -yc / pc, 0.0)


def _poisson(y, p):
    """mean(p - y log(p + eps))."""
    return _mean_last(p - y * np.log(p + EPSILON), lambda: 1.0 - y / (p + EPSILON))


def _cosine_similarity(y, p):
    """-sum(y / |y| * p / |p|), each norm at least sqrt(eps) as Keras's l2 normalisation."""
    ry = 1.0 / np.sqrt(np.maximum((y * y).sum(axis=-1, keepdims=True), EPSILON))
    sp = (p * p).sum(axis=-1, keepdims=True)
    rp = 1.0 / np.sqrt(np.maximum(sp, EPSILON))
    yn, pn = y * ry, p * rp
    cos = (yn * pn).sum(axis=-1, keepdims=True)
    return -cos[..., 0], lambda: -(yn - np.where(sp > EPSILON, pn * cos, 0.0)) * rp


# --- cross-entropies ------------------------------------------------------------------------
def _binary_ce(y, p, from_logits=False, label_smoothing=0.0):
    """-(y log p + (1 - y) log(1 - p)) averaged over the last axis; p clipped, or p =
    sigmoid(z) computed stably from logits z as max(z, 0) - z y + log(1 + exp(-|z|))."""
    y = _smooth_binary(y, label_smoothing)
    if from_logits:
        z = p
        return _mean_last(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), lambda: sigmoid(z) - y)
    pc, inside = _clip_inside(p)
    return _mean_last(-(y * np.log(pc) + (1 - y) * np.log1p(-pc)), lambda:
                      np.where(inside, (pc - y) / (pc * (1 - pc)), 0.0))


def _categorical_ce(y, p, from_logits=False, label_smoothing=0.0):
    """-sum_c y_c log q_c with q = p / sum(p) clipped (Keras), or q = softmax(z)."""
    y = _smooth_categorical(y, label_smoothing)
    if from_logits:
        shifted = p - p.max(axis=-1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return -(y * log_q).sum(axis=-1), lambda: np.exp(log_q) * y.sum(axis=-1, keepdims=True) - y
    total = p.sum(axis=-1, keepdims=True)
    q = p / total
    qc, inside = _clip_inside(q)
    return -(y * np.log(qc)).sum(axis=-1), lambda: _normalise_vjp(np.where(inside, -y / qc, 0.0), q, total)


def _sparse_categorical_ce(labels, p, from_logits=False):
    """-log q[label], q = p / sum(p) clipped, or softmax(z). ``labels``: integer array of
    p.shape[:-1]."""
    if from_logits:
        shifted = p - p.max(axis=-1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

        def grad():
            g = np.exp(log_q)
            flat = labels.reshape(-1)
            g.reshape(-1, g.shape[-1])[np.arange(flat.size), flat] -= 1.0
            return g

        return -_pick(log_q, labels), grad
    total = p.sum(axis=-1, keepdims=True)
    picked = _pick(p, labels) / total[..., 0]  # q[label] without dividing every column
    pc = np.clip(picked, EPSILON, 1 - EPSILON)

    def grad():  # the clipping mask only when a gradient is asked for (the training step's is fused)
        inside = (picked > EPSILON) & (picked < 1 - EPSILON)
        return _normalise_vjp(_scatter(p, labels, np.where(inside, -1.0 / pc, 0.0)), p / total, total)

    return -np.log(pc), grad


def _binary_focal_ce(y, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                     label_smoothing=0.0):
    """mean(w (1 - p_t)^gamma bce), p_t = y p + (1 - y)(1 - p), w = alpha y + (1 - alpha)(1 - y)
    with class balancing, else 1; p = sigmoid(z) for logits (then clipped as probabilities)."""
    y = _smooth_binary(y, label_smoothing)
    s = sigmoid(p) if from_logits else p
    pc, inside = _clip_inside(s)
    bce = -(y * np.log(pc) + (1 - y) * np.log1p(-pc))
    one_minus_pt = 1.0 - (y * s + (1 - y) * (1 - s))
    focal = one_minus_pt**gamma
    weight = y * alpha + (1 - y) * (1 - alpha) if apply_class_balancing else 1.0

    def grad():
        dbce = np.where(inside, (pc - y) / (pc * (1 - pc)), 0.0)
        # d focal / ds = -gamma (1 - p_t)^(gamma - 1) (2 y - 1); 0 for gamma = 0
        dfocal = 0.0 if gamma == 0 else -gamma * np.power(one_minus_pt, gamma - 1) * (2 * y - 1)
        g = weight * (dfocal * bce + focal * dbce)
        return g * s * (1 - s) if from_logits else g

    return _mean_last(weight * focal * bce, grad)


def _categorical_focal_ce(y, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    """sum_c alpha (1 - q_c)^gamma (-y_c log q_c), q = p / sum(p) clipped, or softmax(z)."""
    y = _smooth_categorical(y, label_smoothing)
    alpha = np.asarray(alpha, dtype=p.dtype)
    s = softmax(p) if from_logits else p
    total = s.sum(axis=-1, keepdims=True)
    q = s / total
    qc, inside = _clip_inside(q)
    ce = -y * np.log(qc)
    focal = (1.0 - qc) ** gamma

    def grad():
        dfocal = 0.0 if gamma == 0 else -gamma * (1.0 - qc) ** (gamma - 1)
        g = _normalise_vjp(np.where(inside, alpha * (dfocal * ce + focal * (-y / qc)), 0.0), q, total)
        return _softmax_vjp(g, s) if from_logits else g

    return (alpha * focal * ce).sum(axis=-1), grad


# --- the registry ---------------------------------------------------------------------------
class Spec(NamedTuple):
    """How to compute one loss: ``kernel(y, p, **params) -> (values, grad)``.

    ``params``: the keyword arguments it takes with their defaults; ``has_axis``: Keras gives
    it an ``axis`` (handled by moving that axis last); ``from_logits``: it takes raw scores;
    ``sparse``: ``y_true`` holds integer labels; ``fused``: ``(activation, gradient wrt
    that activation's input given its output)`` for default parameters.
    """

    kernel: Callable
    params: dict
    has_axis: bool = False
    from_logits: bool = False
    sparse: bool = False
    fused: tuple | None = None


def softmax_fused_gradient(y_true, p):
    """d CE(y, softmax(z)) / dz = (p sum_c y_c - y) / N, from p = softmax(z)."""
    return (p * y_true.sum(axis=-1, keepdims=True) - y_true) * (1.0 / (p.size // p.shape[-1]))


def sparse_softmax_fused_gradient(y_true, p):
    """d CE(label, softmax(z)) / dz = (p - onehot(label)) / N, from p = softmax(z)."""
    labels = _sparse_labels(y_true, p)
    scale = 1.0 / (p.size // p.shape[-1])
    grad = p * scale
    flat = labels.reshape(-1)
    grad.reshape(-1, grad.shape[-1])[np.arange(flat.size), flat] -= scale
    return grad


def sigmoid_fused_gradient(y_true, p):
    """d BCE(y, sigmoid(z)) / dz = (p - y) / n_elements, from p = sigmoid(z)."""
    return (p - y_true) * (1.0 / p.size)


_CE = {"from_logits": False, "label_smoothing": 0.0}
_SPECS: dict[str, Spec] = {
    "mse": Spec(_mse, {}),
    "mae": Spec(_mae, {}),
    "mape": Spec(_mape, {}),
    "msle": Spec(_msle, {}),
    "huber": Spec(_huber, {"delta": HUBER_DELTA}),
    "log_cosh": Spec(_log_cosh, {}),
    "hinge": Spec(_hinge, {}),
    "squared_hinge": Spec(_squared_hinge, {}),
    "categorical_hinge": Spec(_categorical_hinge, {}),
    "kl_divergence": Spec(_kl_divergence, {}),
    "poisson": Spec(_poisson, {}),
    "cosine_similarity": Spec(_cosine_similarity, {}, has_axis=True),
    "binary_cross_entropy": Spec(_binary_ce, dict(_CE), True, True, fused=("sigmoid", sigmoid_fused_gradient)),
    "categorical_cross_entropy": Spec(_categorical_ce, dict(_CE), True, True,
                                      fused=("softmax", softmax_fused_gradient)),
    "sparse_categorical_cross_entropy": Spec(_sparse_categorical_ce, {"from_logits": False, "ignore_class": None},
                                             True, True, sparse=True,
                                             fused=("softmax", sparse_softmax_fused_gradient)),
    "binary_focal_cross_entropy": Spec(_binary_focal_ce, {"apply_class_balancing": False, "alpha": 0.25,
                                                          "gamma": 2.0, **_CE}, True, True),
    "categorical_focal_cross_entropy": Spec(_categorical_focal_ce, {"alpha": 0.25, "gamma": 2.0, **_CE},
                                            True, True),
}
_ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "mean_squared_logarithmic_error": "msle",
    "huber_loss": "huber",
    "logcosh": "log_cosh",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy",
    "sparse_categorical_crossentropy": "sparse_categorical_cross_entropy",
    "binary_focal_crossentropy": "binary_focal_cross_entropy",
    "categorical_focal_crossentropy": "categorical_focal_cross_entropy",
}
_REGISTRY = _SPECS  # the name other modules knew it by
NAMES = tuple(sorted(_SPECS)) + tuple(sorted(_ALIASES))


def canonical_name(name) -> str:
    """The registry key for ``name`` (resolving Keras spellings), or ``ValueError``."""
    return canonical(name, _SPECS, _ALIASES, "loss")


def spec(name) -> Spec:
    return _SPECS[canonical_name(name)]


def supports_logits(name: str) -> bool:
    return spec(name).from_logits


def unreduced(name, y_true, y_pred, *, axis=-1, need_grad=True, **params):
    """``(values, grad)`` of the loss ``name``: Keras's unreduced values (``y_pred``'s shape
    without ``axis``) and ``d sum(values) / d y_pred``. ``params`` are the loss's keyword
    arguments (``from_logits``, ``delta`` ...); ``ignore_class`` gives ignored positions a
    value and a gradient of 0. Inputs are taken as they come: ``numnet.losses`` checks them."""
    s = spec(name)
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    moved = s.has_axis and axis not in (-1, y_pred.ndim - 1)
    if moved:
        # contiguous: the sparse kernels write through reshaped views
        y_pred = np.ascontiguousarray(np.moveaxis(y_pred, axis, -1))
        if not s.sparse:
            y_true = np.moveaxis(y_true, axis, -1)
    if s.sparse:
        labels = _sparse_labels(y_true, y_pred)
        ignore = params.get("ignore_class")
        if ignore is not None:
            valid = labels != ignore
            values, grad = s.kernel(np.where(valid, labels, 0), y_pred, from_logits=params.get("from_logits", False))
            values = np.where(valid, values, 0.0)
            unmasked = grad
            grad = lambda: unmasked() * valid[..., None]  # noqa: E731
        else:
            values, grad = s.kernel(labels, y_pred, from_logits=params.get("from_logits", False))
    else:
        values, grad = s.kernel(y_true.astype(y_pred.dtype, copy=False), y_pred, **params)
    values = np.asarray(values).astype(y_pred.dtype, copy=False)
    if not need_grad:
        return values, None
    grad = grad().astype(y_pred.dtype, copy=False)
    if moved:
        grad = np.moveaxis(grad, -1, axis)
    return values, grad


def valid_count(name, y_true, values, ignore_class=None) -> int:
    """How many values a ``sum_over_batch_size`` mean divides by: all of them, or, with
    ``ignore_class``, those whose label is not ignored (Keras masks them out of the mean)."""
    if ignore_class is None or not spec(name).sparse:
        return values.size
    labels = np.asarray(y_true)
    if labels.size != values.size:
        labels = labels.reshape(values.shape + (-1,))[..., 0]
    return int(np.count_nonzero(labels.reshape(values.shape) != ignore_class))


# --- the seed's interface: mean losses with default parameters --------------------------------
def _mean_of(name, from_logits):
    extra = {"from_logits": True} if from_logits else {}

    def per_sample_fn(y_true, y_pred):
        values, _ = unreduced(name, y_true, y_pred, need_grad=False, **extra)
        return values.reshape(values.shape[0], -1).mean(axis=1)

    def derivative_fn(y_true, y_pred):
        values, grad = unreduced(name, y_true, y_pred, **extra)
        return grad * (1.0 / values.size)

    return per_sample_fn, derivative_fn


def per_sample(name: str, from_logits: bool = False) -> Callable:
    """``per_sample(y_true, y_pred) -> (n_samples,)`` unreduced losses (mean over each
    sample's positions) whose mean is the loss."""
    if from_logits and not supports_logits(name):
        raise ValueError(f"Loss {canonical_name(name)!r} has no from_logits form; only the cross-entropies do.")
    return _mean_of(canonical_name(name), from_logits)[0]


def get_loss(name: str, from_logits: bool = False) -> tuple[Callable, Callable]:
    """Return ``(loss, derivative)`` for the loss called ``name`` with default parameters.

    ``loss(y_true, y_pred) -> float`` is the mean loss; ``derivative(y_true, y_pred)``
    is its gradient with respect to ``y_pred``.
    """
    unreduced_fn = per_sample(name, from_logits)
    derivative = _mean_of(canonical_name(name), from_logits)[1]

    def loss(y_true, y_pred) -> float:
        return float(unreduced_fn(y_true, y_pred).mean())

    loss.__name__ = canonical_name(name)
    loss.__doc__ = spec(name).kernel.__doc__
    return loss, derivative


def fused_gradient(name: str, activation: str | None) -> Callable | None:
    """The gradient with respect to the logits for ``activation`` followed by the loss
    ``name`` (default parameters, mean reduction), computed from the activation's output,
    or None when they do not fuse. A ``Loss``'s ``name`` carries the loss itself
    (``numnet.losses.LossKey``): then its ``fused_gradient``, which accounts for its
    arguments and reduction, answers."""
    owner = getattr(name, "loss", None)
    if owner is not None:
        return owner.fused_gradient(activation)
    fused = spec(name).fused
    if fused is not None and fused[0] == activation:
        return fused[1]
    return None


# --- Keras's functions: unreduced values ------------------------------------------------------
def _values(name, y_true, y_pred, **params):
    return unreduced(name, y_true, y_pred, need_grad=False, **params)[0]


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2, axis=-1)."""
    return _values("mse", y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1)."""
    return _values("mae", y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)."""
    return _values("mape", y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)."""
    return _values("msle", y_true, y_pred)


def huber(y_true, y_pred, delta=HUBER_DELTA):
    """mean(0.5 d^2 if |d| <= delta else delta |d| - 0.5 delta^2, axis=-1), d = y_pred - y_true."""
    return _values("huber", y_true, y_pred, delta=delta)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1)."""
    return _values("log_cosh", y_true, y_pred)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0), axis=-1); labels all in {0, 1} become -1 / 1."""
    return _values("hinge", y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)^2, axis=-1); labels all in {0, 1} become -1 / 1."""
    return _values("squared_hinge", y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) y_pred) - sum(y_true y_pred) + 1, 0) over the last axis."""
    return _values("categorical_hinge", y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """sum(y log(y / p), axis=-1), both clipped to [eps, 1]."""
    return _values("kl_divergence", y_true, y_pred)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true log(y_pred + eps), axis=-1)."""
    return _values("poisson", y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) l2_normalize(y_pred), axis)."""
    return _values("cosine_similarity", y_true, y_pred, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(-(y log p + (1 - y) log(1 - p)), axis), y smoothed to y (1 - ls) + ls / 2."""
    return _values("binary_cross_entropy", y_true, y_pred, from_logits=from_logits,
                   label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y log(p / sum p), axis), y smoothed to y (1 - ls) + ls / n_classes."""
    return _values("categorical_cross_entropy", y_true, y_pred, from_logits=from_logits,
                   label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log(p[label] / sum p); positions labelled ``ignore_class`` give 0."""
    return _values("sparse_categorical_cross_entropy", y_true, y_pred, from_logits=from_logits,
                   ignore_class=ignore_class, axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(w (1 - p_t)^gamma bce, axis); see ``numnet.losses.BinaryFocalCrossentropy``."""
    return _values("binary_focal_cross_entropy", y_true, y_pred, apply_class_balancing=apply_class_balancing,
                   alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum(alpha (1 - q)^gamma (-y log q), axis), q = p / sum p clipped."""
    return _values("categorical_focal_cross_entropy", y_true, y_pred, alpha=alpha, gamma=gamma,
                   from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
