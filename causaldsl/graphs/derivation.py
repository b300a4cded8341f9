"""Identification shown step by step: which criterion or ID line, which do-calculus rule, and why.

:func:`causaldsl.graphs.identify.derive` replays the identification of an :class:`~causaldsl.graphs.estimand.Estimand`
as a :class:`Derivation`: a list of :class:`Step`, each with the expression after
it (terms ``P(y | do(x), z)`` included until the calculus removes them), what was
done, and, for a rule of the do-calculus, the :class:`Independence` that licenses it,
written as a d-separation in a named mutilated graph and checked by
:func:`causaldsl.graphs.analysis.d_separated`.

The rules (Pearl 1995; *Causality* 2009, Thm 3.4.1), for disjoint sets X, Y, Z, W:

1. ``P(y | do(x), z, w) = P(y | do(x), w)`` if ``(Y ⊥ Z | X, W)`` in ``G_{bar(X)}``;
2. ``P(y | do(x), do(z), w) = P(y | do(x), z, w)`` if ``(Y ⊥ Z | X, W)`` in ``G_{bar(X), under(Z)}``;
3. ``P(y | do(x), do(z), w) = P(y | do(x), w)`` if ``(Y ⊥ Z | X, W)`` in ``G_{bar(X), bar(Z(W))}``,
   ``Z(W)`` the members of Z that are not ancestors of W in ``G_{bar(X)}``.

``G_{bar(X)}`` is G without the edges into X (bidirected ones included),
``G_{under(Z)}`` G without the edges out of Z.

* back-door (Pearl 1993): condition on the adjustment set Z, then rule 2 and rule 3;
* front-door (Pearl 1995; *Causality* §3.4.3): the three tasks, five rule applications;
* ID (Shpitser & Pearl 2006, AAAI, Fig. 3): each line of the recursion as it is taken,
  with rule 3 behind lines 2 and 3 and the c-component factorisation (Tian & Pearl
  2002) behind lines 4, 6 and 7; IDC (Shpitser & Pearl 2006, UAI) first turns
  conditions into actions by rule 2.

:meth:`Derivation.evaluate` computes every step's expression on a discrete model
(interventional terms from the intervened model): all must equal the answer.

>>> from causaldsl.graphs.admg import ADMG
>>> from causaldsl.graphs.identify import identify
>>> fd = ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")])
>>> d = identify(fd, "y", "x").derivation
>>> [s.how for s in d.steps]
['query', 'sum over m', 'rule 2', 'rule 2', 'rule 3', 'sum over x', 'rule 2', 'rule 3']
>>> all(s.independence.holds() for s in d.steps if s.independence)
True
>>> print(d.steps[-1].expr)
Σ_m P(m | x) Σ_x' P(y | m, x') P(x')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from .admg import ADMG
from ..language.errors import MethodError, QueryError
from .estimand import (
    Estimand, Expr, Fraction, Prob, Product, Sum, _Order, _Table, _evaluate_on, all_variables,
    free_variables, render_latex, render_text,
)
from .analysis import d_separated

__all__ = ["Independence", "Step", "Derivation"]


def _set_text(vs) -> str:
    return ", ".join(vs)


def _tex(v: str) -> str:
    return v.replace("_", r"\_")


def _set_tex(vs) -> str:
    return ", ".join(_tex(v) for v in vs)


@dataclass(frozen=True)
class Independence:
    """``(left ⊥ right | given)`` in ``graph`` with the edges into ``bar`` and out of ``under``
    removed; ``graph_name`` names ``graph`` (``"G"``, or ``"G[{a, b}]"`` for a subgraph).

    >>> g = ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")])
    >>> i = Independence(("m",), ("x",), (), g, under=("x",))
    >>> print(i), i.holds()
    (m ⊥ x) in G_{under(x)}
    (None, True)
    >>> i.latex
    '(m \\\\perp\\\\!\\\\!\\\\!\\\\perp x) \\\\text{ in } G_{\\\\underline{x}}'
    """

    left: tuple
    right: tuple
    given: tuple
    graph: ADMG = field(compare=False, repr=False)
    bar: tuple = ()
    under: tuple = ()
    graph_name: str = "G"

    def holds(self) -> bool:
        """Whether the graph's m-separation (d-separation for a DAG) says so."""
        return d_separated(self.graph, self.left, self.right, self.given,
                           cut_incoming=self.bar, cut_outgoing=self.under)

    @property
    def graph_text(self) -> str:
        cuts = [f"bar({_set_text(self.bar)})"] * bool(self.bar) + [f"under({_set_text(self.under)})"] * bool(self.under)
        return self.graph_name + ("_{" + ", ".join(cuts) + "}" if cuts else "")

    @property
    def graph_latex(self) -> str:
        name = self.graph_name.replace("{", r"\{").replace("}", r"\}")
        name = name.replace("_", r"\_")
        cuts = ([rf"\overline{{{_set_tex(self.bar)}}}"] if self.bar else []) + \
               ([rf"\underline{{{_set_tex(self.under)}}}"] if self.under else [])
        return name + ("_{" + r"\,".join(cuts) + "}" if cuts else "")

    def __str__(self) -> str:
        given = f" | {_set_text(self.given)}" if self.given else ""
        return f"({_set_text(self.left)} ⊥ {_set_text(self.right)}{given}) in {self.graph_text}"

    @property
    def latex(self) -> str:
        given = rf" \mid {_set_tex(self.given)}" if self.given else ""
        return rf"({_set_tex(self.left)} \perp\!\!\!\perp {_set_tex(self.right)}{given}) \text{{ in }} {self.graph_latex}"


@dataclass(frozen=True)
class Step:
    """One step: ``expr`` is the whole expression after it; ``how`` a short label (``"rule 2"``,
    ``"ID line 4"``, ``"sum over m"``); ``why`` a sentence; ``independence`` what licenses a
    do-calculus rule (``rule`` 1, 2 or 3); ``line`` the ID line, if any."""

    expr: Expr
    how: str
    why: str = ""
    independence: Optional[Independence] = None
    rule: Optional[int] = None
    line: Optional[int] = None
    why_latex: str = ""


def _label_latex(step: Step) -> str:
    if step.independence is not None:
        return rf"\text{{{step.how}: }} {step.independence.latex}"
    if step.why_latex:
        return rf"\text{{{step.how}: }} {step.why_latex}"
    return rf"\text{{{step.how}}}"


@dataclass(frozen=True)
class Derivation:
    """The steps of an identification (see the module docstring); ``ok`` is False when it
    ends in a hedge (ID line 5)."""

    query: str
    rule: str
    steps: tuple
    context: tuple = ()
    ok: bool = True
    arbitrary: tuple = ()

    # -- text
    def _expr_text(self, e: Expr) -> str:
        return render_text(e, self.context)

    def _expr_latex(self, e: Expr) -> str:
        return render_latex(e, self.context)

    @property
    def text(self) -> str:
        """The derivation as plain text, one step per line, the reason under it."""
        lines = [f"{self.query}   [{self.rule}]"]
        for s in self.steps[1:]:
            lines.append(f"  = {self._expr_text(s.expr)}")
            why = f"{s.how}: {s.independence}" if s.independence else s.how
            if s.why:
                why += f"; {s.why}"
            lines.append(f"      ({why})")
        if any(s.independence for s in self.steps):
            lines.append("  G_{bar(X)}: G without the edges into X; G_{under(X)}: without the edges out of X")
        if self.arbitrary:
            lines.append(f"  holds for any value of {_set_text(self.arbitrary)}")
        if not self.ok:
            lines.append("  not identifiable: ID stops at line 5 (a hedge)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    @property
    def latex(self) -> str:
        r"""The derivation as one ``aligned`` block (math mode, without the dollars)."""
        # The reason goes on its own line under its expression: the block stays as narrow as its
        # widest expression, which fits a notebook column or a book page.
        rows = [f"& {self._expr_latex(self.steps[0].expr)}"]
        for s in self.steps[1:]:
            rows.append(rf"&= {self._expr_latex(s.expr)}")
            rows.append(rf"&\qquad {{\small {_label_latex(s)}}}")
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex}$$"

    def _repr_markdown_(self) -> str:
        head = f"**Identification** by the {self.rule}; every independence cited is checked by d-separation:"
        notes = []
        if any(s.independence for s in self.steps):
            notes.append(r"$G_{\overline{X}}$: $G$ without the edges into $X$; "
                         r"$G_{\underline{X}}$: without the edges out of $X$.")
        if self.arbitrary:
            notes.append(f"Holds for any value of {_set_text(self.arbitrary)}.")
        if not self.ok:
            notes.append("Not identifiable: ID stops at line 5 (a hedge).")
        return head + "\n\n$$" + self.latex + "$$\n\n" + " ".join(notes)

    # -- checks
    def independences(self) -> list:
        """Every licensing :class:`Independence`, in order."""
        return [s.independence for s in self.steps if s.independence is not None]

    def evaluate(self, model, values: Optional[Mapping[str, Any]] = None) -> list:
        """Each step's expression computed on a discrete ``model``: terms with ``do`` from the
        intervened model, the others from its observed joint. Every number must equal the
        query's answer (``values`` fixes the query's variables, and any arbitrary ones).

        A step may leave other variables free: ID line 3 intervenes on variables at values
        that cannot matter. Such a step is computed at every value of them, and comes back
        as one float when all agree (as the do-calculus says they must), else as the array.
        """
        from .estimation import _labels, _numeric

        variables = sorted(set().union(*(all_variables(s.expr) for s in self.steps)))
        for v in variables:
            if v not in model.ir or not model.ir[v].finite:
                raise MethodError(f"the derivation is evaluated exactly, and '{v}' is not a finite variable "
                                  f"of the model", hint="use a discrete model")
        domains = {v: _labels(model.ir[v]) for v in variables}
        text = "P(" + ", ".join(variables) + ")"

        def table(m) -> np.ndarray:
            joint = m.query(text).value
            arr = np.zeros([len(domains[v]) for v in variables])
            for key, p in joint.items():
                key = key if isinstance(key, tuple) else (key,)
                arr[tuple(domains[v].index(_numeric(k)) for v, k in zip(variables, key))] += p
            return arr

        t = _Table(variables, domains, table(model))
        t.interventional = lambda do: table(model.do(**{k: _plain(v) for k, v in do.items()}))
        vals = {k: _numeric(v) for k, v in (values or {}).items()}
        out = []
        for s in self.steps:
            free = free_variables(s.expr)
            missing = tuple(v for v in variables if v in free and v not in vals)
            query_vars = set(self.context) - set(self.arbitrary)
            if set(missing) & query_vars:
                raise QueryError(f"step '{s.how}' depends on {', '.join(sorted(set(missing) & query_vars))}, "
                                 "which has no value", hint="give every variable of the query a value")
            a = np.asarray(_evaluate_on(t, s.expr, {k: v for k, v in vals.items() if k in free}, missing))
            out.append(float(a.flat[0]) if np.ptp(a) < 1e-12 else a)
        return out


def _plain(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


# ------------------------------------------------------------------------------- substitution

def _replace(e: Expr, target: Expr, new: Expr) -> Expr:
    """``e`` with the very object ``target`` (by identity) replaced by ``new``."""
    if e is target:
        return new
    if isinstance(e, Sum):
        return Sum(e.over, _replace(e.body, target, new))
    if isinstance(e, Product):
        return Product([_replace(f, target, new) for f in e.factors])
    if isinstance(e, Fraction):
        return Fraction(_replace(e.num, target, new), _replace(e.den, target, new))
    return e


def _graph_name(g: ADMG, full: frozenset) -> str:
    nodes = frozenset(g.nodes)
    return "G" if nodes == full else "G[{" + ", ".join(sorted(nodes)) + "}]"


# ------------------------------------------------------------------------- back-door, front-door

def _backdoor(est: Estimand, g: ADMG, order: _Order) -> list:
    ys, xs = est.outcomes, est.treatments
    zs = order.sort(est.adjustment or ())
    steps = [Step(Prob(ys, (), xs), "query")]
    if not zs:
        steps.append(Step(Prob(ys, xs), "rule 2", "no back-door path is open: seeing x is doing x",
                          Independence(ys, xs, (), g, under=xs), rule=2))
        return steps
    inner_y, inner_z = Prob(ys, zs, xs), Prob(zs, (), xs)
    steps.append(Step(Sum(zs, Product([inner_y, inner_z])), f"sum over {_set_text(zs)}",
                      f"condition on the back-door set {{{_set_text(zs)}}} (law of total probability)"))
    y_seen = Prob(ys, xs + zs)
    steps.append(Step(Sum(zs, Product([y_seen, inner_z])), "rule 2",
                      f"{{{_set_text(zs)}}} blocks every back-door path",
                      Independence(ys, xs, zs, g, under=xs), rule=2))
    steps.append(Step(Sum(zs, Product([y_seen, Prob(zs)])), "rule 3",
                      f"{_set_text(xs)} does not cause {_set_text(zs)}",
                      Independence(zs, xs, (), g, bar=xs), rule=3))
    return steps


def _frontdoor(est: Estimand, g: ADMG, order: _Order) -> list:
    (x,), (y,) = est.treatments, est.outcomes
    ms = order.sort(est.mediators or ())
    X, Y = (x,), (y,)
    steps = [Step(Prob(Y, (), X), "query")]
    y_dox_m, m_dox = Prob(Y, ms, X), Prob(ms, (), X)
    steps.append(Step(Sum(ms, Product([y_dox_m, m_dox])), f"sum over {_set_text(ms)}",
                      "law of total probability in the intervened model"))
    m_x = Prob(ms, X)
    steps.append(Step(Sum(ms, Product([y_dox_m, m_x])), "rule 2",
                      f"task 1, P({_set_text(ms)} | do({x})): no back-door path from {x} to {_set_text(ms)}",
                      Independence(ms, X, (), g, under=X), rule=2))
    y_do_xm = Prob(Y, (), X + ms)
    steps.append(Step(Sum(ms, Product([y_do_xm, m_x])), "rule 2",
                      f"observing {_set_text(ms)} under do({x}) is doing it",
                      Independence(Y, ms, X, g, bar=X, under=ms), rule=2))
    y_do_m = Prob(Y, (), ms)
    steps.append(Step(Sum(ms, Product([y_do_m, m_x])), "rule 3",
                      f"once {_set_text(ms)} is set, {x} has no other way to {y}",
                      Independence(Y, X, ms, g, bar=order.sort(set(ms) | {x})), rule=3))
    y_do_m_x, x_do_m = Prob(Y, X, ms), Prob(X, (), ms)
    steps.append(Step(Sum(ms, Product([m_x, Sum(X, Product([y_do_m_x, x_do_m]))])), f"sum over {x}",
                      f"task 2, P({y} | do({_set_text(ms)})) by the back-door set {{{x}}}"))
    y_seen = Prob(Y, ms + X)
    steps.append(Step(Sum(ms, Product([m_x, Sum(X, Product([y_seen, x_do_m]))])), "rule 2",
                      f"{x} blocks the back-door paths from {_set_text(ms)} to {y}",
                      Independence(Y, ms, X, g, under=ms), rule=2))
    steps.append(Step(Sum(ms, Product([m_x, Sum(X, Product([y_seen, Prob(X)]))])), "rule 3",
                      f"{_set_text(ms)} does not cause {x}",
                      Independence(X, ms, (), g, bar=ms), rule=3))
    return steps


# -------------------------------------------------------------------------------------------- ID

class IDTrace:
    """Told each line of :func:`causaldsl.graphs.identify._id` as it is taken; keeps the whole
    expression, in which each pending ``P_x(y)`` is a ``Prob`` with ``do`` (a placeholder
    object, replaced by identity when its call resolves)."""

    def __init__(self, start: Expr, term: Prob, full: frozenset, order: _Order, outer: frozenset = frozenset()):
        self.expr = start
        self.steps: list = []
        self.full = full
        self.order = order
        self.outer = {id(term): frozenset(outer)}
        self._keep = [term]  # placeholders stay alive, so their ids stay theirs

    def _term(self, y, x, outer) -> Prob:
        do = frozenset(x) | frozenset(outer)
        t = Prob(self.order.sort(y), (), self.order.sort(do))
        self.outer[id(t)] = frozenset(outer)
        self._keep.append(t)
        return t

    def _step(self, term, new, line: int, why: str, g: ADMG, independence=None, rule=None, why_latex="") -> None:
        self.expr = _replace(self.expr, term, new)
        self.steps.append(Step(self.expr, f"ID line {line}", why, independence, rule, line, why_latex))

    def line1(self, term, out, g) -> None:
        outer = self.outer[id(term)]
        where = "" if not outer else f" (of the distribution of line 7, under do({_set_text(self.order.sort(outer))}))"
        self._step(term, out, 1, f"no intervention left: a marginal{where}", g,
                   why_latex=r"\text{a marginal}")

    def line2(self, term, y, x, an, g):
        outer = self.outer[id(term)]
        drop = self.order.sort(frozenset(g.nodes) - an)
        new = self._term(y, x & an, outer)
        gone = self.order.sort(x - an)
        ind = Independence(self.order.sort(y), gone, self.order.sort(x & an), g, bar=self.order.sort(x),
                           graph_name=_graph_name(g, self.full)) if gone else None
        why = f"not ancestors of {_set_text(self.order.sort(y))}: {{{_set_text(drop)}}}; continue in G[An]"
        self._step(term, new, 2, why, g, ind, 3 if ind else None)
        return new

    def line3(self, term, y, x, w, g):
        outer = self.outer[id(term)]
        new = self._term(y, x | w, outer)
        ws = self.order.sort(w)
        ind = Independence(self.order.sort(y), ws, self.order.sort(x), g, bar=self.order.sort(x | w),
                           graph_name=_graph_name(g, self.full))
        why = f"intervene also on {_set_text(ws)}, which cannot affect {_set_text(self.order.sort(y))} once " \
              f"{_set_text(self.order.sort(x))} is fixed (rule 3)"
        self._step(term, new, 3, why, g, ind, 3)
        return new

    def line4(self, term, y, x, comps, g) -> list:
        outer = self.outer[id(term)]
        V = frozenset(g.nodes)
        subs = [self._term(s, V - s, outer) for s in comps]
        summed = self.order.sort(V - (y | x))
        new = Sum(summed, Product(subs)) if summed else Product(subs)
        ds = "; ".join("{" + _set_text(self.order.sort(c)) + "}" for c in comps)
        ds_tex = r",\ ".join(r"\{" + _set_tex(self.order.sort(c)) + r"\}" for c in comps)
        self._step(term, new, 4, f"G without {_set_text(self.order.sort(x))} has districts {ds}: "
                                 f"the effect factorises over them (Tian & Pearl 2002)", g,
                   why_latex=rf"\text{{districts }} {ds_tex}")
        return subs

    def line5(self, term, forest, sub, g) -> None:
        self.steps.append(Step(self.expr, "ID line 5", f"G[{{{_set_text(self.order.sort(forest))}}}] is one "
                               f"district while G without the treatments has the district "
                               f"{{{_set_text(self.order.sort(sub))}}}: a hedge, not identifiable", line=5))

    def line6(self, term, S, expr, g) -> None:
        if isinstance(expr, Sum) and not expr.over:
            expr = expr.body
        if isinstance(expr, Product) and len(expr.factors) == 1:
            expr = expr.factors[0]
        name = _graph_name(g, self.full).replace("{", r"\{").replace("}", r"\}")
        self._step(term, expr, 6, f"{{{_set_text(self.order.sort(S))}}} is a district of "
                                  f"{_graph_name(g, self.full)}: its c-factor is a product of conditionals "
                                  f"in topological order (Tian & Pearl 2002, Lemma 1)", g,
                   why_latex=rf"\{{{_set_tex(self.order.sort(S))}\}}\text{{ is a district of }}{name}")

    def line7(self, term, y, x, S, S2, P2expr, g):
        outer = self.outer[id(term)] | (frozenset(g.nodes) - S2)
        new = self._term(y, x & S2, outer)
        why = (f"{{{_set_text(self.order.sort(S))}}} lies inside the district {{{_set_text(self.order.sort(S2))}}}: "
               f"continue in G[S'] with P' = {render_text(P2expr)}")
        self._step(term, new, 7, why, g, why_latex=rf"P' = {render_latex(P2expr)}")
        return new
