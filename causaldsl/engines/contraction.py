"""Contraction plans for the exact engine, from :mod:`opt_einsum`.

An exact answer is one einsum over many small tensors; its cost is decided by the order of the
pairwise contractions (the *path*). Finding the best path is NP-hard; opt_einsum's greedy
heuristic is near optimal on the tree-like networks of causal models and cheap to find [1].
Where its largest intermediate is large (grids, dense random networks) opt_einsum's randomised
greedy search [2] is run too (32 seeded trials, or fewer where they take over a second) and the
smaller of the two paths kept: there the contraction costs far more than the search.

One :class:`Plan` per query structure feeds both engines: NumPy runs it as opt_einsum's
``contract_expression`` along the path, JAX as ``jnp.einsum(equation, ..., optimize=path)``.
Its cost (largest intermediate, operation count) is opt_einsum's own ``PathInfo``. Indices are
named by ``opt_einsum.get_symbol``, so an equation may hold any number of them; only a single
pairwise step over more than NumPy's 52 letters cannot run (:attr:`Plan.wide`).

The NumPy expression is built from the ``PathInfo`` of the search itself (the equation is parsed
once), and its small steps run in einsum's own loop (``use_blas=False``): for tables of a few
entries, BLAS's ``tensordot`` with its transposes costs more than the product it computes. Only
a plan whose largest intermediate is over 2^12 entries has its steps marked for BLAS.

opt_einsum's ``memory_limit`` is not used: it turns the greedy search into its branch search,
slower in Python, and where no pairwise step fits under the limit opt_einsum contracts all the
remaining operands in one step, which NumPy would run as a single naive einsum, far larger than
the limit. The engine bounds memory itself, from the plan's ``PathInfo``, before anything runs
(:func:`causaldsl.engines.exact.structure_cost`).

[1] D. G. A. Smith, J. Gray, "opt_einsum - A Python package for optimizing
    contraction order for einsum-like expressions", JOSS 3(26), 753 (2018).
[2] J. Gray, S. Kourtis, "Hyper-optimized tensor network contraction",
    Quantum 5, 410 (2021).
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Hashable, Optional, Sequence

import numpy as np
import opt_einsum
from opt_einsum.contract import ContractExpression

Term = Sequence[Hashable]

_POOR = 1 << 20  # entries of greedy's largest intermediate (8 MB) past which a better path is searched for
_TRIALS = 32  # randomised greedy paths tried there (opt_einsum's default), each as costly as the greedy one
_SEARCH_S = 1.0  # seconds they may take: on a 30 x 30 grid (900 operands) 32 trials take 6 s
_REACH = 64  # times the memory limit past which no search is run: it found 4x smaller on a 25 x 25 grid
_LETTERS = 52  # indices NumPy's einsum can name in one step
_BLAS = 1 << 12  # entries of the largest intermediate past which steps that can go through BLAS do


def equation(terms: Sequence[Term], output: Term) -> str:
    """``terms -> output`` as one einsum equation, each index one of opt_einsum's symbols
    (numbered in order of appearance, so the number of indices is unbounded).

    >>> equation([("x", "y"), ("y",)], ("x",))
    'ab,b->a'
    """
    names: dict = {}
    word = lambda t: "".join(opt_einsum.get_symbol(names.setdefault(a, len(names))) for a in t)  # noqa: E731
    return ",".join(word(t) for t in terms) + "->" + word(output)


@dataclass(frozen=True)
class Plan:
    """One contraction: its ``equation``, the operands' ``shapes``, opt_einsum's ``path`` and
    the ``PathInfo`` opt_einsum gives for that path (``info``)."""

    equation: str
    shapes: tuple
    path: list
    info: object

    @property
    def entries(self) -> int:
        """Entries of the operands, all held at once."""
        return sum(math.prod(s) for s in self.shapes)

    @property
    def largest(self) -> int:
        """Entries of the largest intermediate (opt_einsum's ``largest_intermediate``)."""
        return int(self.info.largest_intermediate)

    @property
    def flops(self) -> int:
        """Operations along the path, as opt_einsum counts them (``opt_cost``)."""
        return int(self.info.opt_cost)

    @property
    def wide(self) -> bool:
        """Whether a step joins more indices than NumPy's einsum has letters (52)."""
        return max(self.info.scale_list, default=0) > _LETTERS

    @functools.cached_property
    def expression(self) -> ContractExpression:
        """opt_einsum's expression along :attr:`path`, for NumPy operands: built from the
        search's own ``PathInfo`` (its ``contraction_list``), so the equation is not parsed again;
        past :data:`_BLAS` entries, the same path with its large steps marked for BLAS (here, at
        first use: a plan refused for its size never pays for it)."""
        info = self.info
        if self.largest > _BLAS:
            _, info = opt_einsum.contract_path(self.equation, *self.shapes, shapes=True, optimize=self.path,
                                               use_blas=True)
        return ContractExpression(self.equation, info.contraction_list, {})

    def numpy(self, operands: Sequence) -> np.ndarray:
        """The contraction of NumPy ``operands``.

        >>> p = plan([("x", "y"), ("y",)], {"x": 2, "y": 2}, ("x",))
        >>> p.numpy([np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0])])
        array([3., 7.])
        """
        return self.expression(*operands)


def plan(terms: Sequence[Term], sizes: dict, output: Term, memory_limit: Optional[float] = None) -> Plan:
    """The :class:`Plan` of contracting ``terms`` (each a sequence of indices, ``sizes[index]``
    its length) down to ``output``: opt_einsum's greedy path, or its randomised greedy search
    for the smallest largest intermediate where greedy's is over 2^20 entries and, given
    ``memory_limit`` (the entries the caller can afford for it), within :data:`_REACH` times
    that limit: past it no better path would be run anyway, and the search (seconds on a
    900-operand grid) would only delay the refusal.

    >>> p = plan([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ("a",))
    >>> p.equation, p.path, p.largest, p.flops, p.wide
    ('ab,bc,c->a', [(1, 2), (0, 1)], 3, 36, False)
    """
    eq = equation(terms, output)
    shapes = tuple(tuple(sizes[a] for a in t) for t in terms)
    path, info = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="greedy", use_blas=False)
    reach = math.inf if memory_limit is None else _REACH * memory_limit
    if _POOR < info.largest_intermediate <= reach:
        other, other_info = _random_greedy(eq, shapes)
        if (other_info.largest_intermediate, other_info.opt_cost) < (info.largest_intermediate, info.opt_cost):
            path, info = other, other_info
    return Plan(eq, shapes, list(path), info)


def _random_greedy(eq: str, shapes: tuple) -> tuple:
    """opt_einsum's randomised greedy search for the path with the smallest largest intermediate.

    Its trials seed Python's global :mod:`random` (trial ``r`` with ``r``: the same path on every
    run that completes as many trials); the caller's random state is put back as it was."""
    state = random.getstate()
    try:
        search = opt_einsum.RandomGreedy(max_repeats=_TRIALS, max_time=_SEARCH_S, minimize="size")
        return opt_einsum.contract_path(eq, *shapes, shapes=True, optimize=search, use_blas=False)
    finally:
        random.setstate(state)
