"""Issue 18, the front end's items: expression conditions (7), ';' in models (8), unclosed
brackets (9), unknown words (10), no pickle from the shared temp directory (17), no
RecursionError from deep expressions (19), '\\r' and reported lines (20).

Expected numbers come from enumeration written out here (discrete) or a closed form
(continuous); expected positions are counted by hand from the text.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import tempfile

import pytest

import causaldsl as cd
from causaldsl.language import parser as P


def raises(fn, *args, **kw) -> cd.CausalDSLError:
    with pytest.raises(cd.CausalDSLError) as info:
        result = fn(*args, **kw)
        pytest.fail(f"no error raised; got {result!r}")
    return info.value


def at(err, cls, line: int, column: int, source_line: str | None = None) -> None:
    assert type(err) is cls, (type(err), str(err))
    assert (err.line, err.column) == (line, column), str(err)
    if source_line is not None:
        assert err.source_line == source_line, str(err)
        assert str(err).splitlines()[1] == source_line


# ---------------------------------------------------------------------- 8: ';' in model blocks
def test_semicolons_separate_model_statements():
    m = cd.model("model m { x ~ Bernoulli(0.3); y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.9 }); z := x + y; }")
    assert m.variables == ["x", "y", "z"]
    # P(z = 2) = P(x = 1) P(y = 1 | x = 1)
    assert m.query("P(z = 2)").value == pytest.approx(0.3 * 0.9, abs=1e-12)


def test_semicolons_and_new_lines_mix():
    text = "model m {\n x ~ Bernoulli(0.5); y := 1 - x\n z ~ Bernoulli(0.25);\n}\nP(y = 1)"
    fast = P.parse(text)
    assert [s.name for s in fast.items[0].statements] == ["x", "y", "z"]


# ---------------------------------------------------------------------- 17: the parser's cache
class _Planted:
    """A pickle that records that it ran (what an attacker's payload would do)."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Planted.ran = True
    return None


def _fresh_parser(monkeypatch, tmp: str, cache_home: str):
    monkeypatch.setattr(tempfile, "tempdir", tmp)
    monkeypatch.setenv("XDG_CACHE_HOME", cache_home)
    P._lark.cache_clear()
    try:
        return P._lark("start")
    finally:
        P._lark.cache_clear()


def _plant_everywhere(folder: str) -> None:
    """A pickle at every name Lark's own cache=True would read in ``folder``."""
    import getpass
    import hashlib
    import sys

    import lark

    user = getpass.getuser()
    for name in os.listdir(tempfile.gettempdir()):  # the names Lark used before, whatever their hash
        if name.startswith(".lark_cache_"):
            open(os.path.join(folder, name), "wb").write(b"x\n" + pickle.dumps(_Planted()))
    # and the name for this grammar with cache=True and no other option
    digest = hashlib.sha256((P.grammar_text() + lark.__version__ + str(sys.version_info[:2])).encode()).hexdigest()
    open(os.path.join(folder, f".lark_cache_{user}_{digest}_{sys.version_info[0]}_{sys.version_info[1]}.tmp"),
         "wb").write(b"x\n" + pickle.dumps(_Planted()))


def test_building_the_parser_reads_and_writes_nothing_in_the_temp_directory(monkeypatch, tmp_path):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    home = tmp_path / "cache"
    _plant_everywhere(str(shared))
    before = {p.name: p.stat().st_mtime_ns for p in shared.iterdir()}
    _Planted.ran = False
    lark = _fresh_parser(monkeypatch, str(shared), str(home))
    assert P._parse_with(lark, "P(x = 1)") == P.parse("P(x = 1)")
    assert not _Planted.ran
    assert {p.name: p.stat().st_mtime_ns for p in shared.iterdir()} == before  # nothing written there
    cached = list((home / "causaldsl").iterdir())
    assert len(cached) == 1 and cached[0].stat().st_uid == os.getuid()
    assert (home / "causaldsl").stat().st_mode & 0o077 == 0  # made private
    # the second build reads the private cache and parses the same
    again = _fresh_parser(monkeypatch, str(shared), str(home))
    text = "P(x = 1 | do(y = 0))"
    assert P._parse_with(again, text) == P._parse_with(lark, text) == P.parse(text)


def test_a_cache_directory_others_can_write_is_not_used(monkeypatch, tmp_path):
    home = tmp_path / "cache"
    (home / "causaldsl").mkdir(parents=True)
    os.chmod(home / "causaldsl", 0o777)
    grammar = P.grammar_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    assert P._cache_file(grammar, "start") is None
    _Planted.ran = False
    for name in ("a", "b"):
        open(home / "causaldsl" / name, "wb").write(pickle.dumps(_Planted()))
    _fresh_parser(monkeypatch, str(tmp_path), str(home))
    assert not _Planted.ran
    assert sorted(p.name for p in (home / "causaldsl").iterdir()) == ["a", "b"]


# ---------------------------------------------------------------------- 20: '\r' and reported lines
MODEL = "model m {\n  x ~ Bernoulli(0.5)\n  y ~ Bernoulli(0.5)\n}\n"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_do_not_shift_the_reported_line(newline):
    src = MODEL.replace("\n", newline) + "P(x = 1)" + newline + "P(z = 1)" + newline
    err = raises(cd.run, src)
    at(err, cd.UnknownNameError, 6, 3, "P(z = 1)")


def test_a_carriage_return_in_a_comment_does_not_shift_the_quoted_line():
    # a lone '\r' is a line break (as Python reads source), so y's statement is line 3
    src = "model m {\n  x ~ Bernoulli(0.5) # note\r  y ~ Bernoulli(0.5)\n}\nP(z = 1)\n"
    err = raises(cd.run, src)
    at(err, cd.UnknownNameError, 5, 3, "P(z = 1)")
    # a form feed is not a line break: the query's line is not shifted by one in a comment
    src = "model m {\n  x ~ Bernoulli(0.5) # a \x0c b\n}\nP(z = 1)\n"
    at(raises(cd.run, src), cd.UnknownNameError, 4, 3, "P(z = 1)")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_in_a_query(newline):
    m = cd.model(MODEL)
    err = raises(m.query, f"P(x = 1 |{newline} z = 1)")
    at(err, cd.UnknownNameError, 2, 2, " z = 1)")
    assert m.query(f"P(x = 1,{newline} y = 1)").value == pytest.approx(0.25)


# ---------------------------------------------------------------------- 7: conditions are logical expressions
WEATHER = """model weather {
  w ~ Categorical(sunny: 0.5, rainy: 0.3, snowy: 0.2)
  x ~ Bernoulli(if w == sunny then 0.8 else 0.3)
  z ~ Bernoulli(0.4)
  t ~ Bernoulli(0.5)
  y ~ Bernoulli(0.1 + 0.3 * x + 0.2 * z + 0.3 * t)
  u ~ Bernoulli(if w == snowy then 0.9 else 0.2)
}
"""
LEVELS = ("sunny", "rainy", "snowy")


def _weather_worlds(do_t=None):
    """Every (probability, w, x, z, t, u, U_y) of the weather model, U_y the cell of y's noise:
    y = 1 where U_y > 1 - p_y, so a counterfactual y shares U_y (the comonotone coupling)."""
    pw = {"sunny": 0.5, "rainy": 0.3, "snowy": 0.2}
    for w, x, z, t, u in itertools.product(LEVELS, (0, 1), (0, 1), (0, 1), (0, 1)):
        px = 0.8 if w == "sunny" else 0.3
        pu = 0.9 if w == "snowy" else 0.2
        p = pw[w] * (px if x else 1 - px) * (0.4 if z else 0.6) * (pu if u else 1 - pu)
        if do_t is None:
            p *= 0.5
        elif t != do_t:
            continue
        yield p, dict(w=w, x=x, z=z, t=t, u=u)


def _py(v):
    return 0.1 + 0.3 * v["x"] + 0.2 * v["z"] + 0.3 * v["t"]


def _enumerate(event, given, do_t=None) -> float:
    """P(event | given) by enumeration: y summed out by hand (P(y = 1 | parents) = _py)."""
    num = den = 0.0
    for p, v in _weather_worlds(do_t):
        for y in (0, 1):
            q = p * (_py(v) if y else 1 - _py(v))
            vy = dict(v, y=y)
            if given(vy):
                den += q
                if event(vy):
                    num += q
    return num / den


@pytest.fixture(scope="module")
def weather():
    return cd.model(WEATHER)


@pytest.mark.parametrize("query, event, given, do_t", [
    ("P(u = 1 | w != sunny)", lambda v: v["u"] == 1, lambda v: v["w"] != "sunny", None),
    ("P(u = 1 | w != 'sunny')", lambda v: v["u"] == 1, lambda v: v["w"] != "sunny", None),
    ("P(u = 1 | w = rainy or w = snowy)", lambda v: v["u"] == 1, lambda v: v["w"] != "sunny", None),
    ("P(y = 1 | x = 1 or z = 0, do(t = 1))", lambda v: v["y"] == 1, lambda v: v["x"] == 1 or v["z"] == 0, 1),
    ("P(y = 1 | not (x == 1 and z == 1), u = 0)", lambda v: v["y"] == 1,
     lambda v: not (v["x"] == 1 and v["z"] == 1) and v["u"] == 0, None),
    ("P(y = 1 or z = 0 | w = rainy)", lambda v: v["y"] == 1 or v["z"] == 0, lambda v: v["w"] == "rainy", None),
    ("P(y = 1 and not u = 1 | x + z >= 1)", lambda v: v["y"] == 1 and v["u"] == 0,
     lambda v: v["x"] + v["z"] >= 1, None),
    ("P(y = 1 | x + z != 0)", lambda v: v["y"] == 1, lambda v: v["x"] + v["z"] != 0, None),
])
def test_discrete_expression_conditions_are_exact(weather, query, event, given, do_t):
    r = weather.query(query)
    assert r.method == "exact"
    assert r.value == pytest.approx(_enumerate(event, given, do_t), abs=1e-12)


@pytest.mark.parametrize("query, where", [("P(y = 1 | x + z)", "x + z"), ("E[y | -1]", "-1"),
                                          ("P(y = 1 | x = 1, 2 * z)", "2 * z")])
def test_a_condition_that_is_a_number_is_refused(weather, query, where):
    # One rule on both sides of '|' (expressions.is_boolean): a number is not an event.
    with pytest.raises(cd.CausalDSLError, match="is a number") as e:
        weather.query(query)
    assert (e.value.line, e.value.column) == (1, query.index(where) + 1)


def test_expectation_and_distribution_given_an_event(weather):
    want = _enumerate(lambda v: v["y"] == 1, lambda v: v["x"] + v["z"] > 0)
    assert weather.query("E[y | x + z > 0]").value == pytest.approx(want, abs=1e-12)
    dist = weather.query("P(w | x = 1 or u = 1)").value
    for level in LEVELS:
        want = _enumerate(lambda v: v["w"] == level, lambda v: v["x"] == 1 or v["u"] == 1)
        assert dist[level] == pytest.approx(want, abs=1e-12)


def test_counterfactual_given_an_event(weather):
    # P(y[x = 0] = 1 | y = 1 and x = 1): y and y[x = 0] share U_y, so jointly
    # P(y[x=0] = 1, y = 1 | parents) = min(p_y(x = 0), p_y(x = 1)).
    num = den = 0.0
    for p, v in _weather_worlds():
        if v["x"] == 1:
            den += p * _py(v)
            num += p * min(_py(v), _py(dict(v, x=0)))
    r = weather.query("P(y[x = 0] = 1 | y = 1 and x = 1)")
    assert r.value == pytest.approx(num / den, abs=1e-12)
    assert r.value == pytest.approx(weather.query("P(y[x = 0] = 1 | y = 1, x = 1)").value, abs=1e-12)


def test_discrete_event_condition_by_monte_carlo_agrees(weather):
    want = _enumerate(lambda v: v["y"] == 1, lambda v: v["x"] == 1 or v["z"] == 0, 1)
    r = weather.query("P(y = 1 | x = 1 or z = 0, do(t = 1))", method="monte-carlo", samples=100_000)
    assert r.method == "monte-carlo" and r.stderr > 0
    assert abs(r.value - want) < 4 * r.stderr


GAUSS = """model g {
  x ~ Normal(0, 1)
  z ~ Normal(0.6 * x, 0.8)
}
"""


def _truncated_mean(a: float) -> float:
    """E[X | X > a] for a standard normal X: phi(a) / (1 - Phi(a))."""
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return phi / (0.5 * math.erfc(a / math.sqrt(2)))


def test_continuous_condition_on_an_inequality_closed_form():
    g = cd.model(GAUSS)
    r = g.query("E[z | x > 1]", samples=400_000)
    assert r.method == "monte-carlo" and r.stderr > 0
    want = 0.6 * _truncated_mean(1.0)  # E[z | x > 1] = 0.6 E[x | x > 1] = 0.9151
    assert abs(r.value - want) < 4 * r.stderr
    # an event on both sides: (Phi(2) - Phi(1)) / (Phi(2) - Phi(0.5))
    r = g.query("P(x > 1 | x > 0.5 and x < 2)", samples=400_000)
    cdf = lambda a: 0.5 * math.erfc(-a / math.sqrt(2))  # noqa: E731
    want = (cdf(2) - cdf(1)) / (cdf(2) - cdf(0.5))
    assert abs(r.value - want) < 4 * r.stderr
    # the counterfactual z[x = 0] = 0.8 * (z's own noise), independent of x: mean 0 given anything about x
    r = g.query("E[z[x = 0] | x > 1]", samples=400_000)
    assert abs(r.value) < 4 * r.stderr


def test_impossible_events_are_clear_errors(weather):
    src = WEATHER + "P(y = 1 | x > 5)\n"
    err = raises(cd.run, src)
    assert type(err) is cd.ZeroProbabilityError and "x > 5" in err.message
    assert err.line == 9 and err.source_line == "P(y = 1 | x > 5)"
    g = cd.model(GAUSS)
    err = raises(g.query, "E[z | x > 100 or z < -100]", samples=10_000)
    assert type(err) is cd.ZeroProbabilityError and "x > 100 or z < -100" in err.message
    err = raises(weather.query, "P(u = 1 | w != cloudy)")
    at(err, cd.DomainError, 1, 16, "P(u = 1 | w != cloudy)")


def test_identify_keeps_bare_names_and_refuses_events():
    m = cd.model("model m {\n z ~ Bernoulli(0.5)\n x ~ Bernoulli(0.2 + 0.5 * z)\n"
                 " y ~ Bernoulli(0.1 + 0.3 * x + 0.4 * z)\n}")
    assert str(m.identify("P(y | do(x), z)")) == "P(y | z, x)"
    assert str(m.identify("P(y | do(x))")) == "Σ_z P(y | x, z) P(z)"
    err = raises(m.identify, "P(y | do(x), z > 0)")
    at(err, cd.QueryError, 1, 14)


def test_expression_conditions_through_the_cli(tmp_path, capsys):
    from causaldsl import cli

    path = tmp_path / "weather.causal"
    path.write_text(WEATHER + "P(u = 1 | w != sunny)\nP(y = 1 | x = 1 or z = 0, do(t = 1))\n")
    assert cli.main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    for want in (_enumerate(lambda v: v["u"] == 1, lambda v: v["w"] != "sunny"),
                 _enumerate(lambda v: v["y"] == 1, lambda v: v["x"] == 1 or v["z"] == 0, 1)):
        assert f"{want:.6g}" in out


def test_expression_conditions_in_a_notebook_cell():
    IPython = pytest.importorskip("IPython")  # noqa: F841
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    try:
        ip.run_line_magic("load_ext", "causaldsl")
        r = ip.run_cell("%%causal\n" + WEATHER + "P(u = 1 | w != sunny)\n", store_history=False)
        assert r.success, r.error_in_exec
        want = _enumerate(lambda v: v["u"] == 1, lambda v: v["w"] != "sunny")
        assert f"{want:.6g}" in r.result._repr_mimebundle_()["text/plain"]
    finally:
        InteractiveShell.clear_instance()


# ---------------------------------------------------------------------- 19: deep expressions
def _deep_error(src):
    err = raises(cd.model, src)
    assert type(err) is cd.CausalSyntaxError and "nested too deeply" in err.message
    return err


def test_a_500_term_sum_is_a_located_error_not_a_recursion_error():
    # ' y := x + x + ...': the k-th '+' is at column 9 + 4 (k - 1) and makes k + 1 levels
    err = _deep_error("model m {\n x ~ Bernoulli(0.5)\n y := " + " + ".join(["x"] * 500) + "\n}")
    assert (err.line, err.column) == (3, 9 + 4 * 199) and err.source_line[err.column - 1] == "+"
    m = cd.model("model m {\n x ~ Bernoulli(0.5)\n}")
    err = raises(m.query, "E[" + " + ".join(["x"] * 500) + "]")
    assert type(err) is cd.CausalSyntaxError and (err.line, err.column) == (1, 5 + 4 * 199)


def test_500_unary_minus_signs_and_330_nested_calls_are_located_errors():
    # the sign next to x (column 506) is level 2; the one 199 to its left is level 201
    err = _deep_error("model m {\n x ~ Bernoulli(0.5)\n y := " + "-" * 500 + "x\n}")
    assert (err.line, err.column) == (3, 506 - 199)
    # call j (from the outside, at column 7 + 4 (j - 1)) is level 332 - j: j = 131 is level 201
    err = _deep_error("model m {\n x ~ Normal(0, 1)\n y ~ Normal(" + "abs(" * 330 + "x" + ")" * 330 + ", 1)\n}")
    assert (err.line, err.column) == (3, 13 + 4 * 130) and err.source_line[err.column - 1: err.column + 3] == "abs("


def test_expressions_at_the_limit_answer_through_every_engine():
    # 200 levels: a 199-term sum (x counted 199 times), exact and Monte Carlo
    s = " + ".join(["x"] * 199)
    m = cd.model(f"model m {{\n x ~ Bernoulli(0.25)\n y := {s}\n}}")
    assert m.query("E[y]").value == pytest.approx(199 * 0.25, abs=1e-9)
    assert m.query(f"P(x = 1 | {' or '.join(['x == 1'] * 99)})").value == pytest.approx(1.0)
    g = cd.model(f"model g {{\n x ~ Normal(0, 1)\n y := {s}\n}}")
    r = g.query("E[y | x > 1]", samples=100_000)
    assert abs(r.value - 199 * _truncated_mean(1.0)) < 4 * r.stderr
    deep = "abs(" * 198 + "x" + ")" * 198  # 199 levels: E|x| = sqrt(2 / pi)
    r = cd.model(f"model c {{\n x ~ Normal(0, 1)\n y := {deep}\n}}").query("E[y]", samples=100_000)
    assert abs(r.value - math.sqrt(2 / math.pi)) < 4 * r.stderr


def test_100000_nested_parentheses_still_work():
    paren = "(" * 100_000 + "x" + ")" * 100_000
    m = cd.model(f"model m {{\n x ~ Bernoulli(0.5)\n y := {paren}\n}}")
    assert m.query(f"E[{paren} + y]").value == pytest.approx(1.0)


# ---------------------------------------------------------------------- 9: brackets never closed
def test_an_unclosed_parenthesis_is_reported_where_it_opens():
    src = ("model smoking {\n    latent genotype ~ Bernoulli(0.5)\n"
           "    smoking ~ Bernoulli(if genotype then 0.8 else 0.2\n"
           "    tar ~ Bernoulli(if smoking then 0.95 else 0.05)\n}\n")
    err = raises(cd.model, src)
    at(err, cd.CausalSyntaxError, 3, 24, "    smoking ~ Bernoulli(if genotype then 0.8 else 0.2")
    assert err.message == "the '(' opened at line 3, column 24 is never closed"
    assert "')'" in err.hint and "line 4" in err.hint
    assert str(err).splitlines()[2] == " " * 23 + "^"
    assert "expected" not in str(err)  # no token list


def test_a_missing_model_brace_is_reported_where_it_opens():
    src = "model m {\n  x ~ Bernoulli(0.5)\n  y ~ Bernoulli(0.5)\n\nP(y = 1)\n"
    err = raises(cd.run, src)
    at(err, cd.CausalSyntaxError, 1, 9, "model m {")
    assert err.message == "the '{' opened at line 1, column 9 is never closed" and "'}'" in err.hint
    err = raises(cd.run, "model m {\n  x ~ Bernoulli(0.5)\n")
    at(err, cd.CausalSyntaxError, 1, 9, "model m {")


@pytest.mark.parametrize("src, line, column, bracket", [
    ("model m {\n  x ~ Bernoulli(0.5)\n}\nP(x = 1\n", 4, 2, "("),                 # at the end of the text
    ("model m {\n  x ~ Bernoulli(0.5)\n}\nE[x | x = 1\nP(x = 1)\n", 4, 2, "["),  # runs into the next line
    ("model m {\n  x ~ Bernoulli(max(0.2, 0.5)\n}\n", 2, 16, "("),             # a '}' that matches no '('
    # the '}' closes the table, so Bernoulli's '(' is left open (a '(' in a comment is no bracket)
    ("model m {\n  x ~ Bernoulli(0.5)  # (\n  y ~ Bernoulli(table(x) {0: 0.1, 1: 0.2\n}\n", 3, 16, "("),
])
def test_the_innermost_bracket_never_closed(src, line, column, bracket):
    err = raises(cd.run, src)
    at(err, cd.CausalSyntaxError, line, column)
    assert err.message == f"the '{bracket}' opened at line {line}, column {column} is never closed"
    assert err.source_line[column - 1] == bracket


def test_a_mistake_on_the_line_of_an_open_bracket_is_reported_where_it_is():
    # as Python: the bracket is blamed only when the text ran on past its line
    src = "model m {\n  x ~ Bernoulli(0.5 +* 2)\n}\n"
    at(raises(cd.model, src), cd.CausalSyntaxError, 2, 22)


# ---------------------------------------------------------------------- 10: unknown words
@pytest.mark.parametrize("src, line, column, word, guess", [
    ("model m {\n  X ~ Bernoulli(0.5)\n  Y ~ Bernoulli(0.5)\n}\nNDF(X -> Y)\n", 5, 1, "NDF", "NDE"),
    ("model m {\n  lattent u ~ Bernoulli(0.5)\n}\n", 2, 3, "lattent", "latent"),
    ("model m {\n  y ~ Bernoulli(0.5)\n}\np(y = 1)\n", 4, 1, "p", "P"),
    ("modle m {\n  y ~ Bernoulli(0.5)\n}\n", 1, 1, "modle", "model"),
    ("model m {\n  parm b ~ Beta(1, 1)\n  y ~ Bernoulli(b)\n}\n", 2, 3, "parm", "param"),
    ("model m {\n  y ~ Bernoulli(0.5); Latent u ~ Normal(0, 1)\n}\n", 2, 23, "Latent", "latent"),
])
def test_unknown_words_name_the_nearest_keyword(src, line, column, word, guess):
    err = raises(cd.run, src)
    at(err, cd.CausalSyntaxError, line, column)
    assert err.message == f"unknown word '{word}'" and err.width == len(word)
    assert err.hint.startswith(f"did you mean '{guess}'?")
    assert "expected" not in str(err)


def test_a_misspelt_effect_lists_the_named_effects_and_unknown_forms_list_the_queries():
    err = raises(cd.run, "model m {\n  X ~ Bernoulli(0.5)\n  Y ~ Bernoulli(0.5)\n}\nNDF(X -> Y)\n")
    assert "ATE, ETT, NDE, NIE, PN, PS, PNS, CDE, RR, OR" in err.hint
    err = raises(cd.run, "model m {\n  X ~ Bernoulli(0.5)\n}\nfoo(X)\n")
    at(err, cd.CausalSyntaxError, 4, 1)
    assert err.message == "unknown word 'foo'" and "P(...), E[...]" in err.hint


def test_e_with_parentheses_and_p_with_brackets():
    m = cd.model("model m {\n  y ~ Bernoulli(0.5)\n  x ~ Bernoulli(0.5)\n}")
    err = raises(m.query, "E(y | x = 1)")
    at(err, cd.CausalSyntaxError, 1, 2)
    assert "square brackets" in err.hint and "E[y | x = 1]" in err.hint
    err = raises(m.query, "P[y = 1]")
    at(err, cd.CausalSyntaxError, 1, 2)
    assert "parentheses" in err.hint
