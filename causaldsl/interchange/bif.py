"""BIF in and out: :func:`read_bif` (text or a ``.bif``/``.bif.gz`` file to the model IR) and
:func:`write_bif`.

The reader is Lark's LALR parser over ``grammar/bif.lark`` with an inline transformer
(:class:`_Syntax`), so no parse tree is built; a table's numbers arrive as one token and NumPy
reads them. :func:`_tables` then matches each ``probability`` block to its ``variable``, puts
every row where its parents' levels say (rows may come in any order; ``default`` fills the rows
not given; ``table`` lists the numbers child-major, last parent fastest, as BIF 0.15 does), and
:func:`~causaldsl.interchange.network.build_model` checks the tables and builds the IR. Every
mistake is a :class:`~causaldsl.language.errors.CausalDSLError` at its line and column.

Format: F. G. Cozman, *The Interchange Format for Bayesian Networks* (BIF 0.15, 1998); G. Hulten
and P. Domingos's VFML appendix (2003) for the ``probability ( X | A, B )`` form bnlearn writes.

>>> m = read_bif('''network n { }
... variable E { type discrete [ 2 ] { "<5", 12+ }; }
... variable y { type discrete [ 2 ] { Asy/Patch, 3b }; property "position = (1, 2)" ; }
... probability ( E ) { table 0.25, 0.75; }
... probability ( y | E ) { (12+) 0.5, 0.5; (<5) 0.9, 0.1; }''')
>>> m.names, m["E"].levels, m["y"].levels
(['E', 'y'], ('<5', '12+'), ('Asy/Patch', '3b'))
>>> read_bif(write_bif(m)) == m
True
"""

from __future__ import annotations

import functools
import gzip
import itertools
import math
import os
import re
from pathlib import Path
from typing import NamedTuple, Optional, Union

import numpy as np
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..language.errors import (CausalDSLError, CausalSyntaxError, DuplicateDefinitionError, Span, TableError,
                               UnknownNameError, did_you_mean)
from ..language.grammars import grammar_text
from ..model.ir import Model
from .network import TOLERANCE, Cpt, build_model, network_tables

__all__ = ["read_bif", "write_bif"]


# ---------------------------------------------------------------------------------- syntax
class _Name(NamedTuple):
    text: str
    at: Token


class _Variable(NamedTuple):
    name: _Name
    kind: Optional[_Name]
    count: Optional[Token]
    levels: list


class _Entry(NamedTuple):
    kind: str  # "row" | "table" | "default"
    key: list  # the row's level names (str), or []
    numbers: list  # NUMBERS tokens
    at: Token


class _Network(NamedTuple):
    name: _Name


class _Probability(NamedTuple):
    names: list  # child, then parents (the old form lists them all before any '|')
    parents: Optional[list]
    entries: list
    at: Token


_KEY_NAME = re.compile(r'"([^"]*)"|[^\s,()"]+')


def _key_names(key: str) -> list[str]:
    """The level names of a row key ``(a, "b c")``.

    >>> _key_names('(a, "b c")'), _key_names("( <5 , 12+ )")
    (['a', 'b c'], ['<5', '12+'])
    """
    if '"' not in key:  # most keys: split at commas (or spaces, which BIF 0.15 also allows)
        return key[1:-1].replace(",", " ").split()  # an unquoted name holds neither
    return [m.group(1) if m.group(1) is not None else m.group(0) for m in _KEY_NAME.finditer(key)]


def _key_span(key: Token, j: int) -> Span:
    """Where name ``j`` of the row key token ``key`` is (worked out only for a message)."""
    m = list(_KEY_NAME.finditer(key.value))[j]
    before = key.value[:m.start()]
    nl = before.count("\n")
    column = m.start() - before.rfind("\n") if nl else key.column + m.start()
    return Span(key.line + nl, column, column + len(m.group(0)))


def _span(tok: Token, width: Optional[int] = None) -> Span:
    return Span(tok.line, tok.column, tok.column + (width if width is not None else len(tok.value)))


class _Syntax(Transformer):
    """Lark's inline transformer: each rule, as it is reduced, becomes a plain value."""

    def name(self, items):
        tok = items[0]
        return _Name(tok.value[1:-1] if tok.type == "STRING" else tok.value, tok)

    def names(self, items):
        return items

    def property(self, items):
        return None

    def vtype(self, items):
        return ("type", items[0], items[1], items[2:])

    def variable(self, items):
        name, *body = items
        types = [b for b in body if b is not None]
        if not types:
            return _Variable(name, None, None, [])
        _, kind, count, levels = types[-1]
        return _Variable(name, kind, count, levels)

    def row(self, items):
        key = items[0]
        return _Entry("row", _key_names(key.value), items[1:], key)

    def table(self, items):
        return _Entry("table", [], items, items[0])

    def default(self, items):
        return _Entry("default", [], items, items[0])

    def probability(self, items):
        names, parents, *entries = items
        return _Probability(names, parents, [e for e in entries if e is not None], names[0].at)

    def network(self, items):
        return _Network(items[0])

    def start(self, items):
        return items


@functools.lru_cache(maxsize=None)
def _parser() -> Lark:
    return Lark(grammar_text("bif.lark"), parser="lalr", lexer="contextual", transformer=_Syntax(),
                maybe_placeholders=True)


_EXPECTED = {"WORD": "a name", "STRING": "a quoted name", "NAME": "a name", "INT": "a number of levels",
             "NUMBERS": "probabilities", "PROPERTY": "a property", "SEMICOLON": "';'", "LBRACE": "'{'",
             "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','",
             "VBAR": "'|'", "VARIABLE": "'variable'", "PROBABILITY": "'probability'", "NETWORK": "'network'",
             "TYPE": "'type'", "TABLE": "'table'", "DEFAULT": "'default'", "$END": "the end of the text"}


def _syntax_error(err: UnexpectedInput, text: str) -> CausalSyntaxError:
    """Lark's exception as a :class:`CausalSyntaxError` at its position."""
    expected = sorted({_EXPECTED.get(e, e) for e in (getattr(err, "expected", None) or ())
                       if not e.startswith("__") and e != "PROPERTY"} - {None})
    want = ("expected " + " or ".join(expected)) if expected else "check the BIF syntax here"
    if isinstance(err, UnexpectedCharacters):
        what = f"unexpected character {text[err.pos_in_stream]!r}"
        line, column = err.line, err.column
    elif isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        what = "the text ends too early"
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
        return CausalSyntaxError(what, line=line, column=column, source=text,
                                 hint=want + " (is a '}' or ';' missing?)")
    else:
        what = f"unexpected {err.token.value!r}"
        line, column = err.line, err.column
    return CausalSyntaxError(what, line=line, column=column, source=text,
                             hint=want + "; BIF reads: variable X { type discrete [ 2 ] { a, b }; } and "
                                         "probability ( X | A ) { (a) 0.1, 0.9; }")


# ---------------------------------------------------------------------------------- reading
def bif_text(source: Union[str, Path]) -> str:
    """The text of ``source``: BIF text itself, or a path to a ``.bif`` file (``.gz`` read transparently).

    >>> bif_text("network x { }")
    'network x { }'
    """
    if isinstance(source, os.PathLike) or ("{" not in source and "\n" not in source):
        path = Path(source)
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name too long for a path, or one holding a NUL: not a file
            found = False
        if not found:
            raise CausalDSLError(f"no BIF file at '{path}'", hint="pass a path to a .bif or .bif.gz file, or BIF text")
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8-sig", errors="replace")
    return source


def read_bif(source: Union[str, Path], *, tolerance: float = TOLERANCE, name: Optional[str] = None) -> Model:
    """The model IR of a BIF network (text, or a path to a ``.bif`` / ``.bif.gz`` file).

    Names, levels and tables are kept exactly; rows that sum to 1 within ``tolerance`` but not
    within 1e-6 are divided by their sum (see :mod:`causaldsl.interchange.network`).

    >>> m = read_bif("variable a { type discrete [ 2 ] { yes, no }; } probability ( a ) { table 0.2, 0.8; }")
    >>> m.name, m["a"].levels
    ('unknown', ('yes', 'no'))
    """
    text = bif_text(source)
    fast = _read_fast(text)
    if fast is not None:
        try:
            return build_model(name or fast[0] or "unknown", fast[1], text, tolerance=tolerance)
        except CausalDSLError:
            pass  # the careful reading below finds the same mistake, and says where it is
    network, cpts = _read_careful(text)
    return build_model(name or network or "unknown", cpts, text, tolerance=tolerance)


def _read_careful(text: str) -> tuple[Optional[str], list[Cpt]]:
    """``(network name, tables)`` of any BIF text, token by token with the grammar; every mistake
    a :class:`CausalDSLError` at its place.

    >>> _read_careful("variable a { type discrete [ 2 ] { yes, no }; } probability ( a ) { default 0.5, 0.5; }")[1][0].probs.tolist()
    [0.5, 0.5]
    """
    try:
        items = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text) from None
    except VisitError as err:  # pragma: no cover - the transformer raises nothing of its own
        raise err.orig_exc from None
    network = next((it.name.text for it in items if isinstance(it, _Network)), None)
    cpts = _tables(items, text)
    if not cpts:
        raise CausalSyntaxError("the BIF text declares no variables", line=1, column=1, source=text,
                                hint="declare one: variable a { type discrete [ 2 ] { yes, no }; }")
    return network, cpts


# ---------------------------------------------------------------------------------- fast reading
# The common shapes of a block, as bnlearn, pgmpy and pyAgrum write them, each block matched whole
# by one regular expression (in C: the grammar's parser spends ~5 us a token, most of a load) and
# its numbers read by NumPy. Anything else (comments inside a block, 'default', quoted row keys,
# properties in a probability block, any mistake) is left to the grammar (grammar/bif.lark), whose
# tokens place every message; both readings give the same tables.
_W = r'[^\s,;(){}\[\]|"]'
# A name: the grammar's STRING or WORD, a word's run taken whole (no backtracking into it: every
# pattern here matches in linear time, also where it fails).
_N = r'(?:"[^"]*"|(?!/[/*])' + _W + r'+(?!' + _W + r'))'
_NAME = re.compile(r'"([^"]*)"|(' + _W + r'+)')
_SPACE = r'(?:[ \t\r\n\f\ufeff]|//[^\n]*(?![^\n])|/\*(?:[^*]|\*(?!/))*\*/)*'
# A body: braces, one level nested, around anything; a run without braces or quotes taken whole
# (a lookahead and a backreference: Python's re before 3.11 has no atomic groups).
_BODY = r'\{(?:(?=(?P<r1>[^{}"]+))(?P=r1)|"[^"]*"|\{(?:(?=(?P<r2>[^{}"]+))(?P=r2)|"[^"]*")*\})*\}'
_BLOCK = re.compile(_SPACE + r'(?:(network|variable)(?=[\s"])\s*(' + _N + r')|probability\s*(\((?:"[^"]*"|[^()"])*\)))'
                    r'\s*(?P<body>' + _BODY + ')')
_END = re.compile(_SPACE)
_PROPS = r'(?:\s*property\s+(?:"[^"]*"|[^;"])+;)*'
_VARIABLE_BODY = re.compile(r'\{' + _PROPS + r'\s*type\s+discrete\s*\[\s*([0-9]+)\s*\]\s*\{((?:\s*' + _N
                            + r'\s*,?)*)\s*\}\s*;' + _PROPS + r'\s*\}')
_NETWORK_BODY = re.compile(r'\{' + _PROPS + r'\s*\}')
_HEAD = re.compile(r'\(\s*' + _N + r'(?:\s*,?\s*' + _N + r')*\s*(?:\|\s*' + _N + r'(?:\s*,?\s*' + _N + r')*\s*)?\)')
_NUMS = r'[-+.0-9][-+.0-9eE \t\r\n,]*'
_TABLE_BODY = re.compile(r'\{\s*table\s+(' + _NUMS + r');\s*\}')
_ROWS_BODY = re.compile(r'\{(?:\s*\([^()";{}]*\)\s*' + _NUMS + r';)*\s*\}')
_ROW = re.compile(r'\(([^()";{}]*)\)\s*([^;]*);')


def _names(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _NAME.finditer(text)]


def _blocks(text: str):
    """``(kind, name or head, body, position of the name)`` per block, or ``None`` where the text is
    not blocks of the common shapes one after another."""
    out, pos, n = [], 0, len(text)
    while True:
        m = _BLOCK.match(text, pos)
        if m is None:
            return out if _END.match(text, pos).end() == n else None
        body = m.group("body")
        if "//" in body or "/*" in body:  # a comment inside a block: the grammar skips it right
            return None
        if m.group(1):
            out.append((m.group(1), m.group(2), body, m.start(2)))
        else:
            out.append(("probability", m.group(3), body, m.start(3)))
        pos = m.end()


def _read_fast(text: str) -> Optional[tuple[Optional[str], list[Cpt]]]:
    """``(network name, tables)`` of a BIF text whose blocks all have the common shapes, a block at a
    time (a table's numbers in one NumPy call); ``None`` for any other text, which :func:`read_bif`
    then reads with the grammar.

    >>> _, (a,) = _read_fast("variable a { type discrete [ 2 ] { yes, no }; } probability ( a ) { table 0.2, 0.8; }")
    >>> a.name, a.levels, a.probs.tolist()
    ('a', ('yes', 'no'), [0.2, 0.8])
    >>> _read_fast("probability ( a ) { default 0.5, 0.5; }") is None
    True
    """
    blocks = _blocks(text)
    if not blocks:
        return None
    network = None
    variables: dict[str, tuple] = {}  # name -> (span, levels)
    heads: list = []
    line, last = 1, 0
    for kind, head, body, at in blocks:
        if kind == "network":
            if not _NETWORK_BODY.fullmatch(body):
                return None
            network = head[1:-1] if head.startswith('"') else head
        elif kind == "variable":
            m = _VARIABLE_BODY.fullmatch(body)
            name = head[1:-1] if head.startswith('"') else head
            if m is None or name in variables:
                return None
            levels = _names(m.group(2))
            if int(m.group(1)) != len(levels) or len(set(levels)) != len(levels):
                return None
            line += text.count("\n", last, at)  # where the name is, for later messages
            last = at
            column = at - text.rfind("\n", 0, at)
            variables[name] = (Span(line, column, column + len(head)), tuple(levels))
        else:
            if "//" in head or "/*" in head or not _HEAD.fullmatch(head):
                return None
            heads.append((_names(head), body))
    cpts: dict[str, Cpt] = {}
    for names, body in heads:
        if any(n not in variables for n in names) or names[0] in cpts:
            return None
        probs = _fast_table(variables, names[0], names[1:], body)
        if probs is None:
            return None
        span, levels = variables[names[0]]
        cpts[names[0]] = Cpt(names[0], levels, tuple(names[1:]), probs, span)
    if not variables or len(cpts) != len(variables):
        return None
    return network, [cpts[v] for v in variables]


def _fast_table(variables: dict, child: str, parents: list, body: str) -> Optional[np.ndarray]:
    """The array over (parents..., levels) of one probability block's body, or ``None``."""
    k = len(variables[child][1])
    cards = [len(variables[p][1]) for p in parents]
    n_rows = math.prod(cards)
    m = _TABLE_BODY.fullmatch(body)
    try:
        if m is not None:
            words = m.group(1).replace(",", " ").split()
            if len(words) != n_rows * k:
                return None
            return np.array(words, dtype=float).reshape(k, n_rows).T.reshape(tuple(cards) + (k,)).copy()
        if not parents or not _ROWS_BODY.fullmatch(body):
            return None
        rows = _ROW.findall(body)
        keys = [tuple(key.replace(",", " ").split()) for key, _ in rows]
        words = []
        for _, numbers in rows:
            row_words = numbers.replace(",", " ").split()
            if len(row_words) != k:
                return None
            words.extend(row_words)
        if len(rows) != n_rows:
            return None
        probs = np.array(words, dtype=float).reshape(n_rows, k)
        if keys == list(itertools.product(*[variables[p][1] for p in parents])):  # in the grid's order
            return probs.reshape(tuple(cards) + (k,))
        codes = [{lv: i for i, lv in enumerate(variables[p][1])} for p in parents]
        strides = [math.prod(cards[i + 1:]) for i in range(len(cards))]
        if any(len(key) != len(parents) for key in keys):
            return None
        order = [sum(code[lv] * stride for lv, code, stride in zip(key, codes, strides)) for key in keys]
        if len(set(order)) != n_rows:
            return None
    except (KeyError, ValueError):  # an unknown level, or a word that is not a number
        return None
    grid = np.empty((n_rows, k))
    grid[order] = probs
    return grid.reshape(tuple(cards) + (k,))


def _numbers(tokens: list, text: str) -> np.ndarray:
    """The numbers of NUMBERS tokens; an error at the first that is not a number."""
    parts = []
    for tok in tokens:
        words = tok.value.replace(",", " ").split()
        try:
            parts.append(np.array(words, dtype=float))
        except ValueError:
            for w in words:
                try:
                    float(w)
                except ValueError:
                    off = tok.value.index(w)
                    before = tok.value[:off]
                    line = tok.line + before.count("\n")
                    column = (off - before.rfind("\n")) if "\n" in before else tok.column + off
                    raise CausalSyntaxError(f"'{w}' is not a number", line=line, column=column, source=text,
                                            width=len(w), hint="write probabilities as decimals, e.g. 0.25") from None
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _variables(items: list, text: str) -> dict[str, _Variable]:
    out: dict[str, _Variable] = {}
    for it in items:
        if not isinstance(it, _Variable):
            continue
        at = it.name.at
        if it.name.text in out:
            first = out[it.name.text].name.at.line
            raise DuplicateDefinitionError(f"variable '{it.name.text}' is declared twice (first on line {first})",
                                           span=_span(at), source=text, hint="declare each variable once")
        if it.kind is None:
            raise TableError(f"variable '{it.name.text}' has no type", span=_span(at), source=text,
                             hint="add: type discrete [ 2 ] { yes, no };")
        if it.kind.text != "discrete":
            raise TableError(f"variable '{it.name.text}' is of type '{it.kind.text}'; BIF networks here are "
                             "discrete", span=_span(it.kind.at), source=text, hint="write: type discrete [ k ] { ... };")
        if int(it.count.value) != len(it.levels):
            raise TableError(f"variable '{it.name.text}' declares {it.count.value} levels and lists {len(it.levels)}",
                             span=_span(it.count), source=text, hint=f"write [ {len(it.levels)} ] or list every level")
        seen = set()
        for lv in it.levels:
            if lv.text in seen:
                raise TableError(f"level '{lv.text}' of '{it.name.text}' appears twice", span=_span(lv.at),
                                 source=text, hint="give each level a distinct name")
            seen.add(lv.text)
        out[it.name.text] = it
    return out


def _tables(items: list, text: str) -> list[Cpt]:
    """One :class:`Cpt` per declared variable, in the order declared."""
    variables = _variables(items, text)
    blocks: dict[str, _Probability] = {}
    cpts: dict[str, Cpt] = {}
    for it in items:
        if not isinstance(it, _Probability):
            continue
        names = it.names + (it.parents or [])
        child, parents = names[0], names[1:]
        for n in names:
            if n.text not in variables:
                raise UnknownNameError(f"unknown variable '{n.text}' in a probability block", span=_span(n.at),
                                       source=text, hint=did_you_mean(n.text, variables)
                                       or "declare it first: variable " + n.text + " { type discrete [ 2 ] { a, b }; }")
        if child.text in blocks:
            raise DuplicateDefinitionError(f"'{child.text}' has two probability blocks (first on line "
                                           f"{blocks[child.text].at.line})", span=_span(child.at), source=text,
                                           hint="give each variable one probability block")
        blocks[child.text] = it
        cpts[child.text] = _table(variables[child.text], [variables[p.text] for p in parents], it, text)
    missing = [v for v in variables.values() if v.name.text not in cpts]
    if missing:
        v = missing[0]
        raise TableError(f"variable '{v.name.text}' has no probability block", span=_span(v.name.at), source=text,
                         hint=f"add: probability ( {v.name.text} ) {{ table ...; }}"
                              + (f" ({len(missing) - 1} more variables lack one)" if len(missing) > 1 else ""))
    return [cpts[name] for name in variables]


def _table(var: _Variable, parents: list, block: _Probability, text: str) -> Cpt:
    """The probabilities of one block as an array over (parents..., levels)."""
    k = len(var.levels)
    cards = [len(p.levels) for p in parents]
    n_rows = int(np.prod(cards)) if cards else 1
    grid = np.full((n_rows, k), np.nan)
    where: dict[int, Span] = {}
    codes = [{lv.text: i for i, lv in enumerate(p.levels)} for p in parents]
    strides = [int(np.prod(cards[i + 1:])) for i in range(len(cards))]
    default = None
    child = var.name.text
    for e in block.entries:
        nums = _numbers(e.numbers, text)
        if e.kind == "table":
            if nums.size != n_rows * k:
                raise TableError(f"the table of '{child}' has {nums.size} numbers, expected {n_rows * k} "
                                 f"({k} levels x {n_rows} parent configurations)", span=_span(e.at), source=text,
                                 hint="list P(child | parents) with the child's level slowest, last parent fastest")
            grid[:] = nums.reshape(k, n_rows).T
            where = {r: _span(e.at) for r in range(n_rows)}
            continue
        if nums.size != k:
            raise TableError(f"a row of '{child}' has {nums.size} numbers, expected {k} (one per level: "
                             f"{', '.join(lv.text for lv in var.levels)})", span=_span(e.at), source=text,
                             hint="give one probability per level of the variable")
        if e.kind == "default":
            default = (nums, _span(e.at))
            continue
        if len(e.key) != len(parents):
            raise TableError(f"a row of '{child}' names {len(e.key)} parent level(s); the block has "
                             f"{len(parents)} parent(s)", span=_span(e.at), source=text,
                             hint="write one level per parent, in the order of the header")
        row = 0
        for j, (lv, code, stride, p) in enumerate(zip(e.key, codes, strides, parents)):
            c = code.get(lv)
            if c is None:
                raise TableError(f"'{lv}' is not a level of '{p.name.text}'", span=_key_span(e.at, j), source=text,
                                 hint=did_you_mean(lv, code) or "levels are: " + ", ".join(code))
            row += c * stride
        if row in where:
            raise TableError(f"the row ({', '.join(e.key)}) of '{child}' is given twice "
                             f"(also on line {where[row].line})", span=_span(e.at), source=text,
                             hint="give each combination of parent levels one row")
        grid[row] = nums
        where[row] = _span(e.at)
    if len(where) < n_rows:
        if default is not None:
            for r in range(n_rows):
                if r not in where:
                    grid[r] = default[0]
                    where[r] = default[1]
        elif not block.entries:
            raise TableError(f"the probability block of '{child}' holds no numbers", span=_span(block.at),
                             source=text, hint="add a 'table ...;' line or one row per parent configuration")
        else:
            r = next(r for r in range(n_rows) if r not in where)
            idx = np.unravel_index(r, cards)
            key = ", ".join(p.levels[i].text for p, i in zip(parents, idx))
            raise TableError(f"the table of '{child}' has no row for ({key})"
                             + (f" and {n_rows - len(where) - 1} more" if n_rows - len(where) > 1 else ""),
                             span=_span(block.at), source=text,
                             hint="add the missing rows, or a 'default ...;' line for them")
    probs = grid.reshape(tuple(cards) + (k,))
    spans = [where[r] for r in range(n_rows)]
    return Cpt(child, tuple(lv.text for lv in var.levels), tuple(p.name.text for p in parents), probs,
               _span(var.name.at), spans.__getitem__)


# ---------------------------------------------------------------------------------- writing
# A name written bare must read back as itself: a run of the characters a WORD takes, not
# starting a comment; anything else is quoted.
_BARE = re.compile(r'(?!/[/*])[^\s,;(){}\[\]|"]+')


def _quote(name: str) -> str:
    """``name`` as BIF writes it: bare where it reads back as one word, else in double quotes.

    >>> _quote("Asy/Patch"), _quote("a b"), _quote("<5")
    ('Asy/Patch', '"a b"', '<5')
    """
    if _BARE.fullmatch(name):
        return name
    if '"' in name or "\n" in name:
        raise CausalDSLError(f"the name {name!r} cannot be written in BIF", hint="BIF names may not hold '\"' or line breaks")
    return f'"{name}"'


def write_bif(model: Model) -> str:
    """BIF text of a discrete model (the ``probability ( X | A, B )`` form bnlearn and pgmpy write),
    numbers written so that they read back exactly; a :class:`CausalDSLError` for what BIF cannot
    hold (see :func:`~causaldsl.interchange.network.network_tables`).

    >>> m = read_bif("variable a { type discrete [ 2 ] { yes, no }; } probability ( a ) { table 0.2, 0.8; }")
    >>> print(write_bif(m))
    network unknown {
    }
    variable a {
      type discrete [ 2 ] { yes, no };
    }
    probability ( a ) {
      table 0.2, 0.8;
    }
    <BLANKLINE>
    """
    cpts = network_tables(model)
    out = [f"network {_quote(model.name)} {{", "}"]
    for c in cpts:
        out.append(f"variable {_quote(c.name)} {{")
        out.append(f"  type discrete [ {len(c.levels)} ] {{ {', '.join(map(_quote, c.levels))} }};")
        out.append("}")
    levels = {c.name: c.levels for c in cpts}
    for c in cpts:
        head = _quote(c.name) + (" | " + ", ".join(map(_quote, c.parents)) if c.parents else "")
        out.append(f"probability ( {head} ) {{")
        rows = np.asarray(c.probs, dtype=float).reshape(-1, len(c.levels)).tolist()
        if not c.parents:
            out.append("  table " + ", ".join(map(repr, rows[0])) + ";")
        else:
            keys = itertools.product(*[[_quote(lv) for lv in levels[p]] for p in c.parents])
            out.extend(f"  ({', '.join(key)}) " + ", ".join(map(repr, row)) + ";" for key, row in zip(keys, rows))
        out.append("}")
    return "\n".join(out) + "\n"
