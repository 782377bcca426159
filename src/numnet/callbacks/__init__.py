"""Callbacks: code that runs at fixed points of ``Model.fit``.

* ``base.py``: ``Callback``, ``CallbackList``, ``History``, ``EarlyStopping``, ``TerminateOnNaN``;
* ``extra.py``: ``ModelCheckpoint``, ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``.
"""

from .base import Callback, CallbackList, EarlyStopping, History, TerminateOnNaN, monitored_value
from .extra import CSVLogger, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN", "monitored_value"]
