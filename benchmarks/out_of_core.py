"""Training on a memory-mapped data set several times larger than the memory the process may
allocate: ``python benchmarks/out_of_core.py [--sizes 0.25,0.5,1] [--cap-mb 160]``.

For each size (GB of float32 features), the script writes ``x`` (512 features a row) and
integer labels as ``.npy`` files in a temporary folder, then trains an MLP for one epoch in
a fresh process that opens them with ``np.load(mmap_mode="r")``, with ``shuffle=True`` and
``validation_split=0.1``. That process limits its private memory with
``resource.setrlimit(RLIMIT_DATA, cap)``: every allocation (NumPy arrays, Python objects,
thread stacks) counts against it, a read-only mapping of a file does not. A copy of the
training or the held-out rows would need more than the cap and fail with MemoryError.

It reports, per size: the peak private resident memory (``RssAnon`` in /proc/self/status,
sampled every 5 ms), the peak of the private address space (``VmData``) and the peak total
resident set (``ru_maxrss``). The last includes the file's pages the kernel keeps cached
while they are read; those are clean page cache that the kernel drops under pressure, so
they grow with the data but do not limit what fits. Figures go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

FEATURES = 512
CLASSES = 10


def _status(field: str) -> int:
    """A /proc/self/status field, in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(folder: str, cap_mb: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (cap_mb << 20, cap_mb << 20))
    import numpy as np

    import numnet
    from numnet import Dense, Input, Sequential

    peaks = {"RssAnon": 0, "VmData": 0}
    running = True

    def sample():
        while running:
            for key in peaks:
                peaks[key] = max(peaks[key], _status(key))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    x = np.load(os.path.join(folder, "x.npy"), mmap_mode="r")
    y = np.load(os.path.join(folder, "y.npy"), mmap_mode="r")
    numnet.set_seed(0)
    model = Sequential([Input((FEATURES,)), Dense(64, activation="relu"), Dense(CLASSES, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=512, epochs=1, shuffle=True, validation_split=0.1, verbose=0)
    elapsed = time.perf_counter() - start
    running = False
    sampler.join()
    import resource as r

    print(json.dumps({
        "rows": len(x), "gb": x.nbytes / 1e9, "cap_mb": cap_mb, "seconds": round(elapsed, 1),
        "peak_rss_anon_mb": round(peaks["RssAnon"] / 1024, 1), "peak_vm_data_mb": round(peaks["VmData"] / 1024, 1),
        "ru_maxrss_mb": round(r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "val_accuracy": round(history.history["val_accuracy"][0], 3),
    }))


def write(folder: str, gigabytes: float) -> None:
    import numpy as np

    rows = int(gigabytes * 1e9 / (4 * FEATURES))
    x = np.lib.format.open_memmap(os.path.join(folder, "x.npy"), mode="w+", dtype=np.float32, shape=(rows, FEATURES))
    y = np.lib.format.open_memmap(os.path.join(folder, "y.npy"), mode="w+", dtype=np.int64, shape=(rows,))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(CLASSES, FEATURES)).astype(np.float32)
    chunk = 16384
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        labels = rng.integers(0, CLASSES, stop - start)
        x[start:stop] = centres[labels] + rng.normal(size=(stop - start, FEATURES)).astype(np.float32)
        y[start:stop] = labels
    x.flush()
    y.flush()
    del x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0.25,0.5,1", help="data sizes in GB (default 0.25,0.5,1)")
    parser.add_argument("--cap-mb", type=int, default=160, help="RLIMIT_DATA of the training process (MB)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.cap_mb)
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for size in (float(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=os.environ.get("NUMNET_BENCH_TMP")) as folder:
            write(folder, size)
            out = subprocess.run([sys.executable, __file__, "--child", folder, "--cap-mb", str(args.cap_mb)],
                                 env=env, capture_output=True, text=True)
            if out.returncode:
                print(f"{size} GB: failed\n{out.stderr[-2000:]}")
                continue
            print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
