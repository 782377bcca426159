"""The ``Loss`` class: PyTorch parity, shape checks, sample weights, lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet import losses
from numnet.losses import Loss

REF = np.load(Path(__file__).parent / "fixtures" / "core_reference.npz", allow_pickle=False)

# fixture case -> (Loss name as a user spells it, from_logits, y_true key, y_pred key)
TORCH_CASES = {
    "mse": ("mean_squared_error", False, "loss_reg_y", "loss_reg_p"),
    "mae": ("mae", False, "loss_reg_y", "loss_reg_p"),
    "huber": ("huber_loss", False, "loss_reg_y", "loss_reg_p"),
    "bce": ("binary_crossentropy", False, "loss_bce_y", "loss_bce_p"),
    "bce_logits": ("bce", True, "loss_bce_y", "loss_bce_z"),
    "cce_onehot": ("categorical_crossentropy", False, "loss_cce_onehot", "loss_cce_p"),
    "cce_soft": ("cce", False, "loss_cce_soft", "loss_cce_p"),
    "sparse_cce": ("sparse_categorical_crossentropy", False, "loss_cce_labels", "loss_cce_p"),
    "cce_logits_soft": ("categorical_cross_entropy", True, "loss_cce_soft", "loss_cce_z"),
    "sparse_cce_logits": ("sparse_categorical_cross_entropy", True, "loss_cce_labels", "loss_cce_z"),
    "seq_sparse_cce_logits": ("sparse_categorical_cross_entropy", True, "loss_seq_labels", "loss_seq_z"),
}


# The probability (not logits) cross-entropies divide y_pred by its sum over the class axis
# first, as Keras does; PyTorch's NLLLoss(log p) does not. The fixture's p sum to 1, so the
# values agree and d/dp gains sum_c(y_c) / sum_c(p_c) per distribution, divided by the
# N distributions of the mean: a constant per row, which a softmax before it cancels.
NORMALISED = {"cce_onehot", "cce_soft", "sparse_cce"}


def _torch_grad(case, y, p):
    grad = REF[f"loss_{case}_grad"]
    if case not in NORMALISED:
        return grad
    mass = np.ones(len(p)) if y.ndim == 1 else y.sum(axis=-1)
    return grad + (mass / p.sum(axis=-1) / len(p))[:, None]


@pytest.mark.parametrize("case", TORCH_CASES)
def test_forward_and_backward_match_pytorch(case):
    name, from_logits, y_key, p_key = TORCH_CASES[case]
    loss = Loss(name, from_logits=from_logits)
    y, p = REF[y_key], REF[p_key]
    value = loss.forward(y, p)
    assert isinstance(value, float)
    assert value == pytest.approx(float(REF[f"loss_{case}_value"]), rel=1e-12)
    assert loss(y, p) == value
    np.testing.assert_allclose(loss.backward(y, p), _torch_grad(case, y, p), rtol=1e-10, atol=1e-15)


def test_sparse_labels_may_be_a_column():
    loss = Loss("sparse_categorical_cross_entropy")
    labels, p = REF["loss_cce_labels"], REF["loss_cce_p"]
    assert loss.forward(labels[:, None], p) == loss.forward(labels, p)
    np.testing.assert_array_equal(loss.backward(labels[:, None], p), loss.backward(labels, p))


@pytest.mark.parametrize(
    ("name", "y_shape", "p_shape"),
    [
        ("mse", (6, 3), (6, 4)),
        ("mae", (6,), (6, 1)),
        ("binary_cross_entropy", (5, 3), (6, 3)),
        ("categorical_cross_entropy", (6,), (6, 4)),
        ("sparse_categorical_cross_entropy", (6, 4), (6, 4)),
        ("sparse_categorical_cross_entropy", (5,), (6, 4)),
    ],
)
def test_shape_mismatch_is_a_value_error_naming_both_shapes(name, y_shape, p_shape):
    loss = Loss(name)
    y, p = np.zeros(y_shape), np.full(p_shape, 0.5)
    for method in (loss.forward, loss.backward):
        with pytest.raises(ValueError) as info:
            method(y, p)
        assert str(y_shape) in str(info.value) and str(p_shape) in str(info.value)


@pytest.mark.parametrize("name", ["", "mean_squared_logarithmic_errors", None, 3])
def test_unknown_name_is_a_value_error(name):
    with pytest.raises(ValueError, match="expected one of"):
        Loss(name)


def test_from_logits_is_refused_for_regression_losses():
    with pytest.raises(ValueError, match="from_logits"):
        Loss("mse", from_logits=True)


# --- sample weights -------------------------------------------------------------------------
def _weighted_cases():
    rng = np.random.default_rng(11)
    z = rng.normal(0, 2, (5, 4))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, 5)
    return {
        "mse": (Loss("mse"), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))),
        "huber": (Loss("huber"), rng.standard_normal((5, 3)), rng.standard_normal((5, 3)) * 2),
        "bce": (Loss("bce"), rng.uniform(0, 1, (5, 3)), rng.uniform(0.1, 0.9, (5, 3))),
        "cce": (Loss("cce"), np.eye(4)[labels], p),
        "sparse_logits": (Loss("sparse_categorical_cross_entropy", from_logits=True), labels, z),
        "seq_mse": (Loss("mse"), rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 3))),
    }


WEIGHTED = _weighted_cases()
WEIGHTS = np.array([0.5, 0.0, 2.0, 1.0, 3.0])


@pytest.mark.parametrize("case", WEIGHTED)
def test_weighted_loss_is_the_mean_of_weighted_sample_losses(case):
    loss, y, p = WEIGHTED[case]
    per_sample = np.array([loss.forward(y[i : i + 1], p[i : i + 1]) for i in range(5)])
    assert loss.forward(y, p, sample_weight=WEIGHTS) == pytest.approx(np.mean(WEIGHTS * per_sample), rel=1e-12)
    assert loss.forward(y, p, sample_weight=np.ones(5)) == pytest.approx(loss.forward(y, p), rel=1e-15)


@pytest.mark.parametrize("case", WEIGHTED)
def test_weighted_backward_is_the_gradient_of_the_weighted_loss(case):
    loss, y, p = WEIGHTED[case]
    grad = loss.backward(y, p, sample_weight=WEIGHTS)
    numeric = np.zeros_like(p)
    h = 1e-6
    for idx in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[idx] = h
        numeric[idx] = (loss.forward(y, p + e, WEIGHTS) - loss.forward(y, p - e, WEIGHTS)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert np.all(grad[1] == 0)  # a zero weight silences its sample


def test_column_sample_weights_mean_the_same_as_flat_ones():
    loss, y, p = WEIGHTED["mse"]
    assert loss.forward(y, p, WEIGHTS[:, None]) == loss.forward(y, p, WEIGHTS)
    np.testing.assert_array_equal(loss.backward(y, p, WEIGHTS[:, None]), loss.backward(y, p, WEIGHTS))


@pytest.mark.parametrize("bad", [np.ones(4), np.ones((5, 2)), np.ones((1, 5))])
def test_sample_weights_of_the_wrong_shape_are_a_value_error(bad):
    loss, y, p = WEIGHTED["mse"]
    for method in (loss.forward, loss.backward):
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(5,\)"):
            method(y, p, sample_weight=bad)


def test_float32_predictions_give_float32_gradients():
    loss, y, p = WEIGHTED["bce"]
    grad = loss.backward(y.astype(np.float32), p.astype(np.float32), sample_weight=WEIGHTS)
    assert grad.dtype == np.float32


def test_config_repr_and_get():
    loss = Loss("categorical_crossentropy", from_logits=True)
    assert loss.name == "categorical_cross_entropy"
    assert loss.get_config() == {"name": "categorical_cross_entropy", "from_logits": True}
    assert Loss(**loss.get_config()).get_config() == loss.get_config()
    assert repr(loss) == "Loss('categorical_cross_entropy', from_logits=True)"
    assert losses.get(loss) is loss
    assert losses.get("mse").name == "mse"
    with pytest.raises(ValueError):
        losses.get("nonsense")
