"""``DataParallel``: one model trained by every process of an MPI job.

The processes are the ranks of an mpi4py communicator (``MPI.COMM_WORLD`` unless one is
given). Rank ``r`` of ``p`` takes rows ``[start_r, stop_r)`` of every global batch of
``N`` rows: ``N // p`` each, one more for the first ``N % p`` ranks (``np.array_split``'s
shares), so shares may differ by one row and may be empty when ``N < p``. Every rank still
joins every collective, so all of them run the same number of steps.
"""

from __future__ import annotations

import sys

import numpy as np


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - mpi4py is in the test extra
        raise ImportError(
            "numnet.distribution.DataParallel needs mpi4py: pip install \"numnet[mpi]\" (installs mpi4py and the "
            "MPICH wheel), then run the script with mpiexec -n N python train.py."
        ) from exc
    return MPI


def list_devices(communicator=None) -> list[str]:
    """One name per process of the job, ``["cpu:0", "cpu:1", ...]`` (Keras's
    ``list_devices``; a numnet process computes on its CPU)."""
    comm = _mpi().COMM_WORLD if communicator is None else communicator
    return [f"cpu:{r}" for r in range(comm.Get_size())]


class DataParallel:
    """Data parallelism across the processes of an MPI job (Keras 3's ``DataParallel``).

    ``devices``: None (every process of the job) or a list with one entry per process, as
    ``list_devices()`` returns; numnet cannot place work on a subset, so any other length is
    a ValueError. ``communicator``: an mpi4py communicator (default ``MPI.COMM_WORLD``).
    ``abort_on_error``: an exception that escapes on one process prints its traceback and
    ends the whole job (``MPI_Abort``) instead of leaving the others waiting in a collective.
    """

    def __init__(self, devices=None, communicator=None, abort_on_error: bool = True) -> None:
        MPI = _mpi()
        comm = MPI.COMM_WORLD if communicator is None else communicator
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"DataParallel communicator must be an mpi4py communicator, got {comm!r:.80}.")
        self._MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        if devices is not None:
            devices = list(devices)
            if len(devices) != self.size:
                raise ValueError(
                    f"DataParallel(devices=...) lists {len(devices)} devices but the job has {self.size} processes "
                    f"(mpiexec -n {self.size}); numnet runs one model replica per process: pass devices=None or "
                    "list_devices()."
                )
        self.devices = devices if devices is not None else list_devices(comm)
        self.abort_on_error = bool(abort_on_error)
        self._previous_hook = None
        self._buffers: dict = {}
        # This process's n_r / N during a training step (None outside one): what a
        # synchronized BatchNormalization weighs its sums by (numnet.distribution.sync_bn).
        self.share_weight = None

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"

    # --- shares ------------------------------------------------------------------------------------
    def share(self, n: int, rank: int | None = None) -> slice:
        """The rows of a global batch of ``n`` that ``rank`` (default: this process) computes."""
        r = self.rank if rank is None else rank
        base, extra = divmod(n, self.size)
        start = r * base + min(r, extra)
        return slice(start, start + base + (1 if r < extra else 0))

    def share_sizes(self, n: int) -> list[int]:
        base, extra = divmod(n, self.size)
        return [base + (1 if r < extra else 0) for r in range(self.size)]

    # --- collectives ---------------------------------------------------------------------------------
    def allreduce(self, buffer: np.ndarray) -> np.ndarray:
        """Sum ``buffer`` (contiguous) over every process, in place."""
        self.comm.Allreduce(self._MPI.IN_PLACE, buffer, op=self._MPI.SUM)
        return buffer

    def broadcast(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Rank ``root``'s ``array`` (contiguous), written in place on every process."""
        self.comm.Bcast(array, root=root)
        return array

    def broadcast_bytes(self, data: bytes | None, root: int = 0) -> bytes:
        """Rank ``root``'s bytes on every process (a length, then the bytes: no pickle)."""
        data = b"" if data is None else data
        length = np.array([len(data)], dtype=np.int64)
        self.comm.Bcast(length, root=root)
        buffer = np.frombuffer(data, dtype=np.uint8).copy() if self.rank == root else np.empty(int(length[0]), np.uint8)
        self.comm.Bcast(buffer, root=root)
        return buffer.tobytes()

    def barrier(self) -> None:
        self.comm.Barrier()

    def agree(self, values) -> bool:
        """Whether every process holds the same small integer vector ``values``."""
        local = np.asarray(values, dtype=np.int64).reshape(-1)
        count = np.array([local.size], dtype=np.int64)
        low, high = count.copy(), count.copy()
        self.comm.Allreduce(self._MPI.IN_PLACE, low, op=self._MPI.MIN)
        self.comm.Allreduce(self._MPI.IN_PLACE, high, op=self._MPI.MAX)
        if low[0] != high[0]:
            return False
        low, high = local.copy(), local.copy()
        self.comm.Allreduce(self._MPI.IN_PLACE, low, op=self._MPI.MIN)
        self.comm.Allreduce(self._MPI.IN_PLACE, high, op=self._MPI.MAX)
        return bool(np.array_equal(low, high))

    def scratch(self, key, size: int, dtype) -> np.ndarray:
        """A reusable 1-D buffer (the step's Allreduce buffer), one per ``key``."""
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size != size or buffer.dtype != dtype:
            buffer = self._buffers[key] = np.empty(size, dtype=dtype)
        return buffer

    # --- side effects once ---------------------------------------------------------------------------
    def run_once(self, function, *args, what: str = "the write"):
        """Call ``function(*args)`` on rank 0 only; the others wait until it is done (so none
        reads a half-written file) and raise RuntimeError if it failed there."""
        error, result = None, None
        if self.rank == 0:
            try:
                result = function(*args)
            except BaseException as exc:  # re-raised below, after the others heard of it
                error = exc
        message = self.broadcast_bytes(None if error is None else f"{type(error).__name__}: {error}".encode())
        if self.rank == 0 and error is not None:
            raise error
        if message:
            raise RuntimeError(f"Process 0 failed during {what}: {message.decode(errors='replace')}")
        return result

    # --- the training steps ----------------------------------------------------------------------------
    def begin_fit(self, model) -> None:
        """Every process takes rank 0's weights, optimizer state and random state."""
        from .sync import broadcast_model

        broadcast_model(self, model)

    def train_step(self, model, data) -> dict:
        from .steps import train_step

        try:
            return train_step(self, model, data)
        finally:
            self.share_weight = None

    def test_step(self, model, data) -> dict:
        from .steps import test_step

        return test_step(self, model, data)

    def predict_step(self, model, data) -> list:
        from .steps import predict_step

        return predict_step(self, model, data)

    # --- failing together ------------------------------------------------------------------------------
    def _install(self) -> None:
        if not self.abort_on_error or self.size == 1 or self._previous_hook is not None:
            return
        previous = self._previous_hook = sys.excepthook
        comm, rank, size = self.comm, self.rank, self.size

        def abort_job(kind, value, traceback):
            # Print first (the user must see why), then end every process: the others may be
            # waiting in a collective this process will never join.
            sys.stderr.write(f"numnet.distribution: process {rank} of {size} raised {kind.__name__}; "
                             "ending the whole job.\n")
            previous(kind, value, traceback)
            sys.stdout.flush()
            sys.stderr.flush()
            comm.Abort(1)

        sys.excepthook = abort_job

    def _uninstall(self) -> None:
        if self._previous_hook is not None:
            sys.excepthook = self._previous_hook
            self._previous_hook = None
