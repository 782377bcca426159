"""Keras 3's learning-rate schedules: values worked out by hand from Keras's documented
formulas, configs, argument checks, and where they are reachable from."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from numnet import schedules
from numnet.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay,
                              PiecewiseConstantDecay, PolynomialDecay)


@pytest.mark.parametrize("schedule, step, expected", [
    (PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]), 0, 1.0),
    (PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]), 100, 1.0),
    (PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]), 101, 0.5),
    (PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]), 110, 0.5),
    (PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]), 111, 0.1),
    (PolynomialDecay(0.1, 10000, 0.01, power=0.5), 2500, 0.09 * math.sqrt(0.75) + 0.01),
    (PolynomialDecay(0.1, 10000, 0.01, power=0.5), 20000, 0.01),
    (PolynomialDecay(0.1, 10000, 0.01, power=0.5, cycle=True), 15000, 0.09 * math.sqrt(0.25) + 0.01),
    (PolynomialDecay(0.1, 10000, 0.01, power=0.5, cycle=True), 0, 0.1),
    (PolynomialDecay(0.1, 100), 50, (0.1 - 0.0001) * 0.5 + 0.0001),
    (InverseTimeDecay(0.1, 1.0, 0.5), 3, 0.1 / 2.5),
    (InverseTimeDecay(0.1, 2.0, 0.5, staircase=True), 3, 0.1 / 1.5),
    (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 5, 0.5),
    (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 10, 1.0),
    (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 60, 0.5),
    (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 500, 0.0),
    (CosineDecay(0.5, 100, alpha=0.2, warmup_target=1.0, warmup_steps=10), 110, 0.2),
    (CosineDecay(1.0, 100, warmup_steps=10), 50, 0.5),  # no warmup_target: warmup_steps ignored
    (CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), 0, 1.0),
    (CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), 5, 0.1 + 0.9 * 0.5),
    (CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), 10, 0.1 + 0.9 * 0.5),  # restart 1 at m 0.5
    (CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), 20, 0.1 + 0.9 * 0.25),  # half of period 1
    (CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), 30, 0.1 + 0.9 * 0.25),  # restart 2
    (CosineDecayRestarts(2.0, 10, t_mul=1.0), 15, 1.0),
    (CosineDecayRestarts(2.0, 10, t_mul=1.0), 20, 2.0),
    (ExponentialDecay(0.1, 10, 0.5), 20, 0.025),
])
def test_values_from_the_formulas(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("schedule", [
    PiecewiseConstantDecay([10, 20], [0.3, 0.2, 0.1]), PolynomialDecay(0.1, 50, 0.001, 2.0, cycle=True),
    InverseTimeDecay(0.2, 5, 0.3, staircase=True), CosineDecay(0.01, 100, 0.1, warmup_target=0.1, warmup_steps=7),
    CosineDecayRestarts(0.1, 20, 1.5, 0.8, 0.05),
], ids=lambda s: type(s).__name__)
def test_serialize_round_trip(schedule):
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(s) for s in range(0, 120, 7)] == [schedule(s) for s in range(0, 120, 7)]


@pytest.mark.parametrize("make, match", [
    (lambda: PiecewiseConstantDecay([10, 10], [1.0, 0.5, 0.1]), "boundaries must increase strictly"),
    (lambda: PiecewiseConstantDecay([10], [1.0]), "one more value than boundaries"),
    (lambda: PiecewiseConstantDecay([10], [1.0, float("inf")]), "must be a finite number"),
    (lambda: PolynomialDecay(0.1, 10, cycle="yes"), "cycle must be True or False"),
    (lambda: PolynomialDecay(0.1, 0), "decay_steps must be a finite number"),
    (lambda: CosineDecay(0.1, 10, alpha=2.0), "alpha must be a finite number"),
    (lambda: CosineDecay(0.1, 10, warmup_target=1e999, warmup_steps=3), "warmup_target"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.0), "t_mul must be a finite number"),
    (lambda: ExponentialDecay(2**64, 10, 0.5), "initial_learning_rate must be a finite number"),
    (lambda: InverseTimeDecay(0.1, 10, -1.0), "decay_rate must be a finite number"),
])
def test_bad_arguments_are_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_reachable_after_import_numnet_and_under_keras_path():
    code = ("import numnet; s = numnet.schedules.CosineDecay(0.1, 10); "
            "assert numnet.optimizers.schedules is numnet.schedules; "
            "assert numnet.activations.gelu is numnet.activation_functions.gelu; print(s(10))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.0"


def test_piecewise_needs_lists():
    with pytest.raises(ValueError, match="boundaries and values must be lists"):
        PiecewiseConstantDecay(10, [1.0, 0.5])
