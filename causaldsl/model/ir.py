"""The model IR: the contract between the front end and every backend.

A :class:`Model` is an immutable tuple of :class:`Node` in topological order.
Each node has one mechanism:

* ``sample``: ``X ~ Family(args)``, read as ``X := F⁻¹(U_noise; args)``;
* ``assign``: ``X := expr``, deterministic given its parents;
* ``fixed``:  ``X`` held at a value by an intervention (no parents).

A soft intervention (:class:`Regime`: a shift ``do(X = X + 1)``, a dynamic regime
``do(X = 1 - Z)``, a stochastic one ``do(X ~ Bernoulli(0.3))``) gives ``X`` a new ``assign``
or ``sample`` mechanism instead (its ``regime`` field says so); ``X``'s natural value, where the
new mechanism reads it, is a node of its own, ``X'`` (:func:`natural_name`).

Nodes that share ``noise`` share their exogenous ``U``: that is how twin
networks (:mod:`causaldsl.model.worlds`) couple worlds. Mechanism expressions refer
to parents by the names in ``bind`` (expression name -> node name), so that a
copy of a node in another world reuses the same expression.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Optional, Union

import networkx as nx

from ..language import syntax as S
from ..language.errors import Span
from .expressions import free_vars


COUPLINGS = ("quantile", "gumbel")  # how the copies of a variable in several worlds share its noise


@dataclass(frozen=True)
class Slot:
    """A query value passed at run time (so that new values reuse compiled code)."""

    index: int


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # "sample" | "assign" | "fixed"
    parents: tuple[str, ...] = ()
    family: Optional[str] = None
    args: tuple[S.Expr, ...] = ()
    expr: Optional[S.Expr] = None
    bind: tuple[tuple[str, str], ...] = ()
    domain: Optional[tuple[float, ...]] = None  # finite support, or None
    levels: Optional[tuple[str, ...]] = None  # names of categorical levels
    latent: bool = False
    value: Union[float, Slot, None] = None  # for fixed nodes
    noise: str = ""  # noise group: nodes with the same noise share U
    coupling: str = "quantile"  # how copies sharing the noise are coupled (engines/coupling.py)
    origin: str = ""  # the variable of the source model this node is a copy of
    regime: Optional[str] = None  # a soft intervention's text ("X + 1", "~ Bernoulli(0.3)"): the mechanism it replaced
    span: Span = field(default=Span(0, 0), compare=False)
    text: str = field(default="", compare=False)  # the statement, for messages

    def __hash__(self) -> int:
        # Over the node's shape, not its mechanism: a plan's key holds its network's nodes, and
        # hashing a mechanism (a BIF table: every number) cost more than a new question's answer.
        # Equal nodes still hash equal; equality compares the mechanisms.
        return hash((self.name, self.kind, self.parents, self.family, self.bind, self.domain, self.value,
                     self.noise, self.origin))

    @property
    def finite(self) -> bool:
        return self.domain is not None

    @property
    def gumbel_race(self) -> bool:
        """Whether its copies in several worlds race by Gumbel-max (``coupling = gumbel`` on a
        ``~`` variable with three or more values; with two, the race is the quantile coupling)."""
        return self.kind == "sample" and self.coupling == "gumbel" and self.domain is not None and len(self.domain) > 2

    @property
    def env_names(self) -> dict[str, str]:
        """Expression name -> node name for this node's parents."""
        return dict(self.bind) if self.bind else {p: p for p in self.parents}

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"do({self.origin} = {self.value})"
        if self.regime is not None:
            return f"do({self.origin} {self.regime})"
        return self.text or self.name


@dataclass(frozen=True)
class Regime:
    """A soft intervention on one variable: its mechanism replaced rather than its value fixed.

    ``kind`` is ``"assign"`` (``X := expr``: a shift ``X + 1``, a dynamic regime ``1 - Z`` or
    ``if Z then 1 else 0``) or ``"sample"`` (``X ~ family(args)``: a stochastic intervention).
    Inside ``expr`` and ``args``, the intervened variable's own name stands for its *natural*
    value: what its own mechanism gives in that world, from its parents and its noise (so
    ``X + 1`` is a shift); every other name is that variable in the same world. A ``sample``
    regime draws from noise of its own, independent of the variable's own noise (see
    docs/language.md, "Interventions that replace a mechanism").

    ``domain`` is the finite set of values the new mechanism takes (None: continuous), worked
    out by :func:`causaldsl.model.checker.check_regime`, which builds every regime; ``levels``
    are the variable's level names, unchanged. ``text`` is the regime as the user wrote it,
    after the variable: ``"= X + 1"``, ``"~ Bernoulli(0.3)"``.

    >>> r = Regime("assign", expr=S.BinOp("+", S.Var("x"), S.Num(1.0)), text="= x + 1")
    >>> r.reads("x"), sorted(r.inputs())
    (True, ['x'])
    """

    kind: str  # "assign" | "sample"
    expr: Optional[S.Expr] = None
    family: Optional[str] = None
    args: tuple[S.Expr, ...] = ()
    domain: Optional[tuple[float, ...]] = None
    text: str = field(default="", compare=False)

    def exprs(self) -> tuple[S.Expr, ...]:
        """The expressions the new mechanism computes from."""
        return (self.expr,) if self.kind == "assign" else self.args

    def inputs(self) -> list[str]:
        """The variables the new mechanism reads (its own name: its natural value), in order."""
        return list(dict.fromkeys(v for e in self.exprs() for v in free_vars(e)))

    def reads(self, var: str) -> bool:
        """Whether the new mechanism reads ``var``'s natural value (a shift)."""
        return var in self.inputs()


def natural_name(var: str) -> str:
    """The node that holds ``var``'s natural value where a regime on ``var`` reads it: ``X'``
    (no variable's name has a quote).

    >>> natural_name("x")
    "x'"
    """
    return f"{var}'"


@dataclass(frozen=True)
class Param:
    """``param NAME[index...] ~ family(args)``: a global parameter with a prior.

    Its value is an array of ``shape`` (one entry per combination of the index
    variables' values, in the order of ``axes``); ``()`` for a scalar.
    Parameters are not nodes: every unit and every world shares them.
    """

    name: str
    family: str
    args: tuple[S.Expr, ...]
    index: tuple[str, ...] = ()
    axes: tuple[tuple[float, ...], ...] = ()
    span: Span = field(default=Span(0, 0), compare=False)
    text: str = field(default="", compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)


@dataclass(frozen=True)
class Model:
    """An immutable structural causal model; transformations return new models."""

    name: str
    nodes: tuple[Node, ...]
    source: str = field(default="", compare=False)
    params: tuple[Param, ...] = ()

    @property
    def bayesian(self) -> bool:
        """True when the model has parameters with priors (answers are over their draws)."""
        return bool(self.params)

    @functools.cached_property
    def by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def __getitem__(self, name: str) -> Node:
        return self.by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        """The causal graph; node attributes say latent, kind, intervened."""
        g = nx.DiGraph(name=self.name)
        for n in self.nodes:
            g.add_node(n.name, latent=n.latent, kind=n.kind, intervened=n.kind == "fixed" or n.regime is not None,
                       domain=n.domain, levels=n.levels)
        for n in self.nodes:
            for p in n.parents:
                g.add_edge(p, n.name)
        return g

    def ancestors(self, names) -> set[str]:
        """The given nodes and all their ancestors."""
        out: set[str] = set()
        stack = list(names)
        while stack:
            v = stack.pop()
            if v in out:
                continue
            out.add(v)
            stack.extend(self.by_name[v].parents)
        return out

    def restrict(self, keep) -> "Model":
        """The sub-model of ``keep`` (which must be closed under ancestors)."""
        return Model(self.name, tuple(n for n in self.nodes if n.name in keep), self.source, self.params)

    def replace_node(self, node: Node) -> "Model":
        return Model(self.name, tuple(node if n.name == node.name else n for n in self.nodes),
                     self.source, self.params)

    @property
    def finite(self) -> bool:
        return all(n.finite for n in self.nodes)


def fixed_node(node: Node, value: Union[float, Slot]) -> Node:
    """``node`` held at ``value``: no mechanism, no parents."""
    return replace(node, kind="fixed", parents=(), family=None, args=(), expr=None, bind=(),
                   value=value)
