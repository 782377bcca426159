"""Layers written with call() (numnet.layers.custom) and numnet.ops on symbolic tensors
(numnet.layers.op_layer): gradients, training, tracked layers, saving, export, errors."""

import numpy as np
import pytest

import numnet
from numnet import ops
from numnet.gradient_check import check_layer, check_model
from numnet.layers import Dense, Dropout
from numnet.layers.custom import LayerVariable

RNG = np.random.default_rng(11)


@numnet.register_layer(name="TestOpsDense")
class OpsDense(numnet.Layer):
    """Dense written with numnet.ops: activation(x W + b)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation_name = activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x, training=False):
        y = ops.matmul(x, self.kernel) + self.bias
        return ops.relu(y) if self.activation_name == "relu" else y

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}


@numnet.register_layer(name="TestBlock")
class Block(numnet.Layer):
    """Tracked layers: a built-in Dense, a call layer, a Dropout and a list of Dense."""

    def __init__(self, units=6, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = Dense(units, activation="tanh")
        self.ops_dense = OpsDense(units)
        self.drop = Dropout(0.5, seed=3)
        self.heads = [Dense(2), Dense(2)]

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(1,), initializer="ones", name="scale")

    def call(self, x, training=False):
        h = self.ops_dense(self.inner(x)) * self.scale
        h = self.drop(h, training=training)
        return ops.concatenate([head(h) for head in self.heads], axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _x(n=6, d=4):
    return RNG.standard_normal((n, d))


# --- gradients ----------------------------------------------------------------------------------
def test_call_layer_gradient_check():
    result = check_layer(OpsDense(3, activation="relu"), _x())
    assert result.passed(1e-6), result.errors
    assert set(result.errors) == {"param:kernel", "param:bias", "input:0"}


def test_tracked_layers_gradient_check_by_path():
    block = Block()
    result = check_layer(block, _x())  # inference: the tracked Dropout passes its input through
    assert result.passed(1e-6), result.errors
    assert set(result.errors) == {"param:scale", "param:inner/kernel", "param:inner/bias", "param:ops_dense/kernel",
                                  "param:ops_dense/bias", "param:heads/0/kernel", "param:heads/0/bias",
                                  "param:heads/1/kernel", "param:heads/1/bias", "input:0"}


def test_shared_call_layer_in_a_graph_keeps_its_calls_apart():
    x = numnet.Input((4,))
    shared = OpsDense(4)  # linear: no kink of relu at a zero pre-activation to upset the differences
    y = Dense(1, activation="tanh")(shared(ops.tanh(shared(x))))  # the same layer twice: two caches, summed
    model = numnet.Model(x, y, dtype="float64")
    model.compile("sgd", "mse")
    result = check_model(model, _x(8), RNG.standard_normal((8, 1)))
    assert result.passed(1e-6), result.errors


def test_call_layer_output_equals_its_formula():
    layer = OpsDense(3, activation="relu", dtype="float64")
    x = _x()
    out = layer(x)
    expected = np.maximum(x @ layer.params["kernel"] + layer.params["bias"], 0)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert isinstance(out, np.ndarray)


# --- training, weights as Variables ---------------------------------------------------------------
def test_call_layer_trains_in_fit_and_reads_the_flat_buffer():
    x = _x(128)
    y = x @ np.array([[1.0], [-2.0], [0.5], [1.5]])
    inputs = numnet.Input((4,))
    layer = OpsDense(1)
    model = numnet.Model(inputs, layer(inputs), seed=0)
    model.compile(numnet.optimizers.Adam(0.05), "mse")
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    # The Variable reads the array the model trains: a view into the flat parameter buffer.
    assert isinstance(layer.kernel, LayerVariable)
    assert layer.kernel.value is layer.params["kernel"]
    assert np.shares_memory(layer.kernel.value, model.flat_parameters().params)
    np.testing.assert_allclose(layer.kernel.numpy().ravel(), [1.0, -2.0, 0.5, 1.5], atol=0.05)


class TwiceKernel(numnet.Layer):
    """x W + (x W) W^T W: the kernel read by three matmuls (no in-place gradient for it)."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="glorot_uniform",
                                      name="kernel")

    def call(self, x):
        h = ops.matmul(x, self.kernel)
        return h + ops.matmul(ops.matmul(h, ops.transpose(self.kernel)), self.kernel)


@pytest.mark.parametrize("make", [lambda: OpsDense(3), TwiceKernel], ids=["one-read", "three-reads"])
def test_call_layer_gradients_in_the_flat_buffer_equal_a_fresh_backward(make):
    """From the second step on, a kernel read by one matmul gets its gradient written
    straight into the model's flat gradient buffer (no copy); one read several times does
    not. Either way the step's gradient equals that of a fresh, unbuffered backward."""
    x = _x(16, 3)
    y = RNG.standard_normal((16, 3))
    inputs = numnet.Input((3,))
    layer = make()
    model = numnet.Model(inputs, layer(inputs), seed=0)
    model.compile(numnet.optimizers.SGD(0.01), "mse")
    for _ in range(3):
        model.train_on_batch(x, y)
    flat = model.flat_parameters()
    offered = layer.grad_targets["kernel"]
    assert np.shares_memory(offered, flat.grads)
    in_buffer = layer.grads["kernel"].copy()
    # The layer's own backward (what a step runs before gather): the single matmul wrote
    # into the offered slot; the kernel read three times got a new array.
    layer.forward(x.astype(np.float32), training=True)
    layer.backward(np.ones((16, 3), np.float32))
    assert (layer.grads["kernel"] is offered) == (make is not TwiceKernel)
    # The same batch through a fresh twin (no buffer offered) gives the same gradient.
    twin = make()
    twin.build((3,))
    twin.set_weights([w for w in layer.get_weights()])
    model_params_before = [w.copy() for w in layer.get_weights()]
    model.train_on_batch(x, y)
    expected_in_buffer = layer.grads["kernel"].copy()
    out = twin.forward(x, training=True)
    twin.backward(2 * (out - y) / y.size)
    np.testing.assert_allclose(expected_in_buffer, twin.grads["kernel"], rtol=1e-5, atol=1e-6)
    assert in_buffer.shape == expected_in_buffer.shape
    assert not np.array_equal(model_params_before[0], layer.get_weights()[0])


@pytest.mark.parametrize("make", [lambda: OpsDense(3), lambda: Dense(3)], ids=["call-layer", "built-in"])
def test_a_layer_built_by_hand_is_built_and_keeps_its_weights(make):
    """``layer.build(shape)`` called by hand, as Keras users do, builds the layer as its
    first call would: the weights set afterwards are the ones the call uses."""
    layer = make()
    layer.build((3,))
    assert layer.built and layer.input_shape == (3,) and layer.output_shape == (3,)
    kernel = np.arange(9.0).reshape(3, 3) / 10
    layer.set_weights([kernel, np.ones(3)])
    x = _x(4, 3)
    np.testing.assert_allclose(layer.forward(x), x @ kernel + 1, rtol=1e-6)


def test_frozen_tracked_layer_shows_as_buffers_and_does_not_train():
    block = Block()
    block.inner.trainable = False
    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, block(inputs), seed=1)
    assert "inner/kernel" in block.buffers and "inner/kernel" not in block.params
    frozen = block.inner.get_weights()
    model.compile("adam", "mse")
    model.fit(_x(32), RNG.standard_normal((32, 4)), epochs=2, verbose=0)
    for before, after in zip(frozen, block.inner.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(block.heads[0].get_weights()[0], 0)


class LateChild(numnet.Layer):
    """Reads its own weights, then starts tracking a layer (the cached dicts must follow)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen_before = dict(self.params)  # read while tracking nothing: cached as a plain dict
        self.child = Dense(2)

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(1,), initializer="ones", name="gain")

    def call(self, x):
        return self.child(x) * self.gain


def test_weight_dicts_follow_tracking_changes_and_assignments():
    layer = LateChild()
    assert layer.seen_before == {}
    layer.build_for((3,))
    assert sorted(layer.params) == ["child/bias", "child/kernel", "gain"]  # the child's, by path
    layer.child = Dense(4)  # rebinding a tracked attribute: the new (unbuilt) child, not the old one
    assert sorted(layer.params) == ["gain"]
    plain = OpsDense(2)
    plain.build_for((3,))
    own = plain.params
    assert type(own) is dict and plain.__dict__["params"] is own  # untracked: a plain attribute
    kernel = np.ones((3, 2), np.float32)
    plain.params = {"kernel": kernel, "bias": np.zeros(2, np.float32)}  # assigned: a copy becomes its own dict
    assert plain.params is not own and plain.params["kernel"] is kernel
    np.testing.assert_array_equal(plain.kernel.numpy(), kernel)  # the Variable reads the new array
    block = Block()
    block.build_for((4,))
    block.inner.grads["kernel"] = np.ones((4, 6))
    assert block.grads["inner/kernel"].shape == (4, 6)  # seen through the view, by path
    block.grads = {}  # clears the tracked layers' gradients too
    assert dict(block.grads) == {} and block.inner.grads == {}


class Lookup(numnet.Layer):
    """Rows of a table picked by integer ids: the ids get no gradient, the table a scatter-add."""

    def build(self, input_shape):
        self.table = self.add_weight(shape=(5, 3), initializer="glorot_uniform", name="table")

    def call(self, ids):  # the cast: shape inference runs call on float dummies
        return ops.take(self.table, ops.cast(ids, "int32"), axis=0) * 2.0


def test_call_layer_on_integer_inputs_gives_them_zero_error_and_its_table_the_scatter_add():
    layer = Lookup()
    ids = np.array([[0, 2], [2, 4]])
    layer.build_for((2,))
    for step in range(2):  # the second step watches the table from the start of the call
        out = layer.forward(ids, training=True)
        np.testing.assert_allclose(out, 2.0 * layer.table.numpy()[ids])
        d_ids = layer.backward(np.ones((2, 2, 3), np.float32))
        assert d_ids.shape == ids.shape and not d_ids.any()
        expected = np.zeros((5, 3))
        np.add.at(expected, ids.ravel(), 2.0)  # id 2 is used twice: its row gets 4
        np.testing.assert_array_equal(layer.grads["table"], expected)


class IdLookup(numnet.Layer):
    """Lookup without a cast: it relies on its symbolic input being integer."""

    def build(self, input_shape):
        self.table = self.add_weight(shape=(5, 3), initializer="glorot_uniform", name="table")

    def call(self, ids):
        return ops.take(self.table, ids, axis=0) * 2.0


def test_call_layer_on_an_integer_input_builds_trains_and_predicts_on_ids():
    numnet.set_seed(0)
    ids = numnet.Input((2,), dtype="int32")
    lookup = IdLookup()
    looked_up = lookup(ids)  # the shape inference runs call on integer dummies
    assert looked_up.shape == (None, 2, 3)
    model = numnet.Model(ids, numnet.Dense(1)(numnet.layers.Flatten()(looked_up)))
    model.compile(loss="mse", optimizer="sgd")
    x = np.array([[0, 2], [4, 0], [2, 2], [4, 4]])  # rows 1 and 3 are never used
    before = lookup.table.numpy().copy()
    model.fit(x, np.ones((4, 1)), epochs=2, batch_size=2, verbose=0)
    after = lookup.table.numpy()
    np.testing.assert_array_equal(after[[1, 3]], before[[1, 3]])
    assert np.all(after[[0, 2, 4]] != before[[0, 2, 4]])
    dense = model.layers[-1]
    expected = (2.0 * after[x]).reshape(4, -1) @ dense.params["kernel"] + dense.params["bias"]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)


def test_add_weight_signatures():
    class Both(numnet.Layer):
        def build(self, input_shape):
            self.a = self.add_weight("a", (2, 3))  # numnet's order: zeros by default
            self.b = self.add_weight(shape=(2, 3))  # Keras's: glorot_uniform, auto name
            self.c = self.add_weight((3,), "ones", name="c", trainable=False)  # Keras's positional shape
            self.d = self.add_weight(shape=(2,))

        def call(self, x):
            return x

    layer = Both()
    layer.build_for((3,))
    assert list(layer.params) == ["a", "variable", "variable_1"] and list(layer.buffers) == ["c"]
    np.testing.assert_array_equal(layer.params["a"], 0)
    assert np.all(layer.params["variable"] != 0)
    np.testing.assert_array_equal(layer.buffers["c"], 1)
    assert isinstance(layer.b, LayerVariable) and layer.b.value is layer.params["variable"]
    assert not layer.c.trainable


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(initializer="zeros"), TypeError, "needs a shape"),
    (dict(shape=(2,), regularizer="l3"), ValueError, "Unknown regularizer"),
    (dict(shape=(2,), name="a/b"), ValueError, "without '/'"),
    (dict(shape=(2,), bogus=1), TypeError, "unexpected arguments"),
])
def test_add_weight_errors(kwargs, error, match):
    layer = OpsDense(2)
    with pytest.raises(error, match=match):
        layer.add_weight(**kwargs)
    assert dict(layer.params) == {}


def test_compute_output_shape_is_inferred_from_call():
    class Widen(numnet.Layer):
        def call(self, x):
            return ops.concatenate([x, ops.square(x)], axis=-1)[:, 1:]

    out = Widen()(numnet.Input((5,)))
    assert out.shape == (None, 9)

    class Given(Widen):
        def compute_output_shape(self, input_shape):
            return (2 * input_shape[-1] - 1,)

    assert Given()(numnet.Input((5,))).shape == (None, 9)


# --- errors ----------------------------------------------------------------------------------
def test_call_returning_a_numpy_array_raises_and_changes_nothing():
    class Disconnected(OpsDense):
        def call(self, x, training=False):
            if training:  # the build (shape inference, inference mode) passes; training does not
                return np.asarray(x) @ self.kernel.numpy()
            return ops.matmul(x, self.kernel)

    inputs = numnet.Input((4,))
    layer = Disconnected(2)
    model = numnet.Model(inputs, layer(inputs))
    model.compile("sgd", "mse")
    before = model.get_weights()
    with pytest.raises(TypeError, match="returned a ndarray, not a numnet Tensor"):
        model.fit(_x(8), np.zeros((8, 2)), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)

    class AlwaysNumpy(OpsDense):
        def call(self, x, training=False):
            return np.asarray(x)

    with pytest.raises(TypeError, match="returned a ndarray"):
        AlwaysNumpy(2)(numnet.Input((4,)))


def test_backward_before_forward_is_a_runtime_error():
    layer = OpsDense(2)
    layer.build_for((4,))
    with pytest.raises(RuntimeError, match="before backward"):
        layer.backward(np.ones((3, 2)))


# --- saving and export ---------------------------------------------------------------------
def test_model_with_call_layers_saves_and_loads(tmp_path):
    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, OpsDense(3)(Block()(inputs)), seed=2)
    model.compile("adam", "mse")
    x = _x(16)
    model.fit(x, RNG.standard_normal((16, 3)), epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    model.save_weights(tmp_path / "w.npz")
    other = numnet.Model(inputs2 := numnet.Input((4,)), OpsDense(3)(Block()(inputs2)), seed=9)
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_unregistered_call_layer_cannot_be_saved(tmp_path):
    class Unregistered(numnet.Layer):
        def call(self, x):
            return ops.tanh(x)

    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, Unregistered()(inputs))
    with pytest.raises(ValueError, match="is not registered"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_onnx_export_needs_a_converter(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Twice(numnet.Layer):
        def call(self, x):
            return 2.0 * x

    inputs = numnet.Input((3,))
    model = numnet.Model(inputs, Twice()(inputs))
    with pytest.raises(ValueError, match="defines to_onnx"):
        model.export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()

    class TwiceExported(Twice):
        def to_onnx(self, graph, inputs):
            return graph.op("Mul", [inputs[0], graph.const(f"{self.name}_two", 2.0)], self.name)

    inputs = numnet.Input((3,))
    model = numnet.Model(inputs, TwiceExported()(inputs))
    model.export_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, 2 * x, rtol=1e-6)


# --- numnet.ops on symbolic tensors -------------------------------------------------------------
def test_ops_on_symbolic_tensors_build_a_graph():
    x = numnet.Input((4,))
    dense = Dense(4)
    y = ops.relu(dense(x)) + x
    z = ops.concatenate([y, x[:, :2] * 2.0], axis=-1)
    model = numnet.Model(x, Dense(1)(ops.sum(z, axis=-1, keepdims=True) - z), dtype="float64")
    assert [type(layer).__name__ for layer in model.layers].count("OpLayer") == 7
    data = _x(5)
    kernel, bias = dense.get_weights()
    y_ref = np.maximum(data @ kernel + bias, 0) + data
    z_ref = np.concatenate([y_ref, data[:, :2] * 2.0], axis=-1)
    head = model.layers[-1].get_weights()
    expected = (z_ref.sum(-1, keepdims=True) - z_ref) @ head[0] + head[1]
    np.testing.assert_allclose(model.predict(data), expected, rtol=1e-12)
    model.compile("sgd", "mse")
    assert check_model(model, data, RNG.standard_normal((5, 1))).passed(1e-6)


def test_model_with_op_layers_saves_and_loads(tmp_path):
    x = numnet.Input((6,))
    y = Dense(3)(ops.tanh(x[..., 1:4]) * ops.mean(x, axis=-1, keepdims=True))
    model = numnet.Model(x, ops.softmax(y))
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    data = _x(4, 6).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))


def test_an_unknown_op_name_in_a_file_is_refused():
    from numnet.layers import OpLayer

    with pytest.raises(ValueError, match="not an op of numnet.ops"):
        OpLayer("__import__", [{"__input__": 0}])


# --- more shapes of call layers, and layers as ops on a tape ---------------------------------------
class Gate(numnet.Layer):
    """Two inputs, two outputs: (a * sigmoid(b W), a - b)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[1][-1], input_shape[0][-1]), name="w")

    def call(self, inputs):
        a, b = inputs
        return [a * ops.sigmoid(ops.matmul(b, self.w)), a - b]


def test_call_layer_with_two_inputs_and_two_outputs():
    a, b = numnet.Input((3,)), numnet.Input((3,))
    gated, difference = Gate()([a, b])
    assert gated.shape == (None, 3) and difference.shape == (None, 3)
    model = numnet.Model([a, b], Dense(1)(ops.concatenate([gated, difference], axis=-1)), dtype="float64")
    model.compile("sgd", "mse")
    data = [_x(5, 3), _x(5, 3)]
    assert check_model(model, data, RNG.standard_normal((5, 1))).passed(1e-6)
    layer = Gate()
    outputs = layer.forward(data, training=True)
    assert isinstance(outputs, list) and len(outputs) == 2
    errors = layer.backward([np.ones((5, 3)), np.ones((5, 3))])
    assert isinstance(errors, list) and [e.shape for e in errors] == [(5, 3), (5, 3)]
    np.testing.assert_allclose(errors[0], ops.sigmoid(data[1] @ layer.params["w"]).numpy() + 1, rtol=1e-6)


def test_layers_called_on_tensors_are_ops_on_the_callers_tape():
    dense = Dense(3, activation="tanh", dtype="float64")
    ops_dense = OpsDense(3, dtype="float64")
    x = ops.Variable(_x(4, 2), name="x")
    g = RNG.standard_normal((4, 3))
    for layer in (dense, ops_dense):
        with numnet.GradientTape() as tape:
            first = layer(x)
            second = layer(2.0 * x)  # a second call before the gradient: each keeps its cache
            loss = ops.sum(first * g) + ops.sum(second * g)
        assert isinstance(first, ops.Tensor)
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        expected = []
        layer.forward(x.numpy(), training=True)
        e1 = layer.backward(g)
        k1 = {k: v.copy() for k, v in layer.grads.items()}
        layer.forward(2.0 * x.numpy(), training=True)
        e2 = layer.backward(g)
        expected = [e1 + 2.0 * e2] + [k1[k] + layer.grads[k] for k in layer.params]
        for got, want in zip(grads, expected):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_check_layer_restores_the_tracked_layers_dtype():
    block = Block()
    check_layer(block, _x())
    assert block.dtype == np.float32 and block.inner.dtype == np.float32
    assert all(w.dtype == np.float32 for w in block.get_weights())


def test_a_layer_with_forward_and_call_stays_seed_style():
    class Both(numnet.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), "ones")

        def call(self, x):
            raise AssertionError("forward, not call, runs a seed-style layer")

        def forward(self, x):
            self._x = x
            return x * self.params["w"]

        def backward(self, error):
            self.grads["w"] = (error * self._x).sum(0)
            return error * self.params["w"]

    layer = Both()
    layer.build_for((3,))
    np.testing.assert_array_equal(layer(np.ones((2, 3))), np.ones((2, 3)))
    assert isinstance(layer.w, np.ndarray) and not getattr(Both, "_call_layer", False)


def test_an_op_error_in_call_surfaces_when_the_layer_is_built():
    class Mismatched(numnet.Layer):
        def build(self, input_shape):
            self.b = self.add_weight(shape=(3,), name="b")

        def call(self, x):
            return x + self.b

    layer = Mismatched()
    with pytest.raises(ValueError, match=r"add: shapes \(2, 4\) and \(3,\) do not broadcast"):
        layer(numnet.Input((4,)))
    assert not layer.built and layer._inbound_nodes == []


def test_call_layers_predict_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, OpsDense(2)(Block()(inputs)), dtype="float64")
    chunks = [_x(64) for _ in range(8)]
    expected = [model.predict(c) for c in chunks]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(model.predict, chunks))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    model.compile("sgd", "mse")  # training afterwards still records and differentiates
    assert check_model(model, chunks[0][:8], RNG.standard_normal((8, 2))).passed(1e-6)
