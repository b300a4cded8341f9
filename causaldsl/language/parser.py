"""Text to syntax tree: the LALR(1) parser of ``grammar/causal.lark``.

>>> prog = parse("model m {\\n  x ~ Bernoulli(0.5)\\n}\\nP(x = 1)")
>>> [type(item).__name__ for item in prog.items]
['ModelBlock', 'ProbQuery']

Lark compiles the grammar into its parse table and per-state lexers. Running
Lark's own parser over them costs about 50 µs per token (a parse tree with
propagated positions, then a second pass to turn it into the AST), which made
the parse most of the time to a first answer. So :func:`parse` drives the same
tables with a lean loop of its own (:func:`_drive`) that builds the AST while it
parses: the language is exactly Lark's (the grammar file stays the one authority),
about five times faster. Any text that loop does not
accept goes to Lark itself, whose exception becomes the
:class:`~causaldsl.language.errors.CausalSyntaxError` (so every message and position is
Lark's); if Lark were to accept such a text, its tree is turned into the AST by
the same builders (:class:`_FromTree`).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import hashlib
import operator
import os
import re
import sys
from pathlib import Path
from typing import Iterator, NamedTuple, Optional

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import syntax as S
from .errors import CausalDSLError, CausalSyntaxError, Span, one_newline, source_lines
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


# Token types the bracket rule of the post-lexer looks at (see _BracketNewlines; _drive inlines it).
_OPENS = ("LPAR", "LSQB")
_CLOSES = ("RPAR", "RSQB", "RBRACE")


class _BracketNewlines:
    """Post-lexer: drop newlines inside ( ), [ ] and table braces.

    A ``{`` that follows ``)`` opens a table (``table(X) {``); any other ``{``
    opens a block, where newlines separate statements.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[str] = []
        prev = None
        for tok in stream:
            t = tok.type
            if t in _OPENS:
                stack.append("drop")
            elif t == "LBRACE":
                stack.append("drop" if prev == "RPAR" else "keep")
            elif t in _CLOSES and stack:
                stack.pop()
            if t == "_NL" and stack and stack[-1] == "drop":
                continue
            prev = t
            yield tok


@functools.lru_cache(maxsize=None)
def _lark(start: str) -> Lark:
    grammar = grammar_text()
    # A cold build takes ~0.2 s, a cached one ~15 ms. Lark's own cache (cache=True) unpickles a
    # file of a predictable name in the shared temp directory, which another local user can plant:
    # the cache lives in a directory only this user can write, or there is none.
    cache = _cache_file(grammar, start)
    return Lark(
        grammar, parser="lalr", lexer="contextual", start=start,
        propagate_positions=True, maybe_placeholders=True, postlex=_BracketNewlines(),
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


# ------------------------------------------------------------------ tokens and positions
class Tok(tuple):
    """A token: ``(type, value, line, column, end_line, end_column)``, 1-based as in Lark.

    A tuple, because the parser makes one per token and Lark's ``Token`` (a
    ``str`` with eight attributes) costs several times more. The ends of a
    node from Lark's tree (:func:`_as_ends`) are tokens with no type or value.

    >>> t = Tok(("NAME", "x", 1, 5, 1, 6))
    >>> t.value, _span(t)
    ('x', Span(line=1, column=5, end_column=6))
    """

    __slots__ = ()

    # C-level getters: builders read these thousands of times per model
    type = property(operator.itemgetter(0), doc="the terminal's name, e.g. NAME")
    value = property(operator.itemgetter(1), doc="the text matched")
    line = property(operator.itemgetter(2))
    column = property(operator.itemgetter(3))
    end_line = property(operator.itemgetter(4))
    end_column = property(operator.itemgetter(5))


# Spans and tokens are made with tuple.__new__: a named tuple's own constructor is a Python
# function, and the parser makes one or two per token.
_new = tuple.__new__
_NO_TEXT = Span(0, 0, None)


def _span(tok: Tok) -> Span:
    """Where a token is."""
    line = tok[2]
    return _new(Span, (line, tok[3], tok[5] if tok[4] == line else None))


def _extent(first: Optional[Tok], last: Optional[Tok]) -> Span:
    """Where the text from token ``first`` to token ``last`` is (``None``: a node of no text)."""
    if first is None:
        return _NO_TEXT
    line = first[2]
    return _new(Span, (line, first[3], last[5] if last[4] == line else None))


def _number(text: str) -> float:
    return float(text)


# ------------------------------------------------------------------ AST builders
# Levels of an expression's syntax tree (a sum of n terms is n levels), as Python bounds the
# nesting of parentheses at 200: every stage after the parser walks trees recursively.
MAX_NESTING = 200


class _Row(NamedTuple):
    """A table row while the builders assemble its table: key atoms, value, where it is."""

    key: tuple
    value: object
    span: Span


class _Builders:
    """One method per grammar rule (by alias or name): ``(first, last, children) -> syntax node``.

    ``first`` and ``last`` are the first and last token of the rule's text,
    filtered tokens included (what Lark calls the rule's meta; ``None`` for a
    rule that matched no text); ``children`` are what Lark's tree builder keeps:
    named tokens and rule values, ``None`` for an absent ``[optional]``, with
    ``_inlined`` rules spliced in.
    """

    # (rule, expansion) whose builder returns its one child as it is: the parser skips the call.
    PASSES = {("key_atom", ("signed_number",))}

    def __init__(self, source: str):
        self.source = source
        self.lines = source_lines(source)

    def _nest(self, node, kids):
        """``node``, one level above its sub-expressions ``kids``; past :data:`MAX_NESTING` levels
        a :class:`~causaldsl.language.errors.CausalSyntaxError` at ``node``.

        Every later stage (the checker, query planning, the engines, the syntax tree's own
        hash) walks expressions recursively, so the depth is bounded here, once, where the
        error can point at the text; parentheses alone add no depth.
        """
        depth = 1 + max([getattr(k, "_depth", 1) for k in kids], default=1)  # a leaf is level 1
        if depth > MAX_NESTING:
            raise CausalSyntaxError(
                f"expression nested too deeply (more than {MAX_NESTING} levels)", span=node.span,
                source=self.source,
                hint="each operator, call or 'if' is a level, and a sum of n terms is n levels: "
                     "give parts of the expression names of their own (s := a + b + ..., then y := s + ...)")
        object.__setattr__(node, "_depth", depth)  # not a field: only the builders of this parse read it
        return node

    def _text(self, first, last) -> str:
        if first is None:
            return ""
        line, column, end_line, end_column = first[2], first[3], last[4], last[5]
        lines = self.lines[line - 1: end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][column - 1: end_column - 1]
        lines[0] = lines[0][column - 1:]
        lines[-1] = lines[-1][: end_column - 1]
        return " ".join(ln.strip() for ln in lines)

    # program
    def start(self, first, last, items):
        return S.Program(tuple(items), self.source)

    def model(self, first, last, ch):
        name, *stmts = ch
        params = tuple(s for s in stmts if isinstance(s, S.ParamStmt))
        return S.ModelBlock(name.value, tuple(s for s in stmts if not isinstance(s, S.ParamStmt)),
                            _span(name), params)

    def param_stmt(self, first, last, ch):
        name, index, dist = ch
        names, spans = self._names(index) if index else ((), ())
        return S.ParamStmt(name.value, dist, names, _span(name), spans)

    def fit_stmt(self, first, last, ch):
        name, path, *opts = ch
        return S.FitStmt(name.value, path.value[1:-1], tuple(opts), _extent(first, last), self._text(first, last), _span(path))

    def sample_stmt(self, first, last, ch):
        latent, name, dist = ch
        return S.SampleStmt(name.value, dist, latent is not None, _span(name))

    def assign_stmt(self, first, last, ch):
        latent, name, expr = ch
        return S.AssignStmt(name.value, expr, latent is not None, _span(name))

    def dist(self, first, last, ch):
        name, *args = ch
        return S.DistCall(name.value, tuple(a for a in args if a is not None), _span(name))

    def pos_arg(self, first, last, ch):
        return S.Arg("pos", None, ch[0], _extent(first, last))

    def level_arg(self, first, last, ch):
        return S.Arg("level", ch[0].value, ch[1], _span(ch[0]))

    def kw_arg(self, first, last, ch):
        return S.Arg("kw", ch[0].value, ch[1], _span(ch[0]))

    # expressions
    def number(self, first, last, ch):
        return S.Num(_number(ch[0].value), _span(ch[0]))

    def string(self, first, last, ch):
        return S.Str(ch[0].value[1:-1], _span(ch[0]))

    def call(self, first, last, ch):
        name, *args = ch
        args = tuple(a for a in args if a is not None)
        return self._nest(S.Call(name.value, args, _span(name)), args)

    def var_term(self, first, last, ch):
        name, world = ch
        node = S.Var(name.value, world, _span(name))
        return node if world is None else self._nest(node, [a.value for a in world])

    def index_term(self, first, last, ch):
        name, *indices = ch
        return self._nest(S.Index(name.value, tuple(indices), _span(name)), indices)

    def assignments(self, first, last, ch):
        return tuple(ch)

    def assignment(self, first, last, ch):
        return S.Assignment(ch[0].value, ch[1], _span(ch[0]))

    def binop(self, first, last, ch):
        return self._nest(S.BinOp(ch[1].value, ch[0], ch[2], _span(ch[1])), (ch[0], ch[2]))

    def pow(self, first, last, ch):
        return self._nest(S.BinOp("**", ch[0], ch[1], _extent(first, last)), ch)

    def unary(self, first, last, ch):
        return self._nest(S.Unary(ch[0].value, ch[1], _span(ch[0])), (ch[1],))

    def compare(self, first, last, ch):
        return self._nest(S.Compare(ch[1].value, ch[0], ch[2], _span(ch[1])), (ch[0], ch[2]))

    def equals(self, first, last, ch):
        """``a = b`` in an event or a condition: ``==`` (see :meth:`event`), kept as ``=`` until
        the event is read whole, where ``Y = value`` alone is a point event."""
        return self._nest(S.Compare("=", ch[0], ch[1], _extent(first, last)), ch)

    def or_(self, first, last, ch):
        return self._nest(S.BoolOp("or", _equal(ch[0]), _equal(ch[1]), _extent(first, last)), ch)

    def and_(self, first, last, ch):
        return self._nest(S.BoolOp("and", _equal(ch[0]), _equal(ch[1]), _extent(first, last)), ch)

    def not_(self, first, last, ch):
        return self._nest(S.Not(_equal(ch[0]), _extent(first, last)), ch)

    def ifelse(self, first, last, ch):
        return self._nest(S.IfElse(ch[0], ch[1], ch[2], _extent(first, last)), ch)

    def table(self, first, last, ch):
        names = [c for c in ch if isinstance(c, Tok)]
        rows = [c for c in ch if isinstance(c, _Row)]
        places = S.RowSpans(tuple(r.span for r in rows), tuple(tuple(a.span for a in r.key) for r in rows))
        return self._nest(S.Table(tuple(n.value for n in names), tuple(tuple(a.value for a in r.key) for r in rows),
                       tuple(r.value for r in rows), _extent(first, last), tuple(_span(n) for n in names),
                       places), [r.value for r in rows])

    def table_row(self, first, last, ch):
        return _Row(ch[0], ch[1], _extent(first, last))

    def table_key(self, first, last, ch):
        return tuple(ch)

    def key_atom(self, first, last, ch):
        """A table key: a number, or a level's name.

        >>> k = S.KeyAtom(1.0)
        >>> _Builders("").key_atom(None, None, [k]) is k  # so key_atom: signed_number is in PASSES
        True
        """
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return item
        if item.type == "STRING":
            return S.KeyAtom(item.value[1:-1], _span(item))
        return S.KeyAtom(item.value, _span(item))

    def signed_number(self, first, last, ch):
        sign, num = ch
        value = _number(num.value)
        if sign is not None and sign.value == "-":
            value = -value
        return S.KeyAtom(value, _extent(first, last))

    # queries
    def prob_query(self, first, last, ch):
        *events, conds = ch
        return S.ProbQuery(tuple(events), conds or (), _extent(first, last), self._text(first, last))

    def expect_query(self, first, last, ch):
        expr, conds = ch
        return S.ExpectQuery(expr, conds or (), _extent(first, last), self._text(first, last))

    def effect_query(self, first, last, ch):
        effect, treat, outcome, mediator, *opts = ch
        spans = (_span(treat), _span(outcome)) + ((_span(mediator),) if mediator else ())
        return S.EffectQuery(effect.value, treat.value, outcome.value,
                             None if mediator is None else mediator.value,
                             tuple(opts), _span(effect), self._text(first, last), spans)

    def cause_query(self, first, last, ch):
        """``cause(...)`` / ``responsibility(...)``: ``definition = NAME`` among the conditions is
        the option (the conditions' grammar reads it as an observation; a second list after them
        would make the parser guess at each ',')."""
        kind, *cause, effect, conds = ch
        conds = conds or ()
        opts = tuple((c.term.name, c.value, c.term.span) for c in conds if _is_cause_option(c))
        conds = tuple(c for c in conds if not _is_cause_option(c))
        return S.CauseQuery(kind.value, tuple(cause), _equal(effect), conds, opts, _span(kind),
                            self._text(first, last))

    def effect_option(self, first, last, ch):
        return (ch[0].value, ch[1], _span(ch[0]))

    def event(self, first, last, ch):
        """``Y = value`` (a point event), else a logical expression (``P(Y)``: a whole distribution)."""
        point = _point(ch[0])
        if point is not None:
            return S.EqEvent(*point, _extent(first, last))
        return S.ExprEvent(_equal(ch[0]), _extent(first, last))

    def conditions(self, first, last, ch):
        return tuple(ch)

    def do_clause(self, first, last, ch):
        return S.Do(tuple(ch), _extent(first, last))

    def given(self, first, last, ch):
        """``Y = value`` (an observation), a bare ``Z`` (an observation without a value, for
        identify), else an event to condition on."""
        e = ch[0]
        point = _point(e)
        if point is not None:
            return S.Observation(*point, _extent(first, last))
        if type(e) is S.Var:
            return S.Observation(e, None, _extent(first, last))
        return S.Given(_equal(e), _extent(first, last), self._text(first, last))

    def do_name(self, first, last, ch):
        return S.Assignment(ch[0].value, None, _span(ch[0]))

    # graphs
    def graph_block(self, first, last, ch):
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

    def edge_chain(self, first, last, ch):
        toks = [c for c in ch if isinstance(c, Tok) and c.type == "NAME"]
        ops = [c for c in ch if not (isinstance(c, Tok) and c.type == "NAME")]
        return ("edges", (toks, ops))

    def edge_op(self, first, last, ch):
        return ch[0]

    def latent_decl(self, first, last, ch):
        return ("latent", [c for c in ch if c.type == "NAME"])

    def identify_query(self, first, last, ch):
        return S.IdentifyQuery(ch[0], _extent(first, last), self._text(first, last))

    def bounds_query(self, first, last, ch):
        return S.BoundsQuery(ch[0], tuple(ch[1:]), _extent(first, last), self._text(first, last))

    def name_list(self, first, last, ch):
        return tuple(ch)

    def _names(self, toks):
        return tuple(t.value for t in toks), tuple(_span(t) for t in toks)

    def dsep_query(self, first, last, ch):
        xs, ys, zs = ch
        zs = zs or ()
        names = [self._names(x) for x in (xs, ys, zs)]
        return S.GraphQuery("dsep", tuple(n for n, _ in names), tuple(sp for _, sp in names),
                            _extent(first, last), self._text(first, last))

    def adjustment_query(self, first, last, ch):
        names = [self._names(x) for x in ch]
        return S.GraphQuery("adjustment", tuple(n for n, _ in names), tuple(sp for _, sp in names),
                            _extent(first, last), self._text(first, last))

    def instruments_query(self, first, last, ch):
        return S.GraphQuery("instruments", (ch[0].value, ch[1].value), (_span(ch[0]), _span(ch[1])),
                            _extent(first, last), self._text(first, last))

    def independences_query(self, first, last, ch):
        return S.GraphQuery("independences", (), (), _extent(first, last), self._text(first, last))

    def admg_query(self, first, last, ch):
        return S.GraphQuery("admg", (), (), _extent(first, last), self._text(first, last))

    def relatives_query(self, first, last, ch):
        kind, names = ch
        n, sp = self._names(names)
        return S.GraphQuery(kind.value, n, sp, _extent(first, last), self._text(first, last))

    def value(self, first, last, ch):
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return S.Value(item.value, item.span)
        if item.type == "STRING":
            return S.Value(item.value[1:-1], _span(item))
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


# ------------------------------------------------------------------ the tables, from Lark
class _Unsupported(Exception):
    """Lark's tables hold something :func:`_drive` does not reproduce: parse with Lark instead."""


class _Reject(Exception):
    """:func:`_drive` met text outside the language: Lark parses it again to say why."""


# How a rule's reduction builds its value (see _rule_plan).
_UNIT, _PASS, _INLINE, _BUILD = range(4)

# What the lexer of _drive does with a token type beyond making a token (see _lexer_plan).
_SKIP, _SKIP_LINES, _LINES, _WORDS, _OPEN, _BRACE, _CLOSE = range(7)


class _Tables:
    """Lark's parse table and contextual lexers, flattened for :func:`_drive`.

    * ``actions[state][symbol]``: ``>= 0`` shift (or goto) to that state, ``< 0`` reduce rule ``~a``;
    * ``lexers[state]``: ``(regex, special, keywords)``, see :func:`_lexer_plan`;
    * ``rules[i]``: see :func:`_rule_plan`.
    """

    def __init__(self, lark: Lark, start: str):
        from lark.parsers.lalr_analysis import Reduce, Shift

        table = lark.parser.parser._parse_table
        rules: list = []
        index: dict = {}
        actions: dict[int, dict[str, int]] = {}
        for state, row in table.states.items():
            out = {}
            for sym, (action, arg) in row.items():
                if action is Shift:
                    out[sym] = arg
                elif action is Reduce:
                    if arg not in index:
                        index[arg] = len(rules)
                        rules.append(_rule_plan(arg))
                    out[sym] = ~index[arg]
                else:  # pragma: no cover - a Lark we do not know
                    raise _Unsupported(f"action {action}")
            actions[state] = out
        n = max(actions) + 1
        if sorted(actions) != list(range(n)):  # pragma: no cover
            raise _Unsupported("parser states are not 0..n-1")
        nullable = {r.origin.name for r in index if not r.expansion}
        if any(sym.name in nullable for r in index for sym in r.expansion):  # pragma: no cover
            raise _Unsupported("a rule can match no text inside another")  # _drive assumes every child has text
        if any(r[1] == start and r[2] in (_UNIT, _PASS) for r in rules):  # pragma: no cover
            raise _Unsupported("?start")  # _drive looks for the end only after building a node
        self.actions = [actions[s] for s in range(n)]
        self.rules = rules
        self.start = table.start_states[start]
        self.end = table.end_states[start]
        self.chains: dict = {}  # (state below, state, lookahead) -> state after the unit reductions
        contextual = lark.parser.lexer.lexer  # PostLexConnector -> ContextualLexer
        made: dict[int, tuple] = {}
        self.lexers = [None] * n
        for state, basic in contextual.lexers.items():
            key = id(basic)
            if key not in made:
                made[key] = _lexer_plan(basic)
            self.lexers[state] = made[key]
        if any(lx is None for lx in self.lexers):  # pragma: no cover
            raise _Unsupported("a state without a lexer")
        self.tables = _TableScan(lark)
        self.after_table: dict = {}  # (state, table shape) -> (goto on 'table', state after its '}')
        self.after_statement: dict = {}  # (state, table shape or None) -> (goto, state after ')')
        # per state: whether a NAME shifted there may begin a sample statement
        self.statement_starts = [a.get("sample_stmt") is not None for a in self.actions]


def _rule_plan(rule) -> tuple:
    """What reducing ``rule`` does, as Lark's tree builder would with ``maybe_placeholders``:
    ``(size, origin, kind, builder, pick)``.

    Lark keeps, of a rule's children, its named tokens and rule values
    (anonymous tokens only in ``!``-marked rules), puts ``None`` where an
    ``[optional]`` item is absent, and splices in the children of ``_inlined``
    rules; a ``?rule`` left with one child is that child. ``kind`` is
    ``_UNIT`` (``x: y``, passed on unchanged), ``_PASS`` (``?x: "(" y ")"``:
    child ``pick``), ``_INLINE`` (the kept children, as a list) or ``_BUILD``
    (a :class:`_Builders` method of the kept children). ``pick`` is ``None``
    when every child is kept as it is; when some are
    dropped: one index, else a function of the children (see :func:`_picker`).
    """
    opts = rule.options
    expansion = rule.expansion
    empty = getattr(opts, "empty_indices", ()) or ()
    if empty:
        bits = "".join(str(int(b)) for b in empty)
        nones = [len(ones) for ones in bits.split("0")]
    else:
        nones = [0] * (len(expansion) + 1)
    include, pending = [], 0
    for i, sym in enumerate(expansion):
        pending += nones[i]
        if opts.keep_all_tokens or not (sym.is_term and sym.filter_out):
            include.append((i, not sym.is_term and sym.name.startswith("_"), pending))
            pending = 0
    trailing = pending + nones[len(expansion)]
    name = rule.alias or opts.template_source or rule.origin.name
    inline = rule.origin.name.startswith("_")
    expand1 = bool(opts.expand1) and not rule.alias
    plain = trailing == 0 and not any(splice or k for _, splice, k in include)
    if inline and (rule.alias or expand1):  # pragma: no cover - not in our grammar
        raise _Unsupported(f"inlined rule {rule}")
    if expand1 and not (plain and len(include) == 1):  # pragma: no cover - not in our grammar
        raise _Unsupported(f"?rule {rule} may keep several children")
    if expand1:
        if expansion[include[0][0]].is_term:  # pragma: no cover - a token would keep its own position
            raise _Unsupported(f"rule {rule} passes a token through")
        return (len(expansion), rule.origin.name, _UNIT if len(expansion) == 1 else _PASS, None, include[0][0])
    if plain and len(include) == len(expansion):
        pick = None
    elif plain and len(include) == 1:
        pick = include[0][0]
    elif plain and include and not inline:  # builders take any sequence; inlined lists must stay lists
        pick = operator.itemgetter(*(i for i, _, _ in include))
    else:
        pick = _picker(tuple(include), trailing)
    if inline:
        return (len(expansion), rule.origin.name, _INLINE, None, pick)
    if (name, tuple(sym.name for sym in expansion)) in _Builders.PASSES and len(expansion) == 1 and pick is None:
        return (1, rule.origin.name, _UNIT, None, 0)
    builder = getattr(_Builders, name, None)
    if builder is None:  # pragma: no cover - Lark would leave a Tree in the AST
        raise _Unsupported(f"no builder for rule {rule}")
    return (len(expansion), rule.origin.name, _BUILD, builder, pick)


def _picker(include: tuple, trailing: int):
    """The function from a rule's children to the children Lark keeps.

    ``include`` holds ``(index, splice, Nones before)`` per kept child;
    ``trailing`` counts the ``None`` after the last. The common shapes get
    a function of their own: ``_list: _list "," item`` appends to the list
    its left child already is (copying it would make long lists quadratic).

    >>> _picker(((0, True, 0), (2, False, 0)), 0)([["a"], ",", "b"])
    ['a', 'b']
    >>> _picker(((0, False, 1),), 0)(["n"])
    [None, 'n']
    """
    first, rest = include[0] if include else None, include[1:]
    if first and first[1] and not first[2] and not trailing and not any(sp or k for _, sp, k in rest):
        head, tail = first[0], tuple(i for i, _, _ in rest)
        if not tail:
            return lambda kids: kids[head]
        if len(tail) == 1:
            (only,) = tail

            def append(kids):
                kept = kids[head]
                kept.append(kids[only])
                return kept

            return append

        def extend(kids):
            kept = kids[head]
            kept.extend([kids[i] for i in tail])
            return kept

        return extend
    if len(include) == 1 and include[0][2] == 1 and not include[0][1] and not trailing:
        only = include[0][0]  # [A] B without A: the most common placeholder
        return lambda kids: [None, kids[only]]
    if not any(sp for _, sp, _ in include):  # placeholders, no splices: a template
        template: list = []
        for i, _, k in include:
            template += [None] * k + [i]
        template += [None] * trailing
        return lambda kids: [None if i is None else kids[i] for i in template]

    def general(kids):
        kept: list = []
        for i, splice, nones in include:
            if nones:
                kept.extend([None] * nones)
            if not splice:
                kept.append(kids[i])
            elif kept:
                kept.extend(kids[i])
            else:  # a left-recursive list grows in place
                kept = kids[i]
        if trailing:
            kept.extend([None] * trailing)
        return kept

    return general


def _lexer_plan(basic) -> tuple:
    """One state's lexer (a Lark ``BasicLexer``) as ``(regex, special, keywords)``.

    ``regex`` is Lark's alternation of the state's terminals (in Lark's order
    of preference); ``special`` maps the token types that need more than a
    token to what: skipped (whitespace, comments), line breaks to count, a
    ``NAME`` that may be a keyword here (``keywords["NAME"]``: ``{"model":
    "MODEL", ...}``), or a bracket for the post-lexer.
    """
    from lark.lexer import PatternStr, UnlessCallback

    scanner = basic.scanner
    if len(scanner._mres) != 1 or basic.g_regex_flags:  # pragma: no cover - over 100 terminals
        raise _Unsupported("lexer regexes")
    special: dict[str, int] = {}
    for typ in scanner.allowed_types:
        skip, lines = typ in basic.ignore_types, typ in basic.newline_types
        if skip or lines:
            special[typ] = (_SKIP_LINES if lines else _SKIP) if skip else _LINES
    keywords: dict[str, dict[str, str]] = {}
    for typ, cb in basic.callback.items():
        if not isinstance(cb, UnlessCallback) or typ in special:  # pragma: no cover
            raise _Unsupported(f"lexer callback {cb!r}")
        words = {}
        for t in cb.scanner.terminals:
            if not isinstance(t.pattern, PatternStr) or t.pattern.flags:  # pragma: no cover
                raise _Unsupported(f"keyword {t}")
            words.setdefault(t.pattern.value, t.name)
        keywords[typ] = words
        special[typ] = _WORDS
    for typ, what in [(t, _OPEN) for t in _OPENS] + [("LBRACE", _BRACE)] + [(t, _CLOSE) for t in _CLOSES]:
        if typ in special:  # pragma: no cover
            raise _Unsupported(f"bracket {typ}")
        special[typ] = what
    return (scanner._mres[0], special, keywords)


@functools.lru_cache(maxsize=None)
def _tables(start: str) -> Optional[_Tables]:
    """The flattened tables, or ``None`` where this Lark's internals differ from what we expect."""
    try:
        return _Tables(_lark(start), start)
    except (_Unsupported, AttributeError, KeyError, TypeError, ImportError):  # pragma: no cover
        return None


# ------------------------------------------------------------------ tables of plain numbers
_PUNCT = {"(": "LPAR", ")": "RPAR", ",": "COMMA", ":": "COLON", "{": "LBRACE", "}": "RBRACE",
          "+": "ADD_OP", "-": "ADD_OP"}


class _TableScan:
    """The lexer and grammar of ``table(A, B) { (a, b): 0.3, ... }`` with plain numbers, in one pass.

    Nearly all the tokens of a large discrete model are in its tables, and almost every table
    row is keys and one number. :func:`_drive` hands a table here when it meets the keyword; a
    table of that shape comes back as the :class:`~causaldsl.language.syntax.Table` the builders would
    have made, spans and all, in about a fifth of the time. Anything else (a comment, an
    expression for a value, a keyword for a name, a line break where a statement could end)
    comes back as ``None`` and the table is parsed token by token, so the language stays the
    grammar's. The token patterns are Lark's own terminals.
    """

    def __init__(self, lark: Lark):
        def pat(name: str) -> str:
            return lark.get_terminal(name).pattern.to_regexp()

        self.regex = re.compile(
            rf"(?P<_>[\t ]+)|(?P<_NL>\r?\n)|(?P<NUMBER>{pat('NUMBER')})|(?P<NAME>{pat('NAME')})"
            rf"|(?P<STRING>{pat('STRING')})|(?P<PUNCT>[(),:{{}}+-])")
        # Words that are a keyword somewhere: where the scan cannot tell, it says no.
        name = re.compile(pat("NAME"))
        self.keywords = frozenset(t.pattern.value for t in lark.terminals
                                  if t.pattern.type == "str" and name.fullmatch(t.pattern.value))
        # One line, one regex match per row (see line_table). Lark's patterns lose their groups.
        plain = {t: re.sub(r"(?<!\\)\((?!\?)", "(?:", pat(t)) for t in ("NUMBER", "NAME", "STRING")}
        self.atom = rf"([+-][ \t]*{plain['NUMBER']}|{plain['NUMBER']}|{plain['NAME']}|{plain['STRING']})"
        self.number = rf"({plain['NUMBER']})"
        self.head = re.compile(rf"[ \t]*\([ \t]*({plain['NAME']}(?:[ \t]*,[ \t]*{plain['NAME']})*)[ \t]*\)[ \t]*\{{")
        self.name = re.compile(plain["NAME"])
        self.close_paren = re.compile(r"[ \t]*\)")
        # After a statement's name: '~', the distribution's name, '(' and 'table' or a number and ')'.
        self.statement = re.compile(rf"[ \t]*~[ \t]*({plain['NAME']})[ \t]*\([ \t]*"
                                    rf"(?:(table)(?![A-Za-z0-9_])|({plain['NUMBER']})[ \t]*\))")
        self.rows: dict[int, re.Pattern] = {}
        # A row key's atoms' texts -> its values: the few keys of binary parents, (0, 1) and
        # the like, recur in every table, and reading them was a quarter of a table's time.
        self.key_values: dict[tuple, tuple] = {}
        for k in range(1, 5):  # compiled with the tables, not in the middle of someone's first parse
            self._row(k)

    def _row(self, k: int) -> re.Pattern:
        """One row of a table over ``k`` parents, on one line: groups ``(`` (k > 1), k atoms,
        the value, and the ``,``, ``}`` or trailing ``, }`` after it."""
        if k not in self.rows:
            ws = r"[ \t]*"
            key = self.atom if k == 1 else r"()\(" + ws + (ws + "," + ws).join([self.atom] * k) + ws + r"\)"
            self.rows[k] = re.compile(ws + key + ws + ":" + ws + self.number + ws + r"(\}|,[ \t]*\}|,)")
        return self.rows[k]

    def line_table(self, text: str, pos: int, line: int, line_start: int, head: Tok):
        """A table on one line after the keyword ``head``, one regex match per row:
        ``(node, shape, its last token, pos)``, or ``None`` (then :meth:`scan` reads it)."""
        close = text.find("}", pos)
        if close < 0 or text.find("\n", pos, close) >= 0 or text.find("#", pos, close) >= 0:
            return None
        m = self.head.match(text, pos)
        if m is None:
            return None
        keywords = self.keywords
        names, spans = [], []
        for nm in self.name.finditer(text, m.start(1), m.end(1)):
            if nm.group() in keywords:
                return None
            names.append(nm.group())
            spans.append(_new(Span, (line, nm.start() - line_start + 1, nm.end() - line_start + 1)))
        k = len(names)
        row = self._row(k)
        at, values, trailing = m.end(), [], False
        first_group = 1 if k == 1 else 2  # group 1 of a tuple key is the '(' it starts at
        v = first_group + k  # the value's group
        shift = line_start - 1  # offset -> 1-based column
        # Per row: its key's values, its value's Num, and the match's spans (kept for the row's and
        # its atoms' places, worked out only for a message): this loop is most of the time of a
        # model of tables.
        new, key_values, Num = tuple.__new__, self.key_values, S.Num
        atoms = slice(first_group - 1, v - 1)  # the key atoms' texts among a match's groups
        keys, starts = [], []
        while True:
            r = row.match(text, at)
            if r is None:
                return None
            texts = r.groups()
            key = key_values.get(texts[atoms])
            if key is None:
                key = self._key(texts[atoms])
                if _NOT_KEY in key:
                    return None
            a, end = r.span(v)
            keys.append(key)
            values.append(Num(float(texts[v - 1]), new(Span, (line, a - shift, end - shift))))  # _number
            starts.append(at)
            at = r.end()
            after = texts[v]  # ',' (more rows), '}' or a trailing ', }' (the last)
            if after != ",":
                trailing = after != "}"
                break
        col = at - line_start
        last = tuple.__new__(Tok, ("RBRACE", "}", line, col, line, col + 1))
        node = S.Table(tuple(names), tuple(keys), tuple(values), _new(Span, (line, head[3], col + 1)), tuple(spans),
                       _LineRows(text, row, starts, line, shift, first_group))
        return node, (k > 1, len(values) > 1, trailing), last, at

    def _key(self, texts: tuple) -> tuple:
        """The values of a row key's atoms ``texts`` (:meth:`_key_value`), kept for the next row."""
        if len(self.key_values) >= 4096:  # keys of level names can be many: keep the cache small
            self.key_values.clear()
        key = tuple(map(self._key_value, texts))
        if _NOT_KEY not in key:  # a keyword among the atoms sends the table to the token loop
            self.key_values[texts] = key
        return key

    def _key_value(self, text: str):
        """The value of the key atom ``text`` (a plain or signed number, a string, a name), as
        :meth:`_Builders.key_atom` reads it; ``_NOT_KEY`` for a keyword, which the grammar decides."""
        c = text[0]
        if c.isdigit() or c == ".":
            return _number(text)
        if c in "+-":
            value = _number(text[1:].lstrip(" \t"))
            return -value if c == "-" else value
        if c in "\"'":
            return text[1:-1]
        return _NOT_KEY if text in self.keywords else text

    def scan(self, text: str, pos: int, line: int, line_start: int):
        """Tokens of the table that starts at ``pos`` (after the keyword), through its ``}``:
        ``(tokens, breaks, pos, line, line_start)``, ``breaks`` the indices of tokens after a
        line break; ``None`` where a character is not one of the table's."""
        match = self.regex.scanner(text, pos).match
        new_tok = tuple.__new__
        toks: list = []
        breaks: list = []
        while True:
            m = match()
            if m is None:
                return None
            typ = m.lastgroup
            if typ == "_":
                continue
            start, end = m.span()
            if typ == "_NL":
                line += 1
                line_start = end
                breaks.append(len(toks))
                continue
            val = m.group()
            if typ == "PUNCT":
                typ = _PUNCT[val]
            toks.append(new_tok(Tok, (typ, val, line, start - line_start + 1, line, end - line_start + 1)))
            if typ == "RBRACE":
                return toks, breaks, end, line, line_start

    def table(self, toks: list, breaks: list, head: Tok):
        """The table's syntax node and shape from its tokens (the keyword ``head`` before them),
        or ``None`` where they are not a table of plain rows."""
        if not toks or toks[0][0] != "LPAR" or 0 in breaks:  # a line break after 'table' may end a statement
            return None
        keywords = self.keywords
        names, i = [], 1
        while True:
            t = toks[i]
            if t[0] != "NAME" or t[1] in keywords:
                return None
            names.append(t)
            i += 1
            if toks[i][0] == "RPAR":
                break
            if toks[i][0] != "COMMA":
                return None
            i += 1
        i += 1
        if toks[i][0] != "LBRACE" or i in breaks:
            return None
        i += 1
        keys: list = []
        values: list = []
        row_spans: list = []
        key_spans: list = []
        trailing = False
        while True:
            first = toks[i]
            if first[0] == "LPAR":
                key, spans, i = [], [], i + 1
                while True:
                    value, span, i = self._atom(toks, i)
                    if value is _NOT_KEY:
                        return None
                    key.append(value)
                    spans.append(span)
                    sep = toks[i][0]
                    i += 1
                    if sep == "RPAR":
                        break
                    if sep != "COMMA":
                        return None
            else:
                value, span, i = self._atom(toks, i)
                if value is _NOT_KEY:
                    return None
                key, spans = [value], [span]
            if toks[i][0] != "COLON" or toks[i + 1][0] != "NUMBER":
                return None
            value = toks[i + 1]
            keys.append(tuple(key))
            key_spans.append(tuple(spans))
            values.append(S.Num(_number(value[1]), _span(value)))
            row_spans.append(_extent(first, value))
            sep = toks[i + 2][0]
            i += 3
            if sep == "RBRACE":
                break
            if sep != "COMMA":
                return None
            if toks[i][0] == "RBRACE":
                trailing = True
                break
        node = S.Table(tuple(n[1] for n in names), tuple(keys), tuple(values), _extent(head, toks[-1]),
                       tuple(_span(n) for n in names), S.RowSpans(tuple(row_spans), tuple(key_spans)))
        return node, (len(names) > 1, len(values) > 1, trailing)

    def _atom(self, toks: list, i: int):
        """The key atom at ``toks[i]``: its value (:meth:`_key_value`), its span, and the index
        after it."""
        t = toks[i]
        if t[0] == "ADD_OP":
            num = toks[i + 1]
            if num[0] != "NUMBER":
                return _NOT_KEY, None, i
            return self._key_value(t[1] + num[1]), _extent(t, num), i + 2
        if t[0] in ("NUMBER", "NAME", "STRING"):
            return self._key_value(t[1]), _span(t), i + 1
        return _NOT_KEY, None, i


_NOT_KEY = object()  # what _TableScan._key_value makes of a keyword


class _LineRows:
    """Where the rows of a table read on one line (:meth:`_TableScan.line_table`) and their key
    atoms are: :class:`~causaldsl.language.syntax.RowSpans`' ``row`` and ``key``, worked out when a
    message asks by matching the row's regex again where the row starts. (Keeping each match's
    spans instead was eight tuples a row for the garbage collector to walk, in every parse.)"""

    __slots__ = ("text", "pattern", "starts", "line", "shift", "first")

    def __init__(self, text: str, pattern: re.Pattern, starts: list, line: int, shift: int, first: int):
        self.text, self.pattern, self.starts = text, pattern, starts
        self.line, self.shift, self.first = line, shift, first

    def _regs(self, i: int) -> tuple:
        return self.pattern.match(self.text, self.starts[i]).regs

    def row(self, i: int) -> Span:
        regs = self._regs(i)
        # from the '(' of a tuple key (group 1) to the end of the value (the group before the last)
        return Span(self.line, regs[1][0] - self.shift, regs[-2][1] - self.shift)

    def key(self, i: int, j: int) -> Span:
        a, b = self._regs(i)[self.first + j]
        return Span(self.line, a - self.shift, b - self.shift)


# ------------------------------------------------------------------ the parse loop
def _states_after(tab: _Tables, state: int, types: tuple) -> Optional[int]:
    """The state the LALR automaton is in after shifting the token ``types`` from ``state``
    (reducing as it goes, never below ``state``); ``None`` where it would not get there."""
    actions, rules = tab.actions, tab.rules
    stack = [state]
    for typ in types:
        while True:
            a = actions[stack[-1]].get(typ)
            if a is None:
                return None
            if a >= 0:
                stack.append(a)
                break
            size, origin = rules[~a][0], rules[~a][1]
            if size >= len(stack):  # pragma: no cover - a reduction reaching below the table
                return None
            del stack[len(stack) - size:]
            stack.append(actions[stack[-1]][origin])
    return stack[-1]


def _table_types(shape: tuple) -> tuple:
    """Token types of a table of ``shape`` (several parents, several rows, a trailing comma)."""
    many_names, many_rows, trailing = shape
    row = ("NUMBER", "COLON", "NUMBER")
    return (("TABLE", "LPAR", "NAME") + ("COMMA", "NAME") * many_names + ("RPAR", "LBRACE")
            + row + ("COMMA",) * many_rows + row * many_rows + ("COMMA",) * trailing + ("RBRACE",))


def _table_states(tab: _Tables, state: int, shape: tuple) -> Optional[tuple]:
    """For a table of ``shape`` (several parents, several rows, a trailing comma) met in ``state``:
    ``(goto, after)``, the state once the table is reduced and the state right after its ``}``
    (whose lexer reads the next token, and whose actions say whether that token may follow).
    Lark expands ``*`` and ``?`` into one rule per shape, so the state after ``}`` depends on it."""
    key = (state, shape)
    if key not in tab.after_table:
        goto = tab.actions[state].get("table")
        after = _states_after(tab, state, _table_types(shape))
        ok = goto is not None and after is not None and tab.actions[state].get("TABLE", -1) >= 0
        tab.after_table[key] = (goto, after) if ok else None
    return tab.after_table[key]


def _unit_chain(tab: _Tables, below: int, state: int, lookahead: str) -> int:
    """The state after every unit reduction (``x: y``) that ``lookahead`` sets off in ``state``."""
    actions, rules = tab.actions, tab.rules
    while True:
        a = actions[state].get(lookahead)
        if a is None or a >= 0 or rules[~a][2] != _UNIT:
            return state
        state = actions[below][rules[~a][1]]


def _read_table(scan: _TableScan, text: str, pos: int, line: int, line_start: int, head: Tok):
    """A table of plain rows after the keyword ``head``: ``(node, shape, its last token, pos,
    line, line_start)`` after its ``}``, or ``None`` (then the token loop reads it)."""
    one_line = scan.line_table(text, pos, line, line_start, head)
    if one_line is not None:
        node, shape, last, pos = one_line
        return node, shape, last, pos, line, line_start
    scanned = scan.scan(text, pos, line, line_start)
    if scanned is None:
        return None
    toks, breaks, pos, line, line_start = scanned
    try:
        made = scan.table(toks, breaks, head)
    except IndexError:  # the tokens ran out: not a whole table
        return None
    if made is None:
        return None
    node, shape = made
    return node, shape, toks[-1], pos, line, line_start


def _whole_table(tab: _Tables, state: int, text: str, pos: int, line: int, line_start: int,
                 head: Tok) -> Optional[tuple]:
    """A table of plain rows after the keyword ``head``, read in one go (:class:`_TableScan`):
    ``(node, its last token, goto state, state after '}', pos, line, line_start)``, or ``None``."""
    read = _read_table(tab.tables, text, pos, line, line_start, head)
    if read is None:
        return None
    node, shape, last, pos, line, line_start = read
    states = _table_states(tab, state, shape)
    return None if states is None else (node, last, *states, pos, line, line_start)


def _statement_states(tab: _Tables, state: int, shape: Optional[tuple]) -> Optional[tuple]:
    """For ``NAME ~ NAME(arg)`` met in ``state``, ``arg`` a number (``shape`` ``None``) or a table
    of ``shape`` (:func:`_table_states`): ``(goto, after)``, the state once ``sample_stmt`` is
    reduced and the state right after its ``)``, or ``None`` where the grammar says otherwise."""
    key = (state, shape)
    if key not in tab.after_statement:
        arg = ("NUMBER",) if shape is None else _table_types(shape)
        after = _states_after(tab, state, ("NAME", "TILDE", "NAME", "LPAR") + arg + ("RPAR",))
        goto = tab.actions[state].get("sample_stmt")
        tab.after_statement[key] = None if goto is None or after is None else (goto, after)
    return tab.after_statement[key]


def _whole_statement(tab: _Tables, state: int, text: str, name: Tok, pos: int, line: int,
                     line_start: int) -> Optional[tuple]:
    """The rest of ``name ~ Dist(0.3)`` or ``name ~ Dist(table(..) {..})`` after the token
    ``name`` (shifted in ``state``), read in one go: ``(node, last token, goto state, state
    after ')', pos, line, line_start)``, or ``None`` (then the token loop reads it).

    Most statements of a large discrete model have one of these two shapes; reading one whole
    skips five tokens and five reductions of the loop, with the node the builders would make.
    """
    scan = tab.tables
    m = scan.statement.match(text, pos)
    if m is None or m.group(1) in scan.keywords:
        return None
    shift = line_start - 1
    a, b = m.span(1)
    dist_span = _new(Span, (line, a - shift, b - shift))
    if m.group(2) is None:  # a number, then ')'
        a, b = m.span(3)
        span = _new(Span, (line, a - shift, b - shift))
        arg = S.Arg("pos", None, S.Num(_number(m.group(3)), span), span)
        shape, end = None, m.end()
    else:
        a = m.start(2) - shift
        head = tuple.__new__(Tok, ("TABLE", "table", line, a, line, a + 5))
        read = _read_table(scan, text, m.end(), line, line_start, head)
        if read is None:
            return None
        node, shape, last, at, line, line_start = read
        close = scan.close_paren.match(text, at)
        if close is None:
            return None
        arg = S.Arg("pos", None, node, _extent(head, last))
        end = close.end()
    states = _statement_states(tab, state, shape)
    if states is None:
        return None
    col = end - line_start
    last = tuple.__new__(Tok, ("RPAR", ")", line, col, line, col + 1))
    node = S.SampleStmt(name[1], S.DistCall(m.group(1), (arg,), dist_span), False, _span(name))
    return (node, last, *states, end, line, line_start)


def _push_whole(states: list, values: list, firsts: list, lasts: list, whole: tuple, first: Tok) -> tuple:
    """Onto :func:`_drive`'s stacks, a node read whole (:func:`_whole_table`,
    :func:`_whole_statement`) that starts at token ``first``: its goto state, the node, its
    first and last tokens. Returns ``(pending, pos, line, line_start)``, where the loop goes on."""
    node, last, goto, pending, pos, line, line_start = whole
    states.append(goto)
    values.append(node)
    firsts.append(first)
    lasts.append(last)
    return pending, pos, line, line_start


def _drive(tab: _Tables, text: str, build: _Builders):
    """Lex and parse ``text`` with Lark's tables, building the AST on each reduction.

    Mirrors Lark's contextual lexer (each token matched by the lexer of the
    parser state after the last shift), its line counting, the post-lexer
    :class:`_BracketNewlines`, its LALR loop, and its tree builder's
    positions (a node spans from its first child's start to its last
    child's end, parentheses included for ``(x)``). Raises :class:`_Reject`
    where Lark would raise.
    """
    actions, lexers, rules, chains, end_state = tab.actions, tab.lexers, tab.rules, tab.chains, tab.end
    starts = tab.statement_starts
    states = [tab.start]
    values: list = []
    # The first and last token of each stack entry (None for a node of no text), parallel to values:
    # a reduced node spans from its first child's first token to its last child's last token.
    firsts: list = []
    lasts: list = []
    pos, n, line, line_start = 0, len(text), 1, 0
    brackets: list[bool] = []  # per open bracket: True where newlines are dropped
    new_tok = tuple.__new__
    at_end = False
    pending = None  # after a table read whole: the state after its '}', which lexes and vets the next token
    while True:
        if pos < n:
            regex, special, keywords = lexers[states[-1] if pending is None else pending]
            m = regex.match(text, pos)
            if m is None:
                raise _Reject
            typ = m.lastgroup
            end = m.end()
            what = special.get(typ)
            if what is None:  # most tokens: names, numbers, punctuation
                tok = new_tok(Tok, (typ, m.group(), line, pos - line_start + 1, line, end - line_start + 1))
            elif what == _SKIP:  # spaces
                pos = end
                continue
            else:
                val = m.group()
                tline, tcol = line, pos - line_start + 1
                if what <= _LINES:
                    k = val.count("\n")
                    if k:
                        line += k
                        line_start = pos + val.rindex("\n") + 1
                    if what != _LINES or (typ == "_NL" and brackets and brackets[-1]):
                        pos = end  # skipped, or a newline the post-lexer drops
                        continue
                elif what == _WORDS:
                    typ = keywords[typ].get(val, typ)
                    if typ == "TABLE":
                        head = new_tok(Tok, (typ, val, tline, tcol, line, end - line_start + 1))
                        whole = _whole_table(tab, states[-1], text, end, line, line_start, head)
                        if whole is not None:
                            pending, pos, line, line_start = _push_whole(states, values, firsts, lasts, whole, head)
                            continue
                elif what == _OPEN:
                    brackets.append(True)
                elif what == _BRACE:
                    # '{' right after ')' opens a table. The token before is the stack's top:
                    # nothing has been reduced since it was shifted.
                    before = values[-1] if values else None
                    brackets.append(type(before) is Tok and before[0] == "RPAR")
                elif brackets:
                    brackets.pop()
                tok = new_tok(Tok, (typ, val, tline, tcol, line, end - line_start + 1))
            pos = end
        else:
            at_end = True
            typ, tok = "$END", None
        if pending is not None:
            if typ not in actions[pending]:
                raise _Reject
            pending = None
        while True:
            a = actions[states[-1]].get(typ)
            if a is None:
                raise _Reject
            if a >= 0:
                if at_end:  # pragma: no cover - Lark asserts this cannot happen
                    raise _Reject
                if typ == "NAME" and starts[states[-1]]:
                    whole = _whole_statement(tab, states[-1], text, tok, pos, line, line_start)
                    if whole is not None:
                        pending, pos, line, line_start = _push_whole(states, values, firsts, lasts, whole, tok)
                        break
                states.append(a)
                values.append(tok)
                firsts.append(tok)
                lasts.append(tok)
                break
            size, origin, kind, builder, pick = rules[~a]
            if kind == _UNIT:  # x: y passes y on, position and all; follow the whole chain at once
                key = (states[-2], states[-1], typ)
                top = chains.get(key)
                if top is None:
                    top = chains[key] = _unit_chain(tab, states[-2], states[-1], typ)
                states[-1] = top
                continue
            # The node takes its first child's place on the stacks: it starts where that child
            # starts (firsts stays) and ends where the last child ends.
            if size:
                kids = values[-size:]
                if size > 1:
                    del values[1 - size:], states[1 - size:], firsts[1 - size:], lasts[-size:-1]
            else:  # a rule that matched nothing (the empty program)
                kids = []
                values.append(None)
                states.append(states[-1])
                firsts.append(None)
                lasts.append(None)
            if kind == _PASS:  # ?x: "(" y ")" is y, spanning the parentheses
                value = kids[pick]
            else:
                if pick is None:
                    kept = kids
                elif type(pick) is int:
                    kept = [kids[pick]]
                else:
                    kept = pick(kids)
                if kind == _INLINE:
                    value = kept
                else:
                    value = builder(build, firsts[-1], lasts[-1], kept)
            values[-1] = value
            goto = states[-1] = actions[states[-2]][origin]
            if at_end and goto == end_state:
                return value


# ------------------------------------------------------------------ Lark's own parse, for errors
def _as_tok(t: Token) -> Tok:
    return Tok((t.type, str(t), t.line, t.column, t.end_line, t.end_column))


def _as_ends(meta) -> tuple[Optional[Tok], Optional[Tok]]:
    """Lark's meta as the (first, last) tokens of :class:`_Builders`."""
    if getattr(meta, "empty", True):
        return None, None
    return (Tok((None, None, meta.line, meta.column, meta.line, meta.column)),
            Tok((None, None, meta.end_line, meta.end_column, meta.end_line, meta.end_column)))


class _FromTree(Transformer):
    """Lark's parse tree to the AST, through the same builders as :func:`_drive`."""

    def __init__(self, build: _Builders):
        super().__init__()
        self.build = build

    def __default__(self, data, children, meta):
        fn = getattr(self.build, data, None)
        if fn is None:  # pragma: no cover - a rule without a builder stays a Tree, as before
            return Tree(data, children, meta)
        return fn(*_as_ends(meta), children)

    def __default_token__(self, token):
        return _as_tok(token)


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
    text = str(tok).replace("\n", "\\n")
    what = "a new line" if tok.type == "_NL" else repr(text)
    hint = _expected(err.expected)
    if tok.type == "_NL":
        hint = (hint + "; " if hint else "") + "a statement or query must fit on one line (tables may span lines)"
    if tok.type == "EQUAL" and "COMP_OP" in err.expected:
        hint = "inside an expression use '==' to compare"
    return CausalSyntaxError(f"unexpected {what}", line=line, column=column, source=source,
                             hint=hint or None, width=max(1, len(text)) if tok.type != "_NL" else 1)


_BRACKETS = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|#[^\n]*|(?P<b>[()\[\]{}])|(?P<n>\n)")
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


_EFFECTS = ("ATE", "ETT", "NDE", "NIE", "PN", "PS", "PNS")
# The words that begin a statement, query or block: what a mistyped first word of a line meant.
_LEADING_WORDS = ("model", "graph", "fit", "identify", "bounds", "latent", "param", "P", "E",
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
    forms = ("a query is P(...), E[...], a named effect (" + ", ".join(_EFFECTS) + "), cause(...), "
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
    return "remove it, or check the spelling"


def _parse_with_lark(source: str, start: str) -> S.Program:
    source = one_newline(source)  # as parse() reads it
    try:
        tree = _lark(start).parse(source)
        return _FromTree(_Builders(source)).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, source) from None
    except VisitError as err:  # pragma: no cover - a builder bug, not user input
        if isinstance(err.orig_exc, CausalDSLError):
            raise err.orig_exc from None
        raise


def parse(source: str, start: str = "start") -> S.Program:
    """Parse a whole program (models and queries) into a :class:`~causaldsl.language.syntax.Program`.

    Raises :class:`~causaldsl.language.errors.CausalSyntaxError` with line, column and a hint.

    >>> parse("P(y = 1 | do(x = 0))").items[0].conditions[0].assignments[0].name
    'x'
    """
    # Lines break at '\n', '\r\n' or a lone '\r', as Python reads source; the error messages
    # quote lines split the same way (errors.source_lines), so positions match the text given.
    source = one_newline(source)
    tab = _tables(start)
    if tab is not None:
        try:
            with _collector_paused():
                return _drive(tab, source, _Builders(source))
        except _Reject:
            pass
    return _parse_with_lark(source, start)


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a syntax tree is built.

    A tree is tens of thousands of new objects, none in a reference cycle, so
    the collections their allocation sets off (a full one, now and then,
    over every object of the process, JAX's included) free nothing and cost
    about a tenth of the parse. The collector is turned back on only if it
    was on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def parse_query(text: str) -> S.Query:
    """Parse a single query such as ``P(y = 1 | do(x = 0))``.

    >>> parse_query("E[y | x = 1]").expr.name
    'y'
    """
    prog = parse(text)
    queries = [item for item in prog.items if not isinstance(item, (S.ModelBlock, S.GraphBlock))]
    if len(prog.items) != 1 or len(queries) != 1:
        raise CausalSyntaxError("expected exactly one query", line=1, column=1, source=text,
                                hint="pass one query, such as P(y = 1 | do(x = 0))")
    return queries[0]
