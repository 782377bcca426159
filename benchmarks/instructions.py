#!/usr/bin/env python
"""Instructions executed per epoch of cases a-e, numnet tree against numnet tree: a regression
check that machine noise cannot move.

    python benchmarks/instructions.py --numnet-src old=/tmp/old/src --numnet-src new=src
    python benchmarks/instructions.py --case b,d --numnet-src old=... --numnet-src new=src --json out.json

Why: on a shared 2-core VM the wall-clock time of one epoch moves by up to 60 % between
back-to-back runs of the *same* code (benchmarks/results/graph-ab-quiet-*.json: case b took
1.96-3.20 s for one tree), so a 5 % budget cannot be checked with a stopwatch there. The
number of instructions a run executes does not depend on the neighbours. It is not time
(a cache miss costs no instruction, BLAS runs several flops per instruction), so it checks
the work the Python and NumPy code asks for, which is what a refactoring changes; the
wall-clock A/B of ``bench.py`` stays the measure of speed.

How: each case runs under ``valgrind --tool=cachegrind --cache-sim=no`` with
``OPENBLAS_NUM_THREADS=1`` twice, once with 0 and once with 2 timed passes after the same
set-up and warm-up (``instructions_job.py``); half the difference is one pass: a training
epoch of the case's model on a subset (a, b, d: 3,200 samples; e: 1,280 images) or a
``predict`` (c: 8,192 samples; e-predict: 1,024 images). Runs go two at a time. Needs valgrind
(``apt-get install valgrind``); several minutes per tree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ("a", "b", "c", "d", "e-train", "e-predict")
PASSES = 2


def count(src: str, case: str, passes: int) -> int:
    """Instructions of one ``instructions_job.py`` run (valgrind's ``I refs``)."""
    env = {**os.environ, "PYTHONPATH": src, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, os.path.join(HERE, "instructions_job.py"), case, str(passes)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"{case} under {src}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numnet-src", action="append", required=True, metavar="LABEL=PATH")
    parser.add_argument("--case", default=",".join(CASES), help=f"comma-separated among {', '.join(CASES)}")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--threshold", type=float, default=0.05)
    args = parser.parse_args(argv)
    trees = dict(spec.split("=", 1) if "=" in spec else (spec, spec) for spec in args.numnet_src)
    cases = [c for c in args.case.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose among {CASES}")
    jobs = [(label, src, case, passes) for case in cases for label, src in trees.items() for passes in (0, PASSES)]
    start = time.time()
    with ThreadPoolExecutor(2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(job[1], job[2], job[3]), jobs)))
    per_pass = {case: {label: (counts[(label, src, case, PASSES)] - counts[(label, src, case, 0)]) / PASSES
                       for label, src in trees.items()} for case in cases}
    labels = list(trees)
    print(f"instructions per pass (millions), {' / '.join(labels)}; {time.time() - start:.0f} s")
    flagged = False
    for case in cases:
        row = per_pass[case]
        line = f"  {case:10s}" + "".join(f" {row[label] / 1e6:10.1f}" for label in labels)
        if len(labels) >= 2:
            ratio = row[labels[-1]] / row[labels[0]]
            slower = ratio > 1 + args.threshold
            flagged |= slower
            line += f"   {labels[-1]}/{labels[0]} {ratio:.3f}{'  MORE' if slower else ''}"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "trees": trees, "passes": PASSES, "per_pass": per_pass,
                       "counts": {f"{label}|{case}|{passes}": n for (label, _, case, passes), n in counts.items()}},
                      f, indent=2)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
