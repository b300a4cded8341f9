"""Actual causes (Halpern and Pearl) and degrees of responsibility (Chockler and Halpern).

``cause(X = x -> phi | evidence)`` asks whether ``X = x`` was an *actual cause* of the event
``phi`` in what happened: not whether ``X`` causes ``phi`` on average (``ATE``), but whether,
in this very situation, ``X = x`` made the difference. The answer follows Halpern's book
*Actual Causality* (MIT Press 2016, ch. 2), where three definitions stand side by side, each
a conjunction of conditions on a causal setting ``(M, u)`` (a model and a context, the
values of its exogenous variables):

* ``original``: Halpern & Pearl, "Causes and explanations", UAI 2001 (the book's AC2(a)
  and AC2(b^o));
* ``updated``: Halpern & Pearl, *Brit. J. Phil. Sci.* 56 (2005) (AC2(a) and AC2(b^u));
* ``modified`` (the default): Halpern, "A modification of the Halpern-Pearl definition of
  causality", IJCAI 2015 (AC2(a^m)).

All three share AC1 (``X = x`` and ``phi`` both happened) and AC3 (no strict part of the
conjunction ``X = x`` is already a cause). Each condition is one small function below.

The model's variables are the endogenous ones, except a ``latent`` variable without parents,
which is read as exogenous (background, part of the context, never intervened on). A context
fixes every ``~`` statement's noise ``U`` (Uniform(0, 1), quantile coupling, as for
counterfactuals; docs/language.md): over a finite model the noise of a ``~`` statement falls
in finitely many *cells* (between consecutive values its CDF takes at any value of its
parents), and within a cell the statement is a fixed function of its parents. So contexts
are enumerated exactly: each is one cell per ``~`` statement, of probability the product of
the cells' lengths. The answer is the probability, given the evidence, that the context
makes ``X = x`` a cause: 0 or 1 for a model whose evidence pins one context. For
``responsibility`` it is the expected degree of responsibility given the evidence, which
Chockler & Halpern (JAIR 22, 2004) call the degree of *blame*.

The search is exponential in the number of variables (deciding actual causality is NP-hard
under every definition: Eiter & Lukasiewicz 2002; Halpern 2015), so it is bounded (:data:`MAX_STEPS`); two exact
reductions keep it small: only ancestors of the event's variables can matter, and setting a
variable to the value it already has changes nothing (see :func:`ac2b`).

>>> from causaldsl import model
>>> m = model('''
... model rocks {
...     ST ~ Bernoulli(0.5)
...     BT ~ Bernoulli(0.5)
...     SH := ST
...     BH := BT and not SH
...     BS := SH or BH
... }''')
>>> m.query("cause(ST = 1 -> BS = 1 | ST = 1, BT = 1)").value
1.0
>>> m.query("cause(BT = 1 -> BS = 1 | ST = 1, BT = 1)").value
0.0
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Optional

import numpy as np

from ..language import syntax as S
from .config import float64
from ..model.distributions import FAMILIES
from ..language.errors import DomainError, MethodError, ProbabilityError, QueryError, ZeroProbabilityError, did_you_mean
from ..model.expressions import compile_expr, free_vars, is_boolean, rename, walk
from ..model.ir import Model, Node
from .results import Result
from ..model.worlds import do

DEFINITIONS = ("original", "updated", "modified")
CITATIONS = {
    "original": "Halpern & Pearl 2001",
    "updated": "Halpern & Pearl 2005",
    "modified": "Halpern 2015",
}
MAX_CONTEXTS = 100_000  # contexts enumerated; more is refused with the count
MAX_STEPS = 1_000_000  # evaluations of the model (and candidates formed) in one query; more is refused
_TINY = 1e-12  # cells of the noise shorter than this are rounding, not cells


# ====================================================================== the question, resolved
@dataclass(frozen=True)
class Question:
    """A ``cause``/``responsibility`` query resolved against a model: names checked, values
    coded, ``do()`` applied; ``effect`` and ``evidence`` are expressions over variable names."""

    kind: str  # "cause" | "responsibility"
    model: Model
    cause: tuple[tuple[str, float], ...]
    effect: S.Expr
    evidence: Optional[S.Expr]
    definition: str
    text: str = ""
    evidence_text: str = ""


def resolve(model: Model, q: S.CauseQuery, source: str = "") -> Question:
    """Check ``q`` against ``model`` (names, values, the option) without answering it.

    >>> from causaldsl import model
    >>> m = model("model m {\\n a ~ Bernoulli(0.5)\\n b := a\\n}")
    >>> from causaldsl.language.parser import parse_query
    >>> r = resolve(m.ir, parse_query("cause(a = 1 -> b = 1 | a = 1, definition = updated)"))
    >>> r.cause, r.definition
    ((('a', 1.0),), 'updated')
    """
    from ..model.queries import _Builder  # names, levels and worlds are resolved as in P(...) queries

    b = _Builder(model, source)

    def err(cls, msg, span, hint=None):
        return cls(msg, span=span, source=source, hint=hint)

    if model.params:
        raise err(QueryError, f"{q.kind}() needs a model with fixed numbers, and '{model.name}' has "
                  "parameters with priors", q.span,
                  hint="ask it of a model with the parameters written as numbers (e.g. posterior means)")
    definition = _definition(q, err)
    do_values, evidence, shown = _conditions(b, q, err)
    cause = _cause(b, q, err)
    if not is_boolean(q.effect):
        raise err(QueryError, "the effect is an event, true or false", _start(q.effect),
                  hint="write it as Y = 1, Y > 2, or a combination with and / or / not")
    effect = _factual(b, err, q.effect)
    base = do(model, do_values) if do_values else model
    return Question(q.kind, base, cause, effect, evidence, definition, q.text, shown)


def _definition(q: S.CauseQuery, err) -> str:
    """The ``definition = ...`` option: ``modified`` when it is not given."""
    definition = "modified"
    for name, value, span in q.options:
        if name != "definition":  # pragma: no cover - the parser keeps only this option
            raise err(QueryError, f"unknown option '{name}'", span, hint="the option is definition = ...")
        if value.value not in DEFINITIONS:
            raise err(QueryError, f"unknown definition '{value.value}'", value.span,
                      hint=did_you_mean(str(value.value), DEFINITIONS) or "definitions: " + ", ".join(DEFINITIONS))
        definition = str(value.value)
    if len(q.options) > 1:
        raise err(QueryError, "the definition is given twice", q.options[1][2], hint="give definition = ... once")
    return definition


def _conditions(b, q: S.CauseQuery, err) -> tuple[dict[str, float], Optional[S.Expr], str]:
    """The ``do()`` values, the evidence as one expression (None: none), and the evidence as text."""
    do_values: dict[str, float] = {}
    evidence: Optional[S.Expr] = None
    shown: list[str] = []
    for cond in q.conditions:
        if isinstance(cond, S.Do):
            for a in cond.assignments:
                var = b.var(a.name, a.span)
                lit = None if a.value is None else b.literal(a.value)
                if lit is None or var in do_values:
                    raise err(QueryError, "do() sets each variable once, to a number or a level",
                              getattr(a.value, "span", a.span), hint=f"write do({a.name} = 1)")
                do_values[var] = b.code(var, lit, getattr(a.value, "span", a.span))
            continue
        if isinstance(cond, S.Observation):
            if cond.value is None:
                raise err(QueryError, f"observe '{cond.term.name}' at a value", cond.span,
                          hint=f"write {cond.term.name} = 1")
            if cond.term.world is not None:
                raise _world_error(err, cond.term)
            var = b.var(cond.term.name, cond.term.span)
            value = b.code(var, cond.value.value, cond.value.span)
            expr: S.Expr = S.Compare("==", S.Var(var), S.Num(value))
            shown.append(f"{var} = {cond.value.value if isinstance(cond.value.value, str) else f'{value:g}'}")
        else:
            if not is_boolean(cond.expr):
                raise err(QueryError, "a condition is true or false", cond.span,
                          hint="compare it: x > 0, or observe a value: x = 1")
            expr = _factual(b, err, cond.expr)
            shown.append(cond.text)
        evidence = expr if evidence is None else S.BoolOp("and", evidence, expr)
    return do_values, evidence, ", ".join(shown)


def _cause(b, q: S.CauseQuery, err) -> tuple[tuple[str, float], ...]:
    """The cause's variables and coded values, each endogenous and finite."""
    cause: dict[str, float] = {}
    for a in q.cause:
        var = b.var(a.name, a.span)
        if var in cause:
            raise err(QueryError, f"'{var}' is named twice in the cause", a.span, hint=f"name '{var}' once")
        lit = b.literal(a.value)
        if lit is None:
            raise err(QueryError, "a cause is a variable at a value", getattr(a.value, "span", a.span),
                      hint=f"write {a.name} = 1 (a number or a level)")
        node = b.model[var]
        if node.latent and not node.parents and node.kind == "sample":
            raise err(QueryError, f"'{var}' is exogenous (a latent variable without parents): part of the "
                      "context, so it cannot be a cause", a.span,
                      hint=f"drop 'latent' from '{var}' to make it an endogenous variable")
        if node.domain is None:
            raise err(DomainError, f"'{var}' is continuous: actual causes are decided over finitely many "
                      "values", a.span, hint=f"give '{var}' finitely many values (a Bernoulli, a table, ...)")
        cause[var] = b.code(var, lit, getattr(a.value, "span", a.span))
    if q.kind == "responsibility" and len(cause) > 1:
        raise err(QueryError, "responsibility is had by one variable at a time", q.cause[1].span,
                  hint="ask responsibility(X = x -> ...) for each; a conjunction is asked with cause(...)")
    return tuple(cause.items())


def _start(e: S.Expr):
    """Where the text of ``e`` begins (an operator's span is its operator's)."""
    spans = [x.span for x in walk(e) if getattr(x, "span", None) and x.span.line]
    return min(spans, key=lambda sp: (sp.line, sp.column), default=getattr(e, "span", None))


def _world_error(err, v: S.Var) -> QueryError:
    return err(QueryError, f"'{v.name}[...]' is a counterfactual: {v.name} in another world", v.span,
               hint="actual causes are about what happened: the definition imagines the other worlds "
                    "itself, so write variables without subscripts")


def _factual(b, err, e: S.Expr) -> S.Expr:
    """``e`` with names and levels resolved, over the factual world only."""
    from ..model.queries import _term_key as term_key

    terms: list = []
    out = b.expr(e, terms)
    for var, world in terms:
        if world:
            bad = next(v for v in walk(e) if isinstance(v, S.Var) and v.name == var and v.world)
            raise _world_error(err, bad)
    return rename(out, {term_key(t): t[0] for t in terms})


# ====================================================================== a finite model and its contexts
@dataclass(frozen=True)
class Finite:
    """A model whose variables take finitely many values, as the search reads it.

    ``domains[i]`` are variable ``i``'s values (a value is held by its index); ``parents[i]``
    indices of its parents; ``strides[i]`` turn its parents' value indices into a position of
    a response table (a flat tuple, one value index per combination of parent values).
    """

    names: tuple[str, ...]
    domains: tuple[tuple[float, ...], ...]
    parents: tuple[tuple[int, ...], ...]
    strides: tuple[tuple[int, ...], ...]
    exogenous: frozenset  # indices of latent roots: the context, never intervened on
    levels: tuple  # names of levels, per variable (None: numbers)

    @property
    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def show(self, i: int, k: int) -> str:
        """Variable ``i`` at value index ``k`` as text: ``BH = 0``, ``weather = sunny``."""
        lv = self.levels[i]
        v = self.domains[i][k]
        return f"{self.names[i]} = {lv[int(v)] if lv else f'{v:g}'}"


@dataclass(frozen=True)
class Contexts:
    """Every context of a :class:`Finite` model: ``tables[c][i]`` is variable ``i``'s response
    table in context ``c`` and ``weights[c]`` the context's probability."""

    tables: tuple[tuple[tuple[int, ...], ...], ...]
    weights: np.ndarray


@float64  # the families' tables are JAX code: in float64, cells of 1e-9 are cells, not rounding
def finite_model(model: Model, source: str = "") -> tuple[Finite, list[list[tuple[float, tuple[int, ...]]]]]:
    """The model as a :class:`Finite` one, and per variable its *cells*: ``(probability,
    response table)`` pairs, one pair for a ``:=`` statement, one per cell of the noise
    for a ``~`` statement (whose value ``k`` is taken on ``[F(k-1), F(k))`` of its ``U``).

    >>> from causaldsl import model
    >>> fm, cells = finite_model(model("model m {\\n x ~ Bernoulli(0.25)\\n y := 1 - x\\n}").ir)
    >>> [(p, t) for p, t in cells[0]], cells[1]
    ([(0.75, (0,)), (0.25, (1,))], [(1.0, (1, 0))])
    """
    for n in model.nodes:
        if n.kind != "fixed" and n.domain is None:
            what = "a count without a bound" if n.family and FAMILIES[n.family].support == "count" else "continuous"
            raise DomainError(f"'{n.name}' is {what}: actual causes are decided by enumerating every context "
                              "exactly, over finitely many values", span=n.span, source=model.source or source,
                              hint=f"give '{n.name}' finitely many values (Bernoulli, Categorical, Binomial, "
                                   "a table); P(...) and E[...] answer questions of this model")
    names = tuple(n.name for n in model.nodes)
    pos = {n: i for i, n in enumerate(names)}
    domains = tuple(((n.value,) if n.kind == "fixed" else n.domain) for n in model.nodes)
    parents = tuple(tuple(pos[p] for p in n.parents) for n in model.nodes)
    strides = tuple(_strides([len(domains[p]) for p in ps]) for ps in parents)
    exo = frozenset(i for i, n in enumerate(model.nodes) if n.latent and not n.parents and n.kind == "sample")
    fm = Finite(names, tuple(tuple(float(v) for v in d) for d in domains), parents, strides, exo,
                tuple(n.levels for n in model.nodes))
    # the statements' spans point into the model's text, which a query given alone does not hold
    cells = [_cells(n, [domains[p] for p in parents[i]], fm.domains[i], model.source or source)
             for i, n in enumerate(model.nodes)]
    return fm, cells


def _strides(sizes: list[int]) -> tuple[int, ...]:
    out, step = [], 1
    for s in reversed(sizes):
        out.append(step)
        step *= s
    return tuple(reversed(out))


def _grid_env(node: Node, pdomains: list) -> tuple[dict, tuple[int, ...]]:
    """The node's parents over the grid of their values (C order, as :func:`_strides`)."""
    shape = tuple(len(d) for d in pdomains)
    axis = {p: k for k, p in enumerate(node.parents)}
    env = {}
    for e, p in node.env_names.items():  # expression name -> parent, whose axis is its place in parents
        s = [1] * len(shape)
        s[axis[p]] = -1
        env[e] = np.broadcast_to(np.asarray(pdomains[axis[p]], dtype=float).reshape(s), shape)
    return env, shape


def _cells(node: Node, pdomains: list, domain: tuple, source: str) -> list[tuple[float, tuple[int, ...]]]:
    """The node's ``(probability, response table)`` cells (see :func:`finite_model`)."""
    if node.kind == "fixed":
        return [(1.0, (0,))]
    env, shape = _grid_env(node, pdomains)
    dom = np.asarray(domain)
    if node.kind == "assign":
        val = np.broadcast_to(np.asarray(compile_expr(node.expr, np)(env), dtype=float), shape).reshape(-1)
        idx = np.abs(val[:, None] - dom[None, :]).argmin(axis=1)
        return [(1.0, tuple(int(i) for i in idx))]
    if node.gumbel_race:
        # the cells below are intervals of one uniform; the Gumbel race has no such intervals
        raise MethodError(f"cause queries read each variable's response to its noise as cells of one "
                          f"uniform (the quantile coupling), and '{node.name}' has coupling = gumbel",
                          span=node.span, source=source,
                          hint=f"ask it of m.with_coupling('quantile', '{node.name}')")
    fam = FAMILIES[node.family]
    params = tuple(np.broadcast_to(np.asarray(compile_expr(a, np)(env), dtype=float), shape).reshape(-1)
                   for a in node.args)
    bad = np.asarray(fam.invalid(params))
    if np.any(bad):
        raise ProbabilityError(f"the parameters of '{node.name}' leave their range ({fam.rule}) at some "
                               "values of its parents", span=node.span, source=source,
                               hint="keep every probability between 0 and 1 at every parent value")
    pmf = np.asarray(fam.pmf(params, dom), dtype=float).reshape(-1, len(dom))
    cum = np.cumsum(pmf, axis=1)[:, :-1]  # F(k) for all but the last value
    edges = np.unique(np.clip(np.concatenate([[0.0, 1.0], cum.reshape(-1)]), 0.0, 1.0))
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi - lo <= _TINY:
            continue
        u = 0.5 * (lo + hi)  # every parent value's quantile is constant on the cell
        table = (cum <= u).sum(axis=1)
        out.append((float(hi - lo), tuple(int(k) for k in table)))
    return out


def contexts(fm: Finite, cells: list) -> Contexts:
    """Every combination of one cell per variable, with its probability."""
    count = 1
    for c in cells:
        count *= len(c)
    if count > MAX_CONTEXTS:
        raise QueryError(f"the model has {count:,} contexts (combinations of its noise cells), more than "
                         f"{MAX_CONTEXTS:,} to enumerate", hint="ask about a smaller model, or with fewer "
                         "values per variable: deciding actual causes is exponential")
    tables, weights = [], []
    for combo in itertools.product(*cells):
        tables.append(tuple(t for _, t in combo))
        weights.append(float(np.prod([p for p, _ in combo])))
    return Contexts(tuple(tables), np.asarray(weights))


def solve(fm: Finite, tables: tuple, setting: dict[int, int]) -> tuple[int, ...]:
    """The value index of every variable in one context under the intervention ``setting``
    (variable index -> value index): the model's unique solution (it is recursive).

    >>> from causaldsl import model
    >>> fm, cells = finite_model(model("model m {\\n x ~ Bernoulli(0.25)\\n y := 1 - x\\n}").ir)
    >>> ctx = contexts(fm, cells)
    >>> solve(fm, ctx.tables[1], {}), solve(fm, ctx.tables[1], {0: 0})
    ((1, 0), (0, 1))
    """
    vals: list[int] = []
    for i, (ps, st) in enumerate(zip(fm.parents, fm.strides)):
        v = setting.get(i)
        if v is None:
            v = tables[i][sum(vals[p] * s for p, s in zip(ps, st))]
        vals.append(v)
    return tuple(vals)


def event_table(fm: Finite, expr: S.Expr) -> tuple[tuple[int, ...], Callable[[tuple], bool]]:
    """The event ``expr`` as a look-up over the values of its variables: ``(variables, holds)``,
    ``holds(values)`` reading a solution of :func:`solve`.

    >>> from causaldsl import model
    >>> fm, _ = finite_model(model("model m {\\n x ~ Bernoulli(0.25)\\n y := 1 - x\\n}").ir)
    >>> vs, holds = event_table(fm, S.Compare("==", S.Var("y"), S.Num(1.0)))
    >>> vs, holds((0, 1)), holds((1, 0))
    ((1,), True, False)
    """
    pos = fm.index
    vs = tuple(sorted(pos[v] for v in set(free_vars(expr))))
    grids = np.meshgrid(*[np.asarray(fm.domains[i]) for i in vs], indexing="ij") if vs else []
    val = np.asarray(compile_expr(expr, np)({fm.names[i]: g for i, g in zip(vs, grids)}), dtype=float)
    table = np.broadcast_to(val != 0, tuple(len(fm.domains[i]) for i in vs))
    return vs, lambda sol: bool(table[tuple(sol[i] for i in vs)])


# ====================================================================== the conditions
@dataclass(frozen=True)
class Witness:
    """Why ``X = x`` is a cause: the other setting ``x'`` of the cause and the contingency
    ``W = w`` (for the modified definition, ``W`` held at its actual values).

    >>> str(Witness((("ST", "0"),), (("BH", "0"),), True))
    'x′: ST = 0; W held at BH = 0'
    """

    setting: tuple[tuple[str, str], ...]
    contingency: tuple[tuple[str, str], ...]
    held: bool  # W held at its actual values (the modified definition)

    def __str__(self) -> str:
        x = ", ".join(f"{k} = {v}" for k, v in self.setting)
        w = ", ".join(f"{k} = {v}" for k, v in self.contingency)
        if not w:
            return f"x′: {x}; W = ∅"
        return f"x′: {x}; W {'held at' if self.held else 'set to'} {w}"


class _OutOfSteps(Exception):
    """The search spent its :class:`Budget`."""


class Budget:
    """Steps a query's search may take (model evaluations and candidates formed), shared by its contexts.

    >>> b = Budget(2)
    >>> b.spend(); b.spend(); b.left
    0
    """

    def __init__(self, steps: int):
        self.left = steps

    def spend(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise _OutOfSteps


@dataclass(frozen=True)
class Setting:
    """One causal setting ``(M, u)``: the model, one context, its actual values, the event."""

    fm: Finite
    tables: tuple
    actual: tuple[int, ...]
    phi_vars: tuple[int, ...]
    phi: Callable[[tuple], bool]
    budget: Budget = field(default_factory=lambda: Budget(MAX_STEPS), compare=False)
    # AC2's answer per cause and definition: AC3 and responsibility ask it again of the same parts
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def world(self, setting: dict[int, int]) -> tuple[int, ...]:
        """Every variable's value under the intervention ``setting`` (one step of the budget)."""
        self.budget.spend()
        return solve(self.fm, self.tables, setting)

    def holds(self, setting: dict[int, int]) -> bool:
        """``(M, u) |= [setting] phi``."""
        return self.phi(self.world(setting))


def _ancestors(fm: Finite, of) -> set[int]:
    out: set[int] = set()
    stack = list(of)
    while stack:
        v = stack.pop()
        if v not in out:
            out.add(v)
            stack.extend(fm.parents[v])
    return out


def _descendants(fm: Finite, of) -> set[int]:
    out = set(of)
    for i in range(len(fm.names)):  # topological order: a parent comes first
        if any(p in out for p in fm.parents[i]):
            out.add(i)
    return out


def ac1(s: Setting, X: dict[int, int]) -> bool:
    """AC1 (Halpern 2016, Def. 2.2.1): ``(M, u) |= (X = x) and phi``: both happened."""
    return all(s.actual[i] == v for i, v in X.items()) and s.phi(s.actual)


def _others(fm: Finite, X: dict[int, int]) -> Iterator[dict[int, int]]:
    """Every setting ``x'`` of ``X`` other than ``x``."""
    keys = list(X)
    for combo in itertools.product(*[range(len(fm.domains[i])) for i in keys]):
        alt = dict(zip(keys, combo))
        if alt != X:
            yield alt


def ac2a_modified(s: Setting, X: dict[int, int]) -> Optional[tuple[dict, dict]]:
    """AC2(a^m) (Halpern 2015; 2016, Def. 2.2.1): some set ``W`` and setting ``x'`` with
    ``(M, u) |= [X <- x', W <- w*] not phi``, ``w*`` the actual values of ``W``. Returns the
    witness ``(x', W = w*)`` with the smallest ``W``, or ``None``.

    Holding at its actual value a variable that ``X`` does not reach changes nothing, so ``W``
    ranges over descendants of ``X`` that are ancestors of the event's variables.
    """
    fm = s.fm
    pool = sorted((_descendants(fm, X) & _ancestors(fm, s.phi_vars)) - set(X) - fm.exogenous)
    for size in range(len(pool) + 1):
        for W in itertools.combinations(pool, size):
            held = {w: s.actual[w] for w in W}
            for alt in _others(fm, X):
                if not s.holds({**alt, **held}):
                    return alt, held
    return None


def ac2a(s: Setting, X: dict[int, int], W: dict[int, int], alt: dict[int, int]) -> bool:
    """AC2(a) (Halpern & Pearl 2001, 2005; Halpern 2016, Def. 2.2.1): ``(M, u) |= [X <- x', W <- w] not phi``."""
    return not s.holds({**alt, **W})


def ac2b(s: Setting, X: dict[int, int], W: dict[int, int], updated: bool) -> bool:
    """AC2(b^o) (``updated=False``; Halpern & Pearl 2001) or AC2(b^u) (``updated=True``;
    Halpern & Pearl 2005), as Halpern 2016, Def. 2.2.1 states them: with ``z*`` the actual values
    of ``Z = V - W``, ``(M, u) |= [X <- x, W' <- w, Z' <- z*] phi`` for every subset ``Z'`` of
    ``Z - X`` and, for ``updated``, every subset ``W'`` of ``W`` (``W' = W`` for ``original``).

    Setting a variable to the value it already has changes nothing (the model is recursive), so
    the subsets are walked as a search that adds, to a world, only variables whose value there
    differs from their target (``w`` or ``z*``): every world a subset gives is reached (add its
    variables in topological order, skipping those already at their target), and most subsets
    are never formed.
    """
    fm = s.fm
    relevant = _ancestors(fm, s.phi_vars) - fm.exogenous
    target = {z: s.actual[z] for z in relevant - set(X) - set(W)}
    base = dict(X)
    if updated:
        target.update(W)
    else:
        base.update(W)
    seen: set[frozenset] = set()
    stack: list[frozenset] = [frozenset()]
    while stack:
        added = stack.pop()
        if added in seen:
            continue
        seen.add(added)
        world = s.world({**base, **{v: target[v] for v in added}})
        if not s.phi(world):
            return False
        for v, t in target.items():
            if v not in added and world[v] != t:
                stack.append(added | {v})
    return True


def _candidates(s: Setting, X: dict[int, int]) -> Iterator[tuple[int, dict[int, int]]]:
    """Contingencies ``W = w`` for the original and updated definitions, fewest changed values
    (from the actual ones) first, then fewest variables: ``(changes, W = w)``, made as they are
    asked for (most questions stop at the first few).

    A ``W`` holding every variable of the event never works (AC2(a) and AC2(b) would ask the
    same world for the event and its negation), so none is formed."""
    fm = s.fm
    pool = sorted(_ancestors(fm, s.phi_vars) - set(X) - fm.exogenous)
    phi_vars = set(s.phi_vars)
    for c in range(len(pool) + 1):
        for h in range(len(pool) - c + 1):
            for changed in itertools.combinations(pool, c):
                rest = [i for i in pool if i not in changed]
                for held in itertools.combinations(rest, h):
                    if phi_vars and phi_vars <= set(changed) | set(held):
                        continue
                    other = [[k for k in range(len(fm.domains[i])) if k != s.actual[i]] for i in changed]
                    for values in itertools.product(*other):
                        s.budget.spend()
                        W = dict(zip(changed, values))
                        W.update({i: s.actual[i] for i in held})
                        yield c, W


def ac2(s: Setting, X: dict[int, int], definition: str) -> Optional[tuple[dict, dict, int]]:
    """AC2 under ``definition``: a witness ``(x', W = w, changes)`` or ``None``; ``changes`` is
    the number of variables of ``W`` whose value ``w`` differs from the actual one (the least
    there is: Chockler & Halpern's ``k``), ``|W|`` for the modified definition."""
    key = (tuple(sorted(X.items())), definition)
    if key not in s.memo:
        s.memo[key] = _ac2(s, X, definition)
    return s.memo[key]


def _ac2(s: Setting, X: dict[int, int], definition: str) -> Optional[tuple[dict, dict, int]]:
    if definition == "modified":
        found = ac2a_modified(s, X)
        return None if found is None else (found[0], found[1], len(found[1]))
    updated = definition == "updated"
    for changes, W in _candidates(s, X):
        alt = next((a for a in _others(s.fm, X) if ac2a(s, X, W, a)), None)
        if alt is not None and ac2b(s, X, W, updated):  # AC2(b) does not involve x'
            return alt, W, changes
    return None


def ac3(s: Setting, X: dict[int, int], definition: str) -> Optional[dict[int, int]]:
    """AC3 (Halpern 2016, Def. 2.2.1): ``X`` is minimal, no strict subset satisfies AC1 and AC2.
    Returns a strict subset that does (AC3 fails), or ``None`` (AC3 holds)."""
    keys = list(X)
    for size in range(1, len(keys)):
        for sub in itertools.combinations(keys, size):
            part = {k: X[k] for k in sub}
            if ac1(s, part) and ac2(s, part, definition) is not None:
                return part
    return None


# ====================================================================== one context
@dataclass(frozen=True)
class Verdict:
    """The answer in one context: ``value`` (1/0 for a cause, the degree for responsibility),
    the witness when there is one, else the reason."""

    value: float
    witness: Optional[Witness] = None
    reason: str = ""


def _witness(fm: Finite, alt: dict, W: dict, held: bool) -> Witness:
    def items(d):
        return tuple((fm.names[i], fm.show(i, k).split(" = ", 1)[1]) for i, k in sorted(d.items()))
    return Witness(items(alt), items(W), held)


def _conj(fm: Finite, X: dict) -> str:
    return " and ".join(fm.show(i, k) for i, k in sorted(X.items()))


def is_cause(s: Setting, X: dict[int, int], definition: str) -> Verdict:
    """Whether ``X = x`` is an actual cause of the event in the setting ``s``: AC1, AC2, AC3."""
    fm = s.fm
    if not all(s.actual[i] == v for i, v in X.items()):
        return Verdict(0.0, reason=f"AC1 fails: {_conj(fm, X)} did not happen")
    if not s.phi(s.actual):
        return Verdict(0.0, reason="AC1 fails: the effect did not happen")
    found = ac2(s, X, definition)
    if found is None:
        what = "AC2(a^m)" if definition == "modified" else "AC2"
        return Verdict(0.0, reason=f"{what} fails: no contingency makes the effect depend on {_conj(fm, X)}")
    part = ac3(s, X, definition) if len(X) > 1 else None
    if part is not None:
        return Verdict(0.0, reason=f"AC3 fails: {_conj(fm, part)} alone is a cause")
    return Verdict(1.0, _witness(fm, found[0], found[1], definition == "modified"))


def responsibility(s: Setting, X: dict[int, int], definition: str) -> Verdict:
    """The degree of responsibility of ``X = x`` (one variable) for the event.

    Original and updated definitions: Chockler & Halpern 2004, §3, ``1/(k+1)`` where ``k``
    is the least number of variables whose values a witness's contingency changes, 0 if
    ``X = x`` is not a cause. Modified definition: Halpern 2016, ch. 6, ``1/k`` where ``k`` is the
    least ``|X'| + |W|`` over causes ``X' = x'`` that have ``X = x`` as a conjunct and their
    witnesses, 0 if ``X = x`` is part of no cause.
    """
    fm = s.fm
    if not ac1(s, X):
        return is_cause(s, X, definition)
    if definition != "modified":
        v = is_cause(s, X, definition)
        if not v.value:
            return v
        k = ac2(s, X, definition)[2]
        return replace(v, value=1.0 / (k + 1), reason=f"k = {k} change{'s' if k != 1 else ''}")
    (x,) = X
    pool = sorted(_ancestors(fm, s.phi_vars) - {x} - fm.exogenous)
    best: Optional[tuple[int, Verdict]] = None
    for size in range(len(pool) + 1):
        if best is not None and size + 1 >= best[0]:
            break
        for extra in itertools.combinations(pool, size):
            conj = {**X, **{i: s.actual[i] for i in extra}}
            found = ac2(s, conj, definition)  # cheap (and kept) before AC3 (many parts)
            if found is None or (best is not None and len(conj) + len(found[1]) >= best[0]):
                continue
            v = is_cause(s, conj, definition)
            if v.value:
                k = len(conj) + len(v.witness.contingency)
                if best is None or k < best[0]:
                    best = (k, replace(v, reason=f"part of the cause {_conj(fm, conj)}, k = {k}"))
    if best is None:
        return Verdict(0.0, reason=f"{_conj(fm, X)} is part of no cause of the effect")
    return replace(best[1], value=1.0 / best[0])


# ====================================================================== the whole query
@dataclass(frozen=True)
class ContextVerdict:
    """One context consistent with the evidence: its probability given the evidence, what
    happened in it (every variable's value), and the verdict there."""

    probability: float
    happened: str
    verdict: Verdict


@dataclass(frozen=True)
class CauseResult(Result):
    """The answer to ``cause(...)`` or ``responsibility(...)``: ``value`` as for any
    :class:`~causaldsl.engines.results.Result`; ``witness`` (a :class:`Witness`, in the likeliest
    context where the cause holds) or ``reason`` (why not, in the likeliest context), the
    ``definition`` used, and ``contexts``, the verdict in each context, likeliest first."""

    definition: str = "modified"
    witness: Optional[Witness] = None
    reason: Optional[str] = None
    contexts: tuple = field(default=(), repr=False)

    @property
    def details(self) -> str:
        n = len(self.contexts)
        bits = [f"exact, {self.definition} HP definition ({CITATIONS[self.definition]})"]
        if n > 1:
            bits.append(f"{n} contexts")
        if self.witness is not None:
            where = f" (e.g. where {self.contexts_where_witness()})" if n > 1 else ""
            bits.append(f"witness{where}: {self.witness}")
            if self.reason:
                bits.append(self.reason)
        elif self.reason:
            bits.append(("not a cause: " if self.query.startswith("cause") else "") + self.reason)
        return ", ".join(bits)

    def contexts_where_witness(self) -> str:
        c = next((c for c in self.contexts if c.verdict.witness == self.witness), None)
        return c.happened if c is not None else ""


def answer(model: Model, q: S.CauseQuery, source: str = "") -> CauseResult:
    """The answer to ``q`` on ``model``: the probability (or expected degree of responsibility),
    given the evidence, over the model's contexts: the probability of the set of contexts in
    which ``X = x`` is a cause (for responsibility, the expected degree: Chockler & Halpern's
    2004 degree of blame)."""
    question = resolve(model, q, source)
    fm, cells = finite_model(question.model, source)
    ctx = contexts(fm, cells)
    pos = fm.index
    X = {pos[n]: fm.domains[pos[n]].index(v) if v in fm.domains[pos[n]] else _nearest(fm.domains[pos[n]], v)
         for n, v in question.cause}
    phi_vars, phi = event_table(fm, question.effect)
    ev = event_table(fm, question.evidence)[1] if question.evidence is not None else (lambda sol: True)
    rows = []
    for tables, w in zip(ctx.tables, ctx.weights):
        if w <= 0:
            continue
        actual = solve(fm, tables, {})
        if ev(actual):
            rows.append((w, tables, actual))
    total = sum(w for w, _, _ in rows)
    if total <= 0:
        raise ZeroProbabilityError(f"the evidence {question.evidence_text} has probability zero", span=q.span,
                                   source=source, hint="no context of the model agrees with it: check the values")
    judge = is_cause if question.kind == "cause" else responsibility
    verdicts = []
    budget = Budget(MAX_STEPS)
    for w, tables, actual in rows:
        s = Setting(fm, tables, actual, phi_vars, phi, budget)
        happened = ", ".join(fm.show(i, k) for i, k in enumerate(actual) if i not in fm.exogenous)
        try:
            verdict = judge(s, X, question.definition)
        except _OutOfSteps:
            raise QueryError(f"deciding this took more than {MAX_STEPS:,} evaluations of the model "
                             f"({len(rows):,} context{'s' if len(rows) != 1 else ''} to decide)", span=q.span,
                             source=source, hint="ask about a smaller model (deciding actual causes is "
                             "NP-hard), or pin the context down with more evidence") from None
        verdicts.append(ContextVerdict(w / total, happened, verdict))
    verdicts.sort(key=lambda c: -c.probability)
    value = float(sum(c.probability * c.verdict.value for c in verdicts))
    first_yes = next((c for c in verdicts if c.verdict.value > 0), None)
    witness = first_yes.verdict.witness if first_yes else None
    reason = (first_yes.verdict.reason if first_yes and question.kind == "responsibility"
              else None if first_yes else verdicts[0].verdict.reason)
    return CauseResult(q.text, value, None, "exact", definition=question.definition, witness=witness,
                       reason=reason or None, contexts=tuple(verdicts))


def _nearest(domain: tuple, v: float) -> int:
    return int(np.abs(np.asarray(domain) - v).argmin())


