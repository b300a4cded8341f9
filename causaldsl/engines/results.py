"""What a query returns: a value, its uncertainty and how it was computed."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional, Union


SHOWN_WORK = 1e6  # operations of an exact answer's contraction (a millisecond) from which .details shows its cost


@dataclass(frozen=True)
class Result:
    """The answer to one query.

    ``value`` is a float, or for ``P(Y)`` a dict from each value (or level
    name) to its probability. ``stderr`` is ``None`` for exact answers: ``"exact"``
    (discrete models, by tensor contraction) and ``"exact (gaussian)"`` (linear-Gaussian
    models with evidence, by Gaussian conditioning).

    Monte Carlo answers with evidence report ``ess``, the effective sample size of their
    draws: of likelihood weighting (Kish's ``(Σw)² / Σw²``), or of NUTS (``"nuts"``, used
    when likelihood weighting kept fewer than 100 effective draws). ``warning`` says why an
    answer's standard error should not be trusted (too few effective draws, chains that
    disagree); it is part of :attr:`details` and of the printed answer. An exact answer keeps
    its ``cost`` (estimated treewidth, largest table, multiply-adds: see
    :class:`causaldsl.engines.exact.Cost`), and :attr:`details` shows it where the contraction
    took a million operations or more.

    For a model with parameters, the query is answered once per posterior (or
    prior) draw: ``value`` is the posterior mean, ``interval`` the equal-tailed
    credible interval at ``interval_level``, ``draws`` the per-draw answers
    and ``stderr`` (Monte Carlo only) the simulation error of the mean.

    >>> r = Result("P(y = 1)", 0.25, None, "exact")
    >>> float(r), str(r)
    (0.25, 'P(y = 1) = 0.25  [exact]')
    """

    query: str
    value: Union[float, dict]
    stderr: Optional[float]
    method: str  # "exact" | "exact (gaussian)" | "monte-carlo" | "nuts"
    ess: Optional[float] = None
    samples: Optional[int] = None
    conditioning: Optional[str] = None
    stderrs: Optional[dict] = field(default=None, repr=False)
    interval: Union[tuple, dict, None] = None
    interval_level: Optional[float] = None
    draws: Union[object, dict, None] = field(default=None, repr=False)
    posterior: Optional[str] = None  # where the parameter draws came from
    warning: Optional[str] = None  # why the answer (its standard error) may not be trusted
    note: Optional[str] = None  # what the answer leaves out, e.g. a count variable's far tail
    # A question that combines (E[y | x = 1] - E[y | x = 0], RR, Var, Q): the answers of its parts
    parts: tuple = field(default=(), repr=False)
    # An exact answer's estimate (causaldsl.engines.exact.Cost: treewidth, largest table, work),
    # part of `details` where its contraction took at least SHOWN_WORK operations.
    cost: Optional[object] = field(default=None, repr=False)
    # Draws a Picture as SVG; set by the face that draws (causaldsl.notebook.pictures), so that
    # the engines never import it.
    painter: ClassVar[Optional[Callable[["Picture"], str]]] = None

    def __float__(self) -> float:
        if isinstance(self.value, dict):
            raise TypeError(f"{self.query} is a distribution, not a number; use .value")
        return float(self.value)

    @property
    def answer(self) -> str:
        """The value as text, with its standard error for Monte Carlo answers.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> m.query("P(y = 1 | do(x = 1))").answer
        '0.9'
        >>> m.query("P(y = 1)", method="monte-carlo", samples=1000, seed=0).answer
        '0.523 ± 0.016'
        """
        if isinstance(self.value, dict):
            parts = []
            for k, v in self.value.items():
                se = f" ± {self.stderrs[k]:.2g}" if self.stderrs else ""
                ci = f" {_fmt_interval(self.interval[k])}" if self.interval else ""
                parts.append(f"{_fmt_key(k)}: {v:.4g}{ci}{se}" if ci else f"{_fmt_key(k)}: {v:.6g}{se}")
            return "{" + ", ".join(parts) + "}"
        if self.interval is not None:
            level = f"{self.interval_level:.0%} CI " if self.interval_level else ""
            se = f", MC ± {self.stderr:.2g}" if self.stderr is not None and self.stderr > 1e-12 else ""
            return f"{self.value:.4g} ({level}{self.interval[0]:.4g} to {self.interval[1]:.4g}{se})"
        if self.stderr is not None:
            return f"{self.value:.6g} ± {self.stderr:.2g}"
        return f"{self.value:.6g}"

    @property
    def details(self) -> str:
        """How the answer was computed, as printed between brackets after it.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> m.query("P(y = 1)", method="monte-carlo", samples=1000, seed=0).details
        'monte-carlo, 1,000 draws'
        """
        post = f"over the {self.posterior}" if self.posterior else None
        if self.method == "exact":
            cost = self.cost.summary if self.cost is not None and self.cost.work >= SHOWN_WORK else None
            return ", ".join(b for b in ("exact", cost, post, self.note) if b)
        if self.ess is None and self.stderr is None:  # exact by another route: say which
            return ", ".join(b for b in (self.method, self.conditioning, post, self.note) if b)
        bits = [self.method, post, None if post else (f"{self.samples:,} draws" if self.samples else None)]
        if self.conditioning:
            bits.append(f"{self.conditioning}, ESS {self.ess:,.0f}")
        bits.append(self.note)
        if self.warning:
            bits.append(f"WARNING: {self.warning}")
        return ", ".join(b for b in bits if b)

    def __str__(self) -> str:
        return f"{self.query} = {self.answer}  [{self.details}]"

    def _repr_html_(self) -> str:
        text = (f"<code>{html.escape(self.query)}</code> = <b>{html.escape(self.answer)}</b> "
                f"<small>[{html.escape(self.details)}]</small>")
        if self.parts:  # a question that combines: its parts, each with its answer
            rows = "".join(f"<li><code>{html.escape(p.query)}</code> = {html.escape(p.answer)}</li>"
                           for p in self.parts)
            text += f'<ul class="cdsl-parts" style="font-size: smaller; margin: 0.2em 0">{rows}</ul>'

        return f'<div class="cdsl-result">{text}<div>{self.svg()}</div></div>'

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The answer as text (unchanged) and, for notebooks, as text beside its picture."""
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def picture(self) -> "Picture":
        """What :meth:`svg` and :meth:`plot` draw, as numbers (see :class:`Picture`).

        >>> Result("P(y)", {0: 0.25, 1: 0.75}, None, "exact").picture().heights
        (0.25, 0.75)
        """
        return picture(self)

    def svg(self) -> str:
        """The answer as a small SVG chart (theme-aware: it reads in JupyterLab's dark theme).

        A distribution is drawn as bars (with credible-interval whiskers over a
        posterior); a posterior answer as the histogram of its per-draw values, the
        mean marked and the credible interval shaded; a Monte Carlo estimate as the
        normal density of its simulation error; an exact probability as the event
        beside its complement.

        >>> svg = Result("P(y)", {0: 0.25, 1: 0.75}, None, "exact").svg()
        >>> svg.count('class="cdsl-bar"')
        2
        """
        return Result.painter(self.picture())

    def plot(self, ax=None):
        """The same picture as :meth:`svg`, drawn with matplotlib, for a report; returns the Figure.

        matplotlib is imported here, not with the package; no pyplot state is touched
        (the figure is a bare ``matplotlib.figure.Figure`` unless ``ax`` is given).

        >>> fig = Result("P(y)", {0: 0.25, 1: 0.75}, None, "exact").plot()
        >>> [round(float(p.get_height()), 2) for p in fig.axes[0].patches]
        [0.25, 0.75]
        """
        return plot_picture(self.picture(), ax)


@dataclass(frozen=True)
class Picture:
    """A Result's chart as numbers: bars (``labels``, ``heights``, ``intervals``) or a density
    (bin ``edges``, ``heights``, the answer ``mark``, an ``interval``)."""

    kind: str  # "bars" | "density"
    title: str
    heights: tuple
    labels: tuple = ()
    intervals: Optional[tuple] = None
    edges: tuple = ()
    mark: float = math.nan
    interval: Optional[tuple] = None
    xlabel: str = ""
    mark_label: str = "answer"


def picture(r: Result) -> Picture:
    """The chart of ``r`` (see :meth:`Result.svg` for what each kind of answer draws)."""
    import numpy as np

    if isinstance(r.value, dict):
        keys = list(r.value)
        ivs = tuple(tuple(r.interval[k]) for k in keys) if isinstance(r.interval, dict) else None
        caption = f"bars: posterior mean; whiskers: {r.interval_level:.0%} credible interval" if ivs else ""
        return Picture("bars", r.query, tuple(float(r.value[k]) for k in keys),
                       labels=tuple(_fmt_key(k) for k in keys), intervals=ivs, xlabel=caption)
    value = float(r.value)
    if r.draws is not None and np.size(r.draws) > 1:
        edges, dens = histogram(np.asarray(r.draws, dtype=float))
        level = f"{r.interval_level:.0%} " if r.interval_level else ""
        return Picture("density", f"posterior of {r.query}", tuple(dens), edges=tuple(edges), mark=value,
                       interval=r.interval, xlabel=f"shaded: {level}credible interval; line: posterior mean",
                       mark_label="posterior mean")
    if r.stderr is not None and r.stderr > 1e-12:
        se = float(r.stderr)
        edges = np.linspace(value - 4 * se, value + 4 * se, 41)
        mid = (edges[1:] + edges[:-1]) / 2
        dens = np.exp(-0.5 * ((mid - value) / se) ** 2) / (se * math.sqrt(2 * math.pi))
        return Picture("density", f"{r.query}: Monte Carlo estimate", tuple(dens), edges=tuple(edges), mark=value,
                       interval=(value - 1.96 * se, value + 1.96 * se),
                       xlabel="its simulation error: normal, shaded ± 1.96 s.e.", mark_label="estimate")
    if _is_probability(r.query) and 0.0 <= value <= 1.0 and not r.parts:
        event = _event(r.query)
        return Picture("bars", r.query, (value, 1.0 - value), labels=(event, "not " + event))
    pad = max(abs(value) * 0.5, 1.0)
    lo, hi = min(0.0, value) - pad, max(0.0, value) + pad
    return Picture("density", r.query, (0.0,), edges=(lo, hi), mark=value, xlabel="exact value")


def _is_probability(query: str) -> bool:
    return query.startswith(("P(", "PN(", "PS(", "PNS("))


def _event(query: str) -> str:
    """The event of ``P(event | ...)``, or the query's head for PN / PS / PNS.

    >>> _event("P(y = 1 | do(x = 0))"), _event("PN(x -> y)")
    ('y = 1', 'PN')
    """
    if not query.startswith("P("):
        return query.split("(")[0]
    inner = query[2:].rsplit(")", 1)[0]
    return inner.split(" | ")[0].strip()


def plot_picture(pic: Picture, ax=None):
    """Draw a :class:`Picture` on ``ax`` (a new bare Figure when ``None``); returns the Figure."""
    import numpy as np

    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.0, 2.6), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    ax.set_title(pic.title, fontsize=10, loc="left")
    if pic.kind == "bars":
        x = np.arange(len(pic.heights))
        yerr = None
        if pic.intervals:
            h = np.asarray(pic.heights)
            yerr = np.array([[hv - iv[0] for hv, iv in zip(h, pic.intervals)],
                             [iv[1] - hv for hv, iv in zip(h, pic.intervals)]])
        ax.bar(x, pic.heights, color="#0072b2", yerr=yerr, capsize=4)
        ax.set_xticks(x, pic.labels)
        ax.set_ylabel("probability")
        if pic.xlabel:
            ax.set_xlabel(pic.xlabel, fontsize=9)
        return fig
    edges = np.asarray(pic.edges)
    if len(pic.heights) > 1 or pic.heights[0] > 0:
        ax.stairs(pic.heights, edges, fill=True, color="#0072b2", alpha=0.3)
        ax.stairs(pic.heights, edges, color="#0072b2")
        ax.set_ylabel("density")
    else:
        ax.set_yticks([])
        ax.set_xlim(edges[0], edges[-1])
    if pic.interval is not None:
        ax.axvspan(*pic.interval, color="#0072b2", alpha=0.12, label="interval")
    if math.isfinite(pic.mark):
        ax.axvline(pic.mark, color="#d55e00", lw=2, label=pic.mark_label)
    if pic.xlabel:
        ax.set_xlabel(pic.xlabel, fontsize=9)
    return fig


def _fmt_interval(iv) -> str:
    return f"[{iv[0]:.4g}, {iv[1]:.4g}]"


def _fmt_key(k) -> str:
    if isinstance(k, float) and k == int(k):
        return str(int(k))
    if isinstance(k, tuple):
        return "(" + ", ".join(_fmt_key(x) for x in k) + ")"
    return str(k)


def table(results: list[Result]) -> str:
    """Queries beside their answers, as aligned plain text.

    >>> print(table([Result("P(y = 1)", 0.25, None, "exact")]))
    query     answer  method
    P(y = 1)  0.25    exact
    """
    rows = [("query", "answer", "method")] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def _row(r) -> tuple[str, str, str]:
    """Query, answer and method of a Result, a graph answer, an Estimand, or the error of a failed query."""
    if isinstance(r, Exception):  # a query that failed on its own (CausalModel.answers)
        return (getattr(r, "query_text", ""), "error: " + getattr(r, "message", str(r)), type(r).__name__)
    if hasattr(r, "answer") and hasattr(r, "details"):
        return (r.query, r.answer, r.details)
    if hasattr(r, "rule"):  # an Estimand
        answer = r.text if r.identifiable else "not identifiable: " + (r.reason or "")
        rule = r.rule + (f" (adjusting for {{{', '.join(sorted(r.adjustment))}}})"
                         if r.rule == "back-door" and r.adjustment is not None else "")
        return ("identify " + r.query, answer, rule)
    return (getattr(r, "query", ""), str(r), "")


def histogram(draws, bins: int = 30) -> tuple:
    """``(edges, density)`` of draws, over their range widened by a bin on each side (no clipped tails).

    >>> e, d = histogram([0.0, 1.0, 1.0, 2.0], bins=3)
    >>> len(e), round(float((d * (e[1:] - e[:-1])).sum()), 6)
    (6, 1.0)
    """
    import numpy as np

    x = np.asarray(draws, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    if not hi > lo:
        pad = max(abs(lo) * 0.05, 1e-3)
        lo, hi = lo - pad, hi + pad
    w = (hi - lo) / bins
    edges = np.linspace(lo - w, hi + w, bins + 3)
    dens, _ = np.histogram(x, edges, density=True)
    return edges, dens
