"""Training: the ``Trainer`` a model inherits (compile, fit, evaluate, predict, the batch
API, ``train_step``), validation of user data at the boundary, the epoch loops, the
divergence guard and progress display.

* ``trainer.py``: ``Trainer``, ``train_step`` (the seam for custom steps);
* ``compile.py``: losses, weights and metrics per output, log names;
* ``data.py``: checks of ``x`` / ``y`` / sample weights, structures of inputs and outputs;
* ``loop.py``: ``fit`` / ``evaluate`` / ``predict`` over batches, callbacks;
* ``adapters.py``: arrays, generators and ``PyDataset`` as batch sources, epochs and steps;
  ``fit_data.py``: a fit's training and validation sources; ``batches.py``: checks of each
  batch; ``prefetch.py``: worker threads / processes preparing batches in order;
* ``guard.py``, ``progress.py``.
"""

from .loop import INFERENCE_ACTIVATION_BYTES, SNAPSHOT_EVERY
from .trainer import NonFiniteLoss, Trainer

__all__ = ["INFERENCE_ACTIVATION_BYTES", "NonFiniteLoss", "SNAPSHOT_EVERY", "Trainer"]
