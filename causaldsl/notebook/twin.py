"""Drawings of twin (multi-world) networks: the worlds a counterfactual query compares.

Built from the query's plan (:func:`causaldsl.model.queries.plan_query`), which holds
the network the engines compute on (:func:`causaldsl.model.worlds.twin`): one copy of
each variable per world, except that copies which cannot differ between worlds
are merged (drawn once, in the factual column). Each world is a column. The
exogenous noise ``U_v`` of a ``~`` statement is drawn once, above the columns,
with a dotted arrow into every copy that shares it; an intervened copy is held
fixed, so it has no noise arrow and no parents.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.5 * x)\\n}")
>>> tw = twin_network(m, "P(y[x = 0] = 1 | x = 1, y = 1)")
>>> sorted(tw.edges)
[('U_y', 'y'), ('U_y', 'y[x=0]'), ('x', 'y'), ('x[x=0]', 'y[x=0]')]
>>> tw.worlds
{'x': 'factual', 'y': 'factual', 'x[x=0]': 'x=0', 'y[x=0]': 'x=0'}
"""

from __future__ import annotations

import re
from typing import Union

from ..language.errors import QueryError
from .drawing import draw_graph
from .views import value_text

FACTUAL = "factual"


class TwinNetwork:
    """The worlds of one counterfactual query, as nodes and edges, and as SVG.

    ``nodes`` are copy names with the query's values filled in (``y[x=0]``) and
    one ``U_v`` per noise shared by two or more copies; ``edges`` are directed
    ``(parent, child)`` pairs; ``worlds`` maps each copy to its world's label
    (``"factual"`` for the factual world and for copies merged across worlds);
    ``intervened`` are the copies held fixed, ``origin`` the variable of each copy.
    """

    def __init__(self, query: str, nodes: list, edges: list, worlds: dict, intervened: dict,
                 origin: dict, noise: dict, latent: set, observed: set, model_name: str, rank: dict):
        self.query = query
        self.nodes = nodes
        self.edges = edges
        self.worlds = worlds
        self.intervened = intervened  # copy -> its value, as text
        self.origin = origin
        self.noise = noise  # U node -> the copies that share it
        self.latent = latent
        self.observed = observed  # copies the query conditions on
        self.model_name = model_name
        self._rank = rank
        self.labels: dict = {}  # copy -> its label where it is not its variable's name (x' for a natural value)
        self._svg = None

    @property
    def svg(self) -> str:
        """The drawing: one column per world, shared noise above, intervened copies boxed."""
        if self._svg is None:
            order = list(dict.fromkeys(self.worlds.values()))
            if FACTUAL in order:
                order.remove(FACTUAL)
            order.insert(0, FACTUAL)
            col = {w: i for i, w in enumerate(order)}
            groups = {v: col[self.worlds[v]] for v in self.worlds}
            clusters = [(("factual world (and copies shared by all worlds)" if w == FACTUAL
                          else f"world {w}"), [v for v in self.worlds if self.worlds[v] == w]) for w in order]
            labels = {v: self.labels.get(v, self.origin.get(v, v)) for v in self.nodes}
            # a value is shown "do = 1"; a new mechanism as written, "do = x + 1", "do ~ Bernoulli(0.3)"
            sub = {v: f"do {val}" if val[:1] in "=~" else f"do = {val}" for v, val in self.intervened.items()}
            sub.update({v: "observed" for v in self.observed if v not in sub})
            self._svg = draw_graph(self.nodes, self.edges, latent=self.latent, intervened=self.intervened,
                                   observed=self.observed, noise=list(self.noise), labels=labels,
                                   sublabels=sub, rank=self._rank, groups=groups, clusters=clusters,
                                   title=f"twin network of {self.query}")
        return self._svg

    def __repr__(self) -> str:
        worlds = list(dict.fromkeys(self.worlds.values()))
        return (f"<TwinNetwork of {self.query}: worlds {', '.join(worlds)}; "
                f"{len(self.worlds)} copies, shared noise {', '.join(self.noise) or 'none'}>")

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": repr(self), "image/svg+xml": self.svg,
                "text/html": f'<div class="cdsl-output">{self.svg}</div>'}


def twin_network(model, query: Union[str, object]) -> TwinNetwork:
    """The twin network of ``query`` (a counterfactual, an effect such as ``PN(x -> y)``, or any query).

    ``model`` is a :class:`~causaldsl.CausalModel`. Copies that the worlds share
    are drawn once; every noise shared by two or more copies is drawn as one
    ``U_v`` node with an arrow into each of them.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n z ~ Bernoulli(0.5)\\n x ~ Bernoulli(0.3 + 0.4 * z)\\n y := x or z\\n}")
    >>> tw = twin_network(m, "ATE(x -> y)")
    >>> sorted(tw.worlds.values()).count("factual"), sorted(tw.noise)
    (1, [])
    """
    from ..language import syntax as S
    from ..language.parser import parse_query
    from ..model.queries import plan_query

    ir = model.ir
    if isinstance(query, str):
        text = query
        q = parse_query(text)
    else:
        q, text = query, getattr(query, "text", "") or repr(query)
    if isinstance(q, (S.QueryArith, S.QueryNumber, S.VarQuery, S.QuantileQuery)):
        raise QueryError("a twin network belongs to one query, and this question combines several",
                         span=getattr(q, "span", None), source=text if isinstance(query, str) else None,
                         hint="draw the twin network of one of its parts, e.g. m.twin(\"E[y[x = 1] - y[x = 0]]\")")
    if isinstance(q, (S.GraphQuery, S.IdentifyQuery)):
        raise QueryError("a twin network belongs to a numeric query such as P(y[x = 0] = 1 | x = 1)",
                         line=1, column=1, source=text if isinstance(query, str) else None,
                         hint="graph questions and identify have no worlds to draw")
    plan = plan_query(ir, q, text if isinstance(query, str) else model.source)
    net = plan.network
    values = plan.values

    def fill(label: str) -> str:
        # Copy names carry the query's values as slots ($0, $1, ...); show the values.
        return re.sub(r"(\w+)=\$(\d+)",
                      lambda m_: f"{m_.group(1)}={value_text(ir[m_.group(1)], values[int(m_.group(2))])}"
                      if m_.group(1) in ir else m_.group(0), label)

    shown = {n.name: fill(n.name) for n in net.nodes}
    worlds, origin, intervened, labels = {}, {}, {}, {}
    for n in net.nodes:
        name = shown[n.name]
        origin[name] = n.origin or n.name
        base = origin[name]
        stem = name.split("[", 1)[0]  # x, or x' (x's natural value, read by a shift)
        if "[" not in name or stem.rstrip("'") != base:
            worlds[name] = FACTUAL
        else:
            worlds[name] = name[len(stem) + 1:name.rindex("]")]
        if stem.endswith("'") or n.name.endswith("'"):
            labels[name] = base + "'"
        if n.kind == "fixed":
            v = values[n.value.index] if hasattr(n.value, "index") else n.value
            intervened[name] = value_text(ir[origin[name]] if origin[name] in ir else n, v)
        elif n.regime is not None:  # a new mechanism: its parents stay, drawn as written
            intervened[name] = n.regime
    edges = [(shown[p], shown[n.name]) for n in net.nodes for p in n.parents]
    groups: dict = {}
    letter = {}  # U: one shared uniform; G: one shared Gumbel per value (coupling = gumbel)
    for n in net.nodes:
        if n.kind == "sample":  # a := copy has no noise of its own; a fixed copy ignores its U
            groups.setdefault(n.noise, []).append(shown[n.name])
            letter[n.noise] = "G" if n.gumbel_race else "U"
    noise = {f"{letter[k]}_{k}": v for k, v in groups.items() if len(v) > 1}
    for u, copies in noise.items():
        edges += [(u, c) for c in copies]
    layers = _generations(ir)
    rank = {shown[n.name]: layers.get(n.origin or n.name, 0) + (1 if noise else 0) for n in net.nodes}
    rank.update({u: 0 for u in noise})
    observed = {shown[c] for c, _ in plan.evidence}
    latent = {shown[n.name] for n in net.nodes if n.latent}
    nodes = list(noise) + [shown[n.name] for n in net.nodes]
    tw = TwinNetwork(text, nodes, edges, worlds, intervened, origin, noise, latent, observed, ir.name, rank)
    tw.labels = labels
    return tw


def _generations(ir) -> dict:
    import networkx as nx

    out = {}
    for i, gen in enumerate(nx.topological_generations(ir.graph)):
        for v in gen:
            out[v] = i
    return out
