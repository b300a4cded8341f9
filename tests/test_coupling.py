"""The two couplings of a variable's copies across worlds: quantile (default) and Gumbel-max.

Independent answers: the Gumbel-max joint as a double integral over two Gumbels (scipy),
written here from the definition; the comonotone joint from CDF intervals; Monte Carlo of
the Gumbel race in NumPy; and the properties Oberst & Sontag (ICML 2019) prove.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate

import causaldsl as cd
from causaldsl.engines.coupling import gumbel_max_joint, quantile_joint


def gumbel_joint_by_quadrature(p, q, i, j) -> float:
    """P(argmax(log p + g) = i, argmax(log q + g) = j) straight from the definition.

    Condition on the Gumbels of levels i and j (``s``, ``t``); every other level l must stay
    below both maxima: ``g_l <= min(log p_i + s - log p_l, log q_j + t - log q_l)``."""
    a, b = np.log(p), np.log(q)
    cdf = lambda x: np.exp(-np.exp(-x))  # noqa: E731
    pdf = lambda x: np.exp(-x - np.exp(-x))  # noqa: E731
    others = [l for l in range(len(p)) if l not in (i, j)]
    if i == j:
        def f1(s):
            return pdf(s) * np.prod([cdf(min(a[i] + s - a[l], b[i] + s - b[l])) for l in others])
        return integrate.quad(f1, -10, 40, epsabs=1e-13, limit=200)[0]

    def f2(t, s):
        if a[i] + s < a[j] + t or b[j] + t < b[i] + s:
            return 0.0
        return pdf(s) * pdf(t) * np.prod([cdf(min(a[i] + s - a[l], b[j] + t - b[l])) for l in others])
    # t ranges where both conditions can hold: b_i + s - b_j <= t <= a_i + s - a_j
    return integrate.dblquad(f2, -8, 30, lambda s: b[i] + s - b[j], lambda s: a[i] + s - a[j],
                             epsabs=1e-11)[0]


P = np.array([0.1, 0.4, 0.2, 0.3])
Q = np.array([0.35, 0.05, 0.4, 0.2])


@pytest.mark.parametrize("i,j", list(itertools.product(range(4), repeat=2)))
def test_gumbel_joint_matches_the_double_integral(i, j):
    assert gumbel_max_joint(P, Q)[i, j] == pytest.approx(gumbel_joint_by_quadrature(P, Q, i, j), abs=1e-8)


def test_gumbel_joint_margins_stability_and_order():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(6), size=5), rng.dirichlet(np.ones(6), size=5)
    p[0, 2] = 0.0
    p[0] /= p[0].sum()
    j = gumbel_max_joint(p, q)
    np.testing.assert_allclose(j.sum(-1), p, atol=1e-13)
    np.testing.assert_allclose(j.sum(-2), q, atol=1e-13)
    assert (j >= 0).all()
    # counterfactual stability (Oberst & Sontag, Definition 2): seen at i, a unit moves to j != i
    # only if q_j / p_j > q_i / p_i
    for b, i, k in itertools.product(range(5), range(6), range(6)):
        if i != k and p[b, i] > 0 and q[b, k] / max(p[b, k], 1e-300) <= q[b, i] / p[b, i]:
            assert j[b, i, k] == 0.0
    # the order of the levels does not matter: permuting them permutes the joint
    perm = rng.permutation(6)
    np.testing.assert_allclose(gumbel_max_joint(p[:, perm], q[:, perm]), j[:, perm][:, :, perm], atol=1e-15)


def test_two_levels_gumbel_is_the_quantile_coupling():
    p, q = np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([[0.4, 0.6], [0.9, 0.1]])
    np.testing.assert_allclose(gumbel_max_joint(p, q), quantile_joint([p, q], (2,)), atol=1e-15)


def _dice(order: str, coupling: str = "quantile"):
    pr = {"a": (0.5, 0.1), "b": (0.3, 0.3), "c": (0.2, 0.6)}
    levels = ", ".join(f"{l}: table(x) {{ 0: {pr[l][0]}, 1: {pr[l][1]} }}" for l in order)
    return cd.model(f"model m {{\n x ~ Bernoulli(0.5)\n y ~ Categorical({levels}, coupling = {coupling})\n}}")


QUERY = "P(y[x = 0] = a | x = 1, y = c)"


def test_quantile_counterfactual_depends_on_the_order_and_says_so():
    # comonotone, by hand: x = 1 puts y = c on U in [F(b), 1] of its own order; x = 0 reads the
    # same U through its own CDF. Order a, b, c: c is U in [0.4, 1] (x = 1), a is U < 0.5 (x = 0):
    # P = 0.1 / 0.6. Order c, a, b: c is U < 0.6, a is U in [0.2, 0.7): P = 0.4 / 0.6.
    abc, cab = _dice("abc").query(QUERY), _dice("cab").query(QUERY)
    assert abc.value == pytest.approx(0.1 / 0.6, abs=1e-12)
    assert cab.value == pytest.approx(0.4 / 0.6, abs=1e-12)
    assert "order of y's levels" in abc.note and "coupling = gumbel" in abc.note
    # seeing and doing do not depend on it, and say nothing
    assert _dice("abc").query("P(y = a | do(x = 0))").note is None


@pytest.mark.parametrize("order", ["abc", "cab", "bca", "acb"])
def test_gumbel_counterfactual_is_order_free_and_matches_the_integral(order):
    r = _dice(order, "gumbel").query(QUERY)
    p, q = np.array([0.1, 0.3, 0.6]), np.array([0.5, 0.3, 0.2])  # levels a, b, c; x = 1, then x = 0
    expected = gumbel_joint_by_quadrature(p, q, 2, 0) / p[2]
    assert r.method == "exact" and r.note is None
    assert r.value == pytest.approx(expected, abs=1e-8)


def test_monte_carlo_draws_and_abducts_the_gumbels():
    m = _dice("bca", "gumbel")
    exact = m.query(QUERY).value
    mc = m.query(QUERY, method="monte-carlo", samples=200_000, seed=3)
    assert abs(mc.value - exact) < 4 * mc.stderr
    # without evidence: the joint of two worlds' copies, drawn forward
    both = m.query("P(y[x = 0] = a and y[x = 1] = c)")
    mcb = m.query("P(y[x = 0] = a and y[x = 1] = c)", method="monte-carlo", samples=200_000, seed=4)
    assert both.value == pytest.approx(gumbel_joint_by_quadrature(np.array([0.5, 0.3, 0.2]),
                                                                  np.array([0.1, 0.3, 0.6]), 0, 2), abs=1e-8)
    assert abs(mcb.value - both.value) < 4 * mcb.stderr


THREE = """model m {
    x ~ Categorical(0.3, 0.3, 0.4)
    y ~ Categorical(a: table(x) { 0: 0.5, 1: 0.1, 2: 0.3 }, b: 0.3, c: table(x) { 0: 0.2, 1: 0.6, 2: 0.4 }, coupling = gumbel)
}"""


def test_three_worlds_go_to_monte_carlo_and_agree_with_a_gumbel_race():
    r = cd.model(THREE).query("P(y[x = 0] = a and y[x = 1] = c | y = b, x = 2)", samples=200_000)
    assert r.method.startswith("monte-carlo (the exact engine couples 'y' by Gumbel-max over two worlds")
    # the race, simulated here: one Gumbel per level shared by the three worlds
    rng = np.random.default_rng(7)
    g = rng.gumbel(size=(2_000_000, 3))
    pick = {x: np.argmax(np.log(p) + g, 1) for x, p in
            {0: [0.5, 0.3, 0.2], 1: [0.1, 0.3, 0.6], 2: [0.3, 0.3, 0.4]}.items()}
    seen = pick[2] == 1
    expected = np.mean((pick[0][seen] == 0) & (pick[1][seen] == 2))
    assert abs(r.value - expected) < 4 * r.stderr + 1e-3


def test_model_option_per_variable_and_python():
    m = cd.model("model m (coupling = gumbel) {\n x ~ Bernoulli(0.5)\n"
                 " y ~ Categorical(a: 0.2, b: 0.3, c: 0.5, coupling = quantile)\n"
                 " w ~ Categorical(a: 0.2, b: 0.3, c: 0.5)\n z ~ Normal(0, 1)\n}")
    assert [n.coupling for n in m.ir.nodes] == ["gumbel", "quantile", "gumbel", "quantile"]
    assert [n.coupling for n in m.with_coupling("quantile", "w").ir.nodes] == ["gumbel", "quantile", "quantile", "quantile"]
    plain = _dice("cab")
    assert plain.with_coupling("gumbel").query(QUERY).value == pytest.approx(_dice("abc", "gumbel").query(QUERY).value,
                                                                          abs=1e-12)
    with pytest.raises(cd.CausalDSLError, match="unknown variable 'q'"):
        plain.with_coupling("gumbel", "q")
    with pytest.raises(cd.CausalDSLError, match="unknown coupling"):
        plain.with_coupling("gumbell")


def test_numpyro_source_writes_the_gumbel_race():
    m = _dice("abc", "gumbel")
    src = m.numpyro_source(QUERY, samples=200_000)
    assert 'dist.Gumbel(0.0, 1.0).expand([3])' in src
    ns: dict = {}
    exec(compile(src, "<numpyro_source>", "exec"), ns)  # our own generated code, not user text
    p = 0.6 * 0.4 * 0.5 / 0.3  # P(c under x=1) * P(x=1): the draws kept, for the standard error
    se = np.sqrt(0.25 / (200_000 * p))
    assert abs(ns["estimate"] - m.query(QUERY).value) < 5 * se


def test_cause_queries_refuse_a_gumbel_variable_clearly():
    m = _dice("abc", "gumbel")
    with pytest.raises(cd.MethodError, match="coupling = gumbel") as info:
        m.query("cause(x = 1 -> y = c | x = 1, y = c)")
    assert info.value.line == 3 and "with_coupling('quantile', 'y')" in info.value.hint
    # under the quantile coupling it is answered: y = c at x = 1 is U >= 0.4; x = 0 keeps y = c
    # only for U >= 0.8, so x = 1 is a (but-for) cause on U in [0.4, 0.8): 0.4 / 0.6
    r = m.with_coupling("quantile").query("cause(x = 1 -> y = c | x = 1, y = c)")
    assert r.value == pytest.approx(2 / 3, abs=1e-12)


def test_to_text_keeps_the_coupling():
    m = cd.model("model m (coupling = gumbel) {\n x ~ Bernoulli(0.5)\n"
                 " y ~ Categorical(levels = [a, b, c], probs = table(x) { 0: [0.5, 0.3, 0.2], 1: [0.1, 0.3, 0.6] })\n"
                 " z ~ Categorical(a: 0.2, b: 0.8, coupling = quantile)\n}")
    back = cd.model(m.to_text())
    assert [n.coupling for n in back.ir.nodes] == ["gumbel", "gumbel", "quantile"]
    assert back.query(QUERY).value == pytest.approx(m.query(QUERY).value, abs=1e-15)


def test_pyro_refuses_a_gumbel_variable_clearly():
    m = _dice("abc", "gumbel")
    with pytest.raises(cd.MethodError, match="coupling = gumbel") as info:
        m.pyro()
    assert "with_coupling('quantile')" in info.value.hint


def test_a_causal_file_the_cli_and_a_cell_take_the_coupling(tmp_path, capsys, shell):
    from causaldsl.cli import main

    f = tmp_path / "dice.causal"
    text = ("model dice (coupling = gumbel) {\n x ~ Bernoulli(0.5)\n"
            " y ~ Categorical(c: table(x) { 0: 0.2, 1: 0.6 }, a: table(x) { 0: 0.5, 1: 0.1 }, b: 0.3)\n}\n"
            + QUERY + "\n")
    f.write_text(text)
    assert main(["run", str(f)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(QUERY))
    assert "0.52381" in line and "exact" in line
    assert cd.load(f).run()[0].value == pytest.approx(_dice("abc", "gumbel").query(QUERY).value, abs=1e-12)
    r = shell.run_cell("%%causal\n" + text, store_history=False)
    assert r.success, r.error_in_exec
    assert "0.52381" in r.result._repr_mimebundle_()["text/plain"]
