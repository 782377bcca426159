"""Central-difference gradient checks for calls that numnet.gradient_check.check_layer
cannot express: keyword arguments (masks, initial_state), list outputs (return_state,
attention scores) and lists of errors back. Same method as check_layer: float64, a random
projection ``L = sum_k w_k * out_k`` and random unit directions per tensor; the error of
each directional derivative is measured against at least 1% of a typical one."""

from __future__ import annotations

import numpy as np

from numnet.gradient_check import relative_error
from numnet.layers.layer import Layer


def _generators(layer):
    layers = [layer] + [v for v in vars(layer).values() if isinstance(v, Layer)]
    return [l._rng for l in layers if isinstance(getattr(l, "_rng", None), np.random.Generator)]


def numeric_check(layer, call, arrays, errors_of=None, unused=(), zero=(), n_directions=3, step=1e-6, seed=0):
    """Largest relative error over ``arrays`` and ``layer.params``.

    ``call(arrays) -> output or list of outputs`` runs the layer's forward on ``arrays``
    (float64 copies made here); ``errors_of(backward(...)) -> list`` gives the analytic
    error for each of ``arrays`` (None: not checked); default: the result itself, listed.
    Outputs whose index is in ``unused`` get no error (None is passed to backward).
    Tensors named in ``zero`` (e.g. ``"param:key_bias"``, whose gradient is exactly zero)
    must have a zero analytic gradient and directional derivatives below 1e-8 instead.
    The layer must be built; it is cast to float64.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    layer.cast(np.float64)
    saved = {}

    def run():
        for g in _generators(layer):
            if id(g) in saved:
                g.bit_generator.state = saved[id(g)]
            else:
                saved[id(g)] = g.bit_generator.state
        out = call(arrays)
        return (list(out), True) if isinstance(out, (list, tuple)) else ([out], False)

    outs, many = run()
    weights = [None if i in unused else rng.standard_normal(np.shape(o)) for i, o in enumerate(outs)]
    outs, _ = run()
    result = layer.backward([None if w is None else w.copy() for w in weights] if many else weights[0].copy())
    analytic = (errors_of or (lambda r: list(r) if isinstance(r, (list, tuple)) else [r]))(result)

    def loss():
        values, _ = run()
        return sum(float(np.sum(w * v)) for w, v in zip(weights, values) if w is not None)

    targets = {f"input:{i}": (a, g) for i, (a, g) in enumerate(zip(arrays, analytic)) if g is not None}
    targets.update({f"param:{k}": (layer.params[k], layer.grads[k].copy()) for k in layer.params})
    errors = {}
    for name, (target, grad) in targets.items():
        grad = np.asarray(grad, dtype=np.float64)
        assert grad.shape == target.shape, (name, grad.shape, target.shape)
        floor = 0.01 * float(np.linalg.norm(grad)) / np.sqrt(max(grad.size, 1))
        worst = 0.0
        if name in zero:
            assert np.abs(grad).max() < 1e-12, (name, np.abs(grad).max())
        for _ in range(n_directions):
            d = rng.standard_normal(target.shape)
            d /= np.linalg.norm(d)
            target += step * d
            plus = loss()
            target -= 2 * step * d
            minus = loss()
            target += step * d
            numeric = (plus - minus) / (2 * step)
            if name in zero:
                assert abs(numeric) < 1e-8, (name, numeric)
                continue
            worst = max(worst, relative_error(float(np.sum(grad * d)), numeric, floor))
        errors[name] = worst
    return max(errors.values()), errors
