"""Queries to plans: resolve names and worlds, desugar named effects, lift values into slots.

A :class:`Plan` is what the engines run: the multi-world network pruned to
what the query needs, a target (an expression, or variables whose whole
distribution is wanted), evidence, and the query's values as *slots*.
Two queries that differ only in their values have the same ``Plan.key``, so
the compiled function of the first answers the second.

Named effects (Pearl, *Causality* 2009, ch. 4 and 9; Pearl 2001 "Direct and
indirect effects"), for treatment ``X`` (treat ``t``, control ``c``) and outcome ``Y``:

* ``ATE = E[Y[X=t] - Y[X=c]]``
* ``ETT = E[Y[X=t] - Y[X=c] | X = t]``
* ``NDE = E[Y[X=t, M=M[X=c]] - Y[X=c]]``
* ``NIE = E[Y[X=c, M=M[X=t]] - Y[X=c]]``
* ``PN  = P(Y[X=c] = 0 | X = t, Y = 1)``
* ``PS  = P(Y[X=t] = 1 | X = c, Y = 0)``
* ``PNS = P(Y[X=t] = 1, Y[X=c] = 0)``
* ``CDE = E[Y[X=t, M=m] - Y[X=c, M=m]]``, the controlled direct effect at ``M = m``
  (Pearl 2001, section 2; *Causality* 2009, section 4.5.3)

``RR`` and ``OR`` are ratios of probabilities, not expectations: they are questions that
combine (:mod:`causaldsl.model.combinations`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Optional, Union

import numpy as np

from ..language import syntax as S
from .distributions import FAMILIES
from ..language.errors import (CausalSyntaxError, CycleError, DomainError, EffectError, QueryError, UnknownNameError,
                               did_you_mean)
from .expressions import FUNCTIONS, arity_hint, arity_message, arity_ok, free_vars, is_boolean, map_children, walk
from .expressions import rename as rename_expr
from .checker import check_regime
from .ir import Model, Node, Regime, Slot
from .worlds import Ref, do, regime_cycle, twin

class PlanKey(tuple):
    """A tuple that computes its hash once: engines look their compiled programs up by it on
    every answer, and hashing the whole network (syntax trees included) costs more than the answer."""

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = tuple.__hash__(self)
        return h


@dataclass(frozen=True)
class Plan:
    """A query ready for an engine; ``values`` fill its slots (``$0``, ``$1``, ...)."""

    network: Model
    kind: str  # "prob" | "dist" | "expect"
    target: Optional[S.Expr]  # over copy names and slot names; None means 1
    dist_vars: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...]  # (copy name, slot name)
    key: tuple
    values: tuple[float, ...] = ()
    note: Optional[str] = None  # what the answer leaves out (a count variable's far tail)
    # The same expectation as a signed sum of smaller plans, one per world of the target's terms
    # (E[Y[X=1] - Y[X=0]] = E[Y | do(X=1)] - E[Y | do(X=0)]): what the exact engine contracts,
    # each part over its own network. Empty where the target lives in one world.
    parts: tuple[tuple[float, "Plan"], ...] = ()

    @functools.cached_property
    def value_array(self) -> np.ndarray:
        """``values`` as the engines take them: float64, read-only, ``[0.0]`` where there are none.

        >>> Plan(None, "prob", None, (), (), (), (1.0, 0.0)).value_array
        array([1., 0.])
        """
        out = np.asarray(self.values if self.values else (0.0,), dtype=np.float64)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def finite(self) -> bool:
        """Whether every variable the query touches has finitely many values (what the exact
        engine needs), worked out once per plan: a repeated question asks it on every answer.

        >>> Plan(Model("m", ()), "prob", None, (), (), ()).finite
        True
        """
        return all(n.kind == "fixed" or n.finite for n in self.network.nodes)


class _Builder:
    def __init__(self, model: Model, source: str):
        self.model = model
        self.source = source
        self.values: list[float] = []

    def err(self, cls, msg, span, hint=None):
        return cls(msg, span=span, source=self.source, hint=hint)

    # ---------------------------------------------------------------- names and values
    def var(self, name: str, span) -> str:
        if name not in self.model:
            raise self.err(UnknownNameError, f"unknown variable '{name}'", span,
                           hint=did_you_mean(name, self.model.names) or
                           "variables are: " + ", ".join(self.model.names))
        return name

    def code(self, var: str, value: Union[float, str], span, strict: bool = True) -> float:
        """A value of ``var`` as a number, checked against its domain."""
        node = self.model[var]
        if not strict and not isinstance(value, str):
            return float(value)
        if isinstance(value, str):
            if not node.levels:
                raise self.err(DomainError, f"'{value}' is not a value of '{var}'", span,
                               hint=self._values_hint(node))
            if value not in node.levels:
                raise self.err(DomainError, f"'{value}' is not a level of '{var}'", span,
                               hint=did_you_mean(value, node.levels) or self._values_hint(node))
            return float(node.levels.index(value))
        value = float(value)
        if node.family and FAMILIES[node.family].support == "count" and node.kind != "fixed" \
                and (value < 0 or value != int(value)):
            raise self.err(DomainError, f"{value:g} is not a value of '{var}'", span,
                           hint=f"'{var}' takes the values 0, 1, 2, ...")
        if node.domain is not None and not any(abs(value - d) <= 1e-9 for d in node.domain):
            raise self.err(DomainError, f"{value:g} is not a value of '{var}'", span,
                           hint=self._values_hint(node))
        return value

    def _values_hint(self, node) -> str:
        if node.levels:
            return f"'{node.name}' takes the levels " + ", ".join(node.levels)
        if node.domain is not None:
            shown = ", ".join(f"{d:g}" for d in node.domain[:12]) + (", ..." if len(node.domain) > 12 else "")
            return f"'{node.name}' takes the values {shown}"
        if node.family and FAMILIES[node.family].support == "count":
            return f"'{node.name}' takes the values 0, 1, 2, ..."
        return f"'{node.name}' is continuous"

    def slot_value(self, value: float) -> int:
        """A slot holding ``value`` as it is (no variable's domain to check it against)."""
        self.values.append(float(value))
        return len(self.values) - 1

    def slot(self, var: str, value, span, strict: bool = True) -> Slot:
        v = self.code(var, value, span, strict)
        self.values.append(v)
        idx = len(self.values) - 1
        return Slot(idx)

    def literal(self, expr: S.Expr) -> Optional[Union[float, str]]:
        """A number or a bare name in value position (``X = 1``, ``X = -2``, ``W = sunny``); a
        model variable's name is not a literal here."""
        if isinstance(expr, S.Var) and expr.name in self.model:
            return None
        return S.literal(expr)

    # ---------------------------------------------------------------- worlds
    def world(self, assignments, span) -> tuple:
        items = {}
        spans = {}
        for a in assignments:
            var = self.var(a.name, a.span)
            if var in items:
                raise self.err(QueryError, f"'{var}' is set twice in one world", a.span,
                               hint=f"set '{var}' once")
            lit = None if a.value is None else self.literal(a.value)
            if lit is not None:
                items[var] = self.slot(var, lit, getattr(a.value, "span", a.span))
            elif isinstance(a.value, S.Var) and a.value.world:
                ref = self.term(a.value)
                items[var] = Ref(*ref)
            else:  # a new mechanism in this world: Y[X = X + 1], Y[X = 1 - Z], Y[X ~ Bernoulli(0.3)]
                items[var] = self.regime(a)
                spans[var] = a
        self.check_cycle(items, spans)
        return tuple(sorted(items.items()))

    def regime(self, a: S.Assignment) -> Regime:
        """The new mechanism of ``a`` (``X = X + 1``, ``X ~ Bernoulli(0.3)``), checked."""
        return check_regime(self.model, a, self.source)

    def check_cycle(self, values: dict, spans: dict) -> None:
        """Refuse regimes that read what their own variable causes, at the first one on the cycle."""
        cycle = regime_cycle(self.model, values)
        if cycle:
            at = next(v for v in cycle if v in spans)
            a = spans[at]
            raise self.err(CycleError, "the intervention makes a cycle: " + " -> ".join(cycle),
                           getattr(a.value, "span", None) or (a.dist.span if a.dist else a.span),
                           hint=f"the new mechanism of '{at}' may read only variables that '{at}' does not "
                                f"cause; here {' -> '.join(cycle[:-1])} leads back to '{at}'")

    def term(self, v: S.Var) -> tuple[str, tuple]:
        if isinstance(v, S.Index):
            raise self.subscript_error(v)
        var = self.var(v.name, v.span)
        return (var, self.world(v.world, v.span) if v.world else ())

    def subscript_error(self, e: S.Index) -> QueryError:
        """``y[1]`` or ``y[x]`` in a query: a subscript on a variable names a world, ``y[x = 1]``."""
        if e.name in self.model:
            first = e.indices[0] if e.indices else None
            setting = f"{first.name} = 1" if isinstance(first, S.Var) else \
                next((p for p in self.model[e.name].parents), "x") + " = 1"
            return self.err(QueryError, f"'{e.name}[...]' needs a world: a subscript on a variable says "
                            "which values are set, as in a counterfactual", e.span,
                            hint=f"write {e.name}[{setting}] ({e.name} had {setting.replace(' = ', ' been ')}); "
                                 "an index without '=' picks an entry of a parameter")
        return self.err(UnknownNameError, f"unknown variable or parameter '{e.name}'", e.span,
                        hint=did_you_mean(e.name, self.model.names + [p.name for p in self.model.params]) or
                        "variables are: " + ", ".join(self.model.names))

    def level_or_variable(self, var: str, b: S.Expr) -> Optional[str]:
        """The level named by ``b`` in ``var == b``, or None when ``b`` is not a level name.

        A bare name that is both a level of ``var`` and a variable is refused: the checker reads
        it the same way in models (:func:`causaldsl.model.checker.ambiguous_level`)."""
        if isinstance(b, S.Str):
            return b.value
        if not isinstance(b, S.Var) or b.world is not None:
            return None
        levels = self.model[var].levels or ()
        if b.name in self.model and b.name in levels:
            raise self.err(CausalSyntaxError, f"'{b.name}' is both a level of '{var}' and a variable",
                           b.span, hint=f"quote the level, {var} == \"{b.name}\", or rename the level "
                                        "or the variable")
        return None if b.name in self.model else b.name

    # ---------------------------------------------------------------- expressions
    def expr(self, e: S.Expr, terms: list) -> S.Expr:
        """Resolve names, worlds and level names; record the terms used."""
        if isinstance(e, S.Var):
            t = self.term(e)
            terms.append(t)
            return S.Var(_term_key(t), None, e.span)
        if isinstance(e, S.Index) and not any(p.name == e.name for p in self.model.params):
            raise self.subscript_error(e)
        if isinstance(e, S.Compare):
            for a, b in ((e.left, e.right), (e.right, e.left)):
                label = self.level_or_variable(a.name, b) if isinstance(a, S.Var) and a.name in self.model else None
                if label is not None:
                    var = self.var(a.name, a.span)
                    lvl = S.Level(label, int(self.code(var, label, b.span)), b.span)
                    left = self.expr(a, terms)
                    return replace(e, left=left, right=lvl) if a is e.left else replace(e, left=lvl, right=left)
            return replace(e, left=self.expr(e.left, terms), right=self.expr(e.right, terms))
        if isinstance(e, (S.BinOp, S.BoolOp, S.Unary, S.Not, S.IfElse)):
            return map_children(e, lambda c: self.expr(c, terms))
        if isinstance(e, S.Call):
            if e.fn not in FUNCTIONS:
                raise self.err(UnknownNameError, f"unknown function '{e.fn}'", e.span,
                               hint=did_you_mean(e.fn, list(FUNCTIONS)) or "known functions: " + ", ".join(FUNCTIONS))
            if not arity_ok(e.fn, len(e.args)):
                raise self.err(CausalSyntaxError, arity_message(e.fn, len(e.args)), e.span, hint=arity_hint(e.fn))
            return map_children(e, lambda c: self.expr(c, terms))
        if isinstance(e, S.Table):
            raise self.err(QueryError, "tables belong in models, not queries", e.span,
                           hint="put the table in a statement of the model and ask about that variable")
        if isinstance(e, S.Str):
            raise self.err(QueryError, f"a string \"{e.value}\" is not a number", e.span,
                           hint="compare a categorical variable with a level: W == sunny")
        return e

    def observation(self, term: S.Var, value: S.Value, terms: list) -> tuple[str, str]:
        t = self.term(term)
        terms.append(t)
        s = self.slot(t[0], value.value, value.span, value.strict)
        return (_term_key(t), f"${s.index}")


EVENT = "|"  # the first character of a conditioning event's node (no variable's name has it)


def event_node(i: int, expr: S.Expr, cond: S.Given) -> Node:
    """The ``i``-th conditioning event of a query, ``expr`` over the network's copies, as a node
    that is 1 where the event holds and 0 elsewhere; the query observes it at 1.

    Every engine then conditions on it as it does on an observed ``:=`` variable: the exact one
    contracts its indicator (so P(A | B) = P(A and B) / P(B) exactly), Monte Carlo weights each
    draw by it.

    >>> from causaldsl.language.parser import parse_query
    >>> cond = parse_query("E[y | x > 1 or z == 0]").conditions[0]
    >>> n = event_node(0, cond.expr, cond)
    >>> n.name, n.parents, n.domain, n.text
    ('|0', ('x', 'z'), (0.0, 1.0), 'x > 1 or z == 0')
    """
    name = f"{EVENT}{i}"
    parents = tuple(v for v in free_vars(expr) if not v.startswith("$"))
    return Node(name, "assign", parents, expr=expr, domain=(0.0, 1.0), noise=name, origin=cond.text,
                span=cond.span, text=cond.text)


def describe_evidence(plan: Plan) -> str:
    """What a plan conditions on, as the user wrote it: ``x = 1, y > 2``.

    >>> from causaldsl.language.parser import parse, parse_query
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").items[0])
    >>> describe_evidence(plan_query(m, parse_query("P(y = 1 | x = 1, x + y > 0)")))
    'x = 1, x + y > 0'
    >>> m = check_model(parse('model m {\\n w ~ Categorical(sun: 0.7, "<5": 0.3)\\n}').items[0])
    >>> describe_evidence(plan_query(m, parse_query('P(w = sun | w = "<5")')))
    'w = "<5"'
    """
    parts = []
    for copy, slot in plan.evidence:
        node = plan.network[copy]
        if copy.startswith(EVENT):
            parts.append(node.text)
            continue
        value = plan.values[int(slot[1:])]
        # a levelled variable's value is held as its level's code: say the level
        said = S.level_text(node.levels[int(value)]) if node.levels else f"{value:g}"
        # a factual variable as it is written (`grass wet`); a copy in another world by its copy's name
        name = S.name_text(copy) if copy == node.origin else copy
        parts.append(f"{name} = {said}")
    return ", ".join(parts)


def _term_key(t) -> str:
    """A unique name for a (variable, world) term until copies are named."""
    return repr(t)


def _and(a: Optional[S.Expr], b: S.Expr) -> S.Expr:
    return b if a is None else S.BoolOp("and", a, b)


def plan_query(model: Model, query: S.Query, source: str = "") -> Plan:
    """Resolve ``query`` against ``model`` into a :class:`Plan`.

    >>> from causaldsl.language.parser import parse, parse_query
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").items[0])
    >>> p = plan_query(m, parse_query("P(y = 1 | do(x = 0))"))
    >>> p.kind, p.values, p.network.names
    ('prob', (0.0, 1.0), ['x', 'y'])
    """
    if isinstance(query, S.EffectQuery):
        query = expand_effect(model, query, source)
    plan = _plan(model, query, source)
    summands = _summands(query.expr) if isinstance(query, S.ExpectQuery) else []
    if len({_worlds(e) for _, e in summands} - {frozenset()}) > 1:
        parts = tuple((sign, _plan(model, replace(query, expr=e), source, part=True)) for sign, e in summands)
        plan = replace(plan, parts=parts)
    return plan


def _summands(e: S.Expr, sign: float = 1.0) -> list[tuple[float, S.Expr]]:
    """``e`` as signed terms of a sum (``a - (b + c)``: ``+a, -b, -c``), by linearity of expectation.

    >>> [(s, t.name) for s, t in _summands(S.BinOp("-", S.Var("a"), S.BinOp("+", S.Var("b"), S.Var("c"))))]
    [(1.0, 'a'), (-1.0, 'b'), (-1.0, 'c')]
    """
    if isinstance(e, S.BinOp) and e.op in ("+", "-"):
        return _summands(e.left, sign) + _summands(e.right, sign if e.op == "+" else -sign)
    if isinstance(e, S.Unary) and e.op == "-":
        return _summands(e.operand, -sign)
    return [(sign, e)]


def _worlds(e: S.Expr) -> frozenset:
    """The worlds (subscripts) of the variables in ``e``; ``None`` stands for the factual one."""
    return frozenset(v.world for v in walk(e) if isinstance(v, S.Var))


def _plan(model: Model, query: S.Query, source: str, part: bool = False) -> Plan:
    """The one plan of a probability or expectation query (no named effects); ``part``: a term
    of a larger expectation, whose checks the whole query has passed."""
    b = _Builder(model, source)
    terms: list = []
    evidence: list[tuple[str, str]] = []
    do_values: dict = {}  # variable -> Slot (a value) or Regime (a new mechanism)
    do_items: dict[str, S.Assignment] = {}
    for cond in query.conditions:
        if isinstance(cond, S.Do):
            for a in cond.assignments:
                var = b.var(a.name, a.span)
                if var in do_values:
                    raise b.err(QueryError, f"do() sets '{var}' twice", a.span,
                                hint=f"intervene on '{var}' once; ask two queries to compare values")
                if a.value is None and a.dist is None:
                    raise b.err(QueryError, "do() sets a variable to a value, an expression or a draw",
                                a.span, hint=f"write do({a.name} = 1), do({a.name} = {a.name} + 1) or "
                                             f"do({a.name} ~ Bernoulli(0.5)); do({a.name}) without a value "
                                             "belongs in 'identify P(... | do(...))'")
                lit = None if a.value is None else b.literal(a.value)
                if lit is None:
                    do_values[var] = b.regime(a)
                    do_items[var] = a
                else:
                    do_values[var] = b.slot(var, lit, getattr(a.value, "span", a.span))
    b.check_cycle(do_values, do_items)
    events: list[tuple[S.Expr, S.Given]] = []  # conditions that are logical expressions
    for cond in query.conditions:
        if isinstance(cond, S.Observation) and cond.value is None:
            raise b.err(QueryError, f"observe '{cond.term.name}' at a value", cond.span,
                        hint=f"write {cond.term.name} = 1; a bare name belongs in 'identify P(... | do(...), Z)'")
        if isinstance(cond, S.Observation):
            evidence.append(b.observation(cond.term, cond.value, terms))
        elif isinstance(cond, S.Given):
            if not is_boolean(cond.expr):
                what = _text(source, cond.span) or "this expression"
                raise b.err(QueryError, f"a condition is true or false, and {what} is a number", cond.span,
                            hint=f"compare it: {what} > 0, or observe a value: {what} = 1")
            events.append((b.expr(cond.expr, terms), cond))

    target: Optional[S.Expr] = None
    dist_vars: list[str] = []
    dist_events: list[S.ExprEvent] = []
    if isinstance(query, S.ExpectQuery):
        kind = "expect"
        target = b.expr(query.expr, terms)
    else:
        kind = "prob"
        for ev in query.events:
            if isinstance(ev, S.EqEvent):
                t = b.term(ev.term)
                terms.append(t)
                s = b.slot(t[0], ev.value.value, ev.value.span, ev.value.strict)
                target = _and(target, S.Compare("==", S.Var(_term_key(t)), S.Var(f"${s.index}")))
            elif isinstance(ev.expr, S.Var):
                t = b.term(ev.expr)
                terms.append(t)
                dist_vars.append(_term_key(t))
                dist_events.append(ev)
            elif not is_boolean(ev.expr):
                what = _text(source, ev.span) or "this expression"
                raise b.err(QueryError, f"an event is true or false, and {what} is a number", ev.span,
                            hint=f"did you mean E[{what}]? Or compare it: P({what} > 0)")
            else:
                target = _and(target, b.expr(ev.expr, terms))
        if dist_vars:
            kind = "dist"
    base = do(model, do_values) if do_values else model
    net, copies = twin(base, list(dict.fromkeys(terms)))
    rename = {_term_key(t): c for t, c in copies.items()}
    if target is not None and any(k != c for k, c in rename.items()):  # factual terms keep their names
        target = rename_expr(target, rename)
    dist = tuple(rename[d] for d in dist_vars)
    evid = tuple((rename[c], s) for c, s in evidence)
    for i, (expr, cond) in enumerate(events):
        node = event_node(i, rename_expr(expr, rename), cond)
        net = Model(net.name, net.nodes + (node,), net.source, net.params)
        evid += ((node.name, f"${b.slot_value(1.0)}"),)
    if kind == "expect" and not part:
        for e in walk(target):
            if isinstance(e, S.Var) and not e.name.startswith("$"):
                node = net[e.name]
                if node.levels and node.kind != "fixed" and target == S.Var(e.name):
                    raise b.err(QueryError, f"'{node.origin}' has named levels, so it has no mean",
                                query.span, hint=f"ask P({node.origin}) for its distribution")
    needed = set(dist) | {c for c, _ in evid}
    if target is not None:
        needed |= {v for v in free_vars(target) if not v.startswith("$")}
    net = net.restrict(net.ancestors(needed))
    net, note = bound_counts(net, b.values, dict(evid), dist)
    for d, ev in zip(dist, dist_events):
        if not net[d].finite:
            raise _unlisted(b, net[d], ev)
    # Syntax nodes compare without their spans, so the resolved tree itself is the key.
    key = PlanKey((kind, target, dist, evid, net.nodes))
    return Plan(net, kind, target, dist, evid, key, tuple(b.values), note)


# ------------------------------------------------------------------ count variables
TAIL = 1e-12  # probability a count variable may leave out above its listed values
MAX_COUNT_VALUES = 100_000  # values listed for one count variable (Binomial's limit on trials)
MAX_COUNT_TABLE = 1_000_000  # entries of its table over its parents' values; larger is left to Monte Carlo


def bound_counts(net: Model, values, evidence: dict, wanted=()) -> tuple[Model, Optional[str]]:
    """``net`` with its count variables (``Poisson``) given the values ``0..K`` that hold all but
    :data:`TAIL` of their probability, and the note that says so (None when nothing was cut).

    A count variable is listed when its parameters take finitely many values (its parents are
    discrete, or held by ``do``): ``K`` is the family's tail bound at the largest parameters,
    raised to cover any value observed for it, unless it or its table would be too large
    (:data:`MAX_COUNT_VALUES`, :data:`MAX_COUNT_TABLE`). The ``:=`` variables computed from it get the
    image of their expression. The network is then finite where the rest of it is, and the
    exact engine answers it, to within ``TAIL``. Where it is not, the network is left as it is,
    unless a variable in ``wanted`` (those of ``P(Y)``) needs its values listed.

    >>> from causaldsl import model
    >>> net, note = bound_counts(model("model m {\\n n ~ Poisson(3)\\n}").ir, [], {})
    >>> len(net["n"].domain), note
    (23, 'n is listed up to 22: the probability above is below 1e-12')
    """
    from .checker import _expr_image  # the checker's image of an expression over finite domains

    done: dict[str, Node] = {}
    cut: dict[str, int] = {}
    listed: set[str] = set()  # nodes given values here: the := over them are worked out again
    for node in net.nodes:
        if node.domain is None and node.kind != "fixed":
            env = {e: _as_finite(done[p], values) for e, p in node.env_names.items()}
            fam = FAMILIES[node.family] if node.kind == "sample" else None
            if fam is not None and fam.tail_bound is not None:
                images = [_expr_image(a, env) for a in node.args]
                if all(images) and all(np.isfinite(max(i)) for i in images):
                    k = fam.tail_bound(tuple(max(i) for i in images), TAIL)
                    if k is not None and node.name in evidence:
                        k = max(k, int(values[int(evidence[node.name][1:])]))
                    cells = (k or 0) + 1  # the variable's table over its parents' values
                    for parent in env.values():
                        cells *= len(parent.domain or ())
                    if k is not None and k < MAX_COUNT_VALUES and cells <= MAX_COUNT_TABLE:
                        node = replace(node, domain=tuple(float(i) for i in range(k + 1)))
                        cut[node.origin] = max(k, cut.get(node.origin, 0))
                        listed.add(node.name)
            elif node.kind == "assign" and listed.intersection(node.parents):
                node = replace(node, domain=_expr_image(node.expr, env))
                if node.domain is not None:
                    listed.add(node.name)
        done[node.name] = node
    out = Model(net.name, tuple(done[n.name] for n in net.nodes), net.source, net.params)
    finite = all(n.kind == "fixed" or n.finite for n in out.nodes)
    if not cut or not (finite or listed.intersection(wanted)):
        return net, None  # Monte Carlo draws counts whole: a listing would change nothing
    note = "; ".join(f"{v} is listed up to {k}" for v, k in cut.items())
    return out, f"{note}: the probability above is below {TAIL:g}"


def _as_finite(node: Node, values) -> Node:
    """``node`` as the tail bound reads it: a variable held by ``do`` takes just its value."""
    if node.kind == "fixed" and node.domain is None and node.value is not None:
        v = values[node.value.index] if isinstance(node.value, Slot) else node.value
        return replace(node, domain=(float(v),))
    return node


def _unlisted(b: "_Builder", node: Node, ev: S.ExprEvent) -> QueryError:
    """The refusal of ``P(Y)`` for a variable whose values cannot be listed."""
    name = ev.expr.name
    if node.family and FAMILIES[node.family].support == "count":
        why = (f"'{node.origin}' is a count whose parameters depend on continuous variables or "
               f"parameters, or spread it over more than {MAX_COUNT_VALUES:,} values")
    else:
        why = f"'{node.origin}' is continuous"
    return b.err(QueryError, f"P({name}) asks for the whole distribution, and {why}", ev.span,
                 hint=f"ask E[{name}] or the probability of an event, e.g. P({name} > 0)")


def _text(source: str, span) -> str:
    """The text ``span`` covers on its line of ``source`` ('' when unknown)."""
    lines = source.splitlines()
    if not span or not span.end_column or not 0 < span.line <= len(lines):
        return ""
    return lines[span.line - 1][span.column - 1:span.end_column - 1].strip()


# ------------------------------------------------------------------ named effects
def expand_effect(model: Model, q: S.EffectQuery, source: str = ""):
    """Rewrite ``ATE(X -> Y)`` and friends as counterfactual queries."""
    def err(cls, msg, span, hint=None):
        return cls(msg, span=span, source=source, hint=hint)

    names = [q.treatment, q.outcome] + ([q.mediator] if q.mediator else [])
    for name, span in zip(names, q.spans):
        if name not in model:
            raise err(UnknownNameError, f"unknown variable '{name}'", span,
                      hint=did_you_mean(name, model.names) or "variables are: " + ", ".join(model.names))
    if q.effect in ("RR", "OR"):
        raise err(QueryError, f"{q.effect} is a ratio of two probabilities, not one query", q.span,
                  hint=f"ask it with m.query(\"{q.text or q.effect}\"); explain, twin, identify and bounds take "
                       "one probability or expectation")
    opts: dict[str, S.Value] = {}
    held = _held_mediator(model, q, err) if q.effect == "CDE" else None
    for k, v, kspan in q.options:
        if held is not None and k == q.mediator:
            continue
        if k not in ("treat", "control"):
            raise err(EffectError, f"unknown option '{k}'", kspan,
                      hint="; ".join(filter(None, [did_you_mean(k, ["treat", "control"]),
                                                 "the options are treat= and control="])))
        if k in opts:
            raise err(EffectError, f"option '{k}' is given twice", kspan, hint=f"give {k}= once")
        opts[k] = v
    x, y, m = q.treatment, q.outcome, q.mediator
    xnode = model[x]
    if q.effect in ("NDE", "NIE") and m is None:
        raise err(EffectError, f"{q.effect} needs a mediator", q.span, hint=f"write {q.effect}({x} -> {y} via M)")
    if q.effect not in ("NDE", "NIE", "CDE") and m is not None:
        raise err(EffectError, f"{q.effect} takes no mediator", q.spans[2], hint=f"write {q.effect}({x} -> {y})")

    def opt(name, default):
        if name in opts:
            v = opts[name]
            return S.Var(v.value, None, v.span) if isinstance(v.value, str) else S.Num(v.value, v.span)
        return S.Num(default, q.span)

    if ("treat" not in opts or "control" not in opts) and xnode.domain != (0.0, 1.0):
        what = "continuous" if xnode.domain is None else "not binary"
        raise err(EffectError, f"treatment '{x}' is {what}", q.spans[0],
                  hint=f"say which values to compare: {q.effect}({x} -> {y}{f' via {m}' if m else ''}, "
                       "treat=..., control=...)")
    t, c = opt("treat", 1.0), opt("control", 0.0)
    if q.effect in ("PN", "PS", "PNS") and model[y].domain not in ((0.0, 1.0), (0.0,), (1.0,)):
        raise err(EffectError, f"{q.effect} needs a binary outcome, and '{y}' is not binary", q.spans[1],
                  hint="probabilities of causation are defined for events Y = 1 / Y = 0")

    def V(name, **world):
        w = tuple(S.Assignment(k, v) for k, v in world.items()) or None
        return S.Var(name, w)

    def diff(a, b):
        return S.BinOp("-", a, b)

    def obs(name, value, where=q.span, strict=True):
        return S.Observation(S.Var(name, None, q.span), S.Value(value, where, strict))

    def ev(var, value):
        return S.EqEvent(var, S.Value(value, q.span, strict=False))

    tv = t.value if isinstance(t, S.Num) else t.name
    cv = c.value if isinstance(c, S.Num) else c.name
    span, text = q.span, q.text
    if q.effect == "ATE":
        return S.ExpectQuery(diff(V(y, **{x: t}), V(y, **{x: c})), (), span, text)
    if q.effect == "ETT":
        return S.ExpectQuery(diff(V(y, **{x: t}), V(y, **{x: c})), (obs(x, tv, t.span),), span, text)
    if q.effect == "CDE":
        mv = S.Var(held.value, None, held.span) if isinstance(held.value, str) else S.Num(held.value, held.span)
        return S.ExpectQuery(diff(V(y, **{x: t, m: mv}), V(y, **{x: c, m: mv})), (), span, text)
    if q.effect == "NDE":
        return S.ExpectQuery(diff(V(y, **{x: t, m: V(m, **{x: c})}), V(y, **{x: c})), (), span, text)
    if q.effect == "NIE":
        return S.ExpectQuery(diff(V(y, **{x: c, m: V(m, **{x: t})}), V(y, **{x: c})), (), span, text)
    if q.effect == "PN":
        return S.ProbQuery((ev(V(y, **{x: c}), 0.0),), (obs(x, tv, t.span), obs(y, 1.0, strict=False)), span, text)
    if q.effect == "PS":
        return S.ProbQuery((ev(V(y, **{x: t}), 1.0),), (obs(x, cv, c.span), obs(y, 0.0, strict=False)), span, text)
    if q.effect == "PNS":
        return S.ProbQuery((ev(V(y, **{x: t}), 1.0), ev(V(y, **{x: c}), 0.0)), (), span, text)
    raise err(EffectError, f"unknown effect {q.effect}", q.span)  # pragma: no cover


def _held_mediator(model: Model, q: S.EffectQuery, err) -> S.Value:
    """The value ``m`` at which ``CDE(X -> Y via M, M = m)`` holds its mediator, checked: ``M`` is
    named, given a value, and lies on a directed path from ``X`` to ``Y`` (else the CDE is the
    ATE under another name, and the question was likely meant for another variable)."""
    x, y, m = q.treatment, q.outcome, q.mediator
    if m is None:
        raise err(EffectError, "CDE needs a mediator and the value it is held at", q.span,
                  hint=f"write CDE({x} -> {y} via M, M = 0)")
    given = [(v, kspan) for k, v, kspan in q.options if k == m]
    if not given:
        raise err(EffectError, f"CDE holds '{m}' at a value: say which", q.spans[2],
                  hint=f"write CDE({x} -> {y} via {m}, {m} = 0)")
    if len(given) > 1:
        raise err(EffectError, f"'{m}' is held at a value twice", given[1][1], hint=f"give {m} = ... once")
    if m in (x, y) or x not in model.ancestors([m]) or m not in model.ancestors([y]):
        why = ("is the treatment or the outcome" if m in (x, y) else
               f"is not caused by '{x}'" if x not in model.ancestors([m]) else f"does not cause '{y}'")
        raise err(EffectError, f"'{m}' is not a mediator of {x} -> {y}: it {why}", q.spans[2],
                  hint=f"a mediator lies on a directed path {x} -> ... -> {m} -> ... -> {y}; "
                       f"for the total effect ask ATE({x} -> {y})")
    return given[0][0]
