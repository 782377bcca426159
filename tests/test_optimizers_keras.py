"""Keras 3 optimizer features: AMSGrad, Nadam, Adamax, Lion, clipping, weight-decay
exclusions (torch.optim parity, step by step, per parameter and over a flat buffer), argument
checks, and the state checks that keep poisoned state out."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from numnet import optimizers

REF = np.load(Path(__file__).parent / "fixtures" / "optimizers_reference.npz", allow_pickle=False)
CASES = json.loads(str(REF["cases"]))
KEYS = (("dense", "kernel"), ("dense", "bias"))


def _make(case, via_method=False):
    cls, kwargs, excluded = CASES[case]
    if excluded and not via_method:
        kwargs = dict(kwargs, exclude_from_weight_decay=excluded)
    optimizer = getattr(optimizers, cls)(**kwargs)
    if excluded and via_method:
        optimizer.exclude_from_weight_decay(var_names=excluded)
    return optimizer


def _run(optimizer, flat):
    a, b = REF["a0"].copy(), REF["b0"].copy()
    layout = [(KEYS[0], 0, 12, (3, 4)), (KEYS[1], 12, 16, (4,))]
    buffer = np.concatenate([a.ravel(), b])
    ta, tb = [], []
    for ga, gb in zip(REF["grads_a"], REF["grads_b"]):
        if flat:
            optimizer.step_flat(layout, buffer, np.concatenate([ga.ravel(), gb]))
            a, b = buffer[:12].reshape(3, 4), buffer[12:]
        else:
            optimizer.step([(KEYS[0], a, ga.copy()), (KEYS[1], b, gb.copy())])
        ta.append(a.copy())
        tb.append(b.copy())
    return np.stack(ta), np.stack(tb)


@pytest.mark.parametrize("flat", [False, True], ids=["per_parameter", "flat"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_step_matches_torch(case, flat):
    ta, tb = _run(_make(case, via_method=flat), flat)
    np.testing.assert_allclose(ta, REF[f"{case}_a"], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(tb, REF[f"{case}_b"], rtol=1e-11, atol=1e-12)


def test_clipping_leaves_the_callers_gradients_alone():
    grads = [REF["grads_a"][0].copy(), REF["grads_b"][0].copy()]
    before = [g.copy() for g in grads]
    optimizer = optimizers.SGD(0.1, clipnorm=0.5)
    optimizer.step([(KEYS[0], REF["a0"].copy(), grads[0]), (KEYS[1], REF["b0"].copy(), grads[1])])
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)
    flat = np.concatenate([g.ravel() for g in grads])
    kept = flat.copy()
    optimizers.SGD(0.1, global_clipnorm=0.5).step_flat(
        [(KEYS[0], 0, 12, (3, 4)), (KEYS[1], 12, 16, (4,))], np.zeros(16), flat)
    np.testing.assert_array_equal(flat, kept)


def test_clipnorm_by_hand():
    param = np.zeros(2)
    optimizers.SGD(1.0, clipnorm=1.0).step([(("l", "w"), param, np.array([3.0, 4.0]))])
    np.testing.assert_allclose(param, [-0.6, -0.8], rtol=1e-15)
    param = np.zeros(2)
    optimizers.SGD(1.0, clipvalue=2.0).step([(("l", "w"), param, np.array([3.0, -0.5]))])
    np.testing.assert_array_equal(param, [-2.0, 0.5])


@pytest.mark.parametrize("make, match", [
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), "Only one of clipnorm, clipvalue and global_clipnorm"),
    (lambda: optimizers.Adam(clipnorm=0), "clipnorm must be a positive finite number"),
    (lambda: optimizers.Adam(global_clipnorm=float("inf")), "global_clipnorm must be a positive finite number"),
    (lambda: optimizers.Adam(learning_rate=float("inf")), r"learning_rate must be a finite number in \[0, 1e\+06\]"),
    (lambda: optimizers.Adam(learning_rate=float("1e999")), "learning_rate must be a finite number"),
    (lambda: optimizers.SGD(learning_rate=2**64), "learning_rate must be a finite number"),
    (lambda: optimizers.SGD(learning_rate=10**400), "learning_rate must be a finite number"),
    (lambda: optimizers.AdamW(weight_decay=1e308), "weight_decay must be a finite number"),
    (lambda: optimizers.Adam(amsgrad="yes"), "amsgrad must be True or False"),
    (lambda: optimizers.Lion(beta_2=1.0), r"beta_2 must lie in \[0, 1\)"),
    (lambda: optimizers.Nadam(epsilon=-1), "epsilon must be a finite number"),
    (lambda: optimizers.Adamax(beta_1=float("nan")), "beta_1 must be a finite number"),
])
def test_bad_hyper_parameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_exclusion_arguments_are_checked():
    with pytest.raises(TypeError, match="list of strings"):
        optimizers.AdamW(exclude_from_weight_decay="bias")
    with pytest.raises(ValueError, match="not a regular expression"):
        optimizers.AdamW(exclude_from_weight_decay=["("])
    with pytest.raises(TypeError, match=r"\(layer_name, param_name\) pairs"):
        optimizers.AdamW().exclude_from_weight_decay(var_list=["dense/bias"])


def test_exclusion_by_key_and_config_round_trip():
    optimizer = optimizers.AdamW(learning_rate=0.05, weight_decay=0.2, epsilon=1e-7)
    optimizer.exclude_from_weight_decay(var_list=[("dense", "bias")])
    ta, tb = _run(optimizer, flat=True)
    np.testing.assert_allclose(tb, REF["adamw_exclude_bias_b"], rtol=1e-11, atol=1e-12)
    config = optimizer.get_config()
    assert config["exclude_from_weight_decay"] == ["^dense/bias$"]
    again = optimizers.AdamW(**config)
    np.testing.assert_allclose(_run(again, flat=False)[1], tb, rtol=1e-13)


@pytest.mark.parametrize("name, cls", [("nadam", optimizers.Nadam), ("adamax", optimizers.Adamax),
                                       ("lion", optimizers.Lion)])
def test_new_names_give_keras_defaults(name, cls):
    optimizer = optimizers.get(name)
    assert type(optimizer) is cls and optimizer.learning_rate == 0.001 and optimizer.beta_1 == 0.9
    assert optimizer.beta_2 == (0.99 if cls is optimizers.Lion else 0.999)


# --- poisoned state -------------------------------------------------------------------------------
def test_state_finite_sees_an_overflowed_second_moment_on_both_paths():
    for flat in (False, True):
        optimizer = optimizers.Adam(learning_rate=0.01)
        _run(optimizer, flat)
        assert optimizer.state_finite()
        optimizer.state[KEYS[1]]["v"][2] = np.inf  # a view into the flat slot when flat
        assert not optimizer.state_finite()


def test_huge_gradients_poison_rmsprop_state_and_state_finite_says_so():
    optimizer = optimizers.RMSprop(learning_rate=1e-3)
    param = np.ones(3)
    with np.errstate(over="ignore"):
        optimizer.step([(("l", "w"), param, np.array([1e200, 1.0, 1.0]))])
    assert np.all(np.isfinite(param))  # the weights stay finite ...
    assert not optimizer.state_finite()  # ... but the state does not


@pytest.mark.parametrize("optimizer, slots, match", [
    (optimizers.Adam(), {"step": np.array(-1)}, r"'step' must be a whole number in \[0, 2\*\*62\)"),
    (optimizers.Adam(), {"v": -np.ones((3, 4))}, "slot 'v' holds negative values"),
    (optimizers.Adam(), {"m": np.full((3, 4), np.nan)}, "slot 'm' holds NaN or infinite"),
    (optimizers.Adam(amsgrad=True), {"v_max": np.full((3, 4), -1.0)}, "slot 'v_max' holds negative"),
    (optimizers.RMSprop(), {"square_avg": np.full((3, 4), np.inf)}, "NaN or infinite"),
    (optimizers.Adagrad(), {"sum": -np.ones((3, 4))}, "slot 'sum' holds negative"),
    (optimizers.Nadam(), {"mu_product": np.array(1.5)}, r"'mu_product' must lie in \(0, 1\]"),
    (optimizers.Adamax(), {"u": -np.ones((3, 4))}, "slot 'u' holds negative"),
])
def test_check_slots_refuses_state_that_breaks_a_later_step(optimizer, slots, match):
    state = optimizer._init_state(np.zeros((3, 4)))
    state.update(slots)
    with pytest.raises(ValueError, match=match):
        optimizer.check_slots(state)


def test_check_slots_accepts_real_state():
    optimizer = optimizers.Nadam()
    _run(optimizer, flat=False)
    for slots in optimizer.state.values():
        optimizer.check_slots(slots)
    assert 0 < float(optimizer.state[KEYS[0]]["mu_product"]) < 1


def test_flat_state_keeps_a_float_scalar_slot():
    # Nadam's mu_product is a float counter shared by the flat buffer: it must survive the
    # switch from per-parameter steps to step_flat unchanged.
    optimizer = optimizers.Nadam(learning_rate=0.02, epsilon=1e-7)
    a, b = REF["a0"].copy(), REF["b0"].copy()
    optimizer.step([(KEYS[0], a, REF["grads_a"][0]), (KEYS[1], b, REF["grads_b"][0])])
    product = float(optimizer.state[KEYS[0]]["mu_product"])
    buffer = np.concatenate([a.ravel(), b])
    layout = [(KEYS[0], 0, 12, (3, 4)), (KEYS[1], 12, 16, (4,))]
    optimizer.step_flat(layout, buffer, np.concatenate([REF["grads_a"][1].ravel(), REF["grads_b"][1]]))
    mu2 = 0.9 * (1 - 0.5 * 0.96 ** (2 * 0.004))
    assert float(optimizer.state[KEYS[1]]["mu_product"]) == pytest.approx(product * mu2, rel=1e-15)
    np.testing.assert_allclose(buffer[:12].reshape(3, 4), REF["nadam_a"][1], rtol=1e-11)
    assert math.isfinite(product)


def test_check_slots_refuses_non_numeric_state():
    optimizer = optimizers.Adam()
    state = optimizer._init_state(np.zeros(2))
    state["m"] = np.array(["a", "b"])
    with pytest.raises(ValueError, match="slot 'm': expected numbers, got dtype <U1"):
        optimizer.check_slots(state)
