"""``Embedding`` (integer ids to vectors) and ``Masking`` (padding steps marked by a value)."""

from __future__ import annotations

import numpy as np

from .. import initializers
from . import _sequence as seq
from .layer import Layer


class Embedding(Layer):
    """A lookup table: ``y[n, ...] = embeddings[ids[n, ...]]``.

    Shapes: ``ids (batch, ...)`` integers in ``[0, input_dim)`` (floats holding whole
    numbers are accepted, as a model's input arrays often are), ``embeddings
    (input_dim, output_dim)``, ``y (batch, ..., output_dim)``.

    Backward: ``dL/dembeddings[v] = sum of dL/dy at every position whose id is v`` (a
    scatter-add over the positions sorted by id: repeated ids accumulate, unused rows get
    zero). The ids have no gradient: ``backward`` returns None.

    ``mask_zero=True``: id 0 is padding; ``compute_mask`` gives ``ids != 0`` for the layers
    after (the table still has a row 0, so ``input_dim`` counts it). Default initializer
    ``"uniform"`` is Keras's ``RandomUniform(-0.05, 0.05)``.
    """

    weight_groups = {"embeddings": ("embeddings",)}  # embeddings_regularizer=, embeddings_constraint=

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 mask_zero: bool = False, name: str | None = None, **kwargs) -> None:
        self.input_dim = seq.check_positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = seq.check_positive_int(output_dim, "output_dim", "Embedding")
        super().__init__(name=name, **kwargs)
        if isinstance(embeddings_initializer, str) and embeddings_initializer.lower() == "uniform":
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self._ids = None

    def build(self, input_shape) -> None:
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, input_mask=None, inputs=None):
        """``inputs != 0`` with ``mask_zero`` (the ids of the last call when ``inputs`` is
        not given), else None."""
        if not self.mask_zero:
            return None
        ids = self._ids if inputs is None else self._as_ids(inputs)
        return None if ids is None else ids != 0

    def _as_ids(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.dtype.kind == "f":
            as_int = ids.astype(np.int64)
            if not np.array_equal(as_int, ids):
                raise ValueError(f"Embedding {self.name!r} expects integer ids, got non-integral values.")
            ids = as_int
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding {self.name!r} expects an integer array of ids, got dtype {ids.dtype}.")
        if ids.ndim < 1:
            raise ValueError(f"Embedding {self.name!r} expects ids of shape (batch, ...), got a scalar.")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(
                f"Embedding {self.name!r}: ids must lie in [0, {self.input_dim}) (input_dim), got values "
                f"from {ids.min()} to {ids.max()}."
            )
        return ids

    def forward(self, input, training=False, mask=None):
        ids = self._as_ids(input)
        if not self.built:
            self.build_for(ids.shape[1:])
        self._ids = ids
        # np.take with a flat index array: one gather, contiguous rows out.
        self.output = np.take(self.params["embeddings"], ids, axis=0)
        return self.output

    def backward(self, output_error):
        if self._ids is None:
            raise RuntimeError(f"Embedding {self.name!r}: call forward(ids) before backward(output_error).")
        table = self.params["embeddings"]
        dtype = np.result_type(table.dtype, np.asarray(output_error).dtype)
        g = np.asarray(output_error, dtype=dtype).reshape(-1, self.output_dim)
        # Sum the errors of each id used: sort the positions by id (stably, so the sums
        # always add in the same order), then one reduceat over the runs of equal ids;
        # about 3x faster than the former per-column bincount and 2x faster than np.add.at.
        flat = self._ids.reshape(-1)
        grad = np.zeros(table.shape, dtype=dtype)
        if flat.size:
            order = np.argsort(flat, kind="stable")
            ids = flat[order]
            starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
            grad[ids[starts]] = np.add.reduceat(g[order], starts, axis=0)
        self.grads["embeddings"] = grad
        return None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding.

    ``x (batch, time, features)``: ``keep[n, t] = any(x[n, t, :] != mask_value)``;
    ``y = x * keep[..., None]`` (masked steps become zeros, as in Keras) and
    ``compute_mask`` returns ``keep`` for the layers after. Backward: ``dL/dx = dL/dy * keep``.
    """

    def __init__(self, mask_value: float = 0.0, name: str | None = None, **kwargs) -> None:
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking mask_value must be a number, got {mask_value!r}.")
        super().__init__(name=name, **kwargs)
        self.mask_value = float(mask_value)
        self._keep = None

    def compute_mask(self, input_mask=None, inputs=None):
        """``any(inputs != mask_value, axis=-1)`` (for the last call's input when ``inputs``
        is not given), combined with ``input_mask`` if any."""
        keep = self._keep if inputs is None else np.any(np.asarray(inputs) != self.mask_value, axis=-1)
        if keep is None:
            return input_mask
        return keep if input_mask is None else keep & input_mask

    def forward(self, input, training=False, mask=None):
        x = np.asarray(input)
        if not self.built:
            self.build_for(x.shape[1:])
        self._keep = np.any(x != self.mask_value, axis=-1)
        self.output = x * self._keep[..., None].astype(x.dtype)
        return self.output

    def backward(self, output_error):
        if self._keep is None:
            raise RuntimeError(f"Masking {self.name!r}: call forward(x) before backward(output_error).")
        return output_error * self._keep[..., None]

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
