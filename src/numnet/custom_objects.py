"""Names for the user's own losses, metrics and functions, so a saved model can refer to them.

A file holds data, never code: a custom loss function, a ``numnet.losses.Loss`` subclass or a
``numnet.metrics.Metric`` subclass is saved as its *name* (and, for a class, its
``get_config()``). ``load_model`` finds the object again by that name, first in the
``custom_objects={"name": object}`` it was given, then among the objects registered with
``@register_serializable`` (Keras's ``register_keras_serializable``). An object that is in
neither is a clear error that says how to pass it, or to load with ``compile=False``.

Layers have their own registry (``numnet.register_layer``), because a layer's class also
decides how its weights are read.
"""

from __future__ import annotations

_REGISTERED: dict[str, object] = {}


def register_serializable(obj=None, *, name: str | None = None):
    """Register a function or class under ``name`` (default: its ``__name__``), so that a model
    compiled with it can be saved and loaded without ``custom_objects``.

    Use as ``@register_serializable``, ``@register_serializable(name="my_loss")``.
    """

    def decorate(target):
        if not callable(target):
            raise TypeError(f"register_serializable expects a function or a class, got {target!r:.80}.")
        key = name if name is not None else getattr(target, "__name__", None)
        if not isinstance(key, str) or not key or key == "<lambda>":
            raise ValueError("register_serializable: give a lambda a name: register_serializable(fn, name='...').")
        existing = _REGISTERED.get(key)
        if existing is not None and existing is not target:
            raise ValueError(f"register_serializable: the name {key!r} is already taken by {existing!r:.80}.")
        _REGISTERED[key] = target
        return target

    if isinstance(obj, str):  # @register_serializable("my_loss")
        name = obj
        return decorate
    return decorate if obj is None else decorate(obj)


def name_of(target, what: str) -> str:
    """The name a file stores for ``target`` (a function or a class): its registered name,
    else its ``__name__``. Lambdas and nested functions are refused: no name finds them again."""
    for key, registered in _REGISTERED.items():
        if registered is target:
            return key
    key = getattr(target, "__name__", None)
    qualname = getattr(target, "__qualname__", key) or ""
    if not key or key == "<lambda>" or "<locals>" in qualname:
        raise ValueError(
            f"Cannot save {what}: {target!r:.80} has no name a file can refer to (a lambda or a function defined "
            "inside another). Define it at module level, or register it with "
            "@numnet.saving.register_serializable(name=...)."
        )
    return key


def lookup(key: str, custom_objects, what: str):
    """The object saved as ``key``: ``custom_objects[key]``, else the registered one, else ``None``."""
    if custom_objects is not None and key in custom_objects:
        return custom_objects[key]
    return _REGISTERED.get(key)


def check_custom_objects(custom_objects) -> dict | None:
    """``custom_objects`` as given to ``load_model``: None or a dict of names to callables."""
    if custom_objects is None:
        return None
    if not isinstance(custom_objects, dict) or not all(isinstance(k, str) for k in custom_objects):
        raise TypeError(f"custom_objects must be a dict of names to functions or classes, got {custom_objects!r:.80}.")
    for key, value in custom_objects.items():
        if not callable(value):
            raise TypeError(f"custom_objects[{key!r}] must be a function or a class, got {value!r:.80}.")
    return dict(custom_objects)
