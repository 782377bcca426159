"""Optimizers: step-for-step parity with torch.optim, dtype, lookup, argument checks, schedules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet import optimizers
from numnet.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

REF = np.load(Path(__file__).parent / "fixtures" / "core_reference.npz", allow_pickle=False)

# fixture key -> the numnet optimizer with the hyper-parameters the fixture gave torch
CONFIGS = {
    "sgd": lambda: SGD(learning_rate=0.1),
    "sgd_lr1": lambda: SGD(learning_rate=1),
    "sgd_momentum": lambda: SGD(learning_rate=0.1, momentum=0.9),
    "sgd_nesterov": lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda: SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.05),
    "rmsprop": lambda: RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7),
    "rmsprop_momentum": lambda: RMSprop(learning_rate=0.01, rho=0.8, epsilon=1e-7, momentum=0.7),
    "rmsprop_centered": lambda: RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7, centered=True),
    "rmsprop_centered_momentum": lambda: RMSprop(
        learning_rate=0.01, rho=0.9, epsilon=1e-7, centered=True, momentum=0.5, weight_decay=0.01
    ),
    "adam": lambda: Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "adam_weight_decay": lambda: Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1),
    "adamw": lambda: AdamW(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.004),
    "adamw_strong": lambda: AdamW(learning_rate=0.05, beta_1=0.85, beta_2=0.995, epsilon=1e-8, weight_decay=0.2),
    "adagrad": lambda: Adagrad(learning_rate=0.1, initial_accumulator_value=0.1, epsilon=1e-7),
    "adagrad_weight_decay": lambda: Adagrad(
        learning_rate=0.05, initial_accumulator_value=0.0, epsilon=1e-10, weight_decay=0.1
    ),
}


def _run(optimizer, dtype=np.float64, key=("dense", "kernel")):
    param = REF["opt_p0"].astype(dtype)
    trajectory = []
    for grad in REF["opt_grads"]:
        optimizer.step([(key, param, grad.astype(dtype))])
        trajectory.append(param.copy())
    return param, np.stack(trajectory)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_step_matches_torch_optim(config):
    param, trajectory = _run(CONFIGS[config]())
    assert trajectory.shape == REF[f"opt_{config}"].shape == (6, 3, 4)
    np.testing.assert_allclose(trajectory, REF[f"opt_{config}"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_float32_parameters_stay_float32_in_place(config):
    optimizer = CONFIGS[config]()
    param = REF["opt_p0"].astype(np.float32)
    same = param
    for grad in REF["opt_grads"]:
        optimizer.step([(("layer", "kernel"), param, grad.astype(np.float32))])
    assert param is same and param.dtype == np.float32
    slots = [v for state in optimizer.state.values() for k, v in state.items() if k != "step"]
    assert all(v.dtype == np.float32 for v in slots)  # moments and buffers too
    np.testing.assert_allclose(param, REF[f"opt_{config}"][-1], rtol=1e-4, atol=1e-5)


def test_state_is_kept_per_layer_and_parameter():
    optimizer = Adam(learning_rate=0.01)
    a, b = REF["opt_p0"].copy(), REF["opt_p0"].copy()
    for grad in REF["opt_grads"]:
        optimizer.step([(("dense", "kernel"), a, grad), (("dense_1", "kernel"), b, -grad)])
    assert set(optimizer.state) == {("dense", "kernel"), ("dense_1", "kernel")}
    assert optimizer.iterations == len(REF["opt_grads"])
    np.testing.assert_allclose(a, REF["opt_adam"][-1], rtol=1e-12)
    # the mirror-image gradients walked the mirror-image path
    np.testing.assert_allclose(b - REF["opt_p0"], -(a - REF["opt_p0"]), rtol=1e-10, atol=1e-14)


def test_apply_steps_every_trainable_layer():
    class Fake:
        def __init__(self, name, trainable):
            self.name, self.trainable = name, trainable
            self.params = {"kernel": np.ones(2), "bias": np.zeros(1)}
            self.grads = {"kernel": np.full(2, 2.0), "bias": np.full(1, -1.0)}

    on, off = Fake("on", True), Fake("off", False)
    SGD(learning_rate=0.5).apply([on, off])
    np.testing.assert_array_equal(on.params["kernel"], [0.0, 0.0])
    np.testing.assert_array_equal(on.params["bias"], [0.5])
    np.testing.assert_array_equal(off.params["kernel"], [1.0, 1.0])


@pytest.mark.parametrize(
    ("name", "cls"), [("sgd", SGD), ("SGD", SGD), ("rmsprop", RMSprop), ("adam", Adam), ("adamw", AdamW), ("adagrad", Adagrad)]
)
def test_string_lookup_gives_keras_defaults(name, cls):
    optimizer = optimizers.get(name)
    assert type(optimizer) is cls
    defaults = {
        SGD: dict(learning_rate=0.01, momentum=0.0, nesterov=False),
        RMSprop: dict(learning_rate=0.001, rho=0.9, epsilon=1e-7),
        Adam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        AdamW: dict(learning_rate=0.001, weight_decay=0.004, epsilon=1e-7),
        Adagrad: dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
    }[cls]
    for key, value in defaults.items():
        assert getattr(optimizer, key) == value


def test_get_returns_instances_unchanged():
    optimizer = Adam()
    assert optimizers.get(optimizer) is optimizer


@pytest.mark.parametrize("name", ["adadelta", "", None, 3])
def test_unknown_optimizer_lists_the_choices(name):
    with pytest.raises(ValueError) as info:
        optimizers.get(name)
    for choice in ("adagrad", "adam", "adamax", "adamw", "lion", "nadam", "rmsprop", "sgd"):
        assert choice in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(learning_rate=-0.1),
        lambda: SGD(learning_rate="fast"),
        lambda: SGD(learning_rate=float("nan")),
        lambda: SGD(momentum=1.0),
        lambda: SGD(momentum=-0.5),
        lambda: SGD(nesterov=True),
        lambda: SGD(weight_decay=-1),
        lambda: RMSprop(rho=1.5),
        lambda: RMSprop(epsilon=-1e-7),
        lambda: Adam(beta_1=1.0),
        lambda: Adam(beta_2=-0.1),
        lambda: Adam(learning_rate=True),
        lambda: AdamW(weight_decay=-0.01),
        lambda: Adagrad(initial_accumulator_value=-0.1),
    ],
)
def test_bad_hyper_parameters_are_value_errors(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam, AdamW, Adagrad])
@pytest.mark.parametrize("lr", [1, 1.0, np.float32(1), np.int64(2)])
def test_learning_rate_of_one_and_integers_are_accepted(cls, lr):
    assert cls(learning_rate=lr).current_learning_rate == float(lr)


def test_sgd_with_learning_rate_one_takes_the_full_gradient():
    param = np.array([3.0, -1.0])
    SGD(learning_rate=1).step([(("l", "w"), param, np.array([1.0, -2.0]))])
    np.testing.assert_array_equal(param, [2.0, 1.0])


def test_schedule_callable_gets_the_zero_based_step():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1 / (step + 1)

    optimizer = SGD(learning_rate=schedule)
    param = np.zeros(1)
    for _ in range(3):
        optimizer.step([(("l", "w"), param, np.ones(1))])
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(param, [-(0.1 + 0.05 + 0.1 / 3)], rtol=1e-14)
    assert optimizer.current_learning_rate == pytest.approx(0.1 / 4)


def test_schedule_drives_adam_like_a_changing_learning_rate():
    # A constant schedule is exactly the constant learning rate.
    _, with_schedule = _run(Adam(learning_rate=lambda step: 0.01, epsilon=1e-7))
    np.testing.assert_allclose(with_schedule, REF["opt_adam"], rtol=1e-12, atol=1e-12)


def test_repr_and_config_name_the_hyper_parameters():
    optimizer = SGD(learning_rate=0.5, momentum=0.9)
    assert optimizer.get_config() == {"learning_rate": 0.5, "weight_decay": 0.0, "clipnorm": None, "clipvalue": None,
                                      "global_clipnorm": None, "momentum": 0.9, "nesterov": False}
    assert repr(optimizer).startswith("SGD(") and "momentum=0.9" in repr(optimizer)


@pytest.mark.parametrize("config", ["adam", "adamw_strong"])
def test_bias_correction_counts_each_parameters_own_steps(config):
    # torch keeps a step count per parameter: one that joins late (a layer unfrozen after
    # three steps) starts its bias correction at step 1, not at the optimizer's step 4.
    optimizer = CONFIGS[config]()
    other = np.zeros(3)
    for _ in range(3):
        optimizer.step([(("early", "kernel"), other, np.ones(3))])
    late = REF["opt_p0"].copy()
    trajectory = []
    for grad in REF["opt_grads"]:
        optimizer.step([(("early", "kernel"), other, np.ones(3)), (("late", "kernel"), late, grad)])
        trajectory.append(late.copy())
    np.testing.assert_allclose(np.stack(trajectory), REF[f"opt_{config}"], rtol=1e-12, atol=1e-12)


def _flat_problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    layout = [("dense/kernel", 0, 30, (5, 6)), ("dense/bias", 30, n, (10,))]
    return layout, rng.standard_normal(n), [rng.standard_normal(n) for _ in range(3)]


@pytest.mark.parametrize("make", [
    lambda: Adam(learning_rate=0.01),
    lambda: Adam(learning_rate=0.01, weight_decay=0.1),
    lambda: Adam(learning_rate=0.01, clipnorm=0.5),
    lambda: Adam(learning_rate=0.01, amsgrad=True),
    lambda: AdamW(learning_rate=0.01),
    lambda: SGD(learning_rate=0.1, momentum=0.9),
    lambda: RMSprop(learning_rate=0.01),
])
def test_step_flat_with_the_divergence_guard_steps_exactly_as_without(make):
    """fit's guard (``largest``) changes no arithmetic: Adam's reuse of the squares it checked
    gives the same bits as recomputing them, with L2 decay and clipping (new gradients) too."""
    layout, start, grads = _flat_problem()
    guarded, plain = make(), make()
    p_guarded, p_plain = start.copy(), start.copy()
    for g in grads:
        assert guarded.step_flat(layout, p_guarded, g.copy(), largest=1e19) is True
        assert plain.step_flat(layout, p_plain, g.copy()) is True
    np.testing.assert_array_equal(p_guarded, p_plain)
    for key in plain.state:
        for slot, value in plain.state[key].items():
            np.testing.assert_array_equal(guarded.state[key][slot], value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 2e19, -2e19])
@pytest.mark.parametrize("make", [lambda: Adam(learning_rate=0.01), lambda: SGD(learning_rate=0.1, momentum=0.9)])
def test_step_flat_refuses_a_bad_gradient_and_changes_nothing(make, bad):
    layout, start, grads = _flat_problem()
    opt = make()
    params = start.copy()
    assert opt.step_flat(layout, params, grads[0], largest=1.8e19)
    before = params.copy()
    state = {k: {s: np.array(v, copy=True) for s, v in slots.items()} for k, slots in opt.state.items()}
    g = grads[1].copy()
    g[7] = bad
    with np.errstate(all="raise"):  # the check itself warns of nothing
        assert opt.step_flat(layout, params, g, largest=1.8e19) is False
    assert opt.iterations == 1
    np.testing.assert_array_equal(params, before)
    for key, slots in state.items():
        for slot, value in slots.items():
            if not slot.startswith("_"):  # workspace, not state
                np.testing.assert_array_equal(opt.state[key][slot], value)
    assert opt.step_flat(layout, params, grads[2], largest=1.8e19)  # and the next finite step is taken
    assert opt.iterations == 2
