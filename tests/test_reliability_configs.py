"""Configs that would allocate without bound, or break later (issue 15, item 5): every
config value of every built-in layer is checked by its constructor and ``build``; a file
holding a bad one is refused by ``load_model`` with a ModelFileError naming the field, and
the same value passed in code raises ValueError / TypeError naming it."""

import json
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import numnet as nn
from numnet import layers as L
from numnet.saving import ModelFileError


def _every_layer_model():
    x = L.Input((8, 8, 2), name="in")
    h = L.Conv2D(3, 3, padding="same", dilation_rate=2, name="conv")(x)
    h = L.MaxPool2D(2, padding="same", name="maxpool")(h)
    h = L.AveragePooling2D(2, strides=1, padding="same", name="avgpool")(h)
    h = L.BatchNormalization(name="bn")(h)
    h = L.LayerNormalization(name="ln")(h)
    h = L.Dropout(0.1, seed=3, name="drop")(h)
    h = L.Activation("relu", name="act")(h)
    g1, g2 = L.GlobalAveragePooling2D(name="gap")(h), L.GlobalMaxPooling2D(name="gmp")(h)
    h = L.Concatenate(name="cat")([L.Add(name="add")([g1, g2]), g2])
    h = L.Flatten(name="flat")(L.Reshape((2, 3), name="reshape")(h))
    return nn.Model(x, L.Dense(2, name="dense")(h), seed=0)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("configs") / "every_layer.npz"
    _every_layer_model().save(path)
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


CASES = [
    ("conv", "dilation_rate", [2500, 2500]),  # loaded, then predict took 3 GB
    ("conv", "dilation_rate", [10**6, 10**6]),  # MemoryError
    ("conv", "dilation_rate", [2**64, 2**64]),  # TypeError deep inside numpy
    ("conv", "strides", [2**64, 1]),
    ("conv", "kernel_size", [0, 3]),
    ("conv", "padding", "full"),
    ("conv", "filters", 2**64),
    ("conv", "use_bias", "no"),
    ("conv", "activation", "rm -rf"),
    ("conv", "kernel_initializer", {"class_name": "Constant", "config": {"value": "x"}}),
    ("maxpool", "pool_size", [10**6, 10**6]),
    ("maxpool", "strides", [0, 1]),
    ("avgpool", "pool_size", [2500, 2500]),
    ("bn", "momentum", "abc"),
    ("bn", "epsilon", float("inf")),
    ("bn", "axis", 10**9),
    ("bn", "center", "yes"),
    ("ln", "axis", [1, 2, 10**9]),
    ("ln", "scale", 0),
    ("drop", "rate", 1.5),
    ("drop", "rate", float("nan")),
    ("drop", "seed", -1),
    ("drop", "seed", "abc"),
    ("gap", "keepdims", "x"),
    ("gmp", "trainable", "no"),
    ("cat", "axis", "1"),
    ("cat", "axis", 0),
    ("add", "dtype", "complex128"),
    ("reshape", "target_shape", [2**64]),
    ("reshape", "target_shape", [4, 4]),
    ("in", "shape", [0]),
    ("in", "shape", [2**64, 8, 2]),
    ("in", "batch_size", 2**64),
    ("dense", "units", 0),
    ("dense", "units", 2**40),
    ("dense", "use_bias", 1),
    ("flat", "trainable", "no"),
    ("act", "activation_function", 5),
    ("act", "dtype", "complex128"),
]
FIELD = {"activation_function": "activation"}  # the message says "Unknown activation 5"


def _edited(original, layer_name, field, value):
    meta = json.loads(original["meta"].tobytes())
    record = next(r for r in meta["model"]["layers"] if r["config"]["name"] == layer_name)
    record["config"][field] = value
    return record["class_name"], {**original, "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}


def test_the_unedited_file_loads(original, tmp_path):
    np.savez(tmp_path / "m.npz", **original)
    model = nn.load_model(tmp_path / "m.npz")
    assert model.predict(np.ones((1, 8, 8, 2)), verbose=0).shape == (1, 2)


@pytest.mark.parametrize("layer_name, field, value", CASES, ids=[f"{n}-{f}-{v!r:.20}" for n, f, v in CASES])
def test_a_bad_config_value_in_a_file_is_refused_naming_the_field(original, tmp_path, layer_name, field, value):
    _, arrays = _edited(original, layer_name, field, value)
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    before = path.read_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=FIELD.get(field, field)):
            nn.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22  # refused before anything large is allocated
    assert path.read_bytes() == before


@pytest.mark.parametrize("layer_name, field, value", CASES, ids=[f"{n}-{f}-{v!r:.20}" for n, f, v in CASES])
def test_the_same_value_in_code_is_refused_naming_the_field(layer_name, field, value):
    model = _every_layer_model()
    layer = next(l for l in [*(t.node.layer for t in model.inputs), *model.layers] if l.name == layer_name)
    config = {**layer.get_config(), field: value}
    with pytest.raises((ValueError, TypeError), match=FIELD.get(field, field)):
        built = type(layer).from_config(config)  # the constructor checks the value ...
        if layer.input_shape is not None and not isinstance(built, L.InputLayer):
            built.build_for(layer.input_shape)  # ... or build, against the input shape


@pytest.mark.parametrize("kwargs", [dict(dilation_rate=2500, padding="same"), dict(kernel_size=(1, 3), dilation_rate=
                                    (1, 10), padding="same")])
def test_conv2d_same_padding_bounds_how_far_a_dilated_kernel_reaches(kwargs):
    layer = L.Conv2D(2, **{"kernel_size": 3, **kwargs})
    with pytest.raises(ValueError, match=r"with padding='same' the kernel spans .*dilation_rate .*Use a smaller "
                                         r"dilation_rate"):
        layer.build_for((8, 8, 1))
    assert layer.params == {}


def test_same_padding_still_admits_windows_up_to_the_bound():
    L.Conv2D(2, 3, padding="same").build_for((1, 1, 1))  # a 3x3 kernel on a 1x1 map: common, kept
    L.Conv2D(2, 3, dilation_rate=9, padding="same").build_for((8, 8, 1))  # spans 19 = 3 + 2 * 8
    L.MaxPool2D(17, padding="same").build_for((8, 8, 1))  # 2 * 8 + 1
    with pytest.raises(ValueError, match=r"pool spans 18x18 pixels \(pool_size 18x18\), more than the input"):
        L.MaxPool2D(18, padding="same").build_for((8, 8, 1))


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.sampled_from([10**6, 2**31, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.one_of(st.integers(-2, 12), st.sampled_from([2500, 10**6, 2**64])), max_size=4),
)


@settings(max_examples=400 if os.environ.get("NUMNET_LONG_TESTS") == "1" else 120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(sorted({name for name, _, _ in CASES})), field_index=st.integers(0, 20), value=_VALUES)
def test_fuzzed_config_values_load_and_predict_within_bounds_or_are_refused(original, tmp_path, target, field_index,
                                                                             value):
    meta = json.loads(original["meta"].tobytes())
    config = next(r for r in meta["model"]["layers"] if r["config"]["name"] == target)["config"]
    fields = sorted(k for k in config if k != "name")
    field = fields[field_index % len(fields)]
    _, arrays = _edited(original, target, field, value)
    path = tmp_path / "fuzzed.npz"
    np.savez(path, **arrays)
    try:
        model = nn.load_model(path)
    except ModelFileError as exc:
        assert str(exc)
        return
    tracemalloc.start()
    try:
        model.predict(np.ones((2, 8, 8, 2)), verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**24, (field, value)  # a loaded config never makes a small predict expensive
