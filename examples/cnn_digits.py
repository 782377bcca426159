"""Train a small convolutional network on the bundled 8x8 digits.

    python examples/cnn_digits.py [--epochs N] [--seed S]

The 1,797 images (8 x 8 grey levels in [0, 16]) are scaled to [0, 1], reshaped
channels-last to (n, 8, 8, 1) and split 80 / 20, stratified by class. The network:

    Conv2D(16, 3, same, relu) -> BatchNorm -> MaxPool 2x2      (8x8x1 -> 4x4x16)
    Conv2D(32, 3, same, relu) -> MaxPool 2x2                    (-> 2x2x32)
    Flatten -> Dropout(0.3) -> Dense(64, relu) -> Dense(10, softmax)

reaches about 98-99% accuracy on the held-out 20% in a few seconds on one CPU core.
"""

from __future__ import annotations

import argparse

import numnet
from numnet import (
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPool2D,
    Sequential,
)
from numnet.datasets import load_digits, train_test_split


def build_model(seed: int = 0) -> Sequential:
    model = Sequential(
        [
            Input((8, 8, 1)),
            Conv2D(16, 3, padding="same", activation="relu"),
            BatchNormalization(),
            MaxPool2D(2),
            Conv2D(32, 3, padding="same", activation="relu"),
            MaxPool2D(2),
            Flatten(),
            Dropout(0.3),
            Dense(64, activation="relu"),
            Dense(10, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(loss="sparse_categorical_cross_entropy", optimizer="adam", metrics=["accuracy"])
    return model


def train(epochs: int = 30, seed: int = 0, verbose: int = 0):
    """Train on 80% of the digits; return ``(model, held-out metrics dict)``."""
    numnet.set_seed(seed)  # weights, dropout masks and shuffling all follow this seed
    x, y = load_digits()
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8, 1)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=seed, stratify=y)
    model = build_model(seed)
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=verbose)
    return model, model.evaluate(x_test, y_test, return_dict=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, metrics = train(args.epochs, args.seed, verbose=1)
    model.summary()
    print(f"held-out accuracy: {metrics['accuracy']:.4f}  loss: {metrics['loss']:.4f}")


if __name__ == "__main__":
    main()
