"""Models: a graph of layer calls (``Model``, the functional API) and a stack of layers
(``Sequential``). A model is a layer: it can be called inside another model."""

from .config import clone_model, model_from_json
from .model import Model
from .sequential import Sequential


def load_model(path, custom_objects=None, compile=True):
    """Rebuild a model saved with ``model.save(path)`` (see ``numnet.saving.load_model``)."""
    from ..saving import load_model as load

    return load(path, custom_objects=custom_objects, compile=compile)


def save_model(model, path) -> None:
    """``model.save(path)``."""
    model.save(path)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
