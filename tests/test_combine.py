"""Questions that combine: arithmetic between queries, CDE, Var, Q, RR and OR.

Every number is checked against an answer computed here, independently of the engines: exact
enumeration of the discrete models (written out below), closed forms of linear-Gaussian models
(scipy.stats.norm for their quantiles), and, for the standard errors of Monte Carlo answers,
the spread of the answers over repeated seeds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from models import GAUSS

# The issue's check: Z ~ Bernoulli(0.4), X ~ Bernoulli(if Z then 0.7 else 0.2),
# Y ~ Bernoulli(0.1 + 0.5 X + 0.3 Z)
ZXY = """model zxy {
    Z ~ Bernoulli(0.4)
    X ~ Bernoulli(if Z then 0.7 else 0.2)
    Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)
}"""


def _zxy_joint():
    """Every (z, x, y) with its probability, by the chain rule of the model."""
    for z, x, y in itertools.product((0, 1), repeat=3):
        pz = 0.4 if z else 0.6
        px1 = 0.7 if z else 0.2
        py1 = 0.1 + 0.5 * x + 0.3 * z
        yield (z, x, y), pz * (px1 if x else 1 - px1) * (py1 if y else 1 - py1)


def _p_y_given_x(x: int) -> float:
    joint = dict(_zxy_joint())
    num = sum(p for (z, xx, y), p in joint.items() if xx == x and y == 1)
    return num / sum(p for (z, xx, y), p in joint.items() if xx == x)


def _p_y_do_x(x: int) -> float:
    """Truncated factorisation: sum over z of P(z) P(Y = 1 | x, z)."""
    return sum((0.4 if z else 0.6) * (0.1 + 0.5 * x + 0.3 * z) for z in (0, 1))


@pytest.fixture(scope="module")
def zxy():
    return cd.model(ZXY)


# ---------------------------------------------------------------------- arithmetic, exact
def test_difference_of_probabilities_is_the_issues_065_exactly(zxy):
    r = zxy.query("P(Y = 1 | X = 1) - P(Y = 1 | X = 0)")
    # by hand: P(Z = 1 | X = 1) = 0.28 / 0.4 = 0.7, so P(Y = 1 | X = 1) = 0.6 + 0.21 = 0.81;
    # P(Z = 1 | X = 0) = 0.12 / 0.6 = 0.2, so P(Y = 1 | X = 0) = 0.1 + 0.06 = 0.16
    assert _p_y_given_x(1) == pytest.approx(0.81, abs=1e-12) and _p_y_given_x(0) == pytest.approx(0.16, abs=1e-12)
    assert r.value == pytest.approx(0.65, abs=1e-12)
    assert r.stderr is None and r.method == "exact"
    assert [p.value for p in r.parts] == pytest.approx([0.81, 0.16], abs=1e-12)
    assert str(r) == "P(Y = 1 | X = 1) - P(Y = 1 | X = 0) = 0.65  [exact]"


def test_risk_ratio_written_out_and_named(zxy):
    want = _p_y_do_x(1) / _p_y_do_x(0)  # 0.72 / 0.22
    written = zxy.query("P(Y = 1 | do(X = 1)) / P(Y = 1 | do(X = 0))")
    named = zxy.query("RR(X -> Y)")
    assert written.value == pytest.approx(want, abs=1e-12) and named.value == pytest.approx(want, abs=1e-12)
    seen = zxy.query("RR(X -> Y, kind = observational)")
    assert seen.value == pytest.approx(_p_y_given_x(1) / _p_y_given_x(0), abs=1e-12)  # 0.81 / 0.16


def test_odds_ratio_under_do_and_as_seen(zxy):
    def odds(p):
        return p / (1 - p)

    assert zxy.query("OR(X -> Y)").value == pytest.approx(odds(_p_y_do_x(1)) / odds(_p_y_do_x(0)), abs=1e-12)
    assert zxy.query("OR(X -> Y, kind = observational)").value == pytest.approx(
        odds(_p_y_given_x(1)) / odds(_p_y_given_x(0)), abs=1e-12)
    # treat= and control= swap the comparison: the ratio inverts
    assert zxy.query("OR(X -> Y, treat = 0, control = 1)").value == pytest.approx(
        odds(_p_y_do_x(0)) / odds(_p_y_do_x(1)), abs=1e-12)


def test_sums_products_constants_and_parentheses(zxy):
    joint = dict(_zxy_joint())
    e_y = sum(p for (z, x, y), p in joint.items() if y == 1)
    e_x = sum(p for (z, x, y), p in joint.items() if x == 1)
    ate = _p_y_do_x(1) - _p_y_do_x(0)
    r = zxy.query("2 * (E[Y] + 1) - ATE(X -> Y) / 4 + -E[X] * E[Y]")
    assert r.value == pytest.approx(2 * (e_y + 1) - ate / 4 - e_x * e_y, abs=1e-12)
    assert zxy.query("(P(Y = 1) - 0.5) * 10").value == pytest.approx((e_y - 0.5) * 10, abs=1e-12)


def test_variance_and_quantile_of_a_discrete_model_by_enumeration(zxy):
    joint = dict(_zxy_joint())
    # Var[X + Y + Z | Z = 1] from the joint, conditioned by hand
    cond = {k: p for k, p in joint.items() if k[0] == 1}
    total = sum(cond.values())
    s = {k: sum(k) for k in cond}
    mean = sum(s[k] * p for k, p in cond.items()) / total
    var = sum((s[k] - mean) ** 2 * p for k, p in cond.items()) / total
    assert zxy.query("Var[X + Y + Z | Z = 1]").value == pytest.approx(var, abs=1e-12)
    assert zxy.query("Var[Y | X = 1]").value == pytest.approx(0.81 * 0.19, abs=1e-12)
    # the quantiles of X + Y + Z given Z = 1: the smallest value whose CDF reaches the level
    values = sorted(set(s.values()))
    cdf = np.cumsum([sum(p for k, p in cond.items() if s[k] == v) / total for v in values])
    for level in (0.05, 0.3, 0.5, 0.9):
        want = values[int(np.searchsorted(cdf, level))]
        r = zxy.query(f"Q[X + Y + Z, {level} | Z = 1]")
        assert r.value == want and r.stderr is None, level


def test_exact_quantile_of_a_binomial_is_scipys():
    m = cd.model("model b {\n  n ~ Binomial(20, 0.3)\n  k ~ Binomial(n, 0.5)\n}")
    for level in (0.1, 0.25, 0.5, 0.75, 0.975):
        assert m.query(f"Q[n, {level}]").value == stats.binom.ppf(level, 20, 0.3)
    # under do, k ~ Binomial(12, 0.5)
    assert m.query("Q[k, 0.8 | do(n = 12)]").value == stats.binom.ppf(0.8, 12, 0.5)


# ---------------------------------------------------------------------- CDE
MEDIATION = """model med {
    W ~ Bernoulli(0.3)
    X ~ Bernoulli(if W then 0.8 else 0.3)
    M ~ Bernoulli(0.2 + 0.5 * X + 0.2 * W)
    Y ~ Bernoulli(0.05 + 0.2 * X + 0.4 * M + 0.15 * X * M + 0.1 * W)
}"""


def _p_y_do_xm(x: int, m: int) -> float:
    """E[Y | do(X = x, M = m)]: W keeps its distribution, X and M are held."""
    return sum((0.3 if w else 0.7) * (0.05 + 0.2 * x + 0.4 * m + 0.15 * x * m + 0.1 * w) for w in (0, 1))


def test_controlled_direct_effect_by_enumeration():
    m = cd.model(MEDIATION)
    for held in (0, 1):
        want = _p_y_do_xm(1, held) - _p_y_do_xm(0, held)  # 0.2 + 0.15 * held
        r = m.query(f"CDE(X -> Y via M, M = {held})")
        assert r.value == pytest.approx(want, abs=1e-12) and r.stderr is None
    assert m.query("CDE(X -> Y via M, M = 1, treat = 0, control = 1)").value == pytest.approx(-0.35, abs=1e-12)
    # the CDE differs from the ATE, which also runs through M (and is confounded by W only as seen)
    ate = m.query("ATE(X -> Y)").value
    assert abs(ate - m.query("CDE(X -> Y via M, M = 0)").value) > 0.05


def test_controlled_direct_effect_in_a_linear_gaussian_model_is_paired():
    m = cd.model("""model g {
        X ~ Normal(0, 1)
        M ~ Normal(X, 1)
        Y ~ Normal(2 * X + 3 * M + X * M, 1)
    }""")
    # E[Y | do(X = 1, M = m)] - E[Y | do(X = 0, M = m)] = 2 + m, the noise of Y cancels draw by draw
    r = m.query("CDE(X -> Y via M, M = 1.5, treat = 1, control = 0)", samples=20_000)
    assert r.value == pytest.approx(3.5, abs=1e-9) and r.stderr == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------------- linear-Gaussian closed forms
@pytest.fixture(scope="module")
def gauss():
    return cd.model(GAUSS)


def test_variance_under_do_and_as_seen_is_the_closed_form(gauss):
    # do(X = 1): Y = 2 + Z + e, Var = 1 + 1; as seen: Y = 3 Z + 2 e_X + e, Var = 9 + 4 + 1
    for q, want in (("Var[Y | do(X = 1)]", 2.0), ("Var[Y]", 14.0)):
        r = gauss.query(q, samples=100_000)
        assert r.stderr > 0 and abs(r.value - want) < 4 * r.stderr, (q, r)
        # the standard error of a sample variance of a Normal: Var * sqrt(2 / n)
        assert r.stderr == pytest.approx(want * math.sqrt(2 / 100_000), rel=0.1)


def test_quantiles_are_the_normal_quantiles(gauss):
    for q, mean, sd, level in (("Q[Y, 0.9 | do(X = 1)]", 2.0, math.sqrt(2), 0.9),
                               ("Q[Y, 0.25]", 0.0, math.sqrt(14), 0.25),
                               ("Q[Y, 0.5 | do(X = -1)]", -2.0, math.sqrt(2), 0.5)):
        r = gauss.query(q, samples=100_000)
        want = stats.norm.ppf(level, loc=mean, scale=sd)
        assert abs(r.value - want) < 4 * r.stderr, (q, r, want)
        # the asymptotic standard error of a sample quantile: sqrt(p (1 - p) / n) / f(q)
        se = math.sqrt(level * (1 - level) / 100_000) / stats.norm.pdf(want, loc=mean, scale=sd)
        assert r.stderr == pytest.approx(se, rel=0.25), (q, r.stderr, se)


def test_differences_with_evidence_are_exact_where_gaussian(gauss):
    # E[Y | X = x] = 2 x + E[Z | X = x] = 2.5 x: Gaussian conditioning answers each part exactly
    r = gauss.query("E[Y | X = 1] - E[Y | X = 0]")
    assert r.value == pytest.approx(2.5, abs=1e-9) and r.stderr is None


def test_differences_over_events_by_monte_carlo(gauss):
    # X ~ N(0, 2): E[X | X > 1] and E[X | X < 0] are truncated-normal means; E[Y | X] = 2.5 X
    s = math.sqrt(2)
    above = s * stats.norm.pdf(1 / s) / stats.norm.sf(1 / s)
    below = -s * stats.norm.pdf(0) / stats.norm.cdf(0)
    r = gauss.query("E[Y | X > 1] - E[Y | X < 0]", samples=100_000)
    assert abs(r.value - 2.5 * (above - below)) < 4 * r.stderr


# ---------------------------------------------------------------------- standard errors over seeds
def _spread(m, q, seeds, samples):
    rs = [m.query(q, seed=s, samples=samples) for s in seeds]
    values = np.array([r.value for r in rs])
    return values, np.array([r.stderr for r in rs])


def test_the_error_of_a_paired_difference_is_the_spread_over_seeds():
    # Under do, Y[X=1] - Y[X=0] = Z in every draw (the noise of Y is shared): sd 1, not the
    # sqrt(Var Y1 + Var Y0) = sqrt(5 + 2) of independent draws
    m = cd.model("""model p {
        Z ~ Normal(0, 1)
        X ~ Bernoulli(0.5)
        Y ~ Normal(X * Z + Z, 1)
    }""")
    n = 4_000
    values, ses = _spread(m, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", range(40), n)
    empirical = values.std(ddof=1)
    assert ses.mean() == pytest.approx(1 / math.sqrt(n), rel=0.05)
    assert ses.mean() == pytest.approx(empirical, rel=0.3)  # the sd of 40 answers is itself ±11%
    assert empirical < 0.6 * math.sqrt(7 / n)  # and well below the error of independent draws
    assert abs(values.mean()) < 4 * empirical / math.sqrt(len(values))  # E[Z] = 0


def test_the_delta_method_error_of_a_ratio_is_the_spread_over_seeds():
    m = cd.model("""model r {
        Z ~ Normal(0, 1)
        X ~ Bernoulli(0.5)
        Y ~ Bernoulli(sigmoid(Z + X - 1))
    }""")
    n = 4_000
    values, ses = _spread(m, "RR(X -> Y)", range(40), n)
    assert ses.mean() == pytest.approx(values.std(ddof=1), rel=0.3)
    # and the answer: P(Y = 1 | do(X = x)) = E[sigmoid(Z + x - 1)], by quadrature
    z = np.linspace(-9, 9, 20_001)
    w = stats.norm.pdf(z) * (z[1] - z[0])

    def p(x):
        return float(np.sum(w / (1 + np.exp(-(z + x - 1)))))

    assert abs(values.mean() - p(1) / p(0)) < 4 * values.std(ddof=1) / math.sqrt(len(values))


def test_the_error_of_a_difference_of_weighted_parts_is_the_spread_over_seeds(gauss):
    # both parts condition on an event (likelihood weighting), on the same draws
    values, ses = _spread(gauss, "E[Y | X > 1] - E[Y | X < 0]", range(40), 4_000)
    assert ses.mean() == pytest.approx(values.std(ddof=1), rel=0.3)


def test_the_error_of_a_quantile_is_the_spread_over_seeds(gauss):
    n = 4_000
    values, ses = _spread(gauss, "Q[Y, 0.9 | do(X = 1)]", range(40), n)
    assert ses.mean() == pytest.approx(values.std(ddof=1), rel=0.3)


def test_a_part_answered_exactly_adds_no_error():
    m = cd.model("model m {\n  b ~ Bernoulli(0.3)\n  y ~ Normal(2 * b, 1)\n}")
    r = m.query("E[y] - P(b = 1)", samples=50_000)
    # E[y] = 0.6 by Monte Carlo, P(b = 1) exactly: the error is E[y]'s alone
    exact_part, mc_part = r.parts[1], r.parts[0]
    assert exact_part.value == pytest.approx(0.3, abs=1e-12) and exact_part.stderr is None
    assert r.stderr == pytest.approx(mc_part.stderr, rel=1e-9)
    assert abs(r.value - 0.3) < 4 * r.stderr


# ---------------------------------------------------------------------- errors, faces
def test_division_by_a_zero_probability_is_an_error_not_inf():
    m = cd.model("model z {\n  x ~ Bernoulli(0.5)\n  y := 1 - x\n}")
    with pytest.raises(cd.QueryError) as info:
        m.query("P(x = 1) / P(y = 1 | x = 1)")
    assert "division by zero" in info.value.message and info.value.column == 12
    g = cd.model(GAUSS)
    with pytest.raises(cd.QueryError) as info:  # the same draws: a difference that is exactly 0
        g.query("E[Y] / (E[X] - E[X])", samples=1000)
    assert "division by zero" in info.value.message and info.value.column == 8


def test_cli_runs_a_file_of_questions_that_combine(tmp_path, capsys):
    from causaldsl.cli import main

    f = tmp_path / "combine.causal"
    f.write_text(ZXY + "\nP(Y = 1 | X = 1) - P(Y = 1 | X = 0)\nRR(X -> Y)\nQ[Y, 0.5 | X = 0]\n")
    assert main(["run", str(f)]) == 0
    out = capsys.readouterr().out
    assert "P(Y = 1 | X = 1) - P(Y = 1 | X = 0)" in out and "0.65" in out
    assert "RR(X -> Y)" in out and f"{0.72 / 0.22:.6g}" in out
    assert main(["check", str(f)]) == 0


def test_a_notebook_cell_answers_them(shell):
    r = shell.run_cell("%%causal\n" + ZXY + "\nP(Y = 1 | X = 1) - P(Y = 1 | X = 0)\nVar[Y | X = 1]\n",
                       store_history=False)
    assert r.success, r.error_in_exec
    text = r.result._repr_mimebundle_()["text/plain"]
    assert "0.65" in text and f"{0.81 * 0.19:.6g}" in text
    one = shell.user_ns["zxy"].query("RR(X -> Y)")
    html = one._repr_html_()
    assert "cdsl-parts" in html and "P(Y = 1 | do(X = 1))" in html and "0.72" in html


def test_parsed_queries_are_accepted_by_query(zxy):
    from causaldsl.language.parser import parse_query

    q = parse_query("E[Y | X = 1] - E[Y | X = 0]")
    assert zxy.query(q).value == pytest.approx(0.65, abs=1e-12)


def test_over_parameter_draws_each_draw_is_combined():
    m = cd.model("""model b {
        param p ~ Beta(2, 2)
        x ~ Bernoulli(0.5)
        y ~ Bernoulli(0.1 + 0.8 * p * x)
    }""")
    r = m.query("RR(x -> y)")
    p = np.asarray(m._posterior().theta["p"])
    per_draw = (0.1 + 0.8 * p) / 0.1  # P(y = 1 | do(x = 1)) / P(y = 1 | do(x = 0)) at each draw
    assert np.allclose(r.draws, per_draw, atol=1e-9)
    assert r.value == pytest.approx(per_draw.mean(), abs=1e-9)
    assert r.interval == pytest.approx((np.quantile(per_draw, 0.025), np.quantile(per_draw, 0.975)), abs=1e-9)
    with pytest.raises(cd.QueryError, match="quantile"):
        m.query("Q[y, 0.5]")
