"""Subclassed models, custom losses and metrics, add_loss, and custom training loops with
GradientTape and optimizer.apply_gradients."""

import numpy as np
import pytest

import numnet
from numnet import ops
from numnet.layers import Dense, Dropout

RNG = np.random.default_rng(5)
X = RNG.standard_normal((64, 4))
Y = X @ np.array([[1.0], [-1.0], [0.5], [2.0]]) + 0.1


def _linear(seed=0, dtype="float64"):
    """A linear model whose weights depend on ``seed`` only."""
    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, Dense(1)(inputs), dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal((4, 1)), rng.standard_normal(1)])
    return model


# --- subclassed models ------------------------------------------------------------------------
@numnet.register_layer(name="TestResidualNet")
class ResidualNet(numnet.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = Dense(hidden, activation="relu")
        self.drop = Dropout(0.2, seed=0)
        self.d2 = Dense(1)

    def call(self, x, training=False):
        return self.d2(self.drop(self.d1(x), training=training)) + ops.mean(x, axis=-1, keepdims=True)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def test_subclassed_model_fits_evaluates_predicts_and_summarises():
    model = ResidualNet(16, seed=0)
    model.compile(numnet.optimizers.Adam(0.01), "mse", metrics=["mae"])  # before the build: deferred
    assert model._plan is None
    history = model.fit(X, Y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    loss, mae = model.evaluate(X, Y)
    assert loss == pytest.approx(float(np.mean((model.predict(X) - Y) ** 2)), rel=1e-5)
    assert 0 < mae < 1
    lines = []
    model.summary(print_fn=lines.append)
    assert "dense" in lines[0] and "OpLayer" in lines[0] and "Total params: 97" in lines[0]


def test_subclassed_model_saves_loads_and_continues(tmp_path):
    model = ResidualNet(8, seed=1)
    model.compile("adam", "mse")
    model.fit(X, Y, epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    assert type(loaded) is ResidualNet and loaded.hidden == 8
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The optimizer state came back too: one more identical step on both gives identical weights.
    model.fit(X, Y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(X, Y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    model.save_weights(tmp_path / "w.npz")
    fresh = ResidualNet(8, seed=7)
    fresh.build((4,))
    fresh.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))


def test_subclassed_model_errors(tmp_path):
    class Branching(numnet.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(1)

        def call(self, x, training=False):
            return self.d(x) if training else x

    with pytest.raises(TypeError, match="cannot branch on `training`"):
        Branching().build((4,))

    class NumpyInside(numnet.Model):
        def call(self, x):
            return np.tanh(x)

    with pytest.raises(TypeError, match="symbolic"):
        NumpyInside().build((4,))

    with pytest.raises(RuntimeError, match="before it is built"):
        ResidualNet().save(tmp_path / "unbuilt.npz")

    class Unregistered(ResidualNet):
        pass

    model = Unregistered()
    model.build((4,))
    with pytest.raises(ValueError, match="is not registered"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# --- custom losses and metrics --------------------------------------------------------------------
def per_sample_mse(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def mean_mse(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true))


class ElementwiseMSE(numnet.losses.Loss):
    def call(self, y_true, y_pred):
        return ops.square(y_pred - y_true)


@pytest.mark.parametrize("loss", [per_sample_mse, mean_mse, ElementwiseMSE()], ids=["per_sample", "mean", "subclass"])
def test_custom_losses_train_exactly_as_the_builtin(loss):
    reference = _linear(seed=3)
    reference.compile(numnet.optimizers.SGD(0.05), "mse", metrics=["mae"])
    custom = _linear(seed=3)
    custom.compile(numnet.optimizers.SGD(0.05), loss, metrics=["mae"])
    a = reference.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    b = custom.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-12)
    for w_ref, w in zip(reference.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    assert custom.evaluate(X, Y)[0] == pytest.approx(reference.evaluate(X, Y)[0], rel=1e-12)


def test_sample_weights_apply_to_a_per_sample_custom_loss():
    weights = RNG.uniform(0.5, 2.0, len(X))
    reference, custom = _linear(seed=4), _linear(seed=4)
    reference.compile("sgd", "mse")
    custom.compile("sgd", per_sample_mse)
    reference.fit(X, Y, sample_weight=weights, epochs=1, shuffle=False, verbose=0)
    custom.fit(X, Y, sample_weight=weights, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(reference.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def absolute_error(y_true, y_pred):
    return ops.mean(ops.abs(y_pred - y_true), axis=-1)


class MeanAbsolute(numnet.metrics.Metric):
    def __init__(self, name="mean_absolute", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(y_pred - y_true)))
        self.count.assign_add(float(y_pred.size))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)


def test_function_and_keras_style_metrics_log_what_the_builtin_logs():
    model = _linear(seed=5)
    model.compile("sgd", "mse", metrics=["mae", absolute_error, MeanAbsolute()])
    assert model.metrics_names == ["loss", "mae", "absolute_error", "mean_absolute"]
    logs = model.evaluate(X, Y, batch_size=7, return_dict=True)
    assert logs["absolute_error"] == pytest.approx(logs["mae"], rel=1e-12)
    assert logs["mean_absolute"] == pytest.approx(logs["mae"], rel=1e-12)
    history = model.fit(X, Y, epochs=2, verbose=0).history
    np.testing.assert_allclose(history["mean_absolute"], history["mae"], rtol=1e-12)


@pytest.mark.parametrize("bad, error, match", [
    (lambda y, p: np.mean((np.asarray(p) - np.asarray(y)) ** 2), TypeError, "not a numnet Tensor"),
    (lambda y, p: ops.square(p - y)[:3], ValueError, r"expected one value per sample \(16,\)"),
])
def test_custom_loss_errors_change_nothing(bad, error, match):
    model = _linear(seed=6)
    model.compile("sgd", bad)
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.fit(X[:16], Y[:16], batch_size=16, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_losses_on_tensors_give_tensors_with_gradients():
    p = ops.Variable(RNG.standard_normal((5, 3)), name="p")
    y = RNG.standard_normal((5, 3))
    for loss in (numnet.losses.Loss("mse"), ElementwiseMSE()):
        with numnet.GradientTape() as tape:
            value = loss(y, p)
        assert isinstance(value, ops.Tensor)
        assert float(value) == pytest.approx(np.mean((p.numpy() - y) ** 2), rel=1e-12)
        np.testing.assert_allclose(tape.gradient(value, p).numpy(), 2 * (p.numpy() - y) / p.size, rtol=1e-12)
    assert isinstance(numnet.losses.Loss("mse")(y, p.numpy()), float)  # arrays: a float, as before


# --- add_loss --------------------------------------------------------------------------------------
class Penalised(numnet.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 1), name="w")

    def call(self, x):
        self.add_loss(0.5 * ops.sum(ops.square(self.w)))
        return ops.matmul(x, self.w)


def test_layer_add_loss_adds_its_value_and_gradient():
    inputs = numnet.Input((4,))
    layer = Penalised()
    model = numnet.Model(inputs, layer(inputs), dtype="float64", seed=8)
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    w = layer.params["w"].copy()
    data_loss = float(np.mean((X @ w - Y) ** 2))
    assert model.evaluate(X, Y) == pytest.approx(data_loss + 0.5 * np.sum(w ** 2), rel=1e-12)
    logged = model.train_on_batch(X, Y)
    assert logged == pytest.approx(data_loss + 0.5 * np.sum(w ** 2), rel=1e-12)
    expected = w - 0.1 * (2 * X.T @ (X @ w - Y) / len(X) + w)
    np.testing.assert_allclose(layer.params["w"], expected, rtol=1e-12)
    assert [float(t) for t in model.losses] == pytest.approx([0.5 * float(np.sum(w ** 2))])


def test_model_add_loss_callable_adds_its_value_and_gradient():
    model = _linear(seed=9)
    dense = model.layers[0]
    kernel = dense.trainable_variables[0]
    model.add_loss(lambda: 0.01 * ops.sum(ops.square(kernel)))
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    k, b = (w.copy() for w in dense.get_weights())
    residual = X @ k + b - Y
    assert model.train_on_batch(X, Y) == pytest.approx(float(np.mean(residual ** 2) + 0.01 * np.sum(k ** 2)),
                                                       rel=1e-12)
    expected = k - 0.1 * (2 * X.T @ residual / len(X) + 0.02 * k)
    np.testing.assert_allclose(dense.get_weights()[0], expected, rtol=1e-12)


def test_add_loss_errors():
    x = numnet.Input((4,))
    layer = Dense(1)
    with pytest.raises(TypeError, match="symbolic tensor"):
        layer.add_loss(ops.sum(x))
    with pytest.raises(TypeError, match="Tensor or a zero-argument callable"):
        layer.add_loss(0.5)
    with pytest.raises(ValueError, match="scalar"):
        layer.add_loss(ops.ones((2,)))
    assert layer.losses == []


# --- GradientTape loops ----------------------------------------------------------------------------
def test_a_model_call_is_one_op_on_the_tape_with_the_fit_gradient():
    model = _linear(seed=10)
    model.compile(numnet.optimizers.SGD(1.0), "mse")
    with numnet.GradientTape() as tape:
        prediction = model(X, training=True)
        loss = ops.mean(ops.square(prediction - Y))
    assert [node.name for node in tape._nodes][0] == model.name
    assert sum(node.name == model.name for node in tape._nodes) == 1  # the model: one op
    grads = tape.gradient(loss, model.trainable_variables)
    before = model.get_weights()
    model.train_on_batch(X, Y)  # SGD(1.0): the step is the gradient
    for grad, old, new in zip(grads, before, model.get_weights()):
        np.testing.assert_allclose(grad.numpy(), old - new, rtol=1e-12)


def test_gradient_flows_between_models_as_through_their_composition():
    z = numnet.Input((3,))
    generator = numnet.Model(z, Dense(4, activation="tanh")(z), dtype="float64", seed=1)
    h = numnet.Input((4,))
    critic = numnet.Model(h, Dense(1)(h), dtype="float64", seed=2)
    noise = RNG.standard_normal((6, 3))
    with numnet.GradientTape() as tape:
        score = ops.mean(critic(generator(noise, training=True), training=True))
    separate = tape.gradient(score, generator.trainable_variables)
    zz = numnet.Input((3,))
    combined = numnet.Model(zz, critic(generator(zz)), dtype="float64")
    with numnet.GradientTape() as tape:
        score2 = ops.mean(combined(noise, training=True))
    together = tape.gradient(score2, generator.trainable_variables)
    assert float(score) == pytest.approx(float(score2), rel=1e-12)
    for a, b in zip(separate, together):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_calling_a_model_twice_on_one_tape_keeps_both_calls():
    model = _linear(seed=11)
    a, b = X[:8], X[8:16]
    with numnet.GradientTape() as tape:
        loss = ops.sum(model(a, training=True)) + 3.0 * ops.sum(model(b, training=True))
    kernel_grad, bias_grad = tape.gradient(loss, model.trainable_variables)
    np.testing.assert_allclose(kernel_grad.numpy().ravel(), a.sum(0) + 3 * b.sum(0), rtol=1e-12)
    assert float(bias_grad.numpy()[0]) == pytest.approx(8 + 24)


def test_apply_gradients_and_its_errors():
    model = _linear(seed=12)
    variables = model.trainable_variables
    optimizer = numnet.optimizers.SGD(0.5)
    before = model.get_weights()
    with pytest.raises(TypeError, match="trainable_variables"):
        optimizer.apply_gradients([(np.ones((4, 1)), model.trainable_weights[0])])
    with pytest.raises(ValueError, match=r"has shape \(3,\)"):
        optimizer.apply_gradients([(np.ones(3), variables[0])])
    with pytest.raises(TypeError, match="pairs"):
        optimizer.apply_gradients([variables[0]])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    optimizer.apply_gradients([(None, variables[0]), (np.ones(1), variables[1])])  # None: skipped
    np.testing.assert_array_equal(model.get_weights()[0], before[0])
    np.testing.assert_allclose(model.get_weights()[1], before[1] - 0.5)


def test_tape_gradient_of_trainable_weights_says_to_use_variables():
    model = _linear()
    with numnet.GradientTape() as tape:
        loss = ops.sum(model(X, training=True))
    with pytest.raises(TypeError, match="trainable_variables"):
        tape.gradient(loss, model.trainable_weights)


def test_subclassed_model_with_two_inputs_builds_from_a_list_of_shapes():
    class TwoInputs(numnet.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.left, self.right = Dense(3), Dense(3)

        def call(self, inputs):
            a, b = inputs
            return ops.sum(self.left(a) * self.right(b), axis=-1, keepdims=True)

    model = TwoInputs(dtype="float64")
    model.build([(4,), (2,)])
    a, b = X[:5], X[:5, :2]
    (lk, lb), (rk, rb) = model.left.get_weights(), model.right.get_weights()
    expected = ((a @ lk + lb) * (b @ rk + rb)).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict([a, b]), expected, rtol=1e-12)
