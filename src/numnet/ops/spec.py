"""Shape inference without data: ``infer_output_spec(fn, *args)``.

A symbolic tensor (shape with ``None`` for unknown axes, and a dtype) cannot be computed
on, but every op can run on a small dummy array. ``infer_output_spec`` runs ``fn`` twice,
on dummies whose unknown axes have length 2 and then 4, with no tape recording: an output
axis that differs between the runs depends on an unknown axis and is ``None``; the others
are known. Dummies are ones (floats, booleans) or zeros (integers, so that they are valid
indices). ``fn`` may be any composition of ``numnet.ops``; an op that cannot run on the
dummies raises its usual error (e.g. shapes that never broadcast).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tape import pause_recording
from .tensor import Tensor

_DUMMY_SIZES = (2, 4)


@dataclass(frozen=True)
class TensorSpec:
    """A shape (ints, ``None`` where unknown) and a NumPy dtype."""

    shape: tuple
    dtype: np.dtype

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(None if n is None else int(n) for n in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))


def _is_spec(x) -> bool:
    return not isinstance(x, (Tensor, np.ndarray, np.generic)) and hasattr(x, "shape") and hasattr(x, "dtype")


def _dummy(x, size: int):
    if isinstance(x, dict):
        return {k: _dummy(v, size) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_dummy(v, size) for v in x)
    if not _is_spec(x):
        return x
    dtype = np.dtype(x.dtype)
    shape = tuple(size if n is None else n for n in x.shape)
    fill = np.zeros if dtype.kind in "iu" else np.ones
    return Tensor(fill(shape, dtype=dtype))


def _has_unknown(x) -> bool:
    if isinstance(x, dict):
        return any(_has_unknown(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_has_unknown(v) for v in x)
    return _is_spec(x) and any(n is None for n in x.shape)


def _merge(a, b):
    """The spec of output ``a`` (from the first run) with axes that changed in ``b`` unknown."""
    if isinstance(a, dict):
        return {k: _merge(a[k], b[k]) for k in a}
    if isinstance(a, (list, tuple)):
        return type(a)(_merge(x, y) for x, y in zip(a, b))
    if isinstance(a, (Tensor, np.ndarray, np.generic)):
        sa, sb = np.shape(a), np.shape(b)
        if len(sa) != len(sb):
            raise ValueError(f"infer_output_spec: the output's rank depends on an unknown axis ({sa} vs {sb}).")
        return TensorSpec(tuple(n if n == m else None for n, m in zip(sa, sb)), np.asarray(a).dtype)
    return a if a == b else None


def infer_output_spec(fn, *args, **kwargs):
    """The ``TensorSpec`` (or structure of them) ``fn(*args, **kwargs)`` would return.

    Arguments with ``.shape`` and ``.dtype`` that are not arrays (``TensorSpec``, a graph's
    symbolic tensors) are replaced by dummies; everything else is passed as it is.
    """
    sizes = _DUMMY_SIZES if _has_unknown((args, kwargs)) else _DUMMY_SIZES[:1]
    results = []
    with pause_recording(), np.errstate(all="ignore"):
        for size in sizes:
            results.append(fn(*_dummy(args, size), **_dummy(kwargs, size)))
    return _merge(results[0], results[-1])
