"""Causal graphs as static SVG, laid out in pure Python (no graphviz, no JavaScript).

The layout is the layered (Sugiyama) kind: nodes go in rows by topological
generation, edges that skip rows get invisible dummy points so they bend around
the nodes in between, and a few barycenter sweeps reorder each row to cut
crossings. Edges are cubic curves with vertical tangents, like graphviz's splines.

Every node is a ``<g class="cdsl-node" data-node="NAME" data-mode="...">``, so a
page (or the explorer's JavaScript) can find it. Styles are SVG attributes, not
CSS, so the picture looks the same in nbviewer, on GitHub and in exports; the
neutral colours are JupyterLab theme variables with light fallbacks (see
:mod:`.theme`), and marker ids are random per drawing (:func:`drawing_id`).

>>> svg = draw_graph(["x", "y"], [("x", "y")], intervened={"x"}, sublabels={"x": "do = 1"})
>>> svg.startswith("<svg") and 'data-node="x"' in svg and 'data-mode="do"' in svg
True
"""

from __future__ import annotations

import html
import itertools
import math
import uuid
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

import networkx as nx

from .theme import BORDER, INK, INK2, LINE, LINE2, PAGE, PAGE2, paint

# Geometry, in SVG user units (pixels at 100% zoom).
ROW_GAP = 72
NODE_H = 34
NODE_H2 = 46  # a node with a second (small) line of text
MIN_W = 48
CHAR_W = 7.6
PAD_X = 22
GAP_X = 26
MARGIN = 18
DUMMY_W = 14
TITLE_CHAR_W = 8.2  # bold 13px sans-serif, a generous average
LEGEND_CHAR_W = 6.2

STYLE = {  # mode -> (fill, stroke, text colour); neutral ones follow the notebook's theme
    "none": (PAGE, LINE, INK),
    "latent": (PAGE2, LINE2, INK2),
    "do": ("#dbeafe", "#1d4ed8", "#0b2a6f"),
    "observe": ("#fef3c7", "#b45309", "#5a2d02"),
    "noise": ("#ffffff", "#7c3aed", "#4c1d95"),
}



@dataclass
class Layout:
    """Node centres and sizes, and the dummy points of each long edge."""

    pos: dict = field(default_factory=dict)  # node -> (x, y)
    size: dict = field(default_factory=dict)  # node -> (w, h)
    bends: dict = field(default_factory=dict)  # (a, b) -> [(x, y), ...] between a and b
    width: float = 0.0
    height: float = 0.0


def legend_items(latent, intervened, observed, noise=(), bidirected=()) -> list[tuple[str, str]]:
    """The legend's ``(kind, text)`` entries for a drawing with these kinds of node and edge.

    >>> [k for k, _ in legend_items({"u"}, {"x"}, (), (), ())]
    ['latent', 'do']
    """
    out = []
    if latent:
        out.append(("latent", "latent (dashed)"))
    if intervened:
        out.append(("do", "do(·): mechanism replaced"))
    if observed:
        out.append(("observe", "observed (conditioned)"))
    if noise:
        out.append(("noise", "shared noise U"))
    if bidirected:
        out.append(("bi", "<-> unobserved common cause"))
    return out


def legend_width(items: list[tuple[str, str]]) -> float:
    """The width a legend of ``items`` needs, margins included."""
    return sum(30 + LEGEND_CHAR_W * len(text) for _, text in items) + 2 * MARGIN


def drawing_id() -> str:
    """A fresh prefix for the ids of one drawing's markers.

    Random, not counted: every kernel would count from the same start, and in a
    page that shows several notebooks ``url(#id)`` resolves to the first
    element with that id, which may sit in a hidden notebook (the arrowheads
    then vanish).

    >>> a, b = drawing_id(), drawing_id()
    >>> a != b and a.startswith("cdsl-") and len(a) == 17
    True
    """
    return "cdsl-" + uuid.uuid4().hex[:12]


def node_width(label: str, sublabel: Optional[str] = None) -> float:
    """Width of a node's shape, from the longer of its two lines."""
    n = max(len(label), int(len(sublabel or "") * 0.8))
    return max(MIN_W, n * CHAR_W + PAD_X)


def layers_of(g: nx.DiGraph) -> dict:
    """Row of every node: its topological generation (roots in row 0).

    >>> layers_of(nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")]))
    {'a': 0, 'b': 1, 'c': 2}
    """
    out = {}
    for i, gen in enumerate(nx.topological_generations(g)):
        for v in gen:
            out[v] = i
    return out


def _crossings(rows: list[list], down: dict) -> int:
    """Edge crossings between consecutive rows (``down``: node -> children in the next row)."""
    total = 0
    for r in range(len(rows) - 1):
        pos = {v: i for i, v in enumerate(rows[r + 1])}
        seg = [(i, pos[w]) for i, v in enumerate(rows[r]) for w in down.get(v, ()) if w in pos]
        for (a1, b1), (a2, b2) in itertools.combinations(seg, 2):
            if (a1 - a2) * (b1 - b2) < 0:
                total += 1
    return total


def order_rows(g: nx.DiGraph, rank: Mapping, sweeps: int = 6,
               groups: Optional[Mapping] = None) -> tuple[list[list], dict, dict]:
    """Rows of nodes (dummies added on long edges) ordered to reduce crossings.

    Returns the rows, the chain of dummies of each long edge, and the
    proper-graph children of each node. With ``groups`` (node -> column
    number), each row keeps its nodes grouped by column; a dummy belongs to its
    edge's target's group.

    >>> rows, chains, _ = order_rows(nx.DiGraph([("a", "c"), ("b", "d"), ("a", "d"), ("b", "c")]),
    ...                              {"a": 0, "b": 0, "c": 1, "d": 1})
    >>> [len(r) for r in rows], chains
    ([2, 2], {})
    """
    nrows = max(rank.values(), default=-1) + 1
    rows: list[list] = [[] for _ in range(nrows)]
    for v in g.nodes:  # start from declaration order: the author's order is often a good one
        rows[rank[v]].append(v)
    down: dict = {v: [] for v in g.nodes}
    up: dict = {v: [] for v in g.nodes}
    chains: dict = {}
    for a, b in g.edges:
        prev = a
        chain = []
        for r in range(rank[a] + 1, rank[b]):
            d = ("__dummy__", a, b, r)
            rows[r].append(d)
            down[d], up[d] = [], []
            chain.append(d)
            down[prev].append(d)
            up[d].append(prev)
            prev = d
        down[prev].append(b)
        up[b].append(prev)
        if chain:
            chains[(a, b)] = chain
    groups = groups or {}

    def group(v):
        if isinstance(v, tuple) and v and v[0] == "__dummy__":
            v = v[2]
        return groups.get(v, -1)

    for row in rows:
        row.sort(key=group)  # stable: keeps the declaration order inside a group
    best = [list(r) for r in rows]
    best_c = _crossings(rows, down)
    for sweep in range(sweeps):
        rng = range(1, nrows) if sweep % 2 == 0 else range(nrows - 2, -1, -1)
        nbrs = up if sweep % 2 == 0 else down
        for r in rng:
            ref = {v: i for i, v in enumerate(rows[r - 1 if sweep % 2 == 0 else r + 1])}
            cur = {v: i for i, v in enumerate(rows[r])}

            def bary(v, ref=ref, cur=cur):
                ps = [ref[w] for w in nbrs[v] if w in ref]
                return (group(v), sum(ps) / len(ps) if ps else cur[v], cur[v])

            rows[r].sort(key=bary)
        c = _crossings(rows, down)
        if c < best_c:
            best, best_c = [list(r) for r in rows], c
    return best, chains, down


def layered_layout(g: nx.DiGraph, labels: Mapping = None, sublabels: Mapping = None,
                   rank: Optional[Mapping] = None, groups: Optional[Mapping] = None) -> Layout:
    """Positions for every node of the DAG ``g`` (``rank`` overrides the rows).

    With ``groups`` (node -> column number) the picture is in columns, one per
    group, each row's nodes of a group centred in its column; nodes without a
    group sit above the average of their neighbours (shared noise nodes).

    >>> lay = layered_layout(nx.DiGraph([("x", "y")]))
    >>> lay.pos["x"][1] < lay.pos["y"][1]
    True
    """
    labels = labels or {}
    sublabels = sublabels or {}
    rank = dict(rank) if rank is not None else layers_of(g)
    rows, chains, _ = order_rows(g, rank, groups=groups)
    lay = Layout()
    widths = []
    for row in rows:
        w = 0.0
        for v in row:
            if isinstance(v, tuple) and v and v[0] == "__dummy__":
                size = (DUMMY_W, NODE_H)
            else:
                sub = sublabels.get(v)
                size = (node_width(str(labels.get(v, v)), sub), NODE_H2 if sub else NODE_H)
            lay.size[v] = size
            w += size[0]
        widths.append(w + GAP_X * max(0, len(row) - 1))
    if groups:
        _place_columns(lay, rows, g, groups)
    else:
        total_w = max(widths, default=0.0)
        for r, (row, w) in enumerate(zip(rows, widths)):
            x = MARGIN + (total_w - w) / 2
            for v in row:
                sw = lay.size[v][0]
                lay.pos[v] = (x + sw / 2, _row_y(r))
                x += sw + GAP_X
    total_w = max(x + lay.size[v][0] / 2 for v, (x, _) in lay.pos.items()) - MARGIN if lay.pos else 0.0
    for edge, chain in chains.items():
        lay.bends[edge] = [lay.pos[d] for d in chain]
    for row in rows:
        for v in row:
            if isinstance(v, tuple) and v and v[0] == "__dummy__":
                del lay.pos[v], lay.size[v]
    lay.width = total_w + 2 * MARGIN
    lay.height = 2 * MARGIN + NODE_H2 + max(0, len(rows) - 1) * ROW_GAP
    return lay


def _row_y(r: int) -> float:
    return MARGIN + NODE_H2 / 2 + r * ROW_GAP


def _is_dummy(v) -> bool:
    return isinstance(v, tuple) and bool(v) and v[0] == "__dummy__"


def _place_columns(lay: Layout, rows: list[list], g: nx.DiGraph, groups: Mapping) -> None:
    """x positions by column: each group's nodes centred in a column as wide as its widest row."""
    def group(v):
        return groups.get(v[2] if _is_dummy(v) else v)

    cols = sorted({group(v) for row in rows for v in row if group(v) is not None})
    colw = {c: 0.0 for c in cols}
    for row in rows:
        for c in cols:
            members = [v for v in row if group(v) == c]
            w = sum(lay.size[v][0] for v in members) + GAP_X * max(0, len(members) - 1)
            colw[c] = max(colw[c], w)
    x0, left = {}, MARGIN
    for c in cols:
        x0[c] = left
        left += colw[c] + 2 * GAP_X  # columns further apart than nodes, so clusters read apart
    free = []
    for r, row in enumerate(rows):
        for c in cols:
            members = [v for v in row if group(v) == c]
            w = sum(lay.size[v][0] for v in members) + GAP_X * max(0, len(members) - 1)
            x = x0[c] + (colw[c] - w) / 2
            for v in members:
                lay.pos[v] = (x + lay.size[v][0] / 2, _row_y(r))
                x += lay.size[v][0] + GAP_X
        free.append([v for v in row if group(v) is None])
    for r, row in enumerate(free):
        want = []
        for v in row:
            xs = [lay.pos[w][0] for w in list(g.successors(v)) + list(g.predecessors(v)) if w in lay.pos]
            want.append((sum(xs) / len(xs) if xs else MARGIN, v))
        want.sort(key=lambda t: t[0])
        edge = MARGIN
        for x, v in want:  # left to right, pushed right just enough not to overlap
            half = lay.size[v][0] / 2
            x = max(x, edge + half)
            lay.pos[v] = (x, _row_y(r))
            edge = x + half + GAP_X


# ------------------------------------------------------------------ SVG
def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _curve(points: list[tuple]) -> str:
    """A smooth path through ``points`` with vertical tangents at every point."""
    d = f"M{_f(points[0][0])},{_f(points[0][1])}"
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        my = (y1 - y0) / 2
        d += f" C{_f(x0)},{_f(y0 + my)} {_f(x1)},{_f(y1 - my)} {_f(x1)},{_f(y1)}"
    return d


def _boundary(c: tuple, size: tuple, toward: tuple, box: bool) -> tuple:
    """Where the segment from centre ``c`` toward ``toward`` leaves the node's shape."""
    dx, dy = toward[0] - c[0], toward[1] - c[1]
    if dx == 0 and dy == 0:
        return c
    a, b = size[0] / 2, size[1] / 2
    if box:
        t = min(a / abs(dx) if dx else math.inf, b / abs(dy) if dy else math.inf)
    else:
        t = 1 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2)
    return (c[0] + dx * t, c[1] + dy * t)


def draw_graph(nodes: Iterable[str], edges: Iterable[tuple], *, bidirected: Iterable[tuple] = (),
               latent: Iterable[str] = (), intervened: Iterable[str] = (), observed: Iterable[str] = (),
               noise: Iterable[str] = (), labels: Optional[Mapping] = None, sublabels: Optional[Mapping] = None,
               rank: Optional[Mapping] = None, layout: Optional[Layout] = None, title: str = "",
               legend: bool = True, clusters: Iterable[tuple] = (), css_class: str = "cdsl-graph",
               groups: Optional[Mapping] = None, min_width: float = 0.0) -> str:
    """The SVG text of a causal graph.

    ``intervened`` nodes are boxes with a double border (mode ``do``); ``observed``
    ones are shaded (mode ``observe``); ``latent`` ones dashed; ``noise`` ones are
    small circles (exogenous ``U``). ``bidirected`` pairs are drawn as dashed
    curves with two heads. The caller decides which edges exist: after an
    intervention the edges into the intervened node are simply not passed.
    ``clusters`` are ``(title, [nodes])`` boxes drawn behind the nodes; ``groups``
    (node -> column) lays the picture out in columns (see :func:`layered_layout`).
    ``min_width`` keeps the canvas at least that wide (the explorer keeps one
    width whatever the legend holds, so the panel beside it does not move).

    >>> svg = draw_graph(["a", "b"], [], bidirected=[("a", "b")], latent=["a"])
    >>> svg.count('class="cdsl-node"'), 'stroke-dasharray' in svg, 'class="cdsl-bidirected"' in svg
    (2, True, True)
    """
    nodes = list(dict.fromkeys(nodes))
    edges = [tuple(e) for e in edges]
    latent, intervened, observed, noise = set(latent), set(intervened), set(observed), set(noise)
    labels = dict(labels or {})
    sublabels = dict(sublabels or {})
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    lay = layout or layered_layout(g, labels, sublabels, rank, groups)
    uid = drawing_id()
    title_h = 22 if title else 0
    leg_items = legend_items(latent, intervened, observed, noise, bidirected) if legend else []
    leg_h = 22 if leg_items else 0
    leg_w = [30 + LEGEND_CHAR_W * len(text) for _, text in leg_items]
    # Bidirected arcs bulge sideways; compute them first so the canvas can grow to hold them.
    arcs = []
    for a, b in bidirected:
        if a not in lay.pos or b not in lay.pos:
            continue
        (xa, ya), (xb, yb) = lay.pos[a], lay.pos[b]
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        dx, dy = xb - xa, yb - ya
        dist = math.hypot(dx, dy) or 1.0
        bulge = 0.3 * dist + 18
        nx_, ny_ = -dy / dist, dx / dist  # unit normal: arcs between rows bulge left, within a row up
        if nx_ > 0 or (nx_ == 0 and ny_ > 0):
            nx_, ny_ = -nx_, -ny_
        ctrl = (mx + nx_ * bulge, my + ny_ * bulge)
        s = _boundary(lay.pos[a], lay.size[a], ctrl, a in intervened)
        e = _boundary(lay.pos[b], lay.size[b], ctrl, b in intervened)
        arcs.append((a, b, s, ctrl, e))
    peak_x = [0.25 * s[0] + 0.5 * c[0] + 0.25 * e[0] for _, _, s, c, e in arcs]
    peak_y = [0.25 * s[1] + 0.5 * c[1] + 0.25 * e[1] for _, _, s, c, e in arcs]
    shift_x = max([0.0] + [MARGIN - x for x in peak_x])
    shift_y = max([0.0] + [MARGIN - y for y in peak_y])
    grow_x = max([0.0] + [x - (lay.width - MARGIN) for x in peak_x])
    title_w = 2 * MARGIN + TITLE_CHAR_W * len(title)  # the title is never clipped
    width = max(lay.width + shift_x + grow_x, sum(leg_w) + 2 * MARGIN, title_w, min_width, 120)
    height = lay.height + title_h + leg_h + shift_y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" class="{css_class}" width="{_f(width)}" '
           f'height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="13">',
           f"<title>{html.escape(title or 'causal graph')}</title>",
           "<defs>"
           f'<marker id="{uid}-a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" {paint(fill=LINE)}/></marker>'
           f'<marker id="{uid}-n" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#7c3aed"/></marker>'
           "</defs>"]
    if title:
        out.append(f'<text class="cdsl-title" x="{MARGIN}" y="16" font-weight="bold" {paint(fill=INK)}>'
                   f'{html.escape(title)}</text>')
    out.append(f'<g transform="translate({_f(shift_x)},{_f(title_h + shift_y)})">')
    for ctitle, members in clusters:
        pts = [(lay.pos[v], lay.size[v]) for v in members if v in lay.pos]
        if not pts:
            continue
        x0 = min(p[0] - s[0] / 2 for p, s in pts) - 8
        x1 = max(p[0] + s[0] / 2 for p, s in pts) + 8
        y0 = min(p[1] - s[1] / 2 for p, s in pts) - 22
        y1 = max(p[1] + s[1] / 2 for p, s in pts) + 8
        out.append(f'<g class="cdsl-cluster"><rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(x1 - x0)}" '
                   f'height="{_f(y1 - y0)}" rx="8" {paint(fill=PAGE2, stroke=BORDER)}/>'
                   f'<text x="{_f(x0 + 6)}" y="{_f(y0 + 14)}" font-size="11" {paint(fill=INK2)}>'
                   f"{html.escape(ctitle)}</text></g>")
    boxes = intervened

    for a, b in edges:
        if a not in lay.pos or b not in lay.pos:
            continue
        mids = lay.bends.get((a, b), [])
        first = mids[0] if mids else lay.pos[b]
        last = mids[-1] if mids else lay.pos[a]
        start = _boundary(lay.pos[a], lay.size[a], first, a in boxes)
        end = _boundary(lay.pos[b], lay.size[b], last, b in boxes)
        # Vertical tangents read well between rows; a straight end keeps the arrowhead on the node.
        if abs(start[1] - end[1]) > 1:
            start = (lay.pos[a][0], lay.pos[a][1] + lay.size[a][1] / 2)
            end = (lay.pos[b][0], lay.pos[b][1] - lay.size[b][1] / 2)
            d = _curve([start] + mids + [end])
        else:
            d = f"M{_f(start[0])},{_f(start[1])} L{_f(end[0])},{_f(end[1])}"
        colour, marker = ("#7c3aed", "n") if a in noise else (LINE, "a")
        dash = ' stroke-dasharray="2,3"' if a in noise else ""
        out.append(f'<path class="cdsl-edge" data-source="{html.escape(a)}" data-target="{html.escape(b)}" '
                   f'd="{d}" fill="none" {paint(stroke=colour)} stroke-width="1.4"{dash} '
                   f'marker-end="url(#{uid}-{marker})"/>')
    for a, b, st, ctrl, e in arcs:
        out.append(f'<path class="cdsl-bidirected" data-source="{html.escape(a)}" data-target="{html.escape(b)}" '
                   f'd="M{_f(st[0])},{_f(st[1])} Q{_f(ctrl[0])},{_f(ctrl[1])} {_f(e[0])},{_f(e[1])}" '
                   f'fill="none" {paint(stroke=LINE)} stroke-width="1.3" stroke-dasharray="5,4" '
                   f'marker-start="url(#{uid}-a)" marker-end="url(#{uid}-a)"/>')
    for v in nodes:
        if v not in lay.pos:
            continue
        out.append(_node_svg(v, lay.pos[v], lay.size[v], str(labels.get(v, v)), sublabels.get(v),
                             "do" if v in intervened else "observe" if v in observed else "none",
                             v in latent, v in noise))
    out.append("</g>")
    if leg_items:
        y = height - 8
        x = MARGIN
        for (kind, text), step in zip(leg_items, leg_w):
            fill, stroke, _ = STYLE.get(kind, STYLE["none"])
            if kind == "bi":
                out.append(f'<path d="M{x},{_f(y - 4)} q8,-8 16,0" fill="none" {paint(stroke=LINE)} stroke-dasharray="3,2"/>')
            else:
                dash = ' stroke-dasharray="4,3"' if kind == "latent" else ""
                out.append(f'<rect x="{x}" y="{_f(y - 10)}" width="16" height="11" rx="3" '
                           f'{paint(fill=fill, stroke=stroke)}{dash}/>')
            out.append(f'<text class="cdsl-legend" x="{x + 21}" y="{_f(y)}" font-size="11" {paint(fill=INK2)}>'
                       f'{html.escape(text)}</text>')
            x += step
    out.append("</svg>")
    return "".join(out)


def _node_svg(v: str, pos: tuple, size: tuple, label: str, sublabel: Optional[str], mode: str,
              latent: bool, noise: bool) -> str:
    x, y = pos
    w, h = size
    kind = "noise" if noise else mode if mode != "none" else ("latent" if latent else "none")
    fill, stroke, ink = STYLE[kind]
    dash = ' stroke-dasharray="5,3"' if latent or noise else ""
    flag = ' data-latent="true"' if latent else ""
    parts = [f'<g class="cdsl-node" data-node="{html.escape(v)}" data-mode="{mode}"{flag} style="cursor:pointer">']
    if mode == "do":  # a double border: the mechanism was replaced by a constant
        parts.append(f'<rect x="{_f(x - w / 2 - 3)}" y="{_f(y - h / 2 - 3)}" width="{_f(w + 6)}" '
                     f'height="{_f(h + 6)}" rx="6" fill="none" {paint(stroke=stroke)} stroke-width="1.2"/>')
        parts.append(f'<rect class="cdsl-shape" x="{_f(x - w / 2)}" y="{_f(y - h / 2)}" width="{_f(w)}" '
                     f'height="{_f(h)}" rx="4" {paint(fill=fill, stroke=stroke)} stroke-width="1.6"{dash}/>')
    else:
        parts.append(f'<ellipse class="cdsl-shape" cx="{_f(x)}" cy="{_f(y)}" rx="{_f(w / 2)}" ry="{_f(h / 2)}" '
                     f'{paint(fill=fill, stroke=stroke)} stroke-width="1.5"{dash}/>')
    ty = y + 4.5 if not sublabel else y - 2
    parts.append(f'<text x="{_f(x)}" y="{_f(ty)}" text-anchor="middle" {paint(fill=ink)}>{html.escape(label)}</text>')
    if sublabel:
        parts.append(f'<text class="cdsl-sublabel" x="{_f(x)}" y="{_f(y + 12)}" text-anchor="middle" '
                     f'font-size="10.5" {paint(fill=ink)}>{html.escape(sublabel)}</text>')
    parts.append("</g>")
    return "".join(parts)
