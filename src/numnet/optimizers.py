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
import re
from typing import Iterable

import numpy as np

from . import schedules  # noqa: F401  (Keras's keras.optimizers.schedules)

Key = tuple

# Hyper-parameters above this are refused: no useful learning rate, weight decay or epsilon
# is that large, and values such as 2**64 or 1e308 (finite) overflow the first update.
MAX_HYPER_PARAMETER = 1e6


def _as_float(value) -> float:
    """A number as a float; an integer too large for one (10**400) as inf."""
    if isinstance(value, (int, np.integer)):
        return float(value) if abs(int(value)) < 10**300 else math.inf
    return float(value)


def _check_non_negative(name: str, value, high: float = MAX_HYPER_PARAMETER) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a non-negative number, got {value!r:.60}.")
    as_float = _as_float(value)
    if not 0 <= as_float <= high:  # NaN fails too
        raise ValueError(f"{name} must be a finite number in [0, {high:g}], got {value!r:.60}.")
    return as_float


def _check_fraction(name: str, value) -> float:
    value = _check_non_negative(name, value)
    if value >= 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}.")
    return value


def _check_clip(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
            0 < float(value) < math.inf):
        raise ValueError(f"{name} must be a positive finite number or None, got {value!r:.60}.")
    return float(value)


def _names(value, what) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings, got {value!r:.80}.")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{what}: {pattern!r:.60} is not a regular expression ({exc}).") from None
    return list(value)


class Optimizer:
    """Base class. Subclasses implement ``_init_state(param)`` and ``_update(state, param,
    grad, lr)``.

    Every optimizer takes Keras's gradient clipping, applied to the gradients before the
    update (and before any L2 ``weight_decay`` term is added, as ``torch.nn.utils`` clipping
    before ``torch.optim`` does); at most one of them may be set:

    * ``clipnorm``: each parameter's gradient g becomes g * clipnorm / max(|g|, clipnorm);
    * ``global_clipnorm``: every gradient is scaled by clipnorm / max(|G|, clipnorm), |G|
      the norm of all of them together;
    * ``clipvalue``: each element is clipped to [-clipvalue, clipvalue].

    ``exclude_from_weight_decay`` (the Keras method, or a list of patterns given to the
    constructor): parameters whose ``"layer_name/param_name"`` matches a pattern
    (``re.search``) take no weight decay.
    """

    def __init__(self, learning_rate=0.01, weight_decay: float = 0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, exclude_from_weight_decay=None) -> None:
        if not callable(learning_rate):
            learning_rate = _check_non_negative("learning_rate", learning_rate)
        self.learning_rate = learning_rate
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)
        self.clipnorm = _check_clip("clipnorm", clipnorm)
        self.clipvalue = _check_clip("clipvalue", clipvalue)
        self.global_clipnorm = _check_clip("global_clipnorm", global_clipnorm)
        if sum(v is not None for v in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set; got "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}.")
        self._exclude = _names(exclude_from_weight_decay, "exclude_from_weight_decay")
        self.iterations = 0
        self.state: dict[Key, dict[str, np.ndarray]] = {}
        self._flat = None  # (layout, state dict, flat slots) of the last step_flat
        self._flat_decay = None  # (layout, patterns, per-element decay) for step_flat
        self._decay = self.weight_decay  # the decay of the parameter(s) being updated

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next step uses (a schedule evaluated at ``iterations``)."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    # --- weight decay exclusions ---------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keras's method: no weight decay for the parameters named in ``var_names``
        (patterns searched in ``"layer_name/param_name"``) or keyed in ``var_list``
        (``(layer_name, param_name)`` pairs)."""
        patterns = _names(var_names, "var_names")
        for key in var_list or []:
            if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
                raise TypeError(f"var_list holds (layer_name, param_name) pairs, got {key!r:.80}.")
            patterns.append(f"^{re.escape(key[0])}/{re.escape(key[1])}$")
        self._exclude = self._exclude + patterns
        self._flat_decay = None

    def _decay_of(self, key) -> float:
        if not self.weight_decay or not self._exclude:
            return self.weight_decay
        name = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
        return 0.0 if any(re.search(p, name) for p in self._exclude) else self.weight_decay

    def _flat_decay_of(self, layout, size, dtype):
        """The weight decay for a flat buffer: a number, or one value per element when some
        parameters are excluded."""
        if not self.weight_decay or not self._exclude:
            return self.weight_decay
        cached = self._flat_decay
        if cached is not None and cached[0] is layout and cached[1] == len(self._exclude):
            return cached[2]
        decay = np.zeros(size, dtype=dtype)
        for key, start, stop, _ in layout:
            decay[start:stop] = self._decay_of(key)
        self._flat_decay = (layout, len(self._exclude), decay)
        return decay

    # --- gradient clipping ---------------------------------------------------------------------
    @property
    def clips(self) -> bool:
        return self.clipnorm is not None or self.clipvalue is not None or self.global_clipnorm is not None

    @staticmethod
    def _norm(g) -> float:
        g = g.reshape(-1)
        return math.sqrt(float(np.dot(g, g)))

    def _clipped(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """The gradients after clipping (new arrays; the caller's are left as they are)."""
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = self._norm(g)
                out.append(g * np.asarray(self.clipnorm / norm, g.dtype) if norm > self.clipnorm else g.copy())
            return out
        norm = math.sqrt(sum(self._norm(g) ** 2 for g in grads))
        if norm > self.global_clipnorm:
            return [g * np.asarray(self.global_clipnorm / norm, g.dtype) for g in grads]
        return [g.copy() for g in grads]

    def _clipped_flat(self, layout, grads: np.ndarray) -> np.ndarray:
        if self.clipvalue is not None:
            return np.clip(grads, -self.clipvalue, self.clipvalue)
        out = grads.copy()
        if self.clipnorm is not None:
            for _, start, stop, _ in layout:
                norm = self._norm(out[start:stop])
                if norm > self.clipnorm:
                    out[start:stop] *= self.clipnorm / norm
            return out
        norm = math.sqrt(sum(self._norm(out[a:b]) ** 2 for _, a, b, _ in layout))
        if norm > self.global_clipnorm:
            out *= self.global_clipnorm / norm
        return out

    # --- stepping ------------------------------------------------------------------------------
    def step(self, items: Iterable[tuple[Key, np.ndarray, np.ndarray]]) -> None:
        """Update every ``param`` in place from its ``grad``; one call is one step."""
        items = list(items)
        if self.clips:
            items = [(k, p, g) for (k, p, _), g in zip(items, self._clipped([g for _, _, g in items]))]
        lr = self.current_learning_rate
        self.iterations += 1
        for key, param, grad in items:
            state = self.state.get(key)
            if state is None:
                state = self.state[key] = self._init_state(param)
            self._decay = self._decay_of(key)
            self._update(state, param, grad, lr)
        self._decay = self.weight_decay

    def step_flat(self, layout, params: np.ndarray, grads: np.ndarray, largest: float | None = None) -> bool:
        """One step over many parameters stored in one flat buffer; True when it was taken.

        ``params`` and ``grads`` are 1-D arrays holding every parameter back to back;
        ``layout`` lists ``(key, start, stop, shape)`` for each. Every update rule here is
        elementwise, so updating the flat buffer at once is the same arithmetic as
        ``step`` over each parameter, with a few ufunc calls in place of a few per
        parameter. The state stays addressable per key: ``state[key][slot]`` is a view
        into the flat slot. Falls back to ``step`` when the parameters' scalar slots
        (Adam's step count) disagree, e.g. a layer unfrozen mid-training.

        ``largest``: refuse the step (return False, change nothing: no weight, no state,
        no iteration count) when a gradient is NaN or has a magnitude of ``largest`` or
        more (``fit``'s divergence guard). ``_gradients_within`` checks it; Adam checks the
        squares it needs anyway, saving a pass over the gradients.
        """
        flat_state = self._flat_state(layout, params)
        if largest is not None and grads.size and not self._gradients_within(flat_state, grads, largest):
            return False
        if flat_state is None:
            self.step((key, params[a:b].reshape(shape), grads[a:b].reshape(shape)) for key, a, b, shape in layout)
            return True
        if self.clips:
            grads = self._clipped_flat(layout, grads)
        lr = self.current_learning_rate
        self.iterations += 1
        self._decay = self._flat_decay_of(layout, params.size, params.dtype)
        try:
            self._update(flat_state, params, grads, lr)
        finally:
            self._decay = self.weight_decay
        return True

    def _gradients_within(self, flat_state, grads: np.ndarray, largest: float) -> bool:
        """Whether every gradient is a number of magnitude below ``largest``. min and max: two
        passes without a temporary (NaN fails both comparisons) and no BLAS call."""
        return bool(-largest < grads.min() and grads.max() < largest)

    def _flat_state(self, layout, params):
        cached = self._flat
        if cached is not None and cached[0] is layout and cached[1] is self.state:
            return cached[2]
        flat = self._init_state(params)
        scalars = {slot for slot, value in flat.items() if value.ndim == 0}
        for slot in scalars:
            values = {self.state[key][slot].item() for key, *_ in layout if slot in self.state.get(key, {})}
            missing = any(slot not in self.state.get(key, {}) for key, *_ in layout)
            if len(values) > 1 or (missing and values - {flat[slot].item()}):
                return None  # parameters at different step counts: update them one by one
            if values:
                flat[slot][...] = values.pop()
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

    def apply_gradients(self, grads_and_vars) -> None:
        """One step from ``(gradient, variable)`` pairs, as Keras / TensorFlow take them:
        ``optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))``.

        Variables are ``numnet.ops.Variable``s (a layer's come from ``trainable_variables``
        and are updated in the layer's own array); gradients are Tensors or arrays of the
        variable's shape. A pair whose gradient is None (no path from the loss) is skipped,
        as TensorFlow does. State is kept per variable: ``(layer name, weight name)`` for a
        layer's weight, ``("", name)`` for a plain Variable.
        """
        from .ops import Variable

        items, updated = [], []
        for pair in grads_and_vars:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(f"apply_gradients expects (gradient, variable) pairs, got {pair!r:.80}.")
            grad, variable = pair
            if not isinstance(variable, Variable):
                raise TypeError(
                    f"apply_gradients: each variable must be a numnet.ops.Variable (model.trainable_variables), "
                    f"got {type(variable).__name__}."
                )
            if grad is None:
                continue
            grad = np.asarray(getattr(grad, "value", grad))
            param = variable.value
            if grad.shape != param.shape:
                raise ValueError(f"apply_gradients: the gradient of {variable.name!r} has shape {grad.shape}, "
                                 f"the variable {param.shape}.")
            key = getattr(variable, "path", None) or ("", variable.name)
            items.append((key, param, grad.astype(param.dtype, copy=False)))
            updated.append(variable)
        if items:
            self.step(items)
            from .training.penalty import constrain_variables

            constrain_variables(updated)  # kernel_constraint= ...: after the update, as Keras

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
        decay = self._decay
        if type(decay) is not np.ndarray and not decay:  # a number (no np.ndim call: this runs every step)
            return grad
        return grad + decay * param

    # --- state checks ----------------------------------------------------------------------------
    # slot -> what it must hold, beyond being finite
    _NON_NEGATIVE_SLOTS = ("v", "v_max", "square_avg", "sum", "u")

    def check_slots(self, slots: dict, where: str = "optimizer state") -> None:
        """Refuse state that would break a later step: ``ValueError`` naming the slot for a
        non-finite value, a negative second moment / accumulator, a step count outside
        [0, 2**62) or a momentum product outside (0, 1]."""
        for slot, value in slots.items():
            if slot.startswith("_"):
                continue
            value = np.asarray(value)
            if value.dtype.kind not in "fiu":
                raise ValueError(f"{where} slot {slot!r}: expected numbers, got dtype {value.dtype}.")
            if value.size and not (np.isfinite(value.min()) and np.isfinite(value.max())):
                raise ValueError(f"{where} slot {slot!r} holds NaN or infinite values.")
            if slot == "step" and not (value.ndim == 0 and 0 <= int(value) < 2**62):
                raise ValueError(f"{where} slot 'step' must be a whole number in [0, 2**62), got {value!r:.60}.")
            if slot == "mu_product" and not (value.ndim == 0 and 0 < float(value) <= 1):
                raise ValueError(f"{where} slot 'mu_product' must lie in (0, 1], got {value!r:.60}.")
            if slot in self._NON_NEGATIVE_SLOTS and value.size and value.min() < 0:
                raise ValueError(f"{where} slot {slot!r} holds negative values; it accumulates squares.")

    def state_finite(self) -> bool:
        """Whether every state array is finite (the cheap check after a step: a moment that
        overflowed to inf freezes its parameters forever, so it is a divergence like a
        non-finite weight). Scans the flat buffers when ``step_flat`` made them."""
        if self._flat is not None and self._flat[1] is self.state:
            arrays = [a for slot, a in self._flat[2].items() if not slot.startswith("_")]
            flat_keys = {key for key, *_ in self._flat[0]}
            arrays += [a for key, slots in self.state.items() if key not in flat_keys
                       for slot, a in slots.items() if not slot.startswith("_")]
        else:
            arrays = [a for slots in self.state.values() for slot, a in slots.items() if not slot.startswith("_")]
        for a in arrays:
            if a.size and a.dtype.kind == "f" and not (np.isfinite(a.min()) and np.isfinite(a.max())):
                return False
        return True

    def get_config(self) -> dict:
        config = {k: v for k, v in vars(self).items() if k not in ("iterations", "state") and not k.startswith("_")}
        if self._exclude:
            config["exclude_from_weight_decay"] = list(self._exclude)
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and Nesterov momentum.

    g = grad + wd * p;  b = g (first step) or momentum * b + g;
    g = g + momentum * b (nesterov) or b;  p -= lr * g.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
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

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=0.0,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=0.0,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = _check_fraction("beta_1", beta_1)
        self.beta_2 = _check_fraction("beta_2", beta_2)
        self.epsilon = _check_non_negative("epsilon", epsilon)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise ValueError(f"amsgrad must be True or False, got {amsgrad!r:.60}.")
        self.amsgrad = bool(amsgrad)

    def _init_state(self, param):
        # "step" counts this parameter's own updates, as torch does: a parameter that joins
        # late (a layer unfrozen mid-training) starts its bias correction at t = 1.
        # Slots whose name starts with "_" are workspace, not state: saving skips them.
        state = {
            "m": np.zeros_like(param),
            "v": np.zeros_like(param),
            "step": np.zeros((), dtype=np.int64),
            "_scratch": np.empty_like(param),
        }
        if self.amsgrad:
            state["v_max"] = np.zeros_like(param)  # the largest V so far (AMSGrad)
        return state

    def _l2_grad(self, param, grad):
        return self._decayed(param, grad)

    def _gradients_within(self, flat_state, grads, largest):
        """The squares the update needs, computed now into the workspace: their maximum is
        below ``largest**2`` when every gradient is below ``largest`` and none is NaN (to
        the rounding of a square at the bound; one pass instead of the two of min and max).
        ``_update`` reuses them when it steps with these very gradients (not after clipping
        or L2 decay made new ones)."""
        if flat_state is None:
            return super()._gradients_within(flat_state, grads, largest)
        squares = flat_state["_scratch"]
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is what is checked for: no warning
            np.multiply(grads, grads, out=squares)
        within = bool(squares.max() < largest * largest)
        self._squares_of = grads if within else None
        return within

    def _update(self, state, param, grad, lr):
        grad = self._l2_grad(param, grad)
        m_sum, v_sum, scratch = state["m"], state["v"], state["_scratch"]
        state["step"] += 1
        t = int(state["step"])
        m_sum *= self.beta_1
        m_sum += grad
        if self.__dict__.get("_squares_of") is not grad:  # else _gradients_within left grad**2 in scratch
            np.multiply(grad, grad, out=scratch)
        self._squares_of = None
        v_sum *= self.beta_2
        v_sum += scratch
        bias_2_sqrt = math.sqrt(1 - self.beta_2**t)
        sum_scale = bias_2_sqrt / math.sqrt(1 - self.beta_2)
        if self.amsgrad:
            np.maximum(state["v_max"], v_sum, out=state["v_max"])
            v_sum = state["v_max"]
        np.sqrt(v_sum, out=scratch)
        scratch += self.epsilon * sum_scale
        np.divide(m_sum, scratch, out=scratch)
        scratch *= lr * (1 - self.beta_1) / (1 - self.beta_1**t) * sum_scale
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay, then Adam's step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, **kwargs)

    def _l2_grad(self, param, grad):
        return grad

    def _update(self, state, param, grad, lr):
        _decoupled_decay(param, lr, self._decay)
        super()._update(state, param, grad, lr)


class Adagrad(Optimizer):
    """Adagrad: s += g^2;  p -= lr g / (sqrt(s) + eps), s starting at
    ``initial_accumulator_value``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
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


def _decoupled_decay(param, lr, decay) -> None:
    """p *= 1 - lr * weight_decay (a number, or one value per element of a flat buffer)."""
    if np.ndim(decay) or decay:
        param *= 1 - lr * decay


class Nadam(Optimizer):
    """Nadam (Dozat), PyTorch's ``NAdam`` and Keras's ``Nadam`` (the same rule):

    mu_t = b1 (1 - 0.5 * 0.96^(0.004 t));  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i);
    p -= lr m_hat / (sqrt(v / (1 - b2^t)) + eps).

    ``weight_decay`` adds an L2 term to g, as PyTorch's ``NAdam`` does.
    """

    MOMENTUM_DECAY = 0.004

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = _check_fraction("beta_1", beta_1)
        self.beta_2 = _check_fraction("beta_2", beta_2)
        self.epsilon = _check_non_negative("epsilon", epsilon)

    def _init_state(self, param):
        return {"m": np.zeros_like(param), "v": np.zeros_like(param), "step": np.zeros((), dtype=np.int64),
                "mu_product": np.ones((), dtype=np.float64)}

    def _update(self, state, param, grad, lr):
        grad = self._decayed(param, grad)
        state["step"] += 1
        t = int(state["step"])
        b1, b2 = self.beta_1, self.beta_2
        mu = b1 * (1 - 0.5 * 0.96 ** (t * self.MOMENTUM_DECAY))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.MOMENTUM_DECAY))
        state["mu_product"] *= mu
        product = float(state["mu_product"])
        m, v = state["m"], state["v"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        denom = np.sqrt(v / (1 - b2**t))
        denom += self.epsilon
        param -= (lr * (1 - mu) / (1 - product)) * grad / denom
        param -= (lr * mu_next / (1 - product * mu_next)) * m / denom


class Adamax(Optimizer):
    """Adamax, as PyTorch computes it:

    m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  p -= lr / (1 - b1^t) * m / u.

    Keras puts epsilon in the denominator (m / (u + eps), u = max(b2 u, |g|)); numnet follows
    PyTorch, as for Adam. ``weight_decay`` adds an L2 term to g (PyTorch's ``Adamax``).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = _check_fraction("beta_1", beta_1)
        self.beta_2 = _check_fraction("beta_2", beta_2)
        self.epsilon = _check_non_negative("epsilon", epsilon)

    def _init_state(self, param):
        return {"m": np.zeros_like(param), "u": np.zeros_like(param), "step": np.zeros((), dtype=np.int64)}

    def _update(self, state, param, grad, lr):
        grad = self._decayed(param, grad)
        state["step"] += 1
        t = int(state["step"])
        m, u = state["m"], state["u"]
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        u *= self.beta_2
        np.maximum(u, np.abs(grad) + self.epsilon, out=u)
        param -= (lr / (1 - self.beta_1**t)) * (m / u)


class Lion(Optimizer):
    """Lion (Chen et al., 2023), Keras's ``Lion``:

    c = b1 m + (1 - b1) g;  p -= lr sign(c);  m = b2 m + (1 - b2) g,

    with decoupled weight decay p *= 1 - lr * weight_decay before the step (Keras and the
    paper; PyTorch has no Lion). Keras's defaults: lr 0.001, b1 0.9, b2 0.99.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = _check_fraction("beta_1", beta_1)
        self.beta_2 = _check_fraction("beta_2", beta_2)

    def _init_state(self, param):
        return {"m": np.zeros_like(param)}

    def _update(self, state, param, grad, lr):
        _decoupled_decay(param, lr, self._decay)
        m = state["m"]
        direction = np.sign(self.beta_1 * m + (1 - self.beta_1) * grad)
        param -= lr * direction
        m *= self.beta_2
        m += (1 - self.beta_2) * grad


_REGISTRY = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "nadam": Nadam,
             "adamax": Adamax, "lion": Lion}


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
