"""A callable written with ``numnet.ops`` as an activation (``Dense(8, activation=fn)``,
``Activation(fn)``): the value is ``fn`` on a Tensor, the derivative comes from the tape.

numnet's own activations (``numnet.activations.gelu``, names) keep their hand-written
derivatives; this is for everything else, as Keras takes any callable. ``fn`` maps a Tensor
to a Tensor of the same shape using ``numnet.ops`` (``lambda x: ops.tanh(x) * 2``); its
derivative is a vector-Jacobian product recomputed in backward (one more forward of ``fn``
on a private tape), so nothing per call is kept but the input. Such a layer cannot be saved
(a function is not data): save it with a name, or write a custom layer.
"""

from __future__ import annotations

import numpy as np

PREFIX = "callable:"


def _run(fn, x, watch: bool):
    from ..ops import tape as _tape
    from ..ops.tensor import Tensor, wrap

    t = wrap(np.asarray(x))
    outer = _tape._active[:]
    _tape._active.clear()  # an outer tape sees the activation's layer as one op, not fn's insides
    try:
        recorder = _tape.GradientTape()
        with recorder:
            if watch:
                recorder.watch(t)
            y = fn(t)
    finally:
        _tape._active[:] = outer
    if not isinstance(y, Tensor) or y.shape != t.shape:
        got = f"a Tensor of shape {y.shape}" if isinstance(y, Tensor) else type(y).__name__
        raise TypeError(f"The activation {fn!r} must map a numnet Tensor to a Tensor of the same shape "
                        f"({t.shape}), written with numnet.ops; it returned {got}.")
    return recorder, t, y


def functions(fn):
    """``(function, derivative)`` in ``activation_functions``' form for the callable ``fn``."""

    def function(x):
        _, _, y = _run(fn, x, watch=False)
        return y.value.astype(np.asarray(x).dtype, copy=False)

    def derivative(x, output_error):
        recorder, t, y = _run(fn, x, watch=True)
        grad = recorder.gradient(y, t, output_gradients=output_error)
        if grad is None:  # fn does not depend on its input
            return np.zeros_like(output_error)
        return np.asarray(getattr(grad, "value", grad)).astype(output_error.dtype, copy=False)

    return function, derivative


def name_of(fn) -> str:
    return PREFIX + getattr(fn, "__name__", type(fn).__name__)


def is_foreign_callable(activation) -> bool:
    """A callable that is not a numnet activation (nor a name)."""
    from .. import activation_functions

    if isinstance(activation, str) or not callable(activation):
        return False
    try:
        activation_functions.canonical_name(activation)
    except TypeError:
        return True
    return False
