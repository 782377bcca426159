"""ONNX conversion of the sequence layers (``(batch, time, features)`` tensors, time may be
a dynamic dimension): Embedding (``Gather``), Masking, Conv1D and the 1-D pools (the ONNX
``Conv`` / ``MaxPool`` / ``AveragePool`` with a 1-D window, between two ``Transpose``
nodes as they work channels first), the global 1-D pools, UpSampling1D, ZeroPadding1D,
Cropping1D, RepeatVector, TimeDistributed, Attention and MultiHeadAttention (``MatMul``
and ``Softmax``), and the recurrent layers (``onnx_recurrent``).

Padding: "causal" Conv1D pads ``(k - 1) * dilation`` steps before (an explicit ``pads``);
"same" is TensorFlow's (the extra step after): explicit pads when the length is fixed,
``auto_pad="SAME_UPPER"`` (the same rule) when it varies.

Attention: disallowed scores become ``-1e9`` before the softmax (``Where``), as in numnet;
the causal mask is a constant for fixed lengths and ``key position <= query position``
built from two ``Range`` nodes for a dynamic one; an ``attention_mask`` fixed at the call is
a constant.

Masks (``Embedding(mask_zero=True)``, ``Masking``) are followed through the graph as numnet's
executor does; the layers that would *use* one (recurrent layers, Bidirectional,
TimeDistributed, GlobalAveragePooling1D, Attention, MultiHeadAttention) are refused with a
ValueError naming the layer and the mask's origin: a masked recurrent step carries the
state over, which ONNX's ``sequence_lens`` only matches for post-padding and not at all in
the output sequence (ONNX writes zeros there, numnet the carried output).
"""

from __future__ import annotations

import math

import numpy as np

from . import onnx_recurrent

_INT64_MAX = np.iinfo(np.int64).max


# --- masks -------------------------------------------------------------------------------
def _uses_mask(layer) -> bool:
    from .. import layers as L
    from ..layers.recurrent import _Recurrent

    return isinstance(layer, (_Recurrent, L.Bidirectional, L.TimeDistributed, L.GlobalAveragePooling1D,
                              L.MultiHeadAttention, L.Attention))


def follow_masks(node, input_names, output_names, masked: dict) -> None:
    """Record which outputs of ``node`` carry a Keras mask (``masked``: ONNX tensor name ->
    the layer that made the mask) and refuse a layer that would use one."""
    from ..graph.plan import _mask_support

    layer = node.layer
    given = [masked.get(n) for n in input_names]
    if any(given) and _uses_mask(layer):
        origin = next(m for m in given if m)
        raise ValueError(
            f"Cannot export layer {layer.name!r} ({type(layer).__name__}) to ONNX: it receives the mask made by "
            f"{origin!r}, and numnet does not export masked computations (ONNX's sequence_lens is not "
            "equivalent: it zeroes the padded outputs and only fits post-padding). Export a model without "
            "mask_zero / Masking, or pad and call the layer without a mask."
        )
    if getattr(layer, "mask_zero", False) or hasattr(layer, "mask_value"):
        out = [layer.name] * len(output_names)
    else:
        _, rule = _mask_support(layer)
        if rule == "same":
            out = [given[0]] * len(output_names)
        elif rule == "compute":
            flags = [True if m else None for m in given]
            result = layer.compute_mask(flags if node.as_list else flags[0])
            result = result if isinstance(result, list) else [result]
            origin = next((m for m in given if m), None)
            out = [origin if r is not None else None for r in result]
        else:
            out = []
    for name, origin in zip(output_names, out):
        if origin:
            masked[name] = origin


# --- helpers -----------------------------------------------------------------------------
def _ints(g, hint, values):
    return g.const(hint, list(values), np.int64)


def _unsqueeze(g, x, axis, hint):
    return g.op("Unsqueeze", [x, _ints(g, hint + "_axes", [axis])], hint)


def _channels_first(g, x, hint):
    return g.op("Transpose", [x], hint + "_ncw", perm=[0, 2, 1])


def _channels_last(g, x, hint):
    return g.op("Transpose", [x], hint + "_nwc", perm=[0, 2, 1])


def _window_attrs(layer, shape, window: int, stride: int, dilation: int) -> dict:
    length = shape[0]
    attrs = {"kernel_shape": [window], "strides": [stride]}
    span = (window - 1) * dilation + 1
    if layer.padding == "causal":
        attrs["pads"] = [span - 1, 0]
    elif layer.padding == "same" and length is None and stride == 1:
        attrs["pads"] = [(span - 1) // 2, span - 1 - (span - 1) // 2]  # the same for every length
    elif layer.padding == "same" and length is None:
        if dilation != 1:  # onnxruntime has no SAME_UPPER with dilations
            raise ValueError(f"Cannot export layer {layer.name!r} to ONNX: padding='same' with strides > 1 and "
                             "dilation_rate > 1 on a time axis of variable length; give the Input a fixed length.")
        attrs["auto_pad"] = "SAME_UPPER"  # TensorFlow's rule (the extra step after), at run time
    elif length is None:
        attrs["pads"] = [0, 0]
    else:
        _, before, after = layer._plan(length)
        attrs["pads"] = [before, after]
    return attrs


# --- layers ------------------------------------------------------------------------------
def _embedding(g, layer, x):
    # Ids may arrive as floats holding whole numbers (as numnet accepts) or as int32 / int64.
    x = g.op("Cast", [x], layer.name + "_ids", to=7)  # TensorProto.INT64
    return g.op("Gather", [g.const(layer.name + "_embeddings", layer.params["embeddings"]), x], layer.name, axis=0)


def _masking(g, layer, x):
    """``x * any(x != mask_value, axis=-1)``."""
    equal = g.op("Equal", [x, g.const(layer.name + "_value", layer.mask_value)], layer.name + "_equal")
    keep = g.op("Cast", [g.op("Not", [equal], layer.name + "_differs")], layer.name + "_keep_each",
                to=g.helper.np_dtype_to_tensor_dtype(g.dtype))
    keep = g.reduce("ReduceMax", keep, [-1], True, layer.name + "_keep")
    return g.op("Mul", [x, keep], layer.name)


def _conv1d(g, layer, x, shape):
    from .onnx import _maybe_activation

    kernel = np.transpose(layer.params["kernel"], (2, 1, 0))  # (k, in, out) -> (out, in, k)
    inputs = [_channels_first(g, x, layer.name), g.const(layer.name + "_kernel", kernel)]
    if layer.use_bias:
        inputs.append(g.const(layer.name + "_bias", layer.params["bias"]))
    attrs = _window_attrs(layer, shape, layer.kernel_size, layer.strides, layer.dilation_rate)
    y = g.op("Conv", inputs, layer.name + "_conv", dilations=[layer.dilation_rate], **attrs)
    return _maybe_activation(g, _channels_last(g, y, layer.name), layer)


def _pool1d(g, layer, x, shape, op_type):
    attrs = _window_attrs(layer, shape, layer.pool_size, layer.strides, 1)
    if op_type == "AveragePool":
        attrs["count_include_pad"] = 0  # numnet averages over the real steps only
    y = g.op(op_type, [_channels_first(g, x, layer.name)], layer.name + "_pool", **attrs)
    return _channels_last(g, y, layer.name)


def _upsampling(g, layer, x):
    """``repeat(x, size, axis=1)``: (B, T, C) -> (B, T, 1, C), tiled to (B, T, size, C), reshaped."""
    y = g.op("Tile", [_unsqueeze(g, x, 2, layer.name + "_steps"), _ints(g, layer.name + "_repeats",
                                                                      [1, 1, layer.size, 1])], layer.name + "_tiled")
    return g.op("Reshape", [y, _ints(g, layer.name + "_shape", [0, -1, layer.input_shape[-1]])], layer.name)


def _zero_padding(g, layer, x):
    before, after = layer.padding
    return g.op("Pad", [x, _ints(g, layer.name + "_pads", [0, before, 0, 0, after, 0])], layer.name)


def _cropping(g, layer, x):
    start, stop = layer.cropping
    end = -stop if stop else _INT64_MAX
    return g.op("Slice", [x, _ints(g, layer.name + "_start", [start]), _ints(g, layer.name + "_end", [end]),
                          _ints(g, layer.name + "_axis", [1])], layer.name)


def _repeat_vector(g, layer, x):
    y = _unsqueeze(g, x, 1, layer.name + "_step")
    return g.op("Tile", [y, _ints(g, layer.name + "_repeats", [1, layer.n, 1])], layer.name)


def _time_distributed(g, layer, x, shape, convert):
    """The inner layer on ``(batch * time, ...)``, reshaped back to ``(batch, time, ...)``."""
    from .. import layers as L

    inner = layer.layer
    if isinstance(inner, L.Dense):  # MatMul works on the last axis of any rank
        return convert(g, inner, [x], {}, [shape])
    name = layer.name
    flat = g.op("Reshape", [x, _ints(g, name + "_fold", [-1, *shape[1:]])], name + "_folded")
    y = convert(g, inner, [flat], {}, [tuple(shape[1:])])
    if isinstance(y, list):
        raise ValueError(f"Cannot export layer {name!r} to ONNX: its inner layer returns several outputs.")
    lead = g.op("Slice", [g.op("Shape", [x], name + "_in_shape"), _ints(g, name + "_zero", [0]),
                          _ints(g, name + "_two", [2]), _ints(g, name + "_axis0", [0])], name + "_lead")
    inner_shape = [-1 if d is None else d for d in inner.compute_output_shape(tuple(shape[1:]))]
    shape = g.op("Concat", [lead, _ints(g, name + "_inner_shape", inner_shape)], name + "_out_shape", axis=0)
    return g.op("Reshape", [y, shape], name)


def _allowed(g, layer, query, key, kwargs, tq, tk):
    """The boolean allowed-scores tensor broadcastable to (B, Tq, Tk), or None."""
    mask = None
    name = layer.name
    if kwargs.get("use_causal_mask"):
        if tq is not None and tk is not None:
            mask = g.const(name + "_causal", np.tril(np.ones((tq, tk), dtype=bool))[None], np.bool_)
        else:  # key position <= query position, for lengths known at run time
            def positions(x, hint):
                length = g.op("Gather", [g.op("Shape", [x], hint + "_shape"), g.const(hint + "_one", 1, np.int64)],
                              hint + "_length", axis=0)
                return g.op("Range", [g.const(hint + "_start", 0, np.int64), length,
                                      g.const(hint + "_delta", 1, np.int64)], hint)
            rows = _unsqueeze(g, positions(query, name + "_query_pos"), 1, name + "_rows")
            cols = _unsqueeze(g, positions(key, name + "_key_pos"), 0, name + "_cols")
            mask = g.op("Not", [g.op("Greater", [cols, rows], name + "_future")], name + "_causal_2d")
            mask = _unsqueeze(g, mask, 0, name + "_causal")  # (1, Tq, Tk), as the constant
    given = kwargs.get("attention_mask")
    if given is not None:
        const = g.const(name + "_attention_mask", np.asarray(given).astype(bool), np.bool_)
        mask = const if mask is None else g.op("And", [mask, const], name + "_allowed")
    return mask


def _softmax(g, scores, mask, hint):
    if mask is not None:
        scores = g.op("Where", [mask, scores, g.const(hint + "_large_negative", -1e9)], hint + "_masked")
    return g.op("Softmax", [scores], hint, axis=-1)


def _attention_inputs(inputs, shapes):
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) == 3 else value
    return query, value, key, shapes[0][0], shapes[1][0]


def _multi_head_attention(g, layer, inputs, kwargs, shapes):
    query, value, key, tq, tk = _attention_inputs(inputs, shapes)
    name, h = layer.name, layer.num_heads

    def project(x, prefix, width):
        kernel = layer.params[f"{prefix}_kernel"]
        y = g.op("MatMul", [x, g.const(f"{name}_{prefix}_kernel", kernel.reshape(kernel.shape[0], -1))],
                 f"{name}_{prefix}_matmul")
        if layer.use_bias:
            y = g.op("Add", [y, g.const(f"{name}_{prefix}_bias", layer.params[f"{prefix}_bias"].reshape(-1))],
                     f"{name}_{prefix}_biasadd")
        y = g.op("Reshape", [y, _ints(g, f"{name}_{prefix}_heads", [0, 0, h, width])], f"{name}_{prefix}_split")
        return g.op("Transpose", [y], f"{name}_{prefix}", perm=[0, 2, 1, 3])  # (B, H, T, width)

    q = g.op("Mul", [project(query, "query", layer.key_dim), g.const(name + "_scale", 1.0 / math.sqrt(layer.key_dim))],
             name + "_query_scaled")
    k = project(key, "key", layer.key_dim)
    v = project(value, "value", layer.value_dim)
    scores = g.op("MatMul", [q, g.op("Transpose", [k], name + "_key_t", perm=[0, 1, 3, 2])], name + "_scores")
    mask = _allowed(g, layer, query, key, kwargs, tq, tk)
    if mask is not None:
        mask = _unsqueeze(g, mask, 1, name + "_mask_heads")
    p = _softmax(g, scores, mask, name + "_attention")
    o = g.op("Transpose", [g.op("MatMul", [p, v], name + "_weighted")], name + "_time_heads", perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, _ints(g, name + "_merge", [0, 0, h * layer.value_dim])], name + "_merged")
    wo = layer.params["output_kernel"]
    y = g.op("MatMul", [o, g.const(name + "_output_kernel", wo.reshape(-1, wo.shape[-1]))], name + "_output")
    if layer.use_bias:
        y = g.op("Add", [y, g.const(name + "_output_bias", layer.params["output_bias"])], name + "_output_biasadd")
    return [y, p] if kwargs.get("return_attention_scores") else y


def _dot_attention(g, layer, inputs, kwargs, shapes):
    query, value, key, tq, tk = _attention_inputs(inputs, shapes)
    name = layer.name
    if layer.score_mode == "dot":
        scores = g.op("MatMul", [query, g.op("Transpose", [key], name + "_key_t", perm=[0, 2, 1])], name + "_raw")
        if layer.use_scale:
            scores = g.op("Mul", [scores, g.const(name + "_scale", layer.params["scale"])], name + "_scores")
    else:  # concat_score_weight * sum_d tanh(scale * (q_i + k_j))
        summed = g.op("Add", [_unsqueeze(g, query, 2, name + "_q4"), _unsqueeze(g, key, 1, name + "_k4")],
                      name + "_summed")
        if layer.use_scale:
            summed = g.op("Mul", [summed, g.const(name + "_scale", layer.params["scale"])], name + "_scaled")
        total = g.op("ReduceSum", [g.op("Tanh", [summed], name + "_tanh"), _ints(g, name + "_last", [-1])],
                     name + "_tanh_sum", keepdims=0)
        scores = g.op("Mul", [total, g.const(name + "_weight", layer.params["concat_score_weight"])], name + "_scores")
    p = _softmax(g, scores, _allowed(g, layer, query, key, {"use_causal_mask": kwargs.get("use_causal_mask")},
                                     tq, tk), name + "_attention")
    y = g.op("MatMul", [p, value], name)
    return [y, p] if kwargs.get("return_attention_scores") else y


def convert(g, layer, inputs, kwargs, shapes, convert_layer):
    """The ONNX output name(s) of ``layer`` on ``inputs`` (their shapes without the batch
    axis in ``shapes``; ``kwargs`` the call's fixed keyword arguments), or None if it is
    not a sequence layer. ``convert_layer(g, layer, inputs, kwargs, shapes)`` converts an
    inner layer."""
    from .. import layers as L
    from ..layers.recurrent import _Recurrent

    x = inputs[0]
    if isinstance(layer, L.Embedding):
        return _embedding(g, layer, x)
    if isinstance(layer, L.Masking):
        return _masking(g, layer, x)
    if isinstance(layer, _Recurrent):
        return onnx_recurrent.recurrent(g, layer, x, kwargs)
    if isinstance(layer, L.Bidirectional):
        return onnx_recurrent.bidirectional(g, layer, x, kwargs)
    if isinstance(layer, L.Conv1D):
        return _conv1d(g, layer, x, shapes[0])
    if isinstance(layer, L.MaxPooling1D):
        return _pool1d(g, layer, x, shapes[0], "MaxPool")
    if isinstance(layer, L.AveragePooling1D):
        return _pool1d(g, layer, x, shapes[0], "AveragePool")
    if isinstance(layer, L.GlobalAveragePooling1D):
        return g.reduce("ReduceMean", x, [1], layer.keepdims, layer.name)
    if isinstance(layer, L.GlobalMaxPooling1D):
        return g.reduce("ReduceMax", x, [1], layer.keepdims, layer.name)
    if isinstance(layer, L.UpSampling1D):
        return _upsampling(g, layer, x)
    if isinstance(layer, L.ZeroPadding1D):
        return _zero_padding(g, layer, x)
    if isinstance(layer, L.Cropping1D):
        return _cropping(g, layer, x)
    if isinstance(layer, L.RepeatVector):
        return _repeat_vector(g, layer, x)
    if isinstance(layer, L.TimeDistributed):
        return _time_distributed(g, layer, x, shapes[0], convert_layer)
    if isinstance(layer, L.MultiHeadAttention):
        return _multi_head_attention(g, layer, inputs, kwargs, shapes)
    if isinstance(layer, L.Attention):
        return _dot_attention(g, layer, inputs, kwargs, shapes)
    return None
