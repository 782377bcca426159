"""Fuzz numnet.load_model with mutated copies of a real saved file: whatever the damage,
the loader either succeeds or raises ModelFileError, never anything else."""

import io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import numnet as nn
from numnet import BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, Sequential
from numnet.saving import ModelFileError
from numnet.schedules import ExponentialDecay

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _saved_model_bytes() -> bytes:
    nn.set_seed(0)
    model = Sequential([Input((5, 5, 1)), Conv2D(2, 3, padding="same", activation="relu"), BatchNormalization(),
                        Flatten(), Dropout(0.2), Dense(3, activation="softmax")], seed=1)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=nn.optimizers.Adam(learning_rate=ExponentialDecay(0.01, 10, 0.9)), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 5, 5, 1)), rng.integers(0, 3, 8), epochs=1, batch_size=4, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "m.npz")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


ORIGINAL = _saved_model_bytes()
with np.load(io.BytesIO(ORIGINAL), allow_pickle=False) as _data:
    ARRAYS = {k: _data[k] for k in _data.files}
META = json.loads(ARRAYS["meta"].tobytes())


def _load(tmp_path, data: bytes):
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(data)
    try:
        model = nn.load_model(path)
    except ModelFileError as exc:
        assert str(exc)  # says something
        return None
    assert isinstance(model, nn.Model)
    return model


def test_the_unmutated_file_loads(tmp_path):
    assert _load(tmp_path, ORIGINAL) is not None


@FUZZ
@given(cut=st.integers(0, len(ORIGINAL) - 1))
def test_truncated_files(tmp_path, cut):
    assert _load(tmp_path, ORIGINAL[:cut]) is None


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(ORIGINAL) - 1), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flips(tmp_path, flips):
    data = bytearray(ORIGINAL)
    for position, bit in flips:
        data[position] ^= 1 << bit
    _load(tmp_path, bytes(data))


@FUZZ
@given(start=st.integers(0, len(ORIGINAL) - 1), junk=st.binary(min_size=1, max_size=64))
def test_overwritten_bytes(tmp_path, start, junk):
    data = bytearray(ORIGINAL)
    data[start:start + len(junk)] = junk
    _load(tmp_path, bytes(data[: len(ORIGINAL)]))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=12)
    | st.sampled_from(["Dense", "Conv2D", "Input", "w0", "o0", "meta", "PCG64", "Adam", "__array__", "../x"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    """Every (container path, key) in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,)
            yield from _paths(value, prefix + (index,))


PATHS = list(_paths(META))


def _with_meta(meta_bytes: bytes) -> bytes:
    arrays = dict(ARRAYS)
    arrays["meta"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["replace", "delete"]), _JSON_VALUES),
                      min_size=1, max_size=4))
def test_random_json_edits(tmp_path, edits):
    meta = json.loads(json.dumps(META))
    for path, action, value in edits:
        parent = meta
        try:
            for key in path[:-1]:
                parent = parent[key]
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    _load(tmp_path, _with_meta(json.dumps(meta).encode()))


@FUZZ
@given(start=st.integers(0, len(ARRAYS["meta"]) - 1), junk=st.binary(min_size=1, max_size=16))
def test_corrupted_metadata_bytes(tmp_path, start, junk):
    raw = bytearray(ARRAYS["meta"].tobytes())
    raw[start:start + len(junk)] = junk
    _load(tmp_path, _with_meta(bytes(raw)))


@FUZZ
@given(name=st.sampled_from(sorted(k for k in ARRAYS if k != "meta")),
       shape=st.lists(st.integers(0, 6), max_size=4),
       dtype=st.sampled_from(["float32", "float64", "int64", "int8", "complex64", "U3", "bool"]))
def test_arrays_replaced_by_others(tmp_path, name, shape, dtype):
    arrays = dict(ARRAYS)
    arrays[name] = np.zeros(shape, dtype=dtype)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    _load(tmp_path, buffer.getvalue())


@pytest.mark.parametrize("name", ["meta.npy", "w0.npy"])
def test_entries_that_are_not_arrays(tmp_path, name):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, b"\x93NUMPY\x01\x00" + b"{'descr': 'O', 'fortran_order': False, 'shape': (1,)}")
    assert _load(tmp_path, buffer.getvalue()) is None
