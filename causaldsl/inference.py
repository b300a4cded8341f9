"""Choose an engine for a plan, run it, and turn its output into a :class:`Result`.

Discrete plans go to the exact engine, others to Monte Carlo; ``method=``
forces one. Compiled functions are cached by ``Plan.key``, which does not
depend on the query's values, so a new value reuses the compiled function.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from .backends.exact import compile_exact, supports
from .backends.montecarlo import compile_montecarlo
from .distributions import FAMILIES
from .errors import MethodError, ProbabilityError, QueryError, ZeroProbabilityError
from .queries import Plan
from .results import Result

DEFAULT_SAMPLES = 200_000
DEFAULT_SEED = 0
ZERO = 1e-14  # a conditioning event with smaller probability is treated as impossible

METHODS = ("exact", "monte-carlo")


def choose_method(plan: Plan, method: Optional[str], source: str = "", span=None) -> str:
    if method is None:
        return "exact" if supports(plan) else "monte-carlo"
    if method not in METHODS:
        raise MethodError(f"unknown method '{method}'", span=span, source=source,
                          hint="use method='exact' or method='monte-carlo'")
    if method == "exact" and not supports(plan):
        cont = list(dict.fromkeys(n.origin for n in plan.network.nodes if n.kind != "fixed" and not n.finite))
        verb = "is" if len(cont) == 1 else "are"
        raise MethodError("the exact engine needs variables with finitely many values, and "
                          + ", ".join(f"'{c}'" for c in cont) + f" {verb} continuous or unbounded",
                          span=span, source=source,
                          hint="use method='monte-carlo' (the default for such models)")
    return method


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


def run_plan(plan: Plan, cache: dict, *, text: str, method: Optional[str] = None,
             seed: Optional[int] = None, samples: Optional[int] = None, source: str = "",
             span=None) -> Result:
    """Answer ``plan`` (compiling it once per structure)."""
    method = choose_method(plan, method, source, span)
    values = jnp.asarray(plan.values if plan.values else [0.0], dtype=jnp.float64)
    if method == "exact":
        key = ("exact", plan.key)
        if key not in cache:
            cache[key] = compile_exact(plan)
        fn, nodes = cache[key]
        num, den, undefined, flags = fn(values)
        _invalid(flags, nodes, plan.network.source)
        den = float(den)
        if den <= ZERO:
            raise _zero(plan, text, source, span=span)
        if float(undefined) > 0:
            raise _undefined(text, span, source)
        num = np.clip(np.asarray(num) / den, -np.inf, np.inf)
        return _result(plan, text, num, None, "exact")
    n = _check_samples(samples, span, source)
    key = ("mc", plan.key, n)
    if key not in cache:
        cache[key] = compile_montecarlo(plan, n, source)
    fn, nodes = cache[key]
    out = jax.device_get(fn(jax.random.PRNGKey(DEFAULT_SEED if seed is None else seed), values))
    _invalid(out["flags"], nodes, plan.network.source)
    if not out["any"]:
        raise _zero(plan, text, source, sampled=n, span=span)
    if not out["finite"]:
        raise _undefined(text, span, source)
    est, se, ess = np.asarray(out["estimate"]), np.asarray(out["stderr"]), float(out["ess"])
    conditioning = "likelihood weighting" if plan.evidence else None
    return _result(plan, text, est, se, "monte-carlo", ess=ess, samples=n, conditioning=conditioning)


def _result(plan, text, value, se, method, **kw) -> Result:
    if plan.kind == "dist":
        nodes = [plan.network[d] for d in plan.dist_vars]
        table, errs = {}, {}
        for idx in np.ndindex(*value.shape):
            labels = tuple(_label(nd, nd.domain[i]) for nd, i in zip(nodes, idx))
            k = labels[0] if len(labels) == 1 else labels
            table[k] = float(value[idx])
            if se is not None:
                errs[k] = float(se[idx])
        return Result(text, table, None, method, stderrs=errs or None, **kw)
    return Result(text, float(value), None if se is None else float(se), method, **kw)


def _undefined(text: str, span, source: str) -> QueryError:
    return QueryError("the quantity asked for is infinite or undefined (NaN) for values that can occur",
                      span=span, source=source,
                      hint="check divisions, log() and sqrt() of values that can be zero or negative")


def _zero(plan: Plan, text: str, source: str, sampled: Optional[int] = None,
          span=None) -> ZeroProbabilityError:
    ev = ", ".join(f"{c} = {plan.values[int(s[1:])]:g}" for c, s in plan.evidence) or "the evidence"
    why = "has probability zero" if sampled is None else f"was never met in {sampled:,} draws"
    return ZeroProbabilityError(f"the conditioning event ({ev}) {why}, so the query is undefined",
                                span=span, source=source, hint="condition on an event that can happen; "
                                                "check the observed values against the model")
