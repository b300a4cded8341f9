"""Identification of counterfactual queries: Shpitser & Pearl's ID* and IDC*.

A counterfactual query asks about variables in several worlds at once, e.g. the
effect of treatment on the treated ``P(Y[X = 1] = 1 | X = 0)``: ``Y`` in the
world where ``X`` is set to 1, among units whose actual ``X`` is 0. Whether such a
quantity is a function of the observed distribution ``P(V)`` (and, where allowed,
of interventional distributions ``P(· | do(·))``) is decided by

* ``make-cg`` (Shpitser & Pearl 2007, "What counterfactuals can be tested", UAI,
  Sec. 3; 2008, "Complete identification methods for the causal hierarchy", JMLR 9,
  Fig. 5 and Lemma 24): the *parallel worlds graph* (one copy of the graph per
  world, sharing the exogenous noise) with nodes merged when they are provably the
  same random variable, cut to the ancestors of the query: the *counterfactual
  graph*;
* ``ID*`` (2008, Fig. 7) for a conjunction of counterfactual events, and ``IDC*``
  (2008, Fig. 8) for a conditional one. Both are complete (2008, Thms. 26, 31):
  when they fail, the query is not identifiable from the set ``P_*`` of all
  interventional distributions, let alone from ``P(V)``.

The code follows the R package cfid (Tikka 2023, "Identifying counterfactual
queries with the R package cfid", The R Journal 15/2), whose implementation choices
(ordering of the lines, world order, merging rule for an intervened node and an
observed one with equal values) it shares, so that verdicts agree.

Three places depart from a literal reading of cfid's code; each was found by a random test
against models' exact counterfactual answers and is pinned by a test: IDC* line 4 tests the
independence given the rest of ``δ'`` (rule 2 of the do-calculus needs it); IDC* line 5
divides by ``P(δ)`` as asked, not by ``δ'`` merged under what ``γ`` observes; ID* line 6 sets
every node outside a district that can reach it, so that the district lives in one world.

ID* returns a formula over interventional terms ``P(y | do(x))``. Each term is then
expressed through the observed joint by the ID algorithm of
:mod:`causaldsl.graphs.identify` (``data="observations"``), kept as an experimental
distribution (``data="interventions"``), or the first where possible and the second
otherwise (``data="both"``, the default), as cfid's ``data`` argument does.

>>> from causaldsl.graphs.admg import ADMG
>>> g = ADMG.from_edges([("Z", "X"), ("Z", "Y"), ("X", "Y")])
>>> est = identify_counterfactual(g, [(("Y", (("X", 1),)), 1)], [(("X", ()), 0)])
>>> est.identifiable, est.rule
(True, 'IDC*')
>>> print(est.text)
Σ_z P(Y = 1 | X = 1, Z = z) P(Z = z | X = 0)
>>> pns = identify_counterfactual(ADMG.from_edges([("X", "Y")]),
...                               [(("Y", (("X", 1),)), 1), (("Y", (("X", 0),)), 0)])
>>> pns.identifiable
False
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional, Sequence

import networkx as nx
import numpy as np

from .admg import ADMG
from ..language.errors import MethodError, QueryError, UnknownNameError, ZeroProbabilityError, did_you_mean
from .estimand import (Estimand, Expr, Prob, simplify, Sum as ESum, Product as EProduct, Fraction as EFraction,
                       render_text, render_latex, _DRAW, _per_draw)

__all__ = ["CfVar", "Sym", "CounterfactualGraph", "make_cg", "id_star", "idc_star", "identify_counterfactual",
           "CounterfactualEstimand", "DATA_MODES"]

DATA_MODES = ("observations", "interventions", "both")


# ------------------------------------------------------------------------------ counterfactual terms

@dataclass(frozen=True, order=True)
class Sym:
    """A summation variable: the unknown value of a counterfactual node that the
    query does not fix (``Σ_z``). ``var`` is the variable it is a value of."""

    var: str
    uid: int

    def __repr__(self) -> str:
        return f"Sym({self.var!r}, {self.uid})"


def _val_text(v) -> str:
    if isinstance(v, Sym):
        return v.var.lower()  # a summed value, named after its variable
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


@dataclass(frozen=True, order=True)
class CfVar:
    """A counterfactual variable ``var`` in the world ``do(sub)``: ``Y[X = 1]`` is
    ``CfVar("Y", (("X", 1),))``; an observed (factual) variable has ``sub == ()``.
    ``sub`` is kept sorted by name, so equal variables compare equal.

    >>> CfVar("Y", (("X", 1), ("A", 0))).sub
    (('A', 0), ('X', 1))
    >>> str(CfVar("Y", (("X", 1),)))
    'Y[X = 1]'
    """

    var: str
    sub: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "sub", tuple(sorted(dict(self.sub).items(), key=lambda kv: kv[0])))

    def __str__(self) -> str:
        if not self.sub:
            return self.var
        return f"{self.var}[{', '.join(f'{k} = {_val_text(v)}' for k, v in self.sub)}]"


Event = tuple  # (CfVar, value)


def _event(e) -> Event:
    """An event from ``(CfVar, value)`` or ``((var, sub), value)``."""
    cv, val = e
    if not isinstance(cv, CfVar):
        name, sub = cv
        cv = CfVar(name, tuple(sub))
    return cv, val


def _restrict(g: ADMG, cv: CfVar) -> CfVar:
    """Drop subscripts that are not ancestors of the variable: ``Y[X = x, W = w] = Y[X = x]``
    when ``W`` cannot reach ``Y`` (exclusion restriction; Pearl 2009, Causality, 7.3.1)."""
    an = g.ancestors([cv.var])
    return CfVar(cv.var, tuple((k, v) for k, v in cv.sub if k in an))


# ------------------------------------------------------------------------------ counterfactual graph

@dataclass
class CounterfactualGraph:
    """The counterfactual graph ``G'`` of a conjunction ``γ`` (Shpitser & Pearl 2008, Def. 23).

    ``nodes``: the observable nodes (:class:`CfVar`); ``fixed``: node -> value for nodes an
    intervention sets (constants, no parents); ``edges``: directed edges between nodes;
    ``latents``: name -> frozenset of children (the shared noise ``U_V`` of each variable,
    and one per ``<->`` edge of the graph), only those with two or more children;
    ``events``: ``γ'``, node -> value, the conjunction with merged nodes renamed.
    """

    # Draws SVG (causaldsl.notebook.drawing.draw_graph); set by the face that draws, as graphs never
    # import a face.
    painter: ClassVar[Optional[Callable]] = None
    nodes: list
    fixed: dict
    edges: list
    latents: dict
    events: dict

    def parents(self, n: CfVar) -> list:
        return [a for a, b in self.edges if b == n]

    def digraph(self, with_latents: bool = True) -> nx.DiGraph:
        d = nx.DiGraph()
        d.add_nodes_from(self.nodes)
        d.add_edges_from(self.edges)
        if with_latents:
            for u, ch in self.latents.items():
                d.add_edges_from((u, c) for c in ch)
        return d

    def districts(self) -> list:
        """The C-components of the non-fixed nodes (joined by shared latent parents), in node order."""
        b = nx.Graph()
        free = [n for n in self.nodes if n not in self.fixed]
        b.add_nodes_from(free)
        for ch in self.latents.values():
            ch = [c for c in ch if c in b]
            b.add_edges_from(zip(ch, ch[1:]))
        rank = {n: i for i, n in enumerate(self.nodes)}
        comps = [sorted(c, key=rank.__getitem__) for c in nx.connected_components(b)]
        return sorted(comps, key=lambda c: rank[c[0]])

    @property
    def text(self) -> str:
        """The graph as lines of text: nodes (with their values), edges, shared noise."""
        def node(n):
            if n in self.fixed:
                return f"{n} := {_val_text(self.fixed[n])}"
            if n in self.events:
                return f"{n} = {_val_text(self.events[n])}"
            return str(n)
        lines = ["nodes: " + ", ".join(node(n) for n in self.nodes)]
        if self.edges:
            lines.append("edges: " + ", ".join(f"{a} -> {b}" for a, b in self.edges))
        shared = [sorted(str(c) for c in ch) for ch in self.latents.values()]
        if shared:
            lines.append("shared noise: " + ", ".join(" <-> ".join(s) for s in sorted(shared)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def svg(self, title: str = "counterfactual graph") -> str:
        """The graph drawn by :func:`causaldsl.notebook.drawing.draw_graph` (SVG text)."""
        draw_graph = CounterfactualGraph.painter
        names = {n: str(n) for n in self.nodes}
        labels = {names[n]: names[n] for n in self.nodes}
        sub = {}
        for n in self.nodes:
            if n in self.fixed:
                sub[names[n]] = f"set to {_val_text(self.fixed[n])}"
            elif n in self.events:
                sub[names[n]] = f"= {_val_text(self.events[n])}"
        bi = set()
        for ch in self.latents.values():
            for a, b in itertools.combinations(sorted(names[c] for c in ch), 2):
                bi.add((a, b))
        return draw_graph([names[n] for n in self.nodes], [(names[a], names[b]) for a, b in self.edges],
                          bidirected=sorted(bi), intervened=[names[n] for n in self.fixed],
                          observed=[names[n] for n in self.events if n not in self.fixed],
                          labels=labels, sublabels=sub, title=title)


class _UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, a):
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the lower world index represents the class (as cfid's "replacement")
            lo, hi = sorted((ra, rb), key=lambda n: n[1])
            self.parent[hi] = lo


def make_cg(g: ADMG, gamma: Sequence[Event]) -> Optional[tuple]:
    """Shpitser & Pearl's make-cg (2008, Fig. 5): ``(G', γ', node_of)`` or ``None`` when
    ``γ`` is inconsistent (two merged nodes observed at different values).

    ``node_of`` maps each event's :class:`CfVar` to its node in ``G'``.

    >>> g = ADMG.from_edges([("X", "Y")])
    >>> cg, ev, _ = make_cg(g, [(CfVar("Y", (("X", 1),)), 1), (CfVar("X"), 0)])
    >>> print(cg.text)
    nodes: X[X = 1] := 1, Y[X = 1] = 1, X = 0
    edges: X[X = 1] -> Y[X = 1]
    """
    gamma = [_event(e) for e in gamma]
    order = g.topological_order()
    # line 1: the parallel worlds graph, one world per distinct subscript of γ
    worlds = list(dict.fromkeys(cv.sub for cv, _ in gamma))
    subs = [dict(w) for w in worlds]
    observed: dict = {}
    for cv, val in gamma:
        key = (cv.var, worlds.index(cv.sub))
        if key in observed and observed[key] != val:
            return None
        observed[key] = val

    def value(v, w):
        return subs[w][v] if v in subs[w] else observed.get((v, w))

    # line 2: merge nodes in topological order by Lemma 24: same variable, parents equal
    # in value (the same node, or fixed/observed at equal values), shared noise
    same = _UnionFind()      # nodes that are one random variable
    equal = _UnionFind()     # nodes known to take the same value
    for v in order:
        for a, b in itertools.combinations(range(len(worlds)), 2):
            fa, fb = v in subs[a], v in subs[b]
            va, vb = value(v, a), value(v, b)
            if fa or fb:
                if va is not None and vb is not None and _same_value(va, vb):
                    equal.union((v, a), (v, b))
                    if fa and fb:
                        same.union((v, a), (v, b))
                continue
            if all(equal.find((p, a)) == equal.find((p, b)) for p in g.parents(v)):
                if va is not None and vb is not None and not _same_value(va, vb):
                    return None
                equal.union((v, a), (v, b))
                same.union((v, a), (v, b))

    def label(v, w) -> CfVar:
        r = same.find((v, w))
        return _restrict(g, CfVar(r[0], worlds[r[1]]))

    nodes, fixed, edges, noise, events = [], {}, set(), {}, {}
    for w in range(len(worlds)):
        for v in order:
            n = label(v, w)
            if n not in nodes:
                nodes.append(n)
            if v in subs[w]:
                fixed[n] = subs[w][v]
                continue
            for p in g.parents(v):
                edges.add((label(p, w), n))
            noise.setdefault(f"U[{v}]", set()).add(n)
            for e in g.bidirected:
                if v in e:
                    noise.setdefault("U[" + "<->".join(sorted(e)) + "]", set()).add(n)
    node_of = {}
    for cv, val in gamma:
        n = label(cv.var, worlds.index(cv.sub))
        node_of[cv] = n
        if n in fixed:
            continue  # a tautology X[X = x] = x, removed before make-cg is called
        if n in events and not _same_value(events[n], val):
            return None
        events[n] = val
    # line 3: keep the ancestors of γ' only
    d = nx.DiGraph()
    d.add_nodes_from(nodes)
    d.add_edges_from(edges)
    keep = set(events)
    for n in list(keep):
        keep |= nx.ancestors(d, n)
    nodes = [n for n in nodes if n in keep]
    edges = sorted(((a, b) for a, b in edges if a in keep and b in keep), key=lambda e: (nodes.index(e[1]), nodes.index(e[0])))
    latents = {}
    for u, ch in noise.items():
        ch = frozenset(c for c in ch if c in keep and c not in fixed)
        if len(ch) >= 2:
            latents[u] = ch
    cg = CounterfactualGraph(nodes, {n: fixed[n] for n in nodes if n in fixed}, edges, latents, events)
    return cg, events, node_of


def _same_value(a, b) -> bool:
    if isinstance(a, Sym) or isinstance(b, Sym):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


# ------------------------------------------------------------------------------ formulas over P_*

@dataclass(frozen=True)
class Term:
    """``P(events | do(do))``: an interventional distribution at fixed or summed values.

    ``events``/``do``: tuples of ``(variable, value)`` (value a constant or a :class:`Sym`).
    ``estimand``: the :class:`~causaldsl.graphs.estimand.Estimand` of ``P(events | do(do))`` over
    the observed joint when ID identified it, else ``None`` (an experimental term).
    """

    events: tuple
    do: tuple = ()
    estimand: Optional[Estimand] = None


@dataclass(frozen=True)
class CSum:
    over: tuple  # of Sym
    body: Any


@dataclass(frozen=True)
class CProduct:
    factors: tuple


@dataclass(frozen=True)
class CFraction:
    num: Any
    den: Any


@dataclass(frozen=True)
class CConst:
    value: float


ZERO, ONE = CConst(0.0), CConst(1.0)


class _Fail(Exception):
    """ID* line 8 / IDC*: the query is not identifiable; ``reason`` says why."""

    def __init__(self, reason: str, graph: Optional[CounterfactualGraph] = None):
        super().__init__(reason)
        self.reason, self.graph = reason, graph


class _Undefined(Exception):
    """IDC* line 1: the conditioning event has probability 0 in every model."""


class _Symbols:
    def __init__(self):
        self.n = 0

    def new(self, var: str) -> Sym:
        self.n += 1
        return Sym(var, self.n)


def _product(factors: list):
    fs = []
    for f in factors:
        if f == ONE:
            continue
        if f == ZERO:
            return ZERO
        fs.extend(f.factors if isinstance(f, CProduct) else [f])
    if not fs:
        return ONE
    return fs[0] if len(fs) == 1 else CProduct(tuple(fs))


def id_star(g: ADMG, gamma: Sequence[Event], symbols: Optional[_Symbols] = None):
    """ID* (Shpitser & Pearl 2008, Fig. 7): ``P(γ)`` as a formula over interventional terms.

    Returns a formula tree (:class:`CSum`, :class:`CProduct`, :class:`Term`, :class:`CConst`);
    raises ``_Fail`` (line 8) when ``P(γ)`` is not identifiable from ``P_*``.

    >>> g = ADMG.from_edges([("X", "Y")])
    >>> id_star(g, [(CfVar("Y", (("X", 1),)), 1)])
    Term(events=(('Y', 1),), do=(('X', 1),), estimand=None)
    """
    symbols = symbols or _Symbols()
    gamma = [(_restrict(g, cv), val) for cv, val in map(_event, gamma)]
    # line 2 (first, as cfid): x[x'] with x != x' is impossible
    for cv, val in gamma:
        s = dict(cv.sub)
        if cv.var in s and not _same_value(s[cv.var], val):
            return ZERO
    # line 3: x[x] = x always holds
    gamma = [(cv, val) for cv, val in gamma if cv.var not in dict(cv.sub)]
    # line 1
    if not gamma:
        return ONE
    # line 4
    made = make_cg(g, gamma)
    # line 5
    if made is None:
        return ZERO
    cg, events, _ = made
    comps = cg.districts()
    sym = {n: symbols.new(n.var) for n in cg.nodes if n not in cg.fixed and n not in events}

    def value(n):
        return cg.fixed[n] if n in cg.fixed else events.get(n, sym.get(n))

    # line 6: one factor per district S, every other node of G' set to its value
    if len(comps) > 1:
        factors = []
        d_all = cg.digraph(with_latents=False)
        for S in comps:
            conj = []
            for n in S:
                # s_{v(G') \ s}: every node outside S that can reach n is set to its value, so
                # that all of S lives in one intervened world (parents alone would leave an
                # S-parent's own ancestors free in n's world, and the recursion would not end)
                sub = dict(n.sub)
                outside = [a for a in cg.nodes if a in nx.ancestors(d_all, n) and a not in S]
                for a in sorted(outside, key=lambda a: a not in cg.parents(n)):  # parents first
                    sub.setdefault(a.var, value(a))
                conj.append((CfVar(n.var, tuple(sub.items())), value(n)))
            f = id_star(g, conj, symbols)
            if f == ZERO:
                return ZERO
            factors.append(f)
        body = _product(factors)
        over = tuple(sym[n] for n in cg.nodes if n in sym)
        return CSum(over, body) if over else body
    # line 7: G' is one district S
    S = comps[0]
    d = cg.digraph(with_latents=False)
    sub: dict = {}
    for n in S:
        an_vars = {a.var for a in nx.ancestors(d, n)}
        for k, v in n.sub:
            if k in an_vars:
                sub.setdefault(k, []).append(v)
    # line 8: a variable set to x somewhere in S and to, or seen at, x' elsewhere in S
    for k, vs in sub.items():
        if any(not _same_value(vs[0], v) for v in vs[1:]):
            raise _Fail(f"in the counterfactual graph, {{{', '.join(str(n) for n in S)}}} is one district "
                        f"(its members share unobserved causes) and it sets {k} to different values "
                        f"({', '.join(_val_text(v) for v in dict.fromkeys(vs))}), so the query is not identifiable even from "
                        f"every interventional distribution (Shpitser & Pearl 2008, Thm. 26)", cg)
        for n in S:
            if n.var == k and not _same_value(value(n), vs[0]):
                seen = "summed over" if isinstance(value(n), Sym) else f"seen at {_val_text(value(n))}"
                raise _Fail(f"in the counterfactual graph, {n} and the nodes set by {k} = {_val_text(vs[0])} "
                            f"are one district (they share unobserved causes), and {n} is {seen}: "
                            f"the same unit's {k} would have to be {_val_text(vs[0])} and another value at once, so the query "
                            f"is not identifiable (Shpitser & Pearl 2008, Thm. 26)", cg)
    ev: dict = {}
    for n in S:
        if n in events:
            if n.var in ev and not _same_value(ev[n.var], events[n]):
                return ZERO  # one unit's variable at two values under the same intervention
            ev[n.var] = events[n]
    # line 9: P_x(var(S)), x the settings of variables outside S: a variable of S that some
    # subscript also sets (at the same value, by line 8) stays an event, by composition
    # (V1[V0 = 1] = 0 and V2[V0 = 1, V1 = 0] = 1 is V1[V0 = 1] = 0 and V2[V0 = 1] = 1; cfid
    # likewise keeps the subscripts on ancestors of var(S) that are not in var(S))
    in_s = {n.var for n in S}
    do = {k: vs[0] for k, vs in sub.items() if k not in in_s}
    if not ev:
        return ONE
    return Term(tuple(ev.items()), tuple(sorted(do.items())))


def idc_star(g: ADMG, gamma: Sequence[Event], delta: Sequence[Event], symbols: Optional[_Symbols] = None):
    """IDC* (Shpitser & Pearl 2008, Fig. 8): ``P(γ | δ)`` as a formula over interventional terms.

    Raises ``_Fail`` when not identifiable and ``_Undefined`` when ``P(δ) = 0``.

    >>> g = ADMG.from_edges([("X", "Y")])
    >>> f = idc_star(g, [(CfVar("Y", (("X", 1),)), 1)], [(CfVar("X"), 0)])
    >>> f.events, f.do
    ((('Y', 1),), (('X', 1),))
    """
    symbols = symbols or _Symbols()
    gamma = [(_restrict(g, cv), v) for cv, v in map(_event, gamma)]
    delta = [(_restrict(g, cv), v) for cv, v in map(_event, delta)]
    delta = [(cv, v) for cv, v in delta if not (cv.var in dict(cv.sub) and _same_value(dict(cv.sub)[cv.var], v))]
    if not delta:
        return id_star(g, gamma, symbols)
    # line 1
    try:
        if id_star(g, delta, symbols) == ZERO:
            raise _Undefined()
    except _Fail:
        pass
    # line 2
    made = make_cg(g, gamma + delta)
    # line 3
    if made is None:
        return ZERO
    cg, events, node_of = made
    g_nodes = list(dict.fromkeys(node_of[cv] for cv, _ in gamma))
    gamma2 = [(node_of[cv], v) for cv, v in gamma]
    delta2 = [(node_of[cv], v) for cv, v in delta]
    # line 4: an observation that is independent of γ' once its own effects are cut
    # becomes an intervention (rule 2 of the do-calculus in G')
    full = cg.digraph(with_latents=True)
    for i, (n, y) in enumerate(delta2):
        if n in cg.fixed or n in g_nodes:
            continue
        cut = full.copy()
        cut.remove_edges_from(list(cut.out_edges(n)))
        # given the rest of δ' (rule 2 needs it: conditioning on a shared-noise sibling in δ'
        # opens the path through the noise; a random stress test found P(V1 | V3[..] = 0, V3[..] = 1))
        rest = {m for j, (m, _) in enumerate(delta2) if j != i and m != n}
        if nx.is_d_separator(cut, {n}, set(g_nodes), (set(cg.fixed) | rest) - {n} - set(g_nodes)):
            moved = [(CfVar(m.var, m.sub if n.var in dict(m.sub) else m.sub + ((n.var, y),)), v) for m, v in gamma2]
            return idc_star(g, moved, delta2[:i] + delta2[i + 1:], symbols)
    # line 5
    num = id_star(g, gamma2 + delta2, symbols)
    if num == ZERO:
        return ZERO
    # P'(δ) = Σ_γ P(γ ∧ δ) = P(δ), from δ as given at this level: not from δ', whose nodes may
    # have been merged by what γ observes (Y[X = 0] is Y only where X = 0 is seen).
    # A factual δ is a marginal of P(V) as it stands.
    den = Term(tuple(dict((n.var, v) for n, v in delta).items())) if all(not n.sub for n, _ in delta) \
        else id_star(g, delta, symbols)
    return CFraction(num, den)


# ------------------------------------------------------------------------------ terms through ID

def _terms(f) -> list:
    if isinstance(f, Term):
        return [f]
    if isinstance(f, CSum):
        return _terms(f.body)
    if isinstance(f, CProduct):
        return [t for x in f.factors for t in _terms(x)]
    if isinstance(f, CFraction):
        return _terms(f.num) + _terms(f.den)
    return []


def _map_terms(f, fn):
    if isinstance(f, Term):
        return fn(f)
    if isinstance(f, CSum):
        return CSum(f.over, _map_terms(f.body, fn))
    if isinstance(f, CProduct):
        return CProduct(tuple(_map_terms(x, fn) for x in f.factors))
    if isinstance(f, CFraction):
        return CFraction(_map_terms(f.num, fn), _map_terms(f.den, fn))
    return f


def _through_id(g: ADMG, f, data: str):
    """Each term ``P(y | do(x))`` as a formula of the observed joint (ID), per ``data``."""
    from .identify import identify

    def one(t: Term) -> Term:
        if data == "interventions" and t.do:
            return t
        ys = tuple(k for k, _ in t.events)
        xs = tuple(k for k, _ in t.do)
        est = identify(g, ys, xs)
        if not est.identifiable:
            if data == "both":
                return t
            raise _Fail(f"the factor {_term_text(t, {})} is not identified from the observed distribution "
                        f"({est.reason}); it would need an experiment (data = \"interventions\" or \"both\")")
        return replace(t, estimand=est)

    return _map_terms(f, one)


# ------------------------------------------------------------------------------ rendering

def _sym_names(f, taken: Iterable[str]) -> dict:
    """Readable names for the summation variables: ``z``, ``z'``, ... (never a variable's name)."""
    names, used = {}, set(taken)
    syms = []

    def walk(x):
        if isinstance(x, CSum):
            syms.extend(x.over)
            walk(x.body)
        elif isinstance(x, CProduct):
            for y in x.factors:
                walk(y)
        elif isinstance(x, CFraction):
            walk(x.num)
            walk(x.den)
        elif isinstance(x, Term):
            for _, v in x.events + x.do:
                if isinstance(v, Sym):
                    syms.append(v)
    walk(f)
    for s in dict.fromkeys(syms):
        name = s.var.lower()
        while name in used:
            name += "'"
        used.add(name)
        names[s] = name
    return names


def _v(v, names: dict) -> str:
    return names[v] if isinstance(v, Sym) else _val_text(v)


def _term_text(t: Term, names: dict, latex: bool = False) -> str:
    if t.estimand is not None:
        rename = {k: f"{k} = {_v(v, names)}" for k, v in t.events + t.do}
        e = _rename(t.estimand.formula, rename)
        return render_latex(e) if latex else render_text(e)
    ev = ", ".join(f"{k} = {_v(v, names)}" for k, v in t.events)
    if not t.do:
        return f"P({ev})"
    do = ", ".join(f"{k} = {_v(v, names)}" for k, v in t.do)
    if latex:
        return rf"P({ev} \mid \mathrm{{do}}({do}))"
    return f"P({ev} | do({do}))"


def _rename(e: Expr, m: dict) -> Expr:
    """``e`` with free variables renamed by ``m`` (a ``Sum`` shadows the names it binds)."""
    if isinstance(e, Prob):
        return Prob(tuple(m.get(v, v) for v in e.vars), tuple(m.get(v, v) for v in e.given))
    if isinstance(e, ESum):
        inner = {k: v for k, v in m.items() if k not in e.over}
        return ESum(e.over, _rename(e.body, inner))
    if isinstance(e, EProduct):
        return EProduct(tuple(_rename(f, m) for f in e.factors))
    if isinstance(e, EFraction):
        return EFraction(_rename(e.num, m), _rename(e.den, m))
    raise TypeError(e)


def render(f, names: dict, latex: bool = False) -> str:
    """The formula as text (or LaTeX)."""
    if isinstance(f, CConst):
        return _val_text(f.value)
    if isinstance(f, Term):
        return _term_text(f, names, latex)
    if isinstance(f, CSum):
        over = ", ".join(names[s] for s in f.over)
        return (rf"\sum_{{{over}}} " if latex else f"Σ_{over} ") + render(f.body, names, latex)
    if isinstance(f, CProduct):
        plain = [x for x in f.factors if not isinstance(x, CSum)]
        sums = [x for x in f.factors if isinstance(x, CSum)]
        parts = [render(x, names, latex) for x in plain + sums]
        parts = [p if isinstance(x, (Term, CSum)) or latex else f"[{p}]" if " " in p and isinstance(x, CFraction) else p
                 for p, x in zip(parts, plain + sums)]
        return " ".join(parts)
    if isinstance(f, CFraction):
        n, d = render(f.num, names, latex), render(f.den, names, latex)
        return rf"\frac{{{n}}}{{{d}}}" if latex else f"[{n}] / [{d}]"
    raise TypeError(f)


# ------------------------------------------------------------------------------ evaluation

class _Source:
    """Where numbers come from: a joint table over observed variables (optionally a batch
    of joints along a leading draw axis) and, for experimental terms, a model."""

    def __init__(self, variables, domains, joint, model=None, draws: int = 0):
        self.variables, self.domains, self.joint = list(variables), dict(domains), joint
        self.model, self.draws = model, draws

    def term(self, t: Term) -> tuple:
        """``(symbols, array)``: the term at every value of its summation variables."""
        consts = {k: v for k, v in t.events + t.do if not isinstance(v, Sym)}
        free = [(k, v) for k, v in t.events + t.do if isinstance(v, Sym)]
        if t.estimand is None:
            return self._experiment(t, consts, free)
        est = t.estimand
        variables, domains, joint = self.variables, self.domains, self.joint
        if self.draws:
            est = replace(est, formula=_per_draw(est.formula), conditions=est.conditions + (_DRAW,))
            variables = [_DRAW] + variables
            domains = {**domains, _DRAW: list(range(self.draws))}
        a = np.asarray(est.evaluate_table(variables, domains, joint, consts))
        # evaluate_table orders free axes as outcomes, treatments, (draw)
        syms = tuple(v for k, v in free)
        names = syms + ((_DRAW,) if self.draws else ())
        return names, a

    def _experiment(self, t: Term, consts: dict, free: list) -> tuple:
        if self.model is None or self.draws:
            raise MethodError(f"{_term_text(t, {})} is an interventional distribution, which "
                              "observational data cannot give",
                              hint="identify with data = \"observations\" to see whether P(V) suffices, "
                                   "or evaluate on a model (est.evaluate(m))")
        out = np.zeros([len(self.domains[k]) for k, _ in free])
        for idx in np.ndindex(*out.shape):
            vals = dict(consts)
            vals.update({k: self.domains[k][i] for (k, _), i in zip(free, idx)})
            ev = ", ".join(f"{k} = {_lit(vals[k])}" for k, _ in t.events)
            do = ", ".join(f"{k} = {_lit(vals[k])}" for k, _ in t.do)
            out[idx] = float(self.model.query(f"P({ev} | do({do}))" if do else f"P({ev})").value)
        return tuple(v for _, v in free), out


def _lit(v) -> str:
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def _combine(parts: list) -> tuple:
    names = tuple(dict.fromkeys(n for ns, _ in parts for n in ns))
    out = np.ones([1] * len(names))
    for ns, a in parts:
        out = out * _align(ns, a, names)
    return names, out


def _align(ns: tuple, a: np.ndarray, target: tuple) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if not ns:
        return a.reshape([1] * len(target))
    a = np.transpose(a, [ns.index(t) for t in target if t in ns])
    shape, it = [], iter(a.shape)
    for t in target:
        shape.append(next(it) if t in ns else 1)
    return a.reshape(shape)


def _evaluate(f, src: _Source) -> tuple:
    if isinstance(f, CConst):
        return (), np.array(f.value)
    if isinstance(f, Term):
        return src.term(f)
    if isinstance(f, CProduct):
        return _combine([_evaluate(x, src) for x in f.factors])
    if isinstance(f, CSum):
        ns, a = _evaluate(f.body, src)
        for s in f.over:
            if s in ns:
                i = ns.index(s)
                a = np.asarray(a).sum(axis=i)
                ns = ns[:i] + ns[i + 1:]
        return ns, a
    if isinstance(f, CFraction):
        nn, na = _evaluate(f.num, src)
        dn, da = _evaluate(f.den, src)
        names = tuple(dict.fromkeys(nn + dn))
        na, da = _align(nn, na, names), _align(dn, da, names)
        if np.any(da <= 0):
            raise ZeroProbabilityError("the conditioning event of the counterfactual query has probability 0 "
                                       "in this distribution", hint="condition on values that occur")
        return names, na / da
    raise TypeError(f)


# ------------------------------------------------------------------------------ one observational formula

def _slot(var: str, v, names: dict) -> str:
    """The formula's name for ``var`` at value ``v``: ``"X = 1"``, or ``"Z = z"`` for a summed value."""
    return f"{var} = {_v(v, names)}"


def to_expr(f, names: dict, slots: dict) -> Optional[Expr]:
    """The formula as one :mod:`causaldsl.graphs.estimand` expression whose variables are *slots*
    (a variable at a value, ``"X = 0"``, or at a summed value, ``"Z = z"``), so that
    :func:`~causaldsl.graphs.estimand.simplify` applies; ``slots`` collects slot -> (variable, value).
    ``None`` when the formula needs an experiment or leaves a variable arbitrary."""
    if isinstance(f, CConst):
        return EProduct(()) if f == ONE else None
    if isinstance(f, Term):
        if t_arbitrary(f) or (f.estimand is None and f.do):
            return None
        m = {}
        for k, v in f.events + f.do:
            m[k] = _slot(k, v, names)
            slots[m[k]] = (k, v)
        if f.estimand is None:
            return Prob(tuple(m[k] for k, _ in f.events))
        return _rename(f.estimand.formula, m)
    if isinstance(f, CSum):
        body = to_expr(f.body, names, slots)
        if body is None:
            return None
        over = []
        for sym in f.over:
            over.append(_slot(sym.var, sym, names))
            slots[over[-1]] = (sym.var, sym)
        return ESum(tuple(over), body)
    if isinstance(f, CProduct):
        parts = [to_expr(x, names, slots) for x in f.factors]
        return None if any(p is None for p in parts) else EProduct(tuple(parts))
    if isinstance(f, CFraction):
        n, d = to_expr(f.num, names, slots), to_expr(f.den, names, slots)
        return None if n is None or d is None else EFraction(n, d)
    raise TypeError(f)


def t_arbitrary(t: Term) -> bool:
    return t.estimand is not None and bool(t.estimand.arbitrary)


def _render_slots(text: str, slots: dict, names: dict, latex: bool = False) -> str:
    """Sums print the summed value's name: ``Σ_z`` rather than ``Σ_Z = z``."""
    if latex:
        import re

        short = {slot: names[v] for slot, (_, v) in slots.items() if isinstance(v, Sym)}
        return re.sub(r"\\sum_\{([^}]*)\}",
                      lambda m: r"\sum_{" + ", ".join(short.get(p.strip(), p.strip()) for p in m.group(1).split(","))
                      + "}", text)
    for slot, (var, v) in slots.items():
        if isinstance(v, Sym):
            short = names[v]
            for a, b in (("Σ_" + slot, "Σ_" + short), ("{" + slot + ",", "{" + short + ","),
                         ("," + slot + "}", "," + short + "}"), ("," + slot + ",", "," + short + ",")):
                text = text.replace(a, b)
    return text


class _SlotEvaluator:
    """Evaluates a slot expression on a joint table (and a batch of joints along a draw axis)."""

    def __init__(self, src: "_Source", slots: dict):
        self.src, self.slots = src, slots

    def where(self, name: str) -> tuple:
        """(variable, constant index or None, axis label)."""
        var, v = self.slots.get(name, (name, Sym(name, 0)))
        if var not in self.src.domains:
            raise UnknownNameError(f"the formula needs variable '{var}', which the table lacks",
                                   hint="columns are " + ", ".join(self.src.variables))
        if isinstance(v, Sym):
            return var, None, name
        dom = self.src.domains[var]
        for i, d in enumerate(dom):
            if _same_value(d, v):
                return var, i, None
        raise QueryError(f"{_val_text(v)} is not a value of '{var}'", hint=f"'{var}' takes values {dom}")

    def marginal(self, names: tuple) -> tuple:
        where = [self.where(n) for n in names]
        axes_vars = ([_DRAW] if self.src.draws else []) + list(self.src.variables)
        joint = np.asarray(self.src.joint, dtype=float)
        keep = [_DRAW] if self.src.draws else []
        keep += [w[0] for w in where]
        if len(set(keep)) != len(keep):  # pragma: no cover - one variable twice in one probability
            raise QueryError("a probability mentions one variable twice")
        m = joint.sum(axis=tuple(i for i, v in enumerate(axes_vars) if v not in keep))
        kept = [v for v in axes_vars if v in keep]
        m = np.transpose(m, [kept.index(v) for v in keep])
        idx, labels = [], []
        if self.src.draws:
            idx.append(slice(None))
            labels.append(_DRAW)
        for var, i, label in where:
            idx.append(slice(None) if i is None else i)
            if i is None:
                labels.append(label)
        return tuple(labels), m[tuple(idx)]

    def run(self, e: Expr) -> tuple:
        if isinstance(e, Prob):
            if not e.vars:
                return (), np.array(1.0)
            nl, num = self.marginal(e.vars + e.given)
            if not e.given:
                return nl, num
            dl, den = self.marginal(e.given)
            den = _align(dl, den, nl)
            if np.any(den <= 0):
                raise ZeroProbabilityError(f"P({', '.join(e.given)}) = 0, so {render_text(e)} is undefined",
                                           hint="the formula divides by this probability; the data or model "
                                                "give it probability 0")
            return nl, num / den
        if isinstance(e, EProduct):
            return _combine([self.run(f) for f in e.factors]) if e.factors else ((), np.array(1.0))
        if isinstance(e, ESum):
            ns, a = self.run(e.body)
            for name in e.over:
                label = self.where(name)[2] or name
                if label in ns:
                    i = ns.index(label)
                    a = np.asarray(a).sum(axis=i)
                    ns = ns[:i] + ns[i + 1:]
                else:
                    a = a * len(self.src.domains[self.where(name)[0]])
            return ns, a
        if isinstance(e, EFraction):
            nn, na = self.run(e.num)
            dn, da = self.run(e.den)
            names = tuple(dict.fromkeys(nn + dn))
            na, da = _align(nn, na, names), _align(dn, da, names)
            if np.any(da <= 0):
                raise ZeroProbabilityError(f"the denominator {render_text(e.den)} is 0",
                                           hint="condition on values that occur")
            return names, na / da
        raise TypeError(e)


# ------------------------------------------------------------------------------ the answer

@dataclass(frozen=True)
class CounterfactualEstimand:
    """The answer of counterfactual identification (:func:`identify_counterfactual`).

    ``identifiable``; ``rule``: ``"ID*"``, ``"IDC*"`` or ``"not identifiable"``;
    ``formula``: the formula tree (``None`` when not identifiable); ``reason``: why not;
    ``graph``: the counterfactual graph of the query (:class:`CounterfactualGraph`);
    ``data``: which distributions the formula may use (``"observations"``, ``"interventions"``,
    ``"both"``); ``interventional``: the terms that need an experiment (text), empty when
    the formula is a function of the observed joint alone.
    """

    query: str
    identifiable: bool
    rule: str
    formula: Any = None
    reason: Optional[str] = None
    graph: Optional[CounterfactualGraph] = None
    data: str = "both"
    gamma: tuple = ()
    delta: tuple = ()
    names: dict = field(default_factory=dict, compare=False, repr=False)
    outcomes: tuple = ()
    treatments: tuple = ()
    conditions: tuple = ()
    adjustment: Optional[frozenset] = None
    zero: bool = False
    expr: Optional[Expr] = None  # the formula as one simplified slot expression, where it is one
    slots: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def interventional(self) -> tuple:
        if self.formula is None:
            return ()
        return tuple(dict.fromkeys(_term_text(t, self.names) for t in _terms(self.formula) if t.estimand is None and t.do))

    @property
    def observational(self) -> bool:
        """Whether the formula needs the observed joint only."""
        return self.identifiable and not self.interventional

    @property
    def variables(self) -> tuple:
        """The observed variables the formula reads."""
        used = set()
        for t in _terms(self.formula) if self.formula is not None else ():
            if t.estimand is not None:
                used |= set(t.estimand.variables)
            else:
                used |= {k for k, _ in t.events + t.do}
        return tuple(sorted(used))

    @property
    def text(self) -> str:
        if not self.identifiable:
            return f"{self.query} is not identifiable: {self.reason}"
        arbitrary = sorted({v for t in _terms(self.formula) if t.estimand is not None for v in t.estimand.arbitrary})
        note = f"  (for any value of {', '.join(arbitrary)})" if arbitrary else ""
        if self.expr is not None:
            return _render_slots(render_text(self.expr), self.slots, self.names)
        return render(self.formula, self.names) + note

    @property
    def latex(self) -> str:
        if not self.identifiable:
            return rf"\text{{{self.query} is not identifiable}}"
        if self.expr is not None:
            return _render_slots(render_latex(self.expr), self.slots, self.names, latex=True)
        return render(self.formula, self.names, latex=True)

    def __str__(self) -> str:
        return self.text

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def _repr_html_(self) -> str:
        import html

        head = f"<code>identify {html.escape(self.query)}</code> [{html.escape(self.rule)}]"
        body = (f"<div>{html.escape(self.text)}</div>" if self.identifiable
                else f"<div><b>not identifiable</b>: {html.escape(self.reason or '')}</div>")
        if self.interventional:
            body += "<div>needs experiments: " + html.escape("; ".join(self.interventional)) + "</div>"
        svg = self.graph.svg() if self.graph is not None else ""
        return f"<div class='cdsl-cf-identify'>{head}{body}{svg}</div>"

    def evaluate_table(self, variables: Sequence[str], domains: Optional[Mapping[str, Sequence]], joint: Any) -> float:
        """The formula computed from a joint table over observed variables (axis ``i`` runs
        over ``domains[variables[i]]``; ``None`` means ``0, 1, ...``)."""
        self._require()
        joint = np.asarray(joint, dtype=float)
        if domains is None:
            domains = {v: list(range(joint.shape[i])) for i, v in enumerate(variables)}
        return self._value(_Source(variables, domains, joint))

    def _require(self) -> None:
        if not self.identifiable:
            raise QueryError(f"{self.query} is not identifiable, so it has no formula to evaluate", hint=self.reason)

    def per_draw_value(self, variables: Sequence[str], domains: Mapping[str, Sequence], stacked: Any,
                       draws: int, values=None):
        """The answer at each of a stack of joint tables (``stacked``: ``P(draw = d, v)``, the draws
        along the leading axis), in one vectorised evaluation (Bayesian and bootstrap estimates)."""
        return self._value(_Source(variables, domains, stacked, draws=draws))

    def _value(self, src: _Source, tree: bool = False):
        if self.expr is not None and not tree:
            ns, a = _SlotEvaluator(src, self.slots).run(self.expr)
        else:
            ns, a = _evaluate(self.formula, src)
        a = np.asarray(a, dtype=float)
        leftover = [n for n in ns if n != _DRAW]
        if leftover:  # pragma: no cover - every summation variable is bound by a sum
            raise QueryError("the formula has unbound summation variables")
        if src.draws:
            return a.reshape(-1) if a.size == src.draws else np.broadcast_to(a.reshape(-1), (src.draws,))
        return float(a.reshape(()))

    def evaluate(self, model) -> float:
        """The formula computed exactly from a discrete model's observed joint (and, for
        experimental terms, from the model's own interventional distributions)."""
        from .estimation import _labels

        self._require()
        if not (hasattr(model, "ir") and callable(getattr(model, "query", None))):
            raise QueryError("evaluate() takes a causaldsl model", hint="pass the model, e.g. est.evaluate(m)")
        variables = list(self.variables)
        for v in variables:
            if not model.ir[v].finite:
                raise MethodError(f"evaluate() computes the estimand exactly, and '{v}' is continuous",
                                  hint="use a discrete model")
        domains = {v: _labels(model.ir[v]) for v in variables}
        joint = None
        if any(t.estimand is not None for t in _terms(self.formula)):
            table = model.query("P(" + ", ".join(variables) + ")").value
            joint = np.zeros([len(domains[v]) for v in variables])
            for key, p in table.items():
                key = key if isinstance(key, tuple) else (key,)
                joint[tuple(domains[v].index(_num(k)) for v, k in zip(variables, key))] = float(p)
        return self._value(_Source(variables, domains, joint, model=model))

    def estimate(self, data, *, method: str = "plug-in", **options):
        """The formula estimated from data: ``method="plug-in"`` (bootstrap interval) or
        ``"bayes"`` (Dirichlet posterior); see :mod:`causaldsl.graphs.estimation`."""
        from .estimation import estimate_from_data

        return estimate_from_data(self, data, method=method, **options)


def _num(v):
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    return v


def _events_text(events: Sequence[Event]) -> str:
    return ", ".join(f"{cv} = {_val_text(v)}" for cv, v in events)


def identify_counterfactual(g: ADMG, gamma: Sequence, delta: Sequence = (), *, data: str = "both",
                            query: Optional[str] = None) -> CounterfactualEstimand:
    """Identify ``P(γ | δ)`` for conjunctions of counterfactual events in the ADMG ``g``.

    ``gamma``/``delta``: sequences of ``(CfVar, value)`` or ``((var, ((x, value), ...)), value)``.
    ``data``: ``"observations"`` (the formula may use the observed joint only),
    ``"interventions"`` (it may use every ``P(· | do(·))``), or ``"both"`` (observations
    where ID identifies a term, experiments otherwise). Never raises for a
    non-identifiable query: check ``.identifiable`` and ``.reason``.

    >>> g = ADMG.from_edges([("X", "Y")], [("X", "Y")])
    >>> est = identify_counterfactual(g, [(("Y", (("X", 1),)), 1)], [(("X", ()), 0)])
    >>> est.identifiable
    False
    >>> "district" in est.reason
    True
    """
    if data not in DATA_MODES:
        raise QueryError(f"data = {data!r} is not one of {', '.join(DATA_MODES)}",
                         hint="data = \"observations\", \"interventions\" or \"both\"")
    gamma = [_event(e) for e in gamma]
    delta = [_event(e) for e in delta]
    if not gamma:
        raise QueryError("the query has no outcome", hint="write e.g. P(Y[X = 1] = 1 | X = 0)")
    for cv, _ in gamma + delta:
        for n in [cv.var] + [k for k, _ in cv.sub]:
            if n not in g.directed:
                raise UnknownNameError(f"unknown variable '{n}'", hint=did_you_mean(n, g.nodes)
                                       or f"the graph's variables are {', '.join(sorted(g.nodes))}")
    text = query or (f"P({_events_text(gamma)}" + (f" | {_events_text(delta)})" if delta else ")"))
    rule = "IDC*" if delta else "ID*"
    made = make_cg(g, [(_restrict(g, cv), v) for cv, v in gamma + delta])
    graph = made[0] if made else None
    base = dict(query=text, graph=graph, data=data, gamma=tuple(gamma), delta=tuple(delta),
                outcomes=tuple(dict.fromkeys(cv.var for cv, _ in gamma)),
                treatments=tuple(dict.fromkeys(k for cv, _ in gamma + delta for k, _ in cv.sub)),
                conditions=tuple(dict.fromkeys(cv.var for cv, _ in delta)))
    try:
        f = idc_star(g, gamma, delta) if delta else id_star(g, gamma)
        f = _through_id(g, f, data)
    except _Undefined:
        raise QueryError(f"{text} is undefined: its condition {_events_text(delta)} is impossible "
                         "(probability 0 in every model of the graph)",
                         hint="a variable cannot take a value other than the one an intervention sets") from None
    except _Fail as err:
        return CounterfactualEstimand(**base, identifiable=False, rule="not identifiable", reason=err.reason)
    names = _sym_names(f, g.nodes)
    slots: dict = {}
    expr = to_expr(f, names, slots)
    if expr is not None:
        expr = simplify(expr, [_slot(cv.var, v, names) for cv, v in gamma + delta])
    return CounterfactualEstimand(**base, identifiable=True, rule=rule, formula=f, names=names,
                                  zero=(f == ZERO), expr=expr, slots=slots)
