"""Custom pieces written with numnet.ops match PyTorch autograd in float64 (fixture made by
tests/fixtures/make_custom_reference.py): a call() layer with a tracked Dense, a custom loss
(function and Loss subclass), a custom metric (function and Keras-style Metric), a subclassed
model's gradients (through the tape and through fit) and a GradientTape loop with Adam."""

from pathlib import Path

import numpy as np
import pytest

import numnet
from numnet import ops
from numnet.layers import Dense
from numnet.training.custom_loss import FunctionLoss

REF = np.load(Path(__file__).parent / "fixtures" / "custom_reference.npz", allow_pickle=False)
TOL = dict(rtol=1e-10, atol=1e-12)


def r(name):
    return REF[name]


class TanhBlock(numnet.Layer):
    """h = tanh(x W + b); out = dense(h) + h[:, :3]**2."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = Dense(3)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 6), name="w")
        self.b = self.add_weight(shape=(6,), initializer="zeros", name="b")

    def call(self, x):
        h = ops.tanh(ops.matmul(x, self.w) + self.b)
        return self.dense(h) + ops.square(h[:, :3])


def test_call_layer_matches_torch():
    layer = TanhBlock(dtype="float64")
    layer.build_for((4,))
    layer.set_weights([r("layer_w"), r("layer_b"), r("layer_k"), r("layer_c")])
    out = layer.forward(r("layer_x"))
    np.testing.assert_allclose(out, r("layer_out"), **TOL)
    dx = layer.backward(r("layer_g"))
    np.testing.assert_allclose(dx, r("layer_grad_x"), **TOL)
    for key, ref in (("w", "w"), ("b", "b"), ("dense/kernel", "k"), ("dense/bias", "c")):
        np.testing.assert_allclose(layer.grads[key], r(f"layer_grad_{ref}"), **TOL)
    # The tracked Dense received its own gradients (the path is a view onto it).
    np.testing.assert_allclose(layer.dense.grads["kernel"], r("layer_grad_k"), **TOL)


def log_cosh(d):
    """log(cosh(d)) = d + softplus(-2d) - log 2, without overflow."""
    return d + ops.softplus(-2.0 * d) - float(np.log(2.0))


def log_cosh_l1(y_true, y_pred):
    return ops.mean(log_cosh(y_pred - y_true) + 0.1 * ops.abs(y_pred), axis=-1)


class LogCoshL1(numnet.losses.Loss):
    def call(self, y_true, y_pred):
        return log_cosh(y_pred - y_true) + 0.1 * ops.abs(y_pred)  # elementwise: averaged per sample


@pytest.mark.parametrize("loss", [FunctionLoss(log_cosh_l1), LogCoshL1()], ids=["function", "subclass"])
def test_custom_loss_matches_torch(loss):
    y, p = r("loss_y"), r("loss_p")
    np.testing.assert_allclose(loss.per_sample(y, p), r("loss_per_sample"), **TOL)
    np.testing.assert_allclose(loss.derivative(y, p), r("loss_grad_p"), **TOL)


def rmse_fn(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


class RootMeanSquare(numnet.metrics.Metric):
    def __init__(self, name="root_mean_square", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.square(y_pred - y_true)))
        self.count.assign_add(float(np.prod(y_pred.shape)))

    def result(self):
        return ops.sqrt(self.total / self.count)


def test_custom_metrics_match_torch_over_batches():
    y, p = r("metric_y"), r("metric_p")
    keras_style = RootMeanSquare()
    function = numnet.metrics.get(rmse_fn)
    for rows in (slice(0, 3), slice(3, 4), slice(4, 10)):  # batching must not change the figure
        keras_style.update(y[rows], p[rows])
        function.update(y[rows], p[rows])
    assert isinstance(keras_style.result(), float)
    assert keras_style.result() == pytest.approx(float(r("metric_value")), rel=1e-12)
    assert np.sqrt(function.result()) == pytest.approx(float(r("metric_value")), rel=1e-12)
    keras_style.reset()
    assert keras_style.total.numpy() == 0 and keras_style.count.numpy() == 0


class ResidualMLP(numnet.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d1 = Dense(5, activation="relu")
        self.d2 = Dense(1)

    def call(self, x, training=False):
        return self.d2(self.d1(x)) + ops.sum(x, axis=-1, keepdims=True)


def _sub_model():
    model = ResidualMLP(dtype="float64")
    model.build((4,))
    model.set_weights([r("sub_w1"), r("sub_b1"), r("sub_w2"), r("sub_b2")])
    return model


def test_subclassed_model_gradients_match_torch_on_the_tape():
    model = _sub_model()
    with numnet.GradientTape() as tape:
        loss = ops.mean(ops.square(model(r("sub_x"), training=True) - r("sub_y")))
    grads = tape.gradient(loss, model.trainable_variables)
    for grad, ref in zip(grads, ("w1", "b1", "w2", "b2")):
        np.testing.assert_allclose(grad.numpy(), r(f"sub_grad_{ref}"), **TOL)


def test_subclassed_model_fit_step_matches_torch():
    model = _sub_model()
    model.compile(numnet.optimizers.get("sgd"), "mse")  # lr 0.01
    before = model.get_weights()
    model.fit(r("sub_x"), r("sub_y"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for old, new, ref in zip(before, model.get_weights(), ("w1", "b1", "w2", "b2")):
        np.testing.assert_allclose((old - new) / 0.01, r(f"sub_grad_{ref}"), rtol=1e-8, atol=1e-10)


def test_gradient_tape_loop_with_adam_matches_torch():
    x = numnet.Input((3,))
    model = numnet.Model(x, Dense(2)(Dense(4, activation="tanh")(x)), dtype="float64")
    model.set_weights([r("loop_w1"), r("loop_b1"), r("loop_w2"), r("loop_b2")])
    optimizer = numnet.optimizers.Adam(0.05, epsilon=1e-7)
    variables = model.trainable_variables
    losses = []
    for _ in range(3):
        with numnet.GradientTape() as tape:
            loss = ops.mean(log_cosh(model(r("loop_x"), training=True) - r("loop_y")))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        losses.append(float(loss))
    np.testing.assert_allclose(losses, r("loop_losses"), rtol=1e-12)
    for weight, ref in zip(model.get_weights(), ("w1", "b1", "w2", "b2")):
        np.testing.assert_allclose(weight, r(f"loop_final_{ref}"), rtol=1e-9, atol=1e-12)
