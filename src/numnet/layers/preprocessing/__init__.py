"""Preprocessing layers (Keras 3 names): raw strings, numbers, categories and images to
model inputs. Each works on its own (``layer(data)`` on arrays or lists) and inside a model;
its state (vocabulary, statistics, bins) saves with the model. See docs/preprocessing.md."""

from .augment import RandomBrightness, RandomContrast, RandomRotation, RandomTranslation, RandomZoom
from .discretization import Discretization
from .hashing import Hashing
from .image import CenterCrop, RandomCrop, RandomFlip, Resizing
from .lookup import IntegerLookup, StringLookup
from .numerical import CategoryEncoding, Normalization, Rescaling
from .text_vectorization import TextVectorization, register_text_function

__all__ = [
    "CategoryEncoding", "CenterCrop", "Discretization", "Hashing", "IntegerLookup", "Normalization",
    "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation",
    "RandomZoom", "Rescaling", "Resizing", "StringLookup", "TextVectorization", "register_text_function",
]
