"""Keras's namespaces and entry points: numnet.models, numnet.activations, numnet.utils,
numnet.backend.clear_session, model.export, Sequential.pop, and every submodule after `import numnet`."""

import os
import pkgutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import numnet
from numnet import Dense, Input, Model, Sequential, activations


def test_models_namespace(tmp_path):
    from numnet import models, saving

    assert models.Model is Model and models.Sequential is Sequential
    assert {"Model", "Sequential", "load_model", "save_model", "clone_model", "model_from_json"} <= set(models.__all__)
    numnet.set_seed(0)
    model = Sequential([Input((3,)), Dense(2)])
    models.save_model(model, tmp_path / "m.npz")
    loaded = models.load_model(tmp_path / "m.npz")
    assert type(loaded) is Sequential
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 3)), verbose=0), model.predict(np.ones((2, 3)), verbose=0))
    assert numnet.load_model is saving.load_model
    assert models.clone_model(model).get_config() == model.get_config()
    assert models.model_from_json(model.to_json()).get_config() == model.get_config()


_ACTIVATIONS = [n for n in activations.__all__ if n not in ("get", "serialize", "deserialize")]


@pytest.mark.parametrize("name", _ACTIVATIONS)
def test_every_activation_callable_works_as_activation_argument(name):
    function = getattr(activations, name)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    by_callable, by_name = Dense(4, activation=function), Dense(4, activation=activations.serialize(function))
    by_callable.build_for((3,))
    by_name.build_for((3,))
    by_name.set_weights(by_callable.get_weights())
    np.testing.assert_array_equal(by_callable(x), by_name(x))
    z = x @ by_callable.params["kernel"] + by_callable.params["bias"]
    np.testing.assert_allclose(by_callable(x), function(z), rtol=1e-6, atol=1e-7)


def test_utils_namespace():
    from numnet.utils import image_dataset, model_plot, text_dataset

    assert numnet.utils.image_dataset_from_directory is image_dataset.image_dataset_from_directory
    assert numnet.utils.text_dataset_from_directory is text_dataset.text_dataset_from_directory
    assert numnet.utils.plot_model is model_plot.plot_model
    assert issubclass(numnet.utils.ImageDataset, numnet.utils.PyDataset)
    assert issubclass(numnet.utils.TextDataset, numnet.utils.PyDataset)
    assert numnet.utils.pad_sequences([[1], [2, 3]]).tolist() == [[0, 1], [2, 3]]


def test_clear_session_resets_default_names():
    numnet.backend.clear_session()
    first = Dense(2)
    model = Sequential([Input((3,)), first])
    assert (first.name, model.name, model.inputs[0].node.layer.name) == ("dense", "sequential", "input_layer")
    assert Dense(2).name == "dense_1"
    numnet.backend.clear_session()
    assert Dense(2).name == "dense" and first.name == "dense"    # existing layers keep their names
    assert numnet.backend.backend() == "numpy"


def test_model_export_onnx_beside_export_onnx(tmp_path):
    numnet.set_seed(1)
    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    model.export(tmp_path / "a.onnx", format="onnx")
    numnet.export.export_onnx(model, tmp_path / "b.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="supports format='onnx', got 'tf_saved_model'"):
        model.export(tmp_path / "c", format="tf_saved_model")
    assert not (tmp_path / "c").exists()


def test_sequential_pop_after_training_needs_compile_again():
    model = Sequential([Input((3,)), Dense(4, name="hidden"), Dense(1, name="out")])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 1)), epochs=1, verbose=0)
    hidden = model.get_layer("hidden").get_weights()
    popped = model.pop()
    assert popped.name == "out" and [l.name for l in model.layers] == ["hidden"] and model.output_shape == (4,)
    assert not model.compiled
    assert all(np.array_equal(a, b) for a, b in zip(hidden, model.get_layer("hidden").get_weights()))
    model.add(Dense(2, name="new_out"))
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 2)


def _public_submodules():
    return sorted(m.name for m in pkgutil.iter_modules(numnet.__path__)
                  if not m.name.startswith("_"))


def test_every_submodule_is_reachable_after_import_numnet():
    # A fresh interpreter: in this one, other tests have imported submodules already.
    names = _public_submodules()
    assert {"activations", "backend", "callbacks", "export", "layers", "models", "saving", "schedules",
            "utils"} <= set(names)
    src = os.path.dirname(os.path.dirname(numnet.__file__))
    code = ("import numnet, sys; missing = [n for n in sys.argv[1:] if not hasattr(numnet, n)]; "
            "print(missing); sys.exit(1 if missing else 0)")
    done = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src})
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-c", "import numnet; numnet.export.onnx.export_onnx; "
                           "numnet.layers.core.Dense; numnet.graph.plan.Plan; numnet.utils.file_dataset.FileDataset"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src})
    assert done.returncode == 0, done.stderr
