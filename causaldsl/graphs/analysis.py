"""Graph analysis on acyclic directed mixed graphs, in the style of DAGitty.

Pure functions on an :class:`~causaldsl.graphs.admg.ADMG` (a ``networkx.DiGraph`` DAG
or a :class:`DagittyGraph` are accepted too). A bidirected edge ``a <-> b``
stands for an unobserved common cause, i.e. it behaves like ``a <- U -> b``.

* separation: :func:`d_separated`, :func:`open_path`, :func:`format_path`,
  :func:`minimal_d_separator`, :func:`minimal_d_separators`;
* effects: :func:`adjustment_sets`, :func:`is_adjustment_set`, :func:`instruments`;
* testable implications: :func:`implied_independences`;
* neighbourhoods: :func:`markov_blanket`, :func:`ancestors`, :func:`descendants`;
* text formats: :func:`to_dot` (Graphviz); DAGitty's ``dag { ... }`` language is read and
  written by :mod:`causaldsl.graphs.dagitty` (:func:`from_dagitty`, :func:`to_dagitty`, re-exported here).

>>> g = from_dagitty("dag { z -> x -> y ; z -> y ; x [exposure] ; y [outcome] }")
>>> adjustment_sets(g, "x", "y")
[frozenset({'z'})]
>>> format_path(open_path(g, "x", "y", ["z"]))
'x -> y'
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Optional, Union

import networkx as nx

from .admg import ADMG
from .dagitty import DagittyCycleError, DagittyGraph, from_dagitty, to_dagitty

__all__ = [
    "DagittyGraph",
    "DagittyCycleError",
    "d_separated",
    "open_path",
    "format_path",
    "minimal_d_separator",
    "minimal_d_separators",
    "adjustment_sets",
    "is_adjustment_set",
    "instruments",
    "implied_independences",
    "markov_blanket",
    "ancestors",
    "descendants",
    "from_dagitty",
    "to_dagitty",
    "to_dot",
]

Nodes = Union[str, Iterable[str]]


# ---------------------------------------------------------------------------
# Inputs: every function reads its graph as an ADMG
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Confounder:
    """The latent common parent that stands in for a bidirected edge ``a <-> b``."""

    a: Hashable
    b: Hashable


def _edges_at(g: ADMG, v):
    """``(w, head_at_v, head_at_w, token)`` for every edge at ``v``, token read from v to w."""
    for w in g.children(v):
        yield w, False, True, "->"
    for w in g.parents(v):
        yield w, True, False, "<-"
    for w in g.siblings(v):
        yield w, True, True, "<->"


def _as_admg(g) -> ADMG:
    if isinstance(g, DagittyGraph):
        return g.projected()
    adm = ADMG.of(g)
    if not nx.is_directed_acyclic_graph(adm.directed):
        cycle = nx.find_cycle(adm.directed)
        raise ValueError("the graph has a directed cycle: " + " -> ".join(str(a) for a, _ in cycle)
                         + f" -> {cycle[0][0]}")
    return adm


def _graph(g) -> ADMG:
    return _as_admg(g)


def _node_set(gr: ADMG, vs, what: str) -> set:
    """Normalise a node or an iterable of nodes, checking that each is in the graph."""
    if vs is None:
        return set()
    if isinstance(vs, str) or not isinstance(vs, Iterable):
        vs = [vs]
    out = set(vs)
    for v in out:
        if v not in gr.directed:
            raise ValueError(f"unknown {what} node {v!r}; the graph has nodes {sorted(map(str, gr.nodes))}")
    return out


def _disjoint(**sets) -> None:
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = sets[a] & sets[b]
            if common:
                raise ValueError(f"{a} and {b} must be disjoint, both contain {sorted(map(str, common))}")


def _set_key(s) -> tuple:
    names = sorted(map(str, s))
    return (len(names), names)


# ---------------------------------------------------------------------------
# m-separation (Bayes-ball reachability)
# ---------------------------------------------------------------------------


def _search(gr: ADMG, xs: set, ys: set, zs: set, want_path: bool):
    """Breadth-first search over (node, arrived-with-arrowhead) states.

    A walk may leave a node ``v`` it entered with an arrowhead through another
    edge with an arrowhead at ``v`` (``v`` is a collider) only if ``v`` is an
    ancestor of ``zs``; any other way through ``v`` needs ``v`` not in ``zs``.
    Returns the first ``ys`` node reached (with the path when ``want_path``).
    """
    an_z = gr.ancestors(zs)
    start = object()
    pred: dict = {}
    queue: deque = deque()
    for x in xs:
        state = (x, None)
        pred[state] = (start, None)
        queue.append(state)
    while queue:
        state = queue.popleft()
        v, head_in = state
        for w, head_v, head_w, token in _edges_at(gr, v):
            if head_in is not None:
                if head_in and head_v:
                    if v not in an_z:
                        continue
                elif v in zs:
                    continue
            if w in xs:
                continue  # a shorter walk starts at w
            nxt = (w, head_w)
            if nxt in pred:
                continue
            pred[nxt] = (state, token)
            if w in ys:
                if not want_path:
                    return True
                path = [w]
                cur = nxt
                while True:
                    prev, tok = pred[cur]
                    if prev is start:
                        break
                    path.append(tok)
                    path.append(prev[0])
                    cur = prev
                path.reverse()
                # tokens were recorded reading forwards, so only the node order flips
                return path
            queue.append(nxt)
    return None


def d_separated(g, xs: Nodes, ys: Nodes, zs: Nodes = (), *,
                cut_incoming: Nodes = (), cut_outgoing: Nodes = ()) -> bool:
    """True if ``zs`` m-separates ``xs`` from ``ys`` (d-separation when ``g`` is a DAG).

    m-separation (Richardson 2003) treats ``a <-> b`` as ``a <- U -> b`` with an
    unobserved ``U``: a path is open when every collider on it is an ancestor of
    ``zs`` and no other node on it is in ``zs``. Implemented as a Bayes-ball
    reachability search (Shachter 1998), linear in the size of the graph. The
    project's one separation test: graph questions, adjustment and the
    do-calculus of :mod:`causaldsl.graphs.identify` all ask it.

    The do-calculus asks it of a mutilated graph: ``cut_incoming`` removes every
    edge into those nodes (``G_{\\bar X}``, bidirected edges included),
    ``cut_outgoing`` the directed edges out of them (``G_{\\underline Z}``).

    >>> g = ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")])
    >>> d_separated(g, "x", "y", ["m"])
    False
    >>> d_separated(ADMG.from_edges([("x", "m"), ("m", "y")]), "x", "y", ["m"])
    True
    >>> g = ADMG.from_edges([("x", "y")], [("x", "y")])
    >>> d_separated(g, "x", "y", cut_outgoing="x"), d_separated(g, "x", "y", cut_incoming="x", cut_outgoing="x")
    (False, True)
    """
    gr = _graph(g)
    if cut_incoming or cut_outgoing:
        gr = gr.mutilate(_node_set(gr, cut_incoming, "intervened"), _node_set(gr, cut_outgoing, "cut"))
    xs, ys, zs = _node_set(gr, xs, "x"), _node_set(gr, ys, "y"), _node_set(gr, zs, "conditioning")
    _disjoint(xs=xs, ys=ys, zs=zs)
    if not xs or not ys:
        return True
    return not _search(gr, xs, ys, zs, want_path=False)


def open_path(g, xs: Nodes, ys: Nodes, zs: Nodes = ()) -> Optional[list[str]]:
    """A shortest m-connecting path from ``xs`` to ``ys`` given ``zs``, or ``None`` if separated.

    The path alternates nodes and edge tokens read from left to right: ``"->"``,
    ``"<-"`` or ``"<->"``, e.g. ``["x", "<-", "z", "->", "y"]``. A shortest
    connecting walk never repeats a node, so the result is a path.

    >>> g = ADMG.from_edges([("z", "x"), ("z", "y"), ("x", "y")])
    >>> open_path(g, "x", "y", ["z"])
    ['x', '->', 'y']
    >>> format_path(open_path(ADMG.from_edges([("z", "x"), ("z", "y")]), "x", "y"))
    'x <- z -> y'
    >>> open_path(ADMG.from_edges([("z", "x"), ("z", "y")]), "x", "y", ["z"]) is None
    True
    """
    gr = _graph(g)
    xs, ys, zs = _node_set(gr, xs, "x"), _node_set(gr, ys, "y"), _node_set(gr, zs, "conditioning")
    _disjoint(xs=xs, ys=ys, zs=zs)
    if not xs or not ys:
        return None
    return _search(gr, xs, ys, zs, want_path=True)


def format_path(path: Optional[list[str]]) -> str:
    """Join the tokens of :func:`open_path` with spaces (``"(separated)"`` for ``None``).

    >>> format_path(["x", "<->", "y"])
    'x <-> y'
    """
    if path is None:
        return "(separated)"
    return " ".join(str(t) for t in path)


# ---------------------------------------------------------------------------
# Minimal separators in the moral graph of an ancestral set
# ---------------------------------------------------------------------------


def _moral_ancestral(gr: ADMG, targets: set) -> dict:
    """Moral graph of the ancestral set of ``targets`` in the canonical DAG of ``gr``.

    Each bidirected edge ``a <-> b`` becomes a latent parent ``_Confounder(a, b)``.
    For a set ``Z`` inside the ancestral set, ``Z`` m-separates ``X`` and ``Y``
    iff ``Z`` separates them in this undirected graph (Lauritzen et al. 1990).
    """
    anc = gr.ancestors(targets)
    adj: dict = {v: set() for v in anc}

    def link(u, v):
        adj.setdefault(u, set()).add(v)
        adj.setdefault(v, set()).add(u)

    for v in anc:
        parents = list(gr.parents(v))
        for s in gr.siblings(v):
            a, b = sorted((v, s), key=str)
            parents.append(_Confounder(a, b))
        for p in parents:
            link(p, v)
        for i in range(len(parents)):
            for j in range(i + 1, len(parents)):
                link(parents[i], parents[j])
    return adj


_SRC, _DST = _Confounder("<source>", None), _Confounder("<target>", None)


def _contract(adj: dict, xs: set, ys: set) -> Optional[dict]:
    """Merge ``xs`` into one vertex and ``ys`` into another; ``None`` if they touch."""
    def m(u):
        return _SRC if u in xs else _DST if u in ys else u

    out: dict = {_SRC: set(), _DST: set()}
    for u, nb in adj.items():
        mu = m(u)
        s = out.setdefault(mu, set())
        for w in nb:
            mw = m(w)
            if mw is not mu:
                s.add(mw)
    if _DST in out[_SRC]:
        return None
    return out


def _component(adj: dict, start, blocked) -> set:
    seen = {start}
    stack = [start]
    while stack:
        for w in adj[stack.pop()]:
            if w not in seen and w not in blocked:
                seen.add(w)
                stack.append(w)
    return seen


def _neighbourhood(adj: dict, vs: set) -> set:
    return {w for v in vs for w in adj[v] if w not in vs}


def _list_minimal_separators(adj: dict, xs: set, ys: set, allowed: set, limit: Optional[int] = None) -> list:
    """All inclusion-minimal (xs, ys)-separators of ``adj`` that lie inside ``allowed``.

    Kloks & Kratsch (1998) enumeration of minimal a,b-separators, extended with
    forbidden vertices: a vertex outside ``allowed`` that touches the a-side is
    absorbed into it (it can never be part of the separator). A separator inside
    ``allowed`` is minimal among such sets iff it is minimal among all sets,
    because its subsets lie inside ``allowed`` too.
    """
    cadj = _contract(adj, xs, ys)
    if cadj is None:
        return []
    forbidden = {v for v in cadj if v not in allowed and v is not _SRC and v is not _DST}

    def close(a_side: set) -> Optional[set]:
        a_side = set(a_side)
        stack = list(a_side)
        while stack:
            for w in cadj[stack.pop()]:
                if w in a_side:
                    continue
                if w is _DST:
                    return None
                if w in forbidden:
                    a_side.add(w)
                    stack.append(w)
        return a_side

    def near_separator(a_side: set) -> frozenset:
        border = _neighbourhood(cadj, a_side)
        d = _component(cadj, _DST, a_side | border)
        return frozenset(_neighbourhood(cadj, d))

    first = close({_SRC})
    if first is None:
        return []
    s0 = near_separator(first)
    found = [s0]
    seen = {s0}
    queue = deque([s0])
    while queue:
        s = queue.popleft()
        a_comp = _component(cadj, _SRC, s)
        for x in s:
            if _DST in cadj[x]:
                continue
            a_side = close(a_comp | {x})
            if a_side is None:
                continue
            s2 = near_separator(a_side)
            if s2 not in seen:
                seen.add(s2)
                found.append(s2)
                if limit is not None and len(found) >= limit:
                    return found
                queue.append(s2)
    return found


def _nearest_separator(adj: dict, xs: set, ys: set, allowed: set) -> Optional[frozenset]:
    """The minimal separator inside ``allowed`` nearest to ``xs`` (van der Zander et al. 2019)."""
    z1 = {v for v in adj if v in allowed and v not in xs and v not in ys}
    reach = set()
    for x in xs:
        if x not in reach:
            reach |= _component(adj, x, z1 | reach)
    if reach & ys:
        return None
    z2 = _neighbourhood(adj, reach) & z1
    reach_y = set()
    for y in ys:
        if y not in reach_y:
            reach_y |= _component(adj, y, z2 | reach_y)
    return frozenset(_neighbourhood(adj, reach_y) & z2)


def _restriction(gr: ADMG, restrict, exclude: set) -> set:
    allowed = set(gr.nodes) if restrict is None else _node_set(gr, restrict, "allowed")
    return allowed - exclude


def minimal_d_separators(g, xs: Nodes, ys: Nodes, restrict: Optional[Iterable[str]] = None,
                         limit: Optional[int] = None) -> list[frozenset]:
    """Every inclusion-minimal set that m-separates ``xs`` from ``ys``, sorted by size then names.

    Only nodes in ``restrict`` (default: all nodes but ``xs`` and ``ys``) may be
    used. Minimal separators lie in the ancestors of ``xs | ys`` (Tian, Paz &
    Pearl 1998), where m-separation is separation in the moral graph; those are
    enumerated as in van der Zander, Liśkiewicz & Textor (2019), *Separators and
    adjustment sets in causal graphs*, AIJ 270. Empty list when none exists.

    >>> g = ADMG.from_edges([("x", "a"), ("a", "y"), ("x", "b"), ("b", "y")])
    >>> [sorted(s) for s in minimal_d_separators(g, "x", "y")]
    [['a', 'b']]
    """
    gr = _graph(g)
    xs, ys = _node_set(gr, xs, "x"), _node_set(gr, ys, "y")
    _disjoint(xs=xs, ys=ys)
    allowed = _restriction(gr, restrict, xs | ys)
    seps = _list_minimal_separators(_moral_ancestral(gr, xs | ys), xs, ys, allowed, limit)
    return sorted(seps, key=_set_key)


def minimal_d_separator(g, xs: Nodes, ys: Nodes, restrict: Optional[Iterable[str]] = None) -> Optional[frozenset]:
    """One minimal m-separating set (the one nearest to ``xs``), or ``None`` if there is none.

    >>> g = ADMG.from_edges([("a", "b"), ("b", "c"), ("d", "b")])
    >>> minimal_d_separator(g, "a", "c")
    frozenset({'b'})
    """
    gr = _graph(g)
    xs, ys = _node_set(gr, xs, "x"), _node_set(gr, ys, "y")
    _disjoint(xs=xs, ys=ys)
    allowed = _restriction(gr, restrict, xs | ys)
    return _nearest_separator(_moral_ancestral(gr, xs | ys), xs, ys, allowed)


# ---------------------------------------------------------------------------
# Adjustment sets (Pearl's back-door criterion)
# ---------------------------------------------------------------------------


def _exposure_outcome(g, x, y):
    if isinstance(g, DagittyGraph):
        x = g.exposures if x is None else x
        y = g.outcomes if y is None else y
    if x is None or y is None:
        raise ValueError("give the exposure x and the outcome y")
    gr = _graph(g)
    xs, ys = _node_set(gr, x, "exposure"), _node_set(gr, y, "outcome")
    if not xs or not ys:
        raise ValueError("the exposure and the outcome must not be empty")
    _disjoint(exposure=xs, outcome=ys)
    return gr, xs, ys


def is_adjustment_set(g, x: Nodes, y: Nodes, z: Nodes) -> bool:
    """True if ``z`` satisfies Pearl's back-door criterion for the effect of ``x`` on ``y``.

    Back-door criterion (Pearl 2009, *Causality*, Def. 3.3.1, for sets as in
    Sec. 3.3.1): no node of ``z`` is a descendant of ``x``, and ``z`` blocks every
    path between ``x`` and ``y`` that starts with an edge into ``x`` (``<-`` or
    ``<->``), i.e. ``z`` m-separates ``x`` from ``y`` once the edges out of ``x``
    are removed. A set containing ``x`` or ``y`` is not valid.

    >>> m = ADMG.from_edges([("a", "x"), ("a", "m"), ("b", "m"), ("b", "y"), ("x", "y")])
    >>> is_adjustment_set(m, "x", "y", []), is_adjustment_set(m, "x", "y", ["m"])
    (True, False)
    """
    gr, xs, ys = _exposure_outcome(g, x, y)
    zs = _node_set(gr, z, "adjustment")
    if zs & (xs | ys) or zs & gr.descendants(xs):
        return False
    return not _search(gr.mutilate(cut_outgoing=xs), xs, ys, zs, want_path=False)


def adjustment_sets(g, x: Optional[Nodes] = None, y: Optional[Nodes] = None, minimal: bool = True,
                    max_candidates: int = 18) -> list[frozenset]:
    """Back-door adjustment sets for the effect of ``x`` on ``y`` (sets allowed for both).

    With ``minimal=True`` (default): every inclusion-minimal set satisfying the
    back-door criterion (see :func:`is_adjustment_set`). ``[frozenset()]`` means
    no adjustment is needed; ``[]`` means no set of observed nodes works (e.g.
    ``x <-> y``). Minimal sets are the minimal separators of ``x`` and ``y`` in
    the graph without the edges out of ``x``, restricted to non-descendants of
    ``x``; they are listed with polynomial delay (van der Zander, Liśkiewicz &
    Textor 2014, *Constructing separators and adjustment sets in ancestral
    graphs*, UAI; AIJ 2019), so graphs with dozens of nodes are fine.

    With ``minimal=False``: every valid set, by checking all subsets of the
    candidates (refused when there are more than ``max_candidates``).

    For a single exposure these are exactly DAGitty's minimal sufficient
    adjustment sets; with several exposures DAGitty's (more general) adjustment
    criterion can also use descendants of one exposure that lie off the causal
    paths, which the back-door criterion forbids. Sorted by size, then names.
    ``x``/``y`` default to the exposures/outcomes of a :class:`DagittyGraph`.

    >>> g = ADMG.from_edges([("a", "x"), ("a", "z"), ("b", "z"), ("b", "y"), ("z", "x"), ("z", "y"), ("x", "y")])
    >>> [sorted(s) for s in adjustment_sets(g, "x", "y")]
    [['a', 'z'], ['b', 'z']]
    >>> adjustment_sets(ADMG.from_edges([("x", "y")], [("x", "y")]), "x", "y")
    []
    """
    gr, xs, ys = _exposure_outcome(g, x, y)
    allowed = set(gr.nodes) - xs - ys - gr.descendants(xs)
    g_bd = gr.mutilate(cut_outgoing=xs)
    if minimal:
        seps = _list_minimal_separators(_moral_ancestral(g_bd, xs | ys), xs, ys, allowed)
        return sorted(seps, key=_set_key)
    candidates = sorted(allowed, key=str)
    if len(candidates) > max_candidates:
        raise ValueError(f"{len(candidates)} candidate covariates: listing all {2 ** len(candidates)} subsets "
                         f"is too slow (raise max_candidates, or use minimal=True)")
    out = []
    for k in range(len(candidates) + 1):
        for combo in itertools.combinations(candidates, k):
            if not _search(g_bd, xs, ys, set(combo), want_path=False):
                out.append(frozenset(combo))
    return sorted(out, key=_set_key)


# ---------------------------------------------------------------------------
# Instrumental variables
# ---------------------------------------------------------------------------


def instruments(g, x: Optional[str] = None, y: Optional[str] = None) -> list[tuple[str, frozenset]]:
    """(Conditional) instrumental variables for the total effect of ``x`` on ``y``, as DAGitty lists them.

    Definition (Brito & Pearl 2002; van der Zander, Textor & Liśkiewicz 2015,
    *Efficiently finding conditional instruments for causal inference*, IJCAI):
    ``z`` is an instrument given ``W`` when, in the graph ``G'`` where the first
    edge of every causal path from ``x`` to ``y`` is removed,

    1. ``W`` contains no descendant of ``y`` and no mediator (node on a causal path
       from ``x`` to ``y``), and neither ``x`` nor ``y``;
    2. ``W`` m-separates ``z`` from ``y`` in ``G'``;
    3. ``W`` does not m-separate ``z`` from ``x`` in ``G'``.

    DAGitty's ``instrumentalVariables`` (``GraphAnalyzer.conditionalInstruments``)
    lists the *ancestral* instruments, where ``W`` lies among the ancestors of
    ``{y, z}`` in ``G'``; for each candidate ``z`` it tries one ``W``: the
    minimal separator of ``y`` and ``z`` nearest to ``y``, which works whenever
    any ancestral ``W`` does (van der Zander et al. 2015). This function does the
    same, so it returns exactly the ancestral instruments, each with that
    minimal ``W``. Whenever some conditional instrument exists, an ancestral one
    exists too (same paper), so the list is empty only when no conditional
    instrument exists, though a particular conditional instrument may be missing.
    Bidirected edges are latent common causes; unconditional instruments come
    with an empty set. Sorted by name.

    >>> instruments(from_dagitty("dag { i -> x -> y ; x <-> y }"), "x", "y")
    [('i', frozenset())]
    >>> instruments(from_dagitty("dag { i -> x -> y ; x <-> y ; y <- z -> i }"), "x", "y")
    [('i', frozenset({'z'}))]
    """
    if isinstance(g, DagittyGraph):
        if x is None and len(g.exposures) == 1:
            x = next(iter(g.exposures))
        if y is None and len(g.outcomes) == 1:
            y = next(iter(g.outcomes))
    if x is None or y is None or not isinstance(x, str) or not isinstance(y, str):
        raise ValueError("instruments need exactly one exposure x and one outcome y (node names)")
    gr = _graph(g)
    _node_set(gr, [x], "exposure")
    _node_set(gr, [y], "outcome")
    if x == y:
        raise ValueError("the exposure and the outcome must differ")
    an_y = gr.ancestors([y])
    de_x = gr.descendants([x])
    g_bd = ADMG(gr.directed.copy(), gr.bidirected)
    g_bd.directed.remove_edges_from([(x, w) for w in gr.children(x) if w in an_y])
    mediators = (de_x & an_y) - {x, y}
    de_y = g_bd.descendants([y])
    allowed = set(gr.nodes) - mediators - {y}
    out = []
    for z in gr.nodes:
        if z in (x, y):
            continue
        w = _nearest_separator(_moral_ancestral(g_bd, {y, z}), {y}, {z}, allowed - {z})
        if w is None or w & de_y or x in w:
            continue
        if _search(g_bd, {x}, {z}, set(w), want_path=False):
            out.append((z, w))
    return sorted(out, key=lambda t: str(t[0]))


# ---------------------------------------------------------------------------
# Testable implications
# ---------------------------------------------------------------------------


def implied_independences(g, max_per_pair: Optional[int] = None) -> list[tuple[str, str, frozenset]]:
    """The conditional independences DAGitty lists as testable implications ("missing.edge").

    Definition (DAGitty's ``impliedConditionalIndependencies(type="missing.edge")``,
    ``GraphAnalyzer.listMinimalImplications``): for every pair of non-adjacent
    observed nodes ``a, b``, one statement ``a _||_ b | Z`` for *each* minimal set
    ``Z`` that m-separates them (DAGitty enumerates them with
    ``listMinimalSeparators`` in the moral graph of the ancestors of ``{a, b}``).
    Pairs that no set separates (non-adjacent through an inducing path in an
    ADMG) are skipped. ``max_per_pair=1`` keeps only the first (smallest) set of
    each pair. Triples ``(a, b, Z)`` have ``a < b``; sorted by ``a``, ``b``, then
    size and names of ``Z``.

    >>> g = from_dagitty("dag { Z -> X -> Y ; Z -> I ; X -> I -> Y }")
    >>> [(a, b, sorted(z)) for a, b, z in implied_independences(g)]
    [('Y', 'Z', ['I', 'X'])]
    """
    gr = _graph(g)
    order = sorted(gr.nodes, key=str)
    out = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if gr.adjacent(a, b):
                continue
            allowed = set(gr.nodes) - {a, b}
            seps = _list_minimal_separators(_moral_ancestral(gr, {a, b}), {a}, {b}, allowed)
            seps = sorted(seps, key=_set_key)
            if max_per_pair is not None:
                seps = seps[:max_per_pair]
            out.extend((a, b, s) for s in seps)
    return out


# ---------------------------------------------------------------------------
# Neighbourhoods
# ---------------------------------------------------------------------------


def markov_blanket(g, v: str) -> set[str]:
    """The Markov blanket of ``v``: every node joined to ``v`` by a collider path.

    In a DAG that is parents, children and the children's other parents. In an
    ADMG it is the district-based generalisation (Richardson 2003; Pellet &
    Elisseeff 2008, JMLR 9): ``pa(v) | dis(v) | pa(dis(v)) | ch(v) | dis(ch(v)) |
    pa(dis(ch(v)))`` without ``v``, where ``dis`` is the bidirected-connected
    component (district). ``v`` is m-separated from all other nodes given it.

    >>> sorted(markov_blanket(ADMG.from_edges([("a", "v"), ("v", "c"), ("b", "c"), ("c", "d")]), "v"))
    ['a', 'b', 'c']
    >>> sorted(markov_blanket(ADMG.from_edges([("p", "s")], [("v", "s")], nodes=["v"]), "v"))
    ['p', 's']
    """
    gr = _graph(g)
    _node_set(gr, [v], "Markov blanket")

    def district(u):
        seen, stack = {u}, [u]
        while stack:
            for w in gr.siblings(stack.pop()):
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        return seen

    out = set(gr.parents(v))
    for start in [v, *gr.children(v)]:
        d = district(start)
        out |= d
        for u in d:
            out |= gr.parents(u)
    out.discard(v)
    return out


def ancestors(g, vs: Nodes, proper: bool = False) -> set[str]:
    """``vs`` and all their ancestors (without ``vs`` when ``proper``), like DAGitty.

    >>> sorted(ancestors(ADMG.from_edges([("a", "b"), ("b", "c")]), "b"))
    ['a', 'b']
    """
    gr = _graph(g)
    vs = _node_set(gr, vs, "start")
    out = gr.ancestors(vs)
    return out - vs if proper else out


def descendants(g, vs: Nodes, proper: bool = False) -> set[str]:
    """``vs`` and all their descendants (without ``vs`` when ``proper``).

    >>> sorted(descendants(ADMG.from_edges([("a", "b"), ("b", "c")]), "b", proper=True))
    ['c']
    """
    gr = _graph(g)
    vs = _node_set(gr, vs, "start")
    out = gr.descendants(vs)
    return out - vs if proper else out


def _dot_id(v) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g, latents: Iterable[str] = (), intervened: Iterable[str] = (), mutilate: bool = True) -> str:
    """Graphviz DOT text for ``g``.

    Latent nodes are dashed ellipses, bidirected edges dashed with ``dir=both``,
    intervened nodes drawn as double boxes; with ``mutilate`` (default) the edges
    into intervened nodes are left out, as in the graph of ``do(...)``.

    >>> print(to_dot(ADMG.from_edges([("x", "y")], [("x", "y")]), intervened=["x"]))
    digraph {
      "x" [shape=box, peripheries=2];
      "y";
      "x" -> "y";
    }
    """
    if isinstance(g, DagittyGraph):
        latents = set(latents) | g.latents
        adm = g.admg
    else:
        adm = ADMG.of(g)
    latents, intervened = set(latents), set(intervened)
    nodes = list(adm.directed.nodes)
    for name, vs in (("latent", latents), ("intervened", intervened)):
        missing = vs - set(nodes)
        if missing:
            raise ValueError(f"{name} nodes not in the graph: {sorted(map(str, missing))}")
    lines = ["digraph {"]
    for v in nodes:
        attrs = []
        if v in intervened:
            attrs += ["shape=box", "peripheries=2"]
        if v in latents:
            attrs.append("style=dashed")
        lines.append(f"  {_dot_id(v)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    for a, b in adm.directed.edges:
        if mutilate and b in intervened:
            continue
        lines.append(f"  {_dot_id(a)} -> {_dot_id(b)};")
    index = {v: i for i, v in enumerate(nodes)}
    for a, b in sorted((tuple(sorted(e, key=index.__getitem__)) for e in adm.bidirected),
                       key=lambda e: (index[e[0]], index[e[1]])):
        if mutilate and (a in intervened or b in intervened):
            continue
        lines.append(f"  {_dot_id(a)} -> {_dot_id(b)} [style=dashed, dir=both];")
    lines.append("}")
    return "\n".join(lines)
