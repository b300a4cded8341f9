"""Questions from Python values: ``P(Y | E = e, do(X = x))`` built as the syntax tree the parser
makes of its text, and that text, without running the parser.

An analyst's program holds its evidence in dictionaries (``{"xray": "yes"}``). Writing them into a
query string means quoting each level and backquoting odd names; parsing the string back costs
as much as the rest of a new question on a small network. So the question is built here, piece
by piece, as the text that :func:`~causaldsl.language.parser.parse_query` reads to the same tree
(names by :func:`~causaldsl.language.syntax.name_text`, levels as strings): every node keeps the
span of its piece of that text, so a misspelt name is reported with a caret under it, exactly as
if the text had been typed.

>>> q = probability_question("dysp", given={"xray": "yes"}, do={"lung": "no"})
>>> q.text
'P(dysp | xray = "yes", do(lung = "no"))'
>>> from causaldsl.language.parser import parse_query
>>> q == parse_query(q.text)
True
"""

from __future__ import annotations

from numbers import Real
from typing import Mapping, Optional, Union

from . import syntax as S
from .errors import CausalDSLError, Span

Level = Union[str, float, int, bool]


class _Writer:
    """The question's text, appended piece by piece, with the span of each piece (line 1)."""

    def __init__(self):
        self.parts: list[str] = []
        self.column = 1

    def put(self, text: str) -> Span:
        start = self.column
        self.parts.append(text)
        self.column += len(text)
        return Span(1, start, self.column)

    def name(self, name: str) -> S.Var:
        if not isinstance(name, str):
            self.refuse(name, f"a variable is named by a string, not {name!r}",
                        'e.g. probability_question("y", given={"x": 1})')
        try:
            return S.Var(name, None, self.put(S.name_text(name)))
        except CausalDSLError as e:  # a name no text can hold (a backquote, a line break)
            self.refuse(name, e.message, e.hint)

    def value(self, value: Level) -> tuple[Union[str, float], Span]:
        if isinstance(value, str):
            return value, self.put(S.quote(value))
        if isinstance(value, Real):  # bool among them: True is 1
            from .writer import number_text

            try:
                return float(value), self.put(number_text(float(value)))
            except CausalDSLError as e:  # inf, NaN
                self.refuse(value, e.message, e.hint)
        self.refuse(value, f"a value is a level's name (a string) or a number, not {value!r}",
                    'e.g. given={"xray": "yes"} or given={"x": 1}')

    def refuse(self, piece, message: str, hint: Optional[str]):
        """Raise the error of ``piece``, which cannot be written: the question so far with the
        piece's ``repr`` where it would go, and the caret under it."""
        at = self.put(repr(piece).replace("\n", " "))
        raise CausalDSLError(message, span=at, source=self.text(), hint=hint)

    def pairs(self, values: Mapping[str, Level], first: str) -> list[tuple[S.Var, Union[str, float], Span]]:
        """``name = value`` for each item, separated by commas, the first after ``first``: per
        item the name's node, the value and the value's span."""
        out = []
        for k, (name, value) in enumerate(values.items()):
            self.put(", " if k else first)
            var = self.name(name)
            self.put(" = ")
            out.append((var, *self.value(value)))
        return out

    def between(self, a: Span, b: Span) -> str:
        """The text written from the start of ``a`` to the end of ``b``."""
        return self.text()[a.column - 1: b.end_column - 1]

    def text(self) -> str:
        return "".join(self.parts)


def _expr(value: Union[str, float], span: Span) -> S.Expr:
    """A set value as the parser reads it: a negative number is ``-`` applied to its magnitude."""
    if isinstance(value, str):
        return S.Str(value, span)
    if value < 0:
        return S.Unary("-", S.Num(-value, Span(1, span.column + 1, span.end_column)),
                       Span(1, span.column, span.column + 1))
    return S.Num(value, span)


def probability_question(target: Union[str, Mapping[str, Level]], given: Optional[Mapping[str, Level]] = None,
                         do: Optional[Mapping[str, Level]] = None) -> S.ProbQuery:
    """``P(target | given, do(do))`` as a syntax tree, its ``.text`` the query as written.

    ``target`` is a variable's name (its whole distribution) or a mapping of names to values (the
    probability that each takes its value); ``given`` observes values, ``do`` sets them. A value
    is a level's name or a number.

    >>> print(probability_question({"y": 1}, given={"light on": "<5"}).text)
    P(y = 1 | `light on` = "<5")
    >>> print(probability_question("y").text)
    P(y)
    """
    w = _Writer()
    start = w.put("P(")
    if isinstance(target, Mapping):
        if not target:
            w.refuse(target, "the event is empty: name at least one variable",
                     'e.g. {"y": 1}, or a variable\'s name for its distribution')
        events = [S.EqEvent(var, S.Value(v, vspan), Span(1, var.span.column, vspan.end_column))
                  for var, v, vspan in w.pairs(target, first="")]
    else:
        var = w.name(target)
        events = [S.ExprEvent(var, var.span)]
    conditions: list = [S.Observation(var, S.Value(v, vspan), Span(1, var.span.column, vspan.end_column))
                        for var, v, vspan in w.pairs(given or {}, first=" | ")]
    if do:
        w.put(", " if conditions else " | ")
        opened = w.put("do(")
        assignments = [S.Assignment(var.name, _expr(v, vspan), var.span, text=w.between(var.span, vspan))
                       for var, v, vspan in w.pairs(do, first="")]
        closed = w.put(")")
        conditions.append(S.Do(tuple(assignments), Span(1, opened.column, closed.end_column)))
    end = w.put(")")
    return S.ProbQuery(tuple(events), tuple(conditions), Span(1, start.column, end.end_column), w.text())
