"""Giving each call of a shared layer its own cache.

numnet's layers (and the seed-style layers users write) keep what ``backward`` needs as
attributes their ``forward`` assigns (``self.input = x``, ``self._cols = ...``). When a
layer is called once in a pass, that is all there is to it. When it is called several
times (a shared layer, a model nested twice), each call's attributes must survive the
later calls: a step then *takes* them from the layer after the call's forward and keeps
them as that call's state, and *puts* them back for the call's backward.

What counts as a call's state: every attribute whose value the call assigned (identity
changed), except the layer's configuration and parameters (``KEPT``), and, recursively,
the state of layers held as attributes (Dense's ``activation``). A layer that mutates a
container in place during forward (``self.cache[k] = ...``) would share it between calls:
assign attributes instead, as the seed does. Cost: a shallow copy of the layer's
``__dict__`` per call (a few microseconds), paid only by calls that need it.
"""

from __future__ import annotations

_ABSENT = object()

# Attributes that belong to the layer, not to one call (a lazily created generator must
# persist, or every call would redraw the same dropout mask).
KEPT = frozenset({
    "name", "built", "trainable", "_trainable", "dtype", "input_shape", "output_shape", "params", "grads",
    "buffers", "grad_targets", "_scratch", "_rng", "seed", "_inbound_nodes", "_grad_pass", "requested_input_shape",
    "needs_input_error", "states", "_thread_views",
    # A call layer's (numnet.layers.custom): its own weights, Variables, tracked layers, caches.
    "_own_params", "_own_grads", "_own_buffers", "_variables", "_tracked", "_inferred", "_losses_seen",
    "_callable_losses", "_own_dtype", "_backward_variables",
})


def _is_layer(value) -> bool:
    from ..layers.layer import Layer

    return isinstance(value, Layer)


def begin(layer) -> tuple:
    """What the layer's attributes are before a call (to tell afterwards what it assigned)."""
    attributes = dict(layer.__dict__)
    children = {k: begin(v) for k, v in attributes.items() if k not in KEPT and _is_layer(v)}
    return attributes, children


def take(layer, before: tuple) -> dict:
    """Remove from ``layer`` what the call assigned since ``before`` (restoring the earlier
    values) and return it as the call's state."""
    attributes, children = before
    current = layer.__dict__
    state = {}
    for key, value in current.items():
        if key not in KEPT and attributes.get(key, _ABSENT) is not value:
            state[key] = value
    for key in state:
        old = attributes.get(key, _ABSENT)
        if old is _ABSENT:
            del current[key]
        else:
            current[key] = old
    nested = {k: take(current[k], b) for k, b in children.items() if current.get(k) is attributes[k]}
    return {"own": state, "children": nested}


def put(layer, state: dict) -> dict:
    """Put a call's state back on the layer; returns what it replaced (for ``restore``)."""
    current = layer.__dict__
    replaced = {k: current.get(k, _ABSENT) for k in state["own"]}
    current.update(state["own"])
    children = {k: put(current[k], s) for k, s in state["children"].items()}
    return {"own": replaced, "children": children}


def restore(layer, replaced: dict) -> None:
    """Undo ``put``."""
    current = layer.__dict__
    for key, value in replaced["own"].items():
        if value is _ABSENT:
            current.pop(key, None)
        else:
            current[key] = value
    for key, child in replaced["children"].items():
        restore(current[key], child)
