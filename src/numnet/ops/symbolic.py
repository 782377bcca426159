"""Dispatch of ``numnet.ops`` calls on symbolic tensors to graph nodes.

``install`` wraps each public op of the ``numnet.ops`` namespace: when an argument (or an
item of a list / tuple argument, as ``concatenate`` takes) is a ``SymbolicTensor``, the call
becomes an ``OpLayer`` node (``numnet.layers.op_layer``); otherwise the op runs as before.

Each wrapper is generated with the op's own signature (``def exp(x): ...``), so that the
eager path pays one plain function call and one type test per argument (about 0.1 us),
not the packing of ``*args, **kwargs``.
"""

from __future__ import annotations

import functools
import inspect

from ..graph.tensor import SymbolicTensor

_SEQUENCES = (list, tuple)


def _has_symbolic(value) -> bool:
    """A list / tuple argument holding a symbolic tensor (``concatenate([x, y])``)."""
    return any(type(v) is SymbolicTensor for v in value)


def _symbolic_call(name: str, args, kwargs):
    from ..layers.op_layer import call_symbolic

    return call_symbolic(name, args, kwargs)


def symbolic_aware(name: str, fn):
    """``fn`` that builds a graph node when given a symbolic tensor (same signature)."""
    signature = inspect.signature(fn)
    namespace = {"_fn": fn, "_ST": SymbolicTensor, "_SEQ": _SEQUENCES, "_seq_sym": _has_symbolic,
                 "_sym": _symbolic_call, "_name": name}
    params, positional, keywords, checks = [], [], [], []
    star_seen = False
    for p in signature.parameters.values():
        default = ""
        if p.default is not inspect.Parameter.empty:
            namespace[f"_d_{p.name}"] = p.default
            default = f"=_d_{p.name}"
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            params.append(p.name + default)
            positional.append(p.name)
            checks.append(f"type({p.name}) is _ST or (type({p.name}) in _SEQ and _seq_sym({p.name}))")
        elif p.kind is p.VAR_POSITIONAL:
            params.append("*" + p.name)
            positional.append("*" + p.name)
            checks.append(f"any(type(v) is _ST or (type(v) in _SEQ and _seq_sym(v)) for v in {p.name})")
            star_seen = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star_seen:
                params.append("*")
                star_seen = True
            params.append(p.name + default)
            keywords.append(f"{p.name!r}: {p.name}")
            checks.append(f"type({p.name}) is _ST")
        else:  # **kwargs
            params.append("**" + p.name)
            keywords.append(f"**{p.name}")
            checks.append(f"any(type(v) is _ST for v in {p.name}.values())")
    call_positional = ", ".join(positional)
    call_keywords = ", ".join(k.split(": ")[0].strip("'") + "=" + k.split(": ")[1] if not k.startswith("**") else k
                              for k in keywords)
    body = " or ".join(checks) or "False"
    source = (
        f"def {name}({', '.join(params)}):\n"
        f"    if {body}:\n"
        f"        return _sym(_name, [{call_positional}], {{{', '.join(keywords)}}})\n"
        f"    return _fn({', '.join(x for x in (call_positional, call_keywords) if x)})\n"
    )
    exec(compile(source, f"<numnet.ops.{name}>", "exec"), namespace)
    op = functools.wraps(fn)(namespace[name])
    op.__wrapped__ = fn
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
