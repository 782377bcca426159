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
    """The trainable parameters of ``leaves`` (``(path, layer)`` pairs, see
    ``Model.leaf_layers``) moved into one buffer of ``dtype``.

    ``layout`` lists ``(key, start, stop, shape)`` per parameter, ``key`` being
    ``(layer path, parameter name)``.
    """

    def __init__(self, leaves, dtype) -> None:
        leaves = list(leaves)
        layers = [layer for _, layer in leaves]
        paths = {id(layer): path for path, layer in leaves}
        for layer in layers:
            layer.grad_targets = {}  # a slot of an earlier buffer (or of a frozen layer) is no target now
        entries = [(layer, name) for layer in layers if layer.trainable for name in layer.params]
        sizes = [layer.params[name].size for layer, name in entries]
        total = sum(sizes)
        self.params = np.empty(total, dtype=dtype)
        self.grads = np.zeros(total, dtype=dtype)
        self.layout = []
        self._views = []
        self._trainable = [layer.trainable for layer in layers]
        self._layers = layers
        self._paths = [path for path, _ in leaves]
        self._leaves = leaves
        # The layers whose buffers (BatchNorm statistics) a step puts back when it fails.
        self.buffer_layers = [layer for layer in layers if layer.buffers]
        from .training.penalty import Penalty

        # Regularized / constrained weights (numnet.training.penalty), or None: decided per buffer.
        self.penalty = Penalty.of(leaves)
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
            self.layout.append(((paths[id(layer)], name), start, stop, shape))
            self._views.append((layer, name, param, grad))
            start = stop

    def intact(self, leaves) -> bool:
        """Whether every parameter still lives in the buffer (no layer was cast, given new
        arrays, renamed or (un)frozen since)."""
        if leaves is not self._leaves:  # a new list: compare it (the model hands back the same one)
            layers = [layer for _, layer in leaves]
            if len(layers) != len(self._layers) or any(a is not b for a, b in zip(layers, self._layers)):
                return False
            if [path for path, _ in leaves] != self._paths:
                return False
            self._leaves = leaves
        layers = self._layers
        for i in range(len(layers)):
            if layers[i].trainable != self._trainable[i]:
                return False
        for layer, name, param, _ in self._views:
            if layer.params.get(name) is not param:
                return False
        return True

    def gather(self, gradient_pass=None) -> None:
        """Make sure every gradient is in the buffer, copying those a layer rebound. With
        ``gradient_pass``, a layer that got no gradient in that pass (no loss depends on it)
        gets zeros, not the previous step's values."""
        for layer, name, _, grad in self._views:
            if gradient_pass is not None and layer._grad_pass is not gradient_pass:
                grad.fill(0)
                layer.grads[name] = grad
                continue
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
