"""Soft interventions written from Python: ``m.do(X="X + 1")``, ``m.do(X=cd.shift(1))``,
``m.do(X=cd.draw("Bernoulli(0.3)"))``, ``m.do(X="1 - Z")``.

Each becomes the ``do(...)`` item the language reads (``X = X + 1``, ``X ~ Bernoulli(0.3)``),
parsed by the grammar and checked by :func:`causaldsl.model.checker.check_regime`, so a
regime means the same from Python as in a ``.causal`` file: the result is a
:class:`~causaldsl.model.ir.Regime`, what :func:`causaldsl.model.worlds.do` applies.

>>> shift(1).item("x"), shift(-2).item("x"), draw("Bernoulli(0.3)").item("x")
('x = x + 1', 'x = x - 2', 'x ~ Bernoulli(0.3)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..language.errors import CycleError, QueryError
from ..language.parser import parse
from .checker import check_regime
from .ir import Model, Node, Regime
from .worlds import regime_cycle


@dataclass(frozen=True)
class Intervention:
    """A soft intervention written once for whichever variable it is applied to.

    ``op`` is ``"="`` (a new expression) or ``"~"`` (a draw); ``body`` the text after it, in
    which ``{var}`` stands for the variable's name; ``clip`` holds a shift at the edge of a
    discrete variable's values instead of refusing a value beyond them.
    """

    op: str
    body: str
    clip: bool = False

    def item(self, var: str, node: Optional[Node] = None) -> str:
        """The ``do(...)`` item for ``var`` (``node``: its IR node, needed to clip).

        >>> from causaldsl.model.ir import Node
        >>> shift(1, clip=True).item("x", Node("x", "sample", domain=(0.0, 1.0, 2.0, 3.0)))
        'x = min(max(x + 1, 0), 3)'
        """
        body = self.body.replace("{var}", var)
        if self.clip:
            if node is None or node.domain is None:
                raise QueryError(f"clip=True holds '{var}' inside its values, and '{var}' is continuous",
                                 hint=f"shift it without clip: cd.shift(...), or write do({var} = min({body}, ...))")
            body = f"min(max({body}, {min(node.domain):g}), {max(node.domain):g})"
        return f"{var} {self.op} {body}"

    def __str__(self) -> str:
        return f"{self.op} {self.body.replace('{var}', 'X')}"


def shift(by: float, *, clip: bool = False) -> Intervention:
    """``do(X = X + by)``: each unit's own value of X (its parents and its noise) moved by ``by``.

    A shifted value outside a discrete variable's values is an error, unless ``clip=True``
    (then ``do(X = min(max(X + by, lo), hi))``, lo and hi its smallest and largest values).

    >>> shift(0.5).item("dose")
    'dose = dose + 0.5'
    """
    by = float(by)
    sign = "-" if by < 0 else "+"
    return Intervention("=", f"{{var}} {sign} {abs(by):g}", clip)


def draw(dist: str) -> Intervention:
    """``do(X ~ dist)``: X drawn afresh from ``dist`` (a stochastic intervention), e.g.
    ``draw("Bernoulli(0.3)")``, ``draw("Normal(0, 2)")``.

    >>> draw("Normal(0, 2)").item("x")
    'x ~ Normal(0, 2)'
    """
    return Intervention("~", str(dist).strip())


def set_to(expr: str) -> Intervention:
    """``do(X = expr)``: X's mechanism replaced by ``expr`` (a dynamic regime, ``"1 - Z"``), in
    which ``X`` itself reads its natural value.

    >>> set_to("if Z then 1 else 0").item("x")
    'x = if Z then 1 else 0'
    """
    return Intervention("=", str(expr).strip())


def python_regime(model: Model, var: str, value: Union[str, Intervention]) -> Regime:
    """The :class:`~causaldsl.model.ir.Regime` of ``m.do(var=value)`` for a soft intervention:
    an :class:`Intervention`, or a string that is an expression (``"X + 1"``, ``"1 - Z"``) or a
    draw (``"~ Bernoulli(0.3)"``). Mistakes point into the ``do(...)`` text it stands for.

    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n z ~ Bernoulli(0.4)\\n x ~ Bernoulli(0.5)\\n}").items[0])
    >>> python_regime(m, "x", "1 - z").text, python_regime(m, "x", "~ Bernoulli(0.3)").kind
    ('= 1 - z', 'sample')
    """
    if isinstance(value, Intervention):
        item = value.item(var, model[var] if var in model else None)
    else:
        text = value.strip()
        item = f"{var} {text}" if text.startswith("~") else f"{var} = {text}"
    source = f"do({item})"
    clause = parse(source, start="do_clause")
    (a,) = clause.assignments
    return check_regime(model, a, source)


def check_cycles(model: Model, values: dict) -> None:
    """Refuse soft interventions from Python that read what their own variable causes, pointing
    at the expression in the ``do(...)`` text it stands for.

    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").items[0])
    >>> try:
    ...     check_cycles(m, {"x": python_regime(m, "x", "y")})
    ... except CycleError as err:
    ...     print(err)
    line 1, column 8: the intervention makes a cycle: x -> y -> x
    do(x = y)
           ^
    hint: the new mechanism of 'x' may read only variables that 'x' does not cause
    """
    cycle = regime_cycle(model, values)
    if cycle:
        at = next(v for v in cycle if isinstance(values.get(v), Regime))
        source = f"do({at} {values[at].text})"
        raise CycleError("the intervention makes a cycle: " + " -> ".join(cycle), line=1,
                         column=len(at) + 7, source=source,
                         hint=f"the new mechanism of '{at}' may read only variables that '{at}' does not cause")

