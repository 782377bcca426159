#!/usr/bin/env python
"""numnet against PyTorch, scikit-learn, Keras and a "GEMM floor", each in its own process.

Usage::

    python benchmarks/bench.py --repeats 3 --json benchmarks/results/latest.json
    python benchmarks/bench.py --case a,b            # only some cases
    python benchmarks/bench.py --numnet-src old=/path/to/old/src --numnet-src new=src --case a
    python benchmarks/bench.py --profile a           # cProfile numnet on case a (top 25)
    python benchmarks/bench.py --custom-dense        # call()-layer Dense against the built-in one
    python benchmarks/bench.py --quick --no-torch    # tiny sizes, for CI / smoke tests

Every case trains (or predicts with) the same network, on the same seeded float32 data,
with the same batch size and optimizer (Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-7). What
each implementation runs is in the docstring of its module, ``benchmarks/impl_<name>.py``:

numnet   the public API as a user calls it (``Sequential``, ``compile``, ``fit``, ``predict``)
torch    an equal ``nn.Sequential`` and a standard training loop
floor    only the matrix products a step needs, numpy on preallocated arrays
sklearn  ``MLPClassifier`` with the same network, Adam, batch size and one epoch (MLP cases)
keras    Keras 3 on JAX (``--keras-backend``), optional (``--peers sklearn,keras``; needs keras)

Two columns of figures:

own process (the headline)
    each implementation in a fresh process of its own (``benchmarks/worker.py``) that
    imports that library only: numnet's never imports torch, torch's never imports numnet.
    For each case the processes take turns (numnet, torch, floor, peers; the order rotates
    each round), ``--repeats`` rounds; each process runs a warm-up (2,048 samples, untimed),
    then one timed run (``--inner``). The best time over the rounds counts.
same process (second column)
    numnet, torch and the floor in one process, as this script did before: one warm-up
    each, then ``--repeats`` turns. A library's time here depends on what else the process
    loaded and ran; BENCHMARKS.md says why.

Cases (``--case`` takes a comma-separated list of the letters):

a  MLP 784-256-128-10, ReLU, softmax + sparse CCE, Adam, batch 128, 1 epoch of 60,000
b  the same, batch 32
c  predict with the MLP of (a) on 60,000 samples, batch 1024
d  MLP 784-(64 x 8 hidden layers)-10, batch 32, 1 epoch of 60,000 (784-dim inputs)
e  LeNet-style CNN on 28x28x1: Conv 32 3x3 relu, MaxPool 2, Conv 64 3x3 relu, MaxPool 2,
   Flatten, Dense 128 relu, Dense 10; batch 64, Adam; rows ``e-train`` (one epoch of
   ``--cnn-samples``, default 6,000, the first rows of the same data) and ``e-predict``
   (predict on the same samples, batch 1024)
f  Embedding(5000, 64) -> LSTM(128) -> Dense(2) on integer sequences of length 80: rows
   ``f-train`` (one epoch of 4,096 sequences, batch 64, Adam) and ``f-predict`` (batch 256)
g  the same with GRU(128)
h  Embedding(5000, 64) -> MultiHeadAttention(4 heads, key_dim 16) + residual ->
   LayerNormalization -> GlobalAveragePooling1D -> Dense(2), length 64, batch 32
   (``seq_numnet.py`` / ``seq_torch.py``; no floor or peers)
m  peak memory of a numnet training run of (a), in a process of its own (``memory.py``)

Data: ``x`` uniform in [0, 1) (float32, 60,000 x 784), ``y`` = argmax of a fixed random
linear teacher on ``x`` (10 classes), so every library actually learns; the held-out
accuracy (10,000 further samples of the same teacher) after the epoch, the final
training loss and the number of steps of each are in the table and the JSON.

Which numnet: by default the one ``import numnet`` finds (mind ``PYTHONPATH``; the
checkout's ``src/`` when none is installed). ``--numnet-src [LABEL=]PATH`` (repeatable)
runs numnet's processes with ``PYTHONPATH=PATH``: with two of them, both numnets take turns
in the same run and the table gives their ratio, e.g. ``numnet@new/numnet@old``.

The JSON (``--json PATH``) holds the settings, every run (wall and CPU seconds, page faults,
context switches), the ratios and targets, the load average around each case, and for
each kind of process the libraries it loaded and their thread pools
(``threadpoolctl.threadpool_info()``: BLAS, ``architecture`` = the OpenBLAS kernel, OpenMP
runtime, threads). ``benchmarks/compare.py OLD.json NEW.json`` flags slower cases.

Exit status: 0 when every selected case ran (skips included), 1 when one raised.
Targets never change the exit status: this is a measuring script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

ALL_CASES = "abcdefghm"
PEERS = ("sklearn", "keras")
SUPPORTS = {"sklearn": "abcd", "floor": "abcde", "keras": "abcde"}   # cases an implementation has; the others have all
REPO_SRC = os.path.normpath(os.path.join(HERE, os.pardir, "src"))


# --------------------------------------------------------------------------- processes
class Impl:
    """One implementation as a process kind: its worker module, its name in the results
    and the environment its processes get."""

    def __init__(self, name: str, module: str, env: dict, src: str | None = None, label: str | None = None):
        self.name, self.module, self.env, self.src, self.label = name, module, env, src, label
        self.git = None

    def supports(self, case: str) -> bool:
        return case in SUPPORTS.get(self.module, common.CASE_LETTERS)


def numnet_impls(sources: list[str]) -> list[Impl]:
    """``--numnet-src`` values (``[LABEL=]PATH``) as implementations; none: the environment's numnet."""
    base = dict(os.environ)
    if not sources:
        if importlib.util.find_spec("numnet") is None:
            base["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_SRC, base.get("PYTHONPATH")]))
        return [Impl("numnet", "numnet", base)]
    impls = []
    for i, spec in enumerate(sources):
        label, _, path = spec.rpartition("=")
        path = os.path.abspath(path)
        if not os.path.isdir(os.path.join(path, "numnet")):
            raise SystemExit(f"--numnet-src {spec!r}: expected a folder holding the numnet package, "
                             f"found no {os.path.join(path, 'numnet')}")
        name = "numnet" if len(sources) == 1 else f"numnet@{label or f'src{i + 1}'}"
        env = dict(base, PYTHONPATH=os.pathsep.join(filter(None, [path, base.get("PYTHONPATH")])))
        impls.append(Impl(name, "numnet", env, path, label or None))
    if len({impl.name for impl in impls}) != len(impls):
        raise SystemExit(f"--numnet-src labels must differ: {sources}")
    return impls


def spawn(impls: list[Impl], case: str, args, repeats: int) -> dict:
    """Run ``worker.py`` for these implementations (one process) and return its JSON, the
    results renamed from module names to implementation names."""
    cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--impls", ",".join(i.module for i in impls),
           "--case", case, "--samples", str(args.samples), "--cnn-samples", str(args.cnn_samples),
           "--repeats", str(repeats)]
    if args.no_warmup:
        cmd.append("--no-warmup")
    if args.torch_threads:
        cmd += ["--torch-threads", str(args.torch_threads)]
    env = dict(impls[0].env)
    if any(i.module == "keras" for i in impls):
        env["KERAS_BACKEND"] = args.keras_backend
    quiet = common.wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    elapsed = time.perf_counter() - t0
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"worker for {[i.name for i in impls]} on case {case} failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}"}
    rename = {i.module: i.name for i in impls}
    out["rows"] = {row: {rename[m]: r for m, r in res.items()} for row, res in out["rows"].items()}
    out["skipped"] = {rename.get(m, m): why for m, why in out["skipped"].items()}
    out["errors"] = {rename.get(m, m): e for m, e in out["errors"].items()}
    if proc.returncode and not out["errors"]:
        out["errors"] = {"process": proc.stderr[-3000:]}
    out["process_s"] = elapsed
    for res in out["rows"].values():  # what the machine looked like when each process started
        for timing in res.values():
            for run in timing["runs"]:
                run["start"] = quiet
    return out


# --------------------------------------------------------------------------- results
def summarize(runs: list[dict]) -> dict:
    times = [r["wall"] for r in runs]
    best = min(range(len(runs)), key=times.__getitem__)
    return {"times": times, "best": times[best], "median": sorted(times)[len(times) // 2], "runs": runs,
            "check": runs[best]["check"], "accuracy": runs[best].get("accuracy")}


def ratios_of(best: dict, numnets: list[str]) -> dict:
    """``{"numnet/torch": t_numnet / t_torch, ...}`` for every numnet and every other
    implementation timed, and ``numnet@b/numnet@a`` between numnets."""
    out = {}
    for v in numnets:
        if v not in best:
            continue
        for other, t in best.items():
            if not other.startswith("numnet") and t:
                out[f"{v}/{other}"] = best[v] / t
    for i, a in enumerate(numnets):
        for b in numnets[i + 1:]:
            if a in best and b in best:
                out[f"{b}/{a}"] = best[b] / best[a]
    return out


def targets_of(row: str, ratios: dict, same: dict | None, numnets: list[str]) -> list[dict]:
    out = []
    for v in numnets:
        for other, own_bound, same_bound in common.TARGETS.get(row, []):
            key = f"{v}/{other}"
            for column, bound, values in (("own", own_bound, ratios), ("same", same_bound, same)):
                if values is None or (column == "same" and other == "floor" and key not in values):
                    continue
                value = values.get(key)
                out.append({"ratio": key, "column": column, "bound": bound, "value": value,
                            "pass": None if value is None else bool(value <= bound)})
    return out


def collect(case: str, own: dict, same: dict, numnets: list[str], settings: dict) -> list[dict]:
    rows = []
    for row in common.ROWS[case]:
        timings = {name: summarize(runs) for name, runs in own.get(row, {}).items() if runs}
        best = {name: t["best"] for name, t in timings.items()}
        ratios = ratios_of(best, numnets)
        same_part = None
        if same.get(row):
            st = {name: summarize(runs) for name, runs in same[row].items() if runs}
            sb = {name: t["best"] for name, t in st.items()}
            same_part = {"best": sb, "ratios": ratios_of(sb, numnets), "timings": st}
        rows.append({
            "row": row, "settings": settings[row], "best": best, "ratios": ratios, "timings": timings,
            "targets": targets_of(row, ratios, same_part and same_part["ratios"], numnets),
            "same_process": same_part,
            "accuracy": {n: t["accuracy"] for n, t in timings.items() if t["accuracy"] is not None},
            "final_loss": {n: t["check"]["loss"] for n, t in timings.items() if t["check"]},
            "steps": {n: t["check"]["steps"] for n, t in timings.items() if t["check"]},
        })
    return rows


def run_case(case: str, impls: list[Impl], numnets: list[Impl], args, log) -> tuple[list[dict], dict, list[str]]:
    """Own-process rounds, then the same-process runs, for one case letter."""
    errors: list[str] = []
    infos: dict = {}
    own: dict = {row: {} for row in common.ROWS[case]}
    same: dict = {row: {} for row in common.ROWS[case]}
    skipped: dict = {}
    kinds = [i for i in impls if i.supports(case)]
    load_before, busy = common.loadavg(), common.other_runnable(samples=3)
    t0 = time.perf_counter()
    if "own" in args.columns:
        for r in range(args.repeats):
            for impl in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
                out = spawn([impl], case, args, args.inner)
                if "error" in out:
                    errors.append(out["error"])
                    continue
                skipped.update(out["skipped"])
                errors += [f"{k}: {v}" for k, v in out["errors"].items()]
                infos.setdefault(impl.name, {"versions": out["versions"].get(impl.name) or
                                             next(iter(out["versions"].values()), {}),
                                             "process": out["process"], "import_s": out["import_s"]})
                infos[impl.name].setdefault("process_s", []).append(out["process_s"])
                for row, res in out["rows"].items():
                    for name, timing in res.items():
                        own[row].setdefault(name, []).extend(timing["runs"])
    if "same" in args.columns:
        partners = [i for i in impls if i.module in ("torch", "floor")]
        for variant in numnets:
            out = spawn([variant] + partners, case, args, args.repeats)
            if "error" in out:
                errors.append(out["error"])
                continue
            errors += [f"same process {k}: {v}" for k, v in out["errors"].items()]
            infos[f"same-process:{variant.name}"] = {"versions": out["versions"], "process": out["process"]}
            for row, res in out["rows"].items():
                for name, timing in res.items():
                    same[row][name] = timing["runs"]
    settings = {row: common.row_settings(row, args.samples, min(args.cnn_samples, args.samples))
                for row in common.ROWS[case]}
    rows = collect(case, own, same, [n.name for n in numnets], settings)
    for row in rows:
        row.update(loadavg_before=load_before, other_runnable_before=busy, loadavg_after=common.loadavg(),
                   skipped_impls=skipped)
    log(f"  case {case}: {time.perf_counter() - t0:.0f} s  " + "; ".join(
        f"{r['row']}: " + " ".join(f"{k}={v:.3f}" for k, v in r["best"].items()) for r in rows))
    return rows, infos, errors


def run_memory(impl: Impl, n: int, batch: int, timeout: float) -> dict:
    proc = subprocess.run([sys.executable, os.path.join(HERE, "memory.py"), str(n), str(batch)],
                          capture_output=True, text=True, env=impl.env, timeout=timeout)
    if proc.returncode != 0:
        return {"error": f"memory child failed ({proc.returncode}):\n{proc.stderr[-3000:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- output
def fmt(v, spec="{:.3f}"):
    return "n/a" if v is None else spec.format(v)


def print_table(results: list[dict], numnets: list[str], others: list[str], memory: dict) -> None:
    head = [f"{'case':<10}", f"{'numnet':<12}", f"{'numnet s':>9}"] + [f"{o + ' s':>10}" for o in others]
    show_same = any(r.get("same_process") for r in results)
    head += [f"{'/' + o:>9}" for o in others] + ([f"{'/torch same':>12}"] if show_same else []) + ["  targets"]
    print("".join(head))
    print("-" * (len("".join(head)) + 20))
    for r in results:
        if r.get("error"):
            print(f"{r['row']:<10} ERROR: {r['error'][:200]}")
            continue
        same = (r.get("same_process") or {}).get("ratios", {})
        for v in numnets:
            verdicts = [f"{t['column']}:{t['ratio'].split('/')[1]}<={t['bound']} "
                        f"{'n/a' if t['pass'] is None else ('pass' if t['pass'] else 'FAIL')}"
                        for t in r["targets"] if t["ratio"].startswith(v + "/")]
            line = [f"{r['row']:<10}", f"{v:<12}", f"{fmt(r['best'].get(v)):>9}"]
            line += [f"{fmt(r['best'].get(o)):>10}" for o in others]
            line += [f"{fmt(r['ratios'].get(f'{v}/{o}'), '{:.2f}'):>9}" for o in others]
            line += [f"{fmt(same.get(f'{v}/torch'), '{:.2f}'):>12}"] if show_same else []
            line += ["  " + ", ".join(verdicts)]
            print("".join(line))
    pairs = sorted({k for r in results for k in r.get("ratios", {}) if k.count("numnet") == 2})
    for key in pairs:
        print(f"{key}: " + ", ".join(f"{r['row']} {r['ratios'][key]:.3f}" for r in results if key in r.get("ratios", {})))
    print("\nheld-out accuracy after the epoch (training rows) / final training loss:")
    for r in results:
        if r.get("accuracy"):
            print(f"  {r['row']:<10} " + "  ".join(
                f"{k} {r['accuracy'][k]:.3f}/{r['final_loss'].get(k, float('nan')):.3f}" for k in r["accuracy"]))
    for name, mem in memory.items():
        if "error" in mem:
            print(f"mem (a) {name}: ERROR: {mem['error']}")
        else:
            print(f"mem (a) {name}: peak RSS over imports {mem['peak_over_imports_mb']:.0f} MB "
                  f"(dataset {mem['dataset_mb']:.0f} MB + {mem['peak_over_imports_minus_dataset_mb']:.0f} MB); "
                  f"numpy allocations during fit peak {mem['tracemalloc_peak_during_fit_mb']:.1f} MB; "
                  f"target < dataset + 100 MB = {mem['target_mb']:.0f} MB: {'pass' if mem['pass'] else 'FAIL'}")


def use_numnet_of(impl: Impl) -> None:
    """Make ``import numnet`` in this process find the numnet of ``impl``."""
    if impl.src:
        sys.path.insert(0, impl.src)
    elif importlib.util.find_spec("numnet") is None:
        sys.path.insert(0, REPO_SRC)


def profile_case(case: str, args, numnets: list[Impl]) -> int:
    """cProfile numnet's run of one case in this process (the first ``--numnet-src``, if any)."""
    use_numnet_of(numnets[0])
    import impl_numnet

    if case == "e" and not impl_numnet.has_cnn():
        print("numnet has no Conv2D/MaxPool2D/Flatten yet: nothing to profile for case e", file=sys.stderr)
        return 2
    data = common.load_data(args.samples, args.cnn_samples)
    warm = impl_numnet.jobs(case, data.head(common.WARMUP_SAMPLES))
    for row, job in impl_numnet.jobs(case, data).items():
        warm[row].run(warm[row].setup())
        state = job.setup()
        profiler = cProfile.Profile()
        profiler.enable()
        job.run(state)
        profiler.disable()
        for sort, count in (("cumulative", 25), ("tottime", 15)):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(count)
            print(f"==== numnet ({impl_numnet.numnet.__file__}), case {row}: top {count} by {sort} ====")
            print(stream.getvalue())
    return 0


def merged(path: str, new: dict) -> dict:
    """``--update``: the JSON at ``path`` with the rows (and memory) this run measured
    replaced by the new ones; ``reruns`` records when and how each replacement was made."""
    with open(path) as f:
        old = json.load(f)
    if old.get("format") != new["format"] or old["settings"]["samples"] != new["settings"]["samples"] or \
            [n["name"] for n in old["numnets"]] != [n["name"] for n in new["numnets"]]:
        raise SystemExit(f"--update: {path} is not a run of the same format, sizes and numnets")
    rows = {r["row"] for r in new["results"]}
    old["results"] = [r for r in old["results"] if r["row"] not in rows] + new["results"]
    order = [row for case in common.CASE_LETTERS for row in common.ROWS[case]]
    old["results"].sort(key=lambda r: order.index(r["row"]) if r["row"] in order else len(order))
    old["memory"] = {**(old.get("memory") or {}), **(new.get("memory") or {})}
    for name, p in new["processes"].items():
        old["processes"].setdefault(name, p)
    old.setdefault("reruns", []).append({"time": new["time"], "command": new["command"], "rows": sorted(rows),
                                         "loadavg": new["machine"]["loadavg"]})
    return old


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--case", default=ALL_CASES,
                   help="comma-separated case letters among a,b,c,d,e,f,g,h,m (m = memory); default all")
    p.add_argument("--repeats", type=int, default=3,
                   help="own-process rounds (and same-process turns); the best counts (default 3)")
    p.add_argument("--inner", type=int, default=1, help="timed runs inside each own-process process (default 1)")
    p.add_argument("--samples", type=int, default=60_000, help="samples in the MLP cases (default 60,000)")
    p.add_argument("--cnn-samples", type=int, default=6_000, help="samples in the CNN case (default 6,000)")
    p.add_argument("--numnet-src", action="append", default=[], metavar="[LABEL=]PATH",
                   help="time the numnet package under PATH (run with PYTHONPATH=PATH); repeat to compare trees")
    p.add_argument("--peers", default="sklearn",
                   help="comma-separated peers among sklearn,keras (default sklearn; keras is optional and slow "
                        "to start: add it with --peers sklearn,keras; peers not installed are skipped)")
    p.add_argument("--no-peers", action="store_true", help="no peers: numnet, torch and the floor only")
    p.add_argument("--keras-backend", default="jax", help="KERAS_BACKEND for the keras processes (default jax)")
    p.add_argument("--columns", default="own,same",
                   help="own (each library alone), same (one process), or both (default)")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes (512 samples, 128 for the CNN), 1 repeat: checks the script works")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch.set_num_threads value (default: os.cpu_count(), the machine's cores)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    p.add_argument("--wait-quiet", type=float, default=None, metavar="S",
                   help="before each process, wait up to S seconds for no other runnable task (default 20, 0 with "
                        "--quick; 0: never wait); the JSON records the wait and the load seen")
    p.add_argument("--timeout", type=float, default=900, help="seconds one worker process may take (default 900)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--update", action="store_true",
                   help="with --json: replace only the rows measured now in an existing PATH (re-run a noisy case)")
    p.add_argument("--custom-dense", action="store_true",
                   help="only the call()-layer case: the MLP of (a) and (b) with Dense written in numnet.ops "
                        "against the built-in Dense (target within 1.3x), in this process; see custom_dense.py")
    p.add_argument("--profile", metavar="CASE",
                   help="instead of timing, cProfile numnet on one case (a, b, c, d or e) and print the top entries")
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.cnn_samples, args.repeats = min(args.samples, 512), min(args.cnn_samples, 128), 1
    if args.wait_quiet is None:
        args.wait_quiet = 0 if args.quick else 20
    if args.repeats < 1 or args.inner < 1:
        p.error("--repeats and --inner must be at least 1")
    cases = [c.strip() for c in args.case.replace(" ", "").split(",") if c.strip()]
    if len(cases) == 1 and len(cases[0]) > 1 and set(cases[0]) <= set(ALL_CASES):
        cases = list(cases[0])
    bad = [c for c in cases if c not in ALL_CASES]
    if bad:
        p.error(f"unknown case(s) {bad}; choose among {', '.join(ALL_CASES)}")
    args.cases = cases
    args.columns = [c for c in args.columns.split(",") if c]
    if not args.columns or set(args.columns) - {"own", "same"}:
        p.error(f"--columns takes own, same or own,same; got {args.columns}")
    peers = [] if args.no_peers else [x for x in args.peers.split(",") if x]
    if set(peers) - set(PEERS):
        p.error(f"unknown peer(s) {sorted(set(peers) - set(PEERS))}; choose among {', '.join(PEERS)}")
    args.peer_list = peers
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    numnets = numnet_impls(args.numnet_src)
    if args.custom_dense:
        use_numnet_of(numnets[0])
        import custom_dense

        return custom_dense.run(args)
    if args.profile:
        if args.profile not in common.CASE_LETTERS or len(args.profile) != 1:
            print(f"--profile takes one of {', '.join(common.CASE_LETTERS)}; got {args.profile!r}", file=sys.stderr)
            return 2
        return profile_case(args.profile, args, numnets)

    base = dict(os.environ)
    unavailable = {}
    others = []
    wanted = ([] if args.no_torch else ["torch"]) + ["floor"] + args.peer_list
    for name in wanted:
        needs = {"torch": "torch", "sklearn": "sklearn", "keras": "keras"}.get(name)
        if needs and importlib.util.find_spec(needs) is None:
            unavailable[name] = f"{needs} is not installed"
            continue
        others.append(Impl(name, name, base))
    impls = numnets + others
    if "same" in args.columns and args.no_torch:
        args.columns = [c for c in args.columns if c != "same"] or ["own"]
    info = common.machine_info()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    print(f"numnet benchmark: {info['cpu']} ({' '.join(info['cpu_flags'])}), {info['cpu_count']} cores, "
          f"numpy {info['numpy']}; env: {info['env'] or '(no OPENBLAS_/OMP_/MKL_/MALLOC_ variables)'}")
    print(f"implementations: {', '.join(i.name for i in impls)}"
          + (f"; unavailable: {unavailable}" if unavailable else ""))
    if info["other_runnable"] is not None and info["other_runnable"] >= 0.5:
        print(f"WARNING: {info['other_runnable']:.1f} other runnable processes on {info['cpu_count']} cores: "
              "they compete for the CPU and the timings (torch's OpenMP threads especially) will suffer.")
    print(f"samples {args.samples} (CNN {args.cnn_samples}); columns {'+'.join(args.columns)}; best of "
          f"{args.repeats}{'' if args.no_warmup else ' after a warm-up'}{' [quick]' if args.quick else ''}\n")

    results, processes, memory, failed = [], {}, {}, False
    t_all = time.perf_counter()
    for case in args.cases:
        if case == "m":
            for impl in numnets:
                memory[impl.name] = run_memory(impl, args.samples, 128, args.timeout)
                failed |= "error" in memory[impl.name]
            continue
        rows, infos, errors = run_case(case, impls, numnets, args, log)
        for e in errors:
            log(f"ERROR in case {case}: {e}")
        failed |= bool(errors)
        if case == "e" and not any(r["best"] for r in rows):
            rows = [{"row": row, "skipped": "numnet has no Conv2D/MaxPool2D/Flatten yet"} for row in ("e-train", "e-predict")]
        results += rows
        for k, v in infos.items():
            processes.setdefault(k, v)
    for name, p in processes.items():
        if not name.startswith("same-process"):
            foreign = [m for m in p["process"]["imported"] if m != name.split("@")[0] and m not in ("sklearn", "jax")]
            if foreign:
                log(f"WARNING: the {name} processes imported {foreign}")
    for impl in numnets:
        path = (processes.get(impl.name, {}).get("versions") or {}).get("numnet_path")
        impl.git = common.git_info(path) if path else None
    print()
    print_table([r for r in results if not r.get("skipped")], [n.name for n in numnets],
                [o.name for o in others], memory)
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s; load average now "
          f"{', '.join(f'{x:.2f}' for x in common.loadavg() or [])}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        payload = {
            "format": 2,
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {"samples": args.samples, "cnn_samples": args.cnn_samples, "repeats": args.repeats,
                         "inner": args.inner, "columns": args.columns, "warmup": not args.no_warmup,
                         "quick": args.quick, "seed": common.SEED, "keras_backend": args.keras_backend,
                         "adam": {"lr": common.LR, "beta_1": common.BETA_1, "beta_2": common.BETA_2,
                                  "epsilon": common.EPS},
                         "dtype": "float32"},
            "machine": info,
            "numnets": [{"name": n.name, "label": n.label, "src": n.src, "git": n.git,
                         "path": (processes.get(n.name, {}).get("versions") or {}).get("numnet_path")}
                        for n in numnets],
            "unavailable": unavailable,
            "processes": processes,
            "results": results,
            "memory": memory,
        }
        if args.update and os.path.exists(args.json):
            payload = merged(args.json, payload)
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
        print(f"{'updated' if args.update else 'wrote'} {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
