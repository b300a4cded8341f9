"""Rich display of models, graphs and answers: SVG graphs and HTML / text tables.

The mimebundles always hold ``text/plain`` and ``image/svg+xml`` (static, no
JavaScript), so notebooks read the same in nbviewer, on GitHub and in exports.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n latent u ~ Bernoulli(0.5)\\n x ~ Bernoulli(if u then 0.8 else 0.2)\\n y := x\\n}")
>>> svg = model_svg(m.do(x=1))
>>> 'data-node="x" data-mode="do"' in svg, 'data-source="u" data-target="x"' in svg
(True, False)
"""

from __future__ import annotations

import html
import math
from typing import Iterable, Mapping, Optional

from .drawing import draw_graph


def value_text(node, value) -> str:
    """A value of ``node`` as the user wrote it: a level name, or a short number.

    >>> from types import SimpleNamespace as N
    >>> value_text(N(levels=("sunny", "rainy")), 1.0), value_text(N(levels=None), 2.5)
    ('rainy', '2.5')
    """
    if getattr(node, "levels", None) and value is not None:
        try:
            return node.levels[int(round(float(value)))]
        except (TypeError, ValueError, IndexError):
            pass
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def stderr_text(se: Optional[float], scale: float = 1.0) -> str:
    """A standard error as the tables print it: two significant digits; ``0`` at floating-point noise.

    A draw-by-draw constant (an outcome fixed by the intervention) has a standard
    error of rounding error, ``4.1e-19``: below ``1e-12`` of the answer's scale it is 0.

    >>> stderr_text(0.01234), stderr_text(4.1e-19), stderr_text(None), stderr_text(3e-11, 1e3)
    ('0.012', '0', '-', '0')
    """
    if se is None:
        return "-"
    se = float(se)
    if not math.isfinite(se):
        return str(se)
    if abs(se) <= 1e-12 * max(1.0, abs(float(scale)) if math.isfinite(float(scale)) else 1.0):
        return "0"
    return f"{se:.2g}"


def model_svg(model, observed: Mapping[str, object] = None, intervened: Mapping[str, object] = None,
              title: Optional[str] = None) -> str:
    """The graph of a :class:`~causaldsl.CausalModel` (or its IR) as SVG.

    Intervened nodes (those the model holds fixed, plus ``intervened``, a map
    name -> value) are marked ``do`` and drawn without their incoming arrows;
    ``observed`` (name -> value) are shaded as conditioned.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
    >>> 'data-mode="observe"' in model_svg(m, observed={"y": 1})
    True
    """
    ir = getattr(model, "ir", model)
    observed = dict(observed or {})
    extra = dict(intervened or {})
    fixed = {n.name: n.value for n in ir.nodes if n.kind == "fixed"}
    fixed.update(extra)
    sub = {}
    for name, value in fixed.items():
        sub[name] = "do = " + (value_text(ir[name], value) if not hasattr(value, "index") else "·")
    for n in ir.nodes:  # a new mechanism (m.do(x="x + 1")): boxed, its new parents drawn, labelled as written
        if n.regime is not None and n.name not in extra:
            fixed[n.name] = n.regime
            sub[n.name] = f"do {n.regime}"
    for name, value in observed.items():
        if name not in fixed:
            sub[name] = "= " + value_text(ir[name], value)
    edges = [(p, n.name) for n in ir.nodes for p in n.parents if n.name not in extra]
    return draw_graph(ir.names, edges, latent=[n.name for n in ir.nodes if n.latent], intervened=fixed,
                      observed=[o for o in observed if o not in fixed], sublabels=sub,
                      title=ir.name if title is None else title)


def graph_svg(g, title: Optional[str] = None) -> str:
    """The graph of a :class:`~causaldsl.CausalGraph` as SVG: ``<->`` edges dashed and curved.

    >>> import causaldsl as cd
    >>> svg = graph_svg(cd.graph("graph bow {\\n X -> Y\\n X <-> Y\\n}"))
    >>> svg.count('class="cdsl-bidirected"'), svg.count('class="cdsl-edge"')
    (1, 1)
    """
    held = set(getattr(g, "intervened", ()))
    bi = sorted(tuple(sorted(e)) for e in g.bidirected if not held & set(e))
    edges = [(a, b) for a, b in g.dag.edges if b not in held]  # do() cuts the arrows into a held node
    return draw_graph(list(g.dag.nodes), edges, bidirected=bi, latent=g.latents, intervened=held,
                      sublabels={v: "do(·)" for v in held}, title=g.name if title is None else title)


def bundle(obj, svg: str) -> dict:
    """A mimebundle holding the object's ``repr``, the SVG, and HTML embedding the SVG."""
    return {"text/plain": repr(obj), "image/svg+xml": svg,
            "text/html": f'<div class="cdsl-output">{svg}</div>'}


# ------------------------------------------------------------------ answer tables
def answer_rows(results: Iterable) -> list[tuple[str, str, str, str]]:
    """``(query, answer, method, error)`` of each result: error is the standard error, or ``-``.

    >>> from causaldsl.engines.results import Result
    >>> answer_rows([Result("E[y]", 1.5, 0.01, "monte-carlo", samples=1000)])
    [('E[y]', '1.5', 'monte-carlo, 1,000 draws', '0.01')]
    """
    rows = []
    for r in results:
        if isinstance(r, BaseException):
            rows.append((getattr(r, "query_text", ""), "error: " + getattr(r, "message", str(r)), "-", "-"))
            continue
        method = r.details if hasattr(r, "details") else ""
        if hasattr(r, "answer") and hasattr(r, "value") and hasattr(r, "stderr"):
            value = r.value
            if isinstance(value, dict):
                answer = "{" + ", ".join(f"{_key(k)}: {v:.6g}" for k, v in value.items()) + "}"
                err = ", ".join(f"{_key(k)}: {stderr_text(s)}" for k, s in (r.stderrs or {}).items()) or "-"
            elif r.interval is not None:
                answer = r.answer
                err = stderr_text(r.stderr, value)
            else:
                answer = f"{value:.6g}"
                err = stderr_text(r.stderr, value)
            rows.append((r.query, answer, method, err))
        else:
            from ..engines.results import _row

            q, a, meth = _row(r)
            rows.append((q, a, meth, "-"))
    return rows


def _key(k) -> str:
    from ..engines.results import _fmt_key

    return _fmt_key(k)


# "std. error", not "error": a failed query's row says "error: ..." in its answer cell.
ANSWER_COLUMNS = ("query", "answer", "method", "std. error")


def answers_text(results: Iterable) -> str:
    """The answer table as aligned plain text."""
    rows = [ANSWER_COLUMNS] + answer_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def _answer_cell(r, text: str) -> str:
    """An answer cell: an identified estimand's formula as ``$...$`` LaTeX (MathJax typesets it in
    JupyterLab and in exported HTML), anything else as escaped text."""
    if getattr(r, "identifiable", False) and getattr(r, "formula", None) is not None:
        free = getattr(r, "arbitrary", ())
        note = f" (for any value of {', '.join(free)})" if free else ""
        return html.escape(f"${r.latex}$") + html.escape(note)
    return html.escape(text)


def answers_html(results: Iterable) -> str:
    """The answer table as an HTML table (class ``cdsl-answers``); an answer that draws itself
    small (bounds: ``_interval_svg_``) has its picture under its text.

    >>> from causaldsl.graphs.admg import ADMG
    >>> from causaldsl.graphs.identify import identify
    >>> r"$\\sum_{z} P(y \\mid x, z) P(z)$" in answers_html([identify(ADMG.from_edges([("z", "x"), ("z", "y"), ("x", "y")]), "y", "x")])
    True
    """
    results = list(results)
    pictures = [getattr(r, "_interval_svg_", None) for r in results]
    cells = "".join(
        "<tr>" + "".join(f'<td style="text-align:left"><code>{html.escape(q)}</code></td>' if i == 0 else
                         f'<td style="text-align:left">{_answer_cell(r, c) if i == 1 else html.escape(c)}'
                         + (f"<br>{picture()}" if i == 1 and picture is not None else "") + "</td>"
                         for i, c in enumerate((q, a, m, e))) + "</tr>"
        for r, (q, a, m, e), picture in zip(results, answer_rows(results), pictures))
    head = "".join(f'<th style="text-align:left">{h}</th>' for h in ANSWER_COLUMNS)
    return f'<table class="cdsl-answers"><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>'
