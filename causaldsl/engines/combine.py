"""Questions that combine, answered: each leaf by the engine that suits it, then ``g`` of the leaves
with one standard error (:mod:`causaldsl.model.combinations` says what the leaves and ``g`` are).

* **Exact leaves** (discrete models; linear-Gaussian ones with evidence) have no error. Where
  every leaf is exact, so is the answer (``stderr`` None). A division by a leaf, or a sum of
  leaves, that is exactly zero is a :class:`~causaldsl.language.errors.QueryError`, never an
  infinity or a NaN.
* **Monte Carlo leaves** are drawn together: every leaf's program numbers its noise streams by
  noise group (:class:`~causaldsl.engines.montecarlo.Schedule`'s ``streams``) and runs with the
  same seed, so draw ``i`` of every leaf uses the same exogenous ``U`` of every variable (common
  random numbers). Each leaf's estimate is then a function of the same draws, and its error is
  carried, draw by draw, by its influence function ``ψ_k`` (Hampel 1974): ``w_i (t_i - θ_k) n / Σw``
  for a self-normalised weighted mean, ``w_i (p - 1[t_i <= θ_k]) n / (f(θ_k) Σw)`` for a
  quantile (Bahadur 1966). The answer's standard error is that of ``Σ_k ∂g/∂θ_k ψ_k``, the delta
  method (Oehlert 1992, "A note on the delta method", *Am. Stat.* 46, 27–29) applied jointly:
  the covariance of the parts is in it, so the error of a difference of paired parts is that of
  the paired differences, smaller than either part's where they are positively correlated.
* A leaf answered on draws of its own (NUTS, after likelihood weighting kept too few effective
  draws; Monte Carlo where an exact answer would be too large) is independent of the others:
  its variance is added, times ``(∂g/∂θ_k)²``.

A Monte Carlo quantile is the weighted empirical quantile; ``1 / f(θ)`` in its influence is the
difference quotient of the empirical quantile function over ``p ± z √(p(1-p)/ESS)``, ``z = 1.96``
(Siddiqui 1960; Bloch & Gastwirth 1968; Koenker, *Quantile Regression*, 2005, section 3.4.1):
the half-width of the order-statistic (binomial) interval of the quantile, divided by ``z``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
import numpy as np

from ..language.errors import MethodError, QueryError
from ..model.combinations import Combination, DivisionByZero, Leaf, distribution_plan, evaluate
from ..model.expressions import compile_expr
from ..model.queries import Plan
from . import dispatch
from . import noise as rng
from .config import float64
from .engine import Engine
from .montecarlo import Schedule, compile_montecarlo
from .results import Result

Z = 1.96  # the order-statistic interval's normal quantile, for a Monte Carlo quantile's density


@dataclass(frozen=True)
class Part:
    """One leaf's answer: ``value``; ``influence`` per draw where it was drawn with the others
    (its standard error is ``sqrt(Σ ψ²) / n``); ``stderr`` where it was drawn on its own; neither
    where it is exact."""

    text: str
    value: float
    method: str
    influence: Optional[np.ndarray] = None
    stderr: Optional[float] = None
    warning: Optional[str] = None
    ess: Optional[float] = None

    def result(self, n: int) -> Result:
        se = self.stderr
        if self.influence is not None:
            se = float(np.sqrt(np.sum(self.influence ** 2)) / n)
        return Result(self.text, self.value, se, self.method, samples=n if se is not None else None,
                      warning=self.warning)


def exact_quantile(values: np.ndarray, probs: np.ndarray, level: float) -> float:
    """The ``level`` quantile of a discrete distribution (``values`` with probabilities ``probs``):
    the smallest value whose cumulative probability reaches ``level`` (to within rounding).

    >>> exact_quantile(np.array([2.0, 0.0, 1.0]), np.array([0.2, 0.3, 0.5]), 0.5)
    1.0
    >>> exact_quantile(np.array([2.0, 0.0, 1.0]), np.array([0.2, 0.3, 0.5]), 0.3)
    0.0
    """
    values, probs = np.ravel(values), np.ravel(probs)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(probs[order])
    i = int(np.searchsorted(cum, level * cum[-1] - 1e-12, side="left"))
    return float(values[order][min(i, len(values) - 1)])


def _exact_quantile_part(leaf: Leaf, engine: Engine, method, source: str) -> Optional[Part]:
    """``leaf``'s quantile from the exact distribution of its expression (None where that would
    be past the exact engine's limits and no method was asked for)."""
    dp = distribution_plan(leaf.plan)
    if not dp.dist_vars:  # a constant: its own quantile
        return Part(leaf.text, float(compile_expr(leaf.plan.target, xp=np)({})), "exact")
    program = dispatch._exact_program(dp, engine)
    if dispatch._exact_or_fallback(program.structure.cost, method, source, leaf.span, engine.settings) is not None:
        return None
    table = np.asarray(dispatch._exact_value(dp, program, leaf.text, source, leaf.span))
    grids = np.meshgrid(*[np.asarray(dp.network[d].domain, dtype=float) for d in dp.dist_vars], indexing="ij")
    env = {**dict(zip(dp.dist_vars, grids)), **{f"${i}": v for i, v in enumerate(dp.value_array)}}
    values = np.broadcast_to(np.asarray(compile_expr(leaf.plan.target, xp=np)(env), dtype=float), table.shape)
    return Part(leaf.text, exact_quantile(values, table, leaf.level), "exact")


def weighted_quantile(t: np.ndarray, w: np.ndarray, level: float) -> float:
    """The ``level`` quantile of draws ``t`` with weights ``w`` (the smallest draw whose cumulative
    weight reaches ``level`` of the total).

    >>> weighted_quantile(np.array([3.0, 1.0, 2.0]), np.ones(3), 0.5)
    2.0
    """
    order = np.argsort(t, kind="stable")
    cum = np.cumsum(w[order])
    i = int(np.searchsorted(cum, level * cum[-1], side="left"))
    return float(t[order][min(i, len(t) - 1)])


def quantile_influence(t: np.ndarray, w: np.ndarray, level: float) -> tuple[float, np.ndarray]:
    """``(θ, ψ)``: the weighted ``level`` quantile of the draws and its influence per draw,
    ``n w_i (p - 1[t_i <= θ]) / (f(θ) Σw)``, with ``1 / f(θ)`` estimated as the module says.

    >>> t = np.random.default_rng(0).normal(size=100_000)
    >>> q, psi = quantile_influence(t, np.ones_like(t), 0.5)
    >>> se = float(np.sqrt(np.sum(psi ** 2)) / t.size)  # the median of N(0, 1): sqrt(p(1-p)/n) / φ(0)
    >>> abs(q) < 0.01, round(se / (math.sqrt(0.25 / t.size) * math.sqrt(2 * math.pi)), 1)
    (True, 1.0)
    """
    n = t.shape[0]
    sw = float(np.sum(w))
    ess = sw ** 2 / float(np.sum(w ** 2))
    q = weighted_quantile(t, w, level)
    h = Z * math.sqrt(level * (1 - level) / ess)
    lo, hi = max(level - h, 0.0), min(level + h, 1.0)
    sparsity = (weighted_quantile(t, w, hi) - weighted_quantile(t, w, lo)) / (hi - lo)
    psi = n * w / sw * (level - (t <= q)) * sparsity
    return q, psi


class PairedProgram:
    """One leaf's Monte Carlo draws with noise streams numbered by noise group (``streams``), so
    that every leaf run with the same seed shares its ``U``: ``program(seed, values) -> (t, log w)``."""

    def __init__(self, plan: Plan, n: int, streams: dict, source: str = ""):
        self.plan, self.n, self.source = plan, n, source
        self.schedule = Schedule(plan.network, dict(plan.evidence), source, streams)
        self.compiled, _ = compile_montecarlo(plan, n, source, schedule=self.schedule)

    @float64
    def __call__(self, seed: int, values) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(values, dtype=np.float64)
        key = rng.seed_of(seed)
        t, logw, flags = jax.device_get(self.compiled.draws(key, values, {}, *self.compiled.noise(key)))
        t, logw = np.asarray(t, dtype=float), np.asarray(logw, dtype=float)
        dispatch._invalid(flags, self.schedule.flag_nodes, self.plan.network.source)
        if not (np.all(np.isfinite(t)) and np.all(~np.isnan(logw))):  # a poisoned draw: name its node
            slow, _ = compile_montecarlo(self.plan, self.n, self.source, fast_flags=False, schedule=self.schedule)
            dispatch._invalid(jax.device_get(slow(key, values, {}))["flags"], self.schedule.flag_nodes,
                              self.plan.network.source)
        return np.broadcast_to(t, (self.n,)), np.broadcast_to(logw, (self.n,))


def noise_streams(comb: Combination) -> dict:
    """Noise group -> stream number, one numbering for every leaf of ``comb``.

    >>> from causaldsl import model
    >>> from causaldsl.language.parser import parse_query
    >>> from causaldsl.model.combinations import plan_combination
    >>> m = model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(x, 1)\\n}")
    >>> noise_streams(plan_combination(m.ir, parse_query("E[y | do(x = 1)] - E[y]")))
    {'x': 0, 'y': 1}
    """
    groups = sorted({node.noise for leaf in comb.leaves for node in leaf.plan.network.nodes})
    return {g: i for i, g in enumerate(groups)}


def _paired_part(leaf: Leaf, engine: Engine, streams: dict, n: int, seed: int, source: str, span) -> Part:
    """``leaf`` answered from the shared draws: its value and influence per draw."""
    plan = leaf.plan
    key = ("paired", plan.key, n, tuple(sorted(streams.items())))
    try:
        program = engine.once(engine.montecarlo, key, lambda: PairedProgram(plan, n, streams, source))
        t, logw = program(seed, plan.value_array)
    except MethodError as e:
        if e.line is not None or span is None:
            raise
        raise MethodError(e.message, span=span, source=source, hint=e.hint) from None
    top = float(np.max(logw))
    w = np.exp(logw - (top if np.isfinite(top) else 0.0))
    sw = float(np.sum(w))
    if not sw > 0:
        raise dispatch._zero(plan, leaf.text, source, sampled=n, span=leaf.span)
    t = np.where(w > 0, t, 0.0)
    ess = sw ** 2 / float(np.sum(w ** 2))
    warning = None
    if plan.evidence and ess < dispatch.ESS_MIN:
        warning = (f"{leaf.text}: likelihood weighting kept an effective sample size of {ess:,.1f} of "
                   f"{n:,} draws (below {dispatch.ESS_MIN}): the standard error is unreliable; ask for more samples")
    if leaf.level is not None:
        value, psi = quantile_influence(t, w, leaf.level)
    else:
        value = float(np.sum(w * t) / sw)
        psi = n * w / sw * (t - value)
    if not np.isfinite(value):
        raise dispatch._undefined(leaf.text, leaf.span, source)
    return Part(leaf.text, value, "monte-carlo", influence=psi, warning=warning,
                ess=ess if plan.evidence else None)


def _answer(leaf: Leaf, engine: Engine, *, method, streams, n, seed, samples, source) -> Part:
    """One leaf's answer: exact where it can be, else from the shared draws."""
    plan = leaf.plan
    chosen = dispatch.choose_method(plan, method, source, leaf.span)
    if chosen == "exact" and leaf.level is not None:
        part = _exact_quantile_part(leaf, engine, method, source)
        if part is not None:
            return part
    elif chosen == "exact":
        r = dispatch.run_plan(plan, engine, text=leaf.text, method=method, seed=seed, samples=samples,
                              source=source, span=leaf.span)
        if r.stderr is None:
            return Part(leaf.text, float(r.value), r.method)
        # exact would be too large: Monte Carlo on its own draws
        return Part(leaf.text, float(r.value), r.method, stderr=float(r.stderr), warning=r.warning)
    elif leaf.level is None and method is None and plan.evidence:
        exact = dispatch._run_gaussian(plan, engine, plan.value_array, leaf.text, source, leaf.span, n)
        if exact is not None:
            return Part(leaf.text, float(exact.value), exact.method)
    part = _paired_part(leaf, engine, streams, n, seed, source, leaf.span)
    if part.warning is not None and leaf.level is None:
        # too few effective draws: the leaf's own answer (NUTS where it can run), independent of the rest
        r = dispatch.run_plan(leaf.plan, engine, text=leaf.text, method=method, seed=seed, samples=samples,
                              source=source, span=leaf.span)
        return Part(leaf.text, float(r.value), r.method, stderr=r.stderr, warning=r.warning, ess=r.ess)
    return part


@float64
def run_combination(comb: Combination, engine: Engine, *, text: str, method: Optional[str] = None,
                    seed: Optional[int] = None, samples: Optional[int] = None, source: str = "",
                    span=None) -> Result:
    """The answer to ``comb``: ``g`` of its leaves' answers, with the standard error of the
    module note (None where every leaf is exact).

    >>> from causaldsl import model
    >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.6 * x)\\n}")
    >>> print(m.query("P(y = 1 | do(x = 1)) / P(y = 1 | do(x = 0))"))
    P(y = 1 | do(x = 1)) / P(y = 1 | do(x = 0)) = 4  [exact]
    """
    n = dispatch._check_samples(samples, span, source)
    seed = dispatch.DEFAULT_SEED if seed is None else seed
    streams = noise_streams(comb)
    parts = [_answer(leaf, engine, method=method, streams=streams, n=n, seed=seed, samples=samples, source=source)
             for leaf in comb.leaves]
    try:
        value, grad = evaluate(comb.term, [p.value for p in parts])
    except DivisionByZero as e:
        raise QueryError(f"division by zero: {e.term.text} is 0", span=e.term.span, source=source,
                         hint="a ratio with a zero denominator is undefined (not infinite): compare by a difference "
                              "instead, or divide by a quantity that cannot be zero") from None
    if not math.isfinite(value):
        raise dispatch._undefined(text, span, source)
    exact = all(p.influence is None and p.stderr is None for p in parts)
    leaf_results = tuple(p.result(n) for p in parts)
    warnings = "; ".join(p.warning for p in parts if p.warning) or None
    if exact:
        return Result(text, value, None, _exact_method(parts), parts=leaf_results)
    paired = [(g, p.influence) for g, p in zip(grad, parts) if p.influence is not None]
    variance = 0.0
    if paired:
        psi = sum(g * infl for g, infl in paired)
        variance += float(np.sum(psi ** 2)) / n ** 2
    variance += sum(g ** 2 * p.stderr ** 2 for g, p in zip(grad, parts) if p.stderr is not None)
    shared = sum(1 for p in parts if p.influence is not None)
    if shared > 1:
        how = "standard error by the delta method over the parts' shared draws (common random numbers)"
    elif any(p.influence is not None and leaf.level is not None for p, leaf in zip(parts, comb.leaves)):
        how = "the quantile's standard error from its order-statistic interval"
    else:
        how = "standard error by the delta method"
    if any(p.stderr is not None for p in parts):
        how += ", parts drawn on their own taken as independent"
    label = ", ".join(sorted({"monte-carlo" if p.influence is not None else p.method
                              for p in parts if p.influence is not None or p.stderr is not None}))
    se = math.sqrt(variance)
    if se <= 1e-12 * max(1.0, abs(value)):  # the parts' errors cancel draw by draw: rounding is left
        se = 0.0
    return Result(text, value, se, label, samples=n, note=how, warning=warnings,
                  parts=leaf_results)


def _exact_method(parts) -> str:
    """``exact`` where every leaf was contracted; else the exact routes taken, as they are named."""
    methods = sorted({p.method for p in parts})
    return methods[0] if len(methods) == 1 else ", ".join(methods)


@float64
def run_combination_posterior(comb: Combination, engine: Engine, post, *, text: str, method: Optional[str] = None,
                              seed: Optional[int] = None, samples: Optional[int] = None, source: str = "",
                              span=None) -> Result:
    """``comb`` over parameter draws ``post`` (a model with ``param``s: its prior, or a fitted
    posterior): each part answered once per draw (:func:`~causaldsl.engines.dispatch.run_plan`),
    ``g`` computed draw by draw; the value is the mean of ``g``, the interval its equal-tailed
    credible interval. The simulation error of Monte Carlo parts (common to all draws, see
    :func:`~causaldsl.engines.dispatch.run_plan`) is carried by the delta method, the parts taken
    as independent.

    >>> from causaldsl import model
    >>> m = model("model m {\\n param p ~ Beta(2, 2)\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(p * x)\\n}")
    >>> r = m.query("P(y = 1 | x = 1) - P(y = 1 | x = 0)")
    >>> one = m.query("P(y = 1 | x = 1)")  # P(y = 1 | x = 0) is 0 at every draw
    >>> abs(r.value - one.value) < 1e-12, r.draws.shape == one.draws.shape, r.interval == one.interval
    (True, True, True)
    """
    for leaf in comb.leaves:
        if leaf.level is not None:
            raise QueryError("a quantile over parameter draws is not one of the answers averaged over them",
                             span=leaf.span, source=source,
                             hint="ask the quantile of a model without parameters, or E[...] and Var[...] here")
    results = [dispatch.run_plan(leaf.plan, engine, text=leaf.text, method=method, seed=seed, samples=samples,
                                 source=source, span=leaf.span, posterior=post) for leaf in comb.leaves]
    draws = [np.asarray(r.draws, dtype=float) for r in results]
    try:
        per_draw, grad = evaluate(comb.term, draws)
    except DivisionByZero as e:
        raise QueryError(f"division by zero: {e.term.text} is 0 for some parameter draws", span=e.term.span,
                         source=source, hint="a ratio with a zero denominator is undefined (not infinite): "
                                             "compare by a difference instead") from None
    per_draw = np.broadcast_to(np.asarray(per_draw, dtype=float), draws[0].shape)
    if not np.all(np.isfinite(per_draw)):
        raise dispatch._undefined(text, span, source)
    mc = [(float(np.mean(g)), r.stderr) for g, r in zip(grad, results) if r.stderr is not None]
    se = math.sqrt(sum(g ** 2 * s ** 2 for g, s in mc)) if mc else None
    lo, hi = (1 - dispatch.LEVEL) / 2, 1 - (1 - dispatch.LEVEL) / 2
    methods = sorted({r.method for r in results})
    return Result(text, float(np.mean(per_draw)), se, methods[0] if len(methods) == 1 else ", ".join(methods),
                  interval=(float(np.quantile(per_draw, lo)), float(np.quantile(per_draw, hi))),
                  interval_level=dispatch.LEVEL, draws=per_draw, posterior=results[0].posterior,
                  parts=tuple(results))
