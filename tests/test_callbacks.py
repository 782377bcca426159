"""Callbacks: hook order, History, EarlyStopping (patience, restoring the best weights),
TerminateOnNaN and stopping from a callback."""

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Sequential
from numnet.callbacks import Callback, EarlyStopping, History, TerminateOnNaN


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def _model(optimizer=None):
    model = Sequential([Input((4,)), Dense(6, activation="tanh", seed=1), Dense(2, activation="softmax", seed=2)],
                       dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer or nn.optimizers.SGD(0.1),
                  metrics=["accuracy"])
    return model


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(f"batch_begin {batch}")

    def on_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch}")
        assert np.isfinite(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        self.last_logs = dict(logs)

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_run_in_order_with_model_and_params_set():
    x, y = _data(10)
    recorder = Recorder()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[recorder])
    per_epoch = lambda e: [f"epoch_begin {e}"] + [f"batch_{w} {b}" for b in range(3) for w in ("begin", "end")] + [
        f"epoch_end {e}"]
    assert recorder.calls == ["train_begin", *per_epoch(0), *per_epoch(1), "train_end"]
    assert recorder.model is model
    assert recorder.params["epochs"] == 2 and recorder.params["steps"] == 3
    assert set(recorder.last_logs) == {"loss", "accuracy"}


def test_history_records_every_epoch_and_is_returned_and_kept_on_the_model():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.2)
    assert isinstance(history, History) and model.history is history
    assert history.epoch == [0, 1, 2]
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())


def test_a_callback_can_stop_training():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = _data()
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert len(history.history["loss"]) == 2


def test_callbacks_must_be_callback_instances():
    x, y = _data()
    model = _model()
    before = model.get_weights()
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(x, y, verbose=0, callbacks=[lambda logs: None])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


class Scripted(Callback):
    """Writes a scripted value into the epoch logs (runs before EarlyStopping) and
    records the weights at the end of every epoch."""

    def __init__(self, values):
        super().__init__()
        self.values = values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]
        self.weights.append(self.model.get_weights())


@pytest.mark.parametrize("patience, epochs_run", [(0, 4), (1, 4), (2, 5), (3, 6)])
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience, epochs_run):
    # Best at epoch 2, then no improvement: as in Keras, training stops at the epoch where
    # `patience` epochs in a row have not improved (the first such epoch when patience is 0).
    values = [5.0, 4.0, 3.0, 3.0, 3.5, 3.2, 3.1, 3.0, 3.0, 3.0]
    x, y = _data()
    stopper = EarlyStopping(monitor="score", patience=patience, mode="min")
    scripted = Scripted(values)
    _model().fit(x, y, epochs=10, verbose=0, callbacks=[scripted, stopper])
    assert len(scripted.weights) == epochs_run
    assert stopper.best_epoch == 2 and stopper.stopped_epoch == epochs_run - 1


def test_min_delta_counts_small_gains_as_no_improvement():
    x, y = _data()
    stopper = EarlyStopping(monitor="score", patience=1, min_delta=0.5, mode="min")
    scripted = Scripted([5.0, 4.8, 4.7, 4.6, 1.0])
    _model().fit(x, y, epochs=5, verbose=0, callbacks=[scripted, stopper])
    assert len(scripted.weights) == 2 and stopper.best_epoch == 0


def test_restore_best_weights_restores_the_best_epoch():
    values = [0.9, 0.5, 0.7, 0.8, 0.6, 0.9]  # best (min) at epoch 1; stops at epoch 3
    x, y = _data()
    stopper = EarlyStopping(monitor="score", patience=2, mode="min", restore_best_weights=True)
    scripted = Scripted(values)
    model = _model()
    model.fit(x, y, epochs=6, verbose=0, callbacks=[scripted, stopper])
    assert len(scripted.weights) == 4 and stopper.best_epoch == 1
    for restored, best, last in zip(model.get_weights(), scripted.weights[1], scripted.weights[-1]):
        np.testing.assert_array_equal(restored, best)
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), scripted.weights[-1]))


def test_restore_best_weights_on_real_validation_loss():
    x, y = _data(60)
    nn.set_seed(0)
    scripted = Scripted([0.0] * 30)
    stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model = _model(nn.optimizers.SGD(3.0))  # large steps: val_loss wanders
    history = model.fit(x, y, epochs=30, verbose=0, validation_split=0.3, callbacks=[scripted, stopper])
    best = int(np.argmin(history.history["val_loss"]))
    assert stopper.best_epoch == best
    for restored, expected in zip(model.get_weights(), scripted.weights[best]):
        np.testing.assert_array_equal(restored, expected)


def test_without_restore_the_last_weights_stay():
    x, y = _data()
    scripted = Scripted([1.0, 2.0, 3.0, 4.0])
    model = _model()
    model.fit(x, y, epochs=4, verbose=0, callbacks=[scripted, EarlyStopping(monitor="score", patience=1, mode="min")])
    for a, b in zip(model.get_weights(), scripted.weights[-1]):
        np.testing.assert_array_equal(a, b)


def test_mode_auto_maximises_accuracy_like_metrics():
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="patience must be a non-negative integer"):
        EarlyStopping(patience=-1)


def test_early_stopping_on_an_unknown_monitor_warns_before_training_and_lists_the_logs():
    x, y = _data()
    model = _model()
    with pytest.warns(UserWarning, match=r"monitors 'val_loss'.*\['loss', 'accuracy'\].*validation_split"):
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=[EarlyStopping(monitor="val_loss", patience=0)])
    assert len(history.history["loss"]) == 3  # it never acted, as in Keras


def test_terminate_on_nan_stops_quietly_with_finite_weights():
    x, y = _data()
    y_reg = np.random.default_rng(1).normal(size=(len(x), 1)) * 100
    model = Sequential([Input((4,)), Dense(8, activation="relu", seed=1), Dense(1, seed=2)], dtype="float64")
    model.compile(loss="mse", optimizer=nn.optimizers.SGD(1e6))
    with np.errstate(all="ignore"):
        history = model.fit(x, y_reg, epochs=20, batch_size=5, verbose=0, callbacks=[TerminateOnNaN()])
    assert model.stop_training
    assert len(history.history.get("loss", [])) < 20
    assert all(np.isfinite(w).all() for w in model.get_weights())
