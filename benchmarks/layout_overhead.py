#!/usr/bin/env python
"""What ``data_format`` costs a channels-last layer: the wrapper that ``numnet.layers._layout``
puts around ``forward`` / ``backward`` against the method it wraps (``__wrapped__``), per
call, on inputs small enough that the call overhead shows. Also the price of
channels-first (the two transposes) on a LeNet-sized input.

    python benchmarks/layout_overhead.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from numnet.layers import Conv2D, MaxPooling2D


def best_per_call(fn, calls: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    tiny = np.zeros((1, 2, 2, 1), np.float32)
    pool = MaxPooling2D(2)
    pool.forward(tiny, training=True)
    g = np.ones((1, 1, 1, 1), np.float32)
    rows = []
    for name, wrapped, inner in [
        ("MaxPooling2D.forward", lambda: pool.forward(tiny, training=True),
         lambda: type(pool).forward.__wrapped__(pool, tiny, training=True)),
        ("MaxPooling2D.backward", lambda: pool.backward(g), lambda: type(pool).backward.__wrapped__(pool, g)),
    ]:
        a, b = best_per_call(wrapped, args.calls), best_per_call(inner, args.calls)
        rows.append((name, a, b))
    print(f"{'method (channels last, 1x2x2x1 input)':42s} {'wrapped':>10s} {'inner':>10s} {'overhead':>10s}")
    for name, a, b in rows:
        print(f"{name:42s} {a * 1e6:8.2f}us {b * 1e6:8.2f}us {(a - b) * 1e6:8.2f}us")

    x_last = np.random.default_rng(0).standard_normal((64, 28, 28, 8)).astype(np.float32)
    x_first = np.ascontiguousarray(np.moveaxis(x_last, -1, 1))
    timings = {}
    for fmt, x in (("channels_last", x_last), ("channels_first", x_first)):
        conv = Conv2D(16, 3, padding="same", activation="relu", data_format=fmt, seed=0)
        conv.forward(x, training=True)
        grad = np.ones_like(conv.forward(x, training=True))

        def step(conv=conv, x=x, grad=grad):
            conv.forward(x, training=True)
            conv.backward(grad)

        timings[fmt] = best_per_call(step, 10, rounds=3)
    print(f"Conv2D(16, 3, same, relu) forward+backward, batch 64x28x28x8: channels_last "
          f"{timings['channels_last'] * 1e3:.2f} ms, channels_first {timings['channels_first'] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
