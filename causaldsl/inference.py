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
from .errors import MethodError, ProbabilityError, QueryError, ZeroProbabilityError
from .queries import Plan
from .results import Result

DEFAULT_SAMPLES = 200_000
DEFAULT_SEED = 0
ZERO = 1e-14  # a conditioning event with smaller probability is treated as impossible

METHODS = ("exact", "monte-carlo")


def choose_method(plan: Plan, method: Optional[str], source: str = "") -> str:
    if method is None:
        return "exact" if supports(plan) else "monte-carlo"
    if method not in METHODS:
        raise MethodError(f"unknown method '{method}'", hint="use method='exact' or method='monte-carlo'")
    if method == "exact" and not supports(plan):
        cont = [n.origin for n in plan.network.nodes if n.kind != "fixed" and not n.finite]
        raise MethodError("the exact engine needs discrete variables, and "
                          + ", ".join(f"'{c}'" for c in dict.fromkeys(cont)) + " are continuous or unbounded",
                          hint="use method='monte-carlo' (the default for such models)")
    return method


def _invalid(flags, nodes, source: str):
    flags = np.asarray(flags)
    if flags.size and flags.any():
        node = nodes[int(np.argmax(flags))]
        from .distributions import FAMILIES

        rule = FAMILIES[node.family].rule if node.family else "a number"
        what = f"{node.family} parameters" if node.family else "its value"
        raise ProbabilityError(f"'{node.origin}': {what} computed from its parents are invalid "
                               "for some parent values (a probability outside [0, 1], a negative "
                               "scale, or NaN)", span=node.span, source=source,
                               hint=f"{node.family or node.origin} needs {rule}; check the expression, "
                                    "or bound it with min(max(..., 0), 1)")


def _label(node, value: float):
    if node.levels:
        return node.levels[int(round(value))]
    return float(value)


def run_plan(plan: Plan, cache: dict, *, text: str, method: Optional[str] = None,
             seed: Optional[int] = None, samples: Optional[int] = None, source: str = "",
             span=None) -> Result:
    """Answer ``plan`` (compiling it once per structure)."""
    method = choose_method(plan, method, source)
    values = jnp.asarray(plan.values if plan.values else [0.0], dtype=jnp.float64)
    if method == "exact":
        key = ("exact", plan.key)
        if key not in cache:
            cache[key] = compile_exact(plan)
        fn, nodes = cache[key]
        num, den, flags = fn(values)
        _invalid(flags, nodes, plan.network.source)
        den = float(den)
        if den <= ZERO:
            raise _zero(plan, text, source, span=span)
        num = np.clip(np.asarray(num) / den, -np.inf, np.inf)
        return _result(plan, text, num, None, "exact")
    n = int(samples or DEFAULT_SAMPLES)
    key = ("mc", plan.key, n)
    if key not in cache:
        cache[key] = compile_montecarlo(plan, n, source)
    fn, nodes = cache[key]
    out = jax.device_get(fn(jax.random.PRNGKey(DEFAULT_SEED if seed is None else seed), values))
    _invalid(out["flags"], nodes, plan.network.source)
    if not out["any"]:
        raise _zero(plan, text, source, sampled=n, span=span)
    if not out["finite"]:
        raise QueryError(f"{text}: the quantity asked for is infinite or undefined (NaN) in some draws",
                         span=span, source=source,
                         hint="check divisions, log() and sqrt() of values that can be zero or negative")
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


def _zero(plan: Plan, text: str, source: str, sampled: Optional[int] = None,
          span=None) -> ZeroProbabilityError:
    ev = ", ".join(f"{c} = {plan.values[int(s[1:])]:g}" for c, s in plan.evidence) or "the evidence"
    why = "has probability zero" if sampled is None else f"was never met in {sampled:,} draws"
    return ZeroProbabilityError(f"the conditioning event ({ev}) {why}, so the query is undefined",
                                span=span, source=source, hint="condition on an event that can happen; "
                                                "check the observed values against the model")
