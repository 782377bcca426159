"""Small data sets bundled with numnet, and helpers to split data and encode labels.

    >>> from numnet import datasets
    >>> x, y = datasets.load_digits()          # (1797, 64) float64, (1797,) int64
    >>> x_train, x_test, y_train, y_test = datasets.train_test_split(
    ...     x / 16, y, test_size=0.25, seed=0, stratify=y)
    >>> datasets.to_categorical(y_train).shape
    (1347, 10)
"""

from .loaders import load_breast_cancer, load_co2, load_digits, load_iris
from .utils import to_categorical, train_test_split

__all__ = ["load_breast_cancer", "load_co2", "load_digits", "load_iris", "to_categorical", "train_test_split"]
