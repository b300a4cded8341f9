"""The abstract syntax tree: what the parser produces and the checker reads.

Every node is a frozen dataclass carrying the :class:`~causaldsl.language.errors.Span`
of the text it came from, so that later stages can point at the mistake.
Nothing here evaluates anything.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Union

from .errors import Span

NOSPAN = Span(0, 0)


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class Num:
    value: float
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Str:
    value: str
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Assignment:
    """``NAME = expr`` inside ``do(...)`` or a counterfactual subscript (value None: ``do(X)``),
    or ``NAME ~ Dist(args)`` (value None, ``dist`` set: a stochastic intervention)."""

    name: str
    value: Optional["Expr"]
    span: Span = field(default=NOSPAN, compare=False)
    dist: Optional["DistCall"] = None
    text: str = field(default="", compare=False)  # the item as written: "X ~ Bernoulli(0.3)"


@dataclass(frozen=True)
class Var:
    """A variable; with ``world`` set, its value in a counterfactual world."""

    name: str
    world: Optional[tuple[Assignment, ...]] = None
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * / **
    left: "Expr"
    right: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Unary:
    op: str  # + -
    operand: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: "Expr"
    right: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class BoolOp:
    op: str  # and or
    left: "Expr"
    right: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class IfElse:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple["Expr", ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class KeyAtom:
    """A signed number, a name or a string as the parser reads it: one key of a table row,
    or a query's value (:class:`Value`)."""

    value: Union[float, str]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Vector:
    """``[a, b, ...]``: the levels of ``Categorical(levels = [...])``, its probabilities
    (``probs = [...]``), or one row of a compact table (``table(A) { a: [0.2, 0.8] }``). The
    checker turns a compact ``Categorical`` into one table per level (see
    :func:`causaldsl.model.checker.expand_compact`); nothing else holds a vector."""

    items: tuple["Expr", ...]
    span: Span = field(default=NOSPAN, compare=False)


def unquote(text: str) -> str:
    r"""The value of a string as written, its quotes dropped and each backslash escape read as the
    character it escapes.

    >>> print(unquote(r'"say \"hi\""'), unquote("'<5'"), unquote(r'"a\\b"'))
    say "hi" <5 a\b
    """
    body = text[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE.sub(r"\1", body)


_ESCAPE = re.compile(r"\\(.)")


def quote(value: str) -> str:
    r"""``value`` as a string of the language, in double quotes, ``\`` and ``"`` escaped: what
    :func:`unquote` reads back.

    >>> print(quote('say "hi"'), quote("a\\b"))
    "say \"hi\"" "a\\b"
    >>> unquote(quote('a\\b"c')) == 'a\\b"c'
    True
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Words a variable may not be called unless its name is written in backquotes (`do`): the
# language's operators, and words the grammar reads as something else where a variable may stand
# (P(y | do = 1) reads 'do' as an intervention; 'if', 'not', 'table' start an expression, 'latent',
# 'param' a statement). Other words (E, P, model, ATE, ...) are names wherever a name stands.
RESERVED = frozenset({"if", "then", "else", "and", "or", "not", "do", "table", "latent", "param"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_text(name: str) -> str:
    """``name`` as a variable's name is written: bare where it is a plain name that is not
    :data:`RESERVED`, else in backquotes (which no name may hold, nor a line break).

    >>> name_text("E"), name_text("do"), name_text("light on")
    ('E', '`do`', '`light on`')
    """
    if _IDENTIFIER.fullmatch(name) and name not in RESERVED:
        return name
    if "`" in name or "\n" in name or "\r" in name or not name:
        from .errors import CausalDSLError
        raise CausalDSLError(f"the name {name!r} cannot be written in the language",
                             hint="a name may hold any character but a backquote and a line break: rename it")
    return f"`{name}`"


def level_text(level: str) -> str:
    """``level`` as a level's name is written: bare where it is a plain name that is not a word of
    the language, else as a string.

    >>> level_text("yes"), level_text("<5"), level_text("0"), level_text("not")
    ('yes', '"<5"', '"0"', '"not"')
    """
    if _IDENTIFIER.fullmatch(level) and level not in RESERVED:
        return level
    return quote(level)


class RowSpans(NamedTuple):
    """Where each row of a table and each atom of its key are (see :attr:`Table.places`).

    >>> RowSpans((Span(1, 3, 9),), ((Span(1, 3, 4),),)).key(0, 0)
    Span(line=1, column=3, end_column=4)
    """

    rows: tuple[Span, ...]
    keys: tuple[tuple[Span, ...], ...]

    def row(self, i: int) -> Span:
        return self.rows[i]

    def key(self, i: int, j: int) -> Span:
        return self.keys[i][j]


@dataclass(frozen=True)
class Table:
    """``table(A, B) { (a, b): expr, ... }``: row ``i`` maps the key ``keys[i]`` (numbers or
    level names, one per parent; the checker turns them into codes) to ``values[i]``.

    Rows are kept as parallel tuples, not an object per row with one per key atom: a large
    discrete model is mostly table rows, and those objects were most of its parse.
    ``places`` says where each row and key atom is, for messages: any object with
    ``row(i)`` and ``key(i, j)`` giving spans, a :class:`RowSpans` or the parser's own,
    which works them out only when asked.

    >>> t = Table(("a",), ((0.0,), (1.0,)), (Num(0.2), Num(0.7)))
    >>> t.row_span(1), t == Table(("a",), ((0.0,), (1.0,)), (Num(0.2), Num(0.7)), places=None)
    (Span(line=0, column=0, end_column=None), True)
    """

    parents: tuple[str, ...]
    keys: tuple[tuple[Union[float, str], ...], ...]
    values: tuple["Expr", ...]
    span: Span = field(default=NOSPAN, compare=False)
    parent_spans: tuple[Span, ...] = field(default=(), compare=False)
    places: Optional[object] = field(default=None, compare=False, repr=False)

    def in_grid_order(self, domains) -> bool:
        """Whether the keys are every combination of ``domains`` (one sequence of values per
        parent) once, in ``itertools.product`` order: how conditional probability tables are
        written, and what the checker and the exact engine can read without looking row by row.

        >>> Table(("a",), ((0.0,), (1.0,)), (Num(0.2), Num(0.7))).in_grid_order([(0.0, 1.0)])
        True
        """
        grid = list(itertools.product(*domains))
        return len(grid) == len(self.keys) and list(self.keys) == grid

    def row_span(self, i: int) -> Span:
        """Where row ``i`` is, from its key to its value."""
        return NOSPAN if self.places is None else self.places.row(i)

    def key_span(self, i: int, j: int) -> Span:
        """Where atom ``j`` of row ``i``'s key is."""
        return NOSPAN if self.places is None else self.places.key(i, j)


@dataclass(frozen=True)
class Level:
    """A named level, resolved by the checker to its integer code."""

    name: str
    code: int
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Index:
    """``p[a, b]``: one entry of an indexed parameter, picked by the values of ``a`` and ``b``.

    ``axes`` (filled in by the checker) holds the sorted values of each
    indexing variable, so that a value maps to its position.
    """

    name: str
    indices: tuple["Expr", ...]
    span: Span = field(default=NOSPAN, compare=False)
    axes: tuple[tuple[float, ...], ...] = ()


Expr = Union[Num, Str, Var, BinOp, Unary, Compare, BoolOp, Not, IfElse, Call, Table, Level, Index]


# ------------------------------------------------------------------ model statements
@dataclass(frozen=True)
class Arg:
    kind: str  # "pos" | "level" | "kw"
    name: Optional[str]
    value: Expr
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class DistCall:
    name: str
    args: tuple[Arg, ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class SampleStmt:
    """``[latent] NAME ~ Dist(args)``."""

    name: str
    dist: DistCall
    latent: bool = False
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class AssignStmt:
    """``[latent] NAME := expr``."""

    name: str
    expr: Expr
    latent: bool = False
    span: Span = field(default=NOSPAN, compare=False)


Statement = Union[SampleStmt, AssignStmt]


@dataclass(frozen=True)
class ParamStmt:
    """``param NAME[a, b] ~ Prior(args)``: an uncertain parameter, one per level of ``a`` x ``b``."""

    name: str
    dist: DistCall
    index: tuple[str, ...] = ()
    span: Span = field(default=NOSPAN, compare=False)
    index_spans: tuple[Span, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ModelBlock:
    name: str
    statements: tuple[Statement, ...]
    span: Span = field(default=NOSPAN, compare=False)
    params: tuple[ParamStmt, ...] = ()
    options: tuple[tuple, ...] = ()  # (name, Value, span) of ``model NAME (name = value, ...)``


@dataclass(frozen=True)
class FitStmt:
    """``fit NAME to "data.csv", option = value, ...``."""

    model: str
    path: str
    options: tuple[tuple[str, "Value", Span], ...]
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)
    path_span: Span = field(default=NOSPAN, compare=False)


# ------------------------------------------------------------------ queries
@dataclass(frozen=True)
class Value:
    """A value on the right of ``=`` in an event: a number or a level name."""

    value: Union[float, str]
    span: Span = field(default=NOSPAN, compare=False)
    # False for values a named effect writes itself (PN's "Y = 0"): outside the
    # domain they are simply impossible events rather than the user's mistake.
    strict: bool = field(default=True, compare=False)


@dataclass(frozen=True)
class EqEvent:
    term: Var
    value: Value
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class ExprEvent:
    """``P(Y)`` (a bare variable: its whole distribution) or ``P(Y > 2)``."""

    expr: Expr
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Do:
    assignments: tuple[Assignment, ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Observation:
    term: Var
    value: Optional[Value]  # None only in identify queries
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Given:
    """A condition that is a logical expression: ``x > 1``, ``w != sunny``, ``x = 1 or z = 0``
    (an observation ``Y = value`` is an :class:`Observation`)."""

    expr: Expr
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


Condition = Union[Do, Observation, Given]


@dataclass(frozen=True)
class ProbQuery:
    events: tuple[Union[EqEvent, ExprEvent], ...]
    conditions: tuple[Condition, ...]
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class ExpectQuery:
    expr: Expr
    conditions: tuple[Condition, ...]
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class EffectQuery:
    effect: str  # ATE ETT NDE NIE PN PS PNS
    treatment: str
    outcome: str
    mediator: Optional[str]
    options: tuple[tuple[str, Value, Span], ...]  # name, value, where the name is
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)
    spans: tuple[Span, ...] = field(default=(), compare=False)  # treatment, outcome, mediator


@dataclass(frozen=True)
class CauseQuery:
    """``cause(X = x, ... -> event | conditions)`` (is ``X = x`` an actual cause of the event?)
    or ``responsibility(X = x -> event | conditions)``; ``definition = ...`` among the
    conditions is an option, kept in ``options``."""

    kind: str  # "cause" | "responsibility"
    cause: tuple[Assignment, ...]
    effect: Expr  # the event, '=' read as '=='
    conditions: tuple[Condition, ...]
    options: tuple[tuple[str, Value, Span], ...]  # name, value, where the name is
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


# ------------------------------------------------------------------ questions that combine
@dataclass(frozen=True)
class VarQuery:
    """``Var[expr | conditions]``: the variance of ``expr`` given the conditions."""

    expr: Expr
    conditions: tuple[Condition, ...]
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class QuantileQuery:
    """``Q[expr, level | conditions]``: the ``level`` quantile of ``expr`` given the conditions."""

    expr: Expr
    level: float
    conditions: tuple[Condition, ...]
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)
    level_span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class QueryNumber:
    """A constant in arithmetic between queries (``2 * ATE(x -> y)``)."""

    value: float
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class QueryArith:
    """Arithmetic between queries: ``op`` is ``+ - * /`` with two operands, or ``neg`` with
    ``right`` None (``-E[y]``); each operand a query, a :class:`QueryNumber` or another
    ``QueryArith``."""

    op: str
    left: object
    right: object
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


Query = Union[ProbQuery, ExpectQuery, EffectQuery, CauseQuery, VarQuery, QuantileQuery, QueryArith]


@dataclass(frozen=True)
class Edge:
    """``a -> b`` or ``a <-> b`` in a graph block (``a <- b`` is stored as ``b -> a``)."""

    source: str
    op: str  # "->" | "<->"
    target: str
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class GraphBlock:
    name: str
    edges: tuple[Edge, ...]
    latents: tuple[tuple[str, Span], ...]
    nodes: tuple[tuple[str, Span], ...]  # every node named, in order of appearance
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class IdentifyQuery:
    """``identify P(Y | do(X), Z)``: an estimand in terms of observed variables; ``options`` are
    ``(name, value, span)``, e.g. ``data = observations`` for a counterfactual query."""

    query: ProbQuery
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)
    options: tuple = ()


@dataclass(frozen=True)
class BoundsQuery:
    """``bounds PNS(X -> Y)``, ``bounds P(Y = 1 | do(X = 1)), data = "trial.csv"``: an interval for a
    quantity the data do not pin down (see :mod:`causaldsl.graphs.bound_queries`)."""

    query: Union[ProbQuery, EffectQuery]
    options: tuple[tuple[str, Value, Span], ...]  # name, value, where the name is
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class GraphQuery:
    """A question about the graph alone.

    ``kind`` is one of ``dsep`` (args: xs, ys, zs), ``adjustment`` (xs, ys),
    ``instruments`` (x, y), ``independences``, ``ancestors``, ``descendants``,
    ``parents``, ``children``, ``markov_blanket`` (names) or ``admg``.
    """

    kind: str
    args: tuple
    spans: tuple
    span: Span = field(default=NOSPAN, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Program:
    """A whole file or cell: models and the queries that follow each."""

    items: tuple  # ModelBlock | GraphBlock | Query | IdentifyQuery | GraphQuery
    source: str = field(default="", compare=False)


def literal(expr: Expr) -> Union[float, str, None]:
    """The number or bare name an expression in value position writes (``1``, ``-2``, ``"a"``,
    ``sunny``), or None where it is not a literal.

    >>> literal(Unary("-", Num(2.0))), literal(Var("sunny")), literal(BinOp("+", Num(1.0), Num(2.0))) is None
    (-2.0, 'sunny', True)
    """
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Unary) and isinstance(expr.operand, Num):
        return -expr.operand.value if expr.op == "-" else expr.operand.value
    if isinstance(expr, Str):
        return expr.value
    if isinstance(expr, Var) and expr.world is None:
        return expr.name
    return None
