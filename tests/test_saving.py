"""model.save / numnet.load_model / save_weights / load_weights: exact round trips, exact
continuation of training, custom layers, atomic saves, and clear errors for bad files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import numnet as nn
from numnet import (
    Activation, Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, GlobalMaxPooling2D, Input, Layer, LayerNormalization, MaxPool2D, Model, Reshape,
    Sequential,
)
from numnet import optimizers, saving
from numnet.saving import ModelFileError
from numnet.schedules import CosineDecay, ExponentialDecay


def _images(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8, 8, 2)).astype(np.float32), rng.integers(0, 3, size=n)


def _every_layer_model(dtype="float32"):
    """A functional CNN using every layer kind numnet has."""
    nn.set_seed(0)
    image = Input((8, 8, 2), name="image")
    c = Conv2D(4, 3, padding="same", activation="relu", name="conv")(image)
    c = BatchNormalization(name="bn")(c)
    p = MaxPool2D(2, name="max_pool")(c)
    a = AveragePooling2D(2, strides=1, padding="same", name="avg_pool")(p)
    g1 = GlobalAveragePooling2D(name="gap")(a)
    g2 = GlobalMaxPooling2D(name="gmp")(p)
    f = Flatten(name="flatten")(a)
    r = Reshape((4, -1), name="reshape")(f)
    r = LayerNormalization(name="ln")(r)
    r = Flatten(name="flatten_2")(r)
    d = Dense(4, activation="gelu", name="dense")(Dropout(0.3, name="dropout")(r))
    s = Add(name="add")([g1, g2, d])
    m = Concatenate(name="concat")([s, g1])
    out = Activation("softmax", name="softmax")(Dense(3, name="logits")(m))
    return Model(image, out, dtype=dtype, name="every_layer", seed=5)


def _sequential(optimizer="adam", dtype="float32"):
    nn.set_seed(1)
    model = Sequential(
        [Input((8, 8, 2)), Conv2D(3, 3, activation="relu"), BatchNormalization(), Flatten(), Dropout(0.25),
         Dense(8, activation="tanh"), Dense(3, activation="softmax")],
        dtype=dtype, seed=2,
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy", "f1"])
    return model


def _weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


# --- round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_kind_round_trips_with_bit_identical_predictions(tmp_path, dtype):
    x, y = _images()
    model = _every_layer_model(dtype)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # moves BN statistics, creates optimizer state
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert type(loaded) is Model and loaded.name == "every_layer" and loaded.dtype == np.dtype(dtype)
    assert [(type(l), l.name) for l in loaded.layers] == [(type(l), l.name) for l in model.layers]
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    def connections(m):
        return [[t.node.layer.name for t in node.inputs] for node in m._plan.nodes]

    assert connections(loaded) == connections(model)
    assert _weights_equal(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.predict(x).dtype == np.dtype(dtype)
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_uncompiled_model_loads_uncompiled(tmp_path):
    model = _every_layer_model()
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert not loaded.compiled
    x, _ = _images()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_multi_input_model_round_trips(tmp_path):
    a, b = Input((4,), name="a"), Input((2,), name="b")
    h = Concatenate()([Dense(3, activation="relu")(a), Dense(3, activation="elu")(b)])
    model = Model([a, b], Dense(1, activation="sigmoid")(h))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy", "precision"])
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(10, 4)), rng.normal(size=(10, 2))]
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert [i.name for i in loaded.inputs] == ["a", "b"]
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))


def test_compile_settings_are_restored(tmp_path):
    model = Sequential([Input((3,)), Dense(4)])
    model.compile(loss=nn.losses.Loss("categorical_crossentropy", from_logits=True),
                  optimizer=optimizers.SGD(0.05, momentum=0.9, nesterov=True), metrics=["accuracy", "r2"])
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert loaded.loss.name == model.loss.name and loaded.loss.from_logits
    assert [(type(m), m.name) for m in loaded.metrics] == [(type(m), m.name) for m in model.metrics]
    assert type(loaded.optimizer) is optimizers.SGD
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


# --- exact continuation --------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: optimizers.Adam(learning_rate=ExponentialDecay(0.01, 5, 0.5)),
        lambda: optimizers.AdamW(learning_rate=CosineDecay(0.01, 20, alpha=0.1)),
        lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        lambda: optimizers.Adagrad(0.05),
    ],
    ids=["adam-exponential", "adamw-cosine", "sgd-nesterov", "rmsprop-centered", "adagrad"],
)
def test_training_continues_exactly_after_load(tmp_path, make_optimizer):
    x, y = _images(40)
    uninterrupted = _sequential(make_optimizer())
    uninterrupted.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)

    interrupted = _sequential(make_optimizer())
    interrupted.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)
    interrupted.save(tmp_path / "m.npz")
    resumed = nn.load_model(tmp_path / "m.npz")
    assert resumed.optimizer.iterations == interrupted.optimizer.iterations

    # Shuffling, the validation split and dropout masks all continue from the saved generators.
    history_a = uninterrupted.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)
    history_b = resumed.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)
    assert _weights_equal(uninterrupted, resumed)
    assert history_a.history == history_b.history


def test_loading_does_not_consume_the_library_random_stream(tmp_path):
    model = _sequential()
    model.save(tmp_path / "m.npz")
    nn.set_seed(3)
    expected = nn.random.get_generator().random()
    nn.set_seed(3)
    nn.load_model(tmp_path / "m.npz")
    assert nn.random.get_generator().random() == expected


# --- saving errors and atomicity ---------------------------------------------------------
def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model = _sequential()
    model.save(path)
    before = path.read_bytes()

    def crash(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_archive", crash)
    x, y = _images()
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind
    nn.load_model(path)


def test_plain_function_learning_rate_cannot_be_saved(tmp_path):
    model = _sequential(optimizers.SGD(learning_rate=lambda step: 0.1))
    with pytest.raises(ValueError, match="numnet.schedules"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_unbuilt_sequential_cannot_be_saved(tmp_path):
    with pytest.raises(RuntimeError, match="input shape"):
        Sequential([Dense(2)]).save(tmp_path / "m.npz")


# --- custom layers ----------------------------------------------------------------------
class Scale(Layer):
    """y = x * factor * w, w a learned vector."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.add_weight("w", (input_shape[-1],), "ones")

    def forward(self, input):
        self.input = input
        return input * self.factor * self.params["w"]

    def backward(self, output_error):
        self.grads["w"] = (output_error * self.input * self.factor).sum(axis=0)
        return output_error * self.factor * self.params["w"]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _custom_model(layer_cls):
    x = Input((3,))
    model = Model(x, Dense(2)(layer_cls(factor=2.5, name="scale")(x)))
    model.compile(loss="mse", optimizer="adam")
    return model


def test_registered_custom_layer_saves_and_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})
    nn.register_layer(Scale)
    model = _custom_model(Scale)
    model.layers[0].params["w"][...] = [1.0, -2.0, 0.5]
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert type(loaded.layers[0]) is Scale and loaded.layers[0].factor == 2.5
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_register_layer_with_a_name_and_as_a_decorator(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})

    @nn.register_layer(name="my_package.Scale")
    class MyScale(Scale):
        pass

    model = _custom_model(MyScale)
    model.save(tmp_path / "m.npz")
    meta = _read_meta(tmp_path / "m.npz")
    assert meta["model"]["layers"][1]["class_name"] == "my_package.Scale"
    assert type(nn.load_model(tmp_path / "m.npz").layers[0]) is MyScale


def test_unregistered_custom_layer_fails_at_save_time(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})
    with pytest.raises(ValueError, match="register_layer"):
        _custom_model(Scale).save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_custom_layer_without_complete_get_config_fails_at_save_time(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})

    @nn.register_layer
    class Forgetful(Scale):
        def __init__(self, factor, **kwargs):
            super().__init__(factor, **kwargs)

        def get_config(self):
            return Layer.get_config(self)

    with pytest.raises(ValueError, match="get_config"):
        _custom_model(Forgetful).save(tmp_path / "m.npz")


def test_register_layer_refuses_a_builtin_name_and_non_layers(monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})

    class Dense(Scale):
        pass

    with pytest.raises(ValueError, match="numnet's own layer"):
        nn.register_layer(Dense)
    with pytest.raises(TypeError):
        nn.register_layer(int)


def test_loading_a_custom_layer_that_is_not_registered_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_CUSTOM_LAYERS", {})
    nn.register_layer(Scale)
    _custom_model(Scale).save(tmp_path / "m.npz")
    saving._CUSTOM_LAYERS.clear()
    with pytest.raises(ModelFileError, match="'Scale'.*register_layer"):
        nn.load_model(tmp_path / "m.npz")


# --- weights only -------------------------------------------------------------------------
def test_save_weights_and_load_weights_round_trip(tmp_path):
    x, y = _images()
    trained = _sequential()
    trained.fit(x, y, epochs=1, verbose=0)
    trained.save_weights(tmp_path / "w.npz")
    fresh = _sequential()
    assert not _weights_equal(trained, fresh)
    fresh.load_weights(tmp_path / "w.npz")
    assert _weights_equal(trained, fresh)
    np.testing.assert_array_equal(fresh.predict(x), trained.predict(x))


def test_load_weights_rejects_a_different_architecture_and_leaves_the_model_unchanged(tmp_path):
    _sequential().save_weights(tmp_path / "w.npz")
    nn.set_seed(1)
    wider = Sequential([Input((8, 8, 2)), Conv2D(3, 3, activation="relu"), BatchNormalization(), Flatten(),
                        Dropout(0.25), Dense(9, activation="tanh"), Dense(3, activation="softmax")])
    before = wider.get_weights()
    with pytest.raises(ModelFileError, match=r"shape \(108, 8\).*shape \(108, 9\)"):
        wider.load_weights(tmp_path / "w.npz")
    assert all(np.array_equal(a, b) for a, b in zip(before, wider.get_weights()))

    shorter = Sequential([Input((8, 8, 2)), Flatten(), Dense(3)])
    with pytest.raises(ModelFileError, match="6 layers.*has 2"):
        shorter.load_weights(tmp_path / "w.npz")


def test_weights_file_and_model_file_are_not_confused(tmp_path):
    model = _sequential()
    model.save_weights(tmp_path / "w.npz")
    model.save(tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="load_weights"):
        nn.load_model(tmp_path / "w.npz")
    with pytest.raises(ModelFileError, match="load_model"):
        model.load_weights(tmp_path / "m.npz")


# --- bad and hostile files ----------------------------------------------------------------
def _read_meta(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(data["meta"].tobytes())


def _rewrite(path, edit_meta=None, arrays=None):
    """Rewrite a saved file with its metadata edited and/or arrays replaced."""
    with np.load(path, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    meta = json.loads(contents["meta"].tobytes())
    if edit_meta is not None:
        edit_meta(meta)
    contents.update(arrays or {})
    contents["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **contents)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.npz"
    model = _sequential()
    model.fit(*_images(), epochs=1, verbose=0)  # so that the optimizer has state
    model.save(path)
    return path


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load_model(tmp_path / "nothing.npz")


def test_not_an_archive(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"definitely not a model" * 10)
    with pytest.raises(ModelFileError, match="not a numnet file"):
        nn.load_model(tmp_path / "m.npz")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError):
        nn.load_model(saved)


def test_newer_format_version_says_to_upgrade(saved):
    _rewrite(saved, lambda meta: meta.update(format_version=99))
    with pytest.raises(ModelFileError, match="format version 99.*Upgrade numnet"):
        nn.load_model(saved)


def test_unknown_layer_class_is_refused(saved):
    def edit(meta):
        meta["model"]["layers"][1]["class_name"] = "os.system"

    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match="'os.system'.*neither a numnet layer nor registered"):
        nn.load_model(saved)


def test_config_that_would_allocate_a_huge_weight_is_refused_before_allocating(saved):
    def edit(meta):
        dense = next(l for l in meta["model"]["layers"] if l["class_name"] == "Dense")
        dense["config"]["units"] = 10**9

    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match=r"should have shape \(108, 1000000000\).*file holds shape \(108, 8\)"):
        nn.load_model(saved)


def test_weight_of_the_wrong_shape(saved):
    name = next(w["array"] for l in _read_meta(saved)["model"]["layers"] for w in l["weights"])
    _rewrite(saved, arrays={name: np.zeros((3, 3, 2, 4), dtype=np.float32)})
    with pytest.raises(ModelFileError, match="should have shape"):
        nn.load_model(saved)


class _Bomb:
    """Sets a flag if unpickled: loading must never unpickle anything."""

    triggered = False

    def __reduce__(self):
        return (_trigger, ())


def _trigger():
    _Bomb.triggered = True


def test_object_arrays_are_refused_without_unpickling(saved):
    data = io.BytesIO()
    np.save(data, np.array([_Bomb()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(saved, "a") as zf:
        zf.writestr("w99.npy", data.getvalue())
    with pytest.raises(ModelFileError, match="dtype object"):
        nn.load_model(saved)
    assert not _Bomb.triggered


def test_array_header_claiming_a_huge_shape_is_refused_before_reading(saved):
    data = io.BytesIO()
    np.lib.format.write_array_header_1_0(data, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)})
    data.write(b"\0" * 16)
    with zipfile.ZipFile(saved, "a") as zf:
        zf.writestr("w98.npy", data.getvalue())
    with pytest.raises(ModelFileError, match=r"claims shape \(1099511627776,\)"):
        nn.load_model(saved)


@pytest.mark.parametrize("member", ["../../evil.npy", "/etc/passwd.npy", "meta/../x.npy", "sub/w0.npy", "w0"])
def test_unexpected_or_path_like_member_names_are_refused(saved, member):
    with zipfile.ZipFile(saved, "a") as zf:
        zf.writestr(member, b"x")
    with pytest.raises(ModelFileError, match="unexpected entry"):
        nn.load_model(saved)


def test_compressed_members_are_refused(saved, tmp_path):
    with np.load(saved, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    np.savez_compressed(saved, **contents)
    with pytest.raises(ModelFileError, match="compressed"):
        nn.load_model(saved)


def test_deeply_nested_json_is_an_error_not_a_crash(saved):
    nested = "[" * 100_000 + "]" * 100_000
    with np.load(saved, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    contents["meta"] = np.frombuffer(nested.encode(), dtype=np.uint8)
    np.savez(saved, **contents)
    with pytest.raises(ModelFileError, match="JSON"):
        nn.load_model(saved)


def test_meta_that_is_not_json(saved):
    with np.load(saved, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    contents["meta"] = np.frombuffer(b"\xff\xfe not json", dtype=np.uint8)
    np.savez(saved, **contents)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        nn.load_model(saved)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["model"].update(kind="pickle"), "unknown model kind"),
        (lambda m: m["model"].update(dtype="object"), "dtype"),
        (lambda m: m["model"]["layers"].pop(0), "starts with its Input layer"),
        (lambda m: m["model"]["layers"][2]["config"].update(name=m["model"]["layers"][1]["config"]["name"]),
         "two layers are named"),
        (lambda m: m["model"]["rng"].update(bit_generator="Evil"), "unknown random bit generator"),
        (lambda m: m["compile"]["optimizer"].update(class_name="eval"), "unknown optimizer"),
        (lambda m: m["compile"]["metrics"][0][0].update(class_name="exec"), "unknown metric"),
        (lambda m: m["compile"]["optimizer"]["state"][0]["slots"].update(m="w0"), "'w0' is used twice"),
        (lambda m: m["compile"]["optimizer"]["state"][0]["slots"].update(m=m["compile"]["optimizer"]["state"][-1]["slots"]["m"]),
         "slot 'm' has shape"),
        (lambda m: m.pop("model"), "lacks the field 'model'"),
        (lambda m: m.update(format="zip"), "not a numnet-model file"),
    ],
)
def test_inconsistent_metadata_says_what_is_wrong(saved, edit, message):
    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match=message):
        nn.load_model(saved)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
