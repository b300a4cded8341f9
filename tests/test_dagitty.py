"""The DAGitty reader (causaldsl.graphs.dagitty, grammar/dagitty.lark): what it accepts, how it words
mistakes, and that text written by to_dagitty reads back to the same graph."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import causaldsl.graphs.analysis as ga
from causaldsl.graphs.dagitty import DagittyGraph, from_dagitty, to_dagitty
from causaldsl.language.errors import CausalSyntaxError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, nodes, edges", [
    ("strict dag { a -> b }", ["a", "b"], [("a", "b")]),
    ("DAG { a <- b }", ["a", "b"], [("b", "a")]),
    ('dag "my graph" { a -> -2 ; x.1 <- _y }', ["a", "-2", "x.1", "_y"], [("a", "-2"), ("_y", "x.1")]),
    ("dag -> x", ["dag", "x"], [("dag", "x")]),  # 'dag' heads a graph only where a body follows
    ("x dag {y}", ["x", "dag", "y"], []),
    ("\ufeffdag {\r\n a -> b }", ["a", "b"], [("a", "b")]),
    ('dag { "a\\\nb" -> "q\\"t" ; "x\\\\y" }', ["ab", 'q"t', "x\\\\y"], [("ab", 'q"t')]),
    ("dag { {a -> b} -> c }", ["a", "b", "c"], [("a", "b"), ("a", "c"), ("b", "c")]),
    ("dag { a [x] b -> c [beta=1, label=\"e\"] }", ["a", "b", "c"], [("b", "c")]),
])
def test_accepted_texts(text, nodes, edges):
    g = from_dagitty(text)
    assert g.admg.nodes == nodes and sorted(g.admg.directed.edges) == sorted(edges)


def test_attribute_lists_and_options():
    g = from_dagitty('dag { bb="0,0,1,1" a [latent; pos="1,2"] b [,,e,] c [o] }')
    assert g.latents == {"a"} and g.exposures == {"b"} and g.outcomes == {"c"}
    assert g.positions == {"a": (1.0, 2.0)}


@pytest.mark.parametrize("text, line, column, message, hint", [
    ("dag { a # note\n}", 1, 9, "comments are not part of the DAGitty format", "remove the comment"),
    ("dag { a // note\n}", 1, 9, "comments are not part of the DAGitty format", "remove the comment"),
    ('dag { "a" + b }', 1, 13, "'+' must be followed by a quoted string", "join quoted pieces"),
    ('dag { "a" + }', 1, 13, "'+' must be followed by a quoted string", "join quoted pieces"),
    ("dag { a + b }", 1, 9, "unexpected character '+'", "quote other names"),
    ('dag { "a\tb" }', 1, 9, "control character '\\t' in a string", "remove the control character"),
    ('dag { "a\nb" }', 1, 7, "a name cannot span lines", "same line"),
    ("dag { bb = }", 1, 12, "expected a value after 'bb =', found '}'", 'bb="0,0,1,1"'),
    ("dag { a [pos= }", 1, 15, "expected a value for attribute 'pos', found '}'", 'pos="1,2"'),
    ("dag { a [pos=", 1, 10, "expected a value for attribute 'pos', found the end of the text", 'pos="1,2"'),
    ("dag { a [", 1, 9, "expected an attribute name, found the end of the text", "close the attribute list"),
    ("dag { a [pos] }", 1, 10, "attribute 'pos' needs a value", 'pos="x,y"'),
    ("dag { {a", 1, 9, "missing '}' to close a group", "close the group"),
    ("dag { a\n", 2, 1, "missing '}' at the end of the graph", "close the graph"),
    ("a -> b }", 1, 8, "unexpected '}'", "open the group"),
    ('dag {} "c"', 1, 8, "unexpected name 'c' after the end of the graph", "inside 'dag { ... }'"),
    ("dag { a ] }", 1, 9, "unexpected ']'", "statements are node names"),
    ("dag { a -- }", 1, 9, "undirected edges", "'<->'"),
    ("dag { a [latent] -> b }", 1, 18, "edge '->' has no node on its left", "a -> b"),
    ("strict pag { a }", 1, 8, "graph type 'pag' is not supported", "dag {"),
    ('dag { "node" }', 1, 7, "a variable cannot be named 'node'", "another name"),
    ('dag { a [pos="inf,1"] }', 1, 14, "malformed position 'inf,1'", "two numbers"),
    # several mistakes: the grammar's first, then the graph's (here the self-loop comes before)
    ("dag { a -> a ; b -> }", 1, 21, "edge '->' has no node on its right", "a -> b"),
])
def test_mistakes(text, line, column, message, hint):
    with pytest.raises(CausalSyntaxError) as info:
        from_dagitty(text)
    err = info.value
    assert message in err.message and hint in err.hint
    assert (err.line, err.column) == (line, column) and err.source == text


def test_positions_statuses_and_order_round_trip():
    rng = random.Random(3)
    names = [f"v{i}" for i in range(60)] + ["a b", "é", "-1", 'q"t']
    lines = ["dag {"]
    for i, v in enumerate(names):
        attrs = [s for s, k in (("latent", 5), ("exposure", 7), ("outcome", 11)) if i % k == 0]
        attrs.append(f'pos="{rng.uniform(-9, 9):.3f},{rng.uniform(-9, 9):.3f}"')
        lines.append(f'"{v}"'.replace('"q"t"', '"q\\"t"') + f" [{','.join(attrs)}]")
    for i, a in enumerate(names):
        for b in rng.sample(names[i + 1:], min(2, len(names) - i - 1)):
            lines.append(f'"{a}" -> "{b}"'.replace('"q"t"', '"q\\"t"'))
    lines += ['"v1" <-> "v9"', "}"]
    g = from_dagitty("\n".join(lines))
    back = from_dagitty(to_dagitty(g))
    assert back.admg.nodes == g.admg.nodes == names
    assert list(back.admg.directed.edges) == list(g.admg.directed.edges)
    assert back.admg.bidirected == g.admg.bidirected == {frozenset({"v1", "v9"})}
    for status in ("latents", "exposures", "outcomes", "positions"):
        assert getattr(back, status) == getattr(g, status)
    assert g.latents and g.exposures and g.outcomes
    assert to_dagitty(back) == to_dagitty(g)


def test_graph_analysis_reexports_the_reader():
    assert ga.from_dagitty is from_dagitty and ga.to_dagitty is to_dagitty and ga.DagittyGraph is DagittyGraph


def test_grammar_is_shipped_with_the_package():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"grammar/dagitty.lark" = "causaldsl/grammar/dagitty.lark"' in pyproject
    assert (ROOT / "grammar" / "dagitty.lark").is_file()
