"""Data helpers: ``pad_sequences``, ``PyDataset``, ``image_dataset_from_directory``,
``text_dataset_from_directory``, ``timeseries_dataset_from_array``, and ``plot_model`` /
``model_to_dot`` (pictures of a model)."""

from .dataset import PyDataset
from .image_dataset import ImageDataset, image_dataset_from_directory
from .model_plot import model_to_dot, model_to_graph, plot_model
from .sequence import pad_sequences
from .text_dataset import TextDataset, text_dataset_from_directory
from .timeseries import TimeseriesDataset, timeseries_dataset_from_array

__all__ = ["ImageDataset", "PyDataset", "TextDataset", "TimeseriesDataset", "image_dataset_from_directory",
           "model_to_dot", "model_to_graph", "pad_sequences", "plot_model", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
