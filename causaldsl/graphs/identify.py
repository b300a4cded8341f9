"""Identification of causal effects from an ADMG: back-door, front-door, ID and IDC.

:func:`identify` decides whether ``P(outcomes | do(treatments), conditions)`` is a
function of the observed joint distribution of the ADMG's variables, and if so
returns the formula (an :class:`~causaldsl.graphs.estimand.Estimand`). Without conditions
it tries, in order,

1. Pearl's back-door criterion, with a smallest adjustment set (ties broken by
   name): ``Σ_z P(y | x, z) P(z)``;
2. Pearl's (1995) front-door criterion for one treatment and one outcome:
   ``Σ_m P(m | x) Σ_x' P(y | m, x') P(x')``;
3. the ID algorithm (Shpitser & Pearl 2006, "Identification of joint interventional
   distributions in recursive semi-Markovian causal models", AAAI), which is
   complete: when it fails, the hedge it finds (two C-forests ``F ⊃ F'``) proves the
   effect is not identifiable.

With conditions it runs IDC (Shpitser & Pearl 2006, "Identification of conditional
interventional distributions", UAI), complete as well.

>>> from causaldsl.graphs.admg import ADMG
>>> fd = ADMG.from_edges([("smoking", "tar"), ("tar", "cancer")], [("smoking", "cancer")])
>>> est = identify(fd, "cancer", "smoking")
>>> est.rule, str(est)
('front-door', "Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')")
>>> bow = ADMG.from_edges([("x", "y")], [("x", "y")])
>>> identify(bow, "y", "x").identifiable
False
"""

from __future__ import annotations

import itertools
from typing import Iterable, Optional, Sequence, Union

import networkx as nx

from .admg import ADMG
from .analysis import adjustment_sets, d_separated
from ..language.errors import CycleError, QueryError, UnknownNameError, did_you_mean
from .derivation import Derivation, IDTrace, Independence, Step, _backdoor, _frontdoor
from .estimand import (
    Estimand, Expr, Fraction, Prob, Product, Sum, _key, _names, _Order, _query_text, free_variables, simplify,
)

__all__ = [
    "identify", "d_separated", "is_backdoor_set", "backdoor_sets", "is_frontdoor_set", "frontdoor_sets",
]

Names = Union[str, Iterable[str]]

_MAX_EXHAUSTIVE = 14  # front-door: 12 candidate mediators are searched exhaustively


def is_backdoor_set(g: ADMG, treatments: Names, outcomes: Names, adjustment: Names) -> bool:
    """Pearl's back-door criterion for sets: no member of ``adjustment`` descends from a
    treatment, and ``adjustment`` blocks every path between treatments and outcomes that
    starts with an edge into a treatment (bidirected edges included) — i.e. outcomes and
    treatments are d-separated given ``adjustment`` once the edges out of the treatments
    are removed.

    >>> g = ADMG.from_edges([("z", "x"), ("z", "y"), ("x", "y")])
    >>> is_backdoor_set(g, "x", "y", ["z"]), is_backdoor_set(g, "x", "y", [])
    (True, False)
    """
    xs, ys, zs = set(_names(treatments)), set(_names(outcomes)), set(_names(adjustment))
    if xs & ys or zs & (xs | ys) or zs & g.descendants(xs):
        return False
    return d_separated(g, xs, ys, zs, cut_outgoing=xs)


def backdoor_sets(g: ADMG, treatments: Names, outcomes: Names) -> list:
    """Minimal back-door adjustment sets, smallest first, ties ordered by sorted names
    (:func:`causaldsl.graphs.analysis.adjustment_sets`).

    >>> g = ADMG.from_edges([("a", "x"), ("b", "x"), ("a", "y"), ("b", "y"), ("x", "y")], [])
    >>> [sorted(s) for s in backdoor_sets(g, "x", "y")]
    [['a', 'b']]
    """
    xs, ys = set(_names(treatments)), set(_names(outcomes))
    _check_names(g, list(xs | ys))
    return adjustment_sets(g, xs, ys)


def _first_backdoor_set(g: ADMG, xs: set, ys: set) -> Optional[frozenset]:
    sets = backdoor_sets(g, xs, ys)
    return sets[0] if sets else None


# ------------------------------------------------------------------------------------ front-door

def is_frontdoor_set(g: ADMG, treatment: str, outcome: str, mediators: Names) -> bool:
    """Pearl's front-door criterion (Pearl 1995; Causality, Def. 3.3.3) for ``mediators`` M:
    (i) M intercepts every directed path from the treatment to the outcome; (ii) no
    back-door path from the treatment to M is open (given nothing); (iii) every back-door
    path from M to the outcome is blocked by the treatment.

    >>> g = ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")])
    >>> is_frontdoor_set(g, "x", "y", ["m"])
    True
    """
    ms = set(_names(mediators))
    x, y = treatment, outcome
    if not ms or ms & {x, y}:
        return False
    h = g.directed.subgraph(set(g.nodes) - ms)
    if nx.has_path(h, x, y):
        return False
    if not d_separated(g, [x], ms, (), cut_outgoing=[x]):
        return False
    return d_separated(g, ms, [y], [x], cut_outgoing=ms)


def frontdoor_sets(g: ADMG, treatment: str, outcome: str) -> list:
    """Minimal front-door sets among variables on directed paths from treatment to outcome,
    smallest first, ties ordered by sorted names."""
    _check_names(g, [treatment, outcome])
    cands = sorted((g.descendants([treatment]) & g.ancestors([outcome])) - {treatment, outcome})
    if len(cands) > _MAX_EXHAUSTIVE - 2:
        return [frozenset(cands)] if is_frontdoor_set(g, treatment, outcome, cands) else []
    found: list = []
    for k in range(1, len(cands) + 1):
        for combo in itertools.combinations(cands, k):
            s = frozenset(combo)
            if any(f <= s for f in found):
                continue
            if is_frontdoor_set(g, treatment, outcome, s):
                found.append(s)
    return found


# --------------------------------------------------------------------------------------------- ID

class _Hedge(Exception):
    """ID line 5: ``F`` (the current graph) and ``F'`` (its district S) form a hedge."""

    def __init__(self, forest: frozenset, subforest: frozenset):
        super().__init__("hedge")
        self.forest = forest
        self.subforest = subforest


class _Dist:
    """A distribution over ``domain`` given as an expression of the observed joint.

    The expression may also mention fixed (intervened) variables outside ``domain``.
    """

    def __init__(self, expr: Expr, domain: frozenset, order: _Order):
        self.expr, self.domain, self.order = expr, frozenset(domain), order

    def _is_plain(self) -> bool:
        return isinstance(self.expr, Prob) and set(self.expr.vars) == self.domain

    def marginal(self, keep: Iterable[str]) -> "_Dist":
        keep = frozenset(keep)
        if keep == self.domain:
            return self
        if self._is_plain():
            return _Dist(Prob(self.order.sort(keep), self.expr.given), keep, self.order)
        e = simplify(Sum(self.order.sort(self.domain - keep), self.expr), self.order.names)
        return _Dist(e, keep, self.order)

    def conditional(self, v: str, given: Iterable[str]) -> Expr:
        """``P(v | given)`` of this distribution (``given`` inside the domain)."""
        given = frozenset(given)
        if self._is_plain():
            return Prob((v,), self.order.sort(given | set(self.expr.given)))
        num = Sum(self.order.sort(self.domain - given - {v}), self.expr)
        den = Sum(self.order.sort(self.domain - given), self.expr)
        return simplify(Fraction(num, den), self.order.names)


def _id(y: frozenset, x: frozenset, P: _Dist, g: ADMG, order: _Order, trace=None, term=None) -> Expr:
    """``P_x(y)`` by Shpitser & Pearl's ID (lines 1-7); raises :class:`_Hedge` on line 5.

    ``trace`` (a :class:`causaldsl.graphs.derivation.IDTrace`, or None) is told each line as it
    is taken, with ``term``, the trace's placeholder for the ``P_x(y)`` this call computes.
    """
    V = frozenset(g.nodes)
    names = order.names
    # 1: no intervention
    if not x:
        out = P.marginal(y).expr
        if trace:
            trace.line1(term, out, g)
        return out
    # 2: drop what is not an ancestor of y
    an = frozenset(g.ancestors(y))
    if an != V:
        sub = trace.line2(term, y, x, an, g) if trace else None
        return _id(y, x & an, P.marginal(an), g.subgraph(an), order, trace, sub)
    # 3: intervene also on what cannot affect y once x is fixed
    w = (V - x) - g.mutilate(cut_incoming=x).ancestors(y)
    if w:
        sub = trace.line3(term, y, x, w, g) if trace else None
        return _id(y, x | w, P, g, order, trace, sub)
    # 4: factorise over the districts of G \ X
    comps = sorted((frozenset(c) for c in g.subgraph(V - x).districts()), key=lambda c: order.sort(c))
    if len(comps) > 1:
        subs = trace.line4(term, y, x, comps, g) if trace else [None] * len(comps)
        factors = [_id(s, V - s, P, g, order, trace, t) for s, t in zip(comps, subs)]
        return simplify(Sum(order.sort(V - (y | x)), Product(factors)), names)
    S = comps[0]
    districts = [frozenset(c) for c in g.districts()]
    # 5: fail with a hedge
    if len(districts) == 1:
        if trace:
            trace.line5(term, V, S, g)
        raise _Hedge(V, S)
    rank = {v: i for i, v in enumerate(names)}

    def preds(v: str) -> frozenset:
        return frozenset(u for u in V if rank[u] < rank[v])

    # 6: S is a whole district of G
    if S in districts:
        factors = [P.conditional(v, preds(v)) for v in order.sort(S)]
        out = simplify(Sum(order.sort(S - y), Product(factors)), names)
        if trace:
            trace.line6(term, S, Sum(order.sort(S - y), Product(factors)), g)
        return out
    # 7: S sits inside a larger district S'
    S2 = next(c for c in districts if S <= c)
    factors = [P.conditional(v, preds(v)) for v in order.sort(S2)]
    P2 = _Dist(simplify(Product(factors), names), S2, order)
    sub = trace.line7(term, y, x, S, S2, P2.expr, g) if trace else None
    return _id(y, x & S2, P2, g.subgraph(S2), order, trace, sub)


def idc_moves(g: ADMG, ys: Sequence[str], xs: Sequence[str], zs: Sequence[str]) -> tuple:
    """IDC's first loop (Shpitser & Pearl 2006, UAI, Fig. 2): each condition ``z`` with
    ``(Y ⊥ z | X, Z \\ z)`` in ``G_{\\bar X \\underline z}`` becomes an action (rule 2).
    Returns ``(treatments, conditions, moves)``, ``moves`` the ``(z, X then, Z \\ z then)``
    in the order taken.

    >>> g = ADMG.from_edges([("x", "y"), ("z", "y")])
    >>> idc_moves(g, ["y"], ["x"], ["z"])[:2]
    (['x', 'z'], [])
    """
    x_now, z_now, moves = list(xs), list(zs), []
    moved = True
    while moved:
        moved = False
        for z in z_now:
            rest = [v for v in z_now if v != z]
            if d_separated(g, ys, [z], x_now + rest, cut_incoming=x_now, cut_outgoing=[z]):
                moves.append((z, tuple(x_now), tuple(rest)))
                x_now.append(z)
                z_now.remove(z)
                moved = True
                break
    return x_now, z_now, moves


def _explain_hedge(g: ADMG, forest: frozenset, sub: frozenset, treatments: tuple) -> str:
    """A readable account of a hedge (F, F')."""
    def fmt(s) -> str:
        return "{" + ", ".join(sorted(s)) + "}"

    fsub = g.subgraph(forest)
    roots = sorted(v for v in sub if not (fsub.children(v) & sub))
    bi = nx.Graph()
    bi.add_nodes_from(forest)
    bi.add_edges_from(tuple(e) for e in fsub.bidirected)
    outside = sorted(forest - sub, key=lambda v: (v not in treatments, v))
    text = (f"F = {fmt(forest)} and F' = {fmt(sub)} form a hedge: both are C-forests "
            f"(bidirected-connected, each node with at most one child inside) with root set {fmt(roots)}, "
            f"and F adds {fmt(forest - sub)}, which the query intervenes on")
    best = None
    for t in outside:
        for s in sorted(sub):
            if nx.has_path(bi, t, s):
                p = nx.shortest_path(bi, t, s)
                if best is None or len(p) < len(best):
                    best = p
        if best is not None:
            break
    if best is not None:
        t, s = best[0], best[-1]
        text += f". {t} and {s} are joined by the bidirected path {' <-> '.join(best)}"
        dg = fsub.directed
        dpath = None
        for r in roots:
            if nx.has_path(dg, t, r):
                p = nx.shortest_path(dg, t, r)
                if dpath is None or len(p) < len(dpath):
                    dpath = p
        if dpath is not None and len(dpath) > 1:
            text += f", and {t} reaches {dpath[-1]} by the directed path {' -> '.join(dpath)}"
        text += (", so the effect cannot be told apart from the unobserved common causes "
                 "(two models agree on every observed probability yet differ under the intervention)")
    return text


# ------------------------------------------------------------------------------------------ entry

def _check_names(g: ADMG, names: Sequence[str]) -> None:
    nodes = g.nodes
    for n in names:
        if n not in g.directed:
            hint = did_you_mean(n, nodes)
            raise UnknownNameError(f"unknown variable '{n}'",
                                   hint=hint or f"the graph's variables are {', '.join(sorted(nodes))}")


def _check_graph(g: ADMG) -> None:
    if not g.is_acyclic():
        cycle = nx.find_cycle(g.directed)
        path = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
        raise CycleError(f"the causal graph has a directed cycle {path}",
                         hint="identification needs an acyclic graph; remove one of the edges of the cycle")


def identify(g: ADMG, outcomes: Names, treatments: Names = (), conditions: Names = ()) -> Estimand:
    """Identify ``P(outcomes | do(treatments), conditions)`` in the ADMG ``g``.

    ``outcomes``, ``treatments`` and ``conditions`` are names or lists of names. Returns
    an :class:`~causaldsl.graphs.estimand.Estimand` (never raises for a non-identifiable query:
    check ``.identifiable``). Raises :class:`~causaldsl.language.errors.UnknownNameError` for a
    name not in the graph, :class:`~causaldsl.language.errors.CycleError` for a cyclic graph and
    :class:`~causaldsl.language.errors.QueryError` for a malformed query.

    >>> g = ADMG.from_edges([("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")])
    >>> est = identify(g, "y", "x")          # the napkin
    >>> est.rule, est.arbitrary
    ('ID', ('w2',))
    >>> print(est)
    [Σ_w1 P(w1) P(x, y | w1, w2)] / [Σ_w1 P(w1) P(x | w1, w2)]
    """
    ys, xs, zs = _names(outcomes), _names(treatments), _names(conditions)
    _check_names(g, ys + xs + zs)
    _check_graph(g)
    if not ys:
        raise QueryError("the query has no outcome", hint="write P(y | do(x)) with at least one outcome")
    for a, b, what in ((ys, xs, "an outcome and a treatment"), (ys, zs, "an outcome and a condition"),
                       (xs, zs, "a treatment and a condition")):
        both = [v for v in a if v in b]
        if both:
            raise QueryError(f"'{both[0]}' is both {what}",
                             hint="each variable may appear once in P(outcomes | do(treatments), conditions)")
    query = _query_text(ys, xs, zs)
    order = _Order(g.topological_order())
    base = dict(query=query, outcomes=ys, treatments=xs, conditions=zs)

    def done(rule: str, formula: Expr, **extra) -> Estimand:
        arbitrary = order.sort(free_variables(formula) - set(ys + xs + zs))
        return Estimand(**base, identifiable=True, rule=rule, formula=formula, arbitrary=arbitrary, graph=g,
                        deriver=derive,
                        **extra)

    if not zs and xs:
        z = _first_backdoor_set(g, set(xs), set(ys))
        if z is not None:
            zo = order.sort(z)
            formula = Sum(zo, Product([Prob(ys, xs + zo), Prob(zo)])) if zo else Prob(ys, xs)
            return done("back-door", formula, adjustment=frozenset(z))
        if len(xs) == 1 and len(ys) == 1:
            fds = frontdoor_sets(g, xs[0], ys[0])
            if fds:
                m = order.sort(fds[0])
                x, y = xs[0], ys[0]
                formula = Sum(m, Product([Prob(m, (x,)), Sum((x,), Product([Prob((y,), m + (x,)), Prob((x,))]))]))
                return done("front-door", formula, mediators=frozenset(m))
    P = _Dist(Prob(tuple(order.names)), frozenset(g.nodes), order)
    try:
        if not zs:
            formula = simplify(_id(frozenset(ys), frozenset(xs), P, g, order), order.names)
            return done("ID", formula)
        # IDC: move conditions that rule 2 turns into actions, then divide
        x_now, z_now, _ = idc_moves(g, ys, xs, zs)
        joint = _id(frozenset(ys) | frozenset(z_now), frozenset(x_now), P, g, order)
        if z_now:
            formula = simplify(Fraction(joint, Sum(order.sort(ys), joint)), order.names)
        else:
            formula = simplify(joint, order.names)
        return done("IDC", formula)
    except _Hedge as h:
        reason = _explain_hedge(g, h.forest, h.subforest, xs)
        return Estimand(**base, identifiable=False, rule="not identifiable", formula=None,
                        reason=reason, hedge=(h.forest, h.subforest), graph=g, deriver=derive)


# ------------------------------------------------------------------ derivations
# The algorithm above replays itself with a trace to show its work; the steps and their
# licences are written in causaldsl.graphs.derivation.


def _id_steps(est: Estimand, g: ADMG, order: _Order) -> tuple:
    ys, xs, zs = est.outcomes, est.treatments, est.conditions
    P = _Dist(Prob(tuple(order.names)), frozenset(g.nodes), order)
    full = frozenset(g.nodes)
    query = Prob(ys, zs, xs)
    steps = [Step(query, "query")]
    x_now, z_now = list(xs), list(zs)
    if zs:
        x_now, z_now, moves = idc_moves(g, ys, xs, zs)
        for z, x_then, rest in moves:
            e = Prob(ys, order.sort(rest), order.sort(x_then + (z,)))
            steps.append(Step(e, "rule 2", f"IDC: the condition {z} becomes an action",
                              Independence(ys, (z,), order.sort(x_then + rest), g, bar=order.sort(x_then),
                                           under=(z,)), rule=2))
    joint = Prob(order.sort(set(ys) | set(z_now)), (), order.sort(x_now))
    if z_now:
        start = Fraction(joint, Sum(order.sort(ys), joint))
        steps.append(Step(start, "definition", "a conditional is a ratio of joints"))
    else:
        start = joint
    trace = IDTrace(start, joint, full, order)
    ok = True
    try:
        _id(frozenset(ys) | frozenset(z_now), frozenset(x_now), P, g, order, trace, joint)
    except _Hedge:
        ok = False
    steps += trace.steps
    if ok and est.formula is not None and _key(steps[-1].expr) != _key(est.formula):
        steps.append(Step(est.formula, "algebra", "sum out what only its own marginal holds; chain rule"))
    return steps, ok


def derive(est: Estimand) -> Derivation:
    """The :class:`Derivation` of ``est`` (from the graph it was identified in).

    >>> from causaldsl.graphs.admg import ADMG
    >>> from causaldsl.graphs.identify import identify
    >>> g = ADMG.from_edges([("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")])
    >>> d = derive(identify(g, "y", "x"))
    >>> [s.line for s in d.steps if s.line]
    [3, 7, 2, 6]
    """
    if est.graph is None:
        raise QueryError(f"the estimand of {est.query} does not know its graph",
                         hint="get the estimand from identify(), m.identify() or g.identify()")
    g = est.graph
    order = _Order(g.topological_order())
    context = est.outcomes + est.treatments + est.conditions + est.arbitrary
    if est.rule == "back-door":
        steps, ok = _backdoor(est, g, order), True
    elif est.rule == "front-door":
        steps, ok = _frontdoor(est, g, order), True
    else:
        steps, ok = _id_steps(est, g, order)
    for s in steps:
        # The header says every licence was checked: check it (a failure is a bug here, not a user's mistake).
        if s.independence is not None and not s.independence.holds():
            raise RuntimeError(f"internal error: the derivation of {est.query} cites {s.independence}, "
                               "which the graph does not imply")
    rule = {"back-door": "back-door criterion (Pearl 1993)", "front-door": "front-door criterion (Pearl 1995)",
            "ID": "ID algorithm (Shpitser & Pearl 2006)", "IDC": "IDC algorithm (Shpitser & Pearl 2006)"}
    return Derivation(est.query, rule.get(est.rule, est.rule), tuple(steps), context, ok, est.arbitrary)
