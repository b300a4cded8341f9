"""Bounds questions end to end: a query, a model or a graph, and perhaps data, to a :class:`~causaldsl.graphs.bounds.Bounds`.

Two methods (see ``docs/language.md``, "Bounds"):

* ``tian-pearl``: the closed forms of :mod:`causaldsl.graphs.bounds` for ``PN``, ``PS`` and ``PNS`` of a
  model, from its observational ``P(X, Y)`` and its experimental ``P(y | do(x))``;
* ``lp``: the response-function linear programme of :mod:`causaldsl.graphs.lp_bounds` for
  ``P(... | do(...))``, counterfactual point events and the named effects, from a model's
  observational distribution over its observed variables, or from data.

From data, the ends come with bands: the programme is solved again on draws of the observed
distribution, from its Dirichlet posterior (``Dirichlet(counts + 1)``) or by the bootstrap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..language import syntax as S
from .bounds import Bounds, BoundsError, Observed, formula_text, tian_pearl
from ..language.errors import CausalDSLError, DataError, UnknownNameError, did_you_mean
from .lp_bounds import MAX_TYPES, Infeasible, LinearQuery, empirical_joint, lp_bounds, prepare

METHODS = ("tian-pearl", "lp")
UNCERTAINTY = ("dirichlet", "bootstrap")
MAX_LEVELS = 20  # a data column with more distinct values is not a discrete variable for bounding
TP_HINT = "Tian-Pearl's bounds cover PN, PS and PNS of a model; method = lp bounds the others"


class _Ctx:
    """Where errors point: the query's source text."""

    def __init__(self, source: str):
        self.source = source

    def err(self, msg: str, span=None, hint: Optional[str] = None, cls=BoundsError) -> CausalDSLError:
        return cls(msg, span=span, source=self.source if span is not None else None, hint=hint)


# ------------------------------------------------------------------ the observed side
class ObservedSide:
    """The observed variables of a graph, their values, and the graph over them (an ADMG)."""

    def __init__(self, admg, order: list[str], domains: dict[str, tuple], latents=()):
        self.admg = admg
        self.order = order
        self.domains = domains
        self.latents = frozenset(latents)

    @property
    def sizes(self) -> dict[str, int]:
        return {v: len(d) for v, d in self.domains.items()}


def model_side(m) -> ObservedSide:
    """The observed variables of a model with their values (levels, or numbers)."""
    order = [n.name for n in m.ir.nodes if not n.latent]
    domains = {}
    for n in m.ir.nodes:
        if n.latent:
            continue
        if n.levels:
            domains[n.name] = tuple(n.levels)
        elif n.domain is not None:
            domains[n.name] = tuple(float(v) for v in n.domain)
        else:
            raise BoundsError(f"'{n.name}' is not discrete, and bounds need discrete observed variables",
                              hint="bounds cover models whose observed variables take finitely many values")
    return ObservedSide(m.causal_graph.admg, order, domains, [n.name for n in m.ir.nodes if n.latent])


def model_joint(m, side: ObservedSide) -> np.ndarray:
    """The model's observational distribution over its observed variables, as an array."""
    r = m.query("P(" + ", ".join(side.order) + ")")
    joint = np.zeros([len(side.domains[v]) for v in side.order])
    for key, p in r.value.items():
        key = key if isinstance(key, tuple) else (key,)
        joint[tuple(_value_index(side.domains[v], k) for v, k in zip(side.order, key))] += p
    return joint


def _value_index(domain: tuple, value) -> int:
    for i, d in enumerate(domain):
        if isinstance(d, str) or isinstance(value, str):
            if str(d) == str(value):
                return i
        elif abs(float(d) - float(value)) <= 1e-9:
            return i
    raise KeyError(value)


def data_codes(cols: dict, side: ObservedSide, fixed_domains: bool, where: str = "the data") -> tuple[dict, dict]:
    """Value indices of each observed column, and the domains (read off the data for a graph)."""
    missing = [v for v in side.order if v not in cols]
    if missing:
        raise BoundsError(f"{where} has no column for " + ", ".join(f"'{v}'" for v in missing),
                          hint="columns are: " + ", ".join(cols) if cols else "the data are empty")
    codes, domains = {}, dict(side.domains)
    for v in side.order:
        col = np.asarray(cols[v])
        if col.dtype.kind == "f" and np.isnan(col).any():
            raise DataError(f"column '{v}' has missing values", hint="drop or impute the rows with missing values")
        if not fixed_domains:
            values = np.unique(col)
            if len(values) > MAX_LEVELS:
                raise BoundsError(f"column '{v}' has {len(values)} distinct values, and bounds need discrete variables",
                                  hint=f"bin it into at most {MAX_LEVELS} values first")
            domains[v] = tuple(x.item() if hasattr(x, "item") else x for x in values)
            if col.dtype.kind in "biuf" and set(domains[v]) <= {0, 1}:
                domains[v] = (0.0, 1.0)  # a 0/1 column is binary even where a sample shows one value
        try:
            codes[v] = np.array([_value_index(domains[v], x) for x in col], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"column '{v}' holds {exc.args[0]!r}, which is not a value of '{v}'",
                            hint=f"'{v}' takes the values " + ", ".join(map(str, domains[v]))) from None
    return codes, domains


# ------------------------------------------------------------------ queries as linear forms
class _Linear:
    """Turns a parsed query into a :class:`LinearQuery` over value indices."""

    def __init__(self, side: ObservedSide, ctx: _Ctx):
        self.side, self.ctx = side, ctx

    def var(self, name: str, span) -> str:
        if name in self.side.latents:
            raise self.ctx.err(f"'{name}' is latent, and bounds are on observed variables", span,
                               cls=UnknownNameError, hint="bound a quantity of the observed variables: "
                               + ", ".join(self.side.order))
        if name not in self.side.domains:
            pool = self.side.order
            raise self.ctx.err(f"unknown variable '{name}'", span, cls=UnknownNameError,
                               hint=did_you_mean(name, pool) or "observed variables are: " + ", ".join(pool))
        return name

    def index(self, var: str, value, span) -> int:
        try:
            return _value_index(self.side.domains[var], value)
        except KeyError:
            from ..language.errors import DomainError

            raise self.ctx.err(f"{value!r} is not a value of '{var}'", span, cls=DomainError,
                               hint=f"'{var}' takes the values " + ", ".join(map(str, self.side.domains[var])))

    def world(self, assignments, span, outer=()) -> tuple:
        items = dict(outer)
        for a in assignments or ():
            var = self.var(a.name, a.span)
            if isinstance(a.value, S.Var) and (a.value.world is not None or a.value.name in self.side.domains):
                inner = self.var(a.value.name, a.value.span)
                items[var] = (inner, self.world(a.value.world, a.value.span))
                continue
            lit = S.literal(a.value)
            if lit is None:
                raise self.ctx.err("an intervention here sets a value or another variable's counterfactual",
                                   getattr(a.value, "span", a.span), hint=f"write {var} = 1 or {var} = M[X = 0]")
            items[var] = self.index(var, lit, getattr(a.value, "span", a.span))
        return tuple(sorted(items.items()))

    def prob(self, q: S.ProbQuery) -> LinearQuery:
        outer, observations = (), []
        for cond in q.conditions:
            if isinstance(cond, S.Do):
                if any(a.value is None for a in cond.assignments):
                    raise self.ctx.err("bounds need values in do(...)", cond.span, hint="write do(X = 1)")
                outer = self.world(cond.assignments, cond.span)
            elif isinstance(cond, S.Observation) and cond.term.world is None and cond.value is not None:
                var = self.var(cond.term.name, cond.term.span)
                observations.append((var, self.index(var, cond.value.value, cond.value.span), cond.span))
            else:
                raise self.ctx.err("bounds take observations of factual variables as conditions", cond.span,
                                   hint="write conditions such as X = 1, Y = 0 (a counterfactual goes left of '|')")
        reached = self.side.admg.descendants([v for v, _ in outer]) if outer else set()
        for var, _, span in observations:
            if var in reached:
                raise self.ctx.err(f"'{var}' is observed after the intervention, which bounds do not cover", span,
                                   hint=f"write the counterfactual event itself, e.g. P(Y[X = 1] = 1, {var}[X = 1] = 1)")
        event = []
        for ev in q.events:
            if not isinstance(ev, S.EqEvent):
                raise self.ctx.err("bounds take point events such as Y = 1", ev.span,
                                   hint="write P(Y = 1 | do(X = 1)), or a named effect such as ATE(X -> Y)")
            var = self.var(ev.term.name, ev.term.span)
            world = self.world(ev.term.world, ev.term.span, outer)
            event.append((var, world, self.index(var, ev.value.value, ev.value.span)))
        return LinearQuery(((1.0, tuple(event)),), tuple((v, i) for v, i, _ in observations))

    def effect(self, q: S.EffectQuery) -> LinearQuery:
        if q.effect in ("CDE", "RR", "OR"):  # not a linear form of the counterfactual distribution here
            raise self.ctx.err(f"bounds are for ATE, ETT, NDE, NIE, PN, PS and PNS, not {q.effect}", q.span,
                               hint="bound the probabilities it is made of, e.g. bounds P(Y = 1 | do(X = 1))")
        x = self.var(q.treatment, q.spans[0])
        y = self.var(q.outcome, q.spans[1])
        opts = {k: (v, sp) for k, v, sp in q.options}
        for k, (_, sp) in opts.items():
            if k not in ("treat", "control"):
                raise self.ctx.err(f"unknown option '{k}'", sp, hint="the options are treat= and control=")
        if ("treat" not in opts or "control" not in opts) and self.side.domains[x] != (0.0, 1.0):
            raise self.ctx.err(f"treatment '{x}' is not binary", q.spans[0],
                               hint=f"say which values to compare: {q.effect}({x} -> {y}, treat=..., control=...)")
        t = self.index(x, opts["treat"][0].value, opts["treat"][1]) if "treat" in opts else 1
        c = self.index(x, opts["control"][0].value, opts["control"][1]) if "control" in opts else 0
        ydom = self.side.domains[y]
        if q.effect in ("PN", "PS", "PNS"):
            if ydom != (0.0, 1.0):
                raise self.ctx.err(f"{q.effect} needs a binary outcome, and '{y}' is not binary", q.spans[1],
                                   hint=f"'{y}' takes the values " + ", ".join(map(str, ydom)))
            yt, yc = ((y, ((x, t),), 1),), ((y, ((x, c),), 0),)
            if q.effect == "PNS":
                return LinearQuery(((1.0, yt + yc),))
            if q.effect == "PN":
                return LinearQuery(((1.0, yc),), ((x, t), (y, 1)))
            return LinearQuery(((1.0, yt),), ((x, c), (y, 0)))
        if any(isinstance(v, str) for v in ydom):
            raise self.ctx.err(f"'{y}' has named levels, so it has no mean", q.spans[1],
                               hint=f"bound P({y} = level | do({x} = ...)) instead")
        if q.effect in ("NDE", "NIE"):
            if q.mediator is None:
                raise self.ctx.err(f"{q.effect} needs a mediator", q.span, hint=f"write {q.effect}({x} -> {y} via M)")
            m = self.var(q.mediator, q.spans[2])
            a, b = (t, c) if q.effect == "NDE" else (c, t)
            first = tuple(sorted({x: a, m: (m, ((x, b),))}.items()))
            worlds, given = (first, ((x, c),)), ()
        elif q.mediator is not None:
            raise self.ctx.err(f"{q.effect} takes no mediator", q.spans[2], hint=f"write {q.effect}({x} -> {y})")
        else:
            worlds, given = (((x, t),), ((x, c),)), (((x, t),) if q.effect == "ETT" else ())
        terms = [(sign * float(v), ((y, w, k),)) for sign, w in zip((1.0, -1.0), worlds) for k, v in enumerate(ydom)
                 if float(v) != 0.0]
        return LinearQuery(tuple(terms), given)


def linear_query(q, side: ObservedSide, source: str = "") -> LinearQuery:
    """``q`` (a parsed ``P(...)`` or named effect) as a linear form over the observed variables' value indices.

    >>> from causaldsl.graphs.admg import ADMG
    >>> from causaldsl.language.parser import parse_query
    >>> side = ObservedSide(ADMG.from_edges([("X", "Y")]), ["X", "Y"], {"X": (0.0, 1.0), "Y": (0.0, 1.0)})
    >>> linear_query(parse_query("PN(X -> Y)"), side)
    LinearQuery(terms=((1.0, (('Y', (('X', 0),), 0),)),), given=(('X', 1), ('Y', 1)))
    """
    ctx = _Ctx(source)
    lin = _Linear(side, ctx)
    if isinstance(q, S.ProbQuery):
        return lin.prob(q)
    if isinstance(q, S.EffectQuery):
        return lin.effect(q)
    raise ctx.err("bounds take P(...) of point events or a named effect", getattr(q, "span", None),
                  hint="e.g. bounds P(Y = 1 | do(X = 1)), bounds ATE(X -> Y), bounds PNS(X -> Y)")


# ------------------------------------------------------------------ the two methods
def tian_pearl_of_model(m, q: S.EffectQuery, source: str = "") -> Bounds:
    """Tian & Pearl's bounds on ``PN``/``PS``/``PNS`` from the model's ``P(X, Y)`` and ``P(y | do(x))``."""
    ctx = _Ctx(source)
    side = model_side(m)
    lin = _Linear(side, ctx)
    lin.effect(q)  # the same checks on names, options and binary variables as the programme's
    x, y = q.treatment, q.outcome
    if side.domains[x] != (0.0, 1.0):
        raise ctx.err(f"Tian-Pearl's bounds need a binary treatment, and '{x}' is not", q.spans[0],
                      hint="bound it with method = lp")
    opts = {k: v.value for k, v, _ in q.options}
    t, c = float(opts.get("treat", 1.0)), float(opts.get("control", 0.0))
    p_yt = float(m.query(f"P({y} = 1 | do({x} = {t:g}))").value)
    p_yc = float(m.query(f"P({y} = 1 | do({x} = {c:g}))").value)
    xy = m.query(f"P({x}, {y})").value
    get = lambda xv, yv: float(sum(p for k, p in xy.items() if float(k[0]) == xv and float(k[1]) == yv))
    o = Observed(p_yt, p_yc, get(t, 1.0), get(t, 0.0), get(c, 1.0), get(c, 0.0))
    need = {"PN": (o.p_xy, f"P({x} = {t:g}, {y} = 1)"), "PS": (o.p_x_y_, f"P({x} = {c:g}, {y} = 0)")}.get(q.effect)
    if need is not None and need[0] <= 0:
        from ..language.errors import ZeroProbabilityError

        raise ctx.err(f"{q.effect} conditions on {need[1]}, which has probability 0", q.span,
                      cls=ZeroProbabilityError, hint="the probability of causation is undefined there")
    low, high, lt, ht = tian_pearl(q.effect, o)
    formula = formula_text(lt, ht).replace("<= . <=", f"<= {q.effect} <=")
    return Bounds(_label(q, source), low, high, "Tian-Pearl (2000)", formula, tuple(lt), tuple(ht))


def _label(q, source: str) -> str:
    return getattr(q, "text", "") or source.strip()


def _lp(side: ObservedSide, joint: np.ndarray, lin: LinearQuery, ctx: _Ctx, span):
    try:
        return lp_bounds(side.admg, side.sizes, joint, side.order, lin)
    except OverflowError as exc:
        raise ctx.err(f"the linear programme would have {exc.args[0]:,} response types (at most {MAX_TYPES:,})", span,
                      hint="bound a smaller graph: fewer parents or fewer values on the confounded side") from None
    except ZeroDivisionError:
        from ..language.errors import ZeroProbabilityError

        given = ", ".join(f"{v} = {side.domains[v][i]:g}" if not isinstance(side.domains[v][i], str)
                          else f"{v} = {side.domains[v][i]}" for v, i in lin.given)
        raise ctx.err(f"the query conditions on {given}, which has probability 0", span, cls=ZeroProbabilityError,
                      hint="condition on an event that occurs") from None


def bounds(target, text: Union[str, Any], *, data: Any = None, method: Optional[str] = None,
           draws: int = 200, level: float = 0.95, uncertainty: str = "dirichlet", seed: int = 0,
           experiment: Any = None, source: Optional[str] = None) -> Bounds:
    """Bounds on ``text`` for a model or a graph (see :meth:`CausalModel.bounds`): picks the method
    and the source of the observed distribution (the model, data, data and an experiment)."""
    from dataclasses import replace

    from ..language.parser import parse_query

    if isinstance(text, str):
        source = text
        q = parse_query(text)
        if isinstance(q, S.BoundsQuery):
            return bounds_statement(target, q, source, data=data)
    else:
        q, source = text, source if source is not None else getattr(target, "source", "")
    ctx = _Ctx(source)
    method = _check_settings(ctx, method, draws, level, uncertainty)
    is_model = hasattr(target, "ir")
    if is_model and target.ir.params and data is None:
        raise ctx.err(f"model '{target.name}' has parameters with priors; bounds need one distribution", q.span,
                      hint="bound from the data instead: m.bounds(query, data=df)")
    named = isinstance(q, S.EffectQuery) and q.effect in ("PN", "PS", "PNS")
    if experiment is not None:
        if not named or method == "lp":
            raise ctx.err("experimental data are taken by Tian-Pearl's bounds on PN, PS or PNS", q.span,
                          hint="bound PN, PS or PNS with experiment=...; the linear programme reads observational data")
        if data is None:
            raise ctx.err("Tian-Pearl's bounds from an experiment need the observational data too", q.span,
                          hint="pass data=observational_df beside experiment=trial_df")
        res = tian_pearl_from_data(q, data, experiment, source, draws, level, uncertainty, seed)
        return replace(res, query=_label(q, source))
    if method == "tian-pearl" or (method is None and is_model and data is None and named):
        if not (is_model and data is None and named):
            raise ctx.err("Tian-Pearl's bounds take PN, PS or PNS of a model, or of data with an experiment",
                          q.span, hint=TP_HINT + "; from data, pass experiment=trial_df beside data=")
        return tian_pearl_of_model(target, q, source)
    if data is None:
        if not is_model:
            raise ctx.err(f"graph '{target.name}' has no mechanisms: bounds on it need data", q.span,
                          hint="pass data=df (or write data = \"file.csv\" after the bounds statement)")
        side = model_side(target)
        lin = linear_query(q, side, source)
        return _lp_result(q, source, _lp(side, model_joint(target, side), lin, ctx, q.span))
    return lp_from_data(target, q, data, source, draws, level, uncertainty, seed)


def _check_settings(ctx: _Ctx, method, draws, level, uncertainty) -> Optional[str]:
    """The method's canonical name, once every setting is checked."""
    if method is not None and method.replace("_", "-") not in METHODS:
        raise ctx.err(f"unknown method '{method}'", None, hint="methods are: " + ", ".join(METHODS))
    if uncertainty not in UNCERTAINTY:
        raise ctx.err(f"unknown uncertainty '{uncertainty}'", None, hint="use dirichlet or bootstrap")
    if not 0 < level < 1:
        raise ctx.err(f"level {level} is not between 0 and 1", None, hint="e.g. level = 0.95")
    if int(draws) < 1:
        raise ctx.err(f"draws = {draws}; at least one draw is needed", None, hint="e.g. draws = 500")
    return method.replace("_", "-") if method else None


def lp_from_data(target, q, data: Any, source: str, draws: int = 200, level: float = 0.95,
                 uncertainty: str = "dirichlet", seed: int = 0) -> Bounds:
    """The programme's bounds at the data's frequencies, and each end's band over draws of the observed
    distribution (Dirichlet posterior, or bootstrap). A model gives its graph and its variables' values;
    a graph, its graph (values are read off the data)."""
    from dataclasses import replace

    from .estimation import load_data

    ctx = _Ctx(source)
    is_model = hasattr(target, "ir")
    side = model_side(target) if is_model else ObservedSide(
        target.admg, list(target.admg.topological_order()), {v: () for v in target.admg.nodes}, target.latents)
    codes, side.domains = data_codes(load_data(data), side, fixed_domains=is_model)
    lin = linear_query(q, side, source)
    counts = empirical_joint(codes, side.order, side.sizes)
    n = counts.sum()
    try:
        b = _lp(side, counts / n, lin, ctx, q.span)
    except Infeasible:
        raise ctx.err("the data's distribution is not one the graph can produce (it breaks one of the graph's "
                      "constraints, such as the instrumental inequality)", q.span,
                      hint="check the graph, or whether the sample is too small for its cells") from None
    programme = prepare(side.admg, side.sizes, side.order, lin)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(int(draws)):
        if uncertainty == "dirichlet":
            p = rng.dirichlet(counts.ravel() + 1.0).reshape(counts.shape)
        else:
            p = rng.multinomial(int(n), (counts / n).ravel()).reshape(counts.shape) / n
        try:
            d = programme.solve(p)
            rows.append((d.low, d.high))
        except (Infeasible, ZeroDivisionError):
            rows.append(None)
    # Leaving out draws that fit no model of the graph makes the Dirichlet draws ones from the posterior
    # restricted to the distributions the graph can produce (rejection sampling); for the bootstrap it is
    # only a convention.
    arr, low_band, high_band, note = bands(rows, level, "fit no model of the graph")
    return replace(_lp_result(q, source, b), low_band=low_band, high_band=high_band, level=level,
                   uncertainty=uncertainty, draws=arr, note=note)


def bands(rows: list, level: float, why: str) -> tuple:
    """``(draws, low band, high band, note)`` from per-draw ``(low, high)`` rows (``None``: a draw left
    out, for ``why``). The bands are equal-tailed ``level`` intervals; with no draw left, they are
    ``None`` and the note says so.

    >>> bands([(0.0, 2.0), (1.0, 3.0), None], 0.5, "crossed")[1:]
    ((0.25, 0.75), (2.25, 2.75), '1 of 3 draws crossed and were left out')
    """
    kept = [r for r in rows if r is not None]
    arr = np.array(kept, dtype=float).reshape(-1, 2)
    left = len(rows) - len(kept)
    note = f"{left} of {len(rows)} draws {why} and were left out" if left else None
    if not kept:
        return arr, None, None, f"every one of {len(rows)} draws {why}: no band"
    tail = (1 - level) / 2 * 100
    low_band, high_band = (tuple(float(v) for v in np.percentile(arr[:, col], [tail, 100 - tail])) for col in (0, 1))
    return arr, low_band, high_band, note


def _binary_columns(cols: dict, names: list[str], where: str) -> dict:
    """0/1 value indices of the binary columns ``names``."""
    side = ObservedSide(None, names, {v: (0.0, 1.0) for v in names})
    codes, _ = data_codes(cols, side, fixed_domains=True, where=where)
    return codes


def tian_pearl_from_data(q: S.EffectQuery, data: Any, experiment: Any, source: str, draws: int = 200,
                         level: float = 0.95, uncertainty: str = "dirichlet", seed: int = 0) -> Bounds:
    """Tian & Pearl's bounds on PN/PS/PNS with ``P(X, Y)`` from observational ``data`` and ``P(y | do(x))``
    from ``experiment`` (a randomised trial: columns ``X`` and ``Y``), each end with a band over draws
    from the Dirichlet (Beta) posteriors of the two tables, or bootstrap resamples of them.

    >>> obs = {"X": [1, 1, 1, 0, 0, 0, 0, 1], "Y": [1, 1, 0, 0, 0, 1, 0, 1]}
    >>> rct = {"X": [1, 1, 1, 1, 0, 0, 0, 0], "Y": [1, 1, 1, 0, 1, 0, 0, 0]}
    >>> from causaldsl.language.parser import parse_query
    >>> b = tian_pearl_from_data(parse_query("PNS(X -> Y)"), obs, rct, "", draws=20)
    >>> b.low, b.high
    (0.5, 0.75)
    """
    from .estimation import load_data

    ctx = _Ctx(source)
    x, y = q.treatment, q.outcome
    opts = {k: v.value for k, v, _ in q.options}
    t, c = int(opts.get("treat", 1)), int(opts.get("control", 0))
    if {t, c} != {0, 1}:
        raise ctx.err("Tian-Pearl's bounds compare the two values of a binary treatment", q.span,
                      hint="treat and control are 1 and 0 (or 0 and 1)")
    obs = _binary_columns(load_data(data), [x, y], "the observational data")
    rct = _binary_columns(load_data(experiment), [x, y], "the experimental data")
    cells = np.bincount(obs[x] * 2 + obs[y], minlength=4).astype(float)  # (x, y) = 00, 01, 10, 11
    arms = {a: (float(np.sum(rct[y][rct[x] == a])), float(np.sum(rct[x] == a))) for a in (t, c)}
    for a, (_, n_a) in arms.items():
        if n_a == 0:
            raise ctx.err(f"the experiment has no rows with {x} = {a}", q.span,
                          hint="P(y | do(x)) needs both arms of the trial")

    def observed(p4, p_yt, p_yc):
        return Observed(p_yt, p_yc, p4[2 * t + 1], p4[2 * t], p4[2 * c + 1], p4[2 * c])

    point = observed(cells / cells.sum(), arms[t][0] / arms[t][1], arms[c][0] / arms[c][1])
    try:
        low, high, lt, ht = tian_pearl(q.effect, point)
    except ZeroDivisionError:
        raise ctx.err(f"{q.effect} conditions on an event the observational data never show", q.span,
                      hint="PN needs rows with X = treat, Y = 1; PS rows with X = control, Y = 0") from None
    if low > high + 1e-12:
        raise ctx.err(f"the experimental and observational data disagree (the bounds cross: {low:.4g} > {high:.4g})",
                      q.span, hint="P(x, y) <= P(y_x) <= 1 - P(x, y') must hold in both arms; check that the "
                                   "two data sets come from the same population")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(int(draws)):
        if uncertainty == "dirichlet":
            p4 = rng.dirichlet(cells + 1.0)
            p_arm = {a: rng.beta(k + 1.0, n - k + 1.0) for a, (k, n) in arms.items()}
        else:
            p4 = rng.multinomial(int(cells.sum()), cells / cells.sum()) / cells.sum()
            p_arm = {a: rng.binomial(int(n), k / n) / n for a, (k, n) in arms.items()}
        try:
            lo, hi, _, _ = tian_pearl(q.effect, observed(p4, p_arm[t], p_arm[c]))
        except ZeroDivisionError:
            rows.append(None)
            continue
        rows.append((lo, hi) if lo <= hi + 1e-12 else None)
    arr, low_band, high_band, note = bands(rows, level, "had crossing bounds or an empty cell")
    formula = formula_text(lt, ht).replace("<= . <=", f"<= {q.effect} <=")
    return Bounds(_label(q, source), low, high, "Tian-Pearl (2000)", formula, tuple(lt), tuple(ht),
                  low_band, high_band, level, uncertainty, arr, note)


def _lp_result(q, source: str, b) -> Bounds:
    sides = f"L = {{{', '.join(b.left)}}}, R = {{{', '.join(b.right)}}}"
    formula = (f"min and max of the query over distributions of the {b.n_types} joint response types of R that"
               f" give the observed P(R | L); {sides}")
    return Bounds(_label(q, source), b.low, b.high, "linear programme (Balke-Pearl 1997)", formula)


def bounds_statement(target, q: S.BoundsQuery, source: str, data: Any = None,
                     base_dir: Optional[Path] = None) -> Bounds:
    """A ``bounds ...`` statement: its options (method, data, draws, level, uncertainty, seed) and its query."""
    kw = statement_options(target, q, source, base_dir)
    if data is not None:
        kw.setdefault("data", data)
    res = bounds(target, q.query, source=source, **kw)
    from dataclasses import replace

    return replace(res, query=q.text or res.query)


def validate_bounds(target, q: S.BoundsQuery, source: str, check_files: bool = False) -> None:
    """The mistakes of a ``bounds`` statement that show without solving anything: at load time
    (data files are looked for when answering, as ``fit``'s are), and in ``causaldsl check``
    (``check_files``: they are looked for too)."""
    kw = statement_options(target, q, source, check_files=check_files)
    if hasattr(target, "ir"):
        linear_query(q.query, model_side(target), source)
        return
    if "data" not in kw:
        raise BoundsError(f"graph '{target.name}' has no mechanisms: bounds on it need data", span=q.span,
                          source=source, hint='write the data file after the query: ..., data = "file.csv"')
    inner = q.query
    if isinstance(inner, S.EffectQuery):
        target._check([inner.treatment, inner.outcome] + ([inner.mediator] if inner.mediator else []),
                      inner.spans, source)
    elif isinstance(inner, S.ProbQuery):
        terms = [ev.term for ev in inner.events if isinstance(ev, S.EqEvent)]
        terms += [c.term for c in inner.conditions if isinstance(c, S.Observation)]
        target._check([t.name for t in terms], [t.span for t in terms], source)


def statement_options(target, q: S.BoundsQuery, source: str, base_dir: Optional[Path] = None,
                      check_files: bool = True) -> dict:
    """The keyword arguments of :func:`bounds` that a statement's options give, each checked."""
    ctx = _Ctx(source)
    kw: dict = {}
    for name, value, span in q.options:
        v = value.value
        if name in kw:
            raise ctx.err(f"option '{name}' is given twice", span, hint=f"give {name}= once")
        if name == "method":
            if str(v).replace("_", "-") not in METHODS:
                raise ctx.err(f"unknown method '{v}'", value.span, hint="methods are: lp, tian_pearl")
        elif name == "uncertainty":
            if v not in UNCERTAINTY:
                raise ctx.err(f"unknown uncertainty '{v}'", value.span, hint="use dirichlet or bootstrap")
        elif name in ("draws", "seed"):
            if isinstance(v, str) or v != int(v) or v < (1 if name == "draws" else 0):
                raise ctx.err(f"{name} takes a whole number", value.span, hint=f"e.g. {name} = 500")
            v = int(v)
        elif name == "level":
            if isinstance(v, str) or not 0 < v < 1:
                raise ctx.err("level takes a number between 0 and 1", value.span, hint="e.g. level = 0.95")
        elif name in ("data", "experiment"):
            if not isinstance(v, str):
                raise ctx.err("data takes a file name in quotes", value.span, hint='e.g. data = "trial.csv"')
            path = Path(v)
            base = base_dir if base_dir is not None else getattr(target, "base_dir", None)
            if not path.is_absolute() and base is not None:
                path = Path(base) / path
            if check_files and not path.exists():
                raise ctx.err(f"no such data file: {v}", value.span, cls=DataError,
                              hint="the path is relative to the .causal file")
            v = path
        else:
            raise ctx.err(f"unknown option '{name}'", span,
                          hint=did_you_mean(name, ["method", "data", "experiment", "draws", "level", "uncertainty", "seed"])
                          or "options are method, data, experiment, draws, level, uncertainty and seed")
        kw[name] = v
    return kw
