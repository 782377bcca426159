"""A model rewrites ``Conv2D / Dense(relu) -> MaxPool2D`` (relu after the pool; a conv
computes only the rows and columns the pool reads). The rewrite must be exact: the same
outputs and the same gradients as the plain chain, which a separate Activation layer
(never fused) gives."""

import numpy as np
import pytest

import numnet
from numnet.gradient_check import check_model
from numnet.graph.plan import Step
from numnet.graph.rewrites import ConvMaxPoolStep, PoolThenReluStep


def _steps(model):
    return {step.layer.name: step for step in model._plan.steps}


def _pair(conv_kwargs, pool_kwargs, image=(11, 11, 3), seed=0, activation="relu"):
    """The same network twice: fused (activation inside the conv) and plain (a separate
    Activation layer between conv and pool), with equal weights, float64."""

    def build(fused):
        x = numnet.Input(image)
        conv = numnet.Conv2D(4, 3, activation=activation if fused else None, seed=seed, **conv_kwargs)(x)
        h = conv if fused or activation is None else numnet.Activation(activation)(conv)
        h = numnet.MaxPool2D(**pool_kwargs)(h)
        h = numnet.Flatten()(h)
        out = numnet.Dense(3, activation="softmax", seed=seed + 1)(h)
        model = numnet.Model(x, out, dtype="float64")
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    fused, plain = build(True), build(False)
    # Integer kernels on integer images: equal values inside a window are common.
    conv = fused.layers[0]
    conv.params["kernel"][...] = np.random.default_rng(seed).integers(-1, 2, conv.params["kernel"].shape)
    plain.set_weights(fused.get_weights())
    return fused, plain


def _gradients(model, x, y, training):
    out = model.forward([x], training=training)
    model.backward(model._compiled.outputs[0].fused(y, out), skip_output_activation=True)
    return out, {f"{l.name[:4]}/{k}": g.copy() for l in model.layers for k, g in l.grads.items()}


CASES = [
    # Windows tile z (strides == pool size, valid): conv and pool run as one step.
    ({}, {"pool_size": 2}),  # 9x9 conv output, the windows cover 8x8
    ({"padding": "same"}, {"pool_size": 2}),  # 11x11, the windows cover 10x10
    ({"strides": 2}, {"pool_size": (2, 1)}),
    ({"dilation_rate": 2, "use_bias": False}, {"pool_size": 3}),
    ({"padding": "same", "strides": (1, 2)}, {"pool_size": (3, 2)}),
    # Otherwise relu moves after the pool (and a valid pool's unread edge is not computed).
    ({}, {"pool_size": 2, "padding": "same"}),  # same-padded pool reads everything
    ({}, {"pool_size": 3, "strides": 2}),  # overlapping windows
    ({}, {"pool_size": 2, "strides": 3}),  # gaps between windows
]


@pytest.mark.parametrize("conv_kwargs, pool_kwargs", CASES)
@pytest.mark.parametrize("training", [True, False])
def test_fused_chain_gives_the_outputs_and_gradients_of_the_plain_chain(conv_kwargs, pool_kwargs, training):
    fused, plain = _pair(conv_kwargs, pool_kwargs)
    rng = np.random.default_rng(1)
    # Integers make ties inside windows common, and half the values are negative.
    x = rng.integers(-3, 4, size=(5, 11, 11, 3)).astype(np.float64)
    y = rng.integers(0, 3, size=5)
    out_f, grads_f = _gradients(fused, x, y, training)
    out_p, grads_p = _gradients(plain, x, y, training)
    z = numnet.Model(plain.input, plain.layers[0].output).predict(x)  # the conv output
    assert (z == 0).any() and (z < 0).any()  # the relu and the ties are exercised
    np.testing.assert_allclose(out_f, out_p, rtol=1e-13, atol=1e-15)
    assert grads_f.keys() == grads_p.keys()
    for key in grads_f:
        np.testing.assert_allclose(grads_f[key], grads_p[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_the_rewrite_is_planned_where_it_applies():
    model = numnet.Sequential([
        numnet.Input((28, 28, 1)),
        numnet.Conv2D(8, 3, activation="relu", name="c1"),
        numnet.MaxPool2D(2, name="p1"),  # windows tile z: conv and pool run as one step
        numnet.Conv2D(8, 3, activation="relu", name="c2"),
        numnet.MaxPool2D(3, strides=2, name="p2"),  # overlapping windows: relu moved, z cropped
        numnet.Conv2D(8, 3, activation="tanh", name="c3"),  # not relu: untouched
        numnet.MaxPool2D(2, padding="same", name="p3"),
        numnet.Flatten(),
        numnet.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy")
    steps = _steps(model)
    assert "c1" not in steps and isinstance(steps["p1"], ConvMaxPoolStep)
    assert steps["p1"].conv is model.get_layer("c1")
    assert steps["p1"].sources == model._plan.input_slots
    assert steps["c2"].preactivation == {"output_size": (11, 11)}  # 12x12: the windows cover 11x11
    assert isinstance(steps["p2"], PoolThenReluStep) and steps["p2"].relu is model.get_layer("c2").activation
    assert steps["c3"].preactivation is None and type(steps["p3"]) is Step
    assert [l.name for l in model.layers][:3] == ["c1", "p1", "c2"]  # every layer keeps its weights
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    _, run = model._plan.forward([x], training=False)
    assert run.values[steps["c2"].targets[0]].shape == (2, 11, 11, 8)  # the cropped pre-activation
    model.predict(x, verbose=0)
    assert model.get_layer("c2").output.shape == (None, 11, 11, 8)  # the layer's public output: symbolic
    assert run.values[steps["p2"].targets[0]].shape == (2, 5, 5, 8)


def test_no_rewrite_when_the_conv_output_is_used_elsewhere_or_is_the_model_output():
    x = numnet.Input((8, 8, 2))
    conv = numnet.Conv2D(2, 3, activation="relu", name="shared")(x)
    pooled = numnet.Flatten()(numnet.MaxPool2D(2)(conv))
    direct = numnet.Flatten()(numnet.MaxPool2D(3, name="other")(conv))
    model = numnet.Model(x, numnet.Concatenate()([pooled, direct]))
    assert _steps(model)["shared"].preactivation is None

    inp = numnet.Input((8, 8, 2))
    last = numnet.Conv2D(2, 3, activation="relu", name="last")(inp)
    assert _steps(numnet.Model(inp, last))["last"].preactivation is None


def test_dense_on_images_moves_its_relu_but_is_not_cropped():
    model = numnet.Sequential([
        numnet.Input((5, 5, 3)),
        numnet.Dense(4, activation="relu", name="d"),
        numnet.MaxPool2D(2, name="p"),
        numnet.Flatten(),
        numnet.Dense(2),
    ])
    model.compile(loss="mse")
    assert _steps(model)["d"].preactivation == {}
    assert isinstance(_steps(model)["p"], PoolThenReluStep)


def test_layers_used_outside_the_model_still_apply_their_relu():
    inp = numnet.Input((9, 9, 1))
    conv = numnet.Conv2D(3, 3, activation="relu", seed=0)
    out = numnet.Dense(2, seed=1)(numnet.Flatten()(numnet.MaxPool2D(2)(conv(inp))))
    model = numnet.Model(inp, out)
    model.compile(loss="mse")
    x = np.random.default_rng(0).standard_normal((4, 9, 9, 1)).astype(np.float32)
    model.fit(x, np.zeros((4, 2)), epochs=1, verbose=0)
    alone = conv(x)  # the layer called directly: its full, activated output
    assert alone.shape == (4, 7, 7, 3) and alone.min() >= 0 and (alone == 0).any()
    # A second model over the same layers, ending at the conv, sees the activated output.
    features = numnet.Model(inp, conv.output)
    np.testing.assert_array_equal(features.predict(x, verbose=0), alone)


def test_fused_cnn_passes_the_whole_model_gradient_check():
    model = numnet.Sequential([
        numnet.Input((9, 9, 2)),
        numnet.Conv2D(3, 3, activation="relu", seed=0),
        numnet.MaxPool2D(2),
        numnet.Conv2D(2, 2, activation="relu", seed=1),
        numnet.MaxPool2D(2),
        numnet.Flatten(),
        numnet.Dense(3, activation="softmax", seed=2),
    ], dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(3)
    result = check_model(model, rng.standard_normal((4, 9, 9, 2)), rng.integers(0, 3, 4))
    assert result.passed(1e-6), result


def test_a_linear_conv_and_its_pool_run_as_one_step_too():
    fused, plain = _pair({}, {"pool_size": 2}, activation=None)
    assert any(isinstance(step, ConvMaxPoolStep) for step in fused._plan.steps)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 11, 11, 3)), rng.integers(0, 3, size=4)
    out_f, grads_f = _gradients(fused, x, y, True)
    out_p, grads_p = _gradients(plain, x, y, True)
    np.testing.assert_allclose(out_f, out_p, rtol=1e-13, atol=1e-15)
    for key in grads_f:
        np.testing.assert_allclose(grads_f[key], grads_p[key], rtol=1e-12, atol=1e-14, err_msg=key)


@pytest.mark.parametrize("activation", ["relu", None])
def test_the_fused_step_matches_the_two_layers_even_with_a_nan(activation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 11, 11, 3))
    x[0, 5, 5, 0] = np.nan  # z[3:6, 3:6] is NaN: window (1, 1) meets it only at its last pixel
    conv = numnet.Conv2D(4, 3, activation=activation, dtype="float64", seed=0)
    pool = numnet.MaxPool2D(2)
    inp = numnet.Input((11, 11, 3))
    model = numnet.Model(inp, pool(conv(inp)), dtype="float64")
    assert isinstance(model._plan.steps[0], ConvMaxPoolStep)
    y_fused = model.forward(x, training=True)
    g = rng.standard_normal(y_fused.shape)
    dx_fused = model.backward(g)
    grads_fused = {k: v.copy() for k, v in conv.grads.items()}
    y_plain = pool.forward(conv.forward(x, training=True), training=True)
    conv.needs_input_error = pool.needs_input_error = True
    dx_plain = conv.backward(pool.backward(g))
    np.testing.assert_allclose(y_fused, y_plain, rtol=1e-13, atol=1e-15)  # NaN where NaN
    np.testing.assert_allclose(dx_fused, dx_plain, rtol=1e-12, atol=1e-14)
    for key, grad in grads_fused.items():
        np.testing.assert_allclose(grad, conv.grads[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert np.isnan(y_fused).any() and np.isfinite(dx_fused).sum() > 0


def test_backward_before_forward_is_explained():
    inp = numnet.Input((6, 6, 1))
    model = numnet.Model(inp, numnet.MaxPool2D(2)(numnet.Conv2D(2, 3)(inp)))
    with pytest.raises(RuntimeError, match="forward"):
        model.backward(np.ones((1, 2, 2, 2), dtype=np.float32))


def test_float32_training_with_and_without_the_rewrites_stays_together(monkeypatch):
    import numnet.graph.rewrites

    def build():
        return numnet.Sequential([
            numnet.Input((8, 8, 1)),
            numnet.Conv2D(8, 3, padding="same", activation="relu", seed=1),
            numnet.MaxPool2D(2),
            numnet.Conv2D(8, 3, activation="relu", seed=2),
            numnet.MaxPool2D(2, strides=1),
            numnet.Flatten(),
            numnet.Dense(10, activation="softmax", seed=3),
        ], seed=0)

    x, y = numnet.datasets.load_digits()
    x = (x[:320] / 16).astype(np.float32).reshape(-1, 8, 8, 1)
    rewritten = build()
    rewritten.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    rewritten.predict(x[:1], verbose=0)
    monkeypatch.setattr(numnet.graph.rewrites, "plan_max_pool_rewrites", lambda steps, outputs: steps)
    plain = build()
    plain.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    plain.predict(x[:1], verbose=0)
    def rewrites(model):
        return [s for s in model._plan.steps if isinstance(s, (ConvMaxPoolStep, PoolThenReluStep))]

    assert rewrites(rewritten) and not rewrites(plain)
    plain.set_weights(rewritten.get_weights())
    for model in (rewritten, plain):
        model.fit(x, y[:320], epochs=3, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(rewritten.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
