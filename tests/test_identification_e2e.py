"""Identification from the user's side: DSL text, Python calls, data, errors.

The self-check: an identified estimand, evaluated on a model's own observational
distribution, must equal that model's interventional answer exactly.
"""

from __future__ import annotations

import csv
import itertools
import random
from collections import Counter

import networkx as nx
import numpy as np
import pytest

import causaldsl as cd
from causaldsl.cli import main

# ------------------------------------------------------------------ random models with latents


def _table(r: random.Random, parents: list[str]) -> str:
    if not parents:
        return f"{r.uniform(0.1, 0.9):.3f}"
    rows = []
    for key in itertools.product((0, 1), repeat=len(parents)):
        k = f"({', '.join(map(str, key))})" if len(parents) > 1 else str(key[0])
        rows.append(f"{k}: {r.uniform(0.05, 0.95):.3f}")
    return f"table({', '.join(parents)}) {{ {', '.join(rows)} }}"


def random_model(seed: int) -> tuple[str, list[str], nx.DiGraph]:
    """A binary model over observed v0..v{n-1} with 1-2 latent confounders."""
    r = random.Random(seed)
    n = r.randint(4, 6)
    obs = [f"v{i}" for i in range(n)]
    parents = {v: [p for p in obs[:i] if r.random() < 0.45] for i, v in enumerate(obs)}
    latents = {}
    for j in range(r.randint(1, 2)):
        kids = r.sample(obs, 2)
        latents[f"u{j}"] = kids
        for k in kids:
            parents[k].append(f"u{j}")
    lines = [f"latent {u} ~ Bernoulli({r.uniform(0.2, 0.8):.3f})" for u in latents]
    lines += [f"{v} ~ Bernoulli({_table(r, parents[v])})" for v in obs]
    dag = nx.DiGraph([(p, v) for v in obs for p in parents[v]])
    dag.add_nodes_from(obs)
    return "model m {\n    " + "\n    ".join(lines) + "\n}\n", obs, dag


CASES = []
for _seed in range(70):
    _text, _obs, _dag = random_model(_seed)
    _r = random.Random(1000 + _seed)
    _x = _r.choice(_obs[:-1])
    _later = [v for v in _obs if v in nx.descendants(_dag, _x)] or [_obs[-1]]
    _y = _r.choice(_later)
    CASES.append((_seed, _text, _x, _y))


@pytest.mark.parametrize("seed,text,x,y", CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_estimand_evaluated_on_the_model_equals_its_interventional_answer(seed, text, x, y):
    m = cd.model(text)
    est = m.identify(f"P({y} = 1 | do({x} = 1))")
    if not est.identifiable:
        assert est.reason and est.formula is None
        return
    truth = m.query(f"P({y} = 1 | do({x} = 1))").value
    assert est.evaluate(m) == pytest.approx(truth, abs=1e-9), (text, str(est))
    # Without values: a table over the query's variables, keyed by their values.
    table = m.identify(f"P({y} | do({x}))").evaluate(m)
    for (yv, xv), p in table.items():
        assert p == pytest.approx(m.query(f"P({y} = {yv:g} | do({x} = {xv:g}))").value, abs=1e-9)


def test_every_rule_is_exercised_by_the_random_models():
    rules = Counter(cd.model(text).identify(f"P({y} | do({x}))").rule for _, text, x, y in CASES)
    assert rules["back-door"] >= 5 and rules["not identifiable"] >= 1
    assert rules["front-door"] + rules["ID"] >= 1, rules


FRONT_DOOR = """
model fd {
    latent u ~ Bernoulli(0.4)
    x ~ Bernoulli(table(u) { 0: 0.2, 1: 0.8 })
    m ~ Bernoulli(table(x) { 0: 0.1, 1: 0.7 })
    y ~ Bernoulli(table(m, u) { (0, 0): 0.1, (0, 1): 0.5, (1, 0): 0.4, (1, 1): 0.9 })
}
"""

NAPKIN = """
model napkin {
    latent a ~ Bernoulli(0.3)
    latent b ~ Bernoulli(0.6)
    w1 ~ Bernoulli(table(a, b) { (0, 0): 0.2, (0, 1): 0.7, (1, 0): 0.4, (1, 1): 0.9 })
    w2 ~ Bernoulli(table(w1) { 0: 0.3, 1: 0.8 })
    x ~ Bernoulli(table(w2, a) { (0, 0): 0.1, (0, 1): 0.6, (1, 0): 0.5, (1, 1): 0.95 })
    y ~ Bernoulli(table(x, b) { (0, 0): 0.2, (0, 1): 0.55, (1, 0): 0.45, (1, 1): 0.85 })
}
"""


@pytest.mark.parametrize("text,x,y,rule", [(FRONT_DOOR, "x", "y", "front-door"), (NAPKIN, "x", "y", "ID")])
def test_front_door_and_napkin_models(text, x, y, rule):
    m = cd.model(text)
    est = m.identify(f"P({y} = 1 | do({x} = 0))")
    assert est.rule == rule
    assert est.evaluate(m) == pytest.approx(m.query(f"P({y} = 1 | do({x} = 0))").value, abs=1e-12)


def test_conditional_and_joint_queries_through_the_language():
    m = cd.model("""
model c {
    latent u ~ Bernoulli(0.5)
    z ~ Bernoulli(0.4)
    x ~ Bernoulli(table(z) { 0: 0.3, 1: 0.7 })
    y1 ~ Bernoulli(table(x, z) { (0, 0): 0.1, (0, 1): 0.5, (1, 0): 0.6, (1, 1): 0.9 })
    y2 ~ Bernoulli(table(y1, u) { (0, 0): 0.2, (0, 1): 0.4, (1, 0): 0.7, (1, 1): 0.8 })
    w ~ Bernoulli(table(u) { 0: 0.3, 1: 0.9 })
}""")
    est = m.identify("P(y1 = 1 | do(x = 1), z = 0)")
    assert est.identifiable
    assert est.evaluate(m) == pytest.approx(m.query("P(y1 = 1 | do(x = 1), z = 0)").value, abs=1e-12)
    joint = m.identify("P(y1 = 1, y2 = 0 | do(x = 0))")
    assert joint.evaluate(m) == pytest.approx(m.query("P(y1 = 1, y2 = 0 | do(x = 0))").value, abs=1e-12)


# ------------------------------------------------------------------ graphs in the language
SMOKING_FORMULA = "Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')"


def test_graph_blocks_identify_and_explain():
    g = cd.graph("graph fd {\n    smoking -> tar -> cancer\n    smoking <-> cancer\n}")
    est = g.identify("P(cancer | do(smoking))")
    assert est.rule == "front-door" and str(est) == SMOKING_FORMULA
    assert est._repr_latex_().startswith("$") and r"\sum" in est._repr_latex_()
    napkin = cd.graph("graph napkin {\n W1 -> W2 -> X -> Y\n W1 <-> X\n W1 <-> Y\n}")
    assert napkin.identify("P(Y | do(X))").rule == "ID"
    bow = cd.graph("graph bow {\n X -> Y\n X <-> Y\n}").identify("P(Y | do(X))")
    assert not bow.identifiable and "X <-> Y" in bow.reason


def test_report_and_cli_answer_graph_questions(tmp_path, capsys):
    text = """graph iv {
    Z -> X -> Y
    X <-> Y
}
identify P(Y | do(X))
Z _||_ Y
Z _||_ Y | X
adjustment(X -> Y)
instruments(X -> Y)
independences
admg
"""
    path = tmp_path / "iv.causal"
    path.write_text(text)
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "not identifiable" in out
    assert "Z _||_ Y  " in out or "Z _||_ Y " in out
    assert "false, open path: Z -> X -> Y" in out
    assert "no back-door adjustment set exists" in out
    assert "X <-> Y" in out


def test_dsep_answers_agree_with_networkx_on_the_latent_dag():
    text, obs, dag = random_model(3)
    m = cd.model(text)
    r = random.Random(5)
    for _ in range(40):
        a, b = r.sample(obs, 2)
        zs = [v for v in obs if v not in (a, b) and r.random() < 0.4]
        q = f"{a} _||_ {b}" + (f" | {', '.join(zs)}" if zs else "")
        ans = m.query(q)
        assert ans.value == nx.is_d_separator(dag, {a}, {b}, set(zs)), q
        if not ans.value:
            assert "open path" in ans.answer


def test_adjustment_sets_match_pgmpy():
    pytest.importorskip("pgmpy")
    from pgmpy.base import DAG
    from pgmpy.inference import CausalInference

    edges = [("z1", "x"), ("z1", "z3"), ("z2", "z3"), ("z2", "y"), ("z3", "x"), ("z3", "y"), ("x", "w"), ("w", "y")]
    g = cd.graph("graph f34 {\n" + "\n".join(f" {a} -> {b}" for a, b in edges) + "\n}")
    ours = set(g.adjustment_sets("x", "y"))
    theirs = {frozenset(s) for s in CausalInference(DAG(edges)).get_all_backdoor_adjustment_sets("x", "y")}
    minimal = {s for s in theirs if not any(t < s for t in theirs)}
    assert ours == minimal and len(ours) >= 2


def test_dagitty_round_trip_and_dot():
    g = cd.from_dagitty("dag { U [latent] ; U -> {X Y} ; X -> M -> Y }")
    assert g.identify("P(Y | do(X))").rule == "front-door"
    back = cd.from_dagitty(g.to_dagitty())
    assert set(back.admg.directed.edges) == set(g.admg.directed.edges)
    assert back.admg.bidirected == g.admg.bidirected
    assert "dashed" in g.to_dot()


def test_model_admg_shows_latent_confounding():
    m = cd.model(FRONT_DOOR)
    ans = m.query("admg")
    assert "x <-> y" in ans.answer and "u" not in ans.answer.split()
    assert m.causal_graph.markov_blanket("m") == {"x", "y"}


# ------------------------------------------------------------------ estimation from data
CONFOUNDED = """
model conf {
    z ~ Bernoulli(0.5)
    x ~ Bernoulli(table(z) { 0: 0.15, 1: 0.85 })
    y ~ Bernoulli(table(x, z) { (0, 0): 0.1, (0, 1): 0.6, (1, 0): 0.3, (1, 1): 0.8 })
}
"""


def _write_csv(path, data, columns):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in zip(*[data[c] for c in columns]):
            w.writerow([int(v) for v in row])


def test_plug_in_estimate_covers_the_truth_and_not_the_naive_contrast(tmp_path):
    m = cd.model(CONFOUNDED)
    truth = m.query("P(y = 1 | do(x = 1))").value
    naive = m.query("P(y = 1 | x = 1)").value
    data = m.sample(40_000, seed=1)
    est = m.identify("P(y = 1 | do(x = 1))")
    assert est.rule == "back-door"
    got = est.estimate(data)
    lo, hi = got.interval
    assert lo <= got.value <= hi and lo <= truth <= hi
    assert not lo <= naive <= hi
    path = tmp_path / "conf.csv"
    _write_csv(path, data, ["z", "x", "y"])
    assert est.estimate(str(path)).value == pytest.approx(got.value, abs=1e-12)
    pd = pytest.importorskip("pandas")
    assert est.estimate(pd.DataFrame(data)).value == pytest.approx(got.value, abs=1e-12)


def test_linear_back_door_on_continuous_data():
    m = cd.model("model lg {\n z ~ Normal(0, 1)\n x ~ Normal(0.8 * z, 1)\n y ~ Normal(2 * x + 1.5 * z, 0.5)\n}")
    data = m.sample(20_000, seed=0)
    slope = m.identify("P(y | do(x))").estimate(data, bootstrap=50)
    assert slope.value == pytest.approx(2.0, abs=0.05)
    assert slope.interval[0] <= slope.value <= slope.interval[1]
    assert "linear back-door adjustment" in slope.method
    level = m.identify("P(y | do(x = 1))").estimate(data, bootstrap=50)
    assert level.value == pytest.approx(2.0, abs=0.05)


# ------------------------------------------------------------------ bad input
def test_identify_errors_are_located_with_hints(tmp_path):
    m = cd.load(__import__("pathlib").Path(__file__).resolve().parent.parent / "tutorials" / "smoking.causal")
    with pytest.raises(cd.UnknownNameError) as e:
        m.identify("P(cancr | do(smoking))")
    assert (e.value.line, e.value.column) == (1, 3) and "cancer" in e.value.hint
    with pytest.raises(cd.QueryError) as e:
        m.identify("P(cancer = 1)")
    assert e.value.hint
    with pytest.raises(cd.CycleError) as e:
        cd.graph("graph g {\n a -> b\n b -> c\n c -> a\n}")
    assert e.value.line == 4 and "a -> b -> c -> a" in str(e.value) or "c -> a -> b -> c" in str(e.value)
    with pytest.raises(cd.CausalSyntaxError) as e:
        cd.from_dagitty("dag {\n X -> Y\n Y -- Z\n}")
    assert e.value.line == 3 and e.value.column is not None and e.value.hint
    with pytest.raises(cd.QueryError) as e:
        cd.program("graph g {\n X -> Y\n}\nP(Y = 1)\n")
    assert e.value.line == 4 and "no mechanisms" in str(e.value)
    est = cd.model(CONFOUNDED).identify("P(y = 1 | do(x = 1))")
    with pytest.raises(cd.QueryError) as e:
        est.estimate({"x": np.zeros(10), "y": np.zeros(10)})
    assert "'z'" in str(e.value) and e.value.hint
    cont = cd.model("model lg {\n z ~ Normal(0, 1)\n x ~ Bernoulli(sigmoid(z))\n y ~ Bernoulli(sigmoid(x + z))\n}")
    with pytest.raises(cd.MethodError):
        cont.identify("P(y = 1 | do(x = 1))").evaluate(cont)
