"""The fit / evaluate / predict loops: batching, the divergence guard, progress display and
callbacks around the model's ``train_step`` / ``test_step`` / ``predict_step``.

Everything a user passes is checked once, before any weight changes (``numnet.training.data``).
The per-batch loop then only indexes, casts and calls the step.
"""

from __future__ import annotations

import itertools
import signal
import threading
import warnings
from contextlib import contextmanager

import numpy as np

from .. import callbacks as callbacks_module
from . import adapters, fit_data
from .predict_source import predict_source
from .data import as_inputs, as_sample_weights, as_targets, check_finite, check_positive_int
from .guard import Snapshot, weights_finite
from ..distribution import is_chief
from .progress import Progress

# How many batches may pass between two snapshots of the weights that the divergence guard
# falls back to when an update itself produced non-finite weights (rare: usually the loss
# overflows first and the weights that produced it are still finite).
SNAPSHOT_EVERY = 100

# predict and evaluate run at most this many bytes of any one layer's output at a time.
INFERENCE_ACTIVATION_BYTES = 4 << 20


def _take(arrays, index, dtype):
    """Rows ``index`` (a slice or an index array) of each array, cast to ``dtype`` (string
    arrays stay strings: see data.cast_inputs)."""
    return [a[index] if a.dtype.kind == "U" else a[index].astype(dtype, copy=False) for a in arrays]


def _take_targets(model, ys, index):
    dtype = model.dtype
    taken = []
    for y, output in zip(ys, model._compiled.outputs):
        if y is None:
            taken.append(None)
            continue
        part = y[index]
        if not (output.loss is not None and output.loss.is_sparse):  # never upcast a float32 step
            part = part.astype(dtype, copy=False)
        taken.append(part)
    return taken


def _take_weights(weights, index):
    return None if weights is None else [None if w is None else w[index] for w in weights]


def _batches(n: int, batch_size: int | None):
    step = n if batch_size is None else batch_size
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(start + step, n))


class _Interrupts:
    """Ctrl-C during ``fit`` takes effect between two steps, so the model is exactly as after
    the last completed step (weights, optimizer state and iterations, BatchNorm statistics).
    A second Ctrl-C interrupts at once. Only in the main thread (where Python delivers
    SIGINT); elsewhere nothing changes."""

    def __init__(self) -> None:
        self.pending = False

    def _handler(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    @contextmanager
    def deferred(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def check(self, epoch: int, batch: int) -> None:
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt(
                f"Training interrupted at epoch {epoch + 1}, after batch {batch + 1}; the model is exactly as "
                "after that step."
            )


def _fit_lock(model) -> threading.Lock:
    lock = model.__dict__.get("_fit_lock")
    if lock is None:
        lock = model.__dict__.setdefault("_fit_lock", threading.Lock())
    return lock


def fit(model, x, y, **kwargs):
    """``Model.fit``: one ``fit`` at a time per model (a second, from another thread, is a
    RuntimeError: two loops stepping one optimizer would corrupt it)."""
    lock = _fit_lock(model)
    if not lock.acquire(blocking=False):
        raise RuntimeError(f"Model {model.name!r} is already being trained by another fit() call; numnet trains a "
                           "model in one fit at a time (use a copy of the model for a second run).")
    try:
        with _Interrupts().deferred() as interrupts:
            return _fit(model, x, y, interrupts=interrupts, **kwargs)
    finally:
        lock.release()


def _fit(model, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
         callbacks=None, verbose=1, class_weight=None, sample_weight=None, interrupts=None, initial_epoch=0,
         steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
    from .trainer import NonFiniteLoss

    model._require_compiled("fit")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer, np.floating)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1), got {validation_split!r}.")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"initial_epoch must be a non-negative integer, got {initial_epoch!r:.80}.")
    validation_freq = adapters.check_validation_freq(validation_freq)
    validations = sum(adapters.should_validate(e, validation_freq) for e in range(initial_epoch, epochs))
    train, val = None, None
    try:
        train, val, n_train = fit_data.training_data(
            model, x, y, sample_weight, class_weight, batch_size, shuffle, validation_split, validation_data,
            steps_per_epoch, validation_steps, validation_batch_size, validations)
        return _epochs(model, train, val, n_train, epochs, initial_epoch, batch_size, validation_freq, callbacks,
                       verbose, interrupts, NonFiniteLoss)
    finally:
        for source in (train, val):
            if source is not None:
                source.close()  # no prefetching worker outlives fit


def _epochs(model, train, val, n_train, epochs, initial_epoch, batch_size, validation_freq, callbacks, verbose,
            interrupts, NonFiniteLoss):
    compiled = model._compiled
    n_batches = train.num_batches  # None while a generator's length is unknown
    user_callbacks = list(callbacks or [])
    quiet_on_nan = any(isinstance(c, callbacks_module.TerminateOnNaN) for c in user_callbacks)
    history = callbacks_module.History()
    log_keys = list(compiled.log_keys)
    if val is not None:
        log_keys += [f"val_{key}" for key in log_keys]
    params = {"epochs": epochs, "steps": n_batches, "batch_size": batch_size if n_train is not None else None,
              "samples": n_train,
              "verbose": verbose, "metrics": log_keys}
    for callback in user_callbacks:
        # A validation figure without validation data can never appear (other names may be
        # added to the logs by another callback).
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("val_") and val is None:
            warnings.warn(
                f"{type(callback).__name__} monitors {monitor!r}, which this fit() never logs (it logs {log_keys}); "
                f"give validation_data or validation_split. {type(callback).__name__} will not act.",
                stacklevel=3,
            )
    # History last (as in Keras): it records what the other callbacks added to the epoch's
    # logs, such as ReduceLROnPlateau's "learning_rate".
    hooks = callbacks_module.CallbackList([*user_callbacks, history], model, params)
    progress = Progress(verbose, epochs, n_batches)
    model.history = history
    model.stop_training = False
    trained = 0  # batches trained in this fit

    hooks.on_train_begin({})
    # Where an interrupted fit stopped, as callbacks.BackupAndRestore restored it; else (0, 0).
    start_epoch, start_batch = model.__dict__.pop("_resume_at", (0, 0))
    snapshot = Snapshot(model)
    try:
        for epoch in range(max(initial_epoch, start_epoch), epochs):
            hooks.on_epoch_begin(epoch, {})
            n_batches = progress.n_batches = train.num_batches
            progress.begin_epoch(epoch)
            if epoch > initial_epoch:
                snapshot = Snapshot(model)
            compiled.reset()
            logs = {}
            # A resumed epoch skips the batches its backup already trained (they are still drawn,
            # so that the shuffled order and every later batch are the uninterrupted run's).
            completed, start_batch = start_batch, 0
            batches = train.epoch()
            for batch, data in itertools.islice(enumerate(batches), completed, None):
                if hooks.wants_batches:
                    hooks.on_train_batch_begin(batch, {})
                try:
                    logs = model.train_step(data)
                except NonFiniteLoss as exc:
                    # The step changed nothing: the model is as after the last finite step.
                    loss = exc.loss
                    if quiet_on_nan:
                        hooks.on_train_batch_end(batch, {"loss": loss})
                        if verbose and is_chief():
                            print(f"{exc.what[0].upper()}{exc.what[1:]} at epoch {epoch + 1}, batch {batch + 1}: "
                                  "training stopped (TerminateOnNaN); the model keeps the weights of its last "
                                  "finite step.")
                        model.stop_training = True
                        break
                    lr = model.optimizer.current_learning_rate
                    raise FloatingPointError(
                        f"{exc.what[0].upper()}{exc.what[1:]} at epoch {epoch + 1}, batch {batch + 1}. Training "
                        f"stopped and the model keeps the weights, optimizer state and statistics of its last "
                        f"finite step. Try a lower learning rate (now {lr:g}), scaling the inputs, or checking "
                        "the targets."
                    ) from None
                completed += 1
                if interrupts is not None:
                    interrupts.check(epoch, batch)
                if batch % SNAPSHOT_EVERY == SNAPSHOT_EVERY - 1 and weights_finite(model):
                    snapshot = Snapshot(model)
                if hooks.wants_batches:
                    hooks.on_train_batch_end(batch, dict(logs))
                progress.batch(compiled.results)
                if model.stop_training:  # set by a callback during the epoch: stop after this batch
                    break
            batches.close()  # an epoch left early stops its prefetching
            trained += completed
            cut = model.stop_training and (n_batches is None or completed < n_batches)
            if not completed and not model.stop_training:
                progress.close()
                if not trained:
                    raise ValueError(f"{train.source.label[0].upper()}{train.source.label[1:]} gave no batch: "
                                     "there is nothing to train on.")
                warnings.warn(adapters.RAN_OUT, stacklevel=5)  # a generator used up by the epochs before
                model.stop_training = True
                break
            if train.ran_out:
                warnings.warn(adapters.RAN_OUT, stacklevel=5)
            if not cut and not (weights_finite(model) and model.optimizer.state_finite()):
                # An update overflowed although its gradient was finite (a learning rate near the
                # largest accepted, or an accumulator such as Adagrad's that grew over many steps).
                snapshot.restore(model)
                message = (f"The weights or the optimizer state became NaN or infinite during epoch {epoch + 1}; "
                           f"the model is back at its last snapshot (taken every {SNAPSHOT_EVERY} steps and at the "
                           "start of the epoch).")
                if not quiet_on_nan:
                    raise FloatingPointError(f"{message} Try a lower learning rate (now "
                                             f"{model.optimizer.current_learning_rate:g}) or scaling the inputs.")
                if verbose and is_chief():
                    print(f"{message} Training stopped (TerminateOnNaN).")
                model.stop_training = True
                completed, cut = 0, True  # the epoch did not complete: do not log it
            if cut:  # stopped mid-epoch (TerminateOnNaN, a callback)
                progress.close()
                if completed:
                    logs = compiled.results()
                    hooks.on_epoch_end(epoch, logs)
                break
            logs = compiled.results()
            if val is not None and adapters.should_validate(epoch, validation_freq):
                val_logs = evaluate_batches(model, val)
                logs.update((f"val_{k}", v) for k, v in val_logs.items())
            progress.end_epoch(epoch, logs)
            hooks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    finally:
        progress.close()
    hooks.on_train_end({})
    return history


@contextmanager
def evaluation(model):
    """Let ``test_step`` accumulate into figures of this thread's own
    (``CompiledLoss.fresh_copy``) while the block runs."""
    local = model.__dict__.get("_evaluations")
    if local is None:
        local = model.__dict__.setdefault("_evaluations", threading.local())
    previous = getattr(local, "tracker", None)
    local.tracker = model._compiled.fresh_copy()
    try:
        yield local.tracker
    finally:
        local.tracker = previous


def evaluate_batches(model, epochs, hooks=None, require_batches: bool = False) -> dict:
    """The logs of ``test_step`` over one epoch of ``epochs`` (an ``adapters.EpochIterator``)."""
    batched = hooks is not None and hooks.wants["test"]
    batch = -1
    with evaluation(model) as figures:
        logs = figures.results()
        batches = epochs.epoch()
        try:
            for batch, data in enumerate(batches):
                if batched:
                    hooks.on_test_batch_begin(batch, {})
                logs = model.test_step(data)
                if batched:
                    hooks.on_test_batch_end(batch, dict(logs))
        finally:
            batches.close()
    if require_batches and batch < 0:
        raise ValueError(f"{epochs.source.label[0].upper()}{epochs.source.label[1:]} gave no batch to evaluate.")
    return logs


def evaluate_arrays(model, xs, ys, weights, batch_size, hooks=None) -> dict:
    """The logs of ``test_step`` over every batch of validated arrays."""
    source = adapters.ArraySource(model, xs, ys, weights, inference_batch(model, batch_size))
    return evaluate_batches(model, adapters.EpochIterator(source), hooks)


def _hooks(model, callbacks, params):
    return callbacks_module.CallbackList(list(callbacks or []), model, params)


def evaluate(model, x, y, batch_size=32, sample_weight=None, verbose=0, callbacks=None, steps=None) -> dict:
    model._require_compiled("evaluate")
    batch_size = check_positive_int("batch_size", batch_size)
    steps = adapters.check_steps("steps", steps)
    if adapters.is_source(x):
        fit_data.refuse_arguments(x, y=y, sample_weight=sample_weight)
        fit_data.require_steps(x, steps, "steps", "evaluation")
        epochs, samples = adapters.EpochIterator(adapters.make_source(model, x, "evaluation"), steps), None
    else:
        xs = as_inputs(model, x)
        ys = as_targets(model, y, len(xs[0]))
        weights = as_sample_weights(model, ys, sample_weight, None)
        # steps counts batches of batch_size; without it the batches may be larger (same figures).
        size = batch_size if steps else inference_batch(model, batch_size)
        epochs, samples = adapters.EpochIterator(adapters.ArraySource(model, xs, ys, weights, size), steps), len(xs[0])
    hooks = _hooks(model, callbacks, {"batch_size": batch_size if samples else None, "samples": samples,
                                      "steps": epochs.num_batches, "verbose": verbose})
    hooks.on_test_begin({})
    try:
        logs = evaluate_batches(model, epochs, hooks, require_batches=True)
    finally:
        epochs.close()
    hooks.on_test_end(dict(logs))
    if verbose and is_chief():  # DataParallel: the global figures, printed once
        print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    return logs


def inference_batch(model, batch_size: int) -> int:
    """``batch_size``, or fewer samples when a batch's widest layer output would exceed
    ``INFERENCE_ACTIVATION_BYTES``: each layer's output then stays in cache for the next
    layer instead of going out to memory (a 1,024-sample batch of a 26x26x32 conv output
    is 88 MB). Inference treats every sample on its own in all of numnet's layers, so the
    predictions are the same either way."""
    itemsize = np.dtype(model.dtype).itemsize
    widest = 1
    for node in model._plan.nodes:
        for tensor in node.outputs:
            size = int(np.prod([1 if s is None else s for s in tensor.shape[1:]]))
            widest = max(widest, size)
    return max(1, min(batch_size, INFERENCE_ACTIVATION_BYTES // max(1, widest * itemsize)))


def predict(model, x, batch_size=32, verbose=0, callbacks=None, steps=None) -> list:
    """The outputs (one array per output) for ``x``."""
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    steps = adapters.check_steps("steps", steps)
    if adapters.is_source(x):
        return predict_source(model, x, verbose, callbacks, steps)
    xs = as_inputs(model, x, check_values=False)
    if steps is not None and batch_size is not None:
        xs = [a[: steps * batch_size] for a in xs]  # the first `steps` batches (views)
    n = len(xs[0])
    hooks = _hooks(model, callbacks, {"batch_size": batch_size, "samples": n, "verbose": verbose})
    hooks.on_predict_begin({})
    results = None
    for batch, rows in enumerate(_batches(n, inference_batch(model, n if batch_size is None else batch_size))):
        if hooks.wants["predict"]:
            hooks.on_predict_batch_begin(batch, {})
        outs = model.predict_step((_take(xs, rows, model.dtype),))
        if hooks.wants["predict"]:
            hooks.on_predict_batch_end(batch, {"outputs": model.pack_outputs(outs)})
        if results is None:
            results = [np.empty((n,) + out.shape[1:], dtype=out.dtype) for out in outs]
        for result, out in zip(results, outs):
            result[rows] = out
    if results is None:
        results = [np.empty((0,) + tuple(1 if s is None else s for s in t.shape[1:]), dtype=model.dtype)
                   for t in model.outputs]
    hooks.on_predict_end({})
    for out in results:
        if out.size and out.dtype.kind == "f" and not (np.isfinite(out.min()) and np.isfinite(out.max())):
            # A NaN prediction: blame the input if it holds NaN / inf (the error fit would give).
            for i, array in enumerate(xs):
                check_finite("x" if len(xs) == 1 else f"x[{model.input_names[i]!r}]", array)
    return results

