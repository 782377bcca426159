#!/usr/bin/env python
"""Forward + backward of Embedding(5000, 64) -> LSTM(128) (or GRU(128)) -> Dense(2) on
integer sequences of length 80, batch 64, float32: numnet's layers called directly (no
model or optimizer: the layer kernels alone) against the same network in PyTorch
(``nn.Embedding``, ``nn.LSTM`` / ``nn.GRU`` batch-first, ``nn.Linear``,
``F.cross_entropy`` on logits, ``loss.backward()``), each library in its own process.

Usage::

    python benchmarks/bench_sequence.py                 # both libraries, LSTM and GRU
    python benchmarks/bench_sequence.py --steps 20 --repeats 5 --cell lstm
    python benchmarks/bench_sequence.py --threads 1     # one BLAS / torch thread each

Each timing is the best of ``--repeats`` runs of ``--steps`` steps after one warm-up
step, in milliseconds per step, and the best over ``--rounds`` child processes per library
(the libraries take turns). Threads: by default torch uses ``os.cpu_count()`` and
numpy its BLAS default; ``--threads N`` sets ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``
/ ``MKL_NUM_THREADS`` for both children and ``torch.set_num_threads(N)`` (on a loaded
machine a multi-threaded BLAS spins on the recurrence's small per-step products). The
ratio numnet/torch is printed per cell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VOCAB, EMBED, UNITS, CLASSES, LENGTH, BATCH = 5000, 64, 128, 2, 80, 64


def data(seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(BATCH, LENGTH))
    labels = rng.integers(0, CLASSES, size=BATCH)
    return ids, labels


def best_ms(step, steps, repeats):
    step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return 1000 * best


def run_numnet(cell, steps, repeats):
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from numnet.layers import GRU, LSTM, Dense, Embedding

    ids, labels = data()
    embed = Embedding(VOCAB, EMBED, seed=1)
    rnn = (LSTM if cell == "lstm" else GRU)(UNITS, seed=2)
    dense = Dense(CLASSES, seed=3)
    embed.needs_input_error = False
    onehot = np.eye(CLASSES, dtype=np.float32)[labels]

    def step():
        logits = dense.forward(rnn.forward(embed.forward(ids), training=True), training=True)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / BATCH
        embed.backward(rnn.backward(dense.backward(g)))

    return best_ms(step, steps, repeats)


def run_torch(cell, steps, repeats):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count())))
    ids, labels = data()
    ids_t, labels_t = torch.tensor(ids), torch.tensor(labels)
    embed = torch.nn.Embedding(VOCAB, EMBED)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(EMBED, UNITS, batch_first=True)
    dense = torch.nn.Linear(UNITS, CLASSES)
    params = list(embed.parameters()) + list(rnn.parameters()) + list(dense.parameters())

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(embed(ids_t))
        loss = F.cross_entropy(dense(out[:, -1]), labels_t)
        loss.backward()

    return best_ms(step, steps, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm,gru")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["numnet", "torch"])
    args = parser.parse_args(argv)
    if args.child:
        runner = run_numnet if args.child == "numnet" else run_torch
        results = {cell: runner(cell, args.steps, args.repeats) for cell in args.cell.split(",")}
        print(json.dumps(results))
        return
    timings = {"numnet": {}, "torch": {}}
    env = dict(os.environ)
    if args.threads:
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_THREADS"):
            env[key] = str(args.threads)
    # The libraries take turns, --rounds times, and each keeps its best: on a shared machine
    # load that comes and goes then hits both alike.
    for _ in range(args.rounds):
        for lib in ("numnet", "torch"):
            cmd = [sys.executable, __file__, "--child", lib, "--cell", args.cell, "--steps", str(args.steps),
                   "--repeats", str(args.repeats)]
            result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
            for cell, ms in result.items():
                timings[lib][cell] = min(ms, timings[lib].get(cell, float("inf")))
    for cell in args.cell.split(","):
        n, t = timings["numnet"][cell], timings["torch"][cell]
        print(f"{cell}: numnet {n:.1f} ms/step, torch {t:.1f} ms/step, numnet/torch {n / t:.2f}")


if __name__ == "__main__":
    main()
