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
    bi = sorted(tuple(sorted(e)) for e in g.bidirected)
    return draw_graph(list(g.dag.nodes), list(g.dag.edges), bidirected=bi, latent=g.latents,
                      title=g.name if title is None else title)


def bundle(obj, svg: str) -> dict:
    """A mimebundle holding the object's ``repr``, the SVG, and HTML embedding the SVG."""
    return {"text/plain": repr(obj), "image/svg+xml": svg,
            "text/html": f'<div class="cdsl-output">{svg}</div>'}


# ------------------------------------------------------------------ answer tables
def answer_rows(results: Iterable) -> list[tuple[str, str, str, str]]:
    """``(query, answer, method, error)`` of each result: error is the standard error, or ``-``.

    >>> from causaldsl.results import Result
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
                err = ", ".join(f"{_key(k)}: {s:.2g}" for k, s in (r.stderrs or {}).items()) or "-"
            elif r.interval is not None:
                answer = r.answer
                err = "-" if r.stderr is None else f"{r.stderr:.2g}"
            else:
                answer = f"{value:.6g}"
                err = "-" if r.stderr is None else f"{r.stderr:.2g}"
            rows.append((r.query, answer, method, err))
        else:
            from ..results import _row

            q, a, meth = _row(r)
            rows.append((q, a, meth, "-"))
    return rows


def _key(k) -> str:
    from ..results import _fmt_key

    return _fmt_key(k)


# "std. error", not "error": a failed query's row says "error: ..." in its answer cell.
ANSWER_COLUMNS = ("query", "answer", "method", "std. error")


def answers_text(results: Iterable) -> str:
    """The answer table as aligned plain text."""
    rows = [ANSWER_COLUMNS] + answer_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def answers_html(results: Iterable) -> str:
    """The answer table as an HTML table (class ``cdsl-answers``); an answer that draws itself
    small (bounds: ``_interval_svg_``) has its picture under its text."""
    results = list(results)
    pictures = [getattr(r, "_interval_svg_", None) for r in results]
    cells = "".join(
        "<tr>" + "".join(f'<td style="text-align:left"><code>{html.escape(q)}</code></td>' if i == 0 else
                         f'<td style="text-align:left">{html.escape(c)}'
                         + (f"<br>{picture()}" if i == 1 and picture is not None else "") + "</td>"
                         for i, c in enumerate((q, a, m, e))) + "</tr>"
        for (q, a, m, e), picture in zip(answer_rows(results), pictures))
    head = "".join(f'<th style="text-align:left">{h}</th>' for h in ANSWER_COLUMNS)
    return f'<table class="cdsl-answers"><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>'
