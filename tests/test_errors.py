"""Mistakes in user input: the error class, where it points, how it reads.

Every mistake must raise a :class:`causaldsl.CausalDSLError` subclass with a
1-based ``line``/``column`` pointing at the offending token, a message that
names the place, quotes the source line with a caret under the spot, and a
``hint``.  Expected positions below are worked out by hand from the text; the
``token`` argument of :func:`check` re-checks them against the source line.

Tests catch ``CausalDSLError`` only, so a raw Python exception (TypeError,
KeyError, ...) escaping the library fails the test with its traceback.
"""

from __future__ import annotations

import math

import pytest

import causaldsl as cd


# ---------------------------------------------------------------------- helpers
def raises(fn, *args, **kw) -> cd.CausalDSLError:
    """The CausalDSLError raised by ``fn(*args, **kw)`` (a raw exception fails the test)."""
    with pytest.raises(cd.CausalDSLError) as info:
        result = fn(*args, **kw)
        # Reached only when nothing was raised: show what came back instead.
        pytest.fail(f"no error raised; got {result!r}")
    return info.value


def check(err, cls, source: str, line: int, column: int, *, token: str | None = None,
          message=(), hint=(), exact_class: bool = True) -> None:
    """``err`` is a ``cls`` at ``line``/``column`` of ``source``, quoted with a caret.

    ``token`` is what the source line holds at ``column`` (a guard on the
    hand-computed column); ``message``/``hint`` are substrings the error's
    message/hint must contain.
    """
    if exact_class:
        assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    else:
        assert isinstance(err, cls), f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert isinstance(err, cd.CausalDSLError)
    assert (err.line, err.column) == (line, column), \
        f"expected line {line}, column {column}; got line {err.line}, column {err.column}:\n{err}"

    src_line = source.splitlines()[line - 1]
    if token is not None:  # guard on the expected position itself
        assert src_line[column - 1:].startswith(token), (src_line, column, token)

    text = str(err)
    lines = text.splitlines()
    assert lines[0].startswith(f"line {line}, column {column}: "), text
    assert src_line in lines, f"source line {src_line!r} not quoted in:\n{text}"
    caret = lines[lines.index(src_line) + 1]
    assert caret[:column - 1] == " " * (column - 1) and caret[column - 1:column] == "^", \
        f"caret not under column {column}:\n{text}"
    assert set(caret.strip()) == {"^"}, text

    assert err.hint, f"no hint:\n{text}"
    assert f"hint: {err.hint}" in text
    for s in (message,) if isinstance(message, str) else message:
        assert s in err.message, f"{s!r} not in message {err.message!r}"
    for s in (hint,) if isinstance(hint, str) else hint:
        assert s in err.hint, f"{s!r} not in hint {err.hint!r}"
    assert "Traceback" not in text


SMOKING = """model m {
    smoking ~ Bernoulli(0.5)
    cancer ~ Bernoulli(if smoking then 0.9 else 0.1)
}"""

XY = """model m {
    x ~ Bernoulli(0.5)
    y ~ Bernoulli(if x then 0.9 else 0.1)
}"""

WEATHER = """model w {
    weather ~ Categorical(sunny: 0.7, rainy: 0.3)
    umbrella ~ Bernoulli(table(weather) { sunny: 0.1, rainy: 0.8 })
}"""


@pytest.fixture(scope="module")
def smoking():
    return cd.model(SMOKING)


@pytest.fixture(scope="module")
def xy():
    return cd.model(XY)


@pytest.fixture(scope="module")
def weather():
    return cd.model(WEATHER)


# ---------------------------------------------------------------------- syntax
def test_missing_closing_parenthesis_in_model():
    # The '(' of line 2 is never closed; newlines inside ( ) are dropped, so the
    # parser fails at the next token, 'y' on line 3: the error names the '(' (as Python does).
    src = "model m {\n    x ~ Bernoulli(0.5\n    y ~ Bernoulli(0.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 2, 18, token="(",
          message="the '(' opened at line 2, column 18 is never closed", hint=("')'", "line 3"))


def test_missing_closing_parenthesis_in_query(xy):
    q = "P(y = 1 | do(x = 1)"
    err = raises(xy.query, q)
    # the '(' of P( is the one never closed (do( is closed by the last ')')
    check(err, cd.CausalSyntaxError, q, 1, 2, token="(", message="never closed", hint="')'")


def test_stray_ampersand():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y := x & 1\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 3, 12, token="&", message="'&'", hint="and")


def test_stray_ampersand_in_query(xy):
    q = "P(y = 1 & x = 1)"
    err = raises(xy.query, q)
    check(err, cd.CausalSyntaxError, q, 1, 9, token="&", message="'&'", hint="and")


def test_two_statements_on_one_line():
    src = "model m {\n    x ~ Bernoulli(0.5) y ~ Bernoulli(0.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 2, 24, token="y ~", message="'y'", hint="new line")


def test_single_equals_inside_expression():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y := if x = 1 then 1 else 0\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 3, 15, token="= 1", message="'='", hint="==")


def test_single_equals_inside_query_expression(xy):
    q = "E[if x = 1 then y else 0]"
    err = raises(xy.query, q)
    check(err, cd.CausalSyntaxError, q, 1, 8, token="= 1", hint="==")


def test_unterminated_block_at_end_of_text():
    src = "model m {\n    x ~ Bernoulli(0.5)\n"
    err = raises(cd.model, src)
    # the model's '{' is never closed
    check(err, cd.CausalSyntaxError, src, 1, 9, token="{", message="the '{' opened at line 1, column 9 is never closed",
          hint="'}'")


def test_assignment_with_single_equals_instead_of_walrus():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y = x\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 3, 7, token="=", hint="':='")


def test_caret_for_power():
    src = "model m {\n    x ~ Normal(0, 1)\n    y := x ^ 2\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalSyntaxError, src, 3, 12, token="^", hint="**")


# ---------------------------------------------------------------------- unknown names
def test_unknown_variable_in_model_suggests_spelling():
    err = raises(cd.model, SMOKING.replace("if smoking then", "if smokng then"))
    src = SMOKING.replace("if smoking then", "if smokng then")
    check(err, cd.UnknownNameError, src, 3, 27, token="smokng", message="'smokng'",
          hint="did you mean 'smoking'?")


def test_unknown_distribution_suggests_spelling():
    src = "model m {\n    x ~ Bernouli(0.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.DistributionError, src, 2, 9, token="Bernouli", message="'Bernouli'",
          hint="did you mean 'Bernoulli'?")


def test_unknown_function_suggests_spelling():
    src = "model m {\n    x ~ Normal(0, 1)\n    y := sigmod(x)\n}"
    err = raises(cd.model, src)
    check(err, cd.UnknownNameError, src, 3, 10, token="sigmod", message="'sigmod'",
          hint="did you mean 'sigmoid'?")


def test_unknown_table_parent():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(xx) { 0: 0.1, 1: 0.2 })\n}"
    err = raises(cd.model, src)
    check(err, cd.UnknownNameError, src, 3, 25, token="xx", message="'xx'", hint="did you mean 'x'?")


def test_distribution_used_as_a_function():
    src = "model m {\n    x ~ Normal(0, 1)\n    y := Normal(x, 1)\n}"
    err = raises(cd.model, src)
    check(err, cd.UnknownNameError, src, 3, 10, token="Normal", hint="~")


# ---------------------------------------------------------------------- duplicates
def test_duplicate_variable_points_at_second_definition():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y := x\n    x ~ Bernoulli(0.2)\n}"
    err = raises(cd.model, src)
    check(err, cd.DuplicateDefinitionError, src, 4, 5, token="x ~ Bernoulli(0.2)",
          message=("'x'", "line 2"))


def test_duplicate_model_names_in_program():
    src = ("model a {\n    x ~ Bernoulli(0.5)\n}\nP(x = 1)\n"
           "model a {\n    y ~ Bernoulli(0.5)\n}\n")
    err = raises(cd.program, src)
    check(err, cd.DuplicateDefinitionError, src, 5, 7, token="a {", message=("'a'", "line 1"))


# ---------------------------------------------------------------------- cycles
def test_two_variable_cycle_is_named():
    src = "model m {\n    a := b\n    b := a\n}"
    err = raises(cd.model, src)
    check(err, cd.CycleError, src, 2, 5, token="a :=", message="a -> b -> a", hint="acyclic")


def test_three_variable_cycle_is_named():
    src = "model m {\n    a ~ Bernoulli(0.5)\n    b := a + d\n    c := b\n    d := c\n}"
    err = raises(cd.model, src)
    check(err, cd.CycleError, src, 3, 5, token="b :=", message="b -> c -> d -> b")


def test_self_loop():
    src = "model m {\n    x ~ Bernoulli(if x then 0.5 else 0.2)\n}"
    err = raises(cd.model, src)
    check(err, cd.CycleError, src, 2, 5, token="x ~", message="x -> x")


# ---------------------------------------------------------------------- probabilities and parameters
def test_literal_probability_above_one():
    src = "model m {\n    x ~ Bernoulli(1.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 2, 19, token="1.5", message=("1.5", "[0, 1]"),
          hint="between 0 and 1")


def test_table_probability_outside_unit_interval_points_at_the_row_value():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 1.3 })\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 3, 41, token="1.3", message="1.3")


def test_table_probability_on_a_later_line_of_a_multiline_table():
    src = ("model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) {\n"
           "        0: 0.2,\n        1: -0.2\n    })\n}")
    err = raises(cd.model, src)
    # the literal -0.2 is a unary minus applied to 0.2: either column is the value's
    err_col = err.column
    assert err_col in (12, 13), err
    check(err, cd.ProbabilityError, src, 5, err_col, message="-0.2")


def test_categorical_probabilities_not_summing_to_one():
    src = "model m {\n    w ~ Categorical(sunny: 0.7, rainy: 0.2)\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 2, 9, token="Categorical", message=("0.9", "1"),
          hint="1")


def test_categorical_negative_probability_points_at_it():
    src = "model m {\n    w ~ Categorical(a: -0.5, b: 1.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 2, 24, token="-0.5", message="-0.5")


def test_normal_with_negative_scale():
    src = "model m {\n    x ~ Normal(0, -1)\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 2, 9, token="Normal", message=("Normal", "-1"),
          hint="> 0")


def test_uniform_with_low_above_high():
    src = "model m {\n    x ~ Uniform(1, 0)\n}"
    err = raises(cd.model, src)
    check(err, cd.ProbabilityError, src, 2, 9, token="Uniform", hint="low < high")


def test_missing_distribution_parameter():
    src = "model m {\n    x ~ Normal(0)\n}"
    err = raises(cd.model, src)
    check(err, cd.DistributionError, src, 2, 9, token="Normal", message="scale",
          hint="Normal(loc, scale)")


def test_unknown_keyword_parameter():
    src = "model m {\n    x ~ Normal(0, sd=1)\n}"
    err = raises(cd.model, src)
    check(err, cd.DistributionError, src, 2, 19, token="sd=", message="'sd'")


# ---------------------------------------------------------------------- tables
def test_table_missing_row_is_named():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 19, token="table(x)", message="missing row(s) 1",
          hint="every combination")


def test_table_missing_row_of_two_parents_is_named():
    src = ("model m {\n    a ~ Bernoulli(0.5)\n    b ~ Bernoulli(0.5)\n"
           "    y ~ Bernoulli(table(a, b) { (0, 0): 0.1, (0, 1): 0.2, (1, 0): 0.3 })\n}")
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 4, 19, token="table(a, b)", message="(1, 1)")


def test_table_duplicate_row():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3, 1: 0.4 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 46, token="1: 0.4", message="duplicate row 1")


def test_table_extra_row_key_not_a_value_of_the_parent():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3, 2: 0.4 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 46, token="2:", message=("2", "'x'"), hint=("0", "1"))


def test_table_row_with_too_many_keys():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { (0, 1): 0.2, 1: 0.3 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 30, token="(0, 1)", message=("2 value(s)", "1 parent(s)"))


def test_table_row_with_too_few_keys():
    src = ("model m {\n    a ~ Bernoulli(0.5)\n    b ~ Bernoulli(0.5)\n"
           "    y ~ Bernoulli(table(a, b) { 0: 0.1, 1: 0.2 })\n}")
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 4, 33, token="0: 0.1", message=("1 value(s)", "2 parent(s)"),
          hint="(0, 1)")


def test_table_level_name_that_does_not_exist():
    src = ("model m {\n    w ~ Categorical(sunny: 0.7, rainy: 0.3)\n"
           "    y ~ Bernoulli(table(w) { sunny: 0.2, rainyy: 0.3 })\n}")
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 42, token="rainyy", message="'rainyy'",
          hint="did you mean 'rainy'?")


def test_table_level_name_for_a_numeric_parent():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { yes: 0.1, no: 0.2 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 30, token="yes", message="'yes'", hint=("0", "1"))


def test_table_over_a_continuous_parent():
    src = "model m {\n    x ~ Normal(0, 1)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3 })\n}"
    err = raises(cd.model, src)
    check(err, cd.TableError, src, 3, 25, token="x)", message="'x'")


def test_level_comparison_with_unknown_level_in_model():
    src = "model m {\n    w ~ Categorical(sunny: 0.5, rainy: 0.5)\n    y := w == snowy\n}"
    err = raises(cd.model, src)
    check(err, cd.UnknownNameError, src, 3, 15, token="snowy", message="'snowy'",
          exact_class=False)


# ---------------------------------------------------------------------- queries
def test_query_unknown_variable(smoking):
    q = "P(smokng = 1)"
    err = raises(smoking.query, q)
    check(err, cd.UnknownNameError, q, 1, 3, token="smokng", message="'smokng'",
          hint="did you mean 'smoking'?")


def test_query_unknown_variable_inside_do(smoking):
    q = "P(cancer = 1 | do(smokng = 1))"
    err = raises(smoking.query, q)
    check(err, cd.UnknownNameError, q, 1, 19, token="smokng", hint="did you mean 'smoking'?")


def test_query_value_outside_domain(xy):
    q = "P(x = 2)"
    err = raises(xy.query, q)
    check(err, cd.DomainError, q, 1, 7, token="2", message=("2", "'x'"), hint=("0", "1"))


def test_query_do_value_outside_domain(xy):
    q = "P(y = 1 | do(x = 0.5))"
    err = raises(xy.query, q)
    check(err, cd.DomainError, q, 1, 18, token="0.5", message="0.5", hint=("0", "1"))


def test_query_observed_value_outside_domain(xy):
    q = "P(y = 1 | x = 3)"
    err = raises(xy.query, q)
    check(err, cd.DomainError, q, 1, 15, token="3", message="3")


def test_query_unknown_level_name(weather):
    q = "P(weather = snowy)"
    err = raises(weather.query, q)
    check(err, cd.DomainError, q, 1, 13, token="snowy", message="'snowy'", hint="sunny")


def test_query_unknown_level_name_in_condition(weather):
    q = "P(umbrella = 1 | weather = snowy)"
    err = raises(weather.query, q)
    check(err, cd.DomainError, q, 1, 28, token="snowy", message="'snowy'")


def test_query_counterfactual_world_value_outside_domain(xy):
    q = "P(y[x = 3] = 1)"
    err = raises(xy.query, q)
    check(err, cd.DomainError, q, 1, 9, token="3")


def test_query_leading_spaces_shift_the_column(xy):
    q = "   P(x = 7)"
    err = raises(xy.query, q)
    check(err, cd.DomainError, q, 1, 10, token="7")


def test_conditioning_on_an_impossible_event():
    m = cd.model("model z {\n    x ~ Bernoulli(0.5)\n    y := x\n}")
    q = "P(x = 1 | y = 0, x = 1)"
    err = raises(m.query, q)
    check(err, cd.ZeroProbabilityError, q, 1, 1, token="P(", message="probability zero",
          hint="condition on an event that can happen")
    assert isinstance(err, cd.QueryError)


def test_conditioning_on_a_zero_probability_literal_event():
    m = cd.model("model z {\n    x ~ Bernoulli(0)\n    y := x\n}")
    q = "P(y = 1 | x = 1)"
    err = raises(m.query, q)
    check(err, cd.ZeroProbabilityError, q, 1, 1, message="x = 1")


def test_conditioning_never_met_by_monte_carlo():
    m = cd.model("model n {\n    x ~ Normal(0, 1)\n    b := x > 100\n}")
    q = "E[x | b = 1]"
    err = raises(m.query, q, samples=1000)
    check(err, cd.ZeroProbabilityError, q, 1, 1, message="never met")


def test_effect_with_non_binary_treatment_needs_treat_and_control():
    m = cd.model("model c {\n    x ~ Binomial(2, 0.5)\n    y ~ Bernoulli(if x > 0 then 0.9 else 0.1)\n}")
    q = "ATE(x -> y)"
    err = raises(m.query, q)
    check(err, cd.EffectError, q, 1, 5, token="x ->", message=("'x'", "not binary"),
          hint=("treat=", "control="))


def test_effect_with_continuous_treatment():
    m = cd.model("model c {\n    x ~ Normal(0, 1)\n    y ~ Bernoulli(sigmoid(x))\n}")
    q = "PN(x -> y)"
    err = raises(m.query, q)
    check(err, cd.EffectError, q, 1, 4, token="x ->", message="continuous", hint="treat=")


def test_nde_without_mediator(smoking):
    q = "NDE(smoking -> cancer)"
    err = raises(smoking.query, q)
    check(err, cd.EffectError, q, 1, 1, token="NDE", message="mediator", hint="via")


def test_ate_with_mediator(smoking):
    q = "ATE(smoking -> cancer via cancer)"
    err = raises(smoking.query, q)
    check(err, cd.EffectError, q, 1, 27, token="cancer)", message="no mediator")


def test_effect_unknown_variable(smoking):
    q = "ATE(smokng -> cancer)"
    err = raises(smoking.query, q)
    check(err, cd.UnknownNameError, q, 1, 5, token="smokng", hint="did you mean 'smoking'?")


def test_probability_of_causation_needs_binary_outcome():
    m = cd.model("model m {\n    x ~ Bernoulli(0.5)\n    y ~ Binomial(2, if x then 0.9 else 0.1)\n}")
    q = "PN(x -> y)"
    err = raises(m.query, q)
    check(err, cd.EffectError, q, 1, 9, token="y)", message="binary")


def test_distribution_of_a_continuous_variable():
    m = cd.model("model n {\n    x ~ Normal(0, 1)\n    y ~ Normal(x, 1)\n}")
    q = "P(y)"
    err = raises(m.query, q)
    check(err, cd.QueryError, q, 1, 3, token="y)", message="continuous", hint="E[y]")


def test_mean_of_a_categorical_variable():
    m = cd.model("model m {\n    w ~ Categorical(sunny: 0.5, rainy: 0.5)\n}")
    q = "E[w]"
    err = raises(m.query, q)
    check(err, cd.QueryError, q, 1, 1, token="E[", message="'w'", hint="P(w)")


def test_query_sets_a_variable_twice_in_do(smoking):
    q = "P(cancer = 1 | do(smoking = 1, smoking = 0))"
    err = raises(smoking.query, q)
    check(err, cd.QueryError, q, 1, 32, token="smoking = 0", message="twice")


def test_query_table_in_query(xy):
    q = "E[table(x) {0: 1, 1: 2}]"
    err = raises(xy.query, q)
    check(err, cd.QueryError, q, 1, 3, token="table", message="table")


def test_query_passed_two_queries(xy):
    q = "P(x = 1)\nP(y = 1)"
    err = raises(xy.query, q)
    check(err, cd.CausalSyntaxError, q, 1, 1, message="one query")


# ---------------------------------------------------------------------- run-time probabilities
RUNTIME = """model m {
    x ~ Binomial(3, 0.5)
    y ~ Bernoulli(0.5 + 0.3 * x)
}"""


@pytest.mark.parametrize("method", [None, "exact", "monte-carlo"])
def test_probability_computed_at_run_time_outside_unit_interval(method):
    m = cd.model(RUNTIME)
    with pytest.raises(cd.CausalDSLError) as info:
        r = m.query("P(y = 1)", method=method)
        pytest.fail(f"no error; got {r!r} (value {getattr(r, 'value', None)!r})")
    err = info.value
    # the error names the statement of y: its line in the model source, quoted
    check(err, cd.ProbabilityError, RUNTIME, 3, 5, token="y ~", message="'y'",
          hint="between 0 and 1")
    assert "    y ~ Bernoulli(0.5 + 0.3 * x)" in str(err)


def test_run_time_probability_in_expectation_is_an_error_not_nan():
    m = cd.model(RUNTIME)
    err = raises(m.query, "E[y]")
    check(err, cd.ProbabilityError, RUNTIME, 3, 5, token="y ~")


def test_run_time_probability_in_a_table_row_expression():
    src = ("model m {\n    x ~ Bernoulli(0.5)\n    z ~ Bernoulli(0.5)\n"
           "    y ~ Bernoulli(table(x) { 0: z + 0.8, 1: 0.2 })\n}")
    m = cd.model(src)
    err = raises(m.query, "P(y = 1)")
    check(err, cd.ProbabilityError, src, 4, 5, token="y ~")


def test_run_time_invalid_scale_of_a_continuous_variable():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Normal(0, x)\n}"
    m = cd.model(src)
    err = raises(m.query, "E[y]")
    check(err, cd.ProbabilityError, src, 3, 5, token="y ~", message="'y'")


def test_expectation_that_is_nan_is_an_error_not_a_nan_exact():
    # x / x is 0/0 when x = 0; the exact engine must not return NaN (the Monte
    # Carlo engine raises QueryError "infinite or undefined" here).
    m = cd.model("model n {\n    x ~ Bernoulli(0.5)\n}")
    q = "E[x / x]"
    with pytest.raises(cd.CausalDSLError) as info:
        r = m.query(q)
        pytest.fail(f"no error; got {r} (value {r.value!r}, nan={math.isnan(r.value)})")
    check(info.value, cd.QueryError, q, 1, 1, token="E[", exact_class=False)


def test_expectation_that_is_infinite_is_an_error_exact():
    m = cd.model("model n {\n    x ~ Bernoulli(0.5)\n}")
    q = "E[1 / (x - x)]"
    with pytest.raises(cd.CausalDSLError) as info:
        r = m.query(q)
        pytest.fail(f"no error; got {r} (value {r.value!r})")
    check(info.value, cd.QueryError, q, 1, 1, token="E[", exact_class=False)


def test_expectation_that_is_nan_is_an_error_monte_carlo():
    m = cd.model("model n {\n    x ~ Normal(0, 1e400)\n}")  # scale overflows to inf
    q = "E[x]"
    err = raises(m.query, q, samples=1000)
    check(err, cd.CausalDSLError, q, 1, 1, exact_class=False)


# ---------------------------------------------------------------------- programs
PROGRAM = """# two models, each with its queries
model first {
    x ~ Bernoulli(0.5)
    y := x
}
P(y = 1 | x = 1)
P(y = 1 | x = 1, y = 0)

model second {
    a ~ Binomial(3, 0.5)
    b ~ Bernoulli(0.5 + 0.3 * a)
}
P(a = 1)
P(b = 1)
"""


def test_program_query_unknown_variable_points_into_the_whole_file():
    src = PROGRAM + "P(x = 1 | a = 0)\n"
    err = raises(cd.program, src)
    # line 15 is the added query; 'x' belongs to the first model, not the second
    check(err, cd.UnknownNameError, src, 15, 3, token="x = 1", message="'x'")


def test_program_query_domain_error_points_into_the_whole_file():
    src = PROGRAM + "P(a = 4)\n"
    err = raises(cd.program, src)
    check(err, cd.DomainError, src, 15, 7, token="4", hint="3")


def test_program_zero_probability_points_at_the_query_line():
    ms = cd.program(PROGRAM)
    err = raises(ms[0].run)
    check(err, cd.ZeroProbabilityError, PROGRAM, 7, 1, token="P(y = 1 | x = 1, y = 0)")


def test_program_run_time_probability_points_at_the_statement_in_the_whole_file():
    ms = cd.program(PROGRAM)
    err = raises(ms[1].run)
    check(err, cd.ProbabilityError, PROGRAM, 11, 5, token="b ~", message="'b'")


def test_run_of_a_program_reports_the_first_failing_query():
    err = raises(cd.run, PROGRAM)
    check(err, cd.ZeroProbabilityError, PROGRAM, 7, 1)


def test_program_syntax_error_in_a_later_query():
    src = PROGRAM + "P(a = 1 & b = 1)\n"
    err = raises(cd.program, src)
    check(err, cd.CausalSyntaxError, src, 15, 9, token="&", hint="and")


def test_program_effect_error_points_into_the_whole_file():
    src = PROGRAM + "NDE(a -> b)\n"
    err = raises(cd.program, src)
    check(err, cd.EffectError, src, 15, 1, token="NDE", hint="via")


def test_query_before_any_model():
    src = "P(x = 1)\nmodel a {\n    x ~ Bernoulli(0.5)\n}"
    err = raises(cd.program, src)
    check(err, cd.QueryError, src, 1, 1, token="P(", hint="model")


def test_model_text_with_a_bad_query_after_it():
    src = "model m {\n    smoking ~ Bernoulli(0.5)\n}\n\nP(smokng = 1)\n"
    err = raises(cd.model, src)
    check(err, cd.UnknownNameError, src, 5, 3, token="smokng", hint="did you mean 'smoking'?")


# ---------------------------------------------------------------------- methods
def test_exact_method_on_a_continuous_model():
    m = cd.model("model n {\n    x ~ Normal(0, 1)\n    y ~ Normal(x, 1)\n}")
    err = raises(m.query, "E[y]", method="exact")
    assert type(err) is cd.MethodError
    assert isinstance(err, cd.QueryError)
    assert "'y'" in err.message and "continuous" in err.message
    assert err.hint and "monte-carlo" in err.hint


def test_unknown_method():
    m = cd.model(XY)
    err = raises(m.query, "P(x = 1)", method="mcmc")
    assert type(err) is cd.MethodError
    assert "'mcmc'" in err.message and "monte-carlo" in err.hint


@pytest.mark.parametrize("samples", [0, -5])
def test_invalid_sample_count_is_a_user_error(samples):
    # samples=-5 currently escapes as a raw JAX TypeError; samples=0 is silently
    # replaced by the default 200,000 draws.
    m = cd.model("model n {\n    x ~ Normal(0, 1)\n}")
    with pytest.raises(cd.CausalDSLError) as info:
        r = m.query("E[x]", samples=samples)
        pytest.fail(f"no error; got {r}")
    assert "samples" in str(info.value)
    assert info.value.hint


# ---------------------------------------------------------------------- more mistakes
def test_effect_treat_value_outside_domain_is_located():
    m = cd.model(SMOKING)
    q = "ATE(smoking -> cancer, treat=2, control=0)"
    err = raises(m.query, q)
    check(err, cd.DomainError, q, 1, 30, token="2,", message="2")


def test_effect_unknown_level_in_treat_is_located():
    m = cd.model("model m {\n    w ~ Categorical(a: 0.5, b: 0.5)\n"
                 "    y ~ Bernoulli(table(w) { a: 0.1, b: 0.7 })\n}")
    q = "ATE(w -> y, treat=b, control=c)"
    err = raises(m.query, q)
    check(err, cd.DomainError, q, 1, 30, token="c)", message="'c'")


def test_effect_unknown_option_points_at_the_option_name():
    m = cd.model(SMOKING)
    q = "ATE(smoking -> cancer, treated=1)"
    err = raises(m.query, q)
    check(err, cd.EffectError, q, 1, 24, token="treated", message="'treated'", hint="treat=")


def test_effect_option_given_twice():
    m = cd.model(XY)
    q = "ATE(x -> y, treat=1, treat=0)"
    err = raises(m.query, q)
    check(err, cd.EffectError, q, 1, 22, token="treat=0", message="treat")


def test_function_with_wrong_number_of_arguments_in_model():
    src = "model m {\n    x ~ Normal(0, 1)\n    y := exp(x, 2)\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalDSLError, src, 3, 10, token="exp", message="exp()", exact_class=False)


def test_function_with_wrong_number_of_arguments_in_query(xy):
    q = "E[exp(x, 1)]"
    err = raises(xy.query, q)
    check(err, cd.CausalDSLError, q, 1, 3, token="exp", message="exp()", exact_class=False)


def test_binomial_with_negative_number_of_trials():
    src = "model m {\n    y ~ Binomial(-3, 0.5)\n}"
    err = raises(cd.model, src)
    # -3 is a unary minus applied to 3: accept either column of the literal
    assert err.column in (18, 19), err
    check(err, cd.ProbabilityError, src, 2, err.column, message="-3")


def test_categorical_level_given_twice():
    src = "model m {\n    w ~ Categorical(sunny: 0.5, sunny: 0.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.DistributionError, src, 2, 33, token="sunny: 0.5)", message="'sunny'")


def test_counterfactual_term_inside_a_model():
    src = "model m {\n    x ~ Bernoulli(0.5)\n    y := x[x = 1]\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalDSLError, src, 3, 10, token="x[", message="queries", exact_class=False)


def test_empty_model():
    src = "model e {\n}"
    err = raises(cd.model, src)
    check(err, cd.CausalDSLError, src, 1, 7, token="e {", message="no statements",
          exact_class=False)


def test_binomial_trials_from_a_continuous_parent():
    src = "model m {\n    x ~ Normal(0, 1)\n    y ~ Binomial(x, 0.5)\n}"
    err = raises(cd.model, src)
    check(err, cd.DistributionError, src, 3, 18, token="x, 0.5", hint="Binomial(10, p)")


# ---------------------------------------------------------------------- never a raw Python exception
BAD_MODELS = [
    "model m {\n    x ~ Bernoulli(0.5\n}",
    "model m {\n    x ~ Bernoulli(0.5) & 1\n}",
    "model m {\n    x ~\n}",
    "model m {\n    x ~ Bernoulli()\n}",
    "model m {\n    x ~ Bernoulli(p=0.5, p=0.2)\n}",
    "model m {\n    x ~ Categorical()\n}",
    "model m {\n    x ~ Categorical(0.5, 0.6)\n}",
    "model m {\n    x ~ Categorical(a: 0.5, 0.5)\n}",
    "model m {\n    x ~ Poisson(-1)\n}",
    "model m {\n    x ~ Binomial(2.5, 0.5)\n}",
    "model m {\n    x ~ Bernoulli(\"0.5\")\n}",
    "model m {\n    x ~ Bernoulli(1e400)\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y := min(x)\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.2, })\n    z := y[x = 1]\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x, x) { (0, 0): 0.1 })\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { -1: 0.1, 0: 0.1, 1: 0.2 })\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { \"a\": 0.1 })\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y := w == \"a\"\n}",
    "model m {\n    latent\n}",
    "model {\n    x ~ Bernoulli(0.5)\n}",
    "model m\n    x ~ Bernoulli(0.5)\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n}\n}",
    "model m {\n    w ~ Categorical(a: 0.5, b: 0.5)\n    y := w == \"a\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y := if x then 1\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(qq) { 0: 0.1, 1: 0.2 })\n}",
    "model m {\n    x ~ Bernoulli(0.5)\n    y := x + qq\n}",
    "",
    "# only a comment\n",
]


@pytest.mark.parametrize("src", BAD_MODELS)
def test_bad_model_texts_raise_causaldsl_errors(src):
    err = raises(cd.model, src)
    assert err.hint, str(err)
    if err.line is not None and src.strip():
        assert err.line >= 1 and err.column is not None and err.column >= 1, str(err)
        assert str(err).startswith(f"line {err.line}, column {err.column}: ")


BAD_QUERIES = [
    "", "P()", "P(x = 1 |)", "E[]", "P(x = 1 | x = 1 | y = 0)", "P(x = 1", "P(x = 1))",
    "P(y = 1 | do(x = y))", "P(y = 1 | do(x = 1 + 1))", "P(y[x = 1 + 1] = 1)",
    "P(y[z = 1] = 1)", "E[x + banana]", "P(x == banana)", "E[sigmod(x)]",
    "E[y | x = \"1\"]", "ATE(x -> z)", "ATE(x -> y, foo=1)", "ATE(x -> y, treat=yes, control=0)",
    "NIE(x -> y)", "PNS(x -> y via y)", "P(x = 1 | do(x = 1), do(x = 0))",
    "E[\"a\"]", "P(x = -1)", "P(x = 1e400)", "Q(x = 1)",
    "model q {\n x ~ Bernoulli(0.5)\n}",
]


@pytest.mark.parametrize("q", BAD_QUERIES)
def test_bad_queries_raise_located_causaldsl_errors(xy, q):
    err = raises(xy.query, q)
    assert err.line is not None and err.line >= 1, str(err)
    assert err.column is not None and err.column >= 1, str(err)
    assert str(err).startswith(f"line {err.line}, column {err.column}: ")
    assert err.hint, str(err)
