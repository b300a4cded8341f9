"""Issue 18, items 15, 18 and part of 19: answers that were silently wrong, refused or crashed.

Every expected number is computed here independently (SciPy's Poisson pmf, a mixture written
out by hand, a closed form), and every refusal is checked for its class, line and column.
"""

import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from causaldsl.engines import montecarlo
from causaldsl.language.errors import CausalSyntaxError, MethodError, QueryError

BINARY = "model m {\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(if x then 0.8 else 0.3)\n}"
MIXED = "model m {\n x ~ Bernoulli(0.4)\n n ~ Poisson(if x then 3 else 1)\n}"


# ------------------------------------------------------------------ 15: P(n) for a count
def test_poisson_distribution_is_exact_up_to_a_stated_tail():
    r = cd.model("model m {\n n ~ Poisson(3)\n}").query("P(n)")
    ks = np.array(list(r.value))
    assert r.method == "exact"
    np.testing.assert_allclose(list(r.value.values()), stats.poisson.pmf(ks, 3.0), rtol=1e-9, atol=1e-15)
    assert stats.poisson.sf(ks.max(), 3.0) <= 1e-12  # what is left out is below the stated tail
    assert "listed up to 22" in r.details and "1e-12" in str(r)


def test_poisson_mixture_over_a_discrete_parent():
    m = cd.model(MIXED)
    r = m.query("P(n)")
    ks = np.array(list(r.value))
    mixture = 0.4 * stats.poisson.pmf(ks, 3.0) + 0.6 * stats.poisson.pmf(ks, 1.0)
    np.testing.assert_allclose(list(r.value.values()), mixture, rtol=1e-9, atol=1e-15)
    # Bayes' rule on the same mixture, and the mean, exactly
    post = 0.4 * stats.poisson.pmf(4, 3.0) / (0.4 * stats.poisson.pmf(4, 3.0) + 0.6 * stats.poisson.pmf(4, 1.0))
    assert m.query("P(x = 1 | n = 4)").value == pytest.approx(post, rel=1e-10)
    assert m.query("E[n]").value == pytest.approx(0.4 * 3 + 0.6 * 1, abs=1e-10)
    assert m.query("E[n]").method == "exact"


def test_poisson_of_a_poisson_is_exact():
    # E[exp(-n)] for n ~ Poisson(3) is exp(3 (1/e - 1)): P(m = 0) with m ~ Poisson(n)
    r = cd.model("model m {\n n ~ Poisson(3)\n m ~ Poisson(n)\n}").query("P(m = 0)")
    assert r.method == "exact"
    assert r.value == pytest.approx(np.exp(3 * (np.exp(-1) - 1)), rel=1e-10)


def test_counterfactual_count_is_exact_under_the_comonotone_coupling():
    # n = F^-1(U; rate): seen n = 2 under rate 1 puts U in [F1(1), F1(2)); P(n[x=1] = 5) is the
    # overlap of that interval with [F3(4), F3(5)), over its length.
    m = cd.model(MIXED)
    lo, hi = stats.poisson.cdf(1, 1.0), stats.poisson.cdf(2, 1.0)
    a, b = stats.poisson.cdf(4, 3.0), stats.poisson.cdf(5, 3.0)
    want = max(0.0, min(hi, b) - max(lo, a)) / (hi - lo)
    assert m.query("P(n[x = 1] = 5 | x = 0, n = 2)").value == pytest.approx(want, rel=1e-9)


def test_counts_too_large_to_list_are_left_to_monte_carlo():
    # n's table over m would have 10^8 entries: Monte Carlo, with no word of a listing
    r = cd.model("model m {\n n ~ Poisson(1e4)\n m ~ Poisson(n)\n}").query("E[m]", samples=20_000)
    assert r.method == "monte-carlo" and r.note is None
    assert abs(r.value - 1e4) < 5 * r.stderr


def test_count_over_continuous_parents_is_refused_with_its_place():
    m = cd.model("model m {\n z ~ Normal(0, 1)\n n ~ Poisson(exp(z))\n}")
    with pytest.raises(QueryError) as e:
        m.query("P(n)")
    assert (e.value.line, e.value.column) == (1, 3)
    assert "E[n]" in e.value.hint


def test_sample_gives_integers_for_discrete_variables():
    m = cd.model("model m {\n x ~ Bernoulli(0.5)\n y ~ Normal(x, 1)\n n ~ Poisson(2 + x)\n"
                 " b ~ Binomial(5, 0.3)\n c ~ Categorical(0.2, 0.8)\n w ~ Categorical(lo: 0.5, hi: 0.5)\n"
                 " d := x + b\n h := x / 2\n}")
    s = m.sample(2000, seed=0)
    for name in ("x", "n", "b", "c", "d"):
        assert s[name].dtype == np.int64, name
    for name in ("y", "h"):
        assert s[name].dtype == np.float64, name
    assert set(s["w"]) <= {"lo", "hi"}
    assert s["n"].mean() == pytest.approx(2.5, abs=4 * np.sqrt(2.5 / 2000))
    assert np.array_equal(s["d"], s["x"] + s["b"])


# ------------------------------------------------------------------ 18: silently wrong answers
@pytest.mark.parametrize("query,column,what", [("P(x + 1)", 3, "x + 1"), ("P(-1)", 3, "-1"),
                                               ("P(y = 1, x * 2)", 10, "x * 2")])
def test_an_event_that_is_a_number_is_refused(query, column, what):
    with pytest.raises(QueryError) as e:
        cd.model(BINARY).query(query)
    assert (e.value.line, e.value.column) == (1, column)
    assert f"E[{what}]" in e.value.hint


def test_logical_events_still_answer():
    m = cd.model(BINARY)
    assert m.query("P(x == 1 and y == 1)").value == pytest.approx(0.5 * 0.8)
    assert m.query("P(not y)").value == pytest.approx(0.5 * 0.2 + 0.5 * 0.7)
    assert m.query("P(if x then y == 1 else 0)").value == pytest.approx(0.4)
    assert m.query("P(1)").value == 1.0


def test_is_boolean_is_the_one_rule():
    from causaldsl.model.expressions import is_boolean
    from causaldsl.language.parser import parse_query

    assert [is_boolean(parse_query(f"E[{e}]").expr) for e in
            ("x > 1", "x or y", "not x", "if x then 1 else 0", "x + 1", "-1", "x")] == \
        [True, True, True, True, False, False, False]


LEVELS = "model m {{\n a ~ Bernoulli(0.3)\n w ~ Categorical(a: 0.2, b: 0.8)\n z ~ Bernoulli({p})\n}}"


@pytest.mark.parametrize("p,column", [("if w == a then 0.9 else 0.1", 24), ("if a == w then 0.9 else 0.1", 19)])
def test_a_level_named_like_a_variable_is_refused_in_a_model(p, column):
    with pytest.raises(CausalSyntaxError) as e:
        cd.model(LEVELS.format(p=p))
    assert (e.value.line, e.value.column) == (4, column)
    assert '"a"' in e.value.hint


def test_a_quoted_level_reads_as_the_level_everywhere():
    m = cd.model(LEVELS.format(p='if w == "a" then 0.9 else 0.1'))
    want = 0.2 * 0.9 + 0.8 * 0.1  # w's level a, whatever the variable a does
    assert m.query("P(z = 1)").value == pytest.approx(want)
    assert m.query('P(w == "a")').value == pytest.approx(0.2)
    assert m.query("P(w = a)").value == pytest.approx(0.2)  # after '=', only a value can stand
    with pytest.raises(CausalSyntaxError) as e:
        m.query("P(w == a)")
    assert (e.value.line, e.value.column) == (1, 8)


def test_a_string_compared_with_a_variable_without_levels_is_refused():
    with pytest.raises(CausalSyntaxError) as e:
        cd.model('model m {\n a ~ Bernoulli(0.3)\n z ~ Bernoulli(if a == "w" then 0.9 else 0.1)\n}')
    assert (e.value.line, e.value.column) == (3, 24)


def test_a_huge_poisson_rate_does_not_saturate():
    m = cd.model("model m {\n n ~ Poisson(1e19)\n}")
    r = m.query("E[n]")
    assert r.value == pytest.approx(1e19, rel=1e-8)
    assert abs(r.value - 1e19) < 5 * r.stderr + 1e5
    # the spread is a Poisson's, sqrt(rate), not zero as saturated integers gave
    assert m.query("P(n > 1e19 + 3162277660)").value == pytest.approx(stats.norm.sf(1.0), abs=0.005)


@pytest.mark.parametrize("rate", [1e5, 1e8, 1e12])
def test_poisson_draws_have_the_right_spread_at_large_rates(rate):
    n = cd.model(f"model m {{\n n ~ Poisson({rate:g})\n}}").sample(100_000, seed=1)["n"]
    assert n.std() / np.sqrt(rate) == pytest.approx(1.0, abs=0.015)  # JAX's sampler: 1.21 at 1e8
    assert np.quantile(n, 0.999) == pytest.approx(stats.poisson.ppf(0.999, rate), abs=0.05 * np.sqrt(rate))


# ------------------------------------------------------------------ 19: raw exceptions
@pytest.mark.parametrize("query,column", [("E[y[1]]", 3), ("P(y[x] = 1)", 3), ("P(x = 1 | y[x] = 1)", 11)])
def test_a_subscript_without_a_world_is_a_query_error(query, column):
    with pytest.raises(QueryError) as e:
        cd.model(BINARY).query(query)
    assert (e.value.line, e.value.column) == (1, column)
    assert "y[x = 1]" in e.value.hint


def test_too_many_draws_are_refused_with_the_largest_that_fits():
    m = cd.model("model m {\n x ~ Bernoulli(0.5)\n y ~ Normal(x, 1)\n}")
    for ask, located in ((lambda: m.query("E[y]", samples=10 ** 10), True),
                         (lambda: m.query("E[x | y = 1]", samples=10 ** 10), True),
                         (lambda: m.sample(10 ** 10), False)):
        with pytest.raises(MethodError) as e:
            ask()
        assert "at most" in e.value.message and "draws fit" in e.value.message
        if located:  # a query's refusal points at the query
            assert (e.value.line, e.value.column) == (1, 1)


def test_the_memory_budget_is_settable(monkeypatch):
    m = cd.model("model m {\n x ~ Bernoulli(0.5)\n y ~ Normal(x, 1)\n}")
    monkeypatch.setattr(montecarlo, "MEMORY_BUDGET", 10 ** 6)
    with pytest.raises(MethodError):
        m.query("E[y]", samples=200_000)
    monkeypatch.setattr(montecarlo, "MEMORY_BUDGET", None)
    assert m.query("E[y]", samples=20_000).value == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("rate", [0.5, 3.0, 100.0, 1e4])
def test_poisson_quantile_is_scipys(rate):
    # The shared-noise Poisson (counterfactual copies under Monte Carlo) inverts the CDF by a
    # bisection that starts at the Cornish-Fisher guess: it must still be the exact quantile.
    import jax
    import jax.numpy as jnp

    from causaldsl.model.distributions import _poisson_quantile

    u = np.random.default_rng(0).uniform(1e-9, 1 - 1e-9, 2000)
    with jax.enable_x64(True):
        got = np.asarray(_poisson_quantile((jnp.float64(rate),), jnp.asarray(u)))
    assert np.array_equal(got, stats.poisson.ppf(u, rate))
