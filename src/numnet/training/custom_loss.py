"""Custom losses and metrics written with ``numnet.ops``, and the terms of ``add_loss``.

* ``FunctionLoss``: ``compile(loss=fn)`` with ``fn(y_true, y_pred)`` returning per-sample
  values ``(n,)``, elementwise values ``(n, ...)`` (averaged per sample, as Keras reduces
  them) or one mean value. ``per_sample`` evaluates it on Tensors; ``derivative`` gives
  d mean_i(loss_i) / d y_pred from a tape, the convention of ``numnet.loss_functions``.
  A ``numnet.losses.Loss`` subclass with ``call(y_true, y_pred)`` is the same (``CallLoss``).
  A function returning one mean value cannot be split by sample: its per-sample values are
  that mean, and sample weights scale its gradient per sample as for any loss.
* ``FunctionMetric``: ``metrics=[fn]``, the mean over every sample seen of ``fn``'s
  per-sample values (Keras's ``MeanMetricWrapper``); exact however the data is batched.
* ``AddedLosses``: what a training / test step adds to the compiled loss: the terms
  ``add_loss`` received in the step's forward pass (their gradient came with each call
  layer's backward) and the model's zero-argument callables (evaluated on a tape, their
  gradient added to the weights').
"""

from __future__ import annotations

import numpy as np

from ..layers import custom as _custom
from ..ops import tape as _tape
from ..ops.tensor import Tensor, wrap


def _name_of(fn) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return "custom_loss" if name == "<lambda>" else name


def _per_sample_tensor(values, n: int, where: str):
    """``values`` (a Tensor: scalar, ``(n,)`` or ``(n, ...)``) as ``(n,)`` per-sample values,
    or the scalar itself (the mean over the batch)."""
    from .. import ops

    if not isinstance(values, Tensor):
        raise TypeError(
            f"{where} returned a {type(values).__name__}, not a numnet Tensor: compute it with numnet.ops "
            "(ops.mean, ops.square, ...) on the Tensors it receives, so that it has a gradient."
        )
    if values.ndim == 0:
        return values
    if values.shape[0] != n:
        raise ValueError(
            f"{where} returned shape {values.shape}; expected one value per sample ({n},), elementwise values "
            f"({n}, ...), or a scalar."
        )
    if values.ndim == 1:
        return values
    return ops.mean(ops.reshape(values, (n, -1)), axis=1)


class FunctionLoss:
    """``fn(y_true, y_pred)`` as a compiled loss (see the module docstring)."""

    is_custom = True
    is_sparse = False
    from_logits = False

    def __init__(self, fn, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"A custom loss must be callable fn(y_true, y_pred), got {fn!r}.")
        self.fn = fn
        self.name = name or _name_of(fn)

    def _evaluate(self, y_true, y_pred):
        return _per_sample_tensor(self.fn(y_true, y_pred), y_pred.shape[0], f"Loss {self.name!r}")

    def per_sample(self, y_true, y_pred) -> np.ndarray:
        """``(n,)`` loss values (the batch mean repeated for a function returning a scalar)."""
        with _tape.pause_recording():
            values = self._evaluate(wrap(np.asarray(y_true)), wrap(y_pred))
        array = np.asarray(values.value)
        return np.full(y_pred.shape[0], array, dtype=y_pred.dtype) if array.ndim == 0 else array.astype(
            y_pred.dtype, copy=False)

    def derivative(self, y_true, y_pred) -> np.ndarray:
        """d mean_i(loss_i) / d y_pred, from a tape."""
        from .. import ops

        prediction = wrap(y_pred)
        with _tape.pause_recording(), _tape.GradientTape() as tape:
            tape.watch(prediction)
            values = self._evaluate(wrap(np.asarray(y_true)), prediction)
            total = values if values.ndim == 0 else ops.mean(values)
        grad = tape.gradient(total, prediction)
        return np.zeros_like(y_pred) if grad is None else grad.value

    def fused_gradient(self, activation):
        """None: a custom loss always differentiates through the output activation."""
        return None

    def __call__(self, y_true, y_pred, sample_weight=None):
        return loss_on_tensors(self, y_true, y_pred, sample_weight)

    def __repr__(self) -> str:
        return f"FunctionLoss({self.name!r})"


def loss_on_tensors(loss, y_true, y_pred, sample_weight=None):
    """``loss(y_true, y_pred)`` on Tensors (under a tape, for a training loop): the weighted
    mean over samples, as a Tensor. A custom loss is its ops; a built-in one is one op
    whose backward is its derivative."""
    from .. import ops
    from ..ops.tensor import as_array

    n = np.shape(as_array(y_pred))[0]
    weights = None if sample_weight is None else np.asarray(as_array(sample_weight), dtype=np.float64).reshape(n)
    if getattr(loss, "is_custom", False):
        values = loss._evaluate(y_true if isinstance(y_true, Tensor) else wrap(np.asarray(y_true)),
                                y_pred if isinstance(y_pred, Tensor) else ops.convert_to_tensor(y_pred))
        if values.ndim == 0:
            return values if weights is None else values * float(weights.mean())
        return ops.mean(values if weights is None else values * weights.astype(values.dtype))
    y, p = np.asarray(as_array(y_true)), as_array(y_pred)
    per = loss.per_sample(*loss._check(y, p))
    if weights is not None:
        per = per * weights.astype(per.dtype)
    out = wrap(np.asarray(per.mean(), dtype=p.dtype))

    def backward(g):
        grad = loss.derivative(y, p)
        if weights is not None:
            grad = grad * weights.astype(grad.dtype).reshape((-1,) + (1,) * (grad.ndim - 1))
        return None, grad * g

    return _tape.record(backward, (y_true, y_pred), out, name=f"loss:{loss.name}")


class FunctionMetric:
    """``metrics=[fn]``: the mean of ``fn``'s per-sample values over every sample seen."""

    is_function_metric = True

    def __init__(self, fn, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or _name_of(fn)
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, y_true, y_pred) -> None:
        with _tape.pause_recording():
            values = _per_sample_tensor(self.fn(wrap(np.asarray(y_true)), wrap(np.asarray(y_pred))),
                                        len(y_pred), f"Metric {self.name!r}")
        n = len(y_pred)
        array = np.asarray(values.value, dtype=np.float64)
        self.total += float(array) * n if array.ndim == 0 else float(array.sum())
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred) -> float:
        self.reset()
        self.update(np.asarray(y_true), np.asarray(y_pred))
        return self.result()


# --- add_loss ------------------------------------------------------------------------------------
def _callables(model) -> list:
    found = list(model.__dict__.get("_callable_losses", []))
    for _, leaf in _custom.leaves_of(model):
        found.extend(leaf.__dict__.get("_callable_losses", []))
    return found


class AddedLosses:
    """``with AddedLosses(model) as added: <forward>``; then ``added.value`` is the sum of
    the terms ``add_loss`` got in that forward plus the model's callables' values, and
    ``added.add_gradients()`` adds the callables' gradients to the layers' ``grads``."""

    __slots__ = ("model", "terms", "value", "_grads", "with_gradients")

    def __init__(self, model, with_gradients: bool = True) -> None:
        self.model = model
        self.terms: list = []
        self.value = 0.0
        self._grads = None
        self.with_gradients = with_gradients

    def __enter__(self) -> "AddedLosses":
        _custom._state.collectors.append(self.terms)
        return self

    def __exit__(self, *exc) -> None:
        _custom._state.collectors.pop()  # ours: steps do not interleave
        if self.terms:
            self.value = float(sum(self.terms))
        if _custom._any_callable_losses and exc[0] is None:
            callables = _callables(self.model)
            if callables:
                self.value += self._evaluate(callables)

    def _evaluate(self, callables) -> float:
        from .. import ops

        if not self.with_gradients:
            with _tape.pause_recording():
                return float(sum(float(np.sum(np.asarray(fn()))) for fn in callables))
        variables = self.model.trainable_variables
        with _tape.pause_recording(), _tape.GradientTape() as tape:
            terms = [fn() for fn in callables]
            for fn, term in zip(callables, terms):
                if not isinstance(term, Tensor) or term.size != 1:
                    raise TypeError(f"add_loss: the callable {fn!r} must return a scalar numnet Tensor, got {term!r:.80}.")
            total = terms[0]
            for term in terms[1:]:
                total = ops.add(total, term)
        self._grads = list(zip(variables, tape.gradient(total, variables)))
        return float(total)

    def add_gradients(self) -> None:
        """Add the callables' gradients to ``grads`` (after ``FlatParameters.gather``, whose
        views they then update in place)."""
        for variable, grad in self._grads or ():
            if grad is not None:
                variable.layer.grads[variable.key] += grad.value
