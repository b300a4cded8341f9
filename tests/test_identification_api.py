"""Identification, graph questions and estimation, end to end from the user's side.

Everything here goes through the language (DSL text) or the public Python calls
(``cd.model``, ``cd.graph``, ``cd.from_dagitty``, ``m.identify``, ``m.query``,
``est.evaluate``, ``est.estimate``, ``cd.report``, the CLI):

1. random discrete models with latent confounders, written as DSL text: every
   identifiable ``identify P(...)`` evaluated on the model's observed joint must
   equal the model's own interventional answer (back-door, front-door, ID, IDC,
   several treatments and outcomes, with and without values);
2. graph blocks, DAGitty import/export and reports;
3. graph questions checked against answers computed here independently (networkx
   d-separation on the DAG with explicit latent nodes, brute-force adjustment sets,
   pgmpy);
4. estimation from sampled data (bootstrap intervals, CSV and DataFrame input,
   linear back-door adjustment for continuous data);
5. mistakes: each raises the right error class with its position and a hint.
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
from causaldsl.cli import main as cli_main

TOL = 1e-9


# ================================================================= random DSL models

class RandomModel:
    """A random discrete model with latent confounders, as DSL text plus its structure."""

    def __init__(self, rng: random.Random, index: int, template: str):
        self.rng = rng
        self.template = template
        self.parents: dict[str, list[str]] = {}
        self.labels: dict[str, list] = {}
        self.latents: list[str] = []
        self.order: list[str] = []
        self.roles: dict[str, str] = {}
        getattr(self, "_" + template)()
        self.observed = [v for v in self.order if v not in self.latents]
        self.name = f"r{index}_{template}"
        self.source = self._write()

    # -- structure
    def _card(self, v: str, card: int | None = None) -> None:
        card = card or (2 if self.rng.random() < 0.65 else 3)
        if card == 2:
            self.labels[v] = [0, 1]
        elif self.rng.random() < 0.4:
            self.labels[v] = ["lo", "mid", "hi"]  # named levels
        else:
            self.labels[v] = [0, 1, 2]

    def _add(self, v: str, parents=(), latent=False, card=None) -> None:
        self.order.append(v)
        self.parents[v] = list(parents)
        if latent:
            self.latents.append(v)
            self.labels[v] = [0, 1]
        else:
            self._card(v, card)

    def _random(self) -> None:
        rng = self.rng
        n_lat = rng.randint(1, 3)
        n_obs = rng.randint(max(3, 4 - n_lat), 7 - n_lat)
        obs = [f"v{i}" for i in range(n_obs)]
        lats = [f"u{i}" for i in range(n_lat)]
        lat_children = {u: rng.sample(obs, rng.choice([2, 2, 3]) if n_obs >= 3 else 2) for u in lats}
        for u in lats:
            self._add(u, latent=True)
        for i, v in enumerate(obs):
            pas = [w for w in obs[:i] if rng.random() < 0.45]
            lat = [u for u in lats if v in lat_children[u]]
            # keep tables small: at most 3 parents
            while len(pas) + len(lat) > 3:
                pas.remove(rng.choice(pas)) if pas else lat.pop()
            self._add(v, pas + lat)
        # treatment and outcome: the outcome a descendant of the treatment when possible
        dag = nx.DiGraph([(p, v) for v in self.parents for p in self.parents[v]])
        dag.add_nodes_from(self.parents)
        cands = [(x, y) for x in obs for y in obs if x != y and y in nx.descendants(dag, x)]
        if not cands:
            cands = [(obs[i], obs[j]) for i in range(n_obs) for j in range(i + 1, n_obs)]
        self.roles["x"], self.roles["y"] = rng.choice(cands)

    def _extras(self, n: int, attach: list[str]) -> None:
        """``n`` extra observed variables, each a child of some of ``attach``."""
        for i in range(n):
            pas = [w for w in attach if self.rng.random() < 0.4][:2]
            self._add(f"e{i}", pas)

    def _frontdoor(self) -> None:
        self._add("u0", latent=True)
        if self.rng.random() < 0.5:
            self._add("w", [])
            self._add("x", ["w", "u0"])
        else:
            self._add("x", ["u0"])
        self._add("m", ["x"])
        self._add("y", ["m", "u0"])
        self._extras(self.rng.randint(0, 2), ["y", "m"])
        self.roles.update(x="x", y="y")

    def _napkin(self) -> None:
        self._add("u0", latent=True)
        self._add("u1", latent=True)
        self._add("w1", ["u0", "u1"])
        self._add("w2", ["w1"])
        self._add("x", ["w2", "u0"])
        self._add("y", ["x", "u1"])
        self._extras(self.rng.randint(0, 1), ["y"])
        self.roles.update(x="x", y="y")

    def _backdoor(self) -> None:
        self._add("u0", latent=True)
        self._add("z", ["u0"])
        self._add("w", ["u0"])
        self._add("x", ["z"])
        self._add("y", ["x", "z", "w"] if self.rng.random() < 0.5 else ["x", "z"])
        self._extras(self.rng.randint(0, 2), ["x", "y"])
        self.roles.update(x="x", y="y")

    # -- text
    def _probs(self, card: int) -> list[str]:
        """``card`` probabilities in hundredths, each at least 0.08, summing to 1."""
        while True:
            cuts = sorted(self.rng.sample(range(8, 93), card - 1))
            ps = [b - a for a, b in zip([0] + cuts, cuts + [100])]
            if min(ps) >= 8:
                return [f"{p / 100:.2f}" for p in ps]

    def _table(self, pas: list[str], rows: dict) -> str:
        keys = []
        for combo, p in rows.items():
            k = str(combo[0]) if len(combo) == 1 else "(" + ", ".join(str(c) for c in combo) + ")"
            keys.append(f"{k}: {p}")
        return f"table({', '.join(pas)}) {{" + ", ".join(keys) + "}"

    def _statement(self, v: str) -> str:
        pas, labels = self.parents[v], self.labels[v]
        combos = list(itertools.product(*[self.labels[p] for p in pas]))
        rows = {c: self._probs(len(labels)) for c in combos}
        latent = "latent " if v in self.latents else ""
        if len(labels) == 2:
            arg = rows[()][1] if not pas else self._table(pas, {c: ps[1] for c, ps in rows.items()})
            return f"{latent}{v} ~ Bernoulli({arg})"
        args = []
        for j, lab in enumerate(labels):
            a = rows[()][j] if not pas else self._table(pas, {c: ps[j] for c, ps in rows.items()})
            args.append(f"{lab}: {a}" if isinstance(lab, str) else a)
        return f"{latent}{v} ~ Categorical({', '.join(args)})"

    def _write(self) -> str:
        body = "\n".join("    " + self._statement(v) for v in self.order)
        return f"model {self.name} {{\n{body}\n}}\n"

    # -- helpers for queries
    def one(self, v: str):
        return self.labels[v][1]

    def zero(self, v: str):
        return self.labels[v][0]

    def dag(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.order)
        g.add_edges_from((p, v) for v in self.parents for p in self.parents[v])
        return g


def _key(value):
    """How an answer table keys a value: numbers as floats, level names as strings."""
    return value if isinstance(value, str) else float(value)


def _models() -> list[RandomModel]:
    rng = random.Random(20240611)
    templates = ["random"] * 40 + ["frontdoor"] * 10 + ["napkin"] * 6 + ["backdoor"] * 8
    return [RandomModel(rng, i, t) for i, t in enumerate(templates)]


RANDOM_MODELS = _models()


def test_random_models_are_well_formed():
    assert len(RANDOM_MODELS) >= 60
    for rm in RANDOM_MODELS:
        assert 4 <= len(rm.order) <= 7, rm.source
        assert 1 <= len(rm.latents) <= 3, rm.source
        for u in rm.latents:
            assert sum(u in rm.parents[v] for v in rm.observed) >= 2, rm.source
    # both binary and ternary observed variables, numbered and named levels
    cards = Counter(len(rm.labels[v]) for rm in RANDOM_MODELS for v in rm.observed)
    assert cards[2] > 50 and cards[3] > 20
    assert any(isinstance(rm.labels[v][0], str) for rm in RANDOM_MODELS for v in rm.observed)


def _check_table(tab: dict, truth_of, free_labels: list[list], msg: str) -> None:
    """``tab`` is keyed by tuples of values of the free variables (or one value)."""
    combos = list(itertools.product(*free_labels))
    assert len(tab) == len(combos), msg
    for combo in combos:
        key = tuple(_key(c) for c in combo)
        got = tab[key if len(key) > 1 else key[0]]
        assert got == pytest.approx(truth_of(combo), abs=TOL), msg + f" at {combo}"


def test_random_dsl_models_identification_matches_interventional_answer():
    rules = Counter()
    cond_rules = Counter()
    joint_checked = 0
    table_checked = 0
    rng = random.Random(7)
    for rm in RANDOM_MODELS:
        m = cd.model(rm.source)
        assert sorted(m.variables) == sorted(rm.order)
        x, y = rm.roles["x"], rm.roles["y"]
        msg = f"\n{rm.source}"
        x1, y1 = rm.one(x), rm.one(y)

        # ---- P(y = 1 | do(x = 1))
        q = f"P({y} = {y1} | do({x} = {x1}))"
        est = m.identify(q)
        rules[est.rule] += 1
        if est.identifiable:
            truth = m.query(q).value
            assert est.evaluate(m) == pytest.approx(truth, abs=TOL), q + " " + est.text + msg
            assert est.rule in ("back-door", "front-door", "ID")
            # other values through `values=`, and the whole table with no values
            x0 = rm.zero(x)
            truth0 = m.query(f"P({y} = {y1} | do({x} = {x0}))").value
            assert est.evaluate(m, values={x: x0}) == pytest.approx(truth0, abs=TOL), msg
            if table_checked < 15:
                table_checked += 1
                tab = m.identify(f"P({y} | do({x}))").evaluate(m)
                answers = {xv: m.query(f"P({y} | do({x} = {xv}))").value for xv in rm.labels[x]}
                _check_table(tab, lambda c: answers[c[1]][_key(c[0])], [rm.labels[y], rm.labels[x]], q + msg)
        else:
            assert est.reason and "not identifiable" in est.text
            with pytest.raises(cd.QueryError):
                est.evaluate(m)

        # ---- conditional: P(y = 1 | do(x = 1), z = 0)
        others = [v for v in rm.observed if v not in (x, y)]
        if others and rng.random() < 0.5:
            z = rng.choice(others)
            qc = f"P({y} = {y1} | do({x} = {x1}), {z} = {rm.zero(z)})"
            estc = m.identify(qc)
            cond_rules[estc.rule] += 1
            if estc.identifiable:
                assert estc.evaluate(m) == pytest.approx(m.query(qc).value, abs=TOL), qc + " " + estc.text + msg

        # ---- several treatments and outcomes: P(y1, y2 | do(x1, x2))
        if len(rm.observed) >= 4 and joint_checked < 8 and rng.random() < 0.5:
            xs_ = rng.sample(rm.observed, 2)
            rest = [v for v in rm.observed if v not in xs_]
            ys_ = rng.sample(rest, 2)
            qj = f"P({ys_[0]}, {ys_[1]} | do({xs_[0]}, {xs_[1]}))"
            estj = m.identify(qj)
            if estj.identifiable:
                joint_checked += 1
                tab = estj.evaluate(m)
                answers = {}
                for a, b in itertools.product(rm.labels[xs_[0]], rm.labels[xs_[1]]):
                    answers[(a, b)] = m.query(f"P({ys_[0]}, {ys_[1]} | do({xs_[0]} = {a}, {xs_[1]} = {b}))").value
                _check_table(tab, lambda c: answers[(c[2], c[3])][(_key(c[0]), _key(c[1]))],
                             [rm.labels[v] for v in ys_ + xs_], qj + " " + estj.text + msg)

    # a good share of each rule
    assert rules["back-door"] >= 8, rules
    assert rules["front-door"] >= 8, rules
    assert rules["ID"] >= 5, rules
    assert rules["not identifiable"] >= 3, rules
    assert sum(cond_rules[r] for r in ("back-door", "IDC", "ID")) >= 10, cond_rules
    assert table_checked >= 15
    assert joint_checked >= 8


def test_conditional_identify_in_a_fixed_model():
    # z is a pre-treatment covariate on the back-door path; P(y | do(x), z) by IDC
    src = """
model m {
    latent u ~ Bernoulli(0.4)
    z ~ Bernoulli(table(u) {0: 0.2, 1: 0.7})
    x ~ Bernoulli(table(z) {0: 0.3, 1: 0.8})
    t ~ Categorical(table(x) {0: 0.2, 1: 0.6}, table(x) {0: 0.5, 1: 0.1}, table(x) {0: 0.3, 1: 0.3})
    y ~ Bernoulli(table(t, u) {(0, 0): 0.2, (0, 1): 0.3, (1, 0): 0.4, (1, 1): 0.9, (2, 0): 0.5, (2, 1): 0.15})
}
identify P(y = 1 | do(x = 1), z = 0)
"""
    m = cd.model(src)
    est = m.run()[0]
    assert est.identifiable and est.rule == "IDC"
    assert est.evaluate(m) == pytest.approx(m.query("P(y = 1 | do(x = 1), z = 0)").value, abs=TOL)
    # the table form: keyed (y, x, z)
    tab = m.identify("P(y | do(x), z)").evaluate(m)
    for yv, xv, zv in itertools.product((0, 1), (0, 1), (0, 1)):
        truth = m.query(f"P(y = {yv} | do(x = {xv}), z = {zv})").value
        assert tab[(float(yv), float(xv), float(zv))] == pytest.approx(truth, abs=TOL)
    # identify through m.query and m.identify agree
    assert str(m.query("identify P(y = 1 | do(x = 1), z = 0)")) == str(est)


# ================================================================= graph blocks, DAGitty, reports

NAPKIN = "graph napkin {\n W1 -> W2 -> X -> Y\n W1 <-> X\n W1 <-> Y\n}\nidentify P(Y | do(X))\n"
FRONTDOOR = "graph fd {\n    smoking -> tar -> cancer\n    smoking <-> cancer\n}\n"


def test_napkin_is_identifiable_by_id():
    g = cd.graph(NAPKIN)
    est = g.identify("P(Y | do(X))")
    assert est.identifiable and est.rule == "ID"
    assert set(est.variables) == {"W1", "W2", "X", "Y"}
    # the question written in the program gives the same
    (answer,) = g.run()
    assert answer.rule == "ID" and str(answer) == str(est)


def test_bow_arc_is_not_identifiable_and_says_why():
    g = cd.graph("graph bow {\n X -> Y\n X <-> Y\n}")
    est = g.identify("P(Y | do(X))")
    assert not est.identifiable and est.rule == "not identifiable"
    assert "not identifiable" in est.text
    assert "bidirected path" in est.text and "X <-> Y" in est.text
    assert est.hedge is not None


def test_front_door_formula_text_and_latex():
    g = cd.graph(FRONTDOOR)
    est = g.identify("P(cancer | do(smoking))")
    assert est.rule == "front-door" and est.mediators == frozenset({"tar"})
    assert str(est) == "Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')"
    latex = est._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$") and r"\sum" in latex


PROGRAM = """\
graph fd {
    smoking -> tar -> cancer
    smoking <-> cancer
}
identify P(cancer | do(smoking))
smoking _||_ cancer | tar
adjustment(smoking -> cancer)
markov_blanket(tar)
admg

graph iv {
    Z -> X -> Y
    X <-> Y
}
instruments(X -> Y)
Z _||_ Y | X
"""


def test_report_and_cli_print_each_question_with_its_answer(tmp_path, capsys):
    text = cd.report(PROGRAM)
    expected = [
        ("identify P(cancer | do(smoking))", "Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')"),
        ("smoking _||_ cancer | tar", "false, open path: smoking <-> cancer"),
        ("adjustment(smoking -> cancer)", "no back-door adjustment set exists"),
        ("markov_blanket(tar)", "{cancer, smoking}"),
        ("admg", "cancer <-> smoking"),
        ("instruments(X -> Y)", "Z"),
        ("Z _||_ Y | X", "false, open path: Z -> X <-> Y"),
    ]
    lines = text.splitlines()
    assert "graph fd" in lines and "graph iv" in lines
    for question, answer in expected:
        row = [ln for ln in lines if ln.startswith(question)]
        assert row and answer in row[0], (question, text)

    path = tmp_path / "graphs.causal"
    path.write_text(PROGRAM)
    assert cli_main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    for question, answer in expected:
        assert any(ln.startswith(question) and answer in ln for ln in out.splitlines()), (question, out)
    assert cli_main(["check", str(path)]) == 0


def test_from_dagitty_front_door_and_round_trip():
    g = cd.from_dagitty("dag { U [latent] ; U -> {X Y} ; X -> M -> Y }")
    assert g.latents == frozenset({"U"})
    est = g.identify("P(Y | do(X))")
    assert est.rule == "front-door"
    assert str(est) == "Σ_M P(M | X) Σ_X' P(Y | M, X') P(X')"

    def same(a, b):
        return (set(a.admg.nodes) == set(b.admg.nodes) and set(a.admg.directed.edges) == set(b.admg.directed.edges)
                and a.admg.bidirected == b.admg.bidirected)

    back = cd.from_dagitty(g.to_dagitty())
    assert same(g, back) and back.latents == g.latents
    assert set(back.admg.bidirected) == {frozenset({"X", "Y"})}
    assert "dashed" in g.to_dot()

    # a graph block with a declared <-> and a latent node round-trips too
    napkin = cd.graph(NAPKIN)
    assert same(napkin, cd.from_dagitty(napkin.to_dagitty()))
    gl = cd.graph("graph g {\n latent L\n L -> A\n L -> B\n A -> B -> C\n A <-> C\n}")
    back = cd.from_dagitty(gl.to_dagitty())
    assert same(gl, back) and back.latents == frozenset({"L"})
    assert {frozenset(e) for e in back.admg.bidirected} == {frozenset({"A", "B"}), frozenset({"A", "C"})}
    assert "dashed" in gl.to_dot()


# ================================================================= graph questions, checked independently

def _dag_with_latents(cg) -> nx.DiGraph:
    """The graph's DAG with an explicit latent node for every declared <-> edge."""
    dag = cg.dag.copy()
    for i, e in enumerate(sorted(cg.bidirected, key=sorted)):
        a, b = sorted(e)
        dag.add_edge(f"_L{i}", a)
        dag.add_edge(f"_L{i}", b)
    return dag


def _path_is_open(dag: nx.DiGraph, observed: set, tokens: list[str], zs: set) -> bool:
    """Whether the path shown (``a -> b <-> c <- d``) exists in the ADMG of ``dag`` and is open given ``zs``."""
    nodes, ops = tokens[0::2], tokens[1::2]
    if len(set(nodes)) != len(nodes):
        return False
    an_z = set(zs).union(*(nx.ancestors(dag, z) for z in zs)) if zs else set()

    def bidirected(a, b):
        # a latent common cause whose directed paths into a and b pass only through latents
        lat = dag.subgraph([v for v in dag if v not in observed] + [a, b]).copy()
        lat.remove_edges_from([(s, t) for s, t in list(lat.edges) if s in (a, b)])
        return bool(set(nx.ancestors(lat, a)) & set(nx.ancestors(lat, b)))

    def directed(a, b):
        lat = dag.subgraph([v for v in dag if v not in observed] + [a, b])
        return any(all(v not in observed for v in p[1:-1]) for p in nx.all_simple_paths(lat, a, b))

    heads = []  # (arrowhead at left node, arrowhead at right node)
    for a, op, b in zip(nodes, ops, nodes[1:]):
        if op == "->" and directed(a, b):
            heads.append((False, True))
        elif op == "<-" and directed(b, a):
            heads.append((True, False))
        elif op == "<->" and bidirected(a, b):
            heads.append((True, True))
        else:
            return False
    for i, v in enumerate(nodes[1:-1]):
        collider = heads[i][1] and heads[i + 1][0]
        if collider and v not in an_z:
            return False
        if not collider and v in zs:
            return False
    return True


def _random_admg_graph(rng: random.Random, n: int) -> str:
    names = [f"n{i}" for i in range(n)]
    lines = []
    for i, b in enumerate(names):
        for a in names[:i]:
            if rng.random() < 0.35:
                lines.append(f"{a} -> {b}")
    for a, b in itertools.combinations(names, 2):
        if rng.random() < 0.15:
            lines.append(f"{a} <-> {b}")
    for v in names:
        if not any(v in ln.split() for ln in lines):
            lines.append(v + " -> " + names[(names.index(v) + 1) % n] if v != names[-1] else names[0] + " -> " + v)
    return "graph g {\n    " + "\n    ".join(lines) + "\n}\n"


def test_dseparation_questions_match_networkx_with_explicit_latents():
    rng = random.Random(3)
    checked = Counter()
    for _ in range(40):
        src = _random_admg_graph(rng, rng.randint(4, 7))
        g = cd.graph(src)
        dag = _dag_with_latents(g)
        obs = sorted(g.observed)
        for _ in range(6):
            a, b = rng.sample(obs, 2)
            zs = set(rng.sample([v for v in obs if v not in (a, b)], rng.randint(0, min(3, len(obs) - 2))))
            q = f"{a} _||_ {b}" + (f" | {', '.join(sorted(zs))}" if zs else "")
            ans = g.query(q)
            truth = nx.is_d_separator(dag, {a}, {b}, zs)
            assert ans.value is truth, (q, src, ans.answer)
            assert g.d_separated(a, b, zs) is truth
            if truth:
                assert ans.answer == "true"
            else:
                assert ans.answer.startswith("false, open path: ")
                tokens = ans.answer[len("false, open path: "):].split()
                assert tokens[0] == a and tokens[-1] == b
                assert _path_is_open(dag, set(obs), tokens, zs), (q, src, ans.answer)
            checked[truth] += 1
    assert checked[True] >= 30 and checked[False] >= 30, checked


def test_dseparation_questions_in_random_models_match_networkx():
    rng = random.Random(11)
    for rm in RANDOM_MODELS[:30]:
        m = cd.model(rm.source)
        dag = rm.dag()
        for _ in range(3):
            a, b = rng.sample(rm.observed, 2)
            zs = set(rng.sample([v for v in rm.observed if v not in (a, b)],
                                rng.randint(0, min(2, len(rm.observed) - 2))))
            q = f"{a} _||_ {b}" + (f" | {', '.join(sorted(zs))}" if zs else "")
            ans = m.query(q)
            assert ans.value is nx.is_d_separator(dag, {a}, {b}, zs), (q, rm.source, ans.answer)
            if not ans.value:
                tokens = ans.answer[len("false, open path: "):].split()
                assert _path_is_open(dag, set(rm.observed), tokens, zs), (q, rm.source, ans.answer)


def _backdoor_minimal_sets(dag: nx.DiGraph, observed: list[str], x: str, y: str) -> set[frozenset]:
    """Brute force: inclusion-minimal sets of observed non-descendants of x that block every back-door path."""
    cut = dag.copy()
    cut.remove_edges_from(list(dag.out_edges(x)))
    cands = [v for v in observed if v not in (x, y) and v not in nx.descendants(dag, x)]
    valid = [frozenset(s) for k in range(len(cands) + 1) for s in itertools.combinations(cands, k)
             if nx.is_d_separator(cut, {x}, {y}, set(s))]
    return {s for s in valid if not any(t < s for t in valid)}


CAUSALITY_FIG_3_4 = """\
graph fig34 {
    Z1 -> Z3 -> X -> Z6 -> Y
    Z2 -> Z3 -> Y
    Z1 -> X
    Z2 -> Z5 -> Y
    Z1 -> Z4 -> X
}
adjustment(X -> Y)
"""


def test_adjustment_lists_all_minimal_sets_fig_3_4():
    g = cd.graph(CAUSALITY_FIG_3_4)
    (ans,) = g.run()
    got = set(ans.value)
    truth = _backdoor_minimal_sets(g.dag, g.observed, "X", "Y")
    assert got == truth and len(truth) >= 3, (got, truth)
    assert got == {frozenset({"Z1", "Z3"}), frozenset({"Z2", "Z3"}), frozenset({"Z3", "Z5"})}
    assert len(ans.value) == len(got)  # no set listed twice
    for s in got:  # each printed
        assert "{" + ", ".join(sorted(s)) + "}" in ans.answer

    # pgmpy (no latents here): its back-door sets are the same
    from pgmpy.base import DAG
    from pgmpy.inference import CausalInference

    pg = DAG(list(g.dag.edges))
    pg_sets = {frozenset(s) for s in CausalInference(pg).get_all_backdoor_adjustment_sets("X", "Y")}
    assert pg_sets == got


def test_independences_and_pgmpy_minimal_separators():
    from pgmpy.base import DAG

    g = cd.graph(CAUSALITY_FIG_3_4)
    pg = DAG(list(g.dag.edges))
    for a, b in itertools.combinations(sorted(g.observed), 2):
        if g.dag.has_edge(a, b) or g.dag.has_edge(b, a):
            continue
        sep = pg.minimal_dseparator(a, b)
        assert sep is not None
        q = f"{a} _||_ {b}" + (f" | {', '.join(sorted(sep))}" if sep else "")
        assert g.query(q).value is True, q

    # every implied independence holds, its set is minimal, and every separable non-adjacent pair has one
    rng = random.Random(9)
    for _ in range(15):
        gr = cd.graph(_random_admg_graph(rng, rng.randint(4, 6)))
        dag = _dag_with_latents(gr)
        ans = gr.query("independences")
        listed = {}
        for a, b, zs in ans.value:
            assert nx.is_d_separator(dag, {a}, {b}, set(zs)), (a, b, zs, gr.source)
            for v in zs:
                assert not nx.is_d_separator(dag, {a}, {b}, set(zs) - {v}), (a, b, zs, gr.source)
            listed.setdefault(frozenset({a, b}), []).append(zs)
        obs = sorted(gr.observed)
        for a, b in itertools.combinations(obs, 2):
            rest = [v for v in obs if v not in (a, b)]
            separable = any(nx.is_d_separator(dag, {a}, {b}, set(s))
                            for k in range(len(rest) + 1) for s in itertools.combinations(rest, k))
            adjacent = gr.admg.directed.has_edge(a, b) or gr.admg.directed.has_edge(b, a) \
                or frozenset({a, b}) in gr.admg.bidirected
            if separable and not adjacent:
                assert frozenset({a, b}) in listed, (a, b, gr.source, ans.answer)
            if not separable:
                assert frozenset({a, b}) not in listed


def test_adjustment_sets_match_brute_force_with_latents():
    rng = random.Random(5)
    seen_none = seen_some = 0
    for _ in range(30):
        g = cd.graph(_random_admg_graph(rng, rng.randint(4, 7)))
        dag = _dag_with_latents(g)
        x, y = rng.sample(sorted(g.observed), 2)
        ans = g.query(f"adjustment({x} -> {y})")
        truth = _backdoor_minimal_sets(dag, g.observed, x, y)
        assert set(ans.value) == truth, (x, y, g.source, ans.answer)
        if truth:
            seen_some += 1
        else:
            seen_none += 1
            assert ans.answer == "no back-door adjustment set exists"
    assert seen_none and seen_some


def test_instruments_classic_iv():
    g = cd.graph("graph iv {\n Z -> X -> Y\n X <-> Y\n}\ninstruments(X -> Y)\n")
    (ans,) = g.run()
    assert [(z, set(w)) for z, w in ans.value] == [("Z", set())]
    assert ans.answer == "Z"
    # independently: Z is associated with X and separated from Y once X's outgoing edges are cut
    dag = _dag_with_latents(g)
    cut = dag.copy()
    cut.remove_edges_from(list(dag.out_edges("X")))
    assert nx.is_d_separator(cut, {"Z"}, {"Y"}, set())
    assert not nx.is_d_separator(dag, {"Z"}, {"X"}, set())
    # a conditional instrument: Z's confounding with Y goes through W
    g2 = cd.graph("graph civ {\n Z -> X -> Y\n X <-> Y\n W -> Z\n W -> Y\n}")
    assert g2.query("instruments(X -> Y)").answer == "Z | W"
    assert g.query("instruments(Y -> X)").answer == "none"


def test_relatives_markov_blanket_and_admg_of_a_model_with_latents():
    src = """
model m {
    latent u ~ Bernoulli(0.5)
    a ~ Bernoulli(0.3)
    b ~ Bernoulli(table(a, u) {(0, 0): 0.2, (0, 1): 0.4, (1, 0): 0.6, (1, 1): 0.9})
    c ~ Bernoulli(table(b) {0: 0.3, 1: 0.7})
    d ~ Bernoulli(table(c, u) {(0, 0): 0.1, (0, 1): 0.5, (1, 0): 0.4, (1, 1): 0.8})
    e ~ Bernoulli(table(d) {0: 0.25, 1: 0.75})
}
ancestors(d)
descendants(b)
markov_blanket(c)
markov_blanket(b)
admg
"""
    m = cd.model(src)
    dag = m.graph
    observed = [v for v in m.variables if v != "u"]
    answers = m.run()
    anc, desc, mb_c, mb_b, admg = answers
    assert anc.value == (nx.ancestors(dag, "d") - {"u"}) == {"a", "b", "c"}
    assert anc.answer == "{a, b, c}"
    assert desc.value == nx.descendants(dag, "b") == {"c", "d", "e"}

    def blanket(v):
        # w is in v's Markov blanket iff v and w are d-connected given every other observed variable
        return {w for w in observed if w != v
                and not nx.is_d_separator(dag, {v}, {w}, set(observed) - {v, w})}

    assert mb_c.value == blanket("c") == {"a", "b", "d"}  # a: c -> d <-> b <- a
    assert mb_b.value == blanket("b")
    assert "d" in mb_b.value  # through the latent u: b <-> d
    assert "b <-> d" in admg.answer
    assert "u" not in admg.answer
    assert {frozenset(e) for e in admg.value.bidirected} == {frozenset({"b", "d"})}
    # the same through m.query
    assert m.query("markov_blanket(c)").value == blanket("c")
    assert m.query("parents(d)").value == {"c"} and m.query("children(b)").value == {"c"}


# ================================================================= estimation from data

CONFOUNDED = """
model conf {
    latent u ~ Bernoulli(0.5)
    z ~ Bernoulli(table(u) {0: 0.1, 1: 0.9})
    x ~ Bernoulli(table(z) {0: 0.15, 1: 0.85})
    y ~ Bernoulli(table(x, z, u) {(0, 0, 0): 0.1, (0, 0, 1): 0.2, (0, 1, 0): 0.5, (0, 1, 1): 0.7,
                                  (1, 0, 0): 0.3, (1, 0, 1): 0.3, (1, 1, 0): 0.75, (1, 1, 1): 0.85})
}
"""


@pytest.fixture(scope="module")
def confounded():
    return cd.model(CONFOUNDED)


def _observed(data: dict, latents=("u",)) -> dict:
    return {k: v for k, v in data.items() if k not in latents}


def test_discrete_estimate_covers_the_truth_and_not_the_naive_answer(confounded):
    m = confounded
    est = m.identify("P(y = 1 | do(x = 1))")
    assert est.rule == "back-door" and est.adjustment == frozenset({"z"})
    truth = m.query("P(y = 1 | do(x = 1))").value
    naive = m.query("P(y = 1 | x = 1)").value
    assert abs(naive - truth) > 0.05
    covered = 0
    seeds = range(1, 6)
    for seed in seeds:
        data = _observed(m.sample(50_000, seed=seed))
        r = est.estimate(data, seed=seed)
        lo, hi = r.interval
        assert lo <= r.value <= hi
        assert r.rows == 50_000 and "back-door" in r.method
        se = (hi - lo) / 3.92
        assert abs(r.value - truth) < 4 * se, (seed, r, truth)
        assert not (lo <= naive <= hi)  # confounding: the naive answer is far outside
        covered += lo <= truth <= hi
    assert covered >= 4, covered
    # one fixed seed, asserted directly
    r = est.estimate(_observed(m.sample(50_000, seed=1)))
    assert r.interval[0] <= truth <= r.interval[1]


def test_front_door_estimate_from_data():
    m = cd.model("""
model fd {
    latent u ~ Bernoulli(0.5)
    x ~ Bernoulli(table(u) {0: 0.2, 1: 0.8})
    t ~ Bernoulli(table(x) {0: 0.1, 1: 0.85})
    y ~ Bernoulli(table(t, u) {(0, 0): 0.1, (0, 1): 0.5, (1, 0): 0.4, (1, 1): 0.9})
}""")
    est = m.identify("P(y = 1 | do(x = 1))")
    assert est.rule == "front-door"
    truth = m.query("P(y = 1 | do(x = 1))").value
    r = est.estimate(_observed(m.sample(50_000, seed=2)), bootstrap=100)
    lo, hi = r.interval
    assert abs(r.value - truth) < 4 * (hi - lo) / 3.92
    assert not lo <= m.query("P(y = 1 | x = 1)").value <= hi


def test_csv_and_dataframe_give_the_same_estimate(confounded, tmp_path):
    pd = pytest.importorskip("pandas")
    m = confounded
    data = _observed(m.sample(20_000, seed=3))
    est = m.identify("P(y = 1 | do(x = 1))")
    r_dict = est.estimate(data, bootstrap=50, seed=4)

    path = tmp_path / "data.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        names = sorted(data)
        w.writerow(names)
        for row in zip(*(data[n] for n in names)):
            w.writerow([int(v) for v in row])
    r_csv = est.estimate(str(path), bootstrap=50, seed=4)
    r_path = est.estimate(path, bootstrap=50, seed=4)
    r_df = est.estimate(pd.DataFrame(data), bootstrap=50, seed=4)
    for r in (r_csv, r_path, r_df):
        assert r.value == pytest.approx(r_dict.value, abs=1e-12)
        assert r.interval == pytest.approx(r_dict.interval, abs=1e-12)
        assert r.rows == 20_000

    # the table form (no values) estimates every cell; values= picks one
    tab = m.identify("P(y | do(x))").estimate(data, bootstrap=20)
    assert np.shape(tab.value) == (2, 2)
    assert tab.value[1, 1] == pytest.approx(r_dict.value, abs=1e-12)
    assert m.identify("P(y | do(x))").estimate(data, values={"x": 1, "y": 1}, bootstrap=20).value \
        == pytest.approx(r_dict.value, abs=1e-12)


LINEAR = """
model lin {
    z ~ Normal(0, 1)
    x ~ Normal(0.8 * z, 1)
    y ~ Normal(2 * x + 1.5 * z, 0.5)
}
"""


def test_continuous_linear_back_door():
    m = cd.model(LINEAR)
    data = m.sample(20_000, seed=0)
    est = m.identify("P(y | do(x))")
    assert est.rule == "back-door" and est.adjustment == frozenset({"z"})
    r = est.estimate(data)
    lo, hi = r.interval
    assert lo <= 2.0 <= hi
    assert abs(r.value - 2.0) < 0.05
    assert "linear back-door adjustment" in r.method and "z" in r.method
    # the naive regression of y on x alone is biased away from 2
    naive = np.polyfit(data["x"], data["y"], 1)[0]
    assert abs(naive - 2.0) > 0.3

    rv = m.identify("P(y | do(x = 1))").estimate(data)
    assert abs(rv.value - 2.0) < 0.05
    assert rv.interval[0] - 0.01 <= 2.0 <= rv.interval[1] + 0.01
    assert "linear back-door adjustment" in rv.method


def test_estimate_with_named_levels_from_the_models_own_sample():
    # A query written with the model's level names must be estimable from m.sample(...).
    m = cd.model("""
model w {
    latent u ~ Bernoulli(0.5)
    z ~ Categorical(lo: table(u) {0: 0.5, 1: 0.2}, mid: 0.3, hi: table(u) {0: 0.2, 1: 0.5})
    x ~ Bernoulli(table(z) {lo: 0.2, mid: 0.5, hi: 0.8})
    y ~ Categorical(no: table(x, z) {(0, lo): 0.3, (0, mid): 0.5, (0, hi): 0.6, (1, lo): 0.1, (1, mid): 0.2, (1, hi): 0.4},
                    yes: table(x, z) {(0, lo): 0.7, (0, mid): 0.5, (0, hi): 0.4, (1, lo): 0.9, (1, mid): 0.8, (1, hi): 0.6})
}""")
    est = m.identify("P(y = yes | do(x = 1))")
    truth = m.query("P(y = yes | do(x = 1))").value
    assert est.evaluate(m) == pytest.approx(truth, abs=TOL)
    data = _observed(m.sample(20_000, seed=0))
    # the model's own sample names the levels ...
    assert set(data["y"]) == {"no", "yes"} and set(data["z"]) == {"lo", "mid", "hi"}
    r = est.estimate(data, bootstrap=50)
    assert abs(r.value - truth) < 4 * (r.interval[1] - r.interval[0]) / 3.92
    assert "y = yes" in r.query and "x = 1" in r.query


# ================================================================= mistakes

SMOKING = """model smoke {
    latent u ~ Bernoulli(0.5)
    smoking ~ Bernoulli(table(u) {0: 0.2, 1: 0.8})
    tar ~ Bernoulli(table(smoking) {0: 0.1, 1: 0.9})
    cancer ~ Bernoulli(table(tar, u) {(0, 0): 0.1, (0, 1): 0.4, (1, 0): 0.3, (1, 1): 0.8})
}
"""


def test_identify_unknown_variable():
    m = cd.model(SMOKING)
    with pytest.raises(cd.UnknownNameError) as info:
        m.identify("P(cancr | do(smoking))")
    err = info.value
    assert (err.line, err.column) == (1, 3)
    assert "cancr" in str(err) and err.hint and "cancer" in err.hint
    # a latent variable is not a question's variable
    with pytest.raises(cd.UnknownNameError) as info:
        m.identify("P(cancer | do(u))")
    assert "latent" in str(info.value) and info.value.hint


def test_cyclic_graph_block():
    src = "graph g {\n    a -> b\n    b -> c\n    c -> a\n}\n"
    with pytest.raises(cd.CycleError) as info:
        cd.graph(src)
    err = info.value
    assert (err.line, err.column) == (4, 7)
    assert "cycle" in str(err) and err.hint


def test_dagitty_syntax_error():
    with pytest.raises(cd.CausalSyntaxError) as info:
        cd.from_dagitty("dag {\n X -> Y ;\n Y -> -> Z\n}")
    err = info.value
    assert (err.line, err.column) == (3, 7)
    assert err.hint


def test_numeric_query_on_a_graph():
    src = "graph g {\n    X -> Y\n}\nX _||_ Y\nP(Y = 1)\n"
    with pytest.raises(cd.QueryError) as info:
        cd.program(src)
    err = info.value
    assert err.line == 5 and err.column == 1
    assert "no mechanisms" in str(err) and err.hint
    g = cd.graph("graph g {\n    X -> Y\n}")
    with pytest.raises(cd.QueryError) as info:
        g.query("P(Y = 1)")
    assert info.value.line == 1 and info.value.hint


def test_identify_without_do():
    m = cd.model(SMOKING)
    with pytest.raises(cd.QueryError) as info:
        m.identify("P(cancer = 1)")
    assert info.value.line == 1 and info.value.hint and "do" in info.value.hint
    # written in a program, the position is the query's line
    with pytest.raises(cd.QueryError) as info:
        cd.model(SMOKING + "identify P(cancer = 1)\n").run()
    assert (info.value.line, info.value.column) == (7, 10) and info.value.hint


def test_estimate_on_data_missing_a_column(confounded):
    est = confounded.identify("P(y = 1 | do(x = 1))")
    data = _observed(confounded.sample(1000, seed=0))
    del data["z"]
    with pytest.raises(cd.QueryError) as info:
        est.estimate(data)
    assert "'z'" in str(info.value) and info.value.hint and "x" in info.value.hint


def test_evaluate_on_a_model_with_a_continuous_variable():
    m = cd.model(LINEAR)
    with pytest.raises(cd.MethodError) as info:
        m.identify("P(y | do(x))").evaluate(m)
    assert "continuous" in str(info.value) and info.value.hint


def test_identify_asked_through_query_quotes_the_query_text():
    m = cd.model(SMOKING)
    with pytest.raises(cd.UnknownNameError) as info:
        m.query("identify P(cancr | do(smoking))")
    err = info.value
    assert (err.line, err.column) == (1, 12) and "cancer" in err.hint
    assert "identify P(cancr | do(smoking))" in str(err), str(err)  # the caret points into the query
    g = cd.graph("graph g {\n X -> Y\n}")
    with pytest.raises(cd.UnknownNameError) as info:
        g.query("identify P(Yy | do(X))")
    assert (info.value.line, info.value.column) == (1, 12)
    assert "identify P(Yy | do(X))" in str(info.value), str(info.value)


@pytest.mark.parametrize("question", [
    "smoking _||_ cancer | smoking",
    "adjustment(smoking -> smoking)",
    "instruments(smoking -> smoking)",
])
def test_graph_question_with_a_variable_on_both_sides(question):
    m = cd.model(SMOKING)
    with pytest.raises(cd.CausalDSLError) as info:
        m.query(question)
    assert info.value.line == 1 and info.value.column is not None and info.value.hint


def test_evaluate_takes_a_model_not_a_graph():
    g = cd.graph("graph g {\n x -> y\n}")
    est = g.identify("P(y | do(x))")
    with pytest.raises(cd.QueryError, match="takes a causaldsl model"):
        est.evaluate(g)
