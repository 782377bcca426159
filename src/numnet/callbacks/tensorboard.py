"""``TensorBoard``: event files that TensorBoard reads, written with ``tensorboardX``'s
``SummaryWriter`` (the optional extra ``numnet[tensorboard]``).

Layout, as Keras writes it: ``log_dir/train`` and ``log_dir/validation``, each with its own
event file. Tags:

* ``epoch_<name>`` at step ``epoch`` (0-based) for every figure of the epoch logs: the
  training ones in ``train``, the ``val_`` ones (prefix dropped) in ``validation``;
* ``batch_<name>`` at step ``the number of training batches so far`` (1-based, counted over
  the whole run) with ``update_freq="batch"`` or an integer N (every N batches); the
  figures are the epoch's running means, as the progress bar shows;
* ``<layer path>/<weight name>/histogram`` for every weight at the end of every
  ``histogram_freq``-th epoch (in ``train``);
* ``model/summary``: the text of ``model.summary()`` with ``write_graph=True`` (TensorBoard's
  Graphs tab draws TensorFlow graphs only, so numnet's model is given as text).
"""

from __future__ import annotations

import io
import itertools
import os

import numpy as np

from .base import Callback

# tensorboardX names an event file after the second and the host; two writers of one directory
# within a second (a fit resumed at once) would share a name and the second would overwrite the
# first, so every writer adds the process id and a counter.
_WRITERS = itertools.count()


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "numnet.callbacks.TensorBoard writes its event files with tensorboardX, which is not installed: "
            "pip install 'numnet[tensorboard]' (or pip install tensorboardX)."
        ) from exc
    return SummaryWriter


class TensorBoard(Callback):
    """Log the figures of ``fit`` (and weight histograms) for TensorBoard:
    ``tensorboard --logdir <log_dir>``.

    * ``log_dir``: the directory of the run (``train/`` and ``validation/`` go inside);
    * ``histogram_freq``: histograms of every weight every that many epochs (0: none);
    * ``write_graph``: write the model's summary as text (see the module docstring);
    * ``update_freq``: ``"epoch"`` (figures once per epoch), ``"batch"`` (also after every
      training batch) or an integer N (also after every N-th batch).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, update_freq="epoch") -> None:
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, (int, np.integer)) or histogram_freq < 0:
            raise ValueError(f"TensorBoard histogram_freq must be a non-negative integer, got {histogram_freq!r}.")
        if update_freq == "batch":
            update_freq = 1
        elif update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, (int, np.integer))
                                         or update_freq < 1):
            raise ValueError(f"TensorBoard update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}.")
        self._writer_class = _summary_writer()  # fail here, not after the first epoch
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.update_freq = update_freq if update_freq == "epoch" else int(update_freq)
        self.train_step = 0  # training batches so far, over the whole run (the batch_* step)
        self._writers: dict = {}

    def _writer(self, name: str):
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = self._writer_class(
                os.path.join(self.log_dir, name), filename_suffix=f".{os.getpid()}.{next(_WRITERS)}")
        return writer

    # --- the hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.train_step = 0
        if self.write_graph:
            lines = io.StringIO()
            self.model.summary(print_fn=lambda line: print(line, file=lines))
            # Markdown renders a 4-space indent as fixed-width text, which keeps the table's columns.
            text = "\n".join("    " + line for line in lines.getvalue().splitlines())
            self._writer("train").add_text("model/summary", text, 0)

    def on_train_batch_end(self, batch, logs=None):
        self.train_step += 1
        if self.update_freq != "epoch" and self.train_step % self.update_freq == 0:
            writer = self._writer("train")
            for key, value in (logs or {}).items():
                writer.add_scalar(f"batch_{key}", float(value), self.train_step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key, value in logs.items():
            if key.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{key[4:]}", float(value), epoch)
            else:
                self._writer("train").add_scalar(f"epoch_{key}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for path, layer in self.model.leaf_layers():
                for name, weight in {**layer.params, **layer.buffers}.items():
                    writer.add_histogram(f"{path}/{name}/histogram", np.asarray(weight, dtype=np.float64), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # --- BackupAndRestore --------------------------------------------------------------------------
    def backup_state(self) -> dict:
        return {"train_step": self.train_step}

    def restore_backup_state(self, state: dict) -> None:
        self.train_step = int(state["train_step"])
