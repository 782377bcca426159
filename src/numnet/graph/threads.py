"""Inference from several threads at once.

numnet's layers keep what a call computes as attributes (``self.input``, Conv2D's padded
input, reused scratch buffers): correct for one call at a time, wrong when two threads run
the same layer together. So a step that runs in inference asks for the layer's *view for
this thread*: a shallow copy made once per thread, which shares the parameters and buffers
(the same arrays: updates by training, ``set_weights`` and loading are seen at once) but has
attributes and scratch buffers of its own. Two threads never write the same attribute, and
no lock serialises them. Training never uses views: one ``fit`` at a time per model.

A view is dropped when its layer is cast to another dtype (``Layer.cast``). A stateful
recurrent layer, whose state must carry over from batch to batch, runs on itself.
"""

from __future__ import annotations

import copy
import threading


def _make_view(layer):
    from ..layers.layer import Layer

    view = copy.copy(layer)
    attributes = view.__dict__
    attributes["_scratch"] = {}
    attributes["_thread_views"] = None
    for key, value in list(attributes.items()):
        if isinstance(value, Layer) and key != "_thread_views":
            attributes[key] = _make_view(value)  # Dense's activation writes its own attributes too
    return view


def inference_view(layer):
    """``layer`` as this thread's inference calls see it (see the module docstring)."""
    if getattr(layer, "stateful", False):
        return layer
    views = layer.__dict__.get("_thread_views")
    if views is None:
        views = layer.__dict__.setdefault("_thread_views", {})
    ident = threading.get_ident()
    view = views.get(ident)
    if view is None:
        view = views[ident] = _make_view(layer)
    return view
