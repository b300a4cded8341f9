"""Syntax tree to text: an expression written back as the language reads it.

:func:`expr_text` is the inverse of the parser on expressions: ``parse(expr_text(e))`` is ``e``
(numbers written with :func:`repr`, which reads back exactly; parentheses only where the
grammar's precedence needs them). Names are written by :func:`~causaldsl.language.syntax.name_text`,
levels by :func:`~causaldsl.language.syntax.level_text`. Used by
:mod:`causaldsl.interchange.text` to write a whole model.

>>> from causaldsl.language.parser import parse_query
>>> expr_text(parse_query("E[(a + b) * -c ** 2 - (d - e)]").expr)
'(a + b) * -c ** 2 - (d - e)'
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Optional

from . import syntax as S
from .errors import CausalDSLError

# Precedence levels of the grammar (grammar/causal.lark), loosest first.
_IF, _OR, _AND, _NOT, _CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = range(10)

KeyWriter = Callable[[str, float], str]


def number_text(value: float) -> str:
    """A number as the language reads it back exactly: whole numbers without a point, others by
    :func:`repr` (shortest text that reads back to the same float).

    >>> number_text(2.0), number_text(0.1), number_text(1e-20), number_text(-3.0)
    ('2', '0.1', '1e-20', '-3')
    """
    v = float(value)
    if not math.isfinite(v):
        raise CausalDSLError(f"the number {v!r} cannot be written in the language",
                             hint="the language writes finite numbers only")
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def key_text(value, levels: Optional[tuple] = None) -> str:
    """One atom of a table key: a level's name when ``levels`` are given (``value`` its code),
    else the number.

    >>> key_text(1.0, ("no", "<5")), key_text(-2.0)
    ('"<5"', '-2')
    """
    if isinstance(value, str):
        return S.level_text(value)
    if levels:
        return S.level_text(levels[int(value)])
    return number_text(value)


def expr_text(expr: S.Expr, levels: Mapping[str, Optional[tuple]] = {}) -> str:
    """``expr`` as text that parses back to it; ``levels`` gives the level names of the variables
    whose table keys are codes (a checked model's tables).

    >>> from causaldsl.language.parser import parse_query
    >>> expr_text(parse_query("E[if not (x > 1 or y) then 2 else table(z) {0: 0.5, 1: 1}]").expr)
    'if not (x > 1 or y) then 2 else table(z) { 0: 0.5, 1: 1 }'
    """
    return _text(expr, levels)[0]


def _wrap(part: tuple, at_least: int) -> str:
    text, level = part
    return text if level >= at_least else f"({text})"


def _text(e, levels) -> tuple[str, int]:
    """``(text, precedence)`` of ``e``."""
    t = type(e)
    if t is S.Num:
        v = float(e.value)
        return (number_text(v), _UNARY if v < 0 else _ATOM)
    if t is S.Str:
        return S.quote(e.value), _ATOM
    if t is S.Level:
        return S.quote(e.name), _ATOM
    if t is S.Var:
        if e.world:
            world = ", ".join(f"{S.name_text(a.name)} = {_text(a.value, levels)[0]}" for a in e.world)
            return f"{S.name_text(e.name)}[{world}]", _ATOM
        return S.name_text(e.name), _ATOM
    if t is S.Index:
        return f"{S.name_text(e.name)}[{', '.join(_text(i, levels)[0] for i in e.indices)}]", _ATOM
    if t is S.Call:
        return f"{e.fn}({', '.join(_text(a, levels)[0] for a in e.args)})", _ATOM
    if t is S.Table:
        return table_text(e, levels, lambda v: _text(v, levels)[0]), _ATOM
    if t is S.BinOp:
        left, right = _text(e.left, levels), _text(e.right, levels)
        if e.op == "**":  # atom "**" factor
            return f"{_wrap(left, _ATOM)} ** {_wrap(right, _UNARY)}", _POW
        level = _ADD if e.op in "+-" else _MUL
        return f"{_wrap(left, level)} {e.op} {_wrap(right, level + 1)}", level
    if t is S.Unary:
        return f"{e.op}{_wrap(_text(e.operand, levels), _UNARY)}", _UNARY
    if t is S.Compare:
        op = "==" if e.op == "=" else e.op
        return f"{_wrap(_text(e.left, levels), _ADD)} {op} {_wrap(_text(e.right, levels), _ADD)}", _CMP
    if t is S.BoolOp:
        level = _OR if e.op == "or" else _AND
        return f"{_wrap(_text(e.left, levels), level)} {e.op} {_wrap(_text(e.right, levels), level + 1)}", level
    if t is S.Not:
        return f"not {_wrap(_text(e.operand, levels), _NOT)}", _NOT
    if t is S.IfElse:
        return (f"if {_text(e.cond, levels)[0]} then {_text(e.then, levels)[0]} "
                f"else {_text(e.other, levels)[0]}"), _IF
    raise CausalDSLError(f"cannot write a {t.__name__} as text", hint="report this: every expression has a text")


def table_text(table: S.Table, levels: Mapping[str, Optional[tuple]], value: Callable, sep: str = " ") -> str:
    """``table(A, B) { key: value, ... }``, each row's value written by ``value``; ``sep`` goes
    between rows (after the comma) and inside the braces.

    >>> t = S.Table(("a",), ((0.0,), (1.0,)), (S.Num(0.25), S.Num(0.5)))
    >>> table_text(t, {"a": ("lo", "hi")}, lambda v: str(v.value))
    'table(a) { lo: 0.25, hi: 0.5 }'
    """
    parent_levels = [levels.get(p) for p in table.parents]
    rows = []
    for key, v in zip(table.keys, table.values):
        atoms = [key_text(k, lv) for k, lv in zip(key, parent_levels)]
        head = atoms[0] if len(atoms) == 1 else "(" + ", ".join(atoms) + ")"
        rows.append(f"{head}: {value(v)}")
    names = ", ".join(S.name_text(p) for p in table.parents)
    return f"table({names}) {{{sep}" + f",{sep}".join(rows) + f"{sep}}}"
