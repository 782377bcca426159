"""Activation functions as plain callables, under Keras 3's names: ``numnet.activations``.

>>> from numnet import activations
>>> activations.gelu(np.array([1.0]))               # exact (erf) gelu
>>> activations.relu(x, max_value=6.0)              # Keras's relu arguments
>>> Dense(8, activation=activations.gelu)           # a callable in place of a name

Each callable maps an array of any shape elementwise (``softmax`` / ``log_softmax`` along
``axis``) and keeps its shape. They are the functions of ``numnet.activation_functions``
themselves, so ``activation_functions.canonical_name(activations.gelu) == "gelu"`` and a
layer given one finds its derivative there. A callable numnet has no derivative for (your
own function, or ``functools.partial(relu, max_value=6)``) is a ``TypeError`` where a layer
needs the derivative.

Defaults are Keras 3's: ``leaky_relu`` slope 0.2, ``gelu`` exact, ``hard_sigmoid`` =
``relu6(x + 3) / 6``.
"""

from __future__ import annotations

from . import activation_functions as _af
from .activation_functions import (  # noqa: F401  (re-exported)
    elu,
    gelu,
    hard_sigmoid,
    leaky_relu,
    linear,
    log_softmax,
    mish,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)

swish = silu

__all__ = ["elu", "gelu", "hard_sigmoid", "leaky_relu", "linear", "log_softmax", "mish", "relu", "selu",
           "sigmoid", "silu", "softmax", "softplus", "swish", "tanh", "get", "serialize", "deserialize"]


def get(identifier):
    """The callable for a name (``"relu"``) or a numnet activation callable; ``None`` means
    ``linear``, as in Keras."""
    if identifier is None:
        return linear
    return _af.get_function(_af.canonical_name(identifier))[0]


def serialize(activation) -> str:
    """The name a numnet activation callable is saved under (``"gelu"``)."""
    return _af.canonical_name(activation)


def deserialize(name: str):
    """The callable ``serialize`` named."""
    return get(name)
