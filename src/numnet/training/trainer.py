"""``Trainer``: compile, fit, evaluate, predict and the batch-level API of a ``Model``.

``fit`` is a loop over ``train_step`` (one forward / loss / backward / optimizer step on
one batch), the one place a custom step, the divergence guard or data parallelism hooks
in. The loop itself is in ``numnet.training.loop``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import optimizers
from ..layers import _validate
from ..distribution import _state as _distribution
from ..graph.plan import GradientPass
from . import loop
from .compile import CompiledLoss, _check_optimizer_argument
from .custom_loss import AddedLosses
from .data import as_inputs, as_sample_weights, as_targets, cast_inputs
from .penalty import penalty_for


class NonFiniteLoss(FloatingPointError):
    """Raised by ``train_step`` when a batch's loss, or its gradient, is NaN or infinite (or
    so large that its squared norm overflows); nothing was changed: no update, BatchNorm
    statistics as before the batch. ``fit``'s divergence guard turns it into its message
    (or TerminateOnNaN)."""

    def __init__(self, loss: float, in_gradient: bool = False) -> None:
        what = f"the gradient became non-finite (loss {loss})" if in_gradient else f"the loss became {loss}"
        super().__init__(what[0].upper() + what[1:] + ".")
        self.loss = loss
        self.in_gradient = in_gradient
        self.what = what


# A gradient element beyond this (or NaN) would square to inf in float32 (Adam's and RMSprop's
# second moments): sqrt of float32's largest value, 1.8e19.
_LARGEST = float(np.sqrt(np.finfo(np.float32).max))


def _buffers(flat) -> list:
    """Copies of every buffer (BatchNorm's moving statistics: small), to undo a step."""
    return [(layer.buffers, key, value.copy()) for layer in flat.buffer_layers for key, value in layer.buffers.items()]


def _restore(saved) -> None:
    for store, key, value in saved:
        store[key][...] = value


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside numnet (``compile`` is reached through
    Sequential's, Model's or a deferred subclassed model's own ``compile``)."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _execution_arguments(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss) -> tuple:
    """Keras's execution arguments of ``compile``, validated (nothing is kept on an error)."""
    run_eagerly = _validate.flag(run_eagerly, "run_eagerly", "compile():")
    auto_scale_loss = _validate.flag(auto_scale_loss, "auto_scale_loss", "compile():")
    steps_per_execution = _validate.positive_int(steps_per_execution, "steps_per_execution", "compile():")
    if not (jit_compile == "auto" if isinstance(jit_compile, str) else isinstance(jit_compile, (bool, np.bool_))):
        raise ValueError(f"compile(): jit_compile must be True, False or 'auto', got {jit_compile!r:.80}.")
    if jit_compile is True or jit_compile is np.True_:
        warnings.warn("compile(jit_compile=True): numnet has no compiler; the model runs as usual, in NumPy.",
                      stacklevel=_caller_level())
    return run_eagerly, steps_per_execution, jit_compile, auto_scale_loss


class Trainer:
    """The training API a ``Model`` inherits."""

    def __init__(self) -> None:
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compiled = None
        self.optimizer = None

    # --- compile -------------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None, *, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True,
                **kwargs) -> None:
        """Choose the optimizer, the loss(es), their weights and the metrics (Keras's order:
        ``compile("adam", "mse")`` or by keyword).

        Keras's execution arguments are accepted for its programs to run unchanged, and kept
        as attributes of the same names: numnet always runs eagerly (``run_eagerly`` either
        way gives the same results), has no compiler (``jit_compile=True`` warns and runs as
        usual) and no per-execution overhead to amortise (``steps_per_execution``, a positive
        integer, changes nothing: batch callbacks still run after every batch), and no mixed
        precision (``auto_scale_loss``).

        ``loss``: a name (``"mse"``, ``"categorical_crossentropy"``, ...) or a
        ``numnet.losses.Loss``; for several outputs one loss for all, a list or a dict keyed
        by output name. ``loss_weights``: a list or dict; the logged ``loss`` is the weighted
        sum. ``metrics``: a list (one output), a list of lists or a dict. ``weighted_metrics``:
        the same forms; these metrics also get the sample weights (``sample_weight=`` and
        ``class_weight=`` of ``fit`` / ``evaluate``), logged under their names, or
        ``weighted_<name>`` when an unweighted metric has that name (Keras's rule). When an output
        applies softmax and its loss is (sparse) categorical cross-entropy, or sigmoid and
        binary cross-entropy, training uses the fused, stable gradient ``(p - y) / N``.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected arguments {sorted(kwargs)}.")
        execution = _execution_arguments(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss)
        if loss is None and not isinstance(optimizer, (optimizers.Optimizer, str)):
            raise ValueError("compile needs a loss: compile(optimizer='adam', loss='mse').")
        _check_optimizer_argument(optimizer, loss)
        self._require_graph("compile")
        compiled = CompiledLoss(self, loss, loss_weights, metrics, weighted_metrics)
        self.optimizer = optimizers.get(optimizer)
        self._compiled = compiled
        self.compiled = True
        self.run_eagerly, self.steps_per_execution, self.jit_compile, self.auto_scale_loss = execution

    @property
    def loss(self):
        """The loss of the (first) output, as compiled."""
        return None if self._compiled is None else self._compiled.outputs[0].loss

    @property
    def metrics(self) -> list:
        """The compiled metric objects, in log order."""
        return [] if self._compiled is None else self._compiled.metrics

    @property
    def metrics_names(self) -> list[str]:
        return [] if self._compiled is None else list(self._compiled.log_keys)

    def _require_compiled(self, action: str) -> None:
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"Call model.compile(optimizer=..., loss=...) before model.{action}().")

    # --- the step --------------------------------------------------------------------------------
    def train_step(self, data) -> dict:
        """One training step on one batch, ``data = (x, y, sample_weight)``: ``x`` a list of
        arrays (one per input, in the model dtype), ``y`` a list (one per output),
        ``sample_weight`` a list or None. Runs forward in training mode, the loss of every
        output, backward (gradients of shared layers add up), one optimizer step, and
        updates the metrics; returns the running logs. Raises ``NonFiniteLoss`` without
        changing any weight when the loss is not finite.

        Override it for a custom step; ``fit`` (callbacks, progress, the divergence guard)
        drives whatever it returns.
        """
        if _distribution.current is not None:  # DataParallel: this process's share, one Allreduce
            return _distribution.current.train_step(self, data)
        x, y, sample_weight = data
        compiled = self._compiled
        flat = self.flat_parameters()
        penalty = flat.penalty  # regularizers / constraints (None for a model without any)
        buffers = _buffers(flat)
        with AddedLosses(self) as added:  # add_loss terms of this forward (and the model's callables)
            outputs, run = self._plan.forward(x, training=True)
        masks = self._plan.output_masks(run)
        loss, per_output = compiled.batch_losses(y, outputs, sample_weight, masks)
        loss += added.value
        if penalty is not None:
            loss += penalty.value()
        if not np.isfinite(loss):
            _restore(buffers)
            raise NonFiniteLoss(loss)
        errors = compiled.gradients(y, outputs, sample_weight, masks)
        gradient_pass = GradientPass()
        self._plan.backward(run, errors, gradient_pass)
        del run
        flat.gather(gradient_pass)
        added.add_gradients()
        if penalty is not None:
            penalty.add_gradients()
        # A NaN / inf gradient, or one whose squares overflow (which would poison Adam's or
        # RMSprop's second moment for good), stops the step before it changes anything; the
        # optimizer checks it (Adam on the squares it computes anyway).
        if not self.optimizer.step_flat(flat.layout, flat.params, flat.grads, largest=_LARGEST):
            _restore(buffers)
            raise NonFiniteLoss(loss, in_gradient=True)
        if penalty is not None:
            penalty.constrain()
        compiled.update(y, outputs, loss, per_output, len(x[0]), masks=masks, weights=sample_weight)
        return compiled.results()

    def test_step(self, data) -> dict:
        """The loss and metrics of one batch in inference mode (sums over its samples are
        added to the running figures, so an epoch's figure does not depend on batching)."""
        if _distribution.current is not None:
            return _distribution.current.test_step(self, data)
        x, y, sample_weight = data
        compiled = self._figures()
        with AddedLosses(self, with_gradients=False) as added:
            outputs, run = self._plan.forward(x, training=False)
        masks = self._plan.output_masks(run)
        total, sums = added.value * len(x[0]), []
        penalty = penalty_for(self)
        if penalty is not None:  # the weight regularizers' terms count in evaluation too, as in Keras
            total += penalty.value() * len(x[0])
        for output in compiled.outputs:
            if output.loss is None:
                sums.append(None)
                continue
            w = None if sample_weight is None else sample_weight[output.index]
            mask = None if masks is None else masks[output.index]
            value = float(output.per_sample(y[output.index], outputs[output.index], w, mask).sum(dtype=np.float64))
            sums.append(value)
            total += output.weight * value
        compiled.add_sums(total, sums, len(x[0]))
        for output in compiled.outputs:
            if output.any_metrics:
                output.update_metrics(y[output.index], outputs[output.index],
                                      None if masks is None else masks[output.index],
                                      None if sample_weight is None else sample_weight[output.index])
        return compiled.results()

    def _figures(self):
        """Where ``test_step`` accumulates: the current thread's evaluation, if one runs
        (``loop.evaluate_arrays``), else the compiled figures."""
        local = self.__dict__.get("_evaluations")
        tracker = getattr(local, "tracker", None) if local is not None else None
        return self._compiled if tracker is None else tracker

    def predict_step(self, data) -> list:
        """The outputs (a list, one per output) for one batch ``data = (x,)`` in inference mode."""
        if _distribution.current is not None:
            return _distribution.current.predict_step(self, data)
        outputs, _ = self._plan.forward(data[0], training=False)
        return outputs

    # --- the epoch loops -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` passes over ``(x, y)``; returns a ``History``.

        ``x``: an array ``(n_samples, *input_shape)``, a list (one per input) or a dict
        keyed by input name; ``y`` likewise per output (integer labels ``(n_samples,)``
        for a sparse loss). ``validation_split`` holds out a shuffled fraction;
        ``validation_data`` is ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``.
        ``verbose``: 0 silent, 1 progress bar, 2 one line per epoch.

        ``x`` may also be a generator / iterator of batches or a ``numnet.utils.PyDataset``
        (``y`` and ``sample_weight`` then come in its batches), as may ``validation_data``;
        ``initial_epoch``, ``steps_per_epoch``, ``validation_steps``, ``validation_batch_size``
        and ``validation_freq`` (an int, or a list of epochs from 1) are Keras's (docs/data.md).
        """
        if _distribution.current is not None:  # rank 0's weights, optimizer and random state everywhere
            self._require_compiled("fit")
            _distribution.current.begin_fit(self)
        return loop.fit(self, x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                        validation_split=validation_split, validation_data=validation_data,
                        callbacks=callbacks, verbose=verbose, class_weight=class_weight,
                        sample_weight=sample_weight, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                        validation_steps=validation_steps, validation_batch_size=validation_batch_size,
                        validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, sample_weight=None, callbacks=None,
                 return_dict: bool = False, steps=None):
        """The loss and metrics on ``(x, y)`` in inference mode, as Keras returns them: the
        loss alone when there are no metrics and one output, else the list
        ``[loss, *other figures]`` in ``metrics_names`` order; a dict with
        ``return_dict=True``. The figures are sums over samples, so they do not depend on
        the batch size. ``x`` may be a generator or ``PyDataset``; ``steps`` batches, or all."""
        logs = loop.evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight, verbose=verbose,
                             callbacks=callbacks, steps=steps)
        return _keras_return(logs, return_dict)

    def predict(self, x, batch_size=32, verbose=0, callbacks=None, steps=None):
        """Outputs for ``x`` in inference mode, ``(n_samples, *output_shape)`` in the model
        dtype (a list or dict for several outputs, as the model's outputs are given).

        ``batch_size`` samples go through the model at a time, or fewer when a layer's
        output for that many would pass 4 MB (``loop.INFERENCE_ACTIVATION_BYTES``): a
        wide conv layer's output then stays in cache. The predictions are the same, since
        inference in every numnet layer treats each sample on its own.
        """
        return self.pack_outputs(loop.predict(self, x, batch_size=batch_size, verbose=verbose, callbacks=callbacks,
                                              steps=steps))

    # --- the batch-level API ---------------------------------------------------------------------
    def _batch(self, x, y, sample_weight, class_weight=None):
        xs = as_inputs(self, x)
        ys = as_targets(self, y, len(xs[0]))
        weights = as_sample_weights(self, ys, sample_weight, class_weight)
        dtype = self.dtype
        xs = cast_inputs(xs, dtype)
        ys = [t if t is None or (o.loss is not None and o.loss.is_sparse) else t.astype(dtype, copy=False)
              for t, o in zip(ys, self._compiled.outputs)]
        return xs, ys, weights

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict: bool = False):
        """One ``train_step`` on exactly this batch; returns its loss (and metrics) as
        ``evaluate`` does. A non-finite loss raises ``FloatingPointError`` and changes nothing."""
        self._require_compiled("train_on_batch")
        data = self._batch(x, y, sample_weight, class_weight)
        self._compiled.reset()
        try:
            logs = self.train_step(data)
        except NonFiniteLoss as exc:
            raise FloatingPointError(f"{exc} The update was not applied; the weights are unchanged.") from None
        return _keras_return(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """The loss (and metrics) of exactly this batch in inference mode."""
        self._require_compiled("test_on_batch")
        data = self._batch(x, y, sample_weight)
        from .loop import evaluation

        with evaluation(self):
            return _keras_return(self.test_step(data), return_dict)

    def predict_on_batch(self, x):
        """The outputs for exactly this batch, in inference mode, in one pass."""
        self._require_graph("predict")
        xs = cast_inputs(as_inputs(self, x, check_values=False), self.dtype)
        return self.pack_outputs(self.predict_step((xs,)))


def _keras_return(logs: dict, return_dict: bool):
    if return_dict:
        return dict(logs)
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
