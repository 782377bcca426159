"""Numbers and categories: ``Normalization`` (with ``adapt``), ``Rescaling``, ``CategoryEncoding``."""

from __future__ import annotations

import numpy as np

from ._base import PreprocessingLayer, batches_of, categorical_output_shape, check_choice, encode_categorical

# Keras's backend.epsilon(): the smallest standard deviation Normalization divides by.
EPSILON = 1e-7


def _batches(data):
    """``data`` as a list of arrays: one array (or array-like), or the batches of an
    iterable / ``PyDataset`` (see ``_base.batches_of``)."""
    batches = batches_of(data)
    return [np.asarray(data)] if batches is None else [np.asarray(b) for b in batches]


class Normalization(PreprocessingLayer):
    """``y = (x - mean) / max(sqrt(variance), 1e-7)`` per position of the kept ``axis``
    (``invert=True``: ``y = mean + x * max(sqrt(variance), 1e-7)``).

    ``axis`` counts the batch axis as 0, as in Keras: ``-1`` (default) keeps one mean per
    feature of the last axis, a tuple keeps several axes, None one mean for everything.
    ``mean`` / ``variance`` given (numbers or arrays broadcast against the kept axes), or
    learnt by ``adapt(data)``: the mean and the population variance (divided by n, as
    Keras computes it) over every other axis; an iterable of batches is pooled exactly.
    The adapted statistics are the non-trainable weights ``mean`` and ``variance``
    (saved with the model). Differentiable: ``dL/dx = dL/dy / max(sqrt(variance), 1e-7)``.
    """

    differentiable = True
    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, name=None, **kwargs) -> None:
        if isinstance(axis, list):
            axis = tuple(axis)
        if axis is not None and not (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)) and not (
                isinstance(axis, tuple) and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                                for a in axis)):
            raise TypeError(f"Normalization axis must be an int, a tuple of ints or None, got {axis!r:.80}.")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization needs both mean and variance, or neither (then adapt); got only "
                             f"{'mean' if variance is None else 'variance'}.")
        if mean is not None:
            m, v = np.asarray(mean, dtype=np.float64), np.asarray(variance, dtype=np.float64)
            if not (np.isfinite(m).all() and np.isfinite(v).all()) or (v < 0).any():
                raise ValueError("Normalization mean must be finite and variance finite and non-negative.")
        super().__init__(name=name, **kwargs)
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)

    def _keep_axes(self, ndim: int) -> tuple:
        """The kept axes of a ``ndim``-dimensional batch (the batch axis is 0)."""
        if self.axis is None:
            return ()
        kept = []
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"Normalization axis {a} is outside an input of {ndim} dimensions (with the batch).")
            a = a % ndim
            if a == 0:
                raise ValueError("Normalization axis cannot be the batch axis 0; keep feature axes (-1 by default).")
            kept.append(a)
        return tuple(sorted(set(kept)))

    def build(self, input_shape) -> None:
        ndim = len(input_shape) + 1
        self._kept = self._keep_axes(ndim)
        for a in self._kept:
            if input_shape[a - 1] is None:
                raise ValueError(f"Normalization keeps axis {a}, whose size is unknown in the input shape "
                                 f"{(None, *input_shape)}.")
        shape = tuple(input_shape[a - 1] for a in self._kept)
        self._broadcast = tuple(input_shape[d - 1] if d in self._kept else 1 for d in range(1, ndim))
        if self.input_mean is None:
            self.add_weight("mean", shape, "zeros", trainable=False)
            self.add_weight("variance", shape, "ones", trainable=False)
        else:
            dtype = self._float_dtype()
            try:
                self._mean = self._fit(np.asarray(self.input_mean, dtype=dtype), shape).astype(dtype)
                self._variance = self._fit(np.asarray(self.input_variance, dtype=dtype), shape).astype(dtype)
            except ValueError as exc:
                raise ValueError(f"Normalization mean / variance do not fit the kept axes {shape}: {exc}") from None

    @staticmethod
    def _fit(value: np.ndarray, shape: tuple) -> np.ndarray:
        return np.broadcast_to(value, shape).copy()

    def _statistics(self):
        if self.input_mean is None:
            mean, variance = self.buffers["mean"], self.buffers["variance"]
        else:
            mean, variance = self._mean, self._variance
        return mean.reshape(self._broadcast), variance.reshape(self._broadcast)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Set ``mean`` and ``variance`` (population) from ``data``: an array ``(n, ...)`` or an
        iterable of such batches."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization {self.name!r} was given mean and variance; it cannot be adapted.")
        batches = [b for b in _batches(data)]
        if not batches or all(b.size == 0 for b in batches):
            raise ValueError("Normalization.adapt: the data is empty; adapt needs at least one sample.")
        for b in batches:
            if b.dtype.kind not in "biuf":
                raise TypeError(f"Normalization.adapt: the data must be numbers, got dtype {b.dtype}.")
            if b.ndim == 0:
                raise ValueError("Normalization.adapt: the data needs a batch axis, got a scalar.")
            if not np.isfinite(b).all():
                raise ValueError("Normalization.adapt: the data holds NaN or infinite values.")
        feature = batches[0].shape[1:]
        if any(b.shape[1:] != feature for b in batches):
            raise ValueError("Normalization.adapt: the batches differ in shape after the batch axis.")
        if not self.built:
            self.build_for(feature)
        elif not all(self.input_shape[a - 1] == feature[a - 1] for a in self._kept) or len(feature) != len(
                self.input_shape):
            raise ValueError(f"Normalization {self.name!r} was built for inputs {(None, *self.input_shape)}; adapt "
                             f"got data of shape {(None, *feature)}.")
        reduce = tuple(d for d in range(len(feature) + 1) if d not in self._kept)
        # Pool the batches exactly: per-batch count, mean and squared deviations (Chan et al.).
        count, mean, m2 = 0, 0.0, 0.0
        for b in batches:
            if b.size == 0:
                continue
            b = b.astype(np.float64)
            n = b.size // int(np.prod([b.shape[a] for a in self._kept], dtype=np.int64))
            bm = b.mean(axis=reduce)
            bm2 = ((b - bm.reshape((1, *self._broadcast))) ** 2).sum(axis=reduce)
            delta = bm - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + bm2 + delta ** 2 * (count * n / total)
            count = total
        self.buffers["mean"][...] = mean
        self.buffers["variance"][...] = m2 / count

    def forward(self, input, training=False):
        x = np.asarray(input)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"Normalization input must be numbers, got dtype {x.dtype}.")
        if not self.built:
            self.build_for(x.shape[1:])
        mean, variance = self._statistics()
        scale = np.maximum(np.sqrt(variance), variance.dtype.type(EPSILON))
        self._scale = scale
        if self.invert:
            return mean + x * scale
        return (x - mean) / scale

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        return output_error * self._scale if self.invert else output_error / self._scale

    def to_onnx(self, graph, inputs):
        """``(x - mean) / scale`` (or ``mean + x * scale``) with the statistics as constants."""
        mean, variance = self._statistics()
        scale = np.maximum(np.sqrt(variance.astype(np.float64)), EPSILON)
        mean_name = graph.const(f"{self.name}_mean", mean.reshape((1, *mean.shape)))
        scale_name = graph.const(f"{self.name}_scale", scale.reshape((1, *scale.shape)))
        if self.invert:
            scaled = graph.op("Mul", [inputs[0], scale_name], f"{self.name}_scaled")
            return graph.op("Add", [scaled, mean_name], self.name)
        centred = graph.op("Sub", [inputs[0], mean_name], f"{self.name}_centred")
        return graph.op("Div", [centred, scale_name], self.name)

    def cast(self, dtype) -> None:
        super().cast(dtype)
        if self.input_mean is not None and self.built:
            self._mean, self._variance = self._mean.astype(self.dtype), self._variance.astype(self.dtype)

    def get_config(self) -> dict:
        def plain(value):
            return None if value is None else np.asarray(value, dtype=np.float64).tolist()
        return {**super().get_config(), "axis": None if self.axis is None else list(self.axis),
                "mean": plain(self.input_mean), "variance": plain(self.input_variance), "invert": self.invert}


class Rescaling(PreprocessingLayer):
    """``y = x * scale + offset`` (``Rescaling(1 / 255)`` maps pixels to [0, 1];
    ``Rescaling(1 / 127.5, offset=-1)`` to [-1, 1]). ``scale`` / ``offset`` may be
    numbers or arrays broadcast against the last axes (one per channel). Any input
    shape. Differentiable: ``dL/dx = dL/dy * scale``."""

    differentiable = True
    supports_masking = True

    def __init__(self, scale, offset=0.0, name=None, **kwargs) -> None:
        for what, value in (("scale", scale), ("offset", offset)):
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"Rescaling {what} must be a number or an array of numbers, got {value!r:.80}.") \
                    from None
            if not np.isfinite(array).all():
                raise ValueError(f"Rescaling {what} must be finite, got {value!r:.80}.")
        super().__init__(name=name, **kwargs)
        self.scale, self.offset = scale, offset

    def _arrays(self, dtype):
        return np.asarray(self.scale, dtype=dtype), np.asarray(self.offset, dtype=dtype)

    def forward(self, input, training=False):
        x = np.asarray(input)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"Rescaling input must be numbers, got dtype {x.dtype}.")
        if not self.built:
            self.build_for(x.shape[1:])
        dtype = x.dtype if x.dtype.kind == "f" else self._float_dtype()
        scale, offset = self._arrays(dtype)
        self._scale = scale
        return x.astype(dtype, copy=False) * scale + offset

    def backward(self, output_error):
        if not self.needs_input_error:
            return None
        out = output_error * self._scale
        return out if out.shape == output_error.shape else np.broadcast_to(out, output_error.shape).copy()

    def to_onnx(self, graph, inputs):
        """``Mul`` then ``Add`` by constants."""
        scaled = graph.op("Mul", [inputs[0], graph.const(f"{self.name}_scale", self.scale)], f"{self.name}_scaled")
        return graph.op("Add", [scaled, graph.const(f"{self.name}_offset", self.offset)], self.name)

    def get_config(self) -> dict:
        def plain(value):
            array = np.asarray(value, dtype=np.float64)
            return float(array) if array.ndim == 0 else array.tolist()
        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class CategoryEncoding(PreprocessingLayer):
    """Integer ids in ``[0, num_tokens)`` to ``"multi_hot"`` (default), ``"one_hot"`` or
    ``"count"`` vectors of ``num_tokens`` floats (see ``_base.encode_categorical`` for the
    shapes). ``count_weights`` (call argument, same shape as the ids) weighs the counts.
    An id outside the range is a ValueError. Not differentiable."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, name=None, **kwargs) -> None:
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"CategoryEncoding num_tokens must be a positive integer, got {num_tokens!r:.80}.")
        check_choice(output_mode, ("multi_hot", "one_hot", "count"), "output_mode", "CategoryEncoding")
        if sparse:
            raise ValueError("CategoryEncoding sparse=True is not supported: numnet has no sparse tensors.")
        super().__init__(name=name, **kwargs)
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def compute_output_shape(self, input_shape):
        return categorical_output_shape(input_shape, self.output_mode, self.num_tokens)

    def forward(self, input, training=False, count_weights=None):
        ids = np.asarray(input)
        if ids.dtype.kind == "f":
            if ids.size and not np.array_equal(ids, np.floor(ids)):
                raise ValueError(f"CategoryEncoding {self.name!r} expects integer ids, got non-integral values.")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iub":
            raise TypeError(f"CategoryEncoding {self.name!r} expects integer ids, got dtype {ids.dtype}.")
        if not self.built:
            self.build_for(ids.shape[1:])
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            raise ValueError(f"CategoryEncoding {self.name!r}: ids must lie in [0, {self.num_tokens}) (num_tokens), "
                             f"got values from {ids.min()} to {ids.max()}.")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("CategoryEncoding count_weights is only for output_mode='count'.")
            return _weighted_counts(ids, np.asarray(count_weights, dtype=np.float64), self.num_tokens,
                                    self._float_dtype())
        return encode_categorical(ids, self.output_mode, self.num_tokens, self._float_dtype())

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


def _weighted_counts(ids, weights, depth, dtype):
    if weights.shape != ids.shape:
        raise ValueError(f"CategoryEncoding count_weights must have the ids' shape {ids.shape}, got {weights.shape}.")
    if ids.ndim == 1:
        ids, weights = ids[:, None], weights[:, None]
    rows = ids.reshape(-1, ids.shape[-1])
    out = np.zeros((len(rows), depth))
    np.add.at(out, (np.repeat(np.arange(len(rows)), rows.shape[1]), rows.reshape(-1)), weights.reshape(-1))
    return out.reshape(ids.shape[:-1] + (depth,)).astype(dtype)
