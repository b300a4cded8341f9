"""Derivations (causaldsl.graphs.derivation): every step is right in number, every licence holds.

Each case builds a random binary model with the causal structure of a textbook graph
(latent parents for the bidirected edges), identifies the effect from the observed
graph, and checks that the expression after *every* step of the derivation,
evaluated on that model (interventional terms from the intervened model), equals the
model's own interventional answer, and that each licensing independence is a
d-separation that holds in its named graph (and fails once the graph is not mutilated,
where that is what makes the rule necessary).
"""

import itertools

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.graphs.admg import ADMG
from causaldsl.graphs.derivation import Independence
from causaldsl.graphs.analysis import d_separated
from causaldsl.graphs.identify import identify


def random_model(name: str, parents: dict, latent=(), seed: int = 0) -> cd.CausalModel:
    """A binary model: each node a Bernoulli with a random table over its parents (topological dict)."""
    rng = np.random.default_rng(seed)
    lines = [f"model {name} {{"]
    for v, ps in parents.items():
        kw = "latent " if v in latent else ""
        if not ps:
            lines.append(f"    {kw}{v} ~ Bernoulli({rng.uniform(0.2, 0.8):.4f})")
            continue
        rows = []
        for combo in itertools.product((0, 1), repeat=len(ps)):
            key = combo[0] if len(ps) == 1 else "(" + ", ".join(map(str, combo)) + ")"
            rows.append(f"{key}: {rng.uniform(0.05, 0.95):.4f}")
        lines.append(f"    {kw}{v} ~ Bernoulli(table({', '.join(ps)}) {{ {', '.join(rows)} }})")
    return cd.model("\n".join(lines + ["}"]))


FRONT_DOOR = dict(u=[], x=["u"], m=["x"], y=["m", "u"])
NAPKIN = dict(u1=[], u2=[], w1=["u1", "u2"], w2=["w1"], x=["w2", "u1"], y=["x", "u2"])
BACK_DOOR = dict(z=[], x=["z"], y=["x", "z"])


def observed_graph(m) -> ADMG:
    return m.causal_graph.admg


@pytest.mark.parametrize("seed", [0, 1])
def test_front_door_derivation_is_right_at_every_step(seed):
    m = random_model("fd", FRONT_DOOR, latent=["u"], seed=seed)
    est = m.identify("P(y | do(x))")
    d = est.derivation
    assert est.rule == "front-door"
    rules = [s.rule for s in d.steps if s.rule]
    assert rules == [2, 2, 3, 2, 3]  # Pearl's three tasks: rule 2; rules 2 and 3; rules 2 and 3
    assert [str(i) for i in d.independences()] == [
        "(m ⊥ x) in G_{under(x)}", "(y ⊥ m | x) in G_{bar(x), under(m)}", "(y ⊥ x | m) in G_{bar(x, m)}",
        "(y ⊥ m | x) in G_{under(m)}", "(x ⊥ m) in G_{bar(m)}"]
    for i in d.independences():
        assert i.holds()
    # Without the mutilation the first three fail: the rules are doing work.
    g = observed_graph(m)
    assert not d_separated(g, ["y"], ["m"], ["x"])           # y <-> x -> m ... y given x: m -> y open
    assert not d_separated(g, ["m"], ["x"], [])
    assert not d_separated(g, ["y"], ["x"], ["m"])           # x <-> y
    for x in (0, 1):
        truth = m.query(f"P(y = 1 | do(x = {x}))").value
        got = d.evaluate(m, {"x": x, "y": 1})
        assert len(got) == 8
        np.testing.assert_allclose(got, truth, atol=1e-12)
    assert d.steps[-1].expr == est.formula


def test_napkin_derivation_follows_id_lines():
    m = random_model("napkin", NAPKIN, latent=["u1", "u2"], seed=3)
    est = m.identify("P(y | do(x))")
    assert est.rule == "ID" and est.arbitrary == ("w2",)
    d = est.derivation
    assert [s.line for s in d.steps if s.line] == [3, 7, 2, 6]
    assert str(d.independences()[0]) == "(y ⊥ w1, w2 | x) in G_{bar(w1, w2, x)}"
    assert str(d.independences()[1]) == "(y ⊥ w1 | x) in G[{w1, x, y}]_{bar(w1, x)}"
    for i in d.independences():
        assert i.holds()
    truth = {x: m.query(f"P(y = 1 | do(x = {x}))").value for x in (0, 1)}
    assert abs(truth[1] - truth[0]) > 1e-3
    for x, w2 in itertools.product((0, 1), (0, 1)):  # w2 is arbitrary: every value gives the answer
        got = d.evaluate(m, {"x": x, "y": 1, "w2": w2})
        np.testing.assert_allclose(got, truth[x], atol=1e-12)
    # The observational answer differs, so the check can fail.
    assert abs(m.query("P(y = 1 | x = 1)").value - truth[1]) > 1e-3


@pytest.mark.parametrize("seed", [0, 5])
def test_back_door_derivation(seed):
    m = random_model("bd", BACK_DOOR, seed=seed)
    est = m.identify("P(y | do(x))")
    d = est.derivation
    assert est.rule == "back-door"
    assert [(s.how, str(s.independence)) for s in d.steps[2:]] == [
        ("rule 2", "(y ⊥ x | z) in G_{under(x)}"), ("rule 3", "(z ⊥ x) in G_{bar(x)}")]
    assert all(i.holds() for i in d.independences())
    assert not d_separated(observed_graph(m), ["y"], ["x"], ["z"])
    truth = m.query("P(y = 1 | do(x = 1))").value
    np.testing.assert_allclose(d.evaluate(m, {"x": 1, "y": 1}), truth, atol=1e-12)
    assert abs(m.query("P(y = 1 | x = 1)").value - truth) > 1e-3


def test_idc_derivation_moves_conditions_by_rule_2():
    m = random_model("idc", dict(z=[], x=[], y=["x", "z"]), seed=2)
    d = m.identify("P(y | do(x), z)").derivation
    assert d.steps[1].how == "rule 2" and str(d.steps[1].independence) == "(y ⊥ z | x) in G_{bar(x), under(z)}"
    truth = m.query("P(y = 1 | do(x = 1), z = 0)").value
    np.testing.assert_allclose(d.evaluate(m, {"x": 1, "y": 1, "z": 0}), truth, atol=1e-12)


def test_hedge_derivation_stops_at_line_5():
    est = identify(ADMG.from_edges([("x", "y")], [("x", "y")]), "y", "x")
    d = est.derivation
    assert not d.ok and d.steps[-1].line == 5 and "not identifiable" in d.text


def test_a_false_independence_is_reported_false():
    g = ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")])
    assert not Independence(("y",), ("x",), (), g).holds()
    assert Independence(("y",), ("x",), ("m",), g, bar=("m", "x")).holds()


def test_derivation_displays():
    g = cd.graph("graph fd {\n smoking -> tar -> cancer\n smoking <-> cancer\n}")
    d = g.identify("P(cancer | do(smoking))").derivation
    md = d._repr_markdown_()
    assert md.count("$$") == 2 and r"\begin{aligned}" in md
    assert r"(tar \perp\!\!\!\perp smoking) \text{ in } G_{\underline{smoking}}" in md
    assert r"\mathrm{do}(smoking)" in d.latex
    assert d._repr_latex_().startswith("$$")
    text = str(d)
    assert text.splitlines()[0] == "P(cancer | do(smoking))   [front-door criterion (Pearl 1995)]"
    assert "  = Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')" in text


def test_estimand_latex_says_which_variables_are_arbitrary():
    napkin = ADMG.from_edges([("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")])
    est = identify(napkin, "y", "x")
    assert est._repr_latex_().startswith(r"$$P(y \mid \mathrm{do}(x)) = \frac{")
    assert est._repr_latex_().endswith(r"\qquad \text{for any value of } w2$$")
    fd = identify(ADMG.from_edges([("x", "m"), ("m", "y")], [("x", "y")]), "y", "x")
    assert fd.arbitrary == ()  # m and x' are summed (bound), not arbitrary
    assert "for any" not in fd._repr_latex_()


def test_cli_prints_derivations_with_a_flag(tmp_path, capsys):
    from causaldsl.cli import main

    f = tmp_path / "fd.causal"
    f.write_text("graph fd {\n smoking -> tar -> cancer\n smoking <-> cancer\n}\n"
                 "identify P(cancer | do(smoking))\n")
    assert main(["run", str(f)]) == 0
    assert "rule 2" not in capsys.readouterr().out
    assert main(["run", "--derivation", str(f)]) == 0
    out = capsys.readouterr().out
    assert "(rule 3: (cancer ⊥ smoking | tar) in G_{bar(smoking, tar)}" in out
    assert out.count("  = ") == 7


def test_id_lines_4_2_6_7_1_on_a_joint_effect():
    m = random_model("fd2", FRONT_DOOR, latent=["u"], seed=7)
    est = m.identify("P(m, y | do(x))")
    assert est.rule == "ID"
    d = est.derivation
    assert [s.line for s in d.steps if s.line] == [4, 2, 6, 7, 2, 1]
    assert "Σ_{}" not in d.text
    assert all(i.holds() for i in d.independences()) and len(d.independences()) == 2
    for x, mm, y in itertools.product((0, 1), repeat=3):
        truth = m.query(f"P(m = {mm}, y = {y} | do(x = {x}))").value
        np.testing.assert_allclose(d.evaluate(m, {"x": x, "m": mm, "y": y}), truth, atol=1e-12)


def _random_structure(seed: int, n: int = 5, latents: int = 2) -> tuple:
    """A random DAG over v0..v{n-1} (topological by index) plus latent parents of random pairs."""
    rng = np.random.default_rng(seed)
    parents = {}
    for i in range(latents):
        parents[f"u{i}"] = []
    for j in range(n):
        ps = [f"v{i}" for i in range(j) if rng.random() < 0.45]
        parents[f"v{j}"] = ps
    for i in range(latents):
        a, b = rng.choice(n, 2, replace=False)
        for v in (f"v{a}", f"v{b}"):
            parents[v] = parents[v] + [f"u{i}"]
    order = [f"u{i}" for i in range(latents)] + [f"v{j}" for j in range(n)]
    return {v: parents[v][:3] for v in order}, [f"u{i}" for i in range(latents)]


# seeds whose graphs (4 latent confounders) send ID through lines 1, 2, 3, 4, 6 and 7, nested
@pytest.mark.parametrize("seed", [20, 43, 49, 64, 80, 87, 146, 169])
def test_every_step_of_random_identifications_is_right(seed):
    parents, latents = _random_structure(seed, latents=4)
    m = random_model(f"r{seed}", parents, latent=latents, seed=seed)
    checked, lines = 0, set()
    for x, y in [("v1", "v4"), ("v0", "v3"), ("v2", "v4"), ("v0", "v4")]:
        est = m.identify(f"P({y} | do({x}))")
        if not est.identifiable:
            assert not est.derivation.ok
            continue
        d = est.derivation
        assert all(i.holds() for i in d.independences())
        lines.update(s.line for s in d.steps if s.line)
        for xv, yv in itertools.product((0, 1), (1,)):
            truth = m.query(f"P({y} = {yv} | do({x} = {xv}))").value
            values = {x: xv, y: yv, **{a: 0 for a in est.arbitrary}}
            got = d.evaluate(m, values)
            np.testing.assert_allclose(np.concatenate([np.ravel(g) for g in got]), truth, atol=1e-10,
                                       err_msg=f"{est.rule}: {d.text}")
        checked += 1
    assert checked >= 1 and {2, 4, 7} <= lines
