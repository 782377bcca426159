"""numnet layers. Each layer computes ``forward``, ``backward`` and ``update`` on NumPy arrays."""

from .activation import Activation
from .core import Dense, Input, InputLayer
from .conv import Conv2D
from .layer import Layer
from .merge import Add, Concatenate
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from .regularization import Dropout
from .reshaping import Flatten, Reshape

__all__ = [
    "Activation",
    "Add",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "MaxPool2D",
    "MaxPooling2D",
    "Reshape",
]
