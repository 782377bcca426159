"""Dispatch of ``numnet.ops`` calls on symbolic tensors to graph nodes.

``install`` wraps each public op of the ``numnet.ops`` namespace: when a positional or
keyword argument (or an item of a list / tuple argument, as ``concatenate`` takes) is a
``SymbolicTensor``, the call becomes an ``OpLayer`` node (``numnet.layers.op_layer``);
otherwise the op runs as before. The check is a type test per argument (about 0.1 us).
"""

from __future__ import annotations

import functools

from ..graph.tensor import SymbolicTensor


def _any_symbolic(args, kwargs) -> bool:
    for a in args:
        t = type(a)
        if t is SymbolicTensor:
            return True
        if (t is list or t is tuple) and any(type(v) is SymbolicTensor for v in a):
            return True
    if kwargs:
        for a in kwargs.values():
            if type(a) is SymbolicTensor:
                return True
    return False


def symbolic_aware(name: str, fn):
    """``fn`` that builds a graph node when given a symbolic tensor."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _any_symbolic(args, kwargs):
            from ..layers.op_layer import call_symbolic

            return call_symbolic(name, args, kwargs)
        return fn(*args, **kwargs)

    op.unwrapped = fn
    return op


def install(namespace: dict, exclude: set) -> frozenset:
    """Wrap every public function of ``namespace`` but ``exclude``; returns their names."""
    names = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in exclude or not callable(value) or isinstance(value, type):
            continue
        if getattr(value, "__module__", "").startswith("numnet.ops"):
            namespace[name] = symbolic_aware(name, value)
            names.append(name)
    return frozenset(names)
