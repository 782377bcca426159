"""numnet layers. Each layer computes ``forward``, ``backward`` and ``update`` on NumPy arrays."""

from .activation import Activation
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .normalization_extra import GroupNormalization, RMSNormalization, UnitNormalization
from .attention import Attention, MultiHeadAttention
from .conv1d import Conv1D
from .embedding import Embedding, Masking
from .pooling1d import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .recurrent import GRU, LSTM, SimpleRNN
from .reshaping1d import Cropping1D, RepeatVector, UpSampling1D, ZeroPadding1D
from .wrappers import Bidirectional, TimeDistributed
from .core import Dense, Input, InputLayer
from .conv import Conv2D
from .conv_transpose import Conv2DTranspose
from .conv_variants import DepthwiseConv2D, SeparableConv2D
from .layer import Layer
from .merge import Add, Concatenate
from .merge_ops import Average, Dot, Maximum, Minimum, Multiply, Subtract
from .op_layer import OpLayer
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
from . import preprocessing
from .preprocessing import (  # raw data to model inputs (issue 17); the names of Keras 3
    CategoryEncoding, CenterCrop, Discretization, Hashing, IntegerLookup, Normalization, RandomBrightness,
    RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
    StringLookup, TextVectorization,
)
from .reshaping2d import Cropping2D, UpSampling2D, ZeroPadding2D

__all__ = [
    "ELU",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "LeakyReLU",
    "PReLU",
    "ReLU",
    "RMSNormalization",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "UnitNormalization",
    "Activation",
    "Add",
    "Attention",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Bidirectional",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Cropping1D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GRU",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LSTM",
    "Masking",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MultiHeadAttention",
    "OpLayer",
    "RepeatVector",
    "Reshape",
    "SimpleRNN",
    "TimeDistributed",
    "UpSampling1D",
    "ZeroPadding1D",
    # preprocessing
    "CategoryEncoding",
    "CenterCrop",
    "Discretization",
    "Hashing",
    "IntegerLookup",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
    "StringLookup",
    "TextVectorization",
    # Keras 3 merge, convolution and 2-D reshaping layers (issue 14)
    "Average",
    "Conv2DTranspose",
    "Cropping2D",
    "DepthwiseConv2D",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "SeparableConv2D",
    "Subtract",
    "UpSampling2D",
    "ZeroPadding2D",
]
