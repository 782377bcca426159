"""Loss functions: PyTorch parity, central-difference gradients, clipping, fused gradients."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from numnet import Layer
from numnet import activation_functions as af
from numnet import loss_functions as lf
from numnet.gradient_check import check_layer

REF = np.load(Path(__file__).parent / "fixtures" / "core_reference.npz", allow_pickle=False)

ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "huber_loss": "huber",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy",
    "sparse_categorical_crossentropy": "sparse_categorical_cross_entropy",
}

# fixture case -> (loss name, from_logits, y_true key, y_pred key)
TORCH_CASES = {
    "mse": ("mse", False, "loss_reg_y", "loss_reg_p"),
    "mae": ("mae", False, "loss_reg_y", "loss_reg_p"),
    "huber": ("huber", False, "loss_reg_y", "loss_reg_p"),
    "bce": ("binary_cross_entropy", False, "loss_bce_y", "loss_bce_p"),
    "bce_logits": ("binary_cross_entropy", True, "loss_bce_y", "loss_bce_z"),
    "cce_onehot": ("categorical_cross_entropy", False, "loss_cce_onehot", "loss_cce_p"),
    "cce_soft": ("categorical_cross_entropy", False, "loss_cce_soft", "loss_cce_p"),
    "sparse_cce": ("sparse_categorical_cross_entropy", False, "loss_cce_labels", "loss_cce_p"),
    "cce_logits_onehot": ("categorical_cross_entropy", True, "loss_cce_onehot", "loss_cce_z"),
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
def test_value_and_gradient_match_pytorch(case):
    name, from_logits, y_key, p_key = TORCH_CASES[case]
    loss, derivative = lf.get_loss(name, from_logits=from_logits)
    y, p = REF[y_key], REF[p_key]
    assert isinstance(loss(y, p), float)
    np.testing.assert_allclose(loss(y, p), REF[f"loss_{case}_value"], rtol=1e-12)
    np.testing.assert_allclose(derivative(y, p), _torch_grad(case, y, p), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("alias", ALIASES)
def test_keras_spellings_are_aliases(alias):
    assert lf.canonical_name(alias) == ALIASES[alias]
    y, p = REF["loss_cce_onehot"], REF["loss_cce_p"]
    if "sparse" in alias:
        y = REF["loss_cce_labels"]
    loss, derivative = lf.get_loss(alias)
    reference_loss, reference_derivative = lf.get_loss(ALIASES[alias])
    assert loss(y, p) == reference_loss(y, p)
    np.testing.assert_array_equal(derivative(y, p), reference_derivative(y, p))


def test_known_values_by_hand():
    y, p = np.array([[1.0, 0.0]]), np.array([[0.5, 3.0]])
    assert lf.get_loss("mse")[0](y, p) == pytest.approx((0.25 + 9) / 2)
    assert lf.get_loss("mae")[0](y, p) == pytest.approx((0.5 + 3) / 2)
    assert lf.get_loss("huber")[0](y, p) == pytest.approx((0.5 * 0.25 + (3 - 0.5)) / 2)
    assert lf.get_loss("bce")[0](np.array([[1.0]]), np.array([[0.25]])) == pytest.approx(math.log(4))
    assert lf.get_loss("cce")[0](np.array([[0.0, 1.0]]), np.array([[0.75, 0.25]])) == pytest.approx(math.log(4))
    assert lf.get_loss("sparse_categorical_cross_entropy")[0](np.array([0]), np.array([[0.5, 0.5]])) == pytest.approx(
        math.log(2)
    )


@pytest.mark.parametrize("name", ["nope", None, "", 7])
def test_unknown_loss_names_list_the_choices(name):
    with pytest.raises(ValueError) as info:
        lf.get_loss(name)
    for valid in ("mse", "mae", "huber", "binary_cross_entropy", "categorical_crossentropy"):
        assert valid in str(info.value)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_losses_have_no_logits_form(name):
    assert not lf.supports_logits(name)
    with pytest.raises(ValueError, match="from_logits"):
        lf.get_loss(name, from_logits=True)


# --- central differences --------------------------------------------------------------------
def _numeric_gradient(loss, y, p, h=1e-7):
    grad = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[idx] = h
        grad[idx] = (loss(y, p + e) - loss(y, p - e)) / (2 * h)
    return grad


def _cases():
    rng = np.random.default_rng(7)
    reg_y, reg_p = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 2
    # keep |p - y| off huber's kink at 1 and mae's kink at 0
    reg_p = np.where(np.abs(np.abs(reg_p - reg_y) - 1) < 1e-2, reg_p + 0.1, reg_p)
    bce_y = rng.uniform(0, 1, (4, 3))
    bce_p = rng.uniform(0.05, 0.95, (4, 3))
    z = rng.normal(0, 2, (4, 5))
    soft = rng.dirichlet(np.ones(5), size=4)
    probs = af.softmax(z)
    labels = rng.integers(0, 5, size=4)
    seq_z = rng.normal(0, 2, (2, 3, 5))
    seq_labels = rng.integers(0, 5, size=(2, 3, 1))
    seq_soft = rng.dirichlet(np.ones(5), size=(2, 3))
    return {
        "mse": ("mse", False, reg_y, reg_p),
        "mae": ("mae", False, reg_y, reg_p),
        "huber": ("huber", False, reg_y, reg_p),
        "bce": ("binary_cross_entropy", False, bce_y, bce_p),
        "bce_logits": ("binary_cross_entropy", True, bce_y, z[:, :3] * 3),
        "cce": ("categorical_cross_entropy", False, soft, probs),
        "cce_logits": ("categorical_cross_entropy", True, soft, z),
        "cce_logits_unnormalised_targets": ("categorical_cross_entropy", True, soft * 2, z),
        "sparse": ("sparse_categorical_cross_entropy", False, labels, probs),
        "sparse_logits": ("sparse_categorical_cross_entropy", True, labels, z),
        "seq_cce": ("categorical_cross_entropy", False, seq_soft, af.softmax(seq_z)),
        "seq_sparse_logits": ("sparse_categorical_cross_entropy", True, seq_labels, seq_z),
        "3d_mse": ("mse", False, seq_soft, af.softmax(seq_z)),
    }


CASES = _cases()


@pytest.mark.parametrize("case", CASES)
def test_derivative_matches_central_differences(case):
    name, from_logits, y, p = CASES[case]
    loss, derivative = lf.get_loss(name, from_logits=from_logits)
    analytic = derivative(y, p)
    assert analytic.shape == p.shape
    np.testing.assert_allclose(analytic, _numeric_gradient(loss, y, p), rtol=1e-6, atol=1e-9)


class LossAsLayer(Layer):
    """A loss with fixed targets, seen as a layer from predictions to the scalar loss, so the
    library's own gradient checker can run over it."""

    def __init__(self, name, from_logits, y_true):
        super().__init__()
        self.loss, self.derivative = lf.get_loss(name, from_logits)
        self.y_true = y_true

    def forward(self, input):
        self.input = input
        return np.float64(self.loss(self.y_true, input))

    def backward(self, output_error):
        return output_error * self.derivative(self.y_true, self.input)


@pytest.mark.parametrize("case", CASES)
def test_every_loss_passes_the_library_gradient_checker(case):
    name, from_logits, y, p = CASES[case]
    result = check_layer(LossAsLayer(name, from_logits, y), p)
    assert set(result.errors) == {"input:0"}
    assert result.passed(), result.errors


@pytest.mark.parametrize("case", CASES)
def test_per_sample_losses_average_to_the_loss(case):
    name, from_logits, y, p = CASES[case]
    losses = lf.per_sample(name, from_logits)(y, p)
    assert losses.shape == (p.shape[0],)
    assert losses.mean() == pytest.approx(lf.get_loss(name, from_logits)[0](y, p), rel=1e-12)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy"])
def test_clipping_makes_log_zero_impossible(name):
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong everywhere: log(0) unclipped
    loss, derivative = lf.get_loss(name)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        value = loss(y, p)
        grad = derivative(y, p)
    assert math.isfinite(value)
    assert value == pytest.approx(-math.log(lf.EPSILON), rel=1e-6)
    assert np.all(np.isfinite(grad))
    # perfectly right predictions cost (almost) nothing
    assert loss(y, 1 - p) == pytest.approx(0.0, abs=1e-6)


def test_sparse_clipping_makes_log_zero_impossible():
    loss, derivative = lf.get_loss("sparse_categorical_cross_entropy")
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        value = loss(np.array([1, 0]), np.array([[1.0, 0.0], [1.0, 0.0]]))
        grad = derivative(np.array([1, 0]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert value == pytest.approx(-math.log(lf.EPSILON) / 2, rel=1e-6)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy"])
def test_logits_losses_are_stable_for_huge_scores(name):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    y = np.array([0, 0]) if "sparse" in name else np.array([[1.0, 0.0], [1.0, 0.0]])
    loss, derivative = lf.get_loss(name, from_logits=True)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        value = loss(y, z)
        grad = derivative(y, z)
    assert math.isfinite(value) and np.all(np.isfinite(grad))
    # one sample costs 2e4 (a 2e4 margin the wrong way), the other 0: mean 1e4; binary
    # averages four elements, two of them costing 1e4 each: also a mean of 5e3 per element
    assert value == pytest.approx(5e3 if name == "binary_cross_entropy" else 1e4, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["mse", "huber", "bce", "bce_logits", "cce", "cce_logits", "sparse", "sparse_logits"])
def test_derivative_keeps_the_prediction_dtype(case, dtype):
    name, from_logits, y, p = CASES[case]
    y = y if "sparse" in case else y.astype(dtype)
    grad = lf.get_loss(name, from_logits)[1](y, p.astype(dtype))
    assert grad.dtype == dtype


# --- fused output-activation gradients ------------------------------------------------------
FUSED = {
    "categorical_cross_entropy": ("softmax", "cce"),
    "sparse_categorical_cross_entropy": ("softmax", "sparse"),
    "binary_cross_entropy": ("sigmoid", "bce_logits"),
}


@pytest.mark.parametrize("name", FUSED)
def test_fused_gradient_equals_chain_rule_through_the_activation(name):
    activation, case = FUSED[name]
    _, _, y, z = CASES[case]
    if case == "cce":
        z = np.random.default_rng(3).normal(0, 2, y.shape)
    f, df = af.get_function(activation)
    p = f(z)
    chain = df(z, lf.get_loss(name)[1](y, p))
    fused = lf.fused_gradient(name, activation)
    assert fused is not None
    np.testing.assert_allclose(fused(y, p), chain, rtol=1e-9, atol=1e-14)
    # and it is the logits form's gradient
    np.testing.assert_allclose(fused(y, p), lf.get_loss(name, from_logits=True)[1](y, z), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "activation"),
    [("mse", "softmax"), ("categorical_cross_entropy", "sigmoid"), ("binary_cross_entropy", "softmax"),
     ("categorical_cross_entropy", None)],
)
def test_unrelated_pairs_do_not_fuse(name, activation):
    assert lf.fused_gradient(name, activation) is None
