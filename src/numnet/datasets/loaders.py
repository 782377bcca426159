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


def load_co2(frequency: str = "monthly") -> tuple[np.ndarray, np.ndarray]:
    """Atmospheric CO2 at Mauna Loa Observatory, Hawaii (Keeling & Whorf; weekly means of
    continuous measurements, March 1958 - December 2001), in ppm by volume.

    ``frequency="weekly"``: the file as it is, ``(dates, co2)`` with ``dates`` int64 of shape
    ``(2284,)`` as ``YYYYMMDD`` (one Saturday each week) and ``co2`` float64 ``(2284,)``, NaN
    for the 59 weeks without a measurement.

    ``frequency="monthly"`` (default): ``dates`` int64 ``(526,)`` as ``YYYYMM`` (1958-03 to
    2001-12) and ``co2`` float64 ``(526,)``, the mean of each month's measured weeks; the five
    months with none (1958-06, 1958-10, 1964-02 to 1964-04) are interpolated linearly
    between their neighbours. A rising trend (about 1.4 ppm a year) with a yearly cycle of
    about 6 ppm peak to peak: a classic forecasting exercise (``examples/co2_forecast.py``).
    """
    if frequency not in ("monthly", "weekly"):
        raise ValueError(f"load_co2 frequency must be 'monthly' or 'weekly', got {frequency!r}.")
    with resources.files(__package__).joinpath("data", "co2_weekly.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt", encoding="ascii") as text:
            header = text.readline().strip()
            table = np.genfromtxt(text, delimiter=",", dtype=np.float64, ndmin=2)  # "" -> NaN
    if header != "date,co2" or table.shape != (2284, 2):
        raise RuntimeError("The bundled data file co2_weekly.csv.gz is damaged: reinstall numnet.")
    dates, co2 = table[:, 0].astype(np.int64), table[:, 1]
    if frequency == "weekly":
        return dates, np.ascontiguousarray(co2)
    months, position = np.unique(dates // 100, return_inverse=True)
    measured = ~np.isnan(co2)
    counts = np.bincount(position[measured], minlength=len(months))
    sums = np.bincount(position[measured], weights=co2[measured], minlength=len(months))
    monthly = np.full(len(months), np.nan)
    np.divide(sums, counts, out=monthly, where=counts > 0)
    known = counts > 0
    index = np.arange(len(months))
    monthly[~known] = np.interp(index[~known], index[known], monthly[known])
    return months, monthly
