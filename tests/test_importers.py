"""Real networks in and out (issue 20, "Real networks in"): BIF, pgmpy and pyAgrum.

Answers on the converted bnlearn networks are checked against pgmpy's VariableElimination (a
do-query on ``bn.do([X])``, the mutilated network, with evidence X = x: pgmpy's own
``CausalInference.query`` disagrees with it for do + evidence) and pyAgrum's LazyPropagation, at
1e-9; a counterfactual on asia against an enumeration of the exogenous noise written here.
"""

from __future__ import annotations

import gzip
import itertools
import os
import random

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.language import syntax as S
from causaldsl.interchange.network import Cpt, build_model, network_tables
from causaldsl.model.checker import check_model

pgmpy = pytest.importorskip("pgmpy")
from pgmpy.inference import VariableElimination  # noqa: E402
from pgmpy.readwrite import BIFReader  # noqa: E402
from pgmpy.utils import get_example_model  # noqa: E402

try:
    import pyagrum as gum
except ImportError:  # pragma: no cover
    gum = None

EXAMPLES = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")
FAST = ["asia", "sachs", "child", "insurance", "alarm"]
SLOW = ["water", "hailfinder", "hepar2", "win95pts", "pathfinder", "andes"]
NETWORKS = FAST + [pytest.param(n, marks=pytest.mark.slow) for n in SLOW]


def _path(name: str) -> str:
    return os.path.join(EXAMPLES, f"{name}.bif.gz")


def _q(s: str) -> str:
    return '"' + s + '"'


def _queries(bn, seed: int, k: int = 2):
    """``k`` marginals, conditionals and do-queries: (target, evidence, intervention), the values
    drawn from one forward sample of the network so that the evidence has positive probability."""
    rng = random.Random(seed)
    nodes = sorted(bn.nodes())
    sample = bn.simulate(1, seed=seed, show_progress=False).iloc[0].to_dict()
    out = []
    for kind in ("marginal", "conditional", "do"):
        for _ in range(k):
            y, e, x = rng.sample(nodes, 3)
            evidence = {} if kind == "marginal" else {e: str(sample[e])}
            do = {x: str(sample[x])} if kind == "do" else {}
            out.append((y, evidence, do))
    return out


def _pgmpy_answer(bn, y, evidence, do) -> dict:
    model = bn.do(list(do)) if do else bn
    q = VariableElimination(model).query([y], evidence={**evidence, **do}, show_progress=False)
    return dict(zip(map(str, q.state_names[y]), map(float, q.values)))


def _our_answer(m, y, evidence, do) -> dict:
    cond = [f"{v} = {_q(s)}" for v, s in evidence.items()]
    if do:
        cond.append("do(" + ", ".join(f"{v} = {_q(s)}" for v, s in do.items()) + ")")
    return m.query(f"P({y}" + (" | " + ", ".join(cond) if cond else "") + ")").value


@pytest.mark.parametrize("name", NETWORKS)
def test_bnlearn_networks_answer_as_pgmpy_variable_elimination(name):
    bn = get_example_model(name)
    m = cd.from_bif(_path(name))
    for y, evidence, do in _queries(bn, seed=20):
        ours, theirs = _our_answer(m, y, evidence, do), _pgmpy_answer(bn, y, evidence, do)
        assert ours.keys() == theirs.keys()
        for lv in theirs:
            assert ours[lv] == pytest.approx(theirs[lv], abs=1e-9), (name, y, evidence, do, lv)


def _pyagrum_answer(bn, y, evidence, do, engine="LazyPropagation") -> dict:
    if do:  # the mutilated network: no arrows into X, X observed at its value
        bn = gum.BayesNet(bn)
        for x in do:
            for p in list(bn.parents(bn.idFromName(x))):
                bn.eraseArc(p, bn.idFromName(x))
            bn.cpt(x).fillWith(1.0).normalize()
    ie = getattr(gum, engine)(bn)
    ie.setEvidence({**evidence, **do})
    ie.makeInference()
    post = ie.posterior(y)
    labels = bn.variable(y).labels()
    return dict(zip(labels, map(float, post.toarray())))


@pytest.mark.skipif(gum is None, reason="pyAgrum is not installed")
@pytest.mark.parametrize("name", NETWORKS)
def test_bnlearn_networks_answer_as_pyagrum_lazy_propagation(name):
    """pyAgrum's network built by m.to_pyagrum() (pyAgrum's own BIF reader rounds every number to
    float32 and refuses the level 'Asy/Patch' of child), answered by its LazyPropagation.

    The rows of most bnlearn tables sum to 1 only within 3e-7; exact engines that normalise at
    different steps (pgmpy and causaldsl at the end, LazyPropagation its messages) then differ by
    about 1e-8. Both sides here get the same tables, each row divided by its sum."""
    m = _normalised(cd.from_bif(_path(name)))
    bn = m.to_pyagrum()
    assert cd.from_pyagrum(bn).ir == m.ir
    for y, evidence, do in _queries(get_example_model(name), seed=7):
        ours, theirs = _our_answer(m, y, evidence, do), _pyagrum_answer(bn, y, evidence, do)
        assert ours.keys() == theirs.keys()
        for lv in theirs:
            assert ours[lv] == pytest.approx(theirs[lv], abs=1e-9), (name, y, evidence, do, lv)


# ------------------------------------------------------------------ tables survive exactly
def _cpd_table(cpd) -> tuple:
    """A TabularCPD as (variable, parents, {var: states}, values over (parents..., levels))."""
    v = cpd.variable
    states = {k: [str(s) for s in cpd.state_names[k]] for k in cpd.variables}
    cards = [len(states[p]) for p in cpd.variables[1:]]
    vals = np.moveaxis(np.asarray(cpd.get_values()).reshape(len(states[v]), *cards), 0, -1)
    # in the parents' sorted order, so that two CPDs listing parents differently compare equal
    order = sorted(range(len(cards)), key=lambda i: cpd.variables[1 + i])
    vals = np.transpose(vals, order + [len(cards)])
    return v, sorted(cpd.variables[1:]), states, vals


def _same_cpds(a, b) -> None:
    assert sorted(a.nodes()) == sorted(b.nodes())
    for v in a.nodes():
        va, pa, sa, xa = _cpd_table(a.get_cpds(v))
        vb, pb, sb, xb = _cpd_table(b.get_cpds(v))
        assert (va, pa, sa) == (vb, pb, sb)
        np.testing.assert_array_equal(xa, xb)  # exactly: the numbers are written to read back as themselves


@pytest.mark.parametrize("name", FAST + [pytest.param("hailfinder", marks=pytest.mark.slow)])
def test_round_trip_bif_model_bif_reads_back_equal_in_pgmpy(name):
    m = cd.from_bif(_path(name))
    text = m.to_bif()
    _same_cpds(BIFReader(string=text).get_model(), get_example_model(name))
    assert cd.from_bif(text).ir == m.ir
    _same_cpds(m.to_pgmpy(), get_example_model(name))


@pytest.mark.parametrize("name", FAST)
def test_pgmpy_and_pyagrum_conversions_give_the_bif_model(name, tmp_path):
    m = cd.from_bif(_path(name))
    from_pgmpy = cd.from_pgmpy(get_example_model(name))
    assert from_pgmpy.ir.by_name == m.ir.by_name
    if gum is not None:
        assert cd.from_pyagrum(m.to_pyagrum()).ir.by_name == m.ir.by_name
        if name != "child":  # pyAgrum's reader refuses the level 'Asy/Patch'
            plain = tmp_path / f"{name}.bif"
            plain.write_text(gzip.open(_path(name), "rt").read())
            theirs = cd.from_pyagrum(gum.loadBN(str(plain))).ir
            assert theirs.names == m.ir.names or sorted(theirs.names) == sorted(m.ir.names)
            for n in m.ir.nodes:  # pyAgrum reads BIF numbers as float32
                a, b = network_tables(m.ir.restrict(m.ir.ancestors([n.name])))[-1], _table_of(theirs, n.name)
                assert (a.levels, a.parents) == (b.levels, b.parents)
                np.testing.assert_allclose(a.probs, b.probs, atol=1e-7)


def _normalised(m):
    tables = [Cpt(t.name, t.levels, t.parents, t.probs / t.probs.sum(axis=-1, keepdims=True))
              for t in network_tables(m.ir)]
    return cd.CausalModel(build_model(m.name, tables))


def _table_of(model, name):
    return next(t for t in network_tables(model) if t.name == name)


def test_gzip_file_plain_file_and_text_read_the_same(tmp_path):
    text = gzip.open(_path("asia"), "rt").read()
    plain = tmp_path / "asia.bif"
    plain.write_text(text)
    assert cd.from_bif(_path("asia")).ir == cd.from_bif(str(plain)).ir == cd.from_bif(plain).ir == cd.from_bif(text).ir


def test_ir_built_from_tables_is_what_the_checker_builds():
    """The direct IR of asia is the checker's IR of the same statements (Categorical, one table per level)."""
    m = cd.from_bif(_path("asia")).ir
    stmts = []
    for n in m.nodes:
        args = tuple(S.Arg("level", lv, a) for lv, a in zip(n.levels, n.args))
        stmts.append(S.SampleStmt(n.name, S.DistCall("Categorical", args)))
    checked = check_model(S.ModelBlock(m.name, tuple(stmts)))
    assert checked.by_name == m.by_name  # (the checker orders by line; these statements have none)


# ------------------------------------------------------------------ odd names, old forms
ODD = """// a hand-written BIF with what real files hold
network "odd net" { property "version 1" ; }
variable E {                       /* a reserved word of the DSL */
  type discrete [ 3 ] { <5, 12+, "5-12" };
  property "position = (1, 2)" ;
}
variable "light on" { type discrete[2] { "true" "false" }; }
variable table { type discrete [ 2 ] { Asy/Patch, 0_00___0_01__ }; }  // a keyword of BIF and of the DSL
probability ( E ) { table 0.2, 0.3, 0.5; }
probability ( "light on" E ) {     // the old header form: child first, no '|'
  default 0.5, 0.5;
  (12+) 0.9 0.1;
}
probability ( table | E, "light on" ) {
  (<5, true) 0.1, 0.9;  (<5, false) 0.2, 0.8;
  ("5-12", true) 0.3, 0.7;  ("5-12", false) 0.4, 0.6;
  (12+, true) 0.5, 0.5;  (12+, false) 0.6, 0.4;
}
"""


def test_odd_names_keywords_quotes_defaults_and_comments_survive():
    m = cd.from_bif(ODD)
    ir = m.ir
    assert ir.name == "odd net" and ir.names == ["E", "light on", "table"]
    assert ir["E"].levels == ("<5", "12+", "5-12")
    assert ir["light on"].levels == ("true", "false") and ir["light on"].parents == ("E",)
    assert ir["table"].levels == ("Asy/Patch", "0_00___0_01__")
    # default fills the rows not given; P(table = Asy/Patch) by hand
    p_light = {"<5": 0.5, "12+": 0.9, "5-12": 0.5}
    p_e = {"<5": 0.2, "12+": 0.3, "5-12": 0.5}
    p_t = {("<5", "true"): 0.1, ("<5", "false"): 0.2, ("5-12", "true"): 0.3, ("5-12", "false"): 0.4,
           ("12+", "true"): 0.5, ("12+", "false"): 0.6}
    want = sum(p_e[e] * (p_light[e] if l == "true" else 1 - p_light[e]) * p_t[e, l]
               for e in p_e for l in ("true", "false"))
    # a variable named 'table' cannot be written in a query (a keyword there); its answers can be read
    # off the distribution of a query about something else
    joint = m.do(E="<5").sample(1)  # the model runs with the names as they are
    assert set(joint) == {"E", "light on", "table"}
    assert m.query('P(E = "12+")').value == pytest.approx(0.3)
    assert m.query('P(E = "<5" | E = "<5")').value == 1.0
    renamed = cd.from_bif(ODD.replace("table {", "tbl {").replace("( table |", "( tbl |"))
    assert renamed.query('P(tbl = "Asy/Patch")').value == pytest.approx(want, abs=1e-12)
    assert renamed.query('P(tbl = "0_00___0_01__" | do(E = "<5"))').value == pytest.approx(
        1 - (0.5 * 0.1 + 0.5 * 0.2), abs=1e-12)
    # written out and read back, by us and by pgmpy
    assert cd.from_bif(m.to_bif()).ir == ir
    back = BIFReader(string=m.to_bif()).get_model()
    assert back.get_cpds("table").state_names["table"] == ["Asy/Patch", "0_00___0_01__"]
    assert back.get_cpds("E").state_names["E"] == ["<5", "12+", "5-12"]


def test_survey_variable_named_E_is_loaded_and_queried():
    m = cd.from_bif(_path("survey"))
    bn = get_example_model("survey")
    assert "E" in m.variables
    assert m.query('P(E = "high")').value == pytest.approx(_pgmpy_answer(bn, "E", {}, {})["high"], abs=1e-12)
    assert m.query('P(T | E = "high")').value["car"] == pytest.approx(
        _pgmpy_answer(bn, "T", {"E": "high"}, {})["car"], abs=1e-12)


@pytest.mark.slow
def test_mildew_digit_led_levels_survive():
    m = cd.from_bif(_path("mildew"))
    bn = get_example_model("mildew")
    for v in bn.nodes():
        assert list(m.ir[v].levels) == [str(s) for s in bn.get_cpds(v).state_names[v]]
    assert sum(lv[0].isdigit() for n in m.ir.nodes for lv in n.levels) > 200


# ------------------------------------------------------------------ errors
def _error(text: str, cls=cd.CausalDSLError) -> cd.CausalDSLError:
    with pytest.raises(cls) as info:
        cd.from_bif(text)
    err = info.value
    assert err.hint and err.line and err.column
    assert "^" in str(err)
    return err


HEAD = "variable a { type discrete [ 2 ] { yes, no }; }\n"


def test_bad_syntax_is_an_error_at_its_place():
    err = _error(HEAD + "probability ( a ) { table 0.2, 0.8 }\n", cd.CausalSyntaxError)
    assert (err.line, err.column) == (2, 36) and "';'" in err.hint
    err = _error("variable a { type discrete [ 2 ] { yes, no } }", cd.CausalSyntaxError)
    assert (err.line, err.column) == (1, 46)
    err = _error(HEAD + "probability ( a ) { table 0.2, 0.8x; }", cd.CausalSyntaxError)
    assert (err.line, err.column) == (2, 35)


def test_rows_must_sum_to_one_within_the_tolerance():
    err = _error(HEAD + "probability ( a ) {\n  table 0.2, 0.7;\n}", cd.ProbabilityError)
    assert err.line == 3 and "sum to 0.9" in err.message
    # three-decimal rounding is normalised away
    m = cd.from_bif(HEAD.replace("2 ] { yes, no", "3 ] { x, y, z") + "probability ( a ) { table 0.333, 0.333, 0.333; }")
    assert m.query('P(a = "x")').value == pytest.approx(1 / 3, abs=1e-12)
    # rows within 1e-6 are kept exactly as written
    m = cd.from_bif(HEAD + "probability ( a ) { table 0.2000001, 0.8; }")
    assert m.ir["a"].args[0].value == 0.2000001
    # and a negative entry is refused
    err = _error(HEAD + "probability ( a ) { table -0.2, 1.2; }", cd.ProbabilityError)
    assert err.line == 2


def test_a_directed_cycle_is_refused_at_a_table_on_it():
    text = (HEAD + "variable b { type discrete [ 2 ] { yes, no }; }\n"
            "probability ( a | b ) { (yes) 0.5, 0.5; (no) 0.5, 0.5; }\n"
            "probability ( b | a ) { (yes) 0.5, 0.5; (no) 0.5, 0.5; }\n")
    err = _error(text, cd.CycleError)
    assert "directed cycle" in err.message and err.line in (1, 2) and "acyclic" in err.hint  # at a declaration on it


def test_unknown_variable_in_a_probability_block():
    err = _error(HEAD + "probability ( a | bb ) { (yes) 0.2, 0.8; (no) 0.5, 0.5; }", cd.UnknownNameError)
    assert (err.line, err.column) == (2, 19)


def test_missing_table_missing_row_unknown_level_wrong_count():
    err = _error(HEAD + "variable b { type discrete [ 2 ] { 0, 1 }; }\nprobability ( a ) { table 0.5, 0.5; }",
                 cd.TableError)
    assert (err.line, err.column) == (2, 10) and "no probability block" in err.message
    two = HEAD + "variable b { type discrete [ 2 ] { 0, 1 }; }\nprobability ( a ) { table 0.5, 0.5; }\n"
    err = _error(two + "probability ( b | a ) { (yes) 0.5, 0.5; }", cd.TableError)
    assert "no row for (no)" in err.message and err.line == 4
    err = _error(two + "probability ( b | a ) { (yes) 0.5, 0.5; (nope) 0.5, 0.5; }", cd.TableError)
    assert (err.line, err.column) == (4, 42) and "did you mean 'no'" in err.hint
    err = _error(two + "probability ( b | a ) { (yes) 0.5, 0.5, 0.0; (no) 0.5, 0.5; }", cd.TableError)
    assert "3 numbers, expected 2" in err.message
    err = _error("variable a { type discrete [ 3 ] { yes, no }; }", cd.TableError)
    assert "declares 3 levels and lists 2" in err.message


def test_a_missing_file_is_a_clear_error():
    with pytest.raises(cd.CausalDSLError, match="no BIF file"):
        cd.from_bif("/nonexistent/net.bif")


# ------------------------------------------------------------------ exports refuse what a table cannot hold
@pytest.mark.parametrize("text, why", [
    ("model m {\n x ~ Normal(0, 1)\n}", "continuous"),
    ("model m {\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(0.2 + 0.5 * x)\n}", "expression"),
    ("model m {\n x ~ Bernoulli(0.5)\n y := 1 - x\n}", "expression"),
    ("model m {\n x ~ Poisson(2)\n}", "continuous"),
])
def test_exports_refuse_what_a_table_cannot_hold(text, why):
    m = cd.model(text)
    for export in (m.to_bif, m.to_pgmpy) + ((m.to_pyagrum,) if gum is not None else ()):
        with pytest.raises(cd.CausalDSLError, match=why) as info:
            export()
        assert info.value.hint


def test_dsl_tables_export_and_answer_the_same_in_pgmpy():
    m = cd.model("""model m {
        w ~ Categorical(sun: 0.6, rain: 0.4)
        x ~ Bernoulli(table(w) { sun: 0.3, rain: 0.8 })
        y ~ Bernoulli(table(w, x) { (sun, 0): 0.1, (sun, 1): 0.7, (rain, 0): 0.2, (rain, 1): 0.9 })
    }""")
    bn = m.to_pgmpy()
    ours = m.query('P(y = 1 | do(x = 1), w = "rain")').value
    assert ours == pytest.approx(_pgmpy_answer(bn, "y", {"w": "rain"}, {"x": "1"})["1"], abs=1e-12)
    assert ours == pytest.approx(0.9)
    observed = m.query('P(w = "sun" | y = 1)').value
    assert observed == pytest.approx(_pgmpy_answer(bn, "w", {"y": "1"}, {})["sun"], abs=1e-12)
    # an intervened model exports its held variable as a certain table
    assert m.do(x=1).to_pgmpy().get_cpds("x").get_values().ravel().tolist() == [0.0, 1.0]


# ------------------------------------------------------------------ counterfactuals: ours alone
def _asia_counterfactual_by_enumeration() -> float:
    """P(dysp[smoke = no] = yes | smoke = yes, dysp = yes) on asia, enumerating every node's
    noise U ~ Uniform(0, 1) over the intervals between its CDF's breakpoints (quantile coupling:
    a node is level j where cdf[j-1] <= U < cdf[j], the same U in both worlds)."""
    bn = get_example_model("asia")
    order = ["asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp"]
    cpd = {v: bn.get_cpds(v) for v in order}

    def cdf(v, world):
        c = cpd[v]
        idx = {c.variables[0]: slice(None)}
        idx.update({p: c.state_names[p].index(world[p]) for p in c.variables[1:]})
        vals = c.get_values().reshape([len(c.state_names[x]) for x in c.variables])
        col = vals[tuple(idx[x] for x in c.variables)]
        return np.cumsum(col)

    breaks = {}
    for v in order:
        c = cpd[v]
        pts = {0.0, 1.0}
        for combo in itertools.product(*[c.state_names[p] for p in c.variables[1:]]):
            pts.update(float(x) for x in cdf(v, dict(zip(c.variables[1:], combo)))[:-1])
        pts = sorted(p for p in pts if 0.0 <= p <= 1.0)
        breaks[v] = [(a, b) for a, b in zip(pts, pts[1:]) if b > a]

    def value(v, u, world):
        states = cpd[v].state_names[v]
        return states[int(np.sum(u >= cdf(v, world)[:-1]))]

    num = den = 0.0
    for cells in itertools.product(*[breaks[v] for v in order]):
        weight = np.prod([b - a for a, b in cells])
        u = {v: (a + b) / 2 for v, (a, b) in zip(order, cells)}
        fact, cf = {}, {}
        for v in order:
            fact[v] = value(v, u[v], fact)
            cf[v] = "no" if v == "smoke" else value(v, u[v], cf)
        if fact["smoke"] == "yes" and fact["dysp"] == "yes":
            den += weight
            num += weight * (cf["dysp"] == "yes")
    return num / den


def test_counterfactual_on_asia_matches_an_enumeration_of_the_noise():
    m = cd.from_bif(_path("asia"))
    got = m.query('P(dysp[smoke = "no"] = "yes" | smoke = "yes", dysp = "yes")')
    assert got.method == "exact"
    assert got.value == pytest.approx(_asia_counterfactual_by_enumeration(), abs=1e-12)


def test_numeric_level_names_are_quoted_in_queries():
    """A bare number is a level's position; a quoted one its name (link's levels are '1', '2', ...)."""
    m = cd.from_bif("variable y { type discrete [ 2 ] { 1, 2 }; }\nprobability ( y ) { table 0.25, 0.75; }")
    assert m.query('P(y = "1")').value == 0.25
    assert m.query("P(y = 1)").value == 0.75


def test_conversions_refuse_what_is_not_a_network():
    with pytest.raises(cd.CausalDSLError, match="DiscreteBayesianNetwork") as info:
        cd.from_pgmpy({"a": 1})
    assert info.value.hint
    with pytest.raises(cd.CausalDSLError, match="BayesNet") as info:
        cd.from_pyagrum("asia")
    assert info.value.hint


def test_pgmpy_integer_states_become_level_names():
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    bn = DiscreteBayesianNetwork([("x", "y")])
    bn.add_cpds(TabularCPD("x", 2, [[0.3], [0.7]]),
                TabularCPD("y", 2, [[0.9, 0.2], [0.1, 0.8]], evidence=["x"], evidence_card=[2]))
    m = cd.from_pgmpy(bn)
    assert m.ir["y"].levels == ("0", "1")
    assert m.query('P(y = "1" | do(x = "1"))').value == pytest.approx(0.8)
    assert m.query('P(x = "1" | y = "1")').value == pytest.approx(0.7 * 0.8 / (0.7 * 0.8 + 0.3 * 0.1))


@pytest.mark.skipif(gum is None, reason="pyAgrum is not installed")
def test_odd_names_survive_pyagrum():
    m = cd.from_bif(ODD)
    bn = m.to_pyagrum()
    assert bn.variable("E").labels() == ("<5", "12+", "5-12")
    assert cd.from_pyagrum(bn).ir.by_name == m.ir.by_name


def test_bif_grammar_is_shipped_with_the_package():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert '"grammar/bif.lark" = "causaldsl/grammar/bif.lark"' in (root / "pyproject.toml").read_text()
    assert (root / "grammar" / "bif.lark").is_file()


def test_bif_keywords_as_names():
    text = """network network { }
variable probability { type discrete [ 3 ] { table, default, property }; }
variable variable { type discrete [ 2 ] { type, discrete }; }
probability ( probability ) { table 0.5, 0.25, 0.25; }
probability ( variable | probability ) { (table) 1, 0; (default) 0, 1; (property) 0.5, 0.5; }
"""
    m = cd.from_bif(text)
    assert m.name == "network" and m.ir["probability"].levels == ("table", "default", "property")
    assert m.query('P(variable = "discrete")').value == pytest.approx(0.25 + 0.125)
    assert cd.from_bif(m.to_bif()).ir == m.ir


def test_a_network_without_variables_is_refused():
    err = _error("network empty { }\n", cd.CausalSyntaxError)
    assert "no variables" in err.message


# ------------------------------------------------------------------ the fast BIF reading
ODD_BIF = """// a comment between blocks
network "my net" { property "x = 1" ; }
variable "a b" { type discrete [ 3 ] { "<5", 12+, Asy/Patch }; property "position = (1, 2)" ; }
variable table {
  type discrete [ 2 ] { yes, no };
}
/* another */ variable c { type discrete [ 2 ] { 0 1 }; }
probability ( "a b" ) { table 0.2, 0.3, 0.5; }
probability ( table | "a b" ) { (Asy/Patch) 0.5, 0.5; (<5) 0.1, 0.9; (12+) 0.3 0.7; }
probability ( c table "a b" ) { table 0.1 0.2 0.3 0.4 0.5 0.6 0.9 0.8 0.7 0.6 0.5 0.4; }
"""


def _same_readings(text):
    from causaldsl.interchange.bif import _read_careful, _read_fast

    fast, careful = _read_fast(text), _read_careful(text)
    assert fast is not None
    assert fast[0] == careful[0]
    assert len(fast[1]) == len(careful[1])
    for a, b in zip(fast[1], careful[1]):
        assert (a.name, a.levels, a.parents, a.span) == (b.name, b.levels, b.parents, b.span)
        np.testing.assert_array_equal(a.probs, b.probs)


@pytest.mark.parametrize("name", ["asia", "sachs", "child", "insurance", "alarm", "hailfinder", "win95pts"])
def test_fast_and_careful_bif_readings_give_the_same_tables(name):
    """bnlearn's files take the fast reading (whole blocks by regular expressions, numbers by NumPy),
    which gives the very tables, names, levels and declaration places the grammar's reading gives."""
    from causaldsl.interchange.bif import bif_text

    _same_readings(bif_text(_path(name)))


def test_fast_reading_takes_odd_names_old_headers_and_rows_in_any_order():
    _same_readings(ODD_BIF)
    m = cd.from_bif(ODD_BIF)
    assert m.name == "my net" and m.ir["a b"].levels == ("<5", "12+", "Asy/Patch")
    # P(c = 1 | table = no, a b = Asy/Patch): the old header lists c's parents as table, "a b"; the
    # table is child-major, last parent fastest: row (no, Asy/Patch) is the 6th, so P = 0.4
    assert _table_of(m.ir, "c").probs[1, 2, 1] == 0.4
    want = 0.2 * (0.1 * 0.9 + 0.9 * 0.6) + 0.3 * (0.3 * 0.8 + 0.7 * 0.5) + 0.5 * (0.5 * 0.7 + 0.5 * 0.4)
    assert m.query('P(c = "1")').value == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("body, probs", [
    ("{ table 0.2, 0.8; // a comment inside\n}", [0.2, 0.8]),
    ("{ default 0.2, 0.8; }", [0.2, 0.8]),
    ("{ /* x */ table 0.5, 0.5; }", [0.5, 0.5]),
])
def test_what_the_fast_reading_leaves_is_read_by_the_grammar(body, probs):
    from causaldsl.interchange.bif import _read_fast

    text = "variable a { type discrete [ 2 ] { yes, no }; }\nprobability ( a ) " + body
    assert _read_fast(text) is None
    assert _table_of(cd.from_bif(text).ir, "a").probs.tolist() == probs


@pytest.mark.parametrize("text", [
    "variable a { type discrete [ 2 ] { " + "b" * 3000 + " c }",
    "variable a { type discrete [ 2 ] { " + "b," * 3000 + " c }; ",
    "probability ( " + "a " * 3000 + "| b ) { (x) 0.1 0.9; ",
    "\n" + " " * 20000 + "garbage",
    "// " + "// x " * 3000 + "\nvariable",
])
def test_the_fast_reading_fails_in_linear_time(text):
    """Its patterns never backtrack into a run they took: a malformed text of 10^4 characters is
    handed to the grammar at once (exponential backtracking would take years), which says where it
    is wrong."""
    import time

    from causaldsl.interchange.bif import _read_fast

    t0 = time.perf_counter()
    assert _read_fast(text) is None
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(cd.CausalDSLError):
        cd.from_bif(text)


def test_a_long_text_without_braces_is_not_taken_for_a_path():
    with pytest.raises(cd.CausalDSLError, match="no BIF file"):
        cd.from_bif("x" * 5000)


# ------------------------------------------------------------------ new questions on one model
@pytest.mark.parametrize("name", ["child", "alarm", "insurance"])
def test_new_questions_on_one_loaded_model_do_not_leak_into_each_other(name):
    """The tables are tabulated once per model and shared by every question: a marginal, then
    do(X = x) on a parent of the target, the marginal again, evidence, do + evidence, and do at
    another value, asked in that order of one loaded model, each answer as pgmpy's VE gives it (a
    do-query on the mutilated network) and pyAgrum's LazyPropagation; the model keeps one table
    per variable, not one per question."""
    bn = get_example_model(name)
    m = cd.from_bif(_path(name))
    rng = random.Random(11)
    sample = bn.simulate(1, seed=11, show_progress=False).iloc[0].to_dict()
    ys = sorted(v for v in bn.nodes() if len(list(bn.predecessors(v))) >= 2)
    for y in rng.sample(ys, 2):
        x = sorted(bn.predecessors(y))[0]
        e = rng.choice(sorted(set(bn.nodes()) - {x, y}))
        states = [str(s) for s in bn.get_cpds(x).state_names[x]]
        other = next(s for s in states if s != str(sample[x]))
        asked = [(y, {}, {}), (y, {}, {x: str(sample[x])}), (y, {}, {}), (y, {e: str(sample[e])}, {}),
                 (y, {e: str(sample[e])}, {x: str(sample[x])}), (y, {}, {x: other}), (y, {}, {})]
        agrum = _normalised(m).to_pyagrum() if gum is not None else None
        for yy, evidence, do in asked:
            ours = _our_answer(m, yy, evidence, do)
            theirs = _pgmpy_answer(bn, yy, evidence, do)
            assert ours.keys() == theirs.keys()
            for lv in theirs:
                assert ours[lv] == pytest.approx(theirs[lv], abs=1e-9), (name, yy, evidence, do, lv)
            if agrum is not None:
                for lv, p in _pyagrum_answer(agrum, yy, evidence, do).items():
                    assert ours[lv] == pytest.approx(p, abs=1e-7), (name, yy, evidence, do, lv)
    assert 0 < len(m.engine.tables) <= len(m.ir.nodes)


def test_a_counterfactual_after_other_questions_shares_the_tables_rightly():
    """Copies of a variable in another world read the model's own table: asked after a marginal
    and a do-query of the same model, the counterfactual on asia is still the enumeration's."""
    m = cd.from_bif(_path("asia"))
    bn = get_example_model("asia")
    for y, evidence, do in (("dysp", {}, {}), ("dysp", {}, {"smoke": "no"}), ("dysp", {"smoke": "yes"}, {})):
        ours, theirs = _our_answer(m, y, evidence, do), _pgmpy_answer(bn, y, evidence, do)
        assert ours == pytest.approx(theirs, abs=1e-12)
    got = m.query('P(dysp[smoke = "no"] = "yes" | smoke = "yes", dysp = "yes")')
    assert got.value == pytest.approx(_asia_counterfactual_by_enumeration(), abs=1e-12)
    assert m.query('P(dysp = "yes" | do(smoke = "no"))').value == pytest.approx(
        _pgmpy_answer(bn, "dysp", {}, {"smoke": "no"})["yes"], abs=1e-12)


@pytest.mark.parametrize("name", ["asia", "alarm"])
def test_every_bif_table_two_levels_or_more_is_read_straight_off(name):
    """A BIF variable is Categorical with its level names, two levels or more; its table is read
    straight off its numbers (no expression evaluated over the grid, as for a Bernoulli table), and
    equals what the general path computes."""
    from causaldsl.engines.exact import ExactProgram, table_pmf
    from causaldsl.language.parser import parse_query
    from causaldsl.model.queries import plan_query

    m = cd.from_bif(_path(name))
    sinks = [n for n in m.ir.names if not any(n in o.parents for o in m.ir.nodes)]
    q = "P(" + sinks[0] + ")"
    s = ExactProgram(plan_query(m.ir, parse_query(q), q)).structure
    two = 0
    for g, copies in enumerate(s.groups):
        c = copies[0]
        two += len(c.levels) == 2
        assert c.family == "Categorical" and c.levels == m.ir[c.name].levels
        assert table_pmf(c, s.pnames[g], [s.domain_of[p] for p in s.pnames[g]]) is not None
        got, flags = s.static_factor(g, np.zeros(1), {})
        general, gflags = s.factor(g, np.zeros(1), {}, {}, np)
        np.testing.assert_array_equal(got, general)
        assert [bool(f) for f in flags] == [bool(f) for f in gflags] == [False]
    assert two > 0
