"""``SymbolicTensor``: a placeholder for the arrays a graph will carry (Keras's ``KerasTensor``)."""

from __future__ import annotations

import numpy as np


class SymbolicTensor:
    """The ``shape`` (batch dimension first, ``None``) and ``dtype`` of a value in a graph,
    and the ``node`` whose call produces it (output number ``index`` of that call).

    ``Input((4,))`` returns one; calling a layer on it returns another:
    ``Dense(3)(Input((4,))).shape == (None, 3)``. Dimensions other than the batch may be
    ``None`` too (a time axis whose length varies from batch to batch).
    """

    __slots__ = ("shape", "dtype", "node", "index", "name", "__weakref__")

    def __init__(self, shape, dtype, node=None, index: int = 0, name: str | None = None) -> None:
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def feature_shape(self) -> tuple:
        """The shape without the batch dimension, as layers are built for it."""
        return self.shape[1:]

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name} name={self.name!r}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it holds no values. Build a Model from it, then call the model "
            "on arrays (model.predict(x) or model(x))."
        )

    def __bool__(self):
        raise TypeError(f"{self!r} is symbolic and has no truth value.")

    __hash__ = object.__hash__  # identity (``==`` is not an op here: graphs look tensors up)

    # Operators add op nodes to the graph (``Dense(4)(x) + x``), as ``numnet.ops`` does.
    def __getitem__(self, key):
        return _ops().getitem(self, key)

    def __neg__(self):
        return _ops().negative(self)

    def __abs__(self):
        return _ops().abs(self)

    @property
    def T(self):
        return _ops().transpose(self)


def _ops():
    from .. import ops

    return ops


def _binary(op: str, reflected: bool = False):
    if reflected:
        def method(self, other):
            return getattr(_ops(), op)(other, self)
    else:
        def method(self, other):
            return getattr(_ops(), op)(self, other)
    return method


for _name, _op in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
                   ("pow", "power"), ("matmul", "matmul")):
    setattr(SymbolicTensor, f"__{_name}__", _binary(_op))
    setattr(SymbolicTensor, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")):
    setattr(SymbolicTensor, f"__{_name}__", _binary(_op))
del _name, _op


def is_symbolic(value) -> bool:
    """Whether ``value`` is a SymbolicTensor or a non-empty list / tuple / dict of them."""
    if isinstance(value, SymbolicTensor):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, SymbolicTensor) for v in value)
    return False


def shapes_compatible(expected, got) -> bool:
    """Whether ``got`` fits ``expected`` (shapes without the batch axis, or lists of them):
    the same rank and sizes, ``None`` on either side matching any size."""
    if isinstance(expected, list) or isinstance(got, list):
        return (isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got)
                and all(shapes_compatible(a, b) for a, b in zip(expected, got)))
    expected, got = tuple(expected), tuple(got)
    return len(expected) == len(got) and all(a is None or b is None or a == b for a, b in zip(expected, got))
