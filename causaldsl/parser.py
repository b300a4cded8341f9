"""Text to syntax tree: the Lark LALR(1) parser for ``grammar/causal.lark``.

>>> prog = parse("model m {\\n  x ~ Bernoulli(0.5)\\n}\\nP(x = 1)")
>>> [type(item).__name__ for item in prog.items]
['ModelBlock', 'ProbQuery']
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Iterator

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import syntax as S
from .errors import CausalDSLError, CausalSyntaxError, Span

_TOKEN_NAMES = {
    "_NL": "a new line", "NAME": "a name", "NUMBER": "a number", "STRING": "a string",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'",
    "RBRACE": "'}'", "COMMA": "','", "EQUAL": "'='", "TILDE": "'~'", "COLON": "':'",
    "VBAR": "'|'", "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'",
    "$END": "the end of the text",
}


def grammar_text() -> str:
    """The grammar, from the installed package or the source tree."""
    try:
        packaged = resources.files("causaldsl").joinpath("grammar/causal.lark")
        if packaged.is_file():
            return packaged.read_text()
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover
        pass
    return (Path(__file__).resolve().parent.parent / "grammar" / "causal.lark").read_text()


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
            if t in ("LPAR", "LSQB"):
                stack.append("drop")
            elif t == "LBRACE":
                stack.append("drop" if prev == "RPAR" else "keep")
            elif t in ("RPAR", "RSQB", "RBRACE") and stack:
                stack.pop()
            if t == "_NL" and stack and stack[-1] == "drop":
                continue
            prev = t
            yield tok


@functools.lru_cache(maxsize=None)
def _lark(start: str) -> Lark:
    return Lark(
        grammar_text(), parser="lalr", lexer="contextual", start=start,
        propagate_positions=True, maybe_placeholders=True, postlex=_BracketNewlines(),
        cache=True,  # Lark keys its on-disk cache by grammar and options; a cold build takes ~0.2 s
    )


def _span(meta_or_tok) -> Span:
    line = getattr(meta_or_tok, "line", None) or 0
    col = getattr(meta_or_tok, "column", None) or 0
    end_line = getattr(meta_or_tok, "end_line", None)
    end_col = getattr(meta_or_tok, "end_column", None)
    return Span(line, col, end_col if end_line == line else None)


def _number(text: str) -> float:
    return float(text)


@v_args(meta=True)
class _ToAST(Transformer):
    """Lark tree to :mod:`causaldsl.syntax` nodes."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source
        self.lines = source.splitlines()

    def _text(self, meta) -> str:
        if getattr(meta, "empty", True):
            return ""
        lines = self.lines[meta.line - 1: meta.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][meta.column - 1: meta.end_column - 1]
        lines[0] = lines[0][meta.column - 1:]
        lines[-1] = lines[-1][: meta.end_column - 1]
        return " ".join(line.strip() for line in lines)

    # program
    def start(self, meta, items):
        return S.Program(tuple(items), self.source)

    def model(self, meta, ch):
        name, *stmts = ch
        params = tuple(s for s in stmts if isinstance(s, S.ParamStmt))
        return S.ModelBlock(str(name), tuple(s for s in stmts if not isinstance(s, S.ParamStmt)),
                            _span(name), params)

    def param_stmt(self, meta, ch):
        name, index, dist = ch
        names, spans = self._names(index) if index else ((), ())
        return S.ParamStmt(str(name), dist, names, _span(name), spans)

    def fit_stmt(self, meta, ch):
        name, path, *opts = ch
        return S.FitStmt(str(name), str(path)[1:-1], tuple(opts), _span(meta), self._text(meta), _span(path))

    def sample_stmt(self, meta, ch):
        latent, name, dist = ch
        return S.SampleStmt(str(name), dist, latent is not None, _span(name))

    def assign_stmt(self, meta, ch):
        latent, name, expr = ch
        return S.AssignStmt(str(name), expr, latent is not None, _span(name))

    def dist(self, meta, ch):
        name, *args = ch
        return S.DistCall(str(name), tuple(a for a in args if a is not None), _span(name))

    def pos_arg(self, meta, ch):
        return S.Arg("pos", None, ch[0], _span(meta))

    def level_arg(self, meta, ch):
        return S.Arg("level", str(ch[0]), ch[1], _span(ch[0]))

    def kw_arg(self, meta, ch):
        return S.Arg("kw", str(ch[0]), ch[1], _span(ch[0]))

    # expressions
    def number(self, meta, ch):
        return S.Num(_number(ch[0]), _span(ch[0]))

    def string(self, meta, ch):
        return S.Str(str(ch[0])[1:-1], _span(ch[0]))

    def call(self, meta, ch):
        name, *args = ch
        return S.Call(str(name), tuple(a for a in args if a is not None), _span(name))

    def var_term(self, meta, ch):
        name, world = ch
        return S.Var(str(name), world, _span(name))

    def index_term(self, meta, ch):
        name, *indices = ch
        return S.Index(str(name), tuple(indices), _span(name))

    def assignments(self, meta, ch):
        return tuple(ch)

    def assignment(self, meta, ch):
        return S.Assignment(str(ch[0]), ch[1], _span(ch[0]))

    def binop(self, meta, ch):
        return S.BinOp(str(ch[1]), ch[0], ch[2], _span(ch[1]))

    def pow(self, meta, ch):
        return S.BinOp("**", ch[0], ch[1], _span(meta))

    def unary(self, meta, ch):
        return S.Unary(str(ch[0]), ch[1], _span(ch[0]))

    def compare(self, meta, ch):
        return S.Compare(str(ch[1]), ch[0], ch[2], _span(ch[1]))

    def or_(self, meta, ch):
        return S.BoolOp("or", ch[0], ch[1], _span(meta))

    def and_(self, meta, ch):
        return S.BoolOp("and", ch[0], ch[1], _span(meta))

    def not_(self, meta, ch):
        return S.Not(ch[0], _span(meta))

    def ifelse(self, meta, ch):
        return S.IfElse(ch[0], ch[1], ch[2], _span(meta))

    def table(self, meta, ch):
        names = [c for c in ch if isinstance(c, Token)]
        rows = [c for c in ch if isinstance(c, S.TableRow)]
        return S.Table(tuple(str(n) for n in names), tuple(rows), _span(meta),
                       tuple(_span(n) for n in names))

    def table_row(self, meta, ch):
        return S.TableRow(ch[0], ch[1], _span(meta))

    def table_key(self, meta, ch):
        return tuple(ch)

    def key_atom(self, meta, ch):
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return item
        if item.type == "STRING":
            return S.KeyAtom(str(item)[1:-1], _span(item))
        return S.KeyAtom(str(item), _span(item))

    def signed_number(self, meta, ch):
        sign, num = ch
        value = _number(num)
        if sign is not None and str(sign) == "-":
            value = -value
        return S.KeyAtom(value, _span(meta))

    # queries
    def prob_query(self, meta, ch):
        *events, conds = ch
        return S.ProbQuery(tuple(events), conds or (), _span(meta), self._text(meta))

    def expect_query(self, meta, ch):
        expr, conds = ch
        return S.ExpectQuery(expr, conds or (), _span(meta), self._text(meta))

    def effect_query(self, meta, ch):
        effect, treat, outcome, mediator, *opts = ch
        spans = (_span(treat), _span(outcome)) + ((_span(mediator),) if mediator else ())
        return S.EffectQuery(str(effect), str(treat), str(outcome),
                             None if mediator is None else str(mediator),
                             tuple(opts), _span(effect), self._text(meta), spans)

    def effect_option(self, meta, ch):
        return (str(ch[0]), ch[1], _span(ch[0]))

    def eq_event(self, meta, ch):
        return S.EqEvent(ch[0], ch[1], _span(meta))

    def expr_event(self, meta, ch):
        return S.ExprEvent(ch[0], _span(meta))

    def conditions(self, meta, ch):
        return tuple(ch)

    def do_clause(self, meta, ch):
        return S.Do(tuple(ch), _span(meta))

    def observation(self, meta, ch):
        return S.Observation(ch[0], ch[1], _span(meta))

    def do_name(self, meta, ch):
        return S.Assignment(str(ch[0]), None, _span(ch[0]))

    # graphs
    def graph_block(self, meta, ch):
        name, *stmts = ch
        edges, latents, nodes = [], [], {}
        for kind, items in stmts:
            if kind == "edges":
                toks, ops = items
                for t in toks:
                    nodes.setdefault(str(t), _span(t))
                for a, op, b in zip(toks, ops, toks[1:]):
                    if op == "<-":
                        edges.append(S.Edge(str(b), "->", str(a), _span(op)))
                    else:
                        edges.append(S.Edge(str(a), str(op), str(b), _span(op)))
            else:
                for t in items:
                    latents.append((str(t), _span(t)))
                    nodes.setdefault(str(t), _span(t))
        return S.GraphBlock(str(name), tuple(edges), tuple(latents), tuple(nodes.items()), _span(name))

    def edge_chain(self, meta, ch):
        toks = [c for c in ch if isinstance(c, Token) and c.type == "NAME"]
        ops = [c for c in ch if not (isinstance(c, Token) and c.type == "NAME")]
        return ("edges", (toks, ops))

    def edge_op(self, meta, ch):
        return ch[0]

    def latent_decl(self, meta, ch):
        return ("latent", [c for c in ch if c.type == "NAME"])

    def identify_query(self, meta, ch):
        return S.IdentifyQuery(ch[0], _span(meta), self._text(meta))

    def name_list(self, meta, ch):
        return tuple(ch)

    def _names(self, toks):
        return tuple(str(t) for t in toks), tuple(_span(t) for t in toks)

    def dsep_query(self, meta, ch):
        xs, ys, zs = ch
        zs = zs or ()
        names = [self._names(x) for x in (xs, ys, zs)]
        return S.GraphQuery("dsep", tuple(n for n, _ in names), tuple(sp for _, sp in names),
                            _span(meta), self._text(meta))

    def adjustment_query(self, meta, ch):
        names = [self._names(x) for x in ch]
        return S.GraphQuery("adjustment", tuple(n for n, _ in names), tuple(sp for _, sp in names),
                            _span(meta), self._text(meta))

    def instruments_query(self, meta, ch):
        return S.GraphQuery("instruments", (str(ch[0]), str(ch[1])), (_span(ch[0]), _span(ch[1])),
                            _span(meta), self._text(meta))

    def independences_query(self, meta, ch):
        return S.GraphQuery("independences", (), (), _span(meta), self._text(meta))

    def admg_query(self, meta, ch):
        return S.GraphQuery("admg", (), (), _span(meta), self._text(meta))

    def relatives_query(self, meta, ch):
        kind, names = ch
        n, sp = self._names(names)
        return S.GraphQuery(str(kind), n, sp, _span(meta), self._text(meta))

    def value(self, meta, ch):
        item = ch[0]
        if isinstance(item, S.KeyAtom):
            return S.Value(item.value, item.span)
        if item.type == "STRING":
            return S.Value(str(item)[1:-1], _span(item))
        return S.Value(str(item), _span(item))


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
    if isinstance(err, UnexpectedCharacters):
        ch = source.splitlines()[line - 1][column - 1] if line >= 1 else "?"
        return CausalSyntaxError(f"unexpected character {ch!r}", line=line, column=column,
                                 source=source, hint=_hint_for_char(ch))
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        lines = source.rstrip().splitlines() or [""]
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


def parse(source: str, start: str = "start") -> S.Program:
    """Parse a whole program (models and queries) into a :class:`~causaldsl.syntax.Program`.

    Raises :class:`~causaldsl.errors.CausalSyntaxError` with line, column and a hint.

    >>> parse("P(y = 1 | do(x = 0))").items[0].conditions[0].assignments[0].name
    'x'
    """
    try:
        tree = _lark(start).parse(source)
        return _ToAST(source).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, source) from None
    except VisitError as err:  # pragma: no cover - a transformer bug, not user input
        if isinstance(err.orig_exc, CausalDSLError):
            raise err.orig_exc from None
        raise


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
