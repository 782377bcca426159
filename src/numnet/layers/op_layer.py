"""``OpLayer``: a ``numnet.ops`` op called on symbolic tensors, as a node of a graph.

``y = ops.relu(Dense(4)(x)) + x`` inside a functional model: every op that receives a
``SymbolicTensor`` (``numnet.ops`` functions and the operators of symbolic tensors) makes an
``OpLayer`` that remembers the op's name and its other arguments, and calls it on the
symbolic tensors, a list (``Node.as_list``). Running the graph, the layer is a call layer
(``numnet.layers.custom``): the op runs on a tape, and its backward is the tape's.

The arguments are kept as a JSON-able template, so a model with op layers saves and loads:
a symbolic tensor becomes ``{"__input__": i}``, a slice ``{"__slice__": [start, stop,
step]}``, ``...`` ``{"__ellipsis__": true}``, tuples lists. Constants that are arrays do not
save (the error says so); numbers, strings, lists and None do.
"""

from __future__ import annotations

from .layer import Layer

_INPUT, _SLICE, _ELLIPSIS, _TUPLE = "__input__", "__slice__", "__ellipsis__", "__tuple__"


def _encode(value, tensors: list, is_symbolic):
    """``value`` with every symbolic tensor replaced by its position in ``tensors``."""
    if is_symbolic(value):
        tensors.append(value)
        return {_INPUT: len(tensors) - 1}
    if isinstance(value, slice):
        return {_SLICE: [_encode(value.start, tensors, is_symbolic), _encode(value.stop, tensors, is_symbolic),
                         _encode(value.step, tensors, is_symbolic)]}
    if value is Ellipsis:
        return {_ELLIPSIS: True}
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, tensors, is_symbolic) for v in value]}
    if isinstance(value, list):
        return [_encode(v, tensors, is_symbolic) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v, tensors, is_symbolic) for k, v in value.items()}
    return value


def _decode(value, inputs):
    if isinstance(value, dict):
        if _INPUT in value:
            return inputs[value[_INPUT]]
        if _SLICE in value:
            return slice(*(_decode(v, inputs) for v in value[_SLICE]))
        if _ELLIPSIS in value:
            return Ellipsis
        if _TUPLE in value:
            return tuple(_decode(v, inputs) for v in value[_TUPLE])
        return {k: _decode(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, inputs) for v in value]
    return value


def _op(name: str):
    from .. import ops

    fn = getattr(ops, name, None) if not name.startswith("_") else None
    if fn is None or not callable(fn) or name not in ops.SYMBOLIC_OPS:
        raise ValueError(f"OpLayer: {name!r} is not an op of numnet.ops.")
    return fn


class OpLayer(Layer):
    """The op ``numnet.ops.<op>`` with arguments ``args`` / ``kwargs`` (templates in which
    ``{"__input__": i}`` stands for input ``i`` of the layer); it has no weights."""

    def __init__(self, op: str, args=(), kwargs=None, name=None, **base) -> None:
        self._op_fn = _op(op)
        super().__init__(name=name, **base)
        self.op = op
        self.op_args = list(args)
        self.op_kwargs = dict(kwargs or {})

    def call(self, inputs):
        inputs = list(inputs)
        return self._op_fn(*_decode(self.op_args, inputs), **_decode(self.op_kwargs, inputs))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "args": self.op_args, "kwargs": self.op_kwargs}

    def __repr__(self) -> str:
        return f"<OpLayer {self.op} name={self.name!r}>"


def call_symbolic(op_name: str, args, kwargs):
    """``ops.<op_name>(*args, **kwargs)`` where some argument is a symbolic tensor: a new
    ``OpLayer`` called on the symbolic tensors (returns the symbolic output)."""
    from ..graph import SymbolicTensor
    from .layer import _unique_name

    def is_symbolic(v):
        return isinstance(v, SymbolicTensor)

    tensors: list = []
    arg_template = _encode(list(args), tensors, is_symbolic)
    kwarg_template = _encode(dict(kwargs), tensors, is_symbolic)
    layer = OpLayer(op_name, arg_template, kwarg_template, name=_unique_name(op_name))
    layer.default_name = True
    dtype = tensors[0].dtype
    if dtype.kind == "f":
        layer.dtype = dtype
    return layer(tensors)
