"""The exact engine's contraction plans (opt_einsum's paths), against NumPy's einsum on random
tensor networks; the same plan run by NumPy and by JAX."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import opt_einsum
import pytest

from causaldsl.engines import contraction
from causaldsl.engines.contraction import plan


def _network(rng: random.Random, n_ops: int, n_idx: int, max_rank: int = 3):
    """Random operands over ``n_idx`` indices (sizes 1-3), some sharing none, and an output."""
    sizes = {i: rng.choice((1, 2, 2, 3)) for i in range(n_idx)}
    terms = [rng.sample(range(n_idx), rng.randint(0, min(max_rank, n_idx))) for _ in range(n_ops)]
    used = sorted({a for t in terms for a in t})
    output = rng.sample(used, min(len(used), rng.randint(0, 2)))
    return terms, sizes, output


def _arrays(terms, sizes, seed):
    return [np.random.default_rng(seed + k).random(tuple(sizes[a] for a in t)) for k, t in enumerate(terms)]


def _reference(terms, output, arrays):
    """np.einsum in its sublist form (integers for indices: no letters to run out of)."""
    args = [x for pair in zip(arrays, terms) for x in pair]
    return np.einsum(*args, output, optimize="greedy")


@pytest.mark.parametrize("seed", range(40))
def test_plan_contracts_as_einsum_in_numpy_and_jax(seed):
    rng = random.Random(300 + seed)
    terms, sizes, output = _network(rng, rng.randint(1, 30), rng.randint(1, 40), max_rank=4)
    arrays = _arrays(terms, sizes, seed)
    p = plan(terms, sizes, output)
    want = _reference(terms, output, arrays)
    np.testing.assert_allclose(p.numpy(arrays), want, rtol=1e-12, atol=0)
    with jax.enable_x64(True):
        got = jnp.einsum(p.equation, *arrays, optimize=p.path)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(10))
def test_the_cost_is_opt_einsums_account_of_the_path(seed):
    rng = random.Random(700 + seed)
    terms, sizes, output = _network(rng, rng.randint(2, 20), rng.randint(1, 20))
    p = plan(terms, sizes, output)
    _, info = opt_einsum.contract_path(p.equation, *p.shapes, shapes=True, optimize=p.path)
    assert (p.largest, p.flops) == (info.largest_intermediate, info.opt_cost)
    assert p.entries == sum(int(np.prod(s)) for s in p.shapes)


def test_more_indices_than_einsum_has_letters():
    """200 indices in all (opt_einsum's symbols name them); each pairwise step holds a few."""
    rng = random.Random(3)
    # a tree (one parent each): small intermediates whatever the order, unlike a random DAG's
    terms = [[rng.randrange(i), i] if i else [0] for i in range(200)]
    sizes = dict.fromkeys(range(200), 2)
    rng = np.random.default_rng(0)
    arrays = []
    for t in terms:  # conditional probability tables: the whole network sums to 1
        x = rng.random((2,) * len(t))
        arrays.append(x / x.sum(axis=-1, keepdims=True))
    p = plan(terms, sizes, [])
    assert not p.wide and abs(float(p.numpy(arrays)) - 1.0) < 1e-12
    marginal = plan(terms, sizes, [199]).numpy(arrays)
    assert marginal.shape == (2,) and abs(marginal.sum() - 1.0) < 1e-12


def test_a_step_over_more_than_52_indices_is_wide():
    terms = [list(range(53)), list(range(53))]
    assert plan(terms, dict.fromkeys(range(53), 1), []).wide


def test_single_and_scalar_operands():
    x = np.arange(6.0).reshape(2, 3)
    assert plan([("a", "b")], {"a": 2, "b": 3}, ("b",)).numpy([x]).tolist() == [3.0, 5.0, 7.0]
    got = plan([(), ("a",), ()], {"a": 2}, ()).numpy([np.float64(2.0), np.array([1.0, 4.0]), np.float64(3.0)])
    assert float(got) == 30.0


def _grid(k: int):
    """A k x k grid's factors (each cell with its left and upper neighbours): greedy's paths are
    far from the best there."""
    cell = lambda i, j: i * k + j  # noqa: E731
    terms = [[cell(i, j)] + ([cell(i - 1, j)] if i else []) + ([cell(i, j - 1)] if j else [])
             for i in range(k) for j in range(k)]
    return terms, dict.fromkeys(range(k * k), 2)


def test_where_no_path_fits_the_randomised_search_is_tried_too_and_the_smallest_path_kept(monkeypatch):
    terms, sizes = _grid(10)
    eq = contraction.equation(terms, [])
    greedy = opt_einsum.contract_path(eq, *[(2,) * len(t) for t in terms], shapes=True, optimize="greedy")[1]
    orders = plan(terms, sizes, [], memory_limit=1)  # within reach of nothing: no random search
    monkeypatch.setattr(contraction, "_REACH", 1e12)
    random.seed(5)
    before = random.random()
    random.seed(5)
    p = plan(terms, sizes, [], memory_limit=1)
    assert random.random() == before  # the search's seeding leaves the caller's random state alone
    assert p.largest <= min(orders.largest, greedy.largest_intermediate)
    assert plan(terms, sizes, [], memory_limit=1).path == p.path  # seeded: the same path every time
    arrays = _arrays(terms, sizes, 0)
    # (NumPy's own einsum takes minutes over these 100 operands)
    want = opt_einsum.contract(p.equation, *arrays, optimize="greedy")
    np.testing.assert_allclose(p.numpy(arrays), want, rtol=1e-12)


def test_on_a_grid_an_elimination_order_beats_greedy_and_its_figures_are_opt_einsums():
    """A k x k grid of cells with their upper and left neighbours as parents has treewidth k (it
    holds the k x k grid as a minor, whose treewidth is k, and eliminating row by row never joins
    more than k + 1 cells); greedy's path is far from it."""
    terms, sizes = _grid(15)
    eq = contraction.equation(terms, [])
    shapes = [(2,) * len(t) for t in terms]
    greedy = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="greedy")[1]
    p = plan(terms, sizes, [])
    assert p.width == 15 and p.largest <= 2 ** 15
    assert p.flops < greedy.opt_cost / 10 and greedy.largest_intermediate >= 2 ** 18
    _, info = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize=p.path)
    assert (p.largest, p.flops) == (info.largest_intermediate, info.opt_cost)


@pytest.mark.parametrize("seed", range(20))
def test_every_elimination_orders_path_is_counted_as_opt_einsum_counts_it(seed):
    rng = random.Random(900 + seed)
    terms, sizes, output = _network(rng, rng.randint(1, 30), rng.randint(1, 40), max_rank=4)
    eq = contraction.equation(terms, output)
    lhs, rhs = eq.split("->")
    shapes = [tuple(sizes[a] for a in t) for t in terms]
    symbol_sizes = {c: n for t, shape in zip(lhs.split(","), shapes) for c, n in zip(t, shape)}
    graph = contraction.interaction_graph(terms)
    for rule in (contraction.min_degree, contraction.min_weight, contraction.min_fill):
        order = contraction.elimination_order(graph, sizes, rule, keep=output)
        assert sorted(order) == sorted(set(graph) - set(output))
        path = contraction.order_path(terms, sizes, order, output)
        got = contraction.account([frozenset(t) for t in lhs.split(",")], symbol_sizes, path, rhs)
        _, info = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize=path)
        assert (got.largest, got.flops, got.scale) == (info.largest_intermediate, info.opt_cost,
                                                        max(info.scale_list))
        arrays = _arrays(terms, sizes, seed)
        np.testing.assert_allclose(opt_einsum.contract(eq, *arrays, optimize=path),
                                   _reference(terms, output, arrays), rtol=1e-12)


# ------------------------------------------------------------------ tiny contractions in one pass
def _one_step(p) -> bool:
    return len(p.path) == 1 and len(p.path[0]) > 2


@pytest.mark.parametrize("seed", range(30))
def test_a_one_pass_plan_answers_as_the_searched_path_in_numpy_and_jax(seed):
    """The one-pass plan (one einsum over the joint) against the reference (greedy or an
    elimination order), on random networks small enough for it; JAX runs its pairwise split."""
    rng = random.Random(900 + seed)
    terms, sizes, output = _network(rng, rng.randint(3, 12), rng.randint(3, 12), max_rank=3)
    arrays = _arrays(terms, sizes, seed)
    reference = plan(terms, sizes, output)
    one = plan(terms, sizes, output, one_pass=contraction.ONE_PASS)
    assert _one_step(one) and one.equation == reference.equation
    want = _reference(terms, output, arrays)
    np.testing.assert_allclose(reference.numpy(arrays), want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(one.numpy(arrays), want, rtol=1e-12, atol=0)
    assert all(len(step) <= 2 for step in one.pairwise)
    with jax.enable_x64(True):
        got = jnp.einsum(one.equation, *arrays, optimize=one.pairwise)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=0)
    # its figures are opt_einsum's account of that one step
    _, info = opt_einsum.contract_path(one.equation, *one.shapes, shapes=True, optimize=one.path)
    assert (one.largest, one.flops) == (info.largest_intermediate, info.opt_cost)


def test_a_contraction_past_the_one_pass_bound_is_searched():
    terms, sizes = _grid(5)  # 2^25 entries in the joint
    assert not _one_step(plan(terms, sizes, [], one_pass=contraction.ONE_PASS))
    assert _one_step(plan(terms[:12], sizes, [], one_pass=contraction.ONE_PASS))  # 2^12


@pytest.mark.parametrize("name", ["asia", "sachs", "child", "alarm"])
def test_new_questions_on_bnlearn_networks_answer_as_the_searched_path(name):
    """What a new question runs (ExactProgram: one pass where the joint is small, each
    variable's factor kept per model) against the reference (a fresh structure, the searched
    path, every factor computed from the mechanisms), on questions of every kind."""
    pgmpy = pytest.importorskip("pgmpy")
    import os

    import causaldsl as cd
    from causaldsl.engines.exact import ExactProgram, _Structure
    from causaldsl.interchange.network import network_tables
    from causaldsl.language.parser import parse_query
    from causaldsl.model.queries import plan_query

    m = cd.from_bif(os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models", f"{name}.bif.gz"))
    tables = network_tables(m.ir)
    rng = random.Random(5)
    kinds = set()
    for _ in range(40):
        (y, ty), (e, te), (x, tx) = rng.sample([(t.name, t) for t in tables], 3)
        conds = rng.choice([[], [f'{e} = "{te.levels[0]}"'], [f'do({x} = "{tx.levels[-1]}")'],
                            [f'{e} = "{te.levels[-1]}"', f'do({x} = "{tx.levels[0]}")']])
        text = f"P({y}" + (" | " + ", ".join(conds) if conds else "") + ")"
        plan = plan_query(m.ir, parse_query(text), text)
        program = ExactProgram(plan, compiler=m.engine.compiler, tables=m.engine.tables, factors=m.engine.factors)
        kinds.add(_one_step(program.structure.contraction))
        got = program.numpy(plan.value_array)
        want = _Structure(plan).evaluate(plan.value_array, {}, np)
        for a, b in zip(got[:3], want[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        assert not np.asarray(got[3]).any() and not np.asarray(want[3]).any()
    assert kinds == {True, False}  # both routes were taken (two operands or fewer: no one pass to make)
    assert 0 < len(m.engine.factors) <= 2 * len(m.ir.nodes)  # kept for the next question, not one per question
