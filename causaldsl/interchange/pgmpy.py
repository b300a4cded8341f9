"""pgmpy's discrete Bayesian networks in and out: :func:`from_pgmpy` and :func:`to_pgmpy`.

pgmpy holds a network as a ``DiscreteBayesianNetwork`` (``BayesianNetwork`` before pgmpy 1.0) with
one ``TabularCPD`` per variable: ``cpd.get_values()`` is a (levels x parent configurations) array,
the parents in ``cpd.variables[1:]`` order with the last varying fastest, and
``cpd.state_names`` names the levels. pgmpy is imported only when a conversion runs.

>>> from pgmpy.utils import get_example_model
>>> m = from_pgmpy(get_example_model("asia"))
>>> m["either"].parents, m["either"].levels
(('lung', 'tub'), ('yes', 'no'))
>>> back = to_pgmpy(m)
>>> sorted(back.get_cpds("either").state_names["either"])
['no', 'yes']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..language.errors import CausalDSLError
from ..model.ir import Model
from .network import TOLERANCE, Cpt, build_model, network_tables

__all__ = ["from_pgmpy", "to_pgmpy"]


def _cpt(cpd, name: str) -> Cpt:
    parents = tuple(str(p) for p in cpd.variables[1:])
    states = cpd.state_names
    levels = tuple(str(s) for s in states[name])
    cards = [len(states[p]) for p in cpd.variables[1:]]
    values = np.asarray(cpd.get_values(), dtype=float).reshape((len(levels), *cards))
    return Cpt(str(name), levels, parents, np.moveaxis(values, 0, -1))


def from_pgmpy(bn: Any, *, tolerance: float = TOLERANCE) -> Model:
    """The model IR of a pgmpy ``DiscreteBayesianNetwork`` (or ``BayesianNetwork``) whose variables
    all have a ``TabularCPD``; level names become strings (``str(state)``).

    >>> from pgmpy.utils import get_example_model
    >>> from_pgmpy(get_example_model("sachs")).names[:3]
    ['PKC', 'PKA', 'Jnk']
    """
    if not hasattr(bn, "get_cpds") or not hasattr(bn, "nodes"):
        raise CausalDSLError(f"from_pgmpy takes a pgmpy DiscreteBayesianNetwork, not {type(bn).__name__}",
                             hint="build one with pgmpy.models.DiscreteBayesianNetwork and add TabularCPDs")
    cpts = []
    for node in bn.nodes():
        cpd = bn.get_cpds(node)
        if cpd is None or not hasattr(cpd, "get_values") or not hasattr(cpd, "state_names"):
            raise CausalDSLError(f"variable '{node}' of the pgmpy network has no TabularCPD",
                                 hint="add one with model.add_cpds(TabularCPD(...)); continuous or "
                                      "functional CPDs cannot be converted")
        cpts.append(_cpt(cpd, node))
    return build_model(str(getattr(bn, "name", None) or "pgmpy"), cpts, tolerance=tolerance)


def to_pgmpy(model: Model):
    """A pgmpy ``DiscreteBayesianNetwork`` with one ``TabularCPD`` per variable of ``model`` (latent
    variables named in its ``latents``); a :class:`CausalDSLError` for what a table cannot hold.

    >>> from pgmpy.utils import get_example_model
    >>> bn = to_pgmpy(from_pgmpy(get_example_model("asia")))
    >>> bn.check_model(), len(bn.get_cpds())
    (True, 8)
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    tables = network_tables(model)
    levels = {t.name: t.levels for t in tables}
    bn = DiscreteBayesianNetwork(latents={n.name for n in model.nodes if n.latent})
    bn.add_nodes_from(t.name for t in tables)
    bn.add_edges_from((p, t.name) for t in tables for p in t.parents)
    bn.name = model.name
    cpds = []
    for t in tables:
        k = len(t.levels)
        values = np.asarray(t.probs, dtype=float).reshape(-1, k).T
        cpds.append(TabularCPD(t.name, k, values, evidence=list(t.parents) or None,
                               evidence_card=[len(levels[p]) for p in t.parents] or None,
                               state_names={v: list(levels[v]) for v in (t.name, *t.parents)}))
    bn.add_cpds(*cpds)
    return bn
