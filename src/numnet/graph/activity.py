"""``ActivityStep``: the plan step of a layer that has an ``activity_regularizer``.

Keras adds ``activity_regularizer(output) / batch_size`` to the losses each time such a
layer is called (``batch_size``: the output's first axis). Here the plan decides once,
when it is built, which steps need it (``Plan`` picks this class for them), so a model
without activity regularizers runs its usual steps and pays nothing.

* forward: the layer's forward, then the term of every output: added to the loss terms a
  train / test step collects (``numnet.layers.custom._state.collectors``: the logged loss
  and ``fit``'s loss include it) and kept for ``layer.losses`` (also in a forward that a
  ``GradientTape`` records, so ``ops.sum(model.losses)`` shows it);
* backward: ``regularizer.gradient(output) / batch_size`` is added to the output error
  before the layer's own backward. (So in a custom loop the term's gradient flows whether
  or not the loss adds ``model.losses``; the term in ``model.losses`` is a constant there.) It is not added to a pre-activation gradient: such a
  step is never a fused softmax / sigmoid output, nor rewritten by a max-pool fusion (those
  take plain ``Step``s only).
"""

from __future__ import annotations

import numpy as np

from .plan import Step


class ActivityStep(Step):
    __slots__ = ()

    def _outputs(self, run):
        return [run.values[t] for t in self.targets]

    def forward(self, run, index: int):
        super().forward(run, index)
        from ..layers import custom
        from ..ops.tensor import wrap

        collectors = custom._state.collectors
        if not collectors and not run.keep:  # predict: no loss and no backward wants the term
            return
        regularizer = self.layer.activity_regularizer
        total = 0.0
        for out in self._outputs(run):
            if isinstance(out, np.ndarray) and out.dtype.kind == "f":
                value = regularizer.value(out)
                total += value / len(out) if out.ndim > 0 and len(out) else value
        for bag in collectors:
            bag.append(total)
        self.layer.__dict__["_activity_losses"] = [wrap(np.asarray(total, dtype=self.layer.dtype or np.float32))]

    def backward(self, run, index: int, error, gradient_pass, need_input_error: bool):
        regularizer = self.layer.activity_regularizer
        outs = self._outputs(run)
        if self.returns_list:
            error = [self._with_term(regularizer, out, e) for out, e in zip(outs, error)]
        else:
            error = self._with_term(regularizer, outs[0], error)
        return super().backward(run, index, error, gradient_pass, need_input_error)

    @staticmethod
    def _with_term(regularizer, out, error):
        if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
            return error
        grad = regularizer.gradient(out)
        if out.ndim > 0 and len(out):
            grad *= grad.dtype.type(1.0 / len(out))
        # A new array: the error may be shared with another consumer of the same slot.
        return (error + grad).astype(error.dtype, copy=False)
