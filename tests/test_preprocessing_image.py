"""Image preprocessing layers: Resizing against PyTorch, crops, flips and augmentation
against hand-computed pixels, identity in inference, seeded randomness, gradients."""

from pathlib import Path

import numpy as np
import pytest

from numnet import (CenterCrop, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
                    RandomTranslation, RandomZoom, Resizing)
from numnet.gradient_check import check_layer

REFERENCE = np.load(Path(__file__).parent / "fixtures" / "preprocessing_reference.npz", allow_pickle=False)
IMAGE = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]


def _pixels(out):
    return out[0, :, :, 0]


@pytest.mark.parametrize("size", ["3x4", "8x11", "5x3"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resizing_matches_torch_interpolate(size, interpolation):
    height, width = map(int, size.split("x"))
    layer = Resizing(height, width, interpolation=interpolation, dtype="float64")
    np.testing.assert_allclose(layer(REFERENCE["images"]), REFERENCE[f"{interpolation}_{size}"], atol=1e-12)


def test_resizing_crop_to_aspect_ratio_crops_the_centre_first():
    image = np.arange(24.0).reshape(1, 4, 6, 1)
    out = Resizing(2, 2, crop_to_aspect_ratio=True, interpolation="nearest")(image)
    # the centred 4x4 window (columns 1..4), halved: pixels at rows 1, 3 and columns 2, 4
    np.testing.assert_array_equal(_pixels(out), [[8, 10], [20, 22]])


def test_resizing_gradient_and_shape_errors():
    rng = np.random.default_rng(0)
    assert check_layer(Resizing(3, 5), rng.normal(size=(2, 4, 3, 2))).passed()
    assert check_layer(Resizing(2, 2, crop_to_aspect_ratio=True), rng.normal(size=(1, 3, 5, 1))).passed()
    with pytest.raises(ValueError, match="height"):
        Resizing(0, 3)
    with pytest.raises(ValueError, match="interpolation"):
        Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        Resizing(2, 2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="channels_last"):
        Resizing(2, 2, data_format="channels_first")


def test_center_crop_takes_the_middle_and_resizes_small_images():
    image = np.arange(20.0).reshape(1, 4, 5, 1)
    np.testing.assert_array_equal(_pixels(CenterCrop(2, 3)(image)), [[6, 7, 8], [11, 12, 13]])
    small = CenterCrop(4, 4)(IMAGE)  # smaller than 4x4: resized (bilinear) as in Keras
    np.testing.assert_allclose(small, Resizing(4, 4)(IMAGE))
    assert check_layer(CenterCrop(2, 3), np.random.default_rng(0).normal(size=(2, 4, 5, 2))).passed()


def test_random_crop_is_random_in_training_and_centred_in_inference():
    image = np.arange(36.0).reshape(1, 6, 6, 1)
    layer = RandomCrop(2, 2, seed=3)
    np.testing.assert_array_equal(_pixels(layer(image)), Resizing(2, 2, crop_to_aspect_ratio=True)(image)[0, :, :, 0])
    rng = np.random.default_rng(3)  # the layer's generator: the same seed, the same draws
    top, left = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    np.testing.assert_array_equal(_pixels(layer(image, training=True)), image[0, top:top + 2, left:left + 2, 0])
    again = RandomCrop(2, 2, seed=3)
    np.testing.assert_array_equal(again(image, training=True), RandomCrop(2, 2, seed=3)(image, training=True))
    layer = RandomCrop(2, 3, seed=0)
    layer._generator()
    assert check_layer(layer, np.random.default_rng(0).normal(size=(2, 4, 5, 1)), training=True).passed()


def test_random_flip_flips_each_image_with_its_draw():
    images = np.stack([IMAGE[0]] * 8)
    layer = RandomFlip("horizontal", seed=5)
    out = layer(images, training=True)
    flips = np.random.default_rng(5).random(8) < 0.5
    for image, flipped in zip(out, flips):
        expected = IMAGE[0, :, ::-1] if flipped else IMAGE[0]
        np.testing.assert_array_equal(image, expected)
    assert flips.any() and not flips.all()
    np.testing.assert_array_equal(layer(images), images)  # inference: identity
    both = RandomFlip(seed=1)
    out = both(images, training=True)
    draws = np.random.default_rng(1)
    horizontal, vertical = draws.random(8) < 0.5, draws.random(8) < 0.5
    for image, h, v in zip(out, horizontal, vertical):
        expected = IMAGE[0][::-1 if v else 1, ::-1 if h else 1]
        np.testing.assert_array_equal(image, expected)
    layer = RandomFlip(seed=2)
    layer._generator()
    assert check_layer(layer, np.random.default_rng(0).normal(size=(4, 3, 2, 1)), training=True).passed()
    with pytest.raises(ValueError, match="mode"):
        RandomFlip("diagonal")


def test_rotation_by_a_quarter_turn_is_rot90():
    layer = RandomRotation(0.25)
    out = layer.transform(IMAGE, angle=[np.pi / 2])
    np.testing.assert_allclose(_pixels(out), np.rot90(IMAGE[0, :, :, 0]), atol=1e-12)
    half = layer.transform(IMAGE, angle=[np.pi])
    np.testing.assert_allclose(_pixels(half), IMAGE[0, ::-1, ::-1, 0], atol=1e-12)


def test_translation_fill_modes_by_hand():
    row = np.array([[[[1.0], [2.0], [3.0], [4.0]]]])  # one row: a b c d
    shifts = {"constant": [0, 0, 1, 2], "nearest": [1, 1, 1, 2], "reflect": [2, 1, 1, 2], "wrap": [3, 4, 1, 2]}
    for mode, expected in shifts.items():
        layer = RandomTranslation(0.0, 0.5, fill_mode=mode, interpolation="nearest")
        out = layer.transform(row, shift=([0.0], [2.0]))  # two pixels to the right
        np.testing.assert_array_equal(out[0, 0, :, 0], expected, err_msg=mode)
    filled = RandomTranslation(0.0, 0.5, fill_mode="constant", fill_value=-1.0)
    np.testing.assert_array_equal(filled.transform(row, shift=([0.0], [-1.0]))[0, 0, :, 0], [2, 3, 4, -1])


def test_bilinear_half_pixel_shift_averages_neighbours():
    layer = RandomTranslation(0.5, 0.0, fill_mode="nearest")
    out = layer.transform(IMAGE, shift=([0.5], [0.0]))  # down by half a pixel
    np.testing.assert_allclose(_pixels(out), [[1, 2, 3], [2.5, 3.5, 4.5], [5.5, 6.5, 7.5]])


def test_zoom_out_by_two_reads_every_other_pixel_about_the_centre():
    image = np.arange(25.0).reshape(1, 5, 5, 1)
    layer = RandomZoom(1.0, fill_mode="constant")
    out = layer.transform(image, zoom=([2.0], [2.0]))
    # output (i, j) reads input (2 (i - 2) + 2, 2 (j - 2) + 2): the centre 3x3 holds pixels 0, 2, 4 apart
    np.testing.assert_array_equal(_pixels(out)[1:4, 1:4], image[0, ::2, ::2, 0])
    assert _pixels(out)[0].tolist() == [0, 0, 0, 0, 0]


def test_geometric_layers_are_identity_in_inference_and_seeded_in_training():
    images = np.random.default_rng(0).normal(size=(3, 5, 5, 2))
    for make in (lambda: RandomRotation(0.2, seed=4), lambda: RandomZoom(0.3, seed=4),
                 lambda: RandomTranslation(0.2, 0.2, seed=4)):
        layer = make()
        np.testing.assert_array_equal(layer(images), images)
        first = layer(images, training=True)
        assert not np.allclose(first, images)
        np.testing.assert_array_equal(make()(images, training=True), first)


def test_rotation_draws_the_angle_from_the_factor():
    images = np.random.default_rng(0).normal(size=(2, 4, 4, 1))
    layer = RandomRotation((-0.1, 0.2), seed=9, fill_mode="wrap")
    angles = np.random.default_rng(9).uniform(-0.1, 0.2, 2) * 2 * np.pi
    np.testing.assert_allclose(layer(images, training=True), RandomRotation(0.5, fill_mode="wrap").transform(
        images, angle=angles))


@pytest.mark.parametrize("make", [lambda: RandomRotation(0.3, seed=1), lambda: RandomZoom(0.4, seed=1),
                                  lambda: RandomTranslation(0.3, 0.3, seed=1, fill_mode="constant"),
                                  lambda: RandomRotation(0.3, seed=1, interpolation="nearest")])
def test_geometric_gradients(make):
    layer = make()
    layer._generator()
    assert check_layer(layer, np.random.default_rng(0).normal(size=(2, 4, 5, 2)), training=True).passed()


def test_contrast_by_hand_and_clipping():
    layer = RandomContrast(0.5, value_range=(0, 10))
    out = layer.adjust(IMAGE, [2.0])  # mean 5: (x - 5) * 2 + 5, clipped to [0, 10]
    np.testing.assert_array_equal(_pixels(out), [[0, 0, 1], [3, 5, 7], [9, 10, 10]])
    seeded = RandomContrast(0.5, value_range=(-100, 100), seed=2)
    factor = np.random.default_rng(2).uniform(0.5, 1.5, 1)[0]
    np.testing.assert_allclose(seeded(IMAGE, training=True), (IMAGE - 5) * factor + 5)
    np.testing.assert_array_equal(seeded(IMAGE), IMAGE)
    grad_layer = RandomContrast(0.5, value_range=(-100, 100), seed=3)
    grad_layer._generator()
    assert check_layer(grad_layer, np.random.default_rng(0).normal(size=(2, 3, 4, 2)), training=True).passed()
    with pytest.raises(ValueError, match="factor"):
        RandomContrast(-0.1)


def test_brightness_by_hand_and_clipping():
    layer = RandomBrightness(0.5, value_range=(0, 10))
    np.testing.assert_array_equal(_pixels(layer.adjust(IMAGE, [0.2])), [[3, 4, 5], [6, 7, 8], [9, 10, 10]])
    seeded = RandomBrightness((-0.2, 0.3), value_range=(-100, 100), seed=6)
    delta = np.random.default_rng(6).uniform(-0.2, 0.3, 1)[0] * 200
    np.testing.assert_allclose(seeded(IMAGE, training=True), IMAGE + delta)
    np.testing.assert_array_equal(seeded(IMAGE), IMAGE)
    grad_layer = RandomBrightness(0.1, value_range=(-100, 100), seed=3)
    grad_layer._generator()
    assert check_layer(grad_layer, np.random.default_rng(0).normal(size=(2, 3, 4, 2)), training=True).passed()
    with pytest.raises(ValueError, match="factor"):
        RandomBrightness(1.5)
    with pytest.raises(ValueError, match="value_range"):
        RandomBrightness(0.1, value_range=(1, 0))
