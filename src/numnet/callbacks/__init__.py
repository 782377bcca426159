"""Callbacks: code that runs at fixed points of ``Model.fit``.

* ``base.py``: ``Callback``, ``CallbackList``, ``History``, ``EarlyStopping``, ``TerminateOnNaN``;
* ``extra.py``: ``ModelCheckpoint``, ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``;
* ``lambdas.py``: ``LambdaCallback``; ``backup.py``: ``BackupAndRestore``;
* ``tensorboard.py``: ``TensorBoard`` (needs the optional extra ``numnet[tensorboard]``).
"""

from .backup import BackupAndRestore
from .base import Callback, CallbackList, EarlyStopping, History, TerminateOnNaN, monitored_value
from .extra import CSVLogger, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau
from .lambdas import LambdaCallback
from .tensorboard import TensorBoard

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard",
           "TerminateOnNaN", "monitored_value"]
