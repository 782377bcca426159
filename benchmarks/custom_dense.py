"""``bench.py --custom-dense``: the MLP 784-256-128-10 of cases (a) and (b), one epoch at
batch 128 and 32, with the built-in Dense and with a Dense written as a call() layer
(``OpsDense``: forward in ``numnet.ops``, backward from the tape); prints both times and
their ratio against the target (call layer within 1.3x of the built-in). Runs in one
process (numnet only), the two models taking turns."""

from __future__ import annotations

import json

import numnet

import common
import impl_numnet

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


def ops_mlp(sizes: list[int], seed: int = common.SEED):
    """The MLP of impl_numnet.mlp with every Dense a call() layer; the softmax is a built-in
    Activation so that its fused gradient with the loss applies as in the built-in model."""
    OpsDense = ops_dense_class()
    layers = [numnet.Input((sizes[0],))]
    layers += [OpsDense(width, relu=True) for width in sizes[1:-1]]
    layers += [OpsDense(sizes[-1]), numnet.Activation("softmax")]
    model = numnet.Sequential(layers, seed=seed)
    model.compile(loss="sparse_categorical_cross_entropy", optimizer=impl_numnet._adam())
    return model


def run(args) -> int:
    data = common.load_data(args.samples, 0)
    x, y = data.x, data.y
    sizes = common.mlp_sizes("a")
    makers = {"builtin": lambda: impl_numnet.mlp(sizes), "call_layer": lambda: ops_mlp(sizes)}
    rows = {}
    for batch in (128, 32):
        jobs = {k: impl_numnet.train_job(f, x, y, batch, data.x_test, data.y_test) for k, f in makers.items()}
        warm = None if args.no_warmup else {
            k: impl_numnet.train_job(f, x[:4 * batch], y[:4 * batch], batch, data.x_test, data.y_test)
            for k, f in makers.items()}
        result = common.time_jobs(jobs, args.repeats, warm)
        best = {k: min(r["wall"] for r in v["runs"]) for k, v in result.items()}
        ratio = best["call_layer"] / best["builtin"]
        rows[f"batch {batch}"] = {"builtin_s": best["builtin"], "call_layer_s": best["call_layer"], "ratio": ratio,
                                  "target": CUSTOM_DENSE_TARGET,
                                  "loss": {k: v["runs"][-1]["check"]["loss"] for k, v in result.items()}}
        print(f"call()-layer Dense vs built-in Dense, MLP {'-'.join(map(str, sizes))}, batch {batch}, "
              f"{len(x)} samples: built-in {best['builtin']:.3f} s, call layer {best['call_layer']:.3f} s, "
              f"ratio {ratio:.2f} (target <= {CUSTOM_DENSE_TARGET}){'' if ratio <= CUSTOM_DENSE_TARGET else '  MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"custom_dense": rows, "samples": len(x), "repeats": args.repeats,
                       "loadavg": common.loadavg()}, f, indent=2)
    return 0
