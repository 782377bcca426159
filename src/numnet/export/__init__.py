"""Exporting models to other runtimes: ``onnx.py`` (``model.export_onnx`` / ``model.export``)."""
