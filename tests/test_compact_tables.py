"""Real networks as text (issue 20, the language side): quoted level names, names that are words of
the language, the compact table form, and ``to_text()``.

Numbers are checked against sums written out here by hand, against the same model written in the
keyed form, and, for the bnlearn networks, against the model read from the BIF file: ``from_bif ->
to_text -> parse`` must give the same IR and the same answers at 1e-12.
"""

from __future__ import annotations

import glob
import itertools
import os

import pytest

import causaldsl as cd
from causaldsl.language import syntax as S
from causaldsl.language.parser import parse, parse_query
from causaldsl.language.writer import expr_text

pgmpy = pytest.importorskip("pgmpy")

EXAMPLES = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")
FAST = ["asia", "sachs", "child", "insurance", "alarm", "survey"]
ALL = sorted(os.path.basename(p)[: -len(".bif.gz")] for p in glob.glob(os.path.join(EXAMPLES, "*.bif.gz")))
TUTORIALS = os.path.join(os.path.dirname(__file__), "..", "tutorials")

# P(E), P(Age | Sex, E), written out below by hand
P_E = {"<5": 0.3, "12+": 0.7}
P_AGE = {("male", "<5"): (0.25, 0.75), ("male", "12+"): (0.5, 0.5),
         ("female", "<5"): (0.1, 0.9), ("female", "12+"): (1.0, 0.0)}
COMPACT = '''model m {
    E ~ Categorical("<5": 0.3, "12+": 0.7)
    Sex ~ Categorical(male: 0.5, female: 0.5)
    Age ~ Categorical(levels = ["a \\"b\\"", '12+'], probs = table(Sex, E) {
        (male, "<5"): [0.25, 0.75], (male, "12+"): [0.5, 0.5],
        (female, "<5"): [0.1, 0.9], (female, "12+"): [1, 0]
    })
    y ~ Bernoulli(table(E) { "<5": 0.2, "12+": 0.6 })
}'''
KEYED = '''model m {
    E ~ Categorical("<5": 0.3, "12+": 0.7)
    Sex ~ Categorical(male: 0.5, female: 0.5)
    Age ~ Categorical("a \\"b\\"": table(Sex, E) { (male, "<5"): 0.25, (male, "12+"): 0.5,
                                                  (female, "<5"): 0.1, (female, "12+"): 1 },
                      "12+": table(Sex, E) { (male, "<5"): 0.75, (male, "12+"): 0.5,
                                             (female, "<5"): 0.9, (female, "12+"): 0 })
    y ~ Bernoulli(table(E) { "<5": 0.2, "12+": 0.6 })
}'''


# ------------------------------------------------------------------ quoted level names
def test_quoted_levels_in_declarations_queries_do_and_worlds():
    m = cd.model(COMPACT)
    assert m.ir["E"].levels == ("<5", "12+") and m.ir["Age"].levels == ('a "b"', "12+")
    # P(Age = a"b" | do(Sex = male)) = sum_e P(e) P(a"b | male, e)
    want = sum(P_E[e] * P_AGE["male", e][0] for e in P_E)
    assert m.query('P(Age = "a \\"b\\"" | do(Sex = "male"))').value == pytest.approx(want, abs=1e-15)
    assert m.query("P(Age = 'a \"b\"' | do(Sex = male))").value == pytest.approx(want, abs=1e-15)
    # P(E = <5 | Age = 12+), Bayes by hand over Sex and E
    joint = {(s, e): 0.5 * P_E[e] * P_AGE[s, e][1] for s, e in P_AGE}
    want = sum(v for (s, e), v in joint.items() if e == "<5") / sum(joint.values())
    assert m.query('P(E = "<5" | Age = "12+")').value == pytest.approx(want, abs=1e-15)
    # a counterfactual subscript and a comparison with a quoted level
    assert m.query('P(y[E = "12+"] = 1 | E = "<5")').value == pytest.approx(0.6, abs=1e-15)
    assert m.query('E[E == "<5"]').value == pytest.approx(0.3, abs=1e-15)
    # the printed answer names the level as it was written
    dist = m.query("P(Age)")
    assert set(dist.value) == {'a "b"', "12+"}
    assert 'a "b"' in str(dist)


def test_string_escapes_and_both_quote_kinds():
    m = cd.model('model m {\n x ~ Categorical("it\'s": 0.25, \'say "hi"\': 0.5, "back\\\\slash": 0.25)\n}')
    assert m.ir["x"].levels == ("it's", 'say "hi"', "back\\slash")
    assert m.query("P(x = 'it\\'s')").value == 0.25
    assert m.query('P(x = "say \\"hi\\"")').value == 0.5
    assert m.query('P(x = "back\\\\slash")').value == 0.25


# ------------------------------------------------------------------ names that are words of the language
def test_keyword_like_names_are_variables():
    m = cd.model("model m {\n E ~ Bernoulli(0.3)\n P ~ Bernoulli(table(E) { 0: 0.5, 1: 0.9 })\n"
                 " model := E + P\n}")
    assert m.query("E[E]").value == pytest.approx(0.3)
    assert m.query("P(P = 1 | E = 1)").value == pytest.approx(0.9)
    assert m.query("E[P | do(E = 0)]").value == pytest.approx(0.5)
    assert m.query("E[model]").value == pytest.approx(0.3 + 0.3 * 0.9 + 0.7 * 0.5)
    assert m.query("P(P[E = 1] = 1 | E = 0, P = 0)").value == pytest.approx((0.9 - 0.5) / 0.5)


def test_backquoted_names_are_any_name():
    m = cd.model("model m {\n `do` ~ Bernoulli(0.25)\n `light on` := 1 - `do`\n}")
    assert m.variables == ["do", "light on"] or list(m.variables) == ["do", "light on"]
    assert m.query("P(`light on` = 1 | do(`do` = 0))").value == 1.0
    assert m.query("E[`light on`]").value == pytest.approx(0.75)


def test_a_reserved_word_unquoted_is_refused_with_the_way_out():
    with pytest.raises(cd.CausalSyntaxError) as info:
        cd.model("model m {\n do ~ Bernoulli(0.5)\n}")
    assert (info.value.line, info.value.column) == (2, 2) and "`do`" in info.value.hint


# ------------------------------------------------------------------ the compact form
def test_compact_and_keyed_forms_are_the_same_model():
    assert cd.model(COMPACT).ir == cd.model(KEYED).ir


def test_compact_fast_path_and_rule_by_rule_parse_agree():
    """A body of plain numbers is one token; a comment (or an expression) in it makes the parser read
    it rule by rule: the same tables either way."""
    fast = parse(COMPACT).items[0].statements[2].dist.args[1].value
    slow_text = COMPACT.replace("[0.25, 0.75],", "[0.25, 0.75],  # a comment\n")
    slow = parse(slow_text).items[0].statements[2].dist.args[1].value
    assert type(fast.values[0]) is S.Vector and fast == slow
    assert cd.model(slow_text).ir == cd.model(COMPACT).ir


def test_compact_root_unnamed_levels_and_expressions():
    m = cd.model("model m {\n x ~ Categorical(levels = [lo, mid, \"hi!\"], probs = [0.2, 0.3, 0.5])\n"
                 " y ~ Categorical(probs = table(x) { lo: [0.5, 0.5], mid: [1 / 4, 3 / 4], \"hi!\": [0, 1] })\n}")
    assert m.ir["y"].levels is None and m.ir["y"].domain == (0.0, 1.0)
    assert m.query("E[y]").value == pytest.approx(0.2 * 0.5 + 0.3 * 0.75 + 0.5 * 1.0, abs=1e-15)
    assert m.query('P(x = "hi!" | y = 0)').value == 0.0


@pytest.mark.parametrize("body, cls, words", [
    ("{ male: [0.2, 0.8], female: [0.5, 0.6] }", cd.ProbabilityError, "sum to 1.1"),
    ("{ male: [0.2, 0.8] }", cd.TableError, "missing row(s) female"),
    ("{ male: [0.2, 0.8], male: [0.5, 0.5], female: [0.5, 0.5] }", cd.TableError, "duplicate row"),
    ("{ male: [0.2, 0.8], female: [1] }", cd.TableError, "1 probabilities"),
    ("{ male: [0.2, 0.8], female: [1.5, -0.5] }", cd.ProbabilityError, "outside [0, 1]"),
    ("{ male: [0.2, 0.8], female: [0.5, 0.5.1] }", cd.CausalSyntaxError, "not a number"),
    ("{ male: [0.2, 0.8], # a comment\n female: [0.5, 0.6] }", cd.ProbabilityError, "sum to 1.1"),
])
def test_compact_table_mistakes(body, cls, words):
    with pytest.raises(cls) as info:
        cd.model("model m {\n s ~ Categorical(male: 0.5, female: 0.5)\n"
                 f" a ~ Categorical(levels = [\"<5\", \"12+\"], probs = table(s) {body})\n}}")
    assert words in info.value.message and info.value.line >= 3 and info.value.hint


# ------------------------------------------------------------------ to_text
def _name(v: str) -> str:
    return S.name_text(v)


def _answers(m, targets, evidence, do) -> list:
    """Marginals of ``targets``, one conditional and one do-query."""
    out = [m.query(f"P({_name(t)})").value for t in targets]
    (e, ev), (x, xv) = evidence, do
    y = targets[-1]
    out.append(m.query(f"P({_name(y)} | {_name(e)} = {S.quote(ev)})").value)
    out.append(m.query(f"P({_name(y)} | do({_name(x)} = {S.quote(xv)}))").value)
    return out


def _round_trip(name: str) -> None:
    m = cd.from_bif(os.path.join(EXAMPLES, f"{name}.bif.gz"))
    text = m.to_text()
    back = cd.model(text)
    assert back.ir == m.ir  # names, levels, parents, every number, the order
    assert list(back.variables) == list(m.variables)
    ir = m.ir
    targets = [n.name for n in ir.nodes if n.parents][-3:] or ir.names[-1:]
    leaf = targets[-1]
    root = next(n.name for n in ir.nodes if not n.parents and n.name != leaf)
    evidence = (root, ir[root].levels[0])
    do = (root, ir[root].levels[-1])
    for a, b in zip(_answers(m, targets, evidence, do), _answers(back, targets, evidence, do)):
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) <= 1e-12 for k in a)


@pytest.mark.parametrize("name", FAST)
def test_bnlearn_networks_round_trip_through_text(name):
    _round_trip(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ALL if n not in FAST])
def test_every_shipped_network_round_trips_through_text(name):
    _round_trip(name)


def test_text_is_compact_quoted_where_needed_and_survey_keeps_E():
    text = cd.from_bif(os.path.join(EXAMPLES, "survey.bif.gz")).to_text()
    assert "    E ~ Categorical(levels = [high, uni], probs = table(A, S) {" in text
    assert '(young, M): [0.75, 0.25],' in text
    child = cd.from_bif(os.path.join(EXAMPLES, "child.bif.gz")).to_text()
    assert '"<5"' in child or '"5-12"' in child or '"12+"' in child


def _tutorial_models():
    for path in sorted(glob.glob(os.path.join(TUTORIALS, "*.causal"))):
        for item in parse(open(path).read()).items:
            if isinstance(item, S.ModelBlock):
                yield pytest.param(path, item.name, id=f"{os.path.basename(path)}:{item.name}")


@pytest.mark.parametrize("path, name", list(_tutorial_models()))
def test_tutorial_models_round_trip_through_text(path, name):
    source = open(path).read()
    m = cd.model(source, name=name, base_dir=TUTORIALS)
    back = cd.model(m.to_text())
    assert back.ir == m.ir


def test_round_trip_answers_of_a_continuous_model_with_expressions():
    m = cd.model("model m {\n latent u ~ Normal(0, 1)\n x ~ Normal(1, 2)\n"
                 " y := if x > 1 and not u < -1 then 2 * (x - u) ** 2 else -x / (1 + exp(u))\n"
                 " w ~ Categorical(a: 0.5, \"b c\": 0.5)\n z := (w == \"b c\") + max(x, 0, u)\n}")
    back = cd.model(m.to_text())
    assert back.ir == m.ir
    for q in ("E[y]", "E[z | do(x = 2)]"):
        assert back.query(q, seed=3).value == m.query(q, seed=3).value


@pytest.mark.parametrize("text", [
    "a - (b - c)", "(a - b) - c", "a / (b * c)", "-a ** 2", "(-a) ** 2", "a ** -b", "a ** (b ** c)",
    "not (a and b) or c", "(a or b) and c", "(if a then b else c) + 1", "-(a + b)", "a < (b < c)",
    "table(a, b) { (0, -1): 0.5, (1, 2): a + 1 }", "min(a, b, 2.5e-08)", 'a == "x \\"y\\""',
])
def test_expressions_read_back_as_written(text):
    e = parse_query(f"E[{text}]").expr
    assert parse_query(f"E[{expr_text(e)}]").expr == e


def test_an_intervened_model_writes_the_held_value():
    m = cd.model(COMPACT).do(E="12+")
    back = cd.model(m.to_text())
    assert back.query('P(Age = "12+" | Sex = "male")').value == pytest.approx(0.5, abs=1e-15)


# ------------------------------------------------------------------ the faces: notebook cell and CLI
SURVEY_PART = '''model survey {
    `A` ~ Categorical(young: 0.3, adult: 0.5, old: 0.2)
    E ~ Categorical(levels = [high, "uni/college"], probs = table(A) {
        young: [0.75, 0.25], adult: [0.72, 0.28],
        old: [0.88, 0.12]   # a comment: this body is read rule by rule
    })
}
P(E = "uni/college" | do(A = "young"))
P(A = "old" | E = "uni/college")
'''
P_OLD_GIVEN_UNI = 0.2 * 0.12 / (0.3 * 0.25 + 0.5 * 0.28 + 0.2 * 0.12)


def test_a_notebook_cell_reads_compact_tables_and_quoted_names(shell):
    pytest.importorskip("IPython")
    r = shell.run_cell("%%causal\n" + SURVEY_PART, store_history=False)
    assert r.success, r.error_in_exec
    m = shell.user_ns["survey"]
    assert m.query('P(A = "old" | E = "uni/college")').value == pytest.approx(P_OLD_GIVEN_UNI, abs=1e-15)
    assert f"{P_OLD_GIVEN_UNI:.6g}" in r.result._repr_mimebundle_()["text/plain"]


def test_the_cli_runs_a_file_with_compact_tables(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "survey.causal"
    path.write_text(SURVEY_PART)
    out = subprocess.run([sys.executable, "-m", "causaldsl.cli", "run", str(path)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "CAUSALDSL_COMPILATION_CACHE": "off"})
    assert out.returncode == 0, out.stderr
    assert 'P(E = "uni/college" | do(A = "young"))  0.25' in out.stdout
    assert f"{P_OLD_GIVEN_UNI:.6g}" in out.stdout


ODD = """network "odd net" { }
variable E { type discrete [ 3 ] { <5, 12+, "5-12" }; }
variable "light on" { type discrete[2] { "true" "false" }; }
variable table { type discrete [ 2 ] { Asy/Patch, 0_00___0_01__ }; }
probability ( E ) { table 0.2, 0.3, 0.5; }
probability ( "light on" | E ) { default 0.5, 0.5; (12+) 0.9, 0.1; }
probability ( table | E, "light on" ) {
  (<5, true) 0.1, 0.9;  (<5, false) 0.2, 0.8;
  ("5-12", true) 0.3, 0.7;  ("5-12", false) 0.4, 0.6;
  (12+, true) 0.5, 0.5;  (12+, false) 0.6, 0.4;
}
"""


def test_odd_names_round_trip_and_are_written_in_queries():
    """BIF names that are not plain names, or are words of the language, survive to_text and can be
    asked about in backquotes (the model's name too)."""
    m = cd.from_bif(ODD)
    text = m.to_text()
    assert text.startswith("model `odd net` {") and "    `light on` ~ Categorical(levels = [true, false]" in text
    assert "    `table` ~ Categorical(levels = [\"Asy/Patch\", \"0_00___0_01__\"]" in text
    back = cd.model(text)
    assert back.ir == m.ir
    # P(table = Asy/Patch | do(E = <5)) by hand: sum over light on, P(light on | <5) = 0.5 (the default row)
    want = 0.5 * 0.1 + 0.5 * 0.2
    assert back.query('P(`table` = "Asy/Patch" | do(E = "<5"))').value == pytest.approx(want, abs=1e-15)
    assert back.query('P(`light on` = "true" | `table` = "0_00___0_01__")').value == pytest.approx(
        m.query('P(`light on` = "true" | `table` = "0_00___0_01__")').value, abs=1e-15)
