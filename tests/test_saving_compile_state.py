"""Saved compile settings: losses with their arguments, the new metrics and optimizers
round-trip; hostile optimizer / metric / loss values in a file are refused at load
(a ModelFileError naming the field) instead of breaking training later (issue 15, item 10)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Sequential, losses, metrics, optimizers
from numnet.saving import ModelFileError


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4))
    return x, (x[:, :1] + x[:, 1:2] > 0).astype(float)


def _model(loss=None, optimizer=None, metric_list=None):
    model = Sequential([Input((4,)), Dense(5, activation="tanh", seed=1), Dense(1, activation="sigmoid", seed=2)],
                       dtype="float64")
    model.compile(loss=loss or losses.BinaryCrossentropy(label_smoothing=0.1),
                  optimizer=optimizer or optimizers.Adam(0.01, amsgrad=True, clipnorm=1.0),
                  metrics=metric_list if metric_list is not None else
                  [metrics.BinaryAccuracy(threshold=0.4), metrics.F1Score(threshold=0.5),
                   metrics.AUC(num_thresholds=50), metrics.Precision(thresholds=[0.3, 0.6])])
    return model


@pytest.fixture
def saved(tmp_path):
    model = _model()
    model.fit(*_data(), epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "m.npz"
    model.save(path)
    return path


def _rewrite(path, edit_meta=None, arrays=None):
    with np.load(path, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    meta = json.loads(contents["meta"].tobytes())
    if edit_meta is not None:
        edit_meta(meta)
    for name, change in (arrays or {}).items():
        contents[name] = change(contents[name])
    contents["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **contents)


def _slot_array(path, slot):
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes())
    return meta["compile"]["optimizer"]["state"][0]["slots"][slot]


def test_compile_settings_round_trip(saved):
    model = nn.load_model(saved)
    assert isinstance(model.loss, losses.BinaryCrossentropy) and model.loss.params["label_smoothing"] == 0.1
    assert isinstance(model.optimizer, optimizers.Adam) and model.optimizer.amsgrad and model.optimizer.clipnorm == 1.0
    assert [type(m).__name__ for m in model.metrics] == ["BinaryAccuracy", "F1Score", "AUC", "Precision"]
    assert model.metrics[0].threshold == 0.4 and model.metrics[3].thresholds == [0.3, 0.6]
    assert all("v_max" in slots for slots in model.optimizer.state.values())
    model.fit(*_data(), epochs=1, verbose=0)  # training continues


@pytest.mark.parametrize("loss", [losses.Huber(delta=0.3, reduction="sum"), losses.Loss("poisson"),
                                  losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.8], gamma=1.0)],
                         ids=lambda l: type(l).__name__)
def test_losses_keep_their_arguments(tmp_path, loss):
    model = Sequential([Input((4,)), Dense(2, activation="softmax", seed=1)], dtype="float64")
    model.compile(loss=loss, optimizer=optimizers.Lion(1e-3, weight_decay=0.1))
    model.save(tmp_path / "m.npz")
    again = nn.load_model(tmp_path / "m.npz")
    assert type(again.loss) is type(loss) and again.loss.get_config() == loss.get_config()
    assert isinstance(again.optimizer, optimizers.Lion) and again.optimizer.weight_decay == 0.1


def test_files_of_the_first_format_still_load(saved):
    def old_loss(meta):
        meta["compile"]["losses"][0] = {"name": "binary_cross_entropy", "from_logits": False}
    _rewrite(saved, old_loss)
    assert nn.load_model(saved).loss.get_config() == {"name": "binary_cross_entropy", "from_logits": False}


def _optimizer_config(**changes):
    def edit(meta):
        meta["compile"]["optimizer"]["config"].update(changes)
    return edit


def _first_metric(**changes):
    def edit(meta):
        meta["compile"]["metrics"][0][0]["config"].update(changes)
    return edit


@pytest.mark.parametrize("edit, match", [
    (_optimizer_config(learning_rate=float("inf")), "learning_rate must be a finite number"),
    (_optimizer_config(learning_rate=2**64), "learning_rate must be a finite number"),
    (_optimizer_config(weight_decay=1e308), "weight_decay must be a finite number"),
    (_optimizer_config(epsilon=-1.0), "epsilon must be a finite number"),
    (_optimizer_config(clipnorm=0.0), "clipnorm must be a positive"),
    (_optimizer_config(amsgrad="yes"), "amsgrad must be True or False"),
    (_optimizer_config(surprise=1), "unexpected keyword argument 'surprise'"),
    (_first_metric(threshold="abc"), "threshold must be a number"),
    (lambda meta: meta["compile"]["metrics"][0][1]["config"].update(sparse=None), "sparse must be True or False"),
    (lambda meta: meta["compile"]["metrics"][0][2]["config"].update(num_thresholds=10**9), "num_thresholds"),
    (lambda meta: meta["compile"]["losses"][0]["config"].update(label_smoothing=5.0), "label_smoothing"),
    (lambda meta: meta["compile"]["losses"][0].update(class_name="os.system"), "Unknown loss class"),
])
def test_hostile_compile_values_are_model_file_errors(saved, edit, match):
    _rewrite(saved, edit)
    with pytest.raises(ModelFileError, match=match):
        nn.load_model(saved)


def test_a_learning_rate_of_1e999_in_the_json_is_refused(saved):
    with np.load(saved, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    text = contents["meta"].tobytes().decode()
    text = text.replace("\"learning_rate\":0.01", "\"learning_rate\":1e999", 1)
    assert "1e999" in text
    contents["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(saved, **contents)
    with pytest.raises(ModelFileError, match=r"optimizer Adam: learning_rate must be a finite number .* got inf"):
        nn.load_model(saved)


@pytest.mark.parametrize("slot, change, match", [
    ("step", lambda a: np.array(-1, dtype=a.dtype), r"'step' must be a whole number in \[0, 2\*\*62\)"),
    ("v", lambda a: -np.abs(a) - 1.0, "slot 'v' holds negative values"),
    ("v_max", lambda a: np.full_like(a, np.inf), "slot 'v_max' holds NaN or infinite"),
    ("m", lambda a: np.full_like(a, np.nan), "slot 'm' holds NaN or infinite"),
])
def test_poisoned_optimizer_state_is_refused(saved, slot, change, match):
    _rewrite(saved, arrays={_slot_array(saved, slot): change})
    with pytest.raises(ModelFileError, match=match):
        nn.load_model(saved)


def test_constructors_refuse_what_the_loader_refuses():
    for make in (lambda: optimizers.Adam(learning_rate=float("inf")), lambda: optimizers.SGD(learning_rate=2**64),
                 lambda: optimizers.AdamW(weight_decay=1e308)):
        with pytest.raises(ValueError, match="must be a finite number"):
            make()
    with pytest.raises(TypeError, match="threshold must be a number"):
        metrics.BinaryAccuracy(threshold="abc")
    with pytest.raises(TypeError, match="sparse must be True or False"):
        metrics.F1Score(sparse=None)
