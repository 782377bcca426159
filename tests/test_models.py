"""Model graphs and Sequential: the functional API, whole-model gradient checks for every
output-activation / loss pairing, the fused cross-entropy path, summary and weights."""

import numpy as np
import pytest

import numnet as nn
from numnet import Activation, Add, Concatenate, Dense, Input, Model, Sequential
from numnet.gradient_check import check_model
from numnet.losses import Loss

TOL = 1e-6


def _x(n=12, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _labels(n=12, k=3, seed=1):
    return np.random.default_rng(seed).integers(0, k, size=n)


def _onehot(labels, k=3):
    return np.eye(k)[labels]


# --- graph shapes -------------------------------------------------------------------------
def _branching_model():
    """One hidden layer feeds two layers; their errors must be summed on the way back."""
    x = Input((4,))
    h = Dense(5, activation="tanh", seed=1)(x)
    a = Dense(3, activation="tanh", seed=2)(h)
    b = Dense(2, activation="sigmoid", seed=3)(h)
    out = Dense(3, activation="softmax", seed=4)(Concatenate()([a, b]))
    return Model(x, out, dtype="float64"), h.node.layer


def _residual_model():
    x = Input((4,))
    h = Dense(6, activation="tanh", seed=1)(x)
    r = Dense(6, activation="tanh", seed=2)(h)
    s = Add()([h, r])
    out = Dense(3, activation="softmax", seed=3)(s)
    return Model(x, out, dtype="float64")


def _multi_branch_model():
    x = Input((4,))
    branches = [Dense(k, activation=act, seed=k)(x) for k, act in ((2, "relu"), (3, "tanh"), (4, "sigmoid"))]
    out = Dense(3, activation="softmax", seed=9)(Concatenate()(branches))
    return Model(x, out, dtype="float64")


def _multi_input_model():
    a, b = Input((4,)), Input((2,))
    ha = Dense(3, activation="tanh", seed=1)(a)
    hb = Dense(3, activation="tanh", seed=2)(b)
    merged = Concatenate()([ha, hb])
    out = Dense(3, activation="softmax", seed=3)(Add()([Dense(3, seed=4)(merged), ha]))
    return Model([a, b], out, dtype="float64")


@pytest.mark.parametrize(
    "build", [lambda: _branching_model()[0], _residual_model, _multi_branch_model], ids=["branch", "residual", "concat"]
)
def test_graph_gradients_match_finite_differences(build):
    model = build()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    result = check_model(model, _x(), _labels())
    assert result.passed(TOL), result.errors
    assert len(result.errors) == sum(len(layer.params) for layer in model.layers if layer.trainable)


def test_branching_layer_receives_the_sum_of_both_errors():
    model, shared = _branching_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = _x(), _labels()
    out = model.forward([x])
    model.backward(model._compiled.outputs[0].fused(y, out), skip_output_activation=True)
    total = shared.grads["kernel"].copy()
    # Same backward with one consumer's error silenced: the shared layer's gradient is
    # then only the other branch's contribution; the two contributions add up.
    parts = []
    for silenced in (model.layers[2], model.layers[1]):  # the two consumers of `shared`
        original = silenced.backward
        silenced.backward = lambda error, original=original: original(error) * 0.0
        model.backward(model._compiled.outputs[0].fused(y, model.forward([x])), skip_output_activation=True)
        parts.append(shared.grads["kernel"].copy())
        del silenced.backward
    np.testing.assert_allclose(parts[0] + parts[1], total, rtol=1e-12, atol=1e-15)
    assert not np.allclose(parts[0], total)


def test_multi_input_model_takes_a_list_of_arrays_and_checks_gradients():
    model = _multi_input_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.SGD(0.1))
    xa, xb, y = _x(), _x(d=2, seed=5), _labels()
    result = check_model(model, [xa, xb], y)
    assert result.passed(TOL), result.errors
    history = model.fit([xa, xb], y, epochs=2, batch_size=5, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict([xa, xb]).shape == (12, 3)
    with pytest.raises(ValueError, match="2 inputs .*pass x as a list of 2 arrays"):
        model.predict(xa)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.predict([xa, xb[:5]])


# --- output activation / loss pairings ----------------------------------------------------
LABELS = _labels()
PAIRINGS = {
    # id: (activation, units, loss, y, fused?)
    "softmax+sparse_cce": ("softmax", 3, "sparse_categorical_crossentropy", LABELS, True),
    "softmax+cce": ("softmax", 3, "categorical_crossentropy", _onehot(LABELS), True),
    "sigmoid+bce": ("sigmoid", 1, "binary_crossentropy", (LABELS == 1).astype(float), True),
    "sigmoid+bce_multilabel": ("sigmoid", 3, "binary_crossentropy", _onehot(LABELS), True),
    "softmax+mse": ("softmax", 3, "mse", _onehot(LABELS), False),
    "sigmoid+mse": ("sigmoid", 3, "mse", _onehot(LABELS), False),
    "linear+mse": (None, 2, "mse", _x(d=2, seed=7), False),
    "tanh+huber": ("tanh", 2, "huber", _x(d=2, seed=7), False),
    "linear+cce_logits": (None, 3, Loss("categorical_crossentropy", from_logits=True), _onehot(LABELS), False),
    "linear+sparse_logits": (None, 3, Loss("sparse_categorical_crossentropy", from_logits=True), LABELS, False),
    "linear+bce_logits": (None, 1, Loss("binary_crossentropy", from_logits=True), (LABELS == 2).astype(float), False),
}


def _mlp(activation, units, seed=0):
    return Sequential(
        [Input((4,)), Dense(6, activation="tanh", seed=seed + 1), Dense(units, activation=activation, seed=seed + 2)],
        dtype="float64",
    )


@pytest.mark.parametrize("case", PAIRINGS, ids=list(PAIRINGS))
def test_whole_model_gradient_check_for_each_output_and_loss(case):
    activation, units, loss, y, fused = PAIRINGS[case]
    model = _mlp(activation, units)
    model.compile(loss=loss, optimizer="sgd")
    assert (model._compiled.outputs[0].fused is not None) == fused
    result = check_model(model, _x(), y)
    assert result.passed(TOL), result.errors


@pytest.mark.parametrize("case", [k for k, v in PAIRINGS.items() if v[4]])
def test_fused_gradient_equals_the_unfused_chain_rule(case):
    activation, units, loss, y, _ = PAIRINGS[case]
    model = _mlp(activation, units)
    model.compile(loss=loss, optimizer="sgd")
    x = _x()
    y = np.asarray(y, dtype=float).reshape(len(x), -1) if units == 1 else y
    out = model.forward([x], training=True)
    model.backward(model._compiled.outputs[0].fused(y, out), skip_output_activation=True)
    fused = [g.copy() for layer in model.layers for g in layer.grads.values()]
    model.forward([x], training=True)
    model.backward(model.loss.derivative(y, out))  # through the activation's own Jacobian
    chain = [g.copy() for layer in model.layers for g in layer.grads.values()]
    for a, b in zip(fused, chain):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


def test_fused_softmax_gradient_equals_from_logits_on_a_linear_output():
    x, y = _x(), LABELS
    soft = _mlp("softmax", 3)
    soft.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    logits = _mlp(None, 3)
    logits.set_weights(soft.get_weights())
    logits.compile(loss=Loss("sparse_categorical_crossentropy", from_logits=True), optimizer="sgd")
    for model in (soft, logits):
        model.backward(
            model._compiled.outputs[0].fused(y, model.forward([x])) if model._compiled.outputs[0].fused else model.loss.derivative(y, model.forward([x])),
            skip_output_activation=model._compiled.outputs[0].fused is not None,
        )
    for a, b in zip(soft.layers, logits.layers):
        for key in a.grads:
            np.testing.assert_allclose(a.grads[key], b.grads[key], rtol=1e-10, atol=1e-14)


def test_separate_softmax_activation_layer_is_fused_too():
    model = Sequential([Input((4,)), Dense(3, seed=1), Activation("softmax")], dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    assert model._compiled.outputs[0].fused is not None
    assert check_model(model, _x(), LABELS).passed(TOL)


@pytest.mark.parametrize("activation, loss", [
    ("softmax", "categorical_crossentropy"),
    ("softmax", "sparse_categorical_crossentropy"),
    ("sigmoid", "binary_crossentropy"),
])
def test_from_logits_with_a_squashing_output_is_refused(activation, loss):
    model = _mlp(activation, 3)
    with pytest.raises(ValueError, match=rf"already applies {activation}.*applied twice"):
        model.compile(loss=Loss(loss, from_logits=True), optimizer="adam")


# --- summary, weights, Sequential ---------------------------------------------------------
def test_summary_lists_layers_shapes_and_totals():
    model = Sequential([Input((4,), name="features"), Dense(8, activation="relu", name="hidden"),
                        Dense(3, activation="softmax", name="scores")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for expected in ("features (InputLayer)", "hidden (Dense)", "scores (Dense)", "(None, 4)", "(None, 8)", "(None, 3)",
                     "Total params: 67", "Trainable params: 67", "Non-trainable params: 0"):
        assert expected in text
    hidden_row = next(line for line in text.splitlines() if line.startswith("hidden"))
    assert "40" in hidden_row.split()  # 4 * 8 + 8
    assert model.count_params() == 67


def test_summary_counts_frozen_layers_as_non_trainable():
    frozen = Dense(8, trainable=False, name="frozen")
    model = Sequential([Input((4,)), frozen, Dense(2, name="head")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 58" in text and "Trainable params: 18" in text and "Non-trainable params: 40" in text


def test_get_and_set_weights_round_trip():
    a, b = _mlp("softmax", 3, seed=0), _mlp("softmax", 3, seed=10)
    x = _x()
    assert not np.allclose(a.predict(x), b.predict(x))
    weights = a.get_weights()
    assert [w.shape for w in weights] == [(4, 6), (6,), (6, 3), (3,)]
    b.set_weights(weights)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    weights[0][...] = 0  # get_weights returns copies
    assert not np.all(a.get_weights()[0] == 0)
    with pytest.raises(ValueError, match="expects 4 weight arrays, got 3"):
        b.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"has shape \(4, 6\).*\(6, 4\)"):
        b.set_weights([weights[0].T] + weights[1:])


def test_model_layers_excludes_inputs_and_follows_the_graph_order():
    model = _residual_model()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Add", "Dense"]
    assert model.get_layer(model.layers[2].name) is model.layers[2]
    with pytest.raises(ValueError, match="No layer named"):
        model.get_layer("nope")


def test_sequential_without_input_builds_from_the_first_data():
    nn.set_seed(0)
    model = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")])
    assert not model.built
    with pytest.raises(RuntimeError, match="input shape is unknown"):
        model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics="accuracy")
    model.fit(_x(n=20, d=5), _labels(n=20), epochs=1, verbose=0)
    assert model.built and model.input_shape == (5,) and model.output_shape == (3,)
    assert [w.shape for w in model.get_weights()] == [(5, 8), (8,), (8, 3), (3,)]
    assert "accuracy" in model.history.history


def test_sequential_predict_builds_an_uncompiled_lazy_stack():
    model = Sequential([Dense(2)], dtype="float64")
    out = model.predict(_x(n=3, d=7))
    assert out.shape == (3, 2) and out.dtype == np.float64


def test_sequential_add_grows_the_stack():
    model = Sequential(dtype="float64")
    model.add(Input((4,)))
    model.add(Dense(5, activation="tanh"))
    assert model.output_shape == (5,)
    model.add(Dense(2))
    assert model.output_shape == (2,) and len(model.layers) == 2
    model.compile(loss="mse", optimizer="sgd")
    assert model.predict(_x()).shape == (12, 2)
    with pytest.raises(ValueError, match="Input can only be the first layer"):
        model.add(Input((4,)))
    with pytest.raises(TypeError, match="expects a numnet layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="already in this Sequential model"):
        model.add(model.layers[0])


def test_adding_a_layer_after_compile_requires_compiling_again():
    model = Sequential([Input((4,)), Dense(3)])
    model.compile(loss="mse", optimizer="sgd")
    model.add(Dense(2))
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(_x(), np.zeros((12, 2)), verbose=0)


def test_graph_errors_are_explained():
    x = Input((4,))
    stray = Input((4,))
    h = Dense(3)(x)
    with pytest.raises(ValueError, match="not among the model's inputs"):
        Model(stray, Add()([h, Dense(3)(stray)]))
    with pytest.raises(ValueError, match="do not lead to any output"):
        Model([x, Input((2,))], h)
    with pytest.raises(TypeError, match="numnet.Input"):
        Model(h, Dense(2)(h))
    with pytest.raises(ValueError, match="dtype must be one of"):
        Model(x, h, dtype="float16")


def test_several_unnamed_activation_layers_fit_in_one_model():
    model = Sequential([Input((4,)), Dense(5), Activation("relu"), Dense(5), Activation("relu"), Dense(3),
                        Activation("softmax")], dtype="float64")
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    assert model._compiled.outputs[0].fused is not None
    assert check_model(model, _x(), LABELS).passed(TOL)


def test_a_custom_layer_that_forgets_a_gradient_gets_a_clear_error():
    class Forgetful(nn.Layer):
        def build(self, input_shape):
            self.add_weight("scale", (input_shape[-1],), "ones")

        def forward(self, input):
            self.input = input
            return input * self.params["scale"]

        def backward(self, output_error):
            return output_error * self.params["scale"]  # never stores grads["scale"]

    inputs = Input((3,))
    model = Model(inputs, Dense(2)(Forgetful()(inputs)))
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(RuntimeError, match=r"backward must store grads\['scale'\]"):
        model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)


def test_first_layer_may_carry_the_input_shape_as_in_keras_2():
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(2)])
    assert model.input_shape == (4,) and model.output_shape == (2,)
    assert model.layers[0].params["kernel"].shape == (4, 8)
    with pytest.raises(ValueError, match="positive integers"):
        Sequential([Dense(8, input_shape=(0,))])
