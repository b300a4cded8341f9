"""Errors raised for mistakes in user input.

Every error a user can cause is a :class:`CausalDSLError`. It knows where the
mistake is (``line``, ``column``, counted from 1), quotes the source line with a
caret under the spot, and carries a ``hint`` that says how to fix it.

>>> err = UnknownNameError("unknown variable 'smokng'", line=2, column=5,
...                        source="model m {\\n    smokng ~ Bernoulli(0.5)\\n}",
...                        hint="did you mean 'smoking'?")
>>> print(err)
line 2, column 5: unknown variable 'smokng'
    smokng ~ Bernoulli(0.5)
    ^
hint: did you mean 'smoking'?
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, NamedTuple, Optional


class Span(NamedTuple):
    """Where a piece of text sits in its source: 1-based line and column.

    A named tuple, not a dataclass: the parser makes one per token it keeps, and a tuple
    is made in half the time.
    """

    line: int
    column: int
    end_column: Optional[int] = None


class CausalDSLError(Exception):
    """A mistake in a model, a query or the way they are used.

    ``message`` says what is wrong, ``line``/``column`` where (1-based, or
    ``None`` when the mistake is not in any text), ``hint`` how to fix it.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        line: Optional[int] = None,
        column: Optional[int] = None,
        source: Optional[str] = None,
        hint: Optional[str] = None,
        width: int = 1,
        span: Optional[Span] = None,
    ):
        if span is not None:
            line, column = span.line, span.column
            if span.end_column and span.end_column > span.column:
                width = span.end_column - span.column
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        self.hint = hint
        self.width = max(1, width)
        super().__init__(self._format())

    def with_source(self, source: str, line_offset: int = 0) -> "CausalDSLError":
        """Return the same error quoting ``source`` (lines shifted by ``line_offset``)."""
        line = None if self.line is None else self.line + line_offset
        err = type(self).__new__(type(self))
        CausalDSLError.__init__(
            err, self.message, line=line, column=self.column, source=source,
            hint=self.hint, width=self.width,
        )
        for key, val in self.__dict__.items():
            err.__dict__.setdefault(key, val)
        return err

    @property
    def source_line(self) -> Optional[str]:
        if self.source is None or self.line is None:
            return None
        lines = source_lines(self.source)
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return None

    def _format(self) -> str:
        head = self.message
        if self.line is not None:
            where = f"line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
            head = f"{where}: {self.message}"
        parts = [head]
        text = self.source_line
        if text is not None and self.column is not None:
            caret_col = max(0, self.column - 1)
            width = min(self.width, max(1, len(text) - caret_col))
            parts.append(text)
            pad = "".join(c if c == "\t" else " " for c in text[:caret_col])
            parts.append(pad + "^" * width)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a Python traceback."""
        return [f"{type(self).__name__}: {self}"]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` as the parser counts them: broken at ``\\n``, ``\\r\\n`` and a lone
    ``\\r`` (as Python reads source), nowhere else (``str.splitlines`` also breaks at form feeds
    and other separators, which would shift the quoted line).

    >>> source_lines("a\\r\\nb\\rc # \\x0c d\\n")
    ['a', 'b', 'c # \\x0c d', '']
    """
    return _LINE_BREAK.split(text)


def one_newline(text: str) -> str:
    """``text`` with every line break (``\\r\\n``, lone ``\\r``) written ``\\n``.

    >>> one_newline("a\\r\\nb\\rc")
    'a\\nb\\nc'
    """
    return text if "\r" not in text else _LINE_BREAK.sub("\n", text)


class CausalSyntaxError(CausalDSLError):
    """The text does not follow the grammar."""


class UnknownNameError(CausalDSLError):
    """A name that no statement defines."""


class DuplicateDefinitionError(CausalDSLError):
    """A variable or model defined twice."""


class CycleError(CausalDSLError):
    """The structural equations form a directed cycle."""


class DistributionError(CausalDSLError):
    """An unknown distribution or a wrong argument list."""


class ProbabilityError(CausalDSLError):
    """A probability or parameter outside its valid range."""


class TableError(CausalDSLError):
    """A table with missing, extra, duplicate or mistyped rows."""


class QueryError(CausalDSLError):
    """A query that cannot be asked of this model."""


class DomainError(QueryError):
    """A value outside the domain of its variable."""


class ZeroProbabilityError(QueryError):
    """Conditioning on an event of probability zero."""


class EffectError(QueryError):
    """A named effect that does not apply as written."""


class MethodError(QueryError):
    """An inference method that cannot answer this query."""


def did_you_mean(name: str, candidates: Iterable[str]) -> Optional[str]:
    """A hint naming the closest candidate, or ``None``.

    >>> did_you_mean("smokng", ["smoking", "tar", "cancer"])
    "did you mean 'smoking'?"
    """
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class DataError(CausalDSLError):
    """Data that cannot be matched to the model: a missing column, an unknown level, a wrong type."""


class FitError(CausalDSLError):
    """Fitting cannot start or cannot be trusted: an unsupported model shape, impossible data."""


class FitWarning(UserWarning):
    """Sampler diagnostics are poor (R-hat, effective sample size, divergences)."""
