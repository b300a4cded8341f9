"""pgmpy as its documentation recommends for a do-query: ``model.do([X])`` (the mutilated network)
and one ``VariableElimination(...).query([Y], evidence={X: x, ...})``.

Not ``CausalInference.query(..., inference_algo="ve")``: that runs one elimination per
configuration of X's parents (3-10x slower warm), and for do + evidence its answers differ from
the mutilated network's. First call = build the network from its CPDs + ``do`` + the query;
warm = the same query again on the same mutilated network (elimination re-run).
"""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np

from ..measure import timed, warm

warnings.filterwarnings("ignore")
logging.getLogger("pgmpy").setLevel(logging.ERROR)


def _build(net):
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    edges = [(f"v{p}", f"v{i}") for i in range(net.n) for p in net.parents[i]]
    model = DiscreteBayesianNetwork(edges)
    model.add_nodes_from(net.names)
    cpds = []
    for i in range(net.n):
        ps = net.parents[i]
        p1 = np.asarray(net.p1[i], dtype=float)
        # pgmpy's column order is the product of the evidence states, first parent slowest,
        # which is the order of itertools.product used to write the tables.
        assert len(p1) == len(list(itertools.product((0, 1), repeat=len(ps))))
        values = np.vstack([1 - p1, p1])
        cpds.append(TabularCPD(f"v{i}", 2, values, evidence=[f"v{p}" for p in ps] or None,
                               evidence_card=[2] * len(ps) or None))
    model.add_cpds(*cpds)
    return model


def prime() -> None:
    from ..nets import binary_net

    net = binary_net(4, seed=1)
    infer = _mutilated(_build(net), {"v1": 1})
    _query(infer, 3, {"v1": 1})
    _query(infer, 3, {"v1": 1}, {"v2": 1})  # the evidence path too, as causaldsl's primer does


def _mutilated(model, do):
    from pgmpy.inference import VariableElimination

    return VariableElimination(model.do(list(do)))


def _query(infer, y, do, evidence=None):
    f = infer.query([f"v{y}"], evidence={**(evidence or {}), **do}, show_progress=False)
    return float(f.get_value(**{f"v{y}": 1}))


def exact(net, repeats: int) -> dict:
    x, y, e = net.query_nodes()
    out = {}
    for name, ev in (("do", None), ("ev", {f"v{e}": 1})):
        def first():
            infer = _mutilated(_build(net), {f"v{x}": 1})
            return infer, _query(infer, y, {f"v{x}": 1}, ev)

        (infer, ans), first_s = timed(first)
        out[name] = {"first_s": first_s, "answer": ans, "se": None,
                     "warm_s": warm(lambda: _query(infer, y, {f"v{x}": 1}, ev), repeats)}
    return out


def big(net, repeats: int) -> dict:
    out = exact(net, repeats)["do"]
    return out
