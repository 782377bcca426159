"""Saving, loading and ONNX export of graphs: shared layers, nested models, several
outputs; files of the first format still load."""

import os

import numpy as np
import pytest

import numnet as nn
from numnet import Add, BatchNormalization, Concatenate, Conv2D, Dense, Flatten, Input, MaxPool2D, Model, Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _graph_model():
    """A shared Dense on two inputs, a nested model called twice (with a frozen BatchNorm
    call), and two named outputs."""
    inner = Input((4,))
    encoder = Model(inner, BatchNormalization(name="bn")(Dense(4, activation="tanh", name="enc")(inner)),
                    name="encoder")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(4, activation="relu", name="shared")
    merged = Add(name="sum")([encoder(shared(a)), encoder(shared(b), training=False)])
    out_cls = Dense(3, activation="softmax", name="cls")(merged)
    out_reg = Dense(1, name="reg")(Concatenate(name="cat")([merged, shared(a)]))
    model = Model({"a": a, "b": b}, {"cls": out_cls, "reg": out_reg}, name="graph", seed=0)
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.3}, metrics={"cls": ["accuracy"]})
    return model


def _data(n=24):
    rng = np.random.default_rng(1)
    x = {"a": rng.normal(size=(n, 4)).astype(np.float32), "b": rng.normal(size=(n, 4)).astype(np.float32)}
    y = {"cls": rng.integers(0, 3, n), "reg": rng.normal(size=(n, 1)).astype(np.float32)}
    return x, y


def test_a_graph_with_shared_layers_nested_models_and_two_outputs_round_trips(tmp_path):
    model = _graph_model()
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "g.npz")
    loaded = nn.load_model(tmp_path / "g.npz")
    assert loaded.output_names == ["cls", "reg"] and loaded.input_names == ["a", "b"]
    assert [p for p, _ in loaded.leaf_layers()] == [p for p, _ in model.leaf_layers()]
    assert len(loaded.get_layer("shared")._inbound_nodes) == 3
    assert loaded.get_layer("encoder")._plan is not None
    for key in ("cls", "reg"):
        np.testing.assert_array_equal(loaded.predict(x)[key], model.predict(x)[key])
    # Training continues exactly: optimizer state and iterations came along.
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for p, q in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_the_weights_file_of_a_nested_model_names_layers_by_path(tmp_path):
    model = _graph_model()
    model.save_weights(tmp_path / "w.npz")
    other = _graph_model()
    other.load_weights(tmp_path / "w.npz")
    for p, q in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_a_frozen_sub_model_stays_frozen_after_loading(tmp_path):
    inner = Input((3,))
    base = Model(inner, Dense(3, name="base_dense")(inner), name="base")
    base.trainable = False
    x = Input((3,))
    model = Model(x, Dense(1, name="head")(base(x)))
    model.compile("sgd", "mse")
    model.save(tmp_path / "f.npz")
    loaded = nn.load_model(tmp_path / "f.npz")
    assert not loaded.get_layer("base").trainable and not loaded.get_layer("base").get_layer("base_dense").trainable
    assert [w.shape for w in loaded.trainable_weights] == [(3, 1), (1,)]


def test_a_sequential_holding_a_model_round_trips(tmp_path):
    inner = Input((4,))
    block = Model(inner, Dense(5, activation="relu", name="block_dense")(inner), name="block")
    model = Sequential([Input((4,)), block, Dense(2, name="top")], name="stack")
    model.compile("sgd", "mse")
    model.save(tmp_path / "s.npz")
    loaded = nn.load_model(tmp_path / "s.npz")
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    assert type(loaded) is Sequential and [l.name for l in loaded.layers] == ["block", "top"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("name, inputs", [("functional", ["xa", "xb"]), ("sequential", ["ximg"])])
def test_files_of_the_first_format_still_load(name, inputs):
    """Written by numnet before the graph (tests/fixtures/make_format_v1_files.py)."""
    expected = np.load(os.path.join(FIXTURES, "format_v1_expected.npz"))
    model = nn.load_model(os.path.join(FIXTURES, f"format_v1_{name}.npz"))
    x = [expected[k] for k in inputs]
    np.testing.assert_allclose(model.predict(x if len(x) > 1 else x[0]), expected[name], rtol=1e-6, atol=1e-7)
    assert model.compiled and model.optimizer.iterations > 0
    model.fit(x if len(x) > 1 else x[0], np.zeros(len(x[0]), int) if name == "functional" else
              np.eye(2)[np.zeros(len(x[0]), int)], epochs=1, verbose=0)


def test_a_layer_inside_and_outside_a_nested_model_cannot_be_saved_but_weights_can(tmp_path):
    dense = Dense(3, name="both")
    inner = Input((3,))
    nested = Model(inner, dense(inner), name="nested")
    x = Input((3,))
    model = Model(x, dense(nested(x)))
    with pytest.raises(ValueError, match="used both inside a nested model and outside it"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    model.save_weights(tmp_path / "w.npz")


# --- ONNX -------------------------------------------------------------------------------------------------
onnxruntime = pytest.importorskip("onnxruntime")


def _onnx_outputs(model, path, feeds):
    model.export_onnx(path)
    session = onnxruntime.InferenceSession(str(path))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def test_onnx_export_of_shared_layers_nested_models_and_two_outputs_equals_predict(tmp_path):
    model = _graph_model()
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)  # BatchNorm statistics move
    got = _onnx_outputs(model, tmp_path / "g.onnx", x)
    expected = model.predict(x)
    assert sorted(got) == ["cls", "reg"]
    for key in ("cls", "reg"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-5)


def test_onnx_export_writes_a_shared_layers_weights_once(tmp_path):
    import onnx

    x = Input((4,), name="x")
    shared = Dense(4, activation="tanh", name="shared")
    model = Model(x, shared(shared(shared(x))))
    model.export_onnx(tmp_path / "s.onnx")
    proto = onnx.load(str(tmp_path / "s.onnx"))
    assert len(proto.graph.initializer) == 2  # one kernel, one bias
    data = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    got = onnxruntime.InferenceSession(str(tmp_path / "s.onnx")).run(None, {"x": data})[0]
    np.testing.assert_allclose(got, model.predict(data), rtol=1e-5, atol=1e-6)


def test_onnx_export_of_a_nested_cnn(tmp_path):
    inner = Input((8, 8, 1))
    features = Model(inner, Flatten()(MaxPool2D(2)(Conv2D(3, 3, activation="relu", seed=0)(inner))), name="features")
    x = Input((8, 8, 1), name="image")
    model = Model(x, Dense(2, activation="softmax", seed=1)(features(x)))
    data = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype(np.float32)
    got = _onnx_outputs(model, tmp_path / "c.onnx", {"image": data})
    np.testing.assert_allclose(list(got.values())[0], model.predict(data), rtol=1e-5, atol=1e-6)
