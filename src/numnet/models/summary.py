"""``Model.summary``'s table: one row per layer call, nested models as one row or expanded."""

from __future__ import annotations


def _shape(tensors) -> str:
    shapes = [str(t.shape).replace(",)", ")") for t in tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _source(tensor) -> str:
    node = tensor.node
    layer = node.layer
    call = layer._inbound_nodes.index(node) if node in layer._inbound_nodes else 0
    return f"{layer.name}[{call}]" + (f"[{tensor.index}]" if len(node.outputs) > 1 else "")


def _rows(model, expand_nested: bool, indent: str) -> list[tuple]:
    rows = []
    for tensor in model.inputs:
        layer = tensor.node.layer
        rows.append((f"{indent}{layer.name} ({type(layer).__name__})", _shape([tensor]), "0", ""))
    for node in model._plan.nodes:
        layer = node.layer
        count = layer.count_params()
        connected = ", ".join(_source(t) for t in node.inputs)
        rows.append((f"{indent}{layer.name} ({type(layer).__name__})", _shape(node.outputs), f"{count:,}", connected))
        if expand_nested and getattr(layer, "_is_model", False):
            rows.extend(_rows(layer, True, indent + "  "))
    return rows


def summary_lines(model, expand_nested: bool = False) -> list[str]:
    if model._plan is None:
        raise RuntimeError(f"Model {model.name!r} is not built yet: nothing to summarise.")
    rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")] + _rows(model, expand_nested, "")
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(4)]
    line = "-" * sum(widths)
    total = model.count_params()
    trainable = sum(w.size for w in model.trainable_weights)
    out = [f'Model: "{model.name}"', line, "".join(c.ljust(w) for c, w in zip(rows[0], widths)), "=" * len(line)]
    out += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
    out += [
        "=" * len(line),
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        line,
    ]
    return out
