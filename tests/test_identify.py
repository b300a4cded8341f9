"""Identification (back-door, front-door, ID, IDC) checked against brute force.

The strongest check is numerical and independent of the identification code: for
a graph, every bidirected edge ``a <-> b`` becomes an explicit latent binary parent
``U_ab`` of ``a`` and ``b``, every variable gets a random conditional probability
table, and the full latent model is enumerated here, in plain Python, to get

* the observational joint over the observed variables, and
* the true ``P(y | do(x))`` (truncated factorisation: drop the treatments' factors)
  or ``P(y | do(x), z) = P(y, z | do(x)) / P(z | do(x))``.

The estimand, evaluated on the observational joint alone, must reproduce the
interventional answer to 1e-9 for every value combination. Non-identifiable
verdicts are checked by the structure of the hedge, by the bow arc's two models
that agree observationally and differ interventionally, and (for one treatment)
against Tian & Pearl's sufficient condition, which must never say "identifiable"
when ID says not.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import causaldsl as cd
from causaldsl.graphs.admg import ADMG, latent_projection
from causaldsl.language.errors import CycleError, QueryError, UnknownNameError, ZeroProbabilityError
from causaldsl.graphs.estimand import (
    Estimand, Fraction, Prob, Product, Sum, _sums_over_absent, free_variables, render_text, simplify,
)
from causaldsl.graphs.identify import (
    backdoor_sets, d_separated, frontdoor_sets, identify, is_backdoor_set, is_frontdoor_set,
)

TOL = 1e-9
TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"


def G(directed=(), bidirected=(), nodes=()) -> ADMG:
    return ADMG.from_edges(directed, bidirected, nodes)


# ============================================================ brute force, from scratch

def random_parameterisation(g: ADMG, rng: random.Random, cards: dict | None = None) -> dict:
    """A random discrete model of the DAG behind ``g`` (latent U for each bidirected edge)."""
    obs = sorted(g.nodes)
    cards = dict(cards or {v: 2 for v in obs})
    latents = [("U",) + tuple(sorted(e)) for e in sorted(g.bidirected, key=sorted)]
    for u in latents:
        cards[u] = 2
    parents = {u: [] for u in latents}
    for v in obs:
        parents[v] = sorted(g.parents(v)) + [u for u in latents if v in u[1:]]
    dag = nx.DiGraph()
    dag.add_nodes_from(parents)
    dag.add_edges_from((p, v) for v in parents for p in parents[v])
    order = list(nx.topological_sort(dag))
    cpt = {}
    for v in order:
        table = {}
        for pa in itertools.product(*[range(cards[p]) for p in parents[v]]):
            w = [rng.uniform(0.1, 1.0) for _ in range(cards[v])]
            table[pa] = [a / sum(w) for a in w]
        cpt[v] = table
    return {"obs": obs, "order": order, "cards": cards, "parents": parents, "cpt": cpt}


def enumerate_model(m: dict, outcomes, treatments, conditions=()):
    """Observed joint (axes ``m['obs']``) and the true interventional table.

    The table has axes (outcomes..., treatments..., conditions...) and holds
    ``P(outcomes | do(treatments), conditions)``.
    """
    outcomes, treatments, conditions = list(outcomes), list(treatments), list(conditions)
    order, cards, parents, cpt = m["order"], m["cards"], m["parents"], m["cpt"]
    joint = np.zeros([cards[v] for v in m["obs"]])
    q = outcomes + treatments + conditions
    do = np.zeros([cards[v] for v in q])
    for vals in itertools.product(*[range(cards[v]) for v in order]):
        a = dict(zip(order, vals))
        w_obs = w_do = 1.0
        for v in order:
            p = cpt[v][tuple(a[u] for u in parents[v])][a[v]]
            w_obs *= p
            if v not in treatments:  # truncated factorisation
                w_do *= p
        joint[tuple(a[v] for v in m["obs"])] += w_obs
        do[tuple(a[v] for v in q)] += w_do
    if conditions:
        do = do / do.sum(axis=tuple(range(len(outcomes))), keepdims=True)
    return joint, do


def check_numerically(g: ADMG, est: Estimand, rng: random.Random, cards: dict | None = None) -> None:
    """The estimand on the observed joint equals brute-force truth, for every arbitrary value."""
    m = random_parameterisation(g, rng, cards)
    joint, truth = enumerate_model(m, est.outcomes, est.treatments, est.conditions)
    domains = {v: list(range(m["cards"][v])) for v in m["obs"]}
    fixings = list(itertools.product(*[domains[v] for v in est.arbitrary])) or [()]
    for fix in fixings:
        got = est.evaluate_table(m["obs"], domains, joint, dict(zip(est.arbitrary, fix)))
        assert got.shape == truth.shape
        err = np.abs(got - truth).max()
        assert err < TOL, f"{est.query} = {est} is off by {err} (arbitrary {dict(zip(est.arbitrary, fix))})"
    # one value combination asked as numbers gives a float
    vals = {v: 0 for v in est.outcomes + est.treatments + est.conditions}
    point = est.evaluate_table(m["obs"], domains, joint, vals)
    assert isinstance(point, float) and abs(point - truth[(0,) * truth.ndim]) < TOL


def check_hedge(g: ADMG, est: Estimand) -> None:
    """(F, F') has the shape of a hedge: F' ⊂ F, both single districts, F' free of
    treatments, every node of F an ancestor of F' inside F."""
    assert not est.identifiable and est.rule == "not identifiable" and est.formula is None
    forest, sub = est.hedge
    assert sub < forest
    assert not sub & set(est.treatments)
    for s in (forest, sub):
        assert len(g.subgraph(s).districts()) == 1, s
    assert set(forest) <= g.subgraph(forest).ancestors(sub)
    assert "hedge" in est.reason and "<->" in est.reason


def tian_pearl_sufficient(g: ADMG, x: str, ys) -> bool:
    """Tian & Pearl (2002): P(y | do(x)) for a single x is identifiable if no bidirected
    path joins x to any of its children inside G_An(y) (sufficient, not necessary)."""
    an = g.ancestors(ys)
    if x not in an:
        return True
    h = g.subgraph(an)
    bi = nx.Graph()
    bi.add_nodes_from(an)
    bi.add_edges_from(tuple(e) for e in h.bidirected)
    return not (h.children(x) & nx.node_connected_component(bi, x))


# ============================================================ published cases
# (name, directed, bidirected, outcomes, treatments, conditions, identifiable, rule)

PEARL_FIG_3_8 = [
    # Pearl (2009), Causality 2nd ed., §3.5, Fig. 3.8 (also Pearl 1995, Biometrika, Fig. 5):
    # "typical models in which the effect of X on Y is identifiable". Edge lists as
    # transcribed in the y0 package's tests (tests/test_is_identifiable.py, "Figure 2" series).
    ("Pearl Fig 3.8(a)", [("x", "y")], []),
    ("Pearl Fig 3.8(b)", [("x", "y"), ("x", "z"), ("z", "y")], [("y", "z")]),
    ("Pearl Fig 3.8(c)", [("x", "y"), ("z", "x"), ("z", "y")], [("y", "z")]),
    ("Pearl Fig 3.8(d)", [("x", "y"), ("z", "x"), ("z", "y")], [("x", "z")]),
    ("Pearl Fig 3.8(e)", [("x", "z"), ("z", "y")], [("x", "y")]),
    ("Pearl Fig 3.8(f)", [("x", "y"), ("x", "z1"), ("z1", "y"), ("z1", "z2"), ("z2", "y")],
     [("x", "z2"), ("y", "z1")]),
    ("Pearl Fig 3.8(g)", [("z2", "z1"), ("z2", "x"), ("z2", "z3"), ("x", "z1"), ("z1", "y"), ("z3", "y")],
     [("z2", "x"), ("z2", "y"), ("x", "z3"), ("x", "y")]),
]

PEARL_FIG_3_9 = [
    # Pearl (2009), Causality 2nd ed., §3.5, Fig. 3.9 (Pearl 1995, Fig. 6): "typical models in
    # which P(y | do(x)) is not identifiable". Same transcription ("Figure 1" series).
    ("Pearl Fig 3.9(a) bow arc", [("x", "y")], [("x", "y")]),
    ("Pearl Fig 3.9(b)", [("x", "z"), ("z", "y")], [("x", "z")]),
    ("Pearl Fig 3.9(c)", [("x", "z"), ("z", "y"), ("x", "y")], [("x", "z")]),
    ("Pearl Fig 3.9(d)", [("x", "y"), ("z", "y")], [("x", "z"), ("z", "y")]),
    ("Pearl Fig 3.9(e)", [("z", "x"), ("x", "y")], [("x", "z"), ("z", "y")]),
    ("Pearl Fig 3.9(f)", [("x", "z"), ("z", "y")], [("x", "y"), ("z", "y")]),
    ("Pearl Fig 3.9(g)", [("x", "z1"), ("z1", "y"), ("z2", "y")], [("x", "z2"), ("z1", "z2")]),
    ("Pearl Fig 3.9(h)", [("z", "x"), ("x", "w"), ("w", "y")], [("x", "z"), ("x", "y"), ("w", "z"), ("y", "z")]),
]

CASES = (
    [(n, d, b, ["y"], ["x"], [], True, None) for n, d, b in PEARL_FIG_3_8]
    + [(n, d, b, ["y"], ["x"], [], False, "not identifiable") for n, d, b in PEARL_FIG_3_9]
    + [
        # Pearl (1995); Causality §3.3.2: smoking -> tar -> cancer, genotype unobserved.
        ("front-door (smoking/tar/cancer)", [("smoking", "tar"), ("tar", "cancer")], [("smoking", "cancer")],
         ["cancer"], ["smoking"], [], True, "front-door"),
        # The napkin (Pearl & Mackenzie 2018, The Book of Why, p. 240): neither back- nor front-door.
        ("napkin", [("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")],
         ["y"], ["x"], [], True, "ID"),
        # Shpitser & Pearl (2006, AAAI) Fig. 3(a), the worked example of ID (also JMLR 2008, Fig. 3a).
        ("Shpitser-Pearl 2006 Fig 3(a)", [("x", "y1"), ("w1", "x"), ("w2", "y2")],
         [("w1", "w2"), ("w1", "y1"), ("w1", "y2"), ("x", "w2")], ["y1", "y2"], ["x"], [], True, "ID"),
        # A joint effect with a hedge although both margins are identifiable (the situation
        # hedges were introduced for): F = {x, y1, y2}, F' = {y1, y2}.
        ("joint-effect hedge", [("x", "y1")], [("x", "y2"), ("y1", "y2")],
         ["y1", "y2"], ["x"], [], False, "not identifiable"),
        # Instrumental variable (Causality §8.2): not identifiable non-parametrically.
        ("instrumental variable", [("z", "x"), ("x", "y")], [("x", "y")], ["y"], ["x"], [], False,
         "not identifiable"),
        # M-bias (Greenland, Pearl & Robins 1999): adjust for nothing.
        ("M-bias", [("x", "y")], [("x", "z"), ("y", "z")], ["y"], ["x"], [], True, "back-door"),
        # Causality §4.4 (p. 119), a sequential plan do(x1, x2) (transcribed in y0 as identifiability_5).
        ("Pearl sequential plan p.119", [("x1", "z"), ("x1", "y"), ("x1", "x2"), ("z", "x2"), ("x2", "y")],
         [("x1", "z"), ("z", "y")], ["y"], ["x1", "x2"], [], True, "ID"),
        # Causality p. 125 (y0's identifiability_6): do(x1, x2), adjust for z2.
        ("Pearl plan p.125", [("z1", "x1"), ("x1", "x2"), ("x2", "y"), ("z2", "y")],
         [("z1", "z2"), ("z1", "x2"), ("z2", "x2")], ["y"], ["x1", "x2"], [], True, "back-door"),
        # Verma & Pearl (1990): the Verma graph, P(v4 | do(v3)).
        ("Verma 1990", [("v1", "v2"), ("v2", "v3"), ("v3", "v4")], [("v2", "v4")],
         ["v4"], ["v3"], [], True, "back-door"),
        # J. Tian (2002), PhD thesis "Studies in causal reasoning and learning", p. 70 and p. 59
        # (the Tian & Pearl 2002 c-component examples; transcribed in y0 as verma_2, verma_3).
        ("Tian 2002 p.70", [("v1", "v2"), ("v2", "v3"), ("v3", "v4"), ("v4", "v5")],
         [("v1", "v3"), ("v2", "v4"), ("v3", "v5")], ["v5"], ["v1"], [], True, "ID"),
        ("Tian 2002 p.59", [("v1", "v2"), ("v2", "v3"), ("v3", "v4"), ("v4", "v5")],
         [("v1", "v5"), ("v1", "v3"), ("v2", "v4")], ["v5"], ["v1"], [], True, "ID"),
        # Tian (2002) thesis p. 90 (y0's identifiability_7): a napkin-like graph; x <-> w1 <-> y
        # joins x to its child y, yet the effect is identifiable.
        ("Tian 2002 p.90", [("w1", "w2"), ("w3", "w4"), ("w2", "x"), ("w4", "x"), ("x", "y")],
         [("w1", "x"), ("w1", "y"), ("w1", "w3"), ("w3", "w2"), ("w3", "w5"), ("w5", "w4")],
         ["y"], ["x"], [], True, "ID"),
        # Conditional queries (Shpitser & Pearl 2006, UAI; JMLR 2008 Fig. 6(a)): x -> z -> y, x <-> z.
        ("Shpitser-Pearl 2008 Fig 6(a), P(y | do(x), z)", [("x", "z"), ("z", "y")], [("x", "z")],
         ["y"], ["x"], ["z"], True, "IDC"),
        ("pre-treatment covariate, P(y | do(x), z)", [("z", "x"), ("z", "y"), ("x", "y")], [],
         ["y"], ["x"], ["z"], True, "IDC"),
        ("front-door graph, P(y | do(x), m)", [("x", "m"), ("m", "y")], [("x", "y")],
         ["y"], ["x"], ["m"], True, "IDC"),
        ("bow arc with a child, P(y | do(x), z)", [("x", "y"), ("y", "z")], [("x", "y")],
         ["y"], ["x"], ["z"], False, "not identifiable"),
        ("confounded condition, P(y | do(x), z)", [("x", "y"), ("z", "y")], [("x", "z")],
         ["y"], ["x"], ["z"], True, "IDC"),
    ]
)


@pytest.mark.parametrize("name,directed,bidirected,ys,xs,zs,ok,rule", CASES, ids=[c[0] for c in CASES])
def test_published_case(name, directed, bidirected, ys, xs, zs, ok, rule):
    g = G(directed, bidirected)
    est = identify(g, ys, xs, zs)
    assert est.identifiable is ok, f"{name}: {est}"
    if rule is not None:
        assert est.rule == rule, f"{name}: {est.rule}: {est}"
    if ok:
        assert est.formula is not None and est.reason is None
        assert not _sums_over_absent(est.formula)
        rng = random.Random(hash(name) % 1000)
        check_numerically(g, est, rng)
        check_numerically(g, est, rng, {v: (3 if i % 2 else 2) for i, v in enumerate(sorted(g.nodes))})
    else:
        check_hedge(g, est)


# ============================================================ formulas and verdicts in detail

def test_front_door_formula():
    g = G([("smoking", "tar"), ("tar", "cancer")], [("smoking", "cancer")])
    est = identify(g, "cancer", "smoking")
    assert est.rule == "front-door" and est.mediators == {"tar"}
    assert est.query == "P(cancer | do(smoking))"
    assert str(est) == "Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')"
    assert est._repr_latex_() == (r"$$P(cancer \mid \mathrm{do}(smoking)) = \sum_{tar} P(tar \mid smoking) \sum_{smoking'} "
                                  r"P(cancer \mid tar, smoking') P(smoking')$$")
    assert est.variables == ("cancer", "smoking", "tar")  # tar is bound, yet the table needs it
    assert frontdoor_sets(g, "smoking", "cancer") == [frozenset({"tar"})]
    assert is_frontdoor_set(g, "smoking", "cancer", ["tar"])


def test_front_door_with_two_mediators():
    g = G([("x", "m1"), ("x", "m2"), ("m1", "y"), ("m2", "y")], [("x", "y")])
    est = identify(g, "y", "x")
    assert est.rule == "front-door" and est.mediators == {"m1", "m2"}
    assert str(est) == "Σ_{m1,m2} P(m1, m2 | x) Σ_x' P(y | m1, m2, x') P(x')"
    check_numerically(g, est, random.Random(3))
    # a mediator confounded with the outcome is no front door; ID still solves it or not
    g2 = G([("x", "m"), ("m", "y")], [("x", "y"), ("m", "y")])
    assert frontdoor_sets(g2, "x", "y") == []
    assert not identify(g2, "y", "x").identifiable


def test_napkin_formula_holds_for_every_value_of_w2():
    g = G([("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")])
    est = identify(g, "y", "x")
    assert est.rule == "ID" and est.arbitrary == ("w2",)
    assert str(est) == "[Σ_w1 P(w1) P(x, y | w1, w2)] / [Σ_w1 P(w1) P(x | w1, w2)]"
    assert est.latex == (r"\frac{\sum_{w1} P(w1) P(x, y \mid w1, w2)}{\sum_{w1} P(w1) P(x \mid w1, w2)}")
    for seed in range(3):  # check_numerically tries w2 = 0 and w2 = 1
        check_numerically(g, est, random.Random(seed))


def test_bow_arc_hedge_reported():
    g = G([("x", "y")], [("x", "y")])
    est = identify(g, "y", "x")
    assert not est.identifiable and est.rule == "not identifiable" and est.formula is None
    assert est.hedge == (frozenset({"x", "y"}), frozenset({"y"}))
    assert "x and y are joined by the bidirected path x <-> y" in est.reason
    assert "F = {x, y}" in est.reason and "F' = {y}" in est.reason
    assert str(est).startswith("P(y | do(x)) is not identifiable: ")
    assert "not identifiable" in est._repr_latex_()
    with pytest.raises(QueryError):
        est.evaluate_table(["x", "y"], None, np.full((2, 2), 0.25))


def test_bow_arc_two_models_agree_observationally_differ_interventionally():
    """The bow arc's verdict, shown: a confounded model and an unconfounded one with the
    same observed joint give different P(y | do(x))."""
    g = G([("x", "y")], [("x", "y")])
    m1 = random_parameterisation(g, random.Random(5))
    joint, do1 = enumerate_model(m1, ["y"], ["x"])
    # model 2: no latent at all, x ~ P(x), y ~ P(y | x) read off model 1's joint (axes x, y)
    px = joint.sum(axis=1)
    py_x = joint / px[:, None]
    joint2 = px[:, None] * py_x
    do2 = py_x.T  # axes (y, x): P(y | do(x)) = P(y | x) without confounding
    assert np.abs(joint2 - joint).max() < TOL
    assert np.abs(do1 - do2).max() > 1e-3


def test_bow_arc_two_models_through_the_library():
    """The same, with two DSL models and the library's own exact engine."""
    confounded = cd.model("""model m {
        latent u ~ Bernoulli(0.3)
        x ~ Bernoulli(table(u) { 0: 0.2, 1: 0.7 })
        y ~ Bernoulli(table(x, u) { (0, 0): 0.1, (0, 1): 0.5, (1, 0): 0.3, (1, 1): 0.9 })
    }""")
    j = confounded.query("P(x, y)").value
    px1 = j[(1.0, 0.0)] + j[(1.0, 1.0)]
    py1_x0 = j[(0.0, 1.0)] / (1 - px1)
    py1_x1 = j[(1.0, 1.0)] / px1
    plain = cd.model(f"""model m {{
        x ~ Bernoulli({px1!r})
        y ~ Bernoulli(table(x) {{ 0: {py1_x0!r}, 1: {py1_x1!r} }})
    }}""")
    j2 = plain.query("P(x, y)").value
    assert max(abs(j[k] - j2[k]) for k in j) < 1e-9
    a = confounded.query("P(y = 1 | do(x = 1))").value
    b = plain.query("P(y = 1 | do(x = 1))").value
    assert abs(a - b) > 1e-2


def test_joint_effect_margins_identifiable_but_not_joint():
    g = G([("x", "y1")], [("x", "y2"), ("y1", "y2")])
    assert identify(g, "y1", "x").identifiable
    assert identify(g, "y2", "x").identifiable
    est = identify(g, ["y1", "y2"], "x")
    assert not est.identifiable
    assert est.hedge == (frozenset({"x", "y1", "y2"}), frozenset({"y1", "y2"}))


def test_shpitser_pearl_fig3a_formula():
    g = G([("x", "y1"), ("w1", "x"), ("w2", "y2")], [("w1", "w2"), ("w1", "y1"), ("w1", "y2"), ("x", "w2")])
    est = identify(g, ["y1", "y2"], "x")
    assert str(est) == "P(y2) Σ_w1 P(w1) P(y1 | w1, x)"
    assert est.query == "P(y1, y2 | do(x))"


def test_sequential_plan_formula():
    g = G([("x1", "z"), ("x1", "y"), ("x1", "x2"), ("z", "x2"), ("x2", "y")], [("x1", "z"), ("z", "y")])
    est = identify(g, "y", ["x1", "x2"])
    assert str(est) == "Σ_z P(y | x1, z, x2) P(z | x1)"  # Pearl & Robins (1995)
    check_numerically(g, est, random.Random(1))


def test_idc_formulas():
    assert str(identify(G([("x", "z"), ("z", "y")], [("x", "z")]), "y", "x", "z")) == "P(y | x, z)"
    assert str(identify(G([("z", "x"), ("z", "y"), ("x", "y")]), "y", "x", "z")) == "P(y | z, x)"
    est = identify(G([("x", "m"), ("m", "y")], [("x", "y")]), "y", "x", "m")
    assert est.rule == "IDC" and est.query == "P(y | do(x), m)"
    assert str(est) == "Σ_x' P(x') P(y | x', m)"
    # y's effect on z is not removable: P(y | do(x), z) needs P(y, z | do(x)), which has a hedge
    assert not identify(G([("x", "y"), ("y", "z")], [("x", "y")]), "y", "x", "z").identifiable


def test_idc_conditioning_on_a_descendant_of_the_outcome():
    g = G([("z", "x"), ("x", "y"), ("y", "w")], [])
    est = identify(g, "y", "x", "w")
    assert est.rule == "IDC" and est.identifiable
    check_numerically(g, est, random.Random(2))


def test_observational_queries():
    g = G([("x", "y")], [("x", "y")])
    assert str(identify(g, "y")) == "P(y)"
    assert str(identify(g, "y", conditions="x")) == "P(y | x)"


def test_no_effect_treatment_broadcasts():
    g = G([("x", "z")], [("x", "y")])  # x does not cause y
    est = identify(g, "y", "x")
    assert str(est) == "P(y)" and est.rule == "ID"
    check_numerically(g, est, random.Random(0))


# ============================================================ back-door sets

def test_backdoor_several_minimal_sets_pearl_fig_3_4():
    # Pearl (2009), Causality Fig. 3.4 (p. 80): {X3, X4} and {X4, X5} are back-door sets,
    # {X4} alone is not (it opens X1 -> X4 <- X2); so are {X1, X4} and {X2, X4}.
    d = [("x1", "x3"), ("x1", "x4"), ("x2", "x4"), ("x2", "x5"), ("x3", "xi"), ("x4", "xi"),
         ("x4", "xj"), ("x5", "xj"), ("xi", "x6"), ("x6", "xj")]
    g = G(d)
    sets = backdoor_sets(g, "xi", "xj")
    assert sets == [frozenset(s) for s in (("x1", "x4"), ("x2", "x4"), ("x3", "x4"), ("x4", "x5"))]
    assert not is_backdoor_set(g, "xi", "xj", ["x4"])
    assert not is_backdoor_set(g, "xi", "xj", ["x6", "x3", "x4"])  # x6 descends from xi
    est = identify(g, "xj", "xi")
    assert est.rule == "back-door" and est.adjustment == {"x1", "x4"}
    assert str(est) == "Σ_{x1,x4} P(xj | xi, x1, x4) P(x1, x4)"
    check_numerically(g, est, random.Random(4))


def test_backdoor_prefers_smallest_then_name():
    # two size-1 sets {v} and {w}; w comes first topologically, v first by name
    g = G([("w", "v"), ("v", "x"), ("w", "y"), ("x", "y")])
    assert backdoor_sets(g, "x", "y") == [frozenset({"v"}), frozenset({"w"})]
    assert identify(g, "y", "x").adjustment == {"v"}
    # a smaller set beats a lexicographically earlier larger one
    g2 = G([("a", "x"), ("b", "x"), ("a", "c"), ("b", "c"), ("c", "y"), ("x", "y")])
    assert backdoor_sets(g2, "x", "y") == [frozenset({"c"}), frozenset({"a", "b"})]
    assert identify(g2, "y", "x").adjustment == {"c"}


def test_backdoor_bidirected_edge_into_treatment_is_a_backdoor_path():
    g = G([("z", "x"), ("x", "y"), ("z", "y")], [("x", "z")])  # Pearl Fig 3.8(d)
    assert identify(g, "y", "x").adjustment == {"z"}
    g2 = G([("x", "y"), ("w", "y")], [("x", "w")])  # back-door path x <-> w -> y
    est = identify(g2, "y", "x")
    assert est.rule == "back-door" and est.adjustment == {"w"}
    assert d_separated(g2, "x", "y", "w", cut_outgoing="x")
    assert not d_separated(g2, "x", "y", (), cut_outgoing="x")
    # x <-> w <-> z -> y: w is a collider, so nothing needs adjusting
    g3 = G([("x", "y"), ("z", "y")], [("x", "w"), ("w", "z")])
    assert identify(g3, "y", "x").adjustment == frozenset()
    assert not is_backdoor_set(g3, "x", "y", ["w"])


def test_backdoor_multiple_treatments_and_outcomes():
    g = G([("z", "x1"), ("z", "y1"), ("x1", "x2"), ("x2", "y2"), ("x1", "y1"), ("y1", "y2")])
    est = identify(g, ["y1", "y2"], ["x1", "x2"])
    assert est.rule == "back-door" and est.adjustment == {"z"}
    assert str(est) == "Σ_z P(y1, y2 | x1, x2, z) P(z)"
    check_numerically(g, est, random.Random(6))


# ============================================================ random ADMGs against brute force

def random_admg(rng: random.Random, n: int) -> ADMG:
    names = [f"v{i}" for i in range(n)]
    order = names[:]
    rng.shuffle(order)
    directed = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.4]
    pairs = list(itertools.combinations(names, 2))
    rng.shuffle(pairs)
    bidirected = [p for p in pairs if rng.random() < 0.3][:5]
    return G(directed, bidirected, names)


def test_random_admgs_against_brute_force():
    rng = random.Random(20240611)
    counts = {"identifiable": 0, "not": 0, "conditional": 0, "joint": 0}
    rules = set()
    for _ in range(160):
        g = random_admg(rng, rng.randint(4, 6))
        names = g.nodes[:]
        rng.shuffle(names)
        nx_, ny = rng.randint(1, 2), rng.randint(1, 2)
        xs, ys = names[:nx_], names[nx_:nx_ + ny]
        zs = names[nx_ + ny:nx_ + ny + 1] if rng.random() < 0.3 else []
        est = identify(g, ys, xs, zs)
        rules.add(est.rule)
        if len(xs) == 1 and not zs and tian_pearl_sufficient(g, xs[0], ys):
            assert est.identifiable, f"Tian-Pearl says identifiable: {est}"
        if not est.identifiable:
            counts["not"] += 1
            check_hedge(g, est)
            continue
        counts["identifiable"] += 1
        counts["conditional"] += bool(zs)
        counts["joint"] += len(xs) + len(ys) > 2
        assert not _sums_over_absent(est.formula), str(est)
        assert free_variables(est.formula) <= set(xs + ys + zs + list(est.arbitrary))
        cards = {v: (3 if rng.random() < 0.15 else 2) for v in g.nodes}
        check_numerically(g, est, rng, cards)
    assert counts["identifiable"] >= 100 and counts["not"] >= 20, counts
    assert counts["conditional"] >= 20 and counts["joint"] >= 40, counts
    assert {"back-door", "ID", "IDC", "not identifiable"} <= rules


# ============================================================ cross-check with the library

NAPKIN_MODEL = """model napkin {
    latent u1 ~ Bernoulli(0.4)
    latent u2 ~ Bernoulli(0.6)
    w1 ~ Bernoulli(table(u1, u2) { (0, 0): 0.2, (0, 1): 0.7, (1, 0): 0.5, (1, 1): 0.9 })
    w2 ~ Bernoulli(table(w1) { 0: 0.3, 1: 0.8 })
    x ~ Bernoulli(table(w2, u1) { (0, 0): 0.1, (0, 1): 0.6, (1, 0): 0.4, (1, 1): 0.85 })
    y ~ Bernoulli(table(x, u2) { (0, 0): 0.25, (0, 1): 0.55, (1, 0): 0.35, (1, 1): 0.95 })
}"""


def test_library_cross_check_front_door_tutorial():
    with open(TUTORIALS / "smoking.causal") as f:
        text = f.read()
    src = text[: text.index("}") + 1]
    m = cd.model(src)
    joint = m.query("P(smoking, tar, cancer)").value
    g = G([("smoking", "tar"), ("tar", "cancer")], [("smoking", "cancer")])
    est = identify(g, "cancer", "smoking")
    for s in (0, 1):
        want = m.query(f"P(cancer = 1 | do(smoking = {s}))").value
        got = est.evaluate_table(["smoking", "tar", "cancer"], None, joint, {"cancer": 1, "smoking": s})
        assert abs(got - want) < TOL


def test_library_cross_check_napkin():
    m = cd.model(NAPKIN_MODEL)
    variables = ["w1", "w2", "x", "y"]
    joint = m.query("P(w1, w2, x, y)").value
    g = G([("w1", "w2"), ("w2", "x"), ("x", "y")], [("w1", "x"), ("w1", "y")])
    est = identify(g, "y", "x")
    want = m.query("P(y = 1 | do(x = 1))").value
    for w2 in (0, 1):
        got = est.evaluate_table(variables, None, joint, {"y": 1, "x": 1, "w2": w2})
        assert abs(got - want) < TOL
    # the latent projection of the model's DAG is the napkin ADMG
    dag = nx.DiGraph([("u1", "w1"), ("u2", "w1"), ("w1", "w2"), ("w2", "x"), ("u1", "x"), ("x", "y"), ("u2", "y")])
    proj = latent_projection(dag, {"u1", "u2"})
    assert str(identify(proj, "y", "x")) == str(est)


# ============================================================ evaluation API

def test_evaluate_table_shapes_values_and_dict_joints():
    g = G([("z", "x"), ("z", "y"), ("x", "y")])
    est = identify(g, "y", "x")
    rng = np.random.default_rng(0)
    joint = rng.uniform(0.1, 1, size=(2, 3, 2))  # axes z, x (3 values), y
    joint /= joint.sum()
    domains = {"z": ["lo", "hi"], "x": [0, 1, 2], "y": [False, True]}
    table = est.evaluate_table(["z", "x", "y"], domains, joint)
    assert table.shape == (2, 3)  # (y, x)
    assert np.allclose(table.sum(axis=0), 1)
    pz = joint.sum(axis=(1, 2))
    want = sum(joint[z, 2, 1] / joint[z, 2, :].sum() * pz[z] for z in range(2))
    assert abs(est.evaluate_table(["z", "x", "y"], domains, joint, {"y": True, "x": 2}) - want) < TOL
    assert np.allclose(est.evaluate_table(["z", "x", "y"], domains, joint, {"x": 2}), table[:, 2])
    # a dict joint, keyed like CausalModel.query("P(...)").value
    as_dict = {(z, x, y): joint[i, j, k] for i, z in enumerate(domains["z"])
               for j, x in enumerate(domains["x"]) for k, y in enumerate(domains["y"])}
    assert abs(est.evaluate_table(["z", "x", "y"], domains, as_dict, {"y": True, "x": 2}) - want) < TOL
    # variables in another order give the same answer
    perm = np.transpose(joint, (2, 0, 1))
    assert abs(est.evaluate_table(["y", "z", "x"], domains, perm, {"y": True, "x": 2}) - want) < TOL
    with pytest.raises(QueryError):
        est.evaluate_table(["z", "x", "y"], domains, joint[:, :2, :])
    with pytest.raises(QueryError):
        est.evaluate_table(["z", "x", "y"], domains, joint, {"x": 7})
    with pytest.raises(UnknownNameError):
        est.evaluate_table(["z", "x", "y"], domains, joint, {"q": 1})
    with pytest.raises(UnknownNameError):
        est.evaluate_table(["x", "y", "w"], None, joint)  # no z in the table


def test_query_values_are_defaults():
    import dataclasses
    g = G([("x", "y")])
    est = dataclasses.replace(identify(g, "y", "x"), values=(("y", 1), ("x", 0)))
    joint = np.array([[0.3, 0.1], [0.2, 0.4]])  # axes x, y
    assert abs(est.evaluate_table(["x", "y"], None, joint) - 0.25) < TOL
    assert abs(est.evaluate_table(["x", "y"], None, joint, {"x": 1}) - 2 / 3) < TOL


def test_positivity_violation_raises():
    g = G([("z", "x"), ("z", "y"), ("x", "y")])
    est = identify(g, "y", "x")
    joint = np.zeros((2, 2, 2))  # axes z, x, y; x always equals z
    joint[0, 0, :] = joint[1, 1, :] = 0.25
    with pytest.raises(ZeroProbabilityError) as info:
        est.evaluate_table(["z", "x", "y"], None, joint, {"y": 1, "x": 1})
    assert "P(x = 1, z = 0) = 0" in str(info.value) and info.value.hint
    with pytest.raises(ZeroProbabilityError):
        est.evaluate_table(["z", "x", "y"], None, joint)
    # the front-door formula divides by P(x) only: fine without x = 1 ... until asked
    fd = identify(G([("x", "m"), ("m", "y")], [("x", "y")]), "y", "x")
    j = np.zeros((2, 2, 2))  # axes x, m, y with P(x = 1) = 0
    j[0] = 0.25
    with pytest.raises(ZeroProbabilityError):
        fd.evaluate_table(["x", "m", "y"], None, j, {"y": 1, "x": 1})


# ============================================================ errors

def test_unknown_names_and_cycles():
    g = G([("smoking", "tar"), ("tar", "cancer")], [("smoking", "cancer")])
    with pytest.raises(UnknownNameError) as info:
        identify(g, "cancr", "smoking")
    assert info.value.hint == "did you mean 'cancer'?"
    with pytest.raises(UnknownNameError):
        identify(g, "cancer", "smoking", "zzz")
    with pytest.raises(CycleError) as info:
        identify(G([("a", "b"), ("b", "c"), ("c", "a")]), "c", "a")
    assert "cycle" in str(info.value) and info.value.hint
    with pytest.raises(QueryError):
        identify(g, "cancer", "cancer")
    with pytest.raises(QueryError):
        identify(g, [], "smoking")


# ============================================================ expressions

def test_simplification_rules():
    # Σ_v P(v, w) = P(w); empty conditionals vanish; chain rule; identical factors cancel
    assert simplify(Sum("v", Prob(["v", "w"]))) == Prob("w")
    assert simplify(Sum("v", Prob("v", "w"))) == Product(())
    assert simplify(Prob("x", ())) == Prob("x")
    assert simplify(Product([Prob("a", ["b", "c"]), Prob("b", "c")])) == Prob(["b", "a"], "c")
    e = simplify(Fraction(Product([Prob("a"), Sum("x", Prob(["y", "x"], "a"))]), Prob("a")))
    assert e == Prob("y", "a")
    # a factor without the summed variable leaves the sum
    e = simplify(Sum("z", Product([Prob("w"), Prob("y", ["x", "z"]), Prob("z")])))
    assert render_text(e) == "P(w) Σ_z P(y | x, z) P(z)"
    # a sum over an absent variable is kept (it counts values); evaluation agrees
    keep = simplify(Sum("v", Prob("w")))
    assert isinstance(keep, Sum)
    val = Estimand(query="q", outcomes=("w",), formula=keep).evaluate_table(["v", "w"], None, np.full((3, 2), 1 / 6))
    assert np.allclose(val, [1.5, 1.5])


def test_primes_only_for_rebound_names():
    e = Sum("z", Product([Prob("y", ["x", "z"]), Prob("z")]))
    assert render_text(e) == "Σ_z P(y | x, z) P(z)"
    assert render_text(Sum("x", Product([Prob("y", "x"), Prob("x")])), context=["x"]) == "Σ_x' P(y | x') P(x')"
