"""plot_model / model_to_dot / model_to_graph: the boxes and arrows of a model's graph, and the image."""

import numpy as np
import pytest
from PIL import Image

import numnet
from numnet import Concatenate, Dense, Input, Model, Sequential
from numnet.utils import model_to_dot, model_to_graph, plot_model
from numnet.utils._graph_layout import layout

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _siamese():
    """A shared layer (three calls), a nested Sequential (itself holding a nested model), two outputs."""
    left, right = Input((4,), name="left"), Input((4,), name="right")
    encode = Dense(3, activation="relu", name="encode")
    core = Sequential([Input((3,), name="core_in"), Dense(3, name="core_dense")], name="core")
    head = Sequential([Input((3,), name="head_in"), core, Dense(2, name="head_out")], name="head")
    merged = Concatenate(name="merge")([encode(left), encode(right)])
    return Model([left, right], [Dense(1, name="same")(merged), head(encode(left))], name="siamese")


def test_graph_has_one_box_per_layer_and_one_arrow_per_tensor_read():
    graph = model_to_graph(_siamese())
    assert list(graph.nodes) == ["left", "right", "encode", "merge", "same", "head"]
    assert sorted(graph.edges()) == sorted([("left", "encode"), ("right", "encode"), ("encode", "merge"),
                                            ("encode", "merge"), ("merge", "same"), ("left", "encode"),
                                            ("encode", "head")])
    assert graph.in_degree("encode") == 3                    # the shared layer: one box, three calls
    assert graph.nodes["encode"]["label"] == "encode (Dense)" and graph.nodes["head"]["class_name"] == "Sequential"
    assert graph.graph["clusters"] == {}


def test_expand_nested_draws_the_inner_layers_in_frames():
    graph = model_to_graph(_siamese(), expand_nested=True)
    assert list(graph.nodes) == ["left", "right", "encode", "merge", "same", "head/head_in", "head/core/core_in",
                                 "head/core/core_dense", "head/head_out"]
    assert graph.graph["clusters"] == {"head": "head (Sequential)", "head/core": "core (Sequential)"}
    assert graph.nodes["head/core/core_dense"]["cluster"] == "head/core"
    assert graph.nodes["head/head_out"]["cluster"] == "head"
    # the outer tensor enters the nested model's Input box; the inner model's output feeds the next layer
    assert ("encode", "head/head_in") in graph.edges()
    assert ("head/head_in", "head/core/core_in") in graph.edges()
    assert ("head/core/core_dense", "head/head_out") in graph.edges()
    assert "head" not in graph.nodes


def test_labels_with_shapes_dtype_activation_and_trainable():
    model = _siamese()
    model.get_layer("same").trainable = False
    graph = model_to_graph(model, show_shapes=True, show_dtype=True, show_layer_activations=True,
                           show_trainable=True)
    assert graph.nodes["encode"]["label"].split("\n") == [
        "encode (Dense)", "input: (None, 4)", "output: (None, 3)", "dtype: float32", "activation: relu",
        "trainable: True"]
    assert graph.nodes["merge"]["label"].split("\n")[1] == "input: [(None, 3), (None, 3)]"
    assert graph.nodes["same"]["label"].endswith("trainable: False")
    assert graph.nodes["left"]["label"] == "left (InputLayer)\noutput: (None, 4)\ndtype: float32"
    assert model_to_graph(model, show_layer_names=False).nodes["encode"]["label"] == "Dense"


def test_dot_text_lists_nodes_clusters_and_edges():
    text = model_to_dot(_siamese(), expand_nested=True, rankdir="LR", dpi=96)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == 'digraph "siamese" {' and lines[1] == "graph [rankdir=LR, dpi=96];" and lines[-1] == "}"
    assert '"encode" [label="encode (Dense)"];' in lines
    assert 'subgraph "cluster_head" {' in lines and 'subgraph "cluster_head/core" {' in lines
    assert lines.count('"left" -> "encode";') == 2 and lines.count('"encode" -> "merge";') == 2
    assert '"head/core/core_dense" -> "head/head_out";' in lines
    # the inner cluster is written inside the outer one
    assert lines.index('subgraph "cluster_head" {') < lines.index('subgraph "cluster_head/core" {')


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_plot_model_writes_a_png_that_reads_back(tmp_path, rankdir):
    path = tmp_path / "model.png"
    figure = plot_model(_siamese(), to_file=path, show_shapes=True, expand_nested=True, rankdir=rankdir, dpi=60)
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    inches = figure.get_size_inches()
    assert abs(width - inches[0] * 60) < 1 and abs(height - inches[1] * 60) < 1   # the figure at 60 dpi
    assert width > 100 and height > 100
    assert (height > width) == (rankdir == "TB")               # ranks run down, or across
    assert (pixels < 128).any() and (pixels == 255).all(axis=-1).mean() > 0.3   # dark strokes on white


def test_layout_puts_each_box_below_the_boxes_it_reads_and_keeps_a_rank_apart():
    model = _siamese()
    graph = model_to_graph(model, expand_nested=True)
    nodes = dict(graph.nodes(data=True))
    boxes = layout(nodes, list(graph.edges()), "TB")
    for a, b in graph.edges():
        assert boxes[b][1] < boxes[a][1]                      # y grows upwards: targets are lower
    same_rank = [(k, v) for k, v in boxes.items() if abs(v[1] - boxes["left"][1]) < 1e-9]
    assert [k for k, _ in same_rank] == ["left", "right"]
    (_, (x0, _, w0, _)), (_, (x1, _, w1, _)) = same_rank
    assert x0 + w0 / 2 < x1 - w1 / 2                          # side by side, not overlapping


def test_other_formats_and_the_dot_file(tmp_path):
    model = Sequential([Input((3,)), Dense(2)], name="small")
    plot_model(model, to_file=tmp_path / "m.svg")
    assert (tmp_path / "m.svg").read_text().lstrip().startswith("<?xml")
    plot_model(model, to_file=tmp_path / "m.pdf")
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    assert plot_model(model, to_file=tmp_path / "m.dot") is None
    assert (tmp_path / "m.dot").read_text() == model_to_dot(model)


def test_plot_model_errors(tmp_path):
    model = Sequential([Input((3,)), Dense(2)])
    with pytest.raises(ValueError, match="to_file must end in one of"):
        plot_model(model, to_file=tmp_path / "model.gif")
    with pytest.raises(ValueError, match="rankdir must be 'TB', 'LR', 'BT' or 'RL', got 'XY'"):
        plot_model(model, to_file=tmp_path / "m.png", rankdir="XY")
    with pytest.raises(ValueError, match="dpi must be a number between 10 and 2000"):
        plot_model(model, to_file=tmp_path / "m.png", dpi=0)
    with pytest.raises(RuntimeError, match="is not built yet"):
        plot_model(Sequential([Dense(2)]), to_file=tmp_path / "m.png")
    with pytest.raises(TypeError, match="expects a numnet Model"):
        model_to_dot(Dense(2))
    assert list(tmp_path.iterdir()) == []                     # nothing written by a refused call


def test_plot_model_is_reachable_from_numnet_utils():
    assert numnet.utils.plot_model is plot_model


def test_frames_of_nested_models_cover_no_other_box():
    from numnet.utils._graph_layout import _frames

    graph = model_to_graph(_siamese(), expand_nested=True, show_shapes=True)
    nodes = dict(graph.nodes(data=True))
    for rankdir in ("TB", "LR"):
        boxes = layout(nodes, list(graph.edges()), rankdir)
        frames = _frames(nodes, graph.graph["clusters"], boxes)
        assert [f[4] for f in frames] == ["head (Sequential)", "core (Sequential)"]
        for x0, y0, x1, y1, label in frames:
            path = label.split(" ")[0]
            for key, (x, y, w, h) in boxes.items():
                inside = (nodes[key]["cluster"] or "").split("/")[:1] == ["head"] and (
                    path == "head" or (nodes[key]["cluster"] or "").startswith("head/core"))
                overlaps = x - w / 2 < x1 and x + w / 2 > x0 and y - h / 2 < y1 and y + h / 2 > y0
                assert overlaps == inside, (rankdir, label, key)


def test_without_the_plot_extra_the_errors_say_what_to_install(tmp_path, monkeypatch):
    import sys

    model = Sequential([Input((3,)), Dense(2)])
    monkeypatch.setitem(sys.modules, "networkx", None)           # as if networkx were not installed
    with pytest.raises(ImportError, match=r"'networkx' package: pip install numnet\[plot\]"):
        model_to_graph(model)
    for name in ["matplotlib"] + [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"'matplotlib' package: pip install numnet\[plot\]"):
        plot_model(model, to_file=tmp_path / "m.png")
    assert model_to_dot(model).startswith('digraph "')           # DOT text needs neither


def test_a_skip_connection_is_routed_round_the_boxes_it_skips():
    from numnet import Add
    from numnet.utils._graph_layout import _place

    x = Input((4,), name="x")
    h = Dense(4, name="a")(x)
    out = Add(name="add")([x, Dense(4, name="c")(Dense(4, name="b")(h))])   # x -> add spans 4 ranks
    graph = model_to_graph(Model(x, out))
    edges = list(graph.edges())
    boxes, routes = _place(dict(graph.nodes(data=True)), edges, "TB")
    (route,) = [r for (a, b), r in zip(edges, routes) if (a, b) == ("x", "add")]
    assert len(route) == 3                                     # a stand-in in each of the 3 ranks between
    for (px, py), skipped in zip(route, ["a", "b", "c"]):
        x0, y0, w, h = boxes[skipped]
        assert abs(py - y0) < 1e-9 and abs(px - x0) > w / 2    # same rank, beside the box, not through it
    assert all(route == [] for (a, b), route in zip(edges, routes) if (a, b) != ("x", "add"))
