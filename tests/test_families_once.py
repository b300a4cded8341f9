"""Each family written once over an array namespace: its NumPy and JAX evaluations are the same
code, checked against SciPy's distributions; expressions compiled once, for any namespace; the
one-value (scalar) path is that code at n = 1."""

import math

import jax.numpy as jnp
from jax import enable_x64  # scoped (a context manager in this JAX): the comparisons below are to 1e-12
import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from causaldsl.language.errors import QueryError
from causaldsl.language.parser import parse_query
from causaldsl.model.distributions import FAMILIES, namespace
from causaldsl.model.expressions import compile_expr, free_vars, map_children, rename

VALUES = np.arange(0.0, 8.0)


@pytest.mark.parametrize("family, params, scipy_pmf", [
    ("Bernoulli", (0.3,), lambda k: stats.bernoulli.pmf(k, 0.3)),
    ("Binomial", (6.0, 0.35), lambda k: stats.binom.pmf(k, 6, 0.35)),
    ("Poisson", (2.5,), lambda k: stats.poisson.pmf(k, 2.5)),
    ("Categorical", (0.2, 0.5, 0.3), lambda k: np.where(k < 3, np.array([0.2, 0.5, 0.3, 0, 0, 0, 0, 0])[k.astype(int)], 0.0)),
])
def test_a_finite_familys_table_and_cdf_are_scipys_in_numpy_and_in_jax(family, params, scipy_pmf):
    fam = FAMILIES[family]
    np_pmf = fam.pmf(tuple(np.float64(p) for p in params), VALUES)
    with enable_x64():
        jx_pmf = np.asarray(fam.pmf(tuple(jnp.asarray(p) for p in params), jnp.asarray(VALUES)))
    assert isinstance(np_pmf, np.ndarray)  # NumPy in, NumPy out: no JAX dispatch
    np.testing.assert_allclose(np_pmf, scipy_pmf(VALUES), atol=1e-12)
    np.testing.assert_allclose(np.asarray(jx_pmf), np_pmf, atol=1e-12)
    np_cdf = fam.cdf(tuple(np.full(VALUES.shape, p) for p in params), VALUES)  # one parameter set per value
    np.testing.assert_allclose(np_cdf, np.cumsum(scipy_pmf(VALUES)), atol=1e-9)
    assert not fam.invalid(tuple(np.float64(p) for p in params))


@pytest.mark.parametrize("family, params, logpdf", [
    ("Normal", (1.5, 0.7), lambda x: stats.norm.logpdf(x, 1.5, 0.7)),
    ("LogNormal", (0.2, 0.9), lambda x: stats.lognorm.logpdf(x, 0.9, scale=math.exp(0.2))),
])
def test_a_continuous_density_is_scipys_in_both_namespaces(family, params, logpdf):
    fam = FAMILIES[family]
    xs = np.array([0.3, 1.0, 2.5, 4.0])
    got = fam.log_prob(tuple(np.float64(p) for p in params), xs)
    np.testing.assert_allclose(got, logpdf(xs), rtol=1e-12)
    with enable_x64():
        jx = np.asarray(fam.log_prob(tuple(jnp.asarray(p) for p in params), jnp.asarray(xs)))
    np.testing.assert_allclose(jx, logpdf(xs), rtol=1e-12)
    # z <-> x are inverse, in either namespace
    z = fam.to_z(params, xs)
    np.testing.assert_allclose(fam.from_z(params, z), xs, rtol=1e-12)


def test_the_namespace_follows_the_arguments():
    assert namespace(0.5, np.ones(3)) is np
    assert namespace(np.float64(1.0), jnp.ones(3)) is jnp


def test_an_expression_compiles_once_for_either_namespace():
    e = parse_query("E[if x > 1 then 2 * x / y else -x]").expr
    env = {"x": np.array([0.0, 3.0]), "y": np.array([2.0, 0.0])}
    with np.errstate(divide="ignore"):
        np_out = compile_expr(e, np)(env)
    with enable_x64():
        jx_out = np.asarray(compile_expr(e, jnp)({k: jnp.asarray(v) for k, v in env.items()}))
    assert np_out.tolist() == [-0.0, math.inf] == jx_out.tolist()  # 2 * 3 / 0: NumPy's rule


def test_one_child_visitor_rewrites_every_kind_of_node():
    e = parse_query("E[if a > 1 then min(b, 2) else not c]").expr
    renamed = rename(e, {"a": "A", "b": "B", "c": "C"})
    assert free_vars(renamed) == ["A", "B", "C"]
    assert map_children(e, lambda c: c) is e  # nothing rewritten: the same object


def test_a_units_counterfactual_on_the_scalar_path_is_the_closed_form():
    # y = 2 x + 1.5 z + 0.5 e_y, w = exp(0.1 y + e_w): had x been 0, y = 3 - 2 = 1 and
    # log w = 0.1 * 1 + e_w with e_w = log(2) - 0.1 * 3.
    m = cd.model("model m {\n z ~ Normal(0, 1)\n x ~ Normal(0.8 * z, 1)\n y ~ Normal(2 * x + 1.5 * z, 0.5)\n"
                 " w ~ LogNormal(0.1 * y, 1)\n}")
    r = m.query("E[w[x = 0] | z = 0.4, x = 1, y = 3, w = 2]")
    assert r.samples == 1 and r.stderr == 0.0
    assert r.value == pytest.approx(math.exp(0.1 * 1 + math.log(2) - 0.1 * 3), rel=1e-12)
    r = m.query("E[y[x = 0] / (y - 2) | z = 0.4, x = 1, y = 3, w = 2]")
    assert r.samples == 1 and r.value == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(QueryError, match="infinite or undefined"):  # 1 / 0, by NumPy's rule: inf
        m.query("E[y[x = 0] / (y - 3) | z = 0.4, x = 1, y = 3, w = 2]")


CAT = (0.2, 0.5, 0.3)
CAT_X = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 2.7, 3.0, 9.0])
# by hand: P(X <= x) steps 0.2, 0.7, 1.0 at 0, 1, 2; P(X = x) on the integers 0, 1, 2 only
CAT_CDF = np.array([0.0, 0.2, 0.2, 0.7, 1.0, 1.0, 1.0, 1.0])
CAT_PMF = np.array([0.0, 0.2, 0.0, 0.5, 0.3, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test_a_categoricals_cdf_and_log_prob_broadcast_one_parameter_set_over_many_float_values(xp):
    # Scalar parameters with a vector of float64 values (the Pyro backend's case) raised in
    # take_along_axis (the CDF) and in NumPyro's integer-only Categorical (the log-probability).
    fam = FAMILIES["Categorical"]
    with enable_x64():
        params = tuple(xp.asarray(p, dtype=xp.float64) for p in CAT)
        x = xp.asarray(CAT_X, dtype=xp.float64)
        cdf, lp = np.asarray(fam.cdf(params, x)), np.asarray(fam.log_prob(params, x))
        # a batch of two parameter sets against the same values: a (2, 8) answer
        two = tuple(xp.asarray([[p], [q]], dtype=xp.float64) for p, q in zip(CAT, (0.6, 0.1, 0.3)))
        cdf2 = np.asarray(fam.cdf(two, x))
        # one parameter set per value (the engines' case) still works
        per = tuple(xp.full(CAT_X.shape, p, dtype=xp.float64) for p in CAT)
        cdf_per = np.asarray(fam.cdf(per, x))
    assert cdf.shape == lp.shape == CAT_X.shape and cdf2.shape == (2, len(CAT_X))
    np.testing.assert_allclose(cdf, CAT_CDF, atol=1e-12)
    np.testing.assert_allclose(cdf_per, CAT_CDF, atol=1e-12)
    np.testing.assert_allclose(cdf2, [CAT_CDF, [0.0, 0.6, 0.6, 0.7, 1.0, 1.0, 1.0, 1.0]], atol=1e-12)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(lp, np.log(CAT_PMF), atol=1e-12)
    assert np.isneginf(lp[CAT_PMF == 0]).all()
