"""Data helpers: ``pad_sequences``, ``PyDataset``, ``image_dataset_from_directory``,
``text_dataset_from_directory``, ``timeseries_dataset_from_array``, ``plot_model`` /
``model_to_dot`` (pictures of a model), ``to_categorical``, ``normalize``, ``split_dataset``,
``set_random_seed``."""

from ..random import set_seed as set_random_seed
from .dataset import PyDataset
from ..datasets.utils import to_categorical
from .image_dataset import ImageDataset, image_dataset_from_directory
from .model_plot import model_to_dot, model_to_graph, plot_model
from .numerical import normalize
from .sequence import pad_sequences
from .split import split_dataset
from .text_dataset import TextDataset, text_dataset_from_directory
from .timeseries import TimeseriesDataset, timeseries_dataset_from_array

__all__ = ["ImageDataset", "PyDataset", "TextDataset", "TimeseriesDataset", "image_dataset_from_directory",
           "model_to_dot", "model_to_graph", "normalize", "pad_sequences", "plot_model", "set_random_seed",
           "split_dataset", "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical"]
