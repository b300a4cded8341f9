"""Posteriors you can see: every answer draws itself, fits carry ArviZ's groups, the fitted explorer
shows credible intervals and posterior histograms fast, and a notebook fit reports on ordinary output.

Numbers are checked against what is computed here independently: quantiles of the posterior draws,
closed forms per draw (a Bernoulli answer is its parameter), scipy's densities per row.
"""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from models import KIDNEY

FAST = dict(chains=2, draws=300, warmup=200, progress=False)

COIN = """model coin {
    param p ~ Beta(1, 1)
    x ~ Bernoulli(p)
}"""

REGRESSION = """model conf {
    param a ~ Normal(0, 5)
    param b ~ Normal(0, 5)
    param c ~ Normal(0, 5)
    param s ~ HalfNormal(2)
    z ~ Normal(0, 1)
    x ~ Normal(a * z, 1)
    y ~ Normal(b * x + c * z, s)
}"""


def _fit(source, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.FitWarning)  # short chains on purpose
        return cd.model(source).fit(data, **FAST)


@pytest.fixture(scope="module")
def coin():
    return _fit(COIN, {"x": [1] * 30 + [0] * 10})


@pytest.fixture(scope="module")
def kidney():
    data = cd.model("""model k {
        size ~ Bernoulli(0.4)
        treatment ~ Bernoulli(if size then 0.75 else 0.25)
        recovery ~ Bernoulli(table(treatment, size) {(0, 0): 0.87, (0, 1): 0.69, (1, 0): 0.93, (1, 1): 0.73})
    }""").sample(600, seed=3)
    return _fit(KIDNEY, data), data


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(5)
    n = 300
    z = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n)
    y = 1.5 * x + 2.0 * z + rng.normal(0, 0.5, n)
    data = {"x": x, "y": y, "z": z}
    return _fit(REGRESSION, data), data


def _attrs(svg: str, cls: str, *names: str) -> list[tuple]:
    """``names`` attributes (as floats where they are numbers) of each element of class ``cls``."""
    out = []
    for tag in re.findall(rf'<[a-z]+ class="{cls}"[^>]*>', svg):
        row = []
        if not all(f' {n}="' in tag for n in names):
            continue  # another chart's element of the same class
        for n in names:
            v = re.search(rf' {n}="([^"]*)"', tag).group(1)
            try:
                row.append(float(v))
            except ValueError:
                row.append(v)
        out.append(tuple(row))
    return out


# ------------------------------------------------------------------ a Result as a picture
def test_bar_heights_are_proportional_to_the_probabilities():
    m = cd.model("model m {\n x ~ Categorical(a: 0.2, b: 0.5, c: 0.3)\n}")
    r = m.query("P(x)")
    svg = r.svg()
    bars = _attrs(svg, "cdsl-bar", "data-level", "data-value", "height")
    assert [b[0] for b in bars] == ["a", "b", "c"]
    np.testing.assert_allclose([b[1] for b in bars], [0.2, 0.5, 0.3], atol=1e-6)
    ratios = [b[2] / b[1] for b in bars]
    np.testing.assert_allclose(ratios, ratios[0], rtol=0.01)  # heights rounded to 0.1 px


def test_the_credible_interval_drawn_is_the_quantiles_of_the_posterior_draws(coin):
    r = coin.query("P(x = 1)")
    # P(x = 1) given p is p itself: the answer's draws are the parameter's draws.
    p = coin.posterior["p"]
    np.testing.assert_allclose(r.draws, p, rtol=1e-12)
    svg = r.svg()
    ((lo, hi),) = _attrs(svg, "cdsl-interval", "data-lo", "data-hi")
    np.testing.assert_allclose([lo, hi], np.quantile(p, [0.025, 0.975]), rtol=1e-5)
    ((mark,),) = _attrs(svg, "cdsl-mark", "data-value")
    assert mark == pytest.approx(p.mean(), rel=1e-5)
    # the histogram is the draws' density: it integrates to 1 and peaks near the Beta(31, 11) mode
    (heights,) = re.findall(r'class="cdsl-density" data-heights="([^"]*)"', svg)
    dens = np.array([float(h) for h in heights.split(",")])
    edges = np.asarray(r.picture().edges)
    assert float((dens * np.diff(edges)).sum()) == pytest.approx(1.0, abs=1e-5)  # heights written to 6 digits
    peak = 0.5 * (edges[dens.argmax()] + edges[dens.argmax() + 1])
    assert abs(peak - 30 / 40) < 0.06
    # and the posterior is the conjugate one: Beta(31, 11)
    assert lo == pytest.approx(stats.beta(31, 11).ppf(0.025), abs=0.03)
    assert hi == pytest.approx(stats.beta(31, 11).ppf(0.975), abs=0.03)


def test_a_distribution_over_the_posterior_has_a_whisker_per_level(kidney):
    fit, _ = kidney
    r = fit.query("P(recovery | do(treatment = 1))")
    ivs = _attrs(r.svg(), "cdsl-interval", "data-level", "data-lo", "data-hi")
    assert [i[0] for i in ivs] == [0.0, 1.0]
    for level, lo, hi in ivs:
        d = r.draws[int(level)]
        np.testing.assert_allclose([lo, hi], np.quantile(d, [0.025, 0.975]), rtol=1e-5)


def test_monte_carlo_and_exact_scalars_are_drawn():
    m = cd.model("model m {\n x ~ Normal(0, 1)\n y ~ Normal(2 * x, 1)\n}")
    r = m.query("E[y | do(x = 1)]", samples=4000, method="monte-carlo")  # exact (Gaussian) unasked
    ((lo, hi),) = _attrs(r.svg(), "cdsl-interval", "data-lo", "data-hi")
    assert lo == pytest.approx(r.value - 1.96 * r.stderr, rel=1e-5) and hi == pytest.approx(r.value + 1.96 * r.stderr, rel=1e-5)
    e = cd.model("model m {\n x ~ Bernoulli(0.3)\n}").query("P(x = 1)")
    bars = _attrs(e.svg(), "cdsl-bar", "data-level", "data-value")
    assert bars == [("x = 1", 0.3), ("not x = 1", 0.7)]


def test_notebook_bundle_keeps_the_text_and_adds_a_theme_aware_picture(coin):
    r = coin.query("P(x = 1)")
    bundle = r._repr_mimebundle_()
    assert bundle["text/plain"] == str(r)
    page = bundle["text/html"]
    assert "<svg" in page and html_escape(r.query) in page
    svg = r.svg()
    # text and rules follow the theme: currentColor under JupyterLab's font colour
    assert 'style="color: var(--jp-ui-font-color1' in svg
    assert not re.search(r'fill="#(222|333|555)"', svg)


def html_escape(s):
    import html

    return html.escape(s)


def test_plot_returns_a_matplotlib_figure_with_the_same_numbers(coin):
    from matplotlib.figure import Figure

    r = coin.query("P(x = 1)")
    fig = r.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() == "posterior mean"]
    assert float(lines[0].get_xdata()[0]) == pytest.approx(r.value)
    span = [p for p in ax.patches if p.get_label() == "interval"][0]
    np.testing.assert_allclose([span.get_x(), span.get_x() + span.get_width()], r.interval, rtol=1e-9)
    bars = cd.model("model m {\n x ~ Categorical(a: 0.2, b: 0.8)\n}").query("P(x)").plot().axes[0]
    np.testing.assert_allclose([b.get_height() for b in bars.patches], [0.2, 0.8])


# ------------------------------------------------------------------ ArviZ
def test_arviz_has_sample_stats_log_likelihood_observed_data_and_prior(kidney):
    import arviz as az

    fit, data = kidney
    idata = fit.arviz(prior=True)
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "prior"} <= set(idata.groups())
    ss = idata.sample_stats
    for name in ("diverging", "energy", "tree_depth", "n_steps", "step_size", "acceptance_rate", "lp"):
        assert ss[name].shape == (2, 300), name
    assert int(ss["diverging"].sum()) == fit.diagnostics["divergences"]
    assert (ss["tree_depth"].values == np.floor(np.log2(ss["n_steps"].values)) + 1).all()
    assert np.all(ss["step_size"].values > 0) and np.all((ss["acceptance_rate"].values >= 0) & (ss["acceptance_rate"].values <= 1))
    ll = idata.log_likelihood["joint"]
    assert ll.shape == (2, 300, 600)
    np.testing.assert_array_equal(idata.observed_data["recovery"].values, np.asarray(data["recovery"], float))
    # one row by hand: log P(size) + log P(treatment | size) + log P(recovery | treatment, size)
    c, d, row = 1, 17, 5
    s, t, y = (int(data[k][row]) for k in ("size", "treatment", "recovery"))
    post = idata.posterior
    pl = float(post["p_large"][c, d])
    pt = float(post["p_treat"][c, d, s])
    po = float(post["p_ok"][c, d, t, s])
    hand = np.log(pl if s else 1 - pl) + np.log(pt if t else 1 - pt) + np.log(po if y else 1 - po)
    assert float(ll[c, d, row]) == pytest.approx(hand, rel=1e-10)
    # summed over rows, the pointwise values are the data's log likelihood under that draw
    loo, waic = az.loo(idata), az.waic(idata)
    assert np.isfinite(loo.elpd_loo) and np.isfinite(waic.elpd_waic) and np.isfinite(loo.p_loo)
    assert loo.elpd_loo == pytest.approx(float(ll.values.reshape(600, 600).mean(0).sum()), abs=20)
    # the prior group: Beta(1, 1) draws, one chain as long as the posterior
    prior = idata.prior["p_large"].values
    assert prior.shape == (1, 600) and abs(prior.mean() - 0.5) < 0.06 and abs(prior.var() - 1 / 12) < 0.02


def test_pointwise_log_likelihood_of_a_continuous_model_is_the_normal_density(regression):
    import arviz as az

    fit, data = regression
    idata = fit.arviz()
    ll = idata.log_likelihood["joint"]
    assert ll.shape == (2, 300, 300)
    c, d, row = 0, 123, 42
    p = {k: float(idata.posterior[k][c, d]) for k in ("a", "b", "c", "s")}
    x, y, z = (data[k][row] for k in ("x", "y", "z"))
    hand = (stats.norm.logpdf(z, 0, 1) + stats.norm.logpdf(x, p["a"] * z, 1)
            + stats.norm.logpdf(y, p["b"] * x + p["c"] * z, p["s"]))
    assert float(ll[c, d, row]) == pytest.approx(hand, rel=1e-9)
    assert np.isfinite(az.loo(idata).elpd_loo) and np.isfinite(az.waic(idata).elpd_waic)
    assert "prior" not in idata.groups()


def test_fit_plot_uses_arviz(kidney):
    import matplotlib.pyplot as plt

    fit, _ = kidney
    axes = np.ravel(fit.plot())
    # one panel per parameter entry: p_large, p_treat[2], p_ok[2, 2]
    assert len([a for a in axes if a.has_data()]) == 7
    assert {a.get_title().split("\n")[0] for a in axes if a.has_data()} >= {"p_large"}
    trace = fit.plot("trace", var_names=["p_large"])
    assert np.shape(trace) == (1, 2)
    with pytest.raises(cd.CausalDSLError, match="unknown plot"):
        fit.plot("pairs")
    plt.close("all")  # ArviZ draws through pyplot


# ------------------------------------------------------------------ the fitted explorer
def test_fitted_explorer_discrete_intervals_match_a_per_draw_computation(kidney):
    fit, _ = kidney
    ex = fit.explore(outcome="recovery")
    ex.click("treatment")
    ex.set("treatment", 1)
    a = ex.answers["doing"]
    # P(recovery = 1 | do(treatment = 1)) per draw: Σ_s P(s) p_ok[1, s]
    th = fit.posterior
    per_draw = (1 - th["p_large"]) * th["p_ok"][:, 1, 0] + th["p_large"] * th["p_ok"][:, 1, 1]
    np.testing.assert_allclose(a["intervals"]["1"], np.quantile(per_draw, [0.025, 0.975]), rtol=1e-9)
    assert a["dist"]["1"] == pytest.approx(per_draw.mean(), rel=1e-9)
    chart = ex.chart.value
    ivs = _attrs(chart, "cdsl-interval", "data-series", "data-level", "data-lo", "data-hi")
    doing = [i for i in ivs if i[0] == "doing" and i[1] == 1.0]
    np.testing.assert_allclose(doing[0][2:], np.quantile(per_draw, [0.025, 0.975]), rtol=1e-5)
    assert 'posterior of P(recovery = 1)' in chart and chart.count('class="cdsl-hist"') >= 2
    lo, hi = np.quantile(per_draw, [0.025, 0.975])
    assert f"1: {per_draw.mean():.4f} [{lo:.4f}, {hi:.4f}]" in ex.table.value  # the table prints it too


def test_fitted_explorer_continuous_posterior_is_vectorised_and_fast(regression):
    fit, _ = regression
    ex = fit.explore(outcome="y")
    ex.click("x")
    times = []
    for v in (0.5, 1.0, 1.5, 2.0, 1.0, 0.5):
        t0 = time.perf_counter()
        ex.set("x", v)
        times.append(1000 * (time.perf_counter() - t0))
    assert min(times) < 100, times  # ms per slider step (0.3-0.8 s before)
    a = ex.answers["doing"]
    # E[y | do(x = 0.5)] per draw is 0.5 b (z has mean 0): over the draws the explorer used
    from causaldsl.notebook.explore import POSTERIOR_THETA

    b = fit.posterior["b"]
    idx = np.linspace(0, len(b) - 1, POSTERIOR_THETA).round().astype(int)
    truth = 0.5 * b[idx]
    assert len(a["draws"]) == POSTERIOR_THETA
    lo, hi = np.quantile(truth, [0.025, 0.975])
    # common random numbers: every draw shares one Monte Carlo error (its s.e.), so the ends move together
    assert abs(a["interval"][0] - lo) < 4 * a["stderr"] and abs(a["interval"][1] - hi) < 4 * a["stderr"]
    np.testing.assert_allclose(a["interval"], np.quantile(a["draws"], [0.025, 0.975]))
    np.testing.assert_allclose(a["mass"].sum(), 1.0, rtol=1e-9)
    chart = ex.chart.value
    assert "posterior predictive" in chart and "posterior of E[y]" in chart
    ivs = {i[0]: i[1:] for i in _attrs(chart, "cdsl-interval", "data-series", "data-lo", "data-hi")}
    np.testing.assert_allclose(ivs["doing"], a["interval"], rtol=1e-5)
    assert ex.compilations <= 4  # one program per structure, not one per draw or per step


# ------------------------------------------------------------------ progress in a notebook
def test_a_notebook_fit_reports_on_ordinary_output_not_stderr(monkeypatch, capfd):
    import causaldsl.bayes.fit as F

    shown = []
    monkeypatch.setattr(F, "_in_kernel", lambda: True)
    monkeypatch.setattr(F.NotebookStatus, "show", lambda self, text: shown.append(text))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.FitWarning)
        cd.model(COIN).fit({"x": [1, 0, 1]}, chains=1, draws=50, warmup=50, progress=True)
    assert capfd.readouterr().err == ""  # no tqdm bar on stderr
    assert shown[0].startswith("fitting coin to 3 rows: NUTS, 1 chain(s) x (50 warmup + 50 draws)")
    assert shown[1].startswith("fitted coin in ") and "divergences" in shown[1]


def test_log_likelihood_is_left_out_where_it_cannot_be_computed_pointwise():
    rng = np.random.default_rng(2)
    x = rng.normal(size=100)
    y = 2 * x + rng.normal(size=100)
    y[:10] = np.nan  # missing cells: SVI keeps no draws of them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.FitWarning)
        fit = cd.model("model m {\n param b ~ Normal(0, 5)\n x ~ Normal(0, 1)\n y ~ Normal(b * x, 1)\n}").fit(
            {"x": x, "y": y}, method="svi", steps=300, draws=100, progress=False)
    idata = fit.arviz()
    assert "log_likelihood" not in idata.groups() and "posterior" in idata.groups()
    assert "sample_stats" not in idata.groups()  # SVI has no sampler statistics
