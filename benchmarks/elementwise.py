"""Nanoseconds per element of the elementwise functions the gates and softmax are made of,
NumPy against PyTorch, each library in its own fresh process, one thread each.

    python benchmarks/elementwise.py                  # 32 Ki float32 values, best of 7
    python benchmarks/elementwise.py --size 131072 --json benchmarks/results/elementwise.json

What it answers (BENCHMARKS.md, "Why the sequence targets are out of reach here"): whether
numnet's recurrent and attention cases lose to PyTorch because NumPy's single ``exp`` /
``tanh`` is slower, or because PyTorch runs its elementwise work on more cores.
Inputs are standard normal values (those of a gate's pre-activation), outputs written into
a preallocated array (``out=``), so the figures are the functions' own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

FUNCTIONS = ("exp", "tanh", "sigmoid", "multiply")

_CHILD = r"""
import json, sys, timeit
lib, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
number = max(1, 4_000_000 // size)
if lib == "numpy":
    import numpy as np
    x = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    out = np.empty_like(x)
    def sigmoid(a, out):
        np.negative(a, out=out); np.exp(out, out=out); out += 1; np.reciprocal(out, out=out)
    calls = {"exp": lambda: np.exp(x, out=out), "tanh": lambda: np.tanh(x, out=out),
             "sigmoid": lambda: sigmoid(x, out), "multiply": lambda: np.multiply(x, x, out=out)}
else:
    import torch
    torch.set_num_threads(1)
    x = torch.randn(size, generator=torch.Generator().manual_seed(0))
    out = torch.empty_like(x)
    calls = {"exp": lambda: torch.exp(x, out=out), "tanh": lambda: torch.tanh(x, out=out),
             "sigmoid": lambda: torch.sigmoid(x, out=out), "multiply": lambda: torch.mul(x, x, out=out)}
result = {}
for name, call in calls.items():
    best = min(timeit.repeat(call, number=number, repeat=repeats)) / number
    result[name] = best / size * 1e9
print(json.dumps(result))
"""


def measure(lib: str, size: int, repeats: int) -> dict | None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, lib, str(size), str(repeats)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        if "No module named 'torch'" in proc.stderr:
            return None
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32768, help="float32 values per call (default 32 Ki)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; the best counts (default 7)")
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per library, alternating")
    parser.add_argument("--json", help="write the figures (ns per element, best over rounds) here")
    args = parser.parse_args(argv)
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for lib in ("numpy", "torch"):
            figures = measure(lib, args.size, args.repeats)
            if figures is None:
                continue
            mine = best.setdefault(lib, {})
            for name, value in figures.items():
                mine[name] = min(value, mine.get(name, float("inf")))
    print(f"ns per float32 element, {args.size} values, one thread, best of {args.rounds} processes x {args.repeats}")
    print("function   " + "".join(f"{lib:>10}" for lib in best) + ("   numpy/torch" if "torch" in best else ""))
    for name in FUNCTIONS:
        row = "".join(f"{best[lib][name]:10.2f}" for lib in best)
        ratio = f"{best['numpy'][name] / best['torch'][name]:14.2f}" if "torch" in best else ""
        print(f"{name:<11}{row}{ratio}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "repeats": args.repeats, "rounds": args.rounds, "ns_per_element": best},
                      f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
