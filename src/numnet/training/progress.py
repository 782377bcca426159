"""Progress display for ``fit``: a tqdm bar per epoch, or one line per epoch."""

from __future__ import annotations

import sys
import time


def _interactive() -> bool:
    """A terminal or a notebook, where a progress bar redraws in place."""
    return sys.stdout.isatty() or "ipykernel" in sys.modules


class Progress:
    """verbose=1: a tqdm bar per epoch; verbose=2: one line per epoch; 0: silent.

    When the output is not interactive (a log file, a pipe, CI), a bar's redraws would
    pile up as text, so verbose=1 prints the one line per epoch instead, as Keras does.
    """

    REFRESH_SECONDS = 0.2

    def __init__(self, verbose: int, epochs: int, n_batches: int) -> None:
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}.")
        from ..distribution import is_chief

        if not is_chief():  # DataParallel: rank 0 shows the (global) figures, once
            verbose = 0
        if verbose == 1 and not _interactive():
            verbose = 2
        self.verbose, self.epochs, self.n_batches = verbose, epochs, n_batches
        self.bar = None

    def begin_epoch(self, epoch: int) -> None:
        self.start = time.perf_counter()
        self.last_refresh = 0.0
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.n_batches, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch",
                            leave=True, dynamic_ncols=True, file=sys.stdout)

    def batch(self, running_logs) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self.last_refresh >= self.REFRESH_SECONDS:
            self.last_refresh = now
            self.bar.set_postfix(_format(running_logs()), refresh=False)

    def end_epoch(self, epoch: int, logs: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix(_format(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self.start
            figures = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.1f}s - {figures}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _format(logs: dict) -> dict:
    return {k: f"{v:.4f}" for k, v in logs.items()}
