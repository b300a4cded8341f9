"""A table body read as one token says exactly what the same table read rule by rule says.

The grammar reads a table of plain numbers as one token (``TABLE_BODY``, read by
``causaldsl.language.parser._table_rows``); these tests hold the parser to the one whose grammar
has no such token (every table rule by rule): the same syntax trees, spans included, and
the same errors. The checker's own topological order is held to networkx's. No test here
times anything: ``benchmarks/front_end.py`` does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from lark import Lark

import causaldsl as cd
from causaldsl.language import parser as P
from causaldsl.language import syntax as S
from causaldsl.model.checker import _engine_float, _topological_order, check_model
from causaldsl.model.distributions import FAMILIES
from causaldsl.language.errors import one_newline

ROOT = Path(__file__).resolve().parent.parent

# Corners of the grammar: keywords where a name is expected, brackets and newlines,
# comments, positions of parenthesised expressions, every kind of item.
SNIPPETS = [
    "",
    "\n\n  \n",
    "# only a comment\n",
    "model m {\n  x ~ Bernoulli(0.5)\n}",
    "model m {\n  x ~ Bernoulli(0.5)\n  y := (x) + ((1))\n}\nP(y = 1)",
    "model m { x ~ Bernoulli(0.5) }",
    "model m\n{\n\n  latent u ~ Normal(0, 1)  # noise\n  y := 2 * u ** 2 - -u / 3\n}\n\nE[y]\n",
    "model m {\r\n  x ~ Bernoulli(0.5)\r\n}\r\nP(x = 1)\r\n",
    "model m {\n  a ~ Bernoulli(0.5)\n  b ~ Bernoulli(table(a) {\n     0: 0.2,\n     1: 0.7,\n  })\n}",
    "model m {\n  a ~ Categorical(lo: 0.2, hi: 0.8)\n  b ~ Bernoulli(table(a) { lo: 0.1, 'hi': 0.9 })\n"
    "  c := if a == hi and not b or b != 0 then 1 else 0\n}\nP(c = 1 | a = hi)",
    "model m {\n  x ~ Normal(loc = 0, scale = 1)\n  y ~ Normal(max(x, 0, -1), exp(abs(x)) + 1e-3)\n}\n"
    "E[y | do(x = -2.5)]\nE[y[x = 1] - y[x = 0]]",
    "model m {\n  x ~ Bernoulli(0.5)\n  m ~ Bernoulli(0.2 + 0.5 * x)\n  y ~ Bernoulli(0.1 + 0.3 * x + 0.4 * m)\n}\n"
    "ATE(x -> y)\nNDE(x -> y via m, treat = 1, control = 0)\nPN(x -> y)\nPNS(x -> y, samples = 1000)",
    "model m {\n  x ~ Bernoulli(0.5)\n  y := x\n}\nP(y[x = 0] = 1, y = 1 | x = 1)\nP(y)\nP(y > 0 | do(x))",
    "model m {\n  param p[t] ~ Beta(1, 1)\n  param s ~ HalfNormal(1)\n  t ~ Bernoulli(0.5)\n"
    "  y ~ Bernoulli(p[t])\n}\nfit m to \"data.csv\", method = svi, draws = 100\nP(y = 1)",
    "graph g {\n  W1 -> W2 -> X <- Z; X <-> Y\n  latent U, V\n}\nidentify P(Y | do(X), W1)\n"
    "X, W1 _||_ Y | W2\nadjustment(X -> Y)\ninstruments(Z -> Y)\nindependences\nancestors(Y, X)\n"
    "markov_blanket(X)\nadmg",
    "P(x = 1 | do(x = 0), y = sunny, z = \"a b\")",
    "E[x | x = -1]",
    "model P_ {\n  via_ ~ Bernoulli(0.5)\n  modelx := via_ + 1\n}",
    "model m {\n  P ~ Bernoulli(0.5)\n  do := P\n}",  # keywords the contextual lexer reads as names here
]

# Tables that the parser reads as one token (TABLE_BODY) and tables it must leave to the
# grammar's rules: signs, level names and strings for keys, line breaks, comments, trailing commas,
# expressions for values, keywords for names, tables where a statement may end.
TABLES = [
    "model m {\n  a ~ Bernoulli(0.5)\n  b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.7 })\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  b ~ Bernoulli(table(a){0:0.2,1:.7,})\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  c ~ Bernoulli(0.5)\n  b ~ Bernoulli(table( a ,c ) {\n"
    "    (0, 0): 0.1, (0,1): 2e-1,\r\n    ( 1 , 0 ) : 0.3,\n\n    (1, 1): 4E-1\n  })\n}",
    "model m {\n  a ~ Categorical(lo: 0.2, hi: 0.8)\n  b ~ Bernoulli(table(a) { lo: 0.1, 'hi': 0.9 })\n}",
    "model m {\n  a ~ Categorical(lo: 0.2, hi: 0.8)\n  b ~ Bernoulli(table(a) { \"lo\": 0.1, hi: 0.9, })\n}",
    "model m {\n  a ~ Categorical(0.2, 0.8)\n  y := table(a) { - 1: 1, +0: 2, 1: 3 } * 2\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1, 1: -2 }\n}",  # a value with a sign: token loop
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1, # a comment\n 1: 2 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1 + 1, 1: (2) }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: a, 1: table(a) { 0: 1, 1: 2 } }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table\t(a) { 0: 1, 1: 2 } + table(a) {0: 3, 1: 4}\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y ~ Normal(table\n(a) { 0: 1, 1: 2 }, table(a)\n{ 0: 1, 1: 2 })\n}",
    "model m {\n  E ~ Bernoulli(0.5)\n  y := table(E) { 0: 1, 1: 2 }\n}",  # a keyword elsewhere
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { (0): 1, (1,): 2 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  b ~ Bernoulli(0.5)\n  y := table(a, b) { (0, 0): 1, (0, 1): 1, "
    "(1, 0): 2, (1, 1): 3 } if a then 1 else 0\n}",
    "E[table(a) { 0: 1, 1: 2 }]\nP(table(a) { 0: 1, 1: 2 } > 1)",
]
SNIPPETS += TABLES

# Statements with tables and numbers in every shape: keywords for the distribution,
# expressions, named arguments, comments and line breaks inside the call, more after its ')'.
STATEMENTS = [
    "model m {\n  a~Bernoulli(.5)\n  b ~ Bernoulli ( 5e-1 ) # c\n  c\t~\tBernoulli(\ttable(a, b) { (0, 0): 0.1,"
    " (0, 1): 0.2, (1, 0): 0.3, (1, 1): 0.4, } )\n  d ~ Bernoulli(table(a) {\n 0: 0.1,\n 1: 0.2 })\n"
    "  e ~ Bernoulli(0.5 + 0.1)\n  f ~ Bernoulli(table(a) { 0: 0.1, 1: 0.2 } * 0.5)\n"
    "  g ~ Normal(0, 1)\n  h ~ Bernoulli(p = 0.5)\n  i ~ Bernoulli(\n 0.5)\n}",
    "model m { x ~ Bernoulli(0.5) }",
    "model m {\n  x ~ Bernoulli(0.5) y ~ Bernoulli(0.5)\n}",
    "model m {\n  x ~ if(0.5)\n  y ~ table(0.5)\n  z ~ tablet(0.5)\n  w ~ N(table(x) { 0: 1, 1: 2 }) + 1\n}",
    "model m {\n  x ~ Bernoulli(0.5e)\n}",
    "model m {\n  x ~ Bernoulli(5.)\n  latent y ~ Bernoulli(0.5)\n  z ~ Bernoulli(0.5)\r\n}",
    "model m {\n  x ~ Bernoulli(0.5))\n}",
    "model m {\n  x ~ Bernoulli(table(x) { 0: 1, 1: 2 }\n}",
    "model m {\n  x ~ Bernoulli(0.5)\n  y ~ Bernoulli(table(x) { 0: 1, 1: 2 })}",
]
SNIPPETS += STATEMENTS

# Mistakes: each must raise the same error with and without the table-body token.
MISTAKES = [
    "model m {\n  x ~ Bernoulli(0.5\n}",
    "model m {\n  x ~ Bernoulli(0.5))\n}",
    "model m {\n  x = 1\n}",
    "P(x = 1 | x & y)",
    "model m {\n  x ~ Bernoulli(0.5) y ~ Bernoulli(0.5)\n}",
    "P(x = 1",
    "E[x",
    "model m {\n  s := 'unterminated\n}",
    "model m {\n  x ~ Bernoulli(0.5)\n  y ~ Bernoulli(x ^ 2)\n}",
    "graph g {\n  a -> \n}",
    "model m {\n  x ~ Bernoulli(if x then 1)\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1, 1: 2 } z\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1, 1: 2 }\n  z := table\n(a) { 0: 1 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a)\n{ 0: 1, 1: 2 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1,, 1: 2 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table() { 0: 1 }\n}",
    "model m {\n  a ~ Bernoulli(0.5)\n  y := table(a) { 0: 1, 1: 2 } {\n}",
]


def corpus() -> list[str]:
    texts = list(SNIPPETS)
    for path in sorted((ROOT / "tutorials").glob("*.causal")):
        texts.append(path.read_text())
    for path in sorted((ROOT / "tutorials").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            if src.startswith("%%causal"):
                texts.append(src.split("\n", 1)[1] if "\n" in src else "")
    for path in sorted((ROOT / "docs").glob("*.md")):
        texts += re.findall(r"```(?:causal)?\n(.*?)```", path.read_text(), re.S)
    from benchmarks.nets import binary_net, gauss_net

    texts += [binary_net(12).dsl(), gauss_net(12).dsl(), gauss_net(12, nonlinear=True).dsl()]
    return texts


@functools.lru_cache(maxsize=None)
def _rule_by_rule() -> Lark:
    """The language's parser with every table read rule by rule (no ``TABLE_BODY`` token)."""
    grammar = P.grammar_text()
    assert "(TABLE_BODY | " in grammar
    return Lark(grammar.replace("(TABLE_BODY | ", "("), parser="lalr", lexer="contextual",
                transformer=P._Builders(), maybe_placeholders=True, postlex=P._BracketNewlines())


def slow(text: str):
    """The parse with no table read as one token, by the same builders."""
    return P._parse_with(_rule_by_rule(), one_newline(text))


def table_places(node) -> list:
    """Per table in a syntax tree, where each row and each of its key atoms is (the spans a
    table keeps apart from its repr, worked out on demand for rows read on one line)."""
    out = []

    def visit(x):
        if isinstance(x, S.Table):
            out.append([(x.row_span(i), [x.key_span(i, j) for j in range(len(k))]) for i, k in enumerate(x.keys)])
        if dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                visit(getattr(x, f.name))
        elif isinstance(x, (tuple, list)):
            for y in x:
                visit(y)

    visit(node)
    return out


def outcome(fn, text):
    try:
        tree = fn(text)
        return repr(tree) + "\n" + repr(table_places(tree))  # dataclass reprs show every other span
    except cd.CausalDSLError as err:
        return f"{type(err).__name__} {err.line}:{err.column} width {err.width}\n{err}"


@pytest.mark.parametrize("text", corpus())
def test_table_token_and_rules_agree(text):
    assert outcome(P.parse, text) == outcome(slow, text)


@pytest.mark.parametrize("text", MISTAKES)
def test_mistakes_read_the_same(text):
    fast, lark = outcome(P.parse, text), outcome(slow, text)
    assert fast == lark and fast.startswith("CausalSyntaxError")


def mutations(texts, k: int, seed: int = 0):
    """Texts with a token inserted, a character deleted or a run cut: mostly mistakes."""
    pieces = ["(", ")", "[", "]", "{", "}", ",", "=", "~", ":", "|", "\n", " ", "do", "P", "if",
              "table", "latent", "0.5", "-", "**", "x", "->", ";", "#c\n", "'", "&", "via", "_||_"]
    r = random.Random(seed)
    out = []
    for _ in range(k):
        t = list(r.choice(texts))
        i = r.randrange(len(t) + 1)
        op = r.random()
        if op < 0.4 and t:
            del t[i % len(t)]
        elif op < 0.8:
            t.insert(i, r.choice(pieces))
        else:
            del t[i:i + r.randint(1, 5)]
        out.append("".join(t))
    return out


def test_mutated_texts_agree():
    base = [t for t in SNIPPETS if t]
    for text in mutations(base, 400):
        assert outcome(P.parse, text) == outcome(slow, text), repr(text)


def test_mutated_tables_agree():
    for text in mutations(TABLES, 600, seed=1):
        assert outcome(P.parse, text) == outcome(slow, text), repr(text)


def test_mutated_statements_agree():
    for text in mutations(STATEMENTS + [binary_net_text()], 600, seed=2):
        assert outcome(P.parse, text) == outcome(slow, text), repr(text)


def spied(monkeypatch, owner, name: str) -> list:
    """Replace ``owner.name`` by a wrapper that records its calls."""
    real, calls = getattr(owner, name), []

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_plain_tables_are_one_token(monkeypatch):
    # Tables of plain numbers, on one line or several, are one token; a comment or an
    # expression sends a table to the grammar's rules. Both give the same tree (the tests
    # above); this says which way each was read.
    calls = spied(monkeypatch, P, "_table_rows")
    for text, tokens in ((TABLES[2], 1), (TABLES[7], 0), (TABLES[8], 0),
                         (binary_net_text(), binary_net_text().count("table("))):
        calls.clear()
        P.parse(text)
        assert len(calls) == tokens, text


# Syntax nodes whose span is the whole text of a grammar rule, and that rule (by alias or name).
_RULE_OF = {S.ProbQuery: "prob_query", S.ExpectQuery: "expect_query", S.Do: "do_clause",
            S.EqEvent: "event", S.ExprEvent: "event", S.Observation: "given", S.Given: "given",
            S.Table: "table", S.Not: "not_", S.IfElse: "ifelse", S.IdentifyQuery: "identify_query",
            S.FitStmt: "fit_stmt"}


@functools.lru_cache(maxsize=None)
def _lark_with_positions() -> Lark:
    """The language's grammar, parsed by Lark into its own tree with ``propagate_positions``."""
    return Lark(P.grammar_text(), parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, postlex=P._BracketNewlines())


def lark_extents(text: str) -> dict:
    """Per rule, the spans Lark's ``propagate_positions`` gives its trees (as the parser's spans are
    written: the end column only where the text ends on the line it starts)."""
    out: dict = {}
    rules = set(_RULE_OF.values()) | {"pos_arg", "or_", "and_", "dsep_query", "adjustment_query",
                                      "instruments_query", "relatives_query"}
    for t in _lark_with_positions().parse(one_newline(text)).iter_subtrees():
        if t.data in rules:
            m = t.meta
            out.setdefault(t.data, []).append(S.Span(m.line, m.column, m.end_column if m.end_line == m.line else None))
    return {k: sorted(v) for k, v in out.items()}


def node_extents(tree) -> dict:
    """The same, from the parser's syntax tree."""
    out: dict = {}

    def visit(x):
        rule = _RULE_OF.get(type(x))
        if type(x) is S.Arg and x.kind == "pos":
            rule = "pos_arg"
        elif type(x) is S.BoolOp:
            rule = x.op + "_"
        elif type(x) is S.GraphQuery and x.kind in ("dsep", "adjustment", "instruments"):
            rule = x.kind + "_query"
        elif type(x) is S.GraphQuery and x.kind in ("ancestors", "descendants", "parents", "children", "markov_blanket"):
            rule = "relatives_query"
        if rule is not None:
            out.setdefault(rule, []).append(x.span)
        if dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                visit(getattr(x, f.name))
        elif isinstance(x, (tuple, list)):
            for y in x:
                visit(y)

    visit(tree)
    return {k: sorted(v) for k, v in out.items()}


def test_extents_are_lark_propagate_positions():
    # The builders run inside Lark's parser, where Lark gives no positions of rules: each node's
    # extent is worked out from its first and last child. Held here to what Lark itself says.
    edges = ("model m {\n x ~ Bernoulli(0.5)\n y ~ Bernoulli((x + 1) / 2)\n z ~ Normal(((x)), -(1))\n"
             " w ~ Bernoulli(table(x) { 0: (0.5), (1): 0.5 })\n v := if (x) then (f(x)) else (2 ** (x))\n}\n"
             "P((y == 1) | (x) = 1, do(z = (2)))\nE[(y) | (x) = 1]\nP(not (y == 1) or (x) = 0 and (z))\n"
             "P(y[x = 1] = 1 | z > (y[x = 0]), y[x = 0])\nP(y | x = -\n 1)\nE[p[x]]\nE[abs(x)]\n"
             "fit m to \"d.csv\", draws = -5\nX, W _||_ Y | Z\nparents(y)")
    texts = corpus() + TABLES + STATEMENTS + [edges]
    texts += mutations([t for t in SNIPPETS if t] + [edges], 400, seed=5)
    checked = 0
    for text in texts:
        if "definition =" in text:
            # cause(...)'s option is read among the conditions and kept apart as an option: its
            # nodes are in Lark's tree, not in ours
            continue
        try:
            tree = P.parse(text)
        except cd.CausalDSLError:
            continue
        assert node_extents(tree) == lark_extents(text), repr(text)
        checked += 1
    assert checked > 100


def binary_net_text() -> str:
    from benchmarks.nets import binary_net

    return binary_net(12).dsl()


# ------------------------------------------------------------------ the checker
def random_dag(n: int, seed: int):
    r = random.Random(seed)
    names = [f"v{i}" for i in r.sample(range(n), n)]  # written in a shuffled order
    stmts = {v: S.SampleStmt(v, None, span=S.Span(line, 1)) for line, v in enumerate(names, 1)}
    rank = {v: r.random() for v in names}  # acyclic: parents come from lower ranks
    parents = {v: [p for p in names if rank[p] < rank[v] and r.random() < 0.2] for v in names}
    return stmts, parents


@pytest.mark.parametrize("seed", range(20))
def test_topological_order_is_networkx_lexicographic_order(seed):
    stmts, parents = random_dag(30, seed)
    g = nx.DiGraph()
    g.add_nodes_from(stmts)
    g.add_edges_from((p, c) for c, ps in parents.items() for p in ps)
    want = list(nx.lexicographical_topological_sort(g, key=lambda v: (stmts[v].span.line, v)))
    assert _topological_order(stmts, parents) == want


def test_topological_order_sees_cycles():
    stmts = {v: S.SampleStmt(v, None, span=S.Span(i, 1)) for i, v in enumerate("abc", 1)}
    assert _topological_order(stmts, {"a": ["c"], "b": ["a"], "c": ["b"]}) is None
    assert _topological_order(stmts, {"a": ["a"], "b": [], "c": []}) is None


def test_checked_tables_keep_the_parsed_rows():
    text = "model m {\n  a ~ Bernoulli(0.5)\n  b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.7 })\n}"
    block = P.parse(text).items[0]
    table = check_model(block, text)["b"].args[0]
    assert table is block.statements[1].dist.args[0].value  # nothing to rewrite: nothing copied


def test_level_names_in_tables_become_codes():
    text = ("model m {\n  a ~ Categorical(lo: 0.2, hi: 0.8)\n"
            "  b ~ Bernoulli(table(a) { hi: 0.9, lo: 0.1 })\n}")
    table = check_model(P.parse(text).items[0], text)["b"].args[0]
    assert table.keys == ((1.0,), (0.0,))


def test_constant_parameters_are_judged_as_jax_judges_them():
    import jax
    import jax.numpy as jnp

    values = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-50, 1e-40, 1e300, -1e300, 0.1, 0.10000000001,
              float("nan"), float("inf"), -float("inf"), 2.0, 2.5]
    r = random.Random(0)
    for fam in FAMILIES.values():
        if fam.name == "Categorical" or fam.probability_params:
            continue
        for _ in range(60):
            combo = [r.choice(values) for _ in fam.params]
            with jax.enable_x64(True):  # as the engines run (causaldsl.engines.config.float64)
                jax_says = bool(fam.invalid(tuple(jnp.asarray(c) for c in combo)))
            numpy_says = bool(fam.invalid(tuple(np.asarray(c, dtype=_engine_float()) for c in combo)))
            assert jax_says == numpy_says, (fam.name, combo)
