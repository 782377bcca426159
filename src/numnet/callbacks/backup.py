"""``BackupAndRestore``: resume an interrupted ``fit`` exactly where its last backup was taken.

A backup is one ``.npz`` file (arrays only, no pickle; written atomically, so an interruption
during a save leaves the previous backup whole) holding

* the weights (parameters and buffers, ``model.get_weights()``);
* the optimizer: ``iterations``, a float learning rate, every state slot of every parameter;
* the random generators' states: the model's (the shuffling order of each epoch is drawn
  from it at the epoch's start) and every layer's (dropout masks);
* where training stands: the epoch (and, with ``save_freq=<int>``, the batch) to go on from,
  and then the epoch's running loss and metrics;
* the counters of the other callbacks of the run that numnet knows (``EarlyStopping``,
  ``ReduceLROnPlateau``, ``ModelCheckpoint``, ``TensorBoard``'s step).

The next ``fit`` with a ``BackupAndRestore`` on the same ``backup_dir`` loads the backup when
it begins, and the loop starts at the saved epoch and batch: the weights at the end are those
of a run that was never interrupted, bit for bit (``tests/test_callbacks_backup.py``).
"""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np

from .base import Callback, EarlyStopping
from .extra import ModelCheckpoint, ReduceLROnPlateau

FORMAT = "numnet-backup"
LATEST = "latest.npz"
PREVIOUS = "previous.npz"

# Counters of numnet's own callbacks that a resumed run continues with (numbers, or None).
_CALLBACK_FIELDS = {
    EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    ReduceLROnPlateau: ("wait", "cooldown_counter", "best"),
    ModelCheckpoint: ("best", "last_saved"),
}


def _rng_json(rng):
    from ..saving import _rng_state

    return _rng_state(rng)


def _rng_setter(owner, attribute: str, state, where: str):
    """A function that puts the saved generator ``state`` into ``owner.<attribute>`` in place
    (the same Generator object, so anything holding it sees the restored stream); the state
    is checked now, so that nothing changes when one of them is bad."""
    from ..saving import _rng_from_state

    if state is None:
        return lambda: None
    restored = _rng_from_state(state, where)

    def put():
        current = getattr(owner, attribute, None)
        if isinstance(current, np.random.Generator) and type(current.bit_generator) is type(restored.bit_generator):
            current.bit_generator.state = restored.bit_generator.state
        else:
            setattr(owner, attribute, restored)

    return put


def _once(function, what: str) -> None:
    """``function()`` here, or under ``DataParallel`` on rank 0 only while the others wait
    (every process holds the same state; one writes the file, as ``model.save`` does)."""
    from ..distribution import _state

    if _state.current is None:
        function()
    else:
        _state.current.run_once(function, what=what)


def _plain(value):
    """A JSON-able copy of a callback counter or metric field, or raise TypeError."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}  # JSON has no inf / nan
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(type(value).__name__)


def _unplain(value):
    if isinstance(value, dict) and set(value) == {"float"}:
        return float(value["float"])
    return value


class _Writer:
    """Collects arrays under names ``a0, a1, ...`` for one archive."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, array) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.array(array)  # a copy: optimizer slots may be views of a flat buffer
        return name


def _figures_state(compiled, writer: _Writer) -> dict:
    """The running loss sums and metric states of the epoch in progress."""
    outputs = []
    for output in compiled.outputs:
        metrics = []
        for metric in (*output.metrics, *output.weighted_metrics):
            fields = {}
            for key, value in vars(metric).items():
                if isinstance(value, np.ndarray):
                    fields[key] = {"array": writer.add(value)}
                elif key == "_state_variables":
                    fields[key] = {"variables": [writer.add(v.value) for v, _ in value]}
                else:
                    try:
                        fields[key] = {"value": _plain(value)}
                    except TypeError:
                        continue  # configuration (a function, a list of thresholds): unchanged by training
            metrics.append(fields)
        outputs.append({"loss_sum": _plain(output.loss_sum), "metrics": metrics})
    return {"loss_sum": _plain(compiled.loss_sum), "count": int(compiled.count), "outputs": outputs}


def _restore_figures(compiled, state: dict, arrays) -> None:
    compiled.loss_sum, compiled.count = _unplain(state["loss_sum"]), state["count"]
    for output, saved in zip(compiled.outputs, state["outputs"]):
        output.loss_sum = _unplain(saved["loss_sum"])
        for metric, fields in zip((*output.metrics, *output.weighted_metrics), saved["metrics"]):
            for key, field in fields.items():
                if "array" in field:
                    setattr(metric, key, np.array(arrays[field["array"]]))
                elif "variables" in field:
                    for (variable, _), name in zip(metric._state_variables, field["variables"]):
                        variable.assign(arrays[name])
                else:
                    setattr(metric, key, _unplain(field["value"]))


class BackupAndRestore(Callback):
    """Back up the whole training state to ``backup_dir`` and resume from it when ``fit`` is
    run again after an interruption (an exception, Ctrl-C, a killed process).

    * ``save_freq``: ``"epoch"`` (a backup at the end of every epoch) or an integer N (a
      backup every N training batches, counted across epochs; a resumed run then starts at
      the batch after the backup, inside the epoch);
    * ``delete_checkpoint``: remove the backups when ``fit`` ends normally (default True;
      an interrupted ``fit`` keeps them, that is their point);
    * ``double_checkpoint``: keep the previous backup too, and fall back to it when the
      latest cannot be read (a damaged disk, a file truncated by hand).

    It runs after the run's other callbacks at every hook, wherever it sits in ``callbacks``,
    so that an epoch's backup holds their counters as that epoch left them. A resumed ``fit``
    runs the remaining epochs only, so its ``History`` lists those (as in Keras). The model,
    its compile settings and ``fit``'s arguments must be those of the interrupted run (a
    backup of another optimizer class or of other layer names is a ValueError, and nothing
    changes). One limit: a ``validation_split`` is drawn before callbacks run, from
    the model's generator as the interrupted run left it, so a resumed run holds out other
    rows; give ``validation_data`` for an exact resume with validation.
    """

    _runs_last = True  # CallbackList calls it after the other callbacks at every hook

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, double_checkpoint=False) -> None:
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"BackupAndRestore needs a directory path as backup_dir, got {backup_dir!r}.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise ValueError(f"BackupAndRestore save_freq must be 'epoch' or a positive integer, got {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.double_checkpoint = bool(double_checkpoint)
        self._siblings: list = []
        self._pending_figures = None

    def _set_siblings(self, callbacks) -> None:
        """Called by ``CallbackList``: the run's other callbacks, whose counters are backed up."""
        self._siblings = [c for c in callbacks if c is not self]

    @property
    def latest_path(self) -> str:
        return os.path.join(self.backup_dir, LATEST)

    @property
    def previous_path(self) -> str:
        return os.path.join(self.backup_dir, PREVIOUS)

    # --- the hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._epoch = 0
        self._batches_since_save = 0
        self._save_at_epoch_end = False
        self._epoch_rng = None
        self._pending_figures = None
        state = self._load()
        if state is not None:
            self._restore(*state)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        # The loop draws this epoch's shuffling order right after this hook: a mid-epoch
        # backup records the generator as it is now, so the resumed run draws the same order.
        self._epoch_rng = _rng_json(self.model.rng)

    def on_train_batch_begin(self, batch, logs=None):
        if self._pending_figures is not None:  # the loop has reset the epoch's figures by now
            _restore_figures(self.model._compiled, *self._pending_figures)
            self._pending_figures = None

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            if batch + 1 == self.params.get("steps"):
                self._save_at_epoch_end = True  # nothing trains in between; the epoch's end is then in it too
            else:
                self._save(epoch=self._epoch, batch=batch + 1, rng=self._epoch_rng, mid_epoch=True)
            self._batches_since_save = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" or self._save_at_epoch_end:
            self._save_at_epoch_end = False
            self._save(epoch=epoch + 1, batch=0, rng=_rng_json(self.model.rng), mid_epoch=False)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            _once(self._delete, f"BackupAndRestore's clean-up of {self.backup_dir!r}")

    def _delete(self) -> None:
        for path in (self.latest_path, self.previous_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)  # only when nothing else is in it
        except OSError:
            pass

    # --- writing -------------------------------------------------------------------------------
    def _save(self, epoch: int, batch: int, rng, mid_epoch: bool) -> None:
        from ..saving import _atomic_write, _to_json_bytes

        model, writer = self.model, _Writer()
        optimizer = model.optimizer
        slots = []
        for key, state in optimizer.state.items():
            if not (isinstance(key, tuple) and all(isinstance(k, str) for k in key)):
                raise ValueError(f"BackupAndRestore can back up optimizer state keyed by (layer, parameter) names; "
                                 f"this optimizer holds a key {key!r:.60}.")
            slots.append({"key": list(key), "slots": {slot: writer.add(v) for slot, v in state.items()}})
        lr = optimizer.learning_rate
        meta = {
            "format": FORMAT,
            "epoch": epoch,
            "batch": batch,
            "weights": [writer.add(w) for w in model.get_weights()],
            "optimizer": {"class_name": type(optimizer).__name__, "iterations": int(optimizer.iterations),
                          "learning_rate": None if callable(lr) else float(lr), "state": slots},
            "model_rng": rng,
            "layer_rngs": {path: _rng_json(getattr(layer, "_rng", None)) for path, layer in model.leaf_layers()},
            "figures": _figures_state(model._compiled, writer) if mid_epoch else None,
            "callbacks": self._callbacks_state(writer),
        }
        arrays = dict(writer.arrays)
        arrays["meta"] = np.frombuffer(_to_json_bytes(meta), dtype=np.uint8)

        def write():
            os.makedirs(self.backup_dir, exist_ok=True)
            if self.double_checkpoint and os.path.exists(self.latest_path):
                os.replace(self.latest_path, self.previous_path)
            _atomic_write(self.latest_path, arrays)

        _once(write, f"BackupAndRestore's backup in {self.backup_dir!r}")

    def _callbacks_state(self, writer: _Writer) -> list:
        """The counters of the callbacks that have some, by class name and, among those of one
        class, their order (so that a callback added only to the interrupted run, such as the
        one that interrupted it, does not matter)."""
        states = []
        for callback in self._siblings:
            fields = next((f for cls, f in _CALLBACK_FIELDS.items() if isinstance(callback, cls)), None)
            if fields is None and not hasattr(callback, "backup_state"):
                continue
            state = {"class_name": type(callback).__name__}
            if fields is not None:
                state["fields"] = {f: _plain(getattr(callback, f, None)) for f in fields}
                best = getattr(callback, "best_weights", None)
                if isinstance(callback, EarlyStopping) and best is not None:
                    state["best_weights"] = [writer.add(w) for w in best]
            if hasattr(callback, "backup_state"):  # a callback's own counters (TensorBoard's step)
                state["own"] = callback.backup_state()
            states.append(state)
        return states

    # --- reading -------------------------------------------------------------------------------
    def _load(self):
        """``(meta, arrays)`` of the latest readable backup, or None when there is none."""
        candidates = [self.latest_path] + ([self.previous_path] if self.double_checkpoint else [])
        errors = []
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                with np.load(path, allow_pickle=False) as archive:
                    arrays = {name: archive[name] for name in archive.files}
                meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    raise ValueError("not a numnet backup")
                return meta, arrays
            except Exception as exc:  # a damaged file: try the previous backup, if kept
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
        if errors:
            raise ValueError(f"BackupAndRestore cannot read its backup in {self.backup_dir!r}: "
                             + "; ".join(errors) + ". Delete the directory to start training afresh.")
        return None

    def _restore(self, meta: dict, arrays) -> None:
        model = self.model
        optimizer = model.optimizer
        saved = meta["optimizer"]
        if saved["class_name"] != type(optimizer).__name__:
            raise ValueError(f"BackupAndRestore: the backup in {self.backup_dir!r} was taken with optimizer "
                             f"{saved['class_name']}; this model is compiled with {type(optimizer).__name__}.")
        known = {(path, name) for path, layer in model.leaf_layers() for name in layer.params}
        unknown = [tuple(item["key"]) for item in saved["state"] if tuple(item["key"]) not in known]
        if unknown:
            raise ValueError(f"BackupAndRestore: the backup in {self.backup_dir!r} holds optimizer state for "
                             f"{unknown[:3]}, which are not parameters of model {model.name!r} (layers are matched "
                             "by name: build the model as in the interrupted run).")
        generators = [_rng_setter(model, "rng", meta["model_rng"], "BackupAndRestore: the model's generator")]
        generators += [_rng_setter(layer, "_rng", meta["layer_rngs"].get(path), f"BackupAndRestore: layer {path!r}")
                       for path, layer in model.leaf_layers()]
        model.set_weights([arrays[name] for name in meta["weights"]])  # checks every shape first
        optimizer.state = {tuple(item["key"]): {slot: np.array(arrays[name]) for slot, name in item["slots"].items()}
                           for item in saved["state"]}
        optimizer._flat = None  # the flat slots are rebuilt from the restored state at the next step
        optimizer.iterations = saved["iterations"]
        if saved["learning_rate"] is not None and not callable(optimizer.learning_rate):
            optimizer.learning_rate = saved["learning_rate"]
        for put in generators:
            put()
        if meta["figures"] is not None:
            self._pending_figures = (meta["figures"], arrays)
        self._restore_callbacks(meta["callbacks"], arrays)  # they have run on_train_begin (reset) already
        self._epoch = meta["epoch"]
        model._resume_at = (meta["epoch"], meta["batch"])  # read by the fit loop after on_train_begin

    def _restore_callbacks(self, states: list, arrays) -> None:
        by_class: dict[str, list] = {}
        for callback in self._siblings:
            by_class.setdefault(type(callback).__name__, []).append(callback)
        for state in states:
            candidates = by_class.get(state["class_name"])
            if not candidates:
                warnings.warn(f"BackupAndRestore: the backed-up run had a {state['class_name']} callback that this "
                              "fit has not; its counters are dropped.", stacklevel=3)
                continue
            callback = candidates.pop(0)
            for field, value in state.get("fields", {}).items():
                setattr(callback, field, _unplain(value))
            if "best_weights" in state:
                callback.best_weights = [np.array(arrays[name]) for name in state["best_weights"]]
            if "own" in state and hasattr(callback, "restore_backup_state"):
                callback.restore_backup_state(state["own"])
