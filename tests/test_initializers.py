"""Initializers: statistics, fans, reproducibility, dtype, lookup; no global random state."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numnet
from numnet import initializers
from numnet.initializers import _fans

SHAPE = (400, 300)  # 120,000 draws: the sample std is within ~0.5% of the true one
FAN_IN, FAN_OUT = SHAPE

# name -> (distribution, expected std, uniform limit or None)
EXPECTED = {
    "random_normal": ("normal", 0.05, None),
    "random_uniform": ("uniform", 0.05 / math.sqrt(3), 0.05),
    "glorot_uniform": ("uniform", math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_uniform": ("uniform", math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "glorot_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    "xavier_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    "he_uniform": ("uniform", math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    "he_normal": ("normal", math.sqrt(2 / FAN_IN), None),
    "lecun_normal": ("normal", math.sqrt(1 / FAN_IN), None),
    "lecun_uniform": ("uniform", math.sqrt(1 / FAN_IN), math.sqrt(3 / FAN_IN)),
}
ALL = ("zeros", "ones") + tuple(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_random_initializer_statistics(name):
    distribution, std, limit = EXPECTED[name]
    w = initializers.get(name)(SHAPE, np.random.default_rng(0), np.float64)
    assert w.shape == SHAPE
    assert abs(w.mean()) < 4 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.02)
    if limit is not None:
        assert -limit <= w.min() and w.max() < limit
        assert w.min() < -0.99 * limit and w.max() > 0.99 * limit  # fills the interval
        kurtosis = np.mean(w**4) / w.var() ** 2
        assert kurtosis == pytest.approx(1.8, rel=0.03)  # flat, not bell-shaped
    else:
        kurtosis = np.mean(w**4) / w.var() ** 2
        assert kurtosis == pytest.approx(3.0, rel=0.05)  # untruncated normal


@pytest.mark.parametrize(("name", "value"), [("zeros", 0.0), ("ones", 1.0)])
def test_constant_initializers(name, value):
    w = initializers.get(name)((3, 2), np.random.default_rng(0))
    np.testing.assert_array_equal(w, np.full((3, 2), value))


def test_constant_and_custom_arguments():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,), rng), [2.5, 2.5])
    w = initializers.RandomUniform(2.0, 3.0)((1000,), rng, np.float64)
    assert 2.0 <= w.min() and w.max() < 3.0
    w = initializers.RandomNormal(mean=5.0, stddev=0.1)((10000,), rng, np.float64)
    assert w.mean() == pytest.approx(5.0, abs=0.01) and w.std() == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize(
    ("shape", "fans"),
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((4, 3), (4, 3)),
        ((3, 5, 8), (5 * 3, 8 * 3)),  # (width, in, out) conv1d kernel
        ((3, 3, 16, 32), (3 * 3 * 16, 3 * 3 * 32)),  # (kh, kw, in, out) conv2d kernel
        ((5, 2, 4, 6), (5 * 2 * 4, 5 * 2 * 6)),
    ],
)
def test_fan_computation(shape, fans):
    assert _fans(shape) == fans


def test_four_d_kernels_use_the_receptive_field():
    shape = (3, 3, 16, 32)
    w = initializers.get("he_uniform")(shape, np.random.default_rng(1), np.float64)
    limit = math.sqrt(6 / (3 * 3 * 16))
    assert -limit <= w.min() and w.max() < limit and w.max() > 0.98 * limit
    w = initializers.get("glorot_normal")(shape, np.random.default_rng(1), np.float64)
    assert w.std() == pytest.approx(math.sqrt(2 / (9 * 16 + 9 * 32)), rel=0.03)


@pytest.mark.parametrize("name", ALL)
def test_same_seeded_generator_gives_the_same_weights(name):
    init = initializers.get(name)
    a = init((20, 10), np.random.default_rng(42))
    b = init((20, 10), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    if name not in ("zeros", "ones"):
        c = init((20, 10), np.random.default_rng(43))
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ALL)
def test_dtype_defaults_to_float32_and_float64_on_request(name):
    init = initializers.get(name)
    assert init((4, 3), np.random.default_rng(0)).dtype == np.float32
    w64 = init((4, 3), np.random.default_rng(0), np.float64)
    assert w64.dtype == np.float64
    # float32 and float64 draws from one seed are the same numbers up to rounding
    np.testing.assert_allclose(init((4, 3), np.random.default_rng(0), np.float32), w64, rtol=1e-6)


@pytest.mark.parametrize("bad", ["glorot", "", None, 3])
def test_unknown_initializer_lists_the_choices(bad):
    with pytest.raises(ValueError) as info:
        initializers.get(bad)
    for name in ("glorot_uniform", "he_normal", "lecun_normal", "zeros"):
        assert name in str(info.value)


def test_get_is_case_insensitive_and_passes_instances_through():
    init = initializers.HeNormal()
    assert initializers.get(init) is init
    assert isinstance(initializers.get("Glorot_Uniform"), initializers.VarianceScaling)


@pytest.mark.parametrize(
    "kwargs", [dict(mode="fan_sum"), dict(distribution="truncated"), dict(mode=None)]
)
def test_variance_scaling_rejects_bad_options(kwargs):
    with pytest.raises(ValueError):
        initializers.VarianceScaling(**kwargs)


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "random_normal", "zeros"])
def test_serialize_round_trip_rebuilds_an_equal_initializer(name):
    init = initializers.get(name)
    rebuilt = initializers.deserialize(initializers.serialize(init))
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(init((6, 4), rng_a), rebuilt((6, 4), rng_b))


def test_deserialize_rejects_garbage():
    with pytest.raises(ValueError):
        initializers.deserialize({"class_name": "Pickle", "config": {}})


def test_numnet_never_touches_numpys_global_random_state():
    np.random.seed(1234)
    before = np.random.get_state()
    numnet.set_seed(3)
    x = numnet.Input((4,))
    dense = numnet.Dense(8, activation="relu")(x)
    numnet.Dense(3, kernel_initializer="he_normal", bias_initializer="random_uniform")(dense)
    lazy = numnet.Dense(5, kernel_initializer="lecun_normal")
    lazy.forward(np.ones((2, 6), dtype=np.float32))
    for name in ALL:
        initializers.get(name)((3, 3), np.random.default_rng(0))
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_set_seed_makes_layer_weights_reproducible():
    numnet.set_seed(7)
    a = numnet.Dense(4)(numnet.Input((3,))).node.layer.get_weights()[0]
    numnet.set_seed(7)
    b = numnet.Dense(4)(numnet.Input((3,))).node.layer.get_weights()[0]
    np.testing.assert_array_equal(a, b)
    c = numnet.Dense(4)(numnet.Input((3,))).node.layer.get_weights()[0]
    assert not np.array_equal(a, c)
    # a layer's own seed wins over the library generator
    d = numnet.Dense(4, seed=99)(numnet.Input((3,))).node.layer.get_weights()[0]
    numnet.set_seed(8)
    e = numnet.Dense(4, seed=99)(numnet.Input((3,))).node.layer.get_weights()[0]
    np.testing.assert_array_equal(d, e)
