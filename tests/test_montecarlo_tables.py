"""Monte Carlo on tables of numbers (issue 20, "No cliffs"): a discrete ``~`` variable written as a
conditional probability table is drawn by one row lookup and a binary search in its CDF
(:mod:`causaldsl.engines.table_rows`), not by evaluating one table expression per value.

Checked against the same mechanism written as expressions (the general path: the same noise, so
the same draws and the same estimate to rounding), against the exact engine (within a few standard
errors, two worlds, both couplings), and on the bnlearn networks where exact is feasible.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import causaldsl as cd
from causaldsl.engines import montecarlo as mc
from causaldsl.engines.config import float64
from causaldsl.language.parser import parse_query
from causaldsl.model.queries import plan_query

TABLES = """model m {
    x ~ Categorical(a: 0.3, b: 0.5, c: 0.2)
    z ~ Bernoulli(table(x) { a: 0.2, b: 0.6, c: 0.9 })
    y ~ Categorical(lo: table(x, z) { (a, 0): 0.5, (a, 1): 0.1, (b, 0): 0.3, (b, 1): 0.2, (c, 0): 0.6, (c, 1): 0.05 },
                    mid: table(x, z) { (a, 0): 0.3, (a, 1): 0.3, (b, 0): 0.4, (b, 1): 0.2, (c, 0): 0.1, (c, 1): 0.15 },
                    hi: table(x, z) { (a, 0): 0.2, (a, 1): 0.6, (b, 0): 0.3, (b, 1): 0.6, (c, 0): 0.3, (c, 1): 0.8 }COUPLING)
}"""

# The same mechanisms as expressions of the parents: no table of numbers, so the general path.
EXPRESSIONS = """model m {
    x ~ Categorical(a: 0.3, b: 0.5, c: 0.2)
    z ~ Bernoulli(if x == a then 0.2 else if x == b then 0.6 else 0.9)
    y ~ Categorical(lo: if x == a then (if z == 1 then 0.1 else 0.5) else if x == b then (if z == 1 then 0.2 else 0.3)
                        else (if z == 1 then 0.05 else 0.6),
                    mid: if x == a then 0.3 else if x == b then (if z == 1 then 0.2 else 0.4)
                         else (if z == 1 then 0.15 else 0.1),
                    hi: if x == a then (if z == 1 then 0.6 else 0.2) else if x == b then (if z == 1 then 0.6 else 0.3)
                        else (if z == 1 then 0.8 else 0.3)COUPLING)
}"""

TWO_WORLDS = "P(y[x = a] = mid | x = b, y = hi)"  # exact: 1/3 by quantile, 0.1318 by Gumbel-max


def _model(text: str, coupling: str = "quantile"):
    return cd.model(text.replace("COUPLING", ", coupling = gumbel" if coupling == "gumbel" else ""))


@float64
def _schedule(m, query: str):
    plan = plan_query(m.ir, parse_query(query))
    return plan, mc.Schedule(plan.network, dict(plan.evidence))


def test_tables_of_numbers_are_read_as_tables_and_expressions_are_not():
    _, s = _schedule(_model(TABLES), TWO_WORLDS)
    assert {s.net[name].origin for name in s.tables} == {"x", "z", "y"}
    assert s.compiled[next(n for n in s.tables if s.net[n].origin == "y")] == []  # no expression built
    _, s = _schedule(_model(EXPRESSIONS), TWO_WORLDS)
    assert {s.net[name].origin for name in s.tables} == {"x"}  # x's probabilities are numbers


@pytest.mark.parametrize("coupling", ["quantile", "gumbel"])
def test_a_table_draws_what_its_expressions_draw(coupling, monkeypatch):
    """Same noise, same comparisons: the two paths give the same estimate to rounding, and
    both agree with the exact engine within five standard errors (likelihood weighting: exact
    abduction, which would answer the tables' form, is tested below)."""
    monkeypatch.setattr(mc, "ABDUCTION", False)
    tab = _model(TABLES, coupling).query(TWO_WORLDS, method="monte-carlo", samples=100_000, seed=3)
    expr = _model(EXPRESSIONS, coupling).query(TWO_WORLDS, method="monte-carlo", samples=100_000, seed=3)
    exact = _model(TABLES, coupling).query(TWO_WORLDS, method="exact").value
    assert abs(tab.value - expr.value) < 1e-9 and abs(tab.stderr - expr.stderr) < 1e-9
    assert 0.05 < exact < 0.95 and tab.stderr < 0.01
    assert abs(tab.value - exact) < 5 * tab.stderr


def test_the_traced_program_does_not_grow_with_the_table():
    """A 40-valued variable with 100 parent configurations: a handful of operations per copy
    (one row index, one lookup), where one table expression per value traced 40 lookups, each
    comparing every draw with all 100 rows."""
    def levels(prefix, k):
        return "[" + ", ".join(f"{prefix}{i}" for i in range(k)) + "]"

    row = "[" + ", ".join(["0.025"] * 40) + "]"
    rows = ", ".join(f"(a{i}, b{j}): {row}" for i in range(10) for j in range(10))
    m = cd.model("model m {\n"
                 f" a ~ Categorical(levels = {levels('a', 10)}, probs = [{', '.join(['0.1'] * 10)}])\n"
                 f" b ~ Categorical(levels = {levels('b', 10)}, probs = [{', '.join(['0.1'] * 10)}])\n"
                 f" y ~ Categorical(levels = {levels('y', 40)}, probs = table(a, b) {{ {rows} }})\n}}")
    plan, s = _schedule(m, "P(y[a = a0] = y3 | a = a1, y = y5)")
    with jax.enable_x64(True):
        z = tuple(np.zeros(8, np.float32) for _ in s.z_streams)
        u = tuple(np.full(8, 0.5) for _ in s.u_streams)
        jaxpr = jax.make_jaxpr(lambda v: mc.run_schedule(s, None, v, {}, 8, False, True, (z, u))[1])(
            np.asarray(plan.value_array, float))
    assert len(s.tables) == len(s.steps) - 1  # every copy but the intervened one
    assert len(jaxpr.jaxpr.eqns) < 60, len(jaxpr.jaxpr.eqns)


def test_a_bernoulli_table_observed_at_one_weighs_p_exactly():
    from causaldsl.engines import table_rows

    m = _model(TABLES)
    with jax.enable_x64(True):
        t = table_rows.read(m.ir, m.ir["z"])
        lo, hi = t.interval(t.row({"x": np.asarray([0.0, 1.0, 2.0])}), 1.0)
    assert np.asarray(hi).tolist() == [1.0, 1.0, 1.0]  # the family's CDF at 1, not (1 - p) + p
    assert np.allclose(np.asarray(hi) - np.asarray(lo), [0.2, 0.6, 0.9], rtol=0, atol=1e-15)


def test_evidence_never_met_is_reported_without_a_second_compilation(monkeypatch):
    """No draw meeting the evidence makes the estimate 0 / 0; that is not an invalid parameter,
    and must not rerun the query with a check per node (a second compilation of the program)."""
    m = cd.model("model m {\n x ~ Normal(0, 1)\n y ~ Bernoulli(if x > 9 then 0.5 else 0)\n"
                 " w ~ Bernoulli(sigmoid(x))\n}")
    calls = []
    real = mc.compile_montecarlo
    monkeypatch.setattr(mc, "compile_montecarlo", lambda *a, **k: calls.append(k) or real(*a, **k))
    with pytest.raises(cd.ZeroProbabilityError, match="never met in 2,000 draws"):
        m.query("P(w = 1 | y = 1)", samples=2_000)
    assert [k.get("fast_flags", True) for k in calls] == [True]


# ------------------------------------------------------------------ exact abduction
@pytest.mark.parametrize("query", [TWO_WORLDS, "P(y[x = a] | x = c, y = mid)", "E[z[x = a] + 2 * y | x = c, y = mid]",
                                   "P(y | z = 1)", "P(y[x = a], z[x = b] | y = hi)"])
def test_exact_abduction_agrees_with_the_exact_engine(query):
    m = _model(TABLES)
    exact = m.query(query, method="exact").value
    r = m.query(query, method="monte-carlo", samples=100_000)
    assert "exact abduction" in r.conditioning and r.ess == 100_000
    values = exact if isinstance(exact, dict) else {None: exact}
    got = r.value if isinstance(r.value, dict) else {None: r.value}
    errs = r.stderrs or {None: r.stderr}
    for k, v in values.items():
        assert abs(got[k] - v) < 5 * errs[k] + 1e-12, (k, got[k], v, errs[k])


def test_exact_abduction_reports_the_probability_of_the_evidence():
    """P(x = b, y = hi), from the elimination, against the exact engine's P(x = b) P(y = hi | x = b)."""
    m = _model(TABLES)
    r = m.query(TWO_WORLDS, method="monte-carlo", samples=1_000)
    pe = m.query("P(x = b)").value * m.query("P(y = hi | x = b)").value
    assert f"the evidence has probability {pe:.3g}" in r.conditioning


def test_exact_abduction_is_not_used_where_it_does_not_apply():
    m = _model(TABLES, "gumbel")  # Gumbel-max races: their abduction is not an interval of U
    assert m.query(TWO_WORLDS, method="monte-carlo", samples=1_000).conditioning == "likelihood weighting"
    m = _model(TABLES)  # evidence in a world with an intervention: likelihood weighting, still right
    r = m.query("P(y = hi | y[x = a] = mid)", method="monte-carlo", samples=100_000)
    assert r.conditioning == "likelihood weighting"
    assert abs(r.value - m.query("P(y = hi | y[x = a] = mid)", method="exact").value) < 5 * r.stderr
    m = cd.model(EXPRESSIONS.replace("COUPLING", ""))  # expressions, not tables
    assert m.query(TWO_WORLDS, method="monte-carlo", samples=1_000).conditioning == "likelihood weighting"


def test_the_guided_search_takes_the_values_of_the_binary_search():
    from causaldsl.engines import table_rows

    rng = np.random.default_rng(4)
    for k in (2, 3, 7, 40):
        p = rng.dirichlet(np.full(k, 0.3), size=50)
        p[::7, : k // 2] = 0.0  # levels of probability zero: equal CDF entries
        p /= p.sum(-1, keepdims=True)
        cdf = np.concatenate([np.zeros((50, 1)), np.cumsum(p, -1)], -1)
        row = rng.integers(0, 50, 5_000)
        u = rng.random(5_000)
        u[:50] = cdf[row[:50], 1 + rng.integers(0, k, 50)].clip(0, 1 - 1e-16)  # exactly on a boundary
        values = np.arange(k, dtype=float)
        with jax.enable_x64(True):
            want = np.asarray(table_rows._draw(table_rows.padded(cdf), values, row, u))
        got = table_rows.draw_np(cdf, values, row, u, table_rows.guide(cdf))
        assert np.array_equal(got, want), k


pgmpy = pytest.importorskip("pgmpy")
EXAMPLES = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alarm", "child", "insurance"])
def test_two_world_monte_carlo_agrees_with_exact_on_bnlearn_networks(name, monkeypatch):
    """benchmarks/twin_cost.py's question, asked of a likelier event: the effect of the most
    influential ancestor on the variable with the most ancestors, given both seen."""
    import networkx as nx

    m = cd.from_bif(os.path.join(EXAMPLES, f"{name}.bif.gz"))
    g = m.ir.graph
    y = max(sorted(g.nodes), key=lambda v: len(nx.ancestors(g, v)))
    anc = nx.ancestors(g, y)
    x = max(sorted(anc), key=lambda v: len(nx.descendants(g, v) & anc))
    q = lambda v, i: '"' + m.ir[v].levels[i] + '"'  # noqa: E731
    text = f"P({y}[{x} = {q(x, 0)}] = {q(y, 0)} | {x} = {q(x, -1)}, {y} = {q(y, 0)})"
    exact = m.query(text, method="exact").value
    est = m.query(text, method="monte-carlo", samples=200_000)  # exact abduction
    assert "exact abduction" in est.conditioning
    assert est.stderr < 0.02
    assert abs(est.value - exact) < 5 * est.stderr + 1e-9, (exact, est.value, est.stderr)
    m = cd.from_bif(os.path.join(EXAMPLES, f"{name}.bif.gz"))
    monkeypatch.setattr(mc, "ABDUCTION", False)  # and by likelihood weighting
    est = m.query(text, method="monte-carlo", samples=200_000)
    assert est.conditioning == "likelihood weighting"
    assert abs(est.value - exact) < 5 * est.stderr + 1e-9, (exact, est.value, est.stderr)


@pytest.mark.slow
def test_mildew_two_world_question_is_answered_by_exact_abduction():
    """benchmarks/twin_cost.py's question on mildew: exact is refused (1.07 TB); the evidence has
    probability 3.1e-8, which likelihood weighting never met in 200,000 draws (222 s before this
    engine read tables as tables). Exact abduction keeps every draw."""
    m = cd.from_bif(os.path.join(EXAMPLES, "mildew.bif.gz"))
    text = 'P(udbytte[lai_0 = "0_0___0_5"] = "0___1_hkg_ha" | lai_0 = "___6_5", udbytte = "___169_hkg_ha")'
    with pytest.raises(cd.MethodError, match=r"would need 1\.07 TB"):
        m.query(text, method="exact")
    r = m.query(text)
    assert r.method.startswith("monte-carlo (exact would need 1.07 TB)")
    assert r.ess == 200_000 and 0 < r.stderr < r.value
    pe = (m.query('P(lai_0 = "___6_5")').value
          * m.query('P(udbytte = "___169_hkg_ha" | lai_0 = "___6_5")').value)
    assert f"the evidence has probability {pe:.3g}" in r.conditioning
