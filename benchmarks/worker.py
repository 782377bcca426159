#!/usr/bin/env python
"""One benchmark process: times the named implementations of one case, in this process,
and prints a JSON object as its last line. bench.py starts it; run by hand it shows what
one process sees::

    python benchmarks/worker.py --impls torch --case e            # torch alone
    python benchmarks/worker.py --impls numnet,torch,floor --case a --repeats 3   # same process
    python benchmarks/worker.py --impls torch --case e --import-first numnet      # diagnosis

Only the implementations named are imported (each is a module ``impl_<name>.py`` beside
this file), so a process that times torch never imports numnet and the other way round;
the JSON lists what the process had imported at the end (``process.imported``). Each
implementation first runs once, untimed, on the first 2,048 samples (the warm-up); then
the implementations take turns ``--repeats`` times. Each run records wall time, the
process's CPU time, page faults and context switches, and, for training rows, the accuracy
on 10,000 held-out samples afterwards (untimed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impls", required=True, help="comma-separated: numnet, torch, floor, sklearn, keras")
    p.add_argument("--case", required=True, choices=list(common.CASE_LETTERS))
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--cnn-samples", type=int, default=6_000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--no-warmup", action="store_true")
    p.add_argument("--torch-threads", type=int, default=None)
    p.add_argument("--import-first", default="", help="modules to import before anything else (diagnosis)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in filter(None, args.import_first.split(",")):
        importlib.import_module(name)
    t_start = time.perf_counter()
    modules, skipped = {}, {}
    for name in args.impls.split(","):
        try:
            modules[name] = importlib.import_module(f"impl_{name}")
        except ImportError as exc:
            skipped[name] = f"not importable: {exc}"
    if "torch" in modules:
        modules["torch"].configure(args.torch_threads)
    import_s = time.perf_counter() - t_start
    data = common.load_data(args.samples, args.cnn_samples)
    warm = data.head(common.WARMUP_SAMPLES)
    rows: dict[str, dict] = {}
    errors = {}
    jobs_by_impl, warm_by_impl = {}, {}
    for name, module in modules.items():
        try:
            jobs_by_impl[name] = module.jobs(args.case, data)
            warm_by_impl[name] = {} if args.no_warmup else module.jobs(args.case, warm)
        except Exception as exc:  # report and go on with the others
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}"
    for row in common.ROWS[args.case]:
        jobs = {name: js[row] for name, js in jobs_by_impl.items() if row in js}
        warmups = {name: ws[row] for name, ws in warm_by_impl.items() if row in ws}
        try:
            rows[row] = common.time_jobs(jobs, args.repeats, warmups)
        except Exception as exc:
            traceback.print_exc()
            errors[row] = f"{type(exc).__name__}: {exc}"
    out = {
        "impls": list(modules), "case": args.case, "rows": rows, "skipped": skipped, "errors": errors,
        "versions": {name: module.version() for name, module in modules.items()},
        "import_s": import_s, "pid": os.getpid(), "process": common.process_info(),
    }
    print(json.dumps(out, default=str))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
