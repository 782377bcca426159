"""Pictures of training: loss and metric curves, and a confusion matrix.

Needs the optional ``matplotlib`` package (``pip install numnet[plot]``). Each function
returns the ``matplotlib.figure.Figure``; with ``path`` it is also saved there (PNG, SVG,
PDF ... by the extension), drawn with the non-interactive Agg backend so that it works
on machines without a display. Without ``path`` the figure is made through
``matplotlib.pyplot`` so that notebooks and ``plt.show()`` display it.
"""

from __future__ import annotations

import os

import numpy as np


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "numnet.plot needs the optional 'matplotlib' package: pip install numnet[plot] (or pip install matplotlib)."
        ) from exc
    return Figure


def _new_figure(path, figsize):
    Figure = _matplotlib()
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        figure = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(figure)
        return figure
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _save(figure, path):
    if path is not None:
        figure.savefig(os.fspath(path), dpi=120)
    return figure


_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "acc": "Accuracy", "mae": "Mean absolute error",
           "mse": "Mean squared error", "rmse": "Root mean squared error", "r2": "R²", "f1": "F1 score"}


def history(history, path=None, title: str | None = None):
    """Draw the loss and every metric of a training run, one panel each, training in solid
    and validation (``val_*``) in dashed lines, by epoch.

    ``history``: the ``History`` that ``fit`` returns, or its ``.history`` dict
    (``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``).
    """
    records = getattr(history, "history", history)
    if not isinstance(records, dict) or not records:
        raise ValueError(
            f"history expects the History returned by model.fit (or its .history dict) with at least one "
            f"figure, got {history!r:.100}."
        )
    names = [k for k in records if not k.startswith("val_")]
    names += [k[4:] for k in records if k.startswith("val_") and k[4:] not in records]
    names.sort(key=lambda k: (k != "loss", list(records).index(k) if k in records else len(records)))
    columns = min(len(names), 3)
    rows = -(-len(names) // columns)
    figure = _new_figure(path, (4.2 * columns, 3.2 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        for key, label, style in ((name, "training", "-"), ("val_" + name, "validation", "--")):
            values = records.get(key)
            if values is None:
                continue
            values = np.asarray(values, dtype=float)
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, marker="o" if len(values) < 30 else None, markersize=3, label=label)
        ax.set_title(_TITLES.get(name, name.replace("_", " ").capitalize()))
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def _labels(y, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
        if y.dtype.kind == "f" and np.any((y > 0) & (y < 1)):
            return (y > 0.5).astype(np.int64)  # a sigmoid output
    if y.ndim != 1:
        raise ValueError(f"{what} must be class labels (n,) or scores (n, classes), got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"{what} holds non-integer values; pass class labels or (n, classes) scores.")
    return y.astype(np.int64)


def confusion_matrix(y_true, y_pred, class_names=None, path=None, normalize: bool = False, title: str | None = None):
    """Draw the confusion matrix: row = true class, column = predicted class, each cell
    annotated with its count (or, with ``normalize=True``, the fraction of its row).

    ``y_true`` / ``y_pred``: class labels ``(n,)``, one-hot targets or model outputs
    ``(n, classes)`` (argmax taken), or sigmoid outputs ``(n, 1)`` (threshold 0.5).
    """
    Figure = _matplotlib()  # noqa: F841  (fail early with the install hint)
    truth, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if truth.shape != predicted.shape:
        raise ValueError(f"y_true and y_pred hold {len(truth)} and {len(predicted)} samples.")
    if truth.size and (truth.min() < 0 or predicted.min() < 0):
        raise ValueError("Class labels must be non-negative integers.")
    k = int(max(truth.max(initial=-1), predicted.max(initial=-1)) + 1)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) < k:
            raise ValueError(f"class_names has {len(class_names)} names but the labels reach class {k - 1}.")
        k = len(class_names)
    else:
        class_names = [str(i) for i in range(k)]
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (truth, predicted), 1)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts

    size = max(4.0, 0.55 * k + 2.0)
    figure = _new_figure(path, (size + 1.0, size))
    ax = figure.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), class_names, rotation=45 if max(map(len, class_names)) > 3 else 0, ha="right"
                  if max(map(len, class_names)) > 3 else "center")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.1%})")
    threshold = shown.max() / 2 if shown.size else 0
    if k <= 30:
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else str(counts[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=8 if k > 12 else 10,
                        color="white" if shown[i, j] > threshold else "black")
    return _save(figure, path)
