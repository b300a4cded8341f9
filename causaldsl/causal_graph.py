"""Causal graphs: the structure of a model (or a graph declared alone) and questions about it.

A :class:`CausalGraph` holds a DAG whose latent nodes are marked, and its
projection to an ADMG over the observed nodes (latent causes become ``<->``).
Identification and graph questions work on that projection.

>>> g = graph('''
... graph frontdoor {
...     smoking -> tar -> cancer
...     smoking <-> cancer
... }''')
>>> g.d_separated("smoking", "cancer", ["tar"])
False
>>> print(g.identify("P(cancer | do(smoking))").rule)
front-door
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Union

import networkx as nx

from . import syntax as S
from .admg import ADMG, latent_projection
from .errors import (CausalDSLError, CycleError, DuplicateDefinitionError, QueryError,
                     UnknownNameError, did_you_mean)


@dataclass(frozen=True)
class GraphAnswer:
    """The answer to a graph question (``X _||_ Y | Z``, ``adjustment(X -> Y)``, ...)."""

    query: str
    value: Any
    answer: str
    method: str = "graph"

    @property
    def details(self) -> str:
        return self.method

    def __bool__(self) -> bool:
        return bool(self.value)

    def __str__(self) -> str:
        return f"{self.query}: {self.answer}"

    def _repr_html_(self) -> str:
        import html

        return f"<code>{html.escape(self.query)}</code>: <b>{html.escape(self.answer)}</b>"


class CausalGraph:
    """A DAG with latent nodes marked, and its ADMG over the observed nodes."""

    def __init__(self, name: str, dag: nx.DiGraph, latents: Iterable[str] = (),
                 bidirected: Iterable[tuple[str, str]] = (), source: str = "", queries: tuple = ()):
        self.name = name
        self.latents = frozenset(latents)
        self.dag = dag.copy()
        self.bidirected = frozenset(frozenset(e) for e in bidirected if len(set(e)) == 2)
        self.source = source
        self.queries = tuple(queries)

    def __repr__(self) -> str:
        return f"<CausalGraph {self.name}: {len(self.observed)} observed, {len(self.latents)} latent>"

    @property
    def observed(self) -> list[str]:
        return [v for v in self.dag.nodes if v not in self.latents]

    @functools.cached_property
    def admg(self) -> ADMG:
        """The latent projection: observed nodes, ``->`` and ``<->`` edges (declared ones kept)."""
        projected = latent_projection(self.dag, self.latents)
        return ADMG(projected.directed, projected.bidirected | self.bidirected)

    # ------------------------------------------------------------------ names
    def _check(self, names: Iterable[str], spans=(), source: Optional[str] = None, observed=True) -> list[str]:
        names = list(names)
        spans = list(spans) + [None] * (len(names) - len(list(spans)))
        pool = self.observed if observed else list(self.dag.nodes)
        for n, sp in zip(names, spans):
            if n not in pool:
                latent = n in self.latents
                msg = f"'{n}' is latent; questions are about observed variables" if latent \
                    else f"unknown variable '{n}'"
                raise UnknownNameError(msg, span=sp, source=source,
                                       hint=did_you_mean(n, pool) or "variables are: " + ", ".join(pool))
        return names

    # ------------------------------------------------------------------ questions
    def d_separated(self, xs, ys, zs=()) -> bool:
        """True when ``xs`` and ``ys`` are d-separated (m-separated) given ``zs``.

        The Python face of the language's graph questions; each method below
        answers one of them with plain Python values.

        >>> g = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> g.d_separated("Z", "Y"), g.open_path("Z", "Y"), g.adjustment_sets("X", "Y")
        (False, 'Z -> X -> Y', [])
        >>> [(z, sorted(w)) for z, w in g.instruments("X", "Y")], sorted(g.ancestors("Y"))
        ([('Z', [])], ['X', 'Z'])
        """
        from .graph_analysis import d_separated

        xs, ys, zs = (_as_list(v) for v in (xs, ys, zs))
        self._check(xs + ys + zs)
        return d_separated(self.admg, xs, ys, zs)

    def open_path(self, xs, ys, zs=()) -> Optional[str]:
        """An open (d-connecting) path between ``xs`` and ``ys`` given ``zs``, or None."""
        from .graph_analysis import format_path, open_path

        xs, ys, zs = (_as_list(v) for v in (xs, ys, zs))
        self._check(xs + ys + zs)
        path = open_path(self.admg, xs, ys, zs)
        return None if path is None else format_path(path)

    def adjustment_sets(self, x, y) -> list[frozenset]:
        """All minimal back-door adjustment sets for the effect of ``x`` on ``y`` ([] if none)."""
        from .graph_analysis import adjustment_sets

        xs, ys = _as_list(x), _as_list(y)
        self._check(xs + ys)
        return adjustment_sets(self.admg, set(xs), set(ys))

    def instruments(self, x: str, y: str) -> list[tuple[str, frozenset]]:
        """Instrumental variables for ``x -> y``, each with the set it must be conditioned on."""
        from .graph_analysis import instruments

        self._check([x, y])
        return instruments(self.admg, x, y)

    def independences(self) -> list[tuple[str, str, frozenset]]:
        """The conditional independences the graph implies, ``(a, b, given)``."""
        from .graph_analysis import implied_independences

        return implied_independences(self.admg)

    def ancestors(self, v) -> set[str]:
        vs = self._check(_as_list(v))
        return self.admg.ancestors(vs) - set(vs)

    def descendants(self, v) -> set[str]:
        vs = self._check(_as_list(v))
        return self.admg.descendants(vs) - set(vs)

    def markov_blanket(self, v: str) -> set[str]:
        from .graph_analysis import markov_blanket

        self._check([v])
        return markov_blanket(self.admg, v)

    def identify(self, text: Union[str, S.ProbQuery], source: Optional[str] = None):
        """The estimand of an interventional query, in terms of observed variables.

        ``source`` is the text a parsed query came from (for error messages).
        """
        from .identification_api import identify_query

        return identify_query(self, text, source)

    def ask(self, q: S.GraphQuery, source: Optional[str] = None) -> GraphAnswer:
        """Answer a parsed graph question."""
        from .graph_questions import answer

        return answer(self, q, source)

    def query(self, text: str) -> GraphAnswer:
        """Answer a graph question written in the language: ``"X _||_ Y | Z"``, ``"adjustment(X -> Y)"``."""
        from .parser import parse

        prog = parse(text)
        items = [i for i in prog.items]
        if len(items) != 1 or not isinstance(items[0], (S.GraphQuery, S.IdentifyQuery)):
            if len(items) == 1 and isinstance(items[0], (S.ProbQuery, S.ExpectQuery, S.EffectQuery)):
                raise QueryError(f"graph '{self.name}' has no mechanisms, so it cannot answer numeric queries",
                                 span=items[0].span, source=text,
                                 hint="write a 'model' block with a statement per variable, or ask "
                                      "'identify ...' or a graph question")
            raise QueryError("expected one graph question", line=1, column=1, source=text,
                             hint="e.g. X _||_ Y | Z, adjustment(X -> Y), identify P(Y | do(X))")
        if isinstance(items[0], S.IdentifyQuery):
            return self.identify(items[0].query, text)
        return self.ask(items[0], text)

    def run(self) -> list:
        """Answer every question written after the graph."""
        out = []
        for q in self.queries:
            if isinstance(q, S.IdentifyQuery):
                out.append(self.identify(q, self.source))
            elif isinstance(q, S.GraphQuery):
                out.append(self.ask(q, self.source))
            else:
                raise QueryError(f"graph '{self.name}' has no mechanisms, so it cannot answer numeric queries",
                                 span=q.span, source=self.source,
                                 hint="write a 'model' block with a statement per variable, or ask "
                                      "'identify ...' or a graph question")
        return out

    # ------------------------------------------------------------------ interchange
    def to_dagitty(self) -> str:
        """DAGitty's text format (latent nodes marked ``[latent]``)."""
        from .graph_analysis import to_dagitty

        return to_dagitty(self.admg_with_latents(), latents=self.latents)

    def to_dot(self, intervened: Iterable[str] = ()) -> str:
        """Graphviz DOT: latent nodes dashed, intervened nodes marked."""
        from .graph_analysis import to_dot

        return to_dot(self.admg_with_latents(), latents=self.latents, intervened=intervened)

    def admg_with_latents(self) -> ADMG:
        """The graph as declared: latent nodes kept, declared ``<->`` edges kept."""
        return ADMG(self.dag.copy(), self.bidirected)


def _as_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return list(v)


def check_graph(block: S.GraphBlock, source: str = "", queries: tuple = ()) -> CausalGraph:
    """A parsed ``graph`` block as a :class:`CausalGraph` (acyclic, latents declared)."""
    dag = nx.DiGraph()
    for name, _ in block.nodes:
        dag.add_node(name)
    seen_latent: dict[str, Any] = {}
    for name, sp in block.latents:
        if name in seen_latent:
            raise DuplicateDefinitionError(f"'{name}' is declared latent twice", span=sp, source=source,
                                           hint="declare each latent node once")
        seen_latent[name] = sp
    bidirected = []
    for e in block.edges:
        if e.source == e.target:
            raise CycleError(f"'{e.source}' points to itself", span=e.span, source=source,
                             hint="remove the self-loop")
        if e.op == "->":
            dag.add_edge(e.source, e.target)
            try:
                cycle = nx.find_cycle(dag, e.source)
            except nx.NetworkXNoCycle:
                cycle = None
            if cycle:
                path = [u for u, _ in cycle] + [cycle[0][0]]
                raise CycleError("the edges form a cycle: " + " -> ".join(path), span=e.span, source=source,
                                 hint="a causal graph must be acyclic; remove one of these edges")
        else:
            for end in (e.source, e.target):
                if end in seen_latent:
                    raise CausalDSLError(f"'{end}' is latent; a <-> edge joins observed variables",
                                         span=e.span, source=source,
                                         hint=f"write {end} -> ... edges from the latent node instead")
            bidirected.append((e.source, e.target))
    return CausalGraph(block.name, dag, seen_latent, bidirected, source, queries)


def from_dagitty(text: str, name: str = "dagitty") -> CausalGraph:
    """A graph written in DAGitty's format (``dag { X -> Y ; U [latent] ; U -> {X Y} }``).

    >>> g = from_dagitty("dag { U [latent] ; U -> {X Y} ; X -> M -> Y }")
    >>> g.identify("P(Y | do(X))").rule
    'front-door'
    """
    from .graph_analysis import from_dagitty as read

    dg = read(text)
    return CausalGraph(name, dg.admg.directed, dg.latents, [tuple(e) for e in dg.admg.bidirected], text)


def graph(source: str, name: Optional[str] = None) -> CausalGraph:
    """The graph in ``source``: a ``graph NAME { ... }`` block (or a model's structure) and its questions."""
    from .api import program

    items = [g for g in program(source) if isinstance(g, CausalGraph) or hasattr(g, "causal_graph")]
    if not items:
        raise QueryError("no graph or model in the text", line=1, column=1, source=source,
                         hint="write a block such as: graph g { X -> Y }")
    if name is None and len(items) > 1:
        raise QueryError(f"the text holds {len(items)} graphs or models", hint="pick one with name=...")
    for g in items:
        if name is None or g.name == name:
            return g if isinstance(g, CausalGraph) else g.causal_graph
    raise UnknownNameError(f"no graph named '{name}'", hint=did_you_mean(name, [g.name for g in items])
                           or "names are: " + ", ".join(g.name for g in items))
