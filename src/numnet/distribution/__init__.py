"""Data-parallel training over MPI (Keras 3's ``keras.distribution`` names).

>>> import numnet
>>> numnet.distribution.set_distribution(numnet.distribution.DataParallel())
>>> model.fit(x, y, batch_size=256)        # run as: mpiexec -n 4 python train.py

Every process runs the same script on the same data. ``batch_size`` is the global batch:
each process computes the gradient of its contiguous share of every batch, one Allreduce
sums the flat gradient buffer, and every process applies the identical update. See
docs/distributed.md for the exact semantics.

Importing numnet never imports mpi4py: only ``DataParallel()`` does (``pip install
"numnet[mpi]"`` installs mpi4py and the MPICH wheel).
"""

from __future__ import annotations

from . import _state
from .data_parallel import DataParallel, list_devices


def set_distribution(value) -> None:
    """Make ``value`` (a ``DataParallel``, or None for one process) the distribution every
    later ``fit``, ``evaluate``, ``predict`` and ``model.save`` follows."""
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution expects a numnet.distribution.DataParallel or None, got {value!r:.80}.")
    previous = _state.current
    if previous is not None and previous is not value:
        previous._uninstall()
    if value is not None:
        value._install()
    _state.current = value


def distribution():
    """The distribution set by ``set_distribution`` (None: one process)."""
    return _state.current


def rank() -> int:
    """This process's index among the distribution's processes (0 without one)."""
    current = _state.current
    return 0 if current is None else current.rank


def size() -> int:
    """How many processes train together (1 without a distribution)."""
    current = _state.current
    return 1 if current is None else current.size


def is_chief() -> bool:
    """Whether this process writes files and prints progress (rank 0, or no distribution)."""
    current = _state.current
    return current is None or current.rank == 0


def barrier() -> None:
    """Wait until every process got here (nothing without a distribution)."""
    current = _state.current
    if current is not None:
        current.barrier()


__all__ = ["DataParallel", "barrier", "distribution", "is_chief", "list_devices", "rank", "set_distribution", "size"]
