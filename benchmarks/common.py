"""What every benchmark process shares: the settings, the data, the cases, the timing loop
and the machine facts. It imports numpy only, so a process that times one library loads
that library and nothing of the others.

A *job* is one thing to time: ``setup()`` builds what must not be timed (a fresh model)
and returns a state; ``run(state)`` is the timed part and returns ``{"loss", "steps"}``
or None; ``accuracy(state)``, where given, is the held-out accuracy after the run
(untimed).
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

SEED = 1234
N_FEATURES = 784
N_CLASSES = 10
N_TEST = 10_000          # held-out samples for the accuracy column (rows after the training ones)
WARMUP_SAMPLES = 2048    # each job first runs once, untimed, on this many samples
LR, BETA_1, BETA_2, EPS = 1e-3, 0.9, 0.999, 1e-7

CASE_LETTERS = "abcdefgh"   # timed cases; "m" (memory) is separate
ROWS = {"a": ["a"], "b": ["b"], "c": ["c"], "d": ["d"], "e": ["e-train", "e-predict"],
        "f": ["f-train", "f-predict"], "g": ["g-train", "g-predict"], "h": ["h-train", "h-predict"]}
MLP_BATCH = {"a": 128, "b": 32, "c": 1024, "d": 32}
CNN_TRAIN_BATCH, PREDICT_BATCH = 64, 1024

# Targets per row: (other implementation, bound in the own-process column, bound in the
# same-process column); the ratio is numnet time / other time.
TARGETS = {
    "a": [("torch", 0.85, 0.85), ("floor", 1.5, 1.5)],
    "b": [("torch", 1.0, 1.0)],
    "c": [("torch", 1.0, 1.0)],
    "d": [("torch", 1.0, 1.0)],
    "e-train": [("torch", 0.9, 1.0)],
    "e-predict": [("torch", 1.0, 1.0)],
    "f-train": [("torch", 1.0, 1.0)],
    "f-predict": [("torch", 1.0, 1.0)],
    "g-train": [("torch", 1.0, 1.0)],
    "g-predict": [("torch", 1.0, 1.0)],
    "h-train": [("torch", 1.2, 1.2)],
    "h-predict": [("torch", 1.0, 1.0)],
}

# The sequence cases (f: Embedding -> LSTM(128) -> Dense(2); g: the same with GRU(128);
# h: Embedding -> MultiHeadAttention(4 heads, key_dim 16) + residual + LayerNormalization ->
# GlobalAveragePooling1D -> Dense(2)): integer ids, one training epoch with Adam, then predict.
SEQ_VOCAB, SEQ_EMBED, SEQ_UNITS, SEQ_HEADS, SEQ_KEY_DIM, SEQ_CLASSES = 5000, 64, 128, 4, 16, 2
SEQ_LENGTH = {"f": 80, "g": 80, "h": 64}
SEQ_BATCH = {"f": 64, "g": 64, "h": 32}
SEQ_SAMPLES, SEQ_TEST, SEQ_PREDICT_BATCH = 4096, 1024, 256


@dataclass
class Job:
    setup: Callable[[], Any]
    run: Callable[[Any], dict | None]
    accuracy: Callable[[Any], float] | None = None


@dataclass
class Data:
    """Training rows ``x`` (n, 784) / ``y`` (n,), held-out ``x_test`` / ``y_test``, and
    the CNN's ``cnn_samples`` first rows as images (n, 28, 28, 1)."""
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    cnn_samples: int

    def images(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), 28, 28, 1)

    def head(self, n: int) -> "Data":
        """The same data cut to its first ``n`` training rows (for the warm-up)."""
        return Data(self.x[:n], self.y[:n], self.x_test[:256], self.y_test[:256], min(self.cnn_samples, n))


def make_data(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (n, 784) float32 uniform in [0, 1) and labels ``y`` (n,) int64 from a random
    linear teacher; made in chunks so no float64 copy of the dataset ever exists. The
    rows do not depend on ``n``: ``make_data(m)[0][:n] == make_data(n)[0]``."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((N_FEATURES, N_CLASSES), dtype=np.float32)
    x = np.empty((n, N_FEATURES), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    for start in range(0, n, 4096):
        stop = min(start + 4096, n)
        rng.random(out=x[start:stop], dtype=np.float32)
        y[start:stop] = np.argmax((x[start:stop] - 0.5) @ teacher, axis=1)
    return x, y


def make_sequences(n: int, length: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``ids`` (n, length) int64 in [1, SEQ_VOCAB) and labels (n,) int64: 1 where the mean of a
    random per-token score over the sequence is positive (a learnable, balanced task)."""
    rng = np.random.default_rng(seed + length)
    score = rng.standard_normal(SEQ_VOCAB)
    ids = rng.integers(1, SEQ_VOCAB, size=(n, length))
    return ids, (score[ids].mean(axis=1) > 0).astype(np.int64)


def seq_samples(data: "Data") -> int:
    """Sequences per epoch: SEQ_SAMPLES, fewer for a small run (``--quick``, the warm-up)."""
    return min(SEQ_SAMPLES, max(len(data.x) // 8, 64))


def load_data(samples: int, cnn_samples: int) -> Data:
    n_test = min(N_TEST, samples)
    x, y = make_data(samples + n_test)
    return Data(x[:samples], y[:samples], x[samples:], y[samples:], min(cnn_samples, samples))


def mlp_sizes(case: str) -> list[int]:
    if case in "abc":
        return [N_FEATURES, 256, 128, N_CLASSES]
    if case == "d":
        return [N_FEATURES] + [64] * 8 + [N_CLASSES]
    raise ValueError(f"no MLP in case {case!r}")


def row_settings(row: str, samples: int, cnn_samples: int) -> dict:
    if row in MLP_BATCH:
        kind = "predict" if row == "c" else "train"
        return {"n_samples": samples, "batch_size": MLP_BATCH[row], "layers": mlp_sizes(row), "kind": kind}
    if row == "e-train":
        return {"n_samples": cnn_samples, "batch_size": CNN_TRAIN_BATCH, "kind": "train"}
    if row == "e-predict":
        return {"n_samples": cnn_samples, "batch_size": PREDICT_BATCH, "kind": "predict"}
    if row[0] in SEQ_LENGTH:
        case, kind = row.split("-")
        return {"n_samples": min(SEQ_SAMPLES, max(samples // 8, 64)), "kind": kind, "length": SEQ_LENGTH[case],
                "batch_size": SEQ_BATCH[case] if kind == "train" else SEQ_PREDICT_BATCH}
    raise ValueError(f"unknown row {row!r}")


def accuracy_of(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


# --------------------------------------------------------------------------- timing
def _usage() -> tuple:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt, r.ru_majflt, r.ru_nvcsw, r.ru_nivcsw


def timed(job: Job) -> dict:
    """One timed run of a job: wall seconds, the process's CPU seconds (all threads), page
    faults and context switches during the run, and the job's check values."""
    state = job.setup()
    gc.collect()
    u0 = _usage()
    t0 = time.perf_counter()
    check = job.run(state)
    wall = time.perf_counter() - t0
    u1 = _usage()
    out = {
        "wall": wall,
        "cpu_user": u1[0] - u0[0], "cpu_sys": u1[1] - u0[1],
        "minor_faults": u1[2] - u0[2], "major_faults": u1[3] - u0[3],
        "voluntary_switches": u1[4] - u0[4], "involuntary_switches": u1[5] - u0[5],
        "check": check,
    }
    if job.accuracy is not None:
        out["accuracy"] = job.accuracy(state)
    del state
    return out


def time_jobs(jobs: dict[str, Job], repeats: int, warmups: dict[str, Job] | None = None) -> dict:
    """Best-of timing of several implementations of one row in this process: each warm-up
    job runs once, untimed; then the implementations take turns, ``repeats`` times."""
    for job in (warmups or {}).values():
        job.run(job.setup())
    results = {name: {"runs": []} for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            results[name]["runs"].append(timed(job))
    return results


# --------------------------------------------------------------------------- machine
def loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def other_runnable(samples: int = 5, interval: float = 0.1) -> float | None:
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


def wait_quiet(max_wait: float, threshold: float = 0.5) -> dict:
    """Wait (up to ``max_wait`` seconds) until, over a short look, fewer than ``threshold``
    other tasks are runnable on average: on a shared machine, start a timed process in a
    quiet moment. Returns the seconds waited and the last count seen."""
    t0 = time.perf_counter()
    while True:
        busy = other_runnable(samples=3, interval=0.1)
        waited = time.perf_counter() - t0
        if busy is None or busy < threshold or waited >= max_wait:
            return {"waited_s": waited, "other_runnable": busy}
        time.sleep(0.5)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_flags() -> list[str]:
    """The vector extensions the CPU reports (they decide which BLAS kernel runs)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return sorted(f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "fma", "amx")))
    except OSError:
        pass
    return []


def git_info(path: str) -> dict | None:
    """The commit of the git tree holding ``path``, and whether files under ``path`` differ from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=path, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not commit:
        return None
    return {"commit": commit, "src_modified": bool(dirty)}


def env_vars() -> dict:
    return {k: v for k, v in sorted(os.environ.items())
            if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_", "KMP_", "GOMP_", "MALLOC_",
                             "KERAS_", "XLA_", "JAX_"))}


def process_info() -> dict:
    """Facts about this process after its runs: the thread pools loaded (threadpoolctl) and
    which of the compared libraries it imported."""
    info = {"python": platform.python_version(), "numpy": np.__version__, "env": env_vars(),
            "imported": sorted(m for m in ("numnet", "torch", "sklearn", "keras", "jax") if m in sys.modules)}
    try:
        import threadpoolctl

        info["threadpools"] = threadpoolctl.threadpool_info()
    except ImportError:
        info["threadpools"] = None
    return info


def machine_info() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "loadavg": loadavg(),
        "other_runnable": other_runnable(),
        "env": env_vars(),
    }


def blas_summary(pools: list | None) -> str:
    if pools is None:
        return "threadpoolctl not installed"
    parts = []
    for p in pools:
        if p.get("user_api") == "blas":
            parts.append(f"{p.get('internal_api')} {p.get('version')} core={p.get('architecture')} "
                         f"threads={p.get('num_threads')} ({os.path.basename(p.get('filepath', ''))})")
        elif p.get("user_api") == "openmp":
            parts.append(f"openmp {p.get('prefix')} threads={p.get('num_threads')}")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"
