"""The training, test and prediction steps of ``DataParallel``.

One training step on a global batch of ``N`` rows, on rank ``r`` with the share of
``n_r`` rows (``a_r = n_r / N``, so that the ``a_r`` add up to 1):

1. forward, loss and backward on the share as in one process. The compiled loss of an
   output is the mean of its share, ``L_r = S_r / n_r``; the global loss is
   ``S / N = sum_r a_r L_r``. The gradient ``g_r`` of ``L_r`` (plus ``add_loss`` terms) is
   therefore sent as ``a_r g_r``, and the Allreduce's sum is the gradient of the global
   loss. Outputs whose loss is not a mean over samples get their output error rescaled
   first, by ``c / a_r`` with ``c`` their own share coefficient: ``reduction="sum"``
   (``c = 1``), a sequence mask or ``ignore_class`` (``c = D_r / D``, ``D`` what the mean
   divides by: unmasked steps, labels not ignored; one small extra Allreduce gives ``D``).
2. one Allreduce of one buffer, in the model dtype:
   ``[a_r g_r | loss, loss per output | BatchNorm moving-statistics change | metric state change]``.
3. every process checks the summed loss and gradient for NaN / inf (so all decide alike),
   applies the identical optimizer step and sets the summed metric state and moving
   statistics.

A rank whose share is empty (``N < processes``) runs no forward but joins the Allreduce
with zeros, so every rank runs the same steps. BatchNormalization normalises each share
with its own batch statistics (Keras's ``synchronized=False``); the moving statistics are
updated from the ``a_r``-weighted mean of the shares' statistics, identical on every rank.
"""

from __future__ import annotations

import numpy as np

from ..graph.plan import GradientPass
from ..training.custom_loss import AddedLosses
from ..training.trainer import _LARGEST, NonFiniteLoss, _buffers, _restore
from .metric_state import MetricsUpdate


def _rows(arrays, index):
    return None if arrays is None else [None if a is None else a[index] for a in arrays]


def _empty_outputs(model) -> list:
    """Zero-row outputs of the model's shapes: what an empty share's metrics are fed, so
    that its metric state has the same size as the other ranks'."""
    return [np.zeros((0,) + tuple(1 if s is None else s for s in t.shape[1:]), dtype=model.dtype)
            for t in model.outputs]


class _ShareGenerator:
    """A layer's generator during a step: a draw sized like the share (``random``,
    ``uniform``, ``integers``, ``normal``, ``standard_normal`` with a ``size`` whose first
    length is the share's rows) draws the global batch's numbers and keeps the share's
    rows, so dropout masks and augmentations are those of one process. Any other draw
    (a scalar, one crop for the whole batch) is the generator's own, the same on every
    process."""

    # where each method takes ``size`` positionally
    _SIZE_AT = {"random": 0, "standard_normal": 0, "uniform": 2, "integers": 2, "normal": 2}

    def __init__(self, generator, n_share: int, n_global: int, rows: slice) -> None:
        self._generator, self._n, self._global, self._rows = generator, n_share, n_global, rows

    def _global_size(self, size):
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size == self._n:
            return self._global
        if isinstance(size, tuple) and size and size[0] == self._n:
            return (self._global,) + size[1:]
        return None

    def __getattr__(self, name):
        method = getattr(self._generator, name)
        at = self._SIZE_AT.get(name)
        if at is None:
            return method

        def draw(*args, **kwargs):
            args = list(args)
            in_args = len(args) > at
            size = args[at] if in_args else kwargs.get("size")
            whole = None if kwargs.get("out") is not None else self._global_size(size)
            if whole is None:
                return method(*args, **kwargs)
            if in_args:
                args[at] = whole
            else:
                kwargs["size"] = whole
            return method(*args, **kwargs)[self._rows]

        return draw


class _SharedDraws:
    """``with _SharedDraws(model, ...)``: every layer generator is a ``_ShareGenerator``."""

    def __init__(self, model, n_share, n_global, rows) -> None:
        self.swapped = []
        if n_share == n_global:
            return
        for _, layer in model.leaf_layers():
            generator = layer.__dict__.get("_rng")
            if isinstance(generator, np.random.Generator):
                self.swapped.append((layer, generator))
        self.args = (n_share, n_global, rows)

    def __enter__(self):
        for layer, generator in self.swapped:
            layer._rng = _ShareGenerator(generator, *self.args)
        return self

    def __exit__(self, *exc):
        for layer, generator in self.swapped:
            layer._rng = generator


# --- what a share's mean loss is worth in the global loss ------------------------------------------
def _exchanged(output) -> bool:
    """Whether an output's loss divides by a count that a share cannot know alone."""
    loss = output.loss
    if loss is None:
        return False
    sequence = len(output.shape) >= 2  # (T, features): a mask may cover it
    ignore = getattr(loss, "params", {}).get("ignore_class") is not None if hasattr(loss, "params") else False
    return sequence or ignore


def _local_count(output, y, out, mask, n: int) -> float:
    if n == 0:
        return 0.0
    if mask is not None and out.ndim >= 3 and mask.shape == out.shape[:2]:
        return float(np.count_nonzero(mask))
    loss = output.loss
    ignore = getattr(loss, "params", {}).get("ignore_class") if hasattr(loss, "params") else None
    if ignore is not None:
        from .. import loss_functions

        return float(loss_functions.valid_count(loss.name, y, np.broadcast_to(np.float32(0), out.shape[:-1]), ignore))
    return float(n)


def _coefficients(dist, compiled, ys, outs, masks, n: int, N: int) -> list:
    """Each output's ``c``: the weight of the share's mean loss in the global loss."""
    a = n / N
    coefficients, exchanged = [], []
    for output in compiled.outputs:
        if output.loss is None:
            coefficients.append(0.0)
        elif getattr(output.loss, "reduction", None) == "sum":
            coefficients.append(1.0 if n else 0.0)
        elif _exchanged(output):
            coefficients.append(None)
            exchanged.append(output)
        else:
            coefficients.append(a)
    if exchanged:
        counts = np.array([_local_count(o, ys[o.index] if n else None, outs[o.index] if n else None,
                                        None if masks is None or not n else masks[o.index], n) for o in exchanged])
        local = counts.copy()
        dist.allreduce(counts)
        for output, mine, total in zip(exchanged, local, counts):
            coefficients[output.index] = mine / total if total > 0 else 0.0
    return coefficients


def _needs_every_process(model) -> bool:
    """Whether a process with an empty share must still run the step (on a stand-in row):
    a synchronized BatchNormalization joins Allreduces inside forward and backward, and a
    layer that draws random numbers must draw the global batch's, so that its generator
    stays in step with the other processes'."""
    from .sync import _uses_randomness

    return any((getattr(layer, "synchronized", False) and layer.trainable) or _uses_randomness(layer)
               or callable(getattr(layer, "_generator", None)) for _, layer in model.leaf_layers())


def _bn_layers(flat) -> list:
    """The layers whose buffers a training step changes (trainable BatchNormalization)."""
    return [layer for layer in flat.buffer_layers if layer.trainable]


def _layout(dist, model, flat, compiled, metric_size: int):
    n_outputs = len(compiled.outputs)
    bn = _bn_layers(flat)
    bn_size = sum(value.size for layer in bn for value in layer.buffers.values())
    total = flat.grads.size + 1 + n_outputs + bn_size + metric_size
    return bn, dist.scratch(("train", id(model)), total, flat.grads.dtype)


def train_step(dist, model, data) -> dict:
    """``Trainer.train_step`` under ``DataParallel`` (see the module docstring)."""
    x, y, sample_weight = data
    N = len(x[0])
    rows = dist.share(N)
    n = rows.stop - rows.start
    a = n / N if N else 0.0
    compiled = model._compiled
    flat = model.flat_parameters()
    saved = _buffers(flat)
    grads = flat.grads
    metrics = MetricsUpdate(compiled)
    # An empty share skips the step's arithmetic, unless the model needs every process
    # (see _needs_every_process): then it runs one stand-in row, weighted 0.
    stand_in = n == 0 and _needs_every_process(model)
    computed = rows if not stand_in else slice(0, 1)
    dist.share_weight = a
    xs, ys, ws = _rows(x, computed), _rows(y, computed), _rows(sample_weight, computed)
    local_loss, per_output, masks, outs = 0.0, [0.0] * len(compiled.outputs), None, None
    if n or stand_in:
        with _SharedDraws(model, computed.stop - computed.start, N, computed), AddedLosses(model) as added:
            outs, run = model._plan.forward(xs, training=True)
        masks = model._plan.output_masks(run)
        if n:
            local_loss, per_output = compiled.batch_losses(ys, outs, ws, masks)
            local_loss += added.value
    coefficients = _coefficients(dist, compiled, ys, outs, masks, n, N)
    finite = bool(np.isfinite(local_loss))
    if (n and finite) or stand_in:
        errors = compiled.gradients(ys, outs, ws, masks)
        for output, c in zip(compiled.outputs, coefficients):
            if errors[output.index] is not None and c != a and n:
                errors[output.index] = errors[output.index] * errors[output.index].dtype.type(c / a)
        gradient_pass = GradientPass()
        model._plan.backward(run, errors, gradient_pass)
        del run
        flat.gather(gradient_pass)
        added.add_gradients()
    if not n:
        ys, outs, masks = _rows(y, rows), _empty_outputs(model), None
    metrics.update(ys, outs, masks)
    metric_delta = metrics.delta()
    bn, buffer = _layout(dist, model, flat, compiled, metric_delta.size)
    P = grads.size
    if n and finite:
        np.multiply(grads, grads.dtype.type(a), out=buffer[:P])
    else:  # an empty share (a stand-in row included) or a non-finite loss adds nothing
        buffer[:P] = 0
    # The global loss: sum_r (a_r * added_r + sum_o weight_o c_o L_o,r). A non-finite share
    # loss goes in as it is (inf or NaN), so that every rank sees it.
    total = a * (local_loss - sum(o.weight * v for o, v in zip(compiled.outputs, per_output) if v is not None))
    total += sum(o.weight * c * v for o, c, v in zip(compiled.outputs, coefficients, per_output) if v is not None)
    buffer[P] = total if finite else local_loss
    k = P + 1
    for output, c, v in zip(compiled.outputs, coefficients, per_output):
        buffer[k] = 0.0 if v is None else c * v
        k += 1
    for layer in bn:
        old = {key: value for store, key, value in saved if store is layer.buffers}
        for key, value in layer.buffers.items():
            size = value.size
            buffer[k:k + size] = (value - old[key]).reshape(-1) * a if n else 0
            k += size
    buffer[k:] = metric_delta
    dist.allreduce(buffer)

    loss = float(buffer[P])
    reduced = buffer[:P]
    penalty = flat.penalty  # weight regularizers: the same weights, so the same term on every rank
    if penalty is not None:
        loss += penalty.value()
    if not np.isfinite(loss):
        _restore(saved)
        metrics.undo()
        raise NonFiniteLoss(loss)
    if P and not (-_LARGEST < reduced.min() and reduced.max() < _LARGEST):
        _restore(saved)
        metrics.undo()
        raise NonFiniteLoss(loss, in_gradient=True)
    np.copyto(grads, reduced)
    if penalty is not None:  # after the Allreduce: added once, not once per rank
        penalty.add_gradients()
    k = P + 1
    global_per_output = []
    for output in compiled.outputs:
        global_per_output.append(None if output.loss is None else float(buffer[k]))
        k += 1
    for layer in bn:
        old = {key: value for store, key, value in saved if store is layer.buffers}
        for key, value in layer.buffers.items():
            size = value.size
            value[...] = old[key] + buffer[k:k + size].reshape(value.shape)
            k += size
    metrics.finish(np.asarray(buffer[k:], dtype=np.float64))
    model.optimizer.step_flat(flat.layout, flat.params, grads)
    if penalty is not None:
        penalty.constrain()
    compiled.update(None, None, loss, global_per_output, N, update_metrics=False)
    return compiled.results()


def test_step(dist, model, data) -> dict:
    """``Trainer.test_step`` under ``DataParallel``: each rank evaluates its share; one
    float64 Allreduce of ``[loss sums | metric state change]`` adds the global batch's
    figures on every rank. An output's sum is ``N`` times its global batch loss, as one
    process adds it: ``N * sum_r c_r L_r`` with the coefficients of ``train_step``."""
    x, y, sample_weight = data
    N = len(x[0])
    rows = dist.share(N)
    n = rows.stop - rows.start
    a = n / N if N else 0.0
    figures = model._figures()
    xs, ys, ws = _rows(x, rows), _rows(y, rows), _rows(sample_weight, rows)
    metrics = MetricsUpdate(figures)
    sums = np.zeros(1 + len(figures.outputs))
    outs, masks, means = None, None, [None] * len(figures.outputs)
    if n:
        with AddedLosses(model, with_gradients=False) as added:
            outs, run = model._plan.forward(xs, training=False)
        masks = model._plan.output_masks(run)
        sums[0] = added.value * a * N
        for output in figures.outputs:
            if output.loss is not None:
                w = None if ws is None else ws[output.index]
                mask = None if masks is None else masks[output.index]
                means[output.index] = float(output.per_sample(ys[output.index], outs[output.index], w, mask).mean())
    coefficients = _coefficients(dist, figures, ys, outs, masks, n, N)
    for output, c, mean in zip(figures.outputs, coefficients, means):
        if mean is not None:
            sums[1 + output.index] = N * c * mean
            sums[0] += output.weight * sums[1 + output.index]
    metrics.update(ys, outs if n else _empty_outputs(model), masks)
    buffer = np.concatenate([sums, metrics.delta()])
    dist.allreduce(buffer)
    figures.add_sums(float(buffer[0]), [None if o.loss is None else float(buffer[1 + o.index])
                                        for o in figures.outputs], N)
    metrics.finish(buffer[len(sums):])
    return figures.results()


def predict_step(dist, model, data) -> list:
    """``Trainer.predict_step`` under ``DataParallel``: each rank predicts its share and an
    Allgatherv hands every rank the outputs of the whole batch, in order."""
    (x,) = data
    N = len(x[0])
    rows = dist.share(N)
    n = rows.stop - rows.start
    local = model._plan.forward(_rows(x, rows), training=False)[0] if n else None
    sizes = dist.share_sizes(N)
    results = []
    for i, tensor in enumerate(model.outputs):
        if local is not None:
            trailing, dtype = local[i].shape[1:], local[i].dtype
        else:
            trailing, dtype = tuple(1 if s is None else s for s in tensor.shape[1:]), np.dtype(model.dtype)
        if any(s is None for s in tensor.shape[1:]):
            # Rank 0 always has the largest share: its output shape is the batch's.
            shape = np.array(trailing if dist.rank == 0 else [0] * len(trailing), dtype=np.int64)
            dist.broadcast(shape)
            trailing = tuple(int(s) for s in shape)
        row = int(np.prod(trailing))
        out = np.empty((N,) + tuple(trailing), dtype=dtype)
        send = np.ascontiguousarray(local[i]) if local is not None else np.empty((0,) + tuple(trailing), dtype=dtype)
        counts = [s * row for s in sizes]
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
        dist.comm.Allgatherv(send, [out, (counts, offsets)])
        results.append(out)
    return results
