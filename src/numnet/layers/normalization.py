"""Normalisation layers: ``BatchNormalization`` (over the batch) and ``LayerNormalization``
(over each sample's features).

Both compute ``x_hat = (x - mean) / sqrt(var + epsilon)`` and ``y = gamma * x_hat + beta``.
When ``mean`` and ``var`` are statistics of ``x`` itself over ``m`` values, the exact
backward, for ``d = gamma * dL/dy`` and means taken over those same ``m`` values, is
``dL/dx = (d - mean(d) - x_hat * mean(d * x_hat)) / sqrt(var + epsilon)``.
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _validate
from .layer import Layer


def _normalize(x, axes, epsilon):
    """``(x_hat, 1 / sqrt(var + eps), mean, var)`` over ``axes``, kept as size-1 axes.
    ``var`` is the biased (divide by m) variance."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    return centered * inv_std, inv_std, mean, var


def _sync_bn():
    from ..distribution import sync_bn  # imported when a synchronized layer trains, never with numnet

    return sync_bn


def _normalize_backward(d, x_hat, inv_std, axes):
    """dL/dx through ``_normalize`` given ``d = dL/dx_hat``."""
    return inv_std * (d - d.mean(axis=axes, keepdims=True) - x_hat * (d * x_hat).mean(axis=axes, keepdims=True))


class _Normalization(Layer):
    """Shared: the ``axis`` argument, gamma / beta, and the config."""

    weight_groups = {"gamma": ("gamma",), "beta": ("beta",)}  # gamma_regularizer=, beta_constraint=, ...

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, **kwargs):
        owner = type(self).__name__
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
        if not axes or not all(_validate.is_int(a) and abs(a) <= _validate.MAX_INT for a in axes):
            raise ValueError(
                f"{owner} axis must be an integer (or, for LayerNormalization, a list of them), got {axis!r:.80}.")
        epsilon = _validate.number(epsilon, "epsilon", owner, 0, 1e6, low_open=True,
                                   wording="a positive number (at most 1e6)")
        center, scale = _validate.flag(center, "center", owner), _validate.flag(scale, "scale", owner)
        super().__init__(name=name, **kwargs)
        self.axis = int(axis) if _validate.is_int(axis) else tuple(int(a) for a in axes)
        self.epsilon = epsilon
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _resolve_axes(self, input_shape) -> tuple[int, ...]:
        """The normalised axes as indices of the batched input (1 .. rank - 1)."""
        rank = len(input_shape) + 1
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        resolved = sorted({int(a) % rank for a in axes if -rank <= a < rank})
        if len(resolved) != len(axes) or 0 in resolved:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: axis {self.axis} is not a feature axis of inputs of shape "
                f"(N, {', '.join(map(str, input_shape))}); axis 0 is the batch."
            )
        return tuple(resolved)

    def _check(self, input):
        """Build on the first call; afterwards the rank and the normalised sizes must match."""
        if not self.built:
            self.build_for(input.shape[1:])
        expected = tuple(self.input_shape)
        if input.ndim != len(expected) + 1 or any(input.shape[a] != expected[a - 1] for a in self._axes):
            want = ", ".join(
                str(s) if i + 1 in self._axes else "_" for i, s in enumerate(expected)
            )
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for inputs of shape (N, {want}) "
                f"(e.g. (N, C) after Dense, (N, H, W, C) after Conv2D), got {input.shape}."
            )
        self.input = input

    def _add_affine(self, param_shape):
        if self.scale:
            self.add_weight("gamma", param_shape, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", param_shape, self.beta_initializer)

    def _affine(self, x_hat, dtype):
        y = x_hat
        if self.scale:
            y = y * self.params["gamma"].reshape(self._bshape).astype(dtype, copy=False)
        if self.center:
            y = y + self.params["beta"].reshape(self._bshape).astype(dtype, copy=False)
        return y

    def _affine_backward(self, error):
        """Fill gamma / beta grads; return ``dL/dx_hat``."""
        reduce = tuple(i for i in range(error.ndim) if i not in self._axes)
        shape = self.params.get("gamma", self.params.get("beta")).shape if self.params else None
        if self.scale:
            self.grads["gamma"] = (error * self._x_hat).sum(axis=reduce).reshape(shape)
        if self.center:
            self.grads["beta"] = error.sum(axis=reduce).reshape(shape)
        return error * self.params["gamma"].reshape(self._bshape) if self.scale else error

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis) if isinstance(self.axis, tuple) else int(self.axis),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }


class BatchNormalization(_Normalization):
    """Normalises each channel (the ``axis``, default last) over the batch and every other
    axis: ``(n, features)`` after Dense, ``(n, h, w, channels)`` per channel after Conv2D.

    Params ``gamma``, ``beta`` and buffers ``moving_mean``, ``moving_variance``, all
    ``(channels,)``.

    * Training (``forward(x, training=True)`` on a trainable layer): batch statistics, with
      the biased variance (divide by m); then, as Keras does,
      ``moving = momentum * moving + (1 - momentum) * batch_stat``, also with the *biased*
      batch variance (PyTorch would use the unbiased one for its running variance).
    * Inference (``training=False``, or a layer with ``trainable=False``, as in Keras):
      ``x_hat = (x - moving_mean) / sqrt(moving_variance + epsilon)``, a fixed affine map.
    * ``synchronized=True`` (Keras's argument): under ``numnet.distribution.DataParallel``
      the training statistics are those of the whole global batch, reduced over the
      processes (``numnet.distribution.sync_bn``); in one process nothing changes.

    Backward is exact for whichever mode the last forward ran in.
    """

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        synchronized: bool = False,
        name: str | None = None,
        **kwargs,
    ) -> None:
        synchronized = _validate.flag(synchronized, "synchronized", "BatchNormalization")
        if not _validate.is_int(axis):
            raise ValueError(f"BatchNormalization axis must be an integer, got {axis!r:.80}.")
        momentum = _validate.number(momentum, "momentum", "BatchNormalization", 0, 1)
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, **kwargs)
        self.momentum = float(momentum)
        self.synchronized = synchronized
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 1:
            raise ValueError(
                f"BatchNormalization {self.name!r} expects inputs of shape (N, C) or (N, H, W, C), got (N,)."
            )
        (axis,) = self._axes = self._resolve_axes(input_shape)
        channels = input_shape[axis - 1]
        self._bshape = tuple(channels if i == axis else 1 for i in range(len(input_shape) + 1))
        self._reduce = tuple(i for i in range(len(input_shape) + 1) if i != axis)
        self._add_affine((channels,))
        self.add_weight("moving_mean", (channels,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (channels,), self.moving_variance_initializer, trainable=False)

    def forward(self, input, training=False):
        self._check(input)
        self._batch_stats = bool(training) and self.trainable
        self._synced = None
        if self._batch_stats:
            dist = _sync_bn().active() if self.synchronized else None
            if dist is None:
                self._x_hat, self._inv_std, mean, var = _normalize(input, self._reduce, self.epsilon)
            else:  # the global batch's statistics, over every process
                shift = self.buffers["moving_mean"].reshape(self._bshape)
                self._x_hat, self._inv_std, mean, var, self._synced = _sync_bn().normalize(
                    dist, input, self._reduce, self.epsilon, shift)
            m = self.momentum
            # In place, so the buffers keep their dtype (and identity).
            self.buffers["moving_mean"][...] = m * self.buffers["moving_mean"] + (1 - m) * mean.reshape(-1)
            self.buffers["moving_variance"][...] = m * self.buffers["moving_variance"] + (1 - m) * var.reshape(-1)
        else:
            mean = self.buffers["moving_mean"].reshape(self._bshape).astype(input.dtype, copy=False)
            var = self.buffers["moving_variance"].reshape(self._bshape).astype(input.dtype, copy=False)
            self._inv_std = 1.0 / np.sqrt(var + self.epsilon)
            self._x_hat = (input - mean) * self._inv_std
        self.output = self._affine(self._x_hat, input.dtype)
        return self.output

    def backward(self, output_error):
        d = self._affine_backward(output_error)
        if not self.needs_input_error:
            return None
        if self._batch_stats:
            if self._synced is not None:
                return _sync_bn().normalize_backward(self._synced, d, self._x_hat, self._inv_std, self._reduce)
            return _normalize_backward(d, self._x_hat, self._inv_std, self._reduce)
        return d * self._inv_std

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            **({"synchronized": True} if self.synchronized else {}),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }


class LayerNormalization(_Normalization):
    """Normalises each sample over ``axis`` (default the last; an int or a list of axes),
    in training and inference alike: ``(n, ..., features)`` with mean and biased variance
    over ``features``. ``gamma`` and ``beta`` have the shape of the normalised axes.

    ``rms_scaling=True``: ``y = gamma * x / sqrt(mean(x ** 2) + epsilon)`` (RMS
    normalisation, torch's ``RMSNorm``; ``center`` and ``scale`` are ignored: gamma, no beta).
    Keras 3 deprecated its own flag, which divides by the variance instead; numnet computes
    the RMS, as ``keras.layers.RMSNormalization`` does."""

    supports_masking = True

    def __init__(
        self,
        axis=-1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        name: str | None = None,
        rms_scaling: bool = False,
        **kwargs,
    ) -> None:
        rms_scaling = _validate.flag(rms_scaling, "rms_scaling", "LayerNormalization")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, name, **kwargs)
        self.rms_scaling = rms_scaling
        if rms_scaling:  # as Keras: gamma only
            self.center, self.scale = False, True

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self._axes = self._resolve_axes(input_shape)
        full = (None,) + input_shape
        self._bshape = tuple(full[i] if i in self._axes else 1 for i in range(len(full)))
        self._add_affine(tuple(full[a] for a in self._axes))

    def forward(self, input, training=False):
        self._check(input)
        if self.rms_scaling:
            from .normalization_extra import rms_forward

            self._x_hat, self._inv_std = rms_forward(input, self._axes, self.epsilon)
            self._rms_input = input
        else:
            self._x_hat, self._inv_std, _, _ = _normalize(input, self._axes, self.epsilon)
        self.output = self._affine(self._x_hat, input.dtype)
        return self.output

    def backward(self, output_error):
        d = self._affine_backward(output_error)
        if not self.needs_input_error:
            return None
        if self.rms_scaling:
            from .normalization_extra import rms_backward

            return rms_backward(d, self._rms_input, self._inv_std, self._axes)
        return _normalize_backward(d, self._x_hat, self._inv_std, self._axes)

    def get_config(self) -> dict:
        config = super().get_config()
        if self.rms_scaling:
            config.update(rms_scaling=True, center=True, scale=True)  # the arguments as given back
        return config
