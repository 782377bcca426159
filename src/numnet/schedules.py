"""Learning-rate schedules: ``lr = schedule(step)`` of the optimizer's 0-based step count.

Pass one as an optimizer's learning rate::

    opt = numnet.optimizers.Adam(learning_rate=ExponentialDecay(1e-3, decay_steps=1000, decay_rate=0.5))

Each optimizer step evaluates the schedule at ``optimizer.iterations``; schedules are
saved with the model (``get_config`` / ``from_config``). For a rate that depends on the
epoch or on validation figures use the callbacks ``LearningRateScheduler`` and
``ReduceLROnPlateau`` instead.
"""

from __future__ import annotations

import math

MAX_RATE = 1e6  # the largest learning rate an optimizer accepts (numnet.optimizers)


def _as_float(value) -> float:
    """A number as a float; an integer too large for one (10**400) as inf."""
    if isinstance(value, int):
        return float(value) if abs(int(value)) < 10**300 else math.inf
    return float(value)


def _number(name, value, owner, low=0.0, high=math.inf, low_open=True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner} {name} must be a number, got {value!r:.60}.")
    as_float = _as_float(value)
    if not (math.isfinite(as_float) and (as_float > low if low_open else as_float >= low) and as_float <= high):
        bound = f"({low:g}, {high:g}]" if low_open else f"[{low:g}, {high:g}]"
        raise ValueError(f"{owner} {name} must be a finite number in {bound}, got {value!r:.60}.")
    return as_float


def _positive(name, value, owner) -> float:
    return _number(name, value, owner, high=MAX_RATE if "learning_rate" in name else math.inf)


def _flag(name, value, owner) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{owner} {name} must be True or False, got {value!r:.60}.")
    return value


class LearningRateSchedule:
    """Base class: implement ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``lr = initial_learning_rate * decay_rate ** (step / decay_steps)``; with
    ``staircase=True`` the exponent is ``floor(step / decay_steps)`` (a step function)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate, owner)
        self.decay_steps = _positive("decay_steps", decay_steps, owner)
        self.decay_rate = _positive("decay_rate", decay_rate, owner)
        self.staircase = _flag("staircase", staircase, owner)

    def __call__(self, step: int) -> float:
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class StepDecay(ExponentialDecay):
    """``lr = initial_learning_rate * decay_rate ** floor(step / decay_steps)``: the rate is
    multiplied by ``decay_rate`` every ``decay_steps`` steps (``ExponentialDecay`` with
    ``staircase=True``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate=0.5, staircase: bool = True) -> None:
        if not staircase:
            raise ValueError("StepDecay always decays in steps; use ExponentialDecay for a smooth decay.")
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase=True)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["staircase"]
        return config


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3's ``CosineDecay``).

    Without ``warmup_target``: ``lr = initial_learning_rate * ((1 - alpha) c + alpha)``,
    ``c = 0.5 (1 + cos(pi min(step, decay_steps) / decay_steps))``: from the initial rate
    down to ``alpha * initial_learning_rate`` after ``decay_steps`` steps, then constant
    (``warmup_steps`` is then ignored, as in Keras).

    With ``warmup_target``: for ``step < warmup_steps`` the rate rises linearly from
    ``initial_learning_rate`` to ``warmup_target``; then it decays from ``warmup_target`` as
    above over ``decay_steps`` steps counted from the end of the warmup.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha: float = 0.0, warmup_target=None,
                 warmup_steps=0) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate, owner, high=MAX_RATE,
                                             low_open=warmup_target is None)
        self.decay_steps = _positive("decay_steps", decay_steps, owner)
        self.alpha = _number("alpha", alpha, owner, 0.0, 1.0, low_open=False)
        self.warmup_target = None if warmup_target is None else _positive("warmup_target learning_rate",
                                                                          warmup_target, owner)
        self.warmup_steps = _number("warmup_steps", warmup_steps, owner, low_open=False)

    def _decay(self, step, start):
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * fraction
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR; Keras's ``CosineDecayRestarts``).

    Period i lasts ``first_decay_steps * t_mul**i`` steps and starts at
    ``initial_learning_rate * m_mul**i``; within a period, at fraction f of it,
    ``lr = start * ((1 - alpha) 0.5 (1 + cos(pi f)) + alpha)`` (alpha scaled by
    ``initial_learning_rate``, not by the period's start, as Keras does).
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate, owner)
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps, owner)
        self.t_mul = _number("t_mul", t_mul, owner, high=1e3)
        self.m_mul = _number("m_mul", m_mul, owner, 0.0, 1e3, low_open=False)
        self.alpha = _number("alpha", alpha, owner, 0.0, 1.0, low_open=False)

    def __call__(self, step: int) -> float:
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            # periods 1, t, t^2 ...: restart i starts at (1 - t^i) / (1 - t) first periods
            restart = math.floor(math.log(1 - fraction * (1 - self.t_mul)) / math.log(self.t_mul))
            start = (1 - self.t_mul**restart) / (1 - self.t_mul)
            fraction = (fraction - start) / self.t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` for step <= boundaries[0], ``values[i]`` for boundaries[i-1] < step <=
    boundaries[i], ``values[-1]`` after the last boundary (Keras's ``PiecewiseConstantDecay``)."""

    def __init__(self, boundaries, values) -> None:
        owner = type(self).__name__
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise ValueError(f"{owner} boundaries and values must be lists, got {boundaries!r:.60} and {values!r:.60}.")
        if len(values) != len(boundaries) + 1 or len(values) > 10_000:
            raise ValueError(f"{owner} needs one more value than boundaries (at most 10000); got {len(boundaries)} "
                             f"boundaries and {len(values)} values.")
        self.boundaries = [_number("boundaries[]", b, owner, low_open=False) for b in boundaries]
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"{owner} boundaries must increase strictly, got {boundaries!r:.80}.")
        self.values = [_number("values[] learning_rate", v, owner, high=MAX_RATE, low_open=False) for v in values]

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values}


class PolynomialDecay(LearningRateSchedule):
    """``lr = (initial - end) (1 - s / decay_steps)**power + end`` with ``s = min(step,
    decay_steps)``; with ``cycle=True``, ``decay_steps`` grows to the next multiple of itself
    at or above the step instead (Keras's ``PolynomialDecay``)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle: bool = False) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate, owner)
        self.decay_steps = _positive("decay_steps", decay_steps, owner)
        self.end_learning_rate = _number("end_learning_rate", end_learning_rate, owner, high=MAX_RATE,
                                         low_open=False)
        self.power = _number("power", power, owner, high=1e3)
        self.cycle = _flag("cycle", cycle, owner)

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
        else:
            step = min(step, decay_steps)
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - step / decay_steps) ** self.power + \
            self.end_learning_rate

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle}


class InverseTimeDecay(LearningRateSchedule):
    """``lr = initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with
    ``staircase=True`` the ratio is ``floor(step / decay_steps)``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate, owner)
        self.decay_steps = _positive("decay_steps", decay_steps, owner)
        self.decay_rate = _number("decay_rate", decay_rate, owner, low_open=False, high=1e6)
        self.staircase = _flag("staircase", staircase, owner)

    def __call__(self, step: int) -> float:
        ratio = step / self.decay_steps
        if self.staircase:
            ratio = math.floor(ratio)
        return self.initial_learning_rate / (1 + self.decay_rate * ratio)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


_BUILTIN = (ExponentialDecay, StepDecay, CosineDecay, CosineDecayRestarts, PiecewiseConstantDecay, PolynomialDecay,
            InverseTimeDecay)
_REGISTRY = {cls.__name__: cls for cls in _BUILTIN}


def register_schedule(cls):
    """Register a ``LearningRateSchedule`` subclass so that optimizers using it can be saved."""
    if not (isinstance(cls, type) and issubclass(cls, LearningRateSchedule)):
        raise TypeError(f"register_schedule expects a LearningRateSchedule subclass, got {cls!r}.")
    existing = _REGISTRY.get(cls.__name__)
    if existing is not None and existing is not cls and existing in _BUILTIN:
        raise ValueError(f"{cls.__name__!r} is the name of a numnet schedule; rename your class.")
    _REGISTRY[cls.__name__] = cls
    return cls


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}``, for saving with the optimizer."""
    if _REGISTRY.get(type(schedule).__name__) is not type(schedule):
        raise ValueError(
            f"Cannot save the learning-rate schedule {schedule!r}: decorate its class with "
            "numnet.schedules.register_schedule."
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config) -> LearningRateSchedule:
    """The schedule that ``serialize`` described (classes from the registry only)."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str) or not isinstance(
        config.get("config"), dict
    ):
        raise ValueError(f"Cannot rebuild a learning-rate schedule from {config!r:.200}.")
    cls = _REGISTRY.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown learning-rate schedule {config['class_name']!r:.80}; known: {sorted(_REGISTRY)}.")
    return cls.from_config(dict(config["config"]))
