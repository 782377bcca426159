"""numnet layers. Each layer computes ``forward``, ``backward`` and ``update`` on NumPy arrays."""

from .activation import Activation
from .core import Dense, Input
from .layer import Layer
from .merge import Add, Concatenate

__all__ = ["Activation", "Add", "Concatenate", "Dense", "Input", "Layer"]
