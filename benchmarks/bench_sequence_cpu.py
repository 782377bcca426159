#!/usr/bin/env python
"""The sequence cases of bench.py (f: LSTM, g: GRU, h: MultiHeadAttention; rows ``-train``
and ``-predict``, see common.py) timed in **CPU seconds of one thread**, for a machine too
loaded for wall-clock figures: each library in fresh processes of its own with
``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1`` (and ``torch.set_num_threads(1)``),
the processes taking turns; each runs every row once untimed, then ``--repeats`` times, and
keeps the least ``time.process_time()``. A thread that waits for a core is not charged, so
the figure tracks the work done, not the load (the caches and memory bandwidth are still
shared, so expect some 10 % of noise).

Usage::

    python benchmarks/bench_sequence_cpu.py                        # f, g, h; numnet and torch
    python benchmarks/bench_sequence_cpu.py --numnet-src old=/path/src --numnet-src new=src --case f
    python benchmarks/bench_sequence_cpu.py --json benchmarks/results/sequence-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def child(lib: str, case: str, repeats: int, sequences: int) -> dict:
    sys.path.insert(0, HERE)
    import common

    if lib == "torch":
        import torch

        torch.set_num_threads(1)
        import seq_torch as module
    else:
        import seq_numnet as module

    class Sized:  # common.seq_samples reads len(data.x): 8 rows per sequence
        x = range(8 * min(sequences, common.SEQ_SAMPLES))

    out = {}
    for row, job in module.jobs(case, Sized()).items():
        job.run(job.setup())
        best = float("inf")
        for _ in range(repeats):
            state = job.setup()
            start = time.process_time()
            job.run(state)
            best = min(best, time.process_time() - start)
        out[row] = best
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", default="f,g,h")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per process (default 2)")
    p.add_argument("--rounds", type=int, default=2, help="processes per library, taking turns (default 2)")
    p.add_argument("--sequences", type=int, default=4096, help="sequences per epoch (default and most 4,096)")
    p.add_argument("--numnet-src", action="append", default=[], metavar="[LABEL=]PATH")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--child", nargs=2, metavar=("LIB", "CASE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.repeats, args.sequences)))
        return 0
    sources = [s.rpartition("=") for s in args.numnet_src] or [("", "", os.path.join(HERE, os.pardir, "src"))]
    libs = [(f"numnet@{label}" if label else "numnet", "numnet", os.path.abspath(path))
            for label, _, path in sources]
    if not args.no_torch:
        libs.append(("torch", "torch", None))
    best: dict = {}
    for case in args.case.split(","):
        for r in range(args.rounds):
            for name, lib, src in libs[r % len(libs):] + libs[: r % len(libs)]:
                env = dict(os.environ, **ONE_THREAD)
                if src:
                    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
                cmd = [sys.executable, __file__, "--child", lib, case, "--repeats", str(args.repeats),
                       "--sequences", str(args.sequences)]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                for row, seconds in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                    best.setdefault(row, {})[name] = min(seconds, best.get(row, {}).get(name, float("inf")))
                    print(f"  {row} {name} {seconds:.3f} s", flush=True)  # progress, in case a later run fails
    lines = []
    for row, times in best.items():
        text = f"{row}: " + ", ".join(f"{k} {v:.3f} s" for k, v in times.items())
        if "torch" in times:
            text += "; " + ", ".join(f"{k}/torch {v / times['torch']:.2f}" for k, v in times.items() if k != "torch")
        lines.append(text)
        print(text, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg": list(os.getloadavg()),
                       "cpu_seconds_one_thread": best, "summary": lines,
                       "numnets": {n: s for n, _, s in libs if s}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
