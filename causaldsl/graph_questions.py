"""Answers to graph questions written in the language.

``X _||_ Y | Z`` (d-separation, with an open path when false),
``adjustment(X -> Y)``, ``instruments(X -> Y)``, ``independences``,
``ancestors(X)``, ``descendants(X)``, ``parents(X)``, ``children(X)``,
``markov_blanket(X)`` and ``admg`` (the latent projection).
All work on the ADMG over the observed variables.
"""

from __future__ import annotations

from typing import Optional

from . import syntax as S
from .causal_graph import CausalGraph, GraphAnswer
from .errors import QueryError


def _set(names) -> str:
    names = sorted(names)
    return "{" + ", ".join(names) + "}"


def _check_disjoint(q: S.GraphQuery, source: Optional[str]) -> None:
    """A variable may not stand on both sides of a question (``a _||_ b | a``, ``adjustment(a -> a)``)."""
    if q.kind == "instruments":
        groups = [((q.args[0],), (q.spans[0],)), ((q.args[1],), (q.spans[1],))]
    elif q.kind in ("dsep", "adjustment"):
        groups = list(zip(q.args, q.spans))
    else:
        return
    seen: dict[str, int] = {}
    for i, (names, spans) in enumerate(groups):
        for name, span in zip(names, spans):
            if name in seen and seen[name] != i:
                raise QueryError(f"'{name}' appears on both sides of the question", span=span, source=source,
                                 hint="each variable may appear in one group only"
                                      + (" (the conditioning set excludes the two sides)" if q.kind == "dsep" else ""))
            seen.setdefault(name, i)


def answer(cg: CausalGraph, q: S.GraphQuery, source: Optional[str] = None) -> GraphAnswer:
    """Dispatch a parsed graph question to its algorithm in :mod:`causaldsl.graph_analysis`."""
    from . import graph_analysis as ga

    g = cg.admg
    text = q.text or q.kind
    _check_disjoint(q, source)
    if q.kind == "dsep":
        xs, ys, zs = (cg._check(names, spans, source) for names, spans in zip(q.args, q.spans))
        if ga.d_separated(g, xs, ys, zs):
            return GraphAnswer(text, True, "true")
        path = ga.open_path(g, xs, ys, zs)
        return GraphAnswer(text, False, "false, open path: " + ga.format_path(path))
    if q.kind == "adjustment":
        xs, ys = (cg._check(names, spans, source) for names, spans in zip(q.args, q.spans))
        sets = ga.adjustment_sets(g, set(xs), set(ys))
        if not sets:
            return GraphAnswer(text, [], "no back-door adjustment set exists")
        return GraphAnswer(text, sets, ", ".join(_set(s) for s in sets))
    if q.kind == "instruments":
        x, y = cg._check(q.args, q.spans, source)
        found = ga.instruments(g, x, y)
        if not found:
            return GraphAnswer(text, [], "none")
        parts = [z if not w else f"{z} | {', '.join(sorted(w))}" for z, w in found]
        return GraphAnswer(text, found, "; ".join(parts))
    if q.kind == "independences":
        found = ga.implied_independences(g)
        parts = [f"{a} _||_ {b}" + (f" | {', '.join(sorted(z))}" if z else "") for a, b, z in found]
        return GraphAnswer(text, found, "; ".join(parts) if parts else "none")
    if q.kind in ("ancestors", "descendants", "parents", "children", "markov_blanket"):
        names = cg._check(q.args, q.spans, source)
        if q.kind == "ancestors":
            found = g.ancestors(names) - set(names)
        elif q.kind == "descendants":
            found = g.descendants(names) - set(names)
        elif q.kind == "parents":
            found = set().union(*(g.parents(v) for v in names)) - set(names)
        elif q.kind == "children":
            found = set().union(*(g.children(v) for v in names)) - set(names)
        else:
            found = set().union(*(ga.markov_blanket(g, v) for v in names)) - set(names)
        return GraphAnswer(text, found, _set(found))
    if q.kind == "admg":
        edges = [f"{a} -> {b}" for a, b in sorted(g.directed.edges)]
        edges += [" <-> ".join(sorted(e)) for e in sorted(g.bidirected, key=sorted)]
        return GraphAnswer(text, g, "; ".join(edges) if edges else "no edges")
    raise ValueError(q.kind)  # pragma: no cover - the grammar allows no other kind
