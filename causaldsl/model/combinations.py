"""Questions that combine: arithmetic between queries, variances, quantiles, risk and odds ratios.

``E[y | x = 1] - E[y | x = 0]``, ``P(y = 1 | do(x = 1)) / P(y = 1 | do(x = 0))``, ``Var[y | ...]``,
``Q[y, 0.9 | ...]``, ``RR(x -> y)`` and ``OR(x -> y)`` are each a function ``g`` of a few *leaves*,
every leaf one probability, expectation or quantile that an engine answers on its own. This
module turns the syntax into a :class:`Combination`: the leaves (each with its
:class:`~causaldsl.model.queries.Plan`) and ``g`` as a small tree (:class:`Term`), which
:func:`evaluate` computes with its gradient in the leaves (forward-mode differentiation),
which the delta method needs (the engines' :mod:`~causaldsl.engines.combine`).

* ``Var[e | C] = E[e² | C] - E[e | C]²``;
* ``RR(X -> Y) = P(Y = 1 | do(X = t)) / P(Y = 1 | do(X = c))`` (with ``kind = observational``:
  ``P(Y = 1 | X = t) / P(Y = 1 | X = c)``);
* ``OR(X -> Y) = [p_t / (1 - p_t)] / [p_c / (1 - p_c)]``, ``p_t``, ``p_c`` as for ``RR``.

(Rothman, Greenland & Lash, *Modern Epidemiology*, 3rd ed. 2008, ch. 4, for the risk and
odds ratios as measures of effect; Hernán & Robins, *Causal Inference: What If*, 2020, section
1.3, for their causal versions under intervention.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Union

import numpy as np

from ..language import syntax as S
from ..language.errors import EffectError, QueryError, Span, UnknownNameError, did_you_mean
from .ir import Model
from .expressions import walk
from .queries import Plan, PlanKey, plan_query

NOSPAN = S.NOSPAN


@dataclass(frozen=True)
class Leaf:
    """One query of a combination: ``plan`` answers its probability or expectation; for a
    quantile (``level`` set), ``plan`` is the expectation of its expression, whose network and
    resolved target give the expression's draws, or its exact distribution
    (:func:`distribution_plan`)."""

    text: str
    plan: Plan
    span: Span = NOSPAN
    level: Optional[float] = None  # a quantile's level; None: a mean (probability or expectation)


@dataclass(frozen=True)
class Term:
    """A node of ``g``: ``op`` is ``leaf`` (``index``), ``num`` (``value``), ``neg`` (``args[0]``)
    or one of ``+ - * /`` (``args``); ``text`` is what it stands for, for messages; ``span``
    where it is written (a divisor's, for a division by zero)."""

    op: str
    args: tuple = ()
    index: int = -1
    value: float = 0.0
    text: str = ""
    span: Span = NOSPAN


@dataclass(frozen=True)
class Combination:
    """A question that combines ``leaves`` by ``term``; ``text`` as the user wrote it."""

    text: str
    term: Term
    leaves: tuple[Leaf, ...]
    span: Span = NOSPAN


COMBINED = (S.QueryArith, S.VarQuery, S.QuantileQuery)


def is_combination(query) -> bool:
    """Whether ``query`` is answered as a :class:`Combination` (arithmetic between queries,
    ``Var``, ``Q``, ``RR``, ``OR``) rather than by one plan.

    >>> from causaldsl.language.parser import parse_query
    >>> is_combination(parse_query("E[y] - E[x]")), is_combination(parse_query("E[y]"))
    (True, False)
    """
    return isinstance(query, COMBINED) or (isinstance(query, S.EffectQuery) and query.effect in ("RR", "OR"))


class _Builder:
    def __init__(self, model: Model, source: str):
        self.model, self.source = model, source
        self.leaves: list[Leaf] = []

    def err(self, cls, msg, span, hint=None):
        return cls(msg, span=span, source=self.source, hint=hint)

    def leaf(self, query, text: str, span) -> Term:
        plan = plan_query(self.model, query, self.source)
        if plan.kind == "dist":
            raise self.err(QueryError, f"{text} is a whole distribution, not a number to combine", span,
                           hint="combine probabilities of events, such as P(y = 1), or expectations E[y]")
        self.leaves.append(Leaf(text, plan, span))
        return Term("leaf", index=len(self.leaves) - 1, text=text, span=span)

    def term(self, q) -> Term:
        if isinstance(q, S.QueryNumber):
            return Term("num", value=q.value, text=f"{q.value:g}", span=q.span)
        if isinstance(q, S.QueryArith):
            if q.op == "neg":
                inner = self.term(q.left)
                return Term("neg", (inner,), text=q.text or f"-{inner.text}", span=q.span)
            a, b = self.term(q.left), self.term(q.right)
            return Term(q.op, (a, b), text=q.text or f"{a.text} {q.op} {b.text}", span=q.span)
        if isinstance(q, (S.ProbQuery, S.ExpectQuery)) or (isinstance(q, S.EffectQuery) and q.effect not in ("RR", "OR")):
            return self.leaf(q, q.text, q.span)
        if isinstance(q, S.EffectQuery):
            return self.ratio(q)
        if isinstance(q, S.VarQuery):
            return self.variance(q)
        if isinstance(q, S.QuantileQuery):
            return self.quantile(q)
        if isinstance(q, S.CauseQuery):
            raise self.err(QueryError, f"{q.kind}(...) is a yes-or-no answer about one case, not a number to "
                           "combine", q.span, hint="ask it on its own line")
        raise self.err(QueryError, "this question does not combine with others", getattr(q, "span", NOSPAN),
                       hint="combine probabilities P(...), expectations E[...], Var[...], Q[...] and named effects")

    # ---------------------------------------------------------------- Var
    def variance(self, q: S.VarQuery) -> Term:
        """``Var[e | C]`` as ``E[e² | C] - E[e | C]²``: both from the same draws, or exact."""
        square = S.ExpectQuery(S.BinOp("**", q.expr, S.Num(2.0), q.span), q.conditions, q.span, q.text)
        mean = S.ExpectQuery(q.expr, q.conditions, q.span, q.text)
        inner = _inner(q.text)
        m2 = self.leaf(square, f"E[({inner[0]})**2{inner[1]}]", q.span)
        m1 = self.leaf(mean, f"E[{inner[0]}{inner[1]}]", q.span)
        return Term("-", (m2, Term("*", (m1, m1), text=f"{m1.text}**2")), text=q.text, span=q.span)

    # ---------------------------------------------------------------- Q
    def quantile(self, q: S.QuantileQuery) -> Term:
        """``Q[e, p | C]``: the smallest ``v`` with ``P(e <= v | C) >= p``, for ``0 < p < 1``."""
        if not 0.0 < q.level < 1.0:
            raise self.err(QueryError, f"the level of a quantile is a probability strictly between 0 and 1, "
                           f"not {q.level:g}", q.level_span,
                           hint="Q[y, 0.5] is the median, Q[y, 0.9] the 90th percentile")
        if isinstance(q.expr, S.Var) and q.expr.name in self.model and self.model[q.expr.name].levels:
            raise self.err(QueryError, f"'{q.expr.name}' has named levels, which have no order, so no quantile",
                           q.expr.span, hint=f"ask P({q.expr.name}) for its distribution")
        mean = S.ExpectQuery(q.expr, q.conditions, q.span, q.text)
        self.leaves.append(Leaf(q.text, plan_query(self.model, mean, self.source), q.span, q.level))
        return Term("leaf", index=len(self.leaves) - 1, text=q.text, span=q.span)

    # ---------------------------------------------------------------- RR, OR
    def ratio(self, q: S.EffectQuery) -> Term:
        """``RR(X -> Y)`` or ``OR(X -> Y)``: probabilities of ``Y = 1`` at the two values of ``X``."""
        model, x, y = self.model, q.treatment, q.outcome
        for name, span in zip((x, y), q.spans):
            if name not in model:
                raise self.err(UnknownNameError, f"unknown variable '{name}'", span,
                               hint=did_you_mean(name, model.names) or "variables are: " + ", ".join(model.names))
        if q.mediator is not None:
            raise self.err(EffectError, f"{q.effect} takes no mediator", q.spans[2], hint=f"write {q.effect}({x} -> {y})")
        opts: dict[str, tuple] = {}
        known = ("treat", "control", "kind")
        for k, v, kspan in q.options:
            if k not in known:
                raise self.err(EffectError, f"unknown option '{k}'", kspan,
                               hint="; ".join(filter(None, [did_you_mean(k, list(known)),
                                                          "the options are treat=, control= and kind="])))
            if k in opts:
                raise self.err(EffectError, f"option '{k}' is given twice", kspan, hint=f"give {k}= once")
            opts[k] = (v, kspan)
        kind = opts["kind"][0].value if "kind" in opts else "causal"
        if kind not in ("causal", "observational"):
            raise self.err(EffectError, f"kind = {kind} is not a kind of {q.effect}", opts["kind"][0].span,
                           hint="kind = causal (under do, the default) or kind = observational (as seen)")
        if ("treat" not in opts or "control" not in opts) and model[x].domain != (0.0, 1.0):
            what = "continuous" if model[x].domain is None else "not binary"
            raise self.err(EffectError, f"treatment '{x}' is {what}", q.spans[0],
                           hint=f"say which values to compare: {q.effect}({x} -> {y}, treat=..., control=...)")
        if model[y].domain not in ((0.0, 1.0), (0.0,), (1.0,)):
            raise self.err(EffectError, f"{q.effect} needs a binary outcome, and '{y}' is not binary", q.spans[1],
                           hint=f"ask a ratio of probabilities of an event: P({y} > 0 | do({x} = 1)) / "
                                f"P({y} > 0 | do({x} = 0))")

        def prob(which: str, default: float) -> Term:
            v = opts[which][0] if which in opts else S.Value(default, q.span)
            value = S.Var(v.value, None, v.span) if isinstance(v.value, str) else S.Num(v.value, v.span)
            shown = v.value if isinstance(v.value, str) else f"{v.value:g}"
            if kind == "causal":
                cond = S.Do((S.Assignment(x, value, q.spans[0]),), q.span)
                text = f"P({y} = 1 | do({x} = {shown}))"
            else:
                cond = S.Observation(S.Var(x, None, q.spans[0]), S.Value(v.value, v.span))
                text = f"P({y} = 1 | {x} = {shown})"
            event = S.EqEvent(S.Var(y, None, q.spans[1]), S.Value(1.0, q.span, strict=False))
            return self.leaf(S.ProbQuery((event,), (cond,), q.span, text), text, q.span)

        pt, pc = prob("treat", 1.0), prob("control", 0.0)
        if q.effect == "RR":
            return Term("/", (pt, pc), text=q.text, span=q.span)
        one = Term("num", value=1.0, text="1")

        def odds(p: Term) -> Term:
            return Term("/", (p, Term("-", (one, p), text=f"1 - {p.text}", span=p.span)),
                        text=f"odds {p.text}", span=p.span)

        return Term("/", (odds(pt), odds(pc)), text=q.text, span=q.span)


def _inner(text: str) -> tuple[str, str]:
    """``Var[y | x = 1]`` -> ``("y", " | x = 1")``, for naming its parts.

    >>> _inner("Var[y + 1 | do(x = 1)]"), _inner("Var[y]")
    (('y + 1', ' | do(x = 1)'), ('y', ''))
    """
    body = text[text.find("[") + 1: text.rfind("]")] if "[" in text else text
    head, bar, rest = body.partition(" | ")
    return head.strip(), (" | " + rest.strip()) if bar else ""


def plan_combination(model: Model, query, source: str = "") -> Combination:
    """The :class:`Combination` of a question that combines (see :func:`is_combination`).

    >>> from causaldsl import model
    >>> from causaldsl.language.parser import parse_query
    >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.6 * x)\\n}")
    >>> c = plan_combination(m.ir, parse_query("P(y = 1 | x = 1) - P(y = 1 | x = 0)"))
    >>> [leaf.text for leaf in c.leaves], c.term.op
    (['P(y = 1 | x = 1)', 'P(y = 1 | x = 0)'], '-')
    """
    b = _Builder(model, source)
    term = b.term(query)
    if not b.leaves:
        raise b.err(QueryError, "a question combines at least one query; this is a constant",
                    getattr(query, "span", NOSPAN), hint="e.g. E[y | x = 1] - E[y | x = 0]")
    return Combination(getattr(query, "text", "") or term.text, term, tuple(b.leaves), getattr(query, "span", NOSPAN))


def distribution_plan(plan: Plan) -> Plan:
    """The joint distribution of the variables (copies) that ``plan``'s target reads, over the
    same network, evidence and values: with the target evaluated at each of their values, it is
    the exact distribution of the target (what an exact quantile reads).

    >>> from causaldsl import model
    >>> from causaldsl.language.parser import parse_query
    >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.5)\\n}")
    >>> p = distribution_plan(plan_query(m.ir, parse_query("E[x + y | x = 1]")))
    >>> p.kind, p.dist_vars, p.evidence
    ('dist', ('x', 'y'), (('x', '$0'),))
    """
    names = tuple(sorted({v.name for v in walk(plan.target) if isinstance(v, S.Var) and not v.name.startswith("$")}))
    return replace(plan, kind="dist", target=None, dist_vars=names, parts=(),
                   key=PlanKey(("dist", None, names, plan.evidence, plan.network.nodes)))


class DivisionByZero(Exception):
    """Raised by :func:`evaluate` at a division by zero; ``term`` is the divisor."""

    def __init__(self, term: Term):
        super().__init__(term.text)
        self.term = term


def evaluate(term: Term, values) -> tuple[float, list[float]]:
    """``(g, ∂g/∂leaf)`` of ``term`` at the leaves' ``values`` (forward-mode differentiation:
    each node carries its value and its gradient). A divisor that is exactly zero raises
    :class:`DivisionByZero` (never an infinity or a NaN). ``values`` may be arrays (one answer
    per parameter draw): then ``g`` and the gradient are arrays too.

    >>> t = Term("/", (Term("leaf", index=0), Term("leaf", index=1)))
    >>> evaluate(t, [0.6, 0.3])
    (2.0, [3.3333333333333335, -6.666666666666667])
    """
    k = len(values)
    scalar = all(np.ndim(v) == 0 for v in values)

    def go(t: Term) -> tuple[float, list[float]]:
        if t.op == "leaf":
            grad = [0.0] * k
            grad[t.index] = 1.0
            return float(values[t.index]) if scalar else np.asarray(values[t.index], dtype=float), grad
        if t.op == "num":
            return float(t.value), [0.0] * k
        if t.op == "neg":
            v, g = go(t.args[0])
            return -v, [-x for x in g]
        (a, ga), (b, gb) = go(t.args[0]), go(t.args[1])
        if t.op == "+":
            return a + b, [x + y for x, y in zip(ga, gb)]
        if t.op == "-":
            return a - b, [x - y for x, y in zip(ga, gb)]
        if t.op == "*":
            return a * b, [x * b + a * y for x, y in zip(ga, gb)]
        if np.any(np.asarray(b) == 0.0):  # one value, or one per parameter draw
            raise DivisionByZero(t.args[1])
        return a / b, [(x * b - a * y) / (b * b) for x, y in zip(ga, gb)]

    return go(term)
