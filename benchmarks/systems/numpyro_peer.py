"""A hand-written NumPyro model: one ``numpyro.sample`` per node, ``handlers.do``, ``Predictive``.

This is what a NumPyro user writes: ``Predictive(do(model, ...), num_samples=N, parallel=True)``
(vmapped over draws) inside ``jax.jit``, NumPyro's default float32 and PRNG. The first call
includes tracing and XLA compilation of one op per node.
"""

from __future__ import annotations

import math

from ..measure import timed, warm


def prime() -> None:
    import jax

    jax.numpy.ones(2).block_until_ready()


def sampling(net, draws: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.handlers import do
    from numpyro.infer import Predictive

    x, y = net.query_nodes()

    def model():
        vals = {}
        for i in net.sampled(x, y):  # the nodes causaldsl samples (see nets.GaussNet.sampled)
            loc = jnp.asarray(net.f(i, [vals[p] for p in net.parents_under_do(i, x)], jax.nn.sigmoid))
            vals[i] = numpyro.sample(f"v{i}", dist.Normal(loc, float(net.scale[i])))

    intervened = do(model, data={f"v{x}": jnp.asarray(1.0)})
    predictive = Predictive(intervened, num_samples=draws, parallel=True, return_sites=[f"v{y}"])

    @jax.jit
    def summary(key):
        v = predictive(key)[f"v{y}"]
        return v.mean(), v.std() / math.sqrt(draws)

    keys = iter(range(1, 10_000))

    def once(seed):
        m, s = summary(jax.random.PRNGKey(seed))
        return float(m), float(s)

    (ans, se), first_s = timed(lambda: once(0))
    return {"first_s": first_s, "warm_s": warm(lambda: once(next(keys)), repeats),
            "answer": ans, "se": se, "draws": draws}
