"""The graph: a layer call is a node. Shared layers, a layer called twice, nested models,
several outputs, freezing, symbolic tensors, the batch API, and the errors of each.

Gradients are checked two ways: against central differences (check_model, float64) and
against PyTorch autograd (tests/fixtures/make_graph_reference.py)."""

import os

import numpy as np
import pytest

import numnet as nn
from numnet import Add, BatchNormalization, Concatenate, Dense, Dropout, Input, Layer, Model, Sequential
from numnet.gradient_check import check_model
from numnet.graph.plan import GradientPass

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "graph_reference.npz"))
TOL = 1e-6


def _set(layer, prefix):
    layer.set_weights([REF[f"{prefix}_kernel"], REF[f"{prefix}_bias"]])


def _loss_and_gradients(model, x, y):
    """The loss of one training-mode pass and every leaf layer's gradient (fit's path,
    without the optimizer step)."""
    xs, ys, weights = model._batch(x, y, None)
    outputs, run = model._plan.forward(xs, training=True)
    loss, _ = model._compiled.batch_losses(ys, outputs, weights)
    gradient_pass = GradientPass()
    model._plan.backward(run, model._compiled.gradients(ys, outputs, weights), gradient_pass)
    grads = {path: ({k: v.copy() for k, v in layer.grads.items()} if layer._grad_pass is gradient_pass else None)
             for path, layer in model.leaf_layers()}
    return loss, grads


def _assert_grads(grads, layer_path, prefix):
    np.testing.assert_allclose(grads[layer_path]["kernel"], REF[f"{prefix}_kernel"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[layer_path]["bias"], REF[f"{prefix}_bias"], rtol=1e-9, atol=1e-12)


# --- shared layers ------------------------------------------------------------------------------
def _siamese():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, activation="tanh", name="shared")
    head = Dense(2, activation="softmax", name="head")
    model = Model([a, b], head(Concatenate()([shared(a), shared(b)])), dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    _set(shared, "siamese_shared")
    _set(head, "siamese_head")
    return model, shared


def test_a_siamese_network_matches_pytorch_and_finite_differences():
    model, shared = _siamese()
    x, y = [REF["siamese_xa"], REF["siamese_xb"]], REF["siamese_y"]
    loss, grads = _loss_and_gradients(model, x, y)
    assert loss == pytest.approx(float(REF["siamese_loss"]), rel=1e-12)
    _assert_grads(grads, "shared", "siamese_grad_shared")
    _assert_grads(grads, "head", "siamese_grad_head")
    assert check_model(model, x, y).passed(TOL)
    assert model.layers.count(shared) == 1 and len(shared._inbound_nodes) == 2


def test_a_shared_layer_gets_the_sum_of_both_calls_gradients():
    model, shared = _siamese()
    x, y = [REF["siamese_xa"], REF["siamese_xb"]], REF["siamese_y"]
    _, grads = _loss_and_gradients(model, x, y)
    # The same network with two separate layers holding equal weights.
    a, b = Input((4,)), Input((4,))
    first, second = Dense(3, activation="tanh"), Dense(3, activation="tanh")
    head = Dense(2, activation="softmax")
    twin = Model([a, b], head(Concatenate()([first(a), second(b)])), dtype="float64")
    twin.compile("sgd", "sparse_categorical_crossentropy")
    for layer in (first, second):
        _set(layer, "siamese_shared")
    _set(head, "siamese_head")
    _, twin_grads = _loss_and_gradients(twin, x, y)
    total = twin_grads[first.name]["kernel"] + twin_grads[second.name]["kernel"]
    np.testing.assert_allclose(grads["shared"]["kernel"], total, rtol=1e-12)


def test_a_layer_called_twice_in_sequence_matches_pytorch():
    x = Input((3,))
    d, head = Dense(3, activation="tanh", name="d"), Dense(1, name="head")
    model = Model(x, head(d(d(x))), dtype="float64")
    model.compile("sgd", "mse")
    _set(d, "twice_d")
    _set(head, "twice_head")
    loss, grads = _loss_and_gradients(model, REF["twice_x"], REF["twice_y"])
    assert loss == pytest.approx(float(REF["twice_loss"]), rel=1e-12)
    _assert_grads(grads, "d", "twice_grad_d")
    _assert_grads(grads, "head", "twice_grad_head")
    assert check_model(model, REF["twice_x"], REF["twice_y"]).passed(TOL)


class SeedScale(Layer):
    """A seed-style layer: forward keeps ``self.input``, backward reads it."""

    def build(self, input_shape):
        self.add_weight("scale", input_shape, "ones")

    def forward(self, input):
        self.input = input
        return input * self.params["scale"]

    def backward(self, output_error):
        self.grads["scale"] = (output_error * self.input).sum(axis=0)
        return output_error * self.params["scale"]


def test_a_seed_style_layer_called_twice_is_exact():
    """numnet gives each call of a shared layer its own cache (the attributes its forward
    assigned), so a seed-style layer is correct when shared."""
    x = Input((3,))
    scale = SeedScale()
    model = Model(x, Dense(1, seed=0)(scale(nn.Activation("tanh")(scale(x)))), dtype="float64")
    model.compile("sgd", "mse")
    scale.params["scale"][...] = [0.5, -1.5, 2.0]
    rng = np.random.default_rng(0)
    assert check_model(model, rng.normal(size=(5, 3)), rng.normal(size=(5, 1))).passed(TOL)


def test_dropout_shared_between_two_calls_draws_two_masks_and_backpropagates_each():
    x = Input((50,))
    drop = Dropout(0.5, seed=3)
    model = Model(x, Concatenate()([drop(x), drop(x)]), dtype="float64")
    model.compile("sgd", "mse")
    ones = np.ones((2, 50))
    out = model.forward(ones, training=True)
    assert not np.array_equal(out[:, :50], out[:, 50:])  # two calls, two masks
    dx = model.backward(np.ones_like(out))
    np.testing.assert_array_equal(dx, out[:, :50] + out[:, 50:])  # each call's own mask


# --- nested models --------------------------------------------------------------------------------
def test_a_nested_model_called_on_two_inputs_matches_pytorch():
    inner_x = Input((4,))
    enc = Dense(3, activation="relu", name="enc_dense")
    encoder = Model(inner_x, enc(inner_x), name="encoder")
    a, b = Input((4,)), Input((4,))
    head = Dense(1, name="head")
    model = Model([a, b], head(Add()([encoder(a), encoder(b)])), dtype="float64")
    model.compile("sgd", "mse")
    _set(enc, "nested_enc")
    _set(head, "nested_head")
    x, y = [REF["nested_xa"], REF["nested_xb"]], REF["nested_y"]
    loss, grads = _loss_and_gradients(model, x, y)
    assert loss == pytest.approx(float(REF["nested_loss"]), rel=1e-12)
    _assert_grads(grads, "encoder/enc_dense", "nested_grad_enc")
    _assert_grads(grads, "head", "nested_grad_head")
    assert check_model(model, x, y).passed(TOL)
    assert [p for p, layer in model.leaf_layers() if layer.params] == ["encoder/enc_dense", "head"]
    assert model.get_layer("encoder") is encoder and encoder.get_weights()[0] is not enc.params["kernel"]
    np.testing.assert_array_equal(encoder.get_weights()[0], model.get_weights()[0])  # shared, not copied


def test_models_nest_to_any_depth_and_sit_in_a_sequential():
    x = Input((4,))
    level1 = Model(x, Dense(4, activation="tanh", seed=1)(x), name="level1")
    y = Input((4,))
    level2 = Model(y, Dense(4, seed=2)(level1(y)), name="level2")
    stack = Sequential([Input((4,)), level2, Dense(2, activation="softmax", seed=3)], dtype="float64")
    stack.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(8, 4)), rng.integers(0, 2, 8)
    assert check_model(stack, xs, ys).passed(TOL)
    paths = [p for p, _ in stack.leaf_layers()]
    assert paths[0].startswith("level2/level1/") and paths[1].startswith("level2/") and "/" not in paths[2]
    before = level1.get_weights()
    stack.fit(xs, ys, epochs=2, verbose=0)
    assert not np.array_equal(level1.get_weights()[0], before[0])  # the inner model's weights trained
    np.testing.assert_allclose(stack.predict(xs), stack(xs), rtol=1e-12)


def test_a_model_called_on_arrays_in_either_mode():
    x = Input((3,))
    model = Model(x, Dropout(0.5, seed=0)(Dense(4, seed=1)(x)))
    data = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model(data), model.predict(data))
    assert (model(data, training=True) == 0).any()  # dropout on in training mode


# --- several outputs --------------------------------------------------------------------------------
def _two_outputs(kind="dict"):
    x = Input((4,), name="x")
    h = Dense(5, activation="relu", name="h")(x)
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    outputs = {"cls": cls, "reg": reg} if kind == "dict" else [cls, reg]
    model = Model(x, outputs, dtype="float64")
    for name in ("h", "cls", "reg"):
        _set(model.get_layer(name), f"two_{name}")
    return model


def test_two_outputs_with_loss_weights_match_pytorch():
    model = _two_outputs()
    model.compile("sgd", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    y = {"cls": REF["two_ycls"], "reg": REF["two_yreg"]}
    loss, grads = _loss_and_gradients(model, REF["two_x"], y)
    assert loss == pytest.approx(float(REF["two_loss"]), rel=1e-12)
    for name in ("h", "cls", "reg"):
        _assert_grads(grads, name, f"two_grad_{name}")
    assert check_model(model, REF["two_x"], y).passed(TOL)
    logs = model.evaluate(REF["two_x"], y, return_dict=True)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "cls_accuracy"]
    assert logs["cls_loss"] == pytest.approx(float(REF["two_ce"]), rel=1e-12)
    assert logs["reg_loss"] == pytest.approx(float(REF["two_mse"]), rel=1e-12)
    assert logs["loss"] == pytest.approx(float(REF["two_loss"]), rel=1e-12)


def test_several_outputs_take_lists_and_give_back_their_structure():
    model = _two_outputs("list")
    model.compile("adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], []])
    x, y = REF["two_x"], [REF["two_ycls"], REF["two_yreg"]]
    history = model.fit(x, y, epochs=2, batch_size=4, validation_data=(x, y), verbose=0)
    assert list(history.history) == ["loss", "cls_loss", "reg_loss", "cls_accuracy",
                                     "val_loss", "val_cls_loss", "val_reg_loss", "val_cls_accuracy"]
    out = model.predict(x)
    assert isinstance(out, list) and [o.shape for o in out] == [(7, 3), (7, 1)]
    assert {k: v.shape for k, v in _two_outputs().predict(x).items()} == {"cls": (7, 3), "reg": (7, 1)}
    one_loss = _two_outputs("list")
    one_loss.compile("sgd", loss="mse")  # one loss for every output
    assert one_loss._compiled.outputs[1].loss.name == "mse" and one_loss._compiled.outputs[0].loss.name == "mse"


@pytest.mark.parametrize("bad, message", [
    ({"cls": np.zeros(7)}, r"missing \['reg'\]"),
    ({"cls": np.zeros(7), "reg": np.zeros((7, 1)), "other": np.zeros(7)}, r"unknown \['other'\]"),
    ([np.zeros(7)], "list of 2 arrays"),
    ({"cls": np.zeros(7), "reg": np.zeros((7, 2))}, r"y\['reg'\] has shape \(7, 2\), but output 'reg' is"),
    ({"cls": np.full(7, 5), "reg": np.zeros((7, 1))}, r"output 'cls' has 3 classes"),
])
def test_targets_that_do_not_match_the_outputs_are_refused_before_any_change(bad, message):
    model = _two_outputs()
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    before = model.get_weights()
    for call in (lambda: model.fit(REF["two_x"], bad, verbose=0), lambda: model.train_on_batch(REF["two_x"], bad),
                 lambda: model.evaluate(REF["two_x"], bad)):
        with pytest.raises(ValueError, match=message):
            call()
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


def test_compile_structures_are_checked():
    model = _two_outputs()
    with pytest.raises(ValueError, match="not outputs of the model"):
        model.compile("adam", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="list of 3 but the model has 2 outputs"):
        model.compile("adam", loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match="list of 2 lists"):
        model.compile("adam", loss="mse", metrics=["accuracy"])
    with pytest.raises(ValueError, match="first argument is the optimizer"):
        model.compile("mse", "adam")


# --- freezing -------------------------------------------------------------------------------------------
def test_a_frozen_sub_model_gets_no_update_and_matches_pytorch():
    bx = Input((4,))
    base_dense = Dense(4, activation="tanh", name="base_dense")
    base = Model(bx, base_dense(bx), name="base")
    x = Input((4,))
    head = Dense(1, name="head")
    model = Model(x, head(base(x)), dtype="float64")
    _set(base_dense, "frozen_base")
    _set(head, "frozen_head")
    base.trainable = False
    assert not base_dense.trainable and base.trainable_weights == [] and len(base.non_trainable_weights) == 2
    model.compile("sgd", "mse")
    loss, grads = _loss_and_gradients(model, REF["frozen_x"], REF["frozen_y"])
    assert loss == pytest.approx(float(REF["frozen_loss"]), rel=1e-12)
    _assert_grads(grads, "head", "frozen_grad_head")
    before = base.get_weights()
    model.fit(REF["frozen_x"], REF["frozen_y"], epochs=3, batch_size=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in model.trainable_weights] == [(4, 1), (1,)]
    # Unfreeze and compile again: the base trains too.
    base.trainable = True
    model.compile("sgd", "mse")
    model.fit(REF["frozen_x"], REF["frozen_y"], epochs=1, verbose=0)
    assert not np.array_equal(before[0], base.get_weights()[0])


def test_a_frozen_batch_normalization_runs_in_inference_mode():
    bx = Input((3,))
    bn = BatchNormalization()
    base = Model(bx, bn(bx))
    base.trainable = False
    x = Input((3,))
    model = Model(x, Dense(1)(base(x)))
    model.compile("sgd", "mse")
    moving = [b.copy() for b in bn.buffers.values()]
    data = np.random.default_rng(0).normal(5.0, 2.0, size=(16, 3)).astype(np.float32)
    model.fit(data, np.zeros((16, 1)), epochs=2, verbose=0)
    for a, b in zip(moving, bn.buffers.values()):
        np.testing.assert_array_equal(a, b)  # statistics untouched: inference mode
    np.testing.assert_allclose(base.predict(data), base(data, training=True))


def test_a_call_with_training_false_stays_in_inference_mode():
    bx = Input((3,))
    bn = BatchNormalization()
    base = Model(bx, bn(bx))
    x = Input((3,))
    model = Model(x, Dense(1)(base(x, training=False)))  # the fine-tuning recipe
    model.compile("sgd", "mse")
    moving = [b.copy() for b in bn.buffers.values()]
    model.fit(np.random.default_rng(0).normal(size=(8, 3)), np.zeros((8, 1)), epochs=1, verbose=0)
    for a, b in zip(moving, bn.buffers.values()):
        np.testing.assert_array_equal(a, b)
    assert bn.trainable and len(model.trainable_weights) == 4  # BN's gamma and beta still train


# --- symbolic tensors ------------------------------------------------------------------------------------------
def test_layer_and_model_inputs_and_outputs_are_symbolic():
    x = Input((4,), name="features")
    hidden = Dense(5, name="hidden")
    h = hidden(x)
    model = Model(x, Dense(2, name="out")(h))
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 4)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(data, np.zeros((3, 2)), verbose=0)
    assert hidden.output is h and hidden.input is x and model.input is x
    assert model.inputs == [x] and model.output.shape == (None, 2) and h.shape == (None, 5)
    features = Model(model.input, model.get_layer("hidden").output)
    np.testing.assert_allclose(features.predict(data), data @ hidden.params["kernel"] + hidden.params["bias"],
                               rtol=1e-6)
    assert features.get_layer("hidden") is hidden  # the weights are shared
    assert model.get_layer(index=0) is hidden
    with pytest.raises(ValueError, match="exactly one of"):
        model.get_layer()
    hidden(Input((4,)))
    with pytest.raises(AttributeError, match="called 2 times"):
        hidden.output


def test_a_second_call_with_another_shape_names_the_layer_and_both_shapes():
    layer = Dense(3, name="proj")
    layer(Input((4,)))
    before = layer.get_weights()
    with pytest.raises(ValueError, match=r"'proj' was built for inputs of shape \(None, 4\) but is now called on "
                                         r"\(None, 6\)"):
        layer(Input((6,)))
    assert len(layer._inbound_nodes) == 1
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_inputs_may_be_given_by_name():
    a, b = Input((2,), name="left"), Input((3,), name="right")
    model = Model({"left": a, "right": b}, Dense(1, seed=0)(Concatenate()([a, b])))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    np.testing.assert_allclose(model.predict({"right": xb, "left": xa}), model.predict([xa, xb]))
    model.fit({"left": xa, "right": xb}, np.zeros((5, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"missing \['right'\]"):
        model.predict({"left": xa})
    with pytest.raises(ValueError, match="2 input"):
        model.forward(xa)  # one array for a two-input model: refused, not run on its rows


def test_a_deep_sequential_builds_and_runs_without_recursion():
    model = Sequential([Input((4,)), *[Dense(4) for _ in range(1500)]])
    assert len(model.layers) == 1500
    assert model.predict(np.ones((2, 4))).shape == (2, 4)


def test_summary_shows_each_call_and_nested_models():
    inner_x = Input((4,))
    encoder = Model(inner_x, Dense(3, name="enc")(inner_x), name="encoder")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    model = Model([a, b], Add(name="sum")([encoder(a), encoder(b)]))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert text.count("encoder (Model)") == 2 and "enc (Dense)" not in text
    assert "sum (Add)" in text and "Total params: 15" in text
    calls = [line for line in text.splitlines() if line.startswith("sum")][0]
    assert "encoder[0], encoder[1]" in calls  # the two calls of the nested model
    lines = []
    model.summary(print_fn=lines.append, expand_nested=True)
    assert "  enc (Dense)" in "\n".join(lines)


# --- the batch API --------------------------------------------------------------------------------------------
def test_the_batch_api_returns_what_keras_returns():
    x = Input((4,))
    model = Model(x, Dense(3, activation="softmax", seed=0)(x))
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    data, labels = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    loss = model.train_on_batch(data, labels)
    assert isinstance(loss, float) and model.optimizer.iterations == 1
    assert model.test_on_batch(data, labels) == pytest.approx(model.evaluate(data, labels), rel=1e-6)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.train_on_batch(data, labels)
    assert 0 <= accuracy <= 1
    logs = model.test_on_batch(data, labels, return_dict=True)
    assert list(logs) == ["loss", "accuracy"]
    np.testing.assert_allclose(model.predict_on_batch(data), model.predict(data), rtol=1e-6)
    loss, accuracy = model.evaluate(data, labels)
    assert logs["loss"] == pytest.approx(loss, rel=1e-6)


def test_train_on_batch_with_a_non_finite_loss_changes_nothing():
    x = Input((2,))
    model = Model(x, Dense(1, seed=0)(x))
    model.compile("sgd", "mse")
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match="weights are unchanged"):
        model.train_on_batch(np.array([[1e30, 1e30]], np.float32), np.array([[1e30]], np.float32))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_step_is_the_seam_fit_drives():
    class Counting(Model):
        steps = 0

        def train_step(self, data):
            Counting.steps += 1
            return super().train_step(data)

    x = Input((2,))
    model = Counting(x, Dense(1)(x))
    model.compile("sgd", "mse")
    model.fit(np.ones((10, 2)), np.zeros((10, 1)), batch_size=4, epochs=2, verbose=0)
    assert Counting.steps == 6 and model.optimizer.iterations == 6


def test_sequential_pop_and_add_rebuild_the_graph_without_stale_calls():
    first, second, third = Dense(4, name="first"), Dense(3, name="second"), Dense(2, name="third")
    model = Sequential([Input((5,)), first, second])
    assert model.pop() is second and model.output_shape == (4,)
    assert second._inbound_nodes == [] and len(first._inbound_nodes) == 1  # no stale call left behind
    model.add(third)
    assert [l.name for l in model.layers] == ["first", "third"] and model.predict(np.ones((2, 5))).shape == (2, 2)
    with pytest.raises(ValueError, match="no layers"):
        Sequential().pop()


def test_sample_weight_per_output():
    model = _two_outputs()
    model.compile("sgd", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    y = {"cls": REF["two_ycls"], "reg": REF["two_yreg"]}
    zero_reg = {"cls": np.ones(7), "reg": np.zeros(7)}
    logs = model.evaluate(REF["two_x"], y, sample_weight=zero_reg, return_dict=True)
    assert logs["reg_loss"] == 0.0 and logs["cls_loss"] == pytest.approx(float(REF["two_ce"]), rel=1e-12)
    with pytest.raises(ValueError, match=r"sample_weight\['reg'\] must have shape \(7,\)"):
        model.evaluate(REF["two_x"], y, sample_weight={"cls": np.ones(7), "reg": np.ones(3)})
