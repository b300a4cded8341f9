"""Contraction plans for the exact engine: an elimination order chosen for treewidth, costed by
:mod:`opt_einsum`.

An exact answer is one einsum over many small tensors; its cost is decided by the order of the
pairwise contractions (the *path*). Finding the best path is NP-hard. Its memory is the size of
the largest intermediate, which for a path read off a variable elimination order is the product
of the domains of the largest cluster the order creates: a network of treewidth ``w`` over binary
variables can be contracted with intermediates of ``2^w`` entries, and no order does better [3].
So candidates are gathered and the cheapest kept, each costed by opt_einsum's own ``PathInfo``:

* opt_einsum's greedy path [1] (near optimal on the tree-like networks of most causal models);
* where greedy's path is over the caller's memory limit, or takes over 10^5 operations per
  operand (below, the search would cost more than it could save), the paths of greedy elimination
  orders of the network's interaction graph (each table a clique of its variables, the answer's
  axes left out): *min-degree*, *min-weight* (the smallest clique, counted in entries: domains
  differ, Kjaerulff [4]) and *min-fill* (the fewest fill-in edges, each weighted by the entries
  it joins [4]; within a time budget, as it is cubic in the worst case), the classic upper-bound
  heuristics for treewidth (Bodlaender & Koster [3]), and the reverse Cuthill-McKee order [6],
  whose bandwidth bounds the width: on grids it finds the treewidth, where the greedy rules do
  not. An order becomes a path by bucket
  elimination (Dechter [5]): the tables holding the next variable are contracted two at a time,
  smallest first;
* where the best so far is still over the caller's memory limit, opt_einsum's randomised greedy
  search for the smallest largest intermediate [2] (32 seeded trials, or fewer where they take
  over a second).

The one kept has the fewest operations among those within the caller's memory limit, or the
smallest largest intermediate where none is. A search that could not bring a path within reach
of the limit (64 times it) is not run: the refusal then comes at once, with the estimate.
:attr:`Plan.width` is the treewidth bound the kept path proves (its largest step, in variables,
less one: each step's variables are a bag of a tree decomposition).

One :class:`Plan` per query structure feeds both engines: NumPy runs it along the path (below),
JAX as ``jnp.einsum(equation, ..., optimize=plan.pairwise)``.
Indices are named by ``opt_einsum.get_symbol``, so an equation may hold any number of them; only
a single pairwise step over more than NumPy's 52 letters cannot run (:attr:`Plan.wide`).

NumPy runs a plan one ``np.einsum`` call per step (:attr:`Plan.steps`, worked out from the path
in one pass over the equation): for tables of a few entries, BLAS's ``tensordot`` with its
transposes costs more than the product it computes, and opt_einsum's own expression would first
re-derive the path's ``PathInfo`` (``contract_path``, quadratic in the operands: 100 us of a
new question on alarm) and then wrap every step in its own parsing. Only a plan whose largest
intermediate is over 2^12 entries runs as opt_einsum's ``contract_expression``, its large steps
marked for BLAS.

*Tiny contractions in one pass.* Where every index of the contraction together spans few
entries (the product of their sizes at most the caller's ``one_pass``, and at most 52 indices),
searching a path costs more than the contraction: opt_einsum's greedy search and its account
take 75 us on a pruned asia question, 170 us on an alarm one, while one ``np.einsum`` over the
whole equation (``optimize=False``: a single loop over the joint, about half a nanosecond per
entry and operand) takes 10 us on asia. Such a plan is a single step over every operand; its
figures are that step's (largest = the answer, flops = the joint times the operands) and its
width bound the loosest, every summed index in one bag. The exact engine asks for it up to 2^14
entries (:data:`ONE_PASS`), for its NumPy answers only: on 924 pruned questions of alarm, child,
win95pts, hailfinder and insurance (search and contraction timed together, best of five) one
pass took 114 us against the search's 216 us at 2^13-2^14 entries, 194 against 214 at 2^15,
387 against 253 at 2^16, and the bound at 2^14 came within 2% of choosing the faster of the two
for every question. The reference path (greedy and the elimination orders) answers the same
numbers (``tests/test_contraction.py``, on random networks and bnlearn questions). JAX's einsum
contracts at most two operands at a time, so a compiled program runs such a plan along a greedy
path found then (:attr:`Plan.pairwise`).

opt_einsum's ``memory_limit`` is not used: it turns the greedy search into its branch search,
slower in Python, and where no pairwise step fits under the limit opt_einsum contracts all the
remaining operands in one step, which NumPy would run as a single naive einsum, far larger than
the limit. The engine bounds memory itself, from the plan's ``PathInfo``, before anything runs
(:func:`causaldsl.engines.exact.structure_cost`).

[1] D. G. A. Smith, J. Gray, "opt_einsum - A Python package for optimizing
    contraction order for einsum-like expressions", JOSS 3(26), 753 (2018).
[2] J. Gray, S. Kourtis, "Hyper-optimized tensor network contraction",
    Quantum 5, 410 (2021).
[3] H. L. Bodlaender, A. M. C. A. Koster, "Treewidth computations I. Upper bounds",
    Information and Computation 208(3), 259-275 (2010), sections 4.1-4.2.
[4] U. Kjaerulff, "Triangulation of graphs - algorithms giving small total state space",
    Technical Report R-90-09, Aalborg University (1990).
[5] R. Dechter, "Bucket elimination: a unifying framework for reasoning",
    Artificial Intelligence 113, 41-85 (1999).
[6] E. Cuthill, J. McKee, "Reducing the bandwidth of sparse symmetric matrices",
    Proc. 24th ACM National Conference, 157-172 (1969); the width of an elimination order is at
    most the bandwidth of the order: A. George, J. W. H. Liu, *Computer Solution of Large Sparse
    Positive Definite Systems*, Prentice-Hall (1981), ch. 4.
"""

from __future__ import annotations

import functools
import heapq
import math
import random
import time
from dataclasses import dataclass
from typing import Callable, Hashable, Optional, Sequence

import networkx as nx
import numpy as np
import opt_einsum
from opt_einsum.contract import ContractExpression

Term = Sequence[Hashable]

# Operations of greedy's path, per operand, past which elimination orders are tried too: the
# search costs about a millisecond per operand, the contraction a millisecond per 10^6 operations.
_ORDERS = 10 ** 5
_FILL_S = 0.5  # seconds min-fill may take (cubic: 4 s on a 30 x 30 grid); past them it is dropped
_TRIALS = 32  # randomised greedy paths tried there (opt_einsum's default), each as costly as the greedy one
_SEARCH_S = 1.0  # seconds they may take: on a 30 x 30 grid (900 operands) 32 trials take 6 s
_REACH = 16  # times the memory limit past which no search is run: it found 3x smaller on a 25 x 25 grid
_LETTERS = 52  # indices NumPy's einsum can name in one step
_BLAS = 1 << 12  # entries of the largest intermediate past which steps that can go through BLAS do
ONE_PASS = 1 << 14  # entries of the joint of every index up to which the exact engine contracts in one pass
_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def equation(terms: Sequence[Term], output: Term) -> str:
    """``terms -> output`` as one einsum equation, each index one of opt_einsum's symbols
    (numbered in order of appearance, so the number of indices is unbounded).

    >>> equation([("x", "y"), ("y",)], ("x",))
    'ab,b->a'
    """
    names: dict = {}
    for t in (*terms, output):
        for a in t:
            names.setdefault(a, len(names))
    symbol = {a: opt_einsum.get_symbol(i) for a, i in names.items()}.__getitem__
    return ",".join("".join(map(symbol, t)) for t in terms) + "->" + "".join(map(symbol, output))


@dataclass(frozen=True)
class Figures:
    """What a path costs, known before it runs: ``largest`` the entries of its largest
    intermediate and ``flops`` its operations (opt_einsum's ``largest_intermediate`` and
    ``opt_cost``), ``scale`` the most indices one step joins (opt_einsum's ``scale_list``), and
    ``width`` the treewidth bound it proves: the most summed indices (the answer's axes left out)
    one step joins, or one table holds, less one."""

    largest: int
    flops: int
    scale: int
    width: int

    @staticmethod
    def of(equation: str, info) -> "Figures":
        """The figures of opt_einsum's ``PathInfo`` for ``equation``."""
        lhs, out = equation.split("->")
        bags = [set(e[2].split("->")[0]) - {","} for e in info.contraction_list] + [set(t) for t in lhs.split(",")]
        return Figures(int(info.largest_intermediate), int(info.opt_cost), max(info.scale_list, default=0),
                       max(len(b - set(out)) for b in bags) - 1)


@dataclass(frozen=True)
class Plan:
    """One contraction: its ``equation``, the operands' ``shapes``, opt_einsum's ``path`` (its
    linear form) and its :class:`Figures`. How NumPy runs it (:attr:`steps`, :attr:`expression`)
    is worked out at first use: a plan refused for its size never pays for it."""

    equation: str
    shapes: tuple
    path: list
    figures: Figures

    @property
    def entries(self) -> int:
        """Entries of the operands, all held at once."""
        return sum(math.prod(s) for s in self.shapes)

    @property
    def largest(self) -> int:
        """Entries of the largest intermediate (opt_einsum's ``largest_intermediate``)."""
        return self.figures.largest

    @property
    def flops(self) -> int:
        """Operations along the path, as opt_einsum counts them (``opt_cost``)."""
        return self.figures.flops

    @property
    def width(self) -> int:
        """The treewidth bound the path proves (:class:`Figures`)."""
        return self.figures.width

    @property
    def wide(self) -> bool:
        """Whether a step joins more indices than NumPy's einsum has letters (52)."""
        return self.figures.scale > _LETTERS

    @functools.cached_property
    def expression(self) -> ContractExpression:
        """opt_einsum's expression along :attr:`path` with its large steps marked for BLAS: how
        :meth:`numpy` runs a plan past :data:`_BLAS` entries (built at first use: a plan refused
        for its size never pays for it)."""
        _, info = opt_einsum.contract_path(self.equation, *self.shapes, shapes=True, optimize=self.path,
                                           use_blas=True)
        return ContractExpression(self.equation, info.contraction_list, {})

    @functools.cached_property
    def steps(self) -> tuple:
        """:attr:`path` as NumPy einsum calls: per step, the positions of its operands among the
        live tensors (opt_einsum's linear form: taken highest first, the result appended) and
        the step's own equation in einsum's letters.

        >>> plan([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ("a",)).steps
        (((2, 1), 'a,ba->b'), ((1, 0), 'a,ba->b'))
        """
        return _steps(self.equation, self.path)

    @functools.cached_property
    def pairwise(self) -> list:
        """:attr:`path` where every step takes at most two operands, as JAX's einsum needs; a
        one-pass plan's single step is split along opt_einsum's greedy path (found here, once
        per compiled program)."""
        if all(len(step) <= 2 for step in self.path):
            return self.path
        lhs, rhs = self.equation.split("->")
        words = lhs.split(",")
        sizes = {c: n for t, shape in zip(words, self.shapes) for c, n in zip(t, shape)}
        return opt_einsum.paths.greedy([frozenset(t) for t in words], frozenset(rhs), sizes)

    def numpy(self, operands: Sequence) -> np.ndarray:
        """The contraction of NumPy ``operands``: one einsum call per step of :attr:`steps`, or
        opt_einsum's :attr:`expression` past :data:`_BLAS` entries.

        >>> p = plan([("x", "y"), ("y",)], {"x": 2, "y": 2}, ("x",))
        >>> p.numpy([np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0])])
        array([3., 7.])
        """
        if self.largest > _BLAS:
            return self.expression(*operands)
        live = list(operands)
        for positions, eq in self.steps:
            live.append(np.einsum(eq, *[live.pop(k) for k in positions]))
        return live[0]


def _steps(equation: str, path: Sequence[tuple]) -> tuple:
    """See :attr:`Plan.steps`. An intermediate keeps its indices in the order they come in its
    operands, less those no live tensor nor the answer holds (counted as they go, as in
    :func:`account`: a pruned network of link has hundreds of steps); the last step gives the
    answer's."""
    lhs, out = equation.split("->")
    live = lhs.split(",")
    answer = set(out)
    holding: dict = {}  # index -> live tensors holding it
    for t in live:
        for a in set(t):
            holding[a] = holding.get(a, 0) + 1
    steps = []
    for i, ks in enumerate(path):
        positions = tuple(sorted(ks, reverse=True))
        taken = [live.pop(k) for k in positions]
        for t in taken:
            for a in set(t):
                holding[a] -= 1
        if i == len(path) - 1:
            result = out
        else:
            result = "".join(a for a in dict.fromkeys("".join(taken)) if holding[a] or a in answer)
        for a in result:
            holding[a] += 1
        live.append(result)
        steps.append((positions, _in_letters(",".join(taken) + "->" + result)))
    return tuple(steps)


def _in_letters(eq: str) -> str:
    """``eq`` with its indices renamed to einsum's letters in order of appearance (opt_einsum's
    symbols past the 52nd are not letters; a step that is not :attr:`Plan.wide` has 52 at most).

    >>> _in_letters("ba,a->b")
    'ab,b->a'
    """
    symbols = [c for c in dict.fromkeys(eq) if c not in ",->"]
    return eq.translate({ord(c): _EINSUM_LETTERS[i] for i, c in enumerate(symbols)})


def plan(terms: Sequence[Term], sizes: dict, output: Term, memory_limit: Optional[float] = None,
         one_pass: int = 0) -> Plan:
    """The :class:`Plan` of contracting ``terms`` (each a sequence of indices, ``sizes[index]``
    its length) down to ``output``: the cheapest of opt_einsum's greedy path and, where greedy's
    path is over ``memory_limit`` or takes over 10^5 operations per operand, the paths of the min-degree, min-weight and min-fill
    elimination orders, then opt_einsum's randomised greedy search where the best is still over
    ``memory_limit`` (see the module note). ``memory_limit`` is the entries the caller can afford
    for the largest intermediate: among the paths within it the one with the fewest operations
    is kept, and no search is run for a path that is still over :data:`_REACH` times it (a
    search of seconds on a 900-operand grid would only delay the refusal). Where every index
    together spans at most ``one_pass`` entries (and there are 52 at most), the plan is one step
    over every operand, with no search (*tiny contractions* in the module note).

    >>> p = plan([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ("a",))
    >>> p.equation, p.path, p.largest, p.flops, p.wide, p.width
    ('ab,bc,c->a', [(1, 2), (0, 1)], 3, 36, False, 1)
    >>> p = plan([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ("a",), one_pass=ONE_PASS)
    >>> p.path, p.largest, p.flops, p.width, p.steps
    ([(0, 1, 2)], 2, 72, 1, (((2, 1, 0), 'a,ba,cb->c'),))
    """
    eq = equation(terms, output)
    shapes = tuple(tuple(sizes[a] for a in t) for t in terms)
    lhs, rhs = eq.split("->")
    inputs = [frozenset(t) for t in lhs.split(",")]
    symbol_sizes = {c: n for t, shape in zip(lhs.split(","), shapes) for c, n in zip(t, shape)}
    if len(symbol_sizes) <= _LETTERS and math.prod(symbol_sizes.values()) <= one_pass:
        whole = [tuple(range(len(terms)))]
        return Plan(eq, shapes, whole, account(inputs, symbol_sizes, whole, rhs))
    greedy = opt_einsum.paths.greedy(inputs, frozenset(rhs), symbol_sizes)
    figures = account(inputs, symbol_sizes, greedy, rhs)
    limit = math.inf if memory_limit is None else memory_limit
    if figures.largest <= limit and figures.flops <= _ORDERS * len(terms):
        return Plan(eq, shapes, list(greedy), figures)  # no search would pay for itself
    better = _better(limit)
    best = (greedy, figures)
    graph = interaction_graph(terms)
    deadline = time.perf_counter() + _FILL_S
    # Where the summed indices have one size min-weight ranks much as min-degree does.
    summed = set(graph) - set(output)
    rules = (min_degree, bandwidth, min_fill) if len({sizes[a] for a in summed}) <= 1 else \
        (min_degree, min_weight, bandwidth, min_fill)
    for rule in rules:
        if rule is min_fill and best[1].largest > _REACH * limit:
            break  # min-fill would not bring it within reach: the refusal comes now
        if rule is bandwidth:
            order = bandwidth_order(graph, keep=output)
        else:
            order = elimination_order(graph, sizes, rule, keep=output,
                                      deadline=deadline if rule is min_fill else None)
        if order is not None:
            path = order_path(terms, sizes, order, output)
            best = min(best, (path, account(inputs, symbol_sizes, path, rhs)), key=better)
    if limit < best[1].largest <= _REACH * limit:  # over the limit, but a better path may fit
        path = _random_greedy(inputs, frozenset(rhs), symbol_sizes)
        best = min(best, (path, account(inputs, symbol_sizes, path, rhs)), key=better)
    return Plan(eq, shapes, list(best[0]), best[1])


def _better(limit: float) -> Callable:
    """The sort key of a candidate ``(path, Figures)``: fewest operations among those whose
    largest intermediate is within ``limit`` entries, before every one over it, smallest first."""
    def key(candidate) -> tuple:
        f = candidate[1]
        return (f.largest if f.largest > limit else 0), f.flops, f.largest
    return key


def account(inputs: Sequence[frozenset], sizes: dict, path: Sequence[tuple], output: Term) -> Figures:
    """The :class:`Figures` of contracting ``inputs`` (index sets) along ``path`` (opt_einsum's
    linear form), counted as opt_einsum counts them
    (``helpers.flop_count``) in one pass: opt_einsum's own account of a given path
    (``contract_path``) is quadratic in the operands, 0.3 s on 900 of them.

    >>> f = account([frozenset("ab"), frozenset("bc"), frozenset("c")], dict(a=2, b=3, c=4), [(1, 2), (0, 1)], "a")
    >>> f.largest, f.flops, f.scale, f.width
    (3, 36, 2, 1)
    """
    out = set(output)
    holding: dict = {}  # index -> live tables holding it
    for t in inputs:
        for a in t:
            holding[a] = holding.get(a, 0) + 1
    tables = list(inputs)
    largest, flops, scale = 1, 0, 0
    width = max((len(t - out) for t in inputs), default=0)
    for ks in path:
        taken = [tables.pop(k) for k in sorted(ks, reverse=True)]
        joined = frozenset().union(*taken)
        for t in taken:
            for a in t:
                holding[a] -= 1
        result = frozenset(a for a in joined if holding[a] or a in out)
        for a in result:
            holding[a] += 1
        tables.append(result)
        largest = max(largest, math.prod(sizes[a] for a in result))
        flops += opt_einsum.helpers.flop_count(joined, len(result) < len(joined), len(ks), sizes)
        scale = max(scale, len(joined))
        width = max(width, len(joined - out))
    return Figures(largest, flops, scale, width - 1)


# ------------------------------------------------------------------ elimination orders
def interaction_graph(terms: Sequence[Term]) -> dict:
    """The interaction (primal) graph of a contraction: each term a clique of its indices.
    ``{index: set of neighbours}``.

    >>> g = interaction_graph([("x", "y"), ("y", "z")])
    >>> {v: sorted(n) for v, n in g.items()}
    {'x': ['y'], 'y': ['x', 'z'], 'z': ['y']}
    """
    graph: dict = {}
    for t in terms:
        t = list(dict.fromkeys(t))
        for a in t:
            graph.setdefault(a, set()).update(b for b in t if b != a)
    return graph


def min_degree(v, graph: dict, sizes: dict) -> tuple:
    """Min-degree's score of eliminating ``v``: its neighbours, then the entries of its cluster."""
    return len(graph[v]), _entries(v, graph, sizes)


def min_weight(v, graph: dict, sizes: dict) -> tuple:
    """Min-weight's score: the entries of the cluster ``v`` and its neighbours span [4]."""
    return (_entries(v, graph, sizes),)


def min_fill(v, graph: dict, sizes: dict) -> tuple:
    """Min-fill's score: the fill-in edges eliminating ``v`` adds, each weighted by the entries of
    the pair it joins [4], then the entries of its cluster."""
    nbrs = graph[v]
    fill = 0
    for a in nbrs:
        missing = nbrs - graph[a]  # a itself among them
        if len(missing) > 1:
            fill += sizes[a] * (sum(map(sizes.__getitem__, missing)) - sizes[a])
    return fill // 2, _entries(v, graph, sizes)  # each missing edge counted from both ends


def _entries(v, graph: dict, sizes: dict) -> int:
    return sizes[v] * math.prod(map(sizes.__getitem__, graph[v]))


def bandwidth(v, graph: dict, sizes: dict) -> tuple:
    """Stands for :func:`bandwidth_order` among the rules (it is no greedy score)."""
    raise TypeError("bandwidth is an order of its own: use bandwidth_order")


def bandwidth_order(graph: dict, keep: Term = ()) -> list:
    """The reverse Cuthill-McKee order of ``graph`` [6] (networkx's), ``keep`` left out. An order
    of bandwidth ``b`` (each vertex adjacent only to the ``b`` before and after it) eliminates with
    clusters of at most ``b + 1`` vertices, so it bounds the width by the bandwidth: on grids and
    other long, narrow networks, where the greedy rules fill in far more (a 20 x 20 grid: 20
    where min-degree gets 36), it finds the treewidth itself.

    >>> bandwidth_order({"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}, keep=("c",))
    ['a', 'b']
    """
    kept = set(keep)
    return [v for v in nx.utils.reverse_cuthill_mckee_ordering(nx.Graph(graph)) if v not in kept]


def elimination_order(graph: dict, sizes: dict, rule: Callable, keep: Term = (),
                      deadline: Optional[float] = None) -> Optional[list]:
    """A greedy elimination order of ``graph`` (:func:`interaction_graph`) for every vertex but
    ``keep`` (the answer's axes, never summed: they stay in the graph, where they weigh on the
    clusters they join): repeatedly the vertex ``rule`` scores lowest (ties to the first-named),
    its neighbours made a clique, itself removed [3]. Scores are refreshed only around the
    eliminated vertex: within two steps for min-fill, whose count changes where a fill-in edge
    lands, one step for the others. ``None`` where ``deadline`` (a ``time.perf_counter()``
    value) passes first.

    >>> path = {"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}
    >>> elimination_order(path, dict.fromkeys("abc", 2), min_degree, keep=("a",))
    ['c', 'b']
    """
    graph = {v: set(n) for v, n in graph.items()}
    kept = set(keep)
    rank = {v: i for i, v in enumerate(graph)}
    score = {v: rule(v, graph, sizes) for v in graph if v not in kept}
    heap = [(s, rank[v], v) for v, s in score.items()]
    heapq.heapify(heap)
    reach = 2 if rule is min_fill else 1
    order: list = []
    while heap:
        s, _, v = heapq.heappop(heap)
        if v not in graph or score[v] != s:
            continue  # a stale entry: v went, or was scored again since
        if deadline is not None and len(order) % 32 == 0 and time.perf_counter() > deadline:
            return None
        nbrs = graph.pop(v)
        order.append(v)
        for a in nbrs:
            graph[a].discard(v)
            graph[a] |= nbrs - {a}
        touched = set(nbrs)
        for _ in range(reach - 1):
            touched |= {b for a in touched for b in graph[a]}
        for a in touched - kept:
            score[a] = rule(a, graph, sizes)
            heapq.heappush(heap, (score[a], rank[a], a))
    return order


def order_path(terms: Sequence[Term], sizes: dict, order: Sequence, output: Term) -> list:
    """The contraction path (opt_einsum's linear form) of eliminating ``order``'s indices in turn,
    by bucket elimination [5]: the tables holding the next index are contracted two at a time,
    the two smallest first, and a table that alone holds it sums it out; what is left, over the
    answer's axes, is contracted last, smallest first.

    >>> order_path([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ["c", "b"], ("a",))
    [(1, 2), (0, 1)]
    """
    out = set(output)
    tables = {k: frozenset(t) for k, t in enumerate(terms)}  # single-assignment id -> its indices
    holders: dict = {}
    for k, t in tables.items():
        for a in t:
            holders.setdefault(a, set()).add(k)
    ssa: list = []

    def entries(k) -> int:
        return math.prod(map(sizes.__getitem__, tables[k]))

    def step(ks: tuple) -> int:
        joined = frozenset().union(*(tables.pop(k) for k in ks))
        for a in joined:
            holders[a].difference_update(ks)
        k = len(terms) + len(ssa)
        tables[k] = result = frozenset(a for a in joined if holders[a] or a in out)
        for a in result:
            holders[a].add(k)
        ssa.append(ks)
        return k

    def join(ks: list, alone: bool) -> None:
        heap = [(entries(k), k) for k in ks]
        heapq.heapify(heap)
        while len(heap) > 1:
            (_, i), (_, j) = heapq.heappop(heap), heapq.heappop(heap)
            heapq.heappush(heap, (entries(k := step((i, j))), k))
        if alone and heap:  # the one table left holding a summed index: sum it out now
            step((heap[0][1],))

    for v in order:
        held = sorted(holders.get(v, ()))
        join(held, alone=len(held) == 1)
    join(sorted(tables), alone=not ssa)
    return opt_einsum.paths.ssa_to_linear(ssa)


def _random_greedy(inputs: list, output: frozenset, sizes: dict) -> list:
    """opt_einsum's randomised greedy search for the path with the smallest largest intermediate.

    Its trials seed Python's global :mod:`random` (trial ``r`` with ``r``: the same path on every
    run that completes as many trials); the caller's random state is put back as it was."""
    state = random.getstate()
    try:
        return opt_einsum.RandomGreedy(max_repeats=_TRIALS, max_time=_SEARCH_S, minimize="size")(inputs, output, sizes)
    finally:
        random.setstate(state)
