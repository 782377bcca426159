"""scikit-learn estimators around numnet models: ``SKLearnClassifier``, ``SKLearnRegressor``
and ``SKLearnTransformer`` (Keras 3's names and constructor).

scikit-learn is an optional extra (``pip install numnet[sklearn]``): ``import numnet`` never
imports it; the first use of one of these names does, and says what to install when it is
missing.
"""

from __future__ import annotations

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'numnet.wrappers' has no attribute {name!r}")
    try:
        from . import _sklearn
    except ImportError as exc:
        if getattr(exc, "name", None) and exc.name.split(".")[0] == "sklearn":
            raise ImportError(
                f"numnet.wrappers.{name} needs scikit-learn, which is not installed: "
                "pip install 'numnet[sklearn]' (or pip install scikit-learn)."
            ) from exc
        raise
    return getattr(_sklearn, name)


def __dir__():
    return sorted(__all__)
