"""BackupAndRestore: an interrupted fit resumed with the same callback ends with exactly the
weights, optimizer state and logs of a run that was never interrupted."""

from __future__ import annotations

import os

import numpy as np
import pytest

import numnet
from numnet.callbacks import BackupAndRestore, Callback, EarlyStopping, ReduceLROnPlateau

EPOCHS, BATCH = 6, 8


def make_model(optimizer="adam"):
    """Dense -> Dropout (a layer generator) -> Dense; seeded, so two copies are identical."""
    inputs = numnet.Input((4,))
    h = numnet.Dense(8, activation="relu", seed=1)(inputs)
    h = numnet.Dropout(0.3, seed=5)(h)
    model = numnet.Model(inputs, numnet.Dense(1, seed=2)(h), seed=3)
    model.compile(optimizer, "mse", metrics=["mae"])
    return model


def data():
    x = np.random.default_rng(0).standard_normal((50, 4))
    return x, x.sum(axis=1, keepdims=True)


class Interrupt(Callback):
    """Raise at the start of epoch ``epoch`` or, with ``batch``, after that batch of it."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.at, self.batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.batch is None and epoch == self.at:
            raise RuntimeError(f"interrupted at epoch {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and self.epoch == self.at and batch == self.batch:
            raise RuntimeError(f"interrupted at epoch {self.epoch}, batch {batch}")


def fit(model, callbacks, epochs=EPOCHS):
    x, y = data()
    return model.fit(x, y, epochs=epochs, batch_size=BATCH, verbose=0, validation_data=(x, y), callbacks=callbacks)


def assert_same_state(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.optimizer.iterations == b.optimizer.iterations
    assert [k[1] for k in a.optimizer.state] == [k[1] for k in b.optimizer.state]  # layer names differ
    for slots_a, slots_b in zip(a.optimizer.state.values(), b.optimizer.state.values()):
        assert sorted(slots_a) == sorted(slots_b)
        for slot, value in slots_a.items():
            if not slot.startswith("_"):  # "_" slots are scratch space
                np.testing.assert_array_equal(value, slots_b[slot], err_msg=slot)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize(("save_freq", "interrupt"), [("epoch", Interrupt(3)), (3, Interrupt(3, batch=4))],
                         ids=["epoch", "every-3-batches"])
def test_resumed_fit_equals_an_uninterrupted_one_bit_for_bit(tmp_path, save_freq, interrupt):
    reference = make_model()
    full = fit(reference, [])
    model = make_model()
    backup = BackupAndRestore(tmp_path / "backup", save_freq=save_freq)
    with pytest.raises(RuntimeError, match="interrupted at epoch 3"):
        fit(model, [backup, interrupt])
    assert os.listdir(tmp_path / "backup") == ["latest.npz"]
    resumed = fit(model, [backup])
    assert_same_state(model, reference)
    assert resumed.epoch == [3, 4, 5]  # only the remaining epochs run (as in Keras)
    for key in ("loss", "mae", "val_loss", "val_mae"):
        assert resumed.history[key] == full.history[key][3:], key
    assert not os.path.exists(tmp_path / "backup")  # delete_checkpoint=True after a completed fit


def test_other_callbacks_counters_are_restored(tmp_path):
    def callbacks():
        # min_delta so large that only the first epoch counts as an improvement: EarlyStopping
        # stops at epoch `patience`, ReduceLROnPlateau halves the rate after every later epoch.
        return [EarlyStopping(monitor="loss", min_delta=1e9, patience=4),
                ReduceLROnPlateau(monitor="loss", min_delta=1e9, patience=1, factor=0.5)]

    reference, ref_callbacks = make_model(), callbacks()
    fit(reference, ref_callbacks, epochs=10)
    assert ref_callbacks[0].stopped_epoch == 4
    model, run = make_model(), callbacks()
    backup = BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError):
        fit(model, [backup, *run, Interrupt(3)], epochs=10)
    assert run[0].wait == 2
    resumed_callbacks = callbacks()
    resumed = fit(model, [backup, *resumed_callbacks], epochs=10)
    assert resumed_callbacks[0].stopped_epoch == 4 and resumed.epoch == [3, 4]  # not 3 ... 7
    assert resumed_callbacks[0].wait == 4 and resumed_callbacks[1].wait == 0
    assert model.optimizer.learning_rate == reference.optimizer.learning_rate == 0.001 * 0.5 ** 4
    assert_same_state(model, reference)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    reference = make_model()
    fit(reference, [])
    model = make_model()
    backup = BackupAndRestore(tmp_path, double_checkpoint=True)
    with pytest.raises(RuntimeError):
        fit(model, [backup, Interrupt(3)])
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "previous.npz"]
    with open(tmp_path / "latest.npz", "r+b") as f:
        f.truncate(100)  # a damaged latest backup
    resumed = fit(model, [backup])
    assert resumed.epoch == [2, 3, 4, 5]  # from the backup one epoch older
    assert_same_state(model, reference)


def test_a_damaged_backup_without_a_second_one_is_an_error_and_changes_nothing(tmp_path):
    model = make_model()
    backup = BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError):
        fit(model, [backup, Interrupt(2)])
    (tmp_path / "latest.npz").write_bytes(b"not an archive")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"cannot read its backup in .*latest\.npz.*Delete the directory"):
        fit(model, [backup])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_backup_of_another_optimizer_is_refused_and_changes_nothing(tmp_path):
    backup = BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError):
        fit(make_model("adam"), [backup, Interrupt(2)])
    other = make_model("sgd")
    before = other.get_weights()
    with pytest.raises(ValueError, match="taken with optimizer Adam; this model is compiled with SGD"):
        fit(other, [backup])
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert other.optimizer.iterations == 0


def test_a_backup_of_a_model_with_other_layer_names_is_refused(tmp_path):
    backup = BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError):
        fit(make_model(), [backup, Interrupt(2)])
    other = make_model()  # the same architecture, but its layers are numbered on: dense_4 ...
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"holds optimizer state for \[\('dense_\d+', 'kernel'\)"):
        fit(other, [backup])
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keep_the_backup_and_a_finished_run_resumes_to_nothing(tmp_path):
    model = make_model()
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    fit(model, [backup])
    with np.load(tmp_path / "latest.npz", allow_pickle=False) as archive:  # arrays only
        assert "meta" in archive.files and archive["a0"].shape == (4, 8)
    weights = model.get_weights()
    again = fit(model, [backup])
    assert again.epoch == [] and model.optimizer.iterations == EPOCHS * 7
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_backup_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="needs a directory path as backup_dir, got ''"):
        BackupAndRestore("")
    for bad in (0, "batch", True, 1.5):
        with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive integer"):
            BackupAndRestore(tmp_path, save_freq=bad)


def test_a_resumed_epoch_keeps_its_weighted_metrics(tmp_path):
    x, y = data()
    weights = np.linspace(0.2, 2.0, len(x))

    def weighted_model():
        model = make_model()
        model.compile("adam", "mse", metrics=["mae"], weighted_metrics=["mae"])
        return model

    def run(model, callbacks):
        return model.fit(x, y, sample_weight=weights, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                         callbacks=callbacks)

    full = run(weighted_model(), [])
    model = weighted_model()
    backup = BackupAndRestore(tmp_path / "backup", save_freq=3)
    with pytest.raises(RuntimeError, match="interrupted at epoch 3"):
        run(model, [backup, Interrupt(3, batch=4)])
    resumed = run(model, [backup])
    assert resumed.history["weighted_mae"] == full.history["weighted_mae"][3:]
    assert resumed.history["mae"] == full.history["mae"][3:]
    assert full.history["weighted_mae"] != full.history["mae"]
