"""Peak memory of ``numnet.load_model`` against the file's size.

For each optimizer (none, SGD, Adam) the script saves an MLP 784-8192-10 (and its
optimizer state), then, in a fresh child process per file, loads it and reports

* ``traced peak``: the most bytes numpy and Python held at once during ``load_model``
  (tracemalloc), less what was held before;
* ``kept``: what they still hold once the model is loaded (the model's own arrays);
* ``rss peak``: how much the child's peak resident set size (``VmHWM``) grew during the
  load, which also counts what tracemalloc does not see (its own records, allocator slack);

each also as a multiple of the file's size. A genuine file should cost no more than what
the model keeps (Adam keeps one workspace array per parameter beyond the file's arrays).

    python benchmarks/load_memory.py [--units 8192] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, tracemalloc
import numnet as nn

def high_water():  # bytes; VmHWM is this process's own (ru_maxrss survives exec on Linux)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

before = high_water()
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
model = nn.load_model(sys.argv[1])
kept, peak = (v - base for v in tracemalloc.get_traced_memory())
tracemalloc.stop()
after = high_water()
print(json.dumps({"peak": peak, "kept": kept, "rss": after - before, "numnet": nn.__file__}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=8192, help="width of the hidden layer (8192: a 26 MB kernel)")
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary directory)")
    args = parser.parse_args()

    import numpy as np

    import numnet as nn

    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        print(f"numnet {nn.__file__}")
        print(f"{'optimizer':>9} {'file MB':>8} {'traced peak':>16} {'kept':>16} {'rss peak':>16}")
        for optimizer in (None, "sgd", "adam"):
            model = nn.Sequential([nn.Input((784,)), nn.Dense(args.units, activation="relu"), nn.Dense(10)], seed=0)
            if optimizer is not None:
                model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
                model.fit(np.zeros((8, 784), np.float32), np.zeros(8, int), epochs=1, verbose=0)
            path = os.path.join(directory, f"{optimizer}.npz")
            model.save(path)
            del model
            size = os.path.getsize(path)
            out = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout)
            cells = [f"{figures[k] / 1e6:7.1f} MB {figures[k] / size:4.2f}x" for k in ("peak", "kept", "rss")]
            print(f"{str(optimizer):>9} {size / 1e6:8.1f} " + " ".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
