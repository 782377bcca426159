"""The file promises under attack (issue 15): hostile archives are refused without harm and
within bounded memory, saves survive kill -9 and honour the umask.

Set NUMNET_LONG_TESTS=1 for the long versions of the kill and fuzz loops."""

import io
import json
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import numnet as nn
from numnet import saving
from numnet.saving import ModelFileError

LONG = os.environ.get("NUMNET_LONG_TESTS") == "1"
POSIX = os.name == "posix"


def _model(optimizer="adam", width=16, seed=0):
    model = nn.Sequential([nn.Input((6, 6, 1)), nn.Conv2D(4, 3, padding="same", activation="relu"),
                           nn.MaxPool2D(2), nn.Flatten(), nn.Dense(width, activation="relu"), nn.Dense(3)], seed=seed)
    if optimizer is not None:
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
        rng = np.random.default_rng(seed)
        model.fit(rng.normal(size=(8, 6, 6, 1)), rng.integers(0, 3, 8), epochs=1, batch_size=4, verbose=0)
    return model


def _weights(model):
    return [w.copy() for layer in model.layers for w in layer.weights]


def _same(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.npz"
    model = _model()
    model.save(path)
    return path, _weights(model)


def _peak_bytes(call):
    """Peak bytes numpy and Python allocate during ``call()`` (tracemalloc), and its error."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        error = None
        try:
            call()
        except Exception as exc:  # the caller checks what was raised
            error = exc
        return tracemalloc.get_traced_memory()[1] - base, error
    finally:
        tracemalloc.stop()


# --- a hand-made zip writer, for archives np.savez would never write ----------------------------
def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _local_header(name: bytes, data: bytes) -> bytes:
    return struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                       len(name), 0) + name


def _central(name: bytes, data: bytes, offset: int) -> bytes:
    return struct.pack("<4s6H3I5HII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                       len(name), 0, 0, 0, 0, 0, offset) + name


def _end(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


def _nested_bomb(levels: int) -> tuple[bytes, int]:
    """A zip whose entry w<i> holds, as the values of a float32 array, the entries w<i+1> ..
    w<levels-1> after it (each entry's data contains the next ones), then a small 'meta'.
    Returns the file and the bytes its arrays add up to."""
    entries, tail = [], b""  # (name, data, npy header length), innermost first
    for i in reversed(range(levels)):
        payload = tail + b"\0" * (-len(tail) % 4)
        full = _npy(np.zeros(len(payload) // 4, np.float32))
        data = full[: len(full) - len(payload)] + payload
        name = f"w{i}.npy".encode()
        entries.append((name, data, len(full) - len(payload)))
        tail = _local_header(name, data) + data
    entries.reverse()
    offsets, position = [], 0
    for name, data, header in entries:  # entry i+1 starts right after entry i's .npy header
        offsets.append(position)
        position += len(_local_header(name, data)) + header
    meta = _npy(np.frombuffer(b'{"format": "numnet-model", "format_version": 1}', np.uint8))
    body = tail + _local_header(b"meta.npy", meta) + meta
    directory = b"".join(_central(name, data, offset) for (name, data, _), offset in zip(entries, offsets))
    directory += _central(b"meta.npy", meta, len(tail))
    return body + directory + _end(levels + 1, len(directory), len(body)), sum(len(d) for _, d, _ in entries)


# --- item 1: overlapping entries ------------------------------------------------------------------
def test_overlapping_entries_are_refused_before_anything_is_allocated(tmp_path):
    data, claimed = _nested_bomb(300)
    path = tmp_path / "bomb.npz"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:  # a well-formed zip to the standard library, CRCs included
        assert zf.testzip() is None and len(zf.namelist()) == 301
    with np.load(path, allow_pickle=False) as arrays:  # what reading every entry costs: 50x the file
        assert sum(arrays[f"w{i}"].nbytes for i in range(300)) > 0.99 * claimed > 50 * len(data)
    peak, error = _peak_bytes(lambda: nn.load_model(path))
    assert isinstance(error, ModelFileError)
    assert "overlap" in str(error) and "'w0.npy' and 'w1.npy'" in str(error)
    assert peak < 3 * len(data)  # the zip directory and its bookkeeping only
    assert path.read_bytes() == data


def test_entry_running_into_the_directory_is_refused(tmp_path):
    array = _npy(np.arange(4, dtype=np.float32))
    body = _local_header(b"w0.npy", array) + array
    # The directory claims 16 more bytes than the entry holds: they would be the directory itself.
    longer = array + b"\0" * 16
    directory = _central(b"w0.npy", longer, 0)
    path = tmp_path / "m.npz"
    path.write_bytes(body + directory + _end(1, len(directory), len(body)))
    with pytest.raises(ModelFileError, match="runs into the zip directory"):
        nn.load_model(path)


def test_the_number_of_entries_is_bounded(saved, monkeypatch):
    path, _ = saved
    entries = len(zipfile.ZipFile(path).namelist())
    monkeypatch.setattr(saving._npz_reader, "MAX_ENTRIES", entries - 1)  # 2**20 in earnest
    with pytest.raises(ModelFileError, match=rf"the archive has {entries} entries; numnet files hold at most"):
        nn.load_model(path)


def test_many_tiny_entries_cost_time_and_memory_linear_in_the_file(tmp_path):
    """20,000 empty arrays (4.5 MB): refused (nothing refers to them) after a bounded cost."""
    path = tmp_path / "many.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "numnet-model", "format_version": 1}', np.uint8),
             **{f"w{i}": np.zeros(0, np.float32) for i in range(20_000)})
    peak, error = _peak_bytes(lambda: nn.load_model(path))
    assert isinstance(error, ModelFileError) and "lacks the field 'model'" in str(error)
    assert peak < 4 * os.path.getsize(path)


def test_zip64_records_and_extra_fields_are_read(saved, monkeypatch):
    """np.savez switches to zip64 records past 65,535 entries or 4 GiB; lowered limits make a
    small file use them everywhere: the end record, and offsets in every entry's extra field."""
    path, _ = saved
    model = _model()
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 200)
    model.save(path)
    monkeypatch.undo()
    data = path.read_bytes()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # the zip64 end record and its locator
    assert _same(_weights(nn.load_model(path)), _weights(model))


def test_arrays_a_genuine_file_holds_add_up_to_less_than_its_size(saved):
    path, _ = saved
    with np.load(path, allow_pickle=False) as data:
        total = sum(data[k].nbytes for k in data.files)
    assert total < os.path.getsize(path)


def test_a_damaged_array_fails_its_checksum_and_nothing_is_loaded(saved):
    path, _ = saved
    data = bytearray(path.read_bytes())
    with saving._npz_reader.NpzReader(path) as reader:
        entry = reader.entries["w0.npy"]
    data[entry.data + entry.size - 1] ^= 0x10  # a byte of the Conv2D kernel's last value
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"entry 'w0.npy' is damaged: its checksum \(CRC-32\) does not match"):
        nn.load_model(path)


# --- item 11: the container is checked while reading -----------------------------------------------
@pytest.mark.skipif(not POSIX, reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "m.npz"
    os.mkfifo(path)
    outcome = []

    def load():
        try:
            nn.load_model(path)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():  # unblock the reader before failing
        with open(path, "wb"):
            pass
        pytest.fail("load_model blocked on a FIFO")
    assert isinstance(outcome[0], ModelFileError) and "is a FIFO (named pipe), not a regular file" in str(outcome[0])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading_it():
    peak, error = _peak_bytes(lambda: nn.load_model("/dev/zero"))
    assert isinstance(error, ModelFileError) and "is a character device, not a regular file" in str(error)
    assert peak < 2**20


def test_a_directory_raises_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        nn.load_model(tmp_path)


def test_a_3_gib_file_that_is_not_a_zip_is_refused_after_reading_its_tail(tmp_path):
    path = tmp_path / "huge.npz"
    with open(path, "wb") as f:  # sparse: no disk space, 3 GiB of zeros to read
        f.truncate(3 * 2**30)
    peak, error = _peak_bytes(lambda: nn.load_model(path))
    assert isinstance(error, ModelFileError) and "no end-of-directory record" in str(error)
    assert peak < 2**20  # at most the last 64 KiB were read


def test_a_60_mb_metadata_entry_of_tiny_objects_is_refused_before_parsing(tmp_path):
    hostile = b"[" + b"{}," * (20 * 2**20 - 1) + b"{}]"  # 60 MiB; parsed, it would take some 1.5 GB
    path = tmp_path / "m.npz"
    np.savez(path, meta=np.frombuffer(hostile, np.uint8))
    peak, error = _peak_bytes(lambda: nn.load_model(path))
    assert isinstance(error, ModelFileError)
    assert "could take up to" in str(error) and "bytes of memory to parse" in str(error)
    assert peak < 1.2 * len(hostile)  # the raw bytes and a small counting window


def test_metadata_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, meta=np.zeros(saving._MAX_META_BYTES + 1, np.uint8))
    peak, error = _peak_bytes(lambda: nn.load_model(path))
    assert isinstance(error, ModelFileError) and "at most 67108864 bytes" in str(error)
    assert peak < 2**20


def test_the_metadata_cost_bound_admits_genuine_metadata_and_bounds_the_parse(tmp_path):
    model = nn.Sequential([nn.Input((4,)), *[nn.Dense(4, activation="relu") for _ in range(300)]], seed=0)
    model.compile(loss="mse", optimizer="adam")
    model.save(tmp_path / "deep.npz")
    with np.load(tmp_path / "deep.npz", allow_pickle=False) as data:
        raw = data["meta"]
    bound = saving._meta_cost(raw)
    peak, error = _peak_bytes(lambda: json.loads(raw.tobytes()))
    assert error is None and peak <= bound <= 20 * raw.size  # genuine metadata: about 16x by the bound
    assert saving._meta_cost(np.frombuffer("é".encode(), np.uint8)) == -1  # numnet writes ASCII


@pytest.mark.parametrize("optimizer", [None, "sgd", "adam"])
def test_loading_a_genuine_file_allocates_no_more_than_the_model_keeps(tmp_path, optimizer):
    path = tmp_path / "m.npz"
    model = nn.Sequential([nn.Input((12, 12, 1)), nn.Conv2D(4, 3, padding="same"), nn.MaxPool2D(2), nn.Flatten(),
                           nn.Dense(2048), nn.Dense(3, activation="softmax")], seed=0)  # a 1.2 MB Dense kernel: the file is mostly arrays
    if optimizer is not None:
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
        model.fit(np.zeros((4, 12, 12, 1)), np.zeros(4, int), epochs=1, verbose=0)
    model.save(path)
    size = os.path.getsize(path)
    del model
    holder = []
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        holder.append(nn.load_model(path))
        kept, peak = (v - base for v in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    assert peak - kept < 0.05 * size  # nothing transient: no copy of the file, no second copy of an array
    if optimizer != "adam":
        assert peak < 1.2 * size
    else:  # the model keeps Adam's workspace (one more array per parameter) beside the file's arrays
        assert peak < 1.2 * size * 4 / 3


# --- item 13: error messages --------------------------------------------------------------------------
def test_running_out_of_memory_is_said_in_words(saved, monkeypatch):
    path, _ = saved

    def exhausted(archive):
        raise MemoryError()

    monkeypatch.setattr(saving, "_rebuild_model", exhausted)
    with pytest.raises(ModelFileError, match=r"is damaged or not a numnet model: not enough memory$"):
        nn.load_model(path)


def test_a_custom_layer_failing_without_a_message_still_says_something(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", dict(saving._CUSTOM_LAYERS))  # registered for this test only

    @saving.register_layer(name="Mute")
    class Mute(nn.layers.Dense):
        def __init__(self, *args, fail=False, **kwargs):
            if fail:
                raise AssertionError()
            super().__init__(*args, **kwargs)

    model = nn.Sequential([nn.Input((3,)), Mute(2, name="mute")])
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["meta"].tobytes())
    next(r for r in meta["model"]["layers"] if r["class_name"] == "Mute")["config"]["fail"] = True
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"\(Mute 'mute'\) cannot be rebuilt from its config: AssertionError "
                                             r"\(no details\)$"):
        nn.load_model(tmp_path / "m.npz")


def test_a_pickle_is_refused_without_numpys_advice_to_unpickle(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelFileError, match="not a numnet file: not a zip archive") as info:
        nn.load_model(path)
    assert "allow_pickle" not in str(info.value) and "trust" not in str(info.value)


def test_describe_is_never_empty():
    assert saving._describe(MemoryError()) == "not enough memory"
    assert saving._describe(KeyError()) == "KeyError (no details)"
    advice = ValueError("This file contains pickled (object) data. If you trust the file you can load it unsafely "
                        "using the `allow_pickle=` keyword argument or `pickle.load()`.")
    assert saving._describe(advice) == "ValueError: This file contains pickled (object) data."


def test_damaged_files_give_messages_that_say_something(saved):
    path, _ = saved
    original = path.read_bytes()
    rng = np.random.default_rng(15)
    for _ in range(400 if LONG else 60):
        data = bytearray(original)
        if rng.random() < 0.3:
            data = data[: rng.integers(0, len(data))]
        else:
            for position in rng.integers(0, len(data), rng.integers(1, 4)):
                data[position] = rng.integers(0, 256)
        path.write_bytes(bytes(data))
        try:
            nn.load_model(path)
        except ModelFileError as exc:
            message = str(exc)
            assert message.strip() and not message.rstrip().endswith(":"), message
            assert "allow_pickle" not in message and "If you trust" not in message, message


# --- item 7: permissions -------------------------------------------------------------------------------
@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(value):
        os.umask(value)

    yield set_umask
    os.umask(old)


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o027, 0o640)])
def test_a_new_file_honours_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    model = _model(None)
    model.save(tmp_path / "m.npz")
    model.save_weights(tmp_path / "w.npz")
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "w.npz").st_mode) == mode


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_overwriting_keeps_the_replaced_files_mode(tmp_path, umask):
    umask(0o077)
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    model = _model(None)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert _same(_weights(nn.load_model(path)), _weights(model))


# --- item 13: kill -9 during a save -------------------------------------------------------------------
def _temporaries(directory, name="m.npz"):
    return sorted(n for n in os.listdir(directory) if n.startswith(f".{name}.") and n.endswith(".tmp"))


_CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import numnet as nn
    from numnet import saving

    path, mode = sys.argv[1], sys.argv[2]
    model = nn.Sequential([nn.Input((4,)), nn.Dense(64), nn.Dense(2)], seed=1)
    if mode == "die-while-writing":
        real = saving._write_archive

        def dying(fileobj, arrays):
            fileobj.write(b"PK\\x03\\x04 half an archive")
            fileobj.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        saving._write_archive = dying
        model.save(path)
    else:  # save over and over until killed
        print("ready", flush=True)
        seed = 0
        while True:
            seed += 1
            model.layers[0].params["kernel"][...] = seed
            model.save(path)
""")


def _child(path, mode):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(nn.__file__)),
                                                                     os.environ.get("PYTHONPATH")] if p))
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(path), mode], env=env, stdout=subprocess.PIPE)


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_a_save_killed_midway_leaves_the_old_file_and_the_next_save_removes_the_orphan(saved):
    path, weights = saved
    before = path.read_bytes()
    child = _child(path, "die-while-writing")
    assert child.wait(60) == -signal.SIGKILL
    assert path.read_bytes() == before and _same(_weights(nn.load_model(path)), weights)
    assert len(_temporaries(path.parent)) == 1  # the killed save's temporary file
    model = _model(None, seed=3)
    model.save(path)
    assert _temporaries(path.parent) == []
    assert _same(_weights(nn.load_model(path)), _weights(model))


@pytest.mark.skipif(not POSIX or saving._atomic.fcntl is None, reason="flock")
def test_a_temporary_file_a_live_save_holds_is_not_removed(saved):
    import fcntl

    path, _ = saved
    busy = path.parent / ".m.npz.0123456789ab.tmp"
    with open(busy, "wb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # as a concurrent save holds its temporary file
        _model(None).save(path)
        assert busy.exists()
    _model(None).save(path)  # the lock is gone: the writer died, the file is an orphan
    assert not busy.exists()


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_kill_9_at_random_moments_of_repeated_saves(tmp_path):
    path = tmp_path / "m.npz"
    rng = np.random.default_rng(9)
    seen = set()
    for _ in range(25 if LONG else 3):
        child = _child(path, "save-forever")
        assert child.stdout.readline().strip() == b"ready"
        threading.Event().wait(float(rng.uniform(0.05, 0.4)))
        child.kill()
        child.wait(60)
        child.stdout.close()
        if path.exists():  # killed after at least one save: the file is one whole save
            kernel = nn.load_model(path).layers[0].params["kernel"]
            assert np.all(kernel == kernel.flat[0]) and kernel.flat[0] >= 1
            seen.add(float(kernel.flat[0]))
        assert len(_temporaries(tmp_path)) <= 1
    _model(None).save(path)
    assert _temporaries(tmp_path) == []
    assert seen  # some saves completed
