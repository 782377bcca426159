"""Checking one batch from a generator or a ``PyDataset`` before the step that uses it.

A batch is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list of length 1 to 3
counts as that tuple, as in Keras; a bare array or a dict is ``x`` alone). ``x`` and ``y``
are an array, a list or a dict, as ``fit`` takes them for arrays.

Every batch goes through the checks the array path runs once on the whole data
(``numnet.training.data``: shapes against the model, NaN / inf, labels against the loss), and
is compared with the first batch: the same structure (tuple length, list lengths, dict keys)
and the same shapes, except along the batch axis and axes the model declares ``None`` (a
variable time axis). A difference is a ValueError that names the batch and what differed;
a batch is refused before its step runs, so the weights are as after the previous batch.
"""

from __future__ import annotations

import numpy as np

from .data import as_inputs, as_sample_weights, as_targets, cast_inputs


def split_batch(batch, where: str):
    """``(x, y, sample_weight)`` of one batch (``y`` / ``sample_weight`` None when absent)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"{where} is a tuple of {len(batch)} items; a batch must be x, (x,), (x, y) or "
                             "(x, y, sample_weight).")
        return batch + (None,) * (3 - len(batch))
    if isinstance(batch, (np.ndarray, dict)):
        return batch, None, None
    raise TypeError(f"{where} is a {type(batch).__name__}; a batch must be an array, a dict, or a tuple "
                    "(x,), (x, y) or (x, y, sample_weight).")


def _describe(part):
    """Structure and feature shapes of one part of a batch: comparable between batches."""
    if part is None:
        return None
    if isinstance(part, dict):
        return ("dict", tuple((k, _shape(v)) for k, v in part.items()))
    if isinstance(part, (list, tuple)):
        return ("list", tuple(_shape(v) for v in part))
    return ("array", _shape(part))


def _shape(value):
    shape = getattr(value, "shape", None)
    return None if shape is None else tuple(shape[1:])


def _kind(description) -> str:
    if description is None:
        return "absent"
    kind, content = description
    if kind == "dict":
        return f"a dict with keys {[k for k, _ in content]}"
    if kind == "list":
        return f"a list of {len(content)}"
    return "one array"


def _leaves(description):
    kind, content = description
    if kind == "dict":
        return [(f"[{k!r}]", k, s) for k, s in content]
    if kind == "list":
        return [(f"[{i}]", i, s) for i, s in enumerate(content)]
    return [("", 0, content)]


class BatchChecker:
    """Validates the batches of one data source for one model.

    ``label`` names the source in messages ("the training generator"); ``needs_targets``:
    False for ``predict`` (``y`` is then ignored, as in Keras)."""

    def __init__(self, model, label: str, needs_targets: bool = True, class_weight=None) -> None:
        self.model = model
        self.label = label
        self.needs_targets = needs_targets
        self.class_weight = class_weight
        self.first = None  # descriptions of batch 0's x, y and sample_weight

    def __call__(self, batch, index: int):
        """The step's ``data``: ``(xs, ys, weights)`` (``(xs,)`` for predict), cast to the model dtype."""
        where = f"Batch {index} of {self.label}"
        x, y, sample_weight = split_batch(batch, where)
        if not self.needs_targets:
            y = sample_weight = None
        described = tuple(_describe(part) for part in (x, y, sample_weight))
        if self.first is None:
            self.first = described
        else:
            self._compare(described, index, where)
        model = self.model
        try:
            xs = as_inputs(model, x, "x")
            dtype = model.dtype
            xs = cast_inputs(xs, dtype)  # string inputs stay strings (a preprocessing layer reads them)
            if not self.needs_targets:
                return (xs,)
            ys = as_targets(model, y, len(xs[0]), "y")
            weights = as_sample_weights(model, ys, sample_weight, self.class_weight)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        ys = [t if t is None or (o.loss is not None and o.loss.is_sparse) else t.astype(dtype, copy=False)
              for t, o in zip(ys, model._compiled.outputs)]
        return xs, ys, weights

    def _compare(self, described, index: int, where: str) -> None:
        for name, now, then in zip(("x", "y", "sample_weight"), described, self.first):
            if (now is None) != (then is None) or (now is not None and (now[0] != then[0] or _keys(now) != _keys(then))):
                raise ValueError(f"{where} has a different structure from batch 0: its {name} is {_kind(now)}, "
                                 f"batch 0's was {_kind(then)}.")
            if now is None:
                continue
            for (leaf, key, shape), (_, _, first_shape) in zip(_leaves(now), _leaves(then)):
                if shape == first_shape or shape is None or first_shape is None:
                    continue
                free = self._free_axes(name, key)
                same_rank = len(shape) == len(first_shape)
                if same_rank and all(a == b or (i < len(free) and free[i]) for i, (a, b) in
                                     enumerate(zip(shape, first_shape))):
                    continue
                raise ValueError(f"{where} has {name}{leaf} with feature shape {shape} (shape after the batch "
                                 f"axis), batch 0's was {first_shape}; only the batch axis, and axes the model "
                                 "declares None, may change between batches.")

    def _free_axes(self, name: str, key) -> list[bool]:
        """Which feature axes of this leaf (a position, or a dict key) the model leaves free (None)."""
        model = self.model
        tensors = getattr(model, "inputs", None) if name == "x" else getattr(model, "outputs", None) \
            if name == "y" else None
        names = (getattr(model, "input_names", None) if name == "x" else getattr(model, "output_names", None)) or []
        position = names.index(key) if isinstance(key, str) and key in names else key
        if not tensors or not isinstance(position, int) or position >= len(tensors):
            return []
        return [s is None for s in tensors[position].shape[1:]]


def _keys(description):
    kind, content = description
    if kind == "dict":
        return tuple(k for k, _ in content)
    if kind == "list":
        return len(content)
    return None
