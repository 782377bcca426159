"""Images from a folder: the bundled 8x8 digits written as PNG files, one sub-folder per
class (digits/0/0000.png, digits/1/0001.png, ...), read back with
numnet.utils.image_dataset_from_directory (a training and a validation subset, split from
one seed) and a small model trained on the batches.

    pip install "numnet[images]"        # Pillow decodes the images
    python examples/digits_from_folder.py [folder]    # a temporary folder by default
"""

import os
import sys
import tempfile

import numpy as np
from PIL import Image

import numnet
from numnet import Dense, Flatten, Input, Model
from numnet.datasets import load_digits


def write_digits(folder) -> int:
    """Every bundled digit as an 8-bit greyscale PNG under ``folder/<label>/``; returns how many."""
    x, y = load_digits()                             # (1797, 64) values 0..16, labels 0..9
    for label in range(10):
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
    for i, (pixels, label) in enumerate(zip(x, y)):
        image = np.round(pixels.reshape(8, 8) * (255 / 16)).astype(np.uint8)
        Image.fromarray(image).save(os.path.join(folder, str(label), f"{i:04d}.png"))
    return len(x)


def main(folder, epochs=15, verbose=1) -> float:
    """Write the folder tree, train on it and return the accuracy on the validation subset."""
    numnet.set_seed(0)
    write_digits(folder)
    train, val = numnet.utils.image_dataset_from_directory(
        folder, color_mode="grayscale", image_size=(8, 8), batch_size=32,
        validation_split=0.2, subset="both", seed=0, verbose=bool(verbose))
    assert train.class_names == [str(d) for d in range(10)]   # sub-folders in alphanumeric order

    x = Input((8, 8, 1))
    hidden = Dense(64, activation="relu")(Flatten()(x / 255.0))   # pixels arrive as 0..255
    model = Model(x, Dense(10, activation="softmax")(hidden))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    # fit reads one batch at a time, decoded from the files, and reshuffles between epochs
    model.fit(train, epochs=epochs, validation_data=val, verbose=2 if verbose else 0)
    return float(model.evaluate(val, verbose=0)[1])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(f"held-out accuracy: {main(sys.argv[1]):.3f}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"held-out accuracy: {main(os.path.join(tmp, 'digits')):.3f}")
