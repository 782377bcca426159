"""compile() accepts Keras's execution arguments (run_eagerly, steps_per_execution,
jit_compile, auto_scale_loss), keeps them as attributes, changes no result, and refuses
bad values before anything is kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import numnet


def _model():
    numnet.set_seed(0)
    return numnet.Sequential([numnet.Input((3,)), numnet.Dense(4, activation="relu"), numnet.Dense(1)])


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 3)), rng.normal(size=(32, 1))


def test_execution_arguments_are_kept_and_change_no_result():
    x, y = _data()
    plain = _model()
    plain.compile("adam", "mse")
    assert (plain.run_eagerly, plain.steps_per_execution, plain.jit_compile, plain.auto_scale_loss) == \
        (False, 1, "auto", True)
    keras_style = _model()
    keras_style.compile(optimizer="adam", loss="mse", run_eagerly=True, steps_per_execution=8, jit_compile=False,
                        auto_scale_loss=False)
    assert (keras_style.run_eagerly, keras_style.steps_per_execution, keras_style.jit_compile,
            keras_style.auto_scale_loss) == (True, 8, False, False)
    a = plain.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]
    b = keras_style.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]
    assert a == b
    np.testing.assert_array_equal(plain.predict(x), keras_style.predict(x))


def test_batch_callbacks_still_run_after_every_batch():
    x, y = _data()
    model = _model()
    model.compile("adam", "mse", steps_per_execution=3)
    seen = []
    model.fit(x, y, batch_size=8, epochs=1, verbose=0,
              callbacks=[numnet.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [0, 1, 2, 3]


def test_jit_compile_true_warns_at_the_callers_line_and_trains_as_usual():
    x, y = _data()
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile("adam", "mse", jit_compile=True)
    (warning,) = [w for w in caught if "jit_compile" in str(w.message)]
    assert "no compiler" in str(warning.message) and warning.filename == __file__
    assert model.jit_compile is True
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(run_eagerly="yes"), TypeError, "run_eagerly must be True or False"),
    (dict(auto_scale_loss=1), TypeError, "auto_scale_loss must be True or False"),
    (dict(steps_per_execution=0), ValueError, "steps_per_execution must be a positive integer"),
    (dict(steps_per_execution=2.5), ValueError, "steps_per_execution must be a positive integer"),
    (dict(steps_per_execution=True), ValueError, "steps_per_execution must be a positive integer"),
    (dict(jit_compile="xla"), ValueError, "jit_compile must be True, False or 'auto'"),
    (dict(weighted_metric=["mae"]), TypeError, "unexpected arguments"),
])
def test_bad_execution_arguments_are_refused_and_nothing_is_kept(kwargs, error, match):
    model = _model()
    with pytest.raises(error, match=match):
        model.compile("adam", "mse", **kwargs)
    assert not getattr(model, "compiled", False) and "run_eagerly" not in model.__dict__
    model.compile("sgd", "mae", steps_per_execution=2)
    optimizer = model.optimizer
    with pytest.raises(error, match=match):
        model.compile("adam", "mse", **kwargs)
    assert model.optimizer is optimizer and model.steps_per_execution == 2
