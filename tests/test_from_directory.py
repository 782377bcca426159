"""image_dataset_from_directory / text_dataset_from_directory: labels from folders, the split,
batches, decoding and resizing, unreadable files, errors; and the worked example."""

import os
import runpy
import warnings

import numpy as np
import pytest
from PIL import Image

import numnet
from numnet import Dense, Flatten, Input, Model
from numnet.utils import (ImageDataset, PyDataset, TextDataset, image_dataset_from_directory,
                          text_dataset_from_directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _image_tree(root, classes=("dogs", "cats", "birds"), per_class=5, size=(6, 4)):
    """``root/<class>/<i>.png``: class k's image i is constant ``40 * k + i`` (k in sorted order), so
    every image says which class and file it is."""
    for k, name in enumerate(sorted(classes)):
        os.makedirs(root / name, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((size[1], size[0], 3), 40 * k + i, np.uint8)).save(root / name / f"{i}.png")
    return root


def _label_of(image):
    return int(image[0, 0, 0]) // 40


def test_labels_inferred_from_sorted_folders(tmp_path):
    root = _image_tree(tmp_path)
    os.makedirs(root / ".hidden")                              # not a class
    data = image_dataset_from_directory(root, image_size=(4, 6), batch_size=4, seed=0, verbose=False)
    assert isinstance(data, ImageDataset) and isinstance(data, PyDataset)
    assert data.class_names == ["birds", "cats", "dogs"]
    assert len(data) == 4 and len(data.file_paths) == 15
    seen = []
    for images, labels in data:
        assert images.dtype == np.float32 and images.shape[1:] == (4, 6, 3)
        assert labels.dtype == np.int32 and labels.shape == (len(images),)
        assert [_label_of(im) for im in images] == labels.tolist()
        seen += [int(im[0, 0, 0]) for im in images]
    assert [len(batch[0]) for batch in data] == [4, 4, 4, 3]
    assert sorted(seen) == sorted(40 * k + i for k in range(3) for i in range(5))


def test_label_modes(tmp_path):
    root = _image_tree(tmp_path, classes=("no", "yes"), per_class=3)
    common = dict(image_size=(4, 6), batch_size=6, shuffle=False, verbose=False)
    _, labels = image_dataset_from_directory(root, label_mode="categorical", **common)[0]
    np.testing.assert_array_equal(labels, np.repeat(np.eye(2, dtype=np.float32), 3, axis=0))
    _, labels = image_dataset_from_directory(root, label_mode="binary", **common)[0]
    assert labels.dtype == np.float32 and labels.tolist() == [[0.0]] * 3 + [[1.0]] * 3
    images = image_dataset_from_directory(root, label_mode=None, **common)[0]
    assert isinstance(images, np.ndarray) and images.shape == (6, 4, 6, 3)
    assert image_dataset_from_directory(root, labels=None, **common).class_names is None
    # class_names chooses (and orders) the classes
    data = image_dataset_from_directory(root, class_names=["yes"], **common)
    assert data.class_names == ["yes"] and data[0][1].tolist() == [0, 0, 0] and _label_of(data[0][0][0]) == 1


def test_explicit_labels_follow_the_sorted_paths(tmp_path):
    root = _image_tree(tmp_path, classes=("a", "b"), per_class=2)
    data = image_dataset_from_directory(root, labels=[3, 1, 3, 1], shuffle=False, image_size=(4, 6),
                                        verbose=False)
    assert [os.path.relpath(p, root) for p in data.file_paths] == [os.path.join("a", "0.png"), os.path.join(
        "a", "1.png"), os.path.join("b", "0.png"), os.path.join("b", "1.png")]
    assert data[0][1].tolist() == [3, 1, 3, 1] and data.class_names == ["1", "3"]


def test_validation_split_is_the_same_for_both_subsets(tmp_path):
    root = _image_tree(tmp_path, per_class=7)                 # 21 files: int(0.3 * 21) = 6 for validation
    args = dict(validation_split=0.3, seed=5, image_size=(4, 6), verbose=False)
    train = image_dataset_from_directory(root, subset="training", **args)
    val = image_dataset_from_directory(root, subset="validation", **args)
    assert (len(train.file_paths), len(val.file_paths)) == (15, 6)
    assert not set(train.file_paths) & set(val.file_paths)
    assert set(train.file_paths) | set(val.file_paths) == set(image_dataset_from_directory(
        root, shuffle=False, image_size=(4, 6), verbose=False).file_paths)
    both = image_dataset_from_directory(root, subset="both", **args)
    assert [d.file_paths for d in both] == [train.file_paths, val.file_paths]
    assert train.class_names == val.class_names == ["birds", "cats", "dogs"]
    other = image_dataset_from_directory(root, subset="training", **{**args, "seed": 6})
    assert other.file_paths != train.file_paths
    x, y = val.to_arrays()
    assert x.shape == (6, 4, 6, 3) and [_label_of(im) for im in x] == y.tolist()


def test_shuffle_order_and_epochs(tmp_path):
    root = _image_tree(tmp_path)
    fixed = image_dataset_from_directory(root, shuffle=False, image_size=(4, 6), verbose=False)
    assert fixed.file_paths == sorted(fixed.file_paths) and fixed.labels.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    fixed.on_epoch_end()
    assert fixed.file_paths == sorted(fixed.file_paths)
    data = image_dataset_from_directory(root, seed=1, image_size=(4, 6), verbose=False)
    again = image_dataset_from_directory(root, seed=1, image_size=(4, 6), verbose=False)
    assert data.file_paths == again.file_paths != fixed.file_paths    # the seed fixes the order
    first = list(data.file_paths)
    data.on_epoch_end()
    assert data.file_paths != first and sorted(data.file_paths) == sorted(first)
    x, y = data.to_arrays()
    assert [_label_of(im) for im in x] == y.tolist()           # labels move with their files


def test_batch_size_none_gives_single_samples(tmp_path):
    root = _image_tree(tmp_path, per_class=2)
    data = image_dataset_from_directory(root, batch_size=None, shuffle=False, image_size=(4, 6), verbose=False)
    image, label = data[3]
    assert len(data) == 6 and image.shape == (4, 6, 3) and label.shape == () and int(label) == 1


def test_color_modes_and_formats(tmp_path):
    os.makedirs(tmp_path / "c")
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    Image.fromarray(pixels).save(tmp_path / "c" / "a.png")
    Image.fromarray(pixels).save(tmp_path / "c" / "b.bmp")
    Image.fromarray(pixels).save(tmp_path / "c" / "c.JPG", quality=100)
    Image.fromarray(pixels[..., 0]).save(tmp_path / "c" / "d.gif")
    (tmp_path / "c" / "notes.txt").write_text("not an image")
    args = dict(image_size=(2, 3), shuffle=False, batch_size=8, verbose=False)
    images, _ = image_dataset_from_directory(tmp_path, **args)[0]
    assert images.shape == (4, 2, 3, 3)
    np.testing.assert_array_equal(images[0], pixels)          # PNG and BMP: exact
    np.testing.assert_array_equal(images[1], pixels)
    assert np.abs(images[2] - pixels).max() < 12               # JPEG: lossy
    np.testing.assert_array_equal(images[3], np.repeat(pixels[..., :1], 3, axis=-1))   # grey GIF as RGB
    gray, _ = image_dataset_from_directory(tmp_path, color_mode="grayscale", **args)[0]
    assert gray.shape == (4, 2, 3, 1)
    weights = np.array([299, 587, 114]) / 1000                 # ITU-R 601-2 luma, as Pillow converts
    np.testing.assert_allclose(gray[0, ..., 0], np.round(pixels @ weights), atol=1)
    rgba, _ = image_dataset_from_directory(tmp_path, color_mode="rgba", **args)[0]
    assert rgba.shape == (4, 2, 3, 4) and (rgba[..., 3] == 255).all()


def test_resizing_against_hand_computed_pixels(tmp_path):
    os.makedirs(tmp_path / "c")
    Image.fromarray(np.array([[0, 100, 200, 250]] * 2, np.uint8)).save(tmp_path / "c" / "a.png")   # 2 x 4
    def first(**kwargs):
        data = image_dataset_from_directory(tmp_path, color_mode="grayscale", image_size=(2, 2), verbose=False,
                                            **kwargs)
        return data[0][0][0, ..., 0]
    # nearest: output column j reads source column floor((j + 0.5) * 2) = 1, 3
    np.testing.assert_array_equal(first(interpolation="nearest"), [[100, 250], [100, 250]])
    # bilinear shrinking by 2 is a triangle filter of radius 2 (antialiased): column 0 is
    # (0.75*0 + 0.75*100 + 0.25*200) / 1.75 = 71.4, column 1 (0.25*100 + 0.75*200 + 0.75*250) / 1.75 = 207.1
    np.testing.assert_array_equal(first(interpolation="bilinear"), [[71, 207], [71, 207]])
    # crop_to_aspect_ratio: the centred 2 x 2 box (columns 1-2), not squeezed
    np.testing.assert_array_equal(first(crop_to_aspect_ratio=True), [[100, 200], [100, 200]])
    np.testing.assert_array_equal(first(crop_to_aspect_ratio=True, interpolation="nearest"),
                                  [[100, 200], [100, 200]])
    # pad_to_aspect_ratio: a 4 x 4 canvas of zeros with the image in rows 1-2, then resized
    data = image_dataset_from_directory(tmp_path, color_mode="grayscale", image_size=(4, 4), verbose=False,
                                        pad_to_aspect_ratio=True, interpolation="nearest")
    np.testing.assert_array_equal(data[0][0][0, ..., 0], [[0, 0, 0, 0], [0, 100, 200, 250], [0, 100, 200, 250],
                                                          [0, 0, 0, 0]])
    np.testing.assert_array_equal(first(pad_to_aspect_ratio=True, interpolation="nearest"), [[100, 250], [0, 0]])
    channels_first = image_dataset_from_directory(tmp_path, image_size=(2, 2), data_format="channels_first",
                                                  verbose=False)[0][0]
    assert channels_first.shape == (1, 3, 2, 2) and channels_first.flags.c_contiguous
    np.testing.assert_array_equal(channels_first[0, 1], [[71, 207], [71, 207]])


def test_unreadable_files_are_left_out_with_a_warning_naming_them(tmp_path):
    root = _image_tree(tmp_path, classes=("a", "b"), per_class=2)
    broken = root / "a" / "broken.png"
    broken.write_bytes(b"this is not a PNG file")
    (root / "b" / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="left out 2 file\\(s\\).*broken.png.*empty.jpg"):
        data = image_dataset_from_directory(root, image_size=(4, 6), shuffle=False, verbose=False)
    assert data.skipped_files == [str(broken), str(root / "b" / "empty.jpg")]
    assert len(data.file_paths) == 4 and data[0][1].tolist() == [0, 0, 1, 1]


def test_a_file_that_fails_to_decode_later_is_named(tmp_path):
    root = _image_tree(tmp_path, classes=("a",), per_class=1, size=(64, 64))
    path = root / "a" / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])                  # the header survives, the pixels do not
    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # the header reads: no warning
        data = image_dataset_from_directory(root, image_size=(8, 8), shuffle=False, verbose=False)
    with pytest.raises(ValueError, match="Cannot decode the image '.*cut.png'"):
        data[0]


def test_argument_errors(tmp_path):
    root = _image_tree(tmp_path / "tree", per_class=2)
    cases = [
        (dict(label_mode="sparse"), "label_mode must be one of"),
        (dict(color_mode="cmyk"), "color_mode must be one of"),
        (dict(interpolation="spline"), "interpolation must be one of"),
        (dict(image_size=(0, 4)), "image_size must be \\(height, width\\)"),
        (dict(batch_size=0), "batch_size must be a positive integer or None"),
        (dict(validation_split=0.2), "give validation_split and subset together"),
        (dict(subset="training"), "give validation_split and subset together"),
        (dict(validation_split=1.5, subset="training", seed=1), "validation_split must be between 0 and 1"),
        (dict(validation_split=0.2, subset="test", seed=1), "subset must be 'training', 'validation', 'both'"),
        (dict(validation_split=0.2, subset="training"), "give a seed"),
        (dict(seed=-1), "seed must be a non-negative integer"),
        (dict(class_names=["cats", "lions"]), "class_names \\['lions'\\] are not sub-folders"),
        (dict(labels=None, class_names=["cats"]), "class_names can only be given with labels='inferred'"),
        (dict(labels=[0, 1]), "labels has 2 entries but .* holds 6 files"),
        (dict(labels="folders"), "labels must be 'inferred', None or a list"),
        (dict(label_mode="binary"), "label_mode='binary' needs exactly 2 classes, found 3"),
        (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "only one of crop_to_aspect_ratio and pad"),
        (dict(data_format="nhwc"), "data_format must be 'channels_last' or 'channels_first'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            image_dataset_from_directory(root, verbose=False, **kwargs)
    with pytest.raises(ValueError, match="does not exist or is not a folder"):
        image_dataset_from_directory(tmp_path / "nowhere")
    os.makedirs(tmp_path / "empty" / "x")
    with pytest.raises(ValueError, match="no images found in"):
        image_dataset_from_directory(tmp_path / "empty", verbose=False)
    data = image_dataset_from_directory(root, batch_size=4, verbose=False)
    with pytest.raises(IndexError, match="batch 2 out of range: the data set has 2 batches"):
        data[2]
    with pytest.raises(TypeError, match="indices are batch numbers"):
        data["0"]
    assert len(os.listdir(root)) == 3                         # nothing written into the folder


def test_verbose_reports_what_was_found(tmp_path, capsys):
    root = _image_tree(tmp_path, per_class=4)
    image_dataset_from_directory(root, validation_split=0.25, subset="both", seed=0, image_size=(4, 6))
    assert capsys.readouterr().out.splitlines() == ["Found 12 files belonging to 3 classes.",
                                                    "Using 9 files for training.", "Using 3 files for validation."]


def test_a_model_trains_on_the_batches(tmp_path):
    numnet.set_seed(0)
    root = _image_tree(tmp_path, classes=("dark", "light"), per_class=12)
    train = image_dataset_from_directory(root, image_size=(4, 6), batch_size=8, seed=0, label_mode="binary",
                                         verbose=False)
    x = Input((4, 6, 3))
    model = Model(x, Dense(1, activation="sigmoid")(Flatten()(x / 255.0)))
    model.compile(numnet.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    first = None
    for epoch in range(30):                                    # until fit takes a PyDataset: one step per batch
        for images, labels in train:
            loss, accuracy = model.train_on_batch(images, labels)
            first = loss if first is None else first
        train.on_epoch_end()
    images, labels = train.to_arrays()
    assert loss < 0.5 * first and model.evaluate(images, labels, verbose=0)[1] == 1.0


# --- text ----------------------------------------------------------------------------------
def _text_tree(root):
    for name, texts in {"pos": ["good film", "great\r\nfun", "loved it"], "neg": ["bad", "awful plot"]}.items():
        os.makedirs(root / name)
        for i, text in enumerate(texts):
            (root / name / f"{i}.txt").write_bytes(text.encode("utf-8"))
    (root / "pos" / "cover.jpg").write_bytes(b"\xff\xd8")       # not a .txt: ignored
    return root


def test_text_dataset_labels_and_strings(tmp_path):
    data = text_dataset_from_directory(_text_tree(tmp_path), shuffle=False, batch_size=2, verbose=False)
    assert isinstance(data, TextDataset) and data.class_names == ["neg", "pos"] and len(data) == 3
    texts, labels = data[0]
    assert texts.dtype.kind == "U" and texts.shape == (2,) and texts.tolist() == ["bad", "awful plot"]
    assert labels.tolist() == [0, 0]
    texts, labels = data.to_arrays()
    assert texts.tolist() == ["bad", "awful plot", "good film", "great\r\nfun", "loved it"]   # as written
    assert labels.tolist() == [0, 0, 1, 1, 1]
    short = text_dataset_from_directory(tmp_path, shuffle=False, max_length=4, verbose=False).to_arrays()[0]
    assert short.tolist() == ["bad", "awfu", "good", "grea", "love"]
    binary = text_dataset_from_directory(tmp_path, shuffle=False, label_mode="binary", verbose=False)
    assert binary[0][1].tolist() == [[0.0], [0.0], [1.0], [1.0], [1.0]]


def test_text_dataset_split_and_errors(tmp_path):
    root = _text_tree(tmp_path)
    train, val = text_dataset_from_directory(root, validation_split=0.4, subset="both", seed=3, verbose=False)
    assert (len(train.file_paths), len(val.file_paths)) == (3, 2) and not set(train.file_paths) & set(val.file_paths)
    (root / "neg" / "latin1.txt").write_bytes("café".encode("latin-1"))
    data = text_dataset_from_directory(root, shuffle=False, batch_size=1, verbose=False)
    assert data.file_paths[2].endswith("latin1.txt")
    with pytest.raises(ValueError, match="Cannot read the text file '.*latin1.txt' as UTF-8"):
        data[2]
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        text_dataset_from_directory(root, max_length=0)
    with pytest.raises(ValueError, match="no text files found"):
        text_dataset_from_directory(_image_tree(tmp_path / "imgs", per_class=1), verbose=False)


# --- the worked example ------------------------------------------------------------------------
def test_digits_from_folder_example(tmp_path):
    example = runpy.run_path(os.path.join(ROOT, "examples", "digits_from_folder.py"))
    accuracy = example["main"](tmp_path / "digits", epochs=8, verbose=0)
    assert len(os.listdir(tmp_path / "digits")) == 10
    assert sum(len(os.listdir(tmp_path / "digits" / d)) for d in os.listdir(tmp_path / "digits")) == 1797
    assert accuracy > 0.9


def test_docs_data_from_folders_example_runs():
    import re

    path = os.path.join(ROOT, "docs", "data_from_folders.md")
    (code,) = re.findall(r"```python\n(.*?)```", open(path, encoding="utf-8").read(), flags=re.S)
    exec(compile(code, "docs/data_from_folders.md", "exec"), {"__name__": "doc_folders"})


def test_without_pillow_the_error_says_what_to_install(tmp_path, monkeypatch):
    root = _image_tree(tmp_path, classes=("a",), per_class=1)
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)   # as if Pillow were not installed
    with pytest.raises(ImportError, match=r"needs the optional 'Pillow' package: pip install numnet\[images\]"):
        image_dataset_from_directory(root, verbose=False)
