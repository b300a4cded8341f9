"""Issue 20, "No cliffs": exact inference orders its contraction for treewidth, estimates the cost
before it allocates, shows it, and refuses clearly with it; counterfactuals on bnlearn networks.

The treewidth the engine reports is checked against the true one, computed here independently:
by the exact O*(2^n) recurrence of Bodlaender, Fomin, Koster, Kratsch and Thilikos ("On exact
algorithms for treewidth", ACM Trans. Algorithms 9(1), 2012, section 3) on small networks, and
by the known value k of the k x k grid (each cell with its upper and left neighbours as parents:
it holds the k x k grid graph, of treewidth k, and eliminating it row by row never joins more
than k + 1 cells). Counterfactual answers are checked against a twin network built here from
the tables (the comonotone coupling of each variable's copies written out) and answered by
pgmpy's variable elimination.
"""

from __future__ import annotations

import itertools
import os
import random
import time

import networkx as nx
import numpy as np
import pytest

from test_first_contact_engine import grid  # the symmetric grid: every cell is 1 with probability 1/2

import causaldsl as cd
from causaldsl.engines import contraction

pgmpy = pytest.importorskip("pgmpy")
from pgmpy.factors.discrete import TabularCPD  # noqa: E402
from pgmpy.inference import VariableElimination  # noqa: E402
from pgmpy.utils import get_example_model  # noqa: E402

try:
    from pgmpy.models import DiscreteBayesianNetwork as _BN
except ImportError:  # pragma: no cover - older pgmpy
    from pgmpy.models import BayesianNetwork as _BN

EXAMPLES = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")


# ------------------------------------------------------------------ the true treewidth, by brute force
def exact_treewidth(graph: dict) -> int:
    """Treewidth by the recurrence TW(S) = min over v in S of max(TW(S - v), |Q(S - v, v)|),
    Q(S, v) the vertices outside S + v reachable from v through S (Bodlaender et al. 2012,
    Theorem 3.3); TW(V) is the treewidth. Subsets as bit masks: fine up to ~12 vertices."""
    names = list(graph)
    n = len(names)
    bit = {v: i for i, v in enumerate(names)}
    nbrs = [[bit[u] for u in graph[v]] for v in names]

    def q(s: int, v: int) -> int:
        seen, stack, out = 1 << v, [v], 0
        while stack:
            for y in nbrs[stack.pop()]:
                if not seen >> y & 1:
                    seen |= 1 << y
                    if s >> y & 1:
                        stack.append(y)
                    else:
                        out |= 1 << y
        return bin(out).count("1")

    tw = {0: -1}
    for s in sorted(range(1, 1 << n), key=lambda m: bin(m).count("1")):
        tw[s] = min(max(tw[s & ~(1 << v)], q(s & ~(1 << v), v)) for v in range(n) if s >> v & 1)
    return tw[(1 << n) - 1]


def test_the_brute_force_treewidth_knows_the_textbook_values():
    cycle = {i: {(i - 1) % 6, (i + 1) % 6} for i in range(6)}
    clique = {i: set(range(5)) - {i} for i in range(5)}
    tree = {0: {1, 2}, 1: {0}, 2: {0, 3}, 3: {2}}
    grid = nx.to_dict_of_lists(nx.grid_2d_graph(3, 3))
    assert [exact_treewidth(g) for g in (cycle, clique, tree, grid)] == [2, 4, 1, 3]


def _random_terms(seed: int, n: int = 10):
    """A random DAG's tables as einsum terms (each node with up to 3 earlier parents) and its moral graph."""
    rng = random.Random(seed)
    terms = []
    for v in range(n):
        parents = rng.sample(range(v), min(v, rng.randint(0, 3)))
        terms.append(parents + [v])
    return terms, contraction.interaction_graph(terms)


@pytest.mark.parametrize("seed", range(12))
def test_the_best_elimination_order_finds_the_true_treewidth_of_small_networks(seed):
    terms, graph = _random_terms(seed)
    sizes = dict.fromkeys(graph, 2)
    widths = []
    for rule in (contraction.min_degree, contraction.min_weight, contraction.min_fill):
        order = contraction.elimination_order(graph, sizes, rule)
        widths.append(_width(terms, sizes, contraction.order_path(terms, sizes, order, ())))
    widths.append(_width(terms, sizes, contraction.order_path(terms, sizes, contraction.bandwidth_order(graph), ())))
    truth = exact_treewidth(graph)
    assert min(widths) == truth and all(w >= truth for w in widths)  # each path's width is an upper bound


def _width(terms, sizes, path) -> int:
    eq = contraction.equation(terms, ())
    lhs = eq.split("->")[0].split(",")
    symbol_sizes = {c: sizes[a] for t, word in zip(terms, lhs) for a, c in zip(t, word)}
    return contraction.account([frozenset(w) for w in lhs], symbol_sizes, path, "").width


def test_a_grid_is_answered_along_its_treewidth_and_the_answer_shows_the_estimate():
    """16 x 16: opt_einsum's greedy path has a 2^20-entry intermediate; the order found has 2^16."""
    r = cd.model(grid(16)).query("P(g15_15 = 1)", method="exact")
    assert r.value == pytest.approx(0.5, abs=1e-12)
    assert r.cost.width == 16 and r.cost.largest <= 3 * 2 ** 16  # (the answer's [1, target, NaN] axis: 3)
    assert "treewidth 16 (estimated)" in r.details and "multiply-adds" in str(r)
    small = cd.model("model m {\n x ~ Bernoulli(0.3)\n y := 1 - x\n}").query("P(y = 1)")
    assert small.cost.width == 1 and small.details == "exact"  # a trivial contraction: nothing to show


def test_a_30_by_30_grid_is_refused_at_once_with_its_treewidth():
    m = cd.model(grid(30))
    t0 = time.perf_counter()
    with pytest.raises(cd.MethodError) as err:
        m.query("P(g29_29 = 1)", method="exact")
    assert time.perf_counter() - t0 < 5  # shapes only (about a second here)
    msg = str(err.value)
    assert "too large for exact" in msg and "treewidth 30 (estimated)" in msg and "largest table" in msg
    assert "method='monte-carlo'" in msg
    cost = m.engine.exact[next(iter(m.engine.exact))].structure.cost
    assert cost.width == 30 and cost.largest <= 3 * 2 ** 30


# ------------------------------------------------------------------ counterfactuals on bnlearn networks
def _twin_by_pgmpy(bn, x: str, x_cf: str, y: str, y_cf: str, evidence: dict) -> float:
    """P(y[x = x_cf] = y_cf | evidence), evidence in the factual world, on a twin network built
    here: x's descendants get a counterfactual copy ``v*``; a variable and its copy share their
    noise U ~ Uniform(0, 1), a level j where cdf[j-1] <= U < cdf[j], so their joint given both
    parent sets is the overlap of the two CDF intervals (comonotone coupling), written as
    P(v | pa) P(v* | v, pa, pa*). Answered by pgmpy's variable elimination."""
    down = nx.descendants(bn, x)
    states = {v: bn.get_cpds(v).state_names[v] for v in bn.nodes()}
    copy = lambda v: v + "*" if v in down else ("X*" if v == x else v)  # noqa: E731
    twin = _BN()
    twin.add_nodes_from(list(bn.nodes()) + [v + "*" for v in down] + ["X*"])
    cpds = [TabularCPD("X*", len(states[x]), [[1.0 if s == x_cf else 0.0] for s in states[x]],
                       state_names={"X*": states[x]})]
    for v in bn.nodes():
        c = bn.get_cpds(v)
        cpds.append(c.copy())
        twin.add_edges_from((p, v) for p in c.variables[1:])
        if v not in down:
            continue
        pa = c.variables[1:]
        pa_cf = [copy(p) for p in pa]
        table = c.get_values().reshape([len(states[w]) for w in c.variables])
        # Child v* given (v, pa, pa*): parents as pgmpy orders evidence, the last varying fastest.
        both = list(dict.fromkeys(pa + pa_cf))  # a parent outside x's descendants is in both worlds
        ev = [v] + both
        ev_states = [states[v]] + [states[x] if p == "X*" else states[p.rstrip("*")] for p in both]
        cols = []
        for j, *combo in itertools.product(*[range(len(s)) for s in ev_states]):
            at = dict(zip(both, combo))
            f = table[(slice(None),) + tuple(at[p] for p in pa)]
            g = table[(slice(None),) + tuple(at[p] for p in pa_cf)]
            cf, cg = np.concatenate([[0.0], np.cumsum(f)]), np.concatenate([[0.0], np.cumsum(g)])
            joint = np.maximum(0.0, np.minimum(cf[j + 1], cg[1:]) - np.maximum(cf[j], cg[:-1]))
            cols.append(joint / f[j] if f[j] > 0 else np.full(len(g), 1.0 / len(g)))
        cpds.append(TabularCPD(v + "*", len(states[v]), np.array(cols).T, evidence=ev,
                               evidence_card=[len(s) for s in ev_states],
                               state_names={v + "*": states[v], **dict(zip(ev, ev_states))}))
        twin.add_edges_from((e, v + "*") for e in ev)
    twin.add_cpds(*cpds)
    ans = VariableElimination(twin).query([y + "*"], evidence=evidence, show_progress=False)
    return float(ans.get_value(**{y + "*": y_cf}))


@pytest.mark.parametrize("name, x, x_cf, y, y_cf, evidence", [
    ("asia", "smoke", "no", "dysp", "yes", {"smoke": "yes", "dysp": "yes"}),
    ("child", "Disease", "TGA", "LowerBodyO2", "<5", {"Disease": "Fallot", "LowerBodyO2": "5-12"}),
    ("child", "LungParench", "Normal", "Grunting", "yes", {"Grunting": "yes", "XrayReport": "Oligaemic"}),
])
def test_counterfactuals_on_bnlearn_networks_match_a_twin_network_built_separately(name, x, x_cf, y, y_cf,
                                                                                  evidence):
    m = cd.from_bif(os.path.join(EXAMPLES, f"{name}.bif.gz"))
    q = lambda v: '"' + v + '"'  # noqa: E731
    given = ", ".join(f"{k} = {q(v)}" for k, v in evidence.items())
    r = m.query(f"P({y}[{x} = {q(x_cf)}] = {q(y_cf)} | {given})")
    assert r.method == "exact"
    assert r.value == pytest.approx(_twin_by_pgmpy(get_example_model(name), x, x_cf, y, y_cf, evidence), abs=1e-10)


def _two_world(m, x: str, y: str) -> str:
    ir = m.ir
    q = lambda v, i: '"' + ir[v].levels[i] + '"'  # noqa: E731
    return f"P({y}[{x} = {q(x, 0)}] = {q(y, 0)} | {x} = {q(x, -1)}, {y} = {q(y, -1)})"


def test_a_two_world_query_on_alarm_is_answered_exactly_in_well_under_a_second():
    m = cd.from_bif(os.path.join(EXAMPLES, "alarm.bif.gz"))
    t0 = time.perf_counter()
    r = m.query(_two_world(m, "MINVOLSET", "BP"))
    assert time.perf_counter() - t0 < 1.0 and r.method == "exact" and 0 <= r.value <= 1


def test_mildew_two_world_query_is_refused_with_its_estimate_before_anything_is_allocated(monkeypatch):
    """The twin network's coupled tables alone hold 10^11 entries: no order answers it."""
    m = cd.from_bif(os.path.join(EXAMPLES, "mildew.bif.gz"))
    query = _two_world(m, "meldug_1", "udbytte")
    t0 = time.perf_counter()
    with pytest.raises(cd.MethodError) as err:
        m.query(query, method="exact")
    assert time.perf_counter() - t0 < 5
    assert "too large for exact: the answer would need" in str(err.value) and "treewidth" in str(err.value)
    # With the limits lifted past the machine, the estimate is checked against its free memory first.
    monkeypatch.setattr(cd.settings, "exact_memory", float("inf"))
    monkeypatch.setattr(cd.settings, "exact_work", float("inf"))
    with pytest.raises(cd.MethodError, match="too large for exact on this machine: it would need about .* is free"):
        m.query(query, method="exact")


def test_the_twin_network_copies_only_what_the_intervention_reaches_on_the_way_to_the_query():
    """alarm, P(BP[MINVOLSET = LOW] = LOW | MINVOLSET = HIGH, BP = HIGH): the counterfactual world
    holds MINVOLSET (held) and its descendants among BP's ancestors, and nothing else; the shared
    ancestors appear once."""
    from causaldsl.language.parser import parse_query
    from causaldsl.model.queries import plan_query

    m = cd.from_bif(os.path.join(EXAMPLES, "alarm.bif.gz"))
    plan = plan_query(m.ir, parse_query('P(BP[MINVOLSET = "LOW"] = "LOW" | MINVOLSET = "HIGH", BP = "HIGH")'))
    g = m.ir.graph
    copies = sorted(n.origin for n in plan.network.nodes if "[" in n.name)
    assert copies == sorted((nx.descendants(g, "MINVOLSET") & nx.ancestors(g, "BP")) | {"BP", "MINVOLSET"})
    factual = [n.name for n in plan.network.nodes if "[" not in n.name]
    assert sorted(factual) == sorted(nx.ancestors(g, "BP") | {"BP"})
