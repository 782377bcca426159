"""Keras 3's callback hooks: on_train_batch_* (the older on_batch_* still work),
on_test_* from evaluate, on_predict_* from predict, stop_training set mid-epoch."""

import numpy as np

import numnet as nn
from numnet import Dense, Input, Sequential


class Recorder(nn.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


def _recording(name):
    def hook(self, *args):
        self.calls.append((name, *[a for a in args if isinstance(a, int)]))
    return hook


for _name in ("on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_begin",
              "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(Recorder, _name, _recording(_name))


def _model():
    model = Sequential([Input((3,)), Dense(2, activation="softmax", seed=0)])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


DATA = np.random.default_rng(0).normal(size=(10, 3)), np.arange(10) % 2


class TrainBatches(nn.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append((batch, sorted(logs)))


def test_fit_calls_the_train_batch_hooks_with_the_running_logs():
    hooks = TrainBatches()
    _model().fit(*DATA, batch_size=4, epochs=2, verbose=0, callbacks=[hooks])
    assert [b for b, _ in hooks.logs] == [0, 1, 2, 0, 1, 2]
    assert hooks.logs[0][1] == ["accuracy", "loss"]


def test_the_older_on_batch_hooks_still_run():
    seen = []

    class Old(nn.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    _model().fit(*DATA, batch_size=5, epochs=1, verbose=0, callbacks=[Old()])
    assert seen == [0, 1]


def test_evaluate_and_predict_take_callbacks():
    recorder = Recorder()
    model = _model()
    model.evaluate(*DATA, batch_size=4, callbacks=[recorder])
    assert recorder.calls == [("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                              ("on_test_batch_begin", 1), ("on_test_batch_end", 1), ("on_test_batch_begin", 2),
                              ("on_test_batch_end", 2), ("on_test_end",)]
    recorder.calls.clear()
    model.predict(DATA[0], batch_size=5, callbacks=[recorder])
    assert recorder.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                              ("on_predict_batch_begin", 1), ("on_predict_batch_end", 1), ("on_predict_end",)]


def test_stop_training_set_mid_epoch_stops_after_that_batch():
    class StopAt(nn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = _model()
    history = model.fit(*DATA, batch_size=2, epochs=3, verbose=0, callbacks=[StopAt()])
    assert model.optimizer.iterations == 2 and len(history.history["loss"]) == 1
