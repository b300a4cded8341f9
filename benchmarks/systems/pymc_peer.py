"""PyMC: every node a ``pm.Normal`` of shape N (vectorised over draws), ``pm.do``, one compiled draw.

First call = build the model + ``pm.do`` + ``pm.pytensorf.compile`` (PyTensor's C
compilation; its on-disk cache makes later processes faster) + one draw of N;
warm = calling the compiled function again (new random draws each call).
"""

from __future__ import annotations

import logging
import math
import warnings

from ..measure import timed, warm

warnings.filterwarnings("ignore")
logging.getLogger("pymc").setLevel(logging.ERROR)


def prime() -> None:
    import pymc as pm

    with pm.Model():
        a = pm.Normal("a", shape=3)
    pm.draw(a, random_seed=0)


def sampling(net, draws: int, repeats: int) -> dict:
    import numpy as np
    import pymc as pm
    import pytensor.tensor as pt

    x, y = net.query_nodes()

    def build():
        with pm.Model() as model:
            vals = {}
            for i in net.sampled(x, y):  # the nodes causaldsl samples (see nets.GaussNet.sampled)
                loc = net.f(i, [vals[p] for p in net.parents_under_do(i, x)], pt.sigmoid)
                vals[i] = pm.Normal(f"v{i}", mu=loc, sigma=float(net.scale[i]), shape=draws)
        intervened = pm.do(model, {f"v{x}": np.ones(draws)})
        fn = pm.pytensorf.compile([], intervened[f"v{y}"], random_seed=0)
        return fn

    def once(fn):
        v = fn()
        return float(v.mean()), float(v.std() / math.sqrt(draws))

    (fn, (ans, se)), first_s = timed(lambda: (lambda f: (f, once(f)))(build()))
    return {"first_s": first_s, "warm_s": warm(lambda: once(fn), repeats), "answer": ans, "se": se,
            "draws": draws}
