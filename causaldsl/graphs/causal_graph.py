"""Causal graphs: the structure of a model (or a graph declared alone) and questions about it.

A :class:`CausalGraph` holds a DAG whose latent nodes are marked, and its
projection to an ADMG over the observed nodes (latent causes become ``<->``).
Identification and graph questions work on that projection: this module reads
the questions written in the language (``X _||_ Y | Z``, ``adjustment(X -> Y)``,
``identify P(Y | do(X))``, ...) and hands each to its algorithm in
:mod:`causaldsl.graphs.analysis` or :mod:`causaldsl.graphs.identify`.

>>> from causaldsl import graph
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
from dataclasses import dataclass, replace
from typing import Any, Iterable, Optional, Union

import networkx as nx

from . import analysis as ga
from ..language import syntax as S
from .admg import ADMG, latent_projection
from ..language.errors import (CausalDSLError, CycleError, DuplicateDefinitionError, QueryError,
                     UnknownNameError, did_you_mean)
from .identify import identify
from ..language.parser import parse, parse_query


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
    """A DAG with latent nodes marked, and its ADMG over the observed nodes.

    >>> from causaldsl import graph
    >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
    >>> iv
    <CausalGraph iv: 3 observed, 0 latent>
    >>> iv.query("Z _||_ Y | X").value
    False
    """

    def __init__(self, name: str, dag: nx.DiGraph, latents: Iterable[str] = (),
                 bidirected: Iterable[tuple[str, str]] = (), source: str = "", queries: tuple = (),
                 intervened: Iterable[str] = ()):
        self.name = name
        # Nodes held by do(): the graph of an intervened model, drawn and written (DOT) marked.
        self.intervened = frozenset(intervened)
        self.latents = frozenset(latents)
        self.dag = dag.copy()
        self.bidirected = frozenset(frozenset(e) for e in bidirected if len(set(e)) == 2)
        self.source = source
        self.queries = tuple(queries)

    def __repr__(self) -> str:
        return f"<CausalGraph {self.name}: {len(self.observed)} observed, {len(self.latents)} latent>"

    #: Draws a graph (``graph -> Picture``); the notebook face installs it, the core draws nothing.
    painter = None

    def draw(self, path=None):
        """The graph's drawing (it displays in a notebook); with ``path`` (``.svg``, ``.png``, ``.pdf``) also saved there.

        >>> from causaldsl import graph
        >>> graph("graph g {\\n X -> Y\\n}").draw().svg.count('class="cdsl-edge"')
        1
        """
        pic = CausalGraph.painter(self)
        return pic if path is None else pic.save(path)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.draw()._repr_mimebundle_(include, exclude)

    @property
    def observed(self) -> list[str]:
        """The nodes that are not latent, in the order they are declared.

        >>> from causaldsl import graph
        >>> graph("graph g {\\n latent U\\n U -> X\\n U -> Y\\n}").observed
        ['X', 'Y']
        """
        return [v for v in self.dag.nodes if v not in self.latents]

    @functools.cached_property
    def admg(self) -> ADMG:
        """The latent projection: observed nodes, ``->`` and ``<->`` edges (declared ones kept).

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n latent U\\n U -> X\\n U -> Y\\n X -> Y\\n}")
        >>> sorted(g.admg.directed.edges), [sorted(e) for e in g.admg.bidirected]
        ([('X', 'Y')], [['X', 'Y']])
        """
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

        >>> from causaldsl import graph
        >>> g = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> g.d_separated("Z", "Y"), g.open_path("Z", "Y"), g.adjustment_sets("X", "Y")
        (False, 'Z -> X -> Y', [])
        >>> [(z, sorted(w)) for z, w in g.instruments("X", "Y")], sorted(g.ancestors("Y"))
        ([('Z', [])], ['X', 'Z'])
        """
        xs, ys, zs = (_as_list(v) for v in (xs, ys, zs))
        self._check(xs + ys + zs)
        _apart(xs=xs, ys=ys, zs=zs)
        return ga.d_separated(self.admg, xs, ys, zs)

    def open_path(self, xs, ys, zs=()) -> Optional[str]:
        """An open (d-connecting) path between ``xs`` and ``ys`` given ``zs``, or None.

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> g.open_path("X", "Y", "Z")
        'X -> Y'
        >>> print(graph("graph chain {\\n X -> M -> Y\\n}").open_path("X", "Y", "M"))
        None
        """
        xs, ys, zs = (_as_list(v) for v in (xs, ys, zs))
        self._check(xs + ys + zs)
        _apart(xs=xs, ys=ys, zs=zs)
        path = ga.open_path(self.admg, xs, ys, zs)
        return None if path is None else ga.format_path(path)

    def adjustment_sets(self, x, y) -> list[frozenset]:
        """All minimal back-door adjustment sets for the effect of ``x`` on ``y`` ([] if none).

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> g.adjustment_sets("X", "Y")
        [frozenset({'Z'})]
        """
        xs, ys = _as_list(x), _as_list(y)
        self._check(xs + ys)
        _apart(x=xs, y=ys)
        return ga.adjustment_sets(self.admg, set(xs), set(ys))

    def instruments(self, x: str, y: str) -> list[tuple[str, frozenset]]:
        """Instrumental variables for ``x -> y``, each with the set it must be conditioned on.

        >>> from causaldsl import graph
        >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> iv.instruments("X", "Y")
        [('Z', frozenset())]
        """
        self._check([x, y])
        _apart(x=[x], y=[y])
        return ga.instruments(self.admg, x, y)

    def independences(self) -> list[tuple[str, str, frozenset]]:
        """The conditional independences the graph implies, ``(a, b, given)``.

        >>> from causaldsl import graph
        >>> graph("graph g {\\n X -> M -> Y\\n}").independences()
        [('X', 'Y', frozenset({'M'}))]
        """
        return ga.implied_independences(self.admg)

    def ancestors(self, v) -> set[str]:
        """The ancestors of ``v`` (a name or a list of names), ``v`` itself left out.

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> sorted(g.ancestors("Y"))
        ['X', 'Z']
        """
        vs = self._check(_as_list(v))
        return self.admg.ancestors(vs) - set(vs)

    def descendants(self, v) -> set[str]:
        """The descendants of ``v`` (a name or a list of names), ``v`` itself left out.

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> sorted(g.descendants("Z"))
        ['X', 'Y']
        """
        vs = self._check(_as_list(v))
        return self.admg.descendants(vs) - set(vs)

    def markov_blanket(self, v: str) -> set[str]:
        """The Markov blanket of ``v`` in the graph over the observed nodes.

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> sorted(g.markov_blanket("X"))
        ['Y', 'Z']
        """
        self._check([v])
        return ga.markov_blanket(self.admg, v)

    def identify(self, text: Union[str, S.ProbQuery], source: Optional[str] = None, *, data: str = "both"):
        """The estimand of an interventional or counterfactual query, in terms of observed variables.

        ``source`` is the text a parsed query came from (for error messages). A counterfactual
        query (``P(Y[X = 1] = 1 | X = 0)``) is identified by ID*/IDC*
        (:mod:`causaldsl.graphs.counterfactual_id`); ``data`` says which distributions its formula may
        use: ``"observations"``, ``"interventions"`` or ``"both"``.

        >>> from causaldsl import graph
        >>> g = graph("graph g {\\n Z -> X -> Y\\n Z -> Y\\n}")
        >>> est = g.identify("P(Y | do(X))")
        >>> est.rule, est.text
        ('back-door', 'Σ_Z P(Y | X, Z) P(Z)')
        """
        return identify_query(self, text, source, data=data)

    def bounds(self, text, *, data=None, method: Optional[str] = None, draws: int = 200, level: float = 0.95,
               uncertainty: str = "dirichlet", seed: int = 0, experiment=None):
        """Bounds on ``text`` (``"ATE(X -> Y)"``, ``"P(Y = 1 | do(X = 1))"``, ``"PNS(X -> Y)"``) from ``data``:
        the response-function linear programme over this graph (Balke & Pearl 1997), with a ``level``
        band on each end over ``draws`` draws of the observed distribution. See
        :meth:`causaldsl.api.CausalModel.bounds` and ``docs/language.md``, "Bounds".

        >>> from causaldsl import graph
        >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> b = iv.bounds("ATE(X -> Y)", data={"Z": [0, 0, 1, 1], "X": [0, 1, 0, 1], "Y": [0, 1, 1, 1]}, draws=20)
        >>> -1 <= b.low <= b.high <= 1
        True
        """
        from .bound_queries import bounds

        return bounds(self, text, data=data, method=method, draws=draws, level=level,
                      uncertainty=uncertainty, seed=seed, experiment=experiment)

    def ask(self, q: S.GraphQuery, source: Optional[str] = None) -> GraphAnswer:
        """Answer a parsed graph question.

        >>> from causaldsl import program
        >>> (g,) = program("graph g {\\n X -> Y\\n}\\nX _||_ Y")
        >>> g.ask(g.queries[0], g.source).answer
        'false, open path: X -> Y'
        """
        return answer(self, q, source)

    def query(self, text: str) -> GraphAnswer:
        """Answer a graph question written in the language: ``"X _||_ Y | Z"``, ``"adjustment(X -> Y)"``.

        >>> from causaldsl import graph
        >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> print(iv.query("X _||_ Y"))
        X _||_ Y: false, open path: X -> Y
        """
        prog = parse(text)
        items = [i for i in prog.items]
        if len(items) == 1 and isinstance(items[0], S.BoundsQuery):
            return self.bounds(text)
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
        """Answer every question written after the graph.

        >>> from causaldsl import graph
        >>> [a.value for a in graph("graph g {\\n X -> M -> Y\\n}\\nX _||_ Y | M").run()]
        [True]
        """
        out = []
        for q in self.queries:
            if isinstance(q, S.IdentifyQuery):
                out.append(self.identify(q, self.source))
            elif isinstance(q, S.GraphQuery):
                out.append(self.ask(q, self.source))
            elif isinstance(q, S.BoundsQuery):
                from .bound_queries import bounds_statement

                out.append(bounds_statement(self, q, self.source))
            else:
                raise QueryError(f"graph '{self.name}' has no mechanisms, so it cannot answer numeric queries",
                                 span=q.span, source=self.source,
                                 hint="write a 'model' block with a statement per variable, or ask "
                                      "'identify ...' or a graph question")
        return out

    # ------------------------------------------------------------------ interchange
    def to_dagitty(self) -> str:
        """DAGitty's text format (latent nodes marked ``[latent]``).

        >>> from causaldsl import graph
        >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> print(iv.to_dagitty())
        dag {
        Z
        X
        Y
        Z -> X
        X -> Y
        X <-> Y
        }
        """
        return ga.to_dagitty(self.admg_with_latents(), latents=self.latents)

    def to_dot(self, intervened: Optional[Iterable[str]] = None) -> str:
        """Graphviz DOT: latent nodes dashed, intervened nodes (default: :attr:`intervened`) double boxes.

        >>> from causaldsl import model
        >>> print(model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}").do(x=1).causal_graph.to_dot())
        digraph {
          "x" [shape=box, peripheries=2];
          "y";
          "x" -> "y";
        }
        """
        intervened = self.intervened if intervened is None else intervened
        return ga.to_dot(self.admg_with_latents(), latents=self.latents, intervened=intervened)

    def admg_with_latents(self) -> ADMG:
        """The graph as declared: latent nodes kept, declared ``<->`` edges kept.

        >>> from causaldsl import graph
        >>> iv = graph("graph iv {\\n Z -> X -> Y\\n X <-> Y\\n}")
        >>> sorted(iv.admg_with_latents().directed.edges)
        [('X', 'Y'), ('Z', 'X')]
        """
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
    dg = ga.from_dagitty(text)
    return CausalGraph(name, dg.admg.directed, dg.latents, [tuple(e) for e in dg.admg.bidirected], text)


# ---------------------------------------------------------------------- graph questions
def _set(names) -> str:
    names = sorted(names)
    return "{" + ", ".join(names) + "}"


def _apart(**groups) -> None:
    """A :class:`QueryError` where a variable is in two of the Python call's groups (the
    algorithms of :mod:`~causaldsl.graphs.analysis` take disjoint sets).

    >>> _apart(xs=["X"], ys=["Y"], zs=["X"])
    Traceback (most recent call last):
    ...
    causaldsl.language.errors.QueryError: 'X' is in both xs and zs
    hint: each variable may appear in one group only
    """
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = [v for v in groups[a] if v in groups[b]]
            if common:
                raise QueryError(f"'{common[0]}' is in both {a} and {b}",
                                 hint="each variable may appear in one group only")


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
    """Dispatch a parsed graph question to its algorithm in :mod:`causaldsl.graphs.analysis`."""
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


# ---------------------------------------------------------------------- identification
def _value(v: S.Value):
    return v.value


def identify_query(cg, text: Union[str, S.ProbQuery, S.IdentifyQuery], source: Optional[str] = None,
                   data: str = "both"):
    """Identify a query written as ``P(Y | do(X), Z)`` (or a counterfactual one) against a :class:`CausalGraph`."""
    source = cg.source if source is None else source
    if isinstance(text, str):
        source = text
        q = parse_query(text)
    else:
        q = text
    if isinstance(q, S.IdentifyQuery):
        data = _data_option(q, source, data)
        q = q.query
    if not isinstance(q, S.ProbQuery):
        raise QueryError("identify takes a query of the form P(Y | do(X), Z)", span=q.span, source=source,
                         hint="write e.g. identify P(cancer | do(smoking))")
    if _is_counterfactual(q):
        return identify_counterfactual_query(cg, q, source, data)
    outcomes, treatments, conditions, values, spans = [], [], [], {}, []
    for ev in q.events:
        if isinstance(ev, S.EqEvent) and ev.term.world is None:
            outcomes.append(ev.term.name)
            spans.append(ev.term.span)
            values[ev.term.name] = _value(ev.value)
        elif isinstance(ev, S.ExprEvent) and isinstance(ev.expr, S.Var) and ev.expr.world is None:
            outcomes.append(ev.expr.name)
            spans.append(ev.expr.span)
        else:
            raise QueryError("identify takes variables (optionally with values) as outcomes", span=ev.span,
                             source=source, hint="write identify P(Y | do(X)) or identify P(Y = 1 | do(X = 1))")
    for cond in q.conditions:
        if isinstance(cond, S.Do):
            for a in cond.assignments:
                treatments.append(a.name)
                spans.append(a.span)
                if a.dist is not None or (a.value is not None and _literal(a.value) is None):
                    raise regime_refusal(a, q, source)
                if a.value is not None:
                    values[a.name] = _literal(a.value)
        elif isinstance(cond, S.Given):
            raise QueryError("identify takes variables (optionally with values) as conditions", span=cond.span,
                             source=source, hint="write identify P(Y | do(X), Z) or identify P(Y | do(X), Z = 1)")
        else:
            conditions.append(cond.term.name)
            spans.append(cond.term.span)
            if cond.value is not None:
                values[cond.term.name] = _value(cond.value)
    if not treatments:
        raise QueryError("identify needs an intervention, do(...)", span=q.span, source=source,
                         hint="write identify P(Y | do(X))")
    cg._check(outcomes + treatments + conditions, spans, source)
    try:
        est = identify(cg.admg, outcomes, treatments, conditions)
    except QueryError as err:
        raise err.with_source(source) if err.line is None and q.span.line else err
    return replace(est, values=tuple(values.items()))


def regime_refusal(a: S.Assignment, q: Optional[S.ProbQuery], source: str) -> QueryError:
    """Why ``identify`` does not take a new mechanism (``do(X = 1 - Z)``, ``do(X ~ Bernoulli(0.3))``,
    ``do(X = X + 1)``), and the identification it reduces to, which ``identify`` does answer.

    A dynamic regime ``X = g(Z)`` or a stochastic policy ``X ~ P*(x | Z)``, with ``Z`` not caused
    by ``X``, is identified wherever ``P(Y | do(X), Z)`` is (Pearl, *Causality* 2009, §4.2
    "conditional actions and stochastic policies"): ``Σ_z P(Y | do(X = g(z)), z) P(z)``, or
    ``Σ_{x,z} P(Y | do(X = x), z) P*(x | z) P(z)``. A shift reads the unit's own ``X``, so it is an
    effect on the treated, ``Σ_x P(Y[X = x + d] | X = x) P(x)`` (Haneuse & Rotnitzky 2013,
    "modified treatment policies"): identified where each ``P(Y[X = x'] | X = x)`` is (IDC*).

    >>> from causaldsl.language.parser import parse_query
    >>> q = parse_query("P(Y | do(X = 1 - Z))")
    >>> print(regime_refusal(q.conditions[0].assignments[0], q, "P(Y | do(X = 1 - Z))").hint)
    do(X = 1 - Z) is identified where P(Y | do(X), Z) is: ask identify P(Y | do(X), Z); then P(Y | do(X = 1 - Z)) = Σ_{Z} P(Y | do(X = 1 - Z), Z) P(Z) (Pearl 2009, §4.2); m.query(...) answers it from the model
    """
    import re

    x = a.name
    item = a.text or x
    exprs = (a.value,) if a.value is not None else tuple(g.value for g in a.dist.args)
    reads = sorted({v for e in exprs for v in _var_names(e)})
    zs = ", ".join(v for v in reads if v != x)
    ys = [t.name for t in (getattr(ev, "term", getattr(ev, "expr", None)) for ev in (q.events if q else ()))
          if isinstance(t, S.Var)]
    ys = ", ".join(dict.fromkeys(ys)) or "Y"
    cond = f"P({ys} | do({x}){', ' + zs if zs else ''})"
    expr = item.split("=", 1)[1].strip() if a.value is not None and "=" in item else ""
    if x in reads:
        v = "v" if x != "v" else "w"
        shifted = re.sub(rf"\b{re.escape(x)}\b", v, expr) if expr else "..."
        hint = (f"do({item}) reads each unit's own {x}: it is an effect on the treated, "
                f"Σ_{v} P({ys}[{x} = {shifted}] | {x} = {v}) P({x} = {v}) (Haneuse & Rotnitzky 2013); "
                f"identify each P({ys}[{x} = 1] | {x} = 0) by counterfactual identification (IDC*); "
                "m.query(...) answers the shift itself from the model")
    elif a.dist is not None:
        v = x.lower() if x.lower() != x else x + "0"
        hint = (f"do({item}) is identified where {cond} is: ask identify {cond}; then P({ys} | do({item})) = "
                f"Σ_{{{v}{', ' + zs if zs else ''}}} P({ys} | do({x} = {v}){', ' + zs if zs else ''}) "
                f"P*({v}{' | ' + zs if zs else ''}){' P(' + zs + ')' if zs else ''} (Pearl 2009, §4.2); "
                "m.query(...) answers it from the model")
    else:
        hint = (f"do({item}) is identified where {cond} is: ask identify {cond}; then P({ys} | do({item})) = "
                f"Σ_{{{zs}}} P({ys} | do({x} = {expr}){', ' + zs if zs else ''}){' P(' + zs + ')' if zs else ''} "
                "(Pearl 2009, §4.2); m.query(...) answers it from the model")
    return QueryError("identify takes do(X) or do(X = value); a new mechanism for "
                      f"'{x}' is identified through the effect it reduces to", span=a.span, source=source, hint=hint)


def _var_names(e) -> set:
    """The variable names in a syntax tree (the graph stage reads syntax, not the model's expressions)."""
    import dataclasses

    if isinstance(e, S.Var):
        return {e.name}
    out: set = set()
    if dataclasses.is_dataclass(e):
        for f in dataclasses.fields(e):
            v = getattr(e, f.name)
            for c in (v if isinstance(v, tuple) else (v,)):
                if dataclasses.is_dataclass(c) and not isinstance(c, type):
                    out |= _var_names(c)
    return out


def _is_counterfactual(q: S.ProbQuery) -> bool:
    terms = [ev.term for ev in q.events if isinstance(ev, S.EqEvent)]
    terms += [ev.expr for ev in q.events if isinstance(ev, S.ExprEvent) and isinstance(ev.expr, S.Var)]
    terms += [c.term for c in q.conditions if isinstance(c, S.Observation)]
    return any(t.world is not None for t in terms)


def _cf_events(items, cg, source: str, what: str) -> list:
    """``(CfVar, value)`` events of a counterfactual query: every variable and setting needs a value."""
    from .counterfactual_id import CfVar

    out = []
    for ev in items:
        if isinstance(ev, S.Do):
            raise QueryError("a counterfactual query states interventions inside brackets, not with do()",
                             span=ev.span, source=source, hint="write P(Y[X = 1] = 1 | X = 0)")
        if isinstance(ev, S.Given):
            raise QueryError(f"identify takes counterfactual events as {what}", span=ev.span, source=source,
                             hint="write P(Y[X = 1] = 1 | X = 0)")
        term = ev.term if isinstance(ev, (S.EqEvent, S.Observation)) else getattr(ev, "expr", None)
        value = getattr(ev, "value", None)
        if not isinstance(term, S.Var) or value is None:
            raise QueryError("counterfactual identification needs a value for every variable (ID* merges "
                             "worlds by value)", span=ev.span, source=source,
                             hint="write e.g. Y[X = 1] = 1, with a value after '='")
        sub = []
        names, spans = [term.name], [term.span]
        for a in term.world or ():
            lit = _literal(a.value) if a.value is not None else None
            if a.dist is not None or (a.value is not None and lit is None and not isinstance(a.value, S.Var)):
                raise regime_refusal(a, None, source)
            if lit is None:
                raise QueryError("a counterfactual world sets each variable to a value", span=a.span, source=source,
                                 hint=f"write [{a.name} = 1]")
            sub.append((a.name, lit))
            names.append(a.name)
            spans.append(a.span)
        cg._check(names, spans, source)
        out.append((CfVar(term.name, tuple(sub)), _value(value)))
    return out


DATA_MODES = ("observations", "interventions", "both")


def _data_option(q: S.IdentifyQuery, source: str, default: str) -> str:
    """The ``data = ...`` option of an identify statement (cfid's ``data``: which distributions a
    counterfactual's formula may use), checked; ``default`` where it is not given."""
    data = default
    for name, value, span in q.options:
        if name != "data":
            raise QueryError(f"identify has no option '{name}'", span=span, source=source,
                             hint="its one option is data = observations | interventions | both")
        if value.value not in DATA_MODES:
            raise QueryError(f"data = {value.value} is not one of {', '.join(DATA_MODES)}", span=value.span,
                             source=source, hint="data = observations: the formula uses P(V) alone")
        data = value.value
    return data


def identify_counterfactual_query(cg, q: S.ProbQuery, source: str, data: str = "both"):
    """``identify P(Y[X = 1] = 1 | X = 0)``: ID*/IDC* on the graph's ADMG (see :mod:`causaldsl.graphs.counterfactual_id`)."""
    from .counterfactual_id import identify_counterfactual

    gamma = _cf_events(q.events, cg, source, "outcomes")
    delta = _cf_events(q.conditions, cg, source, "conditions")
    try:
        return identify_counterfactual(cg.admg, gamma, delta, data=data, query=q.text or None)
    except QueryError as err:
        if err.line is not None:
            raise
        raise type(err)(err.message, span=q.span, source=source, hint=err.hint) from None


def _literal(e: S.Expr):
    if isinstance(e, S.Num):
        return e.value
    if isinstance(e, S.Unary) and isinstance(e.operand, S.Num):
        return -e.operand.value if e.op == "-" else e.operand.value
    if isinstance(e, S.Var) and e.world is None:
        return e.name
    return None
