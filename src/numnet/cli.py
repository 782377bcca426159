"""The ``numnet`` console command.

    numnet --version
    numnet demo [--epochs N] [--seed S] [--cnn] [--no-plot]

``demo`` trains a classifier on the bundled handwritten digits (8x8 images, see
``numnet.datasets.load_digits``), reports its accuracy on a held-out quarter of the data
and prints the confusion matrix. ``main(argv)`` returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import time

import numpy as np

from . import __version__

DEFAULT_EPOCHS = {"mlp": 20, "cnn": 30}
LEARNING_RATE = {"mlp": 3e-3, "cnn": 3e-3}
BATCH_SIZE = 32
VALIDATION_SPLIT = 0.1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numnet", description="numnet: a neural-network library in plain NumPy with a Keras-style API."
    )
    parser.add_argument("--version", action="version", version=f"numnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train a classifier on the bundled handwritten digits",
        description="Train a classifier on the 1,797 bundled 8x8 handwritten digits, then report its "
        "accuracy and confusion matrix on a held-out quarter of them.",
    )
    demo.add_argument(
        "--epochs", type=_positive_int, default=None,
        help=f"passes over the training data (default {DEFAULT_EPOCHS['mlp']}, or {DEFAULT_EPOCHS['cnn']} with --cnn)",
    )
    demo.add_argument("--seed", type=_seed, default=0, help="seed for the split and the weights (default 0)")
    demo.add_argument("--cnn", action="store_true", help="train a small convolutional network instead of an MLP")
    demo.add_argument("--no-plot", action="store_true", help="do not save a training-curve PNG")
    return parser


def main(argv=None) -> int:
    """Run the ``numnet`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 1
    return _demo(args)


def _build_model(kind: str, total_steps: int):
    import numnet
    import numnet.schedules
    from numnet import BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, MaxPool2D

    if kind == "cnn":
        layers = [
            Input((8, 8, 1)),
            Conv2D(32, 3, padding="same", activation="relu"),  # (8, 8, 32)
            BatchNormalization(),
            MaxPool2D(2),  # (4, 4, 32)
            Conv2D(64, 3, padding="same", activation="relu"),  # (4, 4, 64)
            MaxPool2D(2),  # (2, 2, 64)
            Flatten(),  # (256,)
            Dropout(0.3),
            Dense(64, activation="relu"),
            Dense(10, activation="softmax"),
        ]
        summary = "a CNN (Conv2D 32@3x3, BatchNorm, MaxPool, Conv2D 64@3x3, MaxPool, Dropout, Dense 64, Dense 10)"
    else:
        layers = [Input((64,)), Dense(64, activation="relu"), Dense(10, activation="softmax")]
        summary = "an MLP (64 -> 64 relu -> 10 softmax)"
    model = numnet.Sequential(layers)
    model.compile(
        loss="sparse_categorical_cross_entropy",
        # The CNN's rate falls along a cosine to 0 over the run: held-out accuracy 0.9925 on
        # average over seeds 0-9 (lowest 0.987), against 0.981 (lowest 0.973) for a 16/32-filter
        # network at a constant rate (0.990 with 16/32 filters and this decay).
        optimizer=numnet.optimizers.Adam(
            learning_rate=numnet.schedules.CosineDecay(LEARNING_RATE[kind], total_steps)
            if kind == "cnn" else LEARNING_RATE[kind]
        ),
        metrics=["accuracy"],
    )
    return model, summary


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``m[i, j]`` of samples of true class ``i`` predicted as ``j``; shape ``(k, k)``."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def format_confusion_matrix(m: np.ndarray) -> str:
    """A plain-text table of ``m``: one row per true class, one column per predicted class."""
    width = max(3, len(str(m.max())))
    k = m.shape[0]
    lines = [
        "Confusion matrix (rows: true digit, columns: predicted digit)",
        "true\\pred " + " ".join(f"{j:>{width}}" for j in range(k)) + " | " + f"{'total':>5}",
    ]
    for i in range(k):
        cells = " ".join(f"{m[i, j]:>{width}}" for j in range(k))
        lines.append(f"{i:>9} " + cells + " | " + f"{m[i].sum():>5}")
    return "\n".join(lines)


def _save_plot(history, path: str) -> str | None:
    """Save a training-curve PNG if matplotlib and ``numnet.plot`` are available."""
    if importlib.util.find_spec("matplotlib") is None or importlib.util.find_spec("numnet.plot") is None:
        return None
    plot = importlib.import_module("numnet.plot")
    draw = getattr(plot, "history", None)
    if not callable(draw):
        return None
    draw(history, path)
    return path


def _demo(args) -> int:
    import numnet
    from numnet import datasets

    kind = "cnn" if args.cnn else "mlp"
    epochs = args.epochs or DEFAULT_EPOCHS[kind]
    numnet.set_seed(args.seed)
    x, y = datasets.load_digits()
    x = (x / 16.0).astype(np.float32)  # pixel counts 0..16 -> [0, 1]
    x_train, x_test, y_train, y_test = datasets.train_test_split(
        x, y, test_size=0.25, seed=args.seed, stratify=y
    )
    fitted = len(x_train) - int(len(x_train) * VALIDATION_SPLIT)
    model, summary = _build_model(kind, total_steps=epochs * -(-fitted // BATCH_SIZE))
    if kind == "cnn":
        x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)

    print(
        f"numnet {__version__}: training {summary} on {len(x_train)} handwritten digits "
        f"(8x8 pixels, 10% of them for validation) for {epochs} epochs, seed {args.seed}."
    )
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, validation_split=VALIDATION_SPLIT,
                        verbose=1)
    seconds = time.perf_counter() - start

    scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    predicted = np.asarray(model.predict(x_test, verbose=0)).argmax(axis=-1)
    m = confusion_matrix(y_test, predicted, 10)
    correct = int(np.trace(m))
    print(f"Trained in {seconds:.1f} s.")
    print(
        f"Held-out test accuracy: {scores['accuracy']:.4f} ({correct} of {len(y_test)} digits correct), "
        f"loss {scores['loss']:.4f}"
    )
    print(format_confusion_matrix(m))

    if not args.no_plot:
        path = _save_plot(history, os.path.abspath(f"numnet-demo-{kind}.png"))
        if path:
            print(f"Training curves saved to {path}")
    return 0
