"""Bounds on causal quantities that the data do not pin down: the answer type and Tian–Pearl's formulas.

When a quantity is not identified (the probabilities of causation PN, PS and PNS are not,
even from experiments), the data still confine it to an interval. This module holds

* :class:`Bounds`, what ``m.bounds(...)`` and a ``bounds`` statement return: ``low``, ``high``,
  the method, the formula (each term of the max and the min, and which one is active) and,
  from data, an uncertainty band for each end;
* the closed-form bounds of Tian & Pearl (2000), "Probabilities of causation: bounds and
  identification", *Annals of Mathematics and Artificial Intelligence* 28, 287–313,
  Theorems 1–3 (also Pearl, *Causality*, 2nd ed. 2009, §9.3.4, eqs. 9.53–9.60), for PN, PS
  and PNS from the observational P(X, Y) and the experimental P(y | do(x)) together.

Linear-programming bounds for other queries and graphs are in :mod:`causaldsl.graphs.lp_bounds`;
how a query, model, graph or data set is turned into their inputs, in
:mod:`causaldsl.graphs.bound_queries`.

Notation as in the paper: binary treatment ``x`` (treat) / ``x'`` (control), binary outcome
``y`` (Y = 1) / ``y'`` (Y = 0), ``P(y_x) = P(Y = 1 | do(X = x))``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..language.errors import QueryError


class BoundsError(QueryError):
    """A bounds question outside what the methods cover, or data that contradict the graph."""


@dataclass(frozen=True)
class Observed:
    """What Tian–Pearl's bounds take: experimental ``P(y_x)``, ``P(y_x')`` and observational ``P(X, Y)``.

    ``p_xy`` is ``P(X = x, Y = 1)``, ``p_xy_`` is ``P(X = x, Y = 0)``, ``p_x_y`` is ``P(X = x', Y = 1)``
    and ``p_x_y_`` is ``P(X = x', Y = 0)``; the four sum to one.
    """

    p_yx: float
    p_yx_: float
    p_xy: float
    p_xy_: float
    p_x_y: float
    p_x_y_: float

    @property
    def p_y(self) -> float:
        return self.p_xy + self.p_x_y


Term = tuple[str, float]  # a term of the max or the min, as written and as evaluated


def pns_terms(o: Observed) -> tuple[list[Term], list[Term]]:
    """The terms of Tian & Pearl's bounds on PNS = P(y_x, y'_x') (2000, Theorem 1; Pearl 2009, eqs. 9.53–9.54).

    ``max(low terms) <= PNS <= min(high terms)``.

    >>> o = Observed(p_yx=0.72, p_yx_=0.22, p_xy=0.324, p_xy_=0.076, p_x_y=0.096, p_x_y_=0.504)
    >>> low, high = pns_terms(o)
    >>> round(max(v for _, v in low), 6), round(min(v for _, v in high), 6)
    (0.5, 0.672)
    """
    low = [("0", 0.0),
           ("P(y_x) - P(y_x')", o.p_yx - o.p_yx_),
           ("P(y) - P(y_x')", o.p_y - o.p_yx_),
           ("P(y_x) - P(y)", o.p_yx - o.p_y)]
    high = [("P(y_x)", o.p_yx),
            ("P(y'_x')", 1.0 - o.p_yx_),
            ("P(x, y) + P(x', y')", o.p_xy + o.p_x_y_),
            ("P(y_x) - P(y_x') + P(x, y') + P(x', y)", o.p_yx - o.p_yx_ + o.p_xy_ + o.p_x_y)]
    return low, high


def pn_terms(o: Observed) -> tuple[list[Term], list[Term]]:
    """The terms of Tian & Pearl's bounds on PN = P(y'_x' | x, y) (2000, Theorem 2; Pearl 2009, eqs. 9.57–9.58).

    >>> o = Observed(p_yx=0.72, p_yx_=0.22, p_xy=0.324, p_xy_=0.076, p_x_y=0.096, p_x_y_=0.504)
    >>> low, high = pn_terms(o)
    >>> round(max(v for _, v in low), 4), round(min(v for _, v in high), 4)
    (0.6173, 0.8519)
    """
    low = [("0", 0.0), ("(P(y) - P(y_x')) / P(x, y)", (o.p_y - o.p_yx_) / o.p_xy)]
    high = [("1", 1.0), ("(P(y'_x') - P(x', y')) / P(x, y)", (1.0 - o.p_yx_ - o.p_x_y_) / o.p_xy)]
    return low, high


def ps_terms(o: Observed) -> tuple[list[Term], list[Term]]:
    """The terms of Tian & Pearl's bounds on PS = P(y_x | x', y') (2000, Theorem 3; Pearl 2009, eqs. 9.59–9.60).

    >>> o = Observed(p_yx=0.72, p_yx_=0.22, p_xy=0.324, p_xy_=0.076, p_x_y=0.096, p_x_y_=0.504)
    >>> low, high = ps_terms(o)
    >>> round(max(v for _, v in low), 4), round(min(v for _, v in high), 4)
    (0.5952, 0.7857)
    """
    low = [("0", 0.0), ("(P(y_x) - P(y)) / P(x', y')", (o.p_yx - o.p_y) / o.p_x_y_)]
    high = [("1", 1.0), ("(P(y_x) - P(x, y)) / P(x', y')", (o.p_yx - o.p_xy) / o.p_x_y_)]
    return low, high


TERMS = {"PNS": pns_terms, "PN": pn_terms, "PS": ps_terms}


def tian_pearl(effect: str, o: Observed) -> tuple[float, float, list[Term], list[Term]]:
    """``(low, high, low terms, high terms)`` of ``effect`` (``"PN"``, ``"PS"`` or ``"PNS"``).

    >>> tian_pearl("PNS", Observed(0.72, 0.22, 0.324, 0.076, 0.096, 0.504))[:2]
    (0.5, 0.672)
    """
    low_terms, high_terms = TERMS[effect](o)
    low = max(v for _, v in low_terms)
    high = min(v for _, v in high_terms)
    return _clean(low), _clean(high), low_terms, high_terms


def _clean(v: float) -> float:
    """Rounding noise of the sums (0.1 + 0.2) is not part of the answer."""
    return float(round(v, 12))


def formula_text(low_terms: list[Term], high_terms: list[Term]) -> str:
    """``max{...} <= Q <= min{...}`` with each term's value, the active ones marked by ``*``.

    >>> print(formula_text([("0", 0.0), ("a", 0.5)], [("1", 1.0), ("b", 0.7)]))
    max{0 = 0, *a = 0.5} <= . <= min{1 = 1, *b = 0.7}
    """
    def side(terms, pick):
        best = pick(range(len(terms)), key=lambda i: terms[i][1])
        return ", ".join(("*" if i == best else "") + f"{t} = {v:.4g}" for i, (t, v) in enumerate(terms))

    return f"max{{{side(low_terms, max)}}} <= . <= min{{{side(high_terms, min)}}}"


def active(terms: list[Term], pick) -> str:
    """The term that attains the max (``pick=max``) or the min (``pick=min``).

    >>> active([("0", 0.0), ("a", 0.5)], max)
    'a'
    """
    return pick(terms, key=lambda t: t[1])[0]


@dataclass(frozen=True)
class Bounds:
    """The interval a quantity is confined to: ``low <= query <= high``.

    ``method`` names the method (Tian–Pearl's closed form, or the linear programme);
    ``formula`` writes the bound out (for Tian–Pearl, each term of the max and the min with
    its value, the active ones starred); ``low_terms``/``high_terms`` hold those terms.

    From data, ``low`` and ``high`` are the plug-in bounds (at the observed frequencies),
    ``low_band`` and ``high_band`` the equal-tailed ``level`` intervals of each end over
    ``uncertainty`` draws of the observed distribution (``draws``: one row ``(low, high)``
    per draw).

    >>> b = Bounds("PNS(X -> Y)", 0.5, 0.672, "Tian-Pearl (2000)")
    >>> str(b)
    'PNS(X -> Y) in [0.5, 0.672]  [Tian-Pearl (2000)]'
    >>> b.width
    0.172
    """

    query: str
    low: float
    high: float
    method: str
    formula: str = ""
    low_terms: tuple = ()
    high_terms: tuple = ()
    low_band: Optional[tuple] = None
    high_band: Optional[tuple] = None
    level: Optional[float] = None
    uncertainty: Optional[str] = None  # "dirichlet" | "bootstrap"
    draws: Optional[np.ndarray] = field(default=None, repr=False)
    note: Optional[str] = None
    value: tuple = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "value", (self.low, self.high))

    @property
    def width(self) -> float:
        return round(self.high - self.low, 12)

    @property
    def active_low(self) -> Optional[str]:
        """The term of the max that gives ``low`` (Tian–Pearl only)."""
        return active(list(self.low_terms), max) if self.low_terms else None

    @property
    def active_high(self) -> Optional[str]:
        """The term of the min that gives ``high`` (Tian–Pearl only)."""
        return active(list(self.high_terms), min) if self.high_terms else None

    @property
    def answer(self) -> str:
        text = f"[{self.low:.4g}, {self.high:.4g}]"
        if self.low_band is not None:
            text += (f" ({self.level:.0%} band: low {self.low_band[0]:.4g} to {self.low_band[1]:.4g},"
                     f" high {self.high_band[0]:.4g} to {self.high_band[1]:.4g})")
        return text

    @property
    def details(self) -> str:
        bits = [self.method]
        if self.active_low is not None:
            bits.append(f"low = {self.active_low}, high = {self.active_high}")
        if self.uncertainty:
            n = 0 if self.draws is None else len(self.draws)
            bits.append(f"{n} {self.uncertainty} draws")
        if self.note:
            bits.append(self.note)
        return ", ".join(bits)

    def __str__(self) -> str:
        return f"{self.query} in {self.answer}  [{self.details}]"

    def _interval_svg_(self) -> str:
        """The interval's picture alone (what a ``%%causal`` cell's answer table shows beside it)."""
        return interval_svg(self)

    def _repr_html_(self) -> str:
        formula = f"<br><small><code>{html.escape(self.formula)}</code></small>" if self.formula else ""
        return (f"<code>{html.escape(self.query)}</code> in <b>{html.escape(self.answer)}</b> "
                f"<small>[{html.escape(self.details)}]</small><br>{interval_svg(self)}{formula}")


def interval_svg(b: Bounds, width: int = 320) -> str:
    """A small picture of the interval on the unit line (or on the range it lives in), the
    uncertainty bands of its ends drawn lighter. Colours follow JupyterLab's theme variables,
    with fallbacks for other front ends.

    >>> interval_svg(Bounds("q", 0.5, 0.672, "m")).startswith("<svg")
    True
    """
    lo_axis = -1.0 if min(b.low, *(b.low_band or (0,))) < 0 else 0.0
    hi_axis = 1.0

    def x(v: float) -> float:
        return 10 + (width - 20) * (min(max(v, lo_axis), hi_axis) - lo_axis) / (hi_axis - lo_axis)

    ink = "var(--jp-ui-font-color1, #333)"
    accent = "var(--jp-brand-color1, #1976d2)"
    faint = "var(--jp-ui-font-color3, #999)"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="34" '
             f'role="img" aria-label="interval from {b.low:.4g} to {b.high:.4g}">',
             f'<line x1="{x(lo_axis)}" y1="14" x2="{x(hi_axis)}" y2="14" style="stroke:{faint}" stroke-width="1"/>']
    for v in (lo_axis, 0.0, hi_axis) if lo_axis < 0 else (lo_axis, hi_axis):
        parts.append(f'<line x1="{x(v)}" y1="10" x2="{x(v)}" y2="18" style="stroke:{faint}"/>'
                     f'<text x="{x(v)}" y="31" font-size="10" text-anchor="middle" style="fill:{faint}">{v:g}</text>')
    for band in (b.low_band, b.high_band):
        if band is not None:
            parts.append(f'<rect x="{x(band[0])}" y="8" width="{max(x(band[1]) - x(band[0]), 1):.1f}" height="12" '
                         f'style="fill:{accent}" fill-opacity="0.25"/>')
    parts.append(f'<rect x="{x(b.low)}" y="11" width="{max(x(b.high) - x(b.low), 2):.1f}" height="6" '
                 f'style="fill:{accent}"/>')
    for v in (b.low, b.high):
        parts.append(f'<text x="{x(v)}" y="6" font-size="9" text-anchor="middle" dominant-baseline="middle" '
                     f'style="fill:{ink}">{v:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)
