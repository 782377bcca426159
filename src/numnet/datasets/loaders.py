"""Loaders for the small data sets shipped inside numnet (see ``data/README.md``).

Each file in ``data/`` is a gzip-compressed CSV: one header line of column names, then
one row per sample; every column but the last is a feature, the last (``target``) is
the integer class label. They are read with numpy alone.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np


def _load(name: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Read ``data/<name>.csv.gz`` into ``(x float64 (n, n_features), y int64 (n,))``."""
    with resources.files(__package__).joinpath("data", f"{name}.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt", encoding="ascii") as text:
            header = text.readline().strip().split(",")
            table = np.loadtxt(text, delimiter=",", dtype=np.float64, ndmin=2)
    if len(header) != n_features + 1 or header[-1] != "target" or table.shape[1] != n_features + 1:
        raise RuntimeError(f"The bundled data file {name}.csv.gz is damaged: reinstall numnet.")
    x = np.ascontiguousarray(table[:, :-1])
    y = table[:, -1].astype(np.int64)
    return x, y


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris data: 150 flowers, 50 of each of three species.

    Returns ``(x, y)``: ``x`` float64 of shape ``(150, 4)`` holding sepal length, sepal
    width, petal length and petal width in cm; ``y`` int64 of shape ``(150,)`` with
    0 = setosa, 1 = versicolor, 2 = virginica (rows are sorted by class).
    """
    return _load("iris", 4)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Optical recognition of handwritten digits (Alpaydin & Kaynak): 1,797 images.

    Returns ``(x, y)``: ``x`` float64 of shape ``(1797, 64)``, each row an 8x8 image in
    row-major order with integer pixel values 0..16 (reshape to ``(-1, 8, 8)`` or
    ``(-1, 8, 8, 1)`` for images; divide by 16 to scale to [0, 1]); ``y`` int64 of shape
    ``(1797,)``, the digit 0..9 (about 180 of each).
    """
    return _load("digits", 64)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Breast Cancer Wisconsin (Diagnostic): 569 tumours, a binary classification task.

    Returns ``(x, y)``: ``x`` float64 of shape ``(569, 30)``, the mean, standard error and
    worst value of ten measurements of cell nuclei (radius, texture, perimeter, area,
    smoothness, compactness, concavity, concave points, symmetry, fractal dimension),
    in that order (columns 0-9 means, 10-19 standard errors, 20-29 worst); ``y`` int64
    of shape ``(569,)`` with 0 = malignant (212), 1 = benign (357), as in scikit-learn.
    Features span very different scales: standardise them before training.
    """
    return _load("breast_cancer", 30)
