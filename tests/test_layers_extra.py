"""GroupNormalization, LayerNormalization(rms_scaling) / RMSNormalization, UnitNormalization
and the activation layers ReLU, LeakyReLU, PReLU, ELU, Softmax: PyTorch reference values
(tests/fixtures/make_layers_extra_reference.py), gradient checks, save / load, ONNX export
(onnxruntime), errors."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import numnet
from numnet import layers
from numnet.gradient_check import check_layer

REF = np.load(Path(__file__).parent / "fixtures" / "layers_extra_reference.npz", allow_pickle=False)


def _run(layer, case, **weights):
    x, g = REF[f"{case}_x"], REF[f"{case}_g"]
    layer.build_for(x.shape[1:])
    layer.cast(np.float64)
    for key, value in weights.items():
        layer.params[key][...] = value.reshape(layer.params[key].shape)
    y = layer.forward(x, training=True)
    dx = layer.backward(g)
    np.testing.assert_allclose(y, REF[f"{case}_y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, REF[f"{case}_dx"], rtol=1e-9, atol=1e-11)
    return layer


# --- PyTorch reference values ----------------------------------------------------------------------
@pytest.mark.parametrize("case", ["group_2d", "group_seq", "group_instance"])
def test_group_normalization_matches_torch(case):
    groups = int(REF[f"{case}_groups"])
    layer = layers.GroupNormalization(groups=-1 if case == "group_instance" else groups)
    _run(layer, case, gamma=REF[f"{case}_gamma"], beta=REF[f"{case}_beta"])
    np.testing.assert_allclose(layer.grads["gamma"], REF[f"{case}_dgamma"], rtol=1e-9)
    np.testing.assert_allclose(layer.grads["beta"], REF[f"{case}_dbeta"], rtol=1e-9)


@pytest.mark.parametrize("case", ["rms_vec", "rms_seq"])
def test_rms_scaling_matches_torch_rms_norm(case):
    eps = float(REF[f"{case}_eps"])
    for layer, key in ((layers.LayerNormalization(epsilon=eps, rms_scaling=True), "gamma"),
                       (layers.RMSNormalization(epsilon=eps), "scale")):
        _run(layer, case, **{key: REF[f"{case}_gamma"]})
        np.testing.assert_allclose(layer.grads[key], REF[f"{case}_dgamma"], rtol=1e-9)
        assert list(layer.params) == [key]  # no beta with rms_scaling, as Keras


def test_unit_normalization_matches_torch_normalize():
    layer = _run(layers.UnitNormalization(), "unit")
    assert np.all(layer.forward(REF["unit_x"])[2] == 0.0)  # the zero row stays zero


@pytest.mark.parametrize("case, make", [
    ("relu6", lambda: layers.ReLU(max_value=6.0)),
    ("leaky", lambda: layers.LeakyReLU()),
    ("elu", lambda: layers.ELU(alpha=0.7)),
    ("softmax", lambda: layers.Softmax()),
    ("relu_full", lambda: layers.ReLU(max_value=4.0, negative_slope=0.1, threshold=0.5)),
])
def test_activation_layers_match_torch(case, make):
    _run(make(), case)


def test_prelu_matches_torch_with_one_alpha_per_channel():
    layer = layers.PReLU(shared_axes=[1, 2])
    _run(layer, "prelu", alpha=REF["prelu_alpha"])
    assert layer.params["alpha"].shape == (1, 1, 5)
    np.testing.assert_allclose(layer.grads["alpha"].ravel(), REF["prelu_dalpha"], rtol=1e-9)


def test_activation_defaults_and_kinks():
    x = np.array([[-2.0, 0.0, 0.5, 7.0]])
    np.testing.assert_array_equal(layers.ReLU().forward(x), [[0.0, 0.0, 0.5, 7.0]])
    np.testing.assert_array_equal(layers.ReLU(max_value=6).forward(x), [[0.0, 0.0, 0.5, 6.0]])
    np.testing.assert_allclose(layers.LeakyReLU().forward(x), [[-0.6, 0.0, 0.5, 7.0]])  # Keras 3: 0.3
    np.testing.assert_allclose(layers.ELU().forward(x), [[np.expm1(-2.0), 0.0, 0.5, 7.0]])
    relu = layers.ReLU()
    relu.forward(x)
    np.testing.assert_array_equal(relu.backward(np.ones_like(x)), [[0.0, 0.0, 1.0, 1.0]])  # relu'(0) = 0
    prelu = layers.PReLU()
    np.testing.assert_array_equal(prelu.forward(x), [[0.0, 0.0, 0.5, 7.0]])  # alpha starts at 0
    softmax = layers.Softmax(axis=1).forward(np.array([[[1.0, 2.0], [3.0, 4.0]]]))
    np.testing.assert_allclose(softmax.sum(axis=1), np.ones((1, 2)))


# --- gradient checks --------------------------------------------------------------------------------
def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.GroupNormalization(groups=2, gamma_initializer="random_normal"), (2, 3, 2, 6)),
    (lambda: layers.GroupNormalization(groups=3, axis=1, center=False), (2, 6, 5)),
    (lambda: layers.LayerNormalization(rms_scaling=True), (4, 7)),
    (lambda: layers.LayerNormalization(axis=[1, 2], rms_scaling=True), (3, 4, 5)),
    (lambda: layers.RMSNormalization(axis=[-2, -1]), (3, 4, 5)),
    (lambda: layers.UnitNormalization(), (4, 6)),
    (lambda: layers.UnitNormalization(axis=[1, 2]), (2, 3, 4)),
    (lambda: layers.ReLU(max_value=1.5, negative_slope=0.2, threshold=-0.3), (5, 8)),
    (lambda: layers.LeakyReLU(0.1), (5, 8)),
    (lambda: layers.ELU(0.5), (5, 8)),
    (lambda: layers.Softmax(axis=1), (3, 4, 5)),
    (lambda: layers.Softmax(axis=[1, 2]), (3, 4, 5)),
    (lambda: layers.PReLU(alpha_initializer="random_normal"), (4, 6)),
    (lambda: layers.PReLU(alpha_initializer="random_normal", shared_axes=1), (3, 5, 4)),
])
def test_gradient_check(make, shape):
    layer = make()
    x = _x(shape)
    x[np.abs(x) < 0.05] = 0.3  # away from the kinks of the piecewise activations
    # Normalisation sums many terms: a larger step keeps the differences above rounding noise.
    result = check_layer(layer, x, step=1e-5 if "Normalization" in type(layer).__name__ else 1e-6)
    assert result.passed(1e-6), result.errors


def test_group_normalization_gradient_wrt_gamma_and_beta_in_a_model():
    layer = layers.GroupNormalization(groups=2, gamma_initializer="random_normal", beta_initializer="random_normal")
    result = check_layer(layer, _x((2, 3, 4)), step=1e-6)
    assert result.passed(1e-6) and {"param:gamma", "param:beta"} <= set(result.errors), result.errors


# --- save / load, ONNX -----------------------------------------------------------------------------
MODELS = {
    "group": (lambda: layers.GroupNormalization(groups=2, gamma_initializer="random_normal"), (4, 4, 6)),
    "rms": (lambda: layers.LayerNormalization(rms_scaling=True, gamma_initializer="random_normal"), (6,)),
    "rms_layer": (lambda: layers.RMSNormalization(), (3, 6)),
    "unit": (lambda: layers.UnitNormalization(), (6,)),
    "relu": (lambda: layers.ReLU(), (6,)),
    "relu6": (lambda: layers.ReLU(max_value=6.0), (6,)),
    "relu_full": (lambda: layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), (6,)),
    "relu_slope": (lambda: layers.ReLU(negative_slope=0.1, threshold=-0.5), (6,)),
    "leaky": (lambda: layers.LeakyReLU(0.25), (6,)),
    "prelu": (lambda: layers.PReLU(alpha_initializer="random_normal", shared_axes=[1]), (3, 6)),
    "elu": (lambda: layers.ELU(0.5), (6,)),
    "softmax": (lambda: layers.Softmax(axis=1), (3, 6)),
}


def _model(key, seed=0):
    make, shape = MODELS[key]
    inputs = numnet.Input(shape)
    layer = make()
    return numnet.Model(inputs, layer(numnet.Dense(shape[-1])(inputs)), seed=seed), layer, shape


@pytest.mark.parametrize("key", sorted(MODELS))
def test_save_and_load(key, tmp_path):
    model, layer, shape = _model(key)
    x = _x((4, *shape), seed=2).astype(np.float32) * 3
    model.save(tmp_path / "m.npz")
    loaded = numnet.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_layer(layer.name).get_config() == layer.get_config()


@pytest.mark.parametrize("key", sorted(MODELS))
def test_onnx_export(key, tmp_path):
    model, _, shape = _model(key)
    x = _x((4, *shape), seed=3).astype(np.float32) * 3
    model.export_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, shape, match", [
    (lambda: layers.GroupNormalization(groups=2, axis=1), (4, 3), "only the last axis"),
    (lambda: layers.Softmax(axis=[1, 2]), (3, 4), "takes one axis"),
])
def test_onnx_export_refuses_what_onnx_cannot_express(make, shape, match, tmp_path):
    inputs = numnet.Input(shape)
    model = numnet.Model(inputs, make()(inputs))
    with pytest.raises(ValueError, match=match):
        model.export_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


# --- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.GroupNormalization(groups=0), ValueError, "groups must be a positive integer"),
    (lambda: layers.GroupNormalization(axis=[1, 2]), ValueError, "axis must be an integer"),
    (lambda: layers.LayerNormalization(rms_scaling=1), TypeError, "rms_scaling must be True or False"),
    (lambda: layers.RMSNormalization(epsilon=0), ValueError, "epsilon must be a positive number"),
    (lambda: layers.UnitNormalization(axis="last"), ValueError, "axis must be an integer"),
    (lambda: layers.ReLU(max_value=-1), ValueError, "max_value must be a finite number >= 0"),
    (lambda: layers.ReLU(negative_slope=-0.1), ValueError, "negative_slope must be"),
    (lambda: layers.LeakyReLU(alpha=0.1), TypeError, "negative_slope=..., not alpha="),
    (lambda: layers.ELU(alpha=float("inf")), ValueError, "alpha must be a finite number"),
    (lambda: layers.Softmax(axis=1.0), ValueError, "Softmax axis"),
    (lambda: layers.PReLU(shared_axes=[0]), ValueError, "shared_axes must be"),
    (lambda: layers.PReLU(alpha_regularizer="l3"), ValueError, "Unknown regularizer"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("make, shape, match", [
    (lambda: layers.GroupNormalization(groups=4), (6,), "groups=4 must divide the 6 channels"),
    (lambda: layers.Softmax(axis=3), (4,), "axis 3 is not a feature axis"),
    (lambda: layers.UnitNormalization(axis=0), (4,), "axis 0 is the batch"),
    (lambda: layers.PReLU(shared_axes=[3]), (4,), "shared axis 3 does not exist"),
    (lambda: layers.PReLU(), (None, 4), "variable size"),
])
def test_build_errors(make, shape, match):
    layer = make()
    with pytest.raises(ValueError, match=match):
        layer(numnet.Input(shape))
    assert not layer.built and layer.params == {}


def test_group_normalization_refuses_another_channel_count():
    layer = layers.GroupNormalization(groups=2)
    layer.forward(np.ones((2, 4)))
    gamma = layer.params["gamma"].copy()
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        layer.forward(np.ones((2, 6)))
    np.testing.assert_array_equal(layer.params["gamma"], gamma)


# --- a callable written with numnet.ops as activation= -------------------------------------------
def scaled_swish(x):
    from numnet import ops

    return x * ops.sigmoid(1.5 * x)


def test_a_callable_activation_computes_and_differentiates():
    x = _x((4, 5))
    layer = layers.Activation(scaled_swish)
    np.testing.assert_allclose(layer.forward(x), x / (1 + np.exp(-1.5 * x)), rtol=1e-12)
    assert layer.name == "scaled_swish"
    assert check_layer(layer, x).passed(1e-6)
    dense = layers.Dense(3, activation=scaled_swish)
    assert check_layer(dense, x).passed(1e-6)
    z = x @ dense.params["kernel"] + dense.params["bias"]
    np.testing.assert_allclose(dense.forward(x), z / (1 + np.exp(-1.5 * z)), rtol=1e-6)


def test_a_callable_activation_trains_under_an_outer_tape_too():
    from numnet import ops, optimizers

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    models = []
    for _ in range(2):
        inputs = numnet.Input((3,))
        models.append(numnet.Model(inputs, layers.Dense(2, activation=scaled_swish)(inputs), dtype="float64",
                                   seed=4))
    fit_model, tape_model = models
    tape_model.set_weights(fit_model.get_weights())
    fit_model.compile(optimizers.SGD(0.1), "mse")
    fit_model.train_on_batch(x, y)
    with numnet.GradientTape() as tape:
        loss = ops.mean(ops.square(tape_model(ops.convert_to_tensor(x)) - y))
    variables = tape_model.trainable_variables
    optimizers.SGD(0.1).apply_gradients(zip(tape.gradient(loss, variables), variables))
    for a, b in zip(fit_model.get_weights(), tape_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_callable_activation_errors(tmp_path):
    layer = layers.Activation(lambda x: np.tanh(np.asarray(x)))  # numpy, not numnet.ops: no derivative
    with pytest.raises(TypeError, match="must map a numnet Tensor to a Tensor of the same shape"):
        layer.forward(np.ones((2, 3)))
    inputs = numnet.Input((3,))
    model = numnet.Model(inputs, layers.Dense(2, activation=scaled_swish)(inputs))
    with pytest.raises(TypeError, match="callable activation 'scaled_swish', which cannot be saved"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
