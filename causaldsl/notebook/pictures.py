"""Pictures of models and graphs: what a notebook shows for them, and files (SVG, PNG, PDF).

Every model and graph displays as its drawing (:class:`Picture`): a notebook
gets a mimebundle with ``text/plain`` (the object's ``repr``), ``image/svg+xml``
and ``text/html`` (the same SVG inline, so that JupyterLab's theme colours reach
it). ``draw(path)`` writes the drawing to a file: SVG as text, PNG and PDF
rendered by CairoSVG (``pip install cairosvg``; it needs the cairo library).

An intervened model (``m.do(x=1)``) draws its mutilated graph: the intervened
node as a double box without its incoming arrows, labelled with its value.
A ``%%causal`` cell draws, for the do-queries it asks, the graph each of them
is answered on (:func:`query_pictures`).

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n z ~ Bernoulli(0.5)\\n x ~ Bernoulli(if z then 0.9 else 0.1)\\n y := x\\n}")
>>> pic = m.do(x=1).draw()
>>> 'data-node="x" data-mode="do"' in pic.svg, 'data-source="z" data-target="x"' in pic.svg
(True, False)
>>> sorted(pic._repr_mimebundle_())
['image/svg+xml', 'text/html', 'text/plain']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from ..engines.results import Result
from ..graphs.causal_graph import CausalGraph
from ..graphs.counterfactual_id import CounterfactualGraph
from ..language.errors import CausalDSLError
from ..language import syntax as S
from ..model.checker import check_regime
from ..model.ir import Regime
from ..model.worlds import do as surgery
from .drawing import draw_graph
from .theme import resolved
from .views import graph_svg, model_svg

FORMATS = (".svg", ".png", ".pdf")


class ExportError(CausalDSLError):
    """A drawing could not be written: unknown file type, or no PNG/PDF renderer installed."""


class Picture:
    """A drawing: SVG text that displays as itself in a notebook and saves to a file.

    >>> p = Picture('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>', "<tiny>")
    >>> p._repr_svg_().startswith("<svg"), repr(p)
    (True, '<tiny>')
    """

    def __init__(self, svg: str, text: str = "<picture>"):
        self.svg = svg
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self.text, "image/svg+xml": self.svg,
                "text/html": f'<div class="cdsl-output">{self.svg}</div>'}

    def save(self, path: Union[str, os.PathLike], *, scale: float = 2.0) -> "Picture":
        """Write the drawing to ``path``: ``.svg``, ``.png`` or ``.pdf`` (``scale``: PNG pixels per unit)."""
        save_svg(self.svg, path, scale=scale)
        return self


def save_svg(svg: str, path: Union[str, os.PathLike], *, scale: float = 2.0) -> Path:
    """Write ``svg`` to ``path`` in the format its suffix names; theme variables take their light fallbacks.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "g.svg"
    >>> save_svg('<svg xmlns="http://www.w3.org/2000/svg" style="fill:var(--jp-x, #111111)"/>', out).read_text()
    '<svg xmlns="http://www.w3.org/2000/svg" style="fill:#111111"/>'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"cannot write a drawing to '{path.name}'",
                          hint="name a file ending in " + ", ".join(FORMATS))
    text = resolved(svg)  # files are read outside JupyterLab, where its variables do not exist
    if suffix == ".svg":
        path.write_text(text, encoding="utf-8")
        return path
    try:
        import cairosvg
    except (ImportError, OSError) as err:  # OSError: cairocffi found no cairo library
        raise ExportError(f"cannot write '{path.name}': CairoSVG is not available ({err})",
                          hint="pip install cairosvg (it needs the cairo library), or save as .svg") from None
    convert = cairosvg.svg2png if suffix == ".png" else cairosvg.svg2pdf
    convert(bytestring=text.encode("utf-8"), write_to=str(path), scale=scale if suffix == ".png" else 1.0,
            background_color="white" if suffix == ".png" else None)
    return path


def model_picture(model) -> Picture:
    """The drawing of a model: its graph, intervened nodes (``do``) marked and cut from their parents.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
    >>> "<title>m: do(x = 1)</title>" in model_picture(m.do(x=1)).svg
    True
    """
    ir = model.ir
    held = [n for n in ir.nodes if n.kind == "fixed" or n.regime is not None]
    title = None
    if held:  # the title says which surgery the picture shows
        from .views import value_text

        title = f"{ir.name}: do(" + ", ".join(
            f"{n.name} {n.regime}" if n.regime is not None else
            f"{n.name} = {value_text(n, n.value) if not hasattr(n.value, 'index') else '·'}" for n in held) + ")"
    return Picture(model_svg(model, title=title), repr(model))


def graph_picture(graph: CausalGraph) -> Picture:
    """The drawing of a :class:`~causaldsl.graphs.causal_graph.CausalGraph` (intervened nodes marked)."""
    return Picture(graph_svg(graph), repr(graph))


# ------------------------------------------------------------------ the graphs a cell's queries use
def _value(node, expr) -> object:
    """An intervention's value as :func:`~.views.model_svg` takes it: a code, or ``"·"`` when not a constant."""
    if isinstance(expr, S.Num):
        return float(expr.value)
    if isinstance(expr, S.Str) and node.levels and expr.value in node.levels:
        return float(node.levels.index(expr.value))
    if isinstance(expr, S.Var) and node.levels and expr.name in node.levels:  # a bare level name
        return float(node.levels.index(expr.name))
    return "·"


def _literal(ir, expr) -> bool:
    """Whether a do() value is a number or a level, not an expression (a new mechanism)."""
    return not (isinstance(expr, S.Var) and expr.name in ir) and S.literal(expr) is not None


def interventions(ir, query) -> Optional[dict]:
    """The variables a query intervenes on (name -> value, ``"·"``, or the
    :class:`~causaldsl.model.ir.Regime` of a new mechanism), or ``None`` when it intervenes on none.

    ``do(...)`` conditions count, and the treatment of a named effect
    (``ATE(x -> y)`` compares ``do(x = 1)`` with ``do(x = 0)``). Counterfactual
    subscripts do not: their picture is the twin network (``m.twin(...)``).

    >>> import causaldsl as cd
    >>> from causaldsl.language.parser import parse_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
    >>> interventions(m.ir, parse_query("P(y = 1 | do(x = 1))")), interventions(m.ir, parse_query("ATE(x -> y)"))
    ({'x': 1.0}, {'x': '·'})
    >>> interventions(m.ir, parse_query("P(y = 1 | x = 1)")) is None
    True
    """
    if isinstance(query, S.EffectQuery):
        out = {query.treatment: "·"} if query.treatment in ir else None
        if out and query.effect == "CDE" and query.mediator in ir:  # the mediator is held too
            held = next((v.value for k, v, _ in query.options if k == query.mediator), None)
            expr = S.Var(held) if isinstance(held, str) else S.Num(held) if held is not None else None
            out[query.mediator] = "·" if expr is None else _value(ir[query.mediator], expr)
        return out
    out = {}
    for cond in getattr(query, "conditions", ()):
        if isinstance(cond, S.Do):
            for a in cond.assignments:
                if a.name in ir:
                    out[a.name] = _value(ir[a.name], a.value) if a.value is not None else "·"
                    if a.dist is not None or (out[a.name] == "·" and a.value is not None and not _literal(ir, a.value)):
                        try:
                            out[a.name] = check_regime(ir, a)
                        except CausalDSLError:  # the query itself reports it, where it is asked
                            pass
    return out or None


def _parts(query):
    """The queries a question that combines is made of (``E[y | do(x = 1)] - E[y]``: both); any
    other query is its own part."""
    if isinstance(query, S.QueryArith):
        yield from _parts(query.left)
        if query.right is not None:
            yield from _parts(query.right)
    elif not isinstance(query, S.QueryNumber):
        yield query


def query_pictures(model, queries, most: int = 4) -> list[str]:
    """The drawings a cell shows for ``model`` and the queries asked of it.

    Without do-queries, the model's graph. Otherwise one mutilated graph per
    distinct intervention (at most ``most``), titled with it, after the original
    graph when some query is asked of the model as it is.

    >>> import causaldsl as cd
    >>> from causaldsl.language.parser import parse_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
    >>> svgs = query_pictures(m, [parse_query("P(y = 1 | do(x = 0))")])
    >>> len(svgs), "m: do(x = 0)" in svgs[0], 'data-source="x"' in svgs[0]
    (1, True, True)
    """
    ir = model.ir
    seen: dict = {}  # the intervened names -> their values (``"·"`` where the queries set different ones)
    plain = not queries
    for q in (part for question in queries for part in _parts(question)):
        if not isinstance(q, (S.ProbQuery, S.ExpectQuery, S.EffectQuery, S.VarQuery, S.QuantileQuery)):
            continue
        ivs = interventions(ir, q)
        if ivs is None:
            plain = True
            continue
        # One picture per set of names (the graph is the same for any values), and per new mechanism
        key = tuple(sorted((n, v.text if isinstance(v, Regime) else "") for n, v in ivs.items()))
        old = seen.setdefault(key, dict(ivs))
        for n, v in ivs.items():
            if old[n] != v:
                old[n] = "·"
    out = [model_svg(model)] if plain or not seen else []
    for ivs in list(seen.values())[:most]:
        shown = ", ".join(f"{n} {v.text}" if isinstance(v, Regime) else n if v == "·" else f"{n} = {_shown(ir[n], v)}"
                          for n, v in ivs.items())
        regimes = {n: v for n, v in ivs.items() if isinstance(v, Regime)}
        values = {n: v for n, v in ivs.items() if not isinstance(v, Regime)}
        drawn = surgery(ir, regimes) if regimes else ir  # a new mechanism: its new parents are drawn
        out.append(model_svg(drawn, intervened=values, title=f"{ir.name}: do({shown})"))
    return out


def _shown(node, value) -> str:
    from .views import value_text

    return value if isinstance(value, str) else value_text(node, value)


def result_picture(pic) -> str:
    """A Result's :class:`~causaldsl.engines.results.Picture` as its small SVG chart."""
    from .charts import density_svg, distribution_svg

    if pic.kind == "bars":
        return distribution_svg(pic.labels, pic.heights, title=pic.title, intervals=pic.intervals,
                                caption=pic.xlabel)
    return density_svg(pic.edges, pic.heights, title=pic.title, mark=pic.mark, interval=pic.interval,
                       xlabel=pic.xlabel, mark_label=pic.mark_label)


# The core classes draw nothing themselves: this face draws them.
CausalGraph.painter = graph_picture
CounterfactualGraph.painter = draw_graph
Result.painter = result_picture
