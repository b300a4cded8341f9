"""Exact answers for discrete models: factor tensors and one einsum.

Every variable of the (multi-world) network is an einsum index. Each noise
group (the copies of one variable across worlds) contributes one factor: for a
single copy its conditional probability table; for copies ``c_1..c_k`` of a
``~`` statement sharing ``U``, the comonotone coupling

    P(c_1 = j_1, ..., c_k = j_k | parents) = max(0, min_i F_i(j_i) - max_i F_i(j_i - 1))

the length of the intersection of the copies' CDF intervals. A deterministic
``:=`` copy is the same formula with point masses. The answer is
``Σ factors · evidence · target / Σ factors · evidence``, computed in a single
contraction (with a stacked ``[1, target]`` operand) along a greedy path.

Query values (``do`` values, observed values) are arguments of the compiled
function, so a new value reuses the executable. So are the model's parameters
(``theta``, a dict of arrays, empty for a model without ``param``), which lets
a posterior query be one ``jax.vmap`` of the same function over the draws.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import jax
import jax.numpy as jnp

from ..distributions import FAMILIES
from ..expressions import compile_expr, free_vars
from ..ir import Model, Slot
from ..queries import Plan

TRACES = {"count": 0}  # incremented each time a query function is traced (compiled)


def _close(a, b):
    return jnp.abs(a - b) <= 1e-9 * jnp.maximum(1.0, jnp.abs(b))


def supports(plan: Plan) -> bool:
    """True when every variable the query touches has a finite domain."""
    return all(n.kind == "fixed" or n.finite for n in plan.network.nodes)


def compile_exact(plan: Plan) -> Callable:
    """``(values, theta) -> (numerator, denominator, undefined mass, invalid flags)``, jitted."""
    net: Model = plan.network
    variables = [n for n in net.nodes if n.kind != "fixed"]
    index = {n.name: i for i, n in enumerate(variables)}
    fixed = {n.name: n for n in net.nodes if n.kind == "fixed"}
    groups: dict[str, list] = defaultdict(list)
    for n in variables:
        groups[n.noise].append(n)
    compiled = {n.name: ([compile_expr(a) for a in n.args] if n.kind == "sample" else [compile_expr(n.expr)])
                for n in variables}
    target = compile_expr(plan.target) if plan.target is not None else None
    target_vars = [v for v in free_vars(plan.target) if not v.startswith("$")] if plan.target is not None else []
    n_out = len(variables) + 1  # index of the stacked [denominator, numerator] axis
    domains = {n.name: jnp.asarray(n.domain, dtype=float) for n in variables}
    domains_fixed = {d: jnp.asarray(fixed[d].domain, dtype=float) for d in plan.dist_vars if d in fixed}

    def fixed_value(node, values):
        v = node.value
        return values[v.index] if isinstance(v, Slot) else jnp.asarray(v, dtype=float)

    def grid_env(names, values, slots):
        """Each non-fixed variable along its own axis of a len(names)-dim grid."""
        env = dict(slots)
        k = len(names)
        for i, name in enumerate(names):
            shape = [1] * k
            shape[i] = -1
            env[name] = domains[name].reshape(shape)
        for name, node in fixed.items():
            env[name] = fixed_value(node, values)
        return env

    def node_pmf(node, env, pshape, theta):
        fns = compiled[node.name]
        penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
        dom = domains[node.name]
        if node.kind == "assign":
            val = jnp.broadcast_to(fns[0](penv), pshape)
            pmf = _close(val[..., None], dom).astype(float)
            return pmf, jnp.any(jnp.sum(pmf, -1) == 0)
        fam = FAMILIES[node.family]
        params = tuple(jnp.broadcast_to(f(penv), pshape) for f in fns)
        bad = jnp.any(fam.invalid(params))
        return fam.pmf(params, dom), bad

    def fn(values, theta):
        TRACES["count"] += 1
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        operands: list = []
        flags = []
        scalar = jnp.asarray(1.0)
        for noise, copies in groups.items():
            pnames = list(dict.fromkeys(p for c in copies for p in c.parents if p not in fixed))
            env = grid_env(pnames, values, slots)
            pshape = tuple(len(domains[p]) for p in pnames)
            pmfs = []
            for c in copies:
                pmf, bad = node_pmf(c, env, pshape, theta)
                flags.append(bad)
                pmfs.append(pmf)
            if len(copies) == 1:
                factor = pmfs[0]
            else:
                k = len(copies)
                uppers, lowers = [], []
                for i, pmf in enumerate(pmfs):
                    cdf = jnp.cumsum(pmf, axis=-1)
                    shape = pshape + tuple(-1 if j == i else 1 for j in range(k))
                    uppers.append(cdf.reshape(shape))
                    lowers.append((cdf - pmf).reshape(shape))
                up, lo = uppers[0], lowers[0]
                for u, l in zip(uppers[1:], lowers[1:]):
                    up, lo = jnp.minimum(up, u), jnp.maximum(lo, l)
                factor = jnp.maximum(up - lo, 0.0)
            operands.append((factor, [index[p] for p in pnames] + [index[c.name] for c in copies]))
        for copy, slot in plan.evidence:
            if copy in fixed:
                scalar = scalar * _close(fixed_value(fixed[copy], values), slots[slot])
            else:
                operands.append((_close(domains[copy], slots[slot]).astype(float), [index[copy]]))
        tvars = [v for v in target_vars if v not in fixed]
        if target is not None:
            tenv = grid_env(tvars, values, slots)
            tshape = tuple(len(domains[v]) for v in tvars)
            t = jnp.broadcast_to(jnp.asarray(target(tenv), dtype=float), tshape)
        else:
            t = jnp.ones(())
        # Where the target is inf or NaN its value is left out, and the mass of
        # those configurations is contracted too: positive mass is an error.
        bad = ~jnp.isfinite(t)
        stacked = jnp.stack([jnp.ones_like(t), jnp.where(bad, 0.0, t), bad.astype(float)])
        operands.append((stacked, [n_out] + [index[v] for v in tvars]))
        out_axes = [n_out]
        for k, d in enumerate(plan.dist_vars):
            if d in fixed:  # an intervened variable's distribution: all mass on its value
                ax = n_out + 1 + k
                ind = _close(domains_fixed[d], fixed_value(fixed[d], values)).astype(float)
                operands.append((ind, [ax]))
                out_axes.append(ax)
            else:
                out_axes.append(index[d])
        args = []
        for arr, axes in operands:
            args += [arr, axes]
        result = jnp.einsum(*args, out_axes, optimize="greedy") * scalar
        den = jnp.sum(result[0])
        num = result[1]
        undefined = jnp.sum(result[2])
        return num, den, undefined, jnp.stack(flags) if flags else jnp.zeros((0,), bool)

    return jax.jit(fn), [n for g in groups.values() for n in g]
