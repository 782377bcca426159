"""The fit / evaluate / predict loop: validation at the boundary, batching, the
divergence guard, progress display and callbacks.

Everything a user passes is checked once, before any weight changes (``_Data``). The
per-batch loop then only indexes, casts, runs forward / backward and steps the optimizer.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from . import callbacks as callbacks_module
from .losses import weight_column

# How many batches may pass between two snapshots of the weights that the divergence guard
# falls back to when an update itself produced non-finite weights (rare: usually the loss
# overflows first and the weights that produced it are still finite).
SNAPSHOT_EVERY = 100


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _numeric_array(name: str, value) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a numeric array; it could not be converted: {exc}") from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers (bool, int or float), got an array of dtype {array.dtype}.")
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar.")
    return array


def _check_finite(name: str, array: np.ndarray) -> None:
    # min and max are NaN / inf exactly when some element is, without a temporary array.
    if array.dtype.kind == "f" and array.size and not (np.isfinite(array.min()) and np.isfinite(array.max())):
        raise ValueError(f"{name} contains NaN or infinite values; clean or impute them before training.")


def _require_compiled(model, action: str) -> None:
    if not getattr(model, "compiled", False):
        raise RuntimeError(f"Call model.compile(loss=..., optimizer=...) before model.{action}().")


def as_inputs(model, x, name: str = "x", check_finite: bool = True) -> list[np.ndarray]:
    """Validate ``x`` against the model's inputs; returns one array per input (no copy).

    ``check_finite=False`` skips the NaN / inf scan of the inputs (``predict`` scans its
    much smaller output instead, and the inputs only when the output is not finite)."""
    if getattr(model, "output_layer", None) is None:  # a Sequential built from its first data
        first = x[0] if isinstance(x, (list, tuple)) and x and isinstance(x[0], np.ndarray) else x
        model.build(_numeric_array(name, first).shape[1:])
    n_inputs = len(model.inputs)
    if n_inputs > 1:
        if not isinstance(x, (list, tuple)) or len(x) != n_inputs:
            raise ValueError(f"The model has {n_inputs} inputs; pass {name} as a list of {n_inputs} arrays.")
        arrays = [_numeric_array(f"{name}[{i}]", a) for i, a in enumerate(x)]
    else:
        if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray):
            x = x[0]
        arrays = [_numeric_array(name, x)]
    for i, (array, layer) in enumerate(zip(arrays, model.inputs)):
        label = name if n_inputs == 1 else f"{name}[{i}]"
        if array.shape[1:] != layer.shape:
            one_sample = array.shape == layer.shape
            raise ValueError(
                f"{label} has shape {array.shape}, but input {layer.name!r} expects (n_samples, "
                f"{', '.join(map(str, layer.shape))}): "
                f"feature shape {layer.shape}, got {array.shape[1:]}."
                + (f" For one sample, add the batch axis: {label}[None]." if one_sample else "")
            )
        if check_finite:
            _check_finite(label, array)
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"The input arrays have different numbers of samples: {[len(a) for a in arrays]}.")
    return arrays


def as_targets(model, y, n_samples: int, name: str = "y") -> np.ndarray:
    """Validate ``y`` against the model's output and loss (and that there is data at all)."""
    if n_samples == 0:
        raise ValueError(f"The data holds no samples; {name} and its inputs need at least one row.")
    y = _numeric_array(name, y)
    if len(y) != n_samples:
        raise ValueError(f"x has {n_samples} samples but {name} has {len(y)}; they must match.")
    _check_finite(name, y)
    output_shape = model.output_shape
    loss = model.loss.name
    if loss == "sparse_categorical_cross_entropy":
        if y.shape[1:] not in (output_shape[:-1], output_shape[:-1] + (1,)):
            raise ValueError(
                f"{name} must hold integer class labels of shape (n_samples,) for "
                f"sparse_categorical_cross_entropy, got {y.shape}."
            )
        if y.dtype.kind == "f" and np.any(y != np.floor(y)):
            raise ValueError(f"{name} must hold whole-number class labels for sparse_categorical_cross_entropy.")
        n_classes = output_shape[-1]
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(
                f"{name} holds class labels from {y.min():g} to {y.max():g}, but the output has {n_classes} "
                f"classes (labels 0..{n_classes - 1})."
            )
        return y.astype(np.intp, copy=False)
    if y.shape[1:] != output_shape:
        if y.ndim == 1 and output_shape == (1,):
            y = y.reshape(-1, 1)
        else:
            hint = " Use sparse_categorical_cross_entropy for integer labels." if y.ndim == 1 else ""
            raise ValueError(
                f"{name} has shape {y.shape}, but the model outputs (n_samples, "
                f"{', '.join(map(str, output_shape))}).{hint}"
            )
    if loss in ("binary_cross_entropy", "categorical_cross_entropy") and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{name} must hold values in [0, 1] for {loss}, got values from {y.min():g} to {y.max():g}.")
    return y


def _class_indices(model, y: np.ndarray) -> np.ndarray:
    if model.loss.name == "sparse_categorical_cross_entropy":
        return y.reshape(len(y))
    if y.shape[-1] == 1:
        return np.rint(y.reshape(len(y))).astype(np.intp)
    return y.reshape(len(y), -1).argmax(axis=1)


def as_sample_weights(model, y, sample_weight, class_weight) -> np.ndarray | None:
    """One weight per sample from ``sample_weight`` and/or ``class_weight`` (or None)."""
    n = len(y)
    weights = None
    if sample_weight is not None:
        weights = _numeric_array("sample_weight", sample_weight).astype(np.float64)
        if weights.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {weights.shape}.")
        _check_finite("sample_weight", weights)
        if np.any(weights < 0):
            raise ValueError("sample_weight must be non-negative.")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(f"class_weight must be a dict {{class index: weight}}, got {class_weight!r}.")
        for label, w in class_weight.items():
            valid_label = isinstance(label, (int, np.integer)) and not isinstance(label, bool) and label >= 0
            valid_weight = isinstance(w, (int, float, np.integer, np.floating)) and np.isfinite(w) and w >= 0
            if not (valid_label and valid_weight):
                raise ValueError(f"class_weight must map class indices to non-negative weights, got {label!r}: {w!r}.")
        classes = _class_indices(model, y)
        table = np.ones(max(int(classes.max(initial=0)) + 1, max(class_weight, default=0) + 1))
        for label, w in class_weight.items():
            table[label] = w
        per_class = table[classes]
        weights = per_class if weights is None else weights * per_class
    return weights


def _interactive() -> bool:
    """A terminal or a notebook, where a progress bar redraws in place."""
    return sys.stdout.isatty() or "ipykernel" in sys.modules


class _Progress:
    """verbose=1: a tqdm bar per epoch; verbose=2: one line per epoch; 0: silent.

    When the output is not interactive (a log file, a pipe, CI), a bar's redraws would
    pile up as text, so verbose=1 prints the one line per epoch instead, as Keras does.
    """

    REFRESH_SECONDS = 0.2

    def __init__(self, verbose: int, epochs: int, n_batches: int) -> None:
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}.")
        if verbose == 1 and not _interactive():
            verbose = 2
        self.verbose, self.epochs, self.n_batches = verbose, epochs, n_batches
        self.bar = None

    def begin_epoch(self, epoch: int) -> None:
        self.start = time.perf_counter()
        self.last_refresh = 0.0
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.n_batches, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch",
                            leave=True, dynamic_ncols=True, file=sys.stdout)

    def batch(self, running_logs) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self.last_refresh >= self.REFRESH_SECONDS:
            self.last_refresh = now
            self.bar.set_postfix(_format(running_logs()), refresh=False)

    def end_epoch(self, epoch: int, logs: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix(_format(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self.start
            figures = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.1f}s - {figures}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _format(logs: dict) -> dict:
    return {k: f"{v:.4f}" for k, v in logs.items()}


class _Snapshot:
    """Copies of every weight and the optimizer state, to fall back to after divergence."""

    def __init__(self, model) -> None:
        self.weights = model.get_weights()
        optimizer = model.optimizer
        self.iterations = optimizer.iterations
        self.state = {k: {s: a.copy() for s, a in slots.items()} for k, slots in optimizer.state.items()}

    def restore(self, model) -> None:
        model.set_weights(self.weights)
        model.optimizer.iterations = self.iterations
        model.optimizer.state = {k: {s: a.copy() for s, a in slots.items()} for k, slots in self.state.items()}


def _weights_finite(model) -> bool:
    return all(np.isfinite(w.min()) and np.isfinite(w.max()) for layer in model.layers for w in layer.weights if w.size)


def _batch_loss(model, y, out, weights) -> float:
    losses = model.loss.per_sample(y, out)
    if weights is not None:
        losses = losses * weights
    return float(losses.mean())


def train_step(model, xs: list[np.ndarray], y: np.ndarray, weights) -> tuple[float, np.ndarray]:
    """One forward / backward / update on one batch; returns (loss, output).

    The update is skipped when the loss is not finite, so the caller can stop with the
    weights that produced it."""
    out = model.forward(xs, training=True)
    loss = _batch_loss(model, y, out, weights)
    if not np.isfinite(loss):
        return loss, out
    if model._fused is not None:
        grad = model._fused(y, out)
    else:
        grad = model.loss.derivative(y, out)
    if weights is not None:
        grad = grad * weight_column(weights, grad)
    flat = model.flat_parameters()
    model.backward(grad, skip_output_activation=model._fused is not None)
    flat.gather()
    model.optimizer.step_flat(flat.layout, flat.params, flat.grads)
    return loss, out


def _take(arrays, index, dtype):
    """Rows ``index`` (a slice or an index array) of each array, cast to ``dtype``."""
    return [a[index].astype(dtype, copy=False) for a in arrays]


def _batches(n: int, batch_size: int | None):
    step = n if batch_size is None else batch_size
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(start + step, n))


def fit(model, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
        callbacks=None, verbose=1, class_weight=None, sample_weight=None):
    _require_compiled(model, "fit")
    epochs = _check_positive_int("epochs", epochs)
    batch_size = _check_positive_int("batch_size", batch_size)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer, np.floating)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1), got {validation_split!r}.")
    xs = as_inputs(model, x)
    n = len(xs[0])
    y = as_targets(model, y, n)
    weights = as_sample_weights(model, y, sample_weight, class_weight)

    train_index = np.arange(n)
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight).")
        x_val = as_inputs(model, validation_data[0], "x_val")
        y_val = as_targets(model, validation_data[1], len(x_val[0]), "y_val")
        w_val = validation_data[2] if len(validation_data) == 3 else None
        val = (x_val, y_val, as_sample_weights(model, y_val, w_val, None))
    elif validation_split:
        n_val = int(n * validation_split)
        if n_val == 0 or n_val == n:
            raise ValueError(f"validation_split={validation_split} of {n} samples leaves an empty split.")
        permutation = model.rng.permutation(n)
        held_out, train_index = np.sort(permutation[:n_val]), np.sort(permutation[n_val:])
        val = ([a[held_out] for a in xs], y[held_out], None if weights is None else weights[held_out])

    n_train = len(train_index)
    n_batches = -(-n_train // batch_size)
    user_callbacks = list(callbacks or [])
    quiet_on_nan = any(isinstance(c, callbacks_module.TerminateOnNaN) for c in user_callbacks)
    history = callbacks_module.History()
    log_keys = ["loss"] + [m.name for m in model.metrics]
    if val is not None:
        log_keys += [f"val_{key}" for key in log_keys]
    params = {"epochs": epochs, "steps": n_batches, "batch_size": batch_size, "samples": n_train,
              "verbose": verbose, "metrics": log_keys}
    hooks = callbacks_module.CallbackList([history, *user_callbacks], model, params)
    progress = _Progress(verbose, epochs, n_batches)
    model.history = history
    model.stop_training = False
    dtype = model.dtype
    contiguous = n_train == n  # no hold-out: plain slices are views, not copies
    sparse_labels = model.loss.is_sparse

    hooks.on_train_begin({})
    snapshot = _Snapshot(model)
    try:
        for epoch in range(epochs):
            hooks.on_epoch_begin(epoch, {})
            progress.begin_epoch(epoch)
            for metric in model.metrics:
                metric.reset()
            order = model.rng.permutation(train_index) if shuffle else train_index
            loss_sum, seen = 0.0, 0

            def running_logs():
                logs = {"loss": loss_sum / max(seen, 1)}
                logs.update((m.name, m.result()) for m in model.metrics)
                return logs

            for batch, rows in enumerate(_batches(n_train, batch_size)):
                index = rows if contiguous and not shuffle else order[rows]
                xb = _take(xs, index, dtype)
                yb = y[index]
                if not sparse_labels:  # int / bool targets too: never upcast a float32 step
                    yb = yb.astype(dtype, copy=False)
                wb = None if weights is None else weights[index]
                if hooks.wants_batches:
                    hooks.on_batch_begin(batch, {})
                loss, out = train_step(model, xb, yb, wb)
                if not np.isfinite(loss):
                    if not _weights_finite(model):
                        snapshot.restore(model)
                    if quiet_on_nan:
                        hooks.on_batch_end(batch, {"loss": loss})
                        if verbose:
                            print(f"Loss became {loss} at epoch {epoch + 1}, batch {batch + 1}: training stopped "
                                  "(TerminateOnNaN); the model keeps its last finite weights.")
                        model.stop_training = True
                        break
                    lr = model.optimizer.current_learning_rate
                    raise FloatingPointError(
                        f"The loss became {loss} at epoch {epoch + 1}, batch {batch + 1}. Training stopped and "
                        f"the model keeps its last finite weights. Try a lower learning rate (now {lr:g}), "
                        "scaling the inputs, or checking the targets."
                    )
                batch_n = len(yb)
                loss_sum += loss * batch_n
                seen += batch_n
                for metric in model.metrics:
                    metric.update(yb, out)
                if batch % SNAPSHOT_EVERY == SNAPSHOT_EVERY - 1 and _weights_finite(model):
                    snapshot = _Snapshot(model)
                if hooks.wants_batches:
                    hooks.on_batch_end(batch, {"loss": loss_sum / seen})
                progress.batch(running_logs)
            if seen == n_train and not _weights_finite(model):
                # The epoch's last update overflowed: no later loss would reveal it.
                snapshot.restore(model)
                message = (f"The weights became NaN or infinite in the update at epoch {epoch + 1}, batch "
                           f"{n_batches}; the model keeps its last finite weights.")
                if not quiet_on_nan:
                    raise FloatingPointError(f"{message} Try a lower learning rate (now "
                                             f"{model.optimizer.current_learning_rate:g}) or scaling the inputs.")
                if verbose:
                    print(f"{message} Training stopped (TerminateOnNaN).")
                model.stop_training = True
                seen = 0  # the epoch did not complete: do not log it
            if model.stop_training and seen < n_train:  # stopped mid-epoch by TerminateOnNaN
                progress.close()
                break
            logs = running_logs()
            if val is not None:
                val_logs = _evaluate_arrays(model, *val, batch_size=max(batch_size, 256))
                logs.update((f"val_{k}", v) for k, v in val_logs.items())
            progress.end_epoch(epoch, logs)
            hooks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    finally:
        progress.close()
    hooks.on_train_end({})
    return history


def _evaluate_arrays(model, xs, y, weights, batch_size) -> dict:
    for metric in model.metrics:
        metric.reset()
    total, n = 0.0, len(y)
    for rows in _batches(n, _inference_batch(model, batch_size)):
        out = model.forward(_take(xs, rows, model.dtype), training=False)
        yb = y[rows]
        if not model.loss.is_sparse:
            yb = yb.astype(model.dtype, copy=False)
        losses = model.loss.per_sample(yb, out)
        if weights is not None:
            losses = losses * weights[rows]
        total += float(losses.sum(dtype=np.float64))
        for metric in model.metrics:
            metric.update(yb, out)
    logs = {"loss": total / n if n else float("nan")}
    logs.update((m.name, m.result()) for m in model.metrics)
    return logs


def evaluate(model, x, y, batch_size=32, sample_weight=None, verbose=0) -> dict:
    _require_compiled(model, "evaluate")
    batch_size = _check_positive_int("batch_size", batch_size)
    xs = as_inputs(model, x)
    y = as_targets(model, y, len(xs[0]))
    weights = as_sample_weights(model, y, sample_weight, None)
    logs = _evaluate_arrays(model, xs, y, weights, batch_size)
    if verbose:
        print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    return logs


# predict and evaluate run at most this many bytes of any one layer's output at a time.
INFERENCE_ACTIVATION_BYTES = 4 << 20


def _inference_batch(model, batch_size: int) -> int:
    """``batch_size``, or fewer samples when a batch's widest layer output would exceed
    ``INFERENCE_ACTIVATION_BYTES``: each layer's output then stays in cache for the next
    layer instead of going out to memory (a 1,024-sample batch of a 26x26x32 conv output
    is 88 MB). Inference treats every sample on its own in all of numnet's layers, so the
    predictions are the same either way."""
    itemsize = np.dtype(model.dtype).itemsize
    widest = max((int(np.prod(layer.output_shape)) for layer in model.layers if layer.output_shape), default=1)
    return max(1, min(batch_size, INFERENCE_ACTIVATION_BYTES // max(1, widest * itemsize)))


def predict(model, x, batch_size=32, verbose=0) -> np.ndarray:
    if batch_size is not None:
        batch_size = _check_positive_int("batch_size", batch_size)
    xs = as_inputs(model, x, check_finite=False)
    n = len(xs[0])
    out = np.empty((n,) + tuple(model.output_shape), dtype=model.dtype)
    for rows in _batches(n, _inference_batch(model, n if batch_size is None else batch_size)):
        out[rows] = model.forward(_take(xs, rows, model.dtype), training=False)
    if out.size and not (np.isfinite(out.min()) and np.isfinite(out.max())):
        # A NaN prediction: blame the input if it holds NaN / inf (the error fit would give).
        for i, array in enumerate(xs):
            _check_finite("x" if len(xs) == 1 else f"x[{i}]", array)
    return out
