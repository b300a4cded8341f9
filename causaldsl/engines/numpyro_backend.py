"""The model IR as a NumPyro program, and plain forward sampling.

:func:`numpyro_model` gives the model function a NumPyro user expects: one
``numpyro.sample`` site per ``~`` statement, ``numpyro.deterministic`` for
``:=`` and for intervened variables, so that NumPyro's own handlers
(``condition``, ``do``, ``trace``, ``Predictive``) work on it.

>>> from causaldsl import model
>>> import numpyro
>>> fn = model("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").numpyro()
>>> tr = numpyro.handlers.trace(numpyro.handlers.seed(fn, 0)).get_trace()
>>> float(tr["x"]["value"]) + float(tr["y"]["value"])
1.0
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from .config import float64
from ..model.distributions import FAMILIES
from ..model.expressions import compile_expr
from ..model.ir import Model
from .montecarlo import forward


def prior_sites(ir: Model) -> dict:
    """Sample every parameter from its prior (NumPyro sites, in declaration order)."""
    import numpyro

    theta: dict = {}
    for p in ir.params:
        fam = FAMILIES[p.family]
        args = tuple(jnp.asarray(compile_expr(a)(theta), dtype=float) for a in p.args)
        d = fam.numpyro(args)
        if p.shape:
            d = d.expand(p.shape).to_event(len(p.shape))
        theta[p.name] = numpyro.sample(p.name, d)
    return theta


def numpyro_model(ir: Model):
    """A NumPyro model function for ``ir``; it returns a dict of every variable's value."""
    import numpyro

    compiled = {n.name: ([compile_expr(a) for a in n.args] if n.kind == "sample"
                         else [compile_expr(n.expr)] if n.kind == "assign" else [])
                for n in ir.nodes}

    def model():
        theta = prior_sites(ir)
        env = {}
        for node in ir.nodes:
            if node.kind == "fixed":
                env[node.name] = numpyro.deterministic(node.name, jnp.asarray(node.value, dtype=float))
                continue
            penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
            if node.kind == "assign":
                env[node.name] = numpyro.deterministic(node.name, compile_expr(node.expr)(penv))
                continue
            fam = FAMILIES[node.family]
            params = tuple(jnp.asarray(f(penv), dtype=float) for f in compiled[node.name])
            env[node.name] = numpyro.sample(node.name, fam.numpyro(params),
                                            infer={"latent": node.latent} if node.latent else {})
        return env

    model.__name__ = ir.name
    model.__doc__ = f"NumPyro model of causaldsl model '{ir.name}'."
    return model


@float64
def sample(ir: Model, n: int, seed: int = 0, theta=None, samplers: Optional[dict] = None) -> dict[str, np.ndarray]:
    """``n`` joint draws of every variable of ``ir`` (vectorised, one compiled function).

    With ``theta`` (parameter draws with a leading axis), each of the ``n``
    draws uses a parameter draw picked at random: predictive simulation; its compiled sampler
    is kept in ``samplers`` (a model's ``engine.samplers``) when given.
    """
    if theta:
        samplers = {} if samplers is None else samplers
        key = (ir.nodes, "predictive")
        if key not in samplers:
            run, _ = forward(ir, {}, 1, shard_draws=False)
            samplers[key] = jax.jit(jax.vmap(lambda k, th: run(k, jnp.zeros((1,)), th)[0]))
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        count = next(iter(theta.values())).shape[0]
        pick = jax.random.randint(k1, (int(n),), 0, count)
        th = {name: jnp.asarray(v)[pick] for name, v in theta.items()}
        env = samplers[key](jax.random.split(k2, int(n)), th)
        return {name: np.asarray(env[name]).reshape(-1) for name in ir.names}
    env = sample_arrays(ir, n, seed, samplers)
    return {name: np.asarray(env[name]) for name in ir.names}


@float64
def sample_arrays(ir: Model, n: int, seed: int = 0, samplers: Optional[dict] = None) -> dict:
    """:func:`sample` as JAX arrays, left where they were computed (split across the devices
    when there are several: see :mod:`causaldsl.engines.sharding`).

    >>> from causaldsl import model
    >>> env = sample_arrays(model("model m {\\n x ~ Normal(0, 1)\\n}").ir, 8)
    >>> env["x"].shape
    (8,)
    """
    samplers = {} if samplers is None else samplers
    key = (ir.nodes, int(n))
    if key not in samplers:
        run, _ = forward(ir, {}, int(n))
        samplers[key] = jax.jit(lambda k: run(k, jnp.zeros((1,)), {})[0])
    return samplers[key](jax.random.PRNGKey(seed))
