"""Keras 3 loss classes and functions: PyTorch / formula parity, Keras's documented values,
gradient checks, reductions, sample weights, argument checks, configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from numnet import activation_functions as af
from numnet import losses
from numnet.gradient_check import check_layer
from numnet.layers.layer import Layer

REF = np.load(Path(__file__).parent / "fixtures" / "losses_reference.npz", allow_pickle=False)
CASES = json.loads(str(REF["cases"]))


def _make(case):
    cls, kwargs = CASES[case]
    return getattr(losses, cls)(**kwargs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_value_and_gradient_match_pytorch(case):
    loss = _make(case)
    y, p = REF[f"{case}_y"], REF[f"{case}_p"]
    value = loss(y, p)
    assert isinstance(value, float)
    assert value == pytest.approx(float(REF[f"{case}_value"]), rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(loss.backward(y, p), REF[f"{case}_grad"], rtol=1e-9, atol=1e-13)


def test_every_keras_loss_class_has_a_fixture_case():
    assert {cls for cls, _ in CASES.values()} == {cls.__name__ for cls in losses.CLASSES}


# --- values printed in Keras 3's docstrings (float32 there, so 3-4 digits) ------------------
def test_keras_documented_values():
    y2, p2 = np.array([[0, 1], [0, 0]], float), np.array([[0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(losses.binary_crossentropy(y2, p2), [0.916, 0.714], atol=5e-4)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(y2, p2, gamma=2), [0.330, 0.206], atol=5e-4)
    assert float(np.mean(losses.huber(np.array([[0, 1], [0, 0]], float), p2))) == pytest.approx(0.155, abs=5e-4)
    log_cosh = losses.log_cosh(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]]))
    assert float(log_cosh.mean()) == pytest.approx(0.108, abs=5e-4)
    y3, p3 = np.array([[0, 1, 0], [0, 0, 1]], float), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    np.testing.assert_allclose(losses.categorical_crossentropy(y3, p3), [0.0513, 2.303], atol=5e-4)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(np.array([1, 2]), p3), [0.0513, 2.303],
                               atol=5e-4)
    focal = losses.categorical_focal_crossentropy(y3, np.array([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]))
    np.testing.assert_allclose(focal, [2.63401289e-04, 6.75912094e-01], rtol=1e-4)
    cos = losses.cosine_similarity(np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
                                   np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]))
    np.testing.assert_allclose(cos, [0.0, -1.0, 1.0], atol=1e-12)
    # Keras's class examples: reductions of the same values
    mse = losses.MeanSquaredError
    y, p = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])
    assert mse()(y, p) == pytest.approx(0.5)
    assert mse()(y, p, sample_weight=[0.7, 0.3]) == pytest.approx(0.25)
    assert mse(reduction="sum")(y, p) == pytest.approx(1.0)
    np.testing.assert_allclose(mse(reduction=None)(y, p), [0.5, 0.5])


def test_categorical_cross_entropy_divides_probabilities_by_their_sum_as_keras():
    rng = np.random.default_rng(0)
    y, p = np.eye(4)[[0, 3, 1]], rng.uniform(0.1, 1, (3, 4))
    loss = losses.CategoricalCrossentropy()
    normalised = p / p.sum(axis=1, keepdims=True)
    assert loss(y, p * 7.0) == pytest.approx(loss(y, normalised), rel=1e-12)
    assert loss(y, p) == pytest.approx(-np.mean(np.log(normalised[np.arange(3), [0, 3, 1]])), rel=1e-12)
    sparse = losses.SparseCategoricalCrossentropy()
    assert sparse(np.array([0, 3, 1]), p) == pytest.approx(loss(y, p), rel=1e-12)


# --- gradient checks -----------------------------------------------------------------------------
class LossAsLayer(Layer):
    """A loss with fixed targets seen as a layer from predictions to the scalar loss."""

    def __init__(self, loss, y_true, sample_weight=None):
        super().__init__()
        self.loss, self.y_true, self.sample_weight = loss, y_true, sample_weight

    def forward(self, input, training=False):
        self._x = input
        return np.float64(self.loss(self.y_true, input, sample_weight=self.sample_weight))

    def backward(self, output_error):
        return output_error * self.loss.backward(self.y_true, self._x, sample_weight=self.sample_weight)


def _grad_cases():
    rng = np.random.default_rng(3)
    reg_y, reg_p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 2
    reg_p = np.where(np.abs(np.abs(reg_p - reg_y) - 0.7) < 0.05, reg_p + 0.2, reg_p)  # off huber's kink
    pos_y, pos_p = rng.uniform(0.2, 2, (4, 3)), rng.uniform(0.2, 2, (4, 3))
    bin_y, bin_p, z = rng.integers(0, 2, (4, 3)).astype(float), rng.uniform(0.1, 0.9, (4, 3)), rng.normal(0, 2, (4, 3))
    cat_y, cat_p, cat_z = np.eye(5)[rng.integers(0, 5, 4)], rng.uniform(0.1, 1, (4, 5)), rng.normal(0, 2, (4, 5))
    seq_y = rng.dirichlet(np.ones(5), size=(2, 3)).transpose(0, 2, 1)  # (2, 5 classes, 3)
    seq_p = rng.uniform(0.1, 1, (2, 5, 3))
    labels = rng.integers(0, 5, 4)
    ignored = np.array([2, -1, 0, 4])
    m = losses
    return {
        "mse": (m.MeanSquaredError(), reg_y, reg_p),
        "mae": (m.MeanAbsoluteError(), reg_y, reg_p),
        "mape": (m.MeanAbsolutePercentageError(), reg_y, reg_p),
        "msle": (m.MeanSquaredLogarithmicError(), pos_y, pos_p),
        "huber": (m.Huber(delta=0.7), reg_y, reg_p),
        "log_cosh": (m.LogCosh(), reg_y, reg_p),
        "hinge": (m.Hinge(), bin_y, reg_p + 0.05),
        "squared_hinge": (m.SquaredHinge(), bin_y, reg_p),
        "categorical_hinge": (m.CategoricalHinge(), cat_y, cat_z),
        "kl": (m.KLDivergence(), rng.dirichlet(np.ones(5), 4), cat_p / 2),
        "poisson": (m.Poisson(), pos_y, pos_p),
        "cosine": (m.CosineSimilarity(), reg_y, reg_p),
        "cosine_axis0": (m.CosineSimilarity(axis=0), reg_y, reg_p),
        "bce": (m.BinaryCrossentropy(label_smoothing=0.1), bin_y, bin_p),
        "bce_logits": (m.BinaryCrossentropy(from_logits=True), bin_y, z),
        "bce_axis0_sum": (m.BinaryCrossentropy(axis=0, reduction="sum"), bin_y, bin_p),
        "cce": (m.CategoricalCrossentropy(label_smoothing=0.2), cat_y, cat_p),
        "cce_logits": (m.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), cat_y, cat_z),
        "cce_axis1": (m.CategoricalCrossentropy(axis=1), seq_y, seq_p),
        "sparse": (m.SparseCategoricalCrossentropy(), labels, cat_p),
        "sparse_ignore_logits": (m.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1), ignored, cat_z),
        "sparse_axis1": (m.SparseCategoricalCrossentropy(axis=1), rng.integers(0, 5, (2, 3)), seq_p),
        "binary_focal": (m.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5), bin_y, bin_p),
        "binary_focal_logits": (m.BinaryFocalCrossentropy(from_logits=True, label_smoothing=0.1), bin_y, z),
        "categorical_focal": (m.CategoricalFocalCrossentropy(alpha=[0.1, 0.2, 0.3, 0.2, 0.2]), cat_y, cat_p),
        "categorical_focal_logits": (m.CategoricalFocalCrossentropy(from_logits=True, gamma=0.0), cat_y, cat_z),
        "mse_sum_3d": (m.MeanSquaredError(reduction="sum"), seq_y, seq_p),
    }


GRAD_CASES = _grad_cases()


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_every_loss_passes_the_gradient_checker(case):
    loss, y, p = GRAD_CASES[case]
    result = check_layer(LossAsLayer(loss, y), p)
    assert result.passed(), result.errors


@pytest.mark.parametrize("case", ["mse", "huber", "cce_logits", "sparse_ignore_logits", "binary_focal", "cce_axis1"])
def test_weighted_losses_pass_the_gradient_checker(case):
    loss, y, p = GRAD_CASES[case]
    weights = np.linspace(0.5, 2.0, p.shape[0])
    result = check_layer(LossAsLayer(loss, y, weights), p)
    assert result.passed(), result.errors


# --- reductions, sample weights, training interface ------------------------------------------
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
@pytest.mark.parametrize("case", ["mse", "cce_axis1", "sparse_ignore_logits", "categorical_focal"])
def test_training_interface_agrees_with_the_reduced_loss(case, reduction):
    base, y, p = GRAD_CASES[case]
    config = base.get_config()
    config["reduction"] = reduction
    loss = type(base).from_config(config)
    w = np.linspace(0.5, 2.0, p.shape[0])
    expected = loss.forward(y, p, sample_weight=w)
    if reduction is None:
        assert isinstance(expected, np.ndarray) and expected.shape[0] == p.shape[0]
        expected = losses.get(type(base).from_config({**config, "reduction": "sum_over_batch_size"})).forward(
            y, p, sample_weight=w)
    assert np.mean(w * loss.per_sample(y, p)) == pytest.approx(expected, rel=1e-12)
    weighted = loss.derivative(y, p) * w.reshape((-1,) + (1,) * (p.ndim - 1))
    np.testing.assert_allclose(weighted, loss.backward(y, p, sample_weight=w), rtol=1e-12)


def test_sum_is_the_mean_times_the_number_of_values():
    loss, y, p = GRAD_CASES["cce_axis1"]
    total = losses.CategoricalCrossentropy(axis=1, reduction="sum")
    assert total(y, p) == pytest.approx(loss(y, p) * 6, rel=1e-12)  # 2 samples x 3 positions


def test_ignore_class_leaves_ignored_positions_out_of_the_mean():
    z = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [-1.0, 3.0, 0.0]])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=7)
    logp = af.log_softmax(z)
    assert loss(np.array([0, 7, 1]), z) == pytest.approx(-(logp[0, 0] + logp[2, 1]) / 2, rel=1e-12)
    np.testing.assert_array_equal(loss.backward(np.array([0, 7, 1]), z)[1], 0.0)
    assert loss(np.array([7, 7, 7]), z) == 0.0


def test_per_timestep_sample_weights_weigh_each_value():
    loss, y, p = GRAD_CASES["cce_axis1"]
    w = np.arange(1.0, 7.0).reshape(2, 3)  # one weight per (sample, time step)
    values = loss.call(y, p)
    assert values.shape == (2, 3)
    assert loss(y, p, sample_weight=w) == pytest.approx(float((w * values).sum() / 6), rel=1e-12)
    result = check_layer(LossAsLayer(loss, y, w), p)
    assert result.passed(), result.errors


def test_sample_weight_of_a_wrong_shape_is_a_value_error():
    loss, y, p = GRAD_CASES["mse"]
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        loss(y, p, sample_weight=np.ones(3))


def test_fused_gradient_accounts_for_smoothing_and_sum():
    rng = np.random.default_rng(5)
    z, y = rng.normal(size=(4, 5)), np.eye(5)[[0, 2, 4, 1]]
    s = af.softmax(z)
    for loss in (losses.CategoricalCrossentropy(label_smoothing=0.2),
                 losses.CategoricalCrossentropy(reduction="sum")):
        chain = af.softmax_derivative(z, loss.derivative(y, s))
        np.testing.assert_allclose(loss.fused_gradient("softmax")(y, s), chain, rtol=1e-10, atol=1e-14)
    bce = losses.BinaryCrossentropy(label_smoothing=0.3)
    yb, zb = rng.integers(0, 2, (4, 3)).astype(float), rng.normal(size=(4, 3))
    sb = af.sigmoid(zb)
    np.testing.assert_allclose(bce.fused_gradient("sigmoid")(yb, sb), af.sigmoid_derivative(zb, bce.derivative(yb, sb)),
                               rtol=1e-10, atol=1e-14)
    assert losses.CategoricalFocalCrossentropy().fused_gradient("softmax") is None
    assert losses.CategoricalCrossentropy(axis=1).fused_gradient("softmax") is None
    assert losses.SparseCategoricalCrossentropy(ignore_class=0).fused_gradient("softmax") is None
    assert losses.CategoricalCrossentropy(from_logits=True).fused_gradient("softmax") is None


# --- argument checks --------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: losses.MeanSquaredError(reduction="mean_with_sample_weight"), ValueError, "reduction must be one of"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError, r"label_smoothing must be .* \[0.0, 1.0\]"),
    (lambda: losses.Huber(delta=0), ValueError, "delta must be a finite number"),
    (lambda: losses.Huber(delta=float("inf")), ValueError, "delta must be a finite number"),
    (lambda: losses.Huber(delta="1"), TypeError, "delta must be a number"),
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1), ValueError, "gamma"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=2), ValueError, "alpha"),
    (lambda: losses.CategoricalCrossentropy(from_logits="yes"), TypeError, "from_logits must be True or False"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class=1.5), TypeError, "ignore_class must be an integer"),
    (lambda: losses.Loss("mse", axis=0), ValueError, "no axis argument"),
    (lambda: losses.Loss("mse", delta=1.0), TypeError, "takes no argument 'delta'"),
    (lambda: losses.MeanSquaredError(1, 2), TypeError, "positional"),
])
def test_bad_arguments_are_refused_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_axis_out_of_range_is_a_value_error():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        losses.CategoricalCrossentropy(axis=2)(np.ones((3, 4)) / 4, np.ones((3, 4)) / 4)


@pytest.mark.parametrize("cls", losses.CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip_and_serialize(cls):
    kwargs = {"reduction": "sum", "name": "mine"}
    loss = cls(**kwargs)
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()
    assert again.display_name == "mine" and again.reduction == "sum"
    assert losses.get(cls.__name__).__class__ is cls


def test_keras_names_and_defaults():
    assert losses.Huber().display_name == "huber_loss" and losses.Huber().params == {"delta": 1.0}
    focal = losses.BinaryFocalCrossentropy()
    assert focal.params == {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "label_smoothing": 0.0}
    assert losses.CategoricalCrossentropy().display_name == "categorical_crossentropy"
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_cross_entropy"
    assert losses.get("huber_loss").name == "huber" and losses.get("kld").name == "kl_divergence"


def test_compile_fuses_with_the_losses_own_arguments():
    from numnet import Dense, Input, Sequential

    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 3)), np.eye(4)[rng.integers(0, 4, 6)]
    for loss in (losses.CategoricalCrossentropy(label_smoothing=0.2), losses.CategoricalCrossentropy(reduction="sum")):
        model = Sequential([Input((3,)), Dense(4, activation="softmax", seed=1)], dtype="float64")
        model.compile(loss=loss, optimizer="sgd")
        p = model.predict(x)
        z = np.log(p)  # softmax(log p) = p: logits that give these outputs
        np.testing.assert_allclose(model._compiled.outputs[0].fused(y, p), af.softmax_derivative(z, loss.derivative(y, p)),
                                   rtol=1e-9, atol=1e-12)
    sparse = losses.SparseCategoricalCrossentropy(ignore_class=0)
    model = Sequential([Input((3,)), Dense(4, activation="softmax", seed=1)], dtype="float64")
    model.compile(loss=sparse, optimizer="sgd")
    assert model._compiled.outputs[0].fused is None  # no fused form: the chain rule through softmax is used
    assert sparse.name == "sparse_categorical_cross_entropy" and type(sparse.get_config()["name"]) is str


def test_scalar_predictions_are_a_value_error():
    with pytest.raises(ValueError, match="y_pred must have at least one axis, got a scalar"):
        losses.MeanSquaredError()(1.0, 2.0)


def test_sparse_labels_out_of_range_are_a_value_error():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    p = np.full((3, 4), 0.25)
    assert loss(np.array([0, -1, 3]), p) == pytest.approx(np.log(4))
    with pytest.raises(ValueError, match=r"whole-number class labels in \[0, 4\) .* from 0 to 4"):
        loss(np.array([0, 4, 3]), p)
    with pytest.raises(ValueError, match="whole-number class labels"):
        losses.SparseCategoricalCrossentropy()(np.array([0.5, 1, 2]), p)
