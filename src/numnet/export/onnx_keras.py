"""ONNX conversions of the Keras 3 merge, convolution and 2-D reshaping layers (used by
``numnet.export.onnx``): ``Multiply`` / ``Subtract`` / ``Average`` / ``Maximum`` /
``Minimum`` as ``Mul`` / ``Sub`` / ``Mean`` / ``Max`` / ``Min``; ``Dot`` as ``Einsum``
(``normalize`` spelled out with ``ReduceSum``, ``Sqrt``, ``Max``, ``Div``);
``DepthwiseConv2D`` and ``SeparableConv2D`` as ``Conv`` with ``group``;
``Conv2DTranspose`` as ``ConvTranspose``; ``UpSampling2D`` as ``Resize``;
``ZeroPadding2D`` as ``Pad``; ``Cropping2D`` as ``Slice``.

Layouts as in ``numnet.export.onnx``: a channels-last layer's Conv / ConvTranspose /
Resize runs between two ``Transpose`` nodes; a channels-first one needs none.
"""

from __future__ import annotations

import numpy as np

from . import onnx as base


def _merge(g, layer, inputs, op_type):
    out = inputs[0]
    for i, other in enumerate(inputs[1:]):
        out = g.op(op_type, [out, other], f"{layer.name}_{i}" if i < len(inputs) - 2 else layer.name)
    return out


def _dot(g, layer, inputs):
    x1, x2 = inputs
    a1, a2 = layer._resolve(list(layer.input_shape))
    rank1, rank2 = len(layer.input_shape[0]) + 1, len(layer.input_shape[1]) + 1
    s1, s2, so = layer._specs(rank1, rank2, a1, a2)
    if layer.normalize:
        x1, x2 = (_l2_normalize(g, x, axis, f"{layer.name}_{i}") for i, (x, axis) in enumerate(((x1, a1), (x2, a2))))
    y = g.op("Einsum", [x1, x2], f"{layer.name}_einsum", equation=f"{s1},{s2}->{so}")
    if len(so) == 1:  # (batch,) -> (batch, 1), as Keras returns it
        return g.op("Unsqueeze", [y, g.const(f"{layer.name}_axes", [1], np.int64)], layer.name)
    return y


def _l2_normalize(g, x, axis, hint):
    from ..layers.merge_ops import NORMALIZE_EPSILON

    square_sum = g.op("ReduceSum", [g.op("Mul", [x, x], hint + "_sq"), g.const(hint + "_axes", [axis], np.int64)],
                      hint + "_sumsq", keepdims=1)
    norm = g.op("Max", [g.op("Sqrt", [square_sum], hint + "_norm"), g.const(hint + "_eps", NORMALIZE_EPSILON)],
                hint + "_clamped")
    return g.op("Div", [x, norm], hint + "_unit")


def _depthwise_weights(layer):
    """``(C*m, 1, kh, kw)``: the depthwise kernel as ONNX's grouped Conv weight."""
    kh, kw, c, m = layer.params["depthwise_kernel"].shape
    return np.transpose(layer.params["depthwise_kernel"].reshape(kh, kw, 1, c * m), (3, 2, 0, 1)), c


def _depthwise(g, layer, x, pointwise: bool):
    weights, channels = _depthwise_weights(layer)
    inputs = [base._in_nchw(g, layer, x), g.const(f"{layer.name}_depthwise_kernel", weights)]
    if layer.use_bias and not pointwise:
        inputs.append(g.const(f"{layer.name}_bias", layer.params["bias"]))
    y = g.op("Conv", inputs, f"{layer.name}_depthwise", kernel_shape=list(layer.kernel_size),
             strides=list(layer.strides), dilations=list(layer.dilation_rate), group=channels,
             pads=base._same_pads(layer, layer.kernel_size, layer.strides, layer.dilation_rate))
    if pointwise:
        inputs = [y, g.const(f"{layer.name}_pointwise_kernel",
                             np.transpose(layer.params["pointwise_kernel"], (3, 2, 0, 1)))]
        if layer.use_bias:
            inputs.append(g.const(f"{layer.name}_bias", layer.params["bias"]))
        y = g.op("Conv", inputs, f"{layer.name}_pointwise", kernel_shape=[1, 1])
    return base._maybe_activation(g, base._out_layout(g, layer, y), layer)


def _conv_transpose(g, layer, x):
    from ..layers import _layout

    shape = layer.input_shape
    if base._channels_first(layer):
        shape = _layout.shape_to_last(shape)
    rows, cols = layer._lengths(shape)
    # ONNX: out = full + output_padding - pad_begin - pad_end. numnet keeps [before, before + out)
    # of the full result, with zeros past its end.
    pads_end = [max(full - before - out, 0) for out, full, before in (rows, cols)]
    extra = [max(before + out - full, 0) for out, full, before in (rows, cols)]
    weights = np.transpose(layer.params["kernel"], (3, 2, 0, 1))  # (kh, kw, F, in) -> (in, F, kh, kw)
    inputs = [base._in_nchw(g, layer, x), g.const(f"{layer.name}_kernel", weights)]
    if layer.use_bias:
        inputs.append(g.const(f"{layer.name}_bias", layer.params["bias"]))
    y = g.op("ConvTranspose", inputs, f"{layer.name}_convtranspose", kernel_shape=list(layer.kernel_size),
             strides=list(layer.strides), dilations=list(layer.dilation_rate),
             pads=[rows[2], cols[2], pads_end[0], pads_end[1]], output_padding=extra)
    return base._maybe_activation(g, base._out_layout(g, layer, y), layer)


def _upsampling(g, layer, x):
    scales = g.const(f"{layer.name}_scales", [1.0, 1.0, *map(float, layer.size)], np.float32)
    roi = g.const(f"{layer.name}_roi", [], np.float32)
    if layer.interpolation == "nearest":  # y[i] = x[floor(i / s)]
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:  # half-pixel centres, as numnet (and Keras's image resize) interpolate
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    y = g.op("Resize", [base._in_nchw(g, layer, x), roi, scales], f"{layer.name}_resize", **attrs)
    return base._out_layout(g, layer, y)


def _spatial_axes(layer):
    return (2, 3) if base._channels_first(layer) else (1, 2)


def _zero_padding(g, layer, x):
    (top, bottom), (left, right) = layer.padding
    begin, end = [0, 0, 0, 0], [0, 0, 0, 0]
    h_axis, w_axis = _spatial_axes(layer)
    begin[h_axis], begin[w_axis], end[h_axis], end[w_axis] = top, left, bottom, right
    return g.op("Pad", [x, g.const(f"{layer.name}_pads", begin + end, np.int64)], layer.name, mode="constant")


def _cropping(g, layer, x):
    from ..layers import _layout

    shape = layer.input_shape
    if base._channels_first(layer):
        shape = _layout.shape_to_last(shape)
    (top, bottom), (left, right) = layer.cropping
    starts = g.const(f"{layer.name}_starts", [top, left], np.int64)
    ends = g.const(f"{layer.name}_ends", [shape[0] - bottom, shape[1] - right], np.int64)
    axes = g.const(f"{layer.name}_axes", list(_spatial_axes(layer)), np.int64)
    return g.op("Slice", [x, starts, ends, axes], layer.name)


def convert_keras_layer(g, layer, inputs):
    """The name of ``layer``'s ONNX output, or None when it is not one of these layers."""
    from .. import layers as L

    elementwise = {L.Multiply: "Mul", L.Subtract: "Sub", L.Average: "Mean", L.Maximum: "Max", L.Minimum: "Min"}
    for cls, op_type in elementwise.items():
        if isinstance(layer, cls):
            if op_type == "Mean":  # Mean takes every input at once
                return g.op("Mean", inputs, layer.name)
            return _merge(g, layer, inputs, op_type)
    x = inputs[0]
    if isinstance(layer, L.Dot):
        return _dot(g, layer, inputs)
    if isinstance(layer, L.SeparableConv2D):
        return _depthwise(g, layer, x, pointwise=True)
    if isinstance(layer, L.DepthwiseConv2D):
        return _depthwise(g, layer, x, pointwise=False)
    if isinstance(layer, L.Conv2DTranspose):
        return _conv_transpose(g, layer, x)
    if isinstance(layer, L.UpSampling2D):
        return _upsampling(g, layer, x)
    if isinstance(layer, L.ZeroPadding2D):
        return _zero_padding(g, layer, x)
    if isinstance(layer, L.Cropping2D):
        return _cropping(g, layer, x)
    return None
