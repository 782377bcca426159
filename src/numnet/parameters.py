"""One contiguous buffer for all of a model's trainable parameters (and one for their
gradients).

Every layer keeps its ``params[name]`` and ``grads[name]``, but during training they are
views into two flat arrays. An optimizer then updates the whole model with a handful of
ufunc calls (``Optimizer.step_flat``) instead of a handful per parameter: for small
networks the per-call overhead, not the arithmetic, is what the optimizer costs.

Layers stay free to rebind ``grads[name]`` to a new array (custom layers do); ``gather``
copies such gradients into the buffer. Layers that write into the slot offered to them
(``Layer.grad_buffer``) avoid that copy.
"""

from __future__ import annotations

import math

import numpy as np


class FlatParameters:
    """The trainable parameters of ``layers`` moved into one buffer of ``dtype``.

    ``layout`` lists ``(key, start, stop, shape)`` per parameter, ``key`` being
    ``(layer name, parameter name)``.
    """

    def __init__(self, layers, dtype) -> None:
        entries = [(layer, name) for layer in layers if layer.trainable for name in layer.params]
        sizes = [layer.params[name].size for layer, name in entries]
        total = sum(sizes)
        self.params = np.empty(total, dtype=dtype)
        self.grads = np.zeros(total, dtype=dtype)
        self.layout = []
        self._views = []
        self._trainable = [layer.trainable for layer in layers]
        self._layers = list(layers)
        start = 0
        for (layer, name), size in zip(entries, sizes):
            shape = layer.params[name].shape
            stop = start + size
            param = self.params[start:stop].reshape(shape)
            param[...] = layer.params[name]
            grad = self.grads[start:stop].reshape(shape)
            layer.params[name] = param
            # Offered, not assigned: a backward that never stores grads[name] is caught by gather.
            layer.grad_targets[name] = grad
            self.layout.append(((layer.name, name), start, stop, shape))
            self._views.append((layer, name, param, grad))
            start = stop

    def intact(self, layers) -> bool:
        """Whether every parameter still lives in the buffer (no layer was cast, given new
        arrays or (un)frozen since)."""
        if len(layers) != len(self._layers) or any(a is not b for a, b in zip(layers, self._layers)):
            return False
        if any(layer.trainable != flag for layer, flag in zip(layers, self._trainable)):
            return False
        return all(layer.params.get(name) is param for layer, name, param, _ in self._views)

    def gather(self) -> None:
        """Make sure every gradient is in the buffer, copying those a layer rebound."""
        for layer, name, _, grad in self._views:
            current = layer.grads.get(name)
            if current is not grad:
                if current is None or np.shape(current) != grad.shape:
                    raise RuntimeError(
                        f"Layer {layer.name!r}: backward must store grads[{name!r}] with the shape of "
                        f"params[{name!r}] {grad.shape}, got {None if current is None else np.shape(current)}."
                    )
                np.copyto(grad, current)
                layer.grads[name] = grad

    @property
    def size(self) -> int:
        return math.prod(self.params.shape)
