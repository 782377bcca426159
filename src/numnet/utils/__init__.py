"""Data helpers: ``pad_sequences``."""

from .sequence import pad_sequences

__all__ = ["pad_sequences"]
