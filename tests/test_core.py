"""The Python face of the core: queries, surgery, sampling, graph, NumPyro, compile reuse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd
from jax_traces import jax_traces

ROOT = Path(__file__).resolve().parent.parent

SMOKING = ROOT / "tutorials" / "smoking.causal"


@pytest.fixture(scope="module")
def smoking():
    return cd.load(SMOKING)


def test_front_door_interventional_matches_hand_computation(smoking):
    # P(c=1 | do(s)) = sum_g P(g) sum_t P(t | s) (0.1 + 0.3 t + 0.5 g)
    def truth(s):
        pt = 0.95 if s else 0.05
        return sum(0.5 * ((1 - pt) * (0.1 + 0.5 * g) + pt * (0.4 + 0.5 * g)) for g in (0, 1))

    r = smoking.query("P(cancer = 1 | do(smoking = 1))")
    assert r.method == "exact" and r.stderr is None
    assert r.value == pytest.approx(truth(1), abs=1e-12)
    assert smoking.query("P(cancer = 1 | do(smoking = 0))").value == pytest.approx(truth(0), abs=1e-12)
    assert smoking.query("ATE(smoking -> cancer)").value == pytest.approx(truth(1) - truth(0), abs=1e-12)


def test_observational_differs_from_interventional(smoking):
    # P(c=1 | s=1) by Bayes over the genotype
    ps_g = {0: 0.2, 1: 0.8}
    pg_s = {g: 0.5 * ps_g[g] for g in (0, 1)}
    z = sum(pg_s.values())
    truth = sum(pg_s[g] / z * (0.1 + 0.3 * 0.95 + 0.5 * g) for g in (0, 1))
    assert smoking.query("P(cancer = 1 | smoking = 1)").value == pytest.approx(truth, abs=1e-12)
    assert truth != pytest.approx(smoking.query("P(cancer = 1 | do(smoking = 1))").value, abs=1e-3)


def test_whole_distribution_and_expectation():
    m = cd.model("model m {\n x ~ Binomial(2, 0.5)\n y := x * x\n}")
    r = m.query("P(y)")
    assert r.value == pytest.approx({0.0: 0.25, 1.0: 0.5, 4.0: 0.25})
    assert m.query("E[y]").value == pytest.approx(1.5)
    assert m.query("E[y | x = 2]").value == pytest.approx(4.0)


def test_named_levels_in_queries_and_results():
    m = cd.model("""
model w {
    weather ~ Categorical(sunny: 0.7, rainy: 0.3)
    umbrella ~ Bernoulli(table(weather) { sunny: 0.1, rainy: 0.8 })
}""")
    assert m.query("P(weather)").value == pytest.approx({"sunny": 0.7, "rainy": 0.3})
    post = 0.3 * 0.8 / (0.3 * 0.8 + 0.7 * 0.1)
    assert m.query("P(weather = rainy | umbrella = 1)").value == pytest.approx(post)
    assert m.query("P(umbrella = 1 | do(weather = sunny))").value == pytest.approx(0.1)


def test_changing_only_values_reuses_the_compiled_function():
    m = cd.model("model m {\n x ~ Normal(0, 1)\n y ~ Normal(2 * x, 1)\n b ~ Bernoulli(0.3)\n c := b\n}")
    with jax_traces() as first:
        a = m.query("E[y | do(x = 0.3)]", method="monte-carlo")  # (exact by Gaussian, unasked)
    with jax_traces() as again:
        b = m.query("E[y | do(x = 0.4)]", method="monte-carlo")
    assert first and not again and m.compilations == 1  # a new value: the same program, nothing traced
    assert a.value == pytest.approx(0.6, abs=4 * a.stderr) and b.value == pytest.approx(0.8, abs=4 * b.stderr)
    m.query("P(c = 1 | b = 1)")
    m.query("P(c = 0 | b = 0)")
    assert m.compilations == 2


def test_a_question_asked_once_compiles_nothing_and_asked_again_is_answered_by_its_program():
    m = cd.model("model m {\n b ~ Bernoulli(0.3)\n c ~ Bernoulli(table(b) { 0: 0.1, 1: 0.6 })\n}")
    with jax_traces() as once:
        first = m.query("P(c = 1 | b = 1)").value
    assert not once and m.compilations == 1  # the first answer is computed, not compiled
    with jax_traces() as twice:  # the block lets the compilation asked for here finish
        second = m.query("P(c = 1 | b = 1)").value
    assert twice
    with jax_traces() as compiled:
        third = m.query("P(c = 1 | b = 1)").value
        other = m.query("P(c = 1 | b = 0)").value
    assert not compiled and m.compilations == 1  # answered by the program compiled before, other values too
    assert first == pytest.approx(0.6, abs=1e-12) and second == first and third == first
    assert other == pytest.approx(0.1, abs=1e-12)


def test_monte_carlo_is_reproducible_and_seeded():
    m = cd.model("model m {\n x ~ Normal(0, 1)\n}")
    a, b = m.query("E[x * x]"), m.query("E[x * x]")  # E[x] would be exact (Gaussian), x * x is not affine
    c = m.query("E[x * x]", seed=7)
    assert a.value == b.value and a.value != c.value
    assert a.method == "monte-carlo" and a.stderr == pytest.approx(math.sqrt(2 / 200_000), rel=0.05)  # Var x² = 2


def test_method_can_be_forced():
    m = cd.model("model m {\n x ~ Bernoulli(0.25)\n}")
    r = m.query("P(x = 1)", method="monte-carlo", samples=50_000)
    assert r.method == "monte-carlo" and abs(r.value - 0.25) < 4 * r.stderr
    with pytest.raises(cd.MethodError):
        cd.model("model m {\n x ~ Normal(0, 1)\n}").query("E[x]", method="exact")


def test_do_is_graph_surgery_and_sample_returns_every_variable(smoking):
    d = smoking.do(smoking=1)
    assert ("genotype", "smoking") in smoking.graph.edges
    assert ("genotype", "smoking") not in d.graph.edges
    assert ("smoking", "tar") in d.graph.edges and ("genotype", "cancer") in d.graph.edges
    assert d.graph.nodes["smoking"]["intervened"] and smoking.graph.nodes["genotype"]["latent"]
    s = d.sample(10_000, seed=0)
    assert set(s) == {"genotype", "smoking", "tar", "cancer"}
    assert all(v.shape == (10_000,) for v in s.values())
    assert np.all(s["smoking"] == 1)
    assert abs(s["tar"].mean() - 0.95) < 4 * math.sqrt(0.95 * 0.05 / 10_000)
    again = d.sample(10_000, seed=0)
    assert np.array_equal(s["cancer"], again["cancer"])


def test_numpyro_model_function_matches_the_model(smoking):
    import jax
    import numpyro
    from numpyro.infer import Predictive

    fn = smoking.numpyro()
    tr = numpyro.handlers.trace(numpyro.handlers.seed(fn, 0)).get_trace()
    assert [k for k, v in tr.items() if v["type"] == "sample"] == ["genotype", "smoking", "tar", "cancer"]
    draws = Predictive(numpyro.handlers.do(fn, {"smoking": 1.0}), num_samples=20_000)(jax.random.PRNGKey(0))
    p = float(np.mean(draws["cancer"]))
    assert abs(p - 0.635) < 4 * math.sqrt(0.635 * 0.365 / 20_000)


def test_program_with_several_models_applies_queries_to_the_model_above():
    text = "model a {\n x ~ Bernoulli(0.2)\n}\nP(x = 1)\nmodel b {\n x ~ Bernoulli(0.9)\n}\nP(x = 1)\n"
    got = [(name, r.value) for name, r in cd.run(text)]
    assert got == [("a", pytest.approx(0.2)), ("b", pytest.approx(0.9))]
    with pytest.raises(cd.CausalDSLError):
        cd.model(text)
    assert cd.model(text, name="b").query("P(x = 0)").value == pytest.approx(0.1)


def test_runtime_invalid_probability_names_the_statement():
    m = cd.model("model m {\n x ~ Binomial(3, 0.5)\n y ~ Bernoulli(0.5 + 0.3 * x)\n}")
    with pytest.raises(cd.ProbabilityError) as e:
        m.query("P(y = 1)")
    assert e.value.line == 3 and "y ~ Bernoulli(0.5 + 0.3 * x)" in str(e.value)
    with pytest.raises(cd.ProbabilityError):
        m.query("P(y = 1)", method="monte-carlo", samples=1000)


TABULATED = """model t {
    a ~ Bernoulli(0.3)
    c ~ Categorical(0.2, 0.5, 0.3)
    b ~ Bernoulli(table(a, c) { (0, 0): 0.1, (0, 1): 0.25, (0, 2): 0.4, (1, 0): 0.7, (1, 1): 0.8, (1, 2): 0.95 })
    d ~ Bernoulli(table(c, a) { (0, 0): 0.5, (1, 0): 0.6, (2, 0): 0.1, (0, 1): 0.9, (1, 1): 0.3, (2, 1): 0.2 })
    e ~ Bernoulli(table(b) { 1: 0.75, 0: 0.05 })
}"""


def test_tables_read_straight_off_equal_the_general_factor():
    """The exact engine reads a Bernoulli or Categorical probability that is a number, or a table
    of numbers in grid order, straight into its factor; every factor (and flag) it assembles from
    the model's tables equals the one the general path computes, with an intervened parent's
    values on an axis too, and a table in another order (d's parents, e's rows) takes the general
    path."""
    from causaldsl.engines.exact import ExactProgram, table_pmf

    from causaldsl.language.parser import parse_query
    from causaldsl.model.queries import plan_query

    m = cd.model(TABULATED)
    read = {}
    for q, values in (("P(e = 1, d = 1)", np.zeros(1)), ("P(e = 1 | do(a = 1))", np.ones(1))):
        s = ExactProgram(plan_query(m.ir, parse_query(q), q)).structure
        names = [g[0].name for g in s.groups]
        direct = {name: table_pmf(s.groups[g][0], s.pnames[g], [s.domain_of[p] for p in s.pnames[g]])
                  for g, name in enumerate(names)}
        assert {n for n, f in direct.items() if f is not None} == ({"a", "b", "c"} if q.startswith("P(e = 1,")
                                                                   else {"b", "c"})
        for g, name in enumerate(names):
            got = s.static_factor(g, values, {"$0": values[0]})
            general, flags = s.factor(g, values, {"$0": values[0]}, {}, np)
            np.testing.assert_array_equal(got[0], general)
            assert [np.asarray(f).tolist() for f in got[1]] == [np.asarray(f).tolist() for f in flags]
            if name == "b":
                read.setdefault("b", got)
        assert s.lifted == (["a"] if "do(a" in q else [])
    # b's factor by hand: P(b = 1 | a, c) in rows a, columns c
    b = read["b"][0]
    assert b.shape == (2, 3, 2)
    np.testing.assert_allclose(b[..., 1], [[0.1, 0.25, 0.4], [0.7, 0.8, 0.95]])
    np.testing.assert_allclose(b[..., 0], 1 - b[..., 1])
    # and the answer, by enumeration written out here
    pa, pc = {0: 0.7, 1: 0.3}, {0: 0.2, 1: 0.5, 2: 0.3}
    pb = {(0, 0): 0.1, (0, 1): 0.25, (0, 2): 0.4, (1, 0): 0.7, (1, 1): 0.8, (1, 2): 0.95}
    pd = {(0, 0): 0.5, (1, 0): 0.6, (2, 0): 0.1, (0, 1): 0.9, (1, 1): 0.3, (2, 1): 0.2}  # (c, a)
    pe = {1: 0.75, 0: 0.05}
    want = sum(pa[a] * pc[c] * (pb[a, c] if bv else 1 - pb[a, c]) * pd[c, a] * pe[bv]
               for a in (0, 1) for c in (0, 1, 2) for bv in (0, 1))
    assert m.query("P(e = 1, d = 1)").value == pytest.approx(want, abs=1e-12)
    do_a = sum(pc[c] * (pb[1, c] * pe[1] + (1 - pb[1, c]) * pe[0]) for c in (0, 1, 2))
    assert m.query("P(e = 1 | do(a = 1))").value == pytest.approx(do_a, abs=1e-12)


def test_held_value_alone_decides_validity_in_compiled_and_numpy_answers():
    # y's mechanism is a probability only for x <= 1. The exact engine tabulates y over every
    # value of the intervened x and picks the held one at run time: do(x = 0) and do(x = 1)
    # must answer, by hand, 0.5 and 0.8, and do(x = 2) (1.1) must be an error, in the first
    # (NumPy) answer and in the compiled one alike. A counterfactual keeps the factual world,
    # where x = 2 is one of x's values: an error there too, as it always was.
    from causaldsl.engines.exact import wait_compiled

    src = "model m {\n x ~ Categorical(0.5, 0.5, 0)\n y ~ Bernoulli(0.5 + 0.3 * x)\n}"
    m = cd.model(src)
    ok = cd.model(src.replace("0.5 + 0.3 * x", "0.5 + 0.15 * x"))
    for step in range(2):  # the first pass answers in NumPy (asking again compiles), the second
        # from the compiled programs
        assert all((p.tier == "compiled") == (step == 1) for p in [*m.engine.exact.values(), *ok.engine.exact.values()])
        for v, want in ((0, 0.5), (1, 0.8)):
            assert m.query(f"P(y = 1 | do(x = {v}))").value == pytest.approx(want)
        with pytest.raises(cd.ProbabilityError) as e:
            m.query("P(y = 1 | do(x = 2))")
        assert e.value.line == 3
        for _ in range(2):  # asked twice, so that this structure compiles too
            with pytest.raises(cd.ProbabilityError):
                m.query("P(y[x = 0] = 1 | x = 1, y = 1)")
        # valid everywhere: P(y[x=0] = 1 | x = 1, y = 1) = P(u < 0.5 | u < 0.8) = 0.625
        assert ok.query("P(y[x = 0] = 1 | x = 1, y = 1)").value == pytest.approx(0.5 / 0.65)
        # P(u < 0.8 | u >= 0.5) = 0.3 / 0.5
        assert ok.query("P(y[x = 2] = 1 | x = 0, y = 0)").value == pytest.approx(0.6)
        assert ok.query("P(y[x = 2] = 1 | x = 0, y = 1)").value == pytest.approx(1.0)
        wait_compiled()


def test_compiled_answers_follow_the_values_past_the_device_copies_kept():
    # The compiled program keeps the query's values on the device, by their bytes, up to a bound
    # (64). Answers for more values than that, asked twice in turn, must each
    # be the closed form P(y = 1 | do(x = k)) = k / 100; with evidence on y's child z, Bayes' rule.
    from causaldsl.engines.exact import wait_compiled

    m = cd.model("model m {\n x ~ Binomial(100, 0.5)\n y ~ Bernoulli(x / 100)\n z ~ Bernoulli(0.2 + 0.6 * y)\n}")
    m.query("P(y = 1 | do(x = 0))")
    m.query("P(y = 1 | do(x = 0))")  # asked again, the structure compiles (in the background)
    wait_compiled()
    assert [p.tier for p in m.engine.exact.values()] == ["compiled"]
    ks = range(64 + 20)
    for _ in range(2):
        for k in ks:
            assert m.query(f"P(y = 1 | do(x = {k}))").value == pytest.approx(k / 100, abs=1e-12)
    # with evidence on z: P(y = 1 | do(x = k), z = 1) = q 0.8 / (q 0.8 + (1 - q) 0.2), q = k / 100
    for k in (3, 50, 97):
        q = k / 100
        want = q * 0.8 / (q * 0.8 + (1 - q) * 0.2)
        assert m.query(f"P(y = 1 | do(x = {k}), z = 1)").value == pytest.approx(want, abs=1e-12)


def test_cli_run_and_check(capsys, tmp_path):
    from causaldsl.cli import main

    assert main(["run", str(SMOKING)]) == 0
    out = capsys.readouterr().out
    assert "P(cancer = 1 | do(smoking = 1))" in out and "0.635" in out and "exact" in out
    assert main(["check", str(SMOKING)]) == 0
    bad = tmp_path / "bad.causal"
    bad.write_text("model m {\n x ~ Bernouli(0.5)\n}\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "Bernoulli" in err   # FILE:LINE:COL: editors jump there
    assert main(["run", str(tmp_path / "missing.causal")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def test_cli_reports_monte_carlo_standard_error(capsys, tmp_path):
    from causaldsl.cli import main

    f = tmp_path / "g.causal"
    f.write_text("model g {\n x ~ Normal(1, 2)\n}\nE[x * x]\n")  # E[x] is exact (Gaussian)
    assert main(["run", str(f), "--samples", "10000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "±" in out and "monte-carlo" in out


PRIMER = """
# Pearl, Glymour & Jewell, Causal Inference in Statistics: A Primer (2016), section 4.2.3:
# encouragement X, homework H, exam score Y, with independent standardised noise.
model primer {
    latent ux ~ Normal(0, 1)
    latent uh ~ Normal(0, 1)
    latent uy ~ Normal(0, 1)
    x := ux
    h := 0.5 * x + uh
    y := 0.7 * x + 0.4 * h + uy
}
"""


def test_primer_counterfactual_with_explicit_noise():
    # Observed X = 0.5, H = 1, Y = 1.5 fixes every noise term: u_x = 0.5, u_h = 0.75,
    # u_y = 0.75, so Y had H been 2 is 0.7 * 0.5 + 0.4 * 2 + 0.75 = 1.90 (the book's answer).
    m = cd.model(PRIMER)
    r = m.query("E[y[h = 2] | x = 0.5, h = 1, y = 1.5]")
    assert r.method == "monte-carlo"
    assert r.value == pytest.approx(1.90, abs=1e-9)
    # The effect of X on Y for this unit: direct 0.7 plus indirect 0.5 * 0.4.
    assert m.query("E[y[x = 1] - y[x = 0] | x = 0.5, y = 1.0]").value == pytest.approx(0.9, abs=1e-9)
    # Interventional mean: E[Y | do(H = 2)] = 0.4 * 2 (X and U_Y have mean 0).
    r = m.query("E[y | do(h = 2)]")  # linear-Gaussian: exact
    assert r.value == pytest.approx(0.8, abs=1e-12) and r.method == "exact (gaussian)"
    r = m.query("E[y | do(h = 2)]", method="monte-carlo")
    assert abs(r.value - 0.8) < 4 * r.stderr and r.stderr < 0.01


def test_conditioning_on_a_nonlinear_deterministic_variable_is_refused():
    m = cd.model("model m {\n latent u ~ Normal(0, 1)\n x := u * u\n}")
    with pytest.raises(cd.QueryError) as e:
        m.query("E[u | x = 1]")
    assert e.value.line == 3 and "noise" in str(e.value)


def test_gaussian_conditioning_and_comonotone_counterfactual():
    m = cd.model("model g {\n z ~ Normal(0, 1)\n x ~ Normal(0.8 * z, 1)\n y ~ Normal(2 * x + 1.5 * z, 0.5)\n}")
    # z | x = 1 is Normal with mean 0.8 / 1.64, so E[y | x = 1] = 2 + 1.5 * 0.8 / 1.64.
    r = m.query("E[y | x = 1]", method="monte-carlo")
    assert abs(r.value - (2 + 1.5 * 0.8 / 1.64)) < 4 * r.stderr and r.stderr < 0.01
    assert r.conditioning == "likelihood weighting" and 0 < r.ess <= 200_000
    exact = m.query("E[y | x = 1]")  # by default: Gaussian conditioning, exactly
    assert exact.method == "exact (gaussian)" and exact.value == pytest.approx(2 + 1.5 * 0.8 / 1.64, abs=1e-12)
    # Shared Normal noise: y[x = 0] = y - 2 * (x - 0) for every unit.
    assert m.query("E[y[x = 0] | x = 1, y = 3]").value == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name,params", [
    ("Normal", (0.5, 2.0)), ("LogNormal", (0.0, 0.5)), ("StudentT", (2.5, 1.0, 2.0)),
    ("Uniform", (-1.0, 3.0)), ("Exponential", (1.5,)), ("Gamma", (2.5, 1.5)), ("Beta", (0.5, 3.0)),
])
def test_continuous_quantiles_invert_their_cdfs(name, params):
    import jax.numpy as jnp
    from causaldsl.model.distributions import FAMILIES

    fam = FAMILIES[name]
    u = jnp.linspace(0.001, 0.999, 41)
    ps = tuple(jnp.full(u.shape, p) for p in params)
    assert np.allclose(np.asarray(fam.cdf(ps, fam.quantile(ps, u))), np.asarray(u), atol=1e-7)


@pytest.mark.parametrize("name,params,kmax", [("Poisson", (4.0,), None), ("Binomial", (10.0, 0.3), 10),
                                              ("Bernoulli", (0.3,), 1), ("Categorical", (0.2, 0.5, 0.3), 2)])
def test_discrete_quantiles_are_the_generalised_inverse(name, params, kmax):
    # F^-1(u) = min{k : F(k) > u}: F(q - 1) <= u < F(q)
    import jax.numpy as jnp
    from causaldsl.model.distributions import FAMILIES

    fam = FAMILIES[name]
    u = jnp.linspace(0.0005, 0.9995, 57)
    ps = tuple(jnp.full(u.shape, p) for p in params)
    q = fam.quantile(ps, u, kmax)
    assert np.all(np.asarray(fam.cdf(ps, q)) > np.asarray(u))
    assert np.all(np.asarray(fam.cdf(ps, q - 1)) <= np.asarray(u))


def test_location_families_counterfactuals_shift_by_the_location():
    m = cd.model("model s {\n x ~ Bernoulli(0.5)\n t ~ StudentT(3, 2 * x, 1)\n g ~ Normal(3 * x, 2)\n}")
    for var, shift in (("t", 2.0), ("g", 3.0)):
        r = m.query(f"E[{var}[x = 1] - {var}[x = 0]]", samples=20_000)
        assert r.value == pytest.approx(shift, abs=1e-6)


PRUNED = """model p {
    a ~ Bernoulli(0.3)
    b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.9 })
    y ~ Bernoulli(table(b) { 0: 0.1, 1: 0.6 })
    z ~ Bernoulli(0.4)
    w ~ Bernoulli(table(z) { 0: 0.5, 1: 0.7 })
    k ~ Bernoulli(0)
}"""


def test_observed_variables_cut_the_network_and_answers_stay_exact():
    """Past an observed b, a and b's own table multiply numerator and denominator alike and are left
    out (b held at its value); w, independent of y, goes with z; each answer is the enumeration's."""
    from causaldsl.engines.exact import ExactProgram
    from causaldsl.language.parser import parse_query
    from causaldsl.model.queries import plan_query

    m = cd.model(PRUNED)
    q = "P(y = 1 | b = 1, w = 1)"
    s = ExactProgram(plan_query(m.ir, parse_query(q), q)).structure
    assert sorted(n.name for n in s.nodes) == ["y"] and list(s.fixed) == ["b"] and s.evidence == ()
    assert m.query(q).value == pytest.approx(0.6, abs=1e-12)
    # a is not cut off from y when b is not observed: P(a = 1 | y = 1) by Bayes' rule
    py_a = {a: sum((pb if bv else 1 - pb) * (0.6 if bv else 0.1) for bv, pb in ((1, (0.2, 0.9)[a]), (0, (0.2, 0.9)[a])))
            for a in (0, 1)}
    want = 0.3 * py_a[1] / (0.3 * py_a[1] + 0.7 * py_a[0])
    assert m.query("P(a = 1 | y = 1, w = 0)").value == pytest.approx(want, abs=1e-12)


def test_evidence_of_probability_zero_is_still_an_error_where_it_is_cut_off():
    """k = 1 has probability 0 and k is independent of y: its table is not positive, so its component
    is kept and the answer is refused, not P(y = 1)."""
    m = cd.model(PRUNED)
    with pytest.raises(cd.CausalDSLError, match="probability"):
        m.query("P(y = 1 | k = 1)")
    assert m.query("P(y = 1 | k = 0)").value == pytest.approx(0.7 * (0.8 * 0.1 + 0.2 * 0.6) + 0.3 * (0.1 * 0.1 + 0.9 * 0.6))
