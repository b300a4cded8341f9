"""The exact engine's contraction paths and pairwise contraction, against NumPy's einsum and
opt_einsum on random tensor networks."""

import math
import random

import numpy as np
import opt_einsum
import pytest

from causaldsl.engines.contraction import (contract, greedy_path, greedy_steps, pairwise_steps,
                                           sequential_steps, two_phase_path)


def _network(rng: random.Random, n_ops: int, n_idx: int, max_rank: int = 3):
    """Random operands over ``n_idx`` indices (sizes 1-3), some sharing none, and an output."""
    sizes = {i: rng.choice((1, 2, 2, 3)) for i in range(n_idx)}
    terms = [rng.sample(range(n_idx), rng.randint(0, min(max_rank, n_idx))) for _ in range(n_ops)]
    used = sorted({a for t in terms for a in t})
    output = rng.sample(used, min(len(used), rng.randint(0, 2)))
    return terms, sizes, output


def _reference(terms, sizes, output, arrays):
    """np.einsum in its sublist form (integers for indices: no letters to run out of)."""
    args = [x for pair in zip(arrays, terms) for x in pair]
    return np.einsum(*args, output, optimize="greedy")


def _path_replays(path, n):
    """The path is valid: each step names live positions and the list ends with one operand."""
    live = n
    for step in path:
        assert len(set(step)) == len(step) and all(0 <= i < live for i in step)
        live = live - len(step) + 1
    assert live == 1


@pytest.mark.parametrize("seed", range(40))
def test_greedy_contraction_equals_einsum(seed):
    rng = random.Random(seed)
    terms, sizes, output = _network(rng, rng.randint(1, 12), rng.randint(1, 9))
    arrays = [np.random.default_rng(seed + k).random(tuple(sizes[a] for a in t)) for k, t in enumerate(terms)]
    path = greedy_path(terms, sizes, output)
    _path_replays(path, len(terms))
    got = contract(pairwise_steps(terms, sizes, output, path), arrays)
    np.testing.assert_allclose(got, _reference(terms, sizes, output, arrays), rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(40))
def test_greedy_steps_are_the_pairwise_steps_of_the_greedy_path(seed):
    """The one-pass steps (what the NumPy answers run) against the two-pass construction, step
    for step, and their contraction against einsum's."""
    rng = random.Random(300 + seed)
    terms, sizes, output = _network(rng, rng.randint(1, 30), rng.randint(1, 40), max_rank=4)
    steps = greedy_steps(terms, sizes, output)
    assert steps == pairwise_steps(terms, sizes, output, greedy_path(terms, sizes, output))
    arrays = [np.random.default_rng(seed + k).random(tuple(sizes[a] for a in t)) for k, t in enumerate(terms)]
    np.testing.assert_allclose(contract(steps, arrays), _reference(terms, sizes, output, arrays), rtol=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_sequential_steps_fold_in_the_order_given_and_equal_einsum(seed):
    """Any order folds to einsum's answer; each step after the first takes the fold so far (the
    last operand of the list) with the next operand of the order; over the bounds: None."""
    rng = random.Random(500 + seed)
    terms, sizes, output = _network(rng, rng.randint(2, 20), rng.randint(1, 25), max_rank=4)
    order = list(range(len(terms)))
    rng.shuffle(order)
    steps = sequential_steps(terms, sizes, output, order, max_step=1 << 16, max_total=1 << 22)
    assert steps is not None and len(steps) == len(terms) - 1
    live = len(terms) - 1  # operands in the list after the first step
    for step, _, _ in steps[1:]:
        assert step[1] == live - 1  # the fold so far is last
        live -= 1
    arrays = [np.random.default_rng(seed + k).random(tuple(sizes[a] for a in t)) for k, t in enumerate(terms)]
    np.testing.assert_allclose(contract(steps, arrays), _reference(terms, sizes, output, arrays), rtol=1e-12)
    worst = max(w for _, _, w in steps)
    assert sequential_steps(terms, sizes, output, order, max_step=worst - 1, max_total=1 << 22) is None
    assert sequential_steps(terms, sizes, output, order, max_step=worst,
                            max_total=sum(w for _, _, w in steps) - 1) is None


@pytest.mark.parametrize("seed", range(20))
def test_two_phase_path_equals_einsum_and_keeps_the_varying_operands_for_last(seed):
    rng = random.Random(100 + seed)
    terms, sizes, output = _network(rng, rng.randint(2, 12), rng.randint(1, 9))
    first = rng.randint(0, len(terms) - 1)
    arrays = [np.random.default_rng(seed + k).random(tuple(sizes[a] for a in t)) for k, t in enumerate(terms)]
    path = two_phase_path(terms, sizes, output, first)
    _path_replays(path, len(terms))
    # until the constants (positions >= first) are one tensor, no step touches positions < first
    consts = len(terms) - first
    for step in path[:max(consts - 1, 0)]:
        assert min(step) >= first
    got = contract(pairwise_steps(terms, sizes, output, path), arrays)
    np.testing.assert_allclose(got, _reference(terms, sizes, output, arrays), rtol=1e-12, atol=0)


def _chain_of_trees(n: int, seed: int):
    """A random binary network's factors (each node with up to 3 earlier parents)."""
    rng = random.Random(seed)
    terms = [sorted(rng.sample(range(i), min(i, rng.randint(0, 3)))) + [i] for i in range(n)]
    return terms, dict.fromkeys(range(n), 2)


def _largest(terms, sizes, output, path) -> int:
    ops = [set(t) for t in terms]
    largest = 0
    for step in path:
        picked = [ops[i] for i in step]
        for i in sorted(step, reverse=True):
            del ops[i]
        rest = set(output).union(*ops)
        result = {a for t in picked for a in t if a in rest}
        largest = max(largest, math.prod(sizes[a] for a in result))
        ops.append(result)
    return largest


@pytest.mark.parametrize("n", [20, 100, 300])
def test_greedy_paths_are_as_good_as_opt_einsums(n):
    """On causal networks (the engine's case) the largest intermediate is no bigger than
    opt_einsum's greedy path gives, up to a factor 2."""
    terms, sizes = _chain_of_trees(n, seed=n)
    output = [n - 1]
    ours = greedy_path(terms, sizes, output)
    sym = opt_einsum.get_symbol
    eq = ",".join("".join(sym(a) for a in t) for t in terms) + "->" + sym(n - 1)
    theirs = opt_einsum.contract_path(eq, *[(2,) * len(t) for t in terms], shapes=True, optimize="greedy")[0]
    assert _largest(terms, sizes, output, ours) <= 2 * _largest(terms, sizes, output, theirs)


def test_more_indices_than_einsum_has_letters():
    """200 indices in all: each pairwise step names only its own, so NumPy's 52 letters suffice."""
    rng = random.Random(3)
    # a tree (one parent each): small intermediates whatever the order, unlike a random DAG's
    terms = [[rng.randrange(i), i] if i else [0] for i in range(200)]
    sizes = dict.fromkeys(range(200), 2)
    rng = np.random.default_rng(0)
    arrays = []
    for t in terms:  # conditional probability tables: the whole network sums to 1
        x = rng.random((2,) * len(t))
        arrays.append(x / x.sum(axis=-1, keepdims=True))
    got = contract(pairwise_steps(terms, sizes, [], greedy_path(terms, sizes, [])), arrays)
    assert got.shape == () and abs(float(got) - 1.0) < 1e-12
    marginal = contract(pairwise_steps(terms, sizes, [199], greedy_path(terms, sizes, [199])), arrays)
    assert marginal.shape == (2,) and abs(marginal.sum() - 1.0) < 1e-12


def test_single_and_scalar_operands():
    x = np.arange(6.0).reshape(2, 3)
    assert contract(pairwise_steps([("a", "b")], {"a": 2, "b": 3}, ("b",), greedy_path([("a", "b")], {}, ("b",))),
                    [x]).tolist() == [3.0, 5.0, 7.0]
    terms = [(), ("a",), ()]
    got = contract(pairwise_steps(terms, {"a": 2}, (), greedy_path(terms, {"a": 2}, ())),
                   [np.float64(2.0), np.array([1.0, 4.0]), np.float64(3.0)])
    assert float(got) == 30.0
