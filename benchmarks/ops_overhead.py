"""What numnet.ops costs on top of NumPy.

    python benchmarks/ops_overhead.py [--repeats 5]

1. Per-op overhead: ``ops.add`` / ``ops.exp`` on a 4x4 array, outside a tape and recorded
   on one, against the bare NumPy call (microseconds per call).
2. One MLP training step (784-256-128-10, ReLU, softmax cross-entropy, batch 128,
   float32): forward + gradients with ``numnet.ops`` and a GradientTape, against the same
   step written by hand in NumPy (forward, backward, no update in either).

Best of ``--repeats`` timings; the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import numnet
from numnet import ops


def per_call(stmt, n=20000, repeats=5) -> float:
    return min(timeit.repeat(stmt, number=n, repeat=repeats)) / n * 1e6


def op_overhead(repeats):
    a = np.random.default_rng(0).standard_normal((4, 4))
    t = ops.convert_to_tensor(a)
    v = ops.Variable(a.copy())
    rows = [
        ("np.add", per_call(lambda: np.add(a, a), repeats=repeats)),
        ("ops.add, no tape", per_call(lambda: ops.add(t, t), repeats=repeats)),
        ("np.exp", per_call(lambda: np.exp(a), repeats=repeats)),
        ("ops.exp, no tape", per_call(lambda: ops.exp(t), repeats=repeats)),
    ]
    with numnet.GradientTape(persistent=True) as tape:
        rows.append(("ops.add, recorded", per_call(lambda: ops.add(v, t), n=20000, repeats=1)))
        tape.reset()
        rows.append(("ops.exp, recorded", per_call(lambda: ops.exp(v), n=20000, repeats=1)))
    for name, us in rows:
        print(f"  {name:<22} {us:6.2f} us")


def mlp_step(repeats):
    rng = np.random.default_rng(1)
    dt = np.float32
    x = rng.standard_normal((128, 784)).astype(dt)
    labels = rng.integers(0, 10, 128)
    sizes = [784, 256, 128, 10]
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)).astype(dt), np.zeros(n_out, dt)]
    variables = [ops.Variable(p) for p in params]

    def with_ops():
        with numnet.GradientTape() as tape:
            h = x
            for i in range(0, 6, 2):
                h = h @ variables[i] + variables[i + 1]
                if i < 4:
                    h = ops.relu(h)
            logp = ops.log_softmax(h, axis=-1)
            loss = -ops.mean(ops.take_along_axis(logp, labels[:, None], axis=-1))
        return tape.gradient(loss, variables)

    def by_hand():
        acts, h = [x], x
        for i in range(0, 6, 2):
            h = h @ params[i] + params[i + 1]
            if i < 4:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        p[np.arange(128), labels] -= 1
        g = p / 128
        grads = []
        for i in (4, 2, 0):
            grads += [acts[i // 2].T @ g, g.sum(0)]
            if i:
                g = (g @ params[i].T) * (acts[i // 2] > 0)
        return grads

    # Interleaved, best of each: a busy spell then slows both rather than one.
    t_ops = t_hand = float("inf")
    for _ in range(repeats):
        t_ops = min(t_ops, timeit.timeit(with_ops, number=10) / 10 * 1e3)
        t_hand = min(t_hand, timeit.timeit(by_hand, number=10) / 10 * 1e3)
    print(f"  numnet.ops + tape   {t_ops:7.3f} ms")
    print(f"  NumPy by hand       {t_hand:7.3f} ms")
    print(f"  ratio               {t_ops / t_hand:7.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("per-op cost (4x4 float64):")
    op_overhead(args.repeats)
    print("MLP step, forward + gradients (784-256-128-10, batch 128, float32):")
    mlp_step(args.repeats)


if __name__ == "__main__":
    main()
