"""``BatchNormalization(synchronized=True)`` under ``DataParallel``: the statistics of the
whole global batch, as one process computes them.

In a training step every process adds up its share: per channel ``sum (x - K)`` and
``sum (x - K)^2`` (``K`` the moving mean, the same on every process, which keeps the
float64 sums well conditioned) and the count ``m_r``; one Allreduce gives the global mean
and biased variance. The backward pass needs the global means of ``d = dL/dx_hat`` and
``d * x_hat``. A process's errors are those of its share's mean loss ``L_r``, and the
global loss is ``sum_r a_r L_r`` (``a_r = n_r / N``), so it sends ``a_r`` times its sums
and divides the global means by ``a_r`` again to stay in its own units:

    dL_r/dx = inv_std * (d - G1 / (M a_r) - x_hat * G2 / (M a_r))

with ``G1 = sum_r a_r sum d``, ``G2 = sum_r a_r sum d x_hat`` and ``M`` the global count.
A process with an empty share runs the step on one stand-in row with ``a_r = 0``: it adds
nothing and joins every Allreduce of the other processes, in the same order.
"""

from __future__ import annotations

import numpy as np

from . import _state


class SyncedCall:
    """What one synchronised forward keeps for its backward: the distribution, the global
    count and this process's share weight."""

    __slots__ = ("dist", "count", "weight")

    def __init__(self, dist, count: float, weight: float) -> None:
        self.dist, self.count, self.weight = dist, count, weight


def active():
    """The distribution when a synchronised layer must reduce now (inside a DataParallel
    training step of more than one process), else None."""
    dist = _state.current
    if dist is None or dist.size == 1 or dist.share_weight is None:
        return None
    return dist


def normalize(dist, x, axes, epsilon, shift):
    """``(x_hat, inv_std, mean, var, SyncedCall)`` from the global batch's statistics."""
    weight = dist.share_weight
    channels = shift.size
    buffer = np.zeros(2 * channels + 1)
    if weight > 0:
        centered = x.astype(np.float64, copy=False) - shift.astype(np.float64)
        buffer[:channels] = centered.sum(axis=axes).reshape(-1)
        buffer[channels:2 * channels] = (centered * centered).sum(axis=axes).reshape(-1)
        buffer[-1] = x.size / channels
    dist.allreduce(buffer)
    count = buffer[-1]
    shifted_mean = buffer[:channels] / count
    var = np.maximum(buffer[channels:2 * channels] / count - shifted_mean * shifted_mean, 0.0)
    shape = shift.shape
    mean = (shift.astype(np.float64) + shifted_mean.reshape(shape)).astype(x.dtype)
    var = var.reshape(shape).astype(x.dtype)
    inv_std = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype)
    return (x - mean) * inv_std, inv_std, mean, var, SyncedCall(dist, count, weight)


def normalize_backward(call: SyncedCall, d, x_hat, inv_std, axes):
    """This process's ``dL_r/dx`` (see the module docstring)."""
    channels = inv_std.size
    buffer = np.zeros(2 * channels)
    if call.weight > 0:
        buffer[:channels] = call.weight * d.sum(axis=axes, dtype=np.float64).reshape(-1)
        buffer[channels:] = call.weight * (d * x_hat).sum(axis=axes, dtype=np.float64).reshape(-1)
    call.dist.allreduce(buffer)
    if call.weight == 0:
        return np.zeros_like(d)
    scale = 1.0 / (call.count * call.weight)
    mean_d = (buffer[:channels] * scale).reshape(inv_std.shape).astype(d.dtype)
    mean_dx = (buffer[channels:] * scale).reshape(inv_std.shape).astype(d.dtype)
    return inv_std * (d - mean_d - x_hat * mean_dx)
