"""The abstract syntax tree: what the parser produces and the checker reads.

Every node is a frozen dataclass carrying the :class:`~causaldsl.errors.Span`
of the text it came from, so that later stages can point at the mistake.
Nothing here evaluates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

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
    """``NAME = expr`` inside ``do(...)`` or a counterfactual subscript (value None: ``do(X)``)."""

    name: str
    value: Optional["Expr"]
    span: Span = field(default=NOSPAN, compare=False)


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
    """One key of a table row: a number, or a level name."""

    value: Union[float, str]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class TableRow:
    key: tuple[KeyAtom, ...]
    value: "Expr"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Table:
    """``table(A, B) { (a, b): expr, ... }``; keys are checked against domains."""

    parents: tuple[str, ...]
    rows: tuple[TableRow, ...]
    span: Span = field(default=NOSPAN, compare=False)
    parent_spans: tuple[Span, ...] = field(default=(), compare=False)


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


Condition = Union[Do, Observation]


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


Query = Union[ProbQuery, ExpectQuery, EffectQuery]


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
    """``identify P(Y | do(X), Z)``: an estimand in terms of observed variables."""

    query: ProbQuery
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
