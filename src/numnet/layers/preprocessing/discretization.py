"""``Discretization``: numbers to the index of the bin they fall in."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ._base import PreprocessingLayer, batches_of, categorical_output_shape, check_choice, encode_categorical, \
    nonempty


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's quantile summary of ``values``: ``[values, weights]`` (2, m) float32. The
    sorted values taken every ``step = max(n * epsilon, 1)`` from ``step - 1``, each
    weighing ``step``."""
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    taken = values[int(step - 1)::int(step)]
    return np.stack([taken, np.full(taken.shape, step, dtype=taken.dtype)])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-bin ``summary`` at the cumulative-weight fractions ``epsilon, 2 epsilon, ..., 1``
    by linear interpolation (unchanged when it has fewer than ``1 / epsilon`` entries)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    bins = np.interp(fractions, at, summary[0])
    weights = np.interp(fractions, at, cumulative)
    return np.stack([bins, np.diff(weights, prepend=0.0)]).astype(np.float32)


class Discretization(PreprocessingLayer):
    """``index = number of boundaries <= x`` (``np.digitize``): with ``bin_boundaries=[0.,
    1., 2.]``, ``x < 0`` is bin 0, ``0 <= x < 1`` bin 1, ..., ``x >= 2`` bin 3.

    Either ``bin_boundaries`` (sorted) or ``num_bins`` with ``adapt(data)``, which takes the
    boundaries at the ``1/num_bins, 2/num_bins, ...`` quantiles of the data by Keras's
    approximate summary (``epsilon`` its precision; exact for small data: a summary of
    at most ``1/epsilon`` values is the sorted data). ``output_mode``: ``"int"`` (int64,
    the input's shape), ``"one_hot"``, ``"multi_hot"``, ``"count"``. Not differentiable
    (piecewise constant).
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 name=None, **kwargs) -> None:
        check_choice(output_mode, ("int", "one_hot", "multi_hot", "count"), "output_mode", "Discretization")
        if sparse:
            raise ValueError("Discretization sparse=True is not supported: numnet has no sparse tensors.")
        if bin_boundaries is None and num_bins is None:
            raise ValueError("Discretization needs bin_boundaries or num_bins (then adapt), got neither.")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer))
                                     or num_bins < 1):
            raise ValueError(f"Discretization num_bins must be a positive integer, got {num_bins!r:.80}.")
        if not (isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and 0 < epsilon <= 1):
            raise ValueError(f"Discretization epsilon must be a number in (0, 1], got {epsilon!r:.80}.")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in np.asarray(bin_boundaries, dtype=np.float64).reshape(-1)]
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries)) or not np.all(
                    np.isfinite(bin_boundaries)):
                raise ValueError(f"Discretization bin_boundaries must be finite and sorted, got {bin_boundaries[:10]}.")
            if num_bins is not None:
                raise ValueError("Discretization takes bin_boundaries or num_bins, not both; got both.")
        super().__init__(name=name, **kwargs)
        # Shared with this layer's per-thread inference views (shallow copies): see _lookup.
        self._state = SimpleNamespace(bin_boundaries=bin_boundaries)
        self.num_bins, self.epsilon, self.output_mode = None if num_bins is None else int(num_bins), float(epsilon), \
            output_mode
        self._adaptable = bin_boundaries is None

    @property
    def bin_boundaries(self):
        """The boundaries (a list of floats), or None before ``adapt``."""
        return self._state.bin_boundaries

    @bin_boundaries.setter
    def bin_boundaries(self, value) -> None:
        self._state.bin_boundaries = None if value is None else [float(b) for b in value]

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Boundaries at the quantiles of ``data`` (any shape; all values pooled)."""
        if not self._adaptable:
            raise ValueError(f"Discretization {self.name!r} was given bin_boundaries; create it with num_bins to "
                             "adapt it.")
        batches = batches_of(data)
        if batches is not None:  # pooled: the summary of all values at once
            data = np.concatenate([np.asarray(b, dtype=np.float32).reshape(-1) for b in batches] or [np.zeros(0)])
        values = np.asarray(data, dtype=np.float32)
        nonempty(values, "the data", "Discretization")
        if not np.isfinite(values).all():
            raise ValueError("Discretization.adapt: the data holds NaN or infinite values.")
        summary = compress(summarize(values, self.epsilon), self.epsilon)
        self.bin_boundaries = [float(b) for b in compress(summary, 1.0 / self.num_bins)[0, :-1]]

    @property
    def output_is_float(self) -> bool:
        return self.output_mode != "int"

    def _depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    def compute_output_shape(self, input_shape):
        return categorical_output_shape(input_shape, self.output_mode, self._depth())

    def forward(self, input, training=False):
        if self.bin_boundaries is None:
            raise RuntimeError(f"Discretization {self.name!r} has no bin boundaries yet; adapt it first.")
        x = np.asarray(input)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"Discretization input must be numbers, got dtype {x.dtype}.")
        if not self.built:
            self.build_for(x.shape[1:])
        ids = np.digitize(x, np.asarray(self.bin_boundaries, dtype=np.float64)).astype(np.int64)
        if self.output_mode == "int":
            return ids
        return encode_categorical(ids, self.output_mode, self._depth(), self._float_dtype())

    def get_config(self) -> dict:
        """The boundaries (given or adapted, as JSON numbers: exact) and ``num_bins``."""
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> "Discretization":
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")  # an adapted layer: it stays adaptable
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(**config)
