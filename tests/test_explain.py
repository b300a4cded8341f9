"""m.explain(query): surgery, twin network, engine and the exact sum, checked by recomputation."""

from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd

TUTORIALS = Path(__file__).parent.parent / "tutorials"


@pytest.fixture(scope="module")
def smoking():
    return cd.load(TUTORIALS / "smoking.causal")


def test_do_query_shows_surgery_engine_and_the_sum(smoking):
    ex = smoking.explain("P(cancer = 1 | do(smoking = 1))")
    assert ex.rung == "doing" and ex.engine == "exact" and ex.twin is None
    assert ex.intervened == {"smoking": "1"}
    assert ex.surgery == ["do(smoking = 1) replaces 'smoking ~ Bernoulli(if genotype then 0.8 else 0.2)' by "
                          "smoking := 1 and cuts the arrows into it (genotype -> smoking)"]
    assert ex.formula.text == ("P(cancer = 1 | do(smoking = 1)) = Σ_{genotype, smoking, tar, cancer} P(genotype) · "
                               "P(tar | smoking) · P(cancer | tar, genotype) · [smoking = 1] · [cancer = 1]")
    text = str(ex)
    assert "mutilated graph: smoking -> tar, tar -> cancer, genotype -> cancer" in text
    assert "genotype -> smoking" not in text.split("mutilated graph:")[1]
    # The factor tables are the model's numbers, written here by hand ...
    (_, c), = ex.formula.parts
    tables = {f.label: f for f in c.factors}
    np.testing.assert_allclose(tables["P(genotype)"].table, [0.5, 0.5])
    np.testing.assert_allclose(tables["P(tar | smoking)"].table, [[0.95, 0.05], [0.05, 0.95]])
    p_cancer = np.array([[0.1, 0.6], [0.4, 0.9]])            # P(cancer = 1 | tar, genotype)
    np.testing.assert_allclose(tables["P(cancer | tar, genotype)"].table[..., 1], p_cancer)
    # ... and the sum, evaluated apart from the engine, is the engine's answer.
    by_hand = sum(0.5 * [0.05, 0.95][t] * p_cancer[t, g] for t in (0, 1) for g in (0, 1))
    assert ex.formula.evaluate() == pytest.approx(by_hand, abs=1e-12)
    assert ex.result.value == pytest.approx(by_hand, abs=1e-12) and by_hand == pytest.approx(0.635)


def test_counterfactual_shows_the_twin_network_and_its_sum(smoking):
    q = "P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)"
    ex = smoking.explain(q)
    assert ex.rung == "imagining" and ex.twin is not None
    assert set(ex.twin.noise) == {"U_tar", "U_cancer"}
    assert "Twin network" in str(ex) and "U_cancer feeds cancer, cancer[smoking=0]" in str(ex)
    assert ex.formula.evaluate() == pytest.approx(smoking.query(q).value, abs=1e-12)
    (_, c), = ex.formula.parts
    coupled = {f.label: f for f in c.factors}["P(tar, tar[smoking=0] | smoking, smoking[smoking=0])"]
    # comonotone coupling: both worlds' tar agree whenever smoking agrees
    assert coupled.table[1, 1, 0, 1] == 0 and coupled.table[1, 1, 1, 1] == pytest.approx(0.95)
    html = ex._repr_html_()
    assert "<svg" in html and "twin network of" in html


def test_effect_is_a_signed_sum_of_worlds(smoking):
    ex = smoking.explain("ATE(smoking -> cancer)")
    assert ex.rung == "doing" and smoking.explain("PN(smoking -> cancer)").rung == "imagining"
    assert len(ex.formula.parts) == 2 and [s for s, _ in ex.formula.parts] == [1.0, -1.0]
    assert ex.formula.evaluate() == pytest.approx(0.27, abs=1e-12)


def test_distribution_query(smoking):
    ex = smoking.explain("P(cancer)")
    np.testing.assert_allclose(ex.formula.evaluate(), [0.5, 0.5], atol=1e-12)
    assert ex.formula.parts[0][1].equation.endswith("-> cancer")


def test_continuous_query_says_why_monte_carlo():
    m = cd.load(TUTORIALS / "linear_gaussian.causal", name="lg")
    ex = m.explain("E[y * y | do(x = 1)]")  # a square: outside the linear-Gaussian engine
    assert ex.engine == "monte-carlo" and ex.formula is None
    assert ex.why.startswith("z, y are continuous or unbounded") and "200,000 draws" in ex.why
    assert "mutilated graph: x -> y, z -> y" in str(ex)
    ex = m.explain("E[y | x = 1]")
    assert ex.engine == "exact (gaussian)" and "Gaussian conditioning" in ex.why
    ex = m.explain("E[y | do(x = 1)]")  # no evidence: the Gaussian's mean, 2 + 1.5 E[z]
    assert ex.engine == "exact (gaussian)" and ex.result.value == pytest.approx(2.0, abs=1e-12)
    assert "the answer is read off the joint Normal" in ex.why


def test_html_draws_the_model_and_the_mutilated_graph(smoking):
    html = smoking.explain("P(cancer = 1 | do(smoking = 1))")._repr_html_()
    assert html.count("<svg") == 2
    assert 'data-node="smoking" data-mode="do"' in html
    assert 'data-source="genotype" data-target="smoking"' in html.split("after surgery")[0]
    assert 'data-source="genotype" data-target="smoking"' not in html.split("after surgery")[1]


def test_explain_refuses_graph_questions(smoking):
    with pytest.raises(cd.CausalDSLError) as err:
        smoking.explain("identify P(cancer | do(smoking))")
    assert "derivation" in err.value.hint


def test_line_magics_show_the_work(shell, smoking):
    pytest.importorskip("IPython")
    shell.run_cell("%%causal --quiet\n" + (TUTORIALS / "smoking.causal").read_text().split("\nP(")[0],
                   store_history=False)
    ex = shell.run_line_magic("causal", "explain P(cancer = 1 | do(smoking = 1))")
    assert ex.formula.evaluate() == pytest.approx(0.635, abs=1e-12)
    d = shell.run_line_magic("causal", "derivation P(cancer | do(smoking))")
    assert [s.rule for s in d.steps if s.rule] == [2, 2, 3, 2, 3]
    src = shell.run_line_magic("causal", "numpyro")
    assert "numpyro.sample(\"tar\"" in src and src._repr_markdown_().startswith("```python")


def test_cli_explain_and_numpyro(capsys, tmp_path):
    from causaldsl.cli import main

    f = TUTORIALS / "smoking.causal"
    assert main(["explain", str(f), "P(cancer = 1 | do(smoking = 1))"]) == 0
    out = capsys.readouterr().out
    assert "Surgery:" in out and "P(tar | smoking) · P(cancer | tar, genotype) · [smoking = 1]" in out
    assert main(["explain", str(f), "identify P(cancer | do(smoking))"]) == 0
    assert "rule 3: (cancer ⊥ smoking | tar) in G_{bar(smoking, tar)}" in capsys.readouterr().out
    assert main(["numpyro", str(f), "P(cancer = 1 | do(smoking = 1))"]) == 0
    src = capsys.readouterr().out
    ns: dict = {}
    exec(compile(src, "<cli numpyro>", "exec"), ns)  # generated from our IR, not user text
    assert abs(ns["estimate"] - 0.635) < 5 * (0.635 * 0.365 / 100_000) ** 0.5
    bad = tmp_path / "two.causal"
    bad.write_text("model a {\n x ~ Bernoulli(0.5)\n}\nmodel b {\n x ~ Bernoulli(0.5)\n}\n")
    assert main(["explain", str(bad), "P(x = 1)"]) == 1
    assert "pick one with --model NAME: a, b" in capsys.readouterr().err


CHAIN = """model m {
  a ~ Bernoulli(0.3)
  b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.9 })
  y ~ Bernoulli(table(b) { 0: 0.1, 1: 0.6 })
  z ~ Bernoulli(0.4)
}"""


def test_explain_names_the_evidence_the_relevance_cut_left_out(tmp_path, capsys):
    # z is no ancestor of y nor joined to it: observing it changes nothing, and the sum drops it.
    m = cd.model(CHAIN)
    ex = m.explain("P(y = 1 | a = 1, z = 1)")
    by_hand = 0.9 * 0.6 + 0.1 * 0.1                      # Σ_b P(b | a = 1) P(y = 1 | b)
    assert ex.result.value == pytest.approx(by_hand, abs=1e-12) and ex.formula.evaluate() == pytest.approx(by_hand)
    assert ex.left_out == {"z": "1"}
    assert "z" not in ex.formula.parts[0][1].equation
    line = "left out: z = 1, d-separated from y given a: its factors multiply the numerator and the denominator alike"
    assert line in str(ex) and line in ex._repr_html_()
    assert "Lauritzen et al. 1990, Prop. 3" in ex.cut
    # a chain: given b, a is separated from y too
    ex = m.explain("P(y = 1 | a = 1, b = 0)")
    assert ex.left_out == {"a": "1"} and "left out: a = 1, d-separated from y given b:" in str(ex)
    assert ex.result.value == pytest.approx(0.1, abs=1e-12)
    # nothing cut, nothing said: both observed variables reach b
    ex = m.explain("P(b = 1 | a = 1, y = 1)")
    assert ex.left_out == {} and "left out" not in str(ex) and "left out" not in ex._repr_html_()
    assert ex.result.value == pytest.approx(0.9 * 0.6 / (0.9 * 0.6 + 0.1 * 0.1), abs=1e-12)
    # the CLI prints the same line
    from causaldsl.cli import main

    f = tmp_path / "chain.causal"
    f.write_text(CHAIN + "\n")
    assert main(["explain", str(f), "P(y = 1 | a = 1, z = 1)"]) == 0
    assert "left out: z = 1, d-separated from y given a" in capsys.readouterr().out


def test_explain_on_asia_names_the_separated_evidence():
    pgmpy = pytest.importorskip("pgmpy")
    asia = cd.from_bif(Path(pgmpy.__file__).parent / "utils/example_models/asia.bif.gz")
    # P(tub | asia, smoke): smoke only reaches tub through either, which is not observed and not an
    # ancestor of the question, so it is left out; asia is kept (held at its value, tub's parent).
    ex = asia.explain("P(tub = yes | asia = yes, smoke = yes)")
    assert ex.result.value == pytest.approx(0.05, abs=1e-12)      # the BIF's P(tub = yes | asia = yes)
    assert ex.left_out == {"smoke": "yes"}
    assert "left out: smoke = yes, d-separated from tub given asia:" in str(ex)
    # P(bronc | smoke, asia): asia goes, smoke stays
    ex = asia.explain("P(bronc = yes | smoke = yes, asia = yes)")
    assert ex.result.value == pytest.approx(0.6, abs=1e-12) and ex.left_out == {"asia": "yes"}
    assert "left out: asia = yes, d-separated from bronc given smoke:" in str(ex)
    # dysp's question reaches both through either's and dysp's tables: nothing is left out
    ex = asia.explain("P(dysp = yes | smoke = yes, asia = yes)")
    assert ex.left_out == {} and "left out" not in str(ex)
