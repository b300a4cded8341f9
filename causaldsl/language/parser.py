"""Text to syntax tree: Lark's LALR(1) parser of ``grammar/causal.lark``, building the syntax
tree of :mod:`causaldsl.language.syntax` as it parses (its ``transformer=``, :class:`_Builders`).

>>> prog = parse("model m {\\n  x ~ Bernoulli(0.5)\\n}\\nP(x = 1)")
>>> [type(item).__name__ for item in prog.items]
['ModelBlock', 'ProbQuery']

How and why: the builders run inside the parser, one call per reduction, so no parse tree is
made and none is walked (Lark's tree with positions costs about as much again as the parse);
an LALR parser keeps its stack in a list, so an expression nested to :data:`MAX_NESTING`
levels needs no recursion. A transformer run there gets no ``meta``, so a syntax node's
extent comes from its first and last child: rules whose text starts or ends with a keyword or
a bracket keep those tokens (``!rule`` in the grammar), and each builder marks the extent of
what it makes (:func:`_mark`), as Lark's ``propagate_positions`` would. A table of plain
numbers, the bulk of a large discrete model, is one token of the grammar (``TABLE_BODY``,
written for Python's ``re``) read one regex match per row by :func:`_table_rows`, its rows'
spans read again only when a message asks; any other table is parsed rule by rule. Errors
are Lark's exceptions, said in the language's words (:func:`_syntax_error`).
"""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import os
import re
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator, NamedTuple, Optional

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from . import syntax as S
from .errors import CausalSyntaxError, Span, one_newline, source_lines
from .grammars import grammar_text as _grammar_text

_TOKEN_NAMES = {
    "_NL": "a new line", "NAME": "a name", "NUMBER": "a number", "STRING": "a string",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'",
    "RBRACE": "'}'", "COMMA": "','", "EQUAL": "'='", "TILDE": "'~'", "COLON": "':'",
    "VBAR": "'|'", "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'",
    "$END": "the end of the text",
}


def grammar_text() -> str:
    """The grammar of the language (``grammar/causal.lark``)."""
    return _grammar_text("causal.lark")


class _BracketNewlines(PostLex):
    """Post-lexer: drop newlines inside ( ), [ ] and table braces.

    A ``{`` that follows ``)`` opens a table (``table(X) {``), unless the parentheses held a
    model's options (``model m (coupling = gumbel) {``); any other ``{`` opens a block, where
    newlines separate statements.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[bool] = []  # per open bracket: whether newlines inside it are dropped
        options: list[bool] = []  # per open parenthesis: whether it holds a model's options
        prev = before = None
        for tok in stream:
            t = tok.type
            if t == "LPAR" or t == "LSQB":
                stack.append(True)
                if t == "LPAR":
                    options.append(before == "MODEL" and prev == "NAME")
            elif t == "LBRACE":
                stack.append(prev == "RPAR")
            elif (t == "RPAR" or t == "RSQB" or t == "RBRACE") and stack:
                stack.pop()
                if t == "RPAR" and options and options.pop():
                    t = "OPTIONS_END"  # what the next ``{`` sees: a block follows
            if t == "_NL" and stack and stack[-1]:
                continue
            if t == "NAME" and tok.value[0] == "`":  # a quoted name: `E`, `light on`
                tok = Token.new_borrow_pos("NAME", tok.value[1:-1], tok)
            prev, before = t, prev
            yield tok


@functools.lru_cache(maxsize=None)
def _lark(start: str) -> Lark:
    grammar = grammar_text()
    # A cold build takes ~0.2 s, a cached one ~15 ms. Lark's own cache (cache=True) unpickles a
    # file of a predictable name in the shared temp directory, which another local user can plant:
    # the cache lives in a directory only this user can write, or there is none.
    cache = _cache_file(grammar, start)
    return Lark(
        grammar, parser="lalr", lexer="contextual", start=start, transformer=_Builders(),
        maybe_placeholders=True, postlex=_BracketNewlines(),
        cache=cache if cache is not None else False,
    )


def _private_cache_dir() -> Optional[Path]:
    """``$XDG_CACHE_HOME/causaldsl`` (default ``~/.cache/causaldsl``), made with mode 0700, if it
    is this user's own and no one else can write to it; else ``None`` (no cache).

    >>> d = _private_cache_dir()
    >>> d is None or d.name == "causaldsl"
    True
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "causaldsl"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return None
    getuid = getattr(os, "getuid", None)
    if getuid is not None and (st.st_uid != getuid() or st.st_mode & 0o022):
        return None
    return path


def _cache_file(grammar: str, start: str) -> Optional[str]:
    """Where the compiled parser of ``grammar`` is cached (Lark checks the grammar's hash in the
    file too), or ``None``."""
    folder = _private_cache_dir()
    if folder is None:
        return None
    import lark
    digest = hashlib.sha256(f"{grammar}{start}{lark.__version__}{sys.version_info[:2]}".encode()).hexdigest()
    return str(folder / f"parser-{digest[:24]}.lark")


# ------------------------------------------------------------------ positions
def _span(tok: Token) -> Span:
    """Where a token is.

    >>> _span(Token("NAME", "x", line=1, column=5, end_line=1, end_column=6))
    Span(line=1, column=5, end_column=6)
    """
    return Span(tok.line, tok.column, tok.end_column if tok.end_line == tok.line else None)


def _bounds(x) -> tuple:
    """``(line, column, end_line, end_column)`` of the text a builder's child came from: a token's
    own, else the extent its builder marked (:func:`_mark`), else its span (a node of one token)."""
    if isinstance(x, Token):
        return x.line, x.column, x.end_line, x.end_column
    ext = x.__dict__.get("_ext")
    if ext is not None:
        return ext
    s = x.span
    return s.line, s.column, s.line, s.end_column


def _mark(node, first, last):
    """``node``, marked as the text from the start of child ``first`` to the end of child
    ``last`` (what Lark's ``propagate_positions`` works out for a tree, which a transformer run
    inside the parser does not get). Not a field: only the builders of this parse read it."""
    a, b = _bounds(first), _bounds(last)
    object.__setattr__(node, "_ext", (a[0], a[1], b[2], b[3]))
    return node


def _extent(first, last=None) -> Span:
    """Where the text from the start of child ``first`` to the end of child ``last`` is (its end
    only where it ends on the line it starts)."""
    a = _bounds(first)
    b = a if last is None else _bounds(last)
    return Span(a[0], a[1], b[3] if b[2] == a[0] else None)


# ------------------------------------------------------------------ syntax tree builders
# Levels of an expression's syntax tree (a sum of n terms is n levels), as Python bounds the
# nesting of parentheses at 200: every stage after the parser walks trees recursively.
MAX_NESTING = 200


class _Parse:
    """What the builders of one parse share: the text (for messages and a query's own text) and
    the values of the table keys read so far (keys recur from table to table)."""

    __slots__ = ("source", "_lines", "keys_seen", "numbers")

    def __init__(self, source: str):
        self.source, self._lines, self.keys_seen, self.numbers = source, None, {}, {}

    def text(self, first, last) -> str:
        """The text from child ``first`` to child ``last``, its lines joined by a space."""
        line, column, _, _ = _bounds(first)
        _, _, end_line, end_column = _bounds(last)
        if self._lines is None:
            self._lines = source_lines(self.source)
        lines = self._lines[line - 1: end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][column - 1: end_column - 1]
        lines[0] = lines[0][column - 1:]
        lines[-1] = lines[-1][: end_column - 1]
        return " ".join(ln.strip() for ln in lines)


# The parse under way in this thread or task (parse() sets it): Lark builds the parser with its
# transformer once, so what belongs to one parse is not the transformer's.
_PARSE: ContextVar[_Parse] = ContextVar("causaldsl_parse")


class _Row(NamedTuple):
    """A table row while the builders assemble its table: key atoms, value, where it is."""

    key: tuple
    value: object
    span: Span


def _tokens(ch, kind: str) -> list:
    return [c for c in ch if isinstance(c, Token) and c.type == kind]


def _nodes(ch) -> list:
    """The children that are not tokens: what the builders below made."""
    return [c for c in ch if c is not None and not isinstance(c, Token)]


class _Builders(Transformer):
    """Lark's reductions to the syntax tree: one method per grammar rule (by alias or name),
    ``children -> syntax node``, run by Lark's LALR parser as it reduces (``transformer=``).

    ``children`` are what Lark keeps: named tokens and rule values, ``None`` for an absent
    ``[optional]``, ``_inlined`` rules spliced in, and every token of a ``!rule`` (kept where a
    rule's text starts or ends with a keyword or a bracket: its extent is from its first child
    to its last, see :func:`_mark`).
    """

    @staticmethod
    def _nest(node, kids):
        """``node``, one level above its sub-expressions ``kids``; past :data:`MAX_NESTING` levels
        a :class:`~causaldsl.language.errors.CausalSyntaxError` at ``node``.

        Every later stage (the checker, query planning, the engines, the syntax tree's own
        hash) walks expressions recursively, so the depth is bounded here, once, where the
        error can point at the text; parentheses alone add no depth.
        """
        depth = 1 + max([k.__dict__.get("_depth", 1) for k in kids], default=1)  # a leaf is level 1
        if depth > MAX_NESTING:
            raise CausalSyntaxError(
                f"expression nested too deeply (more than {MAX_NESTING} levels)", span=node.span,
                source=_PARSE.get().source,
                hint="each operator, call or 'if' is a level, and a sum of n terms is n levels: "
                     "give parts of the expression names of their own (s := a + b + ..., then y := s + ...)")
        object.__setattr__(node, "_depth", depth)  # not a field: only the builders of this parse read it
        return node

    # program
    def start(self, items):
        return S.Program(tuple(items), _PARSE.get().source)

    def model(self, ch):
        name, options, *stmts = ch
        params = tuple(s for s in stmts if isinstance(s, S.ParamStmt))
        return S.ModelBlock(name.value, tuple(s for s in stmts if not isinstance(s, S.ParamStmt)),
                            _span(name), params, options or ())

    def model_options(self, ch):
        return tuple(ch)

    def param_stmt(self, ch):
        name, index, dist = ch
        names, spans = self._names(index) if index else ((), ())
        return S.ParamStmt(name.value, dist, names, _span(name), spans)

    def fit_stmt(self, ch):  # !fit_stmt: "fit" NAME "to" STRING ("," effect_option)*
        fit, name, _, path, *rest = ch
        opts = [c for c in rest if type(c) is tuple]
        last = opts[-1][1] if opts else path
        return S.FitStmt(name.value, path.value[1:-1], tuple(opts), _extent(fit, last),
                         _PARSE.get().text(fit, last), _span(path))

    def sample_stmt(self, ch):
        latent, name, dist = ch
        return S.SampleStmt(name.value, dist, latent is not None, _span(name))

    def assign_stmt(self, ch):
        latent, name, expr = ch
        return S.AssignStmt(name.value, expr, latent is not None, _span(name))

    def dist(self, ch):
        name, *args = ch
        return S.DistCall(name.value, tuple(a for a in args if a is not None), _span(name))

    def pos_arg(self, ch):
        return S.Arg("pos", None, ch[0], _extent(ch[0]))

    def level_arg(self, ch):  # NAME ":" expr, or STRING ":" expr: a quoted level name
        name = S.unquote(ch[0].value) if ch[0].type == "STRING" else ch[0].value
        return S.Arg("level", name, ch[1], _span(ch[0]))

    def vector(self, ch):  # !vector: "[" expr ("," expr)* ","? "]"
        return _mark(S.Vector(tuple(_nodes(ch)), _extent(ch[0], ch[-1])), ch[0], ch[-1])

    def kw_arg(self, ch):
        return S.Arg("kw", ch[0].value, ch[1], _span(ch[0]))

    # expressions
    def number(self, ch):
        return S.Num(float(ch[0].value), _span(ch[0]))

    def string(self, ch):
        return S.Str(S.unquote(ch[0].value), _span(ch[0]))

    def atom(self, ch):  # !?atom: "(" expr ")": the expression, reaching to its parentheses
        return _mark(ch[1], ch[0], ch[2])

    def call(self, ch):  # !?atom: NAME "(" [expr ("," expr)*] ")"
        args = tuple(_nodes(ch))
        return _mark(self._nest(S.Call(ch[0].value, args, _span(ch[0])), args), ch[0], ch[-1])

    def var_term(self, ch):  # !var_term: NAME ["[" assignments "]"]
        name, world = ch[0], next((c for c in ch if type(c) is tuple), None)
        node = S.Var(name.value, world, _span(name))
        if world is None:
            return node
        return _mark(self._nest(node, [a.value for a in world if a.value is not None]), name, ch[-1])

    def index_term(self, ch):  # !var_term: NAME "[" expr ("," expr)* "]"
        indices = tuple(_nodes(ch))
        return _mark(self._nest(S.Index(ch[0].value, indices, _span(ch[0])), indices), ch[0], ch[-1])

    def assignments(self, ch):
        return tuple(ch)

    def assignment(self, ch):
        return S.Assignment(ch[0].value, ch[1], _span(ch[0]), text=_PARSE.get().text(ch[0], ch[1]))

    def draw_assignment(self, ch):  # !draw_assignment: NAME "~" NAME "(" [dist_arg ("," dist_arg)*] ")"
        name, family = ch[0], ch[2]
        dist = S.DistCall(family.value, tuple(c for c in ch if isinstance(c, S.Arg)), _span(family))
        node = S.Assignment(name.value, None, _span(name), dist=dist, text=_PARSE.get().text(name, ch[-1]))
        return _mark(node, name, ch[-1])

    def binop(self, ch):
        left, op, right = ch
        return _mark(self._nest(S.BinOp(op.value, left, right, _span(op)), (left, right)), left, right)

    def pow(self, ch):
        return _mark(self._nest(S.BinOp("**", ch[0], ch[1], _extent(ch[0], ch[1])), ch), ch[0], ch[1])

    def unary(self, ch):
        op, operand = ch
        return _mark(self._nest(S.Unary(op.value, operand, _span(op)), (operand,)), op, operand)

    def compare(self, ch):
        left, op, right = ch
        return _mark(self._nest(S.Compare(op.value, left, right, _span(op)), (left, right)), left, right)

    def equals(self, ch):
        """``a = b`` in an event or a condition: ``==`` (see :meth:`event`), kept as ``=`` until
        the event is read whole, where ``Y = value`` alone is a point event."""
        return _mark(self._nest(S.Compare("=", ch[0], ch[1], _extent(ch[0], ch[1])), ch), ch[0], ch[1])

    def or_(self, ch):
        node = S.BoolOp("or", _equal(ch[0]), _equal(ch[1]), _extent(ch[0], ch[1]))
        return _mark(self._nest(node, ch), ch[0], ch[1])

    def and_(self, ch):
        node = S.BoolOp("and", _equal(ch[0]), _equal(ch[1]), _extent(ch[0], ch[1]))
        return _mark(self._nest(node, ch), ch[0], ch[1])

    def not_(self, ch):  # !?not_expr: "not" not_expr
        return _mark(self._nest(S.Not(_equal(ch[1]), _extent(ch[0], ch[1])), ch[1:]), ch[0], ch[1])

    def ifelse(self, ch):  # !?expr: "if" expr "then" expr "else" expr
        kids = ch[1::2]
        return _mark(self._nest(S.IfElse(*kids, _extent(ch[0], ch[-1])), kids), ch[0], ch[-1])

    def table(self, ch):  # !table: "table" "(" NAME ("," NAME)* ")" (TABLE_BODY | "{" rows "}")
        names = _tokens(ch, "NAME")
        body = ch[-1]
        if body.type == "TABLE_BODY":  # a table of plain numbers, one token
            keys, values = _table_rows(body, _PARSE.get().keys_seen)
            places = _BodyPlaces(body)
            leaves = ()  # its values are numbers: the table is level 2
        elif body.type == "ROWS_BODY":  # a compact table of plain numbers, one token
            keys, values = _vector_rows(body, _PARSE.get())
            places = _BodyPlaces(body, _VROW)
            leaves = ()
        else:
            rows = [c for c in ch if isinstance(c, _Row)]
            keys, values = tuple(tuple(a.value for a in r.key) for r in rows), tuple(r.value for r in rows)
            places = S.RowSpans(tuple(r.span for r in rows), tuple(tuple(a.span for a in r.key) for r in rows))
            leaves = values
        node = S.Table(tuple(n.value for n in names), keys, values, _extent(ch[0], body),
                       tuple(_span(n) for n in names), places)
        return _mark(self._nest(node, leaves), ch[0], body)

    def table_row(self, ch):
        (key, first), value = ch
        return _Row(key, value, _extent(first, value))

    def table_key(self, ch):  # !table_key: key_atom | "(" key_atom ("," key_atom)* ")"
        """The key's atoms, and the child its text starts with (a '(' or the atom)."""
        return tuple(c for c in ch if isinstance(c, S.KeyAtom)), ch[0]

    def key_atom(self, ch):
        """A table key: a number, or a level's name.

        >>> k = S.KeyAtom(1.0)
        >>> _Builders().key_atom([k]) is k
        True
        """
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return item
        if item.type == "STRING":
            return S.KeyAtom(S.unquote(item.value), _span(item))
        return S.KeyAtom(item.value, _span(item))

    def signed_number(self, ch):
        sign, num = ch
        value = float(num.value)
        if sign is None:
            return S.KeyAtom(value, _span(num))
        return _mark(S.KeyAtom(-value if sign.value == "-" else value, _extent(sign, num)), sign, num)

    # queries
    def prob_query(self, ch):  # !prob_query: "P" "(" event ("," event)* ["|" conditions] ")"
        events = tuple(c for c in ch if isinstance(c, (S.EqEvent, S.ExprEvent)))
        conds = next((c for c in ch if type(c) is tuple), ())
        return S.ProbQuery(events, conds, _extent(ch[0], ch[-1]), _PARSE.get().text(ch[0], ch[-1]))

    def expect_query(self, ch):  # !expect_query: "E" "[" expr ["|" conditions] "]"
        conds = ch[4] if len(ch) > 4 and type(ch[4]) is tuple else ()
        return S.ExpectQuery(ch[2], conds, _extent(ch[0], ch[-1]), _PARSE.get().text(ch[0], ch[-1]))

    def effect_query(self, ch):  # !effect_query: effect "(" NAME "->" NAME ["via" NAME] options ")"
        effect = ch[0]
        treat, outcome, *mediator = _tokens(ch, "NAME")
        mediator = mediator[0] if mediator else None
        opts = tuple(c for c in ch if type(c) is tuple)
        spans = (_span(treat), _span(outcome)) + ((_span(mediator),) if mediator else ())
        # its span is the effect's name (where messages point); its extent, for an enclosing rule, all of it
        return _mark(S.EffectQuery(effect.value, treat.value, outcome.value,
                                   None if mediator is None else mediator.value,
                                   opts, _span(effect), _PARSE.get().text(effect, ch[-1]), spans), effect, ch[-1])

    def cause_query(self, ch):  # !cause_query: _cause_name "(" assignment ("," assignment)* "->" event_expr ["|" conditions] ")"
        """``cause(...)`` / ``responsibility(...)``: ``definition = NAME`` among the conditions is
        the option (the conditions' grammar reads it as an observation; a second list after them
        would make the parser guess at each ',')."""
        kind = ch[0]
        cause = tuple(c for c in ch if isinstance(c, S.Assignment))
        arrow = next(i for i, c in enumerate(ch) if isinstance(c, Token) and c.value == "->")
        effect = ch[arrow + 1]
        conds = next((c for c in ch[arrow + 2:] if type(c) is tuple), ())
        opts = tuple((c.term.name, c.value, c.term.span) for c in conds if _is_cause_option(c))
        conds = tuple(c for c in conds if not _is_cause_option(c))
        return S.CauseQuery(kind.value, cause, _equal(effect), conds, opts, _span(kind),
                            _PARSE.get().text(ch[0], ch[-1]))

    # questions that combine
    def query_binop(self, ch):  # ?query_sum / ?query_product: left ADD_OP|MUL_OP right
        left, op, right = ch
        node = S.QueryArith(op.value, left, right, _extent(left, right), _PARSE.get().text(left, right))
        return _mark(node, left, right)

    def query_unary(self, ch):  # ?query_signed: ADD_OP query_signed
        op, operand = ch
        if op.value == "+":
            return _mark(operand, op, operand)
        node = S.QueryArith("neg", operand, None, _extent(op, operand), _PARSE.get().text(op, operand))
        return _mark(node, op, operand)

    def query_number(self, ch):
        return S.QueryNumber(float(ch[0].value), _span(ch[0]))

    def query_atom(self, ch):  # !?query_atom: "(" query_sum ")": the inner one, reaching to its parentheses
        inner = ch[1]
        if isinstance(inner, S.QueryArith):
            inner = S.QueryArith(inner.op, inner.left, inner.right, _extent(ch[0], ch[-1]),
                                 _PARSE.get().text(ch[0], ch[-1]))
        return _mark(inner, ch[0], ch[-1])

    def var_query(self, ch):  # !var_query: "Var" "[" expr ["|" conditions] "]"
        conds = ch[4] if len(ch) > 4 and type(ch[4]) is tuple else ()
        return S.VarQuery(ch[2], conds, _extent(ch[0], ch[-1]), _PARSE.get().text(ch[0], ch[-1]))

    def quantile_query(self, ch):  # !quantile_query: "Q" "[" expr "," signed_number ["|" conditions] "]"
        level = ch[4]
        conds = ch[6] if len(ch) > 6 and type(ch[6]) is tuple else ()
        return S.QuantileQuery(ch[2], float(level.value), conds, _extent(ch[0], ch[-1]),
                               _PARSE.get().text(ch[0], ch[-1]), level.span)

    def combined_effect_query(self, ch):  # CDE, RR, OR: read as the other named effects
        return self.effect_query(ch)

    def effect_option(self, ch):
        return (ch[0].value, ch[1], _span(ch[0]))

    def event(self, ch):
        """``Y = value`` (a point event), else a logical expression (``P(Y)``: a whole distribution)."""
        point = _point(ch[0])
        if point is not None:
            return S.EqEvent(*point, _extent(ch[0]))
        return S.ExprEvent(_equal(ch[0]), _extent(ch[0]))

    def conditions(self, ch):
        return tuple(ch)

    def do_clause(self, ch):  # !do_clause: "do" "(" _do_item ("," _do_item)* ")"
        return S.Do(tuple(c for c in ch if isinstance(c, S.Assignment)), _extent(ch[0], ch[-1]))

    def given(self, ch):
        """``Y = value`` (an observation), a bare ``Z`` (an observation without a value, for
        identify), else an event to condition on."""
        e = ch[0]
        point = _point(e)
        if point is not None:
            return S.Observation(*point, _extent(e))
        if type(e) is S.Var:
            return S.Observation(e, None, _extent(e))
        return S.Given(_equal(e), _extent(e), _PARSE.get().text(e, e))

    def do_name(self, ch):
        return S.Assignment(ch[0].value, None, _span(ch[0]))

    # graphs
    def graph_block(self, ch):
        name, *stmts = ch
        edges, latents, nodes = [], [], {}
        for kind, items in stmts:
            if kind == "edges":
                toks, ops = items
                for t in toks:
                    nodes.setdefault(t.value, _span(t))
                for a, op, b in zip(toks, ops, toks[1:]):
                    if op.value == "<-":
                        edges.append(S.Edge(b.value, "->", a.value, _span(op)))
                    else:
                        edges.append(S.Edge(a.value, op.value, b.value, _span(op)))
            else:
                for t in items:
                    latents.append((t.value, _span(t)))
                    nodes.setdefault(t.value, _span(t))
        return S.GraphBlock(name.value, tuple(edges), tuple(latents), tuple(nodes.items()), _span(name))

    def edge_chain(self, ch):
        toks = [c for c in ch if isinstance(c, Token) and c.type == "NAME"]
        ops = [c for c in ch if not (isinstance(c, Token) and c.type == "NAME")]
        return ("edges", (toks, ops))

    def edge_op(self, ch):
        return ch[0]

    def latent_decl(self, ch):
        return ("latent", [c for c in ch if c.type == "NAME"])

    def identify_query(self, ch):  # !identify_query: "identify" prob_query ("," effect_option)*
        opts = tuple(c for c in ch[2:] if type(c) is tuple)
        last = opts[-1][1] if opts else ch[1]
        return S.IdentifyQuery(ch[1], _extent(ch[0], last), _PARSE.get().text(ch[0], last), opts)

    def bounds_query(self, ch):  # !bounds_query: "bounds" (prob_query | effect_query) ("," effect_option)*
        opts = tuple(c for c in ch[2:] if type(c) is tuple)
        last = opts[-1][1] if opts else ch[1]
        return S.BoundsQuery(ch[1], opts, _extent(ch[0], last), _PARSE.get().text(ch[0], last))

    def name_list(self, ch):
        return tuple(ch)

    @staticmethod
    def _names(toks):
        return tuple(t.value for t in toks), tuple(_span(t) for t in toks)

    @staticmethod
    def _graph_question(kind: str, lists, first, last) -> S.GraphQuery:
        names = [_Builders._names(x) for x in lists]
        return S.GraphQuery(kind, tuple(n for n, _ in names), tuple(sp for _, sp in names),
                            _extent(first, last), _PARSE.get().text(first, last))

    def dsep_query(self, ch):
        xs, ys, zs = ch
        return self._graph_question("dsep", (xs, ys, zs or ()), xs[0], (zs or ys)[-1])

    def adjustment_query(self, ch):  # !adjustment_query: "adjustment" "(" name_list "->" name_list ")"
        return self._graph_question("adjustment", [c for c in ch if type(c) is tuple], ch[0], ch[-1])

    def instruments_query(self, ch):  # !instruments_query: "instruments" "(" NAME "->" NAME ")"
        x, y = _tokens(ch, "NAME")
        return S.GraphQuery("instruments", (x.value, y.value), (_span(x), _span(y)),
                            _extent(ch[0], ch[-1]), _PARSE.get().text(ch[0], ch[-1]))

    def independences_query(self, ch):  # !independences_query: "independences"
        return S.GraphQuery("independences", (), (), _extent(ch[0]), _PARSE.get().text(ch[0], ch[0]))

    def admg_query(self, ch):  # !admg_query: "admg"
        return S.GraphQuery("admg", (), (), _extent(ch[0]), _PARSE.get().text(ch[0], ch[0]))

    def relatives_query(self, ch):  # !relatives_query: _relation "(" name_list ")"
        n, sp = self._names(ch[2])
        return S.GraphQuery(ch[0].value, n, sp, _extent(ch[0], ch[-1]), _PARSE.get().text(ch[0], ch[-1]))

    def value(self, ch):
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return _mark(S.Value(item.value, item.span), item, item)
        if item.type == "STRING":
            return S.Value(S.unquote(item.value), _span(item))
        return S.Value(item.value, _span(item))


def _equal(e):
    """``a = b`` of an event as the comparison it is, ``a == b``."""
    if type(e) is S.Compare and e.op == "=":
        return S.Compare("==", e.left, e.right, e.span)
    return e


def _is_cause_option(c) -> bool:
    """Whether a condition of ``cause(...)`` is its option ``definition = NAME``."""
    return type(c) is S.Observation and c.term.name == "definition" and c.term.world is None \
        and c.value is not None


def _point(e) -> Optional[tuple]:
    """``(term, value)`` where the event ``e`` is ``Y = value`` (``Y`` a variable, in any world;
    ``value`` a number, a string or a name: a level), else ``None``.

    >>> term, value = _point(S.Compare("=", S.Var("y"), S.Num(1.0)))
    >>> term.name, value.value, _point(S.Compare("=", S.Var("y"), S.Var("x", (S.Assignment("z", S.Num(0.0)),))))
    ('y', 1.0, None)
    """
    if type(e) is not S.Compare or e.op != "=" or type(e.left) is not S.Var:
        return None
    v = e.right
    if type(v) is S.Num or type(v) is S.Str:
        return e.left, S.Value(v.value, v.span)
    if type(v) is S.Unary and type(v.operand) is S.Num:
        value = -v.operand.value if v.op == "-" else v.operand.value
        span = v.span if v.operand.span.line != v.span.line else \
            Span(v.span.line, v.span.column, v.operand.span.end_column)
        return e.left, S.Value(value, span)
    if type(v) is S.Var and v.world is None:
        return e.left, S.Value(v.name, v.span)
    return None


# ------------------------------------------------------------------ tables of plain numbers
# A TABLE_BODY token's text has the grammar's shape (the lexer matched it): rows of a key (an
# atom, or atoms in parentheses), ':' and a number, after '{' or ','. One match of _ROW per row.
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"  # the grammar's NUMBER
_BLANK = r"[\t \n]*"
_DQ, _SQ = r'"(?:[^"\\\n]|\\.)*"', r"'(?:[^'\\\n]|\\.)*'"  # the grammar's STRING
_ATOM = rf"[+-]{_BLANK}{_NUMBER}|{_NUMBER}|[A-Za-z_][A-Za-z0-9_]*|{_DQ}|{_SQ}"
_KEY = rf"\({_BLANK}(?:{_ATOM})(?:{_BLANK},{_BLANK}(?:{_ATOM}))*{_BLANK}\)|{_ATOM}"
_ROW = re.compile(rf"[{{,]{_BLANK}({_KEY}){_BLANK}:{_BLANK}({_NUMBER})")
# A row of a compact body (ROWS_BODY): the key, and the numbers between its brackets.
_VROW = re.compile(rf"[{{,]{_BLANK}({_KEY}){_BLANK}:{_BLANK}(\[[^\]]*\])")
_KEY_ATOM = re.compile(rf"([+-]){_BLANK}({_NUMBER})|({_NUMBER})|([A-Za-z_][A-Za-z0-9_]*)|({_DQ})|({_SQ})")


def _key(text: str) -> tuple:
    """The values of a row key's atoms, as :meth:`_Builders.key_atom` reads them.

    >>> _key("(0, - 1.5, hi, 'a b')"), _key("2"), _key('"say \\\\"hi\\\\""')
    ((0.0, -1.5, 'hi', 'a b'), (2.0,), ('say "hi"',))
    """
    out = []
    for sign, signed, number, name, dq, sq in _KEY_ATOM.findall(text):
        if signed:
            out.append(-float(signed) if sign == "-" else float(signed))
        elif number:
            out.append(float(number))
        else:
            out.append(name or S.unquote(dq or sq))
    return tuple(out)


def _table_rows(tok: Token, keys_seen: dict) -> tuple:
    """The rows of a ``TABLE_BODY`` token: ``(keys, values)``, as :meth:`_Builders.table` makes
    them from rows parsed rule by rule; ``keys_seen`` maps a key's text to its values (keys
    recur from table to table). Where the rows and their key atoms are is worked out when a
    message asks (:class:`_BodyPlaces`).

    >>> body = Token("TABLE_BODY", "{ (0, -1): 0.5,\\n  (1, hi): 2 }", line=3, column=10)
    >>> keys, values = _table_rows(body, {})
    >>> keys, [(v.value, v.span) for v in values]
    (((0.0, -1.0), (1.0, 'hi')), [(0.5, Span(line=3, column=21, end_column=24)), (2.0, Span(line=4, column=12, end_column=13))])
    """
    keys, values = [], []
    Num, new = S.Num, tuple.__new__  # a Span made as the tuple it is: most of a large model's spans are here
    for key, number, line, a, b in _located_rows(_ROW, tok, keys_seen):
        keys.append(key)
        values.append(Num(float(number), new(Span, (line, a, b))))
    return tuple(keys), tuple(values)


def _located_rows(pattern: re.Pattern, tok: Token, keys_seen: dict):
    """Each row ``pattern`` finds in a table-body token: ``(key values, the text after the key,
    its line, its first and last column)``; ``keys_seen`` maps a key's text to its values."""
    body = tok.value
    line, shift = tok.line, tok.column  # offset o of the body is at column o + shift
    newlines = "\n" in body
    last = 0
    for m in pattern.finditer(body):
        text, rest = m.group(1, 2)
        key = keys_seen.get(text)
        if key is None:
            key = keys_seen[text] = _key(text)
        a, b = m.span(2)
        if newlines:
            k = body.count("\n", last, a)
            if k:
                line, shift = line + k, -body.rfind("\n", last, a)
            last = a
        yield key, rest, line, a + shift, b + shift


def _vector_rows(tok: Token, parse: "_Parse") -> tuple:
    """The rows of a ``ROWS_BODY`` token (a compact table): ``(keys, values)``, each value a
    :class:`~causaldsl.language.syntax.Vector` of numbers, as the rule-by-rule parse makes them.
    A row's vector has the span of its brackets; its numbers have none, and one number's text is
    one :class:`~causaldsl.language.syntax.Num` in the whole parse (``parse.numbers``): a large
    model's tables are most of its text, and most of their numbers recur.

    >>> keys, rows = _vector_rows(Token("ROWS_BODY", "{ a: [0.5, 0.5],\\n (b): [1, 0] }", line=2, column=5), _Parse(""))
    >>> keys, [[n.value for n in r.items] for r in rows], rows[1].span
    ((('a',), ('b',)), [[0.5, 0.5], [1.0, 0.0]], Span(line=3, column=7, end_column=13))
    """
    keys, values = [], []
    Vector, new, get = S.Vector, tuple.__new__, parse.numbers.get
    for key, inside, line, a, b in _located_rows(_VROW, tok, parse.keys_seen):
        span = new(Span, (line, a, None if "\n" in inside else b))
        pieces = inside[1:-1].split(",")
        if len(pieces) > 1 and not pieces[-1].strip(" \t\n"):
            pieces.pop()  # a trailing comma
        keys.append(key)
        values.append(Vector(tuple([get(x) or _row_number(x, span, parse) for x in pieces]), span))
    return tuple(keys), tuple(values)


_NUMBER_RE = re.compile(_NUMBER)


def _row_number(text: str, span: Span, parse: "_Parse") -> S.Num:
    """A number of a compact row, as the grammar's NUMBER (with an optional sign) reads it; kept
    in ``parse.numbers`` under its text."""
    t = text.strip(" \t\n")
    sign = t[:1] if t[:1] in ("+", "-") else ""
    if _NUMBER_RE.fullmatch(t[len(sign):].lstrip(" \t\n")) is None:
        raise CausalSyntaxError(f"{t!r} is not a number" if t else "a row has an empty place", span=span, source=parse.source,
                                hint="a row of probabilities is numbers separated by commas: [0.2, 0.8]")
    value = float(t[len(sign):].lstrip(" \t\n"))
    num = parse.numbers[text] = S.Num(-value if sign == "-" else value)
    return num


class _BodyPlaces:
    """Where the rows of a ``TABLE_BODY`` token and their key atoms are (the ``row`` and ``key``
    of :class:`~causaldsl.language.syntax.RowSpans`), read again from the token when a message
    asks: a large model's tables are most of its text, and their spans are rarely wanted."""

    __slots__ = ("tok", "spans", "rows")

    def __init__(self, tok: Token, rows: re.Pattern = _ROW):
        self.tok, self.spans, self.rows = tok, None, rows

    def row(self, i: int) -> Span:
        return self._read().rows[i]

    def key(self, i: int, j: int) -> Span:
        return self._read().keys[i][j]

    def _read(self) -> S.RowSpans:
        if self.spans is None:
            self.spans = _body_spans(self.tok, self.rows)
        return self.spans


def _body_spans(tok: Token, rows_re: re.Pattern = _ROW) -> S.RowSpans:
    """Where each row of a ``TABLE_BODY`` token and each atom of its key are.

    >>> _body_spans(Token("TABLE_BODY", "{ (0, -\\n 1): 0.5, 'a': 2 }", line=3, column=10))
    RowSpans(rows=(Span(line=3, column=12, end_column=None), Span(line=4, column=11, end_column=17)), keys=((Span(line=3, column=13, end_column=14), Span(line=3, column=16, end_column=None)), (Span(line=4, column=11, end_column=14),)))
    """
    body = tok.value
    starts = [0] + [m.end() for m in re.finditer("\n", body)]  # where each line of the body starts

    def at(offset: int) -> tuple:
        i = bisect.bisect_right(starts, offset) - 1
        return tok.line + i, offset - starts[i] + (tok.column if i == 0 else 1)

    def span(a: int, b: int) -> Span:
        (line, column), (end_line, end_column) = at(a), at(b)
        return Span(line, column, end_column if end_line == line else None)

    rows, keys = [], []
    for m in rows_re.finditer(body):
        rows.append(span(m.start(1), m.end(2)))
        keys.append(tuple(span(a.start() + m.start(1), a.end() + m.start(1)) for a in _KEY_ATOM.finditer(m.group(1))))
    return S.RowSpans(tuple(rows), tuple(keys))


# ------------------------------------------------------------------ errors
def _expected(tokens) -> str:
    """Readable names for the terminals the parser would have accepted."""
    names = []
    for t in tokens:
        if t in _TOKEN_NAMES:
            names.append(_TOKEN_NAMES[t])
            continue
        try:
            pattern = _lark("start").get_terminal(t).pattern
        except KeyError:
            continue
        if pattern.type == "str":
            names.append(repr(pattern.value))
    names = sorted(set(names))
    if not names:
        return ""
    if len(names) > 8:
        names = names[:8] + ["..."]
    return "expected " + ", ".join(names)


def _syntax_error(err: UnexpectedInput, source: str) -> CausalSyntaxError:
    line, column = err.line, err.column
    at_end = isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END")
    opened = _never_closed(source)
    # As Python says it: a bracket left open makes the text run on past its line, so the parser
    # stumbles later; where it stumbled on a later line (or at the end), the bracket is the mistake.
    if opened is not None and (at_end or opened[1] < line):
        bracket, bline, bcol = opened
        hint = f"add the '{_CLOSER[bracket]}' that closes it"
        if not at_end:
            hint += f"; until it is closed, line {line} is read as part of the same " + \
                ("block" if bracket == "{" else "statement")
        return CausalSyntaxError(f"the '{bracket}' opened at line {bline}, column {bcol} is never closed",
                                 line=bline, column=bcol, source=source, hint=hint)
    named = _word_as_name(line, column, source)
    if named is not None:
        return named
    if isinstance(err, UnexpectedToken) and not at_end:
        word = _unknown_word(err, source)
        if word is not None:
            return word
    if isinstance(err, UnexpectedCharacters):
        ch = getattr(err, "char", None) or (source_lines(source)[line - 1][column - 1] if line >= 1 else "?")
        return CausalSyntaxError(f"unexpected character {ch!r}", line=line, column=column,
                                 source=source, hint=_hint_for_char(ch))
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        lines = source_lines(source.rstrip()) or [""]
        line, column = len(lines), len(lines[-1]) + 1
        expected = _expected(getattr(err, "expected", ()) or ())
        return CausalSyntaxError("unexpected end of text", line=line, column=column, source=source,
                                 hint=(expected + "; is a bracket or brace left open?") if expected else
                                 "is a bracket or brace left open?")
    tok = err.token
    # a table's body read as one token where no table may be: what is unexpected is its '{'
    text = "{" if tok.type in ("TABLE_BODY", "ROWS_BODY") else str(tok).replace("\n", "\\n")
    what = "a new line" if tok.type == "_NL" else repr(text)
    hint = _expected(err.expected)
    if tok.type == "_NL":
        hint = (hint + "; " if hint else "") + "a statement or query must fit on one line (tables may span lines)"
    if tok.type == "EQUAL" and "COMP_OP" in err.expected:
        hint = "inside an expression use '==' to compare"
    return CausalSyntaxError(f"unexpected {what}", line=line, column=column, source=source,
                             hint=hint or None, width=max(1, len(text)) if tok.type != "_NL" else 1)


_BRACKETS = re.compile(rf"{_DQ}|{_SQ}|`[^`\n]*`|#[^\n]*|(?P<b>[()\[\]{{}}])|(?P<n>\n)")
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_OPENER = {v: k for k, v in _CLOSER.items()}


def _never_closed(source: str) -> Optional[tuple[str, int, int]]:
    """The innermost bracket of ``source`` that is never closed, as ``(bracket, line, column)``,
    or ``None``. Strings and comments are skipped; a closing bracket that does not match the
    innermost open one leaves that one unclosed (as Python reads brackets).

    >>> _never_closed("P(x = 1 | do(y = 0)\\nP(x = 1)")
    ('(', 1, 2)
    >>> _never_closed("model m {\\n x ~ Bernoulli(0.5  # ')'\\n}"), _never_closed("E[(x)] )")
    (('(', 2, 15), None)
    """
    stack: list[tuple[str, int, int]] = []
    line, start = 1, 0
    for m in _BRACKETS.finditer(source):
        if m.group("n"):
            line, start = line + 1, m.end()
            continue
        b = m.group("b")
        if b is None:  # a string or a comment
            continue
        if b in _CLOSER:
            stack.append((b, line, m.start() - start + 1))
        elif stack:
            if stack[-1][0] != _OPENER[b]:
                return stack[-1]
            stack.pop()
    return stack[-1] if stack else None


_EFFECTS = ("ATE", "ETT", "NDE", "NIE", "PN", "PS", "PNS", "CDE", "RR", "OR")
# The words that begin a statement, query or block: what a mistyped first word of a line meant.
_LEADING_WORDS = ("model", "graph", "fit", "identify", "bounds", "latent", "param", "P", "E", "Var", "Q",
                  "cause", "responsibility") + _EFFECTS + (
    "adjustment", "instruments", "independences", "ancestors", "descendants", "parents", "children",
    "markov_blanket", "admg")
_FIRST_WORD = re.compile(r"(?:^|[{;])[\t ]*([A-Za-z_][A-Za-z0-9_]*)[\t ]*$")


def _unknown_word(err: UnexpectedToken, source: str) -> Optional[CausalSyntaxError]:
    """Where the parser stumbled right after the first word of a statement, the word is the
    likely mistake: ``CDE(X -> Y)``, ``lattent u ~ ...``, ``p(y = 1)``, ``E(y | x = 1)``. The
    error names the nearest keyword, query form or effect, as unknown variables do; ``None``
    where the word is not the likely mistake."""
    lines = source_lines(source)
    if not 1 <= err.line <= len(lines):
        return None
    m = _FIRST_WORD.search(lines[err.line - 1][: err.column - 1])
    if m is None:
        return None
    word, column, tok = m.group(1), m.start(1) + 1, err.token
    if word == "E" and tok.type == "LPAR":
        return CausalSyntaxError("unexpected '('", line=err.line, column=err.column, source=source,
                                 hint="an expectation takes square brackets: E[y | x = 1]")
    if word == "P" and tok.type == "LSQB":
        return CausalSyntaxError("unexpected '['", line=err.line, column=err.column, source=source,
                                 hint="a probability takes parentheses: P(y = 1 | x = 1)")
    if word in _LEADING_WORDS:
        return None
    same_case = {w.lower(): w for w in _LEADING_WORDS}
    guess = same_case.get(word.lower()) or (difflib.get_close_matches(word, _LEADING_WORDS, n=1, cutoff=0.6) or [None])[0]
    forms = ("a query is P(...), E[...], Var[...], Q[..., level], a named effect (" + ", ".join(_EFFECTS) + "), cause(...), "
             "responsibility(...) or a graph question")
    if guess is None:
        if tok.type != "LPAR":
            return None
        return CausalSyntaxError(f"unknown word '{word}'", line=err.line, column=column, source=source,
                                 width=len(word), hint=forms)
    hint = f"did you mean '{guess}'?"
    if guess in _EFFECTS:
        hint += " The named effects are " + ", ".join(_EFFECTS)
    elif guess in ("P", "E"):
        hint += " " + forms[0].upper() + forms[1:]
    return CausalSyntaxError(f"unknown word '{word}'", line=err.line, column=column, source=source,
                             width=len(word), hint=hint)


def _word_as_name(line: int, column: int, source: str) -> Optional[CausalSyntaxError]:
    """A separation question whose first name is a word that starts a query (``E _||_ y``: ``E``
    reads as ``E[...]``): the error at the word, with the way out (backquotes); else ``None``.

    >>> _word_as_name(1, 3, "E _||_ y").hint
    'a variable named E is written `E` where a line starts: `E` _||_ y (or y _||_ E)'
    """
    lines = source_lines(source)
    if not 1 <= line <= len(lines):
        return None
    m = _FIRST_WORD.search(lines[line - 1][: column - 1])
    if m is None or m.group(1) not in _LEADING_WORDS or "_||_" not in lines[line - 1][column - 1:]:
        return None
    word = m.group(1)
    return CausalSyntaxError(f"'{word}' at the start of a line begins a query", line=line, column=m.start(1) + 1,
                             source=source, width=len(word),
                             hint=f"a variable named {word} is written `{word}` where a line starts: "
                                  f"`{word}` _||_ y (or y _||_ {word})")


def _hint_for_char(ch: str) -> str:
    if ch == "&":
        return "write 'and'"
    if ch == "|":
        return "write 'or' in expressions; '|' only separates conditions in P(...) and E[...]"
    if ch == "!":
        return "write 'not' (or '!=' to compare)"
    if ch == "^":
        return "write '**' for powers"
    if ch in "\"'":
        return "a string is not closed: end it with the same quote on the same line"
    if ch == "`":
        return "a name in backquotes is not closed: end it with a backquote on the same line"
    return "remove it, or check the spelling"


def parse(source: str, start: str = "start") -> S.Program:
    """Parse a whole program (models and queries) into a :class:`~causaldsl.language.syntax.Program`.

    Raises :class:`~causaldsl.language.errors.CausalSyntaxError` with line, column and a hint.

    >>> parse("P(y = 1 | do(x = 0))").items[0].conditions[0].assignments[0].name
    'x'
    """
    # Lines break at '\n', '\r\n' or a lone '\r', as Python reads source; the error messages
    # quote lines split the same way (errors.source_lines), so positions match the text given.
    return _parse_with(_lark(start), one_newline(source))


def _parse_with(lark: Lark, source: str) -> S.Program:
    """``source`` (its line breaks already ``\\n``) parsed by ``lark``, whose transformer builds
    the syntax tree as it parses."""
    now = _PARSE.set(_Parse(source))
    try:
        return lark.parse(source)
    except UnexpectedInput as err:
        raise _syntax_error(err, source) from None
    finally:
        _PARSE.reset(now)


def parse_query(text: str) -> S.Query:
    """Parse a single query such as ``P(y = 1 | do(x = 0))``.

    >>> parse_query("E[y | x = 1]").expr.name
    'y'
    """
    try:
        # The grammar's ``question`` start symbol: a parser without the models' rules, which
        # loads in half the time (the first question of a loaded BIF network needs no other).
        return _parse_with(_lark("question"), one_newline(text))
    except CausalSyntaxError:
        pass  # said as the whole program's parser says it: a model where a query belongs, two queries
    prog = parse(text)
    queries = [item for item in prog.items if not isinstance(item, (S.ModelBlock, S.GraphBlock))]
    if len(prog.items) != 1 or len(queries) != 1:
        raise CausalSyntaxError("expected exactly one query", line=1, column=1, source=text,
                                hint="pass one query, such as P(y = 1 | do(x = 0))")
    return queries[0]
