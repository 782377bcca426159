"""ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler and CSVLogger, driven by hand
(exact epoch-by-epoch rules) and inside real fit runs."""

import csv

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Sequential, optimizers
from numnet.callbacks import CSVLogger, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau
from numnet.schedules import ExponentialDecay


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x @ rng.normal(size=(4, 1))).astype(np.float32)


def _model(optimizer=None):
    nn.set_seed(0)
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(1)], seed=0)
    model.compile(loss="mse", optimizer=optimizer or optimizers.SGD(0.05), metrics=["mae"])
    return model


class _Recorder:
    """A stand-in model that records what the checkpoint asks it to save."""

    def __init__(self, lr=0.1):
        self.saved, self.weights_saved = [], []
        self.optimizer = optimizers.SGD(lr)

    def save(self, path):
        self.saved.append(path)

    def save_weights(self, path):
        self.weights_saved.append(path)


def _drive(callback, model, logs_per_epoch, begin=True):
    callback.set_model(model)
    if begin:
        callback.on_train_begin({})
    for epoch, logs in enumerate(logs_per_epoch):
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(epoch, logs)


# --- ModelCheckpoint ----------------------------------------------------------------------
def test_checkpoint_every_epoch_formats_the_path(tmp_path):
    model = _model()
    x, y = _data()
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt" / "ckpt-{epoch:02d}-{val_loss:.2f}.npz"))  # dir created
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, callbacks=[checkpoint], verbose=0)
    expected = [f"ckpt-{e + 1:02d}-{v:.2f}.npz" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == sorted(expected)
    last = nn.load_model(tmp_path / "ckpt" / expected[-1])
    np.testing.assert_array_equal(last.predict(x), model.predict(x))
    assert checkpoint.last_saved == str(tmp_path / "ckpt" / expected[-1])


def test_checkpoint_save_best_only_saves_on_improvement():
    model = _Recorder()
    checkpoint = ModelCheckpoint("best-{epoch}.npz", monitor="val_loss", save_best_only=True)
    _drive(checkpoint, model, [{"val_loss": v} for v in (1.0, 0.5, 0.7, 0.4, 0.4, float("nan"))])
    assert model.saved == ["best-1.npz", "best-2.npz", "best-4.npz"]
    assert checkpoint.best == 0.4


def test_checkpoint_mode_max_and_auto_for_accuracy():
    for mode in ("max", "auto"):
        model = _Recorder()
        checkpoint = ModelCheckpoint("a{epoch}", monitor="val_accuracy", save_best_only=True, mode=mode,
                                     save_weights_only=True)
        _drive(checkpoint, model, [{"val_accuracy": v} for v in (0.5, 0.4, 0.8, 0.8, 0.9)])
        assert model.weights_saved == ["a1", "a3", "a5"] and model.saved == []


def test_checkpoint_weights_only_in_a_real_run(tmp_path):
    model = _model()
    x, y = _data()
    path = tmp_path / "best.npz"
    model.fit(x, y, epochs=4, batch_size=8, validation_data=(x, y),
              callbacks=[ModelCheckpoint(path, save_best_only=True, save_weights_only=True)], verbose=0)
    fresh = _model()
    fresh.load_weights(path)  # a weights file, loadable into the same architecture
    with pytest.raises(nn.saving.ModelFileError):
        nn.load_model(path)


def test_checkpoint_errors_name_the_problem():
    with pytest.raises(ValueError, match="val_acc.*epoch logs"):
        _drive(ModelCheckpoint("{val_acc}.npz"), _Recorder(), [{"loss": 1.0}])
    recorder = _Recorder()
    _drive(ModelCheckpoint("x.npz", save_best_only=True), recorder, [{"loss": 1.0}])  # no val_loss: no save
    assert recorder.saved == []
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint("x.npz", mode="best")


# --- ReduceLROnPlateau --------------------------------------------------------------------
def test_reduce_lr_after_patience_then_cooldown_and_floor():
    model = _Recorder(lr=1.0)
    callback = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2, min_delta=0.0)
    callback.set_model(model)
    callback.on_train_begin({})
    rates = []
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0]:
        callback.on_epoch_end(len(rates), {"val_loss": loss})
        rates.append(model.optimizer.learning_rate)
    # Keras's rule: epoch 0 sets the best; epochs 1, 2 without improvement -> 0.5 at epoch 2.
    # Epoch 3 ends the one-epoch cooldown and counts (wait 1); epoch 4 -> 0.25; epochs 5, 6
    # -> 0.125, raised to the floor 0.2; the rate then stays at the floor.
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]


def test_reduce_lr_cooldown_delays_counting():
    model = _Recorder(lr=1.0)
    callback = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0.0)
    _drive(callback, model, [])
    rates = []
    for epoch in range(7):
        callback.on_epoch_end(epoch, {"val_loss": 1.0})
        rates.append(model.optimizer.learning_rate)
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]


def test_reduce_lr_min_delta_counts_small_gains_as_no_improvement():
    model = _Recorder(lr=1.0)
    callback = ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.1)
    _drive(callback, model, [{"val_loss": v} for v in (1.0, 0.95, 0.5)])
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_reduce_lr_in_a_real_run_lowers_the_rate():
    model = _model(optimizers.SGD(1e-9))  # too small to improve the loss by min_delta
    callback = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    model.fit(*_data(), epochs=4, batch_size=40, callbacks=[callback], verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(1e-9 * 0.5**3)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"factor": 1.0}, "factor"), ({"patience": -1}, "patience"), ({"min_lr": -1}, "min_lr"),
     ({"cooldown": 1.5}, "cooldown")],
)
def test_reduce_lr_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReduceLROnPlateau(**kwargs)


def test_rate_callbacks_refuse_a_schedule_learning_rate():
    model = _model(optimizers.Adam(learning_rate=ExponentialDecay(0.01, 10, 0.5)))
    x, y = _data()
    for callback in (ReduceLROnPlateau(monitor="loss"), LearningRateScheduler(lambda epoch, lr: lr)):
        with pytest.raises(ValueError, match="schedule"):
            model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)


# --- LearningRateScheduler ----------------------------------------------------------------
def test_scheduler_sets_the_rate_each_epoch_and_training_uses_it():
    x, y = _data()
    seen = []

    class Spy(nn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append((epoch, self.model.optimizer.learning_rate))

    scheduled = _model(optimizers.SGD(0.1))
    scheduled.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr), Spy()])
    assert seen == [(0, 0.1), (1, 0.05), (2, 0.025)]

    by_hand = _model(optimizers.SGD(0.1))
    for lr in (0.1, 0.05, 0.025):
        by_hand.optimizer.learning_rate = lr
        by_hand.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(scheduled.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scheduler_rejects_bad_rates():
    with pytest.raises(TypeError):
        LearningRateScheduler(0.1)
    model = _model()
    with pytest.raises(ValueError, match="non-negative number"):
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))])
    with pytest.raises(ValueError, match="non-negative number"):
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: "fast")])


# --- CSVLogger ----------------------------------------------------------------------------
def test_csv_logger_writes_one_row_per_epoch_matching_the_history(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    x, y = _data()
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, callbacks=[CSVLogger(path)], verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for column, key in enumerate(rows[0][1:], start=1):
        assert [float(r[column]) for r in rows[1:]] == history.history[key]


def test_csv_logger_append_keeps_the_header_and_overwrite_replaces(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=2, callbacks=[CSVLogger(path)], verbose=0)
    model.fit(x, y, epochs=2, callbacks=[CSVLogger(path, append=True)], verbose=0)
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == ["epoch", "loss", "mae"] and len(rows) == 5
    assert [r[0] for r in rows[1:]] == ["0", "1", "0", "1"]
    model.fit(x, y, epochs=1, callbacks=[CSVLogger(path, separator=";")], verbose=0)
    rows = list(csv.reader(open(path, newline=""), delimiter=";"))
    assert len(rows) == 2 and rows[0] == ["epoch", "loss", "mae"]


def test_learning_rate_callbacks_log_the_rate_as_learning_rate_in_history():
    """Keras's log entry: ReduceLROnPlateau and LearningRateScheduler put the epoch's rate in
    its logs as ``learning_rate``; History (run after the user's callbacks) records it."""
    import numnet

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = numnet.Sequential([numnet.Input((3,)), numnet.Dense(1, seed=0)])
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    schedule = numnet.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[schedule])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    model.compile(numnet.optimizers.SGD(0.1), "mse")
    plateau = numnet.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[plateau])
    # min_delta so large that no epoch after the first improves: the rate halves after
    # epochs 2 and 3, and each epoch logs the rate it trained with (Keras logs before reducing)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    assert model.optimizer.learning_rate == pytest.approx(0.025)
