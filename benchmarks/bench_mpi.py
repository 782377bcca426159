#!/usr/bin/env python
"""Data-parallel training step time of case (a) with 1 and 2 processes, the share of it
spent in the Allreduce, and an estimate of the scaling efficiency on 8 and 64 machines.

Usage::

    python benchmarks/bench_mpi.py                       # 1 and 2 processes, best of 3
    python benchmarks/bench_mpi.py --processes 1,2,3 --steps 120 --json benchmarks/results/mpi.json

Each process count is one ``mpiexec -n P python benchmarks/bench_mpi.py --worker`` run
(numnet's ``DataParallel``; BLAS limited to one thread per process, so P processes use
P cores). A worker trains the MLP of case (a) (784-256-128-10, Adam, float32, global batch
128) for ``--steps`` steps after a warm-up, ``--repeats`` times, and reports the best step
time and the time spent inside the step's Allreduce (its wait for the slower process
included). It also times a bare Allreduce of the gradient buffer, and (with one process)
the step without any distribution and the step of case (e) (the CNN, batch 64), which the
estimate needs.

The estimate (weak scaling: every machine keeps the case's batch, the global batch grows
with the machines) takes the measured one-process compute time per step ``t`` and the
Allreduce time of a bandwidth-optimal algorithm (reduce-scatter + all-gather, MPICH's
choice for large buffers): ``T(p) = 2 log2(p) alpha + 2 (p - 1) / p * S / B`` for ``S``
bytes of gradient, link latency ``alpha`` and bandwidth ``B``. Efficiency ``t / (t + T)``
without overlap; ``t / (t + max(0, T - t_backward))`` if the Allreduce overlapped backward
(``t_backward`` taken as 2/3 of the step).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

# (name, bandwidth bytes/s, latency s): MPI over TCP on 10 Gb Ethernet, and 100 Gb/s InfiniBand.
LINKS = [("10 GbE", 1.25e9, 50e-6), ("100 Gb IB", 12.5e9, 2e-6)]


def _time_fit(model, x, y, batch, repeats):
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=batch, verbose=0, shuffle=True)
        best = min(best, time.perf_counter() - start)
    return best


def worker(args) -> None:
    import numpy as np

    sys.path.insert(0, HERE)
    import numnet
    from common import CNN_TRAIN_BATCH, MLP_BATCH, make_data, mlp_sizes
    import impl_numnet

    dist = numnet.distribution.DataParallel()
    numnet.distribution.set_distribution(dist)
    batch = MLP_BATCH["a"]
    x, y = make_data(args.steps * batch)
    model = impl_numnet.mlp(mlp_sizes("a"))
    model.fit(x[:2048], y[:2048], epochs=1, batch_size=batch, verbose=0)  # warm-up (and the first broadcast)

    timing = {"allreduce": 0.0, "calls": 0}
    plain_allreduce = dist.allreduce
    gradient_size = model.flat_parameters().size

    def timed_allreduce(buffer):
        if buffer.size < gradient_size:  # the step's buffer only, not the loss-count exchanges
            return plain_allreduce(buffer)
        start = time.perf_counter()
        plain_allreduce(buffer)
        timing["allreduce"] += time.perf_counter() - start
        timing["calls"] += 1
        return buffer

    dist.allreduce = timed_allreduce
    best, best_share = math.inf, None
    for _ in range(args.repeats):
        timing.update(allreduce=0.0, calls=0)
        dist.barrier()
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=batch, verbose=0, shuffle=True)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, best_share = elapsed, timing["allreduce"] / elapsed
    dist.allreduce = plain_allreduce

    buffer = np.zeros(gradient_size + 3, dtype=np.float32)
    for _ in range(20):
        dist.allreduce(buffer)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(200):
        dist.allreduce(buffer)
    bare = (time.perf_counter() - start) / 200

    result = {"processes": dist.size, "step_s": best / args.steps, "allreduce_share": best_share,
              "bare_allreduce_s": bare, "gradient_floats": gradient_size, "steps": args.steps}
    if dist.size == 1:
        numnet.distribution.set_distribution(None)
        plain = impl_numnet.mlp(mlp_sizes("a"))
        plain.fit(x[:2048], y[:2048], epochs=1, batch_size=batch, verbose=0)
        result["plain_step_s"] = _time_fit(plain, x, y, batch, args.repeats) / args.steps
        cnn = impl_numnet.cnn()
        images = x[: 20 * CNN_TRAIN_BATCH].reshape(-1, 28, 28, 1)
        labels = y[: 20 * CNN_TRAIN_BATCH]
        cnn.fit(images[:256], labels[:256], epochs=1, batch_size=CNN_TRAIN_BATCH, verbose=0)
        result["cnn_step_s"] = _time_fit(cnn, images, labels, CNN_TRAIN_BATCH, args.repeats) / 20
        result["cnn_gradient_floats"] = cnn.flat_parameters().size
    if dist.rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def allreduce_time(p: int, nbytes: float, bandwidth: float, latency: float) -> float:
    if p == 1:
        return 0.0
    return 2 * math.log2(p) * latency + 2 * (p - 1) / p * nbytes / bandwidth


def estimate(case: str, step: float, floats: int) -> list[str]:
    lines = []
    nbytes = 4 * floats
    for name, bandwidth, latency in LINKS:
        for p in (8, 64):
            t = allreduce_time(p, nbytes, bandwidth, latency)
            plain = step / (step + t)
            overlapped = step / (step + max(0.0, t - 2 / 3 * step))
            half = step / (step + allreduce_time(p, nbytes / 2, bandwidth, latency))
            lines.append(f"| ({case}) | {name} | {p} | {step * 1e3:.2f} | {nbytes / 1e6:.2f} | {t * 1e3:.2f} | "
                         f"{plain:.0%} | {overlapped:.0%} | {half:.0%} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--steps", type=int, default=80, help="timed steps per run (global batches of 128)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--compute-ms", default="",
                        help="per-step compute times for the estimate instead of this run's, e.g. a=1.87,e=21.3 "
                             "(a quiet machine's figures: a loaded one's overstate the efficiency)")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = beside if os.path.exists(beside) else shutil.which("mpiexec")
    env = dict(os.environ, **ONE_THREAD)
    results = []
    for p in [int(v) for v in args.processes.split(",")]:
        command = [mpiexec, "-n", str(p), sys.executable, os.path.abspath(__file__), "--worker",
                   "--steps", str(args.steps), "--repeats", str(args.repeats)]
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        line = next(text for text in out.stdout.splitlines() if text.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT "):]))
    one = next(r for r in results if r["processes"] == 1)
    print("| processes | step (ms) | in the Allreduce | bare Allreduce of the gradient (ms) |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| {r['processes']} | {r['step_s'] * 1e3:.3f} | {r['allreduce_share']:.1%} | "
              f"{r['bare_allreduce_s'] * 1e3:.3f} |")
    print(f"\none process without a distribution: {one['plain_step_s'] * 1e3:.3f} ms per step of (a); "
          f"(e) {one['cnn_step_s'] * 1e3:.3f} ms per step of batch 64; gradients: (a) {one['gradient_floats']:,} "
          f"floats, (e) {one['cnn_gradient_floats']:,}\n")
    print("| case | link | machines | compute per step (ms) | gradient (MB) | Allreduce (ms) | efficiency | "
          "overlapped with backward | fp16 gradients |")
    print("|---|---|---|---|---|---|---|---|---|")
    compute = {"a": one["plain_step_s"], "e": one["cnn_step_s"]}
    for item in filter(None, args.compute_ms.split(",")):
        case, value = item.split("=")
        compute[case.strip()] = float(value) / 1e3
    for line in estimate("a", compute["a"], one["gradient_floats"]):
        print(line)
    for line in estimate("e", compute["e"], one["cnn_gradient_floats"]):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "links": LINKS}, f, indent=1)


if __name__ == "__main__":
    main()
