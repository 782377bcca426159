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


def _positive(name, value, owner) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{owner} {name} must be a positive number, got {value!r}.")
    return float(value)


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
        self.staircase = bool(staircase)

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
    """``lr = initial_learning_rate * ((1 - alpha) * c + alpha)`` with
    ``c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``: from the initial rate
    down to ``alpha * initial_learning_rate`` after ``decay_steps`` steps, then constant."""

    def __init__(self, initial_learning_rate, decay_steps, alpha: float = 0.0) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate, owner)
        self.decay_steps = _positive("decay_steps", decay_steps, owner)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f"CosineDecay alpha must lie in [0, 1], got {alpha!r}.")
        self.alpha = float(alpha)

    def __call__(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha}


_REGISTRY = {cls.__name__: cls for cls in (ExponentialDecay, StepDecay, CosineDecay)}


def register_schedule(cls):
    """Register a ``LearningRateSchedule`` subclass so that optimizers using it can be saved."""
    if not (isinstance(cls, type) and issubclass(cls, LearningRateSchedule)):
        raise TypeError(f"register_schedule expects a LearningRateSchedule subclass, got {cls!r}.")
    existing = _REGISTRY.get(cls.__name__)
    if existing is not None and existing is not cls and existing in (ExponentialDecay, StepDecay, CosineDecay):
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
