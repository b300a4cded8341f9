"""Acyclic directed mixed graphs: the observable shadow of a causal model.

An :class:`ADMG` has directed edges ``a -> b`` and bidirected edges ``a <-> b``
(an unobserved common cause). :func:`latent_projection` turns a DAG with latent
nodes into the ADMG over its observed nodes (Verma & Pearl 1990; Evans 2016):
``a -> b`` when a directed path from a to b passes only through latents, and
``a <-> b`` when a and b have a latent common ancestor reached through latents only.

>>> import networkx as nx
>>> g = nx.DiGraph([("u", "x"), ("u", "y"), ("x", "m"), ("m", "y")])
>>> a = latent_projection(g, {"u"})
>>> sorted(a.directed.edges), sorted(tuple(sorted(e)) for e in a.bidirected)
([('m', 'y'), ('x', 'm')], [('x', 'y')])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable

import networkx as nx


@dataclass(frozen=True)
class ADMG:
    """Directed edges in ``directed`` (every vertex is a node of it), bidirected as 2-sets."""

    directed: nx.DiGraph
    bidirected: frozenset = field(default_factory=frozenset)  # frozenset of frozenset({a, b})

    @staticmethod
    def from_edges(directed: Iterable[tuple[str, str]] = (), bidirected: Iterable[tuple[str, str]] = (),
                   nodes: Iterable[str] = ()) -> "ADMG":
        """Build from edge lists.

        >>> ADMG.from_edges([("x", "y")], [("x", "y")]).nodes
        ['x', 'y']
        """
        g = nx.DiGraph()
        g.add_nodes_from(nodes)
        g.add_edges_from(directed)
        bi = set()
        for a, b in bidirected:
            g.add_nodes_from([a, b])
            if a != b:
                bi.add(frozenset((a, b)))
        return ADMG(g, frozenset(bi))

    @staticmethod
    def of(g) -> "ADMG":
        """``g`` as an ADMG: an ADMG itself, or a networkx DiGraph's directed edges (the graph
        functions also take a DagittyGraph, which each reads for its own purpose first).

        >>> ADMG.of(nx.DiGraph([("x", "y")])).nodes
        ['x', 'y']
        """
        if isinstance(g, ADMG):
            return g
        if isinstance(g, nx.DiGraph):
            return ADMG(g)
        raise TypeError(f"expected an ADMG, a networkx DiGraph or a DagittyGraph, got {type(g).__name__}")

    @property
    def nodes(self) -> list[str]:
        return list(self.directed.nodes)

    def parents(self, v: str) -> set[str]:
        return set(self.directed.predecessors(v))

    def children(self, v: str) -> set[str]:
        return set(self.directed.successors(v))

    def siblings(self, v: str) -> set[str]:
        """Nodes joined to ``v`` by a bidirected edge."""
        return set(self._spouses.get(v, ()))

    @functools.cached_property
    def _spouses(self) -> dict:
        # Read once: the separation searches ask for every node's siblings.
        out: dict = {}
        for e in self.bidirected:
            a, b = tuple(e)
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
        return out

    def adjacent(self, a: str, b: str) -> bool:
        """True when an edge of either kind joins ``a`` and ``b``."""
        return self.directed.has_edge(a, b) or self.directed.has_edge(b, a) or b in self._spouses.get(a, ())

    def ancestors(self, vs: Iterable[str]) -> set[str]:
        """``vs`` and all their ancestors (by directed edges).

        >>> sorted(ADMG.from_edges([("a", "b"), ("b", "c"), ("d", "c")]).ancestors(["b", "d"]))
        ['a', 'b', 'd']
        """
        return _closure(vs, self.directed.predecessors)

    def descendants(self, vs: Iterable[str]) -> set[str]:
        """``vs`` and all their descendants (by directed edges)."""
        return _closure(vs, self.directed.successors)

    def subgraph(self, keep: Iterable[str]) -> "ADMG":
        """The induced sub-ADMG on ``keep``."""
        keep = set(keep)
        return ADMG(self.directed.subgraph(keep).copy(), frozenset(e for e in self.bidirected if e <= keep))

    def mutilate(self, cut_incoming: Iterable[str] = (), cut_outgoing: Iterable[str] = ()) -> "ADMG":
        """The graph with every edge into ``cut_incoming`` removed (bidirected ones too,
        Pearl's :math:`G_{\\overline{X}}`) and every directed edge out of ``cut_outgoing``
        removed (:math:`G_{\\underline{Z}}`).

        >>> g = ADMG.from_edges([("x", "y")], [("x", "y")])
        >>> m = g.mutilate(cut_incoming=["x"])
        >>> sorted(m.directed.edges), sorted(m.bidirected)
        ([('x', 'y')], [])
        """
        cin, cout = set(cut_incoming), set(cut_outgoing)
        directed = self.directed.copy()
        directed.remove_edges_from([(a, b) for a, b in self.directed.edges if a in cout or b in cin])
        return ADMG(directed, frozenset(e for e in self.bidirected if not (e & cin)))

    def topological_order(self) -> list[str]:
        return list(nx.lexicographical_topological_sort(self.directed))

    def districts(self) -> list[set[str]]:
        """C-components: connected components of the bidirected part."""
        u = nx.Graph()
        u.add_nodes_from(self.directed.nodes)
        u.add_edges_from(tuple(e) for e in self.bidirected)
        return [set(c) for c in nx.connected_components(u)]

    def is_acyclic(self) -> bool:
        return nx.is_directed_acyclic_graph(self.directed)


def _closure(vs: Iterable[str], step) -> set[str]:
    """``vs`` and every node reached from them by ``step`` (one traversal for all of them)."""
    out = set(vs)
    stack = list(out)
    while stack:
        for w in step(stack.pop()):
            if w not in out:
                out.add(w)
                stack.append(w)
    return out


def latent_projection(dag: nx.DiGraph, latent: Iterable[str]) -> ADMG:
    """Project out ``latent`` nodes of a DAG (see module docstring)."""
    latent = set(latent)
    observed = [v for v in dag.nodes if v not in latent]
    directed = nx.DiGraph()
    directed.add_nodes_from(observed)

    def through_latents(start: str) -> set[str]:
        """Observed nodes reached from ``start`` by directed paths whose inner nodes are latent."""
        seen, stack, out = set(), list(dag.successors(start)), set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if v in latent:
                stack.extend(dag.successors(v))
            else:
                out.add(v)
        return out

    for a in observed:
        for b in through_latents(a):
            directed.add_edge(a, b)
    bi = set()
    # A latent's observed "children through latents" are all confounded with each other.
    for u in latent:
        reach = through_latents(u)
        for a in reach:
            for b in reach:
                if a != b:
                    bi.add(frozenset((a, b)))
    return ADMG(directed, frozenset(bi))
