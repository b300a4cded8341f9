"""Monte Carlo answers: vectorised forward sampling with likelihood weighting.

Every node of the (multi-world) network is computed for a batch of ``n`` draws
in topological order. A ``~`` node whose noise is shared by several copies is
computed by its quantile function from one shared ``U ~ Uniform(0, 1)``; a node
with a single copy is drawn by its NumPyro distribution.

Evidence is handled by importance sampling that is exact in the abduction step:

* a discrete ``~`` copy observed at ``e``: ``U`` is drawn uniformly on
  ``[F(e-1), F(e))`` and the draw is weighted by ``F(e) - F(e-1) = P(e | parents)``;
* a continuous ``~`` copy observed at ``e``: ``U = F(e)`` and the weight is the density;
* a discrete ``:=`` copy, or a copy whose ``U`` is already fixed: weight 1 if it
  matches, 0 if not.

This is likelihood weighting (Fung & Chang 1990) with the abduction of Pearl's
three-step counterfactual procedure done per draw. The estimate is the
self-normalised weighted mean; the standard error is the delta-method one and
the effective sample size is ``(Σw)² / Σw²`` (Kong 1992).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import jax
import jax.numpy as jnp

from ..distributions import FAMILIES
from ..errors import QueryError
from ..expressions import compile_expr
from ..ir import Model, Slot
from ..queries import Plan
from .exact import TRACES

_CHEAP_QUANTILE = {"Bernoulli", "Categorical", "Normal", "LogNormal", "Exponential", "Uniform"}


def forward(net: Model, evidence: dict[str, str], n: int, source: str = "") -> Callable:
    """``(key, values) -> (env, log weights, invalid flags)`` for ``n`` draws of ``net``."""
    shared = Counter(node.noise for node in net.nodes if node.kind != "fixed")
    compiled = {node.name: ([compile_expr(a) for a in node.args] if node.kind == "sample"
                            else [compile_expr(node.expr)] if node.kind == "assign" else [])
                for node in net.nodes}
    for node in net.nodes:
        if node.name in evidence and node.kind == "assign" and not node.finite:
            raise QueryError(f"cannot condition on '{node.origin}' = value: it is a continuous "
                             "deterministic function of its parents, an event of probability zero",
                             span=node.span, source=source or net.source,
                             hint=f"write '{node.origin} ~ Normal(mean, sd)' (noise folded in), "
                                  "so that its density is known")
    seen_noise: set[str] = set()
    for node in net.nodes:
        if node.name in evidence and node.kind == "sample" and not FAMILIES[node.family].discrete:
            if node.noise in seen_noise:
                raise QueryError(f"cannot condition '{node.origin}' on a value in two worlds: "
                                 "the second is an event of probability zero",
                                 span=node.span, source=source or net.source)
        if node.kind != "fixed":
            seen_noise.add(node.noise)

    def run(key, values):
        dtype = values.dtype
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        env: dict = {}
        u: dict = {}
        logw = jnp.zeros((n,), dtype)
        flags = []
        keys = jax.random.split(key, len(net.nodes) * 2)
        for i, node in enumerate(net.nodes):
            k1, k2 = keys[2 * i], keys[2 * i + 1]
            obs = slots[evidence[node.name]] if node.name in evidence else None
            if node.kind == "fixed":
                v = values[node.value.index] if isinstance(node.value, Slot) else jnp.asarray(node.value, dtype)
                val = jnp.broadcast_to(v, (n,)).astype(dtype)
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
                env[node.name] = val
                continue
            penv = {e: env[p] for e, p in node.env_names.items()}
            fns = compiled[node.name]
            if node.kind == "assign":
                val = jnp.broadcast_to(fns[0](penv), (n,)).astype(dtype)
                flags.append(jnp.any(jnp.isnan(val)))
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
                env[node.name] = val
                continue
            fam = FAMILIES[node.family]
            params = tuple(jnp.broadcast_to(f(penv), (n,)).astype(dtype) for f in fns)
            flags.append(jnp.any(fam.invalid(params)))
            kmax = len(node.domain) - 1 if node.domain else None
            many = shared[node.noise] > 1
            if obs is not None and node.noise not in u:
                if fam.discrete:
                    lo, hi = fam.cdf(params, obs - 1), fam.cdf(params, obs)
                    logw = logw + jnp.log(jnp.maximum(hi - lo, 0.0))
                    if many:
                        u[node.noise] = lo + jax.random.uniform(k1, (n,), dtype) * (hi - lo)
                else:
                    logw = logw + fam.log_prob(params, obs)
                    if many:
                        u[node.noise] = fam.cdf(params, obs)
                val = jnp.broadcast_to(obs, (n,)).astype(dtype)
            elif node.noise in u or many or fam.name in _CHEAP_QUANTILE or fam.support == "finite":
                if node.noise not in u:
                    u[node.noise] = jax.random.uniform(k1, (n,), dtype)
                val = fam.quantile(params, u[node.noise], kmax).astype(dtype)
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
            else:
                val = fam.numpyro(params).sample(k2).astype(dtype)
            env[node.name] = val
        return env, logw, jnp.stack(flags) if flags else jnp.zeros((0,), bool)

    return run


def compile_montecarlo(plan: Plan, n: int, source: str = "") -> Callable:
    """``(key, values) -> (log weights, target, invalid flags)``, jitted."""
    net = plan.network
    run = forward(net, dict(plan.evidence), n, source)
    target = compile_expr(plan.target) if plan.target is not None else None
    doms = {d: jnp.asarray(net[d].domain, dtype=float) for d in plan.dist_vars}

    def fn(key, values):
        TRACES["count"] += 1
        env, logw, flags = run(key, values)
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        full = {**env, **slots}
        t = jnp.ones((n,)) if target is None else jnp.broadcast_to(target(full), (n,))
        for d in plan.dist_vars:
            ind = (jnp.abs(env[d][:, None] - doms[d][None, :]) <= 1e-9).astype(t.dtype)
            t = t.reshape(t.shape + (1,)) * ind.reshape((n,) + (1,) * (t.ndim - 1) + (-1,))
        return logw, t, flags

    nodes = [node for node in net.nodes if node.kind != "fixed"]
    return jax.jit(fn), nodes

