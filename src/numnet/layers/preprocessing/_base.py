"""What the preprocessing layers share: no trainable weights, inputs that may be lists or
strings, integer outputs, an ``adapt`` that checks its data, and (for the layers that turn
data into ids or bins) no gradient with respect to the input."""

from __future__ import annotations

import numpy as np

from ..layer import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def check_choice(value, allowed, what: str, owner: str):
    """``value`` if it is one of ``allowed``, else ValueError naming the argument."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{owner} {what} must be one of {list(allowed)}, got {value!r:.80}.")
    return value


def check_optional_positive(value, what: str, owner: str, minimum: int = 1):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{owner} {what} must be None or an integer >= {minimum}, got {value!r:.80}.")
    return int(value)


def batches_of(data):
    """``data`` as a list of batches when it is an iterable of batches (a generator, an
    iterator, a ``PyDataset``: an ``(x, y)`` batch contributes its ``x``), else None (an
    array, a list or a string: one batch)."""
    if isinstance(data, (np.ndarray, list, tuple, str, bytes)) or np.isscalar(data):
        return None
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        dataset = data
        data = (dataset[i] for i in range(len(dataset)))  # a PyDataset: batches by index
    elif not hasattr(data, "__iter__"):
        return None
    return [batch[0] if isinstance(batch, tuple) else batch for batch in data]


def nonempty(data, what: str, owner: str) -> None:
    """``adapt`` on no data is an error (there is nothing to learn a vocabulary or a mean from)."""
    if np.size(data) == 0:
        raise ValueError(f"{owner}.adapt: {what} is empty; adapt needs at least one sample.")


class PreprocessingLayer(Layer):
    """A layer without trainable weights that maps raw data to model inputs.

    Non-differentiable by default (``differentiable = False``): its output is integers,
    counts or a piecewise-constant function of the input, so it has no useful gradient
    with respect to its input. It belongs at the model's input, where nobody asks for one;
    ``backward`` returns None there and raises RuntimeError when a layer before it would
    need it. Differentiable subclasses (Rescaling, Normalization, Resizing, crops, flips)
    implement ``backward``.
    """

    differentiable = False

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        raise RuntimeError(
            f"{type(self).__name__} {self.name!r} has no gradient with respect to its input (it maps data to "
            "integers, counts or bins); place it at the model's input, where no gradient is needed."
        )

    def _output_dtype(self, tensors, dtype):
        return dtype if self.output_is_float else np.dtype(np.int64)

    def _check_call_shape(self, shape) -> None:
        """A layer without weights takes any input shape on every call (called on a list of
        strings first, then on ``Input(shape=(1,), dtype="string")``); one with statistics
        (Normalization) must get the shape they were computed for."""
        if self.params or self.buffers:
            super()._check_call_shape(shape)

    def to_onnx(self, graph, inputs):
        """Only Rescaling and Normalization export (as Mul / Add / Sub / Div); the others map
        strings, vocabularies, hashes or random draws that numnet does not write as ONNX."""
        raise ValueError(
            f"Cannot export layer {self.name!r} to ONNX: numnet has no ONNX conversion for the preprocessing layer "
            f"{type(self).__name__}. Preprocess outside the exported graph: export a model that starts after it "
            "(Model(inner_input, outputs)) and apply the layer to the data before running the ONNX model."
        )

    @property
    def output_is_float(self) -> bool:
        """Whether the output is float (in the layer dtype) rather than int64."""
        return True

    def _float_dtype(self):
        return self.dtype if self.dtype is not None and self.dtype.kind == "f" else np.dtype(np.float32)


def encode_categorical(ids: np.ndarray, output_mode: str, depth: int, dtype, count_weights=None,
                       drop=None) -> np.ndarray:
    """Keras's ``encode_categorical_inputs`` for ids in ``[0, depth)``.

    * ``"one_hot"``: each id becomes a row of ``depth`` (a trailing axis of size 1 is
      replaced): ``(batch, ..., 1) -> (batch, ..., depth)``, ``(batch, k) -> (batch, k, depth)``.
    * ``"multi_hot"``: 1 where an id occurs in the last axis: ``(batch, k) -> (batch, depth)``.
    * ``"count"``: how often each id occurs in the last axis, times ``count_weights``
      (the tf-idf weights) when given.

    A 1-D batch ``(batch,)`` is one id per sample. ``drop``: a boolean array of ids to
    leave out (a mask token in a non-int mode).
    """
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids.reshape(ids.shape[:-1])
        out = np.zeros(ids.shape + (depth,), dtype=dtype)
        keep = np.ones(ids.shape, dtype=bool) if drop is None else ~drop.reshape(ids.shape)
        np.put_along_axis(out, np.where(keep, ids, 0)[..., None], keep[..., None].astype(dtype), axis=-1)
        return out
    if ids.ndim == 1:
        ids = ids[:, None]
        if drop is not None:
            drop = drop.reshape(ids.shape)
    lead = ids.shape[:-1]
    rows = ids.reshape(-1, ids.shape[-1])
    flat_rows = np.repeat(np.arange(len(rows)), rows.shape[1])
    flat_ids = rows.reshape(-1)
    weights = None
    if drop is not None:
        keep = ~drop.reshape(-1)
        flat_rows, flat_ids = flat_rows[keep], flat_ids[keep]
    counts = np.zeros((len(rows), depth), dtype=np.float64)
    np.add.at(counts, (flat_rows, flat_ids), 1.0)
    if output_mode == "multi_hot":
        counts = (counts > 0).astype(np.float64)
    elif count_weights is not None:
        weights = np.asarray(count_weights, dtype=np.float64)
        counts = counts * weights
    return counts.reshape(lead + (depth,)).astype(dtype)


def categorical_output_shape(input_shape, output_mode: str, depth):
    """The output shape (no batch axis) for ``encode_categorical``: int mode keeps it."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if output_mode == "one_hot":
        if input_shape and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)
