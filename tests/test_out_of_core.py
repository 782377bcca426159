"""Memory-mapped arrays train without a copy: the training and held-out rows of a
validation_split stay views of the file, and training works in a process whose private
memory (RLIMIT_DATA) could not hold a copy of them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

import numnet
from numnet import Dense, Input, Sequential
from numnet.training import fit_data


def test_validation_split_keeps_views_of_the_memmap_and_an_index_of_held_out_rows(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32))
    np.save(tmp_path / "y.npy", np.arange(200.0, dtype=np.float32)[:, None])
    x, y = np.load(path, mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")
    numnet.set_seed(0)
    model = Sequential([Input((6,)), Dense(1)])
    model.compile("sgd", "mse")
    train, val, n_train = fit_data.training_data(model, x, y, None, None, 32, True, 0.25, None, None, None, None, 1)
    assert n_train == 150
    for source in (train.source, val.source):
        assert np.shares_memory(source.xs[0], x) and np.shares_memory(source.ys[0], y)
    held_out, kept = val.source.index, train.source.index
    assert len(held_out) == 50 and np.array_equal(np.sort(np.concatenate([held_out, kept])), np.arange(200))
    # The held-out batches are exactly those rows, gathered per batch.
    gathered = np.concatenate([data[0][0] for data in val.epoch()])
    np.testing.assert_array_equal(gathered, x[held_out])


CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import numnet
    from numnet import Dense, Input, Sequential

    def private_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmData:"):
                return int(line.split()[1])

    numnet.set_seed(0)
    model = Sequential([Input((512,)), Dense(16, activation="relu"), Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.zeros((64, 512), np.float32), np.zeros((64, 1), np.float32), verbose=0)  # warm every path
    cap = (private_kb() << 10) + (24 << 20)  # 24 MB more than the process holds now
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    x = np.load(sys.argv[1], mmap_mode="r")
    y = np.load(sys.argv[2], mmap_mode="r")
    try:
        np.array(x[: len(x) // 2])  # the control: a copy of the held-out half does not fit
        print("copy fitted")
    except MemoryError:
        pass
    history = model.fit(x, y, batch_size=256, epochs=1, validation_split=0.5, verbose=0)
    print("trained", round(history.history["val_loss"][0], 3))
""")


def test_training_on_a_memmap_with_validation_split_fits_in_memory_that_a_copy_would_not(tmp_path):
    rows = 48_000  # 48,000 x 512 float32 = 98 MB: each half is twice the 24 MB of headroom
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(rows, 512))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 8000):
        x[start:start + 8000] = rng.normal(size=(8000, 512)).astype(np.float32)
    y = np.asarray(x[:, :1]) * 2.0
    np.save(tmp_path / "y.npy", y)
    x.flush()
    del x
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "copy fitted" not in out.stdout
    assert out.stdout.startswith("trained"), out.stdout
