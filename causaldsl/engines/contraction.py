"""Contraction paths and pairwise contraction for the exact engine.

A contraction of many small tensors (an einsum) is a sequence of pairwise
contractions; its cost is decided by the order (the *path*). Finding the best
path is NP-hard; the greedy heuristic (contract next the pair whose result is
smallest relative to its inputs) is near optimal on the tree-like networks of
causal models and costs microseconds per step [1, 2].

Paths are in opt_einsum's linear format: each step ``(i, j)`` names positions
in the current operand list; the two operands are removed and their product is
appended. ``jax.numpy.einsum(..., optimize=path)`` takes such a path as is.

The functions here do what :mod:`opt_einsum` does in ``contract_path`` and
``contract``, without its per-call parsing and bookkeeping, which on the 10- to
100-operand contractions of a first answer was most of the time. On the
benchmarks' ``P(y | do(x))`` at n = 20 / 200 / 1000 (``python benchmarks/contraction.py``,
best of five, this 2-core machine): the path search 438 -> 217, 2160 -> 1138 and
7810 -> 4892 us, the NumPy contraction along it 320 -> 52, 1449 -> 191 and
5617 -> 945 us, with largest steps as small or smaller.

[1] D. G. A. Smith, J. Gray, "opt_einsum - A Python package for optimizing
    contraction order for einsum-like expressions", JOSS 3(26), 753 (2018).
[2] J. Gray, S. Kourtis, "Hyper-optimized tensor network contraction",
    Quantum 5, 410 (2021).
"""

from __future__ import annotations

import bisect
import heapq
import math
from typing import Hashable, Optional, Sequence

import numpy as np

Term = Sequence[Hashable]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID = 24  # bits of an operand's number in a heap entry of the greedy search
_ID_MASK = (1 << _ID) - 1
_PAIR = 2 * _ID
_BLAS_SIZE = 1 << 15  # a pairwise step with more multiply-adds than this goes to np.einsum's BLAS path


def greedy_path(terms: Sequence[Term], sizes: dict, output: Term) -> list:
    """A greedy contraction path for ``terms -> output`` (opt_einsum's linear format).

    At each step the pair of operands sharing an index whose product has the
    smallest ``size(result) - size(a) - size(b)`` is contracted (opt_einsum's
    ``greedy`` with its default cost); an index is summed out as soon as no
    other operand and not the output holds it. Operands that share no index are
    joined last, smallest first.

    >>> greedy_path([("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}, ("a",))
    [(1, 2), (0, 1)]
    >>> greedy_path([("a",)], {"a": 2}, ())
    [(0,)]
    """
    if len(terms) < 2:
        return [(0,)] if terms else []
    ssa, _, _ = _greedy(terms, sizes, output)
    return _linear(ssa, len(terms))


def greedy_steps(terms: Sequence[Term], sizes: dict, output: Term) -> list:
    """``pairwise_steps(terms, sizes, output, greedy_path(terms, sizes, output))``, in one pass:
    the search already knows each step's result, so no step works out again which indices
    a later operand still holds (at n = 200 that was most of the first answer's path time).

    >>> greedy_steps([("x", "y"), ("y", "z")], {"x": 2, "y": 2, "z": 2}, ("x",))
    [((0, 1), 'ab,bc->a', 8)]
    """
    if len(terms) < 2:
        return pairwise_steps(terms, sizes, output, [(0,)] if terms else [])
    ssa, bit, dims = _greedy(terms, sizes, output)
    n = len(terms)
    axes = [[bit[a] for a in t] for t in terms]  # per operand (SSA numbering): its indices' bits
    final = [bit[a] for a in output]
    ids = list(range(n))
    steps = []
    for k, (i, j, result) in enumerate(ssa):
        a, b = ids.index(i), ids.index(j)
        if a > b:  # the step names the operand met first in the list first
            a, b, i, j = b, a, j, i
        del ids[b], ids[a]
        ids.append(n + k)
        ai, aj = axes[i], axes[j]
        used = list(dict.fromkeys(ai + aj))
        res = final if k == len(ssa) - 1 else [x for x in used if (result >> x) & 1]
        axes.append(res)
        steps.append(((a, b), _pair_equation(ai, aj, res, used), math.prod([dims[x] for x in used])))
    return steps


def _pair_equation(left: Term, right: Term, result: Term, used: list) -> Optional[str]:
    """The einsum equation of one pairwise step, in letters of its own (``used``: every index
    of the two operands, once): a contraction of hundreds of indices has more than 52. ``None``
    where the step itself joins more than NumPy's 52 letters (:func:`estimate` reports it;
    the exact engine refuses such a contraction before it runs).

    >>> _pair_equation("xy", "yz", "x", ["x", "y", "z"])
    'ab,bc->a'
    >>> _pair_equation(range(53), [], [], list(range(53))) is None
    True
    """
    if len(used) > len(_LETTERS):
        return None
    letter = dict(zip(used, _LETTERS))
    return "".join([letter[a] for a in left]) + "," + "".join([letter[a] for a in right]) + "->" \
        + "".join([letter[a] for a in result])


def _greedy(terms: Sequence[Term], sizes: dict, output: Term) -> tuple:
    """:func:`greedy_path`'s search over two or more terms: ``(merges, bit, dims)``, the merges
    in SSA numbering as ``(i, j, index mask of the result)``, ``bit`` each index's bit in the
    masks and ``dims`` each bit's size."""
    # Index sets as bit masks: a pair's cost is a few integer operations, not set building.
    bit = {a: k for k, a in enumerate(dict.fromkeys([*output, *(a for t in terms for a in t)]))}
    dims = [sizes[a] for a in bit]
    live = {}  # operand -> its index mask
    bits = {}  # operand -> its indices' bits (read by every step that touches it)
    holders: list = [set() for _ in dims]
    count = [0] * len(dims)  # live operands holding an index, plus one for the output
    for a in output:
        count[bit[a]] = 1
    for k, t in enumerate(terms):
        bits[k] = own = sorted({bit[a] for a in t})
        live[k] = sum(1 << b for b in own)
        for b in own:
            holders[b].add(k)
            count[b] += 1
    # indices held once and twice: a pair takes an index away when it holds all its copies
    once = sum(1 << b for b, c in enumerate(count) if c == 1)
    twice = sum(1 << b for b, c in enumerate(count) if c == 2)
    # per distinct dimension, the mask of its indices: a volume is a few bit counts
    of_dim: dict = {}
    for b, d in enumerate(dims):
        of_dim[d] = of_dim.get(d, 0) | (1 << b)
    dim_masks = [(d, m) for d, m in of_dim.items() if d != 1]

    def volume(mask: int) -> int:
        v = 1
        for d, m in dim_masks:
            v *= d ** (mask & m).bit_count()
        return v

    def joined(ti: int, tj: int) -> int:
        return (ti | tj) & ~(((ti ^ tj) & once) | (ti & tj & twice))

    # Each heap entry is one int, cost, then operand i < j, in bit fields: it orders as the tuple
    # (cost, i, j) would, and is no object for the garbage collector to walk (a search pushes
    # hundreds).
    heap: list = []
    push = heapq.heappush
    vol = {k: volume(t) for k, t in live.items()}  # each live operand's size, computed once

    def push_pairs(i: int, above: int = -1) -> None:
        """Every pair of ``i`` with an operand sharing an index, numbered above ``above``."""
        ti, vi = live[i], vol[i]
        for j in set().union(*[holders[b] for b in bits[i]]):
            if j > above and j != i:
                tj = live[j]
                r = (ti | tj) & ~(((ti ^ tj) & once) | (ti & tj & twice))  # joined(ti, tj), inline
                v = 1
                for d, m in dim_masks:  # volume(r), inline too: this loop is most of the search
                    v *= d ** (r & m).bit_count()
                push(heap, ((v - vi - vol[j]) << _PAIR) | (i << _ID if i < j else j << _ID) | max(i, j))

    ssa: list = []

    def merge(i: int, j: int) -> int:
        nonlocal once, twice
        k = len(terms) + len(ssa)
        ti, tj = live.pop(i), live.pop(j)
        result = joined(ti, tj)
        kept = []
        for b in sorted(set(bits.pop(i)).union(bits.pop(j))):
            holders[b].difference_update((i, j))
            count[b] -= ((ti >> b) & 1) + ((tj >> b) & 1)
            if (result >> b) & 1:
                holders[b].add(k)
                count[b] += 1
                kept.append(b)
            m = 1 << b
            once = once | m if count[b] == 1 else once & ~m
            twice = twice | m if count[b] == 2 else twice & ~m
        live[k], bits[k] = result, kept
        vol[k] = volume(result)
        ssa.append((min(i, j), max(i, j), result))
        return k

    for k in list(live):
        push_pairs(k, above=k)  # each pair once: from its lower-numbered operand
    pop = heapq.heappop
    while heap:
        key = pop(heap)
        i, j = (key >> _ID) & _ID_MASK, key & _ID_MASK
        if i not in live or j not in live:
            continue
        now = volume(joined(live[i], live[j])) - vol[i] - vol[j]
        if now > key >> _PAIR:  # an index lost holders since this pair was pushed
            push(heap, (now << _PAIR) | (i << _ID) | j)
            continue
        push_pairs(merge(i, j))
    while len(live) > 1:  # disconnected parts: outer products, the smallest operands first
        i, j = sorted(live, key=lambda k: (vol[k], k))[:2]
        merge(i, j)
    return ssa, bit, dims


def _linear(ssa: list, n: int) -> list:
    """SSA steps ``(i, j, result)`` (operands numbered once, results numbered on) as positions
    in a shrinking list."""
    ids = list(range(n))
    path = []
    for k, (i, j, _) in enumerate(ssa):
        a, b = sorted((ids.index(i), ids.index(j)))
        path.append((a, b))
        del ids[b], ids[a]
        ids.append(n + k)
    return path


def sequential_steps(terms: Sequence[Term], sizes: dict, output: Term, order: Sequence[int],
                     max_step: int = 1 << 12, max_total: int = 1 << 16) -> Optional[list]:
    """Steps, as :func:`pairwise_steps` gives them, that fold the operands into one in ``order``
    (operand ``order[0]`` with ``order[1]``, the result with ``order[2]``, ...), each index summed
    out after the last operand that holds it; ``None`` where a step would take more than
    ``max_step`` multiply-adds or all of them more than ``max_total``.

    Folded in the order of a causal network's nodes (parents first), this is variable
    elimination in that order [1]: on the small networks of a first answer it contracts as
    cheaply as the greedy path, and it takes one pass to find, not a search; the bounds send
    everything else to :func:`greedy_steps`.

    [1] R. Dechter, "Bucket elimination: a unifying framework for reasoning", Artificial
        Intelligence 113, 41-85 (1999).

    >>> sequential_steps([("y", "z"), ("x", "y"), ("x",)], {"x": 2, "y": 2, "z": 2}, ("z",), [2, 1, 0])
    [((1, 2), 'ab,a->b', 4), ((0, 1), 'ab,a->b', 4)]
    >>> sequential_steps([("x", "y"), ("y", "z")], {"x": 64, "y": 64, "z": 64}, ("x",), [0, 1]) is None
    True
    """
    n = len(terms)
    if n < 2:
        return pairwise_steps(terms, sizes, output, [(0,)] if terms else [])
    last = {}  # index -> the last position in the fold of an operand holding it
    for pos, k in enumerate(order):
        for a in terms[k]:
            last[a] = pos
    kept = set(output)
    rest = list(range(n))  # the operands not folded in yet, in list order (the fold's result is last)
    steps, total = [], 0
    acc = None
    for pos in range(1, n):
        k = order[pos]
        if acc is None:  # the first step joins two operands of the list
            i, j = bisect.bisect_left(rest, order[0]), bisect.bisect_left(rest, k)
            left, right = (terms[order[0]], terms[k]) if i < j else (terms[k], terms[order[0]])
            step = (min(i, j), max(i, j))
            del rest[step[1]], rest[step[0]]
        else:  # then the operand with the result so far, which is last in the list
            i = bisect.bisect_left(rest, k)
            left, right, step = terms[k], acc, (i, len(rest))
            del rest[i]
        used = list(dict.fromkeys([*left, *right]))
        work = math.prod([sizes[a] for a in used])
        total += work
        if work > max_step or total > max_total or len(used) > len(_LETTERS):
            return None
        acc = list(output) if pos == n - 1 else [a for a in used if a in kept or last[a] > pos]
        steps.append((step, _pair_equation(left, right, acc, used), work))
    return steps


def estimate(terms: Sequence[Term], sizes: dict, output: Term, steps: list) -> tuple[int, int, int, bool]:
    """What contracting ``terms`` along ``steps`` costs, from shapes alone (nothing is allocated):
    ``(operand entries, largest intermediate's entries, multiply-adds, too wide)``, the last
    True where a step joins more indices than NumPy's einsum has letters (52).

    >>> terms, sizes = [("a", "b"), ("b", "c"), ("c",)], {"a": 2, "b": 3, "c": 4}
    >>> estimate(terms, sizes, ("a",), greedy_steps(terms, sizes, ("a",)))
    (22, 3, 18, False)
    """
    held: dict = {}  # index -> how many live operands (and the output) hold it
    for t in [*terms, output]:
        for a in set(t):
            held[a] = held.get(a, 0) + 1
    ops = [list(dict.fromkeys(t)) for t in terms]
    largest = work = 0
    wide = False
    for positions, equation, w in steps:
        picked = _take(ops, positions)
        used = list(dict.fromkeys(a for t in picked for a in t))
        for t in picked:
            for a in t:
                held[a] -= 1
        result = [a for a in used if held[a] > 0] if ops else list(output)
        for a in result:
            held[a] += 1
        ops.append(result)
        largest = max(largest, math.prod(sizes[a] for a in result))
        work += w
        wide = wide or equation is None
    return sum(math.prod(sizes[a] for a in t) for t in terms), largest, work, wide


def two_phase_path(terms: Sequence[Term], sizes: dict, output: Term, first: int) -> list:
    """A path that contracts ``terms[first:]`` among themselves down to one tensor over the
    indices the rest and the output need, then that tensor with ``terms[:first]`` (each greedily).

    In the compiled program the first phase involves constants only, so XLA folds it.

    >>> two_phase_path([("a",), ("a", "b"), ("b", "c")], {"a": 2, "b": 2, "c": 2}, ("c",), 1)
    [(1, 2), (0, 1)]
    """
    consts = terms[first:]
    if len(consts) < 2:  # nothing to fold first (greedy_path also takes the 0- and 1-operand cases)
        return greedy_path(terms, sizes, output)
    needed = {a for t in terms[:first] for a in t} | set(output)
    kept = tuple(dict.fromkeys(a for t in consts for a in t if a in needed))
    path = [tuple(first + i for i in step) for step in greedy_path(consts, sizes, kept)]
    if first == 0:
        return path
    return path + greedy_path(list(terms[:first]) + [kept], sizes, output)


def _take(ops: list, positions) -> list:
    """The operands at ``positions``, removed from ``ops`` (a path step's own bookkeeping)."""
    picked = [ops[i] for i in positions]
    for i in sorted(positions, reverse=True):
        del ops[i]
    return picked


def pairwise_steps(terms: Sequence[Term], sizes: dict, output: Term, path: list) -> list:
    """Per step of ``path``: ``(positions, equation, work)``, the equation in NumPy's einsum
    letters and ``work`` its multiply-adds. A step keeps an index while a later operand or the
    output holds it.

    >>> pairwise_steps([("x", "y"), ("y", "z")], {"x": 2, "y": 2, "z": 2}, ("x",), [(0, 1)])
    [((0, 1), 'ab,bc->a', 8)]
    """
    ops = [tuple(t) for t in terms]
    steps = []
    for step in path:
        picked = _take(ops, step)
        rest = set(output).union(*ops)
        used = list(dict.fromkeys(a for t in picked for a in t))
        result = tuple(a for a in used if a in rest) if ops else tuple(output)
        if len(dict.fromkeys(used + list(result))) > len(_LETTERS):  # see _pair_equation
            steps.append((tuple(step), None, math.prod(sizes[a] for a in set(used) | set(result))))
            ops.append(result)
            continue
        letter = {a: _LETTERS[k] for k, a in enumerate(dict.fromkeys(used + list(result)))}
        word = lambda t: "".join(letter[a] for a in t)  # noqa: E731
        steps.append((tuple(step), ",".join(word(t) for t in picked) + "->" + word(result),
                      math.prod(sizes[a] for a in letter)))
        ops.append(result)
    return steps


def contract(steps: list, operands: list) -> np.ndarray:
    """Run :func:`pairwise_steps` over NumPy ``operands``.

    >>> a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0])
    >>> contract(pairwise_steps([("x", "y"), ("y",)], {"x": 2, "y": 2}, ("x",), [(0, 1)]), [a, b])
    array([3., 7.])
    """
    ops = list(operands)
    for positions, equation, work in steps:
        picked = _take(ops, positions)
        # Small steps in einsum's own loop (microseconds); large ones through its BLAS route.
        ops.append(np.einsum(equation, *picked, optimize=work > _BLAS_SIZE))
    return ops[0]
