"""What a query returns: a value, its uncertainty and how it was computed."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Optional, Union


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
    disagree); it is part of :attr:`details` and of the printed answer.

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

    def __float__(self) -> float:
        if isinstance(self.value, dict):
            raise TypeError(f"{self.query} is a distribution, not a number; use .value")
        return float(self.value)

    @property
    def answer(self) -> str:
        """The value as text, with its standard error for Monte Carlo answers."""
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
        post = f"over the {self.posterior}" if self.posterior else None
        if self.method == "exact":
            return ", ".join(b for b in ("exact", post, self.note) if b)
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
        return (f"<code>{html.escape(self.query)}</code> = <b>{html.escape(self.answer)}</b> "
                f"<small>[{html.escape(self.details)}]</small>")


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
