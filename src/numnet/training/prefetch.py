"""Preparing a ``PyDataset``'s batches ahead of the step that uses them, in worker threads or
processes, in a fixed order.

``Prefetcher.run(indices)`` yields ``dataset[i]`` for each ``i`` of ``indices``, in that order,
whatever order the workers finish in: it keeps at most ``max_queue_size`` batches requested
(being prepared or ready and waiting), and hands them out oldest first. So the batches, and
therefore training, are the same with 1, 4 or 16 workers, threads or processes.

Threads share the data set object (its ``__getitem__`` must then be thread-safe, as in
Keras). Processes are forked on Linux, as Keras and PyTorch's DataLoader do: each starts as
a copy of the parent, so the data set needs no pickling and a ``np.memmap`` it holds stays
one mapping of the file, and a script needs no ``if __name__ == "__main__"`` guard.
Elsewhere (macOS, Windows, where forking is unsafe or absent) they are spawned: the data set
is pickled to them, and the script needs the guard. When the data set overrides
``on_epoch_end`` (a reshuffle, say), the processes are started again at every epoch, so
that they see its new state. Batches come back pickled through a pipe between numnet's own
processes; nothing a user loads is unpickled.

An exception raised by ``__getitem__`` in a worker reaches the caller as the same exception
type, with a message naming the batch index, chained to the original (whose traceback, from
the worker, is shown). Every worker is stopped and joined before ``close`` returns.
"""

from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import multiprocessing
import sys

_WORKER_DATASET = None  # a process worker's copy of the data set
_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _init_process_worker(dataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _process_getitem(index: int):
    return _WORKER_DATASET[index]


def batch_error(exc: BaseException, where: str) -> BaseException:
    """``exc`` re-typed with ``where`` (which batch, of what) in front of its message, so that
    ``except ValueError`` in user code still catches it; a RuntimeError when the type cannot be
    built from one message."""
    message = f"{where} raised {type(exc).__name__}: {exc}"
    try:
        wrapped = type(exc)(message)
        if str(wrapped) != message and not isinstance(exc, KeyError):
            raise TypeError
    except Exception:  # noqa: BLE001 - an exception class with its own constructor
        wrapped = RuntimeError(message)
    return wrapped


class Prefetcher:
    """Batches of ``dataset`` prepared by ``workers`` threads (``processes=False``) or
    processes, at most ``max_queue_size`` ahead. ``label`` names the data set in errors."""

    def __init__(self, dataset, workers: int, processes: bool, max_queue_size: int, label: str) -> None:
        self.dataset = dataset
        self.workers = workers
        self.processes = processes
        self.max_queue_size = max_queue_size
        self.label = label
        self.executor = None
        from ..utils.dataset import PyDataset

        # A data set whose state may change between epochs is copied to the processes again.
        self._reship = processes and type(dataset).on_epoch_end is not PyDataset.on_epoch_end

    def _start(self) -> None:
        if self.executor is not None:
            return
        if self.processes:
            self.executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(_START_METHOD),
                initializer=_init_process_worker, initargs=(self.dataset,))
        else:
            self.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="numnet-prefetch")

    def _submit(self, index: int):
        if self.processes:
            return self.executor.submit(_process_getitem, index)
        return self.executor.submit(self.dataset.__getitem__, index)

    def run(self, indices):
        """Yield ``dataset[i]`` for ``i`` in ``indices``, in order."""
        indices = list(indices)
        if self._reship:
            self.close()  # the copies of the last epoch are stale
        self._start()
        pending = collections.deque()
        upcoming = iter(indices)
        try:
            for index in upcoming:
                pending.append((index, self._submit(index)))
                if len(pending) >= self.max_queue_size:
                    break
            while pending:
                index, future = pending.popleft()
                try:
                    batch = future.result()
                except concurrent.futures.process.BrokenProcessPool as exc:
                    raise RuntimeError(f"A worker process of {self.label} died while preparing batch {index} "
                                       f"(killed, or out of memory): {exc}") from exc
                except Exception as exc:  # noqa: BLE001 - re-raised with the batch index
                    raise batch_error(exc, f"{self.label}[{index}] (in a worker "
                                           f"{'process' if self.processes else 'thread'})") from exc
                following = next(upcoming, None)
                if following is not None:
                    pending.append((following, self._submit(following)))
                yield batch
        except BaseException:
            self.close()
            raise
        finally:
            for _, future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop and join every worker (running ``__getitem__`` calls finish first)."""
        executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
