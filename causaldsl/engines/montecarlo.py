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
from dataclasses import dataclass
from typing import Callable, Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

import networkx as nx

from ..language import syntax as S
from .config import float64
from ..model.distributions import FAMILIES
from ..language.errors import MethodError, QueryError
from ..model.expressions import compile_expr, free_vars
from ..model.ir import Model, Node, Slot
from ..model.queries import Plan
from . import coupling
from . import noise as rng
from . import scalar

_CHEAP_QUANTILE = {"Bernoulli", "Categorical", "Normal", "LogNormal", "Exponential", "Uniform"}


def affine_in(expr: S.Expr, name: str) -> bool:
    """True when ``expr`` is ``a + b * name`` with ``a``, ``b`` free of ``name``.

    >>> from causaldsl.language.parser import parse_query
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
        # A root that also reaches the node through another parent (q := 2 * y beside y in
        # w := y + q + u) cannot be solved from it: its value would depend on itself.
        upstream = net.ancestors([g for p in env.values() for g in net[p].parents])
        found = None
        for ename, pname in env.items():
            p = net[pname]
            if (p.kind == "sample" and not p.parents and not FAMILIES[p.family].discrete
                    and pname not in evidence and pname not in out and pname not in upstream
                    and affine_in(node.expr, ename)):
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
    early = set()  # the evidence and its ancestors: one walk up from all of them
    stack = [e for e in evidence if e in g]
    while stack:
        v = stack.pop()
        if v not in early:
            early.add(v)
            stack.extend(g.pred[v])
    pos = {node.name: i for i, node in enumerate(net.nodes)}
    try:
        names = list(nx.lexicographical_topological_sort(g, key=lambda v: (v not in early, pos[v])))
    except nx.NetworkXUnfeasible:
        cycle = {v for edge in nx.find_cycle(g) for v in edge[:2]}
        # the observed child whose noise, solved from it, is on the cycle
        node = next((net[inverted[v]] for v in net.names if v in cycle and v in inverted),
                    next(net[v] for v in net.names if v in cycle))
        raise QueryError(f"the observed values cannot be solved for their noise terms in any order "
                         f"(solving '{node.origin}' for its noise needs a value that depends on it)",
                         span=node.span, source=net.source,
                         hint="condition on fewer continuous deterministic variables; a model whose "
                              "mechanisms are all linear with Normal noise is answered exactly by "
                              "Gaussian conditioning (the default method)") from None
    return [net[v] for v in names]


@dataclass(frozen=True)
class Step:
    """What the forward pass does at one node, decided once per structure.

    ``mode`` is one of

    * ``fixed``: an intervened copy, held at its value;
    * ``solve``: a noise root solved from its observed ``:=`` child (``child``), weighted by
      its density times the Jacobian;
    * ``solved``: that observed child, set to its value;
    * ``assign``: a ``:=`` copy;
    * ``observe``: the first observed copy of a ``~`` noise: weighted by its likelihood, and the
      noise abducted for later copies (``share``);
    * ``draw``: a ``~`` copy computed by its quantile function from its noise, fresh
      (``noise`` = ``("z" | "u", row)``) or abducted/drawn by an earlier copy (``noise`` None);
    * ``numpyro``: a family without a cheap quantile drawn by NumPyro (stream ``stream``).
    """

    node: Node
    mode: str
    obs: Optional[str] = None  # slot of the observed value
    noise: Optional[tuple] = None  # ("z", row) or ("u", row) of the fresh noise block
    share: bool = False
    stream: int = 0
    child: Optional[str] = None
    gumbel: bool = False  # the noise is one Gumbel per value (coupling = gumbel, several copies)


class Schedule:
    """The forward pass of ``net`` under ``evidence``, planned once per query structure.

    Every fresh noise value is listed here (``z_streams``: standard normals, ``u_streams``:
    uniforms; ``stream`` numbers as before, ``2 * position``), so that a run draws all of
    them as two ``(k, n)`` arrays: one inverse CDF for the whole program instead of one per
    node keeps the XLA program, and its compile time, small as the model grows.

    ``deterministic``: no noise is left to draw (every noise term is solved from the evidence,
    or there is none): every draw would be the same, so one suffices.

    ``streams`` (noise group -> number) numbers the streams by noise group instead of by
    position: several queries planned with the same numbering and run with the same seed draw
    the same ``U`` for the same variable (common random numbers, for questions that combine).
    """

    def __init__(self, net: Model, evidence: dict, source: str = "", streams: Optional[dict] = None):
        self.net = net
        self.evidence = dict(evidence)
        shared = Counter(node.noise for node in net.nodes if node.kind != "fixed")
        self.inverted = inverted = _inversions(net, self.evidence, source)
        order = _order(net, self.evidence, inverted)
        seen_noise: set[str] = set()
        for node in order:
            if node.name in self.evidence and node.kind == "sample" and not FAMILIES[node.family].discrete:
                if node.noise in seen_noise:
                    raise QueryError(f"cannot condition '{node.origin}' on a value in two worlds: "
                                     "the second is an event of probability zero",
                                     span=node.span, source=source or net.source)
            if node.kind != "fixed":
                seen_noise.add(node.noise)
        self.order = order
        self.flag_nodes = [node for node in order if node.kind != "fixed"]
        self.z_streams: list[int] = []
        self.u_streams: list[int] = []
        have_u: set[str] = set()
        solved_children = set(inverted.values())
        steps = []
        for i, node in enumerate(order):
            # noise stream of this node; one more for a family sampled by NumPyro
            s1 = 2 * (i if streams is None else streams.get(node.noise, 0))
            obs = self.evidence.get(node.name)
            if node.kind == "fixed":
                steps.append(Step(node, "fixed", obs))
            elif node.name in inverted:
                steps.append(Step(node, "solve", child=inverted[node.name]))
            elif node.name in solved_children:
                steps.append(Step(node, "solved", obs))
            elif node.kind == "assign":
                steps.append(Step(node, "assign", obs))
            else:
                fam = FAMILIES[node.family]
                many = shared[node.noise] > 1
                z = fam.from_z is not None  # noise kept as a standard normal, else as a uniform
                # Gumbel-max: one uniform per value, each in its own stream (2 * i past the others)
                gumbel = many and node.gumbel_race
                rows = [2 * len(order) * (1 + k) + s1 for k in range(len(node.domain))] if gumbel else [s1]
                if obs is not None and node.noise not in have_u:
                    noise = None
                    if many:
                        have_u.add(node.noise)
                        if fam.discrete:  # U uniform on the observed value's CDF interval
                            noise = ("u", len(self.u_streams))
                            self.u_streams.extend(rows)
                    steps.append(Step(node, "observe", obs, noise, share=many, gumbel=gumbel))
                elif node.noise in have_u or many or z or fam.name in _CHEAP_QUANTILE or fam.support == "finite":
                    noise = None
                    if node.noise not in have_u:
                        have_u.add(node.noise)
                        block = self.z_streams if z else self.u_streams
                        noise = ("z" if z else "u", len(block))
                        block.extend(rows)
                    steps.append(Step(node, "draw", obs, noise, gumbel=gumbel))
                else:
                    steps.append(Step(node, "numpyro", obs, stream=s1 + 1))
        self.steps = steps
        self.deterministic = not (self.z_streams or self.u_streams or any(st.mode == "numpyro" for st in steps))

    @functools.lru_cache(maxsize=4)
    def releases(self, keep: frozenset) -> tuple:
        """``(values, noises, widest)``: per step, the values (names not in ``keep``) and the
        shared noises that no later step reads, and the most values alive at once.

        >>> from causaldsl import model
        >>> s = Schedule(model("model m {\\n a ~ Normal(0, 1)\\n b ~ Normal(a, 1)\\n c ~ Normal(b, 1)\\n}").ir, {})
        >>> s.releases(frozenset({"c"}))[0]
        [[], ['a'], ['b']]
        """
        last: dict = {}
        last_noise: dict = {}
        for i, st in enumerate(self.steps):
            node = st.node
            reads = set(node.env_names.values())
            if st.mode == "solve":
                reads |= set(self.net[st.child].env_names.values()) - {node.name}
            for name in reads:
                last[name] = i
            last.setdefault(node.name, i)
            if node.kind != "fixed":
                last_noise[node.noise] = i
        values = [[] for _ in self.steps]
        noises = [[] for _ in self.steps]
        for name, i in last.items():
            if name not in keep:
                values[i].append(name)
        for group, i in last_noise.items():
            noises[i].append(group)
        alive = widest = 0
        for i in range(len(self.steps)):
            alive += 2  # the step's value and its noise, at most
            widest = max(widest, alive)
            alive -= len(values[i]) + len(noises[i])
        return values, noises, widest

    @functools.cached_property
    def tables(self) -> dict:
        """Node name -> its probability table (:mod:`~causaldsl.engines.table_rows`), for the
        ``~`` copies whose mechanism is a table of numbers: a draw looks up one row of it."""
        from . import table_rows

        shared: dict = {}
        out = {}
        for st in self.steps:
            if st.mode in ("observe", "draw"):
                tab = table_rows.read(self.net, st.node, shared)
                if tab is not None:
                    out[st.node.name] = tab
        return out

    @functools.cached_property
    def compiled(self) -> dict:
        """Node name -> its mechanism's JAX closures (built only when a program is traced; none
        for a node read as a table)."""
        tables = self.tables
        return {node.name: ([] if node.name in tables else [compile_expr(a) for a in node.args]
                            if node.kind == "sample" else [compile_expr(node.expr)] if node.kind == "assign" else [])
                for node in self.net.nodes}


def _common(params, *xs):
    """``params`` and ``xs`` broadcast to their common shape (``()`` when all are scalars)."""
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in params), *(jnp.shape(x) for x in xs))
    return tuple(jnp.broadcast_to(a, shape) for a in params), tuple(jnp.broadcast_to(x, shape) for x in xs)


def _gumbel_uniforms(rows, first: int, k: int, dtype):
    """The ``k`` uniform rows of a Gumbel-max noise, values on the last axis: ``(n, k)``."""
    return jnp.stack([rows[first + j].astype(dtype) for j in range(k)], -1)


def noise_rows(s: Schedule, key, n: int, shard_draws: bool = True) -> tuple:
    """The fresh noise of one run of ``s``: ``(normal rows, uniform rows)``, one array per stream.

    Drawn by one small compiled program per row (:func:`~causaldsl.engines.noise.row_program`),
    compiled once per number of draws and shared by every query, and passed to the compiled
    query as arguments: inside the query's own program XLA fused parts of the inverse CDF into
    every consumer, once per node and per use, which made compile time grow with the model.
    """
    seed = rng.seed_words(key)
    z = tuple(rng.row_program("normal", n, shard_draws)(seed, np.uint32(st)) for st in s.z_streams)
    u = tuple(rng.row_program("uniform", n, shard_draws)(seed, np.uint32(st)) for st in s.u_streams)
    return z, u


class _Rows:
    """The noise rows of one run, each made when it is read (:func:`noise.row_program`, the same
    numbers as :func:`noise_rows`): a run op by op holds only the rows still to be read."""

    def __init__(self, kind: str, seed, streams: list, n: int, shard: bool):
        self.kind, self.seed, self.streams, self.n, self.shard = kind, seed, streams, n, shard

    def __getitem__(self, row: int):
        return rng.row_program(self.kind, self.n, self.shard)(self.seed, np.uint32(self.streams[row]))


def lazy_noise_rows(s: Schedule, key, n: int, shard_draws: bool = True) -> tuple:
    """:func:`noise_rows`, each row made when it is read (for a run op by op)."""
    seed = rng.seed_words(key)
    return (_Rows("normal", seed, s.z_streams, n, shard_draws), _Rows("uniform", seed, s.u_streams, n, shard_draws))


def run_schedule(s: Schedule, key, values, theta, n: int, shard_draws: bool = True, fast_flags: bool = False,
                 noise: Optional[tuple] = None, checks: bool = True, keep: Optional[frozenset] = None):
    """``(env, log weights, invalid flags, bad draws)`` of one run of ``s`` (traced by JAX).

    With ``fast_flags``, parameters that vary per draw are not reduced to a flag per node:
    ``bad draws`` says, per draw, whether some node's parameters were invalid (None when no
    parameter varies per draw), and their nodes' flags are False.

    ``noise`` is :func:`noise_rows` of the same key; without it the noise is drawn here, inside
    the traced program. Values keep their natural shapes: ``(n,)`` where a value depends on a
    draw, ``()`` where it does not (observed copies, intervened ones, everything after a full
    abduction), so that nothing constant is computed ``n`` times and a deterministic program
    is visibly one.

    Without ``checks`` no parameter is checked (every flag is False): for a caller that drops
    the flags and runs op by op, where a check costs its operations (compiled, XLA drops them).

    With ``keep`` (names), ``env`` keeps only those: every other value, and every shared noise,
    is dropped after its last reader (:meth:`Schedule.releases`), so that a run op by op holds
    only the values still to be read.
    """
    dtype = values.dtype
    slots = {f"${i}": values[i] for i in range(values.shape[0])}
    env: dict = {}
    u: dict = {}
    logw = jnp.zeros((), dtype)
    flags = []
    per_draw = []  # [the running OR of the per-draw checks]: one (n,) array, not one per node

    def flag(check):
        if not checks:
            flags.append(jnp.asarray(False))
            return
        bad = jnp.asarray(check())
        if fast_flags and bad.ndim > 0:
            per_draw[:] = [bad if not per_draw else per_draw[0] | bad]
            flags.append(jnp.asarray(False))
        else:
            flags.append(jnp.any(bad))

    if noise is None and (s.z_streams or s.u_streams):
        seed = rng.seed_words(key)
        noise = (rng.block(rng.normal, seed, s.z_streams, n, jnp.float32, shard_draws) if s.z_streams else (),
                 rng.block(rng.uniform, seed, s.u_streams, n, jnp.float64, shard_draws) if s.u_streams else ())
    blocks = {"z": noise[0], "u": noise[1]} if noise is not None else {}
    net, compiled, tables = s.net, s.compiled, s.tables
    releases = s.releases(keep) if keep is not None else None
    for i, st in enumerate(s.steps):
        if releases is not None and i:
            for name in releases[0][i - 1]:
                env.pop(name, None)
            for group in releases[1][i - 1]:
                u.pop(group, None)
        node = st.node
        obs = slots[st.obs] if st.obs is not None else None
        if st.mode == "fixed":
            v = values[node.value.index] if isinstance(node.value, Slot) else jnp.asarray(node.value, dtype)
            val = jnp.asarray(v, dtype)
            if obs is not None:
                logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
            env[node.name] = val
            continue
        fns = compiled[node.name]
        if st.mode == "solve":  # abduction: solve the observed child for this noise
            child = net[st.child]
            y = slots[s.evidence[child.name]]
            ename = next(e for e, p in child.env_names.items() if p == node.name)
            cenv = {**theta, **{e: env[p] for e, p in child.env_names.items() if p != node.name}}
            f = compiled[child.name][0]
            a = jnp.asarray(f({**cenv, ename: jnp.zeros((), dtype)}), dtype)
            b = jnp.asarray(f({**cenv, ename: jnp.ones((), dtype)}), dtype) - a
            val = (y - a) / jnp.where(b == 0, 1.0, b)
            raw = tuple(jnp.asarray(fn(theta), dtype) for fn in fns)
            fam = FAMILIES[node.family]
            flag(lambda: fam.invalid(raw))
            params, (v,) = _common(raw, val)
            logw = logw + jnp.where(b == 0, -jnp.inf, fam.log_prob(params, v) - jnp.log(jnp.abs(b)))
            env[node.name] = val
            continue
        if st.mode == "solved":
            env[node.name] = jnp.asarray(obs, dtype)
            flags.append(jnp.asarray(False))
            continue
        penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
        if st.mode == "assign":
            val = jnp.asarray(fns[0](penv), dtype)
            flag(lambda: jnp.isnan(val))
            if obs is not None:
                logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
            env[node.name] = val
            continue
        tab = tables.get(node.name)
        if tab is not None:
            logw = _table_step(st, tab, env, u, blocks, obs, logw, dtype, flag)
            continue
        fam = FAMILIES[node.family]
        raw = tuple(jnp.asarray(f(penv), dtype) for f in fns)
        flag(lambda: fam.invalid(raw))
        if st.mode == "observe":
            obs = jnp.asarray(obs, dtype)
            if fam.discrete:
                params, _ = _common(raw, obs)
                lo, hi = fam.cdf(params, obs - 1), fam.cdf(params, obs)
                logw = logw + jnp.log(jnp.maximum(hi - lo, 0.0))
                if st.gumbel:  # the Gumbels given the observed value's index (top-down)
                    dom = jnp.asarray(node.domain, dtype)
                    g_u = _gumbel_uniforms(blocks["u"], st.noise[1], len(node.domain), dtype)
                    u[node.noise] = coupling.gumbel_posterior(fam.pmf(raw, dom), jnp.argmin(jnp.abs(dom - obs)),
                                                              g_u, jnp)
                elif st.share:
                    u[node.noise] = lo + blocks["u"][st.noise[1]].astype(dtype) * (hi - lo)
            else:
                params, _ = _common(raw, obs)
                logw = logw + fam.log_prob(params, obs)
                if st.share:
                    u[node.noise] = fam.to_z(params, obs) if fam.from_z is not None else fam.cdf(params, obs)
            env[node.name] = obs
            continue
        if st.mode == "draw":
            if st.gumbel:
                if st.noise is not None:
                    g_u = _gumbel_uniforms(blocks["u"], st.noise[1], len(node.domain), dtype)
                    u[node.noise] = coupling.gumbels(g_u, jnp)
                dom = jnp.asarray(node.domain, dtype)
                val = dom[coupling.gumbel_argmax(fam.pmf(raw, dom), u[node.noise], jnp)]
                if obs is not None:
                    logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
                env[node.name] = val
                continue
            if st.noise is not None:
                kind, row = st.noise
                u[node.noise] = blocks[kind][row].astype(dtype)
            kmax = len(node.domain) - 1 if node.domain else None
            if fam.from_z is not None:
                val = fam.from_z(raw, u[node.noise])
            else:
                params, (noise,) = _common(raw, u[node.noise])
                val = fam.quantile(params, noise, kmax)
            val = jnp.asarray(val, dtype)
            if obs is not None:
                logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
            env[node.name] = val
            continue
        params = tuple(jnp.broadcast_to(r, (n,)) for r in raw)  # numpyro: its own sampler
        env[node.name] = fam.numpyro(params).sample(jax.random.fold_in(key, st.stream)).astype(dtype)
    bad = per_draw[0] if per_draw else None
    return env, logw, jnp.stack(flags) if flags else jnp.zeros((0,), bool), bad


def _table_step(st: Step, tab, env: dict, u: dict, blocks: dict, obs, logw, dtype, flag):
    """An ``observe`` or ``draw`` step of a copy read as a table (traced): as the general step
    does it from the family's cdf and quantile, by its row's CDF. Returns the new log weights."""
    node = st.node
    row = tab.row(env)
    if tab.bad is None:
        flag(lambda: jnp.asarray(False))
    else:
        flag(lambda: tab.invalid(row))
    if st.mode == "observe":
        obs = jnp.asarray(obs, dtype)
        lo, hi = tab.interval(row, obs)
        logw = logw + jnp.log(jnp.maximum(hi - lo, 0.0))
        if st.gumbel:  # the Gumbels given the observed value's index (top-down)
            g_u = _gumbel_uniforms(blocks["u"], st.noise[1], tab.k, dtype)
            u[node.noise] = coupling.gumbel_posterior(tab.pmf_rows(row), jnp.argmin(jnp.abs(tab.values - obs)), g_u, jnp)
        elif st.share:
            u[node.noise] = lo + blocks["u"][st.noise[1]].astype(dtype) * (hi - lo)
        env[node.name] = obs
        return logw
    if st.gumbel:
        if st.noise is not None:
            u[node.noise] = coupling.gumbels(_gumbel_uniforms(blocks["u"], st.noise[1], tab.k, dtype), jnp)
        val = jnp.asarray(tab.values)[coupling.gumbel_argmax(tab.pmf_rows(row), u[node.noise], jnp)]
    else:
        if st.noise is not None:
            kind, r = st.noise
            u[node.noise] = blocks[kind][r].astype(dtype)
        val = tab.draw(row, u[node.noise])
    val = jnp.asarray(val, dtype)
    if obs is not None:
        logw = logw + jnp.log(jnp.abs(val - obs) <= 1e-9)
    env[node.name] = val
    return logw


def forward(net: Model, evidence: dict[str, str], n: int, source: str = "", shard_draws: bool = True,
            fast_flags: bool = False, checks: bool = True) -> Callable:
    """``(key, values, theta) -> (env, log weights, invalid flags)`` for ``n`` draws of ``net``.

    Every value in ``env`` and the log weights have shape ``(n,)``. ``theta`` maps parameter
    names to their values (empty for a model without ``param``). With several devices the
    draws are split across them (``shard_draws``; see :mod:`causaldsl.engines.sharding`); a
    program vmapped over something else passes False.

    ``fast_flags``: parameters that vary per draw are checked in ONE reduction over all
    nodes, appended as a last flag ("some draw is invalid somewhere"); per-node flags
    then cover only parameters that are the same for every draw. A reduction per node
    made XLA re-fuse (recompute) each node's ancestors into its own check: compile and
    run time grew with the square of the depth. The caller reruns with exact flags to
    name the node when the last flag is set.

    >>> import jax, jax.numpy as jnp
    >>> from causaldsl import model
    >>> run, nodes = forward(model("model m {\\n x ~ Normal(0, 1)\\n y := 2 * x\\n}").ir, {}, 4)
    >>> env, logw, flags = run(jax.random.PRNGKey(0), jnp.zeros((1,)), {})
    >>> env["y"].shape, logw.shape, [n.name for n in nodes]
    ((4,), (4,), ['x', 'y'])
    """
    s = Schedule(net, evidence, source)

    def run(key, values, theta):
        env, logw, flags, bad = run_schedule(s, key, values, theta, n, shard_draws, fast_flags, checks=checks)
        if fast_flags:
            flags = jnp.concatenate([flags, jnp.any(bad)[None] if bad is not None else jnp.zeros((1,), bool)])
        return {k: jnp.broadcast_to(v, (n,)) for k, v in env.items()}, jnp.broadcast_to(logw, (n,)), flags

    return run, s.flag_nodes


def _per_draw(plan: Plan, n: int, env, logw, bad, values, target, doms) -> tuple:
    """``(t, log w)``: the target of every draw (``(n, ...)``; ``(...)`` when it is the same for
    every draw, and so are the weights) and its log weight (``(n,)``, or ``()`` when constant).

    ``t`` carries an axis per distribution variable (indicators of its values). ``bad`` (per
    draw: some parameter was invalid, or None) poisons the draw with NaN rather than being
    reduced on its own: its check then costs no pass over the draws and no XLA reduction of
    its own (a boolean any() compiles in ~0.4 s on CPU), and ``bad_draws`` of the summary (the
    estimate is not finite) tells the caller to recompute exact flags, which name the node.
    """
    slots = {f"${i}": values[i] for i in range(values.shape[0])}
    full = {**env, **slots}
    t = jnp.ones(()) if target is None else jnp.asarray(target(full))
    random = (t.ndim > 0 or logw.ndim > 0 or bad is not None
              or any(jnp.ndim(env[d]) > 0 for d in plan.dist_vars))
    lead = (n,) if random else ()
    t = jnp.broadcast_to(t, lead)
    for d in plan.dist_vars:
        ind = (jnp.abs(jnp.broadcast_to(env[d], lead)[..., None] - doms[d]) <= 1e-9).astype(t.dtype)
        t = t.reshape(t.shape + (1,)) * ind.reshape(lead + (1,) * (t.ndim - len(lead)) + (-1,))
    if bad is not None:  # poison: a bad draw makes the estimate NaN (its weight, when there are weights)
        if plan.evidence:
            logw = jnp.where(bad, jnp.nan, logw)
        else:
            t = jnp.where(jnp.broadcast_to(bad, lead).reshape(lead + (1,) * (t.ndim - len(lead))), jnp.nan, t)
    if random and plan.evidence:
        logw = jnp.broadcast_to(logw, (n,))
    return t, logw


def _varies(t, logw, dist_rank: int) -> bool:
    """Whether :func:`_per_draw` gave one row per draw (``t`` has the draws axis before its
    ``dist_rank`` indicator axes, or the weights differ), rather than one draw for all."""
    return t.ndim > dist_rank or logw.ndim > 0


def reduce_draws(t, logw, poisoned: bool) -> dict:
    """The estimator over the draws (traced): estimate, stderr, ESS, evidence met, target finite.

    ``t`` has the draws on its first axis, ``logw`` is ``(n,)`` or, without evidence, ``()``.
    It reads nothing of the model, so one compiled program serves every query of the same
    shapes (:func:`reduce_program`).

    Reductions over the draws are sums and a max of floats only: XLA's CPU backend compiles
    a float sum in ~30 ms and a boolean any/all in ~400 ms. So "the target is finite" is read
    off the estimate (an infinite or NaN draw with weight makes it infinite or NaN), and
    "some draw met the evidence" off the sum of the weights.
    """
    n = t.shape[0]
    if logw.ndim == 0:  # every weight is 1: plain means, two passes over the draws fewer
        est = jnp.sum(t, axis=0) / n
        se = jnp.sqrt(jnp.sum((t - est) ** 2, axis=0)) / n
        finite = jnp.all(jnp.isfinite(est))
        return {"estimate": est, "stderr": se, "ess": jnp.asarray(float(n)),
                "any": jnp.asarray(True), "finite": finite, "bad_draws": ~finite & poisoned}
    top = jnp.max(logw)
    w = jnp.exp(logw - jnp.where(jnp.isfinite(top), top, 0.0))  # dead draws (log w = -inf) weigh 0
    wt = w.reshape((n,) + (1,) * (t.ndim - 1))
    t = jnp.where(wt > 0, t, 0.0)  # a dead draw's target does not count, even infinite
    sw = jnp.sum(w)
    est = jnp.sum(wt * t, axis=0) / sw
    se = jnp.sqrt(jnp.sum(wt ** 2 * (t - est) ** 2, axis=0)) / sw
    finite = jnp.all(jnp.isfinite(est))
    return {"estimate": est, "stderr": se, "ess": sw ** 2 / jnp.sum(w ** 2),
            # a poisoned draw's weight is NaN, and so then is their sum; a NaN estimate alone is
            # the target's (or 0 / 0 where no draw met the evidence), not a parameter's
            "any": sw > 0, "finite": finite | ~(sw > 0), "bad_draws": ~jnp.isfinite(sw) & poisoned}


def _fixed_summary(t, logw) -> dict:
    """The summary when every draw is the same draw (traced, or NumPy): the answer is exact."""
    xp = np if isinstance(t, np.ndarray) else jnp
    live = xp.isfinite(logw)
    finite = xp.all(xp.isfinite(t))
    return {"estimate": t, "stderr": xp.zeros_like(t), "ess": xp.asarray(1.0), "any": live,
            "finite": ~live | finite, "bad_draws": xp.asarray(False)}


@functools.lru_cache(maxsize=None)
def reduce_program(poisoned: bool):
    """The jitted :func:`reduce_draws`: compiled once per shape of ``(t, logw)``, whatever the model."""
    return jax.jit(lambda t, logw: reduce_draws(t, logw, poisoned))


SPLIT_STEPS = 24  # nodes above which a query with evidence runs as two programs (see Compiled)

#: Steps of the forward pass above which a query runs op by op, in chunks of draws, instead of
#: as one compiled program: XLA's CPU compiler needs time and memory that grow faster than the
#: program (a 1,000-node chain with evidence: past 1.9 GB and minutes), while an operation run
#: alone costs a fixed ~0.1 ms.
EAGER_STEPS = 300

#: Bytes of values (8 per step and draw) one chunk of an op-by-op run may hold.
CHUNK_BYTES = 128 * 2 ** 20


def chunk_size(steps: int, n: int) -> int:
    """Draws per chunk of an op-by-op run of ``steps`` steps: ``CHUNK_BYTES / (8 * steps)``,
    at least 1,024, at most ``n``.

    >>> chunk_size(5000, 200_000), chunk_size(5000, 1000)
    (3355, 1000)
    """
    return int(min(n, max(1024, CHUNK_BYTES // (8 * max(1, steps)))))


class Compiled:
    """A compiled Monte Carlo query: ``program(key, values, theta) -> summary dict``.

    ``main(key, values, theta, z_rows, u_rows)`` is the query in one traced function (also for
    a caller that vmaps over ``theta``, drawing the noise once with :meth:`noise` and passing
    it unbatched: common random numbers). With evidence, XLA fuses the forward pass into
    each reduction that reads it (the max and sums of the weights, the weighted sums of the
    target): compiled, and run, four or five times over; so a large query with evidence runs
    as two programs instead, ``draws(key, values, theta, z_rows, u_rows) -> (t, log w,
    flags)``, the model's forward pass, and the estimator (:func:`reduce_program`), which is
    the same for every model of the same shapes.
    """

    def __init__(self, schedule: Schedule, draws, main, n: int, shard_draws: bool, dist_rank: int, traced: list,
                 chunked: Optional[tuple] = None):
        self.schedule, self.draws, self.main, self.n = schedule, draws, main, n
        self.shard_draws, self.dist_rank = shard_draws, dist_rank
        self._traced = traced  # [whether some parameter is checked per draw], once traced
        # Only with evidence does XLA fuse the forward pass into several reductions (those of
        # the weights, those of the weighted target); for a small pass one program is cheaper.
        self.split = bool(schedule.evidence) and len(schedule.steps) > SPLIT_STEPS
        self.chunked = chunked  # (draws of one chunk, its forward pass run op by op) past EAGER_STEPS

    @float64
    def noise(self, key) -> tuple:
        return noise_rows(self.schedule, key, self.n, self.shard_draws)

    @float64
    def __call__(self, key, values, theta) -> dict:
        if self.chunked is not None:
            t, logw, flags = self._in_chunks(key, values, theta)
        elif not self.split:
            return self.main(key, values, theta, *self.noise(key))
        else:
            t, logw, flags = self.draws(key, values, theta, *self.noise(key))
        if _varies(t, logw, self.dist_rank):
            out = dict(reduce_program(self._traced[0])(t, logw))
            out["deterministic"] = False
        else:  # nothing varied between draws (a query the float path could not run)
            out = _fixed_summary(*jax.device_get((t, logw)))
            out["deterministic"] = True
        out["flags"] = flags
        return out

    def _in_chunks(self, key, values, theta) -> tuple:
        """``(t, log w, flags)`` of the ``n`` draws, made ``size`` at a time by the forward pass
        run op by op: chunk ``i`` draws its noise under ``jax.random.fold_in(key, i)``, each
        noise row when it is read, and a value is dropped after its last reader, so a chunk
        holds ``8 * size`` bytes per value alive at once (:data:`CHUNK_BYTES` in all); the
        target and the weight of every draw (``8 * n`` bytes each) are kept for the estimator."""
        size, draws = self.chunked
        base = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32), impl="threefry2x32")
        ts, ws, flags = [], [], None
        for i in range(-(-self.n // size)):
            k = jax.random.key_data(jax.random.fold_in(base, i))
            t, logw, fl = draws(k, values, theta, *lazy_noise_rows(self.schedule, k, size, self.shard_draws))
            flags = fl if flags is None else flags | fl
            if not _varies(t, logw, self.dist_rank):  # every draw is the same draw: one suffices
                return t, logw, flags
            ts.append(jnp.broadcast_to(t, (size,) + t.shape[t.ndim - self.dist_rank:]))
            ws.append(logw)
        t = jnp.concatenate(ts)[: self.n]
        logw = jnp.concatenate(ws)[: self.n] if ws[0].ndim else ws[0]
        return t, logw, flags


#: Bytes the draws of one Monte Carlo run may fill; None: half the memory of the accelerator (or,
#: on CPU, of the machine). A run that needs more is refused before it starts, naming the largest
#: number of draws that fits.
MEMORY_BUDGET: Optional[int] = None


def memory_budget() -> int:
    """:data:`MEMORY_BUDGET`, or half the memory of the first device (of the machine on CPU)."""
    import os

    if MEMORY_BUDGET is not None:
        return int(MEMORY_BUDGET)
    stats = jax.devices()[0].memory_stats() or {}
    total = stats.get("bytes_limit") or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(total) // 2


def check_draws(n: int, values_per_draw: int, source: str = "", what: str = "samples",
                bytes_per_value: int = 16) -> None:
    """Refuse ``n`` draws of ``values_per_draw`` values each when they would not fit in
    :func:`memory_budget` (an out-of-memory crash of the device otherwise, or a swap storm).
    ``bytes_per_value``: 16 for float64 values computed at once (twice over for XLA's
    temporaries), 8 for values kept while they are computed in chunks.

    >>> try:
    ...     check_draws(10 ** 10, 4)
    ... except MethodError as e:
    ...     print(e.message[:38])
    10,000,000,000 draws need about 640 GB
    """
    per_draw = bytes_per_value * values_per_draw
    most = max(1, memory_budget() // per_draw)
    if n > most:
        raise MethodError(f"{n:,} draws need about {n * per_draw / 1e9:,.0f} GB, more than the memory "
                          f"budget ({memory_budget() / 1e9:,.1f} GB): at most {most:,} draws fit", source=source,
                          hint=f"use {what}={min(most, 10 ** 7):,} or fewer (the standard error falls as "
                               "1/sqrt(draws)), or raise causaldsl.engines.montecarlo.MEMORY_BUDGET")


def compile_montecarlo(plan: Plan, n: int, source: str = "", shard_draws: bool = True,
                       fast_flags: bool = True, schedule: Optional[Schedule] = None) -> tuple:
    """``(program, flag nodes)``: ``program(key, values, theta) -> summary dict`` (a :class:`Compiled`);
    reductions happen on the device.

    The summary holds the self-normalised estimate, its delta-method standard
    error, the effective sample size, whether any draw met the evidence,
    whether the target was finite wherever it had weight, the invalid flags
    (with ``fast_flags``, ``bad_draws`` says that some per-draw parameter may have been
    invalid and the flags must be recomputed with ``fast_flags=False`` to say where), and
    ``deterministic`` (no draw was needed: the stderr is 0).
    """
    net = plan.network
    s = schedule if schedule is not None else Schedule(net, dict(plan.evidence), source)
    eager = len(s.steps) > EAGER_STEPS
    # op by op, a value is dropped after its last reader: a chunk holds the widest set alive at once
    keep = frozenset(free_vars(plan.target) if plan.target is not None else ()) | frozenset(plan.dist_vars)
    size = chunk_size(s.releases(keep)[2] + 2 + len(plan.dist_vars), n) if eager else n
    # kept at once: every draw's target and weight, and either every value or (op by op) one chunk's
    kept = 2 + len(plan.dist_vars) + (0 if eager else len(s.z_streams) + len(s.u_streams) + len(s.steps))
    check_draws(n, kept, source)
    target = compile_expr(plan.target) if plan.target is not None else None
    doms = {d: jnp.asarray(net[d].domain, dtype=float) for d in plan.dist_vars}
    poisoned = []  # whether some parameter is checked per draw (known once traced)

    def forward_pass(m: int, keep=None):
        def draws(key, values, theta, z_rows, u_rows):
            env, logw, flags, bad = run_schedule(s, key, values, theta, m, shard_draws, fast_flags, (z_rows, u_rows),
                                                 keep=keep)
            poisoned[:] = [bad is not None]
            t, logw = _per_draw(plan, m, env, logw, bad, values, target, doms)
            return t, logw, flags
        return draws

    draws = forward_pass(n)

    def main(key, values, theta, z_rows, u_rows):
        t, logw, flags = draws(key, values, theta, z_rows, u_rows)
        random = _varies(t, logw, len(plan.dist_vars))
        out = reduce_draws(t, logw, poisoned[0]) if random else _fixed_summary(t, logw)
        return {**out, "flags": flags, "deterministic": jnp.asarray(not random)}

    chunked = (size, forward_pass(size, keep)) if eager else None
    return (Compiled(s, jax.jit(draws), jax.jit(main), n, shard_draws, len(plan.dist_vars), poisoned, chunked),
            s.flag_nodes)


#: Whether a query on tables of numbers with evidence in its factual world is answered by exact
#: abduction (:mod:`~causaldsl.engines.abduction`) rather than likelihood weighting.
ABDUCTION = True


class MonteCarloProgram:
    """The Monte Carlo engine for one query structure without parameters: ``program(seed, values)``.

    Returns the summary of :func:`compile_montecarlo` in NumPy. A deterministic structure
    (nothing left to draw, see :class:`Schedule`) is answered by :mod:`~causaldsl.engines.scalar`
    in Python floats, without compiling anything; every other one by the compiled program,
    built on the first call. When some draw's parameters were invalid, the flags are
    recomputed by a per-node check to name the node.

    >>> import causaldsl as cd
    >>> from causaldsl.model.queries import plan_query
    >>> from causaldsl.language.parser import parse_query
    >>> m = cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(2 * x, 1)\\n}")
    >>> p = MonteCarloProgram(plan_query(m.ir, parse_query("E[y | do(x = 1)]")), 10_000)
    >>> out = p(0, [1.0])
    >>> bool(abs(out["estimate"] - 2) < 4 * out["stderr"]), bool(out["deterministic"])
    (True, False)
    """

    def __init__(self, plan: Plan, n: int, source: str = ""):
        self.plan, self.n, self.source = plan, n, source
        self.schedule = Schedule(plan.network, dict(plan.evidence), source)
        self.nodes = self.schedule.flag_nodes
        self.scalar = None
        if self.schedule.deterministic:
            try:
                self.scalar = scalar.Evaluator(self.schedule, plan)
            except scalar.Unsupported:
                pass
        self._compiled = None
        self._abduction = None  # built on the first call (it reads the tables)

    def abduction(self):
        """The exact-abduction program (:mod:`~causaldsl.engines.abduction`), or False where it
        does not apply."""
        if self._abduction is None:
            from . import abduction

            s = self.schedule
            size = chunk_size(2 * len(s.steps) + 2 + len(self.plan.dist_vars), self.n)  # a value and an index
            self._abduction = abduction.build(self.plan, s, self.n, size) or False
        return self._abduction

    def _finish(self, env, m: int, values):
        """The target of ``m`` draws of ``env`` (for :meth:`abduction`)."""
        plan = self.plan
        full = {**env, **{f"${i}": np.float64(v) for i, v in enumerate(values)}}
        t = np.ones(()) if plan.target is None else np.asarray(compile_expr(plan.target, xp=np)(full), dtype=float)
        t = np.broadcast_to(t, (m,))
        for d in plan.dist_vars:  # an indicator axis per distribution variable
            dom = np.asarray(plan.network[d].domain, dtype=float)
            ind = (np.abs(np.broadcast_to(env[d], (m,))[:, None] - dom) <= 1e-9).astype(float)
            t = t.reshape(t.shape + (1,)) * ind.reshape((m,) + (1,) * (t.ndim - 1) + (-1,))
        return t

    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled, _ = compile_montecarlo(self.plan, self.n, self.source, schedule=self.schedule)
        return self._compiled

    @float64
    def __call__(self, seed: int, values) -> dict:
        values = np.asarray(values, dtype=np.float64)
        if self.scalar is not None:
            try:
                return self.scalar(values)
            except scalar.Unsupported:
                pass
        if ABDUCTION and self.abduction():
            return self.abduction()(seed, values, lambda env, m: self._finish(env, m, values))
        key = rng.seed_of(seed)
        out = jax.device_get(self.compiled()(key, values, {}))
        if out["bad_draws"]:  # some draw's parameters are invalid: rerun with a check per node to say which
            slow, _ = compile_montecarlo(self.plan, self.n, self.source, fast_flags=False, schedule=self.schedule)
            out["flags"] = jax.device_get(slow(key, values, {}))["flags"]
        return out

