"""Callbacks that keep and steer a training run: ``ModelCheckpoint``, ``ReduceLROnPlateau``,
``LearningRateScheduler`` and ``CSVLogger``. Exported from ``numnet.callbacks``."""

from __future__ import annotations

import csv
import math
import os

from .base import Callback, _better, _resolve_mode, _say, monitored_value


def _check_float_lr(model, owner: str) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise RuntimeError(f"{owner} needs a compiled model.")
    if callable(optimizer.learning_rate):
        raise ValueError(
            f"{owner} sets the optimizer's learning rate, but it is a schedule "
            f"({optimizer.learning_rate!r}). Use one or the other: a float learning rate with {owner}, or the "
            "schedule alone."
        )
    return float(optimizer.learning_rate)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights (``save_weights_only=True``) at the end
    of each epoch.

    ``filepath`` may hold ``str.format`` fields: ``{epoch}`` (1-based) and any figure of the
    epoch logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.npz"``. With ``save_best_only`` a
    file is written only when ``monitor`` improved on the best value so far (``mode``
    ``"min"`` / ``"max"``; ``"auto"`` maximises accuracy-like names and minimises the rest).
    Each save is atomic, so an interrupted run never leaves a half-written checkpoint.
    """

    def __init__(self, filepath, monitor: str = "val_loss", save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", verbose: int = 0) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _resolve_mode(mode, monitor)
        self.verbose = verbose
        self._improved = _better(self.mode, 0.0)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_saved: str | None = None

    def _path(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} cannot be filled in ({exc!r}); its fields may "
                f"be {{epoch}} and the epoch logs {sorted(logs)}."
            ) from exc

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.save_best_only:
            current = monitored_value(logs, self.monitor)
            if current is None or not (math.isfinite(current) and self._improved(current, self.best)):
                return
            if self.verbose:
                _say(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5g} to {current:.5g}.")
            self.best = current
        path = self._path(epoch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path
        if self.verbose:
            _say(f"Epoch {epoch + 1}: saved to {path}")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs, never below ``min_lr``; then wait
    ``cooldown`` epochs before counting again (Keras's rule)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, min_delta: float = 1e-4,
                 min_lr: float = 0.0, cooldown: int = 0, mode: str = "auto", verbose: int = 0) -> None:
        super().__init__()
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau factor must lie in (0, 1), got {factor!r}.")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ReduceLROnPlateau {name} must be a non-negative integer, got {value!r}.")
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)) or min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau min_lr must be a non-negative number, got {min_lr!r}.")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.min_delta = abs(float(min_delta))
        self.min_lr = float(min_lr)
        self.cooldown = cooldown
        self.mode = _resolve_mode(mode, monitor)
        self.verbose = verbose
        self._improved = _better(self.mode, self.min_delta)

    def on_train_begin(self, logs=None):
        _check_float_lr(self.model, "ReduceLROnPlateau")
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # Keras's log entry: the rate this epoch trained with (History runs after)
            logs["learning_rate"] = float(self.model.optimizer.current_learning_rate)
        current = monitored_value(logs, self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = _check_float_lr(self.model, "ReduceLROnPlateau")
            if old > self.min_lr:
                new = max(old * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new
                if self.verbose:
                    _say(f"Epoch {epoch + 1}: ReduceLROnPlateau lowered the learning rate to {new:.4g}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to ``schedule(epoch, lr)``, where
    ``epoch`` counts from 0 and ``lr`` is the current rate; the epoch's logs (and History)
    get it as ``learning_rate``."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.current_learning_rate)

    def __init__(self, schedule, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler expects a function schedule(epoch, lr), got {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _check_float_lr(self.model, "LearningRateScheduler")
        new = self.schedule(epoch, lr)
        if isinstance(new, bool) or not isinstance(new, (int, float)) or not (math.isfinite(new) and new >= 0):
            try:
                new = float(new)
            except (TypeError, ValueError):
                new = None
            if new is None or not (math.isfinite(new) and new >= 0):
                raise ValueError(
                    f"LearningRateScheduler: schedule({epoch}, {lr}) returned {new!r}; it must return a "
                    "non-negative number."
                )
        self.model.optimizer.learning_rate = float(new)
        if self.verbose:
            _say(f"Epoch {epoch + 1}: learning rate {float(new):.4g}.")


def _writes() -> bool:
    from ..distribution import is_chief

    return is_chief()


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: ``epoch`` (0-based, as Keras writes it) and
    every figure of the epoch logs. With ``append=True`` rows are added to an existing file
    (its header is kept); otherwise the file is overwritten."""

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._writer = None
        self._keys = None

    def on_train_begin(self, logs=None):
        self._keys = None
        if not _writes():  # DataParallel: rank 0 writes the (global) figures
            return
        if self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            if header and header[0] == "epoch":
                self._keys = header[1:]
            self._file = open(self.filename, "a", newline="")
        else:
            self._file = open(self.filename, "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            return
        if self._keys is None:
            self._keys = list(logs)
            self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(repr(float(logs[k])) if k in logs else "NA" for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
        from ..distribution import barrier

        barrier()  # no process goes on before the file is complete
