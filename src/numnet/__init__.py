"""numnet: a neural-network library in plain NumPy with a Keras-style API."""

__version__ = "0.1.0"

from . import activation_functions, initializers, loss_functions, losses, optimizers
from . import datasets
from .layers import Activation, Add, Concatenate, Dense, Input, Layer
from .random import set_seed
