#!/usr/bin/env python
"""Experiment: does a fused, multithreaded Adam update pay against numnet's plain-NumPy one?

    python benchmarks/adam_fused.py                 # micro-benchmark, exactness, end-to-end case (a)
    python benchmarks/adam_fused.py --no-end-to-end --steps 300 --rounds 7

It leaves numnet untouched: the candidates are written here and, for the end-to-end part, a
subclass of ``numnet.optimizers.Adam`` that overrides ``_update`` is passed to ``compile``.

The update, over the 235,146 float32 parameters of case (a) (numnet keeps them in one flat
buffer, so one call per step), with M, V the exponential sums numnet keeps::

    M = b1 M + g;  V = b2 V + g^2;  p -= (M / (sqrt(V) + e)) * c

Candidates:

numpy        numnet's ``Adam._update`` as it is: ten NumPy passes, one thread
numexpr-T    the same arithmetic, in the same order, as three ``numexpr.evaluate`` passes
             (M, V, p) on T threads; the scalars are float32, so it computes in float32
numba-T      one fused loop (``numba.njit(parallel=True)``, T threads), where numba is installed

Measured: microseconds per update (a) back to back, the arrays hot in cache, and (b) inside
a training step: after the matrix products one step of case (a) needs (the "floor" step,
which evicts the optimizer's arrays from cache), minus that step alone; the exactness after
100 updates from the same state (largest difference in units of float32 spacing); and one
epoch of case (a) end to end with each optimizer against the GEMM floor.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

N_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10   # case (a): 235,146
B1, B2, EPS, LR = common.BETA_1, common.BETA_2, common.EPS, common.LR


def _scalars(t: int) -> tuple[float, float]:
    """numnet's folded scalars: (c, e) of ``p -= (M / (sqrt(V) + e)) * c``."""
    sum_scale = math.sqrt(1 - B2**t) / math.sqrt(1 - B2)
    return LR * (1 - B1) / (1 - B1**t) * sum_scale, EPS * sum_scale


def update_numpy(state, p, g, t):
    """numnet's Adam._update, pass for pass (src/numnet/optimizers.py)."""
    m, v, scratch = state["m"], state["v"], state["scratch"]
    c, e = _scalars(t)
    m *= B1
    m += g
    np.multiply(g, g, out=scratch)
    v *= B2
    v += scratch
    np.sqrt(v, out=scratch)
    scratch += e
    np.divide(m, scratch, out=scratch)
    scratch *= c
    p -= scratch


def make_numexpr(threads: int):
    import numexpr

    def update(state, p, g, t):
        numexpr.set_num_threads(threads)
        m, v = state["m"], state["v"]
        c, e = (np.float32(s) for s in _scalars(t))
        b1, b2 = np.float32(B1), np.float32(B2)
        numexpr.evaluate("m * b1 + g", out=m, casting="same_kind")
        numexpr.evaluate("v * b2 + g * g", out=v, casting="same_kind")
        numexpr.evaluate("p - (m / (sqrt(v) + e)) * c", out=p, casting="same_kind")

    return update


def make_numba(threads: int):
    import numba

    @numba.njit(parallel=True, fastmath=False, cache=False)
    def kernel(p, g, m, v, b1, b2, c, e):
        for i in numba.prange(p.shape[0]):
            gi = g[i]
            mi = m[i] * b1 + gi
            vi = v[i] * b2 + gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - (mi / (np.sqrt(vi) + e)) * c

    def update(state, p, g, t):
        numba.set_num_threads(threads)
        c, e = (np.float32(s) for s in _scalars(t))
        kernel(p, g, state["m"], state["v"], np.float32(B1), np.float32(B2), c, e)

    return update


def candidates(threads: list[int]) -> dict:
    out = {"numpy": update_numpy}
    if importlib.util.find_spec("numexpr"):
        out.update({f"numexpr-{t}": make_numexpr(t) for t in threads})
    if importlib.util.find_spec("numba"):
        out.update({f"numba-{t}": make_numba(t) for t in threads})
    return out


def fresh(seed: int = 0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(N_PARAMS, dtype=np.float32)
    g = (rng.standard_normal(N_PARAMS, dtype=np.float32) * 0.01).astype(np.float32)
    state = {"m": np.zeros_like(p), "v": np.zeros_like(p), "scratch": np.empty_like(p)}
    return state, p, g


def floor_step():
    """The matrix products of one training step of case (a), batch 128 (evicts the cache)."""
    job = __import__("impl_floor").floor_job(__import__("impl_floor").mlp_gemms(common.mlp_sizes("a")),
                                             128, 128, train=True)
    buffers = job.setup()
    return lambda: job.run(buffers)


def micro(cands: dict, steps: int, rounds: int) -> dict:
    gemm = floor_step()
    res = {name: {"hot": [], "in_step": []} for name in cands}
    base = []
    for name, fn in cands.items():  # compile / warm
        s, p, g = fresh()
        fn(s, p, g, 1)
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            gemm()
        base.append((time.perf_counter() - t0) / steps)
        for name, fn in cands.items():
            s, p, g = fresh()
            t0 = time.perf_counter()
            for t in range(1, steps + 1):
                fn(s, p, g, t)
            res[name]["hot"].append((time.perf_counter() - t0) / steps)
            s, p, g = fresh()
            t0 = time.perf_counter()
            for t in range(1, steps + 1):
                gemm()
                fn(s, p, g, t)
            res[name]["in_step"].append((time.perf_counter() - t0) / steps)
    floor = min(base)
    return {"floor_step_us": floor * 1e6,
            **{n: {"hot_us": min(r["hot"]) * 1e6, "in_step_us": (min(r["in_step"]) - floor) * 1e6}
               for n, r in res.items()}}


def exactness(cands: dict, steps: int = 100) -> dict:
    """Largest |p - p_numpy| after ``steps`` updates with varying gradients, in float32 ulps."""
    out = {}
    ref = None
    for name, fn in cands.items():
        s, p, _ = fresh()
        rng = np.random.default_rng(1)
        for t in range(1, steps + 1):
            fn(s, p, rng.standard_normal(N_PARAMS, dtype=np.float32) * np.float32(0.01), t)
        if ref is None:
            ref = p.copy()
        diff = np.abs(p - ref)
        ulps = diff / np.spacing(np.abs(ref))
        out[name] = {"identical": bool(np.array_equal(p, ref)), "max_abs_diff": float(diff.max()),
                     "max_ulps": float(ulps.max()), "differing": int(np.count_nonzero(diff))}
    return out


def end_to_end(cands: dict, rounds: int, samples: int) -> dict:
    import numnet

    import impl_floor
    import impl_numnet

    def optimizer_class(fn):
        class Candidate(numnet.optimizers.Adam):
            def _update(self, state, param, grad, lr):
                state["step"] += 1
                fn({"m": state["m"], "v": state["v"], "scratch": state["_scratch"]}, param, grad, int(state["step"]))
        return Candidate

    data = common.load_data(samples, 0)
    sizes = common.mlp_sizes("a")

    def job(fn):
        def make():
            model = impl_numnet.mlp(sizes)
            if fn is not None:
                model.compile(loss="sparse_categorical_cross_entropy",
                              optimizer=optimizer_class(fn)(learning_rate=LR, beta_1=B1, beta_2=B2, epsilon=EPS))
            return model
        return impl_numnet.train_job(make, data.x, data.y, 128, data.x_test, data.y_test)

    jobs = {"numnet Adam": job(None)}
    jobs.update({f"numnet + {n}": job(fn) for n, fn in cands.items() if n != "numpy"})
    jobs["floor"] = impl_floor.jobs("a", data)["a"]
    warm = {"numnet Adam": job(None)}
    timing = common.time_jobs(jobs, rounds, warm)
    best = {n: min(r["wall"] for r in t["runs"]) for n, t in timing.items()}
    return {n: {"best_s": b, "over_floor": b / best["floor"],
                "loss": (timing[n]["runs"][-1]["check"] or {}).get("loss"),
                "accuracy": timing[n]["runs"][-1].get("accuracy")} for n, b in best.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200, help="updates per timing (default 200)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds; the best counts (default 5)")
    p.add_argument("--threads", default="1,2", help="thread counts for the fused candidates (default 1,2)")
    p.add_argument("--only", help="comma-separated candidates to keep besides numpy (e.g. numba-1)")
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--no-end-to-end", action="store_true")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    cands = candidates([int(t) for t in args.threads.split(",")])
    if args.only:
        cands = {k: v for k, v in cands.items() if k == "numpy" or k in args.only.split(",")}
    print(f"candidates: {', '.join(cands)}; {N_PARAMS} float32 parameters; load average {common.loadavg()}")
    out = {"n_params": N_PARAMS, "machine": common.machine_info(), "loadavg_before": common.loadavg()}
    out["micro"] = micro(cands, args.steps, args.rounds)
    print(f"\nper update (us): floor step of (a) alone {out['micro']['floor_step_us']:.0f}")
    print(f"{'candidate':<12} {'hot':>8} {'in step':>8}")
    for n in cands:
        r = out["micro"][n]
        print(f"{n:<12} {r['hot_us']:>8.0f} {r['in_step_us']:>8.0f}")
    out["exactness"] = exactness(cands)
    print("\nafter 100 updates, against numpy:")
    for n, r in out["exactness"].items():
        print(f"  {n:<12} identical={r['identical']} max|diff|={r['max_abs_diff']:.3g} "
              f"max ulps={r['max_ulps']:.1f} differing={r['differing']}")
    if not args.no_end_to_end:
        out["end_to_end"] = end_to_end(cands, args.rounds, args.samples)
        print("\ncase (a), one epoch, best of", args.rounds)
        for n, r in out["end_to_end"].items():
            print(f"  {n:<18} {r['best_s']:.3f} s  numnet/floor {r['over_floor']:.2f}"
                  + (f"  loss {r['loss']:.4f} accuracy {r['accuracy']:.4f}" if r["loss"] is not None else ""))
    out["loadavg_after"] = common.loadavg()
    out["processes"] = common.process_info()
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
