"""``Loss``: a thin, seed-style object over ``loss_functions``.

>>> loss = Loss("categorical_cross_entropy")
>>> value = loss.forward(y_true, y_pred)      # float, the mean loss
>>> grad = loss.backward(y_true, y_pred)      # d loss / d y_pred, shape of y_pred
"""

from __future__ import annotations

import numpy as np

from . import loss_functions


class Loss:
    """A named loss with ``forward`` (the value) and ``backward`` (d loss / d y_pred).

    ``sample_weight`` (shape ``(n_samples,)``) weighs each sample's loss: the result is
    ``mean_i(w_i * loss_i)``, as Keras reduces a weighted batch.
    """

    def __init__(self, name: str, from_logits: bool = False) -> None:
        self.name = loss_functions.canonical_name(name)
        self.from_logits = bool(from_logits)
        self.per_sample = loss_functions.per_sample(self.name, self.from_logits)
        entry = loss_functions.entry(self.name)
        self.derivative = entry.logits_derivative if self.from_logits else entry.derivative
        self.is_sparse = self.name == "sparse_categorical_cross_entropy"

    def _check(self, y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        expected = y_pred.shape[:-1] if self.is_sparse else y_pred.shape
        if y_true.shape != expected and not (self.is_sparse and y_true.shape == expected + (1,)):
            raise ValueError(
                f"Loss {self.name!r}: y_true has shape {y_true.shape} but y_pred has shape "
                f"{y_pred.shape}; expected y_true of shape {expected}."
            )
        return y_true, y_pred

    def forward(self, y_true, y_pred, sample_weight=None) -> float:
        y_true, y_pred = self._check(y_true, y_pred)
        losses = self.per_sample(y_true, y_pred)
        if sample_weight is not None:
            losses = losses * sample_weights(sample_weight, len(losses), losses.dtype)
        return float(losses.mean())

    def backward(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        y_true, y_pred = self._check(y_true, y_pred)
        grad = self.derivative(y_true, y_pred)
        if sample_weight is not None:
            grad = grad * weight_column(sample_weight, grad)
        return grad

    __call__ = forward

    def get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}

    def __repr__(self) -> str:
        return f"Loss({self.name!r}, from_logits={self.from_logits})"


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


def get(identifier) -> Loss:
    """A ``Loss`` from a name or a ``Loss``."""
    if isinstance(identifier, Loss):
        return identifier
    return Loss(identifier)
