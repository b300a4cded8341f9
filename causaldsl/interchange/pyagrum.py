"""pyAgrum's Bayesian networks in and out: :func:`from_pyagrum` and :func:`to_pyagrum`.

A ``pyagrum.BayesNet`` holds one ``LabelizedVariable`` per node and its CPT as a tensor whose
``names`` list the variable first, then its parents; ``toarray()`` lays the axes out in the
reverse of ``names``. pyAgrum is imported only when a conversion runs.

>>> import pyagrum as gum
>>> bn = gum.fastBN("a->b")
>>> m = from_pyagrum(bn)
>>> m.names, m["b"].parents
(['a', 'b'], ('a',))
>>> to_pyagrum(m).names() == bn.names()
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..language.errors import CausalDSLError
from ..model.ir import Model
from .network import TOLERANCE, Cpt, build_model, network_tables

__all__ = ["from_pyagrum", "to_pyagrum"]


def from_pyagrum(bn: Any, *, tolerance: float = TOLERANCE) -> Model:
    """The model IR of a pyAgrum ``BayesNet`` (discrete variables; labels become level names).

    >>> import pyagrum as gum
    >>> from_pyagrum(gum.fastBN("x{lo|hi}->y")).by_name["x"].levels
    ('lo', 'hi')
    """
    if not all(hasattr(bn, a) for a in ("cpt", "variable", "topologicalOrder")):
        raise CausalDSLError(f"from_pyagrum takes a pyagrum.BayesNet, not {type(bn).__name__}",
                             hint="load one with pyagrum.loadBN(path) or build it with pyagrum.fastBN")
    cpts = []
    for i in sorted(bn.nodes()):
        var = bn.variable(i)
        cpt = bn.cpt(i)
        names = tuple(cpt.names)  # the variable, then its parents
        arr = np.asarray(cpt.toarray(), dtype=float).transpose()  # axes in the order of names
        levels = tuple(str(lv) for lv in var.labels())
        cpts.append(Cpt(var.name(), levels, names[1:], np.moveaxis(arr, 0, -1)))
    return build_model(str(bn.property("name")) if "name" in bn.properties() else "pyagrum", cpts, tolerance=tolerance)


def to_pyagrum(model: Model):
    """A pyAgrum ``BayesNet`` holding the tables of ``model``; a :class:`CausalDSLError` for what a
    table cannot hold.

    >>> import pyagrum as gum
    >>> bn = to_pyagrum(from_pyagrum(gum.fastBN("a->b<-c")))
    >>> sorted(bn.variable(n).name() for n in bn.parents(bn.idFromName("b")))
    ['a', 'c']
    """
    import pyagrum as gum

    tables = network_tables(model)
    bn = gum.BayesNet(model.name)
    for t in tables:
        bn.add(gum.LabelizedVariable(t.name, t.name, list(t.levels)))
    for t in tables:
        for p in t.parents:
            bn.addArc(p, t.name)
    for t in tables:
        cpt = bn.cpt(t.name)
        names = tuple(cpt.names)
        axes = [(*t.parents, t.name).index(v) for v in reversed(names)]  # toarray's layout
        cpt.fillWith(np.transpose(np.asarray(t.probs, dtype=float), axes).ravel().tolist())
    return bn
