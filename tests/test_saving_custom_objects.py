"""Models compiled with the user's own losses and metrics save by name and load with
``custom_objects``, the registry, or ``compile=False``."""

import numpy as np
import pytest

import numnet
from numnet import ops
from numnet.saving import ModelFileError, register_serializable


def per_sample_mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_abs(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@register_serializable(name="registered_cubic_test_loss")
def cubic(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred) ** 3, axis=-1)


class ScaledSquare(numnet.losses.Loss):
    def __init__(self, scale=2.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * ops.mean(ops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {"scale": self.scale, "name": self.name}


class MaxError(numnet.metrics.Metric):
    def __init__(self, name="max_error"):
        super().__init__(name=name)
        self.worst = self.add_variable(name="worst")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.worst.assign(max(float(self.worst.value), float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))))

    def result(self):
        return float(self.worst.value)


def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(24, 4)), rng.normal(size=(24, 2))


def _model(loss, metrics=()):
    model = numnet.Sequential([numnet.Input((4,)), numnet.Dense(2, seed=1)])
    model.compile(numnet.optimizers.Adam(0.01), loss, metrics=list(metrics))
    return model


def test_a_function_loss_and_metric_round_trip_with_custom_objects(tmp_path):
    x, y = _data()
    model = _model(per_sample_mse, [mean_abs])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match=r"loss 'per_sample_mse' is your own function.*custom_objects"):
        numnet.load_model(tmp_path / "m.npz")
    restored = numnet.load_model(tmp_path / "m.npz", custom_objects={"per_sample_mse": per_sample_mse,
                                                                      "mean_abs": mean_abs})
    assert restored.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # training continues exactly: the Adam state came back with the compile settings
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_registered_function_needs_no_custom_objects(tmp_path):
    x, y = _data()
    model = _model(cubic)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = numnet.load_model(tmp_path / "m.npz")
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=0, abs=0)
    np.testing.assert_allclose(restored.evaluate(x, y, verbose=0),
                               np.mean(np.abs(y - model.predict(x, verbose=0)) ** 3), rtol=1e-6)


def test_loss_and_metric_subclasses_round_trip_with_their_config(tmp_path):
    x, y = _data()
    model = _model(ScaledSquare(3.0), [MaxError()])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = numnet.load_model(tmp_path / "m.npz", custom_objects={"ScaledSquare": ScaledSquare,
                                                                      "MaxError": MaxError})
    loss, worst = restored.evaluate(x, y, verbose=0)
    prediction = model.predict(x, verbose=0)
    np.testing.assert_allclose(loss, 3.0 * np.mean((y - prediction) ** 2), rtol=1e-6)
    np.testing.assert_allclose(worst, np.max(np.abs(y - prediction)), rtol=1e-6)


def test_compile_false_loads_the_model_without_its_compile_settings(tmp_path):
    x, y = _data()
    model = _model(per_sample_mse)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = numnet.load_model(tmp_path / "m.npz", compile=False)
    assert not restored.compiled
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_lambda_loss_is_refused_by_save_and_nothing_is_written(tmp_path):
    model = _model(lambda y_true, y_pred: ops.mean(ops.square(y_true - y_pred), axis=-1))
    with pytest.raises(ValueError, match="no name a file can refer to"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_load_model_arguments_are_checked():
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        numnet.load_model("anything.npz", custom_objects=[per_sample_mse])
    with pytest.raises(TypeError, match="custom_objects\\['f'\\] must be a function"):
        numnet.load_model("anything.npz", custom_objects={"f": 3})
    with pytest.raises(TypeError, match="compile must be True or False"):
        numnet.load_model("anything.npz", compile="yes")


def test_register_serializable_refuses_a_taken_name():
    with pytest.raises(ValueError, match="already taken"):
        register_serializable(per_sample_mse, name="registered_cubic_test_loss")
