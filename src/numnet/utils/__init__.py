"""Data helpers: ``pad_sequences``, ``PyDataset``."""

from .dataset import PyDataset
from .sequence import pad_sequences

__all__ = ["PyDataset", "pad_sequences"]
