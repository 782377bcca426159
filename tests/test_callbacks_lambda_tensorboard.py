"""LambdaCallback (every hook, in order, with its logs) and TensorBoard (event files read back
with TensorBoard's own EventAccumulator: the scalars equal History, histograms the weights)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

import numnet
from numnet.callbacks import BackupAndRestore, Callback, LambdaCallback, TensorBoard


def make_model():
    inputs = numnet.Input((4,))
    model = numnet.Model(inputs, numnet.Dense(1, seed=0)(inputs), seed=0)
    model.compile("adam", "mse", metrics=["mae"])
    return model


def data(n=40):
    x = np.random.default_rng(0).standard_normal((n, 4))
    return x, x.sum(axis=1, keepdims=True)


# --- LambdaCallback ------------------------------------------------------------------------------
def test_lambda_callback_calls_every_training_hook_in_order_with_its_logs():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, dict(logs))),
        on_train_end=lambda logs: calls.append(("train_end",)),
    )
    x, y = data()
    history = make_model().fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[callback])
    names = [c[0] if c[0] not in ("epoch_begin", "batch_begin", "batch_end", "epoch_end") else c[:2] for c in calls]
    assert names == ["train_begin",
                     ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
                     ("epoch_end", 0),
                     ("epoch_begin", 1), ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
                     ("epoch_end", 1), "train_end"]
    epoch_ends = [c[2] for c in calls if c[0] == "epoch_end"]
    assert [e["loss"] for e in epoch_ends] == history.history["loss"]
    assert [e["mae"] for e in epoch_ends] == history.history["mae"]
    # The last batch's running loss is the epoch's loss.
    assert [c[2] for c in calls if c[:2] == ("batch_end", 1)] == history.history["loss"]


def test_lambda_callback_test_predict_and_legacy_batch_hooks():
    calls = []
    callback = LambdaCallback(
        on_test_begin=lambda logs: calls.append("test_begin"),
        on_test_batch_end=lambda batch, logs: calls.append(("test_batch", batch)),
        on_test_end=lambda logs: calls.append(("test_end", logs["loss"])),
        on_predict_batch_end=lambda batch, logs: calls.append(("predict_batch", batch, logs["outputs"].shape)),
        on_predict_end=lambda logs: calls.append("predict_end"),
        on_batch_end=lambda batch, logs: calls.append(("legacy_batch", batch)),
    )
    model = make_model()
    x, y = data()
    loss, _ = model.evaluate(x, y, batch_size=25, callbacks=[callback])
    model.predict(x, batch_size=30, callbacks=[callback])
    assert calls == ["test_begin", ("test_batch", 0), ("test_batch", 1), ("test_end", loss),
                     ("predict_batch", 0, (30, 1)), ("predict_batch", 1, (10, 1)), "predict_end"]
    calls.clear()
    model.fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[callback])
    assert calls == [("legacy_batch", 0), ("legacy_batch", 1)]  # on_batch_end: Keras's older name


def test_lambda_callback_errors():
    with pytest.raises(TypeError, match=r"unknown hooks \['on_epoch_finish'\]"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match=r"on_epoch_end must be a function of \(epoch, logs\), got 3"):
        LambdaCallback(on_epoch_end=3)


# --- TensorBoard ------------------------------------------------------------------------------------
def read(path):
    sizes = {event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.TENSORS: 0}
    accumulator = event_accumulator.EventAccumulator(os.fspath(path), size_guidance=sizes)
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def test_tensorboard_epoch_scalars_equal_history_and_validation_goes_to_its_own_run(tmp_path):
    x, y = data()
    model = make_model()
    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_data=(x[:20], y[:20]),
                        callbacks=[TensorBoard(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, validation = read(tmp_path / "train"), read(tmp_path / "validation")
    assert sorted(train.Tags()["scalars"]) == ["epoch_loss", "epoch_mae"]  # update_freq="epoch": no batch_*
    for name in ("loss", "mae"):
        # event files hold float32 values
        assert scalars(train, f"epoch_{name}") == [(i, np.float32(v)) for i, v in enumerate(history.history[name])]
        assert scalars(validation, f"epoch_{name}") == [(i, np.float32(v))
                                                        for i, v in enumerate(history.history[f"val_{name}"])]
    summary = train.Tensors("model/summary/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "Total params: 5" in summary


def test_tensorboard_batch_scalars_every_n_batches_and_weight_histograms(tmp_path):
    x, y = data()
    model = make_model()
    batch_logs, kernels = [], []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: batch_logs.append(logs["loss"]),
                            on_epoch_end=lambda epoch, logs: kernels.append(model.get_weights()[0].copy()))
    model.fit(x, y, epochs=3, batch_size=10, verbose=0,
              callbacks=[record, TensorBoard(tmp_path, histogram_freq=2, update_freq=3, write_graph=False)])
    train = read(tmp_path / "train")
    # 4 batches an epoch: steps 1 ... 12 over the run, every third written.
    assert scalars(train, "batch_loss") == [(s, np.float32(batch_logs[s - 1])) for s in (3, 6, 9, 12)]
    name = model.layers[-1].name
    assert sorted(train.Tags()["histograms"]) == [f"{name}/bias/histogram", f"{name}/kernel/histogram"]
    events = train.Histograms(f"{name}/kernel/histogram")
    assert [e.step for e in events] == [0, 2]  # every second epoch
    for event in events:
        h = event.histogram_value
        kernel = kernels[event.step]
        assert (h.num, h.min, h.max) == (4, kernel.min(), kernel.max())
        assert h.sum == pytest.approx(float(kernel.astype(np.float64).sum()), rel=1e-12)
    assert train.Tags()["tensors"] == []  # write_graph=False


def test_tensorboard_update_freq_batch_and_resume_continues_the_step(tmp_path):
    x, y = data()

    class Stop(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    model = make_model()
    tensorboard = TensorBoard(tmp_path / "logs", update_freq="batch", write_graph=False)
    backup = BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[tensorboard, backup, Stop()])
    tensorboard.on_train_end()  # an interrupted fit never calls it: close the first writer
    model.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[tensorboard, backup])
    assert tensorboard.train_step == 8
    steps = sorted(s for s, _ in scalars(read(tmp_path / "logs" / "train"), "batch_loss"))
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]  # the resumed run goes on at step 5


def test_tensorboard_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="histogram_freq must be a non-negative integer, got -1"):
        TensorBoard(tmp_path, histogram_freq=-1)
    for bad in ("sometimes", 0, True):
        with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or a positive integer"):
            TensorBoard(tmp_path, update_freq=bad)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'numnet\[tensorboard\]'"):
        TensorBoard(tmp_path)
    assert not os.listdir(tmp_path)  # nothing written
