"""Monte Carlo queries with nothing left to draw, answered in plain Python floats.

When every noise term a query needs is solved from its evidence (a fully observed unit in an
additive-noise model: abduction, action, prediction), every draw of the Monte Carlo engine
is the same draw: the answer is exact, its standard error 0, and one evaluation suffices.
Such a :class:`~causaldsl.backends.montecarlo.Schedule` is *deterministic*; this module runs it
once, in Python floats, with no JAX at all: a few microseconds per node, no compilation, so
the first answer costs no more than the later ones.

It covers the families whose formulas are written here (Normal and LogNormal for continuous
copies; Bernoulli and Categorical observed once) and expressions evaluated by
:func:`~causaldsl.expressions.compile_expr` over Python floats. Anything else, and any
arithmetic that Python refuses (``log(0)``, ``1 / 0``, an overflow), raises
:class:`Unsupported`, and the caller runs the compiled program instead, which answers
with NumPy's rules (infinities, NaN) and the same checks.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(2 * x, 1)\\n}")
>>> r = m.query("E[y[x = 0] | x = 1, y = 3]")
>>> r.value, r.stderr, r.samples
(1.0, 0.0, 1)
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..expressions import compile_expr, rename
from ..ir import Slot

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SOLVE = "$solve"  # the noise being solved for, in its child's expression (slots are $0, $1, ...)


class Unsupported(Exception):
    """This schedule (or these values) needs the compiled program."""


def _minimum(a, b):
    return a if a != a else b if b != b else min(a, b)  # NaN wins, as in NumPy


def _maximum(a, b):
    return a if a != a else b if b != b else max(a, b)


def _power(a, b):
    out = a ** b
    if isinstance(out, complex):  # NumPy says NaN; let the compiled program say it
        raise Unsupported
    return out


class _Floats:
    """The operations :func:`compile_expr` asks of its array library, over Python floats."""

    exp, log, sqrt, abs = math.exp, math.log, math.sqrt, abs
    minimum, maximum, power = staticmethod(_minimum), staticmethod(_maximum), staticmethod(_power)
    add, subtract, multiply, divide = operator.add, operator.sub, operator.mul, operator.truediv
    equal, not_equal, less, less_equal = operator.eq, operator.ne, operator.lt, operator.le
    greater, greater_equal = operator.gt, operator.ge

    @staticmethod
    def where(c, a, b):
        return a if c else b

    @staticmethod
    def asarray(x, dtype=None):  # constants are floats already; a comparison's bool does arithmetic as 0 / 1
        return x

    @staticmethod
    def searchsorted(*a, **k):  # parameter arrays: only in posterior queries, which are compiled
        raise Unsupported

    clip = round = searchsorted


_F = _Floats()
_ARITHMETIC = (ArithmeticError, ValueError, TypeError)  # log(0), 1 / 0, overflow: NumPy's rules needed


def _isnan(x) -> bool:
    return x != x


# ------------------------------------------------------------------ families, in floats
def _normal_bad(p) -> bool:
    return _isnan(p[0]) or _isnan(p[1]) or p[1] <= 0


def _normal_logpdf(p, x):
    z = (x - p[0]) / p[1]
    return -0.5 * z * z - math.log(p[1]) - _HALF_LOG_2PI


def _lognormal_logpdf(p, x):
    if x <= 0:
        return -math.inf
    return _normal_logpdf(p, math.log(x)) - math.log(x)


def _bern_bad(p) -> bool:
    return _isnan(p[0]) or p[0] < 0 or p[0] > 1


def _bern_mass(p, k):
    return p[0] if k == 1 else 1 - p[0] if k == 0 else 0.0


def _cat_bad(p) -> bool:
    return any(_isnan(q) or q < 0 or q > 1 for q in p) or abs(sum(p) - 1) > 1e-6


def _cat_mass(p, k):
    return p[int(k)] if k == int(k) and 0 <= k < len(p) else 0.0


# name -> (invalid, log density, x -> z, z -> x): continuous families kept as a standard normal z
_CONTINUOUS = {
    "Normal": (_normal_bad, _normal_logpdf, lambda p, x: (x - p[0]) / p[1], lambda p, z: p[0] + p[1] * z),
    "LogNormal": (_normal_bad, _lognormal_logpdf, lambda p, x: (math.log(x) - p[0]) / p[1],
                  lambda p, z: math.exp(p[0] + p[1] * z)),
}
# name -> (invalid, probability of a value): discrete families observed once
_DISCRETE = {"Bernoulli": (_bern_bad, _bern_mass), "Categorical": (_cat_bad, _cat_mass)}


def supported(schedule) -> bool:
    """True when :func:`evaluate` can run ``schedule`` (it must be deterministic)."""
    if not schedule.deterministic:
        return False
    for st in schedule.steps:
        node = st.node
        if st.mode in ("observe", "draw", "solve"):
            if node.family in _CONTINUOUS:
                continue
            if st.mode == "observe" and not st.share and node.family in _DISCRETE:
                continue
            return False
    return True


class Evaluator:
    """``evaluator(values) -> summary``: a deterministic schedule run once in floats.

    The summary has the keys of the compiled program's (``estimate``, ``stderr``, ``ess``,
    ``any``, ``finite``, ``flags``, ``bad_draws``, ``deterministic``), in NumPy.
    """

    def __init__(self, schedule, plan):
        if not supported(schedule):
            raise Unsupported
        self.s, self.plan = schedule, plan
        s = schedule
        # Every expression is renamed to read node names (and slots) from one environment, so a
        # step costs its arithmetic and no dictionary building.
        try:
            self.fns = {}
            for n in s.net.nodes:
                exprs = n.args if n.kind == "sample" else (n.expr,) if n.kind == "assign" else ()
                self.fns[n.name] = [compile_expr(rename(e, n.env_names), xp=_F) for e in exprs]
            for st in s.steps:
                if st.mode == "solve":  # the child's expression, its noise parent read from _SOLVE
                    child = s.net[st.child]
                    names = {**child.env_names, **{e: _SOLVE for e, p in child.env_names.items() if p == st.node.name}}
                    self.fns[("solve", st.node.name)] = compile_expr(rename(child.expr, names), xp=_F)
            self.target = compile_expr(plan.target, xp=_F) if plan.target is not None else None
        except Exception:  # e.g. a parameter array's index (posterior queries are compiled)
            raise Unsupported from None
        self.doms = [s.net[d].domain for d in plan.dist_vars]

    def __call__(self, values) -> dict:
        try:
            return self._run(np.asarray(values, dtype=float).tolist())
        except _ARITHMETIC:
            raise Unsupported from None

    def _run(self, values) -> dict:
        s, fns = self.s, self.fns
        env = {f"${i}": v for i, v in enumerate(values)}  # slots, then every node's value
        z: dict = {}  # abducted noise, as a standard normal
        logw = 0.0
        flags = []
        for st in s.steps:
            node = st.node
            name = node.name
            obs = env[st.obs] if st.obs is not None else None
            mode = st.mode
            if mode == "fixed":
                val = values[node.value.index] if isinstance(node.value, Slot) else float(node.value)
                if obs is not None and not abs(val - obs) <= 1e-9:
                    logw = -math.inf
                env[name] = val
                continue
            if mode == "solve":  # the observed child's other parents are known: solve for this noise
                y = env[s.evidence[st.child]]
                f = fns[("solve", name)]
                env[_SOLVE] = 0.0
                a = float(f(env))
                env[_SOLVE] = 1.0
                b = float(f(env)) - a
                params = [float(fn(env)) for fn in fns[name]]
                bad, logpdf = _CONTINUOUS[node.family][:2]
                flags.append(bad(params))
                val = (y - a) / (b if b != 0 else 1.0)
                logw += -math.inf if b == 0 else logpdf(params, val) - math.log(abs(b))
                env[name] = val
                continue
            if mode == "solved":
                env[name] = obs
                flags.append(False)
                continue
            if mode == "assign":
                val = float(fns[name][0](env))
                flags.append(val != val)
                if obs is not None and not abs(val - obs) <= 1e-9:
                    logw = -math.inf
                env[name] = val
                continue
            params = [float(fn(env)) for fn in fns[name]]
            if mode == "observe" and node.family in _DISCRETE:
                bad, mass = _DISCRETE[node.family]
                flags.append(bad(params))
                p = mass(params, obs)
                logw += math.log(p) if p > 0 else -math.inf
                env[name] = obs
                continue
            bad, logpdf, to_z, from_z = _CONTINUOUS[node.family]
            flags.append(bad(params))
            if flags[-1]:
                raise Unsupported  # the compiled program reports it, with NumPy's values
            if mode == "observe":
                # Only whether the weight is 0 matters (every draw has it): a density is positive
                # at a finite value with valid parameters, except outside a support.
                if node.family != "Normal":
                    logw += logpdf(params, obs)
                if st.share:
                    z[node.noise] = to_z(params, obs)
                env[name] = obs
                continue
            val = from_z(params, z[node.noise])  # "draw" from an abducted noise
            if obs is not None and not abs(val - obs) <= 1e-9:
                logw = -math.inf
            env[name] = val
        return self._summary(env, logw, flags)

    def _summary(self, env, logw, flags) -> dict:
        live = logw > -math.inf
        t = 1.0 if self.target is None else float(self.target(env))
        if self.plan.dist_vars:
            t = np.asarray(t)
            for d, dom in zip(self.plan.dist_vars, self.doms):
                t = t[..., None] * (np.abs(env[d] - np.asarray(dom, dtype=float)) <= 1e-9)
            finite = bool(np.all(np.isfinite(t)))
            se = np.zeros_like(t)
        else:
            finite, se = math.isfinite(t), 0.0
        return {"estimate": t, "stderr": se, "ess": 1.0, "any": live, "finite": (not live) or finite,
                "flags": np.asarray(flags, dtype=bool), "bad_draws": False, "deterministic": True}
