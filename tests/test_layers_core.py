"""Core layers: Dense vs nn.Linear, gradient checks of every layer x activation, building,
linking, weights, custom layers, and the seed lineage's Dense gradient bug."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numnet import Activation, Add, Concatenate, Dense, Input, Layer
from numnet.gradient_check import check_layer

REF = np.load(Path(__file__).parent / "fixtures" / "core_reference.npz", allow_pickle=False)
ACTIVATIONS = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "softplus", "silu",
               "gelu_approximate", "hard_sigmoid", "mish", "log_softmax")
TOLERANCE = 1e-6


def _linked(layer, shape):
    """``layer`` called on ``Input(shape)`` (built for it); returns the layer."""
    layer(Input(shape))
    return layer


def _dense64(units, kernel, bias, **kwargs):
    layer = Dense(units, dtype="float64", **kwargs)
    layer.build_for(kernel.shape[:1])
    layer.set_weights([kernel, bias])
    return layer


# --- PyTorch parity ---------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_matches_torch_linear(activation):
    x, g = REF["dense_x"], REF["dense_g"]
    layer = _dense64(3, REF["dense_kernel"], REF["dense_bias"], activation=activation)
    y = layer.forward(x)
    np.testing.assert_allclose(y, REF[f"dense_{activation}_y"], rtol=1e-12, atol=1e-14)
    dx = layer.backward(g)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (relative 3e-8)
    rtol = 1e-7 if activation == "hard_sigmoid" else 1e-10
    update_rtol = 1e-7 if activation == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(dx, REF[f"dense_{activation}_dx"], rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(layer.grads["kernel"], REF[f"dense_{activation}_dkernel"], rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(layer.grads["bias"], REF[f"dense_{activation}_dbias"], rtol=rtol, atol=1e-14)
    layer.update(0.1)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(kernel, REF[f"dense_{activation}_kernel_updated"], rtol=update_rtol, atol=1e-14)
    np.testing.assert_allclose(bias, REF[f"dense_{activation}_bias_updated"], rtol=update_rtol, atol=1e-14)


def test_dense_on_sequences_matches_torch_linear():
    layer = _dense64(3, REF["dense_kernel"], REF["dense_bias"], activation="tanh")
    np.testing.assert_allclose(layer.forward(REF["dense3d_x"]), REF["dense3d_y"], rtol=1e-12)
    np.testing.assert_allclose(layer.backward(REF["dense3d_g"]), REF["dense3d_dx"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(layer.grads["kernel"], REF["dense3d_dkernel"], rtol=1e-10)
    np.testing.assert_allclose(layer.grads["bias"], REF["dense3d_dbias"], rtol=1e-10)


def _stack():
    lower = _dense64(6, REF["stack_k1"], REF["stack_b1"], activation="tanh")
    upper = _dense64(3, REF["stack_k2"], REF["stack_b2"], activation="sigmoid")
    return lower, upper


def test_two_layer_stack_matches_torch_in_every_gradient():
    # The seed's lineage multiplied the error by the kernel *before* the activation
    # derivative: the lower layer then learns from a wrong error. torch says what is right.
    lower, upper = _stack()
    y = upper.forward(lower.forward(REF["stack_x"]))
    np.testing.assert_allclose(y, REF["stack_y"], rtol=1e-12)
    dx = lower.backward(upper.backward(REF["stack_g"]))
    np.testing.assert_allclose(dx, REF["stack_dx"], rtol=1e-10, atol=1e-14)
    for layer, k, b in ((lower, "stack_dk1", "stack_db1"), (upper, "stack_dk2", "stack_db2")):
        np.testing.assert_allclose(layer.grads["kernel"], REF[k], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.grads["bias"], REF[b], rtol=1e-10, atol=1e-14)


def test_lower_layer_gradient_includes_the_upper_activation_derivative():
    lower, upper = _stack()
    x, g = REF["stack_x"], REF["stack_g"]

    def loss():
        return float(np.sum(g * upper.forward(lower.forward(x))))

    loss()
    upper_error = upper.backward(g)
    lower.backward(upper_error)
    analytic = lower.grads["kernel"].copy()
    numeric = np.zeros_like(analytic)
    kernel = lower.params["kernel"]
    for idx in np.ndindex(kernel.shape):
        kernel[idx] += 1e-6
        plus = loss()
        kernel[idx] -= 2e-6
        minus = loss()
        kernel[idx] += 1e-6
        numeric[idx] = (plus - minus) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-10)
    # The lineage's error, g @ kernel^T without sigmoid', gives a visibly different gradient.
    wrong = upper.params["kernel"]
    lineage_error = g @ wrong.T
    lower.forward(x)
    lower.backward(lineage_error)
    assert not np.allclose(lower.grads["kernel"], numeric, rtol=1e-3)


# --- gradient checks --------------------------------------------------------------------------
def _inputs(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("activation", ACTIVATIONS + (None,))
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients_pass_the_checker(activation, use_bias):
    layer = Dense(5, activation=activation, use_bias=use_bias, bias_initializer="random_normal")
    result = check_layer(layer, _inputs((4, 3)))
    expected = {"param:kernel", "input:0"} | ({"param:bias"} if use_bias else set())
    assert set(result.errors) == expected
    assert result.max_relative_error < TOLERANCE, result.errors


@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu"])
def test_dense_on_sequences_passes_the_checker(activation):
    result = check_layer(Dense(4, activation=activation), _inputs((2, 3, 5)))
    assert result.max_relative_error < TOLERANCE, result.errors


@pytest.mark.parametrize("activation", ACTIVATIONS + ("swish",))
def test_activation_layers_pass_the_checker(activation):
    result = check_layer(Activation(activation), _inputs((4, 6)) * 2)
    assert set(result.errors) == {"input:0"}
    assert result.max_relative_error < TOLERANCE, result.errors


def test_add_passes_the_checker():
    result = check_layer(Add(), [_inputs((3, 4), s) for s in range(3)])
    assert set(result.errors) == {"input:0", "input:1", "input:2"}
    assert result.max_relative_error < TOLERANCE, result.errors


@pytest.mark.parametrize(("axis", "shapes"), [(-1, [(3, 2), (3, 5)]), (1, [(2, 4, 3), (2, 1, 3)]), (2, [(2, 3, 1), (2, 3, 4), (2, 3, 2)])])
def test_concatenate_passes_the_checker(axis, shapes):
    result = check_layer(Concatenate(axis=axis), [_inputs(s, i) for i, s in enumerate(shapes)])
    assert len(result.errors) == len(shapes)
    assert result.max_relative_error < TOLERANCE, result.errors


def test_merge_layers_compute_the_right_values():
    a, b = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Add().forward([a, b]), a + b)
    cat = Concatenate()
    np.testing.assert_array_equal(cat.forward([a, b]), np.hstack([a, b]))
    left, right = cat.backward(np.arange(12.0).reshape(2, 6))
    np.testing.assert_array_equal(left, [[0, 1, 2], [6, 7, 8]])
    np.testing.assert_array_equal(right, [[3, 4, 5], [9, 10, 11]])


def test_merge_layers_reject_bad_inputs():
    with pytest.raises(ValueError, match="at least two"):
        Add()(Input((3,)))
    with pytest.raises(ValueError, match="one shape"):
        Add()([Input((3,)), Input((4,))])
    with pytest.raises(ValueError, match="differ outside axis"):
        Concatenate()([Input((2, 3)), Input((4, 3))])
    with pytest.raises(ValueError, match="axis 0"):
        Concatenate(axis=0)([Input((3,)), Input((3,))])


# --- building and linking ---------------------------------------------------------------------
def test_dense_builds_lazily_from_the_first_input():
    layer = Dense(5)
    assert not layer.built and layer.params == {}
    y = layer.forward(np.ones((2, 7), dtype=np.float32))
    assert y.shape == (2, 5)
    assert layer.params["kernel"].shape == (7, 5)
    assert layer.params["bias"].shape == (5,)
    assert layer.input_shape == (7,) and layer.output_shape == (5,)
    np.testing.assert_array_equal(layer.params["bias"], np.zeros(5))


def test_calling_a_layer_on_an_input_returns_a_symbolic_tensor_and_builds_it():
    x = Input((4,))
    layer = Dense(8)
    h = layer(x)
    assert h.shape == (None, 8) and h.dtype == np.float32 and h.node.layer is layer
    assert layer.input is x and layer.output is h and h.node.inputs == [x]
    assert layer.built and layer.params["kernel"].shape == (4, 8)
    assert layer.output_shape == (8,)
    chained = Dense(2, activation="softmax")
    y = chained(h)
    assert y.node.inputs == [h] and chained.params["kernel"].shape == (8, 2)


def test_calling_a_layer_on_an_array_runs_inference():
    layer = _dense64(3, REF["dense_kernel"], REF["dense_bias"], activation="relu")
    np.testing.assert_allclose(layer(REF["dense_x"]), REF["dense_relu_y"], rtol=1e-12)


def test_linking_errors():
    with pytest.raises(TypeError, match="numnet.Input"):
        Dense(3)(Dense(4))  # a layer, not a tensor
    layer = Dense(3)
    layer(Input((2,)))
    kernel = layer.get_weights()[0]
    with pytest.raises(ValueError, match=r"'dense\w*' was built for inputs of shape \(None, 2\) but is now called on "
                                         r"\(None, 5\)"):
        layer(Input((5,)))
    assert len(layer._inbound_nodes) == 1 and np.array_equal(layer.get_weights()[0], kernel)


@pytest.mark.parametrize("shape", [(), (0,), (-3,), ("4",), (2.0,), None, (True,)])
def test_input_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="positive integers"):
        Input(shape)


def test_input_accepts_an_int_and_passes_data_through():
    x = Input(4)
    assert x.shape == (None, 4) and x.node.layer.output_shape == (4,)
    data = np.ones((2, 4))
    assert x.node.layer.forward(data) is data and x.node.layer.backward(data) is data


@pytest.mark.parametrize("units", [0, -1, 2.5, "8", True, None])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="positive integer"):
        Dense(units)


def test_dense_rejects_unknown_activation_and_initializer():
    with pytest.raises(ValueError, match="Unknown activation"):
        Dense(3, activation="sigmoidal")
    with pytest.raises(ValueError, match="Unknown initializer"):
        Dense(3, kernel_initializer="glorot")


def test_names():
    assert Activation("relu").name == "relu"
    assert Activation("swish").name == "silu"
    assert Activation("tanh", name="squash").name == "squash"
    a, b = Dense(2), Dense(2)
    assert a.name.startswith("dense") and a.name != b.name
    assert Dense(2, name="head").name == "head"
    assert Dense(2, activation="linear").activation is None
    assert Dense(2, activation="relu").output_activation == "relu"
    with pytest.raises(ValueError, match="non-empty string"):
        Dense(2, name="")


# --- weights ----------------------------------------------------------------------------------
def test_get_weights_returns_copies_kernel_then_bias():
    layer = _linked(Dense(3), (2,))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (2, 3) and bias.shape == (3,)
    kernel[...] = 99
    assert not np.any(layer.params["kernel"] == 99)


def test_set_weights_in_order_and_casts_to_the_layer_dtype():
    layer = _linked(Dense(3), (2,))
    kernel, bias = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    layer.set_weights([kernel, bias])
    assert layer.params["kernel"].dtype == np.float32
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    np.testing.assert_array_equal(layer.get_weights()[1], bias)
    np.testing.assert_allclose(layer.forward(np.array([[1.0, 1.0]], dtype=np.float32)), [[4.0, 7.0, 10.0]])


def test_set_weights_errors_change_nothing():
    layer = _linked(Dense(3), (2,))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        layer.set_weights([before[0]])
    with pytest.raises(ValueError, match=r"'bias' has shape \(3,\), got an array of shape \(4,\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(4)])
    with pytest.raises(ValueError, match="'kernel'"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_count_params():
    assert _linked(Dense(8), (4,)).count_params() == 4 * 8 + 8
    assert _linked(Dense(8, use_bias=False), (4,)).count_params() == 32
    assert Activation("relu").count_params() == 0
    assert Dense(8).count_params() == 0  # not built yet


# --- the Layer base and custom layers ----------------------------------------------------------
def test_layer_base_forward_and_backward_are_not_implemented():
    layer = Layer()
    with pytest.raises(NotImplementedError, match="forward"):
        layer.forward(np.ones(2))
    with pytest.raises(NotImplementedError, match="backward"):
        layer.backward(np.ones(2))
    layer.update(0.1)  # nothing to update: no error


class Scale(Layer):
    """A user's layer in the seed's style: one-argument forward, one weight per feature."""

    def build(self, input_shape):
        self.add_weight("scale", input_shape, "ones")

    def forward(self, input):
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        return input * self.params["scale"]

    def backward(self, output_error):
        self.grads["scale"] = (output_error * self.input).sum(axis=0)
        return output_error * self.params["scale"]


def test_custom_layer_with_one_argument_forward_works_everywhere():
    layer = Scale()
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    np.testing.assert_array_equal(layer(x), x)  # __call__ on arrays (inference: keeps no cache)
    assert layer.name.startswith("scale")
    layer.forward(x)  # the seed's interface: forward, then backward
    layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(layer.grads["scale"], [4.0, 6.0])
    layer.update(0.5)
    np.testing.assert_array_equal(layer.params["scale"], [-1.0, -2.0])
    assert check_layer(Scale(), _inputs((3, 4))).max_relative_error < TOLERANCE
    linked = _linked(Scale(), (5,))
    assert linked.params["scale"].shape == (5,)


# --- dtype ------------------------------------------------------------------------------------
def test_float64_layers_stay_float64_through_update():
    layer = Dense(4, activation="tanh")
    layer.cast(np.float64)
    x = _inputs((3, 2))
    y = layer.forward(x)
    assert layer.params["kernel"].dtype == np.float64 and y.dtype == np.float64
    assert layer.backward(np.ones_like(y)).dtype == np.float64
    assert layer.grads["kernel"].dtype == np.float64
    layer.update(0.1)
    assert all(w.dtype == np.float64 for w in layer.get_weights())


def test_float32_is_the_default_and_survives_update():
    layer = _linked(Dense(4, activation="sigmoid"), (2,))
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    y = layer.forward(np.ones((3, 2), dtype=np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    layer.update(1)
    assert all(w.dtype == np.float32 for w in layer.get_weights())


def test_cast_converts_built_weights_and_values_are_kept():
    layer = _linked(Dense(3), (2,))
    before = layer.get_weights()
    layer.cast("float64")
    for old, new in zip(before, layer.get_weights()):
        assert new.dtype == np.float64
        np.testing.assert_array_equal(old, new)


def test_check_layer_restores_the_layer():
    layer = _linked(Dense(3, activation="relu"), (2,))
    before = layer.get_weights()
    check_layer(layer, _inputs((4, 2)))
    assert layer.dtype == np.float32
    for old, new in zip(before, layer.get_weights()):
        assert new.dtype == np.float32
        np.testing.assert_array_equal(old, new)


def test_calls_in_the_wrong_order_are_runtime_errors():
    layer = _linked(Dense(3, activation="relu"), (2,))
    with pytest.raises(RuntimeError, match=r"call backward\(output_error\) before update"):
        layer.update(0.1)
    with pytest.raises(RuntimeError, match=r"call forward\(input\) before backward"):
        _linked(Dense(3), (2,)).backward(np.ones((1, 3), dtype=np.float32))


def test_default_kernel_is_glorot_uniform_and_bias_zeros():
    layer = _linked(Dense(300, seed=0), (200,))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (200 + 300))
    assert -limit <= kernel.min() and kernel.max() <= limit and kernel.max() > 0.99 * limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(bias, np.zeros(300))


# --- scratch arrays ---------------------------------------------------------------------------
def test_scratch_array_is_reused_only_when_nobody_else_holds_it():
    layer = Dense(2)
    first = layer.scratch("work", (3, 4), np.float32)
    first_id = id(first)
    del first
    again = layer.scratch("work", (3, 4), np.float32)
    assert id(again) == first_id  # released: the same array comes back
    view = again[1:]  # a view keeps its base alive, so it counts as a holder
    del again
    other = layer.scratch("work", (3, 4), np.float32)
    assert not np.shares_memory(other, view)
    # Two arrays per key: while ``view`` holds one, steps alternate between the other two.
    other_id = id(other)
    del other
    assert id(layer.scratch("work", (3, 4), np.float32)) == other_id
    assert layer.scratch("work", (2, 4), np.float32).shape == (2, 4)  # new shape: new array
    assert layer.scratch("work", (2, 4), np.float64).dtype == np.float64


def test_a_kept_input_error_of_a_pool_is_never_overwritten():
    from numnet.layers import MaxPool2D

    pool = MaxPool2D(2)
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3)).astype(np.float32)
    y = pool.forward(x, training=True)
    kept = pool.backward(np.ones_like(y))
    snapshot = kept.copy()
    pool.backward(np.full_like(y, 2.0))
    np.testing.assert_array_equal(kept, snapshot)
