"""A layered drawing of a directed acyclic graph with matplotlib (``plot_model``'s picture).

Sugiyama's scheme, small: (1) ranks: a box sits one rank below the lowest of the boxes it
reads (the longest path from an input), and an arrow that spans several ranks gets a thin
stand-in in each rank between, so that it is routed round the boxes; (2) order within a
rank: a few sweeps placing each box at the mean position of its neighbours in the rank
before (the barycentre heuristic, which removes most crossings), keeping the boxes of one
nested model side by side;
(3) coordinates in inches from the boxes' text sizes; (4) boxes, arrows from border to
border (repeated edges bent apart) and a frame around each expanded nested model.
"""

from __future__ import annotations

# Sizes in inches for 9-point text: a character's mean width and a line's height, measured
# on matplotlib's default font (DejaVu Sans) and rounded up so labels stay inside the boxes.
_CHAR, _LINE, _PAD = 0.075, 0.18, 0.16
_GAP_ALONG, _GAP_ACROSS, _MARGIN = 0.45, 0.3, 0.3
_VIA = 0.12  # the width of the stand-in an edge has in each rank it crosses


def _ranks(nodes, edges) -> dict:
    parents = {key: [] for key in nodes}
    for a, b in edges:
        parents[b].append(a)
    rank: dict[str, int] = {}
    for key in nodes:  # nodes come in call order: every parent is ranked before its children
        rank[key] = 1 + max((rank[p] for p in parents[key]), default=-1)
    return rank


def _orders(nodes, edges, rank) -> list[list[str]]:
    levels = [[] for _ in range(max(rank.values()) + 1)]
    for key in nodes:
        levels[rank[key]].append(key)
    neighbours = {key: [] for key in nodes}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def sweep(level, reference):
        place = {key: i for i, key in enumerate(reference)}
        def centre(key):
            seen = [place[n] for n in neighbours[key] if n in place]
            return sum(seen) / len(seen) if seen else level.index(key)
        centres = {key: centre(key) for key in level}
        groups: dict = {}
        for key in level:  # one nested model's boxes stay together, at their mean centre
            groups.setdefault(nodes[key]["cluster"], []).append(key)
        blocks = sorted(groups.values(), key=lambda keys: sum(centres[k] for k in keys) / len(keys))
        return [key for block in blocks for key in sorted(block, key=lambda k: centres[k])]

    for _ in range(4):
        for i in range(1, len(levels)):
            levels[i] = sweep(levels[i], levels[i - 1])
        for i in range(len(levels) - 2, -1, -1):
            levels[i] = sweep(levels[i], levels[i + 1])
    return levels


def _size(label: str) -> tuple[float, float]:
    lines = label.split("\n")
    return _CHAR * max(len(line) for line in lines) + 2 * _PAD, _LINE * len(lines) + 2 * _PAD * 0.75


def _middles(levels, nodes, widths) -> dict:
    """The across-rank centre of every box. Without nested models each rank is centred on
    its own. With them the boxes outside any nested model and those of each top-level nested
    model get bands of their own, wide enough for every rank, so that no frame covers a box
    of another rank."""
    def band(key):
        cluster = nodes[key]["cluster"]
        return None if cluster is None else cluster.split("/")[0]

    def spread(keys, centre):
        total = sum(widths[k] for k in keys) + _GAP_ACROSS * (len(keys) - 1)
        start, found = centre - total / 2, {}
        for key in keys:
            found[key] = start + widths[key] / 2
            start += widths[key] + _GAP_ACROSS
        return found, total

    bands = list(dict.fromkeys(band(key) for key in nodes))  # in call order
    if len(bands) == 1:
        return {k: v for level in levels for k, v in spread(level, 0.0)[0].items()}
    span = {b: max(spread([k for k in level if band(k) == b], 0.0)[1] for level in levels) for b in bands}
    gap = _GAP_ACROSS + 0.8  # room for the frames' margins
    left = -(sum(span.values()) + gap * (len(bands) - 1)) / 2
    centre = {}
    for b in bands:
        centre[b] = left + span[b] / 2
        left += span[b] + gap
    middles = {}
    for level in levels:
        for b in bands:
            middles.update(spread([k for k in level if band(k) == b], centre[b])[0])
    return middles


def _place(nodes, edges, rankdir):
    """``(boxes, routes)``: ``{id: (x, y, width, height)}`` of every box and, per edge, the
    points it passes between its two boxes. An edge spanning several ranks runs through a
    thin stand-in box in each rank it crosses (ordered with the others, so that it goes round
    the boxes, not through them)."""
    rank = _ranks(nodes, edges)
    placed = dict(nodes)
    sizes = {key: _size(attributes["label"]) for key, attributes in nodes.items()}
    chains, links = [], []
    for index, (a, b) in enumerate(edges):
        chain = [("via", index, r) for r in range(rank[a] + 1, rank[b])]
        same = nodes[a]["cluster"] == nodes[b]["cluster"]
        for key in chain:
            placed[key] = {"cluster": nodes[a]["cluster"] if same else None}
            rank[key], sizes[key] = key[2], (_VIA, _VIA)
        path = [a, *chain, b]
        links.extend(zip(path, path[1:]))
        chains.append(chain)
    levels = _orders(placed, links, rank)
    vertical = rankdir in ("TB", "BT")
    along, across = (1, 0) if vertical else (0, 1)  # which size runs along the ranks' direction
    middles = _middles(levels, placed, {key: size[across] for key, size in sizes.items()})
    boxes, position = {}, 0.0
    for level in levels:
        depth = max(sizes[k][along] for k in level)
        for key in level:
            middle = middles[key]
            x, y = (middle, -(position + depth / 2)) if vertical else (position + depth / 2, -middle)
            boxes[key] = (x, y, *sizes[key])
        position += depth + _GAP_ALONG
    if rankdir == "BT":  # the ranks run upwards / leftwards: mirror
        boxes = {k: (x, -y, w, h) for k, (x, y, w, h) in boxes.items()}
    elif rankdir == "RL":
        boxes = {k: (-x, y, w, h) for k, (x, y, w, h) in boxes.items()}
    routes = [[boxes[key][:2] for key in chain] for chain in chains]
    return {key: boxes[key] for key in nodes}, routes


def layout(nodes, edges, rankdir="TB") -> dict:
    """``{id: (x, y, width, height)}`` in inches, ``y`` growing upwards; ranks run in
    ``rankdir`` (``"TB"``, ``"BT"``, ``"LR"``, ``"RL"``)."""
    return _place(nodes, edges, rankdir)[0]


def _border(box, towards) -> tuple[float, float]:
    """Where the segment from ``box``'s centre to ``towards`` leaves the box."""
    x, y, w, h = box
    dx, dy = towards[0] - x, towards[1] - y
    if dx == dy == 0:
        return x, y
    t = min(w / 2 / abs(dx) if dx else float("inf"), h / 2 / abs(dy) if dy else float("inf"))
    return x + t * dx, y + t * dy


def _frames(nodes, clusters, boxes) -> list:
    """``(x0, y0, x1, y1, label)`` around each expanded nested model's boxes, wider for the
    models that hold others."""
    depth = {path: path.count("/") for path in clusters}
    frames = []
    for path in sorted(clusters, key=lambda p: depth[p]):  # outer frames first: inner ones are drawn over them
        members = [boxes[k] for k, a in nodes.items() if a["cluster"] and (a["cluster"] + "/").startswith(path + "/")]
        if not members:
            continue
        inner = max((depth[p] for p in clusters if p.startswith(path + "/")), default=depth[path]) - depth[path]
        pad = 0.12 + 0.1 * inner
        frames.append((min(x - w / 2 for x, _, w, _ in members) - pad, min(y - h / 2 for _, y, _, h in members) - pad,
                       max(x + w / 2 for x, _, w, _ in members) + pad,
                       max(y + h / 2 for _, y, _, h in members) + pad + _LINE, clusters[path]))
    return frames


def draw(nodes, edges, clusters, rankdir="TB"):
    """The matplotlib ``Figure`` of the graph (Agg canvas: works without a display)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch
    except ImportError as exc:
        raise ImportError("plot_model needs the optional 'matplotlib' package: pip install numnet[plot] "
                          "(or pip install matplotlib).") from exc
    boxes, routes = _place(nodes, edges, rankdir)
    frames = _frames(nodes, clusters, boxes)
    via = [point for route in routes for point in route]
    left = min([x - w / 2 for x, _, w, _ in boxes.values()] + [f[0] for f in frames] + [p[0] for p in via]) - _MARGIN
    right = max([x + w / 2 for x, _, w, _ in boxes.values()] + [f[2] for f in frames] + [p[0] for p in via]) + _MARGIN
    bottom = min([y - h / 2 for _, y, _, h in boxes.values()] + [f[1] for f in frames] + [p[1] for p in via]) - _MARGIN
    top = max([y + h / 2 for _, y, _, h in boxes.values()] + [f[3] for f in frames] + [p[1] for p in via]) + _MARGIN
    figure = Figure(figsize=(right - left, top - bottom))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    axes.set_axis_off()
    for x0, y0, x1, y1, label in frames:
        axes.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.08",
                                      facecolor="#f4f4f8", edgecolor="#7a7a99", linestyle="--", linewidth=0.8))
        axes.text(x0 + 0.1, y1 - 0.06, label, ha="left", va="top", fontsize=8, color="#4a4a66", style="italic")
    for key, (x, y, w, h) in boxes.items():
        colour = "#e3f0e3" if nodes[key]["class_name"] == "InputLayer" else "#e6eef9"
        axes.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                      facecolor=colour, edgecolor="#33415c", linewidth=0.9))
        axes.text(x, y, nodes[key]["label"], ha="center", va="center", fontsize=9, linespacing=1.25)
    drawn: dict = {}
    for (a, b), route in zip(edges, routes):
        repeat = drawn[(a, b)] = drawn.get((a, b), -1) + 1  # a second arrow between the same boxes bends
        points = [_border(boxes[a], (route or [boxes[b][:2]])[0]), *route]
        points.append(_border(boxes[b], points[-1]))
        if len(points) > 2:  # through the ranks it crosses, then the arrow into its box
            axes.plot([p[0] for p in points[:-1]], [p[1] for p in points[:-1]], color="#33415c", linewidth=0.9)
            repeat = 0
        axes.annotate("", xy=points[-1], xytext=points[-2],
                      arrowprops=dict(arrowstyle="-|>", color="#33415c", linewidth=0.9, shrinkA=0, shrinkB=1,
                                      connectionstyle=f"arc3,rad={0.25 * repeat * (-1) ** repeat}"))
    return figure
