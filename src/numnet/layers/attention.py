"""Attention: ``MultiHeadAttention`` (Vaswani et al. 2017) and Keras's ``Attention``
(Luong-style dot-product or Bahdanau-style additive scores), with Keras's masks.

Masks: an ``attention_mask (batch, Tq, Tk)`` is True where query ``i`` may attend to key
``j``. Input masks combine with it as in Keras: ``query_mask[:, :, None] & value_mask[:, None, :]``
(and the key mask), and ``use_causal_mask`` adds ``j <= i``. Disallowed scores are
replaced by ``-1e9`` before the softmax: they get weight 0 (exactly) and no gradient, and
a row with no allowed key becomes uniform (Keras's
behaviour in float32; no NaN).
"""

from __future__ import annotations

import math

import numpy as np

from .. import initializers
from ..random import make_generator
from . import _attention_core as _core
from . import _sequence as seq
from ._attention_projection import project_all, project_all_backward
from .layer import Layer

_LARGE_NEGATIVE = _core.LARGE_NEGATIVE


def _inputs(layer, inputs):
    """``[query, value]`` or ``[query, value, key]`` as float arrays ``(batch, time, dim)``."""
    if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
        raise TypeError(
            f"{type(layer).__name__} {layer.name!r} expects a list [query, value] or [query, value, key], "
            f"got {type(inputs).__name__}."
        )
    arrays = [seq.check_sequence(layer, x, what=what) for x, what in zip(inputs, ("the query", "the value", "the key"))]
    batch = arrays[0].shape[0]
    if any(a.shape[0] != batch for a in arrays) or (len(arrays) == 3 and arrays[1].shape[1] != arrays[2].shape[1]):
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: query, value and key must share the batch size, and value "
            f"and key the time length; got shapes {[a.shape for a in arrays]}."
        )
    return arrays


def _input_masks(layer, mask, arrays):
    if mask is None:
        return [None] * len(arrays)
    if not isinstance(mask, (list, tuple)):
        raise TypeError(f"{type(layer).__name__} {layer.name!r}: mask must be a list with one entry per input.")
    mask = list(mask) + [None] * (len(arrays) - len(mask))
    return [seq.check_mask(layer, m, a.shape[0], a.shape[1]) for m, a in zip(mask, arrays)]


def combined_mask(layer, batch, tq, tk, query_mask=None, value_mask=None, key_mask=None,
                  attention_mask=None, use_causal_mask=False):
    """The boolean ``(batch, Tq, Tk)`` mask of allowed scores, or None when all are allowed."""
    mask = None

    def both(a, b):
        return b if a is None else a & b

    if query_mask is not None:
        mask = both(mask, query_mask[:, :, None])
    for m in (value_mask, key_mask):
        if m is not None:
            mask = both(mask, m[:, None, :])
    if use_causal_mask:
        mask = both(mask, np.tril(np.ones((tq, tk), dtype=bool))[None])
    if attention_mask is not None:
        attention_mask = np.asarray(attention_mask)
        if attention_mask.ndim != 3 or attention_mask.shape[1:] != (tq, tk) or attention_mask.shape[0] not in (1, batch):
            raise ValueError(
                f"{type(layer).__name__} {layer.name!r}: attention_mask must have shape (batch, Tq, Tk) = "
                f"({batch}, {tq}, {tk}), got {attention_mask.shape}."
            )
        mask = both(mask, attention_mask.astype(bool))
    return None if mask is None else np.broadcast_to(mask, (batch, tq, tk))


def masked_softmax(scores, mask):
    """Softmax over the last axis with the scores replaced by ``-1e9`` where ``mask``
    (broadcastable) is False. ``scores`` must be a fresh array: it is overwritten (the
    callers' ``q k^T``), which saves two passes over the largest array of the layer."""
    if mask is not None:
        scores = np.where(mask, scores, -_LARGE_NEGATIVE)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores *= np.reciprocal(scores.sum(axis=-1, keepdims=True))  # one division per row
    return scores


def softmax_backward(p, dp, mask=None):
    """``dL/dscores`` for ``p = masked_softmax(scores, mask)`` and ``dp = dL/dp``; zero
    where ``mask`` is False (those scores were replaced by a constant)."""
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return ds if mask is None else np.where(mask, ds, 0.0)


def _split_error(layer, output_error):
    """(dL/d output, dL/d scores or None): a layer that returned ``[output, scores]`` gets a
    list of two errors back."""
    if not layer._return_scores:
        return output_error, None
    if not isinstance(output_error, (list, tuple)) or len(output_error) != 2:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} returned [output, scores]: backward expects a "
                         "list of two errors (None for one that gets none).")
    return output_error[0], output_error[1]


class MultiHeadAttention(Layer):
    """``num_heads`` scaled dot-product attentions over learned projections.

    Shapes: ``query (B, Tq, Eq)``, ``value (B, Tv, Ev)``, ``key (B, Tv, Ek)`` (default: the
    value). Weights, in this order: ``query_kernel (Eq, H, dk)``, ``query_bias (H, dk)``,
    ``key_kernel (Ek, H, dk)``, ``key_bias``, ``value_kernel (Ev, H, dv)``, ``value_bias (H, dv)``,
    ``output_kernel (H, dv, E)``, ``output_bias (E,)`` with ``dk = key_dim``,
    ``dv = value_dim or key_dim`` and ``E = output_shape or Eq``.

    ``Q = query @ Wq + bq`` (per head; likewise K, V), ``S = (Q / sqrt(dk)) K^T`` per head
    ``(B, H, Tq, Tv)``, ``P = masked_softmax(S)``, ``O = dropout(P) V`` and
    ``y = sum_h O_h @ Wo_h + bo``. ``return_attention_scores=True`` also returns ``P``
    (before dropout), and backward then takes ``[dL/dy, dL/dP or None]``.

    Backward (per head): ``dP = dO V^T``, ``dV = P^T dO``, ``dS = P (dP - rowsum(dP P))``,
    ``dQ = dS K / sqrt(dk)``, ``dK = dS^T Q / sqrt(dk)``; each projection's weight gradient
    is one product over batch and time. The attention itself (S, P, O and their gradients)
    runs in ``_attention_core.py``, in batch chunks with P stored key-major. It returns
    ``[dL/dquery, dL/dvalue]`` (the key's error added to the value's when the key is the
    value) or three errors for three inputs.
    """

    # kernel_regularizer= / bias_constraint= ... cover the four projections, as in Keras.
    weight_groups = {"kernel": ("query_kernel", "key_kernel", "value_kernel", "output_kernel"),
                     "bias": ("query_bias", "key_bias", "value_bias", "output_bias")}

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", seed=None, name: str | None = None, **kwargs) -> None:
        owner = "MultiHeadAttention"
        self.num_heads = seq.check_positive_int(num_heads, "num_heads", owner)
        self.key_dim = seq.check_positive_int(key_dim, "key_dim", owner)
        self.value_dim = self.key_dim if value_dim is None else seq.check_positive_int(value_dim, "value_dim", owner)
        self._value_dim_given = value_dim is not None
        self.dropout = seq.check_rate(dropout, "dropout", owner)
        if isinstance(output_shape, (tuple, list)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        self.output_shape_arg = None if output_shape is None else seq.check_positive_int(output_shape, "output_shape", owner)
        super().__init__(name=name, seed=seed, **kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._cache = None

    def build(self, input_shape) -> None:
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) not in (2, 3) or any(len(s) != 2 or s[-1] is None for s in shapes):
            raise ValueError(
                f"MultiHeadAttention {self.name!r} expects the shapes of [query, value] or [query, value, key], "
                f"each (time, features); got {input_shape}."
            )
        eq, ev = shapes[0][-1], shapes[1][-1]
        ek = shapes[2][-1] if len(shapes) == 3 else ev
        h, dk, dv = self.num_heads, self.key_dim, self.value_dim
        e = self.output_shape_arg or eq
        for prefix, dim, width in (("query", eq, dk), ("key", ek, dk), ("value", ev, dv)):
            self.add_weight(f"{prefix}_kernel", (dim, h, width), self.kernel_initializer)
            if self.use_bias:
                self.add_weight(f"{prefix}_bias", (h, width), self.bias_initializer)
        self.add_weight("output_kernel", (h, dv, e), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("output_bias", (e,), self.bias_initializer)

    def __call__(self, query, value=None, key=None, training=None, **kwargs):
        """Keras's signature, ``mha(query, value, key=None, attention_mask=None, ...)``; the
        list ``mha([query, value(, key)])`` works too."""
        inputs = query if value is None else [query, value] + ([] if key is None else [key])
        return super().__call__(inputs, training=training, **kwargs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.output_shape_arg or input_shape[0][-1])

    def _symbolic_output_shape(self, shape, kwargs):
        out = self.compute_output_shape(shape)  # with the scores: [output, (heads, T_query, T_value)]
        return [out, (self.num_heads, shape[0][0], shape[1][0])] if kwargs.get("return_attention_scores") else out

    def compute_mask(self, input_mask):
        """The query's mask (Keras)."""
        return None if input_mask is None else input_mask[0]

    def _project(self, x, prefix):
        """``x (B, T, D) -> (B, H, T, d)``."""
        kernel = self.params[f"{prefix}_kernel"]
        flat = x.reshape(-1, kernel.shape[0]) @ kernel.reshape(kernel.shape[0], -1)
        if self.use_bias:
            flat += self.params[f"{prefix}_bias"].reshape(-1)
        return flat.reshape(x.shape[0], x.shape[1], self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(self, inputs, training=False, mask=None, attention_mask=None,
                return_attention_scores=False, use_causal_mask=False,
                query_mask=None, value_mask=None, key_mask=None):
        """``mask`` is the list of the inputs' masks; ``query_mask`` / ``value_mask`` /
        ``key_mask`` (Keras's keywords) give them one by one instead."""
        arrays = _inputs(self, inputs)
        if mask is None and any(m is not None for m in (query_mask, value_mask, key_mask)):
            mask = [query_mask, value_mask, key_mask][: len(arrays)]
        if not self.built:
            self.build_for([a.shape[1:] for a in arrays])
        expected = [self.params["query_kernel"].shape[0], self.params["value_kernel"].shape[0],
                    self.params["key_kernel"].shape[0]]
        for a, want, what in zip(arrays, expected, ("query", "value", "key")):
            if a.shape[2] != want:
                raise ValueError(f"MultiHeadAttention {self.name!r}: the {what} must have {want} features, got {a.shape}.")
        query, value = arrays[0], arrays[1]
        key = arrays[2] if len(arrays) == 3 else value
        masks = _input_masks(self, mask, arrays)
        b, tq, tk = query.shape[0], query.shape[1], value.shape[1]
        allowed = combined_mask(self, b, tq, tk, masks[0], masks[1], masks[2] if len(masks) == 3 else None,
                                attention_mask, use_causal_mask)
        if len(arrays) == 2 and query is value:  # self-attention: one product (_attention_projection.py)
            q, k, v = project_all(self, query, 1.0 / math.sqrt(self.key_dim))
        else:
            q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
            k = self._project(key, "key")
            v = self._project(value, "value")
        drop = None
        if training and self.dropout > 0:
            if self._rng is None:
                self._rng = make_generator(self.seed)
            drop = seq.dropout_mask(self._rng, (b, self.num_heads, tq, tk), self.dropout, q.dtype)
        o, p = _core.forward(q, k, v, allowed, drop)  # p key-major (B, Tk, H, Tq): _attention_core.py
        o = o.reshape(b * tq, -1)  # (B*Tq, H*dv)
        wo = self.params["output_kernel"]
        y = o @ wo.reshape(-1, wo.shape[-1])
        if self.use_bias:
            y += self.params["output_bias"]
        y = y.reshape(b, tq, -1)
        self._cache = (arrays, q, k, v, p, drop, o, allowed)
        self._return_scores = bool(return_attention_scores)
        self.output = [y, np.ascontiguousarray(_core.as_scores(p))] if return_attention_scores else y
        return self.output

    def backward(self, output_error):
        if self._cache is None:
            raise RuntimeError(f"MultiHeadAttention {self.name!r}: call forward(inputs) before backward(output_error).")
        arrays, q, k, v, p, drop, o, allowed = self._cache
        dy, dscores = _split_error(self, output_error)
        b, h, tq, _ = q.shape
        wo = self.params["output_kernel"]
        d2 = np.asarray(dy).reshape(b * tq, -1)
        self.grads["output_kernel"] = (o.T @ d2).reshape(wo.shape)
        if self.use_bias:
            self.grads["output_bias"] = np.ones(len(d2), dtype=d2.dtype) @ d2
        do = (d2 @ wo.reshape(-1, wo.shape[-1]).T).reshape(b, tq, h, -1).transpose(0, 2, 1, 3)
        if dscores is not None:
            dscores = np.asarray(dscores, dtype=p.dtype)
        dq, dk, dv = _core.backward(q, k, v, p, allowed, drop, do, dscores)  # dk: q carries the scale
        dq *= 1.0 / math.sqrt(self.key_dim)
        query, value = arrays[0], arrays[1]
        key = arrays[2] if len(arrays) == 3 else value
        if len(arrays) == 2 and query is value:  # [dL/dquery, dL/dvalue + dL/dkey], as below
            return list(project_all_backward(self, query, dq, dk, dv))
        d_query = self._project_backward(query, dq, "query")
        d_key = self._project_backward(key, dk, "key")
        d_value = self._project_backward(value, dv, "value")
        if len(arrays) == 3:
            return [d_query, d_value, d_key]
        return [d_query, d_value + d_key]

    def _project_backward(self, x, d, prefix):
        """Weight gradients of a projection and ``dL/dx`` from ``d = dL/d(projection) (B, H, T, w)``."""
        kernel = self.params[f"{prefix}_kernel"]
        flat = d.transpose(0, 2, 1, 3).reshape(x.shape[0] * x.shape[1], -1)
        x2 = x.reshape(-1, x.shape[2])
        self.grads[f"{prefix}_kernel"] = (x2.T @ flat).reshape(kernel.shape)
        if self.use_bias:
            self.grads[f"{prefix}_bias"] = (np.ones(len(flat), dtype=flat.dtype) @ flat).reshape(kernel.shape[1:])
        return (flat @ kernel.reshape(kernel.shape[0], -1).T).reshape(x.shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim if self._value_dim_given else None,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self.output_shape_arg,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }


class Attention(Layer):
    """Keras's ``Attention``: ``scores (B, Tq, Tv)``, ``P = masked_softmax(scores)``,
    ``y = dropout(P) @ value``, times the query mask (masked query steps give zeros).

    ``score_mode="dot"``: ``scores = scale * query @ key^T``; ``"concat"``:
    ``scores[i, j] = concat_score_weight * sum_d tanh(scale * (query[i, d] + key[j, d]))``.
    ``scale`` is a learned scalar when ``use_scale=True`` (else 1). Weights, in order:
    ``scale ()`` (use_scale), ``concat_score_weight ()`` (concat), both starting at 1.
    Shapes: ``query (B, Tq, D)``, ``value (B, Tv, Dv)``, ``key (B, Tv, D)`` (default the value).
    Masks: ``mask=[query_mask, value_mask]``; ``use_causal_mask`` as in MultiHeadAttention.
    Backward returns ``[dL/dquery, dL/dvalue]`` (key error added when the key is the value)
    or three errors.
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, seed=None,
                 name: str | None = None, **kwargs) -> None:
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention score_mode must be 'dot' or 'concat', got {score_mode!r}.")
        self.dropout = seq.check_rate(dropout, "dropout", "Attention")
        super().__init__(name=name, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self._cache = None

    def build(self, input_shape) -> None:
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) not in (2, 3) or any(len(s) != 2 for s in shapes):
            raise ValueError(f"Attention {self.name!r} expects the shapes of [query, value] or [query, value, key], "
                             f"each (time, features); got {input_shape}.")
        if self.use_scale:
            self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), "ones")

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][-1])

    def _symbolic_output_shape(self, shape, kwargs):
        out = self.compute_output_shape(shape)  # with the scores: [output, (T_query, T_value)]
        return [out, (shape[0][0], shape[1][0])] if kwargs.get("return_attention_scores") else out

    def compute_mask(self, input_mask):
        return None if input_mask is None else input_mask[0]

    def _scale(self):
        return self.params["scale"] if self.use_scale else 1.0

    def forward(self, inputs, training=False, mask=None, return_attention_scores=False, use_causal_mask=False):
        arrays = _inputs(self, inputs)
        if not self.built:
            self.build_for([a.shape[1:] for a in arrays])
        query, value = arrays[0], arrays[1]
        key = arrays[2] if len(arrays) == 3 else value
        if query.shape[2] != key.shape[2]:
            raise ValueError(f"Attention {self.name!r}: query and key must have the same features, got "
                             f"{query.shape} and {key.shape}.")
        masks = _input_masks(self, mask, arrays)
        b, tq, tk = query.shape[0], query.shape[1], value.shape[1]
        allowed = combined_mask(self, b, tq, tk, None, masks[1], None, None, use_causal_mask)
        th = None
        if self.score_mode == "dot":
            scores = (query @ key.transpose(0, 2, 1)) * self._scale()
        else:
            th = np.tanh(self._scale() * (query[:, :, None, :] + key[:, None, :, :]))  # (B, Tq, Tv, D)
            scores = self.params["concat_score_weight"] * th.sum(axis=-1)
        p = masked_softmax(scores, allowed)
        drop = None
        if training and self.dropout > 0:
            if self._rng is None:
                self._rng = make_generator(self.seed)
            drop = seq.dropout_mask(self._rng, p.shape, self.dropout, p.dtype)
        pd = p if drop is None else p * drop
        y = pd @ value
        qmask = None if masks[0] is None else masks[0][:, :, None].astype(y.dtype)
        if qmask is not None:
            y *= qmask
        self._cache = (arrays, p, drop, th, qmask, allowed)
        self._return_scores = bool(return_attention_scores)
        self.output = [y, p] if return_attention_scores else y
        return self.output

    def backward(self, output_error):
        if self._cache is None:
            raise RuntimeError(f"Attention {self.name!r}: call forward(inputs) before backward(output_error).")
        arrays, p, drop, th, qmask, allowed = self._cache
        dy, dscores = _split_error(self, output_error)
        query, value = arrays[0], arrays[1]
        key = arrays[2] if len(arrays) == 3 else value
        dy = np.asarray(dy)
        if qmask is not None:
            dy = dy * qmask
        pd = p if drop is None else p * drop
        d_value = pd.transpose(0, 2, 1) @ dy
        dp = dy @ value.transpose(0, 2, 1)
        if drop is not None:
            dp *= drop
        if dscores is not None:
            dp = dp + dscores
        ds = softmax_backward(p, dp, allowed)
        scale = self._scale()
        if self.score_mode == "dot":
            raw = query @ key.transpose(0, 2, 1)
            if self.use_scale:
                self.grads["scale"] = np.asarray(np.sum(ds * raw), dtype=self.params["scale"].dtype)
            d_query = (ds @ key) * scale
            d_key = (ds.transpose(0, 2, 1) @ query) * scale
        else:
            w = self.params["concat_score_weight"]
            self.grads["concat_score_weight"] = np.asarray(np.sum(ds * th.sum(axis=-1)), dtype=w.dtype)
            du = (w * ds)[..., None] * (1 - th * th)  # dL/d(scale * (q + k)), (B, Tq, Tv, D)
            if self.use_scale:
                summed = query[:, :, None, :] + key[:, None, :, :]
                self.grads["scale"] = np.asarray(np.sum(du * summed), dtype=self.params["scale"].dtype)
            d_query = du.sum(axis=2) * scale
            d_key = du.sum(axis=1) * scale
        if len(arrays) == 3:
            return [d_query, d_value, d_key]
        return [d_query, d_value + d_key]

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}
