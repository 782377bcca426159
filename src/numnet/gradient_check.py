"""Gradient checking: compare a backward pass with central differences.

The check runs in float64 along random directions (as chainer's checker does): for a
random projection ``L = sum(w * f(x))`` and a random unit direction ``d`` per tensor, the
analytic directional derivative ``<dL/dx, d>`` from ``backward`` must equal
``(L(x + h d) - L(x - h d)) / 2h``. The largest relative error over inputs, parameters
and directions is reported, each measured against at least 1% of a typical directional
derivative ``|dL/dx| / sqrt(size)`` (so a direction nearly orthogonal to the gradient
cannot inflate rounding noise); for a correct layer it is about 1e-8 or smaller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layers.layer import Layer, call_forward


@dataclass
class GradientCheckResult:
    """``max_relative_error`` over everything checked; ``errors`` by tensor name."""

    max_relative_error: float
    errors: dict[str, float] = field(default_factory=dict)

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.max_relative_error <= tolerance


def relative_error(analytic: float, numeric: float, floor: float = 0.0) -> float:
    """|a - n| / max(|a|, |n|, floor), and the absolute difference when that scale is
    below 1e-12; infinite when either is NaN or infinite, so a broken layer cannot pass.

    ``floor`` keeps a directional derivative that is near zero by chance (a direction
    almost orthogonal to the gradient) from turning rounding noise into a large ratio.
    """
    if not (np.isfinite(analytic) and np.isfinite(numeric)):
        return float("inf")
    scale = max(abs(analytic), abs(numeric), floor)
    return abs(analytic - numeric) / scale if scale > 1e-12 else abs(analytic - numeric)


def _floor(grad: np.ndarray) -> float:
    """1% of a typical directional derivative along a random unit direction,
    |grad| / sqrt(size): the smallest scale an error is measured against."""
    norm = float(np.linalg.norm(grad))
    return 0.01 * norm / float(np.sqrt(max(grad.size, 1))) if np.isfinite(norm) else 0.0


def _unit(rng, shape):
    d = rng.standard_normal(shape)
    return d / np.linalg.norm(d)


def check_layer(
    layer: Layer,
    inputs,
    training: bool = False,
    n_directions: int = 3,
    step: float = 1e-6,
    seed: int = 0,
    check_inputs: bool = True,
) -> GradientCheckResult:
    """Check ``layer.backward`` against central differences at ``inputs``.

    ``inputs`` is an array ``(n_samples, ...)`` or, for merge layers, a list of them. The
    layer is converted to float64 for the check and restored afterwards. Layers that draw
    random numbers in ``forward`` (dropout) must draw from ``layer._rng``; its state is
    replayed before every forward so each evaluation uses the same draws.
    """
    rng = np.random.default_rng(seed)
    many = isinstance(inputs, (list, tuple))
    xs = [np.array(x, dtype=np.float64) for x in (inputs if many else [inputs])]
    if not layer.built:
        shapes = [x.shape[1:] for x in xs]
        layer.build_for(shapes if many else shapes[0])
    original_dtype = layer.dtype
    original = {k: v.copy() for k, v in {**layer.params, **layer.buffers}.items()}
    layer.cast(np.float64)
    random_state = None

    def run():
        nonlocal random_state
        generator = getattr(layer, "_rng", None)
        if isinstance(generator, np.random.Generator):
            if random_state is None:
                random_state = generator.bit_generator.state
            generator.bit_generator.state = random_state
        # Buffers such as moving averages must not drift between evaluations.
        for key, value in buffers_at_start.items():
            layer.buffers[key][...] = value
        return call_forward(layer, xs if many else xs[0], training=training)

    try:
        buffers_at_start = {}
        out = run()
        buffers_at_start = {k: v.copy() for k, v in layer.buffers.items()}
        weights = rng.standard_normal(np.shape(out))
        out = run()
        input_errors = layer.backward(weights.copy())
        if not many:
            input_errors = [input_errors]
        analytic = {f"param:{k}": layer.grads[k].copy() for k in layer.params}
        if check_inputs:
            for i, err in enumerate(input_errors):
                analytic[f"input:{i}"] = np.asarray(err)

        def tensor(name):
            kind, key = name.split(":")
            return xs[int(key)] if kind == "input" else layer.params[key]

        errors = {}
        for name, grad in analytic.items():
            target = tensor(name)
            worst = 0.0
            for _ in range(n_directions):
                d = _unit(rng, target.shape)
                target += step * d
                plus = float(np.sum(weights * run()))
                target -= 2 * step * d
                minus = float(np.sum(weights * run()))
                target += step * d
                numeric = (plus - minus) / (2 * step)
                worst = max(worst, relative_error(float(np.sum(grad * d)), numeric, _floor(grad)))
            errors[name] = worst
    finally:
        for key, value in original.items():
            store = layer.params if key in layer.params else layer.buffers
            store[key] = value
        layer.dtype = original_dtype
        layer.grads = {}
    return GradientCheckResult(max(errors.values(), default=0.0), errors)


def check_model(model, x, y, n_directions: int = 3, step: float = 1e-6, seed: int = 0,
                sample_weight=None) -> GradientCheckResult:
    """Check a compiled float64 model's gradients of its loss against central differences.

    The analytic gradients come from exactly the path ``fit`` uses (every output's loss
    and weight, the fused softmax / sigmoid + cross-entropy gradient, shared layers'
    gradients summed over their calls, nested models); the forward runs in inference mode
    so that every evaluation is deterministic. ``x`` / ``y`` take the structures ``fit``
    takes. Errors are reported per ``"layer path/param"``.
    """
    from .graph.plan import GradientPass
    from .training.data import as_inputs, as_sample_weights, as_targets

    if model.dtype != np.float64:
        raise ValueError(f"check_model needs a float64 model (Model(..., dtype='float64')), got {model.dtype}.")
    if not model.compiled:
        raise RuntimeError("Call model.compile(optimizer=..., loss=...) before check_model.")
    rng = np.random.default_rng(seed)
    xs = [a.astype(np.float64) for a in as_inputs(model, x)]
    ys = [t if t is None or t.dtype.kind != "f" else t.astype(np.float64) for t in as_targets(model, y, len(xs[0]))]
    weights = as_sample_weights(model, ys, sample_weight, None)
    compiled, plan = model._compiled, model._plan

    def loss() -> float:
        outputs, run = plan.forward(xs, training=False)
        return compiled.batch_losses(ys, outputs, weights, plan.output_masks(run))[0]

    # Inference mode (deterministic: no dropout, BatchNorm on its moving statistics), with
    # every call's cache kept for the backward pass.
    outputs, run = plan.forward(xs, training=False, keep=True)
    gradient_pass = GradientPass()
    plan.backward(run, compiled.gradients(ys, outputs, weights, plan.output_masks(run)), gradient_pass)
    errors = {}
    for path, layer in model.leaf_layers():
        for name, param in layer.params.items():
            if layer._grad_pass is gradient_pass:
                analytic = layer.grads[name].copy()
            else:
                analytic = np.zeros_like(param)  # no loss depends on this layer
            worst = 0.0
            for _ in range(n_directions):
                d = _unit(rng, param.shape)
                param += step * d
                plus = loss()
                param -= 2 * step * d
                minus = loss()
                param += step * d
                numeric = (plus - minus) / (2 * step)
                worst = max(worst, relative_error(float(np.sum(analytic * d)), numeric, _floor(analytic)))
            errors[f"{path}/{name}"] = worst
    return GradientCheckResult(max(errors.values(), default=0.0), errors)
