"""Optimizers: PyTorch's update rules, step for step, under Keras's argument names.

An optimizer sees only ``(key, param, grad)`` triples: ``key`` names a parameter
(``(layer_name, "kernel")``), and per-parameter state such as Adam's moments is kept
under that key. Parameters are updated in place and keep their dtype.

``learning_rate`` may be a float or a schedule: any callable ``schedule(step) -> float``
of the 0-based step count (see ``numnet.schedules``).

Defaults are Keras's (``Adam(epsilon=1e-7)``, ``RMSprop(rho=0.9)``,
``Adagrad(initial_accumulator_value=0.1)``); the arithmetic is PyTorch's, so the same
hyper-parameters give the same weights as ``torch.optim``.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

Key = tuple


def _check_non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    return float(value)


def _check_fraction(name: str, value) -> float:
    value = _check_non_negative(name, value)
    if value >= 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}.")
    return value


class Optimizer:
    """Base class. Subclasses implement ``_update(state, param, grad, lr)``."""

    def __init__(self, learning_rate=0.01, weight_decay: float = 0.0) -> None:
        if not callable(learning_rate):
            learning_rate = _check_non_negative("learning_rate", learning_rate)
        self.learning_rate = learning_rate
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)
        self.iterations = 0
        self.state: dict[Key, dict[str, np.ndarray]] = {}
        self._flat = None  # (layout, state dict, flat slots) of the last step_flat

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next step uses (a schedule evaluated at ``iterations``)."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def step(self, items: Iterable[tuple[Key, np.ndarray, np.ndarray]]) -> None:
        """Update every ``param`` in place from its ``grad``; one call is one step."""
        lr = self.current_learning_rate
        self.iterations += 1
        for key, param, grad in items:
            state = self.state.get(key)
            if state is None:
                state = self.state[key] = self._init_state(param)
            self._update(state, param, grad, lr)

    def step_flat(self, layout, params: np.ndarray, grads: np.ndarray) -> None:
        """One step over many parameters stored in one flat buffer.

        ``params`` and ``grads`` are 1-D arrays holding every parameter back to back;
        ``layout`` lists ``(key, start, stop, shape)`` for each. Every update rule here is
        elementwise, so updating the flat buffer at once is the same arithmetic as
        ``step`` over each parameter, with a few ufunc calls in place of a few per
        parameter. The state stays addressable per key: ``state[key][slot]`` is a view
        into the flat slot. Falls back to ``step`` when the parameters' scalar slots
        (Adam's step count) disagree, e.g. a layer unfrozen mid-training.
        """
        flat_state = self._flat_state(layout, params)
        if flat_state is None:
            self.step((key, params[a:b].reshape(shape), grads[a:b].reshape(shape)) for key, a, b, shape in layout)
            return
        lr = self.current_learning_rate
        self.iterations += 1
        self._update(flat_state, params, grads, lr)

    def _flat_state(self, layout, params):
        cached = self._flat
        if cached is not None and cached[0] is layout and cached[1] is self.state:
            return cached[2]
        flat = self._init_state(params)
        scalars = {slot for slot, value in flat.items() if value.ndim == 0}
        for slot in scalars:
            values = {int(self.state[key][slot]) for key, *_ in layout if slot in self.state.get(key, {})}
            missing = any(slot not in self.state.get(key, {}) for key, *_ in layout)
            if len(values) > 1 or (missing and values - {0}):
                return None  # parameters at different step counts: update them one by one
            flat[slot][...] = values.pop() if values else 0
        for key, start, stop, shape in layout:
            existing = self.state.get(key, {})
            views = {}
            for slot, value in flat.items():
                if slot in scalars:
                    views[slot] = value  # one shared counter
                    continue
                views[slot] = value[start:stop].reshape(shape)
                if slot in existing:
                    views[slot][...] = existing[slot]
            self.state[key] = views
        self._flat = (layout, self.state, flat)
        return flat

    def apply(self, layers) -> None:
        """One step over the gradients of every trainable layer in ``layers``."""
        self.step(
            ((layer.name, name), param, layer.grads[name])
            for layer in layers
            if layer.trainable
            for name, param in layer.params.items()
        )

    def _init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, state, param, grad, lr) -> None:
        raise NotImplementedError

    def _decayed(self, param, grad):
        """L2 penalty folded into the gradient, as PyTorch's ``weight_decay`` does."""
        return grad + self.weight_decay * param if self.weight_decay else grad

    def get_config(self) -> dict:
        config = {k: v for k, v in vars(self).items() if k not in ("iterations", "state") and not k.startswith("_")}
        if callable(self.learning_rate):
            config["learning_rate"] = self.learning_rate
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and Nesterov momentum.

    g = grad + wd * p;  b = g (first step) or momentum * b + g;
    g = g + momentum * b (nesterov) or b;  p -= lr * g.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0) -> None:
        super().__init__(learning_rate, weight_decay)
        self.momentum = _check_fraction("momentum", momentum)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD(nesterov=True) needs a momentum > 0.")

    def _init_state(self, param):
        # Starting from zeros, the first step gives b = momentum * 0 + g = g exactly.
        return {"momentum": np.zeros_like(param)} if self.momentum else {}

    def _update(self, state, param, grad, lr):
        grad = self._decayed(param, grad)
        if self.momentum:
            buf = state["momentum"]
            buf *= self.momentum
            buf += grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= lr * grad


class RMSprop(Optimizer):
    """RMSprop: v = rho v + (1 - rho) g^2;  p -= lr g / (sqrt(v) + eps).

    ``centered`` subtracts the squared running mean of g from v; ``momentum`` > 0 keeps a
    buffer b = momentum b + g / (sqrt(v) + eps) and steps p -= lr b.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.rho = _check_fraction("rho", rho)
        self.momentum = _check_fraction("momentum", momentum)
        self.epsilon = _check_non_negative("epsilon", epsilon)
        self.centered = bool(centered)

    def _init_state(self, param):
        state = {"square_avg": np.zeros_like(param)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(param)
        if self.momentum:
            state["momentum"] = np.zeros_like(param)
        return state

    def _update(self, state, param, grad, lr):
        grad = self._decayed(param, grad)
        v = state["square_avg"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        if self.centered:
            mean = state["grad_avg"]
            mean *= self.rho
            mean += (1 - self.rho) * grad
            denom = np.sqrt(v - mean * mean)
        else:
            denom = np.sqrt(v)
        denom += self.epsilon
        if self.momentum:
            buf = state["momentum"]
            buf *= self.momentum
            buf += grad / denom
            param -= lr * buf
        else:
            param -= lr * (grad / denom)


class Adam(Optimizer):
    """Adam with bias correction, as PyTorch computes it:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),

    t being the number of steps this parameter has taken (its state's ``step``).

    ``weight_decay`` adds an L2 term to g (PyTorch's ``Adam``); for decoupled decay use
    ``AdamW``.

    The state keeps the exponential *sums* M = b1 M + g and V = b2 V + g^2, so that
    m = (1 - b1) M and v = (1 - b2) V. The step is then

        p -= c * M / (sqrt(V) + e),  c = lr (1 - b1) / (1 - b1^t) * sqrt(1 - b2^t) / sqrt(1 - b2),
                                     e = eps * sqrt(1 - b2^t) / sqrt(1 - b2),

    the same arithmetic with every scalar folded into two numbers: ten passes over the
    parameters per step instead of thirteen (the optimizer is most of a small network's step).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = _check_fraction("beta_1", beta_1)
        self.beta_2 = _check_fraction("beta_2", beta_2)
        self.epsilon = _check_non_negative("epsilon", epsilon)

    def _init_state(self, param):
        # "step" counts this parameter's own updates, as torch does: a parameter that joins
        # late (a layer unfrozen mid-training) starts its bias correction at t = 1.
        # Slots whose name starts with "_" are workspace, not state: saving skips them.
        return {
            "m": np.zeros_like(param),
            "v": np.zeros_like(param),
            "step": np.zeros((), dtype=np.int64),
            "_scratch": np.empty_like(param),
        }

    def _l2_grad(self, param, grad):
        return self._decayed(param, grad)

    def _update(self, state, param, grad, lr):
        grad = self._l2_grad(param, grad)
        m_sum, v_sum, scratch = state["m"], state["v"], state["_scratch"]
        state["step"] += 1
        t = int(state["step"])
        m_sum *= self.beta_1
        m_sum += grad
        np.multiply(grad, grad, out=scratch)
        v_sum *= self.beta_2
        v_sum += scratch
        bias_2_sqrt = math.sqrt(1 - self.beta_2**t)
        sum_scale = bias_2_sqrt / math.sqrt(1 - self.beta_2)
        np.sqrt(v_sum, out=scratch)
        scratch += self.epsilon * sum_scale
        np.divide(m_sum, scratch, out=scratch)
        scratch *= lr * (1 - self.beta_1) / (1 - self.beta_1**t) * sum_scale
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay, then Adam's step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay)

    def _l2_grad(self, param, grad):
        return grad

    def _update(self, state, param, grad, lr):
        if self.weight_decay:
            param *= 1 - lr * self.weight_decay
        super()._update(state, param, grad, lr)


class Adagrad(Optimizer):
    """Adagrad: s += g^2;  p -= lr g / (sqrt(s) + eps), s starting at
    ``initial_accumulator_value``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.initial_accumulator_value = _check_non_negative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _check_non_negative("epsilon", epsilon)

    def _init_state(self, param):
        return {"sum": np.full_like(param, self.initial_accumulator_value)}

    def _update(self, state, param, grad, lr):
        grad = self._decayed(param, grad)
        s = state["sum"]
        s += grad * grad
        denom = np.sqrt(s)
        denom += self.epsilon
        param -= lr * (grad / denom)


_REGISTRY = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``, ``"sgd"``, ...) with default settings, or an
    ``Optimizer`` instance as is."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _REGISTRY:
        return _REGISTRY[identifier.lower()]()
    raise ValueError(
        f"Unknown optimizer {identifier!r}; expected an Optimizer or one of: {', '.join(sorted(_REGISTRY))}."
    )
