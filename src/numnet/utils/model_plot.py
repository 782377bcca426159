"""Pictures of a model's graph: ``plot_model`` (an image file), ``model_to_dot`` (Graphviz's
DOT text) and ``model_to_graph`` (a ``networkx.MultiDiGraph``). (This module is ``model_plot``: in
``numnet.utils`` the name ``plot_model`` is the function.)

One box per layer, one arrow per tensor a call reads: a shared layer is one box with an
arrow from each of its calls' inputs; a nested model is one box, or with
``expand_nested=True`` a labelled frame around its own layers (its ``Input`` boxes receive the
outer arrows). Nothing here needs Graphviz: ``plot_model`` lays the graph out itself in ranks
(``numnet.utils._graph_layout``) and draws it with matplotlib, an optional extra
(``pip install numnet[plot]``, which also brings networkx for ``model_to_graph``). The DOT
text can be rendered with Graphviz where it is installed (``dot -Tpng model.dot``).
"""

from __future__ import annotations

import os

_FORMATS = (".png", ".jpg", ".jpeg", ".svg", ".pdf", ".dot")


class _Graph:
    """The drawing's content: ``nodes`` (id -> {"label", "cluster", "layer", "class_name"}, in
    call order), ``edges`` (``(source id, target id)``, one per tensor read, repeats kept) and
    ``clusters`` (path of an expanded nested model -> its label)."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}
        self.edges: list[tuple[str, str]] = []
        self.clusters: dict[str, str] = {}


def _check_model(model, what: str) -> None:
    from ..models import Model

    if not isinstance(model, Model):
        raise TypeError(f"{what} expects a numnet Model, got {model!r:.80}.")
    if model._plan is None:
        raise RuntimeError(f"{what}: model {model.name!r} is not built yet (its layers are not connected): give it "
                           "an Input, call model.build(input_shape), or run it on data first.")


def _shape(shapes) -> str:
    shapes = [tuple(s) for s in shapes]
    return str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(str(s) for s in shapes) + "]"


def _label(layer, node, options) -> str:
    name = type(layer).__name__
    lines = [f"{layer.name} ({name})" if options["show_layer_names"] else name]
    if options["show_shapes"]:
        if node.inputs:
            lines.append(f"input: {_shape(t.shape for t in node.inputs)}")
        lines.append(f"output: {_shape(t.shape for t in node.outputs)}")
    if options["show_dtype"]:
        dtype = getattr(layer, "input_dtype", None) or node.outputs[0].dtype  # an Input's own ("string")
        lines.append(f"dtype: {dtype}")
    if options["show_layer_activations"]:
        activation = getattr(layer, "output_activation", None)
        if activation is not None:
            lines.append(f"activation: {activation}")
    if options["show_trainable"] and not getattr(layer, "_is_input_layer", False):
        lines.append(f"trainable: {bool(layer.trainable)}")
    return "\n".join(lines)


def _collect(model, options) -> _Graph:
    graph = _Graph()
    expand = options["expand_nested"]

    def expanded(layer) -> bool:
        return expand and getattr(layer, "_is_model", False) and layer._plan is not None

    def source(tensor, prefix: str) -> str:
        """The id of the box that produced ``tensor`` (seen from the model at ``prefix``)."""
        layer = tensor.node.layer
        while expanded(layer):  # an expanded model's output comes from one of its own layers
            prefix = f"{prefix}{layer.name}/"
            tensor = layer.outputs[tensor.index]
            layer = tensor.node.layer
        return prefix + layer.name

    def add_node(layer, node, prefix: str) -> str:
        key = prefix + layer.name
        if key not in graph.nodes:  # a shared layer: one box, its first call's shapes
            graph.nodes[key] = {"label": _label(layer, node, options), "cluster": prefix[:-1] or None,
                                "layer": layer.name, "class_name": type(layer).__name__}
        return key

    def walk(inner, prefix: str) -> None:
        for tensor in inner.inputs:
            add_node(tensor.node.layer, tensor.node, prefix)
        for node in inner._plan.nodes:
            layer = node.layer
            if expanded(layer):
                inner_prefix = f"{prefix}{layer.name}/"
                if inner_prefix[:-1] not in graph.clusters:  # a nested model called again: one frame
                    graph.clusters[inner_prefix[:-1]] = f"{layer.name} ({type(layer).__name__})"
                    walk(layer, inner_prefix)
                for tensor, entry in zip(node.inputs, layer.inputs):
                    graph.edges.append((source(tensor, prefix), inner_prefix + entry.node.layer.name))
                continue
            key = add_node(layer, node, prefix)
            graph.edges.extend((source(tensor, prefix), key) for tensor in node.inputs)

    walk(model, "")
    return graph


def _options(show_shapes, show_dtype, show_layer_names, expand_nested, show_layer_activations, show_trainable):
    return {"show_shapes": bool(show_shapes), "show_dtype": bool(show_dtype),
            "show_layer_names": bool(show_layer_names), "expand_nested": bool(expand_nested),
            "show_layer_activations": bool(show_layer_activations), "show_trainable": bool(show_trainable)}


def _check_rankdir(rankdir, what):
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"{what}: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r:.40}.")


def model_to_graph(model, show_shapes=False, show_dtype=False, show_layer_names=True, expand_nested=False,
                   show_layer_activations=False, show_trainable=False):
    """The graph as a ``networkx.MultiDiGraph``: a node per box (id: the layer's path,
    ``"encoder/dense"`` inside an expanded nested model) with attributes ``label``,
    ``cluster`` (the nested model's path or None), ``layer`` and ``class_name``; an edge per
    tensor a call reads (a layer reading one tensor twice has two edges)."""
    _check_model(model, "model_to_graph")
    try:
        import networkx
    except ImportError as exc:
        raise ImportError("model_to_graph needs the optional 'networkx' package: pip install numnet[plot] "
                          "(or pip install networkx).") from exc
    content = _collect(model, _options(show_shapes, show_dtype, show_layer_names, expand_nested,
                                       show_layer_activations, show_trainable))
    graph = networkx.MultiDiGraph(name=model.name, clusters=dict(content.clusters))
    for key, attributes in content.nodes.items():
        graph.add_node(key, **attributes)
    graph.add_edges_from(content.edges)
    return graph


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_text(model, content: _Graph, rankdir: str, dpi) -> str:
    lines = [f"digraph {_quote(model.name)} {{", f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             "  node [shape=box, style=rounded, fontname=Helvetica];"]

    def emit(cluster, indent):
        for key, attributes in content.nodes.items():
            if attributes["cluster"] == cluster:
                lines.append(f"{indent}{_quote(key)} [label={_quote(attributes['label'])}];")
        for path, label in content.clusters.items():
            if path.rpartition("/")[0] == (cluster or "") and path != cluster:
                lines.append(f"{indent}subgraph {_quote('cluster_' + path)} {{")
                lines.append(f"{indent}  label={_quote(label)};")
                emit(path, indent + "  ")
                lines.append(f"{indent}}}")

    emit(None, "  ")
    lines.extend(f"  {_quote(a)} -> {_quote(b)};" for a, b in content.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False) -> str:
    """The graph in Graphviz's DOT language (text; expanded nested models are
    ``subgraph "cluster_<path>"``). Needs nothing installed."""
    _check_model(model, "model_to_dot")
    _check_rankdir(rankdir, "model_to_dot")
    content = _collect(model, _options(show_shapes, show_dtype, show_layer_names, expand_nested,
                                       show_layer_activations, show_trainable))
    return _dot_text(model, content, rankdir, dpi)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False):
    """Draw ``model``'s graph into ``to_file`` and return the matplotlib ``Figure``.

    The extension picks the format: ``.png``, ``.jpg``, ``.svg``, ``.pdf`` (drawn by
    matplotlib), or ``.dot`` (``model_to_dot``'s text; then None is returned).
    ``show_shapes`` adds each box's input and output shapes (batch axis ``None``),
    ``show_dtype`` its output dtype, ``show_layer_activations`` / ``show_trainable`` its
    activation and trainable flag; ``show_layer_names=False`` keeps the class names alone.
    ``rankdir``: ``"TB"`` (top to bottom), ``"LR"``, ``"BT"``, ``"RL"``. ``dpi``: the
    resolution of a raster image.
    """
    _check_model(model, "plot_model")
    _check_rankdir(rankdir, "plot_model")
    path = os.fspath(to_file)
    extension = os.path.splitext(path)[1].lower()
    if extension not in _FORMATS:
        raise ValueError(f"plot_model: to_file must end in one of {_FORMATS}, got {path!r:.120}.")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 10 <= dpi <= 2000:
        raise ValueError(f"plot_model: dpi must be a number between 10 and 2000, got {dpi!r:.40}.")
    content = _collect(model, _options(show_shapes, show_dtype, show_layer_names, expand_nested,
                                       show_layer_activations, show_trainable))
    if extension == ".dot":
        with open(path, "w", encoding="utf-8") as f:
            f.write(_dot_text(model, content, rankdir, dpi))
        return None
    from ._graph_layout import draw

    figure = draw(content.nodes, content.edges, content.clusters, rankdir)
    figure.savefig(path, dpi=dpi)
    return figure
