"""What a conditional question needs of its network, given which variables it observes.

Observed variables cut the network: in the moral graph of the (ancestral) network, with the
observed and intervened variables removed, the factors that do not reach the target's component
multiply the numerator and the denominator of the answer by the same constant, and can be left out
(Lauritzen, Dawid, Larsen & Leimer 1990, "Independence properties of directed Markov fields",
Prop. 3: d-separation is separation in the moralised ancestral graph; Koller & Friedman,
*Probabilistic Graphical Models* 2009, §9.3.1 on simplifying by evidence). An observed variable
whose own factor is left out but whose children's are kept is then held at its observed value, as
an intervention holds it: with its factor gone, the two are the same for what is kept.

The constant must not be 0: conditioning on an event of probability zero is an error. So a
component is left out only where every one of its tables is positive everywhere, which makes the
constant positive whatever the observed values; a component with a zero in a table is kept and
contracted as before. The pruning depends on which variables are observed, not on their values,
so a compiled program still serves every value.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

import networkx as nx
import numpy as np

from ..language import syntax as S
from .ir import Model, Node, Slot, fixed_node

_VALUE = operator.attrgetter("value")


def positive(node: Node) -> bool:
    """Whether ``node``'s table is positive everywhere: a Bernoulli or Categorical whose arguments
    are numbers or tables of numbers, every probability > 0 (and a Bernoulli's < 1). Worked out
    once per node (kept in the node, which is immutable).

    >>> from causaldsl.model.ir import Node
    >>> positive(Node("x", "sample", (), "Categorical", (S.Num(0.2), S.Num(0.8)), domain=(0.0, 1.0)))
    True
    >>> positive(Node("x", "sample", (), "Bernoulli", (S.Num(1.0),), domain=(0.0, 1.0)))
    False
    """
    got = node.__dict__.get("_positive")
    if got is None:
        got = _positive(node)
        node.__dict__["_positive"] = got  # a cache, not a field: equality and hashing ignore it
    return got


def _positive(node: Node) -> bool:
    """See :func:`positive`; a Categorical's rows must also sum to 1 (within the engines' 1e-6), so
    that a table left out could not have been refused as invalid."""
    if node.kind != "sample" or node.family not in ("Bernoulli", "Categorical"):
        return False
    cols, keys = [], None
    for arg in node.args:
        if type(arg) is S.Num:
            cols.append(np.array([arg.value], dtype=float))
        elif type(arg) is S.Table and set(map(type, arg.values)) == {S.Num}:
            if keys is not None and arg.keys is not keys[1] and (arg.parents, arg.keys) != keys:
                return False  # rows in another order: not worth aligning here
            keys = (arg.parents, arg.keys)
            cols.append(np.fromiter(map(_VALUE, arg.values), float, len(arg.values)))
        else:
            return False
    if not cols:
        return False
    rows = np.broadcast_arrays(*cols)
    if not all(bool((c > 0).all()) for c in rows):  # NaN fails too
        return False
    if node.family == "Bernoulli":
        return bool((rows[0] < 1).all())
    return bool((np.abs(sum(rows) - 1.0) <= 1e-6).all())


class Pruned(NamedTuple):
    """What :func:`prune` kept and what it cut: the ``network`` and ``evidence`` the answer needs,
    and ``left_out``, the observed variables (in the evidence's order) whose values the answer no
    longer reads: d-separated from the target given the rest of the evidence and the interventions,
    their whole component multiplies numerator and denominator alike. An observed variable whose
    own factor went but whose children stay is held at its value (a fixed node), not left out."""

    network: Model
    evidence: tuple
    left_out: tuple = ()


def prune_by_evidence(net: Model, targets, evidence: tuple) -> tuple[Model, tuple]:
    """``(network, evidence)`` of :func:`prune`, for callers that need not say what was cut.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n a ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(a) { 0: 0.1, 1: 0.6 })\\n}")
    >>> [n.name for n in prune_by_evidence(m.ir, ["y"], ())[0].nodes]
    ['a', 'y']
    """
    return prune(net, targets, evidence)[:2]


def prune(net: Model, targets, evidence: tuple) -> Pruned:
    """The network and evidence with the components the target does not reach left out (see the
    module note), and which observed variables went with them; all as given where nothing can be
    left out, or where the network has copies sharing noise (a counterfactual's worlds).

    >>> import causaldsl as cd
    >>> m = cd.model('''model m {
    ...   a ~ Bernoulli(0.3)
    ...   b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.9 })
    ...   y ~ Bernoulli(table(b) { 0: 0.1, 1: 0.6 })
    ... }''')
    >>> net, ev, left_out = prune(m.ir, ["y"], (("b", "$0"),))
    >>> [(n.name, n.kind) for n in net.nodes], ev, left_out
    ([('b', 'fixed'), ('y', 'sample')], (), ())

    Observing ``a`` as well changes nothing for ``y`` once ``b`` is observed: ``a`` is left out.

    >>> prune(m.ir, ["y"], (("a", "$0"), ("b", "$1"))).left_out
    ('a',)
    """
    if not evidence:
        return Pruned(net, evidence)
    nodes = net.nodes
    noises = {n.noise for n in nodes if n.kind != "fixed"}
    if len(noises) != sum(n.kind != "fixed" for n in nodes):
        return Pruned(net, evidence)
    observed = {copy for copy, _ in evidence}
    fixed = {n.name for n in nodes if n.kind == "fixed"}
    cut = observed | fixed
    targets = set(targets)
    if targets & cut or not targets:
        return Pruned(net, evidence)
    # the variables neither observed nor held, joined by the factors that read them
    components = nx.utils.UnionFind()
    scopes = {n.name: [v for v in (n.name, *n.parents) if v not in cut] for n in nodes if n.kind != "fixed"}
    for scope in scopes.values():
        components.union(*scope)
    reached = {components[t] for t in targets}
    home = {name: components[scope[0]] if scope else ("alone", name) for name, scope in scopes.items()}
    # A factor is left out with its whole component, and only where that component is positive.
    positive_part: dict = {}
    for name, key in home.items():
        if key not in reached:
            positive_part[key] = positive_part.get(key, True) and positive(net[name])
    drop = {name for name, key in home.items() if key not in reached and positive_part[key]}
    if not drop:
        return Pruned(net, evidence)
    kept = [n for n in nodes if n.name not in drop]
    needed = {p for n in kept for p in n.parents}
    slots = dict(evidence)
    held = {name for name in drop if name in observed and name in needed}
    out = tuple(fixed_node(net[n.name], Slot(int(slots[n.name][1:]))) if n.name in held else n
                for n in nodes if n.name not in drop or n.name in held)
    ev = tuple((copy, slot) for copy, slot in evidence if copy not in drop)
    left_out = tuple(copy for copy, _ in evidence if copy in drop and copy not in held)
    return Pruned(Model(net.name, out, net.source, net.params), ev, left_out)


__all__ = ["Pruned", "positive", "prune", "prune_by_evidence"]
