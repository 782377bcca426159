"""Keras's ``keras.backend`` entry points that mean something for numnet.

``clear_session()`` forgets the layer and model names handed out so far, so that the next
``Dense`` is called ``"dense"`` again (as after a fresh start); ``backend()`` names the array
library numnet computes with.
"""

from __future__ import annotations

import gc


def clear_session(free_memory: bool = True) -> None:
    """Reset numnet's global state: the counters behind default layer names (``dense``,
    ``dense_1``, ...; models and ``Input`` layers too). Layers and models that exist keep
    their names. With ``free_memory`` Python's garbage collector runs once, so models no
    longer referenced release their arrays now. The random generator is left as it is:
    ``numnet.set_seed`` controls it."""
    from .layers.layer import _name_counts

    _name_counts.clear()
    if free_memory:
        gc.collect()


def backend() -> str:
    """The array library numnet computes with: ``"numpy"``."""
    return "numpy"


__all__ = ["backend", "clear_session"]
