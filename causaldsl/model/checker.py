"""Syntax tree to model IR: names, duplicates, cycles, distributions, domains, tables.

Every mistake becomes a :class:`~causaldsl.language.errors.CausalDSLError` pointing at
the statement. The result is a :class:`~causaldsl.model.ir.Model` in topological
order with the finite domain of every discrete variable worked out.

>>> from causaldsl.language.parser import parse
>>> block = parse("model m {\\n x ~ Bernoulli(0.3)\\n y := x + 1\\n}").items[0]
>>> check_model(block).by_name["y"].domain
(1.0, 2.0)
"""

from __future__ import annotations

import functools
import heapq
import itertools
from dataclasses import replace
from typing import Optional

import networkx as nx
import numpy as np

from ..language import syntax as S
from .distributions import FAMILIES
from ..language.errors import (CausalSyntaxError, CycleError, DistributionError, DomainError,
                     DuplicateDefinitionError, ProbabilityError, TableError, UnknownNameError, did_you_mean,
                     source_lines)
from .expressions import (FUNCTIONS, arity_hint, arity_ok, arity_message, children, compile_expr, free_vars,
                          is_logical, map_children, renew, same_or_new, walk)
from .ir import COUPLINGS, Model, Node, Param, Regime

MAX_DOMAIN = 4096  # larger images of := over finite parents are treated as continuous
MAX_TRIALS = 100_000
RESERVED = S.RESERVED  # names written in backquotes only (see causaldsl.language.syntax)
# How far from 1 a row of constant probabilities may sum: the engines' rule (distributions.py).
SUM_TOLERANCE = 1e-6
MAX_PARAM_SIZE = 1_000_000


class _Ctx:
    def __init__(self, source: str):
        self.source = source
        self._lines: Optional[list[str]] = None
        # keys of tables already checked: (parents, keys object) -> (keys object, codes); the
        # tables of one compact Categorical, one per level, share their keys
        self.table_keys: dict = {}
        self.params: dict = {}  # declared parameters: a bare name compared with a variable may be one

    def err(self, cls, msg, span, hint=None):
        return cls(msg, span=span, source=self.source, hint=hint)

    def line(self, span) -> str:
        if self._lines is None:  # split once: every node quotes its statement
            self._lines = source_lines(self.source)
        lines = self._lines
        return lines[span.line - 1].strip() if 0 < span.line <= len(lines) else ""


def check_model(block: S.ModelBlock, source: str = "") -> Model:
    """Check a parsed ``model`` block and build its IR."""
    ctx = _Ctx(source)
    default_coupling = _model_coupling(block, ctx)
    couplings: dict[str, tuple] = {}  # name -> (coupling, span) written in its statement
    stmts: dict[str, S.Statement] = {}
    for st in block.statements:
        if isinstance(st, S.SampleStmt):
            st, written = _take_coupling(st, ctx)
            if written is not None:
                couplings[st.name] = written
        if st.name in RESERVED and not quoted(st.span, st.name):
            raise ctx.err(CausalSyntaxError, f"'{st.name}' is a reserved word and cannot name a variable",
                          st.span, hint=f"write the name in backquotes, `{st.name}`, or rename it, e.g. '{st.name}_'")
        if isinstance(st, S.SampleStmt) and st.dist.name == "Categorical":
            st = expand_compact(st, ctx)
        if st.name in stmts:
            first = stmts[st.name].span.line
            raise ctx.err(DuplicateDefinitionError, f"'{st.name}' is defined twice (first on line {first})",
                          st.span, hint="give each variable one statement; rename one of them")
        stmts[st.name] = st
    if not stmts:
        raise ctx.err(CausalSyntaxError, f"model '{block.name}' has no statements", block.span,
                      hint="add a line such as: x ~ Bernoulli(0.5)")
    params = ctx.params = _collect_params(block, stmts, ctx)

    # Names and parents, before domains: the graph must exist to order the work.
    parents: dict[str, list[str]] = {}
    for name, st in stmts.items():
        names: dict[str, None] = {}
        for e in _statement_exprs(st, ctx):
            flat = _flatten(e)  # walked once, read three times
            _check_expr(e, stmts, ctx, _level_candidates(e, stmts, flat), params, flat)
            for v in free_vars(e, flat):
                if v in stmts:
                    names.setdefault(v, None)
        parents[name] = list(names)

    order = _topological_order(stmts, parents)
    if order is None:
        _raise_cycle(stmts, parents, ctx)
    nodes: dict[str, Node] = {}
    for name in order:
        st = stmts[name]
        resolved = _resolve_levels(st, nodes, stmts, ctx)
        nodes[name] = _couple(_build_node(resolved, parents[name], nodes, ctx), couplings.get(name),
                              default_coupling, ctx)
    ir_params = tuple(_build_param(p, nodes, ctx) for p in params.values())
    if ir_params:
        nodes = _fill_index_axes(nodes, {p.name: p for p in ir_params}, ctx)
    return Model(block.name, tuple(nodes[n] for n in order), source, ir_params)


def _coupling_name(value, span, ctx: _Ctx) -> str:
    if isinstance(value, S.Var):
        name = value.name if value.world is None else None
    else:
        name = value.value if isinstance(value, (S.Str, S.Value)) else None
    if name not in COUPLINGS:
        raise ctx.err(DistributionError, "coupling must be 'quantile' or 'gumbel'", span,
                      hint="write coupling = gumbel (Gumbel-max, independent of the order of the levels) "
                           "or coupling = quantile (the default)")
    return name


def _model_coupling(block: S.ModelBlock, ctx: _Ctx) -> Optional[str]:
    """The coupling named by ``model NAME (coupling = ...)``, the only model option."""
    out = None
    for name, value, span in block.options:
        if name != "coupling":
            raise ctx.err(CausalSyntaxError, f"unknown model option '{name}'", span,
                          hint=did_you_mean(name, ["coupling"]) or "the model option is coupling = gumbel")
        out = _coupling_name(value, value.span, ctx)
    return out


def _take_coupling(st: S.SampleStmt, ctx: _Ctx) -> tuple:
    """``st`` without its ``coupling = ...`` argument, and ``(coupling, span)`` or None.

    The argument names how the variable's copies share its noise across worlds, not a
    parameter: it is taken out before parents are read (``gumbel`` is not a variable)."""
    found = [a for a in st.dist.args if a.kind == "kw" and a.name == "coupling"]
    if not found:
        return st, None
    if len(found) > 1:
        raise ctx.err(DistributionError, "coupling given twice", found[1].span, hint="give it once")
    a = found[0]
    name = _coupling_name(a.value, _expr_span(a.value, a.span), ctx)
    dist = replace(st.dist, args=tuple(x for x in st.dist.args if x is not a))
    return replace(st, dist=dist), (name, a.span)


def _couple(node: Node, written: Optional[tuple], default: Optional[str], ctx: _Ctx) -> Node:
    """``node`` with its coupling: as written in its statement, else the model's (for the
    variables with finitely many values: the Gumbel-max coupling needs a table of them)."""
    if written is not None:
        name, span = written
        if name == "gumbel" and not node.finite:
            raise ctx.err(DistributionError, f"coupling = gumbel needs finitely many values, and "
                          f"'{node.name}' ~ {node.family} has infinitely many", span,
                          hint="use it on Bernoulli, Categorical or Binomial variables; "
                               "continuous and count variables keep the quantile coupling")
        return replace(node, coupling=name) if name != node.coupling else node
    if default is not None and node.kind == "sample" and node.finite:
        return replace(node, coupling=default)
    return node


def quoted(span, name: str) -> bool:
    """Whether the name ``name`` at ``span`` was written in backquotes (its text is two longer).

    >>> quoted(S.Span(1, 1, 5), "do"), quoted(S.Span(1, 1, 3), "do")
    (True, False)
    """
    return span.end_column is not None and span.end_column - span.column == len(name) + 2


# ------------------------------------------------------------------ compact tables
def _compact(dist: S.DistCall) -> bool:
    """Whether a ``Categorical`` is written in the compact form: ``levels = [...]``, ``probs =
    [...]`` or a table with a row of probabilities per parent configuration."""
    for a in dist.args:
        v = a.value
        if a.kind == "kw" or type(v) is S.Vector or (type(v) is S.Table and v.values and type(v.values[0]) is S.Vector):
            return True
    return False


def expand_compact(st: S.SampleStmt, ctx: "_Ctx") -> S.SampleStmt:
    """``st`` with a compact ``Categorical`` written as the keyed form it means: ``levels = [a,
    b], probs = table(X) { x: [p, q], ... }`` becomes ``Categorical(a: table(X) { x: p, ... },
    b: table(X) { x: q, ... })`` (``probs = [p, q]``: ``Categorical(a: p, b: q)``; without
    ``levels``, unnamed levels). Each row has one probability per level, and a row of
    constants sums to 1 (within :data:`SUM_TOLERANCE`); the keys are checked later, as any
    table's. Any other statement is returned as it is.

    >>> from causaldsl.language.parser import parse
    >>> st = parse('model m {\\n y ~ Categorical(levels = [lo, "hi"], probs = [0.25, 0.75])\\n}').items[0].statements[0]
    >>> [(a.name, a.value.value) for a in expand_compact(st, _Ctx("")).dist.args]
    [('lo', 0.25), ('hi', 0.75)]
    """
    dist = st.dist
    if not _compact(dist):
        return st
    levels_arg = probs_arg = None
    for a in dist.args:
        if a.kind == "kw" and a.name not in ("levels", "probs"):
            raise ctx.err(DistributionError, f"Categorical has no parameter '{a.name}'", a.span,
                          hint=did_you_mean(a.name, ("levels", "probs")) or _COMPACT_HINT)
        if a.kind == "level":
            raise ctx.err(DistributionError, "Categorical takes either named levels or levels = [...] "
                          "with probs = ...", a.span, hint=_COMPACT_HINT)
        if (a.name == "levels" and levels_arg is not None) or (a.name != "levels" and probs_arg is not None):
            raise ctx.err(DistributionError, f"{'levels' if a.name == 'levels' else 'probs'} given twice",
                          a.span, hint=_COMPACT_HINT)
        if a.name == "levels":
            levels_arg = a
        else:
            probs_arg = a
    if probs_arg is None:
        raise ctx.err(DistributionError, "Categorical needs its probabilities: probs = ...", dist.span,
                      hint=_COMPACT_HINT)
    names = _level_names(levels_arg, ctx) if levels_arg is not None else None
    probs = probs_arg.value
    if type(probs) is S.Vector:
        rows, table = (probs,), None
    elif type(probs) is S.Table and all(type(v) is S.Vector for v in probs.values):
        rows, table = probs.values, probs
    else:
        raise ctx.err(DistributionError, "probs must be a list of probabilities, [p, q, ...], or a table "
                      "with one such row per parent configuration", _expr_span(probs, probs_arg.span),
                      hint=_COMPACT_HINT)
    k = len(names) if names is not None else len(rows[0].items)
    for i, row in enumerate(rows):
        _check_row(row, k, names, st.name, table, i, ctx)
    if table is None:
        columns = list(rows[0].items)
    else:
        columns = [renew(table, values=tuple([row.items[j] for row in rows])) for j in range(k)]
    if names is None:
        args = tuple(S.Arg("pos", None, c, probs_arg.span) for c in columns)
    else:
        args = tuple(S.Arg("level", n, c, levels_arg.span) for n, c in zip(names, columns))
    return renew(st, dist=renew(dist, args=args))


_COMPACT_HINT = ('write Categorical(levels = [a, "b c"], probs = table(X) { x1: [0.2, 0.8], x2: [0.5, 0.5] }), '
                 'or probs = [0.2, 0.8] without parents')


def _level_names(arg: S.Arg, ctx: "_Ctx") -> list[str]:
    """The names in ``levels = [a, "b c", ...]``: bare names or strings, each once."""
    if type(arg.value) is not S.Vector:
        raise ctx.err(DistributionError, "levels must be a list of names: levels = [a, \"b c\"]",
                      _expr_span(arg.value, arg.span), hint=_COMPACT_HINT)
    names: list[str] = []
    for item in arg.value.items:
        if type(item) is S.Str:
            name = item.value
        elif type(item) is S.Var and item.world is None:
            name = item.name
        else:
            raise ctx.err(DistributionError, "a level is a name or a string", _expr_span(item, arg.span),
                          hint='quote a level that is not a plain name: levels = ["<5", "12+"]')
        if name in names:
            raise ctx.err(DistributionError, f"level '{name}' appears twice", _expr_span(item, arg.span),
                          hint="give each level a distinct name")
        names.append(name)
    return names


def _check_row(row: S.Vector, k: int, names, var: str, table, i: int, ctx: "_Ctx") -> None:
    """Row ``i`` of a compact table (or the list of a variable without parents): ``k``
    probabilities, each in [0, 1] where constant, summing to 1 where all are."""
    where = row.span if row.span.line else (table.row_span(i) if table is not None else S.NOSPAN)
    of = "" if table is None else " in the row " + _fmt_key(table.keys[i])
    if len(row.items) != k:
        what = f"{var} has {k} level(s)" if names is not None else f"the first row has {k}"
        raise ctx.err(TableError, f"{len(row.items)} probabilities{of}, but {what}", where,
                      hint="write one probability per level" + (": " + ", ".join(names) if names else ""))
    total = 0.0
    for item in row.items:
        c = float(item.value) if type(item) is S.Num else _constant(item)
        if c is None:
            return  # an expression of the parents: checked when a query runs
        if not 0.0 <= c <= 1.0:
            raise ctx.err(ProbabilityError, f"probability {c:g}{of} is outside [0, 1]",
                          _expr_span(item, where), hint="Categorical takes " + FAMILIES["Categorical"].rule)
        total += c
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ctx.err(ProbabilityError, f"the probabilities of {var}{of} sum to {total:.6g}, not 1", where,
                      hint="make each row add up to 1: one probability per level, in the order of the levels")


def _topological_order(stmts: dict[str, S.Statement], parents: dict[str, list[str]]) -> Optional[list[str]]:
    """Parents first, and among the nodes ready at any point the one written first (then by name);
    ``None`` when the equations form a cycle.

    This is ``networkx.lexicographical_topological_sort`` with the key (line, name), which is
    unique, so the order is: Kahn's algorithm always taking the smallest ready key.

    >>> _topological_order({"b": S.SampleStmt("b", None, span=S.Span(2, 1)),
    ...                     "a": S.SampleStmt("a", None, span=S.Span(1, 1))}, {"b": ["a"], "a": []})
    ['a', 'b']
    """
    waiting = {v: len(ps) for v, ps in parents.items()}
    children: dict[str, list[str]] = {v: [] for v in stmts}
    for child, ps in parents.items():
        for p in ps:
            children[p].append(child)
    ready = [(stmts[v].span.line, v) for v, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, v = heapq.heappop(ready)
        order.append(v)
        for c in children[v]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (stmts[c].span.line, c))
    return order if len(order) == len(stmts) else None


def _raise_cycle(stmts, parents, ctx: _Ctx) -> None:
    """The error for cyclic equations, naming the cycle networkx finds first."""
    g = nx.DiGraph()
    g.add_nodes_from(stmts)
    for child, ps in parents.items():
        for p in ps:
            g.add_edge(p, child)
    cycle = nx.find_cycle(g)
    path = [u for u, _ in cycle] + [cycle[0][0]]
    first = min((stmts[u] for u, _ in cycle), key=lambda s: (s.span.line, s.span.column))
    raise ctx.err(CycleError, "the equations form a cycle: " + " -> ".join(path), first.span,
                  hint="a structural causal model must be acyclic; remove one of these dependencies")


# ------------------------------------------------------------------ parameters
def _collect_params(block: S.ModelBlock, stmts, ctx: _Ctx) -> dict[str, S.ParamStmt]:
    """Names, indices and priors of ``param`` statements (priors may use earlier scalar params)."""
    params: dict[str, S.ParamStmt] = {}
    for p in block.params:
        if p.name in RESERVED and not quoted(p.span, p.name):
            raise ctx.err(CausalSyntaxError, f"'{p.name}' is a reserved word and cannot name a parameter",
                          p.span, hint=f"write the name in backquotes, `{p.name}`, or rename it, e.g. '{p.name}_'")
        if p.name in stmts or p.name in params:
            first = (stmts.get(p.name) or params[p.name]).span.line
            raise ctx.err(DuplicateDefinitionError, f"'{p.name}' is defined twice (first on line {first})",
                          p.span, hint="parameters and variables need distinct names")
        for v, sp in zip(p.index, p.index_spans):
            if v not in stmts:
                raise ctx.err(UnknownNameError, f"parameter '{p.name}' is indexed by '{v}', which is not "
                              "a variable of the model", sp,
                              hint=did_you_mean(v, stmts) or "index by discrete variables: " + ", ".join(stmts))
        if len(set(p.index)) != len(p.index):
            raise ctx.err(CausalSyntaxError, f"parameter '{p.name}' names an index twice", p.span,
                          hint="write each indexing variable once")
        fam = FAMILIES.get(p.dist.name)
        if fam is None:
            raise ctx.err(DistributionError, f"unknown distribution '{p.dist.name}'", p.dist.span,
                          hint=did_you_mean(p.dist.name, FAMILIES) or "known: " + ", ".join(FAMILIES))
        if fam.support != "real":
            raise ctx.err(DistributionError, f"the prior of parameter '{p.name}' must be continuous; "
                          f"{fam.name} is discrete", p.dist.span,
                          hint="use e.g. Beta(1, 1) for a probability, Normal(0, 10) for a coefficient, "
                               "HalfNormal(1) or Exponential(1) for a scale")
        for a in p.dist.args:
            for node in walk(a.value):
                if isinstance(node, S.Index) or (isinstance(node, S.Var) and node.name not in params):
                    what = "a variable" if node.name in stmts else "unknown" if not isinstance(node, S.Index) \
                        else "an indexed parameter"
                    raise ctx.err(UnknownNameError if what == "unknown" else CausalSyntaxError,
                                  f"the prior of '{p.name}' uses '{node.name}' ({what}); a prior may use only "
                                  "numbers and parameters declared above it", node.span,
                                  hint=did_you_mean(node.name, params) or
                                  "write constants, e.g. Normal(0, 10), or a scalar parameter declared earlier")
                if isinstance(node, S.Var) and params[node.name].index:
                    raise ctx.err(CausalSyntaxError, f"the prior of '{p.name}' uses the indexed parameter "
                                  f"'{node.name}'", node.span, hint="priors may use scalar parameters only")
        _check_expr_calls([a.value for a in p.dist.args], ctx)
        params[p.name] = p
    return params


def _check_expr_calls(exprs, ctx: _Ctx) -> None:
    for e in exprs:
        for node in walk(e):
            if isinstance(node, S.Call) and (node.fn not in FUNCTIONS or not arity_ok(node.fn, len(node.args))):
                _check_expr(node, {}, ctx)


def _build_param(p: S.ParamStmt, nodes: dict[str, Node], ctx: _Ctx) -> Param:
    fam = FAMILIES[p.dist.name]
    args = _bind_args(fam, p.dist, ctx)
    _static_param_checks(fam, args, p.dist, ctx)
    axes = []
    for v, sp in zip(p.index, p.index_spans):
        if not nodes[v].finite:
            raise ctx.err(DomainError, f"parameter '{p.name}' is indexed by '{v}', which is continuous",
                          sp, hint="index parameters by discrete variables (one entry per value); "
                                   "for a continuous effect use a coefficient: beta * " + v)
        axes.append(tuple(nodes[v].domain))
    size = int(np.prod([len(a) for a in axes])) if axes else 1
    if size > MAX_PARAM_SIZE:
        raise ctx.err(DomainError, f"parameter '{p.name}' would have {size:,} entries", p.span,
                      hint=f"at most {MAX_PARAM_SIZE:,}; index by fewer variables")
    return Param(p.name, fam.name, tuple(args), p.index, tuple(axes), p.span, ctx.line(p.span))


def _fill_index_axes(nodes: dict[str, Node], params: dict[str, Param], ctx: _Ctx) -> dict[str, Node]:
    """Give every ``p[...]`` the values of its axes, and check each index can only take those values."""

    def fill(e):
        if isinstance(e, S.Index):
            par = params[e.name]
            for idx, axis, v in zip(e.indices, par.axes, par.index):
                image = _expr_image(idx, nodes)
                sp = _expr_span(idx, e.span)
                if image is None:
                    raise ctx.err(DomainError, f"the index of '{e.name}' must take the values of '{v}', "
                                  "but it is continuous or unknown here", sp,
                                  hint=f"index with '{v}' itself or another discrete expression")
                bad = [x for x in image if not any(abs(x - a) <= 1e-9 for a in axis)]
                if bad:
                    raise ctx.err(DomainError, f"index value {bad[0]:g} of '{e.name}' is not a value of '{v}'",
                                  sp, hint=f"values of '{v}' are " + ", ".join(f"{a:g}" for a in axis[:12]))
            return replace(e, indices=tuple(fill(i) for i in e.indices), axes=par.axes)
        return e if isinstance(e, S.Var) else map_children(e, fill)

    out = {}
    for name, node in nodes.items():
        if node.kind == "assign":
            out[name] = replace(node, expr=fill(node.expr))
        elif node.kind == "sample":
            out[name] = replace(node, args=tuple(fill(a) for a in node.args))
        else:  # pragma: no cover
            out[name] = node
    return out


def _statement_exprs(st: S.Statement, ctx: _Ctx) -> list[S.Expr]:
    if isinstance(st, S.AssignStmt):
        return [st.expr]
    return [a.value for a in st.dist.args]


# Expression nodes without sub-expressions (a Var may have some: its counterfactual world).
_LEAVES = (S.Num, S.Str, S.Level)
_LEAF_TYPES = frozenset(_LEAVES)


def _flatten(expr: S.Expr) -> list:
    """Every node of ``expr`` but its numbers, parents before children (``walk`` without a
    generator per node). Its readers have nothing to check in a number, and numbers are most
    nodes of a model: the entries of its tables.

    >>> [type(e).__name__ for e in _flatten(S.BinOp("+", S.Num(1.0), S.Var("x")))]
    ['BinOp', 'Var']
    """
    out, stack, Num = [], [expr], S.Num
    while stack:
        e = stack.pop()
        t = type(e)
        if t is Num:
            continue
        out.append(e)
        if t in _LEAVES or (t is S.Var and not e.world):
            continue
        if t is S.Table:
            kids = [v for v in e.values if type(v) is not Num]
        else:
            kids = list(children(e))
        kids.reverse()
        stack.extend(kids)
    return out


def _level_candidates(expr: S.Expr, stmts, flat: Optional[list] = None) -> set[int]:
    """Bare unknown names compared with a variable (``w == sunny``): level names, checked later."""
    out = set()
    for node in walk(expr) if flat is None else flat:
        if isinstance(node, S.Compare):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(a, S.Var) and a.name in stmts and (isinstance(b, S.Str) or (
                        isinstance(b, S.Var) and b.world is None and b.name not in stmts)):
                    out.add(id(b))  # a quoted level (w == "a") is always a level
    return out


def _check_expr(expr: S.Expr, stmts, ctx: _Ctx, levels: set[int] = frozenset(),
                params: Optional[dict] = None, flat: Optional[list] = None) -> None:
    """Names, functions and strings in ``expr`` (``flat``: its nodes, when already walked)."""
    params = params or {}
    for node in walk(expr) if flat is None else flat:
        if type(node) is S.Num:  # most nodes (table entries); nothing to check
            continue
        if isinstance(node, (S.Var, S.Str)) and id(node) in levels:
            continue
        if isinstance(node, S.Var) and node.world is None and node.name in params:
            p = params[node.name]
            if p.index:
                raise ctx.err(CausalSyntaxError, f"parameter '{node.name}' has one value per level of "
                              f"{', '.join(p.index)}", node.span,
                              hint=f"pick one: {node.name}[{', '.join(p.index)}]")
            continue
        if isinstance(node, S.Index):
            p = params.get(node.name)
            if p is None:
                if node.name in stmts:
                    raise ctx.err(CausalSyntaxError, f"'{node.name}[...]': only parameters can be indexed, "
                                  f"and '{node.name}' is a variable", node.span,
                                  hint="counterfactual terms like y[x = 0] belong in queries, not in a model")
                raise ctx.err(UnknownNameError, f"unknown parameter '{node.name}'", node.span,
                              hint=did_you_mean(node.name, params) or
                              f"declare it: param {node.name}[...] ~ Beta(1, 1)")
            if len(node.indices) != len(p.index):
                want = f"{node.name}[{', '.join(p.index)}]" if p.index else node.name
                raise ctx.err(CausalSyntaxError, f"parameter '{node.name}' takes {len(p.index)} index(es), "
                              f"got {len(node.indices)}", node.span, hint=f"write {want}")
            continue
        if isinstance(node, S.Var):
            if node.world is not None:
                raise ctx.err(CausalSyntaxError, "counterfactual terms like "
                              f"'{node.name}[...]' belong in queries, not in a model", node.span,
                              hint=f"use the plain name '{node.name}' inside the model")
            if node.name not in stmts:
                raise ctx.err(UnknownNameError, f"unknown variable '{node.name}'", node.span,
                              hint=did_you_mean(node.name, stmts) or
                              f"define it in the model, e.g. '{node.name} ~ Bernoulli(0.5)'; "
                              "variables are: " + ", ".join(stmts))
        elif isinstance(node, S.Call):
            if node.fn not in FUNCTIONS:
                hint = did_you_mean(node.fn, list(FUNCTIONS)) or ("known functions: " + ", ".join(FUNCTIONS))
                if node.fn in FAMILIES:
                    hint = f"'{node.fn}' is a distribution: write 'x ~ {node.fn}(...)' on its own line"
                raise ctx.err(UnknownNameError, f"unknown function '{node.fn}'", node.span, hint=hint)
            if not arity_ok(node.fn, len(node.args)):
                raise ctx.err(CausalSyntaxError, arity_message(node.fn, len(node.args)), node.span,
                              hint=arity_hint(node.fn))
        elif isinstance(node, S.Table):
            for p, sp in zip(node.parents, node.parent_spans):
                if p not in stmts:
                    raise ctx.err(UnknownNameError, f"unknown variable '{p}' in table", sp,
                                  hint=did_you_mean(p, stmts) or "variables are: " + ", ".join(stmts))
        elif isinstance(node, S.Vector):
            raise ctx.err(CausalSyntaxError, "a list [...] stands only in Categorical(levels = [...], probs = ...)",
                          node.span, hint=_COMPACT_HINT)
        elif isinstance(node, S.Str):
            raise ctx.err(CausalSyntaxError, f"a string \"{node.value}\" cannot be used as a number",
                          node.span, hint="compare a categorical variable with a level name: w == sunny")


# ------------------------------------------------------------------ level names
def _resolve_levels(st: S.Statement, nodes: dict[str, Node], stmts, ctx: _Ctx) -> S.Statement:
    """Replace level names (``w == sunny``) by their codes, using the parents' levels."""
    if isinstance(st, S.AssignStmt):
        return renew(st, expr=_fix_levels(st.expr, nodes, stmts, ctx))
    args = tuple(renew(a, value=_fix_levels(a.value, nodes, stmts, ctx)) for a in st.dist.args)
    return renew(st, dist=renew(st.dist, args=same_or_new(st.dist.args, args)))


# A module function, not a closure of _resolve_levels: a closure that calls itself is a reference
# cycle, two functions and five cells per statement left for the garbage collector.
def _fix_levels(e, nodes: dict[str, Node], stmts, ctx: _Ctx):
    """``e`` with level names compared with a variable replaced by their codes (:func:`_resolve_levels`)."""
    if type(e) in _LEAVES:
        return e
    if type(e) is S.Table and set(map(type, e.values)) <= _LEAF_TYPES:  # most tables: numbers
        return _check_table(e, nodes, ctx)
    fix = functools.partial(_fix_levels, nodes=nodes, stmts=stmts, ctx=ctx)
    if isinstance(e, S.Compare):
        left, right = fix(e.left), fix(e.right)
        for a, b, side in ((left, right, "right"), (right, left, "left")):
            lv = nodes[a.name].levels if isinstance(a, S.Var) and a.name in nodes else None
            ambiguous_level(a, b, lv, stmts, ctx)
            if isinstance(b, S.Str) and not lv and isinstance(a, S.Var) and a.name in nodes:
                raise ctx.err(CausalSyntaxError, f"a string \"{b.value}\" cannot be compared with "
                              f"'{a.name}', which has no named levels", b.span,
                              hint="compare a categorical variable with one of its levels: w == sunny")
            if not lv and isinstance(a, S.Var) and a.name in nodes and isinstance(b, S.Var) \
                    and b.world is None and b.name not in stmts and b.name not in ctx.params:
                # Taken for a level name by _level_candidates, but 'a' has no levels: a misspelt name.
                raise ctx.err(UnknownNameError, f"unknown variable '{b.name}'", b.span,
                              hint=did_you_mean(b.name, stmts) or f"'{a.name}' has no named levels; "
                              "variables are: " + ", ".join(stmts))
            if lv and isinstance(b, (S.Var, S.Str)) and (isinstance(b, S.Str) or b.name not in stmts):
                label = b.name if isinstance(b, S.Var) else b.value
                if label not in lv:
                    raise ctx.err(UnknownNameError, f"'{label}' is not a level of '{a.name}'", b.span,
                                  hint=did_you_mean(label, lv) or "levels are: " + ", ".join(lv))
                lvl = S.Level(label, lv.index(label), b.span)
                return replace(e, left=lvl, right=a) if side == "left" else replace(e, left=a, right=lvl)
        return renew(e, left=left, right=right)
    if isinstance(e, S.Table):
        values = tuple([v if type(v) in _LEAVES else fix(v) for v in e.values])
        return _check_table(renew(e, values=same_or_new(e.values, values)), nodes, ctx)
    return e if isinstance(e, (S.Var, S.Index)) else map_children(e, fix)  # indices: filled later


def ambiguous_level(a, b, levels, stmts, ctx: _Ctx) -> None:
    """Refuse ``w == a`` where the bare name ``a`` is both a level of ``w`` and a variable: read as
    the variable here and as the level in ``P(w = a)``, it would mean two things. The query
    builder applies the same rule (:meth:`causaldsl.model.queries._Builder.level_or_variable`)."""
    if levels and isinstance(b, S.Var) and b.world is None and b.name in stmts and b.name in levels:
        raise ctx.err(CausalSyntaxError, f"'{b.name}' is both a level of '{a.name}' and a variable",
                      b.span, hint=f"quote the level, {a.name} == \"{b.name}\", or rename the level or "
                                   "the variable")


def _fmt_key(key) -> str:
    parts = [str(int(k)) if isinstance(k, float) and k == int(k) else str(k) for k in key]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _check_table(table: S.Table, nodes: dict[str, Node], ctx: _Ctx) -> S.Table:
    """Keys must cover the parents' domains exactly once; level names become codes."""
    domains = []
    for p, sp in zip(table.parents, table.parent_spans):
        node = nodes[p]
        if not node.finite:
            raise ctx.err(TableError, f"table over '{p}', which is not discrete", sp,
                          hint="tables need parents with finitely many values; use an expression instead")
        domains.append(node)
    seen_keys = ctx.table_keys.get((table.parents, id(table.keys)))
    if seen_keys is not None and seen_keys[0] is table.keys:
        return renew(table, keys=seen_keys[1])
    if table.in_grid_order([n.domain for n in domains]):
        keys = table.keys  # the common table: numbers for keys, which are their own codes
    else:
        keys = _checked_keys(table, domains, ctx)
    ctx.table_keys[(table.parents, id(table.keys))] = (table.keys, keys)  # holding the keys keeps their id
    return renew(table, keys=keys)


def _checked_keys(table: S.Table, domains: list, ctx: _Ctx) -> tuple:
    """The codes of ``table``'s keys (see :func:`_check_table`)."""
    if table.in_grid_order([n.levels or n.domain for n in domains]):  # level names in the grid's order
        return tuple(itertools.product(*[n.domain for n in domains]))
    expected = set(itertools.product(*[n.domain for n in domains]))
    values = [frozenset(n.domain) for n in domains]
    seen: dict[tuple, int] = {}  # key codes -> the row that has them
    keys = []
    for i, key in enumerate(table.keys):
        if len(key) != len(domains):
            raise ctx.err(TableError, f"row key has {len(key)} value(s), the table has "
                          f"{len(domains)} parent(s)", table.row_span(i),
                          hint="write one value per parent, e.g. (0, 1): 0.5" if len(domains) > 1 else
                          "write one value per row, e.g. 0: 0.5")
        if key in expected and key not in seen and all(type(v) is float for v in key):
            seen[key] = i  # the common row: numbers of the domains, which are their own codes
            keys.append(key)
            continue
        codes = tuple([v if type(v) is float and v in vals else _key_code(v, table, i, j, node, ctx)
                       for j, (v, node, vals) in enumerate(zip(key, domains, values))])
        if codes in seen:
            label = _fmt_key(tuple(_label(v, n) for v, n in zip(codes, domains)))
            raise ctx.err(TableError, f"duplicate row {label} (also on line "
                          f"{table.row_span(seen[codes]).line})", table.row_span(i),
                          hint="each combination of parent values appears once")
        seen[codes] = i
        # a key that is already its codes (numbers, not level names) stays the same object
        keys.append(key if all(type(v) is float and v == c for v, c in zip(key, codes)) else codes)
    missing = sorted(expected - set(seen))
    if missing:
        labels = [_fmt_key(tuple(_label(v, n) for v, n in zip(k, domains))) for k in missing[:6]]
        more = "" if len(missing) <= 6 else f" and {len(missing) - 6} more"
        raise ctx.err(TableError, f"table is missing row(s) {', '.join(labels)}{more}", table.span,
                      hint=f"add a row for every combination of {', '.join(table.parents)}")
    return same_or_new(table.keys, tuple(keys))


def _label(value: float, node: Node):
    if node.levels:
        return node.levels[int(value)]
    return value


def _key_code(v, table: S.Table, i: int, j: int, node: Node, ctx: _Ctx) -> float:
    """The code of the key atom ``v`` (a number or a level name) of ``node``, atom ``j`` of row
    ``i`` of ``table``: where it is is asked only for a message (a large table's spans are read
    again from its text when asked)."""
    if isinstance(v, str) and node.levels and v in node.levels:
        return float(node.levels.index(v))
    span = table.key_span(i, j)
    if isinstance(v, str):
        if not node.levels:
            raise ctx.err(TableError, f"'{v}' is not a value of '{node.name}'", span,
                          hint="values of '" + node.name + "' are " + ", ".join(_fmt_key((d,)) for d in node.domain))
        if v not in node.levels:
            raise ctx.err(TableError, f"'{v}' is not a level of '{node.name}'", span,
                          hint=did_you_mean(v, node.levels) or "levels are: " + ", ".join(node.levels))
        return float(node.levels.index(v))
    if float(v) not in node.domain:
        dom = node.levels if node.levels else [_fmt_key((d,)) for d in node.domain]
        raise ctx.err(TableError, f"{_fmt_key((v,))} is not a value of '{node.name}'", span,
                      hint="values of '" + node.name + "' are " + ", ".join(map(str, dom)))
    return float(v)


# ------------------------------------------------------------------ node building
def _constant(expr: S.Expr) -> Optional[float]:
    if isinstance(expr, S.Num):  # most table entries: no need to compile and run an expression
        return float(expr.value)
    if isinstance(expr, S.Table):  # reads its parents (the grammar asks for at least one)
        return None
    if free_vars(expr):
        return None
    try:
        with np.errstate(all="ignore"):
            return float(compile_expr(expr, np)({}))
    except Exception:  # pragma: no cover
        return None


def _build_node(st: S.Statement, parents: list[str], nodes: dict[str, Node], ctx: _Ctx) -> Node:
    text = ctx.line(st.span)
    common = dict(name=st.name, parents=tuple(parents), latent=st.latent, noise=st.name,
                  origin=st.name, span=st.span, text=text)
    if isinstance(st, S.AssignStmt):
        domain = _assign_domain(st.expr, parents, nodes)
        return Node(kind="assign", expr=st.expr, domain=domain, **common)

    dist = st.dist
    fam = FAMILIES.get(dist.name)
    if fam is None:
        raise ctx.err(DistributionError, f"unknown distribution '{dist.name}'", dist.span,
                      hint=did_you_mean(dist.name, FAMILIES) or "known: " + ", ".join(FAMILIES))
    levels = None
    if fam.name == "Categorical":
        args, levels = _categorical_args(dist, ctx)
    else:
        args = _bind_args(fam, dist, ctx)
    _static_param_checks(fam, args, dist, ctx)
    domain = _sample_domain(fam, args, levels, nodes, dist, ctx)
    return Node(kind="sample", family=fam.name, args=tuple(args), domain=domain, levels=levels, **common)


def _bind_args(fam, dist: S.DistCall, ctx: _Ctx) -> list[S.Expr]:
    if len(dist.args) == len(fam.params) and all(a.kind == "pos" for a in dist.args):
        return [a.value for a in dist.args]  # every parameter given, in order: most statements
    sig = f"{fam.name}({', '.join(fam.params)})"
    values: dict[str, S.Expr] = {}
    positional = [a for a in dist.args if a.kind == "pos"]
    for a in dist.args:
        if a.kind == "level":
            raise ctx.err(DistributionError, f"'{a.name}:' names a level, which only Categorical has",
                          a.span, hint=f"write {sig}")
    if len(positional) > len(fam.params):
        raise ctx.err(DistributionError, f"{fam.name} takes at most {len(fam.params)} argument(s), "
                      f"got {len(positional)}", dist.span, hint=f"write {sig}")
    for pname, a in zip(fam.params, positional):
        values[pname] = a.value
    for a in dist.args:
        if a.kind == "kw":
            if a.name not in fam.params:
                raise ctx.err(DistributionError, f"{fam.name} has no parameter '{a.name}'", a.span,
                              hint=did_you_mean(a.name, fam.params) or f"write {sig}")
            if a.name in values:
                raise ctx.err(DistributionError, f"parameter '{a.name}' given twice", a.span, hint=f"write {sig}")
            values[a.name] = a.value
    defaults = dict(fam.defaults)
    out = []
    for pname in fam.params:
        if pname in values:
            out.append(values[pname])
        elif pname in defaults:
            out.append(S.Num(defaults[pname]))
        else:
            raise ctx.err(DistributionError, f"{fam.name} needs parameter '{pname}'", dist.span,
                          hint=f"write {sig}")
    return out


def _categorical_args(dist: S.DistCall, ctx: _Ctx):
    args = dist.args
    if not args:
        raise ctx.err(DistributionError, "Categorical needs at least one level", dist.span,
                      hint="write Categorical(sunny: 0.7, rainy: 0.3)")
    kinds = {a.kind for a in args}
    if kinds == {"level"}:
        names = [a.name for a in args]
        for i, a in enumerate(args):
            if a.name in names[:i]:
                raise ctx.err(DistributionError, f"level '{a.name}' appears twice", a.span,
                              hint="give each level one probability, under a distinct name")
        return [a.value for a in args], tuple(names)
    if kinds == {"pos"}:
        return [a.value for a in args], None
    bad = next(a for a in args if a.kind != "level")
    raise ctx.err(DistributionError, "Categorical takes either all named levels or all plain probabilities",
                  bad.span, hint="write Categorical(sunny: 0.7, rainy: 0.3) or Categorical(0.7, 0.3)")


def _expr_span(expr: S.Expr, fallback):
    sp = getattr(expr, "span", None)
    return sp if sp and sp.line else fallback


def _static_param_checks(fam, args, dist: S.DistCall, ctx: _Ctx) -> None:
    """Constants and table entries that can never be valid are caught before any run."""
    def check_prob(e):
        targets = e.values if isinstance(e, S.Table) else [e]
        for t in targets:
            c = float(t.value) if type(t) is S.Num else _constant(t)
            if c is not None and not (0.0 <= c <= 1.0):
                raise ctx.err(ProbabilityError, f"probability {c:g} is outside [0, 1]",
                              _expr_span(t, dist.span),
                              hint=f"{fam.name} takes {fam.rule}")

    if fam.name == "Categorical":
        consts = [_constant(a) for a in args]
        for a, c in zip(args, consts):
            if c is not None and not (0.0 <= c <= 1.0):
                raise ctx.err(ProbabilityError, f"probability {c:g} is outside [0, 1]",
                              _expr_span(a, dist.span), hint="Categorical takes " + fam.rule)
        if all(c is not None for c in consts) and abs(sum(consts) - 1.0) > SUM_TOLERANCE:
            raise ctx.err(ProbabilityError, f"Categorical probabilities sum to {sum(consts):g}, not 1",
                          dist.span, hint="make the level probabilities add up to 1")
        return
    for i in fam.probability_params:
        check_prob(args[i])
    if fam.probability_params:  # checked above, entry by entry
        return
    consts = [_constant(a) for a in args]
    if all(c is not None for c in consts):
        if bool(fam.invalid(tuple(np.asarray(c, dtype=_engine_float()) for c in consts))):
            raise ctx.err(ProbabilityError, f"invalid parameters for {fam.name}: "
                          + ", ".join(f"{p}={c:g}" for p, c in zip(fam.params, consts)),
                          dist.span, hint=f"{fam.name} takes {fam.rule}")


def _engine_float():
    """The float type the engines compute in: float64 (see :func:`causaldsl.engines.config.float64`).

    Constant parameters are checked in NumPy at that precision: the same verdict as JAX's,
    without a JAX dispatch per node.
    """
    return np.dtype(np.float64)


def _sample_domain(fam, args, levels, nodes, dist: S.DistCall, ctx: _Ctx):
    if fam.name == "Bernoulli":
        return (0.0, 1.0)
    if fam.name == "Categorical":
        return tuple(float(i) for i in range(len(args)))
    if fam.name == "Binomial":
        ns = _expr_image(args[0], nodes)
        if ns is None:
            raise ctx.err(DistributionError, "Binomial's number of trials must be a whole number known "
                          "from discrete parents", _expr_span(args[0], dist.span),
                          hint="use a constant such as Binomial(10, p)")
        bad = [n for n in ns if n < 0 or n != int(n)]
        if bad:
            raise ctx.err(ProbabilityError, f"Binomial's number of trials must be a whole number >= 0, got {bad[0]:g}",
                          _expr_span(args[0], dist.span), hint="write Binomial(n, p) with n = 0, 1, 2, ...")
        if max(ns) > MAX_TRIALS:
            raise ctx.err(DistributionError, f"Binomial with {max(ns):g} trials is too large to enumerate "
                          f"(at most {MAX_TRIALS:,})", _expr_span(args[0], dist.span),
                          hint="approximate it with Normal(n * p, sqrt(n * p * (1 - p)))")
        return tuple(float(k) for k in range(int(max(ns)) + 1))
    return None


def _expr_image(expr: S.Expr, nodes: dict[str, Node]) -> Optional[tuple[float, ...]]:
    """All values ``expr`` can take when its variables range over their finite domains."""
    names = free_vars(expr)
    if any(n not in nodes or not nodes[n].finite for n in names):  # parameters are not enumerable
        return None
    size = 1
    for n in names:
        size *= len(nodes[n].domain)
    if size > 1_000_000:
        return None
    grids = np.meshgrid(*[np.asarray(nodes[n].domain) for n in names], indexing="ij") if names else []
    env = {n: g.ravel() for n, g in zip(names, grids)}
    with np.errstate(all="ignore"):
        vals = np.broadcast_to(np.asarray(compile_expr(expr, np)(env), dtype=float), (size,)).ravel()
    vals = vals[~np.isnan(vals)]
    uniq = np.unique(vals)
    if len(uniq) > MAX_DOMAIN:
        return None
    return tuple(float(v) for v in uniq)


def _assign_domain(expr: S.Expr, parents, nodes) -> Optional[tuple[float, ...]]:
    if is_logical(expr):
        return (0.0, 1.0)
    return _expr_image(expr, nodes)


# ------------------------------------------------------------------ interventions that replace a mechanism
def check_regime(model: Model, item: S.Assignment, source: str = "") -> Regime:
    """The :class:`~causaldsl.model.ir.Regime` of a soft intervention on ``model``, checked as a
    statement of the model is: ``X = expr`` (a shift ``X + 1``, a dynamic regime ``1 - Z``; the
    variable's own name reads its natural value) or ``X ~ Dist(args)`` (``item.dist``).

    Names, functions, level names and parameters are checked as in a model; the new mechanism
    must keep a discrete variable inside its values (``do(X = X + 1)`` on ``0..3`` reaches 4:
    a :class:`~causaldsl.language.errors.DomainError`, whose hint shows how to clip with
    ``min``/``max``), and a categorical draw names the variable's levels. Cycles are checked
    where all interventions of a world are known (:func:`causaldsl.model.worlds.regime_cycle`).

    >>> from causaldsl.language.parser import parse, parse_query
    >>> m = check_model(parse("model m {\\n z ~ Bernoulli(0.4)\\n x ~ Binomial(3, 0.5)\\n}").items[0])
    >>> item = parse_query("P(x = 1 | do(x = min(x + 1, 3)))").conditions[0].assignments[0]
    >>> r = check_regime(m, item)
    >>> r.kind, r.domain, r.text, r.inputs()
    ('assign', (0.0, 1.0, 2.0, 3.0), '= min(x + 1, 3)', ['x'])
    """
    ctx = _Ctx(source)
    names = {n: None for n in model.names}
    var = item.name
    if var not in model:
        raise ctx.err(UnknownNameError, f"unknown variable '{var}'", item.span,
                      hint=did_you_mean(var, names) or "variables are: " + ", ".join(names))
    node = model[var]
    st: S.Statement = (S.SampleStmt(var, item.dist, span=item.span) if item.dist is not None
                       else S.AssignStmt(var, item.value, span=item.span))
    ctx.params = {p.name: p for p in model.params}
    for e in _statement_exprs(st, ctx):
        _check_expr(e, names, ctx, _level_candidates(e, names), ctx.params)
    resolved = _resolve_levels(st, model.by_name, names, ctx)
    inputs = list(dict.fromkeys(v for e in _statement_exprs(resolved, ctx) for v in free_vars(e) if v in names))
    built = _build_node(resolved, inputs, model.by_name, ctx)
    where = _expr_span(item.value, item.span) if item.dist is None else item.dist.span
    text = (item.text[len(var):].strip() if item.text.startswith(var) else
            (f"~ {item.dist.name}(...)" if item.dist is not None else "= ..."))
    args = built.args
    if node.levels and built.family == "Categorical":
        args = _same_levels(node, built, item.dist, ctx)
    domain = _regime_domain(node, built, where, text, ctx)
    if built.kind == "assign":
        return Regime("assign", expr=built.expr, domain=domain, text=text)
    return Regime("sample", family=built.family, args=tuple(args), domain=domain, text=text)


def _same_levels(node: Node, built: Node, dist: S.DistCall, ctx: _Ctx) -> tuple:
    """A categorical draw's probabilities in the order of ``node``'s levels, which it must name."""
    if built.levels is None or set(built.levels) != set(node.levels):
        raise ctx.err(DomainError, f"the draw for '{node.name}' must name its levels", dist.span,
                      hint=f"write {node.name} ~ Categorical(" + ", ".join(f"{lv}: ..." for lv in node.levels) + ")")
    return tuple(built.args[built.levels.index(lv)] for lv in node.levels)


def _regime_domain(node: Node, built: Node, where, text: str, ctx: _Ctx) -> Optional[tuple[float, ...]]:
    """The values of ``node`` under its new mechanism ``built``: a discrete variable keeps its own
    values (its children's tables and levels are keyed on them), and the new mechanism must stay
    inside them; a continuous one takes what the new mechanism gives."""
    if node.domain is None:
        return built.domain
    values = built.domain
    shown = _show_values(node)
    if values is None:
        raise ctx.err(DomainError, f"do({node.name} {text}) gives '{node.name}' values it cannot take",
                      where, hint=f"'{node.name}' takes the values {shown}: draw it from a discrete "
                                  "distribution over them, or set it with an expression that stays inside")
    outside = [v for v in values if not any(abs(v - d) <= 1e-9 for d in node.domain)]
    if outside:
        lo, hi = min(node.domain), max(node.domain)
        expr = text[1:].strip() if text.startswith("=") else None
        clip = (f"; to hold it at the edge, write do({node.name} = min(max({expr}, {lo:g}), {hi:g}))"
                if expr is not None else "")
        raise ctx.err(DomainError, f"do({node.name} {text}) can give '{node.name}' the value {outside[0]:g}, "
                      f"outside its values", where, hint=f"'{node.name}' takes the values {shown}{clip}")
    return node.domain


def _show_values(node: Node) -> str:
    if node.levels:
        return ", ".join(node.levels)
    shown = ", ".join(f"{d:g}" for d in node.domain[:12])
    return shown + (", ..." if len(node.domain) > 12 else "")
