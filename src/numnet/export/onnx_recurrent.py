"""ONNX conversion of the recurrent layers: ``SimpleRNN`` -> ``RNN``, ``LSTM`` -> ``LSTM``,
``GRU`` -> ``GRU`` (each one node, ``direction="forward"``), and ``Bidirectional`` as two
such nodes and the merge.

Layouts. numnet's inputs are ``(batch, time, features)``; the ONNX operators read
time-major ``X (time, batch, features)`` and give ``Y (time, directions, batch, U)`` and
``Y_h`` / ``Y_c (directions, batch, U)``, so the input is transposed once and the outputs
back. Weights: ONNX keeps ``W (directions, G*U, features)``, ``R (directions, G*U, U)`` and
``B (directions, 2*G*U)`` = input bias then recurrent bias, each gate a row block:

* LSTM: ONNX's gate order is i, o, f, c; numnet's (Keras's) i, f, c, o, so the blocks are
  permuted ``[0, 3, 1, 2]``; numnet's one bias goes to the input half, the recurrent half is 0;
* GRU: both orders are z, r, h. ``reset_after=True`` is ONNX's ``linear_before_reset=1``
  (``hh = g(x W_h + Wb_h + r * (h R_h + Rb_h))``), numnet's ``bias[0]`` / ``bias[1]`` being
  ONNX's input / recurrent bias; ``reset_after=False`` is ``linear_before_reset=0``;
* SimpleRNN: one block.

``go_backwards`` reverses the time axis of the input (a ``Slice`` with step -1) and runs the
node forward: its outputs are then in processing order, which is what numnet returns
(with ``return_sequences`` the first output belongs to the last input step). ``Bidirectional``
does the same for its backward layer and, as numnet, reverses that layer's sequence output
back before merging.

Not exported (a ValueError naming the layer): ``stateful=True`` (the state lives across
calls), a fixed ``initial_state`` given at the call, and activations other than
tanh / sigmoid / relu / linear.
"""

from __future__ import annotations

import numpy as np

_ONNX_ACTIVATION = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "linear": "Affine"}
_INT64_MIN = np.iinfo(np.int64).min


def reverse_time(g, x: str, hint: str) -> str:
    """``x[:, ::-1]`` for any (dynamic) length: Slice from -1 towards -inf with step -1."""
    const = lambda name, v: g.const(f"{hint}_{name}", [v], np.int64)  # noqa: E731
    return g.op("Slice", [x, const("start", -1), const("end", _INT64_MIN), const("axis", 1), const("step", -1)],
                hint + "_reversed")


def _multi(g, op_type: str, inputs, hint: str, n_outputs: int, **attrs) -> list[str]:
    """A node with several outputs (the recurrent operators give Y, Y_h and Y_c)."""
    outs = [g.fresh(f"{hint}_{i}") for i in range(n_outputs)]
    g.nodes.append(g.helper.make_node(op_type, list(inputs), outs, name=outs[0], **attrs))
    return outs


def _squeeze(g, x: str, axis: int, hint: str) -> str:
    return g.op("Squeeze", [x, g.const(hint + "_axes", [axis], np.int64)], hint)


def _activations(layer, names):
    attrs = {"activations": [], "activation_alpha": [], "activation_beta": []}
    for name in names:
        if name not in _ONNX_ACTIVATION:
            raise ValueError(f"Cannot export layer {layer.name!r} to ONNX: its activation {name!r} has no ONNX "
                             f"recurrent form (tanh, sigmoid, relu and linear do).")
        attrs["activations"].append(_ONNX_ACTIVATION[name])
        # Affine(x) = alpha x + beta; the other functions take no parameter, and runtimes read
        # the lists in order, so every entry gets one (ignored unless the function needs it).
        attrs["activation_alpha"].append(1.0)
        attrs["activation_beta"].append(0.0)
    if all(a != "Affine" for a in attrs["activations"]):
        del attrs["activation_alpha"], attrs["activation_beta"]
    return attrs


def _weights(layer):
    """(op type, W, R, B, activation names, extra attributes) in ONNX's layouts, one direction."""
    from ..layers import GRU, LSTM

    u = layer.units
    kernel, recurrent = layer.params["kernel"], layer.params["recurrent_kernel"]
    f = kernel.shape[0]
    gates = layer._GATES
    if isinstance(layer, LSTM):
        order = [0, 3, 1, 2]  # numnet i, f, c, o -> ONNX i, o, f, c
        w = kernel.reshape(f, 4, u)[:, order].reshape(f, 4 * u).T
        r = recurrent.reshape(u, 4, u)[:, order].reshape(u, 4 * u).T
        bias = layer.params["bias"].reshape(4, u)[order].reshape(-1) if layer.use_bias else np.zeros(4 * u)
        b = np.concatenate([bias, np.zeros(4 * u)])
        acts = [layer.recurrent_activation, layer.activation, layer.activation]
        return "LSTM", w, r, b, acts, {}
    if isinstance(layer, GRU):
        if not layer.use_bias:
            b = np.zeros(6 * u)
        elif layer.reset_after:
            b = np.concatenate([layer.params["bias"][0], layer.params["bias"][1]])
        else:
            b = np.concatenate([layer.params["bias"], np.zeros(3 * u)])
        acts = [layer.recurrent_activation, layer.activation]
        return "GRU", kernel.T, recurrent.T, b, acts, {"linear_before_reset": int(layer.reset_after)}
    bias = layer.params["bias"] if layer.use_bias else np.zeros(gates * u)
    return "RNN", kernel.T, recurrent.T, np.concatenate([bias, np.zeros(u)]), [layer.activation], {}


def recurrent(g, layer, x: str, kwargs) -> list[str] | str:
    """One recurrent layer: its output, or ``[output, *states]`` with ``return_state``."""
    if layer.stateful:
        raise ValueError(f"Cannot export layer {layer.name!r} to ONNX: stateful=True keeps its state between "
                         "calls, which an ONNX graph cannot; export a copy built with stateful=False.")
    if kwargs.get("initial_state") is not None:
        raise ValueError(f"Cannot export layer {layer.name!r} to ONNX: it is called with a fixed initial_state "
                         "(an ONNX graph takes states of its own batch size only as graph inputs).")
    name = layer.name
    op_type, w, r, b, acts, extra = _weights(layer)
    if layer.go_backwards:
        x = reverse_time(g, x, name)
    xt = g.op("Transpose", [x], name + "_time_major", perm=[1, 0, 2])
    inputs = [xt, g.const(name + "_W", w[None]), g.const(name + "_R", r[None]), g.const(name + "_B", b[None])]
    n_out = 3 if op_type == "LSTM" else 2
    outs = _multi(g, op_type, inputs, name + "_" + op_type.lower(), n_out, hidden_size=layer.units,
                  direction="forward", **_activations(layer, acts), **extra)
    if layer.return_sequences:
        y = _squeeze(g, outs[0], 1, name + "_sequence")
        output = g.op("Transpose", [y], name + "_batch_major", perm=[1, 0, 2])
    else:
        output = _squeeze(g, outs[1], 0, name + "_last")
    if not layer.return_state:
        return output
    states = [_squeeze(g, outs[1], 0, name + "_h")]
    if op_type == "LSTM":
        states.append(_squeeze(g, outs[2], 0, name + "_c"))
    return [output, *states]


def bidirectional(g, layer, x: str, kwargs) -> list[str] | str:
    """``Bidirectional``: both inner layers, the backward one's sequence reversed back, merged."""
    if kwargs.get("initial_state") is not None:
        raise ValueError(f"Cannot export layer {layer.name!r} to ONNX: it is called with a fixed initial_state.")
    fw = recurrent(g, layer.forward_layer, x, {})
    bw = recurrent(g, layer.backward_layer, x, {})
    fw_y, fw_states = (fw[0], fw[1:]) if layer.return_state else (fw, [])
    bw_y, bw_states = (bw[0], bw[1:]) if layer.return_state else (bw, [])
    if layer.return_sequences:
        bw_y = reverse_time(g, bw_y, layer.name + "_backward")
    mode, hint = layer.merge_mode, layer.name
    if mode == "concat":
        merged = [g.op("Concat", [fw_y, bw_y], hint, axis=-1)]
    elif mode == "sum":
        merged = [g.op("Add", [fw_y, bw_y], hint)]
    elif mode == "mul":
        merged = [g.op("Mul", [fw_y, bw_y], hint)]
    elif mode == "ave":
        total = g.op("Add", [fw_y, bw_y], hint + "_sum")
        merged = [g.op("Mul", [total, g.const(hint + "_half", 0.5)], hint)]
    else:
        merged = [fw_y, bw_y]
    if layer.return_state:
        return merged + list(fw_states) + list(bw_states)
    return merged if mode is None else merged[0]
