"""The layer graph as a diagram: Mermaid or Graphviz DOT text, or an SVG drawn here.

:func:`build_diagram` turns a graph into nodes, edges labelled with the tensor
shape they carry, and clusters (one per block scope); ``depth`` collapses deeper
blocks into single nodes exactly as ``summary --depth`` sums them into one row.
The three writers only format that structure. The SVG is laid out here, with no
dependency: clusters are laid out inside out, each level as a layered drawing
(rank = longest path from the level's first item), so cluster boxes never
overlap and every edge points down the page.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from archcalc.graph import Graph
from archcalc.sinks import dot as _dot_text
from archcalc.sinks import mermaid as _mermaid_text
from archcalc.sinks import one_line
from archcalc.sinks import xml as _xml


@dataclass
class DNode:
    id: str
    name: str  # node name, or block path for a collapsed block
    kind: str  # layer kind, or "block"
    role: str  # "input", "layer" or "block": how it is drawn
    cluster: str | None  # innermost enclosing cluster (block path), None at top level
    lines: list[str]  # label lines
    layers: int = 1  # nodes summed into a collapsed block
    training_only: bool = False
    output: bool = False
    index: int = 0  # first graph node it stands for


@dataclass(frozen=True)
class DEdge:
    src: str
    dst: str
    shape: tuple[int, ...]

    @property
    def label(self) -> str:
        return "×".join(map(str, self.shape))


@dataclass
class Cluster:
    path: str
    parent: str | None

    @property
    def label(self) -> str:
        return self.path


@dataclass
class Diagram:
    name: str
    title: str
    depth: int | None
    nodes: list[DNode]
    edges: list[DEdge]
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def node(self, node_id: str) -> DNode:
        return self._by_id[node_id]

    def __post_init__(self) -> None:
        self._by_id = {n.id: n for n in self.nodes}

    def members(self, cluster: str | None) -> list[DNode]:
        """Nodes directly inside ``cluster`` (None: the top level)."""
        return [n for n in self.nodes if n.cluster == cluster]

    def children(self, cluster: str | None) -> list[str]:
        return [c.path for c in self.clusters.values() if c.parent == cluster]


def _prefixes(block: str | None) -> list[str]:
    if not block:
        return []
    parts = block.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _short(name: str, cluster: str | None) -> str:
    if cluster and name.startswith(cluster + "."):
        return name[len(cluster) + 1:]
    return name


def build_diagram(graph: Graph, depth: int | None = None) -> Diagram:
    """Nodes, shape-labelled edges and block clusters of ``graph``; deeper than ``depth`` collapsed."""
    outputs = {n.index for n in graph.outputs}
    aux = graph.training_only()
    rep: dict[int, str] = {}
    nodes: dict[str, DNode] = {}
    clusters: dict[str, Cluster] = {}
    blocks: dict[str, DNode] = {}

    def add_clusters(paths: list[str]) -> None:
        for i, path in enumerate(paths):
            if path not in clusters:
                clusters[path] = Cluster(path, paths[i - 1] if i else None)

    for node in graph.nodes:
        prefixes = _prefixes(node.block)
        collapsed = depth is not None and len(prefixes) >= depth
        if collapsed:
            block = prefixes[depth - 1]
            parents = prefixes[: depth - 1]
            add_clusters(parents)
            existing = blocks.get(block)
            if existing is None:
                node_id = "b" + str(len(nodes))
                cluster = parents[-1] if parents else None
                existing = blocks[block] = nodes[node_id] = DNode(
                    id=node_id, name=block, kind="block", role="block", cluster=cluster, lines=[], layers=0,
                    training_only=True, index=node.index,
                )
            existing.layers += 1
            existing.training_only = existing.training_only and node.index in aux
            existing.output = existing.output or node.index in outputs
            rep[node.index] = existing.id
            continue
        add_clusters(prefixes)
        cluster = prefixes[-1] if prefixes else None
        node_id = "n" + str(len(nodes))
        lines = [_short(node.name, cluster)]
        if not node.op.graph_input:
            lines.append(node.op.label(node))
        nodes[node_id] = DNode(
            id=node_id, name=node.name, kind=node.kind, cluster=cluster, lines=lines,
            role="input" if node.op.graph_input else "layer",
            training_only=node.index in aux, output=node.index in outputs, index=node.index,
        )
        rep[node.index] = node_id

    for n in nodes.values():
        if n.kind == "block":
            n.lines = [n.name, f"{n.layers} layers"]
    by_index = {n.index: n for n in graph.nodes}
    for out in graph.outputs:
        d = nodes[rep[out.index]]
        shape = "×".join(map(str, by_index[out.index].shape))
        d.lines.append(f"→ {shape}")

    edges: list[DEdge] = []
    seen: set[DEdge] = set()
    for node in graph.nodes:
        for src in node.inputs:
            a, b = rep[src.index], rep[node.index]
            if a == b:
                continue
            edge = DEdge(a, b, tuple(src.shape))
            if edge not in seen:
                seen.add(edge)
                edges.append(edge)
    return Diagram(graph.name, graph.title, depth, list(nodes.values()), edges, clusters)


# --- Mermaid -------------------------------------------------------------------------------------


def _mermaid_node(n: DNode) -> str:
    label = "<br/>".join(_mermaid_text(line) for line in n.lines)
    if n.kind == "block":
        return f'{n.id}[["{label}"]]'
    if n.role == "input":
        return f'{n.id}(["{label}"])'
    return f'{n.id}["{label}"]'


def to_mermaid(d: Diagram) -> str:
    cluster_ids = {path: f"c{i}" for i, path in enumerate(d.clusters)}
    lines = ["flowchart TB", f"  %% {_mermaid_text(one_line(d.title))}: layer graph by archcalc; edges carry the tensor shape C×H×W"]

    def emit(cluster: str | None, indent: str) -> None:
        for n in d.members(cluster):
            lines.append(indent + _mermaid_node(n))
        for child in d.children(cluster):
            lines.append(f'{indent}subgraph {cluster_ids[child]}["{_mermaid_text(d.clusters[child].label)}"]')
            lines.append(f"{indent}  direction TB")
            emit(child, indent + "  ")
            lines.append(f"{indent}end")

    emit(None, "  ")
    for e in d.edges:
        lines.append(f'  {e.src} -->|"{e.label}"| {e.dst}')
    lines.append("  classDef block fill:#efe7fb,stroke:#7b52c4")
    lines.append("  classDef aux stroke-dasharray:4 3")
    lines.append("  classDef out stroke-width:2.5px")
    for cls, members in (
        ("block", [n.id for n in d.nodes if n.kind == "block"]),
        ("aux", [n.id for n in d.nodes if n.training_only]),
        ("out", [n.id for n in d.nodes if n.output]),
    ):
        if members:
            lines.append(f"  class {','.join(members)} {cls}")
    return "\n".join(lines) + "\n"


# --- Graphviz DOT --------------------------------------------------------------------------------


def to_dot(d: Diagram) -> str:
    lines = [
        f'digraph "{_dot_text(d.name)}" {{',
        f'  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, '
        f'label="{_dot_text(d.title)}", newrank=true];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", color="#4a6fa5", '
        'fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, fontcolor="#555555", color="#666666"];',
    ]

    def node_line(n: DNode, indent: str) -> str:
        label = "\\n".join(_dot_text(line) for line in n.lines)
        attrs = [f'label="{label}"']
        if n.kind == "block":
            attrs += ['shape=box3d', 'fillcolor="#efe7fb"', 'color="#7b52c4"']
        elif n.role == "input":
            attrs += ['shape=ellipse', 'fillcolor="#f2f2f2"', 'color="#777777"']
        if n.training_only:
            attrs.append('style="rounded,filled,dashed"')
        if n.output:
            attrs.append("penwidth=2.2")
        return f"{indent}{n.id} [{', '.join(attrs)}];"

    def emit(cluster: str | None, indent: str) -> None:
        for n in d.members(cluster):
            lines.append(node_line(n, indent))
        for i, child in enumerate(d.children(cluster)):
            key = list(d.clusters).index(child)
            lines.append(f'{indent}subgraph "cluster_{key}" {{')
            lines.append(f'{indent}  label="{_dot_text(d.clusters[child].label)}"; style="rounded"; '
                         f'color="#9aa5b1"; fontname="Helvetica"; fontsize=10;')
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit(None, "  ")
    for e in d.edges:
        lines.append(f'  {e.src} -> {e.dst} [label="{_dot_text(e.label)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- SVG: layout -----------------------------------------------------------------------------------

FONT = 11.0  # node label font size, px
CHAR = 0.6 * FONT  # average character width estimate (sans-serif), px
LINE = 14.0
NODE_PAD_X = 10.0
NODE_PAD_Y = 7.0
HGAP = 18.0
VGAP = 30.0  # room for the shape written under each node
CLUSTER_PAD = 12.0
CLUSTER_HEAD = 20.0
MARGIN = 20.0
TITLE = 30.0


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: "Rect") -> bool:
        return not (self.right <= other.x or other.right <= self.x or self.bottom <= other.y or other.bottom <= self.y)

    def contains(self, other: "Rect") -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom)


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict[str, Rect]
    clusters: dict[str, Rect]


def node_size(n: DNode) -> tuple[float, float]:
    width = max(len(line) for line in n.lines) * CHAR + 2 * NODE_PAD_X
    return max(width, 64.0), len(n.lines) * LINE + 2 * NODE_PAD_Y


def layout(d: Diagram) -> Layout:
    """Positions of every node and cluster box (top-left origin, y down)."""
    # The items of each level, in graph order: ("n", id) for a node, ("c", path) for a cluster.
    items: dict[str | None, list[tuple[str, str]]] = {}
    first: dict[tuple[str, str], int] = {}
    chain: dict[str, list[str]] = {}  # node id -> its enclosing clusters, outermost first
    for n in d.nodes:
        path: list[str] = []
        c = n.cluster
        while c is not None:
            path.append(c)
            c = d.clusters[c].parent
        path.reverse()
        chain[n.id] = path
        parent: str | None = None
        for c in path:
            key = ("c", c)
            if key not in first:
                first[key] = n.index
                items.setdefault(parent, []).append(key)
            parent = c
        first[("n", n.id)] = n.index
        items.setdefault(parent, []).append(("n", n.id))

    def item_in(level: str | None, node_id: str) -> tuple[str, str] | None:
        """The item of ``level`` that holds ``node_id``, or None if the node is outside it."""
        path = chain[node_id]
        if level is None:
            return ("c", path[0]) if path else ("n", node_id)
        if level not in path:
            return None
        i = path.index(level)
        return ("c", path[i + 1]) if i + 1 < len(path) else ("n", node_id)

    placed: dict[tuple[str, str], tuple[float, float, dict]] = {}

    def place(level: str | None) -> tuple[float, float, dict]:
        """Size of ``level``'s content and each item's offset within it (children placed recursively)."""
        members = sorted(items.get(level, []), key=lambda k: first[k])
        sizes: dict[tuple[str, str], tuple[float, float]] = {}
        for key in members:
            if key[0] == "n":
                sizes[key] = node_size(d.node(key[1]))
            else:
                w, h, _ = placed[key] = place(key[1])
                sizes[key] = (w + 2 * CLUSTER_PAD, h + CLUSTER_HEAD + CLUSTER_PAD + 6)
        order = {k: i for i, k in enumerate(members)}
        preds: dict[tuple[str, str], set] = {k: set() for k in members}
        for e in d.edges:
            a, b = item_in(level, e.src), item_in(level, e.dst)
            if a is None or b is None or a == b:
                continue
            if order[a] < order[b]:  # graph order is topological; anything else is not a constraint
                preds[b].add(a)
        rank: dict[tuple[str, str], int] = {}
        for k in members:
            rank[k] = max((rank[p] + 1 for p in preds[k]), default=0)
        rows: dict[int, list] = {}
        for k in members:
            rows.setdefault(rank[k], []).append(k)
        centre: dict[tuple[str, str], float] = {}
        offsets: dict[tuple[str, str], tuple[float, float]] = {}
        row_list = [rows[r] for r in sorted(rows)]
        widths = [sum(sizes[k][0] for k in row) + HGAP * (len(row) - 1) for row in row_list]
        total_w = max(widths, default=0.0)
        y = 0.0
        for row, row_w in zip(row_list, widths):
            def bary(k):
                ps = [centre[p] for p in preds[k] if p in centre]
                return (sum(ps) / len(ps) if ps else total_w / 2, order[k])

            row.sort(key=bary)
            x = (total_w - row_w) / 2
            height = max(sizes[k][1] for k in row)
            for k in row:
                w, h = sizes[k]
                offsets[k] = (x, y + (height - h) / 2 if k[0] == "n" else y)
                centre[k] = x + w / 2
                x += w + HGAP
            y += height + VGAP
        total_h = max(0.0, y - VGAP)
        return total_w, total_h, {"offsets": offsets, "sizes": sizes}

    width, height, root = place(None)
    nodes: dict[str, Rect] = {}
    boxes: dict[str, Rect] = {}

    def resolve(info: dict, ox: float, oy: float) -> None:
        for key, (dx, dy) in info["offsets"].items():
            w, h = info["sizes"][key]
            if key[0] == "n":
                nodes[key[1]] = Rect(ox + dx, oy + dy, w, h)
            else:
                boxes[key[1]] = Rect(ox + dx, oy + dy, w, h)
                resolve(placed[key][2], ox + dx + CLUSTER_PAD, oy + dy + CLUSTER_HEAD)

    resolve(root, MARGIN, MARGIN + TITLE)
    return Layout(width + 2 * MARGIN, height + 2 * MARGIN + TITLE, nodes, boxes)


# --- SVG: drawing ----------------------------------------------------------------------------------


def _boxes_between(lay: Layout, tops: list[float], order: list[str], tallest: float,
                   y_lo: float, y_hi: float, skip: tuple[str, ...]) -> list[Rect]:
    lo = bisect.bisect_left(tops, y_lo - tallest)
    hi = bisect.bisect_right(tops, y_hi)
    found = []
    for node_id in order[lo:hi]:
        r = lay.nodes[node_id]
        if node_id not in skip and r.bottom > y_lo and r.y < y_hi:
            found.append(r)
    return found


def _edge_path(lay: Layout, e: DEdge, tops: list[float], order: list[str], tallest: float) -> tuple[str, float]:
    """The SVG path of an edge, and the rightmost x it reaches.

    A straight line when it crosses no other node; otherwise a detour down a
    vertical channel just left or right of the nodes in the way (whichever is
    nearer the straight line), pushed further out while a node sits in it.
    """
    a, b = lay.nodes[e.src], lay.nodes[e.dst]
    x1, y1 = a.x + a.w / 2, a.bottom
    x2, y2 = b.x + b.w / 2, b.y
    straight = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
    if y2 - y1 < 60:  # adjacent rows: nothing can be in between
        return straight, max(x1, x2)
    crossed = []
    for r in _boxes_between(lay, tops, order, tallest, y1, y2, (e.src, e.dst)):
        t0, t1 = (max(r.y, y1) - y1) / (y2 - y1), (min(r.bottom, y2) - y1) / (y2 - y1)
        xa, xb = x1 + (x2 - x1) * t0, x1 + (x2 - x1) * t1
        if min(xa, xb) < r.right + 3 and max(xa, xb) > r.x - 3:
            crossed.append(r)
    if not crossed:
        return straight, max(x1, x2)
    mid = (x1 + x2) / 2
    sides = [(min(r.x for r in crossed) - 12, -1), (max(r.right for r in crossed) + 12, 1)]
    sides.sort(key=lambda side: (abs(side[0] - mid), -side[1]))
    cx, direction = sides[0]
    inside = _boxes_between(lay, tops, order, tallest, y1 + 8, y2 - 8, (e.src, e.dst))
    for _ in range(len(inside) + 1):
        blockers = [r for r in inside if r.x - 4 < cx < r.right + 4]
        if not blockers:
            break
        cx = (min(r.x for r in blockers) - 12) if direction < 0 else (max(r.right for r in blockers) + 12)
    path = (f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + 14:.1f} {cx:.1f},{y1 + 6:.1f} {cx:.1f},{y1 + 24:.1f} "
            f"L{cx:.1f},{y2 - 24:.1f} C{cx:.1f},{y2 - 6:.1f} {x2:.1f},{y2 - 14:.1f} {x2:.1f},{y2:.1f}")
    return path, max(x1, x2, cx)


def to_svg(d: Diagram) -> str:
    lay = layout(d)
    order = sorted(lay.nodes, key=lambda i: lay.nodes[i].y)
    tops = [lay.nodes[i].y for i in order]
    tallest = max((r.h for r in lay.nodes.values()), default=0.0)
    paths = [_edge_path(lay, e, tops, order, tallest) for e in d.edges]
    width = max([lay.width] + [right + MARGIN for _, right in paths])
    for e in d.edges:  # the shape written beside the source must fit too
        a = lay.nodes[e.src]
        width = max(width, a.x + a.w / 2 + 5 + len(e.label) * 5.6 + MARGIN)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{math.ceil(width)}" height="{math.ceil(lay.height)}" '
        f'viewBox="0 0 {math.ceil(width)} {math.ceil(lay.height)}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{_xml(d.title)}</title>",
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/>"
        "</marker></defs>",
        "<style>.node rect{fill:#eef4fb;stroke:#4a6fa5;stroke-width:1}"
        ".node.block rect{fill:#efe7fb;stroke:#7b52c4}.node.input rect{fill:#f2f2f2;stroke:#777}"
        ".node.aux rect{stroke-dasharray:4 3}.node.output rect{stroke-width:2.4}"
        ".cluster rect{fill:#fafbfc;stroke:#9aa5b1;stroke-width:1}"
        ".edge path{fill:none;stroke:#666;stroke-width:1}"
        f".shape{{font-size:9px;fill:#555;paint-order:stroke;stroke:white;stroke-width:3px}}.node text{{font-size:{FONT:.0f}px;fill:#111}}"
        ".cluster text{font-size:10px;fill:#445}</style>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="14" font-weight="bold">{_xml(d.title)}</text>',
    ]
    depth_of = {}
    for path, c in d.clusters.items():
        level, p = 0, c.parent
        while p is not None:
            level, p = level + 1, d.clusters[p].parent
        depth_of[path] = level
    for path in sorted(lay.clusters, key=lambda p: depth_of[p]):
        r = lay.clusters[path]
        out.append(
            f'<g class="cluster" id="cluster:{_xml(path)}"><rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" '
            f'height="{r.h:.1f}" rx="6"/><text x="{r.x + 8:.1f}" y="{r.y + 14:.1f}">{_xml(path)}</text></g>'
        )
    for e, (path, _) in zip(d.edges, paths):
        out.append(
            f'<g class="edge" data-src="{e.src}" data-dst="{e.dst}" data-shape="{e.label}">'
            f'<path d="{path}" marker-end="url(#arrow)"/></g>'
        )
    # One shape label per source node (all edges leaving a tensor carry its shape), just under it.
    written: set[tuple[str, str]] = set()
    for e in d.edges:
        if (e.src, e.label) in written:
            continue
        written.add((e.src, e.label))
        a = lay.nodes[e.src]
        shift = 11 * (sum(1 for s, _ in written if s == e.src) - 1)
        out.append(f'<text class="shape" x="{a.x + a.w / 2 + 5:.1f}" y="{a.bottom + 12 + shift:.1f}">'
                   f"{_xml(e.label)}</text>")
    for n in d.nodes:
        r = lay.nodes[n.id]
        classes = ["node", n.role]
        if n.training_only:
            classes.append("aux")
        if n.output:
            classes.append("output")
        out.append(f'<g class="{" ".join(classes)}" id="node:{_xml(n.name)}">'
                   f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" rx="5"/>')
        for i, line in enumerate(n.lines):
            y = r.y + NODE_PAD_Y + LINE * (i + 1) - 3.5
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<text x="{r.x + r.w / 2:.1f}" y="{y:.1f}" text-anchor="middle"{weight}>{_xml(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
