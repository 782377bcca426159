"""``predict`` over a generator or ``PyDataset``: the outputs of every batch, concatenated."""

from __future__ import annotations

import numpy as np

from .. import callbacks as callbacks_module
from . import adapters, fit_data


def predict_source(model, x, verbose, callbacks, steps) -> list:
    """``predict`` over a generator or ``PyDataset``: its batches' ``x`` (``y`` is ignored)."""
    fit_data.require_steps(x, steps, "steps", "prediction")
    epochs = adapters.EpochIterator(adapters.make_source(model, x, "prediction", needs_targets=False), steps)
    params = {"batch_size": None, "samples": None, "steps": epochs.num_batches, "verbose": verbose}
    hooks = callbacks_module.CallbackList(list(callbacks or []), model, params)
    hooks.on_predict_begin({})
    parts = []
    batches = epochs.epoch()
    try:
        for batch, data in enumerate(batches):
            if hooks.wants["predict"]:
                hooks.on_predict_batch_begin(batch, {})
            outs = model.predict_step(data)
            if hooks.wants["predict"]:
                hooks.on_predict_batch_end(batch, {"outputs": model.pack_outputs(outs)})
            parts.append([np.array(out, copy=True) for out in outs])  # a step may reuse its output buffers
    finally:
        batches.close()
        epochs.close()
    hooks.on_predict_end({})
    if not parts:
        raise ValueError(f"{epochs.source.label[0].upper()}{epochs.source.label[1:]} gave no batch to predict.")
    return [np.concatenate(columns) for columns in zip(*parts)]
