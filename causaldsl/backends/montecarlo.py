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

import functools
from collections import Counter
from typing import Callable

import jax
import jax.numpy as jnp

import networkx as nx

from .. import syntax as S
from ..distributions import FAMILIES
from ..errors import QueryError
from ..expressions import compile_expr, free_vars
from ..ir import Model, Slot
from ..queries import Plan
from . import noise as rng
from .exact import TRACES
from .sharding import draw_index

_CHEAP_QUANTILE = {"Bernoulli", "Categorical", "Normal", "LogNormal", "Exponential", "Uniform"}


def affine_in(expr: S.Expr, name: str) -> bool:
    """True when ``expr`` is ``a + b * name`` with ``a``, ``b`` free of ``name``.

    >>> from causaldsl.parser import parse_query
    >>> affine_in(parse_query("E[2 * x + u / 3 - 1]").expr, "u"), affine_in(parse_query("E[x * u * u]").expr, "u")
    (True, False)
    """
    if name not in free_vars(expr):
        return True
    if isinstance(expr, S.Var):
        return expr.world is None
    if isinstance(expr, S.Unary):
        return affine_in(expr.operand, name)
    if isinstance(expr, S.BinOp):
        left, right = name in free_vars(expr.left), name in free_vars(expr.right)
        if expr.op in "+-":
            return affine_in(expr.left, name) and affine_in(expr.right, name)
        if expr.op == "*":
            return (not left or not right) and affine_in(expr.left, name) and affine_in(expr.right, name)
        if expr.op == "/":
            return not right and affine_in(expr.left, name)
    return False


def _inversions(net: Model, evidence: dict, source: str) -> dict[str, str]:
    """Noise root -> the observed continuous ``:=`` node it is solved from."""
    out: dict[str, str] = {}
    for node in net.nodes:
        if node.name not in evidence or node.kind != "assign" or node.finite:
            continue
        env = node.env_names
        found = None
        for ename, pname in env.items():
            p = net[pname]
            if (p.kind == "sample" and not p.parents and not FAMILIES[p.family].discrete
                    and pname not in evidence and pname not in out and affine_in(node.expr, ename)):
                found = pname
                break
        if found is None:
            raise QueryError(f"cannot condition on the value of '{node.origin}': it is a continuous "
                             "deterministic function of its parents, and no noise term can be solved "
                             "for (an event of probability zero)", span=node.span,
                             source=source or net.source,
                             hint=f"give '{node.origin}' additive noise from a latent parent "
                                  f"({node.origin} := f(...) + u, with latent u ~ Normal(0, 1)), "
                                  f"or write '{node.origin} ~ Normal(mean, sd)'")
        out[found] = node.name
    return out


def _order(net: Model, evidence: dict, inverted: dict[str, str]) -> list:
    """Topological order of the computation, observed copies as early as possible.

    An inverted noise root is computed from its observed child's other parents,
    so its dependencies change; observed copies go first so that a shared ``U``
    is abducted from the evidence before any other copy reads it.
    """
    g = nx.DiGraph()
    for node in net.nodes:
        g.add_node(node.name)
        for p in node.parents:
            if inverted.get(p) != node.name:
                g.add_edge(p, node.name)
    for u, y in inverted.items():
        for p in net[y].parents:
            if p != u:
                g.add_edge(p, u)
    early = set()
    for e in evidence:
        early |= nx.ancestors(g, e) | {e}
    pos = {node.name: i for i, node in enumerate(net.nodes)}
    try:
        names = list(nx.lexicographical_topological_sort(g, key=lambda v: (v not in early, pos[v])))
    except nx.NetworkXUnfeasible:
        raise QueryError("the observed values cannot be solved for their noise terms in any order",
                         hint="condition on fewer continuous deterministic variables") from None
    return [net[v] for v in names]


def forward(net: Model, evidence: dict[str, str], n: int, source: str = "", shard_draws: bool = True,
            fast_flags: bool = False) -> Callable:
    """``(key, values, theta) -> (env, log weights, invalid flags)`` for ``n`` draws of ``net``.

    ``theta`` maps parameter names to their values (empty for a model without ``param``).
    With several devices the draws are split across them (``shard_draws``; see
    :mod:`causaldsl.backends.sharding`); a program vmapped over something else passes False.

    ``fast_flags``: parameters that vary per draw are checked in ONE reduction over all
    nodes, appended as a last flag ("some draw is invalid somewhere"); per-node flags
    then cover only parameters that are the same for every draw. A reduction per node
    made XLA re-fuse (recompute) each node's ancestors into its own check: compile and
    run time grew with the square of the depth. The caller reruns with exact flags to
    name the node when the last flag is set.
    """
    shared = Counter(node.noise for node in net.nodes if node.kind != "fixed")
    compiled = {node.name: ([compile_expr(a) for a in node.args] if node.kind == "sample"
                            else [compile_expr(node.expr)] if node.kind == "assign" else [])
                for node in net.nodes}
    inverted = _inversions(net, evidence, source)
    order = _order(net, evidence, inverted)
    seen_noise: set[str] = set()
    for node in order:
        if node.name in evidence and node.kind == "sample" and not FAMILIES[node.family].discrete:
            if node.noise in seen_noise:
                raise QueryError(f"cannot condition '{node.origin}' on a value in two worlds: "
                                 "the second is an event of probability zero",
                                 span=node.span, source=source or net.source)
        if node.kind != "fixed":
            seen_noise.add(node.noise)
    flag_nodes = [node for node in order if node.kind != "fixed"]

    def run(key, values, theta):
        dtype = values.dtype
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        env: dict = {}
        u: dict = {}
        logw = jnp.zeros((n,), dtype)
        flags = []
        per_draw = []

        def flag(bad):
            bad = jnp.asarray(bad)
            if fast_flags and bad.ndim > 0:
                per_draw.append(bad)
                flags.append(jnp.asarray(False))
            else:
                flags.append(jnp.any(bad))

        seed = rng.seed_words(key)
        index = draw_index(n, shard_draws)
        for i, node in enumerate(order):
            s1 = 2 * i  # noise stream of this node; 2 * i + 1 for a family sampled by NumPyro
            obs = slots[evidence[node.name]] if node.name in evidence else None
            if node.kind == "fixed":
                v = values[node.value.index] if isinstance(node.value, Slot) else jnp.asarray(node.value, dtype)
                val = jnp.broadcast_to(v, (n,)).astype(dtype)
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
                env[node.name] = val
                continue
            fns = compiled[node.name]
            if node.name in inverted:  # abduction: solve the observed child for this noise
                child = net[inverted[node.name]]
                y = slots[evidence[child.name]]
                ename = next(e for e, p in child.env_names.items() if p == node.name)
                cenv = {**theta, **{e: env[p] for e, p in child.env_names.items() if p != node.name}}
                f = compiled[child.name][0]
                a = jnp.broadcast_to(f({**cenv, ename: jnp.zeros((), dtype)}), (n,))
                b = jnp.broadcast_to(f({**cenv, ename: jnp.ones((), dtype)}), (n,)) - a
                val = (y - a) / jnp.where(b == 0, 1.0, b)
                raw = tuple(jnp.asarray(fn(theta), dtype) for fn in fns)
                params = tuple(jnp.broadcast_to(r, (n,)) for r in raw)
                fam = FAMILIES[node.family]
                flag(fam.invalid(raw))
                logw = logw + jnp.where(b == 0, -jnp.inf, fam.log_prob(params, val) - jnp.log(jnp.abs(b)))
                env[node.name] = val
                continue
            if node.name in inverted.values():
                env[node.name] = jnp.broadcast_to(obs, (n,)).astype(dtype)
                flags.append(jnp.asarray(False))
                continue
            penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
            if node.kind == "assign":
                raw = jnp.asarray(fns[0](penv), dtype)
                flag(jnp.isnan(raw))
                val = jnp.broadcast_to(raw, (n,))
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
                env[node.name] = val
                continue
            fam = FAMILIES[node.family]
            raw = tuple(jnp.asarray(f(penv), dtype) for f in fns)
            flag(fam.invalid(raw))
            params = tuple(jnp.broadcast_to(r, (n,)) for r in raw)
            kmax = len(node.domain) - 1 if node.domain else None
            many = shared[node.noise] > 1
            z = fam.from_z is not None  # noise kept as a standard normal, else as a uniform
            if obs is not None and node.noise not in u:
                if fam.discrete:
                    lo, hi = fam.cdf(params, obs - 1), fam.cdf(params, obs)
                    logw = logw + jnp.log(jnp.maximum(hi - lo, 0.0))
                    if many:
                        u[node.noise] = lo + rng.uniform(seed, s1, index, dtype) * (hi - lo)
                else:
                    logw = logw + fam.log_prob(params, obs)
                    if many:
                        u[node.noise] = fam.to_z(params, obs) if z else fam.cdf(params, obs)
                val = jnp.broadcast_to(obs, (n,)).astype(dtype)
            elif node.noise in u or many or z or fam.name in _CHEAP_QUANTILE or fam.support == "finite":
                if node.noise not in u:
                    u[node.noise] = (rng.normal(seed, s1, index, dtype) if z
                                     else rng.uniform(seed, s1, index, dtype))
                noise = u[node.noise]
                val = (fam.from_z(params, noise) if z else fam.quantile(params, noise, kmax)).astype(dtype)
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
            else:
                val = fam.numpyro(params).sample(jax.random.fold_in(key, s1 + 1)).astype(dtype)
            env[node.name] = val
        if fast_flags:
            bad = functools.reduce(jnp.logical_or, per_draw) if per_draw else jnp.zeros((), bool)
            flags.append(jnp.any(bad))
        return env, logw, jnp.stack(flags) if flags else jnp.zeros((0,), bool)

    return run, flag_nodes


def compile_montecarlo(plan: Plan, n: int, source: str = "", shard_draws: bool = True,
                       fast_flags: bool = True) -> Callable:
    """``(key, values, theta) -> summary dict``, jitted; reductions happen on the device.

    The summary holds the self-normalised estimate, its delta-method standard
    error, the effective sample size, whether any draw met the evidence,
    whether the target was finite wherever it had weight, and the invalid flags
    (with ``fast_flags``, ``bad_draws`` says that some per-draw parameter was invalid
    and the flags must be recomputed with ``fast_flags=False`` to say where).
    """
    net = plan.network
    run, flag_nodes = forward(net, dict(plan.evidence), n, source, shard_draws, fast_flags)
    target = compile_expr(plan.target) if plan.target is not None else None
    doms = {d: jnp.asarray(net[d].domain, dtype=float) for d in plan.dist_vars}

    def fn(key, values, theta):
        TRACES["count"] += 1
        env, logw, flags = run(key, values, theta)
        bad_draws = flags[-1] if fast_flags else jnp.asarray(False)
        flags = flags[:-1] if fast_flags else flags
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        full = {**env, **slots}
        t = jnp.ones((n,)) if target is None else jnp.broadcast_to(target(full), (n,))
        for d in plan.dist_vars:
            ind = (jnp.abs(env[d][:, None] - doms[d][None, :]) <= 1e-9).astype(t.dtype)
            t = t.reshape(t.shape + (1,)) * ind.reshape((n,) + (1,) * (t.ndim - 1) + (-1,))
        if not plan.evidence:  # every weight is 1: plain means, two passes over the draws fewer
            finite = jnp.all(jnp.isfinite(t))
            est = jnp.mean(t, axis=0)
            se = jnp.sqrt(jnp.sum((t - est) ** 2, axis=0)) / n
            return {"estimate": est, "stderr": se, "ess": jnp.asarray(float(n)),
                    "any": jnp.asarray(True), "finite": finite, "flags": flags, "bad_draws": bad_draws}
        top = jnp.max(jnp.where(jnp.isfinite(logw), logw, -jnp.inf))
        w = jnp.where(jnp.isfinite(logw), jnp.exp(logw - top), 0.0)
        live = w > 0
        wt = w.reshape((n,) + (1,) * (t.ndim - 1))
        finite = jnp.all(jnp.where(wt > 0, jnp.isfinite(t), True))
        t = jnp.where(wt > 0, t, 0.0)
        sw = jnp.sum(w)
        est = jnp.sum(wt * t, axis=0) / sw
        se = jnp.sqrt(jnp.sum(wt ** 2 * (t - est) ** 2, axis=0)) / sw
        return {"estimate": est, "stderr": se, "ess": sw ** 2 / jnp.sum(w ** 2),
                "any": jnp.any(live), "finite": finite, "flags": flags, "bad_draws": bad_draws}

    return jax.jit(fn), flag_nodes

