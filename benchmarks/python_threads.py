"""Can Python threads put NumPy's elementwise work on the second core? Two measurements:

1. ``ufuncs``: ``exp`` then a multiply, in place, on row blocks of ``(rows, 512)`` float32,
   serially over ``2 * rows`` rows against two threads of ``rows`` rows each (NumPy
   releases the GIL inside a ufunc, so the threads overlap between their Python steps).
2. ``lstm``: an ``LSTM(128)`` forward over ``(batch, 80, 64)`` float32, serially against
   the batch split in two halves run by two threads, each half on its own layer object
   sharing the weights, with OpenBLAS held to one thread per call (threadpoolctl; without
   it the two threads' products queue behind each other's two BLAS threads).

    python benchmarks/python_threads.py                 # both, best of 7
    python benchmarks/python_threads.py --json benchmarks/results/python-threads.json

BENCHMARKS.md ("Threads") reads these figures: the speed-up of the threaded form over
the serial one, on a machine with two cores.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _best(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def ufuncs(pool, rows: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    whole = rng.standard_normal((2 * rows, 512)).astype(np.float32)
    halves = [whole[:rows].copy(), whole[rows:].copy()]
    calls = 800 * 128 // rows  # the same number of values for every block size

    def work(block, n):
        for _ in range(n):
            np.exp(block, out=block)
            block *= 0.001

    serial = _best(lambda: work(whole, calls), repeats)

    def threaded():
        other = pool.submit(work, halves[1], calls)
        work(halves[0], calls)
        other.result()

    parallel = _best(threaded, repeats)
    return {"rows_per_thread": rows, "values_per_call": rows * 512, "serial_s": serial, "threads_s": parallel,
            "speedup": serial / parallel}


def lstm(pool, batch: int, repeats: int) -> dict | None:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    import numnet

    layers = [numnet.layers.LSTM(128), numnet.layers.LSTM(128)]
    for layer in layers:
        layer.build_for((None, 64))
    layers[0].params = {k: v.astype(np.float32) for k, v in layers[0].params.items()}
    layers[1].params = layers[0].params
    x = np.random.default_rng(0).standard_normal((batch, 80, 64)).astype(np.float32)
    half = batch // 2
    controller = ThreadpoolController()

    def threaded():
        with controller.limit(limits=1, user_api="blas"):
            other = pool.submit(layers[1].forward, x[half:])
            first = layers[0].forward(x[:half])
            return np.concatenate([first, other.result()])

    serial = _best(lambda: layers[0].forward(x), repeats)
    with controller.limit(limits=1, user_api="blas"):
        serial_one_blas = _best(lambda: layers[0].forward(x), repeats)
    parallel = _best(threaded, repeats)
    difference = float(np.abs(threaded() - layers[0].forward(x)).max())
    return {"batch": batch, "serial_s": serial, "serial_one_blas_thread_s": serial_one_blas, "threads_s": parallel,
            "speedup": serial / parallel, "max_abs_difference": difference}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    with ThreadPoolExecutor(1) as pool:
        result = {"ufuncs": [ufuncs(pool, rows, args.repeats) for rows in (32, 128, 512)],
                  "lstm": [r for r in (lstm(pool, b, args.repeats) for b in (64, 256)) if r is not None]}
    for row in result["ufuncs"]:
        print(f"ufuncs, {row['values_per_call']:>7} values per call per thread: serial {row['serial_s'] * 1e3:7.1f} ms, "
              f"two threads {row['threads_s'] * 1e3:7.1f} ms, speed-up {row['speedup']:.2f}")
    for row in result["lstm"]:
        print(f"LSTM(128) forward, batch {row['batch']:>3}: serial {row['serial_s'] * 1e3:6.1f} ms "
              f"(one BLAS thread {row['serial_one_blas_thread_s'] * 1e3:6.1f}), two threads on half batches "
              f"{row['threads_s'] * 1e3:6.1f} ms, speed-up {row['speedup']:.2f}")
    if not result["lstm"]:
        print("LSTM part skipped: threadpoolctl is not installed (pip install threadpoolctl)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
