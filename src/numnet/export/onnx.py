"""Export a model to ONNX for inference: ``model.export_onnx("model.onnx")``.

Needs the optional ``onnx`` package (``pip install numnet[onnx]``). The graph computes
what ``model.predict`` computes, in the model's dtype:

* inputs and outputs keep numnet's layout, channels last ``(N, H, W, C)`` for images; the
  batch dimension is symbolic (``"batch"``). Graph inputs are named after the model's
  inputs, graph outputs after the model's output names (one per output);
* every call of a shared layer is one more set of nodes on the same weights (the
  constants are written once); a nested model's calls are inlined;
* ONNX convolutions and pools work channels first, so each ``Conv2D`` / pooling layer is
  wrapped in two ``Transpose`` nodes (runtimes fuse adjacent ones away). Everything else
  runs on the channels-last tensors directly, so ``Flatten`` flattens in numnet's order;
* "same" padding is TensorFlow's: explicit, possibly asymmetric ``pads`` (the extra pixel
  at the bottom / right); average pooling excludes padded pixels (``count_include_pad=0``);
* ``Dropout`` is an ``Identity``; ``BatchNormalization`` is its inference form with the
  moving statistics; ``LayerNormalization`` uses the ONNX op (opset >= 17, trailing axes)
  or the same arithmetic spelled out; gelu is exact (``Erf``) and ``gelu_approximate`` the
  tanh form, each the ``Gelu`` op from opset 20.
"""

from __future__ import annotations

import os

import numpy as np

DEFAULT_OPSET = 17
MIN_OPSET = 13


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise ImportError(
            "Exporting to ONNX needs the optional 'onnx' package: pip install numnet[onnx] "
            "(or pip install onnx)."
        ) from exc
    return onnx, helper, numpy_helper


class _Graph:
    """Collects nodes and constants; every tensor gets a fresh, readable name."""

    def __init__(self, helper, numpy_helper, opset: int, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset, self.dtype = opset, dtype
        self.nodes, self.initializers = [], []
        self.names: set[str] = set()
        self._consts: dict = {}
        self.masked: dict[str, str] = {}  # tensors that carry a Keras mask -> the layer that made it

    def fresh(self, hint: str) -> str:
        name, i = hint, 1
        while name in self.names:
            name, i = f"{hint}_{i}", i + 1
        self.names.add(name)
        return name

    def const(self, hint: str, value, dtype=None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        key = (hint, array.dtype.str, array.shape, array.tobytes())
        if key in self._consts:  # a shared layer's weights, written once
            return self._consts[key]
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        self._consts[key] = name
        return name

    def op(self, op_type: str, inputs, hint: str, output: str | None = None, **attrs) -> str:
        out = output or self.fresh(hint)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def reduce(self, op_type: str, x: str, axes, keepdims: bool, hint: str) -> str:
        axes = [int(a) for a in axes]
        if self.opset >= 18:  # axes became an input of ReduceMean / ReduceMax in opset 18
            return self.op(op_type, [x, self.const(hint + "_axes", axes, np.int64)], hint, keepdims=int(keepdims))
        return self.op(op_type, [x], hint, axes=axes, keepdims=int(keepdims))


# --- activations -------------------------------------------------------------------------
def _activation(g: _Graph, x: str, name: str, hint: str) -> str:
    from .. import activation_functions as af

    if name == "linear":
        return g.op("Identity", [x], hint)
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}
    if name in simple:
        return g.op(simple[name], [x], hint)
    if name == "softmax":
        return g.op("Softmax", [x], hint, axis=-1)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], hint, alpha=af.LEAKY_RELU_SLOPE)
    if name == "elu":
        return g.op("Elu", [x], hint, alpha=af.ELU_ALPHA)
    if name == "selu":
        return g.op("Selu", [x], hint, alpha=af.SELU_ALPHA, gamma=af.SELU_SCALE)
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x], hint + "_sigmoid")], hint)
    if name == "gelu":  # exact: 0.5 x (1 + erf(x / sqrt 2))
        if g.opset >= 20:
            return g.op("Gelu", [x], hint)
        erf = g.op("Erf", [g.op("Mul", [x, g.const(hint + "_rsqrt2", 0.7071067811865476)], hint + "_xs")], hint + "_erf")
        one_plus = g.op("Add", [erf, g.const(hint + "_one", 1.0)], hint + "_1pe")
        return g.op("Mul", [g.op("Mul", [x, g.const(hint + "_half", 0.5)], hint + "_halfx"), one_plus], hint)
    if name == "gelu_approximate":
        if g.opset >= 20:
            return g.op("Gelu", [x], hint, approximate="tanh")
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [x, g.op("Mul", [x, x], hint + "_sq")], hint + "_cube")
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(hint + "_k", 0.044715)], hint + "_kx3")], hint + "_inner")
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(hint + "_c", af._GELU_C)], hint + "_scaled")], hint + "_tanh")
        one_plus = g.op("Add", [t, g.const(hint + "_one", 1.0)], hint + "_1pt")
        return g.op("Mul", [g.op("Mul", [x, g.const(hint + "_half", 0.5)], hint + "_halfx"), one_plus], hint)
    if name == "hard_sigmoid":  # relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)
        return g.op("HardSigmoid", [x], hint, alpha=1 / 6, beta=0.5)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], hint, axis=-1)
    if name == "mish":  # x tanh(softplus(x))
        softplus = g.op("Softplus", [x], hint + "_softplus")
        return g.op("Mul", [x, g.op("Tanh", [softplus], hint + "_tanh")], hint)
    raise ValueError(f"numnet cannot export the activation {name!r} to ONNX.")


def _maybe_activation(g, x, layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return x
    return _activation(g, x, activation.activation_name, f"{layer.name}_{activation.activation_name}")


# --- layers ------------------------------------------------------------------------------
def _to_nchw(g, x, hint):
    return g.op("Transpose", [x], hint + "_nchw", perm=[0, 3, 1, 2])


def _to_nhwc(g, x, hint):
    return g.op("Transpose", [x], hint + "_nhwc", perm=[0, 2, 3, 1])


def _channels_first(layer) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


def _in_nchw(g, layer, x):
    """The layer's input as NCHW for an ONNX Conv / pool: a channels-first layer's already is."""
    return x if _channels_first(layer) else _to_nchw(g, x, layer.name)


def _out_layout(g, layer, y):
    """An NCHW result back in the layer's layout."""
    return y if _channels_first(layer) else _to_nhwc(g, y, layer.name)


def _same_pads(layer, window, strides, dilation):
    """ONNX ``pads`` [top, left, bottom, right] as numnet pads (TensorFlow's rule)."""
    from ..layers import _spatial

    h, w = layer.input_shape[1:3] if _channels_first(layer) else layer.input_shape[:2]
    effective = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    rows = _spatial.output_size(h, effective[0], strides[0], layer.padding)
    cols = _spatial.output_size(w, effective[1], strides[1], layer.padding)
    return [rows[1], cols[1], rows[2], cols[2]]


def _dense(g, layer, x):
    y = g.op("MatMul", [x, g.const(f"{layer.name}_kernel", layer.params["kernel"])], f"{layer.name}_matmul")
    if layer.use_bias:
        y = g.op("Add", [y, g.const(f"{layer.name}_bias", layer.params["bias"])], f"{layer.name}_biasadd")
    return _maybe_activation(g, y, layer)


def _conv(g, layer, x):
    kernel = np.transpose(layer.params["kernel"], (3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
    inputs = [_in_nchw(g, layer, x), g.const(f"{layer.name}_kernel", kernel)]
    if layer.use_bias:
        inputs.append(g.const(f"{layer.name}_bias", layer.params["bias"]))
    y = g.op("Conv", inputs, f"{layer.name}_conv", kernel_shape=list(layer.kernel_size),
             strides=list(layer.strides), dilations=list(layer.dilation_rate),
             pads=_same_pads(layer, layer.kernel_size, layer.strides, layer.dilation_rate), group=layer.groups)
    return _maybe_activation(g, _out_layout(g, layer, y), layer)


def _pool(g, layer, x, op_type):
    attrs = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
             "pads": _same_pads(layer, layer.pool_size, layer.strides, (1, 1))}
    if op_type == "AveragePool":
        attrs["count_include_pad"] = 0
    y = g.op(op_type, [_in_nchw(g, layer, x)], f"{layer.name}_pool", **attrs)
    return _out_layout(g, layer, y)


def _batch_norm(g, layer, x):
    shape = layer._bshape[1:]
    mean = layer.buffers["moving_mean"].reshape(shape)
    var = layer.buffers["moving_variance"].reshape(shape)
    inv_std = 1.0 / np.sqrt(var + layer.epsilon)  # exactly numnet's inference arithmetic
    y = g.op("Sub", [x, g.const(f"{layer.name}_mean", mean)], f"{layer.name}_centered")
    y = g.op("Mul", [y, g.const(f"{layer.name}_inv_std", inv_std)], f"{layer.name}_normalized")
    return _affine(g, layer, y, shape)


def _affine(g, layer, y, shape):
    if layer.scale:
        y = g.op("Mul", [y, g.const(f"{layer.name}_gamma", layer.params["gamma"].reshape(shape))], f"{layer.name}_scaled")
    if layer.center:
        y = g.op("Add", [y, g.const(f"{layer.name}_beta", layer.params["beta"].reshape(shape))], f"{layer.name}_shifted")
    return y


def _layer_norm(g, layer, x):
    axes = list(layer._axes)  # axes of the batched tensor
    rank = len(layer.input_shape) + 1
    shape = layer._bshape[1:]
    if getattr(layer, "rms_scaling", False):
        from ..layers.normalization_extra import rms_to_onnx

        return rms_to_onnx(g, layer, x, layer.params["gamma"].reshape(shape))
    trailing = axes == list(range(axes[0], rank))
    if g.opset >= 17 and trailing:
        normalized = tuple(layer.input_shape[a - 1] for a in axes)
        gamma = layer.params["gamma"].reshape(normalized) if layer.scale else np.ones(normalized)
        inputs = [x, g.const(f"{layer.name}_gamma", gamma)]
        if layer.center:
            inputs.append(g.const(f"{layer.name}_beta", layer.params["beta"].reshape(normalized)))
        return g.op("LayerNormalization", inputs, f"{layer.name}_layernorm", axis=axes[0], epsilon=layer.epsilon)
    mean = g.reduce("ReduceMean", x, axes, True, f"{layer.name}_mean")
    centered = g.op("Sub", [x, mean], f"{layer.name}_centered")
    var = g.reduce("ReduceMean", g.op("Mul", [centered, centered], f"{layer.name}_sq"), axes, True,
                   f"{layer.name}_var")
    std = g.op("Sqrt", [g.op("Add", [var, g.const(f"{layer.name}_eps", layer.epsilon)], f"{layer.name}_vareps")],
               f"{layer.name}_std")
    inv_std = g.op("Reciprocal", [std], f"{layer.name}_inv_std")
    y = g.op("Mul", [centered, inv_std], f"{layer.name}_normalized")
    return _affine(g, layer, y, shape)


def _convert(g: _Graph, layer, inputs: list[str], kwargs=None, shapes=None):
    """The ONNX output name of one call of ``layer`` (a list for a layer returning several);
    ``kwargs`` the call's fixed keyword arguments, ``shapes`` its input shapes (no batch axis)."""
    from .. import layers as L
    from . import onnx_sequence

    x = inputs[0]
    shapes = shapes if shapes is not None else [layer.input_shape]
    sequence = onnx_sequence.convert(g, layer, inputs, kwargs or {}, shapes, _convert)
    if sequence is not None:  # Embedding, recurrent, Conv1D, 1-D pools, attention... (onnx_sequence.py)
        return sequence
    if isinstance(layer, L.Dense):
        return _dense(g, layer, x)
    if isinstance(layer, L.Activation):
        return _activation(g, x, layer.activation_name, layer.name)
    if isinstance(layer, L.Conv2D):
        return _conv(g, layer, x)
    if isinstance(layer, L.MaxPool2D):
        return _pool(g, layer, x, "MaxPool")
    if isinstance(layer, L.AveragePooling2D):
        return _pool(g, layer, x, "AveragePool")
    if isinstance(layer, L.GlobalAveragePooling2D):
        return g.reduce("ReduceMean", x, [2, 3] if _channels_first(layer) else [1, 2], layer.keepdims, layer.name)
    if isinstance(layer, L.GlobalMaxPooling2D):
        return g.reduce("ReduceMax", x, [2, 3] if _channels_first(layer) else [1, 2], layer.keepdims, layer.name)
    if isinstance(layer, L.Flatten):
        return g.op("Flatten", [x], layer.name, axis=1)  # row-major over (H, W, C): numnet's order
    if isinstance(layer, L.Reshape):
        shape = g.const(f"{layer.name}_shape", [0, *layer.output_shape], np.int64)  # 0: keep the batch size
        return g.op("Reshape", [x, shape], layer.name)
    if isinstance(layer, L.Dropout):
        return g.op("Identity", [x], layer.name)
    if isinstance(layer, L.BatchNormalization):
        return _batch_norm(g, layer, x)
    if isinstance(layer, L.LayerNormalization):
        return _layer_norm(g, layer, x)
    if isinstance(layer, (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)):
        inputs = _aligned_inputs(g, layer, inputs, shapes)
    if isinstance(layer, L.Add):
        total = inputs[0]
        for i, other in enumerate(inputs[1:]):
            total = g.op("Add", [total, other], f"{layer.name}_{i}" if i < len(inputs) - 2 else layer.name)
        return total
    if isinstance(layer, L.Concatenate):
        return g.op("Concat", inputs, layer.name, axis=layer._feature_axis + 1)
    from .onnx_keras import convert_keras_layer  # merge, conv variants, 2-D reshaping (issue 14)

    converted = convert_keras_layer(g, layer, inputs)
    if converted is not None:
        return converted
    convert = getattr(layer, "to_onnx", None)
    if convert is not None:  # a custom layer's own converter
        return convert(g, inputs)
    raise ValueError(
        f"Cannot export layer {layer.name!r} to ONNX: numnet has no ONNX conversion for {type(layer).__name__}."
        + (" A custom layer exports when it defines to_onnx(graph, inputs), returning the name of its output "
           "(see docs/custom.md)." if type(layer).__module__.split(".")[0] != "numnet"
           or getattr(type(layer), "_call_layer", False) else "")
    )


def _aligned_inputs(g: _Graph, layer, inputs: list[str], shapes) -> list[str]:
    """An elementwise merge's inputs with axes of size 1 inserted after the batch axis up to
    the largest rank (``layers.merge.aligned``): ONNX broadcasting, like NumPy's, would pad
    before the batch axis."""
    rank = max(len(s) for s in shapes)
    out = []
    for i, (name, shape) in enumerate(zip(inputs, shapes)):
        if len(shape) < rank:
            axes = g.const(f"{layer.name}_axes{i}", list(range(1, 1 + rank - len(shape))), np.int64)
            name = g.op("Unsqueeze", [name, axes], f"{layer.name}_aligned{i}")
        out.append(name)
    return out


def _dims(tensor, name: str) -> list:
    # A variable axis (a time axis) is named per tensor: runtimes take equal names for equal sizes.
    return [f"{name}_dim{i}" if d is None else d for i, d in enumerate(tensor.shape[1:], start=1)]


def _emit(g: _Graph, model, input_names: list[str]) -> list[str]:
    """Add the nodes of every call in ``model``'s plan, its inputs named ``input_names``;
    returns the names of its outputs. A nested model's calls are inlined."""
    from .onnx_sequence import follow_masks

    names = {id(t): n for t, n in zip(model.inputs, input_names)}
    for node in model._plan.nodes:
        inputs = [names[id(t)] for t in node.inputs]
        if getattr(node.layer, "_is_model", False):
            outputs = _emit(g, node.layer, inputs)
        else:
            out = _convert(g, node.layer, inputs, node.kwargs, [tuple(t.shape[1:]) for t in node.inputs])
            outputs = out if isinstance(out, list) else [out]
            follow_masks(node, inputs, outputs, g.masked)
        for tensor, name in zip(node.outputs, outputs):
            names[id(tensor)] = name
    return [names[id(t)] for t in model.outputs]


def build_onnx_model(model, opset: int | None = None, dtype=None):
    """The ``onnx.ModelProto`` for ``model`` (see ``export_onnx``)."""
    onnx, helper, numpy_helper = _import_onnx()
    if getattr(model, "_plan", None) is None:
        raise RuntimeError("Cannot export a model whose input shape is unknown: build it (or fit it) first.")
    opset = DEFAULT_OPSET if opset is None else opset
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {newest}, got {opset!r}.")
    dtype = model.dtype if dtype is None else np.dtype(dtype)
    if dtype.name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    elem_type = helper.np_dtype_to_tensor_dtype(dtype)
    g = _Graph(helper, numpy_helper, opset, dtype)

    graph_inputs = []
    names = []
    for tensor, name in zip(model.inputs, model.input_names):
        names.append(g.fresh(name))
        # Integer inputs (ids for an Embedding: Input(..., dtype="int64")) stay integers.
        kind = helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype)) if np.dtype(tensor.dtype).kind in "iu" \
            else elem_type
        graph_inputs.append(helper.make_tensor_value_info(names[-1], kind, ["batch", *_dims(tensor, names[-1])]))
    for name in model.output_names:
        g.names.add(name)
    results = _emit(g, model, names)
    graph_outputs = []
    for result, name, tensor in zip(results, model.output_names, model.outputs):
        g.op("Identity", [result], name, output=name)
        graph_outputs.append(helper.make_tensor_value_info(name, elem_type, ["batch", *_dims(tensor, name)]))

    graph = helper.make_graph(g.nodes, model.name, graph_inputs, graph_outputs, initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    from .. import __version__

    proto = helper.make_model(graph, opset_imports=opsets, producer_name="numnet", producer_version=__version__,
                              doc_string=f"numnet model {model.name!r} exported for inference")
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    return proto


def export_onnx(model, path, opset: int | None = None, dtype=None) -> None:
    """Write ``model`` to ``path`` as an ONNX model (opset ``opset``, default 17), checked
    with ``onnx.checker`` first.

    ``dtype`` (``"float32"`` or ``"float64"``) is the graph's tensor type, by default the
    model's. onnxruntime has no float64 kernels for Conv and the pools, so export float64
    CNNs with ``dtype="float32"``.
    """
    onnx, _, _ = _import_onnx()
    proto = build_onnx_model(model, opset, dtype)
    onnx.checker.check_model(proto, full_check=True)
    path = os.fspath(path)
    tmp = path + ".tmp"
    try:
        onnx.save_model(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
