"""``image_dataset_from_directory``: a folder of images (one sub-folder per class) as batches
of ``float32`` arrays ``(batch, height, width, channels)``, values 0-255 as in Keras.

Images are decoded with Pillow, an optional extra: ``pip install numnet[images]``. Files
ending in ``.bmp``, ``.gif``, ``.jpeg``, ``.jpg`` or ``.png`` are read (a GIF's first frame).

Unreadable files: every file is opened once when the data set is made; a file Pillow cannot
identify as an image (empty, truncated header, another format under an image name) is left
out, with one ``UserWarning`` naming each such file (``dataset.skipped_files`` lists them).
A file that fails later, while its batch is decoded (pixel data cut short, the file deleted
since), raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .file_dataset import FileDataset, check_arguments, index_directory, shuffled_split

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
# Keras's interpolation names and Pillow's resampling filter for each. Pillow filters with
# the support widened when it shrinks an image (antialiased), like TensorFlow's resize with
# antialias=True: values are close to, not bit-identical with, Keras's.
_INTERPOLATIONS = {"bilinear": "BILINEAR", "nearest": "NEAREST", "bicubic": "BICUBIC", "area": "BOX",
                   "lanczos3": "LANCZOS", "hamming": "HAMMING"}


def _pillow():
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError("image_dataset_from_directory needs the optional 'Pillow' package: "
                          "pip install numnet[images] (or pip install Pillow).") from exc
    return Image


def crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """``(left, top, right, bottom)``: the largest centred box of the target's aspect ratio
    (``crop_to_aspect_ratio=True``, Keras's ``smart_resize``)."""
    crop_height = min(height, int(width * target_height / target_width))
    crop_width = min(width, int(height * target_width / target_height))
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return left, top, left + crop_width, top + crop_height


def padded_size(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """``(height, width)`` of the smallest canvas of the target's aspect ratio holding the image
    (``pad_to_aspect_ratio=True``): the image sits in its centre, the rest is 0."""
    return (max(height, int(width * target_height / target_width)),
            max(width, int(height * target_width / target_height)))


def load_image(path, image_size=(256, 256), color_mode="rgb", interpolation="bilinear",
               crop_to_aspect_ratio=False, pad_to_aspect_ratio=False) -> np.ndarray:
    """One image file as ``float32`` ``(height, width, channels)``, resized to ``image_size``
    (``(height, width)``); ``crop_to_aspect_ratio`` first crops the centre to the target's
    aspect ratio, ``pad_to_aspect_ratio`` pads the image with zeros to it, so that nothing is
    stretched. Raises ValueError naming ``path`` if it cannot be decoded."""
    Image = _pillow()
    mode = _COLOR_MODES[color_mode][0]
    height, width = image_size
    try:
        with Image.open(path) as image:
            image = image.convert(mode)  # decodes the pixels (the first frame of an animation)
            resample = getattr(Image.Resampling, _INTERPOLATIONS[interpolation])
            box = crop_box(image.height, image.width, height, width) if crop_to_aspect_ratio else None
            if pad_to_aspect_ratio:
                canvas_height, canvas_width = padded_size(image.height, image.width, height, width)
                canvas = Image.new(mode, (canvas_width, canvas_height))  # zeros
                canvas.paste(image, ((canvas_width - image.width) // 2, (canvas_height - image.height) // 2))
                image = canvas
            if (image.width, image.height) != (width, height) or box not in (None, (0, 0, width, height)):
                image = image.resize((width, height), resample=resample, box=box)
            array = np.asarray(image, dtype=np.float32)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"Cannot decode the image {os.fspath(path)!r}: {exc}") from exc
    return array.reshape(height, width, -1)


def _readable(paths, labels):
    """The files Pillow can identify (their header read, not their pixels), their labels and
    the paths left out."""
    Image = _pillow()
    keep, skipped = [], []
    for i, path in enumerate(paths):
        try:
            with Image.open(path):
                keep.append(i)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            skipped.append(path)
    return [paths[i] for i in keep], None if labels is None else labels[keep], skipped


class ImageDataset(FileDataset):
    """Batches of images read from files: ``(images, labels)``, images ``float32``
    ``(batch, height, width, channels)``. See ``image_dataset_from_directory``."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed, image_size, color_mode,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio=False, data_format="channels_last",
                 skipped_files=()) -> None:
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.image_size = tuple(image_size)
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.data_format = data_format
        self.skipped_files = list(skipped_files)

    def load(self, path: str) -> np.ndarray:
        return load_image(path, self.image_size, self.color_mode, self.interpolation, self.crop_to_aspect_ratio,
                          self.pad_to_aspect_ratio)

    def stack(self, items: list) -> np.ndarray:
        if not items:
            batch = np.zeros((0, *self.image_size, _COLOR_MODES[self.color_mode][1]), dtype=np.float32)
        else:
            batch = np.stack(items)
        # channels_first: (batch, channels, height, width), contiguous
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2)) if self.data_format == "channels_first" else batch


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 verbose=True):
    """Images in ``directory`` as an ``ImageDataset`` (a ``numnet.utils.PyDataset``) of
    ``(images, labels)`` batches, with Keras's arguments::

        photos/cat/1.png, photos/cat/2.jpg, photos/dog/a.png, ...
        train, val = image_dataset_from_directory("photos", validation_split=0.2, subset="both", seed=1,
                                                  image_size=(64, 64), batch_size=32)
        train.class_names                     # ["cat", "dog"]

    ``labels`` / ``label_mode`` / ``class_names`` / ``validation_split`` / ``subset`` /
    ``seed``: see ``numnet.utils.file_dataset``. ``color_mode``: ``"rgb"`` (3 channels),
    ``"grayscale"`` (1) or ``"rgba"`` (4). ``image_size``: ``(height, width)`` every image is
    resized to, with ``interpolation`` (``"bilinear"``, ``"nearest"``, ``"bicubic"``,
    ``"area"``, ``"lanczos3"``, ``"hamming"``); ``crop_to_aspect_ratio`` crops the centre
    first, ``pad_to_aspect_ratio`` pads with zeros instead. ``data_format``:
    ``"channels_last"`` (the default) or ``"channels_first"`` (``(batch, channels, height,
    width)``). ``batch_size=None`` gives single images. ``subset="both"`` returns
    ``(training, validation)``. ``verbose`` prints how many files were found.
    """
    what = "image_dataset_from_directory"
    check_arguments(what, labels, label_mode, class_names, batch_size, validation_split, subset, shuffle, seed)
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"{what}: color_mode must be one of {list(_COLOR_MODES)}, got {color_mode!r:.40}.")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{what}: interpolation must be one of {list(_INTERPOLATIONS)}, got {interpolation!r:.40}.")
    if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in image_size)):
        raise ValueError(f"{what}: image_size must be (height, width), two positive integers, got {image_size!r:.40}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{what}: give only one of crop_to_aspect_ratio and pad_to_aspect_ratio.")
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{what}: data_format must be 'channels_last' or 'channels_first', got {data_format!r:.40}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    paths, found, names = index_directory(what, directory, labels, IMAGE_FORMATS, class_names, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{what}: label_mode='binary' needs exactly 2 classes, found {len(names)}: {names!r:.120}.")
    paths, found, skipped = _readable(paths, found)
    if skipped:
        shown = ", ".join(repr(p) for p in skipped[:20]) + (f" and {len(skipped) - 20} more" if len(skipped) > 20
                                                               else "")
        warnings.warn(f"{what}: left out {len(skipped)} file(s) that Pillow cannot read as images: {shown}.",
                      UserWarning, stacklevel=2)
    if not paths:
        raise ValueError(f"{what}: no images found in {os.fspath(directory)!r} (files ending in {IMAGE_FORMATS}).")
    if verbose:
        print(f"Found {len(paths)} files" + ("." if names is None else f" belonging to {len(names)} classes."))
    datasets = [ImageDataset(part_paths, part_labels, names, label_mode, batch_size, shuffle, seed, image_size,
                             color_mode, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format,
                             skipped)
                for part_paths, part_labels in shuffled_split(paths, found, shuffle, seed, validation_split, subset)]
    if verbose and validation_split is not None:
        for dataset, name in zip(datasets, ["training", "validation"] if subset == "both" else [subset]):
            print(f"Using {len(dataset.file_paths)} files for {name}.")
    return tuple(datasets) if subset == "both" else datasets[0]
