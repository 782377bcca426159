"""``LambdaCallback``: a callback made of plain functions, one per hook."""

from __future__ import annotations

from .base import Callback

# Every hook a function may be given for, and the arguments it receives (as in Keras).
HOOKS = {
    "on_train_begin": "logs", "on_train_end": "logs",
    "on_epoch_begin": "epoch, logs", "on_epoch_end": "epoch, logs",
    "on_train_batch_begin": "batch, logs", "on_train_batch_end": "batch, logs",
    "on_batch_begin": "batch, logs", "on_batch_end": "batch, logs",
    "on_test_begin": "logs", "on_test_end": "logs",
    "on_test_batch_begin": "batch, logs", "on_test_batch_end": "batch, logs",
    "on_predict_begin": "logs", "on_predict_end": "logs",
    "on_predict_batch_begin": "batch, logs", "on_predict_batch_end": "batch, logs",
}


class LambdaCallback(Callback):
    """Call the given functions at their hooks, e.g.
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))``.

    Arguments are any of Keras's hook names (``on_epoch_begin`` / ``on_epoch_end``
    ``(epoch, logs)``; ``on_train_begin`` / ``on_train_end`` ``(logs)``;
    ``on_train_batch_begin`` / ``on_train_batch_end`` ``(batch, logs)``, and the same for
    ``on_test_*`` and ``on_predict_*``, which ``evaluate`` and ``predict`` call when given
    ``callbacks=``); a hook without a function does nothing. ``logs`` is a dict: see
    ``numnet.callbacks.base``.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hooks {unknown}; the hooks are {sorted(HOOKS)}.")
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for hook, function in given.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback {hook} must be a function of ({HOOKS[hook]}), got {function!r:.60}.")
            # An instance attribute shadows the class's no-op hook; CallbackList sees it
            # (base._overrides), so batch hooks given here are called.
            setattr(self, hook, function)
