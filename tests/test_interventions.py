"""Interventions that replace a mechanism: shifts (do(X = X + 1)), dynamic regimes (do(X = 1 - Z)),
stochastic interventions (do(X ~ Bernoulli(0.3))), in do() and in counterfactual subscripts.

Every number is checked against a hand value from issue 22 and against an enumeration (or a sum
over the noise) written here, independently of the engines.
"""

from __future__ import annotations


import numpy as np
import pytest
from scipy import stats

import causaldsl as cd
from causaldsl.cli import main

CONFOUNDED = """
model confounded {
    Z ~ Bernoulli(0.4)
    X ~ Bernoulli(if Z then 0.7 else 0.2)
    Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)
}
"""

LINEAR = """
model linear {
    Z ~ Normal(0, 1)
    X ~ Normal(Z, 1)
    Y ~ Normal(2 * X + Z, 1)
}
"""

# X counts 0..3: a shift by one reaches 4, outside its values.
DOSE = """
model dose {
    Z ~ Bernoulli(0.4)
    X ~ Binomial(3, if Z then 0.6 else 0.3)
    Y ~ Bernoulli(0.1 + 0.2 * X + 0.1 * Z)
}
"""


def p_z(z):
    return 0.4 if z else 0.6


def p_x(x, z):
    p = 0.7 if z else 0.2
    return p if x else 1 - p


def p_y1(x, z):
    return 0.1 + 0.5 * x + 0.3 * z


def enumerate_policy(policy) -> float:
    """P(Y = 1) when X is drawn from policy(x, z) (a probability of each x given z) instead of its own mechanism."""
    return sum(p_z(z) * policy(x, z) * p_y1(x, z) for z in (0, 1) for x in (0, 1))


@pytest.fixture(scope="module")
def confounded():
    return cd.model(CONFOUNDED)


@pytest.fixture(scope="module")
def linear():
    return cd.model(LINEAR)


@pytest.fixture(scope="module")
def dose():
    return cd.model(DOSE)


# ------------------------------------------------------------------ the checks, discrete: exact
@pytest.mark.parametrize("query, hand, policy", [
    ("P(Y = 1 | do(X ~ Bernoulli(0.3)))", 0.37, lambda x, z: 0.3 if x else 0.7),
    ("P(Y = 1 | do(X = Z))", 0.42, lambda x, z: float(x == z)),
    ("P(Y = 1 | do(X = 1 - Z))", 0.52, lambda x, z: float(x == 1 - z)),
    ("P(Y = 1 | do(X = if Z then 1 else 0))", 0.42, lambda x, z: float(x == z)),
    ("P(Y = 1 | do(X ~ Bernoulli(if Z then 0.9 else 0.1)))", None,
     lambda x, z: (0.9 if z else 0.1) if x else (0.1 if z else 0.9)),
])
def test_regimes_exact_against_hand_values_and_enumeration(confounded, query, hand, policy):
    r = confounded.query(query)
    assert r.method == "exact"
    assert r.value == pytest.approx(enumerate_policy(policy), abs=1e-12)
    if hand is not None:
        assert r.value == pytest.approx(hand, abs=1e-12)


def test_regimes_from_python_match_the_language(confounded):
    assert confounded.do(X=cd.draw("Bernoulli(0.3)")).query("P(Y = 1)").value == pytest.approx(0.37, abs=1e-12)
    assert confounded.do(X="~ Bernoulli(0.3)").query("P(Y = 1)").value == pytest.approx(0.37, abs=1e-12)
    assert confounded.do(X="Z").query("P(Y = 1)").value == pytest.approx(0.42, abs=1e-12)
    assert confounded.do(X=cd.set_to("1 - Z")).query("P(Y = 1)").value == pytest.approx(0.52, abs=1e-12)
    assert confounded.do(X=1).query("P(Y = 1)").value == pytest.approx(0.4 * 0.9 + 0.6 * 0.6, abs=1e-12)
    # The new parents are the regime's: X reads Z, not its old mechanism
    d = confounded.do(X="1 - Z")
    assert d.ir["X"].parents == ("Z",) and d.ir["X"].regime == "= 1 - Z"
    assert confounded.ir["X"].regime is None  # surgery returns a new model


def test_regime_in_a_counterfactual_world_reads_that_unit(confounded):
    # P(Y[X = 1 - Z] = 1 | X = 1): Z's posterior given X = 1, then Y's mechanism at X = 1 - Z (U_Y independent of X)
    post = {z: p_z(z) * p_x(1, z) for z in (0, 1)}
    total = sum(post.values())
    want = sum(post[z] / total * p_y1(1 - z, z) for z in (0, 1))
    assert confounded.query("P(Y[X = 1 - Z] = 1 | X = 1)").value == pytest.approx(want, abs=1e-12)
    assert want == pytest.approx(0.46)
    assert confounded.query("P(Y[X = 1 - Z] = 1)").value == pytest.approx(0.52, abs=1e-12)


def test_stochastic_counterfactual_against_a_sum_over_the_noise(confounded):
    """P(Y[X ~ Bernoulli(0.3)] = 1 | X = 1, Y = 1): the draw's noise is its own, Y's noise U_Y is
    shared; summed over a fine grid of U_Y, with Y := [U_Y > 1 - p]."""
    u = (np.arange(200_000) + 0.5) / 200_000
    num = den = 0.0
    for z in (0, 1):
        y_fact = u > 1 - p_y1(1, z)
        w = p_z(z) * p_x(1, z)
        den += w * y_fact.mean()
        for x_new, p_new in ((0, 0.7), (1, 0.3)):
            num += w * p_new * (y_fact & (u > 1 - p_y1(x_new, z))).mean()
    r = confounded.query("P(Y[X ~ Bernoulli(0.3)] = 1 | X = 1, Y = 1)")
    assert r.method == "exact"
    assert r.value == pytest.approx(num / den, abs=1e-4)


def test_worlds_applying_the_same_draw_share_it(confounded):
    # One coin per unit and intervention: the two worlds see the same X (0.3, not 0.3 * 0.3) ...
    same = confounded.query("P(X[X ~ Bernoulli(0.3)] = 1, X[X ~ Bernoulli(0.3), Z = 1] = 1)").value
    assert same == pytest.approx(0.3, abs=1e-12)
    # ... and a draw is independent of the unit's own U_X: P(X[X ~ Bernoulli(0.3)] = 1 | X = 1) = 0.3
    assert confounded.query("P(X[X ~ Bernoulli(0.3)] = 1 | X = 1)").value == pytest.approx(0.3, abs=1e-12)
    # with Y's noise shared and p(Y | Z = 1) >= p(Y | Z), both worlds recover with probability E[p] = 0.37
    both = confounded.query("P(Y[X ~ Bernoulli(0.3)] = 1, Y[X ~ Bernoulli(0.3), Z = 1] = 1)").value
    assert both == pytest.approx(0.37, abs=1e-12)


# ------------------------------------------------------------------ the checks, linear Gaussian
def test_shift_in_a_linear_gaussian_model(linear):
    # Y = 2 X + Z + U, X shifted by one: E[Y] = 2 E[X + 1] + E[Z] = 2, exactly: the shifted network
    # is still linear-Gaussian, and its mean is read off without draws (engines/gaussian.py)
    r = linear.query("E[Y | do(X = X + 1)]", samples=200_000, seed=1)
    assert r.value == pytest.approx(2.0, abs=1e-12) and r.stderr is None and r.method == "exact (gaussian)"
    assert str(r) == "E[Y | do(X = X + 1)] = 2  [exact (gaussian)]"
    assert linear.do(X=cd.shift(1)).query("E[Y]").value == pytest.approx(2.0, abs=1e-12)
    # Monte Carlo, asked for, agrees within its error
    mc = linear.query("E[Y | do(X = X + 1)]", method="monte-carlo", samples=200_000, seed=1)
    assert mc.method == "monte-carlo" and abs(mc.value - 2.0) < 4 * mc.stderr
    # The shift of each unit's own X: Y[X = X + 1] - Y = 2 exactly
    d = linear.query("E[Y[X = X + 1] - Y]", samples=20_000, seed=3)
    assert d.value == pytest.approx(2.0, abs=1e-12) and d.method == "exact (gaussian)"
    # Var(Y | do(X = X + 1)) = Var(2 (Z + U_X) + Z + U_Y) = 9 + 4 + 1 = 14: P(Y > 2) = 1/2,
    # P(Y > 2 + sqrt(14)) = 1 - Φ(1)
    assert linear.query("P(Y > 2 | do(X = X + 1))").value == pytest.approx(0.5, abs=1e-12)
    p = linear.query("P(Y > 2 + sqrt(14) | do(X = X + 1))")
    assert p.value == pytest.approx(0.15865525393145707, abs=1e-12) and p.method == "exact (gaussian)"


def test_queries_outside_the_linear_gaussian_family_stay_with_monte_carlo(linear):
    # a square is not affine, an event of two comparisons is not one Normal CDF, a draw from a
    # non-Normal law leaves the family: each is answered by Monte Carlo, as before
    for q in ["E[Y * Y | do(X = X + 1)]", "P(Y > 0 and X > 0)", "E[Y | do(X ~ Uniform(0, 1))]"]:
        r = linear.query(q, samples=20_000)
        assert r.method == "monte-carlo" and r.stderr > 0, q
    # E[Y²] after the shift: Var + mean² = 14 + 4
    r = linear.query("E[Y * Y | do(X = X + 1)]", samples=200_000)
    assert abs(r.value - 18.0) < 4 * r.stderr


def test_counterfactual_shift_given_the_unit(linear):
    # X = 1, Y = 3 fix U_Y = 3 - 2 - Z; Y[X = X + 1] = 2 * 2 + Z + U_Y = 5 whatever Z is
    r = linear.query("E[Y[X = X + 1] | X = 1, Y = 3]")
    assert r.value == pytest.approx(5.0, abs=1e-9)


def test_stochastic_draw_in_a_continuous_model(linear):
    # X ~ Normal(0, 2) independent of Z: E[Y] = 0, Var[Y] = 4 * 4 + 1 + 1 = 18
    s = linear.do(X="~ Normal(0, 2)").sample(100_000, seed=4)
    assert abs(np.mean(s["Y"])) < 4 * np.sqrt(18 / 100_000)
    assert np.var(s["Y"]) == pytest.approx(18, rel=0.03)
    assert abs(np.corrcoef(s["X"], s["Z"])[0, 1]) < 0.02  # the new mechanism does not read Z
    r = linear.query("E[Y | do(X ~ Normal(0, 2))]", samples=100_000, seed=5)
    assert r.value == pytest.approx(0.0, abs=1e-12) and r.method == "exact (gaussian)"  # still linear-Gaussian
    assert linear.query("P(Y > sqrt(18) | do(X ~ Normal(0, 2)))").value == pytest.approx(0.15865525393145707, abs=1e-12)
    r = linear.query("E[Y | do(X ~ Normal(0, 2))]", method="monte-carlo", samples=100_000, seed=5)
    assert abs(r.value) < 4 * r.stderr


# ------------------------------------------------------------------ shifts of a discrete variable
def _dose_p_x(x, z):
    return stats.binom.pmf(x, 3, 0.6 if z else 0.3)


def _dose_p_y1(x, z):
    return 0.1 + 0.2 * x + 0.1 * z


def test_discrete_shift_clipped_exact_against_enumeration(dose):
    want = sum(p_z(z) * _dose_p_x(x, z) * _dose_p_y1(min(x + 1, 3), z) for z in (0, 1) for x in range(4))
    r = dose.query("P(Y = 1 | do(X = min(X + 1, 3)))")
    assert r.method == "exact" and r.value == pytest.approx(want, abs=1e-12)
    assert dose.do(X=cd.shift(1, clip=True)).query("P(Y = 1)").value == pytest.approx(want, abs=1e-12)
    down = sum(p_z(z) * _dose_p_x(x, z) * _dose_p_y1(max(x - 1, 0), z) for z in (0, 1) for x in range(4))
    assert dose.do(X=cd.shift(-1, clip=True)).query("P(Y = 1)").value == pytest.approx(down, abs=1e-12)
    # the distribution of the shifted X itself
    dist = dose.query("P(X | do(X = min(X + 1, 3)))").value
    for k in range(4):
        pk = sum(p_z(z) * _dose_p_x(x, z) for z in (0, 1) for x in range(4) if min(x + 1, 3) == k)
        assert dist[k] == pytest.approx(pk, abs=1e-12)


def test_discrete_shift_outside_the_values_is_an_error(dose):
    with pytest.raises(cd.DomainError) as err:
        dose.query("P(Y = 1 | do(X = X + 1))")
    e = err.value
    assert "the value 4" in e.message and e.line == 1 and e.column is not None
    assert "min(max(X + 1, 0), 3)" in e.hint and "0, 1, 2, 3" in e.hint
    with pytest.raises(cd.DomainError):
        dose.do(X=cd.shift(1))
    with pytest.raises(cd.DomainError):
        dose.query("P(Y[X = X + 1] = 1)")


def test_counterfactual_discrete_shift_against_a_sum_over_the_noise(dose):
    """P(Y[X = min(X + 1, 3)] = 1 | Y = 0): the unit's own X (shared U_X) moved up, Y's noise shared;
    a brute-force sum over grids of U_X and U_Y, X := the Binomial quantile of U_X, Y := [U_Y > 1 - p]."""
    n = 4000
    ux = (np.arange(n) + 0.5) / n
    uy = (np.arange(n) + 0.5) / n
    num = den = 0.0
    for z in (0, 1):
        x = stats.binom.ppf(ux, 3, 0.6 if z else 0.3)  # the comonotone coupling: one U_X per unit
        x_new = np.minimum(x + 1, 3)
        y = uy[None, :] > 1 - _dose_p_y1(x, z)[:, None]
        y_new = uy[None, :] > 1 - _dose_p_y1(x_new, z)[:, None]
        den += p_z(z) * (~y).mean()
        num += p_z(z) * (~y & y_new).mean()
    r = dose.query("P(Y[X = min(X + 1, 3)] = 1 | Y = 0)")
    assert r.method == "exact"
    assert r.value == pytest.approx(num / den, abs=2e-3)
    # and with a closed form: given Y = 0 at X = x, Y[x'] = 1 with probability (p(x') - p(x)) / (1 - p(x))
    exact = sum(p_z(z) * _dose_p_x(x, z) * (_dose_p_y1(min(x + 1, 3), z) - _dose_p_y1(x, z))
                for z in (0, 1) for x in range(4))
    exact /= sum(p_z(z) * _dose_p_x(x, z) * (1 - _dose_p_y1(x, z)) for z in (0, 1) for x in range(4))
    assert r.value == pytest.approx(exact, abs=1e-12)


# ------------------------------------------------------------------ mistakes
@pytest.mark.parametrize("query, cls, where, words", [
    ("P(Y = 1 | do(X = Y))", cd.CycleError, 18, "Y -> X"),
    ("P(Y = 1 | do(X ~ Normal(0, 1)))", cd.DomainError, 18, "values it cannot take"),
    ("P(Y = 1 | do(X ~ Bernouli(0.3)))", cd.DistributionError, 18, "unknown distribution"),
    ("P(Y = 1 | do(X ~ Bernoulli(1.3)))", cd.ProbabilityError, 28, "outside [0, 1]"),
    ("P(Y = 1 | do(X = W))", cd.DomainError, 18, "'W' is not a value of 'X'"),  # a bare name: a level
    ("P(Y = 1 | do(X = W + 1))", cd.UnknownNameError, 18, "unknown variable 'W'"),
    ("P(Y[X = Y] = 1)", cd.CycleError, 9, "cycle"),
])
def test_mistakes_are_located_errors_with_hints(confounded, query, cls, where, words):
    with pytest.raises(cls) as err:
        confounded.query(query)
    e = err.value
    assert words in e.message and e.line == 1 and e.column == where and e.hint
    assert "^" in str(e)


def test_do_without_a_value_names_every_form(confounded):
    with pytest.raises(cd.QueryError) as err:
        confounded.query("P(Y = 1 | do(X))")
    assert "do(X = X + 1)" in err.value.hint and "do(X ~ Bernoulli(0.5))" in err.value.hint


def test_python_mistakes(confounded, linear):
    with pytest.raises(cd.CycleError) as err:
        confounded.do(X="Y")
    assert err.value.source == "do(X = Y)" and err.value.column == 8 and "Y -> X" in err.value.message
    with pytest.raises(cd.QueryError):  # clipping needs a variable with values to clip to
        linear.do(X=cd.shift(1, clip=True))
    with pytest.raises(cd.UnknownNameError) as err:
        confounded.do(X="Q + 1")
    assert err.value.source == "do(X = Q + 1)" and err.value.column == 8


# ------------------------------------------------------------------ identification
def test_identify_reduces_regimes_to_the_effects_it_answers(confounded):
    with pytest.raises(cd.QueryError) as err:
        confounded.identify("P(Y | do(X = 1 - Z))")
    hint = err.value.hint
    assert "identify P(Y | do(X), Z)" in hint and "Σ_{Z} P(Y | do(X = 1 - Z), Z) P(Z)" in hint
    assert "identify" not in err.value.message.split(";")[1] or "do(X)" in err.value.message
    with pytest.raises(cd.QueryError) as err:
        confounded.identify("P(Y | do(X ~ Bernoulli(0.3)))")
    assert "P*(x)" in err.value.hint
    with pytest.raises(cd.QueryError) as err:
        confounded.identify("P(Y | do(X = X + 1))")
    assert "effect on the treated" in err.value.hint
    # What the hint says to ask is answered, and its formula gives the regime's value:
    # Σ_z P(Y | do(X = 1 - z), z) P(z) with P(Y | do(X), Z) = P(Y | X, Z) here
    est = confounded.identify("P(Y | do(X), Z)")
    assert str(est) == "P(Y | Z, X)"


# ------------------------------------------------------------------ faces: .causal file, CLI, %%causal, drawings
SOFT_FILE = CONFOUNDED + """
P(Y = 1 | do(X ~ Bernoulli(0.3)))
P(Y = 1 | do(X = Z))
P(Y = 1 | do(X = 1 - Z))
P(Y[X = 1 - Z] = 1 | X = 1)
"""


def test_causal_file_and_cli(tmp_path, capsys):
    f = tmp_path / "soft.causal"
    f.write_text(SOFT_FILE)
    assert main(["run", str(f)]) == 0
    out = capsys.readouterr().out
    for q, v in (("P(Y = 1 | do(X ~ Bernoulli(0.3)))", "0.37"), ("P(Y = 1 | do(X = Z))", "0.42"),
                 ("P(Y = 1 | do(X = 1 - Z))", "0.52"), ("P(Y[X = 1 - Z] = 1 | X = 1)", "0.46")):
        line = next(ln for ln in out.splitlines() if ln.startswith(q))
        assert v in line and "exact" in line
    values = [r.value for r in cd.load(f).run()]
    assert values == pytest.approx([0.37, 0.42, 0.52, 0.46], abs=1e-12)


def test_causal_cell_answers_and_draws_the_new_mechanism():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    try:
        ip.run_line_magic("load_ext", "causaldsl")
        r = ip.run_cell("%%causal\n" + SOFT_FILE, store_history=False)
        assert r.success, r.error_in_exec
        bundle = r.result._repr_mimebundle_()
        assert "0.37" in bundle["text/plain"] and "0.52" in bundle["text/plain"]
        svg = bundle["image/svg+xml"]
        # do(X = 1 - Z): X boxed, its new parent Z drawn into it; do(X ~ Bernoulli(0.3)): no arrow into X
        assert "confounded: do(X = 1 - Z)" in svg and "do = 1 - Z" in svg
        assert "confounded: do(X ~ Bernoulli(0.3))" in svg and "do ~ Bernoulli(0.3)" in svg
    finally:
        InteractiveShell.clear_instance()


def test_drawings_show_the_new_mechanism(confounded, linear):
    svg = linear.do(X=cd.shift(1)).draw().svg
    assert "linear: do(X = X + 1)" in svg and 'data-node="X&#x27;"' in svg  # X' (escaped): the natural X
    assert 'data-source="X&#x27;" data-target="X"' in svg and 'data-source="Z" data-target="X"' not in svg
    tw = linear.twin("E[Y[X = X + 1] | X = 1, Y = 3]")
    assert ("X", "X[X=X + 1]") in tw.edges  # the shifted copy reads the unit's own X
    assert tw.worlds["X[X=X + 1]"] == "X=X + 1" and tw.intervened["X[X=X + 1]"] == "= X + 1"
    assert "do = X + 1" in tw.svg and "U_Y" in tw.noise
    tw = confounded.twin("P(Y[X ~ Bernoulli(0.3)] = 1 | X = 1, Y = 1)")
    x_new = next(v for v in tw.worlds if v.startswith("X["))
    assert tw.worlds[x_new] == "X~Bernoulli(0.3)"
    assert not [e for e in tw.edges if e[1] == x_new]  # a fresh draw: no parents, no shared noise
    assert "do ~ Bernoulli(0.3)" in tw.svg


def test_explorer_with_a_shift_and_a_draw(linear, confounded):
    ex = cd.explore(linear, "Y", samples=20_000)
    ex.soft("X", cd.shift(1))
    assert ex.questions()["doing"] == "E[Y | do(X = X + 1)]"
    assert ex.answers["doing"]["mean"] == pytest.approx(2.0, abs=0.1)
    assert ex.answers["seeing"]["mean"] == pytest.approx(0.0, abs=0.1)
    ex.set_fact("X", 1.0)
    assert ex.questions()["imagining"] == "E[Y[X = X + 1] | X = 1]"
    svg = ex.graph_view.svg
    assert "do X + 1, was 1" in svg or "do = X + 1, was 1" in svg
    ex2 = cd.explore(confounded, "Y")
    ex2.soft("X", cd.draw("Bernoulli(0.3)"))
    assert ex2.answers["doing"]["dist"]["1"] == pytest.approx(0.37, abs=1e-9)
    ex2.click("X")  # a click moves on to conditioning, as for a value
    assert ex2.state.modes["X"] == "observe" and "X" not in ex2.state.regimes


def test_categorical_draw_names_the_levels_in_any_order():
    m = cd.model("model w {\n W ~ Categorical(sunny: 0.7, rainy: 0.2, snowy: 0.1)\n"
                 " Y ~ Bernoulli(if W == sunny then 0.9 else 0.3)\n}")
    r = m.query("P(Y = 1 | do(W ~ Categorical(rainy: 0.5, snowy: 0.25, sunny: 0.25)))")
    assert r.value == pytest.approx(0.25 * 0.9 + 0.75 * 0.3, abs=1e-12)
    assert m.query("P(W | do(W = min(W + 1, 2)))").value == pytest.approx({"sunny": 0.0, "rainy": 0.7, "snowy": 0.3})
    with pytest.raises(cd.DomainError) as err:
        m.query("P(Y = 1 | do(W ~ Categorical(rainy: 0.5, sunny: 0.5)))")
    assert "sunny: ..., rainy: ..., snowy: ..." in err.value.hint


def test_explorer_of_an_intervened_model(linear):
    ex = cd.explore(linear.do(X=cd.shift(1)), "Y", samples=20_000)
    assert ex.outcome_box.options == ("Z", "Y")  # X is held by the shift, X' is its natural value
    assert ex.answers["doing"]["mean"] == pytest.approx(2.0, abs=0.1)
    assert 'data-node="X"' in ex.graph_view.svg and "do = X + 1" in ex.graph_view.svg
    with pytest.raises(cd.UnknownNameError) as err:
        ex.click("X")
    assert "held by the model's intervention (do(X = X + 1))" in err.value.hint
