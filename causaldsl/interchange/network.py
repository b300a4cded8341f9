"""Conditional probability tables to the model IR and back.

A discrete Bayesian network, whatever format held it, is one :class:`Cpt` per variable: its
levels, its parents and an array of probabilities with one axis per parent (in the parents'
order, each over that parent's levels) and the variable's own levels last. :func:`build_model`
checks the tables (names, parents, shapes, probabilities, rows summing to 1, no cycle) and
builds the model IR directly: each variable becomes ``Categorical(level: table(parents) {...},
...)``, one table of numbers per level with its rows in the grid's order, the node the checker
(:func:`causaldsl.model.checker.check_model`) builds for the same statement written as text.
Level and variable names are kept as the format wrote them: the IR has no reserved words, and no
name is ever parsed as DSL. :func:`network_tables` reads the tables back out of a model.

>>> import numpy as np
>>> m = build_model("coin", [Cpt("E", ("<5", "12+"), (), np.array([0.3, 0.7])),
...                          Cpt("y", ("no", "yes"), ("E",), np.array([[0.9, 0.1], [0.2, 0.8]]))])
>>> m["y"].levels, m["y"].parents
(('no', 'yes'), ('E',))
>>> [t.probs.tolist() for t in network_tables(m)]
[[0.3, 0.7], [[0.9, 0.1], [0.2, 0.8]]]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Optional, Sequence

import networkx as nx
import numpy as np

from ..language import syntax as S
from ..language.errors import (CausalDSLError, CycleError, DistributionError, DuplicateDefinitionError,
                               ProbabilityError, Span, TableError, UnknownNameError, did_you_mean)
from ..model.ir import Model, Node

# Rows whose sum is within EXACT of 1 are kept exactly as written (bnlearn's networks are off by up
# to 3e-7: decimals rounded to 7 places); the engines accept sums within 1e-6 of 1.
EXACT = 1e-6
# Rows off by more, up to TOLERANCE (numbers rounded to three places, 0.333 + 0.333 + 0.333), are
# divided by their sum; further off, the table is refused.
TOLERANCE = 1e-3


@dataclass(frozen=True)
class Cpt:
    """One variable's conditional probability table.

    ``probs[i_1, ..., i_n, j]`` is P(name = levels[j] | parents[k] = its level i_k).
    ``span`` is where the variable is declared in ``source`` (for messages), and ``row_span``,
    when given, says where the row of a parent configuration (its flat index) is.
    """

    name: str
    levels: tuple[str, ...]
    parents: tuple[str, ...]
    probs: np.ndarray
    span: Span = field(default=Span(0, 0), compare=False)
    row_span: Optional[object] = field(default=None, compare=False, repr=False)

    def where(self, row: int) -> Span:
        return self.row_span(row) if self.row_span is not None else self.span


def _err(cls, message: str, span: Span, source: str, hint: str) -> CausalDSLError:
    if span.line:
        return cls(message, span=span, source=source or None, hint=hint)
    return cls(message, hint=hint)


def checked_probs(cpt: Cpt, source: str = "", tolerance: float = TOLERANCE, parent_levels=None) -> np.ndarray:
    """``cpt.probs`` as float64, rows that sum to within ``tolerance`` of 1 normalised (those within
    :data:`EXACT` kept as written); a :class:`ProbabilityError` for anything else.

    >>> checked_probs(Cpt("x", ("a", "b", "c"), (), np.array([0.333, 0.333, 0.333]))).round(6).tolist()
    [0.333333, 0.333333, 0.333333]
    """
    probs = np.asarray(cpt.probs, dtype=float)
    flat = probs.reshape(-1, probs.shape[-1]) if probs.ndim else probs.reshape(1, 1)
    bad = ~np.isfinite(flat) | (flat < 0) | (flat > 1)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise _err(ProbabilityError, f"P({cpt.name} = {cpt.levels[col]}{_given(cpt, row, parent_levels=parent_levels)}) is {flat[row, col]:g}, "
                   "not a probability", cpt.where(row), source, "every entry must be between 0 and 1")
    sums = flat.sum(axis=1)
    off = np.abs(sums - 1.0)
    if (off > tolerance).any():
        row = int(np.argmax(off > tolerance))
        raise _err(ProbabilityError, f"the probabilities of {cpt.name}{_given(cpt, row, ' given ', parent_levels)} sum to "
                   f"{sums[row]:.6g}, not 1", cpt.where(row), source,
                   f"each row must sum to 1 (rows within {tolerance:g} of 1 are normalised)")
    if (off > EXACT).any():
        fix = off > EXACT
        flat = flat.copy()
        flat[fix] /= sums[fix, None]
        return flat.reshape(probs.shape)
    return probs


def _given(cpt: Cpt, row: int, sep: str = " | ", parent_levels=None) -> str:
    """The parent configuration of flat row ``row``, named by the parents' levels where known."""
    if not cpt.parents:
        return ""
    idx = np.unravel_index(row, np.shape(cpt.probs)[:-1])
    names = [lv[i] if lv is not None else i for i, lv in zip(idx, parent_levels or [None] * len(idx))]
    return sep + ", ".join(f"{p} = {v}" for p, v in zip(cpt.parents, names))


def build_model(name: str, cpts: Sequence[Cpt], source: str = "", *, tolerance: float = TOLERANCE) -> Model:
    """The model IR of a discrete Bayesian network given as one :class:`Cpt` per variable.

    Variables come out in topological order (among those ready, the one given first); errors
    point at the table's ``span`` (or the row's) in ``source``.

    >>> m = build_model("n", [Cpt("b", ("0", "1"), ("a",), np.array([[0.5, 0.5], [0.1, 0.9]])),
    ...                       Cpt("a", ("x", "y"), (), np.array([0.4, 0.6]))])
    >>> m.names
    ['a', 'b']
    """
    by_name: dict[str, Cpt] = {}
    for c in cpts:
        if c.name in by_name:
            raise _err(DuplicateDefinitionError, f"'{c.name}' is defined twice", c.span, source,
                       "give each variable one table")
        by_name[c.name] = c
    for c in cpts:
        _check_shape(c, by_name, source)
    order = _order(cpts, by_name, source)
    nums: dict[float, S.Num] = {}  # one Num per distinct number: they are immutable, and tables repeat them
    exact = _all_exact(cpts)
    nodes = tuple(_node(by_name[v], by_name, np.asarray(by_name[v].probs, dtype=float) if exact else checked_probs(
        by_name[v], source, tolerance, [by_name[p].levels for p in by_name[v].parents]), nums) for v in order)
    return Model(name, nodes, source)


def _all_exact(cpts: Sequence[Cpt]) -> bool:
    """Whether every table holds probabilities whose rows sum to within :data:`EXACT` of 1, checked
    for all tables in a few NumPy calls (a network of small tables spent most of its build in one
    check per table); where not, :func:`checked_probs` looks at each table and says what is wrong.

    >>> _all_exact([Cpt("x", ("a", "b"), (), np.array([0.25, 0.75]))])
    True
    """
    flats = [np.asarray(c.probs, dtype=float).reshape(-1) for c in cpts]
    if not flats:
        return True
    flat = np.concatenate(flats)
    if not flat.size or not (np.isfinite(flat).all() and flat.min() >= 0.0 and flat.max() <= 1.0):
        return False
    starts, at = [], 0
    for c, f in zip(cpts, flats):
        k = len(c.levels)
        if not k or f.size % k:
            return False
        starts.append(np.arange(at, at + f.size, k))
        at += f.size
    sums = np.add.reduceat(flat, np.concatenate(starts))
    return bool((np.abs(sums - 1.0) <= EXACT).all())


def _check_shape(c: Cpt, by_name: dict, source: str) -> None:
    if not c.levels:
        raise _err(DistributionError, f"'{c.name}' has no levels", c.span, source, "declare at least one level")
    dup = [lv for i, lv in enumerate(c.levels) if lv in c.levels[:i]]
    if dup:
        raise _err(DistributionError, f"level '{dup[0]}' of '{c.name}' appears twice", c.span, source,
                   "give each level a distinct name")
    for p in c.parents:
        if p not in by_name:
            raise _err(UnknownNameError, f"'{c.name}' has the unknown parent '{p}'", c.span, source,
                       did_you_mean(p, by_name) or "declare every parent as a variable")
    if len(set(c.parents)) != len(c.parents) or c.name in c.parents:
        raise _err(TableError, f"the table of '{c.name}' names a parent twice, or itself", c.span, source,
                   "list each parent once")
    want = tuple(len(by_name[p].levels) for p in c.parents) + (len(c.levels),)
    if np.shape(c.probs) != want:
        raise _err(TableError, f"the table of '{c.name}' has shape {np.shape(c.probs)}, expected {want} "
                   "(one axis per parent, then the variable's levels)", c.span, source,
                   "give one probability per level for every combination of the parents' levels")


def _order(cpts: Sequence[Cpt], by_name: dict, source: str) -> list[str]:
    """Parents first; among the variables ready, the one given first (networkx's lexicographical
    topological sort, keyed by position in the file)."""
    seen: set = set()
    for c in cpts:  # given in an order that is topological already: it is the order sought
        if not seen.issuperset(c.parents):
            break
        seen.add(c.name)
    else:
        return [c.name for c in cpts]
    g = nx.DiGraph()
    g.add_nodes_from(c.name for c in cpts)
    g.add_edges_from((p, c.name) for c in cpts for p in c.parents)
    rank = {c.name: i for i, c in enumerate(cpts)}
    try:
        return list(nx.lexicographical_topological_sort(g, key=rank.__getitem__))
    except nx.NetworkXUnfeasible:
        stuck = by_name[nx.find_cycle(g)[0][0]]
        raise _err(CycleError, f"the network has a directed cycle through '{stuck.name}'", stuck.span, source,
                   "a Bayesian network must be acyclic") from None


_GRIDS: dict = {}


def _grid(cards: tuple[int, ...]) -> tuple:
    """Every combination of the parents' codes, last parent fastest (shared between tables)."""
    keys = _GRIDS.get(cards)
    if keys is None:
        keys = tuple(itertools.product(*[tuple(float(i) for i in range(k)) for k in cards]))
        if len(_GRIDS) < 512:
            _GRIDS[cards] = keys
    return keys


def _num(v: float, nums: dict) -> S.Num:
    n = nums.get(v)
    if n is None:
        n = nums[v] = S.Num(v)
    return n


def _node(c: Cpt, by_name: dict, probs: np.ndarray, nums: dict) -> Node:
    k = len(c.levels)
    if c.parents:
        keys = _grid(tuple(len(by_name[p].levels) for p in c.parents))
        cols = probs.reshape(-1, k).T.tolist()
        for v in set().union(*cols).difference(nums):
            nums[v] = S.Num(v)
        num = nums.__getitem__  # every number has its Num now: the tuples are built in C
        spans = (S.NOSPAN,) * len(c.parents)
        args = tuple(S.Table(c.parents, keys, tuple(map(num, col)), parent_spans=spans) for col in cols)
    else:
        args = tuple(_num(v, nums) for v in probs.reshape(k).tolist())
    text = f"{c.name} ~ Categorical({', '.join(c.levels)})" + (f" given {', '.join(c.parents)}" if c.parents else "")
    return Node(c.name, "sample", c.parents, "Categorical", args, domain=tuple(float(i) for i in range(k)),
                levels=tuple(c.levels), noise=c.name, origin=c.name, span=c.span, text=text)


# ------------------------------------------------------------------ back out
_REFUSE_HINT = ("BIF, pgmpy and pyAgrum hold discrete variables with a table of numbers per parent "
                "configuration: write the variable as Categorical(level: table(parents) {...}, ...) "
                "or Bernoulli(table(parents) {...})")


def network_tables(model: Model) -> list[Cpt]:
    """One :class:`Cpt` per variable of ``model``, in its order; a :class:`CausalDSLError` for what
    a table cannot hold (a continuous variable, a mechanism that is an expression, parameters with
    priors). An intervened variable (after ``do``) is a table of one certain level.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(x) { 0: 0.5, 1: 0.75 })\\n}")
    >>> [(t.name, t.levels, t.probs.tolist()) for t in network_tables(m.ir)]
    [('x', ('0', '1'), [0.7, 0.3]), ('y', ('0', '1'), [[0.5, 0.5], [0.25, 0.75]])]
    """
    if model.params:
        raise CausalDSLError(f"model '{model.name}' has parameters with priors ({model.params[0].name}, ...)",
                             hint="export a fitted or fixed model: tables of numbers, not distributions over them")
    out = []
    for node in model.nodes:
        out.append(_node_table(node, model))
    return out


def _levels(node: Node) -> tuple[str, ...]:
    if node.levels:
        return tuple(node.levels)
    return tuple(str(int(d)) if float(d).is_integer() else repr(float(d)) for d in node.domain)


def _refuse(node: Node, why: str) -> CausalDSLError:
    return CausalDSLError(f"'{node.name}' cannot be written as a table: {why}", span=node.span if node.span.line else None,
                          hint=_REFUSE_HINT)


def _node_table(node: Node, model: Model) -> Cpt:
    if not node.finite:
        raise _refuse(node, "it is continuous")
    levels = _levels(node)
    if node.kind == "fixed":
        if not isinstance(node.value, (int, float)) or float(node.value) not in node.domain:
            raise _refuse(node, "it is held at a value outside its levels")
        probs = np.zeros(len(levels))
        probs[node.domain.index(float(node.value))] = 1.0
        return Cpt(node.name, levels, (), probs, node.span)
    if node.kind != "sample" or node.family not in ("Bernoulli", "Categorical"):
        raise _refuse(node, "its mechanism is " + ("an expression" if node.kind == "assign"
                                                    else f"a {node.family} distribution"))
    names = node.env_names
    parents = tuple(node.parents)
    cards = [len(model[p].domain) for p in parents]
    cols = []
    for arg in node.args:
        cols.append(_column(arg, node, parents, names, [model[p].domain for p in parents]))
    if node.family == "Bernoulli":
        p = cols[0]
        cols = [1.0 - p, p]
    probs = np.stack(cols, axis=-1).reshape(tuple(cards) + (len(levels),))
    return Cpt(node.name, levels, parents, probs, node.span)


def _column(arg, node: Node, parents, names, domains) -> np.ndarray:
    """The numbers of one argument over the parents' grid (a number, or a table of numbers)."""
    if type(arg) is S.Num:
        return np.full(int(np.prod([len(d) for d in domains])) if parents else (), float(arg.value)) \
            if parents else np.asarray(float(arg.value))
    if type(arg) is S.Table and all(type(v) is S.Num for v in arg.values):
        cols = [names.get(e, e) for e in arg.parents]
        if set(cols) == set(parents) and len(cols) == len(parents):
            pos = {tuple(k): i for i, k in enumerate(arg.keys)}
            perm = [cols.index(p) for p in parents]
            out = []
            for combo in itertools.product(*domains):
                key = [0.0] * len(combo)
                for j, v in zip(perm, combo):
                    key[j] = v
                i = pos.get(tuple(key))
                if i is None:
                    raise _refuse(node, "its table has no row for a combination of its parents")
                out.append(float(arg.values[i].value))
            return np.asarray(out)
    raise _refuse(node, "a probability is an expression, not a number or a table of numbers")
