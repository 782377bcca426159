"""What a training step does with regularizers and constraints (the layer side is in
``numnet.layers._penalties``).

``Penalty.of(leaves)`` collects, once per flat parameter buffer (``FlatParameters``), every
trainable weight that has a regularizer or a constraint: ``(leaf, key, regularizer,
constraint)`` with ``key`` the weight's name in the leaf's ``params`` (a wrapper's
``"forward_kernel"``, a call layer's ``"dense/kernel"``). It is None for a model without
any, so the step pays one attribute test (``flat.penalty is not None``) for the feature.
Per step:

* ``value()``: ``sum(regularizer(w))`` over the weights, added to the batch loss;
* ``add_gradients()``: ``grads[key] += regularizer.gradient(w)`` (into the flat gradient
  buffer, after ``FlatParameters.gather``);
* ``constrain()``: ``w[...] = constraint(w)`` after the optimizer update.

Activity regularizers are plan steps instead (``numnet.graph.activity``).
"""

from __future__ import annotations

import numpy as np


def _own_entries(layer, prefix: str = ""):
    """``(key, regularizer, constraint)`` for ``layer``'s weights and, for a call layer, those
    of the layers it tracks (under their path keys)."""
    from ..layers import custom

    regs = layer.__dict__.get("regularizers") or {}
    cons = layer.__dict__.get("constraints") or {}
    for key in [*regs, *(k for k in cons if k not in regs)]:
        yield prefix + key, regs.get(key), cons.get(key)
    if custom.is_call_layer(layer):
        for path, child in custom._children(layer):
            if getattr(child, "_is_model", False):
                for leaf_path, leaf in custom.leaves_of(child):
                    yield from _own_entries(leaf, f"{prefix}{path}/{leaf_path}/")
            else:
                yield from _own_entries(child, f"{prefix}{path}/")


class Penalty:
    """The regularized / constrained weights of a model's leaves (see the module docstring)."""

    __slots__ = ("entries", "regularized", "constrained")

    def __init__(self, entries) -> None:
        self.entries = list(entries)
        self.regularized = [(leaf, key, reg) for leaf, key, reg, _ in self.entries if reg is not None]
        self.constrained = [(leaf, key, con) for leaf, key, _, con in self.entries if con is not None]

    @classmethod
    def of(cls, leaves) -> "Penalty | None":
        from ..layers import _penalties

        if not _penalties.state.any_used:  # no layer in this process has one: skip the walk
            return None
        entries = [(leaf, key, reg, con) for _, leaf in leaves for key, reg, con in _own_entries(leaf)]
        return cls(entries) if entries else None

    def value(self) -> float:
        """The sum of the weight regularizers' terms (trainable weights only, as Keras)."""
        total = 0.0
        for leaf, key, reg in self.regularized:
            if leaf.trainable and key in leaf.params:
                total += reg.value(leaf.params[key])
        return total

    def terms(self) -> list:
        """One Tensor per regularized trainable weight, on the tape when one records (for
        ``model.losses``)."""
        from ..layers.custom import variable_for

        return [reg(variable_for(leaf, key)) for leaf, key, reg in self.regularized
                if leaf.trainable and key in leaf.params]

    def add_gradients(self) -> None:
        for leaf, key, reg in self.regularized:
            if leaf.trainable and key in leaf.params:
                grad = leaf.grads[key]
                grad += reg.gradient(leaf.params[key]).astype(grad.dtype, copy=False)

    def constrain(self) -> None:
        for leaf, key, con in self.constrained:
            if leaf.trainable and key in leaf.params:
                param = leaf.params[key]
                param[...] = con(param)


def penalty_for(model) -> "Penalty | None":
    """The model's ``Penalty`` (its flat buffer's when that is current; else collected now)."""
    from ..layers import _penalties

    if not _penalties.state.any_used:
        return None
    leaves = model.leaf_layers() if model._plan is not None else []
    flat = model.__dict__.get("_flat")
    if flat is not None and flat.intact(leaves):
        return flat.penalty
    return Penalty.of(leaves)


def constrain_variables(variables) -> None:
    """Apply the constraints of the layer weights among ``variables`` (ops Variables), after
    ``optimizer.apply_gradients`` updated them."""
    from ..layers import _penalties

    if not _penalties.state.any_used:
        return
    for variable in variables:
        layer = getattr(variable, "layer", None)
        if layer is None:
            continue
        con = (layer.__dict__.get("constraints") or {}).get(variable.key)
        if con is not None:
            param = variable.value
            param[...] = con(param)
