"""Exporting models to other runtimes: ``onnx.py`` (``model.export_onnx`` / ``model.export``).

``numnet.export.export_onnx(model, path)`` is ``model.export(path, format="onnx")``; the
``onnx`` package is needed only when it runs (``pip install numnet[onnx]``)."""

from . import onnx
from .onnx import export_onnx

__all__ = ["export_onnx", "onnx"]
