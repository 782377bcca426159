"""Loss functions and their derivatives, as pure functions of NumPy arrays.

Each loss is a pair ``(loss, derivative)`` in the shape of the seed's activations:

* ``loss(y_true, y_pred)`` returns the mean loss as a float;
* ``derivative(y_true, y_pred)`` returns ``d loss / d y_pred`` with ``y_pred``'s shape.

Reductions are PyTorch's defaults: ``mse``, ``mae``, ``huber`` and
``binary_cross_entropy`` average over every element; the categorical losses average
``-sum(y * log p)`` over samples. Probabilities are clipped to ``[EPSILON, 1 - EPSILON]``
so ``log(0)`` never happens (the clipped region has zero gradient). With
``from_logits=True`` the cross-entropies take raw scores and use log-sum-exp.

Shapes: ``y_pred`` is ``(n_samples, ...)``. For the categorical losses the last axis is the
class axis; ``sparse_categorical_cross_entropy`` takes integer labels of shape
``(n_samples,)`` (or ``(n_samples, 1)``).

``per_sample(name)`` gives the unreduced ``(n_samples,)`` losses whose mean is ``loss``,
used for sample weights. ``fused_gradient(name)`` gives the gradient with respect to the
*logits* of a softmax / sigmoid output, ``(p - y) / N``, used by models.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._names import canonical
from .activation_functions import sigmoid, softmax

EPSILON = 1e-7
HUBER_DELTA = 1.0


def _per_sample_mean(elementwise: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first: (n_samples, ...) -> (n_samples,)."""
    return elementwise.reshape(elementwise.shape[0], -1).mean(axis=1)


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Integer labels of shape y_pred.shape[:-1], from (n,) or (n, 1)."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim:
        labels = labels[..., 0]
    return labels.astype(np.intp, copy=False)


def _label_index(p: np.ndarray, labels: np.ndarray):
    """An index into ``p.reshape(-1, n_classes)`` selecting each position's label."""
    flat_labels = labels.reshape(-1)
    return np.arange(flat_labels.size), flat_labels


def _pick(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """p[..., labels] position by position (plain fancy indexing on the 2-D view: far
    cheaper per call than take_along_axis)."""
    return p.reshape(-1, p.shape[-1])[_label_index(p, labels)].reshape(labels.shape)


def _n_positions(y_pred: np.ndarray) -> int:
    """How many class distributions y_pred holds: size / n_classes."""
    return y_pred.size // y_pred.shape[-1]


# --- regression -----------------------------------------------------------------------
def mse_per_sample(y_true, y_pred):
    """(p - y)^2, averaged per sample."""
    return _per_sample_mean((y_pred - y_true) ** 2)


def mse_derivative(y_true, y_pred):
    """2 (p - y) / n_elements."""
    return (y_pred - y_true) * (2.0 / y_pred.size)


def mae_per_sample(y_true, y_pred):
    """|p - y|, averaged per sample."""
    return _per_sample_mean(np.abs(y_pred - y_true))


def mae_derivative(y_true, y_pred):
    """sign(p - y) / n_elements (0 where p == y)."""
    return np.sign(y_pred - y_true) * (1.0 / y_pred.size)


def huber_per_sample(y_true, y_pred):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); d = p - y, delta = 1."""
    d = np.abs(y_pred - y_true)
    return _per_sample_mean(np.where(d < HUBER_DELTA, 0.5 * d * d, HUBER_DELTA * (d - 0.5 * HUBER_DELTA)))


def huber_derivative(y_true, y_pred):
    """clip(p - y, -delta, delta) / n_elements."""
    return np.clip(y_pred - y_true, -HUBER_DELTA, HUBER_DELTA) * (1.0 / y_pred.size)


# --- binary cross-entropy ---------------------------------------------------------------
def binary_cross_entropy_per_sample(y_true, y_pred):
    """-(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps], averaged per sample."""
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return _per_sample_mean(-(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)))


def binary_cross_entropy_derivative(y_true, y_pred):
    """(p - y) / (p (1 - p)) / n_elements; zero where p was clipped."""
    inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return np.where(inside, (p - y_true) / (p * (1 - p)), 0) * (1.0 / y_pred.size)


def binary_cross_entropy_logits_per_sample(y_true, z):
    """max(z, 0) - z y + log(1 + exp(-|z|)): the same loss on p = sigmoid(z), stably."""
    return _per_sample_mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z))))


def binary_cross_entropy_logits_derivative(y_true, z):
    """(sigmoid(z) - y) / n_elements."""
    return (sigmoid(z) - y_true) * (1.0 / z.size)


# --- categorical cross-entropy ----------------------------------------------------------
def categorical_cross_entropy_per_sample(y_true, y_pred):
    """-sum_c y_c log p_c (p clipped), averaged over positions within a sample."""
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return _per_sample_mean(-(y_true * np.log(p)).sum(axis=-1, keepdims=True))


def categorical_cross_entropy_derivative(y_true, y_pred):
    """-y / p / N, zero where p was clipped; N = number of distributions."""
    inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return np.where(inside, -y_true / p, 0) * (1.0 / _n_positions(y_pred))


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def categorical_cross_entropy_logits_per_sample(y_true, z):
    """-sum_c y_c log_softmax(z)_c, with log-sum-exp."""
    return _per_sample_mean(-(y_true * _log_softmax(z)).sum(axis=-1, keepdims=True))


def categorical_cross_entropy_logits_derivative(y_true, z):
    """(softmax(z) sum_c y_c - y) / N."""
    return (softmax(z) * y_true.sum(axis=-1, keepdims=True) - y_true) * (1.0 / _n_positions(z))


def sparse_categorical_cross_entropy_per_sample(y_true, y_pred):
    """-log p[label] (clipped)."""
    p = np.clip(_pick(y_pred, _sparse_labels(y_true, y_pred)), EPSILON, 1 - EPSILON)
    return _per_sample_mean(-np.log(p)[..., None])


def sparse_categorical_cross_entropy_derivative(y_true, y_pred):
    """-1 / p[label] / N at the label, 0 elsewhere."""
    labels = _sparse_labels(y_true, y_pred)
    picked = _pick(y_pred, labels)
    inside = (picked > EPSILON) & (picked < 1 - EPSILON)
    grad = np.zeros_like(y_pred)
    values = np.where(inside, -1.0 / np.clip(picked, EPSILON, 1 - EPSILON), 0) * (1.0 / _n_positions(y_pred))
    grad.reshape(-1, grad.shape[-1])[_label_index(grad, labels)] = values.reshape(-1)
    return grad


def sparse_categorical_cross_entropy_logits_per_sample(y_true, z):
    """-log_softmax(z)[label]."""
    return _per_sample_mean(-_pick(_log_softmax(z), _sparse_labels(y_true, z))[..., None])


def sparse_categorical_cross_entropy_logits_derivative(y_true, z):
    """(softmax(z) - onehot(label)) / N."""
    return sparse_softmax_fused_gradient(y_true, softmax(z))


# --- fused output-activation gradients --------------------------------------------------
def softmax_fused_gradient(y_true, p):
    """d CE(y, softmax(z)) / dz = (p sum_c y_c - y) / N, from p = softmax(z)."""
    return (p * y_true.sum(axis=-1, keepdims=True) - y_true) * (1.0 / _n_positions(p))


def sparse_softmax_fused_gradient(y_true, p):
    """d CE(label, softmax(z)) / dz = (p - onehot(label)) / N, from p = softmax(z)."""
    labels = _sparse_labels(y_true, p)
    scale = 1.0 / _n_positions(p)
    grad = p * scale
    grad.reshape(-1, grad.shape[-1])[_label_index(grad, labels)] -= scale
    return grad


def sigmoid_fused_gradient(y_true, p):
    """d BCE(y, sigmoid(z)) / dz = (p - y) / n_elements, from p = sigmoid(z)."""
    return (p - y_true) * (1.0 / p.size)


class LossEntry(NamedTuple):
    per_sample: Callable
    derivative: Callable
    logits_per_sample: Callable | None = None
    logits_derivative: Callable | None = None
    # (activation name, gradient wrt that activation's input given its output)
    fused: tuple[str, Callable] | None = None


_REGISTRY: dict[str, LossEntry] = {
    "mse": LossEntry(mse_per_sample, mse_derivative),
    "mae": LossEntry(mae_per_sample, mae_derivative),
    "huber": LossEntry(huber_per_sample, huber_derivative),
    "binary_cross_entropy": LossEntry(
        binary_cross_entropy_per_sample,
        binary_cross_entropy_derivative,
        binary_cross_entropy_logits_per_sample,
        binary_cross_entropy_logits_derivative,
        ("sigmoid", sigmoid_fused_gradient),
    ),
    "categorical_cross_entropy": LossEntry(
        categorical_cross_entropy_per_sample,
        categorical_cross_entropy_derivative,
        categorical_cross_entropy_logits_per_sample,
        categorical_cross_entropy_logits_derivative,
        ("softmax", softmax_fused_gradient),
    ),
    "sparse_categorical_cross_entropy": LossEntry(
        sparse_categorical_cross_entropy_per_sample,
        sparse_categorical_cross_entropy_derivative,
        sparse_categorical_cross_entropy_logits_per_sample,
        sparse_categorical_cross_entropy_logits_derivative,
        ("softmax", sparse_softmax_fused_gradient),
    ),
}
_ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "huber_loss": "huber",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy",
    "sparse_categorical_crossentropy": "sparse_categorical_cross_entropy",
}
NAMES = tuple(sorted(_REGISTRY)) + tuple(sorted(_ALIASES))


def canonical_name(name) -> str:
    """The registry key for ``name`` (resolving Keras spellings), or ``ValueError``."""
    return canonical(name, _REGISTRY, _ALIASES, "loss")


def entry(name: str) -> LossEntry:
    return _REGISTRY[canonical_name(name)]


def supports_logits(name: str) -> bool:
    return entry(name).logits_per_sample is not None


def per_sample(name: str, from_logits: bool = False) -> Callable:
    """``per_sample(y_true, y_pred) -> (n_samples,)`` unreduced losses."""
    e = entry(name)
    if from_logits:
        if e.logits_per_sample is None:
            raise ValueError(f"Loss {canonical_name(name)!r} has no from_logits form; only the cross-entropies do.")
        return e.logits_per_sample
    return e.per_sample


def get_loss(name: str, from_logits: bool = False) -> tuple[Callable, Callable]:
    """Return ``(loss, derivative)`` for the loss called ``name``.

    ``loss(y_true, y_pred) -> float`` is the mean loss; ``derivative(y_true, y_pred)``
    is its gradient with respect to ``y_pred``.
    """
    e = entry(name)
    unreduced = per_sample(name, from_logits)
    derivative = e.logits_derivative if from_logits else e.derivative

    def loss(y_true, y_pred) -> float:
        return float(unreduced(y_true, y_pred).mean())

    loss.__name__ = canonical_name(name)
    loss.__doc__ = unreduced.__doc__
    return loss, derivative


def fused_gradient(name: str, activation: str | None) -> Callable | None:
    """The gradient with respect to the logits for ``activation`` followed by the loss
    ``name``, computed from the activation's output, or None when they do not fuse."""
    fused = entry(name).fused
    if fused is not None and fused[0] == activation:
        return fused[1]
    return None
