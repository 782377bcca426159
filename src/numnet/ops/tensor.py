"""``Tensor`` and ``Variable``: the values ``numnet.ops`` computes with.

A ``Tensor`` is an immutable wrapper around one NumPy array (``.value``). Ops take
Tensors, Variables, NumPy arrays or Python scalars and always return Tensors; a
``GradientTape`` that is recording remembers, per op, which Tensors went in, which came
out and how to send a gradient back (``tape.py``). A Tensor holds no reference to the op
that made it, so a Tensor computed outside any tape costs one small object.

A ``Variable`` is a Tensor whose array can change in place (``assign``): trainable
weights. Its array may be a view into a flat parameter buffer; ``assign`` writes into
that view and never rebinds it.

Operators (``+ - * / ** @``, unary ``-``, ``abs``, comparisons, ``x[...]``) call the ops in
``math.py`` and ``shape.py``; NumPy arrays on the left work too because Tensors opt out
of NumPy's ufunc dispatch (``__array_ufunc__ = None``), so ``array + tensor`` calls
``Tensor.__radd__``. ``np.asarray(tensor)`` gives the array (``__array__``).
"""

from __future__ import annotations

import numpy as np

_NUMERIC_KINDS = frozenset("biufc")


def check_numeric(array: np.ndarray, what: str = "op input") -> np.ndarray:
    """``array`` itself when its dtype is boolean or numeric; TypeError otherwise (object,
    string, bytes, structured or datetime arrays cannot be differentiated or computed on)."""
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"numnet.ops: {what} must be a boolean or numeric array, got dtype {array.dtype} "
            f"(shape {array.shape})."
        )
    return array


def as_array(x) -> np.ndarray:
    """The NumPy array behind ``x`` (a Tensor, array, scalar or nested list), validated once."""
    if isinstance(x, Tensor):
        return x.value
    return check_numeric(np.asarray(x))


_new = object.__new__


def wrap(array) -> "Tensor":
    """A Tensor around the result of a NumPy computation, without re-validation (ops
    produce numeric arrays; NumPy reductions may give a scalar, made a 0-d array)."""
    t = _new(Tensor)
    t.value = array if type(array) is np.ndarray else np.asarray(array)
    return t


class Tensor:
    """An array computed by ``numnet.ops``: ``.value`` / ``.numpy()`` is the NumPy array,
    with ``.shape``, ``.dtype``, ``.ndim`` and ``.size`` as NumPy has them."""

    __slots__ = ("value", "__weakref__")
    # NumPy returns NotImplemented for ``ndarray <op> Tensor``, so Python calls our
    # reflected operator and the result stays a recorded Tensor.
    __array_ufunc__ = None

    def __init__(self, value, dtype=None) -> None:
        array = np.asarray(value.value if isinstance(value, Tensor) else value, dtype=dtype)
        self.value = check_numeric(array, "a Tensor's value")

    @staticmethod
    def _wrap(array) -> "Tensor":
        return wrap(array)

    # --- array protocol and attributes -------------------------------------------------
    def numpy(self) -> np.ndarray:
        return self.value

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.value.dtype:
            return self.value.astype(dtype)
        return self.value.copy() if copy else self.value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        for i in range(len(self.value)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.value, separator=", ", prefix="numnet.Tensor(")
        return f"numnet.Tensor({body}, shape={self.shape}, dtype={self.dtype})"

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return self.value.__index__()

    __hash__ = object.__hash__  # identity; ``==`` is elementwise

    # --- operators: each is one op of math.py / shape.py --------------------------------
    def __add__(self, other):
        return _m.add(self, other)

    def __radd__(self, other):
        return _m.add(other, self)

    def __sub__(self, other):
        return _m.subtract(self, other)

    def __rsub__(self, other):
        return _m.subtract(other, self)

    def __mul__(self, other):
        return _m.multiply(self, other)

    def __rmul__(self, other):
        return _m.multiply(other, self)

    def __truediv__(self, other):
        return _m.divide(self, other)

    def __rtruediv__(self, other):
        return _m.divide(other, self)

    def __pow__(self, other):
        return _m.power(self, other)

    def __rpow__(self, other):
        return _m.power(other, self)

    def __matmul__(self, other):
        return _m.matmul(self, other)

    def __rmatmul__(self, other):
        return _m.matmul(other, self)

    def __neg__(self):
        return _m.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _m.abs(self)

    def __lt__(self, other):
        return _m.less(self, other)

    def __le__(self, other):
        return _m.less_equal(self, other)

    def __gt__(self, other):
        return _m.greater(self, other)

    def __ge__(self, other):
        return _m.greater_equal(self, other)

    def __eq__(self, other):
        return _m.equal(self, other)

    def __ne__(self, other):
        return _m.not_equal(self, other)

    def __getitem__(self, key):
        return _s.getitem(self, key)

    # --- a few NumPy-style methods --------------------------------------------------------
    @property
    def T(self):
        return _s.transpose(self)

    def reshape(self, *shape):
        return _s.reshape(self, shape[0] if len(shape) == 1 else shape)

    def astype(self, dtype):
        return _m.cast(self, dtype)

    def sum(self, axis=None, keepdims=False):
        return _r.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _r.mean(self, axis=axis, keepdims=keepdims)


class Variable(Tensor):
    """A trainable (or state) array: ``Variable(initializer, shape=None, dtype=None,
    trainable=True, name=None)`` as ``keras.Variable`` takes them.

    ``initializer`` is an array-like, or a callable ``initializer(shape, dtype)`` with
    ``shape`` given. ``assign(value)`` writes into the existing array (which may be a view
    into a flat parameter buffer), so every holder of ``.value`` sees the change.

    Ops read a Variable's array when they run; assigning to a Variable between a forward
    pass and ``tape.gradient`` changes what the gradient is computed from (as with any
    in-place update of an array a backward pass needs): apply updates after ``gradient``.
    """

    __slots__ = ("name", "trainable")
    _count = 0

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True, name=None) -> None:
        if callable(initializer):
            if shape is None:
                raise ValueError("Variable: a callable initializer needs shape=..., got shape=None.")
            initializer = initializer(tuple(shape), np.dtype(dtype or np.float32))
        array = initializer.value if isinstance(initializer, Tensor) else initializer
        if not isinstance(array, np.ndarray) or (dtype is not None and array.dtype != np.dtype(dtype)):
            array = np.array(array, dtype=dtype)
        if shape is not None and array.shape != tuple(shape):
            raise ValueError(f"Variable: initial value has shape {array.shape}, expected shape {tuple(shape)}.")
        self.value = check_numeric(array, "a Variable's value")
        if name is None:
            Variable._count += 1
            name = f"variable_{Variable._count}"
        self.name = str(name)
        self.trainable = bool(trainable)

    def assign(self, value) -> "Variable":
        """Write ``value`` (broadcast to this variable's shape, cast to its dtype) in place."""
        new = as_array(value)
        if new.shape != self.value.shape:
            raise ValueError(
                f"Variable {self.name!r}: assign expects shape {self.value.shape}, got {new.shape}."
            )
        np.copyto(self.value, new, casting="unsafe")
        return self

    def assign_add(self, delta) -> "Variable":
        return self.assign(self.value + as_array(delta))

    def assign_sub(self, delta) -> "Variable":
        return self.assign(self.value - as_array(delta))

    def __repr__(self) -> str:
        return f"<numnet.Variable {self.name!r} shape={self.shape} dtype={self.dtype} trainable={self.trainable}>"


# Imported last: these modules import Tensor from here.
from . import math as _m  # noqa: E402
from . import reduce as _r  # noqa: E402
from . import shape as _s  # noqa: E402
