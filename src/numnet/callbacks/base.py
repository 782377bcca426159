"""Callbacks: code that runs at fixed points of ``Model.fit``.

Hooks receive ``logs``, a dict of the figures known at that point: ``on_batch_end`` gets
``{"loss": running mean loss}``; ``on_epoch_end`` gets the epoch's ``loss``, metrics and
their ``val_`` versions. A callback can stop training by setting
``self.model.stop_training = True``.
"""

from __future__ import annotations

import math

import numpy as np


def _say(text: str) -> None:
    """A callback's ``verbose`` message: printed once, by rank 0 under a DataParallel
    distribution (every rank takes the same decision from the same global figures)."""
    from ..distribution import is_chief

    if is_chief():
        print(text)


class Callback:
    """Base class; override any hook. ``self.model`` is set before training begins."""

    def __init__(self) -> None:
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_batch_begin(self, batch, logs=None): ...

    def on_batch_end(self, batch, logs=None): ...

    # Keras 3's hooks. A training batch calls on_train_batch_*, which by default calls the
    # older on_batch_* (as in Keras), so either name works.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): ...

    def on_test_end(self, logs=None): ...

    def on_test_batch_begin(self, batch, logs=None): ...

    def on_test_batch_end(self, batch, logs=None): ...

    def on_predict_begin(self, logs=None): ...

    def on_predict_end(self, logs=None): ...

    def on_predict_batch_begin(self, batch, logs=None): ...

    def on_predict_batch_end(self, batch, logs=None): ...


_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


def _overrides(callback, hook: str) -> bool:
    # a hook of its class, or a function set on the instance (LambdaCallback)
    return getattr(type(callback), hook) is not getattr(Callback, hook) or hook in getattr(callback, "__dict__", {})


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model, params) -> None:
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be numnet.callbacks.Callback instances, got {callback!r}.")
            callback.set_model(model)
            callback.set_params(params)
        # BackupAndRestore runs after the others at every hook: its backup at an epoch's end then
        # holds their counters as updated for that epoch, and it restores them after they reset.
        self.callbacks.sort(key=lambda c: bool(getattr(c, "_runs_last", False)))  # stable
        for callback in self.callbacks:
            if hasattr(callback, "_set_siblings"):
                callback._set_siblings(self.callbacks)
        # Skip the per-batch hooks entirely when nobody listens (they run every step).
        self.wants = {kind: any(_overrides(c, h) for c in self.callbacks for h in hooks)
                      for kind, hooks in _BATCH_HOOKS.items()}
        self.wants_batches = self.wants["train"]

    def __getattr__(self, hook):
        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is a list, one per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _better(mode: str, min_delta: float):
    if mode == "min":
        return lambda current, best: current < best - min_delta
    return lambda current, best: current > best + min_delta


def _resolve_mode(mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode != "auto":
        return mode
    higher_is_better = ("acc", "precision", "recall", "f1", "r2", "auc")
    return "max" if any(word in monitor for word in higher_is_better) else "min"


def monitored_value(logs, monitor: str) -> float | None:
    """``logs[monitor]``, or None when the logs do not hold it: the callback then does
    nothing that epoch, as in Keras (``fit`` warned before training began)."""
    return (logs or {}).get(monitor)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row (so at most ``best epoch + patience`` epochs are trained; patience 0
    stops at the first epoch without improvement). With ``restore_best_weights=True`` the model ends with the weights of its best
    epoch (also when training runs to the last epoch without stopping)."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False, baseline=None, verbose=0) -> None:
        super().__init__()
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}.")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.mode = _resolve_mode(mode, monitor)
        self.restore_best_weights = restore_best_weights
        self.baseline = baseline
        self.verbose = verbose
        self._improved = _better(self.mode, self.min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self.best_weights = None
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value(logs, self.monitor)
        if current is None:
            return
        if self._improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras: stop after `patience` epochs without improvement
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.verbose and self.stopped_epoch is not None:
            _say(f"Early stopping at epoch {self.stopped_epoch + 1}; best {self.monitor} "
                  f"{self.best:.6g} at epoch {self.best_epoch + 1 if self.best_epoch is not None else '-'}.")


class TerminateOnNaN(Callback):
    """Stop training quietly (no exception) when the loss becomes NaN or infinite.

    Without it, ``fit`` raises ``FloatingPointError``; either way the model keeps its last
    finite weights.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.model.stop_training = True


# Checkpoints, learning-rate control and CSV logs live in their own module.
