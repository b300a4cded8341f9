"""Linear-programming bounds on causal queries over discrete graphs with latent confounding.

The response-function (canonical partition) formulation of Balke & Pearl (1997), "Bounds on
treatment effects from studies with imperfect compliance", *JASA* 92(439), 1171–1176, in the
general form of Sachs, Jonzon, Gabriel & Sjölander (2022), "A general method for deriving tight
symbolic bounds on causal effects", *JCGS* 32(2) (the R package causaloptim), which autobounds
(Duarte et al. 2023, *JASA*) extends to polynomial programmes:

* The observed variables are split into a left side ``L`` and a right side ``R``: ``L`` is
  closed under ancestors, shares no latent confounder (``<->``) with ``R``, and holds no
  proper descendant of an intervened variable. :func:`split_sides` takes ``L`` as large as
  these rules allow. ``L`` is then as good as randomised with respect to ``R``, and its own
  distribution is read off the data.
* Each variable ``V`` of ``R`` is a deterministic function of its observed parents, chosen by a
  *response type* (one of ``|V|^(number of parent configurations)``); the unknown is ``q``,
  the joint distribution of the types of ``R``'s variables. Latent confounding inside ``R``
  is whatever correlation ``q`` has.
* The data fix ``P(R = r | L = l) = Σ_t q(t) [R(t, l) = r]`` for every ``l`` with
  ``P(l) > 0``: linear equalities in ``q``. A counterfactual event (variables in worlds
  ``do(...)``, nested ones too) is a set of types for each ``l``; its probability,
  ``Σ_l P(l) Σ_t q(t) [event(t, l)]``, is linear in ``q``, and so is a weighted sum of such
  events divided by an observed probability (ATE, PN, PS, PNS, ETT, NDE, NIE).
* The bounds are the minimum and the maximum of that linear function over the ``q`` the data
  allow: two linear programmes, solved by HiGHS (``scipy.optimize.linprog``).

``q`` ranges over every joint distribution of ``R``'s types, as if ``R``'s variables shared one
latent confounder (causaloptim's assumption too). The bounds are always valid; they are
sharp when ``R`` is one confounded component (the instrumental-variable model, a confounded
treatment and outcome), and may be wider than the graph allows when it is not (the
front-door model). Independence between components of ``R`` would make the programme
polynomial (autobounds' territory), which this module leaves out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping, Optional, Union

import numpy as np
from scipy.optimize import linprog

from .admg import ADMG

MAX_TYPES = 65_536  # joint response types of R: beyond this the programme is too large to solve here

# A world: interventions, each a value index or a nested term (the value a variable takes in
# another world), sorted by variable name. A term: (variable, world).
World = tuple
Term = tuple  # (variable, World)
Event = tuple  # ((variable, World, value index), ...), a conjunction


@dataclass(frozen=True)
class LinearQuery:
    """``Σ_i coef_i P(event_i ∧ given) / P(given)``; ``given`` is factual, ``((variable, value index), ...)``.

    >>> LinearQuery(((1.0, (("Y", (("X", 1),), 1),)),)).intervened()
    {'X'}
    """

    terms: tuple  # ((coef, Event), ...)
    given: tuple = ()

    def intervened(self) -> set[str]:
        out: set[str] = set()

        def visit(world):
            for var, val in world:
                out.add(var)
                if isinstance(val, tuple):
                    visit(val[1])

        for _, event in self.terms:
            for _, world, _ in event:
                visit(world)
        return out


@dataclass(frozen=True)
class LPBounds:
    """The two optima and the programme's shape: ``left``/``right`` are the sides ``L`` and ``R``."""

    low: float
    high: float
    left: tuple
    right: tuple
    n_types: int


class Infeasible(ValueError):
    """The observed distribution is not one the graph can produce (e.g. it breaks the
    instrumental inequality): no ``q`` satisfies the data's equalities."""


def split_sides(g: ADMG, intervened: set) -> tuple[list[str], list[str]]:
    """``(L, R)``: ``L`` as large as can be, closed under ancestors, unconfounded with ``R`` and free of
    proper descendants of ``intervened``.

    >>> iv = ADMG.from_edges([("Z", "X"), ("X", "Y")], [("X", "Y")])
    >>> split_sides(iv, {"X"})
    (['Z'], ['X', 'Y'])
    >>> split_sides(ADMG.from_edges([("Z", "X"), ("Z", "Y"), ("X", "Y")]), {"X"})
    (['Z', 'X'], ['Y'])
    """
    order = g.topological_order()
    right = set()
    for v in intervened:
        right |= g.descendants([v]) - {v}
    while True:
        grow = {v for v in order if v not in right and g.siblings(v) & right}
        if not grow:
            break
        right |= g.descendants(grow)
    return [v for v in order if v not in right], [v for v in order if v in right]


def response_tables(sizes: list[int], n_configs: list[int]) -> list[np.ndarray]:
    """For each variable, its response types as rows: the value index at each parent configuration.

    >>> response_tables([2], [2])[0].tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    return [np.array(list(itertools.product(range(k), repeat=c)), dtype=np.int64).reshape(k ** c, c)
            for k, c in zip(sizes, n_configs)]


class _Units:
    """Every joint response type of ``R``, with the values each variable takes in any world at a given ``l``."""

    def __init__(self, g: ADMG, left: list[str], right: list[str], sizes: Mapping[str, int],
                 max_types: int = MAX_TYPES):
        self.right = right
        self.sizes = sizes
        self.parents = {v: sorted(g.parents(v)) for v in right}
        configs = [int(np.prod([sizes[p] for p in self.parents[v]])) for v in right]
        total = 1  # Python integers: the count is checked before anything of that size is built
        for v, c in zip(right, configs):
            total *= sizes[v] ** c
        if total > max_types:
            raise OverflowError(total)
        self.tables = dict(zip(right, response_tables([sizes[v] for v in right], configs)))
        shape = [len(self.tables[v]) for v in right]
        self.n = int(np.prod(shape)) if right else 1
        idx = np.unravel_index(np.arange(self.n), shape) if right else ()
        self.type_of = dict(zip(right, idx))

    def values(self, world: World, l: Mapping[str, int], memo: dict) -> dict:
        """Value index of every variable in ``world`` at ``L = l``: arrays over types for ``R``,
        numbers for ``L`` (which no intervention in the query reaches, but its own)."""
        if world in memo:
            return memo[world]
        fixed = {}
        for var, val in world:
            fixed[var] = val if not isinstance(val, tuple) else self.values(val[1], l, memo)[val[0]]
        out: dict = {v: fixed.get(v, i) for v, i in l.items()}
        for v in self.right:
            if v in fixed:
                out[v] = np.broadcast_to(fixed[v], (self.n,))
                continue
            cfg = np.zeros(self.n, dtype=np.int64)
            for p in self.parents[v]:
                cfg = cfg * self.sizes[p] + out[p]
            out[v] = self.tables[v][self.type_of[v], cfg]
        memo[world] = out
        return out

    def holds(self, event: Event, l: Mapping[str, int], memo: dict) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        for var, world, val in event:
            ok &= self.values(world, l, memo)[var] == val
        return ok


def lp_bounds(g: ADMG, sizes: Mapping[str, int], joint: np.ndarray, order: list[str],
              query: LinearQuery, max_types: int = MAX_TYPES) -> LPBounds:
    """Sharp-as-the-formulation-allows bounds on ``query`` given the observed ``joint``.

    ``joint[i, j, ...]`` is the probability of the value indices ``(i, j, ...)`` of the variables
    in ``order``; ``sizes`` their numbers of values. Raises :class:`Infeasible` when no model
    of the graph gives ``joint``, ``OverflowError`` when the programme would be too large.

    The instrumental-variable model (Balke & Pearl 1997): with a perfect-compliance,
    deterministic ``Y = X`` population the ATE is pinned at 1.

    >>> iv = ADMG.from_edges([("Z", "X"), ("X", "Y")], [("X", "Y")])
    >>> joint = np.zeros((2, 2, 2)); joint[0, 0, 0] = joint[1, 1, 1] = 0.5
    >>> ate = LinearQuery(((1.0, (("Y", (("X", 1),), 1),)), (-1.0, (("Y", (("X", 0),), 1),))))
    >>> b = lp_bounds(iv, {"Z": 2, "X": 2, "Y": 2}, joint, ["Z", "X", "Y"], ate)
    >>> round(b.low, 9), round(b.high, 9), b.left, b.right
    (1.0, 1.0, ('Z',), ('X', 'Y'))
    """
    return prepare(g, sizes, order, query, max_types).solve(joint)


@dataclass(frozen=True)
class Programme:
    """The parts of the programme that do not depend on the observed numbers, built once and
    solved for each draw of the observed distribution: per configuration ``l`` of ``L``, the
    rows that tie ``q`` to ``P(R | l)`` and the query's indicator over types."""

    left: tuple
    right: tuple
    n_types: int
    order: tuple
    query: LinearQuery
    blocks: tuple  # ((l index, equality rows, query indicator), ...)

    def solve(self, joint: np.ndarray) -> LPBounds:
        joint = np.asarray(joint, dtype=float)
        axis = {v: i for i, v in enumerate(self.order)}
        p = np.transpose(joint, [axis[v] for v in self.left + self.right]) if self.order else joint
        p_given = _given_probability(joint, axis, self.query.given)
        if p_given <= 0:
            raise ZeroDivisionError("the query conditions on an event of probability 0")
        rows, rhs, objective = [], [], np.zeros(self.n_types)
        for l_idx, a, indicator in self.blocks:
            block = p[l_idx] if self.left else p
            p_l = float(np.sum(block))
            if p_l <= 0:
                continue
            rows.append(a)
            rhs.append(np.ravel(block) / p_l)
            objective += p_l * indicator / p_given
        a_eq, b_eq = np.vstack(rows), np.concatenate(rhs)
        low = _solve(objective, a_eq, b_eq)
        high = -_solve(-objective, a_eq, b_eq)
        return LPBounds(_round(low), _round(high), self.left, self.right, self.n_types)


def prepare(g: ADMG, sizes: Mapping[str, int], order: list[str], query: LinearQuery,
            max_types: int = MAX_TYPES) -> Programme:
    """The :class:`Programme` of ``query`` on ``g`` (see :func:`lp_bounds`)."""
    left, right = split_sides(g, query.intervened())
    units = _Units(g, left, right, sizes, max_types)
    n_r = int(np.prod([sizes[v] for v in right])) if right else 1
    given_event = tuple((v, (), i) for v, i in query.given)
    blocks = []
    for l_idx in itertools.product(*(range(sizes[v]) for v in left)):
        l = dict(zip(left, l_idx))
        memo: dict = {}
        factual = units.values((), l, memo)
        code = np.zeros(units.n, dtype=np.int64)
        for v in right:
            code = code * sizes[v] + factual[v]
        a = np.zeros((n_r, units.n))
        a[code, np.arange(units.n)] = 1.0
        indicator = np.zeros(units.n)
        for coef, event in query.terms:
            indicator += coef * units.holds(event + given_event, l, memo)
        blocks.append((l_idx, a, indicator))
    return Programme(tuple(left), tuple(right), units.n, tuple(order), query, tuple(blocks))


def _given_probability(joint: np.ndarray, axis: Mapping[str, int], given) -> float:
    if not given:
        return 1.0
    index: list[Union[int, slice]] = [slice(None)] * joint.ndim
    for v, i in given:
        index[axis[v]] = i
    return float(np.sum(joint[tuple(index)]))


def _solve(c: np.ndarray, a_eq: np.ndarray, b_eq: np.ndarray) -> float:
    """The minimum of ``c·q`` over ``q >= 0`` with ``a_eq q = b_eq`` (HiGHS)."""
    res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status == 2:
        raise Infeasible("no distribution of response types gives the observed distribution")
    if res.status != 0:  # pragma: no cover - a bounded, feasible programme always solves
        raise RuntimeError(f"linprog: {res.message}")
    return float(res.fun)


def _round(v: float) -> float:
    """HiGHS's tolerance (1e-9) is not part of the answer."""
    return float(round(v, 9)) + 0.0


def empirical_joint(codes: Mapping[str, np.ndarray], order: list[str], sizes: Mapping[str, int],
                    weights: Optional[np.ndarray] = None) -> np.ndarray:
    """Cell counts of the value-index columns ``codes`` over the variables in ``order``.

    >>> empirical_joint({"a": np.array([0, 1, 1])}, ["a"], {"a": 2}).tolist()
    [1.0, 2.0]
    """
    flat = np.zeros(len(next(iter(codes.values()))), dtype=np.int64)
    for v in order:
        flat = flat * sizes[v] + codes[v]
    n = int(np.prod([sizes[v] for v in order]))
    return np.bincount(flat, weights=weights, minlength=n).astype(float).reshape([sizes[v] for v in order])
