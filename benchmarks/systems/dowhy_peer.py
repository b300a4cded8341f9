"""DoWhy ``gcm``: an invertible SCM of additive-noise mechanisms with the known functions.

The mechanisms are given, not learned: a ``PredictionModel`` whose ``predict`` is the
network's own f (``fit`` does nothing), Gaussian noise via ``ScipyDistribution``.
Workload 3 uses ``gcm.interventional_samples`` on the SCM of the nodes causaldsl samples, workload 4 ``gcm.counterfactual_samples``
with the unit as observed data (DoWhy recovers its noise by inverting each mechanism).
"""

from __future__ import annotations

import logging
import math
import warnings

from ..measure import timed, warm

warnings.filterwarnings("ignore")
logging.getLogger("dowhy").setLevel(logging.ERROR)


def _known(net, i):
    from dowhy.gcm.ml.prediction_model import PredictionModel

    class Known(PredictionModel):
        """f_i of the network; nodes are integers, so DoWhy's sorted parents are net.parents[i]."""

        def fit(self, X, Y):
            pass

        def predict(self, X):
            return net.f(i, [X[:, k] for k in range(X.shape[1])]).reshape(-1, 1)

        def clone(self):
            return Known()

    return Known()


def _scm(net, nodes=None, cut=None):
    """The SCM over ``nodes`` (default: every node), ``cut``'s parents left out (a root there)."""
    import networkx as nx
    from dowhy import gcm
    from scipy import stats

    nodes = list(range(net.n)) if nodes is None else list(nodes)
    parents = {i: () if i == cut else net.parents[i] for i in nodes}
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((p, i) for i in nodes for p in parents[i])
    from dowhy.gcm.causal_models import PARENTS_DURING_FIT

    scm = gcm.InvertibleStructuralCausalModel(g)
    for i in nodes:
        noise = gcm.ScipyDistribution(stats.norm, loc=0.0, scale=float(net.scale[i]))
        scm.set_causal_mechanism(i, noise if not parents[i]
                                 else gcm.AdditiveNoiseModel(_known(net, i), noise_model=noise))
        # What gcm.fit records; the mechanisms are known, so nothing is learned from data.
        scm.graph.nodes[i][PARENTS_DURING_FIT] = list(parents[i])
    return scm


def prime() -> None:
    from ..nets import gauss_net

    net = gauss_net(3)
    from dowhy import gcm

    gcm.interventional_samples(_scm(net), {0: lambda v: 1.0}, num_samples_to_draw=10)


def sampling(net, draws: int, repeats: int) -> dict:
    from dowhy import gcm

    x, y = net.query_nodes()

    def once(scm):
        s = gcm.interventional_samples(scm, {x: lambda v: 1.0}, num_samples_to_draw=draws)[y].to_numpy()
        return float(s.mean()), float(s.std() / math.sqrt(draws))

    def first():  # over the nodes causaldsl samples (see nets.GaussNet.sampled): the same work
        scm = _scm(net, net.sampled(x, y), cut=x)
        return scm, once(scm)

    (scm, (ans, se)), first_s = timed(first)
    return {"first_s": first_s, "warm_s": warm(lambda: once(scm), repeats), "answer": ans, "se": se,
            "draws": draws}


def unit_counterfactual(net, unit, value: float, repeats: int) -> dict:
    import pandas as pd
    from dowhy import gcm

    x, y = net.query_nodes()
    observed = pd.DataFrame([unit], columns=list(range(net.n)))

    def once(scm):
        out = gcm.counterfactual_samples(scm, {x: lambda v: value}, observed_data=observed)
        return float(out[y].iloc[0])

    def first():
        scm = _scm(net)
        return scm, once(scm)

    (scm, ans), first_s = timed(first)
    return {"first_s": first_s, "warm_s": warm(lambda: once(scm), repeats), "answer": ans, "se": None}
