"""What ``compile`` sets up: a loss, a weight and metrics for each output, the fused
gradients, and the names of the logs (Keras's: ``loss``, ``<output>_loss``,
``<output>_<metric>``; one-output models log ``loss`` and ``<metric>``).

``loss`` may be one loss (used for every output), a list (one per output) or a dict keyed
by output name (an output left out has no loss); ``loss_weights`` a list or a dict;
``metrics`` a list (one output), a list of lists or a dict (several outputs).
"""

from __future__ import annotations

import copy

import numpy as np

from .. import loss_functions, losses, metrics as metrics_module, optimizers
from ..losses import weight_column


def _as_loss(identifier, where: str):
    if identifier is None:
        return None
    if isinstance(identifier, optimizers.Optimizer) or (
        isinstance(identifier, str) and identifier.lower() in optimizers._REGISTRY
        and identifier.lower() not in loss_functions.NAMES
    ):
        raise ValueError(
            f"compile(optimizer, loss, ...): {identifier!r} is an optimizer, not a loss ({where}). numnet "
            "follows Keras's argument order: compile(optimizer='adam', loss='mse'), or pass them by keyword."
        )
    try:
        return losses.get(identifier)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{exc} ({where})") from exc


def precheck(optimizer, loss, metrics) -> None:
    """Check the names before a Sequential model knows its shapes (compiled later)."""
    _check_optimizer_argument(optimizer, loss)
    optimizers.get(optimizer)
    for item in loss if isinstance(loss, (list, tuple)) else loss.values() if isinstance(loss, dict) else [loss]:
        _as_loss(item, "loss")
    if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
        metrics = [metrics]
    for m in metrics or []:
        metrics_module.get(m)


def _check_optimizer_argument(optimizer, loss) -> None:
    if isinstance(optimizer, str) and optimizer.lower() in loss_functions.NAMES and \
            optimizer.lower() not in optimizers._REGISTRY:
        raise ValueError(
            f"compile(optimizer, loss, ...): the first argument is the optimizer (Keras's order), got the loss "
            f"{optimizer!r}. Write compile(optimizer='adam', loss={optimizer!r}) or compile(loss={optimizer!r})."
        )


class CompiledOutput:
    """One output's loss (a ``Loss`` or None), weight, metrics and log prefix."""

    __slots__ = ("name", "index", "shape", "loss", "weight", "metrics", "prefix", "fused", "loss_sum", "dtype",
                 "weighted_metrics")

    def __init__(self, name, index, shape, loss, weight, metrics, prefix, dtype=None, weighted_metrics=()):
        self.name, self.index, self.shape, self.dtype = name, index, shape, dtype
        self.loss, self.weight, self.metrics, self.prefix = loss, weight, metrics, prefix
        self.weighted_metrics = list(weighted_metrics)  # compile(weighted_metrics=): fed the sample weights
        self.fused = None
        self.loss_sum = 0.0

    def per_sample(self, y, out, weights, mask=None):
        """Each sample's loss ``(n,)``. With a Keras mask ``(n, T)`` over a sequence output,
        masked steps do not count: the loss is the mean over the real steps of the batch
        (Keras's ``sum(l * mask) / sum(mask)``), spread over the samples so that their mean
        is that figure."""
        if mask is not None and _masked(mask, out):
            n, t = mask.shape
            steps = self.loss.per_sample(*_fold(y, out, n * t)).reshape(n, t)
            if weights is not None:
                steps = steps * weights[:, None]
            m = mask.astype(steps.dtype)
            return (steps * m).sum(axis=1) * (n / max(float(m.sum()), 1.0))
        losses_ = self.loss.per_sample(y, out)
        return losses_ if weights is None else losses_ * weights

    def gradient(self, y, out, weights, mask=None):
        """d(batch loss) / d(out), as ``per_sample``'s mean defines it."""
        if mask is not None and _masked(mask, out):
            n, t = mask.shape
            y2, out2 = _fold(y, out, n * t)
            grad = self.fused(y2, out2) if self.fused is not None else self.loss.derivative(y2, out2)
            # The flat gradient is that of the mean over n * t rows: rescale each row to the
            # masked mean's (0 for a masked step).
            scale = mask.astype(grad.dtype) * grad.dtype.type(n * t / max(float(mask.sum()), 1.0))
            if weights is not None:
                scale = scale * weights[:, None].astype(grad.dtype)
            grad = (grad * scale.reshape((n * t,) + (1,) * (grad.ndim - 1))).reshape(out.shape)
        else:
            grad = self.fused(y, out) if self.fused is not None else self.loss.derivative(y, out)
            if weights is not None:
                grad = grad * weight_column(weights, grad)
        if self.weight != 1.0:
            grad = grad * grad.dtype.type(self.weight)
        return grad

    def update_metrics(self, y, out, mask=None, weights=None) -> None:
        """The metrics on this batch; the weighted metrics also get ``weights`` (n,), the
        batch's sample weights (None: every sample counts once)."""
        if mask is not None and _masked(mask, out):
            n, t = mask.shape
            y2, out2 = _fold(y, out, n * t)
            keep = mask.reshape(-1)
            y, out = y2[keep], out2[keep]
            if weights is not None:  # each step of a sequence carries its sample's weight
                weights = np.repeat(weights, t)[keep]
        for metric in self.metrics:
            metric.update(y, out)
        for metric in self.weighted_metrics:
            metric.update(y, out, weights)

    @property
    def any_metrics(self) -> bool:
        return bool(self.metrics or self.weighted_metrics)


def _masked(mask, out) -> bool:
    return mask is not None and out.ndim >= 3 and mask.shape == out.shape[:2]


def _fold(y, out, rows):
    """``y`` and ``out`` with the time axis folded into the batch: one row per step."""
    return y.reshape((rows,) + y.shape[2:]), out.reshape((rows,) + out.shape[2:])


def _per_output(value, names, what: str, default):
    """``value`` (one item, a list or a dict) as one item per output name."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} has keys {unknown} that are not outputs of the model {names}.")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} is a list of {len(value)} but the model has {len(names)} outputs "
                             f"{names}; give one per output or a dict keyed by output name.")
        return list(value)
    return [value] * len(names)


class CompiledLoss:
    """The losses, weights and metrics of every output, and the running sums an epoch logs."""

    def __init__(self, model, loss, loss_weights, metrics, weighted_metrics=None) -> None:
        names = list(model.output_names)
        shapes = [t.shape[1:] for t in model.outputs]
        several = len(names) > 1
        loss_list = _per_output(loss, names, "loss", None)
        resolved = [_as_loss(item, f"output {n!r}") for item, n in zip(loss_list, names)]
        if all(item is None for item in resolved):
            raise ValueError("compile needs a loss (loss='mse', or one per output).")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights", 1.0)
        for w, n in zip(weights, names):
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not np.isfinite(w) \
                    or w < 0:
                raise ValueError(f"compile: loss weight of output {n!r} must be a non-negative number, got {w!r}.")
        metric_lists = self._metric_lists(metrics, names)
        weighted_lists = self._metric_lists(weighted_metrics, names, "weighted_metrics")
        self.outputs = []
        for i, (n, shape, loss_, w, ms, wms) in enumerate(zip(names, shapes, resolved, weights, metric_lists,
                                                              weighted_lists)):
            activation = model._plan.output_activation(i)
            if loss_ is not None and loss_.from_logits and activation in ("softmax", "sigmoid"):
                raise ValueError(
                    f"The output {n!r} already applies {activation} and the loss {loss_.name!r} has "
                    f"from_logits=True, so {activation} would be applied twice. Drop from_logits=True, or remove "
                    "the output activation."
                )
            n_units = shape[-1] if shape else None
            built = [metrics_module.get(m, loss_.name if loss_ else None, n_units) for m in ms]
            weighted = [metrics_module.get(m, loss_.name if loss_ else None, n_units) for m in wms]
            prefix = f"{n}_" if several else ""
            output = CompiledOutput(n, i, shape, loss_, float(w), built, prefix, model.dtype, weighted)
            if loss_ is not None and not loss_.from_logits:
                output.fused = loss_.fused_gradient(activation)
            self.outputs.append(output)
        self.log_keys = self._log_keys()
        if len(set(self.log_keys)) != len(self.log_keys):
            raise ValueError(f"Metric names must be unique and not 'loss'; got {self.log_keys}.")
        model._plan.set_fused_outputs([o.fused is not None for o in self.outputs])
        model._fused_flags = [o.fused is not None for o in self.outputs]

    @staticmethod
    def _metric_lists(metrics, names, what: str = "metrics") -> list[list]:
        if metrics is None:
            return [[] for _ in names]
        if isinstance(metrics, dict):
            unknown = [k for k in metrics if k not in names]
            if unknown:
                raise ValueError(f"compile: {what} has keys {unknown} that are not outputs of the model {names}.")
            return [_as_list(metrics.get(n)) for n in names]
        if not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        if len(names) == 1:
            if len(metrics) == 1 and isinstance(metrics[0], (list, tuple)):
                return [list(metrics[0])]
            return [list(metrics)]
        if len(metrics) != len(names) or not all(m is None or isinstance(m, (list, tuple, str)) or
                                                hasattr(m, "result") for m in metrics):
            raise ValueError(
                f"compile: for a model with several outputs {names}, give {what} as a list of {len(names)} lists "
                f"(one per output) or a dict keyed by output name; got {metrics!r}."
            )
        return [_as_list(m) for m in metrics]

    def _log_keys(self) -> list[str]:
        keys = ["loss"]
        if len(self.outputs) > 1:
            keys += [f"{o.prefix}loss" for o in self.outputs if o.loss is not None]
        return keys + [key for key, _ in self._metric_keys()]

    def _metric_keys(self) -> list[tuple]:
        """``(log key, metric)`` of every metric: ``{output_}{name}``, and for a weighted
        metric whose key is taken by an unweighted one ``{output_}weighted_{name}`` (Keras)."""
        plain = [(f"{o.prefix}{m.name}", m) for o in self.outputs for m in o.metrics]
        taken = {key for key, _ in plain}
        weighted = []
        for o in self.outputs:
            for m in o.weighted_metrics:
                key = f"{o.prefix}{m.name}"
                weighted.append((f"{o.prefix}weighted_{m.name}" if key in taken else key, m))
        return plain + weighted

    @property
    def metrics(self) -> list:
        return [m for o in self.outputs for m in (*o.metrics, *o.weighted_metrics)]

    def fresh_copy(self) -> "CompiledLoss":
        """The same losses and weights with metrics and sums of its own, reset: what one
        ``evaluate`` accumulates into, so that evaluations in several threads (or the
        validation at the end of an epoch) never mix their figures."""
        clone = copy.copy(self)
        clone.outputs = []
        for output in self.outputs:
            twin = copy.copy(output)
            twin.metrics = [copy.deepcopy(m) for m in output.metrics]
            twin.weighted_metrics = [copy.deepcopy(m) for m in output.weighted_metrics]
            clone.outputs.append(twin)
        clone.reset()
        return clone

    # --- one batch -----------------------------------------------------------------------------
    def batch_losses(self, ys, outs, weights, masks=None) -> tuple[float, list]:
        """(the weighted total loss of the batch, each output's mean loss or None);
        ``masks``: the outputs' Keras masks (or None)."""
        total, per_output = 0.0, []
        for output in self.outputs:
            if output.loss is None:
                per_output.append(None)
                continue
            w = None if weights is None else weights[output.index]
            mask = None if masks is None else masks[output.index]
            value = float(output.per_sample(ys[output.index], outs[output.index], w, mask).mean())
            per_output.append(value)
            total += output.weight * value
        return total, per_output

    def gradients(self, ys, outs, weights, masks=None) -> list:
        return [None if o.loss is None else o.gradient(ys[o.index], outs[o.index],
                                                       None if weights is None else weights[o.index],
                                                       None if masks is None else masks[o.index])
                for o in self.outputs]

    # --- running figures over an epoch ---------------------------------------------------------
    def reset(self) -> None:
        self.loss_sum, self.count = 0.0, 0
        for output in self.outputs:
            output.loss_sum = 0.0
            for metric in (*output.metrics, *output.weighted_metrics):
                metric.reset()

    def update(self, ys, outs, batch_loss: float, per_output: list, n: int, update_metrics: bool = True,
               masks=None, weights=None) -> None:
        self.loss_sum += batch_loss * n
        self.count += n
        for output, value in zip(self.outputs, per_output):
            if value is not None:
                output.loss_sum += value * n
            if update_metrics and output.any_metrics:
                output.update_metrics(ys[output.index], outs[output.index],
                                      None if masks is None else masks[output.index],
                                      None if weights is None else weights[output.index])

    def add_sums(self, loss_sum: float, per_output_sums: list, n: int) -> None:
        """Add per-sample loss sums (evaluate: exact however the data is split)."""
        self.loss_sum += loss_sum
        self.count += n
        for output, value in zip(self.outputs, per_output_sums):
            if value is not None:
                output.loss_sum += value

    def results(self) -> dict:
        n = max(self.count, 1)
        logs = {"loss": self.loss_sum / n if self.count else float("nan")}
        if len(self.outputs) > 1:
            for o in self.outputs:
                if o.loss is not None:
                    logs[f"{o.prefix}loss"] = o.loss_sum / n
        for key, m in self._metric_keys():
            logs[key] = m.result()
        return logs


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
