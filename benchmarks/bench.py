#!/usr/bin/env python
"""numnet vs PyTorch vs a "GEMM floor", in one process, on the same data.

Usage::

    python benchmarks/bench.py --repeats 3 --json benchmarks/results/latest.json
    python benchmarks/bench.py --case a,b            # only some cases
    python benchmarks/bench.py --profile a           # cProfile numnet on case a (top 25)
    python benchmarks/bench.py --quick --no-torch    # tiny sizes, for CI / smoke tests

Every case trains (or predicts with) the same network, on the same seeded float32
data, with the same batch size and optimizer, three ways:

numnet
    the public API as a user calls it: ``Sequential([...])``, ``compile(loss=
    "sparse_categorical_cross_entropy", optimizer=numnet.optimizers.Adam(...))``,
    ``fit(x, y, epochs=1, batch_size=B, verbose=0, shuffle=True)``, ``predict(x, batch_size=B)``;
    default float32. A fresh model is built (outside the timer) for each repeat.
torch
    an equivalent ``nn.Sequential`` trained with ``nn.CrossEntropyLoss`` on logits and
    ``torch.optim.Adam`` with the same hyper-parameters (lr 1e-3, betas (0.9, 0.999),
    eps 1e-7, numnet's default epsilon); a standard loop: a fresh ``randperm`` each epoch,
    index-based batches, ``zero_grad / backward / step`` and ``loss.item()`` for the
    running loss (numnet's ``fit`` computes its loss too). ``predict`` runs under
    ``torch.inference_mode()`` and applies the softmax, as numnet's output layer does.
    Threads: ``torch.set_num_threads(os.cpu_count())``. Channels-first data for the CNN
    is converted once, outside the timer.
floor
    only the matrix products one training step needs, with numpy on preallocated
    float32 arrays (``np.matmul(..., out=...)``): forward ``x @ W`` per layer, backward
    ``dW = x^T g`` and ``dX = g W^T`` (no ``dX`` for the first layer); for a convolution
    the same three products on the im2col matrix ``(n*oh*ow, kh*kw*c_in)`` (the im2col
    gather itself is not counted). No bias, activation, loss or optimizer: it is the BLAS
    cost any numpy implementation must pay, so numnet/floor is numnet's overhead factor.

Cases (``--case`` takes a comma-separated list of the letters):

a  MLP 784-256-128-10, ReLU, softmax + sparse CCE, Adam, batch 128, 1 epoch of 60,000
b  the same, batch 32
c  predict with the MLP of (a) on 60,000 samples, batch 1024
d  MLP 784-(64 x 8 hidden layers)-10, batch 32, 1 epoch of 60,000 (784-dim inputs)
e  LeNet-style CNN on 28x28x1: Conv 32 3x3 relu, MaxPool 2, Conv 64 3x3 relu, MaxPool 2,
   Flatten, Dense 128 relu, Dense 10; batch 64, Adam; rows ``e-train`` (one epoch of
   ``--cnn-samples``, default 6,000, the first rows of the same data) and ``e-predict``
   (predict on the same samples, batch 1024)
m  peak memory of a numnet training run of (a), measured in a child process (no torch
   imported there): peak RSS (``VmHWM``, i.e. ``ru_maxrss`` of that process) minus the RSS after imports, against the
   target "dataset size + 100 MB"; tracemalloc's peak of the numpy allocations made
   during ``fit`` (i.e. what numnet adds over the dataset) is reported too.

Each timed row is the best of ``--repeats`` runs after one warm-up run of each
implementation; the three implementations take turns within a repeat so that machine
noise hits them alike. Ratios come from the same process, so they compare like with like.

Data: ``x`` uniform in [0, 1) (float32, 60,000 x 784, drawn in chunks from
``numpy.random.default_rng(seed)``), ``y`` = argmax of a fixed random linear teacher on
``x`` (10 classes, int64), so both libraries actually learn; the final training loss of
each is stored in the JSON as a sanity check.

The JSON (``--json PATH``) holds the settings, every timing, the ratios and targets, and
the machine: cores, CPU, numpy / torch versions, ``threadpoolctl.threadpool_info()``
(BLAS library, ``internal_api``, ``architecture`` = the OpenBLAS kernel/core type in use,
threads) and the ``OPENBLAS_*`` / ``OMP_*`` / ``MKL_*`` environment variables.
Note: ``OPENBLAS_CORETYPE`` forces OpenBLAS's kernel choice; compare with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py ...``.

Exit status: 0 when every selected case ran (skips included), 1 when one raised.
Targets never change the exit status: this is a measuring script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import time
import traceback

import numpy as np

try:
    import numnet
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
    import numnet

SEED = 1234
N_FEATURES = 784
N_CLASSES = 10
LR, BETA_1, BETA_2, EPS = 1e-3, 0.9, 0.999, 1e-7

# target per row: (metric, bound); the metric is "torch" (numnet/torch) or "floor" (numnet/floor)
TARGETS = {
    "a": [("torch", 0.85), ("floor", 1.5)],
    "b": [("torch", 1.0)],
    "c": [("torch", 1.0)],
    "d": [("torch", 1.0)],
    "e-train": [("torch", 1.5)],
    "e-predict": [("torch", 1.0)],
}
ALL_CASES = "abcdem"


# --------------------------------------------------------------------------- data
def make_data(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (n, 784) float32 uniform in [0, 1) and labels ``y`` (n,) int64 from a random
    linear teacher; made in chunks so no float64 copy of the dataset ever exists."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((N_FEATURES, N_CLASSES), dtype=np.float32)
    x = np.empty((n, N_FEATURES), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    for start in range(0, n, 4096):
        stop = min(start + 4096, n)
        rng.random(out=x[start:stop], dtype=np.float32)
        y[start:stop] = np.argmax((x[start:stop] - 0.5) @ teacher, axis=1)
    return x, y


# --------------------------------------------------------------------------- models
def mlp_sizes(case: str) -> list[int]:
    if case in "abc":
        return [N_FEATURES, 256, 128, N_CLASSES]
    if case == "d":
        return [N_FEATURES] + [64] * 8 + [N_CLASSES]
    raise ValueError(case)


def numnet_mlp(sizes: list[int], seed: int = SEED):
    layers = [numnet.Input((sizes[0],))]
    layers += [numnet.Dense(width, activation="relu") for width in sizes[1:-1]]
    layers.append(numnet.Dense(sizes[-1], activation="softmax"))
    model = numnet.Sequential(layers, seed=seed)
    model.compile(
        loss="sparse_categorical_cross_entropy",
        optimizer=numnet.optimizers.Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
    )
    return model


def numnet_has_cnn() -> bool:
    return all(hasattr(numnet, name) for name in ("Conv2D", "MaxPool2D", "Flatten"))


def numnet_cnn(seed: int = SEED):
    model = numnet.Sequential(
        [
            numnet.Input((28, 28, 1)),
            numnet.Conv2D(32, 3, activation="relu"),
            numnet.MaxPool2D(2),
            numnet.Conv2D(64, 3, activation="relu"),
            numnet.MaxPool2D(2),
            numnet.Flatten(),
            numnet.Dense(128, activation="relu"),
            numnet.Dense(N_CLASSES, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        loss="sparse_categorical_cross_entropy",
        optimizer=numnet.optimizers.Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
    )
    return model


def torch_mlp(torch, sizes: list[int]):
    nn = torch.nn
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(),
        nn.Linear(128, N_CLASSES),
    )


# --------------------------------------------------------------------------- runners
# Each runner factory returns (setup, run): setup() builds what must not be timed and
# returns a state; run(state) is the timed part and returns the final loss (or None).
def numnet_train(make_model, x, y, batch_size):
    def setup():
        return make_model()

    def run(model):
        history = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True)
        return {"loss": float(history.history["loss"][-1]), "steps": int(model.optimizer.iterations)}

    return setup, run


def numnet_predict(make_model, x, batch_size):
    def setup():
        return make_model()

    def run(model):
        model.predict(x, batch_size=batch_size)
        return None

    return setup, run


def torch_train(torch, make_model, x, y, batch_size):
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    n = len(X)
    generator = torch.Generator().manual_seed(SEED)

    def setup():
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA_1, BETA_2), eps=EPS)
        return model, optimizer, torch.nn.CrossEntropyLoss()

    def run(state):
        model, optimizer, loss_fn = state
        model.train()
        total, steps = 0.0, 0
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = X[idx], Y[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            steps += 1
        return {"loss": total / n, "steps": steps}

    return setup, run


def torch_predict(torch, make_model, x, batch_size):
    X = torch.from_numpy(x)
    n = len(X)

    def setup():
        model = make_model()
        model.eval()
        return model

    def run(model):
        out = torch.empty((n, N_CLASSES), dtype=torch.float32)
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                out[start:start + batch_size] = torch.softmax(model(X[start:start + batch_size]), dim=1)
        out.numpy()
        return None

    return setup, run


def _batch_sizes(n: int, batch_size: int) -> list[int]:
    sizes = [batch_size] * (n // batch_size)
    if n % batch_size:
        sizes.append(n % batch_size)
    return sizes


def floor_runner(gemms_of_batch, n: int, batch_size: int, train: bool):
    """``gemms_of_batch(b)`` lists the layers as (rows_per_sample, k, m, first): a product
    ``(b*rows, k) @ (k, m)``; training adds ``dW = A^T G`` and, unless ``first``,
    ``dA = G W^T``."""
    sizes = _batch_sizes(n, batch_size)
    rng = np.random.default_rng(SEED)

    def setup():
        buffers = []
        for rows, k, m, first in gemms_of_batch:
            big = batch_size * rows
            a = rng.random((big, k), dtype=np.float32)
            w = rng.random((k, m), dtype=np.float32) - 0.5
            z = np.empty((big, m), dtype=np.float32)
            g = rng.random((big, m), dtype=np.float32) - 0.5
            dw = np.empty((k, m), dtype=np.float32)
            da = None if first else np.empty((big, k), dtype=np.float32)
            buffers.append((rows, a, w, z, g, dw, da))
        return buffers

    def run(buffers):
        matmul = np.matmul
        for b in sizes:
            views = [(a[: b * rows], w, z[: b * rows], g[: b * rows], dw, None if da is None else da[: b * rows])
                     for rows, a, w, z, g, dw, da in buffers]
            for a, w, z, _, _, _ in views:
                matmul(a, w, out=z)
            if train:
                for a, w, _, g, dw, da in reversed(views):
                    matmul(a.T, g, out=dw)
                    if da is not None:
                        matmul(g, w.T, out=da)
        return None

    return setup, run


def mlp_gemms(sizes):
    return [(1, sizes[i], sizes[i + 1], i == 0) for i in range(len(sizes) - 1)]


CNN_GEMMS = [
    (26 * 26, 3 * 3 * 1, 32, True),     # conv1 on the im2col matrix
    (11 * 11, 3 * 3 * 32, 64, False),   # conv2
    (1, 5 * 5 * 64, 128, False),        # dense
    (1, 128, N_CLASSES, False),         # dense (output)
]


# --------------------------------------------------------------------------- timing
def time_runs(runners: dict, repeats: int, warmup: dict | None = None) -> dict:
    """Best-of timing; the implementations take turns within each repeat. ``warmup``
    holds the same runners on a few batches' worth of data, run once, untimed."""
    results = {name: {"times": [], "check": None} for name in runners}
    for setup, run in (warmup or {}).values():
        run(setup())
    for _ in range(repeats):
        for name, (setup, run) in runners.items():
            state = setup()
            gc.collect()
            t0 = time.perf_counter()
            check = run(state)
            elapsed = time.perf_counter() - t0
            results[name]["times"].append(elapsed)
            results[name]["check"] = check
            del state
    for name, r in results.items():
        r["best"] = min(r["times"])
        r["median"] = float(np.median(r["times"]))
    return results


# --------------------------------------------------------------------------- memory
def memory_child(n: int, batch_size: int) -> dict:
    """Run in a child process: one numnet training epoch of case (a); report memory."""
    import tracemalloc

    def status_mb(field: str) -> float:
        # /proc/self/status is per address space: VmHWM (peak RSS) starts afresh at exec,
        # unlike ru_maxrss, which a forked child inherits from its (torch-laden) parent.
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        raise OSError(f"no {field} in /proc/self/status")

    def rss_mb() -> float:
        return status_mb("VmRSS")

    def peak_mb() -> float:
        try:
            return status_mb("VmHWM")
        except OSError:  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak / 2**20 if sys.platform == "darwin" else peak / 1024

    base_rss = rss_mb()
    x, y = make_data(n)
    data_mb = (x.nbytes + y.nbytes) / 2**20
    model = numnet_mlp(mlp_sizes("a"))
    after_data = rss_mb()
    tracemalloc.start()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = peak_mb()
    return {
        "n_samples": n,
        "batch_size": batch_size,
        "dataset_mb": data_mb,
        "rss_after_imports_mb": base_rss,
        "rss_after_data_mb": after_data,
        "peak_rss_mb": peak,
        "peak_over_imports_mb": peak - base_rss,
        "peak_over_imports_minus_dataset_mb": peak - base_rss - data_mb,
        "tracemalloc_peak_during_fit_mb": traced_peak / 2**20,
        "target_mb": data_mb + 100,
        "pass": (peak - base_rss) < data_mb + 100,
    }


def run_memory(n: int, batch_size: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", f"{n},{batch_size}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- machine
def machine_info(torch) -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "numnet": getattr(numnet, "__version__", None),
        "numnet_path": os.path.dirname(numnet.__file__),
        "git": _git_info(),
        "loadavg": _loadavg(),
        "other_runnable": _other_runnable(),
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_"))},
    }
    try:
        import threadpoolctl

        info["threadpools"] = threadpoolctl.threadpool_info()
    except ImportError:
        info["threadpools"] = None
    return info


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def _other_runnable(samples: int = 5, interval: float = 0.1) -> float | None:
    """Mean number of runnable tasks besides this one (from /proc/loadavg), over a short
    look: unlike the 1-minute load average it does not count our own previous runs."""
    counts = []
    try:
        for _ in range(samples):
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
            time.sleep(interval)
    except (OSError, ValueError, IndexError):
        return None
    return sum(counts) / len(counts)


def _git_info() -> dict | None:
    """The commit measured, and whether the library's sources differ from it."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit or None, "src_modified": bool(dirty)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def blas_summary(info: dict) -> str:
    pools = info.get("threadpools")
    if pools is None:
        return "threadpoolctl not installed"
    parts = []
    for p in pools:
        if p.get("user_api") == "blas":
            parts.append(f"{p.get('internal_api')} {p.get('version')} core={p.get('architecture')} "
                         f"threads={p.get('num_threads')} ({os.path.basename(p.get('filepath', ''))})")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


# --------------------------------------------------------------------------- cases
def build_rows(case: str, args, x, y, torch) -> list[tuple[str, dict]]:
    """(row name, runners) for one case letter."""
    n = len(x)
    rows = []
    if case in "abd":
        sizes = mlp_sizes(case)
        batch = {"a": 128, "b": 32, "d": 32}[case]
        runners = {"numnet": numnet_train(lambda: numnet_mlp(sizes), x, y, batch)}
        if torch is not None:
            runners["torch"] = torch_train(torch, lambda: torch_mlp(torch, sizes), x, y, batch)
        runners["floor"] = floor_runner(mlp_gemms(sizes), n, batch, train=True)
        rows.append((case, runners, {"n_samples": n, "batch_size": batch, "layers": sizes, "kind": "train"}))
    elif case == "c":
        sizes = mlp_sizes(case)
        runners = {"numnet": numnet_predict(lambda: numnet_mlp(sizes), x, 1024)}
        if torch is not None:
            runners["torch"] = torch_predict(torch, lambda: torch_mlp(torch, sizes), x, 1024)
        runners["floor"] = floor_runner(mlp_gemms(sizes), n, 1024, train=False)
        rows.append((case, runners, {"n_samples": n, "batch_size": 1024, "layers": sizes, "kind": "predict"}))
    elif case == "e":
        nc = min(args.cnn_samples, n)
        xi = x[:nc].reshape(nc, 28, 28, 1)
        yi = y[:nc]
        tr = {"numnet": numnet_train(numnet_cnn, xi, yi, 64)}
        pr = {"numnet": numnet_predict(numnet_cnn, xi, 1024)}
        if torch is not None:
            xt = np.ascontiguousarray(xi.transpose(0, 3, 1, 2))  # NCHW, converted once, untimed
            tr["torch"] = torch_train(torch, lambda: torch_cnn(torch), xt, yi, 64)
            pr["torch"] = torch_predict(torch, lambda: torch_cnn(torch), xt, 1024)
        tr["floor"] = floor_runner(CNN_GEMMS, nc, 64, train=True)
        pr["floor"] = floor_runner(CNN_GEMMS, nc, 1024, train=False)
        rows.append(("e-train", tr, {"n_samples": nc, "batch_size": 64, "kind": "train"}))
        rows.append(("e-predict", pr, {"n_samples": nc, "batch_size": 1024, "kind": "predict"}))
    return rows


def evaluate_targets(row: str, ratios: dict) -> list[dict]:
    out = []
    for metric, bound in TARGETS.get(row, []):
        value = ratios.get(metric)
        out.append({"ratio": f"numnet/{metric}", "bound": bound, "value": value,
                    "pass": None if value is None else bool(value <= bound)})
    return out


def fmt(v, spec="{:.3f}"):
    return "n/a" if v is None else spec.format(v)


def print_table(results: list[dict], memory: dict | None) -> None:
    header = f"{'case':<10} {'numnet s':>9} {'torch s':>9} {'floor s':>9} {'nn/torch':>9} {'nn/floor':>9}  {'target':<28} result"
    print(header)
    print("-" * len(header))
    for r in results:
        if r.get("skipped") or r.get("error"):
            print(f"{r['row']:<10} {'skipped: ' + r['skipped'] if r.get('skipped') else 'ERROR: ' + r['error']}")
            continue
        b = r["best"]
        targets = r["targets"]
        target = ", ".join(f"{t['ratio'].split('/')[1]}<={t['bound']}" for t in targets) or "-"
        verdict = ", ".join("n/a" if t["pass"] is None else ("pass" if t["pass"] else "FAIL") for t in targets) or "-"
        print(f"{r['row']:<10} {fmt(b.get('numnet')):>9} {fmt(b.get('torch')):>9} {fmt(b.get('floor')):>9} "
              f"{fmt(r['ratios'].get('torch'), '{:.2f}'):>9} {fmt(r['ratios'].get('floor'), '{:.2f}'):>9}  "
              f"{target:<28} {verdict}")
    if memory is not None:
        if "error" in memory:
            print(f"{'mem (a)':<10} ERROR: {memory['error']}")
        else:
            print(f"{'mem (a)':<10} peak RSS over imports {memory['peak_over_imports_mb']:.0f} MB "
                  f"(dataset {memory['dataset_mb']:.0f} MB + {memory['peak_over_imports_minus_dataset_mb']:.0f} MB); "
                  f"numpy allocations during fit peak {memory['tracemalloc_peak_during_fit_mb']:.1f} MB; "
                  f"target < dataset + 100 MB = {memory['target_mb']:.0f} MB: {'pass' if memory['pass'] else 'FAIL'}")


def profile_case(case: str, args, x, y) -> None:
    rows = build_rows(case, args, x, y, None)
    for row, runners, _ in rows:
        setup, run = runners["numnet"]
        warm_n = min(len(x), 2048)
        for warm_row, warm_runners, _ in build_rows(case, args, x[:warm_n], y[:warm_n], None):
            if warm_row == row:
                warm_runners["numnet"][1](warm_runners["numnet"][0]())  # warm-up
        state = setup()
        profiler = cProfile.Profile()
        profiler.enable()
        run(state)
        profiler.disable()
        for sort, count in (("cumulative", 25), ("tottime", 15)):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(count)
            print(f"==== numnet, case {row}: top {count} by {sort} ====")
            print(stream.getvalue())


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", default=ALL_CASES,
                   help="comma-separated case letters among a,b,c,d,e,m (m = memory); default all")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per implementation; the best counts")
    p.add_argument("--samples", type=int, default=60_000, help="samples in the MLP cases (default 60,000)")
    p.add_argument("--cnn-samples", type=int, default=6_000, help="samples in the CNN case (default 6,000)")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes (512 samples, 128 for the CNN), 1 repeat: checks the script works")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch.set_num_threads value (default: os.cpu_count(), the machine's cores)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--profile", metavar="CASE",
                   help="instead of timing, cProfile numnet on one case (a, b, c, d or e) and print the top entries")
    p.add_argument("--custom-dense", action="store_true",
                   help="only the call()-layer case: the MLP of (a) and (b) with Dense written in numnet.ops "
                        "against the built-in Dense (target within 1.3x); see custom_dense_case")
    p.add_argument("--_memory-child", dest="memory_child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.cnn_samples, args.repeats = min(args.samples, 512), min(args.cnn_samples, 128), 1
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    cases = [c.strip() for c in args.case.replace(" ", "").split(",") if c.strip()]
    if len(cases) == 1 and len(cases[0]) > 1 and cases[0] == ALL_CASES:
        cases = list(ALL_CASES)
    bad = [c for c in cases if c not in ALL_CASES]
    if bad:
        p.error(f"unknown case(s) {bad}; choose among {', '.join(ALL_CASES)}")
    args.cases = cases
    return args


def import_torch(disabled: bool, threads: int | None = None):
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        print("torch is not importable: the torch column is n/a (pip install -e '.[bench]')", file=sys.stderr)
        return None
    torch.set_num_threads(threads or os.cpu_count() or 1)
    return torch


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        n, batch = (int(v) for v in args.memory_child.split(","))
        print(json.dumps(memory_child(n, batch)))
        return 0

    x, y = make_data(args.samples)
    if args.custom_dense:
        return custom_dense_case(args, x, y)
    if args.profile:
        if args.profile not in "abcde" or len(args.profile) != 1:
            print(f"--profile takes one of a, b, c, d, e; got {args.profile!r}", file=sys.stderr)
            return 2
        if args.profile == "e" and not numnet_has_cnn():
            print("numnet has no Conv2D/MaxPool2D/Flatten yet: nothing to profile for case e", file=sys.stderr)
            return 2
        profile_case(args.profile, args, x, y)
        return 0

    torch = import_torch(args.no_torch, args.torch_threads)
    info = machine_info(torch)
    print(f"numnet benchmark: {info['cpu']}, {info['cpu_count']} cores, numpy {info['numpy']}, "
          f"torch {info['torch'] or 'n/a'} ({info['torch_threads'] or '-'} threads)")
    print(f"BLAS: {blas_summary(info)}")
    print(f"env: {info['env'] or '(no OPENBLAS_/OMP_/MKL_ variables)'}")
    git = info["git"] or {}
    print(f"numnet {info['numnet_path']} at {git.get('commit', '?')}"
          f"{' (src/ modified)' if git.get('src_modified') else ''}")
    busy = info["other_runnable"]
    if busy is not None and busy >= 0.5:
        print(f"WARNING: {busy:.1f} other runnable processes on {os.cpu_count()} cores: they compete for the CPU "
              "and the timings (torch's OpenMP threads especially) will suffer.")
    print(f"samples {args.samples} (CNN {args.cnn_samples}), best of {args.repeats}"
          f"{'' if args.no_warmup else ' after a warm-up'}{' [quick]' if args.quick else ''}\n")

    results, memory, failed = [], None, False
    for case in args.cases:
        if case == "m":
            try:
                memory = run_memory(args.samples, 128)
            except Exception as exc:  # report and go on
                traceback.print_exc()
                memory, failed = {"error": f"{type(exc).__name__}: {exc}"}, True
            continue
        if case == "e" and not numnet_has_cnn():
            msg = "numnet has no Conv2D/MaxPool2D/Flatten yet"
            print(f"case e skipped: {msg}", file=sys.stderr)
            results += [{"row": "e-train", "skipped": msg}, {"row": "e-predict", "skipped": msg}]
            continue
        try:
            rows = build_rows(case, args, x, y, torch)
            warm_n = min(len(x), 2048)
            warm_rows = {} if args.no_warmup else {
                row: runners for row, runners, _ in build_rows(case, args, x[:warm_n], y[:warm_n], torch)}
        except Exception as exc:
            traceback.print_exc()
            results.append({"row": case, "error": f"{type(exc).__name__}: {exc}"})
            failed = True
            continue
        for row, runners, settings in rows:
            t0 = time.perf_counter()
            load_before = _loadavg()
            try:
                timing = time_runs(runners, args.repeats, warmup=warm_rows.get(row))
            except Exception as exc:
                traceback.print_exc()
                results.append({"row": row, "error": f"{type(exc).__name__}: {exc}", "settings": settings})
                failed = True
                continue
            best = {name: t["best"] for name, t in timing.items()}
            ratios = {other: best["numnet"] / best[other] for other in ("torch", "floor") if other in best}
            results.append({
                "row": row, "settings": settings, "best": best, "timings": timing, "ratios": ratios,
                "targets": evaluate_targets(row, ratios),
                "final_loss": {name: t["check"]["loss"] for name, t in timing.items() if t["check"]},
                "steps": {name: t["check"]["steps"] for name, t in timing.items() if t["check"]},
                "loadavg_before": load_before, "loadavg_after": _loadavg(),
                "other_runnable_after": _other_runnable(samples=3),
            })
            print(f"  {row}: done in {time.perf_counter() - t0:.1f} s "
                  + " ".join(f"{k}={v:.3f}s" for k, v in best.items()), file=sys.stderr, flush=True)

    print()
    print_table(results, memory)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        payload = {
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {"samples": args.samples, "cnn_samples": args.cnn_samples, "repeats": args.repeats,
                         "warmup": not args.no_warmup, "quick": args.quick, "seed": SEED,
                         "adam": {"lr": LR, "beta_1": BETA_1, "beta_2": BETA_2, "epsilon": EPS},
                         "dtype": "float32"},
            "machine": info,
            "results": results,
            "memory": memory,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=_json_default)
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- call() layers
CUSTOM_DENSE_TARGET = 1.3


def ops_dense_class():
    """A Dense written as a call() layer with numnet.ops: relu(x W + b) or x W + b."""
    from numnet import ops

    class OpsDense(numnet.Layer):
        def __init__(self, units, relu=False, **kwargs):
            super().__init__(**kwargs)
            self.units, self.relu = units, relu

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, x):
            y = ops.matmul(x, self.kernel) + self.bias
            return ops.relu(y) if self.relu else y

    return OpsDense


def numnet_ops_mlp(sizes: list[int], seed: int = SEED):
    """The MLP of numnet_mlp with every Dense a call() layer; the softmax is a built-in
    Activation so that its fused gradient with the loss applies as in the built-in model."""
    OpsDense = ops_dense_class()
    layers = [numnet.Input((sizes[0],))]
    layers += [OpsDense(width, relu=True) for width in sizes[1:-1]]
    layers += [OpsDense(sizes[-1]), numnet.Activation("softmax")]
    model = numnet.Sequential(layers, seed=seed)
    model.compile(
        loss="sparse_categorical_cross_entropy",
        optimizer=numnet.optimizers.Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
    )
    return model


def custom_dense_case(args, x, y) -> int:
    """``--custom-dense``: one epoch of the MLP 784-256-128-10 at batch 128 and 32 with the
    built-in Dense and with a Dense written as a call() layer (``OpsDense``: forward in
    numnet.ops, backward from the tape); prints the times and the ratio against the target."""
    sizes = mlp_sizes("a")
    rows = {}
    for batch in (128, 32):
        runners = {"builtin": numnet_train(lambda: numnet_mlp(sizes), x, y, batch),
                   "call_layer": numnet_train(lambda: numnet_ops_mlp(sizes), x, y, batch)}
        warm = None if args.no_warmup else {k: numnet_train(f, x[:4 * batch], y[:4 * batch], batch)
                                            for k, f in (("builtin", lambda: numnet_mlp(sizes)),
                                                         ("call_layer", lambda: numnet_ops_mlp(sizes)))}
        result = time_runs(runners, args.repeats, warm)
        ratio = result["call_layer"]["best"] / result["builtin"]["best"]
        rows[f"batch {batch}"] = {"builtin_s": result["builtin"]["best"], "call_layer_s": result["call_layer"]["best"],
                                  "ratio": ratio, "target": CUSTOM_DENSE_TARGET,
                                  "loss": {k: r["check"]["loss"] for k, r in result.items()}}
        print(f"call()-layer Dense vs built-in Dense, MLP {'-'.join(map(str, sizes))}, batch {batch}, "
              f"{len(x)} samples: built-in {result['builtin']['best']:.3f} s, call layer "
              f"{result['call_layer']['best']:.3f} s, ratio {ratio:.2f} (target <= {CUSTOM_DENSE_TARGET})"
              f"{'' if ratio <= CUSTOM_DENSE_TARGET else '  MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"custom_dense": rows, "samples": len(x), "repeats": args.repeats}, f, indent=2)
    return 0


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
