"""DAGitty's graph text: read by the Lark grammar ``grammar/dagitty.lark``, written by :func:`to_dagitty`.

:func:`from_dagitty` parses with Lark's LALR parser, whose inline transformer
(:class:`_Syntax`) turns the text into plain statements; :class:`_Builder` then
walks them in source order into a :class:`DagittyGraph`, refusing what a DAG
cannot hold (undirected edges, self-loops, cycles) at the token that says it.
Lark's own errors become a :class:`~causaldsl.language.errors.CausalSyntaxError` that
names what was expected where, with a hint (:func:`_syntax_error`).

>>> dg = from_dagitty("dag { U [latent] ; U -> {X Y} ; X -> M -> Y }")
>>> dg.admg.nodes, sorted(dg.latents)
(['U', 'X', 'Y', 'M'], ['U'])
>>> text = to_dagitty(dg)
>>> to_dagitty(from_dagitty(text)) == text
True
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Union

import networkx as nx
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from .admg import ADMG, latent_projection
from ..language.errors import CausalSyntaxError, CycleError
from ..language.grammars import grammar_text as _grammar_text

__all__ = ["DagittyGraph", "DagittyCycleError", "from_dagitty", "to_dagitty"]


class DagittyCycleError(CausalSyntaxError, CycleError):
    """A DAGitty text whose directed edges form a cycle (both a syntax and a cycle error)."""


@dataclass(frozen=True)
class _CommonCause:
    """The latent parent that stands in for a bidirected edge ``a <-> b`` in a projection."""

    a: Hashable
    b: Hashable


@dataclass(frozen=True)
class DagittyGraph:
    """A graph read from DAGitty text.

    ``admg`` holds every declared node, latent ones included (as explicit
    nodes); ``latents``, ``exposures`` and ``outcomes`` come from the node
    attributes ``[latent]``, ``[exposure]`` and ``[outcome]``. Use
    :meth:`projected` for the ADMG over the observed nodes.

    >>> dg = from_dagitty('dag { U [latent] ; U -> {X Y} ; X -> Y }')
    >>> p = dg.projected()
    >>> p.nodes, sorted(p.directed.edges), [sorted(e) for e in p.bidirected]
    (['X', 'Y'], [('X', 'Y')], [['X', 'Y']])
    """

    admg: ADMG
    latents: frozenset = frozenset()
    exposures: frozenset = frozenset()
    outcomes: frozenset = frozenset()
    adjusted: frozenset = frozenset()
    selected: frozenset = frozenset()
    positions: dict = field(default_factory=dict, compare=False)

    def projected(self) -> ADMG:
        """The latent projection onto the observed nodes (bidirected edges kept as confounders)."""
        if not self.latents:
            return self.admg
        dag = self.admg.directed.copy()
        hidden = set(self.latents)
        for e in self.admg.bidirected:
            a, b = sorted(e, key=str)
            u = _CommonCause(a, b)
            dag.add_edge(u, a)
            dag.add_edge(u, b)
            hidden.add(u)
        return latent_projection(dag, hidden)

    @property
    def observed(self) -> list[str]:
        return [v for v in self.admg.nodes if v not in self.latents]


# ---------------------------------------------------------------------------------- grammar


def grammar_text() -> str:
    """The DAGitty grammar (``grammar/dagitty.lark``).

    >>> "start:" in grammar_text()
    True
    """
    return _grammar_text("dagitty.lark")


class _Name(NamedTuple):
    """A node, attribute or option name: its text (quotes taken off) and where it starts."""

    text: str
    at: Token
    width: int


class _Group(NamedTuple):
    """``{ ... }``: statements whose nodes together are one end of an edge."""

    statements: list


class _Chain(NamedTuple):
    """``a -> {b c} <- d [attributes]``: operands (names or groups) joined by edge tokens."""

    operands: list
    edges: list
    attributes: Optional[tuple]  # (the '[' token, [(key, value or None), ...])


def _unquote(token: Token) -> str:
    r"""A quoted DAGitty name's text: ``\"`` is a quote, a backslash before line breaks joins
    the lines, any other backslash stays.

    >>> _unquote(Token("STRING", '"a \\"b\\" c\\\\d"'))
    'a "b" c\\\\d'
    """
    return re.sub(r'\\(")|\\[\r\n]+', lambda m: m.group(1) or "", token.value[1:-1])


class _Syntax(Transformer):
    """Lark's inline transformer: each rule, as it is reduced, becomes a plain value."""

    def name(self, items: list) -> _Name:
        first = items[0]
        if first.type == "NAME":
            return _Name(first.value, first, len(first.value))
        text = "".join(_unquote(s) for s in items)
        return _Name(text, first, len(text) + 2)

    def attribute(self, items: list) -> tuple:
        return items[0], items[1]

    def attributes(self, items: list) -> tuple:
        return items[0], items[1:]

    def group(self, items: list) -> _Group:
        return _Group(items)

    def chain(self, items: list) -> _Chain:
        *body, attributes = items
        return _Chain(body[0::2], body[1::2], attributes)

    def option(self, items: list) -> None:
        return None  # graph options (bb="...") carry no structure

    def with_header(self, items: list) -> tuple:
        return items[0], items[2:]

    def without_header(self, items: list) -> tuple:
        return None, items


@functools.lru_cache(maxsize=None)
def _parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", lexer="contextual", transformer=_Syntax())


# ---------------------------------------------------------------------------------- building

_STATUS = {
    "latent": "latent", "l": "latent", "unobserved": "latent", "u": "latent",
    "exposure": "exposure", "e": "exposure", "source": "exposure",
    "outcome": "outcome", "o": "outcome", "target": "outcome",
    "adjusted": "adjusted", "a": "adjusted",
    "selected": "selected", "s": "selected",
}
_EDGE_HINT = "use '->' for a direct cause or '<->' for an unobserved common cause"


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text`` (lines end at '\\n', as Lark counts).

    >>> _position("ab\\ncd", 4), _position("ab\\ncd", 5)
    ((2, 2), (2, 3))
    """
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _error(text: str, message: str, at: Union[Token, tuple], hint: str, width: int = 1,
           cls: type = CausalSyntaxError) -> CausalSyntaxError:
    """The error at a token, or at a ``(line, column)``."""
    line, column = (at.line, at.column) if isinstance(at, Token) else at
    return cls(message, line=line, column=column, source=text, hint=hint, width=width)


def _refused_edge(text: str, op: Token) -> Optional[CausalSyntaxError]:
    """The error for an edge kind a DAG cannot hold (undirected, or a PAG's circle marks)."""
    if op.value == "--":
        return _error(text, "undirected edges ('--') are not supported", op, _EDGE_HINT, 2)
    if "@" in op.value:
        return _error(text, f"edge mark '{op.value}' (partial ancestral graphs) is not supported", op,
                      _EDGE_HINT, len(op.value))
    return None


class _Builder:
    """The graph of the statements, built in source order as DAGitty reads them: nodes in the
    order they are first named, each edge checked as it comes (self-loops, cycles)."""

    def __init__(self, text: str):
        self.text = text
        self.g = nx.DiGraph()
        self.bidirected: set = set()
        self.status: dict = {k: set() for k in ("latent", "exposure", "outcome", "adjusted", "selected")}
        self.positions: dict = {}

    def graph(self, kind: Optional[Token], statements: list) -> DagittyGraph:
        if kind is not None:
            self.check_kind(kind)
        self.statements(statements)
        st = {k: frozenset(v) for k, v in self.status.items()}
        return DagittyGraph(ADMG(self.g, frozenset(self.bidirected)), st["latent"], st["exposure"],
                            st["outcome"], st["adjusted"], st["selected"], dict(self.positions))

    def check_kind(self, kind: Token) -> None:
        word = re.split(r"[\s;\ufeff]+", kind.value)[-1]  # after an optional 'strict'
        if word.lower() in ("pdag", "mag", "pag"):
            at = _position(self.text, kind.start_pos + len(kind.value) - len(word))
            raise _error(self.text, f"graph type '{word}' is not supported", at,
                         "only DAGs can be read: start the text with 'dag {'", len(word))

    def statements(self, statements: list) -> list:
        """Builds the statements; the nodes they mention, in order (a group's nodes)."""
        mentioned: list = []
        for s in statements:
            if s is not None:  # None: an option
                mentioned.extend(self.chain(s))
        return mentioned

    def operand(self, op: Union[_Name, _Group]) -> list:
        if isinstance(op, _Group):
            return list(dict.fromkeys(self.statements(op.statements)))
        if op.text in ("graph", "node"):
            raise _error(self.text, f"a variable cannot be named '{op.text}'", op.at, "choose another name",
                         op.width)
        self.g.add_node(op.text)
        return [op.text]

    def chain(self, c: _Chain) -> list:
        lhs = self.operand(c.operands[0])
        mentioned = list(lhs)
        for op, operand in zip(c.edges, c.operands[1:]):
            refused = _refused_edge(self.text, op)
            if refused is not None:
                raise refused
            rhs = self.operand(operand)
            mentioned.extend(rhs)
            for a in lhs:
                for b in rhs:
                    self.add_edge(a, b, op)
            lhs = rhs
        if c.attributes is not None and not c.edges:  # edge attributes (beta, ...) carry no structure
            if isinstance(c.operands[0], _Group):
                raise _error(self.text, "attributes cannot follow a group", c.attributes[0],
                             "give attributes to single nodes: '{a [latent] b}'")
            self.node_attributes(lhs[0], c.attributes[1])
        return mentioned

    def add_edge(self, a: str, b: str, op: Token) -> None:
        if a == b:
            raise _error(self.text, f"edge from '{a}' to itself", op, "remove the self-loop", len(op.value))
        if op.value == "<->":
            self.bidirected.add(frozenset((a, b)))
            return
        src, dst = (a, b) if op.value == "->" else (b, a)
        if self.g.has_edge(src, dst):
            return
        if nx.has_path(self.g, dst, src):
            shown = " -> ".join([src, *nx.shortest_path(self.g, dst, src)])
            raise _error(self.text, f"the edge {src} -> {dst} closes a directed cycle: {shown}", op,
                         "a DAG has no directed cycles: remove or reverse one of these edges, "
                         "or use '<->' for a common cause", len(op.value), DagittyCycleError)
        self.g.add_edge(src, dst)

    def node_attributes(self, node: str, attributes: list) -> None:
        # Attributes other than the statuses and 'pos' (label, colours, ...) are accepted and ignored.
        for key, value in attributes:
            if key.text in _STATUS:
                self.status[_STATUS[key.text]].add(node)
            elif key.text == "pos":
                self.positions[node] = self.position(key, value)

    def position(self, key: _Name, value: Optional[_Name]) -> tuple[float, float]:
        if value is None:
            raise _error(self.text, "attribute 'pos' needs a value", key.at, 'write pos="x,y"', key.width)
        parts = value.text.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            x, y = (float(s) for s in parts)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError
        except ValueError:
            raise _error(self.text, f"malformed position {value.text!r}", value.at,
                         'write positions as two numbers: pos="1.5,-2"', value.width) from None
        return x, y


# ---------------------------------------------------------------------------------- errors

_STATEMENTS_HINT = ("statements are node names (with optional [attributes]), edges like 'a -> b', "
                    "or groups like '{a b}'")


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the text"
    if tok.type in ("NAME", "KIND"):
        return f"name {tok.value!r}"
    if tok.type == "STRING":
        return f"name {_unquote(tok)!r}"
    return f"'{tok.value}'"


def _key_text(tok: Token) -> str:
    return _unquote(tok) if tok.type == "STRING" else tok.value


def _syntax_error(err: UnexpectedInput, text: str, before: list) -> CausalSyntaxError:
    """Lark's error as DAGitty's reader words it, from what stopped the parser and the tokens
    ``before`` it (the last one says which construct was left unfinished)."""
    prev = before[-1] if before else None
    prev_type = prev.type if prev is not None else None
    if isinstance(err, UnexpectedCharacters):
        return _character_error(text, err.pos_in_stream, prev_type)
    tok = err.token
    at_end = tok.type == "$END"
    end = _position(text, len(text))
    here = end if at_end else tok
    found = _describe(tok)
    brackets = [t for t in before if t.type in ("LSQB", "RSQB")]
    in_attributes = bool(brackets) and brackets[-1].type == "LSQB"
    if prev_type == "PLUS":
        return _error(text, "'+' must be followed by a quoted string", here, 'join quoted pieces like "long " + "name"')
    if tok.type == "PLUS":
        return _error(text, "unexpected character '+'", tok, _CHARACTER_HINT)
    if prev_type == "EDGE":
        return _refused_edge(text, prev) or _error(
            text, f"edge '{prev.value}' has no node on its right, found {found}", prev if at_end else tok,
            "write edges as 'a -> b'", len(prev.value) if at_end else _width(tok))
    if prev_type == "EQUAL" and in_attributes:
        key = before[-2]
        return _error(text, f"expected a value for attribute '{_key_text(key)}', found {found}",
                      key if at_end else tok, 'give a value like pos="1,2"', _width(key if at_end else tok))
    if prev_type == "EQUAL":
        return _error(text, f"expected a value after '{_key_text(before[-2])} =', found {found}", here,
                      'write options like bb="0,0,1,1"', _width(tok))
    if in_attributes:
        return _error(text, f"expected an attribute name, found {found}", brackets[-1] if at_end else tok,
                      "close the attribute list with ']'" if at_end else
                      'attributes look like [exposure] or [latent, pos="1,2"]', 1 if at_end else _width(tok))
    header = bool(before) and before[0].type == "KIND"
    open_braces = sum(t.type == "LBRACE" for t in before) - sum(t.type == "RBRACE" for t in before)
    if at_end:
        if open_braces > header:
            return _error(text, "missing '}' to close a group", end, "close the group with '}'")
        return _error(text, "missing '}' at the end of the graph", end, "close the graph with '}'")
    if header and open_braces == 0:
        return _error(text, f"unexpected {found} after the end of the graph", tok,
                      "put every statement inside 'dag { ... }'", _width(tok))
    if tok.type == "RBRACE":
        return _error(text, "unexpected '}'", tok, "remove it, or open the group with '{'")
    if tok.type == "EDGE":
        return _error(text, f"edge '{tok.value}' has no node on its left", tok, "write edges as 'a -> b'",
                      len(tok.value))
    return _error(text, f"unexpected {found}", tok, _STATEMENTS_HINT, _width(tok))


def _width(tok: Token) -> int:
    if tok.type == "STRING":
        return len(_unquote(tok)) + 2
    return max(1, len(tok.value))


_CHARACTER_HINT = ("names are letters, digits, '_' and '.'; quote other names like \"my node\"; "
                   "edges are '->', '<-' and '<->'")


def _character_error(text: str, offset: int, prev_type: Optional[str]) -> CausalSyntaxError:
    """The error for a character no token starts with."""
    at = _position(text, offset)
    ch = text[offset]
    if ch == '"':
        return _string_error(text, offset)
    if prev_type == "PLUS":
        return _error(text, "'+' must be followed by a quoted string", at, 'join quoted pieces like "long " + "name"')
    if ch == "#" or text.startswith("//", offset):
        return _error(text, "comments are not part of the DAGitty format", at, "remove the comment")
    return _error(text, f"unexpected character {ch!r}", at, _CHARACTER_HINT)


def _string_error(text: str, offset: int) -> CausalSyntaxError:
    """Why the quoted name at ``offset`` does not end: the text, the line or a control character."""
    string = _parser().get_terminal("STRING").pattern.to_regexp()
    stop = re.compile(string[:-1]).match(text, offset).end()  # the pattern without its closing quote
    at = _position(text, offset)
    if stop == len(text):
        return _error(text, "unterminated string", at, 'close the name with a double quote: "node name"')
    if text[stop] in "\r\n":
        return _error(text, "unterminated string (a name cannot span lines)", at,
                      'close the name with a double quote on the same line, or end the line with "\\"')
    return _error(text, f"control character {text[stop]!r} in a string", _position(text, stop),
                  "remove the control character")


# ---------------------------------------------------------------------------------- reading, writing


def from_dagitty(text: str) -> DagittyGraph:
    """Read a graph written in DAGitty's text format.

    Supported: ``dag``/``digraph``/``graph`` headers with an optional name (or no
    header at all), edges ``->``, ``<-``, ``<->`` and chains ``a -> b <- c``,
    groups ``A -> {B C}`` (which may hold statements), quoted names ``"node name"``,
    node attributes ``X [exposure, pos="1,2"]`` (``latent``/``exposure``/``outcome``/
    ``adjusted``/``selected`` and their one-letter forms; others ignored), edge
    attributes, ``bb="..."`` options, and whitespace, newlines or ``;`` between
    statements. Undirected ``--`` and PAG edges are rejected. Every problem raises
    :class:`~causaldsl.language.errors.CausalSyntaxError` with line, column and hint (a
    directed cycle raises :class:`DagittyCycleError`, a subclass of it).

    >>> dg = from_dagitty('dag { X [exposure] ; Y [outcome] ; U [latent] ; X -> Y ; U -> {X Y} ; X <-> "Z z" }')
    >>> sorted(dg.admg.directed.edges), sorted(dg.latents), sorted(dg.exposures)
    ([('U', 'X'), ('U', 'Y'), ('X', 'Y')], ['U'], ['X'])
    >>> from_dagitty("dag { a -- b }")
    Traceback (most recent call last):
    ...
    causaldsl.language.errors.CausalSyntaxError: line 1, column 9: undirected edges ('--') are not supported
    dag { a -- b }
            ^^
    hint: use '->' for a direct cause or '<->' for an unobserved common cause
    """
    if not isinstance(text, str):
        raise TypeError("from_dagitty expects a string")
    ip = _parser().parse_interactive(text)
    seen: list = []  # the tokens read, for the context of an error
    try:
        for tok in ip.iter_parse():
            seen.append(tok)
        kind, statements = ip.feed_eof(seen[-1] if seen else None)
    except UnexpectedInput as err:
        # iter_parse yields a token before the parser takes it: a refused token is the last one seen
        before = seen[:-1] if seen and seen[-1] is getattr(err, "token", None) else seen
        raise _syntax_error(err, text, before) from None
    return _Builder(text).graph(kind, statements)


_BARE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def _dagitty_name(v) -> str:
    s = str(v)
    if s in ("graph", "node"):
        raise ValueError(f"DAGitty cannot name a variable {s!r}")
    if s and all(c in _BARE for c in s):
        return s
    if any(ord(c) < 0x20 or c == "\x7f" for c in s):
        raise ValueError(f"name {s!r} contains a control character, which DAGitty cannot represent")
    if s.endswith("\\"):
        raise ValueError(f"name {s!r} ends with a backslash, which DAGitty cannot represent")
    return '"' + s.replace('"', '\\"') + '"'


def _fmt_num(x: float) -> str:
    """A number as DAGitty's ``pos`` reads it: digits, '.', '-' only (no exponent)."""
    s = repr(float(x))
    if "e" in s or "E" in s:
        s = format(float(x), ".20f").rstrip("0").rstrip(".")
    elif s.endswith(".0"):
        s = s[:-2]
    return s


def to_dagitty(g, latents: Iterable[str] = (), *, exposures: Iterable[str] = (),
               outcomes: Iterable[str] = ()) -> str:
    """Write ``g`` (ADMG, DiGraph or :class:`DagittyGraph`) in DAGitty's text format.

    One node statement per node (with ``[exposure]``, ``[outcome]``, ``[latent]``,
    ``[adjusted]``, ``[selected]`` and ``pos`` where known), then one line per edge.
    Names that are not plain words are quoted. :func:`from_dagitty` reads the
    text back to the same graph.

    >>> print(to_dagitty(ADMG.from_edges([("x", "y")], [("x", "y")]), exposures=["x"]))
    dag {
    x [exposure]
    y
    x -> y
    x <-> y
    }
    """
    status: dict = {k: set() for k in ("exposure", "outcome", "latent", "adjusted", "selected")}
    positions: dict = {}
    if isinstance(g, DagittyGraph):
        adm = g.admg
        status["exposure"] |= g.exposures
        status["outcome"] |= g.outcomes
        status["latent"] |= g.latents
        status["adjusted"] |= g.adjusted
        status["selected"] |= g.selected
        positions = dict(g.positions)
    else:
        adm = ADMG.of(g)
    status["latent"] |= set(latents)
    status["exposure"] |= set(exposures)
    status["outcome"] |= set(outcomes)
    nodes = list(adm.directed.nodes)
    known = set(nodes)
    for k, vs in status.items():
        missing = set(vs) - known
        if missing:
            raise ValueError(f"{k} nodes not in the graph: {sorted(map(str, missing))}")
    lines = ["dag {"]
    for v in nodes:
        attrs = [k for k in ("exposure", "outcome", "latent", "adjusted", "selected") if v in status[k]]
        if v in positions:
            x, y = positions[v]
            attrs.append(f'pos="{_fmt_num(x)},{_fmt_num(y)}"')
        lines.append(_dagitty_name(v) + (f" [{','.join(attrs)}]" if attrs else ""))
    for a, b in adm.directed.edges:
        lines.append(f"{_dagitty_name(a)} -> {_dagitty_name(b)}")
    index = {v: i for i, v in enumerate(nodes)}
    for a, b in sorted((tuple(sorted(e, key=index.__getitem__)) for e in adm.bidirected),
                       key=lambda e: (index[e[0]], index[e[1]])):
        lines.append(f"{_dagitty_name(a)} <-> {_dagitty_name(b)}")
    lines.append("}")
    return "\n".join(lines)
