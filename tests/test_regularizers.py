"""numnet.regularizers: Keras's formulas, the layer arguments, the terms in the loss, in
model.losses and in the gradient, saving, and the errors."""

import numpy as np
import pytest

import numnet
from numnet import constraints, layers, ops, optimizers, regularizers
from numnet.layers import Dense

W = np.array([[0.5, -1.5], [0.0, 2.0], [-0.25, 1.0]])


# --- the regularizers themselves -------------------------------------------------------------------
def test_values_follow_keras_formulas():
    assert regularizers.L1(0.1)(W) == pytest.approx(0.1 * 5.25)
    assert regularizers.L2(0.1)(W) == pytest.approx(0.1 * (0.25 + 2.25 + 4 + 0.0625 + 1))  # no 1/2
    assert regularizers.L1L2(0.1, 0.2)(W) == pytest.approx(0.1 * 5.25 + 0.2 * 7.5625)
    assert regularizers.L1L2()(W) == 0.0


def test_gradients_are_the_derivatives():
    np.testing.assert_allclose(regularizers.L1(0.1).gradient(W), 0.1 * np.sign(W))
    assert regularizers.L1(0.1).gradient(W)[1, 0] == 0.0  # |w|'(0) = 0, as torch and TF
    np.testing.assert_allclose(regularizers.L2(0.1).gradient(W), 0.2 * W)
    reg = regularizers.L1L2(0.3, 0.7)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))
    numeric = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[i] = 1e-6
        numeric[i] = (reg(w + d) - reg(w - d)) / 2e-6
    np.testing.assert_allclose(reg.gradient(w), numeric, rtol=1e-6, atol=1e-8)


def test_gradient_keeps_the_weight_dtype():
    assert regularizers.L1L2(0.1, 0.1).gradient(W.astype(np.float32)).dtype == np.float32


def test_names_defaults_and_serialize():
    assert regularizers.get("l1").get_config() == {"l1": 0.01}
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get(None) is None
    reg = regularizers.L1L2(l1=0.5, l2=0.25)
    assert regularizers.get(reg) is reg
    record = regularizers.serialize(reg)
    assert record == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}
    back = regularizers.deserialize(record)
    assert type(back) is regularizers.L1L2 and back.get_config() == reg.get_config()
    assert regularizers.get(record).get_config() == reg.get_config()


@pytest.mark.parametrize("make, error, match", [
    (lambda: regularizers.L2(-1.0), ValueError, "non-negative"),
    (lambda: regularizers.L1(float("nan")), ValueError, "finite"),
    (lambda: regularizers.L1("big"), TypeError, "number"),
    (lambda: regularizers.get("l3"), ValueError, "Unknown regularizer 'l3'"),
    (lambda: regularizers.get(3), TypeError, "got int"),
    (lambda: regularizers.deserialize({"class_name": "Nope", "config": {}}), ValueError, "known classes"),
])
def test_regularizer_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


# --- on layers ---------------------------------------------------------------------------------
def _model(seed=1, **dense_args):
    inputs = numnet.Input((3,))
    hidden = Dense(4, activation="tanh", name="hidden", **dense_args)(inputs)
    return numnet.Model(inputs, Dense(2, name="out")(hidden), dtype="float64", seed=seed)


def _data(n=8):
    rng = np.random.default_rng(3)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def test_model_losses_lists_each_weight_term():
    model = _model(kernel_regularizer=regularizers.L2(0.1), bias_regularizer=regularizers.L1(0.2))
    hidden = model.get_layer("hidden")
    hidden.params["bias"][...] = [1.0, -2.0, 0.0, 0.5]
    values = [float(t.value) for t in model.losses]
    assert values == pytest.approx([0.1 * np.sum(hidden.params["kernel"] ** 2), 0.2 * 3.5])
    assert [float(t.value) for t in hidden.losses] == pytest.approx(values)
    assert model.get_layer("out").losses == []


def test_training_loss_includes_the_penalty_and_its_gradient():
    """One SGD step with kernel_regularizer=L2 equals the step of the same model whose penalty
    is an add_loss callable written with numnet.ops (an independent gradient path)."""
    x, y = _data()
    a = _model(kernel_regularizer=regularizers.L2(0.05))
    b = _model()
    b.set_weights(a.get_weights())
    kernel = b.get_layer("hidden").trainable_variables[0]
    b.add_loss(lambda: 0.05 * ops.sum(ops.square(kernel)))
    for m in (a, b):
        m.compile(optimizers.SGD(0.1), "mse")
    loss_a, loss_b = a.train_on_batch(x, y), b.train_on_batch(x, y)
    assert loss_a == pytest.approx(loss_b, rel=1e-12)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)
    mse = np.mean((b.predict(x) - y) ** 2)  # after the step: evaluate gives mse + penalty, as Keras
    penalty = 0.05 * np.sum(a.get_layer("hidden").params["kernel"] ** 2)
    assert a.evaluate(x, y) == pytest.approx(float(np.mean((a.predict(x) - y) ** 2)) + penalty)
    assert b.evaluate(x, y) == pytest.approx(mse + penalty)


def test_a_gradient_tape_step_with_model_losses_equals_fit():
    x, y = _data()
    a = _model(kernel_regularizer=regularizers.L1L2(0.01, 0.03), bias_regularizer="l2",
               activity_regularizer=regularizers.L2(0.2))
    b = _model()
    b.set_weights(a.get_weights())
    a.compile(optimizers.SGD(0.2), "mse")
    a.train_on_batch(x, y)
    # the same step by hand: the tape sees ops.sum(model.losses)
    c = _model(kernel_regularizer=regularizers.L1L2(0.01, 0.03), bias_regularizer="l2",
               activity_regularizer=regularizers.L2(0.2))
    c.set_weights(b.get_weights())
    optimizer = optimizers.SGD(0.2)
    with numnet.GradientTape() as tape:
        pred = c(ops.convert_to_tensor(x))
        loss = ops.mean(ops.square(pred - y)) + ops.sum(ops.stack(c.losses))
    assert len(c.losses) == 3  # the activity term of this forward, then kernel and bias
    variables = c.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    for wa, wc in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wc, rtol=1e-10, atol=1e-12)


def test_activity_regularizer_term_is_per_sample_and_its_gradient_flows():
    """loss = mse + l1 * sum|h| / batch; the SGD step equals -lr times the central-difference
    gradient of that loss (evaluate gives the same total)."""
    x, y = _data(6)
    model = _model(activity_regularizer=regularizers.L1L2(0.3, 0.2))
    model.compile(optimizers.SGD(0.5), "mse")
    hidden = model.get_layer("hidden")

    def total(weights):
        model.set_weights(weights)
        h = np.tanh(x @ hidden.params["kernel"] + hidden.params["bias"])
        out = model.get_layer("out")
        pred = h @ out.params["kernel"] + out.params["bias"]
        return np.mean((pred - y) ** 2) + (0.3 * np.abs(h).sum() + 0.2 * (h ** 2).sum()) / len(x)

    before = model.get_weights()
    expected_loss = total(before)
    assert model.evaluate(x, y) == pytest.approx(expected_loss, rel=1e-12)
    numeric = []
    for i, w in enumerate(before):
        g = np.zeros_like(w)
        for j in np.ndindex(w.shape):
            plus = [v.copy() for v in before]
            minus = [v.copy() for v in before]
            plus[i][j] += 1e-6
            minus[i][j] -= 1e-6
            g[j] = (total(plus) - total(minus)) / 2e-6
        numeric.append(g)
    model.set_weights(before)
    assert model.train_on_batch(x, y) == pytest.approx(expected_loss, rel=1e-12)
    h = np.tanh(x @ before[0] + before[1])
    assert [float(t.value) for t in hidden.losses] == pytest.approx(
        [(0.3 * np.abs(h).sum() + 0.2 * (h ** 2).sum()) / 6], rel=1e-9)
    for w0, w1, g in zip(before, model.get_weights(), numeric):
        np.testing.assert_allclose((w0 - w1) / 0.5, g, rtol=1e-5, atol=1e-8)


def test_activity_regularizer_on_a_softmax_output_is_not_fused():
    """The activity term's gradient is with respect to the softmax output, so the fused
    softmax + cross-entropy gradient must not apply to that layer."""
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    inputs = numnet.Input((3,))
    layer = Dense(3, activation="softmax", activity_regularizer=regularizers.L2(0.5))
    model = numnet.Model(inputs, layer(inputs), dtype="float64", seed=0)
    model.compile(optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    k, b = layer.params["kernel"].copy(), layer.params["bias"].copy()

    def total(k, b):
        z = x @ k + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return -np.mean(np.log(p[np.arange(5), labels])) + 0.5 * (p ** 2).sum() / 5

    numeric = np.zeros_like(k)
    for j in np.ndindex(k.shape):
        d = np.zeros_like(k)
        d[j] = 1e-6
        numeric[j] = (total(k + d, b) - total(k - d, b)) / 2e-6
    model.train_on_batch(x, labels)
    np.testing.assert_allclose(k - layer.params["kernel"], numeric, rtol=1e-5, atol=1e-8)


def test_predict_is_unchanged_by_an_activity_regularizer():
    x, _ = _data()
    a, b = _model(activity_regularizer="l2"), _model()
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


@pytest.mark.parametrize("make, weights", [
    (lambda: layers.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1"), ["kernel", "bias"]),
    (lambda: layers.Conv1D(2, 3, kernel_regularizer="l1"), ["kernel"]),
    (lambda: layers.Embedding(10, 4, embeddings_regularizer="l2"), ["embeddings"]),
    (lambda: layers.LSTM(3, kernel_regularizer="l1", recurrent_regularizer="l2", bias_regularizer="l1_l2"),
     ["kernel", "recurrent_kernel", "bias"]),
    (lambda: layers.GRU(3, recurrent_regularizer="l2"), ["recurrent_kernel"]),
    (lambda: layers.SimpleRNN(3, recurrent_regularizer="l2"), ["recurrent_kernel"]),
    (lambda: layers.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1"), ["gamma", "beta"]),
    (lambda: layers.LayerNormalization(gamma_regularizer="l2"), ["gamma"]),
])
def test_every_weight_layer_takes_its_arguments(make, weights):
    layer = make()
    shape = {"Conv2D": (5, 5, 2), "Embedding": (4,)}.get(type(layer).__name__, (4, 2))
    inputs = numnet.Input(shape, dtype="int64" if type(layer).__name__ == "Embedding" else None)
    model = numnet.Model(inputs, layer(inputs), seed=0)
    assert list(layer.regularizers) == weights
    expected = [layer.regularizers[w](layer.params[w]) for w in weights]
    assert [float(t.value) for t in model.losses] == pytest.approx(expected, rel=1e-6)
    assert expected[0] > 0  # kernels (and gamma: ones) are not zero, so the check can fail


def test_multi_head_attention_kernel_regularizer_covers_every_projection():
    q = numnet.Input((4, 6))
    layer = layers.MultiHeadAttention(2, 3, kernel_regularizer="l2")
    numnet.Model(q, layer([q, q]))
    assert sorted(layer.regularizers) == ["key_kernel", "output_kernel", "query_kernel", "value_kernel"]


def test_wrapped_layers_keep_their_regularizers():
    inputs = numnet.Input((5, 3))
    layer = layers.Bidirectional(layers.LSTM(2, kernel_regularizer=regularizers.L2(0.1)))
    model = numnet.Model(inputs, layer(inputs), seed=0)
    assert sorted(layer.regularizers) == ["backward_kernel", "forward_kernel"]
    assert sum(float(t.value) for t in model.losses) == pytest.approx(
        0.1 * sum(np.sum(layer.params[k] ** 2) for k in ("forward_kernel", "backward_kernel")), rel=1e-6)


def test_frozen_layers_add_no_penalty():
    x, y = _data()
    model = _model(kernel_regularizer=regularizers.L2(1.0))
    model.get_layer("hidden").trainable = False
    model.compile("sgd", "mse")
    assert model.losses == []
    assert model.evaluate(x, y) == pytest.approx(float(np.mean((model.predict(x) - y) ** 2)))


class Scaled(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Dense(2, kernel_regularizer=regularizers.L2(0.5), name="inner")

    def build(self, input_shape):
        self.w = self.add_weight(shape=(2,), initializer="ones", regularizer=regularizers.L1(0.25), name="w")

    def call(self, x):
        return self.inner(x) * self.w


def test_call_layers_own_and_tracked_regularizers():
    x, y = _data()
    inputs = numnet.Input((3,))
    layer = Scaled()
    model = numnet.Model(inputs, layer(inputs), dtype="float64", seed=0)
    kernel = layer.inner.params["kernel"]
    assert [float(t.value) for t in model.losses] == pytest.approx([0.25 * 2.0, 0.5 * np.sum(kernel ** 2)])
    model.compile(optimizers.SGD(0.1), "mse")
    w_before, k_before = layer.params["w"].copy(), kernel.copy()
    loss = model.train_on_batch(x, y)
    pred = (x @ k_before + layer.inner.params["bias"] * 0) * w_before
    assert loss == pytest.approx(np.mean((pred - y) ** 2) + 0.5 + 0.5 * np.sum(k_before ** 2))


def test_regularizers_survive_save_and_load(tmp_path):
    x, y = _data()
    model = _model(kernel_regularizer=regularizers.L1L2(0.01, 0.02), activity_regularizer="l1",
                   kernel_constraint=constraints.MaxNorm(1.5, axis=0))
    model.compile("sgd", "mse")
    config = model.get_layer("hidden").get_config()
    assert config["kernel_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}}
    assert config["activity_regularizer"] == {"class_name": "L1", "config": {"l1": 0.01}}
    assert config["kernel_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 1.5, "axis": 0}}
    assert "bias_regularizer" not in config
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    hidden = loaded.get_layer("hidden")
    assert hidden.get_config() == config
    assert type(hidden.regularizers["kernel"]) is regularizers.L1L2
    assert type(hidden.constraints["kernel"]) is constraints.MaxNorm
    assert loaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-12)
    assert [float(t.value) for t in loaded.losses] == pytest.approx([float(t.value) for t in model.losses])


def test_a_plain_layer_config_is_unchanged():
    assert Dense(2).get_config().keys().isdisjoint({"kernel_regularizer", "activity_regularizer"})


class Custom(regularizers.Regularizer):
    def value(self, w):
        return float(np.sum(w))

    def gradient(self, w):
        return np.ones_like(w)


def test_a_custom_regularizer_trains_and_needs_get_config_to_save(tmp_path):
    x, y = _data()
    model = _model(kernel_regularizer=Custom())
    model.compile(optimizers.SGD(0.0), "mse")
    kernel = model.get_layer("hidden").params["kernel"].copy()
    assert model.train_on_batch(x, y) == pytest.approx(float(np.mean((model.predict(x) - y) ** 2)) + kernel.sum())
    lambda_model = _model(kernel_constraint=lambda w: w)  # a plain callable constrains but cannot be saved
    with pytest.raises(TypeError, match="cannot be saved; subclass numnet.constraints.Constraint"):
        lambda_model.save(tmp_path / "m.npz")


@pytest.mark.parametrize("make, error, match", [
    (lambda: Dense(2, kernel_regularizer="l5"), ValueError, "Dense kernel_regularizer: Unknown regularizer"),
    (lambda: Dense(2, kernel_regularizer=object()), TypeError, "Dense kernel_regularizer"),
    (lambda: Dense(2, gamma_regularizer="l2"), TypeError, "unexpected keyword argument 'gamma_regularizer'"),
    (lambda: Dense(2, kernel_constrain="non_neg"), TypeError, "unexpected keyword argument 'kernel_constrain'"),
    (lambda: layers.Dropout(0.5, kernel_regularizer="l2"), TypeError, "unexpected keyword argument"),
    (lambda: layers.LSTM(2, recurrent_constraint="bogus"), ValueError, "Unknown constraint 'bogus'"),
    (lambda: Dense(2, activity_regularizer=1.5), TypeError, "activity_regularizer"),
])
def test_layer_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


class WithRegularizedInner(layers.Layer):
    """A call layer whose tracked Dense has an activity regularizer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Dense(3, activation="tanh", activity_regularizer=regularizers.L2(0.4), name="inner")

    def call(self, x):
        return ops.sum(self.inner(x), axis=-1, keepdims=True)


def test_activity_regularizer_of_a_layer_inside_call():
    x, _ = _data(5)
    y = np.random.default_rng(1).normal(size=(5, 1))
    inputs = numnet.Input((3,))
    layer = WithRegularizedInner()
    model = numnet.Model(inputs, layer(inputs), dtype="float64", seed=0)
    model.compile(optimizers.SGD(0.3), "mse")
    k, b = layer.inner.params["kernel"].copy(), layer.inner.params["bias"].copy()

    def total(k, b):
        h = np.tanh(x @ k + b)
        return np.mean((h.sum(1, keepdims=True) - y) ** 2) + 0.4 * (h ** 2).sum() / 5

    numeric = np.zeros_like(k)
    for j in np.ndindex(k.shape):
        d = np.zeros_like(k)
        d[j] = 1e-6
        numeric[j] = (total(k + d, b) - total(k - d, b)) / 2e-6
    assert model.train_on_batch(x, y) == pytest.approx(total(k, b), rel=1e-12)
    np.testing.assert_allclose((k - layer.inner.params["kernel"]) / 0.3, numeric, rtol=1e-5, atol=1e-9)


def test_the_docs_example_runs():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "regularization.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/regularization.md", "exec"), {})


@pytest.mark.parametrize("make, names", [
    (lambda: layers.DepthwiseConv2D(3, depthwise_regularizer=regularizers.L2(0.1), bias_regularizer=regularizers.L1(0.2),
                                    depthwise_constraint=constraints.NonNeg()),
     ("depthwise_kernel", "bias")),
    (lambda: layers.SeparableConv2D(4, 3, depthwise_regularizer=regularizers.L2(0.1),
                                    pointwise_regularizer=regularizers.L1(0.3), bias_regularizer=regularizers.L1(0.2)),
     ("depthwise_kernel", "pointwise_kernel", "bias")),
    (lambda: layers.Conv2DTranspose(3, 2, kernel_regularizer=regularizers.L2(0.1), bias_regularizer=regularizers.L1(0.2)),
     ("kernel", "bias")),
], ids=["depthwise", "separable", "transpose"])
def test_the_conv_variants_take_their_keras_regularizer_arguments(make, names, tmp_path):
    layer = make()
    inputs = numnet.Input((6, 6, 2))
    model = numnet.Model(inputs, layer(inputs))
    for name in names:
        layer.params[name][...] = np.linspace(-1, 1, layer.params[name].size).reshape(layer.params[name].shape)
    by_formula = {"depthwise_kernel": 0.1 * np.sum(layer.params["depthwise_kernel"] ** 2) if "depthwise_kernel" in names else 0,
                  "kernel": 0.1 * np.sum(layer.params.get("kernel", np.zeros(1)) ** 2),
                  "pointwise_kernel": 0.3 * np.sum(np.abs(layer.params.get("pointwise_kernel", np.zeros(1)))),
                  "bias": 0.2 * np.sum(np.abs(layer.params["bias"]))}
    assert [float(t.value) for t in model.losses] == pytest.approx([by_formula[n] for n in names], rel=1e-6)
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    assert [float(t.value) for t in loaded.losses] == pytest.approx([float(t.value) for t in model.losses])
