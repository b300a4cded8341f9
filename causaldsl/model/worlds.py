"""Interventions and multi-world (twin) networks, as pure functions on the IR.

:func:`do` is graph surgery: the intervened node loses its mechanism and its
incoming edges, nothing else changes (Pearl, *Causality*, 2009, §3.2.2).

:func:`twin` builds the multi-world network of a counterfactual query
(Balke & Pearl 1994; Shpitser & Pearl 2007, "What counterfactuals can be
tested"): one copy of each variable per world, all copies of a variable sharing
its exogenous noise. Copies that cannot differ between worlds (same mechanism,
same parent copies) are merged, so a world only adds the descendants of what it
intervenes on. A world may set a variable to its value in another world
(``Y[X = 1, M = M[X = 0]]``), which is how nested counterfactuals such as
natural direct effects are expressed.

>>> from causaldsl.language.parser import parse
>>> from causaldsl.model.checker import check_model
>>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.5 * x)\\n}").items[0])
>>> tw, names = twin(m, [("y", ()), ("y", (("x", 0.0),))])
>>> tw.names
['x', 'y', 'x[x=0]', 'y[x=0]']
>>> tw["y[x=0]"].noise == tw["y"].noise
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

import networkx as nx

from ..language.errors import CausalDSLError, CycleError
from .ir import Model, Node, Regime, Slot, fixed_node, natural_name


@dataclass(frozen=True)
class Ref:
    """An intervention value taken from another world: ``M = M[X = 0]``."""

    var: str
    world: tuple


IValue = Union[float, Slot, Ref, Regime]
World = tuple  # sorted tuple of (variable, IValue)


def do(model: Model, values: dict) -> Model:
    """Graph surgery: each named node held at its value (a number or a :class:`Slot`), or given
    a new mechanism (a :class:`~causaldsl.model.ir.Regime`, Pearl, *Causality* 2009, §4.2
    "conditional actions and stochastic policies").

    A regime's inputs become the node's parents; where it reads the node's own natural value
    (a shift, ``X + 1``) that value is a latent node ``X'`` with the node's old mechanism and
    noise. Nodes are put back in a topological order (a regime may read a variable written
    after it); a regime that reads a descendant of its node is a :class:`CycleError`.

    >>> from causaldsl.language.parser import parse
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").items[0])
    >>> d = do(m, {"x": 1.0})
    >>> d["x"].kind, d["x"].parents, list(d.graph.edges)
    ('fixed', (), [('x', 'y')])
    """
    cycle = regime_cycle(model, values)
    if cycle:
        raise CycleError("the interventions make a cycle: " + " -> ".join(cycle),
                         hint="a new mechanism may read only variables its own variable does not cause")
    nodes: list[Node] = []
    for n in model.nodes:
        v = values.get(n.name) if n.name in values else None
        if n.name not in values:
            nodes.append(n)
        elif isinstance(v, Regime):
            rename = {}
            if v.reads(n.name):
                natural = natural_name(n.name)
                while natural in model:  # a regime on a regime: the natural value of the first
                    natural = natural_name(natural)
                nodes.append(replace(n, name=natural, latent=True))
                rename[n.name] = natural
            nodes.append(regime_node(n, v, rename))
        else:
            nodes.append(fixed_node(n, v))
    if any(isinstance(v, Regime) for v in values.values()):
        nodes = _in_order(nodes)
    return Model(model.name, tuple(nodes), model.source, model.params)


def regime_node(node: Node, regime: Regime, rename: dict) -> Node:
    """``node`` with its mechanism replaced by ``regime``; ``rename`` maps each variable the regime
    reads to the node holding it (missing: the variable's own name), its own name to its natural
    value's node.

    >>> from causaldsl.language import syntax as S
    >>> x = Node("x", "sample", family="Bernoulli", args=(S.Num(0.5),), domain=(0.0, 1.0), noise="x", origin="x")
    >>> r = Regime("assign", expr=S.BinOp("-", S.Num(1.0), S.Var("z")), domain=(0.0, 1.0), text="= 1 - z")
    >>> n = regime_node(x, r, {})
    >>> n.kind, n.parents, n.describe(), n.noise == x.noise
    ('assign', ('z',), 'do(x = 1 - z)', False)
    """
    inputs = regime.inputs()
    bind = tuple((v, rename.get(v, v)) for v in inputs)
    common = dict(parents=tuple(dict.fromkeys(p for _, p in bind)), bind=bind, domain=regime.domain,
                  value=None, regime=regime.text, text=f"do({node.origin or node.name} {regime.text})",
                  # A new mechanism of its own: a draw's noise is its own (shared only by the copies
                  # of this regime in other worlds), never the variable's U (docs/language.md).
                  noise=f"{node.noise} {regime.text}")
    if regime.kind == "assign":
        return replace(node, kind="assign", family=None, args=(), expr=regime.expr, **common)
    return replace(node, kind="sample", family=regime.family, args=regime.args, expr=None, **common)


def regime_cycle(model: Model, values: dict) -> list[str]:
    """A cycle the regimes in ``values`` make in ``model`` (``[x, z, x]``), or ``[]``.

    A regime on ``x`` reading ``z`` draws ``z -> x``; reading ``x`` itself reads its natural value,
    which is no edge.

    >>> from causaldsl.language import syntax as S
    >>> from causaldsl.language.parser import parse
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n z := 1 - x\\n}").items[0])
    >>> regime_cycle(m, {"x": Regime("assign", expr=S.Var("z"), domain=(0.0, 1.0))})
    ['x', 'z', 'x']
    """
    if not any(isinstance(v, Regime) for v in values.values()):
        return []
    g = nx.DiGraph()
    for n in model.nodes:
        g.add_node(n.name)
        v = values.get(n.name) if n.name in values else n
        reads = (v.inputs() if isinstance(v, Regime) else n.parents if v is n else ())
        g.add_edges_from((p, n.name) for p in reads if p != n.name or not isinstance(v, Regime))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return []
    return [u for u, _ in cycle] + [cycle[0][0]]


def _in_order(nodes: list[Node]) -> list[Node]:
    """``nodes`` in a topological order, as close to the given one as networkx's lexicographical
    sort makes it."""
    g = nx.DiGraph()
    index = {n.name: i for i, n in enumerate(nodes)}
    g.add_nodes_from(index)
    g.add_edges_from((p, n.name) for n in nodes for p in n.parents if p in index)
    by = {n.name: n for n in nodes}
    return [by[v] for v in nx.lexicographical_topological_sort(g, key=index.__getitem__)]


def couple(model: Model, coupling: str, names=None) -> Model:
    """``model`` with the copies of the named variables (default: every ``~`` variable with
    finitely many values) coupled across worlds by ``coupling``: ``"quantile"`` (one shared
    uniform, the default) or ``"gumbel"`` (Gumbel-max; Oberst & Sontag 2019). Seeing and doing
    are unchanged; counterfactuals of variables with three or more values change.

    >>> from causaldsl.language.parser import parse
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Normal(x, 1)\\n}").items[0])
    >>> [n.coupling for n in couple(m, "gumbel").nodes]
    ['gumbel', 'quantile']
    """
    picked = [model[n] for n in names] if names is not None else [
        n for n in model.nodes if n.kind == "sample" and n.finite]
    for node in picked:
        if coupling == "gumbel" and not (node.kind == "sample" and node.finite):
            raise CausalDSLError(f"coupling = gumbel needs a '~' variable with finitely many values, and "
                                 f"'{node.name}' is not one", hint="name Bernoulli, Categorical or Binomial variables")
    keep = {n.name for n in picked}
    return Model(model.name, tuple(replace(n, coupling=coupling) if n.name in keep else n for n in model.nodes),
                 model.source, model.params)


def _label(world: World) -> str:
    def val(v):
        if isinstance(v, Regime):  # x=x + 1, x~Bernoulli(0.3)
            return v.text[1:].strip()
        if isinstance(v, Ref):
            return f"{v.var}[{_label(v.world)}]" if v.world else v.var
        if isinstance(v, Slot):
            return f"${v.index}"
        return f"{v:g}"

    return ",".join(f"{k}{'~' if isinstance(v, Regime) and v.kind == 'sample' else '='}{val(v)}" for k, v in world)


def twin(model: Model, terms: list[tuple[str, World]]) -> tuple[Model, dict[tuple[str, World], str]]:
    """The multi-world network holding every ``(variable, world)`` term.

    Returns the network (a :class:`~causaldsl.model.ir.Model` whose nodes are copies,
    ``noise`` shared across copies of one variable) and the copy name of each
    term. The factual world is ``()``; its copies keep the variables' names.
    """
    if all(world == () for _, world in terms):  # one world, the factual one: no copies to make
        keep = model.ancestors([var for var, _ in terms])
        return (Model(model.name, tuple(n for n in model.nodes if n.name in keep), model.source, model.params),
                {(var, world): var for var, world in terms})
    keys: dict[tuple, str] = {}  # structural key -> copy name
    memo: dict[tuple[str, World], tuple] = {}
    made: list[Node] = []
    names_used: set[str] = set()
    active: set[tuple[str, World]] = set()

    def key_of(var: str, world: World) -> tuple:
        if (var, world) in memo:
            return memo[(var, world)]
        if (var, world) in active:
            raise CausalDSLError(f"the counterfactual worlds refer to each other in a cycle through '{var}'",
                                 hint="a world may set a variable to its value in another world, "
                                      "but not to a value that depends on itself")
        active.add((var, world))
        wmap = dict(world)
        iv = wmap.get(var)
        if var in wmap and isinstance(iv, Ref):
            k = key_of(iv.var, iv.world)
        elif var in wmap and isinstance(iv, Regime):
            # The regime reads its inputs in this world, and its own variable's natural value:
            # the variable's mechanism with its parents in this world (the factual copy, merged,
            # where nothing upstream differs), sharing its noise: the unit's own X, shifted.
            rename = {v: keys[mech_key(v, world, natural=True) if v == var else key_of(v, world)]
                      for v in iv.inputs()}
            k = ("regime", var, iv, tuple(sorted(rename.items())))
            intern(k, var, world, lambda name: replace(regime_node(model[var], iv, rename), name=name))
        elif var in wmap:
            k = ("fix", var, iv)
            intern(k, var, world, lambda name: replace(fixed_node(model[var], iv), name=name))
        else:
            k = mech_key(var, world)
        memo[(var, world)] = k
        active.discard((var, world))
        return k

    def mech_key(var: str, world: World, natural: bool = False) -> tuple:
        """The copy of ``var`` under its own mechanism, its parents in ``world``."""
        node = model[var]
        # A key names its parents' copies, not their keys: nested keys would hash every
        # path to the roots again (exponential in a banded network of 80 nodes).
        parent_keys = tuple(keys[key_of(p, world)] for p in node.parents)
        k = ("mech", var, parent_keys)

        def make(name):
            if name == node.name and parent_keys == node.parents:
                return node  # a factual copy whose parents are all factual: the node itself
            rename = dict(zip(node.parents, parent_keys))
            bind = tuple((e, rename[p]) for e, p in node.env_names.items())
            return replace(node, name=name, parents=tuple(dict.fromkeys(parent_keys)), bind=bind)

        intern(k, var, world, make, natural_name(var) if natural else var)
        return k

    def intern(k: tuple, var: str, world: World, make, shown: str = "") -> None:
        """Name the copy of ``var`` with structural key ``k`` (``shown``: the name it is shown
        under, ``x'`` for a natural value) and make it, once."""
        if k in keys:
            return
        factual = world == () or (k[0] == "mech" and k == key_of_factual(var))
        if k in keys:  # working out the factual key made this very copy
            return
        shown = shown or var
        base = var if factual else f"{shown}[{_label(world)}]"
        name = base
        i = 2
        while name in names_used:
            name = f"{base}#{i}"
            i += 1
        names_used.add(name)
        keys[k] = name
        made.append(make(name))

    factual: dict[str, tuple] = {}

    def key_of_factual(var: str) -> tuple:
        if var not in factual:
            factual[var] = key_of(var, ())
        return factual[var]

    out = {}
    for var, world in terms:
        out[(var, world)] = keys[key_of(var, world)]
    # The two closures call each other, a reference cycle through the model: emptied here, the
    # model is freed when its last user lets go, not at the garbage collector's next full pass.
    del key_of, key_of_factual, mech_key, intern
    return Model(model.name, tuple(made), model.source, model.params), out
