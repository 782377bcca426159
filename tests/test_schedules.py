"""Learning-rate schedules: their formulas, their use from optimizers, and saving."""

import math

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Sequential, optimizers, schedules
from numnet.schedules import CosineDecay, ExponentialDecay, StepDecay


def test_exponential_decay_is_smooth():
    s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == 0.1
    assert s(10) == pytest.approx(0.05)
    assert s(5) == pytest.approx(0.1 * 0.5**0.5)
    assert s(25) == pytest.approx(0.1 * 0.5**2.5)


def test_staircase_and_step_decay_change_in_steps():
    stair = ExponentialDecay(0.1, 10, 0.5, staircase=True)
    step = StepDecay(0.1, 10, 0.5)
    for t, expected in [(0, 0.1), (9, 0.1), (10, 0.05), (19, 0.05), (20, 0.025), (35, 0.0125)]:
        assert stair(t) == pytest.approx(expected)
        assert step(t) == pytest.approx(expected)


def test_cosine_decay_goes_from_initial_to_alpha_and_stays():
    s = CosineDecay(0.2, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(0.2)
    assert s(50) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))
    assert s(100) == pytest.approx(0.02)
    assert s(1000) == pytest.approx(0.02)
    values = [s(t) for t in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert CosineDecay(1.0, 4)(2) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ExponentialDecay(0, 10, 0.5), "initial_learning_rate"),
        (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: ExponentialDecay(0.1, 10, -1), "decay_rate"),
        (lambda: CosineDecay(0.1, 10, alpha=2), "alpha"),
        (lambda: StepDecay(0.1, 10, staircase=False), "ExponentialDecay"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "schedule", [ExponentialDecay(0.1, 7, 0.3, staircase=True), StepDecay(0.2, 3), CosineDecay(0.05, 50, 0.2)]
)
def test_config_round_trip(schedule):
    copy = schedules.deserialize(schedules.serialize(schedule))
    assert type(copy) is type(schedule) and copy.get_config() == schedule.get_config()
    assert [copy(t) for t in range(60)] == [schedule(t) for t in range(60)]


def test_deserialize_only_knows_registered_classes():
    with pytest.raises(ValueError, match="Unknown learning-rate schedule"):
        schedules.deserialize({"class_name": "os.system", "config": {}})


def test_optimizer_steps_with_the_scheduled_rate():
    """SGD with a schedule takes exactly the steps of SGD with the rate set by hand."""
    schedule = StepDecay(0.1, decay_steps=2, decay_rate=0.5)
    scheduled = optimizers.SGD(learning_rate=schedule)
    p1 = np.array([1.0, -2.0])
    p2 = p1.copy()
    grad = np.array([0.5, 0.25])
    for t in range(6):
        assert scheduled.current_learning_rate == schedule(t)
        scheduled.step([(("layer", "w"), p1, grad)])
        p2 -= schedule(t) * grad
    np.testing.assert_array_equal(p1, p2)


def test_model_with_a_schedule_saves_and_resumes_it(tmp_path):
    nn.set_seed(0)
    model = Sequential([Input((3,)), Dense(2)])
    model.compile(loss="mse", optimizer=optimizers.Adam(learning_rate=CosineDecay(0.01, 20, alpha=0.5)))
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 3)), rng.normal(size=(16, 2)), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    lr = loaded.optimizer.learning_rate
    assert type(lr) is CosineDecay and lr.get_config() == model.optimizer.learning_rate.get_config()
    assert loaded.optimizer.current_learning_rate == model.optimizer.current_learning_rate == lr(8)


def test_user_schedule_registered_saves(tmp_path, monkeypatch):
    monkeypatch.setattr(schedules, "_REGISTRY", dict(schedules._REGISTRY))

    @schedules.register_schedule
    class Warmup(schedules.LearningRateSchedule):
        def __init__(self, peak, steps):
            self.peak, self.steps = peak, steps

        def __call__(self, step):
            return self.peak * min(1.0, (step + 1) / self.steps)

        def get_config(self):
            return {"peak": self.peak, "steps": self.steps}

    model = Sequential([Input((3,)), Dense(2)])
    model.compile(loss="mse", optimizer=optimizers.SGD(learning_rate=Warmup(0.1, 4)))
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert type(loaded.optimizer.learning_rate) is Warmup and loaded.optimizer.learning_rate(1) == 0.05
