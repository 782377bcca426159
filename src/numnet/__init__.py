"""numnet: a neural-network library in plain NumPy with a Keras-style API."""

__version__ = "0.1.0"

from . import activation_functions, activations, initializers, loss_functions, losses, optimizers, schedules
from . import constraints, regularizers
from . import datasets, utils
from .layers import (
    Attention,
    AveragePooling1D,
    AvgPool1D,
    Bidirectional,
    Conv1D,
    Cropping1D,
    Embedding,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    GRU,
    LSTM,
    Masking,
    MaxPool1D,
    MaxPooling1D,
    MultiHeadAttention,
    RepeatVector,
    SimpleRNN,
    TimeDistributed,
    UpSampling1D,
    ZeroPadding1D,
    Activation,
    Add,
    AveragePooling2D,
    AvgPool2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Input,
    InputLayer,
    Layer,
    LayerNormalization,
    MaxPool2D,
    MaxPooling2D,
    Reshape,
)
from .layers.preprocessing import (
    CategoryEncoding, CenterCrop, Discretization, Hashing, IntegerLookup, Normalization, RandomBrightness,
    RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
    StringLookup, TextVectorization,
)
from .layers import (  # Keras 3 merge, convolution and 2-D reshaping layers
    Average,
    Conv2DTranspose,
    Cropping2D,
    DepthwiseConv2D,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    SeparableConv2D,
    Subtract,
    UpSampling2D,
    ZeroPadding2D,
)
from .random import set_seed
from . import callbacks, metrics, schedules
from . import export, gradient_check, graph, models, plot, training, wrappers
from . import distribution
from . import backend, cli, saving
from .models import Model, Sequential
from .saving import load_model, register_layer
from . import ops
from .ops import GradientTape
