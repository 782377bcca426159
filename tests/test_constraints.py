"""numnet.constraints: Keras's formulas, applied after every optimizer update (fit,
train_on_batch, apply_gradients), saving, errors."""

import numpy as np
import pytest

import numnet
from numnet import constraints, ops, optimizers
from numnet.layers import Conv2D, Dense

W = np.array([[3.0, 0.1], [4.0, -0.2]], dtype=np.float32)  # column norms 5 and sqrt(0.05)
EPS = 1e-7


def test_max_norm_scales_only_the_long_columns():
    out = constraints.MaxNorm(2.0)(W)
    np.testing.assert_allclose(out[:, 0], W[:, 0] * 2.0 / (5.0 + EPS), rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], W[:, 1] * np.sqrt(0.05) / (np.sqrt(0.05) + EPS), rtol=1e-6)
    assert out.dtype == np.float32
    rows = constraints.MaxNorm(1.0, axis=1)(W)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), [1.0, 1.0], rtol=1e-5)


def test_non_neg_unit_norm_min_max_norm():
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.array([[3.0, 0.1], [4.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(np.linalg.norm(constraints.UnitNorm()(W), axis=0), [1.0, 1.0], rtol=1e-5)
    out = constraints.MinMaxNorm(min_value=1.0, max_value=2.0, rate=1.0)(W)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 1.0], rtol=1e-5)
    half = constraints.MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(W)
    np.testing.assert_allclose(np.linalg.norm(half, axis=0), [0.5 * 2 + 0.5 * 5, 0.5 * 1 + 0.5 * np.sqrt(0.05)],
                               rtol=1e-5)


def test_axis_lists_constrain_whole_filters():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 2, 4))
    out = constraints.MaxNorm(1.0, axis=[0, 1, 2])(kernel)
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(0, 1, 2))), np.ones(4), rtol=1e-6)


def test_names_and_serialize():
    assert type(constraints.get("max_norm")) is constraints.MaxNorm
    assert type(constraints.get("NonNeg")) is constraints.NonNeg
    assert constraints.get("unit_norm").get_config() == {"axis": 0}
    assert constraints.get(None) is None
    record = constraints.serialize(constraints.MinMaxNorm(0.5, 3.0, 0.25, axis=[0, 1]))
    assert record == {"class_name": "MinMaxNorm",
                      "config": {"min_value": 0.5, "max_value": 3.0, "rate": 0.25, "axis": [0, 1]}}
    assert constraints.deserialize(record).get_config() == record["config"]


@pytest.mark.parametrize("make, error, match", [
    (lambda: constraints.MaxNorm(-1), ValueError, "max_value must be a finite number >= 0"),
    (lambda: constraints.MaxNorm(axis=1.5), TypeError, "axis must be an int"),
    (lambda: constraints.MinMaxNorm(min_value=2, max_value=1), ValueError, "max_value .* >= min_value"),
    (lambda: constraints.UnitNorm(axis=[]), TypeError, "non-empty list"),
    (lambda: constraints.get("clip"), ValueError, "Unknown constraint 'clip'"),
    (lambda: constraints.get(2), TypeError, "got int"),
    (lambda: constraints.MaxNorm(axis=3)(W), ValueError, r"does not fit a weight of shape \(2, 2\)"),
])
def test_constraint_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _model(**args):
    inputs = numnet.Input((3,))
    return numnet.Model(inputs, Dense(4, name="d", **args)(inputs), dtype="float64", seed=2)


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(32, 3)), 5 * rng.normal(size=(32, 4))


def test_constraints_hold_after_fit():
    x, y = _data()
    model = _model(kernel_constraint=constraints.MaxNorm(0.5), bias_constraint="non_neg")
    model.compile(optimizers.SGD(0.5), "mse")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    layer = model.get_layer("d")
    assert np.linalg.norm(layer.params["kernel"], axis=0).max() <= 0.5 + 1e-9
    assert layer.params["bias"].min() >= 0.0
    assert np.linalg.norm(layer.params["kernel"], axis=0).max() > 0.49  # the targets push it to the bound


def test_one_step_is_update_then_projection():
    x, y = _data()
    a, b = _model(kernel_constraint=constraints.UnitNorm()), _model()
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.compile(optimizers.SGD(0.1), "mse")
        m.train_on_batch(x, y)
    kernel = b.get_layer("d").params["kernel"]
    np.testing.assert_allclose(a.get_layer("d").params["kernel"], kernel / (EPS + np.linalg.norm(kernel, axis=0)),
                               rtol=1e-12)
    np.testing.assert_array_equal(a.get_layer("d").params["bias"], b.get_layer("d").params["bias"])


def test_apply_gradients_applies_constraints():
    x, y = _data()
    model = _model(kernel_constraint="non_neg")
    optimizer = optimizers.SGD(1.0)
    with numnet.GradientTape() as tape:
        loss = ops.mean(ops.square(model(ops.convert_to_tensor(x)) - y))
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    kernel = model.get_layer("d").params["kernel"]
    assert kernel.min() == 0.0 and kernel.max() > 0.0


def test_conv_kernel_constraint_in_training():
    rng = np.random.default_rng(0)
    inputs = numnet.Input((6, 6, 2))
    layer = Conv2D(3, 3, kernel_constraint=constraints.MaxNorm(0.1, axis=[0, 1, 2]))
    model = numnet.Model(inputs, layer(inputs), seed=0)
    model.compile(optimizers.SGD(1.0), "mse")
    model.train_on_batch(rng.normal(size=(4, 6, 6, 2)).astype("f"), rng.normal(size=(4, 4, 4, 3)).astype("f"))
    norms = np.sqrt((layer.params["kernel"].astype(np.float64) ** 2).sum(axis=(0, 1, 2)))
    assert norms.max() <= 0.1 + 1e-6


def test_frozen_layers_are_not_projected():
    x, y = _data()
    model = _model(kernel_constraint=constraints.UnitNorm())
    before = model.get_layer("d").params["kernel"].copy()
    model.get_layer("d").trainable = False
    model.compile("sgd", "mse")
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(model.get_layer("d").params["kernel"], before)
