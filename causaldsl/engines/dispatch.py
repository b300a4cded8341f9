"""Choose an engine for a plan, run it, and turn its output into a :class:`Result`.

Discrete plans go to the exact engine, others to Monte Carlo; ``method=``
forces one. Unforced, a linear-Gaussian plan with evidence is answered exactly by
Gaussian conditioning (:mod:`~causaldsl.engines.gaussian`), and likelihood weighting
that keeps fewer than ``ESS_MIN`` effective draws is rerun by NUTS
(:mod:`~causaldsl.engines.nuts`) or answered with a warning. An exact answer past the
limits in :data:`causaldsl.settings` (estimated from shapes, before anything is allocated)
goes to Monte Carlo and says so in ``Result.method``, or, where ``method="exact"`` was asked
for, is refused with the estimate. Compiled functions are kept in the model's
:class:`~causaldsl.engines.engine.Engine`, by ``Plan.key``, which does not depend on the query's
values, so a new value reuses the compiled function.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Optional

try:
    import resource  # POSIX only: the address-space limit
except ImportError:  # pragma: no cover - Windows
    resource = None

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

from . import gaussian, nuts
from .coupling import exact_limit, order_note
from .exact import Cost, ExactProgram, compile_exact, structure_cost
from .montecarlo import MonteCarloProgram, compile_montecarlo
from .noise import seed_of
from .sharding import shard_leading
from .config import Settings, float64, settings
from .engine import Engine
from ..model.distributions import FAMILIES
from ..language.errors import MethodError, ProbabilityError, QueryError, ZeroProbabilityError
from ..model.queries import Plan, describe_evidence
from .results import Result

DEFAULT_SAMPLES = 200_000
DEFAULT_SEED = 0
ZERO = 1e-14  # a conditioning event with smaller probability is treated as impossible

METHODS = ("exact", "monte-carlo")


def choose_method(plan: Plan, method: Optional[str], source: str = "", span=None) -> str:
    """``"exact"`` or ``"monte-carlo"``: ``method`` if given (and possible), else exact where it can be.

    >>> from causaldsl import model
    >>> from causaldsl.model.queries import plan_query
    >>> from causaldsl.language.parser import parse_query
    >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Normal(x, 1)\\n}")
    >>> choose_method(plan_query(m.ir, parse_query("P(x = 1)")), None), \\
    ...     choose_method(plan_query(m.ir, parse_query("E[y]")), None)
    ('exact', 'monte-carlo')
    """
    limit = _coupling_limit(plan) if plan.finite and method in (None, "exact") else None
    if method is None:
        return "exact" if plan.finite and limit is None else "monte-carlo"
    if method not in METHODS:
        raise MethodError(f"unknown method '{method}'", span=span, source=source,
                          hint="use method='exact' or method='monte-carlo'")
    if limit is not None:
        raise MethodError(limit, span=span, source=source,
                          hint="use method='monte-carlo' (the default for this query)")
    if method == "exact" and not plan.finite:
        cont = list(dict.fromkeys(n.origin for n in plan.network.nodes if n.kind != "fixed" and not n.finite))
        verb = "is" if len(cont) == 1 else "are"
        raise MethodError("the exact engine needs variables with finitely many values, and "
                          + ", ".join(f"'{c}'" for c in cont) + f" {verb} continuous or unbounded",
                          span=span, source=source,
                          hint="use method='monte-carlo' (the default for such models)")
    return method


def _coupling_limit(plan: Plan) -> Optional[str]:
    """Why the exact engine cannot couple this plan's worlds (:func:`~causaldsl.engines.coupling.exact_limit`)."""
    for p in (plan, *(part for _, part in (plan.parts or ()))):
        reason = exact_limit(p.network)
        if reason is not None:
            return reason
    return None


def too_large(cost: Cost, limits: Settings = settings) -> Optional[tuple[str, str]]:
    """Why an exact answer of ``cost`` is past the limits in :data:`causaldsl.settings`, as
    ``(what it would need, the limit passed)``; ``None`` where it fits.

    >>> too_large(Cost(memory=1 << 10, work=10))
    >>> too_large(Cost(memory=32 << 30, work=10))
    ('34.4 GB', 'causaldsl.settings.exact_memory = 2 GB')
    """
    if cost.memory > limits.exact_memory:
        return (_bytes(cost.memory), f"causaldsl.settings.exact_memory = {_bytes(limits.exact_memory)}")
    if cost.work > limits.exact_work:
        return (f"{cost.work:.2g} multiply-adds", f"causaldsl.settings.exact_work = {limits.exact_work:.2g}")
    if cost.wide:  # small only where its variables have one value each; NumPy cannot take it at all
        return ("a step over more than 52 variables at once", "NumPy's einsum, which takes 52")
    return None


def _bytes(n: float) -> str:
    """``n`` bytes in the largest decimal unit that keeps a number >= 1.

    >>> _bytes(2.6e9), _bytes(512), _bytes(3e16)
    ('2.6 GB', '512 B', '3e+04 TB')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _exact_or_fallback(cost: Cost, asked: Optional[str], source: str, span,
                       limits: Settings = settings) -> Optional[str]:
    """``None`` where ``cost`` is within the limits; else, when no method was asked for, what
    exact would need (the Monte Carlo answer says it). ``method="exact"`` is refused with it."""
    over = too_large(cost, limits)
    if over is None:
        return None
    need, limit = over
    if asked == "exact":
        raise MethodError(f"too large for exact: the answer would need {need} (past {limit}; "
                          f"{cost.summary})", span=span, source=source,
                          hint="use method='monte-carlo', or raise the limit in causaldsl.settings")
    return need


def _check_samples(samples, span, source) -> int:
    if samples is None:
        return DEFAULT_SAMPLES
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise MethodError(f"samples must be a whole number of draws >= 1, got {samples!r}",
                          span=span, source=source, hint=f"e.g. samples=100_000 (default {DEFAULT_SAMPLES:,})")
    return int(samples)


def _invalid(flags, nodes, source: str):
    flags = np.asarray(flags)
    if flags.size and flags.any():
        node = nodes[int(np.argmax(flags))]
        if node.family is None:
            raise ProbabilityError(f"'{node.origin}' is undefined (NaN) for some values of its parents",
                                   span=node.span, source=source,
                                   hint="check log() and sqrt() of negative numbers and 0 / 0 in its expression")
        fam = FAMILIES[node.family]
        hint = f"{fam.name} takes {fam.rule}"
        if fam.probability_params or fam.name == "Categorical":
            hint += "; keep the expression inside [0, 1], e.g. min(max(..., 0), 1)"
        raise ProbabilityError(f"'{node.origin}': the {fam.name} parameters computed from its parents "
                               "are invalid for some parent values", span=node.span, source=source, hint=hint)


def _label(node, value: float):
    if node.levels:
        return node.levels[int(round(value))]
    return float(value)


@float64
def run_plan(plan: Plan, engine: Engine, *, text: str, method: Optional[str] = None,
             seed: Optional[int] = None, samples: Optional[int] = None, source: str = "",
             span=None, posterior=None) -> Result:
    """Answer ``plan`` with ``engine``'s programs (compiling one per structure, kept in the engine).

    ``posterior`` (a :class:`Draws`) answers the query once per parameter
    draw, in one vectorised call, and summarises the answers.
    """
    asked, method = method, choose_method(plan, method, source, span)
    values = plan.value_array
    if posterior is not None:
        return _run_posterior(plan, engine, posterior, values, text=text, method=method, seed=seed,
                              samples=samples, source=source, span=span, asked=asked)
    label, need = "monte-carlo", None
    if asked is None and plan.finite and method == "monte-carlo":
        label = f"monte-carlo ({_coupling_limit(plan)})"
    if method == "exact":
        # An expectation over several worlds is the signed sum of one contraction per world (an
        # ATE is two do-queries), each over a network no larger than the one it needs.
        parts = [(sign, p, _exact_program(p, engine)) for sign, p in (plan.parts or ((1.0, plan),))]
        cost = functools.reduce(operator.add, [pr.structure.cost for _, _, pr in parts])
        need = _exact_or_fallback(cost, asked, source, span, engine.settings)
        if need is None:
            value = sum(sign * _exact_value(p, pr, text, source, span) for sign, p, pr in parts)
            return _result(plan, text, value, None, "exact", cost=cost)
        label = f"monte-carlo (exact would need {need})"
    n = _check_samples(samples, span, source)
    if asked is None:  # linear-Gaussian: exact, by Gaussian conditioning where there is evidence
        exact = _run_gaussian(plan, engine, values, text, source, span, n)
        if exact is not None:
            return exact
    try:
        program = engine.once(engine.montecarlo, (plan.key, n), lambda: MonteCarloProgram(plan, n, source))
        out = program(DEFAULT_SEED if seed is None else seed, values)
    except MethodError as e:
        if e.line is not None or span is None:
            raise
        # the engine knows the draws, not the text: point at the query that asked for them
        raise MethodError(e.message, span=span, source=source, hint=e.hint) from None
    except (MemoryError, jax.errors.JaxRuntimeError) as e:
        if not (isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e)):
            raise
        # a refusal with the way out, not a crash (the fallback's, when it was not asked for)
        why = f"too large for exact (it would need {need}), and " if need is not None else ""
        raise MethodError(f"{why}Monte Carlo with {n:,} draws ran out of memory", span=span, source=source,
                          hint=f"pass fewer draws, e.g. samples={max(n // 10, 1):_}") from None
    _invalid(out["flags"], program.nodes, plan.network.source)
    if not out["any"]:
        raise _zero(plan, text, source, sampled=n, span=span)
    if not out["finite"]:
        raise _undefined(text, span, source)
    est, se, ess = np.asarray(out["estimate"]), np.asarray(out["stderr"]), float(out["ess"])
    conditioning = out.get("conditioning") or ("likelihood weighting" if plan.evidence else None)
    if out["deterministic"]:  # nothing was left to draw: one draw is every draw
        n, conditioning = 1, ("abduction: every noise term solved" if plan.evidence else None)
    elif plan.evidence and ess < ESS_MIN:
        return _few_effective_draws(plan, engine, program, values, text, est, se, ess, n, seed, label)
    return _result(plan, text, est, se, label, ess=ess, samples=n, conditioning=conditioning)


def _exact_program(plan: Plan, engine: Engine) -> ExactProgram:
    """The exact engine of ``plan``'s structure, built once (its path and :class:`Cost` with it)."""
    return engine.once(engine.exact, plan.key, lambda: ExactProgram(plan, compiler=engine.compiler, tables=engine.tables,
                                                                    factors=engine.factors))


_CHECKED = 100e6  # bytes of an exact answer's estimate past which the machine's free memory is read first


def available_memory() -> Optional[float]:
    """Bytes this process can still allocate, where the system says: the kernel's estimate of
    available memory (``MemAvailable``, Linux), less than the address-space limit (``ulimit -v``)
    leaves where one is set; None where neither can be read.

    >>> m = available_memory()
    >>> m is None or m > 0
    True
    """
    free = None
    try:
        with open("/proc/meminfo") as f:
            free = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
        soft = resource.getrlimit(resource.RLIMIT_AS)[0] if resource is not None else -1
        if soft not in (-1, getattr(resource, "RLIM_INFINITY", -1)):
            with open("/proc/self/status") as f:
                used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
            free = min(free, max(soft - used, 0))
    except (OSError, StopIteration, ValueError):
        pass
    return free


def _exact_value(plan: Plan, program: ExactProgram, text: str, source: str, span):
    """``plan``'s exact answer: a number, or an array for ``P(Y)``."""
    cost = program.structure.cost
    free = available_memory() if cost.memory > _CHECKED else None
    try:
        if free is not None and cost.memory > free:  # within the limits, which were raised past the machine
            raise MemoryError
        num, den, undefined, flags = program(plan.value_array)
    except MemoryError:  # within the limits, but past what this machine has (the limits were raised)
        room = f", and {_bytes(free)} is free" if free is not None else ""
        raise MethodError(f"too large for exact on this machine: it would need about "
                          f"{_bytes(cost.memory)}{room} ({cost.summary})", span=span, source=source,
                          hint="use method='monte-carlo', or lower causaldsl.settings.exact_memory "
                               "so that such queries fall back to it") from None
    _invalid(flags, program.nodes, plan.network.source)
    den = float(den)
    if den <= ZERO:
        raise _zero(plan, text, source, span=span)
    if float(undefined) > 0:
        raise _undefined(text, span, source)
    # a scalar divides as a Python float: a NumPy division is a tenth of a warm answer
    return np.asarray(num) / den if plan.kind == "dist" else float(num) / den


# Below this many effective draws (Kish's (Σw)² / Σw²) the delta-method standard error of
# likelihood weighting is itself estimated from a handful of draws and cannot be trusted: the
# weights' variance is dominated by draws not yet seen. Such a query is rerun by NUTS where
# the conditioned model is differentiable, and otherwise answered with a warning.
ESS_MIN = 100


def _few_effective_draws(plan, engine, program, values, text, est, se, ess, n, seed,
                         label: str = "monte-carlo") -> Result:
    """The answer when likelihood weighting kept too few effective draws: NUTS, or a warning."""
    sampler = engine.once(engine.nuts, plan.key, lambda: nuts.NutsProgram(plan, program.schedule)
                       if nuts.supported(program.schedule) else None)
    why = f"likelihood weighting kept an effective sample size of {ess:,.1f} of {n:,} draws"
    out, reason = None, "the model is not differentiable, so NUTS cannot be used"
    if sampler is not None:
        try:
            out = sampler(DEFAULT_SEED if seed is None else seed, values)
        except RuntimeError as e:  # NumPyro found no valid starting point
            reason = f"NUTS failed ({str(e).splitlines()[0]})"
    if out is None:
        return _result(plan, text, est, se, label, ess=ess, samples=n,
                       conditioning="likelihood weighting",
                       warning=f"{why} (below {ESS_MIN}): the standard error is unreliable; {reason}; "
                               "ask for more samples")
    return _result(plan, text, out["estimate"], out["stderr"], "nuts", ess=out["ess"], samples=out["samples"],
                   conditioning=f"switched from likelihood weighting (ESS {ess:,.1f} of {n:,} draws < {ESS_MIN})",
                   warning=out["warning"])


def _run_gaussian(plan: Plan, engine: Engine, values, text: str, source: str, span, n: int) -> Optional[Result]:
    """The exact answer of a linear-Gaussian query, or None for any other query."""
    program = engine.once(engine.gaussian, plan.key, lambda: gaussian.compile_gaussian(plan))
    out = program(values) if program is not None else None
    if out is None:
        return None
    if not out["any"]:
        raise _zero(plan, text, source, span=span)
    return _result(plan, text, out["estimate"], None, gaussian.METHOD,
                   conditioning="Gaussian conditioning" if plan.evidence else None)


def _result(plan, text, value, se, method, **kw) -> Result:
    if plan.kind == "dist":
        keys = _keys([plan.network[d] for d in plan.dist_vars], value.shape)
        table = dict(zip(keys, np.ravel(value).tolist()))  # row-major, as the keys
        errs = None if se is None else dict(zip(keys, np.ravel(se).tolist()))
        return Result(text, table, None, method, stderrs=errs or None, note=_note(plan), **kw)
    return Result(text, float(value), None if se is None else float(se), method, note=_note(plan), **kw)


def _keys(nodes: list, shape: tuple) -> list:
    """The keys of a distribution's table over ``nodes`` (its array of ``shape``), in row-major
    order: each variable's label of its value (a tuple of them for several variables).

    >>> from causaldsl.model.ir import Node
    >>> y = Node("y", "sample", (), "Categorical", (), domain=(0.0, 1.0), levels=("lo", "hi"))
    >>> _keys([y], (2,)), _keys([y, y], (2, 2))[1]
    (['lo', 'hi'], ('lo', 'hi'))
    """
    labels = [[_label(nd, nd.domain[i]) for i in range(n)] for nd, n in zip(nodes, shape)]
    if len(labels) == 1:
        return labels[0]
    keys = [()]
    for values in labels:  # the last variable's labels vary fastest
        keys = [k + (v,) for k in keys for v in values]
    return keys


def _note(plan: Plan) -> Optional[str]:
    """What the answer leaves out (a count's far tail) or depends on (the order of levels)."""
    notes = [n for n in (plan.note, order_note(plan.network)) if n]
    return "; ".join(notes) or None


def _undefined(text: str, span, source: str) -> QueryError:
    return QueryError("the quantity asked for is infinite or undefined (NaN) for values that can occur",
                      span=span, source=source,
                      hint="check divisions, log() and sqrt() of values that can be zero or negative")


def _zero(plan: Plan, text: str, source: str, sampled: Optional[int] = None,
          span=None) -> ZeroProbabilityError:
    ev = describe_evidence(plan) or "the evidence"
    why = "has probability zero" if sampled is None else f"was never met in {sampled:,} draws"
    return ZeroProbabilityError(f"the conditioning event ({ev}) {why}, so the query is undefined",
                                span=span, source=source, hint="condition on an event that can happen; "
                                                "check the observed values against the model")


# ------------------------------------------------------------------ posterior answers
@dataclass(frozen=True)
class Draws:
    """Parameter draws (``name -> array with a leading draw axis``) and where they came from."""

    theta: dict
    source: str  # "NUTS", "SVI", "prior", ...

    @property
    def count(self) -> int:
        return int(next(iter(self.theta.values())).shape[0]) if self.theta else 0


POSTERIOR_MC_DRAWS = 4_000  # Monte Carlo draws per parameter draw
POSTERIOR_MC_MAX_THETA = 500  # parameter draws used by a Monte Carlo posterior query
LEVEL = 0.95  # credible level of reported intervals


def _run_posterior(plan: Plan, engine: Engine, post: Draws, values, *, text, method, seed, samples,
                   source, span, asked=None) -> Result:
    theta = {k: jnp.asarray(v) for k, v in post.theta.items()}
    label = "monte-carlo"
    if method == "exact":
        parts = plan.parts or ((1.0, plan),)
        costs = [engine.once(engine.costs, p.key, functools.partial(structure_cost, p)) for _, p in parts]
        # every draw's tables at once: the answer is one vmap over the draws
        need = _exact_or_fallback(functools.reduce(operator.add, costs).times(max(post.count, 1)),
                                  asked, source, span, engine.settings)
        if need is None:
            per_draw = sum(sign * _exact_draws(p, engine, theta, text, source, span) for sign, p in parts)
            return _posterior_result(plan, text, per_draw, None, "exact", post)
        label = f"monte-carlo (exact would need {need})"
    n = POSTERIOR_MC_DRAWS if samples is None else _check_samples(samples, span, source)
    count = post.count
    if count > POSTERIOR_MC_MAX_THETA:  # thin evenly: more parameter draws would only add cost
        idx = np.linspace(0, count - 1, POSTERIOR_MC_MAX_THETA).round().astype(int)
        theta = {k: v[idx] for k, v in theta.items()}
        count = POSTERIOR_MC_MAX_THETA
    key = ("monte-carlo", plan.key, n)
    if key not in engine.posterior:
        program, nodes = compile_montecarlo(plan, n, source, shard_draws=False)  # the theta axis is split instead
        # Common random numbers: every parameter draw sees the same noise (drawn once, passed
        # unbatched), so the spread of the per-draw answers is the posterior's, not simulation
        # noise (which would widen the interval).
        engine.posterior[key] = (program, jax.jit(jax.vmap(program.main, in_axes=(None, None, 0, None, None))), nodes)
    program, fn, nodes = engine.posterior[key]
    placed, count = shard_leading(theta)
    rng_key = seed_of(DEFAULT_SEED if seed is None else seed)
    out = jax.device_get(fn(rng_key, values, placed, *program.noise(rng_key)))
    out = {k: np.asarray(v)[:count] for k, v in out.items()}
    if np.any(out["bad_draws"]):  # name the node: rerun with a check per node
        slow, _ = compile_montecarlo(plan, n, source, shard_draws=False, fast_flags=False,
                                     schedule=program.schedule)
        vslow = jax.vmap(slow.main, in_axes=(None, None, 0, None, None))
        out["flags"] = np.asarray(jax.device_get(vslow(rng_key, values, theta, *slow.noise(rng_key)))["flags"])
    _invalid(np.any(out["flags"], axis=0), nodes, plan.network.source)
    if not np.all(out["any"]):
        raise _zero(plan, text, source, sampled=n, span=span)
    if not np.all(out["finite"]):
        raise _undefined(text, span, source)
    return _posterior_result(plan, text, np.asarray(out["estimate"]), np.asarray(out["stderr"]),
                             label, Draws(theta, post.source), samples=n * count,
                             ess=float(np.mean(out["ess"])),
                             conditioning="likelihood weighting" if plan.evidence else None)


def _exact_draws(plan: Plan, engine: Engine, theta: dict, text: str, source: str, span) -> np.ndarray:
    """``plan``'s exact answer once per parameter draw (the draws along the leading axis)."""
    key = ("exact", plan.key)
    if key not in engine.posterior:
        fn, nodes = compile_exact(plan)
        engine.posterior[key] = (jax.jit(jax.vmap(fn, in_axes=(None, 0))), nodes)
    fn, nodes = engine.posterior[key]
    placed, count = shard_leading(theta)  # one slice of the draws per device (no-op on one)
    try:
        num, den, undefined, flags = (np.asarray(a)[:count] for a in jax.device_get(fn(plan.value_array, placed)))
    except (MemoryError, jax.errors.JaxRuntimeError) as e:
        if not (isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e)):
            raise
        raise MethodError(f"too large for exact on this machine over {count:,} parameter draws at once",
                          span=span, source=source,
                          hint="use method='monte-carlo', or lower causaldsl.settings.exact_memory "
                               "so that such queries fall back to it") from None
    _invalid(np.any(flags, axis=0), nodes, plan.network.source)
    if float(np.min(den)) <= ZERO:
        raise _zero(plan, text, source, span=span)
    if float(np.max(undefined)) > 0:
        raise _undefined(text, span, source)
    return num / den.reshape((-1,) + (1,) * (num.ndim - 1))


def _posterior_result(plan: Plan, text: str, per_draw, se, method: str, post: Draws, **kw) -> Result:
    """Posterior mean, equal-tailed credible interval and the draws themselves."""
    lo_q, hi_q = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    d = per_draw.shape[0]
    # With common random numbers the simulation error is shared by all draws: it does not average out.
    mc = None if se is None else np.mean(se, axis=0)
    info = dict(interval_level=LEVEL, posterior=f"{post.source}, {d:,} draws", note=_note(plan), **kw)
    if plan.kind == "dist":
        nodes = [plan.network[n] for n in plan.dist_vars]
        table, errs, intervals, draws = {}, {}, {}, {}
        for idx in np.ndindex(*per_draw.shape[1:]):
            labels = tuple(_label(nd, nd.domain[i]) for nd, i in zip(nodes, idx))
            k = labels[0] if len(labels) == 1 else labels
            col = per_draw[(slice(None),) + idx]
            table[k] = float(np.mean(col))
            intervals[k] = (float(np.quantile(col, lo_q)), float(np.quantile(col, hi_q)))
            draws[k] = col
            if mc is not None:
                errs[k] = float(mc[idx])
        return Result(text, table, None, method, stderrs=errs or None, interval=intervals, draws=draws, **info)
    return Result(text, float(np.mean(per_draw)), None if mc is None else float(mc), method,
                  interval=(float(np.quantile(per_draw, lo_q)), float(np.quantile(per_draw, hi_q))),
                  draws=per_draw, **info)
