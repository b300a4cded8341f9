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

from ..language.errors import CausalDSLError
from .ir import Model, Node, Slot, fixed_node


@dataclass(frozen=True)
class Ref:
    """An intervention value taken from another world: ``M = M[X = 0]``."""

    var: str
    world: tuple


IValue = Union[float, Slot, Ref]
World = tuple  # sorted tuple of (variable, IValue)


def do(model: Model, values: dict) -> Model:
    """Graph surgery: each named node held at its value (a number or a :class:`Slot`).

    >>> from causaldsl.language.parser import parse
    >>> from causaldsl.model.checker import check_model
    >>> m = check_model(parse("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").items[0])
    >>> d = do(m, {"x": 1.0})
    >>> d["x"].kind, d["x"].parents, list(d.graph.edges)
    ('fixed', (), [('x', 'y')])
    """
    nodes = tuple(fixed_node(n, values[n.name]) if n.name in values else n for n in model.nodes)
    return Model(model.name, nodes, model.source, model.params)


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
        if isinstance(v, Ref):
            return f"{v.var}[{_label(v.world)}]" if v.world else v.var
        if isinstance(v, Slot):
            return f"${v.index}"
        return f"{v:g}"

    return ",".join(f"{k}={val(v)}" for k, v in world)


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
        node = model[var]
        wmap = dict(world)
        if var in wmap:
            iv = wmap[var]
            if isinstance(iv, Ref):
                k = key_of(iv.var, iv.world)
                memo[(var, world)] = k
                active.discard((var, world))
                return k
            k = ("fix", var, iv)
            parent_keys: tuple = ()
        else:
            # A key names its parents' copies, not their keys: nested keys would hash every
            # path to the roots again (exponential in a banded network of 80 nodes).
            parent_keys = tuple(keys[key_of(p, world)] for p in node.parents)
            k = ("mech", var, parent_keys)
        if k not in keys:
            base = var if world == () or k == key_of_factual(var) else f"{var}[{_label(world)}]"
            name = base
            i = 2
            while name in names_used:
                name = f"{base}#{i}"
                i += 1
            names_used.add(name)
            keys[k] = name
            if k[0] == "fix":
                made.append(replace(fixed_node(node, iv), name=name))
            else:
                pnames = parent_keys
                if name == node.name and pnames == node.parents:
                    made.append(node)  # a factual copy whose parents are all factual: the node itself
                else:
                    rename = dict(zip(node.parents, pnames))
                    bind = tuple((e, rename[p]) for e, p in node.env_names.items())
                    made.append(replace(node, name=name, parents=tuple(dict.fromkeys(pnames)), bind=bind))
        memo[(var, world)] = k
        active.discard((var, world))
        return k

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
    del key_of, key_of_factual
    return Model(model.name, tuple(made), model.source, model.params), out
