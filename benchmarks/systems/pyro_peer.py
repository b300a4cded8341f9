"""Pyro and ChiRho (which is built on Pyro).

* Workload 2b — ChiRho twin worlds (``MultiWorldCounterfactual`` + ``do``). ChiRho's Bernoulli
  sites would draw fresh noise in each world, so the model is written with explicit
  ``U ~ Uniform(0, 1)`` noise per node and ``v = [U < p(parents)]`` as deterministic sites:
  both worlds then share U. Evidence (X = 1, Y = 1 in the factual world) is met by rejection
  over a ``pyro.plate`` of draws, batch after batch, over as many draws as causaldsl's Monte
  Carlo answer uses (workload 2a, the exact answer, has no peer).
* Workload 3 — Pyro: a ``pyro.sample`` site per node Y's draw needs (``net.sampled``: the nodes
  causaldsl samples) inside one ``pyro.plate`` of N draws, intervened with ``pyro.poutine.do``.
* Workload 4 — ChiRho: each node ``TransformedDistribution(Normal(0, s), AffineTransform(f(pa), 1))``,
  so ChiRho's factual conditioning recovers the noise by inverting the transform
  (``condition`` + ``MultiWorldCounterfactual`` + ``do``), float64.
"""

from __future__ import annotations

import math
import warnings

from ..measure import timed, warm

warnings.filterwarnings("ignore")

TARGET_SE = 1e-3
BATCH = 1 << 18


def prime() -> None:
    """The query kinds timed, once each on small networks, as causaldsl's primer runs its own
    (``ours.prime``): a plate of draws under ``do``, a twin-world counterfactual batch, and a
    one-unit counterfactual through ``condition`` + ``MultiWorldCounterfactual``."""
    import pyro
    import pyro.distributions as dist
    import torch

    from ..nets import binary_net, gauss_net

    with pyro.plate("p", 10):
        pyro.sample("a", dist.Normal(torch.zeros(()), 1.0))
    small = binary_net(4, seed=1)
    x, y, _ = small.query_nodes()
    tables = {i: torch.tensor(small.p1[i], dtype=torch.get_default_dtype()) for i in range(small.n)}
    _cf_batch(small, x, y, sorted(small.ancestors(y)), tables, 64)
    g = gauss_net(3)
    sampling(g, 100, 1)
    dtype = torch.get_default_dtype()
    unit_counterfactual(g, g.unit(), 1.0, 1)
    torch.set_default_dtype(dtype)  # workload 4 sets float64 itself; the others run in the default


# ------------------------------------------------------------------ workload 2
def _cf_batch(net, x, y, order, tables, n):
    import pyro
    import pyro.distributions as dist
    import torch
    from chirho.counterfactual.handlers import MultiWorldCounterfactual
    from chirho.indexed.ops import IndexSet, gather
    from chirho.interventional.handlers import do

    def model():
        vals = {}
        with pyro.plate("draws", n, dim=-1):
            for i in order:
                u = pyro.sample(f"u{i}", dist.Uniform(0.0, 1.0))
                ps = net.parents[i]
                idx = torch.zeros((), dtype=torch.long)
                for p in ps:  # first parent most significant, as the tables are written
                    idx = idx * 2 + vals[p].long()
                p1 = tables[i][idx] if ps else tables[i][0]
                vals[i] = pyro.deterministic(f"v{i}", (u < p1).to(torch.get_default_dtype()), event_dim=0)
        return vals

    with MultiWorldCounterfactual(), do(actions={f"v{x}": torch.tensor(0.0)}):
        vals = model()
        factual, counter = IndexSet(**{f"v{x}": {0}}), IndexSet(**{f"v{x}": {1}})
        xf = gather(vals[x], factual).reshape(-1)
        yf = gather(vals[y], factual).reshape(-1)
        ycf = gather(vals[y], counter).reshape(-1)
    keep = (xf == 1) & (yf == 1)
    return int(keep.sum()), float(ycf[keep].sum())


def _cf_draws(net, seed, draws):
    """Rejection over a fixed number of twin-world draws (as many as causaldsl's Monte Carlo)."""
    import pyro
    import torch

    pyro.set_rng_seed(seed)
    x, y, _ = net.query_nodes()
    order = sorted(net.ancestors(y))
    tables = {i: torch.tensor(net.p1[i], dtype=torch.get_default_dtype()) for i in order}
    kept = ones = done = 0
    while done < draws:
        k, s = _cf_batch(net, x, y, order, tables, min(BATCH, draws - done))
        kept, ones, done = kept + k, ones + s, done + min(BATCH, draws - done)
    p = ones / kept
    return p, math.sqrt(max(p * (1 - p), 1e-12) / kept), draws


def _cf_to_se(net, seed):
    import pyro
    import torch

    pyro.set_rng_seed(seed)
    x, y, _ = net.query_nodes()
    order = sorted(net.ancestors(y))
    tables = {i: torch.tensor(net.p1[i], dtype=torch.get_default_dtype()) for i in order}
    kept = ones = draws = 0
    while True:
        k, s = _cf_batch(net, x, y, order, tables, BATCH)
        kept, ones, draws = kept + k, ones + s, draws + BATCH
        if kept:
            p = ones / kept
            se = math.sqrt(max(p * (1 - p), 1e-12) / kept)
            if se <= TARGET_SE:
                return p, se, draws


def counterfactual(net, repeats: int, draws=None) -> dict:
    """To s.e. 1e-3 or, given ``draws``, over that many twin-world draws."""
    seeds = iter(range(1, 1000))
    run = (lambda seed: _cf_to_se(net, seed)) if draws is None else (lambda seed: _cf_draws(net, seed, draws))
    (p, se, draws), first_s = timed(lambda: run(0))
    return {"first_s": first_s, "warm_s": warm(lambda: run(next(seeds)), repeats),
            "answer": p, "se": se, "draws": draws}


# ------------------------------------------------------------------ workload 3
def sampling(net, draws: int, repeats: int) -> dict:
    import pyro
    import pyro.distributions as dist
    import torch

    x, y = net.query_nodes()

    def model():
        vals = {}
        with pyro.plate("draws", draws):
            for i in net.sampled(x, y):
                loc = net.f(i, [vals[p] for p in net.parents_under_do(i, x)], torch.sigmoid)
                loc = torch.as_tensor(loc, dtype=torch.get_default_dtype())
                vals[i] = pyro.sample(f"v{i}", dist.Normal(loc, float(net.scale[i])))
        return vals

    intervened = pyro.poutine.do(model, data={f"v{x}": torch.tensor(1.0)})

    def once():
        v = intervened()[y]
        return float(v.mean()), float(v.std() / math.sqrt(draws))

    (ans, se), first_s = timed(once)
    return {"first_s": first_s, "warm_s": warm(once, repeats), "answer": ans, "se": se, "draws": draws}


# ------------------------------------------------------------------ workload 4
def unit_counterfactual(net, unit, value: float, repeats: int) -> dict:
    import pyro
    import pyro.distributions as dist
    import torch
    from chirho.counterfactual.handlers import MultiWorldCounterfactual
    from chirho.indexed.ops import IndexSet, gather
    from chirho.interventional.handlers import do
    from chirho.observational.handlers import condition

    torch.set_default_dtype(torch.float64)
    x, y = net.query_nodes()
    data = {f"v{i}": torch.tensor(float(unit[i])) for i in range(net.n)}

    def model():
        vals = {}
        for i in range(net.n):
            loc = torch.as_tensor(net.f(i, [vals[p] for p in net.parents[i]], torch.sigmoid))
            noise = dist.Normal(torch.tensor(0.0), float(net.scale[i]))
            vals[i] = pyro.sample(f"v{i}", dist.TransformedDistribution(
                noise, [dist.transforms.AffineTransform(loc, 1.0)]))
        return vals

    def once():
        with MultiWorldCounterfactual(), do(actions={f"v{x}": torch.tensor(float(value))}), condition(data=data):
            vals = model()
            return float(gather(vals[y], IndexSet(**{f"v{x}": {1}})).reshape(-1)[0])

    ans, first_s = timed(once)
    return {"first_s": first_s, "warm_s": warm(once, repeats), "answer": ans, "se": None}
