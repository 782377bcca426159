"""A model's architecture as data: get_config / from_config, to_json / model_from_json, clone_model."""

import json

import numpy as np
import pytest

import numnet
from numnet import (LSTM, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Embedding, Flatten, Input,
                    MaxPool2D, Model, Sequential)
from numnet.models import clone_model, model_from_json


def _graph():
    """Two inputs, a shared layer (called twice), a nested Sequential, two outputs as a dict."""
    numnet.set_seed(3)
    left, right = Input((4,), name="left"), Input((4,), name="right")
    encode = Dense(6, activation="tanh", name="encode")
    inner = Sequential([Input((6,)), Dense(5, activation="relu", name="inner_dense"), Dense(2, name="inner_out")],
                       name="inner")
    merged = Concatenate(name="merge")([encode(left), encode(right)])
    same = Dense(1, activation="sigmoid", name="same")(merged)
    code = inner(encode(left))
    return Model([left, right], {"same": same, "code": code}, name="siamese")


def _data(n=7):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 4)).astype("float32")]


def _calls(model):
    """Each layer's name with the number of times this model calls it and its class."""
    return [(layer.name, type(layer).__name__, len(layer._inbound_nodes)) for layer in model.layers]


# --- get_config / from_config ------------------------------------------------------------------
def test_functional_config_is_json_and_rebuilds_the_same_graph():
    model = _graph()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config          # plain JSON values
    assert config["kind"] == "functional" and config["name"] == "siamese"
    assert config["input_names"] == ["left", "right"] and config["output_names"] == ["same", "code"]
    assert [r["class_name"] for r in config["layers"]] == ["InputLayer", "InputLayer", "Dense", "Concatenate",
                                                           "Dense", "Sequential"]
    assert "weights" not in json.dumps(config)               # the architecture only, no arrays
    # The shared layer is one record and two calls (nodes): both read encode's outputs.
    assert [n["layer"] for n in config["nodes"]] == ["left", "right", "encode", "encode", "merge", "same",
                                                     "encode", "inner"]

    rebuilt = Model.from_config(config)
    assert rebuilt is not model and type(rebuilt) is Model and rebuilt.name == "siamese"
    assert rebuilt.get_config() == config
    assert _calls(rebuilt) == [("encode", "Dense", 3), ("merge", "Concatenate", 1), ("same", "Dense", 1),
                               ("inner", "Sequential", 1)]
    assert rebuilt.get_layer("inner") is not model.get_layer("inner")
    assert rebuilt.output_names == ["same", "code"]
    out = rebuilt.predict(_data(), verbose=0)
    assert set(out) == {"same", "code"} and out["same"].shape == (7, 1) and out["code"].shape == (7, 2)


def test_from_config_gives_new_weights_and_the_same_function_once_they_are_copied():
    model = _graph()
    rebuilt = Model.from_config(model.get_config())
    old, new = model.get_layer("encode").params, rebuilt.get_layer("encode").params
    assert old["kernel"].shape == new["kernel"].shape == (4, 6)
    assert not np.allclose(old["kernel"], new["kernel"])     # initialised afresh
    np.testing.assert_array_equal(new["bias"], np.zeros(6))
    rebuilt.set_weights(model.get_weights())                 # same layout, weight for weight
    expected, got = model.predict(_data(), verbose=0), rebuilt.predict(_data(), verbose=0)
    np.testing.assert_array_equal(got["same"], expected["same"])
    np.testing.assert_array_equal(got["code"], expected["code"])


def test_sequential_config_built_and_unbuilt():
    model = Sequential([Input((3,)), Dense(4, activation="relu"), Dropout(0.25), Dense(2)], name="stack")
    config = model.get_config()
    assert config["kind"] == "sequential"
    assert [r["class_name"] for r in config["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert config["layers"][2]["config"]["rate"] == 0.25
    twin = Sequential.from_config(config)
    assert type(twin) is Sequential and twin.built and twin.output_shape == (2,)
    assert twin.get_config() == config

    unbuilt = Sequential([Dense(4), Dense(1)], name="later")
    config = unbuilt.get_config()
    assert [r["class_name"] for r in config["layers"]] == ["Dense", "Dense"]
    twin = Model.from_config(config)                          # Model.from_config dispatches on the kind
    assert type(twin) is Sequential and not twin.built and [l.units for l in twin.layers] == [4, 1]
    assert twin.predict(np.ones((2, 5)), verbose=0).shape == (2, 1)   # built by its first data


def test_dtype_and_frozen_layers_survive_the_config():
    x = Input((3,))
    frozen = Dense(4, name="frozen")
    model = Model(x, Dense(1, name="head")(frozen(x)), dtype="float64")
    frozen.trainable = False
    twin = Model.from_config(model.get_config())
    assert twin.dtype == np.float64 and twin.get_layer("head").params["kernel"].dtype == np.float64
    assert twin.get_layer("frozen").trainable is False and twin.get_layer("head").trainable is True


@pytest.mark.parametrize("make", [
    lambda: Sequential([Input((8, 8, 1)), Conv2D(3, 3, activation="relu", padding="same"), MaxPool2D(2),
                        BatchNormalization(), Flatten(), Dropout(0.5), Dense(2, activation="softmax")]),
    lambda: Sequential([Input((5,), dtype="int64"), Embedding(10, 4), LSTM(3), Dense(1)]),
], ids=["conv", "recurrent"])
def test_built_in_layers_round_trip_through_config_and_json(make):
    numnet.set_seed(0)
    model = make()
    twin = model_from_json(model.to_json())
    assert twin.get_config() == model.get_config()
    assert [l.get_config() for l in twin.layers] == [l.get_config() for l in model.layers]
    twin.set_weights(model.get_weights())
    x = np.random.default_rng(1).integers(0, 10, size=(4, 5)) if "Embedding" in model.to_json() else \
        np.random.default_rng(1).normal(size=(4, 8, 8, 1))
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# --- to_json / model_from_json -----------------------------------------------------------------
def test_to_json_names_the_class_and_round_trips():
    model = _graph()
    text = model.to_json(indent=2)
    record = json.loads(text)
    assert record["class_name"] == "Functional" and record["numnet_version"] == numnet.__version__
    assert record["config"] == model.get_config()
    rebuilt = model_from_json(text)
    assert type(rebuilt) is Model and rebuilt.get_config() == model.get_config()
    seq = Sequential([Input((2,)), Dense(1)])
    assert json.loads(seq.to_json())["class_name"] == "Sequential"
    assert type(model_from_json(seq.to_json())) is Sequential


@numnet.register_layer(name="ConfigTestResidual")
class _Residual(Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = Dense(units, activation="relu")
        self.out = Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_config_is_its_arguments():
    model = _Residual(units=5, name="res")
    assert model.get_config() == {"name": "res", "trainable": True, "units": 5}
    assert json.loads(model.to_json())["class_name"] == "ConfigTestResidual"
    twin = model_from_json(model.to_json())
    assert type(twin) is _Residual and twin.units == 5 and twin.name == "res"
    model.predict(np.ones((2, 3)), verbose=0)
    clone = clone_model(model)
    assert type(clone) is _Residual and clone.units == 5 and clone._plan is None   # built by its first data
    assert clone.predict(np.ones((2, 3)), verbose=0).shape == (2, 1)
    assert not np.allclose(clone.hidden.params["kernel"], model.hidden.params["kernel"])


def test_config_errors_name_what_is_wrong():
    model = _graph()
    before = model.get_weights()
    with pytest.raises(TypeError, match="expects the dict model.get_config"):
        Model.from_config([1, 2])
    with pytest.raises(ValueError, match="'kind'"):
        Model.from_config({"name": "x"})
    with pytest.raises(ValueError, match="Sequential.from_config got the config of a functional model"):
        Sequential.from_config(model.get_config())
    config = model.get_config()
    config["layers"][2]["class_name"] = "NoSuchLayer"
    with pytest.raises(ValueError, match="model config: layer #2 has class 'NoSuchLayer'"):
        Model.from_config(config)
    config = model.get_config()
    config["nodes"][4]["inputs"] = [[9, 0]]
    with pytest.raises(ValueError, match="model config: node #4 refers to output 0 of node 9"):
        Model.from_config(config)
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{not json")
    with pytest.raises(ValueError, match="'class_name' and 'config'"):
        model_from_json('{"config": {}}')
    with pytest.raises(ValueError, match="'Dense' is not a model class"):
        model_from_json('{"class_name": "Dense", "config": {}}')
    with pytest.raises(TypeError, match="expects JSON text"):
        model_from_json(model.get_config())
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# --- clone_model -------------------------------------------------------------------------------
def test_clone_model_same_architecture_new_weights_shared_layer_kept_shared():
    model = _graph()
    calls_before = _calls(model)
    clone = clone_model(model)
    assert clone.get_config() == model.get_config() and _calls(model) == calls_before
    assert _calls(clone) == [("encode", "Dense", 3), ("merge", "Concatenate", 1), ("same", "Dense", 1),
                             ("inner", "Sequential", 1)]
    for path, layer in model.leaf_layers():
        twin = dict(clone.leaf_layers())[path]
        assert twin is not layer
        for key, value in layer.params.items():
            if key == "kernel":
                assert not np.allclose(twin.params[key], value), path   # re-initialised
            else:
                np.testing.assert_array_equal(twin.params[key], np.zeros_like(value))  # zeros, as initialised
    assert clone.inputs[0] is not model.inputs[0] and clone.inputs[0].shape == (None, 4)


def test_clone_resets_trained_state():
    numnet.set_seed(1)
    model = Sequential([Input((3,)), Dense(4), BatchNormalization(name="bn"), Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 3))
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert not np.allclose(model.get_layer("bn").buffers["moving_mean"], 0.0)
    clone = clone_model(model)
    np.testing.assert_array_equal(clone.get_layer("bn").buffers["moving_mean"], np.zeros(4))
    np.testing.assert_array_equal(clone.get_layer("bn").buffers["moving_variance"], np.ones(4))
    assert not clone.compiled                                  # Keras: a clone is not compiled


def test_clone_on_given_input_tensors():
    model = _graph()
    a, b = Input((4,), name="a"), Input((4,), name="b")
    clone = clone_model(model, input_tensors=[a, b])
    assert clone.inputs == [a, b] and clone.input_names == ["a", "b"]
    clone = clone_model(model, input_tensors={"left": Input((4,), name="l2"), "right": Input((4,), name="r2")})
    assert clone.input_names == ["l2", "r2"]
    seq = Sequential([Input((3,)), Dense(2)])
    z = Input((3,), name="z")
    assert clone_model(seq, input_tensors=z).inputs == [z]


def test_clone_function_shares_or_changes_layers():
    model = _graph()
    shared = clone_model(model, clone_function=lambda layer: layer)    # Keras's way of sharing weights
    assert shared.get_layer("encode") is model.get_layer("encode")
    assert shared.get_layer("encode").params["kernel"] is model.get_layer("encode").params["kernel"]
    np.testing.assert_array_equal(shared.predict(_data(), verbose=0)["same"], model.predict(_data(), verbose=0)["same"])

    seen = []

    def wider(layer):
        seen.append(layer.name)
        config = layer.get_config()
        if layer.name == "same":
            config["activation"] = "linear"
        return type(layer).from_config(config)

    changed = clone_model(model, clone_function=wider)
    assert seen == ["encode", "merge", "same", "inner"]                # never the Input layers
    assert changed.get_layer("same").output_activation is None
    inner_seen = []
    clone_model(model, clone_function=lambda l: inner_seen.append(l.name) or type(l).from_config(l.get_config()),
                recursive=True)
    assert inner_seen == ["encode", "merge", "same", "inner_dense", "inner_out"]


def test_clone_model_errors_leave_the_model_alone():
    model = _graph()
    calls = _calls(model)
    with pytest.raises(TypeError, match="clone_model expects a numnet Model"):
        clone_model(Dense(3))
    with pytest.raises(TypeError, match="clone_function must be callable"):
        clone_model(model, clone_function=3)
    with pytest.raises(ValueError, match="the model has 2 input\\(s\\); input_tensors holds 1"):
        clone_model(model, input_tensors=[Input((4,))])
    with pytest.raises(ValueError, match="needs the keys \\['left', 'right'\\]"):
        clone_model(model, input_tensors={"left": Input((4,))})
    with pytest.raises(TypeError, match="must come from numnet.Input"):
        clone_model(model, input_tensors=[Input((4,)), Dense(4)(Input((4,)))])
    with pytest.raises(TypeError, match="clone_function returned None for layer 'encode'"):
        clone_model(model, clone_function=lambda layer: None)
    with pytest.raises(ValueError, match="is subclassed"):
        clone_model(_Residual(), clone_function=lambda layer: layer)
    assert _calls(model) == calls


def test_docs_model_config_examples_run():
    """docs/model_config.md: every python block runs as written (each asserts its own claims)."""
    import os
    import re

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "model_config.md")
    blocks = re.findall(r"```python\n(.*?)```", open(path, encoding="utf-8").read(), flags=re.S)
    assert len(blocks) == 3
    for index, code in enumerate(blocks):
        exec(compile(code, f"docs/model_config.md example {index + 1}", "exec"), {"__name__": f"doc_{index}"})


def test_custom_layers_in_a_config(monkeypatch):
    from numnet import saving

    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", dict(saving._CUSTOM_LAYERS))   # registered for this test only

    @numnet.register_layer(name="ConfigTestScale")
    class Scale(numnet.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    x = Input((3,))
    model = Model(x, Dense(1)(Scale(3.0, name="scale")(x)))
    text = model.to_json()
    twin = model_from_json(text)
    assert type(twin.get_layer("scale")) is Scale and twin.get_layer("scale").factor == 3.0
    del saving._CUSTOM_LAYERS["ConfigTestScale"]                 # another process: the class is not registered
    with pytest.raises(ValueError, match="has class 'ConfigTestScale', which is neither a numnet layer nor registered"):
        model_from_json(text)
    twin = model_from_json(text, custom_objects={"ConfigTestScale": Scale})
    assert twin.get_layer("scale").factor == 3.0
    with pytest.raises(TypeError, match=r"custom_objects\['ConfigTestScale'\] must be a numnet Layer subclass"):
        model_from_json(text, custom_objects={"ConfigTestScale": len})


def test_clone_with_call_function_inserts_layers():
    from numnet import Activation

    model = _graph()
    calls = []

    def wrap(layer, inputs, **kwargs):
        calls.append((layer.name, kwargs))
        out = layer(inputs, **kwargs)
        if layer.name == "same":                                # a new layer after one call
            return Activation("tanh", name="after_same")(out)
        return out

    clone = clone_model(model, call_function=wrap)
    assert [name for name, _ in calls] == ["encode", "encode", "merge", "same", "encode", "inner"]
    assert all(kwargs == {} for _, kwargs in calls)            # no call of this model fixed `training`
    assert [l.name for l in clone.layers] == ["encode", "merge", "same", "after_same", "inner"]
    assert clone.get_layer("same") is not model.get_layer("same")
    out = clone.predict(_data(), verbose=0)["same"]
    assert out.shape == (7, 1) and (np.abs(out) < np.tanh(1.0) + 1e-6).all()   # tanh of a sigmoid
    with pytest.raises(ValueError, match="call_function applies to functional models; model 'inner' is a Sequential"):
        clone_model(model.get_layer("inner"), call_function=wrap)
    with pytest.raises(TypeError, match="call_function must be callable"):
        clone_model(model, call_function="tanh")
