"""est.estimate(data, method="bayes"): the estimand under a Dirichlet posterior over the observed joint.

Checked against a closed form (Beta posterior of a conditional), and by frequentist
coverage of the credible interval over repeated simulated data sets (front-door, ID and a
counterfactual IDC* estimand), data drawn from the model's exact observed joint.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from causaldsl.language.errors import MethodError

FRONT_DOOR = """model fd {
  latent U ~ Bernoulli(0.4)
  X ~ Bernoulli(table(U) { 0: 0.2, 1: 0.8 })
  M ~ Bernoulli(table(X) { 0: 0.1, 1: 0.7 })
  Y ~ Bernoulli(table(M, U) { (0, 0): 0.2, (0, 1): 0.5, (1, 0): 0.6, (1, 1): 0.9 })
}"""

BACKDOOR = """model bd {
  Z ~ Bernoulli(0.3)
  X ~ Bernoulli(table(Z) { 0: 0.2, 1: 0.7 })
  Y ~ Bernoulli(table(X, Z) { (0, 0): 0.1, (0, 1): 0.4, (1, 0): 0.6, (1, 1): 0.9 })
}"""

# the napkin: identified by ID only (no back-door, no front-door set)
NAPKIN = """model napkin {
  latent u1 ~ Bernoulli(0.4)
  latent u2 ~ Bernoulli(0.6)
  W1 ~ Bernoulli(table(u1, u2) { (0, 0): 0.2, (0, 1): 0.7, (1, 0): 0.5, (1, 1): 0.9 })
  W2 ~ Bernoulli(table(W1) { 0: 0.3, 1: 0.8 })
  X ~ Bernoulli(table(W2, u1) { (0, 0): 0.1, (0, 1): 0.6, (1, 0): 0.4, (1, 1): 0.85 })
  Y ~ Bernoulli(table(X, u2) { (0, 0): 0.25, (0, 1): 0.55, (1, 0): 0.35, (1, 1): 0.95 })
}"""


def sampler(m, names):
    joint = m.query("P(" + ", ".join(names) + ")").value
    keys = list(joint)
    p = np.array([joint[k] for k in keys])
    p = p / p.sum()
    table = np.array(keys, dtype=float)

    def draw(rng, n):
        rows = table[rng.choice(len(keys), size=n, p=p)]
        return {v: rows[:, j] for j, v in enumerate(names)}
    return draw


def test_posterior_mean_matches_the_beta_closed_form():
    # in X -> Y, P(Y = 1 | do(X = 1)) = P(Y = 1 | X = 1); under Dirichlet(counts + 1) on the
    # 2 x 2 joint it is Beta(n11 + 1, n10 + 1) (aggregation property of the Dirichlet)
    m = cd.model("model m {\n X ~ Bernoulli(0.4)\n Y ~ Bernoulli(table(X) { 0: 0.3, 1: 0.8 })\n}")
    est = m.identify("P(Y = 1 | do(X = 1))")
    data = {"X": np.array([1] * 30 + [0] * 20), "Y": np.array([1] * 22 + [0] * 8 + [1] * 5 + [0] * 15)}
    r = est.estimate(data, method="bayes", draws=20000, level=0.9)
    beta = stats.beta(22 + 1, 8 + 1)
    assert r.value == pytest.approx(beta.mean(), abs=0.003)
    assert r.interval[0] == pytest.approx(beta.ppf(0.05), abs=0.006)
    assert r.interval[1] == pytest.approx(beta.ppf(0.95), abs=0.006)
    assert r.draws.shape == (20000,) and r.level == 0.9 and "credible" in str(r)


@pytest.mark.parametrize("src,query,names", [
    (FRONT_DOOR, "P(Y = 1 | do(X = 1))", ["X", "M", "Y"]),
    (NAPKIN, "P(Y = 1 | do(X = 1))", ["W1", "W2", "X", "Y"]),
    (BACKDOOR, "P(Y[X = 1] = 1 | X = 0)", ["Z", "X", "Y"]),
])
def test_credible_interval_coverage_over_repeated_data_sets(src, query, names):
    m = cd.model(src)
    est = m.identify(query)
    assert est.rule in ("front-door", "ID", "IDC*")
    truth = float(m.query(query).value)
    draw = sampler(m, names)
    rng = np.random.default_rng(2026)
    covered = 0
    for i in range(200):
        r = est.estimate(draw(rng, 400), method="bayes", draws=400, level=0.9, seed=i)
        covered += r.interval[0] <= truth <= r.interval[1]
    assert 0.80 * 200 <= covered <= 0.97 * 200, covered


def test_table_query_gives_a_table_of_posteriors():
    m = cd.model(FRONT_DOOR)
    data = sampler(m, ["X", "M", "Y"])(np.random.default_rng(0), 500)
    r = m.identify("P(Y | do(X))").estimate(data, method="bayes", draws=300)
    assert r.value.shape == (2, 2) and r.draws.shape == (2, 2, 300)
    assert np.allclose(r.value.sum(axis=0), 1.0)  # P(Y = 0 | do(x)) + P(Y = 1 | do(x)) = 1 in every draw
    assert np.allclose(r.draws.sum(axis=0), 1.0)


def test_continuous_columns_are_refused_with_a_reason():
    m = cd.model(BACKDOOR)
    est = m.identify("P(Y = 1 | do(X = 1))")
    rng = np.random.default_rng(0)
    data = {"Z": rng.normal(size=100), "X": rng.integers(0, 2, 100), "Y": rng.integers(0, 2, 100)}
    with pytest.raises(MethodError, match="continuous"):
        est.estimate(data, method="bayes")
    with pytest.raises(MethodError, match="unknown estimation method"):
        est.estimate(data, method="mcmc")
