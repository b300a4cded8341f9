"""Bayesian models: parameters with priors, fitting, and answers over the posterior.

Every number is checked against something computed independently: the
parameters used to simulate the data, conjugate closed forms (scipy), the
exact answers of the true model, or counts taken straight from the data.
"""

from __future__ import annotations

import warnings

import numpy as np
import jax.numpy as jnp
import pytest
from scipy import stats

import causaldsl as cd
from jax_traces import jax_traces

FAST = dict(chains=2, draws=300, warmup=200)

KIDNEY_TRUE = """model kidney {
    size ~ Bernoulli(0.4)
    treatment ~ Bernoulli(if size then 0.75 else 0.25)
    recovery ~ Bernoulli(table(treatment, size) {(0, 0): 0.87, (0, 1): 0.69, (1, 0): 0.93, (1, 1): 0.73})
}"""

KIDNEY_BAYES = """model kidney {
    param p_large ~ Beta(1, 1)
    size ~ Bernoulli(p_large)
    param p_treat[size] ~ Beta(1, 1)          # one parameter per level of size
    treatment ~ Bernoulli(p_treat[size])
    param p_ok[treatment, size] ~ Beta(1, 1)
    recovery ~ Bernoulli(p_ok[treatment, size])
}"""

TRUTH = {"p_large": 0.4, "p_treat": [0.25, 0.75], "p_ok": [[0.87, 0.69], [0.93, 0.73]]}


@pytest.fixture(scope="module")
def kidney_fit():
    data = cd.model(KIDNEY_TRUE).sample(5000, seed=3)
    with warnings.catch_warnings():
        # FAST chains are short on purpose; an R-hat just above 1.01 may be reported (and is
        # tested on its own in test_short_chains_warn_about_diagnostics).
        warnings.simplefilter("ignore", cd.FitWarning)
        return cd.model(KIDNEY_BAYES).fit(data, **FAST), data


# ------------------------------------------------------------------ recovery
def test_discrete_parameters_are_recovered(kidney_fit):
    fit, _ = kidney_fit
    for name, true in TRUTH.items():
        draws = fit.posterior[name]
        true = np.asarray(true)
        assert draws.shape == (600,) + true.shape
        mean, sd = draws.mean(0), draws.std(0)
        assert np.all(np.abs(mean - true) < 4 * sd), (name, mean, true, sd)
        lo, hi = np.quantile(draws, 0.0005, axis=0), np.quantile(draws, 0.9995, axis=0)
        assert np.all((lo < true) & (true < hi)), name


def test_discrete_posterior_is_the_beta_closed_form(kidney_fit):
    # Each p_ok entry sees the rows with its (treatment, size): Beta(1 + recovered, 1 + not).
    fit, data = kidney_fit
    t, s, r = (np.asarray(data[k]) for k in ("treatment", "size", "recovery"))
    for ti in (0, 1):
        for si in (0, 1):
            rows = (t == ti) & (s == si)
            k, n = int(r[rows].sum()), int(rows.sum())
            post = stats.beta(1 + k, 1 + n - k)
            draws = fit.posterior["p_ok"][:, ti, si]
            assert abs(draws.mean() - post.mean()) < 4 * post.std() / np.sqrt(200)
            assert abs(draws.std() - post.std()) < 0.15 * post.std()


def test_continuous_regression_is_recovered():
    rng = np.random.default_rng(7)
    n = 2000
    x = rng.normal(2.0, 1.5, n)
    y = -1.0 + 0.7 * x + rng.normal(0, 0.5, n)
    m = cd.model("""model reg {
        param alpha ~ Normal(0, 10)
        param beta ~ Normal(0, 10)
        param sigma ~ HalfNormal(5)
        param mu ~ Normal(0, 10)
        x ~ Normal(mu, 2)
        y ~ Normal(alpha + beta * x, sigma)
    }""")
    fit = m.fit({"x": x, "y": y}, **FAST)
    # Least squares is the posterior mean under flat-enough priors (closed form, independent of NumPyro).
    X = np.column_stack([np.ones(n), x])
    coef, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    cov = np.linalg.inv(X.T @ X) * (res[0] / (n - 2))
    for name, true, ols, se in (("alpha", -1.0, coef[0], np.sqrt(cov[0, 0])),
                                ("beta", 0.7, coef[1], np.sqrt(cov[1, 1]))):
        d = fit.posterior[name]
        assert abs(d.mean() - ols) < 0.1 * se + 4 * se / np.sqrt(200)
        assert abs(d.std() - se) < 0.2 * se
        assert np.quantile(d, 0.001) < true < np.quantile(d, 0.999)
    assert abs(fit.posterior["sigma"].mean() - 0.5) < 4 * fit.posterior["sigma"].std()
    assert fit.diagnostics["r_hat"] < 1.05 and fit.diagnostics["divergences"] == 0


def test_svi_recovers_the_regression():
    rng = np.random.default_rng(8)
    x = rng.normal(size=3000)
    y = 3.0 - 2.0 * x + rng.normal(0, 1.0, 3000)
    m = cd.model("""model reg {
        param a ~ Normal(0, 10)
        param b ~ Normal(0, 10)
        param s ~ HalfNormal(5)
        x ~ Normal(0, 1)
        y ~ Normal(a + b * x, s)
    }""")
    fit = m.fit({"x": x, "y": y}, method="svi", steps=4000, draws=500)
    assert fit.diagnostics["method"] == "SVI"
    b = np.polyfit(x, y, 1)[0]
    assert abs(fit.posterior["b"].mean() - b) < 0.02
    r = fit.query("ATE(x -> y, treat = 1, control = 0)")
    assert abs(r.value - b) < 0.02 and r.interval[0] < -2.0 < r.interval[1] + 0.02


# ------------------------------------------------------------------ conjugate closed forms
def test_beta_bernoulli_posterior_answer_matches_scipy():
    m = cd.model("model coin {\n param p ~ Beta(2, 3)\n x ~ Bernoulli(p)\n}")
    data = {"x": [1] * 37 + [0] * 13}
    fit = m.fit(data, chains=2, draws=1000, warmup=300)
    post = stats.beta(2 + 37, 3 + 13)
    r = fit.query("P(x = 1)")
    assert abs(r.value - post.mean()) < 4 * post.std() / np.sqrt(400)
    assert abs(r.interval[0] - post.ppf(0.025)) < 0.02 and abs(r.interval[1] - post.ppf(0.975)) < 0.02
    assert r.draws.shape == (2000,)


def test_unfitted_model_answers_over_its_prior():
    m = cd.model("model coin {\n param p ~ Beta(2, 2)\n x ~ Bernoulli(p)\n}")
    r = m.query("P(x = 1)")
    prior = stats.beta(2, 2)
    assert abs(r.value - 0.5) < 4 * prior.std() / np.sqrt(1000)
    assert abs(r.interval[0] - prior.ppf(0.025)) < 0.03 and abs(r.interval[1] - prior.ppf(0.975)) < 0.03
    assert "prior" in r.details


# ------------------------------------------------------------------ causal answers
CONFOUNDED_TRUE = """model conf {
    z ~ Bernoulli(0.5)
    x ~ Bernoulli(if z then 0.8 else 0.2)
    y ~ Bernoulli(0.1 + 0.2 * x + 0.6 * z)
}"""

CONFOUNDED_BAYES = """model conf {
    param pz ~ Beta(1, 1)
    z ~ Bernoulli(pz)
    param px[z] ~ Beta(1, 1)
    x ~ Bernoulli(px[z])
    param py[x, z] ~ Beta(1, 1)
    y ~ Bernoulli(py[x, z])
}"""


@pytest.fixture(scope="module")
def confounded_fit():
    data = cd.model(CONFOUNDED_TRUE).sample(4000, seed=11)
    return cd.model(CONFOUNDED_BAYES).fit(data, **FAST), data


def test_posterior_ate_covers_the_truth_and_the_naive_contrast_does_not(confounded_fit):
    true = cd.model(CONFOUNDED_TRUE)
    ate = true.query("ATE(x -> y)").value
    assert abs(ate - 0.2) < 1e-12
    fit, data = confounded_fit
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    naive = y[x == 1].mean() - y[x == 0].mean()  # confounded by z: about 0.2 + 0.6 * 0.6 = 0.56
    r = fit.query("ATE(x -> y)")
    lo, hi = r.interval
    assert lo < ate < hi
    assert not lo < naive < hi and naive > hi + 0.2
    assert hi - lo < 0.1


def test_continuous_confounded_ate_covers_the_truth():
    rng = np.random.default_rng(5)
    n = 1500
    z = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n)
    y = 1.5 * x + 2.0 * z + rng.normal(0, 0.5, n)
    naive = np.polyfit(x, y, 1)[0]  # about 1.5 + 2 * 0.8 / 1.64 = 2.48
    m = cd.model("""model conf {
        param a ~ Normal(0, 5)
        param b ~ Normal(0, 5)
        param c ~ Normal(0, 5)
        param s ~ HalfNormal(2)
        z ~ Normal(0, 1)
        x ~ Normal(a * z, 1)
        y ~ Normal(b * x + c * z, s)
    }""")
    fit = m.fit({"x": x, "y": y, "z": z}, **FAST)
    r = fit.query("ATE(x -> y, treat = 1, control = 0)")
    assert r.interval[0] < 1.5 < r.interval[1]
    assert naive > r.interval[1] + 0.5


def test_with_much_data_posterior_answers_converge_to_the_true_model():
    true = cd.model(KIDNEY_TRUE)
    data = true.sample(400_000, seed=4)  # counts make the cost independent of the rows
    fit = cd.model(KIDNEY_BAYES).fit(data, chains=2, draws=300, warmup=300)
    assert fit.program.shape == "counts" and fit.program.configurations == 8
    for q in ("P(recovery = 1 | do(treatment = 1))", "ATE(treatment -> recovery)",
              "P(recovery[treatment = 0] = 1 | treatment = 1, recovery = 1)", "PNS(treatment -> recovery)",
              "P(size = 1 | recovery = 0)"):
        exact, post = true.query(q).value, fit.query(q)
        assert abs(post.value - exact) < 0.006, q
        assert post.interval[1] - post.interval[0] < 0.03, q


def test_latent_variable_is_summed_out_exactly():
    # x <- u -> y with u never observed: the fit must reproduce the observed joint of (x, y).
    true = cd.model("""model lat {
        latent u ~ Bernoulli(0.3)
        x ~ Bernoulli(if u then 0.9 else 0.2)
        y ~ Bernoulli(if u then 0.8 else 0.1)
    }""")
    data = true.sample(6000, seed=2)
    del data["u"]
    m = cd.model("""model lat {
        param pu ~ Beta(1, 1)
        latent u ~ Bernoulli(pu)
        param px[u] ~ Beta(1, 1)
        x ~ Bernoulli(px[u])
        param py[u] ~ Beta(1, 1)
        y ~ Bernoulli(py[u])
    }""")
    # A two-component mixture is symmetric under relabelling u; one chain stays in one labelling.
    fit = m.fit(data, chains=1, draws=600, warmup=400)
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    for xv in (0, 1):
        for yv in (0, 1):
            emp = np.mean((x == xv) & (y == yv))
            post = fit.query(f"P(x = {xv}, y = {yv})")
            assert abs(post.value - emp) < 0.02


def test_missing_values_are_unobserved_not_dropped():
    true = cd.model(KIDNEY_TRUE)
    data = {k: np.array(v, dtype=float) for k, v in true.sample(5000, seed=9).items()}
    rng = np.random.default_rng(0)
    size_missing = rng.random(5000) < 0.3
    data["size"][size_missing] = np.nan
    fit = cd.model(KIDNEY_BAYES).fit(data, **FAST)
    for name, true_v in TRUTH.items():
        d = fit.posterior[name]
        assert np.all(np.abs(d.mean(0) - np.asarray(true_v)) < 4 * d.std(0) + 1e-3), name
    # Dropping the incomplete rows instead would widen p_large's posterior: rows missing only
    # size still inform p_treat and p_ok through the mixture.
    assert fit.program.shape == "counts"


def test_continuous_missing_values_are_imputed():
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    y = 1.0 + 2.0 * x + rng.normal(0, 0.3, 400)
    y_obs = y.copy()
    y_obs[::8] = np.nan
    m = cd.model("""model reg {
        param a ~ Normal(0, 10)
        param b ~ Normal(0, 10)
        param s ~ HalfNormal(2)
        x ~ Normal(0, 1)
        y ~ Normal(a + b * x, s)
    }""")
    fit = m.fit({"x": x, "y": y_obs}, **FAST)
    keep = ~np.isnan(y_obs)
    b = np.polyfit(x[keep], y_obs[keep], 1)[0]
    assert abs(fit.posterior["b"].mean() - b) < 0.02
    # The 50 missing y are latent sites, imputed around a + b * x.
    assert fit.program.shape == "plate"


def test_posterior_query_is_one_vectorised_call(confounded_fit):
    fit, _ = confounded_fit
    programs = fit.compilations
    with jax_traces() as first:
        fit.query("P(y = 0 | do(x = 1), z = 1)")
    with jax_traces() as again:
        fit.query("P(y = 1 | do(x = 0), z = 0)")  # new values: no new compilation
    assert first and not again and fit.compilations == programs + 1
    assert fit.query("P(y = 1 | do(x = 1))").draws.shape == (600,)


def test_do_and_sample_keep_the_posterior(confounded_fit):
    fit, _ = confounded_fit
    a = fit.do(x=1).query("P(y = 1)")
    b = fit.query("P(y = 1 | do(x = 1))")
    assert abs(a.value - b.value) < 1e-12 and a.interval == b.interval
    s = fit.sample(8_000, seed=0)
    # Predictive draws reproduce the fitted marginal of y.
    assert abs(s["y"].mean() - fit.query("P(y = 1)").value) < 0.025


# ------------------------------------------------------------------ diagnostics and ArviZ
def test_short_chains_warn_about_diagnostics():
    m = cd.model(CONFOUNDED_BAYES)
    data = cd.model(CONFOUNDED_TRUE).sample(300, seed=2)
    with pytest.warns(cd.FitWarning, match="effective sample size"):
        fit = m.fit(data, chains=2, draws=20, warmup=10)
    assert fit.diagnostics["warnings"]


def test_summary_and_arviz(kidney_fit):
    fit, _ = kidney_fit
    text = fit.summary()
    assert "p_ok[treatment=1, size=0]" in text and "R-hat" in text
    idata = fit.arviz()
    post = idata.posterior
    assert post["p_ok"].shape == (2, 300, 2, 2)
    assert list(post["p_ok"].dims) == ["chain", "draw", "treatment", "size"]
    np.testing.assert_allclose(post["p_ok"].values.reshape(600, 2, 2), fit.posterior["p_ok"])


# ------------------------------------------------------------------ the language: fit statements
def test_fit_statement_in_a_file_and_the_cli(tmp_path, capsys):
    data = cd.model(CONFOUNDED_TRUE).sample(2000, seed=5)
    import pandas as pd

    pd.DataFrame(data).to_csv(tmp_path / "conf.csv", index=False)
    (tmp_path / "conf.causal").write_text(CONFOUNDED_BAYES + """
fit conf to "conf.csv", chains = 2, draws = 300, warmup = 200
ATE(x -> y)
P(y = 1 | do(x = 1))
""")
    m = cd.load(tmp_path / "conf.causal")
    fit_row, ate, p = m.run()
    assert "NUTS" in fit_row.method and fit_row.value == 2000
    assert ate.interval[0] < 0.2 < ate.interval[1]
    from causaldsl.cli import main

    assert main(["run", str(tmp_path / "conf.causal")]) == 0
    out = capsys.readouterr().out
    assert "fit conf to \"conf.csv\"" in out and "95% CI" in out


# ------------------------------------------------------------------ bad input
BAD_DATA = [
    ({"size": [0, 1], "treatment": [1, 0]}, "column 'recovery' is missing", "declare it: latent"),
    ({"size": [0, "big"], "treatment": [1, 0], "recovery": [1, 1]}, "holds text ('big')", "recode"),
    ({"size": [0, 2], "treatment": [1, 0], "recovery": [1, 1]}, "row 2 of the data: 2 is not a value of 'size'",
     "takes 0, 1"),
    ({"size": [0, 1], "treatment": [1, 0], "recovery": [1, 1, 0]}, "different lengths", None),
    ({"size": [], "treatment": [], "recovery": []}, "has no rows", None),
]


@pytest.mark.parametrize("data,message,hint", BAD_DATA)
def test_bad_data_gives_a_clear_error(data, message, hint):
    m = cd.model(KIDNEY_BAYES)
    with pytest.raises(cd.DataError) as e:
        m.fit(data, **FAST)
    assert message in str(e.value)
    if hint:
        assert hint in e.value.hint


def test_unknown_level_names_the_column_row_and_levels():
    m = cd.model("""model w {
        param p ~ Beta(1, 1)
        weather ~ Categorical(sunny: 0.5, rainy: 0.5)
        wet ~ Bernoulli(if weather == rainy then p else 0.1)
    }""")
    with pytest.raises(cd.DataError) as e:
        m.fit({"weather": ["sunny", "rainy", "snowy"], "wet": [0, 1, 1]}, **FAST)
    assert "column 'weather', row 3" in str(e.value) and "'snowy' is not a level" in str(e.value)
    assert "sunny, rainy" in e.value.hint
    assert "weather ~ Categorical" in str(e.value)  # the caret points at the variable's statement


def test_csv_errors_name_the_file_line(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1.5,2\n-1,3\n")
    m = cd.model("model m {\n param r ~ Gamma(2, 1)\n x ~ Exponential(r)\n y ~ Normal(x, 1)\n}")
    with pytest.raises(cd.DataError) as e:
        m.fit(tmp_path / "d.csv", **FAST)
    assert "row 2 of d.csv (line 3)" in str(e.value) and "impossible" in str(e.value)
    with pytest.raises(cd.DataError, match="no such data file"):
        m.fit(tmp_path / "missing.csv")


def test_model_errors_for_fitting():
    with pytest.raises(cd.FitError, match="no parameters to fit"):
        cd.model(CONFOUNDED_TRUE).fit({"z": [0], "x": [1], "y": [0]})
    m = cd.model("model m {\n param p ~ Normal(0, 1)\n x ~ Bernoulli(p)\n}")
    with pytest.raises(cd.ProbabilityError) as e:
        m.fit({"x": [0, 1, 1]}, **FAST)
    assert "Beta(1, 1)" in e.value.hint and e.value.line == 3
    det = cd.model("model m {\n param p ~ Beta(1, 1)\n x ~ Bernoulli(p)\n y := 1 - x\n}")
    with pytest.raises(cd.FitError, match="probability zero"):
        det.fit({"x": [0, 1], "y": [0, 0]}, **FAST)
    with pytest.raises(cd.MethodError, match="unknown fitting method"):
        det.fit({"x": [0, 1], "y": [1, 0]}, method="mh")


MODEL_ERRORS = [
    ("model m {\n param p ~ Bernoulli(0.5)\n x ~ Bernoulli(p)\n}", cd.DistributionError, "must be continuous"),
    ("model m {\n param p[x] ~ Beta(1, 1)\n x ~ Normal(0, 1)\n y ~ Bernoulli(p[x])\n}", cd.DomainError,
     "which is continuous"),
    ("model m {\n param p[x] ~ Beta(1, 1)\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(p)\n}", cd.CausalSyntaxError,
     "one value per level of x"),
    ("model m {\n param p[x] ~ Beta(1, 1)\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(q[x])\n}", cd.UnknownNameError,
     "unknown parameter 'q'"),
    ("model m {\n param p[x] ~ Beta(1, 1)\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(p[x, x])\n}", cd.CausalSyntaxError,
     "takes 1 index(es), got 2"),
    ("model m {\n param p[x] ~ Beta(1, 1)\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(p[x + 1])\n}", cd.DomainError,
     "index value 2 of 'p'"),
    ("model m {\n param x ~ Beta(1, 1)\n x ~ Bernoulli(0.5)\n}", cd.DuplicateDefinitionError, "defined twice"),
    ("model m {\n param p ~ Beta(1, y)\n y ~ Bernoulli(0.5)\n}", cd.CausalSyntaxError,
     "only numbers and parameters declared above"),
    ("model m {\n param p ~ Beta(1, 0)\n y ~ Bernoulli(p)\n}", cd.ProbabilityError, "invalid parameters for Beta"),
    ("model m {\n param p[z] ~ Beta(1, 1)\n y ~ Bernoulli(0.5)\n}", cd.UnknownNameError, "not a variable"),
    ("model m {\n param p ~ Beta(1, 1)\n y ~ Bernoulli(p)\n}\nfit n to \"d.csv\"", cd.UnknownNameError,
     "the model above it is 'm'"),
    ("model m {\n param p ~ Beta(1, 1)\n y ~ Bernoulli(p)\n}\nfit m to \"d.csv\", drawz = 3", cd.QueryError,
     "fit has no option 'drawz'"),
    ("model m {\n y ~ Bernoulli(0.5)\n}\nfit m to \"d.csv\"", cd.FitError, "no parameters to fit"),
]


@pytest.mark.parametrize("source,cls,message", MODEL_ERRORS)
def test_parameter_mistakes_are_clear_errors(source, cls, message):
    with pytest.raises(cls) as e:
        cd.program(source)
    assert message in str(e.value)
    assert e.value.line is not None and "^" in str(e.value)


def test_kidney_tutorial_matches_the_beta_closed_forms():
    # Independent Beta posteriors: E[ATE] = Σ_s E[P(s)] (E[p_A,s] - E[p_B,s]), each a ratio of counts.
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tutorials" / "kidney_bayes.causal"
    m = cd.load(path)
    fit = m.fit(path.parent / "kidney.csv", **FAST)
    counts = {("A", "small"): (81, 87), ("A", "large"): (192, 263), ("B", "small"): (234, 270),
              ("B", "large"): (55, 80)}
    mean = {k: (r + 1) / (n + 2) for k, (r, n) in counts.items()}
    p_size = {"small": (357 + 1) / (700 + 2), "large": (343 + 1) / (700 + 2)}
    ate = sum(p_size[s] * (mean["A", s] - mean["B", s]) for s in ("small", "large"))
    r = fit.query("ATE(treatment -> recovery, treat = A, control = B)")
    assert abs(r.value - ate) < 0.006
    assert r.interval[0] < 0 < r.interval[1]  # 700 patients cannot rule out no effect
    post = stats.beta(82, 7)
    d = fit.posterior["p_ok"][:, 0, 0]  # (A, small)
    assert abs(d.mean() - post.mean()) < 4 * post.std() / np.sqrt(200)


def test_discrete_latent_in_a_continuous_model_is_enumerated():
    # A latent class z shifts x and y; NumPyro sums z out (funsor), NUTS samples the rest.
    rng = np.random.default_rng(0)
    n = 1000
    z = rng.random(n) < 0.3
    x = rng.normal(np.where(z, 3.0, -1.0), 1.0)
    y = rng.normal(0.5 * x + np.where(z, 2.0, 0.0), 0.5)
    m = cd.model("""model mix {
        param pz ~ Beta(2, 5)
        latent z ~ Bernoulli(pz)
        param mu[z] ~ Normal(0, 5)
        x ~ Normal(mu[z], 1)
        param b ~ Normal(0, 5)
        param c ~ Normal(0, 5)
        y ~ Normal(b * x + c * z, 0.5)
    }""")
    fit = m.fit({"x": x, "y": y}, chains=1, draws=300, warmup=200)
    assert fit.program.enumerated
    for name, true in (("pz", 0.3), ("b", 0.5), ("c", 2.0)):
        d = fit.posterior[name]
        assert abs(d.mean() - true) < 4 * d.std(), name
    r = fit.query("E[y | do(x = 1)]")  # 0.5 * 1 + 2 * P(z = 1)
    assert r.interval[0] - 2 * r.stderr < 0.5 + 2 * 0.3 < r.interval[1] + 2 * r.stderr


def test_svi_with_minibatches():
    rng = np.random.default_rng(12)
    x = rng.normal(size=20_000)
    y = 0.5 + 1.25 * x + rng.normal(0, 0.4, 20_000)
    m = cd.model("""model reg {
        param a ~ Normal(0, 10)
        param b ~ Normal(0, 10)
        param s ~ HalfNormal(2)
        x ~ Normal(0, 1)
        y ~ Normal(a + b * x, s)
    }""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.FitWarning)  # a subsampled loss is noisy by design
        fit = m.fit({"x": x, "y": y}, method="svi", steps=2000, batch_size=500, draws=300)
    assert abs(fit.posterior["b"].mean() - 1.25) < 0.03
    assert abs(fit.posterior["s"].mean() - 0.4) < 0.03
    with pytest.raises(cd.MethodError, match="batch_size"):
        m.fit({"x": x, "y": y}, batch_size=500)


def test_a_prior_that_allows_a_negative_scale_is_caught_before_sampling():
    m = cd.model("""model reg {
        param s ~ Normal(0, 1)
        x ~ Normal(0, 1)
        y ~ Normal(x, s)
    }""")
    with pytest.raises(cd.ProbabilityError) as e:
        m.fit({"x": [0.1, 0.5], "y": [0.2, 0.4]}, **FAST)
    assert e.value.line == 4 and "HalfNormal(1)" in e.value.hint


@pytest.mark.parametrize("prior, args", [
    ("Normal(1.5, 2)", (1.5, 2.0)), ("HalfNormal(2)", (2.0,)), ("LogNormal(0.2, 0.5)", (0.2, 0.5)),
    ("StudentT(5, 1, 2)", (5.0, 1.0, 2.0)), ("Uniform(-1, 3)", (-1.0, 3.0)), ("Exponential(4)", (4.0,)),
    ("Gamma(3, 2)", (3.0, 2.0)), ("Beta(2, 5)", (2.0, 5.0)),
])
def test_numpy_prior_draws_use_the_numpyro_parametrisation(prior, args):
    """The start check draws priors with NumPy: its means and variances must be NumPyro's."""
    from causaldsl.model.distributions import FAMILIES
    from causaldsl.bayes.fit import prior_draws_numpy

    m = cd.model(f"model m {{\n param t ~ {prior}\n x ~ Normal(t, 1)\n}}")
    draws = prior_draws_numpy(m.ir, 40_000, seed=1)["t"]
    d = FAMILIES[prior.split("(")[0]].numpyro(tuple(jnp.asarray(a) for a in args))
    mean, var = float(d.mean), float(d.variance)
    assert abs(draws.mean() - mean) < 5 * np.sqrt(var / draws.size), (draws.mean(), mean)
    assert abs(draws.var() / var - 1) < 0.1, (draws.var(), var)
