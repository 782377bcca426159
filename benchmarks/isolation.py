#!/usr/bin/env python
"""Experiment: why a library's time in one process differs from its time alone.

    python benchmarks/isolation.py --case e --target torch --rounds 3
    python benchmarks/isolation.py --case a --target numnet

Times one implementation (``--target``) of one case in fresh processes under variants that
each change one thing, taking turns, best of ``--rounds``:

alone              the target alone (bench.py's own-process column)
after-import       the other library (numnet for torch, torch for numnet) imported first, not run
same-process       the other library imported and run in the same process, turn about
                   (bench.py's same-process column)
malloc-no-trim     alone, glibc told to keep freed memory (``MALLOC_TRIM_THRESHOLD_`` and
                   ``MALLOC_MMAP_THRESHOLD_`` = 1 GiB, ``MALLOC_TOP_PAD_`` 256 MiB): big arrays
                   are no longer mapped and unmapped, i.e. page-faulted in, on every allocation
omp-passive        alone, ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads sleep at once instead of
                   spinning after a parallel region (torch only)
blas-1-thread      alone, ``OPENBLAS_NUM_THREADS=1``

Each row gives the best and median seconds and, for the best run, CPU seconds / wall
seconds (how many cores it kept busy), minor page faults and involuntary context switches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

MALLOC_KEEP = {"MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**30),
               "MALLOC_TOP_PAD_": str(2**28)}


def variants(target: str) -> dict:
    other = "numnet" if target == "torch" else "torch"
    v = {
        "alone": ([target], "", {}),
        "after-import": ([target], other, {}),
        "same-process": ([other, target] if target == "torch" else [target, other], "", {}),
        "malloc-no-trim": ([target], "", MALLOC_KEEP),
        "blas-1-thread": ([target], "", {"OPENBLAS_NUM_THREADS": "1"}),
    }
    if target == "torch":
        v["omp-passive"] = ([target], "", {"OMP_WAIT_POLICY": "PASSIVE"})
    return v


def run_variant(impls, import_first, env_extra, case, args) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--impls", ",".join(impls), "--case", case,
           "--samples", str(args.samples), "--cnn-samples", str(args.cnn_samples), "--repeats", str(args.inner)]
    if import_first:
        cmd += ["--import-first", import_first]
    env = dict(os.environ, **env_extra)
    if args.numnet_src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.abspath(args.numnet_src), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", default="e", choices=list(common.CASE_LETTERS))
    p.add_argument("--row", help="the row to report (default: the case's first)")
    p.add_argument("--target", default="torch", choices=["torch", "numnet"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--inner", type=int, default=1, help="timed runs per process (default 1)")
    p.add_argument("--only", help="comma-separated variants to run (default all)")
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--cnn-samples", type=int, default=6_000)
    p.add_argument("--numnet-src", help="PYTHONPATH for numnet (default: the environment's)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    row = args.row or common.ROWS[args.case][0]
    vs = variants(args.target)
    if args.only:
        vs = {k: vs[k] for k in args.only.split(",")}
    runs = {k: [] for k in vs}
    print(f"{args.target}, row {row}; load average {common.loadavg()}", flush=True)
    for r in range(args.rounds):
        names = list(vs)
        for name in names[r % len(names):] + names[: r % len(names)]:
            impls, first, env = vs[name]
            out = run_variant(impls, first, env, args.case, args)
            runs[name] += out["rows"][row][args.target]["runs"]
            print(f"  round {r + 1} {name}: {out['rows'][row][args.target]['runs'][-1]['wall']:.3f} s", flush=True)
    summary = {}
    print(f"\n{'variant':<16} {'best s':>8} {'median s':>9} {'cpu/wall':>9} {'minflt':>8} {'invol cs':>9}")
    for name, rs in runs.items():
        rs = sorted(rs, key=lambda x: x["wall"])
        best = rs[0]
        summary[name] = {"best": best["wall"], "median": rs[len(rs) // 2]["wall"],
                         "cpu_per_wall": (best["cpu_user"] + best["cpu_sys"]) / best["wall"],
                         "minor_faults": best["minor_faults"], "involuntary_switches": best["involuntary_switches"],
                         "times": [x["wall"] for x in runs[name]]}
        s = summary[name]
        print(f"{name:<16} {s['best']:>8.3f} {s['median']:>9.3f} {s['cpu_per_wall']:>9.2f} "
              f"{s['minor_faults']:>8d} {s['involuntary_switches']:>9d}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"case": args.case, "row": row, "target": args.target, "rounds": args.rounds,
                       "machine": common.machine_info(), "variants": {k: [v[0], v[1], v[2]] for k, v in vs.items()},
                       "summary": summary, "runs": runs}, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
