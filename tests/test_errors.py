"""Mistakes in user input: the error class, where it points, how it reads.

Every mistake must raise a :class:`causaldsl.CausalDSLError` subclass with a
1-based ``line``/``column`` pointing at the offending token, a message that
names the place, quotes the source line with a caret under the spot, and a
``hint``.  Most mistakes are one row of :data:`MISTAKES`; expected positions
are worked out by hand from the text, and a row's ``token`` re-checks them
against the source line.

Tests catch ``CausalDSLError`` only, so a raw Python exception (TypeError,
KeyError, ...) escaping the library fails the test with its traceback.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import pytest

import causaldsl as cd


# ---------------------------------------------------------------------- helpers
def raises(fn, *args, **kw) -> cd.CausalDSLError:
    """The CausalDSLError raised by ``fn(*args, **kw)`` (a raw exception fails the test)."""
    with pytest.raises(cd.CausalDSLError) as info:
        result = fn(*args, **kw)
        # Reached only when nothing was raised: show what came back instead.
        pytest.fail(f"no error raised; got {result!r} (value {getattr(result, 'value', None)!r})")
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


def query(model_text: str, **options) -> Callable[[str], object]:
    """Ask a fresh model of ``model_text`` one question, with ``options`` (``samples=``, ``method=``)."""
    return lambda q: cd.model(model_text).query(q, **options)


def run_model(index: int) -> Callable[[str], object]:
    """Run the queries of the ``index``-th model of a program text."""
    return lambda text: cd.program(text)[index].run()


class Mistake(NamedTuple):
    """One mistake: ``ask(text)`` raises ``cls`` at ``line``/``column`` of ``source`` (``text`` unless given).

    ``column`` is a tuple where either column is right (a negative literal is a
    unary minus applied to a number: the minus's column or the number's);
    ``exact_class=False`` accepts a subclass of ``cls``.
    """
    id: str
    ask: Callable[[str], object]
    text: str
    cls: type
    line: int
    column: Union[int, tuple]
    token: Optional[str] = None
    message: Union[str, tuple] = ()
    hint: Union[str, tuple] = ()
    exact_class: bool = True
    source: Optional[str] = None


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

COMPACT_HEAD = ("model m {\n    s ~ Categorical(male: 0.5, female: 0.5)\n"
                '    a ~ Categorical(levels = ["<5", "12+"], probs = table(s) ')
COPY = "model z {\n    x ~ Bernoulli(0.5)\n    y := x\n}"
NEVER_ONE = "model z {\n    x ~ Bernoulli(0)\n    y := x\n}"
RARE = "model n {\n    x ~ Normal(0, 1)\n    b := x > 100\n}"
COIN = "model n {\n    x ~ Bernoulli(0.5)\n}"
GAUSSIAN = "model n {\n    x ~ Normal(0, 1)\n    y ~ Normal(x, 1)\n}"
THREE_VALUED_CAUSE = "model c {\n    x ~ Binomial(2, 0.5)\n    y ~ Bernoulli(if x > 0 then 0.9 else 0.1)\n}"
CONTINUOUS_CAUSE = "model c {\n    x ~ Normal(0, 1)\n    y ~ Bernoulli(sigmoid(x))\n}"
THREE_VALUED_OUTCOME = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Binomial(2, if x then 0.9 else 0.1)\n}"
LEVELS = "model m {\n    w ~ Categorical(sunny: 0.5, rainy: 0.5)\n}"
MEDIATOR = ("model m {\n    w ~ Bernoulli(0.5)\n    x ~ Bernoulli(0.5)\n    m ~ Bernoulli(0.2 + 0.5 * x)\n"
            "    y ~ Bernoulli(0.1 + 0.2 * x + 0.3 * m + 0.2 * w)\n}")
LEVEL_CAUSE = ("model m {\n    w ~ Categorical(a: 0.5, b: 0.5)\n"
               "    y ~ Bernoulli(table(w) { a: 0.1, b: 0.7 })\n}")

# Probabilities only known at run time.
RUNTIME = """model m {
    x ~ Binomial(3, 0.5)
    y ~ Bernoulli(0.5 + 0.3 * x)
}"""
RUNTIME_ROW = ("model m {\n    x ~ Bernoulli(0.5)\n    z ~ Bernoulli(0.5)\n"
               "    y ~ Bernoulli(table(x) { 0: z + 0.8, 1: 0.2 })\n}")
RUNTIME_SCALE = "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Normal(0, x)\n}"

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

M = Mistake
MISTAKES = [
    # ------------------------------------------------------------------ syntax
    # The '(' of line 2 is never closed; newlines inside ( ) are dropped, so the parser
    # fails at the next token, 'y' on line 3: the error names the '(' (as Python does).
    M("syntax-unclosed-paren-in-model", cd.model,
      "model m {\n    x ~ Bernoulli(0.5\n    y ~ Bernoulli(0.5)\n}", cd.CausalSyntaxError, 2, 18, "(",
      message="the '(' opened at line 2, column 18 is never closed", hint=("')'", "line 3")),
    # the '(' of P( is the one never closed (do( is closed by the last ')')
    M("syntax-unclosed-paren-in-query", query(XY), "P(y = 1 | do(x = 1)", cd.CausalSyntaxError, 1, 2, "(",
      message="never closed", hint="')'"),
    M("syntax-stray-ampersand", cd.model, "model m {\n    x ~ Bernoulli(0.5)\n    y := x & 1\n}",
      cd.CausalSyntaxError, 3, 12, "&", message="'&'", hint="and"),
    M("syntax-stray-ampersand-in-query", query(XY), "P(y = 1 & x = 1)", cd.CausalSyntaxError, 1, 9, "&",
      message="'&'", hint="and"),
    M("syntax-two-statements-on-one-line", cd.model, "model m {\n    x ~ Bernoulli(0.5) y ~ Bernoulli(0.5)\n}",
      cd.CausalSyntaxError, 2, 24, "y ~", message="'y'", hint="new line"),
    M("syntax-single-equals-in-expression", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y := if x = 1 then 1 else 0\n}", cd.CausalSyntaxError, 3, 15, "= 1",
      message="'='", hint="=="),
    M("syntax-single-equals-in-query-expression", query(XY), "E[if x = 1 then y else 0]",
      cd.CausalSyntaxError, 1, 8, "= 1", hint="=="),
    # the model's '{' is never closed
    M("syntax-unclosed-block-at-end", cd.model, "model m {\n    x ~ Bernoulli(0.5)\n", cd.CausalSyntaxError, 1, 9,
      "{", message="the '{' opened at line 1, column 9 is never closed", hint="'}'"),
    M("syntax-equals-instead-of-walrus", cd.model, "model m {\n    x ~ Bernoulli(0.5)\n    y = x\n}",
      cd.CausalSyntaxError, 3, 7, "=", hint="':='"),
    M("syntax-caret-for-power", cd.model, "model m {\n    x ~ Normal(0, 1)\n    y := x ^ 2\n}",
      cd.CausalSyntaxError, 3, 12, "^", hint="**"),

    # ------------------------------------------------------------------ unknown names
    M("name-unknown-variable-in-model", cd.model, SMOKING.replace("if smoking then", "if smokng then"),
      cd.UnknownNameError, 3, 27, "smokng", message="'smokng'", hint="did you mean 'smoking'?"),
    M("name-unknown-distribution", cd.model, "model m {\n    x ~ Bernouli(0.5)\n}", cd.DistributionError, 2, 9,
      "Bernouli", message="'Bernouli'", hint="did you mean 'Bernoulli'?"),
    M("name-unknown-function", cd.model, "model m {\n    x ~ Normal(0, 1)\n    y := sigmod(x)\n}",
      cd.UnknownNameError, 3, 10, "sigmod", message="'sigmod'", hint="did you mean 'sigmoid'?"),
    M("name-unknown-table-parent", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(xx) { 0: 0.1, 1: 0.2 })\n}",
      cd.UnknownNameError, 3, 25, "xx", message="'xx'", hint="did you mean 'x'?"),
    M("name-distribution-used-as-function", cd.model, "model m {\n    x ~ Normal(0, 1)\n    y := Normal(x, 1)\n}",
      cd.UnknownNameError, 3, 10, "Normal", hint="~"),

    # ------------------------------------------------------------------ duplicates
    M("duplicate-variable-at-second-definition", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y := x\n    x ~ Bernoulli(0.2)\n}",
      cd.DuplicateDefinitionError, 4, 5, "x ~ Bernoulli(0.2)", message=("'x'", "line 2")),
    M("duplicate-model-names-in-program", cd.program,
      "model a {\n    x ~ Bernoulli(0.5)\n}\nP(x = 1)\nmodel a {\n    y ~ Bernoulli(0.5)\n}\n",
      cd.DuplicateDefinitionError, 5, 7, "a {", message=("'a'", "line 1")),

    # ------------------------------------------------------------------ cycles
    M("cycle-of-two", cd.model, "model m {\n    a := b\n    b := a\n}", cd.CycleError, 2, 5, "a :=",
      message="a -> b -> a", hint="acyclic"),
    M("cycle-of-three", cd.model, "model m {\n    a ~ Bernoulli(0.5)\n    b := a + d\n    c := b\n    d := c\n}",
      cd.CycleError, 3, 5, "b :=", message="b -> c -> d -> b"),
    M("cycle-self-loop", cd.model, "model m {\n    x ~ Bernoulli(if x then 0.5 else 0.2)\n}", cd.CycleError, 2, 5,
      "x ~", message="x -> x"),

    # ------------------------------------------------------------------ probabilities and parameters
    M("param-literal-probability-above-one", cd.model, "model m {\n    x ~ Bernoulli(1.5)\n}",
      cd.ProbabilityError, 2, 19, "1.5", message=("1.5", "[0, 1]"), hint="between 0 and 1"),
    M("param-table-probability-at-the-row-value", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 1.3 })\n}",
      cd.ProbabilityError, 3, 41, "1.3", message="1.3"),
    M("param-table-probability-on-a-later-line", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) {\n        0: 0.2,\n        1: -0.2\n    })\n}",
      cd.ProbabilityError, 5, (12, 13), message="-0.2"),
    M("param-categorical-not-summing-to-one", cd.model, "model m {\n    w ~ Categorical(sunny: 0.7, rainy: 0.2)\n}",
      cd.ProbabilityError, 2, 9, "Categorical", message=("0.9", "1"), hint="1"),
    M("param-categorical-negative-probability", cd.model, "model m {\n    w ~ Categorical(a: -0.5, b: 1.5)\n}",
      cd.ProbabilityError, 2, 24, "-0.5", message="-0.5"),
    M("param-normal-negative-scale", cd.model, "model m {\n    x ~ Normal(0, -1)\n}", cd.ProbabilityError, 2, 9,
      "Normal", message=("Normal", "-1"), hint="> 0"),
    M("param-uniform-low-above-high", cd.model, "model m {\n    x ~ Uniform(1, 0)\n}", cd.ProbabilityError, 2, 9,
      "Uniform", hint="low < high"),
    M("param-missing", cd.model, "model m {\n    x ~ Normal(0)\n}", cd.DistributionError, 2, 9, "Normal",
      message="scale", hint="Normal(loc, scale)"),
    M("param-unknown-keyword", cd.model, "model m {\n    x ~ Normal(0, sd=1)\n}", cd.DistributionError, 2, 19,
      "sd=", message="'sd'"),
    M("param-binomial-negative-trials", cd.model, "model m {\n    y ~ Binomial(-3, 0.5)\n}", cd.ProbabilityError,
      2, (18, 19), message="-3"),
    M("param-categorical-level-twice", cd.model, "model m {\n    w ~ Categorical(sunny: 0.5, sunny: 0.5)\n}",
      cd.DistributionError, 2, 33, "sunny: 0.5)", message="'sunny'"),
    M("param-binomial-trials-from-continuous-parent", cd.model,
      "model m {\n    x ~ Normal(0, 1)\n    y ~ Binomial(x, 0.5)\n}", cd.DistributionError, 3, 18, "x, 0.5",
      hint="Binomial(10, p)"),

    # ------------------------------------------------------------------ tables
    M("table-missing-row", cd.model, "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2 })\n}",
      cd.TableError, 3, 19, "table(x)", message="missing row(s) 1", hint="every combination"),
    M("table-missing-row-of-two-parents", cd.model,
      "model m {\n    a ~ Bernoulli(0.5)\n    b ~ Bernoulli(0.5)\n"
      "    y ~ Bernoulli(table(a, b) { (0, 0): 0.1, (0, 1): 0.2, (1, 0): 0.3 })\n}",
      cd.TableError, 4, 19, "table(a, b)", message="(1, 1)"),
    M("table-duplicate-row", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3, 1: 0.4 })\n}",
      cd.TableError, 3, 46, "1: 0.4", message="duplicate row 1"),
    M("table-row-key-not-a-parent-value", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3, 2: 0.4 })\n}",
      cd.TableError, 3, 46, "2:", message=("2", "'x'"), hint=("0", "1")),
    M("table-row-with-too-many-keys", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { (0, 1): 0.2, 1: 0.3 })\n}",
      cd.TableError, 3, 30, "(0, 1)", message=("2 value(s)", "1 parent(s)")),
    M("table-row-with-too-few-keys", cd.model,
      "model m {\n    a ~ Bernoulli(0.5)\n    b ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(a, b) { 0: 0.1, 1: 0.2 })\n}",
      cd.TableError, 4, 33, "0: 0.1", message=("1 value(s)", "2 parent(s)"), hint="(0, 1)"),
    # compact tables (levels = [...], probs = table(...) { key: [p, q] }), quoted names
    M("compact-row-does-not-sum-to-one", cd.model, COMPACT_HEAD + "{ male: [0.2, 0.8], female: [0.5, 0.6] })\n}",
      cd.ProbabilityError, 3, 90, "[0.5, 0.6]", message=("female", "sum to 1.1"), hint="add up to 1"),
    M("compact-row-missing", cd.model, COMPACT_HEAD + "{ male: [0.2, 0.8] })\n}",
      cd.TableError, 3, 53, "table(s)", message="missing row(s) female", hint="every combination"),
    M("compact-row-twice", cd.model, COMPACT_HEAD + "{ male: [0.2, 0.8], male: [0.5, 0.5], female: [1, 0] })\n}",
      cd.TableError, 3, 82, "male: [0.5", message="duplicate row male", hint="once"),
    M("compact-row-too-short", cd.model, COMPACT_HEAD + "{ male: [0.2, 0.8], female: [1] })\n}",
      cd.TableError, 3, 90, "[1]", message=("1 probabilities", "2 level(s)"), hint="<5, 12+"),
    M("compact-row-not-a-number", cd.model, COMPACT_HEAD + "{ male: [0.2, 0.8], female: [0.5, 0.5.1] })\n}",
      cd.CausalSyntaxError, 3, 90, "[0.5, 0.5.1]", message="'0.5.1' is not a number", hint="commas"),
    M("compact-unknown-parameter", cd.model,
      "model m {\n    a ~ Categorical(levls = [\"<5\", \"12+\"], probs = [0.5, 0.5])\n}",
      cd.DistributionError, 2, 21, "levls", message="'levls'", hint="did you mean 'levels'?"),
    M("compact-level-is-a-number", cd.model,
      "model m {\n    a ~ Categorical(levels = [\"<5\", 1], probs = [0.5, 0.5])\n}",
      cd.DistributionError, 2, 37, "1]", message="a level is a name or a string", hint='"12+"'),
    M("compact-row-outside-categorical", cd.model,
      "model m {\n    s ~ Categorical(male: 0.5, female: 0.5)\n"
      "    a ~ Bernoulli(table(s) { male: [0.2, 0.8], female: [0.5, 0.5] })\n}",
      cd.CausalSyntaxError, 3, 36, "[0.2, 0.8]", message="list", hint="Categorical(levels"),
    M("reserved-word-as-a-variable", cd.model, "model m {\n    do ~ Bernoulli(0.5)\n}",
      cd.CausalSyntaxError, 2, 5, "do ~", message="reserved word", hint="`do`"),
    M("query-word-as-the-first-name-of-a-separation-question", cd.program,
      "model m {\n    E ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(E) { 0: 0.2, 1: 0.6 })\n}\nE _||_ y\n",
      cd.CausalSyntaxError, 5, 1, "E _||_", message="begins a query", hint="`E` _||_ y"),
    M("backquoted-name-not-closed", cd.model, "model m {\n    `light on ~ Bernoulli(0.5)\n}",
      cd.CausalSyntaxError, 2, 5, "`light", hint="backquote"),
    M("quoted-level-declared-twice", cd.model, 'model m {\n    a ~ Categorical("<5": 0.5, "<5": 0.5)\n}',
      cd.DistributionError, 2, 32, '"<5": 0.5)', message="'<5' appears twice"),
    M("quoted-level-unknown-in-a-query", query(COMPACT_HEAD + "{ male: [0.2, 0.8], female: [1, 0] })\n}"),
      'P(a = "<6" | do(s = "male"))', cd.DomainError, 1, 7, '"<6"', message="'<6'", hint="<5"),
    M("table-unknown-level-name", cd.model,
      "model m {\n    w ~ Categorical(sunny: 0.7, rainy: 0.3)\n"
      "    y ~ Bernoulli(table(w) { sunny: 0.2, rainyy: 0.3 })\n}",
      cd.TableError, 3, 42, "rainyy", message="'rainyy'", hint="did you mean 'rainy'?"),
    M("table-level-name-for-numeric-parent", cd.model,
      "model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(table(x) { yes: 0.1, no: 0.2 })\n}",
      cd.TableError, 3, 30, "yes", message="'yes'", hint=("0", "1")),
    M("table-over-continuous-parent", cd.model,
      "model m {\n    x ~ Normal(0, 1)\n    y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.3 })\n}",
      cd.TableError, 3, 25, "x)", message="'x'"),
    M("table-unknown-level-in-comparison", cd.model,
      "model m {\n    w ~ Categorical(sunny: 0.5, rainy: 0.5)\n    y := w == snowy\n}",
      cd.UnknownNameError, 3, 15, "snowy", message="'snowy'", exact_class=False),

    # ------------------------------------------------------------------ other model mistakes
    M("model-function-with-wrong-arity", cd.model, "model m {\n    x ~ Normal(0, 1)\n    y := exp(x, 2)\n}",
      cd.CausalDSLError, 3, 10, "exp", message="exp()", exact_class=False),
    M("model-counterfactual-term", cd.model, "model m {\n    x ~ Bernoulli(0.5)\n    y := x[x = 1]\n}",
      cd.CausalDSLError, 3, 10, "x[", message="queries", exact_class=False),
    M("model-empty", cd.model, "model e {\n}", cd.CausalDSLError, 1, 7, "e {", message="no statements",
      exact_class=False),

    # ------------------------------------------------------------------ queries
    M("query-unknown-variable", query(SMOKING), "P(smokng = 1)", cd.UnknownNameError, 1, 3, "smokng",
      message="'smokng'", hint="did you mean 'smoking'?"),
    M("query-unknown-variable-in-do", query(SMOKING), "P(cancer = 1 | do(smokng = 1))", cd.UnknownNameError, 1, 19,
      "smokng", hint="did you mean 'smoking'?"),
    M("query-value-outside-domain", query(XY), "P(x = 2)", cd.DomainError, 1, 7, "2", message=("2", "'x'"),
      hint=("0", "1")),
    M("query-do-value-outside-domain", query(XY), "P(y = 1 | do(x = 0.5))", cd.DomainError, 1, 18, "0.5",
      message="0.5", hint=("0", "1")),
    M("query-observed-value-outside-domain", query(XY), "P(y = 1 | x = 3)", cd.DomainError, 1, 15, "3",
      message="3"),
    M("query-unknown-level", query(WEATHER), "P(weather = snowy)", cd.DomainError, 1, 13, "snowy",
      message="'snowy'", hint="sunny"),
    M("query-unknown-level-in-condition", query(WEATHER), "P(umbrella = 1 | weather = snowy)", cd.DomainError,
      1, 28, "snowy", message="'snowy'"),
    M("query-counterfactual-value-outside-domain", query(XY), "P(y[x = 3] = 1)", cd.DomainError, 1, 9, "3"),
    M("query-leading-spaces-shift-the-column", query(XY), "   P(x = 7)", cd.DomainError, 1, 10, "7"),
    M("query-function-with-wrong-arity", query(XY), "E[exp(x, 1)]", cd.CausalDSLError, 1, 3, "exp",
      message="exp()", exact_class=False),
    M("query-distribution-of-continuous-variable", query(GAUSSIAN), "P(y)", cd.QueryError, 1, 3, "y)",
      message="continuous", hint="E[y]"),
    M("query-mean-of-categorical-variable", query(LEVELS), "E[w]", cd.QueryError, 1, 1, "E[", message="'w'",
      hint="P(w)"),
    M("query-sets-a-variable-twice-in-do", query(SMOKING), "P(cancer = 1 | do(smoking = 1, smoking = 0))",
      cd.QueryError, 1, 32, "smoking = 0", message="twice"),
    M("query-table-in-query", query(XY), "E[table(x) {0: 1, 1: 2}]", cd.QueryError, 1, 3, "table",
      message="table"),
    M("query-two-queries", query(XY), "P(x = 1)\nP(y = 1)", cd.CausalSyntaxError, 1, 1, message="one query"),

    # ------------------------------------------------------------------ conditioning on what cannot happen
    M("zero-impossible-event", query(COPY), "P(x = 1 | y = 0, x = 1)", cd.ZeroProbabilityError, 1, 1, "P(",
      message="probability zero", hint="condition on an event that can happen"),
    M("zero-literal-probability-event", query(NEVER_ONE), "P(y = 1 | x = 1)", cd.ZeroProbabilityError, 1, 1,
      message="x = 1"),
    M("zero-never-met-by-monte-carlo", query(RARE, samples=1000), "E[x | b = 1]", cd.ZeroProbabilityError, 1, 1,
      message="never met"),

    # ------------------------------------------------------------------ effects
    M("effect-non-binary-treatment", query(THREE_VALUED_CAUSE), "ATE(x -> y)", cd.EffectError, 1, 5, "x ->",
      message=("'x'", "not binary"), hint=("treat=", "control=")),
    M("effect-continuous-treatment", query(CONTINUOUS_CAUSE), "PN(x -> y)", cd.EffectError, 1, 4, "x ->",
      message="continuous", hint="treat="),
    M("effect-nde-without-mediator", query(SMOKING), "NDE(smoking -> cancer)", cd.EffectError, 1, 1, "NDE",
      message="mediator", hint="via"),
    M("effect-ate-with-mediator", query(SMOKING), "ATE(smoking -> cancer via cancer)", cd.EffectError, 1, 27,
      "cancer)", message="no mediator"),
    M("effect-unknown-variable", query(SMOKING), "ATE(smokng -> cancer)", cd.UnknownNameError, 1, 5, "smokng",
      hint="did you mean 'smoking'?"),
    M("effect-probability-of-causation-needs-binary-outcome", query(THREE_VALUED_OUTCOME), "PN(x -> y)",
      cd.EffectError, 1, 9, "y)", message="binary"),
    M("effect-treat-value-outside-domain", query(SMOKING), "ATE(smoking -> cancer, treat=2, control=0)",
      cd.DomainError, 1, 30, "2,", message="2"),
    M("effect-unknown-level-in-control", query(LEVEL_CAUSE), "ATE(w -> y, treat=b, control=c)", cd.DomainError,
      1, 30, "c)", message="'c'"),
    M("effect-unknown-option", query(SMOKING), "ATE(smoking -> cancer, treated=1)", cd.EffectError, 1, 24,
      "treated", message="'treated'", hint="treat="),
    M("effect-option-given-twice", query(XY), "ATE(x -> y, treat=1, treat=0)", cd.EffectError, 1, 22, "treat=0",
      message="treat"),

    # ------------------------------------------------------------------ questions that combine
    M("combine-division-by-zero-probability", query(COPY), "P(x = 1) / P(y = 0 | x = 1)", cd.QueryError, 1, 12,
      "P(y = 0", message=("division by zero", "P(y = 0 | x = 1)"), hint="difference"),
    M("combine-division-by-zero-monte-carlo", query(GAUSSIAN, samples=1000), "E[y] / (E[x] - E[x])",
      cd.QueryError, 1, 8, "(E[x]", message="division by zero"),
    M("combine-odds-ratio-of-a-certain-outcome", query(COPY), "OR(x -> y, kind = observational)", cd.QueryError,
      1, 1, "OR", message=("division by zero", "1 - P(y = 1 | x = 1)"), hint="difference"),
    M("combine-quantile-level-above-one", query(GAUSSIAN), "Q[y, 1.5]", cd.QueryError, 1, 6, "1.5",
      message=("strictly between 0 and 1", "1.5"), hint="median"),
    M("combine-quantile-level-zero", query(GAUSSIAN), "Q[y, 0 | x = 1]", cd.QueryError, 1, 6, "0 |",
      message="strictly between 0 and 1"),
    M("combine-quantile-level-negative", query(GAUSSIAN), "Q[y, -0.1]", cd.QueryError, 1, 6, "-0.1",
      message="-0.1"),
    M("combine-quantile-of-named-levels", query(LEVELS), "Q[w, 0.5]", cd.QueryError, 1, 3, "w,",
      message="no order", hint="P(w)"),
    M("combine-cde-on-a-non-mediator", query(MEDIATOR), "CDE(x -> y via w, w = 1)", cd.EffectError, 1, 16, "w,",
      message=("'w' is not a mediator", "not caused by 'x'"), hint="ATE(x -> y)"),
    M("combine-cde-on-a-descendant-of-the-outcome", query(MEDIATOR), "CDE(x -> m via y, y = 1)", cd.EffectError,
      1, 16, "y,", message="is not a mediator"),
    M("combine-cde-without-the-held-value", query(MEDIATOR), "CDE(x -> y via m)", cd.EffectError, 1, 16, "m)",
      message="'m' at a value", hint="CDE(x -> y via m, m = 0)"),
    M("combine-cde-without-a-mediator", query(MEDIATOR), "CDE(x -> y)", cd.EffectError, 1, 1, "CDE",
      message="mediator", hint="via"),
    M("combine-cde-held-value-outside-domain", query(MEDIATOR), "CDE(x -> y via m, m = 2)", cd.DomainError,
      1, 23, "2)", message="2"),
    M("combine-ratio-needs-a-binary-outcome", query(THREE_VALUED_OUTCOME), "RR(x -> y)", cd.EffectError, 1, 9,
      "y)", message="binary", hint="P(y > 0"),
    M("combine-ratio-unknown-kind", query(XY), "RR(x -> y, kind = seen)", cd.EffectError, 1, 19, "seen",
      hint="observational"),
    M("combine-ratio-unknown-option", query(XY), "OR(x -> y, knd = causal)", cd.EffectError, 1, 12, "knd",
      hint="kind="),
    M("combine-a-constant-is-no-question", query(XY), "2 * (1 + 3)", cd.QueryError, 1, 1, "2 *",
      message="constant", hint="E[y | x = 1] - E[y | x = 0]"),
    M("combine-cause-in-arithmetic", query(XY), "P(y = 1) - cause(x = 1 -> y = 1 | x = 1, y = 1)", cd.QueryError,
      1, 12, "cause", message="cause(...)"),
    M("combine-a-whole-distribution", query(XY), "P(y) - P(x = 1)", cd.QueryError, 1, 1, "P(y)",
      message="whole distribution", hint="P(y = 1)"),
    M("combine-unknown-variable-in-a-part", query(XY), "E[y] - E[z | x = 1]", cd.UnknownNameError, 1, 10, "z |"),

    # ------------------------------------------------------------------ run-time probabilities: the error
    # names the statement of the variable, its line in the model's source quoted
    *(M(f"runtime-probability-outside-unit-interval-{method or 'default'}", query(RUNTIME, method=method),
        "P(y = 1)", cd.ProbabilityError, 3, 5, "y ~", message="'y'", hint="between 0 and 1", source=RUNTIME)
      for method in (None, "exact", "monte-carlo")),
    M("runtime-probability-in-expectation", query(RUNTIME), "E[y]", cd.ProbabilityError, 3, 5, "y ~",
      source=RUNTIME),
    M("runtime-probability-in-table-row", query(RUNTIME_ROW), "P(y = 1)", cd.ProbabilityError, 4, 5, "y ~",
      source=RUNTIME_ROW),
    M("runtime-invalid-scale", query(RUNTIME_SCALE), "E[y]", cd.ProbabilityError, 3, 5, "y ~", message="'y'",
      source=RUNTIME_SCALE),
    # x / x is 0/0 when x = 0; the exact engine must not return NaN (the Monte Carlo
    # engine raises QueryError "infinite or undefined" here).
    M("runtime-nan-expectation-exact", query(COIN), "E[x / x]", cd.QueryError, 1, 1, "E[", exact_class=False),
    M("runtime-infinite-expectation-exact", query(COIN), "E[1 / (x - x)]", cd.QueryError, 1, 1, "E[",
      exact_class=False),
    M("runtime-nan-expectation-monte-carlo", query("model n {\n    x ~ Normal(0, 1e400)\n}", samples=1000),  # inf scale
      "E[x]", cd.CausalDSLError, 1, 1, exact_class=False),

    # ------------------------------------------------------------------ programs: positions in the whole file
    # line 15 is the added query; 'x' belongs to the first model, not the second
    M("program-unknown-variable", cd.program, PROGRAM + "P(x = 1 | a = 0)\n", cd.UnknownNameError, 15, 3,
      "x = 1", message="'x'"),
    M("program-domain-error", cd.program, PROGRAM + "P(a = 4)\n", cd.DomainError, 15, 7, "4", hint="3"),
    M("program-zero-probability-at-the-query-line", run_model(0), PROGRAM, cd.ZeroProbabilityError, 7, 1,
      "P(y = 1 | x = 1, y = 0)"),
    M("program-run-time-probability-at-the-statement", run_model(1), PROGRAM, cd.ProbabilityError, 11, 5, "b ~",
      message="'b'"),
    M("program-run-reports-the-first-failing-query", cd.run, PROGRAM, cd.ZeroProbabilityError, 7, 1),
    M("program-syntax-error-in-a-later-query", cd.program, PROGRAM + "P(a = 1 & b = 1)\n", cd.CausalSyntaxError,
      15, 9, "&", hint="and"),
    M("program-effect-error", cd.program, PROGRAM + "NDE(a -> b)\n", cd.EffectError, 15, 1, "NDE", hint="via"),
    M("program-query-before-any-model", cd.program, "P(x = 1)\nmodel a {\n    x ~ Bernoulli(0.5)\n}",
      cd.QueryError, 1, 1, "P(", hint="model"),
    M("program-model-text-with-a-bad-query-after-it", cd.model,
      "model m {\n    smoking ~ Bernoulli(0.5)\n}\n\nP(smokng = 1)\n", cd.UnknownNameError, 5, 3, "smokng",
      hint="did you mean 'smoking'?"),
    # ------------------------------------------------------------------ couplings
    M("coupling-unknown-name", cd.model, "model m {\n    y ~ Categorical(0.2, 0.8, coupling = maxed)\n}",
      cd.DistributionError, 2, 42, "maxed", message="'quantile' or 'gumbel'", hint="coupling = gumbel"),
    M("coupling-gumbel-on-continuous", cd.model, "model m {\n    y ~ Normal(0, 1, coupling = gumbel)\n}",
      cd.DistributionError, 2, 22, "coupling", message="finitely many values", hint="Categorical"),
    M("coupling-unknown-model-option", cd.model, "model m (copling = gumbel) {\n    y ~ Bernoulli(0.5)\n}",
      cd.CausalSyntaxError, 1, 10, "copling", message="'copling'", hint="coupling"),
    M("coupling-gumbel-three-worlds-exact", query(
        "model m {\n    x ~ Categorical(0.3, 0.3, 0.4)\n"
        "    y ~ Categorical(table(x) { 0: 0.5, 1: 0.1, 2: 0.3 }, 0.3, table(x) { 0: 0.2, 1: 0.6, 2: 0.4 }, "
        "coupling = gumbel)\n}", method="exact"),
      "P(y[x = 0] = 0 and y[x = 1] = 2 | y = 1, x = 2)", cd.MethodError, 1, 1, "P(",
      message="two worlds at most", hint="monte-carlo"),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_mistake_is_located_and_explained(mistake: Mistake):
    err = raises(mistake.ask, mistake.text)
    column = mistake.column
    if isinstance(column, tuple):
        assert err.column in column, err
        column = err.column
    check(err, mistake.cls, mistake.source or mistake.text, mistake.line, column, token=mistake.token,
          message=mistake.message, hint=mistake.hint, exact_class=mistake.exact_class)


def test_mistake_ids_are_unique():
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)


def test_query_error_classes_are_query_errors():
    # A zero-probability condition or a refused method is a QueryError to whoever catches those.
    assert issubclass(cd.ZeroProbabilityError, cd.QueryError)
    assert issubclass(cd.MethodError, cd.QueryError)


# ---------------------------------------------------------------------- methods (no position: not the text's fault)
@pytest.mark.parametrize("model_text, q, method, message, hint", [
    pytest.param(GAUSSIAN, "E[y]", "exact", ("'y'", "continuous"), "monte-carlo", id="exact-on-continuous-model"),
    pytest.param(XY, "P(x = 1)", "mcmc", ("'mcmc'",), "monte-carlo", id="unknown-method"),
])
def test_method_error(model_text, q, method, message, hint):
    err = raises(cd.model(model_text).query, q, method=method)
    assert type(err) is cd.MethodError
    for s in message:
        assert s in err.message
    assert err.hint and hint in err.hint


@pytest.mark.parametrize("samples", [0, -5])
def test_invalid_sample_count_is_a_user_error(samples):
    # samples=-5 once escaped as a raw JAX TypeError; samples=0 was silently
    # replaced by the default 200,000 draws.
    err = raises(cd.model("model n {\n    x ~ Normal(0, 1)\n}").query, "E[x]", samples=samples)
    assert "samples" in str(err)
    assert err.hint


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
def test_bad_queries_raise_located_causaldsl_errors(q):
    err = raises(query(XY), q)
    assert err.line is not None and err.line >= 1, str(err)
    assert err.column is not None and err.column >= 1, str(err)
    assert str(err).startswith(f"line {err.line}, column {err.column}: ")
    assert err.hint, str(err)
