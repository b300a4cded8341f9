"""Counterfactuals on tables by exact abduction: the seen world drawn from its exact posterior.

Likelihood weighting draws the seen (factual) world forward and weighs each draw by the evidence:
where the evidence is unlikely (mildew's two-world question: probability 3e-7) no draw of
200,000 meets it. But the factual world of a discrete network is an ordinary Bayesian network,
whose posterior given the evidence is exact and cheap where its treewidth is small even when the
twin network's coupled tables are not (mildew: 7e4 entries against 3e9). So, for a query whose
evidence lies in the factual world (no intervened ancestor) and whose variables are all tables of
numbers coupled by quantile (:mod:`~causaldsl.engines.table_rows`), Pearl's three steps are done
with an exact first step:

1. abduction: the factual world is drawn from ``P(world | evidence)`` by variable elimination
   followed by backward sampling (Dawid 1992, "Applications of a general propagation algorithm
   for probabilistic expert systems", §6; Koller & Friedman 2009, §12.1.2 with §9.3), and each
   noise ``U`` of a variable with copies in other worlds uniformly on the CDF interval of its drawn
   value, which is its exact posterior given the world;
2. action and 3. prediction: the copies in the other worlds are computed from those ``U`` (the
   quantile coupling), forward.

Every draw then has the same weight ``P(evidence)``: the effective sample size is the number of
draws, and the standard error is the plain one of a mean. The cost of step 1 is that of an exact
observational query, estimated from the elimination's table sizes before anything is computed;
past :data:`MAX_ENTRIES` the query keeps likelihood weighting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np

from ..model.expressions import free_vars
from . import noise as rng
from . import table_rows

#: Entries of the largest table of the elimination (float64) past which exact abduction is not used.
MAX_ENTRIES = 20_000_000

#: The first noise stream of the abduction's uniforms (far from a schedule's, ``2 * position``).
_STREAM0 = 1 << 30


@dataclass(frozen=True)
class Elimination:
    """The factual world's elimination: ``order`` of its variables, ``scopes[v]`` the variables
    ``v`` was multiplied with when eliminated (its conditional's parents in backward sampling)."""

    order: tuple
    scopes: dict
    largest: int


def factual(net, evidence: dict) -> Optional[list]:
    """The names of ``net``'s factual nodes (no intervened ancestor), in order, where exact
    abduction applies to ``net`` and ``evidence``; None otherwise.

    >>> import causaldsl as cd
    >>> from causaldsl.model.queries import plan_query
    >>> from causaldsl.language.parser import parse_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.7 })\\n}")
    >>> p = plan_query(m.ir, parse_query("P(y[x = 0] = 1 | x = 1, y = 1)"))
    >>> factual(p.network, dict(p.evidence))
    ['x', 'y']
    """
    if any(node.kind != "fixed" and (node.kind != "sample" or node.gumbel_race or node.domain is None)
           for node in net.nodes):
        return None
    fixed = [n.name for n in net.nodes if n.kind == "fixed"]
    moved = set(fixed).union(*(nx.descendants(net.graph, f) for f in fixed))
    if any(e in moved or net[e].kind != "sample" for e in evidence):
        return None
    return [n.name for n in net.nodes if n.name not in moved]


def eliminate_order(tables: dict, names: list) -> Elimination:
    """A greedy min-weight elimination order of the factual network (each step eliminates the
    variable whose neighbours' joint table is smallest), with the scopes it creates.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n a ~ Bernoulli(0.5)\\n b ~ Bernoulli(table(a) { 0: 0.2, 1: 0.7 })\\n"
    ...              " c ~ Bernoulli(table(b) { 0: 0.1, 1: 0.6 })\\n}")
    >>> e = eliminate_order({n: table_rows.read(m.ir, m.ir[n]) for n in "abc"}, ["a", "b", "c"])
    >>> e.order, e.largest
    (('a', 'b', 'c'), 4)
    """
    size = {v: tables[v].k for v in names}
    nbrs = {v: set() for v in names}
    for v in names:
        fam = set(tables[v].parents) | {v}
        for a in fam:
            nbrs[a] |= fam - {a}
    pos = {v: i for i, v in enumerate(names)}

    def weight(w) -> tuple:
        return (float(np.prod([size[a] for a in nbrs[w]], dtype=float)), pos[w])

    weights = {v: weight(v) for v in names}
    order, scopes, largest = [], {}, 1
    while weights:
        v = min(weights, key=weights.__getitem__)
        del weights[v]
        scope = tuple(sorted(nbrs.pop(v), key=pos.__getitem__))
        largest = max(largest, int(np.prod([size[a] for a in scope + (v,)], dtype=float)))
        for a in scope:  # v's neighbours become one clique, without v
            nbrs[a].discard(v)
            nbrs[a] |= set(scope) - {a}
            weights[a] = weight(a)
        scopes[v] = scope
        order.append(v)
    return Elimination(tuple(order), scopes, largest)


def conditionals(tables: dict, elim: Elimination, observed: dict) -> tuple:
    """``(P(evidence), {v: cdf table})``: each variable's conditional given its scope and the
    evidence (``observed``: name -> value index), rows in the grid order of the scope, as
    :class:`~causaldsl.engines.table_rows.TableRows` reads them; found by variable elimination.
    """
    factors = []
    for v, tab in tables.items():
        axes = tab.parents + (v,)
        f = tab.pmf.reshape(tuple(len(d) for d in tab.domains) + (tab.k,))
        if v in observed:  # the evidence: an indicator on the variable's own axis
            f = f * (np.arange(tab.k) == observed[v])
        factors.append((axes, f))
    log_scale, conds = 0.0, {}
    for v in elim.order:
        mine = [f for f in factors if v in f[0]]
        factors = [f for f in factors if v not in f[0]]
        scope = elim.scopes[v]
        out = (v,) + scope
        letters = {a: i for i, a in enumerate(out)}
        args = []
        for axes, f in mine:
            args += [f, [letters[a] for a in axes]]
        psi = np.einsum(*args, [letters[a] for a in out], optimize=True)  # (v, scope...)
        msg = psi.sum(axis=0)
        top = float(msg.max()) if msg.size else 0.0
        if top > 0:  # rescaled: a long chain of small probabilities must not underflow
            msg = msg / top
            log_scale += np.log(top)
        factors.append((scope, msg))
        rows = np.moveaxis(psi, 0, -1).reshape(-1, psi.shape[0])
        tot = rows.sum(axis=-1, keepdims=True)
        p = np.divide(rows, tot, out=np.zeros_like(rows), where=tot > 0)
        conds[v] = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(p, axis=-1)], axis=-1)
    rest = 1.0
    for _, f in factors:  # scalars left over
        rest *= float(np.asarray(f).reshape(-1)[0]) if np.size(f) == 1 else float(np.sum(f))
    return float(np.exp(log_scale) * rest), conds


class Program:
    """``program(seed, values, finish) -> summary`` of a query answered by exact abduction (module
    note), with the keys of :func:`~causaldsl.engines.montecarlo.compile_montecarlo`'s and
    ``conditioning``; built by :func:`build`. The draws come ``chunk`` at a time (each chunk's noise
    under ``jax.random.fold_in(key, i)``), and only their sums are kept."""

    def __init__(self, plan, schedule, names: list, elim: Elimination, n: int, chunk: int):
        self.plan, self.s, self.names, self.elim, self.n, self.chunk = plan, schedule, names, elim, n, chunk
        self.tables = {v: schedule.tables[v] for v in names}
        net = plan.network
        self.groups = {net[v].noise: v for v in names}  # a noise group's factual member
        moved = [node for node in net.nodes if node.kind != "fixed" and node.name not in self.groups.values()]
        self.groups_cf = list(dict.fromkeys(node.noise for node in moved))  # groups with copies elsewhere
        self.sampled = self._needed(moved)

    def _needed(self, moved: list) -> set:
        """The factual variables a draw must sample: those the target, the other worlds' copies
        (their parents and their noise groups' factual members) read, and, for each, the
        variables its conditional is given (its elimination scope, sampled before it)."""
        net, plan = self.plan.network, self.plan
        want = set(plan.dist_vars) | (set(free_vars(plan.target)) if plan.target is not None else set())
        for node in moved:
            want |= set(node.parents)
            if node.noise in self.groups:  # its U is abducted from that member's value and row
                home = self.groups[node.noise]
                want |= {home, *net[home].parents}
        want = {v for v in want if v in self.tables}
        for v in self.elim.order:  # a scope holds variables eliminated later: one pass suffices
            if v in want:
                want |= set(self.elim.scopes[v])
        return want

    def __call__(self, seed: int, values, finish) -> dict:
        """``finish(env, m)`` -> the target of ``m`` draws, ``(m, ...)``; returns the summary."""
        net, obs = self.plan.network, {}
        slots = {f"${i}": float(values[i]) for i in range(len(values))}
        for name, slot in self.plan.evidence:
            obs[name] = int(np.argmin(np.abs(np.asarray(net[name].domain) - slots[slot])))
        pe, conds = conditionals(self.tables, self.elim, obs)
        if not pe > 0:
            return {"any": False, "flags": np.zeros(len(self.s.flag_nodes), bool)}
        guides = {v: table_rows.guide(conds[v]) for v in self.sampled}
        key = rng.seed_of(seed)
        total = total2 = None
        for i in range(-(-self.n // self.chunk)):
            m = min(self.chunk, self.n - i * self.chunk)
            t = np.asarray(self._chunk(key, i, m, values, conds, guides, finish), dtype=float)
            if t.ndim <= len(self.plan.dist_vars):  # the same for every draw
                t = np.broadcast_to(t, (m,) + t.shape)
            s1, s2 = np.sum(t, 0), np.sum(t * t, 0)
            total, total2 = (s1, s2) if total is None else (total + s1, total2 + s2)
        est = np.asarray(total) / self.n
        var = np.maximum(np.asarray(total2) / self.n - est ** 2, 0.0)
        return {"estimate": est, "stderr": np.sqrt(var / self.n), "ess": float(self.n), "any": True,
                "finite": bool(np.all(np.isfinite(est))), "bad_draws": False, "deterministic": False,
                "flags": np.zeros(len(self.s.flag_nodes), bool),
                "conditioning": f"exact abduction (the factual world drawn from its posterior; "
                                f"the evidence has probability {pe:.3g})"}

    def _chunk(self, key, i: int, m: int, values, conds: dict, guides: dict, finish):
        """The target of ``m`` draws, in NumPy (a few operations per variable on ``m`` values:
        op by op, JAX would compile each for each new shape)."""
        seed = rng.seed_words(jax.random.fold_in(jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32),
                                                                          impl="threefry2x32"), i))
        block = np.asarray(_uniforms(len(self.elim.order) + len(self.groups_cf), m)(seed))

        def uniforms(stream: int) -> np.ndarray:
            return block[stream]

        idx: dict = {}
        for j, v in enumerate(reversed(self.elim.order)):  # backward sampling
            if v not in self.sampled:
                continue
            row = np.zeros((), np.int64)
            for a in self.elim.scopes[v]:
                row = row * self.tables[a].k + idx[a]
            idx[v] = table_rows.draw_np(conds[v], None, row, uniforms(j), guides[v])
        env = {v: self.tables[v].values[at] for v, at in idx.items()}
        u: dict = {}
        k = len(self.names)
        for step in self.s.steps:  # the other worlds, forward, from the abducted noise
            node = step.node
            if node.name in self.tables:  # factual: drawn above, or not needed
                continue
            if node.kind == "fixed":
                v = node.value
                env[node.name] = np.float64(values[v.index] if hasattr(v, "index") else v)
                continue
            tab = self.s.tables[node.name]
            if node.noise not in u:
                r = uniforms(k + len(u))
                home = self.groups.get(node.noise)
                if home is not None:  # U given the factual value: uniform on its CDF interval
                    ft = self.tables[home]
                    lo, hi = table_rows.interval_np(ft, table_rows.row_np(ft, env), env[home])
                    r = lo + r * (hi - lo)
                u[node.noise] = r
            env[node.name] = table_rows.draw_np(tab.cdf, tab.values, table_rows.row_np(tab, env), u[node.noise],
                                                tab.guide)
        return finish(env, m)


@functools.lru_cache(maxsize=None)
def _uniforms(k: int, m: int):
    """A jitted ``seed words -> (k, m)`` uniforms, streams ``_STREAM0 + 0..k-1`` (one call per chunk)."""
    streams = np.arange(_STREAM0, _STREAM0 + k, dtype=np.uint32)
    return jax.jit(lambda seed: rng.block(rng.uniform, seed, streams, m, jnp.float64))


def build(plan, schedule, n: int, chunk: int) -> Optional[Program]:
    """The exact-abduction program of ``plan`` (module note), or None where it does not apply:
    no evidence, a variable that is not a table of numbers coupled by quantile, evidence in a
    world with an intervention, or a factual elimination past :data:`MAX_ENTRIES` entries."""
    if not plan.evidence:
        return None
    names = factual(plan.network, dict(plan.evidence))
    if names is None:
        return None
    tables = schedule.tables
    if any(node.kind != "fixed" and (node.name not in tables or tables[node.name].bad is not None)
           for node in plan.network.nodes):
        return None
    elim = eliminate_order({v: tables[v] for v in names}, names)
    if elim.largest > MAX_ENTRIES:
        return None
    return Program(plan, schedule, names, elim, n, chunk)
