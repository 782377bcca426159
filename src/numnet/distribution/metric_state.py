"""A metric's running state as one float64 vector, so that a step can add every process's
contribution in the same Allreduce as the gradients.

Every numnet metric accumulates sums over the samples it saw (weighted totals and counts,
confusion counts per threshold, ...): the sums of two processes' shares are the sums of
the whole batch. A step records the state before its local update, updates, and sends the
difference; after the Allreduce every process sets ``before + sum of differences``, so
every process holds the metric of the global batch and logs the same figure.

``R2Score`` keeps a running mean and a centred sum of squares instead of sums; its
share's contribution goes as moments ``(sum w, sum w y, sum w y^2, ...)``, and the sum of
the shares' moments is merged into the state as ``R2Score.update_state`` merges a batch.
Metrics written with ``add_variable`` (Keras's API) have their Variables summed.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import metrics as _metrics
from ..training.custom_loss import FunctionMetric

_SUMS = (
    (_metrics.FBetaScore, ("tp", "fp", "fn", "support")),
    (_metrics._Thresholded, ("tp", "fp", "fn", "tn")),
    (_metrics.AUC, ("tp", "fp", "fn", "tn")),
    (_metrics._Mean, ("total", "count")),
    (FunctionMetric, ("total", "count")),
)


class _Sums:
    """A metric whose state attributes ``names`` are sums (None: nothing seen yet)."""

    def __init__(self, names) -> None:
        self.names = names
        self.columns, self.empty = 1, False

    def begin(self, metric, y, out):
        # An empty share adds nothing (and is not shown to the metric: some cannot take
        # zero rows); a state still None will be one sum per class, out's last axis.
        self.columns = out.shape[-1] if out.ndim > 1 else 1
        self.empty = len(out) == 0
        return [np.asarray(getattr(metric, n), dtype=np.float64).copy() if getattr(metric, n) is not None else None
                for n in self.names]

    def delta(self, metric, before) -> np.ndarray:
        parts = []
        for name, old in zip(self.names, before):
            current = getattr(metric, name)
            if current is None:  # nothing seen here yet: zeros, as many as the other ranks send
                parts.append(np.zeros(self.columns))
                continue
            now = np.asarray(current, dtype=np.float64).reshape(-1)
            parts.append(now if old is None else now - old.reshape(-1))
        return np.concatenate(parts) if parts else np.zeros(0)

    def finish(self, metric, before, total) -> None:
        start = 0
        for name, old in zip(self.names, before):
            current = getattr(metric, name)
            shape = np.shape(current) if current is not None else (self.columns,)
            size = int(np.prod(shape))
            value = total[start:start + size].reshape(shape)
            start += size
            if old is not None:
                value = old + value
            if current is None or isinstance(current, np.ndarray):
                setattr(metric, name, value if current is None else value.astype(current.dtype, copy=False))
            elif isinstance(current, (int, np.integer)) and not isinstance(current, bool):
                setattr(metric, name, int(round(float(value))))
            else:
                setattr(metric, name, float(value))


class _Variables:
    """A metric built with ``add_variable``: its Variables are sums."""

    def begin(self, metric, y, out):
        return [np.asarray(v.value, dtype=np.float64).copy() for v in metric.variables]

    def delta(self, metric, before) -> np.ndarray:
        parts = [np.asarray(v.value, dtype=np.float64).reshape(-1) - b.reshape(-1)
                 for v, b in zip(metric.variables, before)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def finish(self, metric, before, total) -> None:
        start = 0
        for variable, old in zip(metric.variables, before):
            size = old.size
            variable.assign((old + total[start:start + size].reshape(old.shape)).astype(variable.value.dtype))
            start += size


class _R2:
    """``R2Score``: the share's moments per column, merged as one batch after the sum."""

    def begin(self, metric, y, out):
        columns = int(np.prod(out.shape[1:])) if out.ndim > 1 else 1
        share = copy.copy(metric)
        share.reset_state()
        if len(out):
            share.update_state(y, out)
        return share, columns

    def delta(self, metric, before) -> np.ndarray:
        share, columns = before
        n = np.broadcast_to(np.asarray(share.n, dtype=np.float64), (columns,))
        mean = np.broadcast_to(np.asarray(share.mean, dtype=np.float64), (columns,))
        m2 = np.broadcast_to(np.asarray(share.m2, dtype=np.float64), (columns,))
        ss_res = np.broadcast_to(np.asarray(share.ss_res, dtype=np.float64), (columns,))
        return np.concatenate([n, n * mean, m2 + n * mean * mean, ss_res, [float(share.samples)]])

    def finish(self, metric, before, total) -> None:
        _, columns = before
        w_b, s1, s2, ss_res = (total[i * columns:(i + 1) * columns] for i in range(4))
        samples = int(round(float(total[4 * columns])))
        if samples == 0 or not np.all(w_b > 0):
            return  # as update_state does with a batch whose weights vanish
        mean_b = s1 / w_b
        m2_b = np.maximum(s2 - w_b * mean_b * mean_b, 0.0)
        n = metric.n + w_b
        delta = mean_b - metric.mean
        metric.mean = metric.mean + delta * (w_b / n)
        metric.m2 = metric.m2 + m2_b + np.square(delta) * (metric.n * w_b / n)
        metric.ss_res = metric.ss_res + ss_res
        metric.n = n
        metric.samples += samples


def handler(metric):
    """How ``metric``'s state is combined across processes; TypeError when numnet cannot."""
    if isinstance(metric, _metrics.R2Score):
        return _R2()
    for cls, names in _SUMS:
        if isinstance(metric, cls):
            return _Sums(names)
    if isinstance(metric, _metrics.Metric) and metric.variables:
        return _Variables()
    raise TypeError(
        f"DataParallel cannot combine the state of the metric {getattr(metric, 'name', metric)!r} "
        f"({type(metric).__name__}) across processes: keep its state in Variables made with "
        "self.add_variable(...) (summed over the processes), or use a numnet metric."
    )


class MetricsUpdate:
    """One step's metric updates: ``update`` (local share), ``delta`` (to send), ``finish``
    (the summed deltas received)."""

    def __init__(self, compiled) -> None:
        weighted = [m.name for output in compiled.outputs for m in output.weighted_metrics]
        if weighted:  # raised before the step changes anything
            raise NotImplementedError(
                f"DataParallel does not combine weighted metrics across processes yet ({weighted}): pass them as "
                "compile(metrics=...) instead, or train without DataParallel."
            )
        self.entries = [(output, metric, handler(metric)) for output in compiled.outputs for metric in output.metrics]
        self.before = []

    def update(self, ys, outs, masks) -> None:
        self.before = []
        by_output = {}
        for output, metric, how in self.entries:
            y, out = ys[output.index], outs[output.index]
            mask = None if masks is None else masks[output.index]
            key = output.index
            if key not in by_output:
                by_output[key] = _folded(y, out, mask)
            y, out = by_output[key]
            state = how.begin(metric, y, out)
            if len(out) and not isinstance(how, _R2):
                metric.update(y, out)
            self.before.append(state)

    def delta(self) -> np.ndarray:
        parts = [how.delta(metric, before) for (_, metric, how), before in zip(self.entries, self.before)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def finish(self, total: np.ndarray) -> None:
        start = 0
        for (_, metric, how), before in zip(self.entries, self.before):
            size = how.delta(metric, before).size
            how.finish(metric, before, total[start:start + size])
            start += size

    def undo(self) -> None:
        """Put the states back as before ``update`` (a step that failed changes nothing)."""
        for (_, metric, how), before in zip(self.entries, self.before):
            if isinstance(how, _Sums):
                for name, old in zip(how.names, before):
                    current = getattr(metric, name)
                    if old is None:
                        setattr(metric, name, None)
                    elif isinstance(current, np.ndarray):
                        setattr(metric, name, old.astype(current.dtype))
                    else:
                        setattr(metric, name, type(current)(old))
            elif isinstance(how, _Variables):
                for variable, old in zip(metric.variables, before):
                    variable.assign(old.astype(variable.value.dtype))


def _folded(y, out, mask):
    """What ``CompiledOutput.update_metrics`` feeds the metrics: with a sequence mask, the
    unmasked steps only."""
    if mask is not None and out.ndim >= 3 and mask.shape == out.shape[:2]:
        n, t = mask.shape
        keep = mask.reshape(-1)
        return y.reshape((n * t,) + y.shape[2:])[keep], out.reshape((n * t,) + out.shape[2:])[keep]
    return y, out
