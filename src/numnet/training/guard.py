"""The divergence guard's fallback: copies of the weights and optimizer state."""

from __future__ import annotations

import numpy as np


class Snapshot:
    """Copies of every weight and the optimizer state, to fall back to after divergence."""

    def __init__(self, model) -> None:
        self.weights = model.get_weights()
        optimizer = model.optimizer
        self.iterations = optimizer.iterations
        self.state = {k: {s: np.array(a, copy=True) for s, a in slots.items()} for k, slots in optimizer.state.items()}

    def restore(self, model) -> None:
        model.set_weights(self.weights)
        optimizer = model.optimizer
        optimizer.iterations = self.iterations
        optimizer.state = {k: {s: np.array(a, copy=True) for s, a in slots.items()} for k, slots in self.state.items()}
        if hasattr(optimizer, "_flat"):
            optimizer._flat = None  # the flat state buffers are rebuilt from the restored state


def weights_finite(model) -> bool:
    return all(np.isfinite(w.min()) and np.isfinite(w.max()) for w in model.weights if w.size)
