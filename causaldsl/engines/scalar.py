"""Monte Carlo queries with nothing left to draw, answered in plain Python floats.

When every noise term a query needs is solved from its evidence (a fully observed unit in an
additive-noise model: abduction, action, prediction), every draw of the Monte Carlo engine
is the same draw: the answer is exact, its standard error 0, and one evaluation suffices.
Such a :class:`~causaldsl.engines.montecarlo.Schedule` is *deterministic*; this module runs it
once, in Python floats, with no JAX at all: a few microseconds per node, no compilation, so
the first answer costs no more than the later ones.

It covers the families whose formulas are written here (Normal and LogNormal for continuous
copies; Bernoulli and Categorical observed once) and expressions evaluated by
:func:`~causaldsl.model.expressions.compile_expr` over Python floats. Anything else, and any
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

from ..language import syntax as S
from ..model.expressions import compile_expr, rename
from ..model.ir import Slot

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


# ------------------------------------------------------------------ expressions, in floats
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _nary(pick):
    def call(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = pick(out, x)
        return out
    return call


_CALLS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs, "sigmoid": _sigmoid,
          "min": _nary(_minimum), "max": _nary(_maximum)}
_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": _power}
_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}


def _linear(expr, names):
    """``(c0, ((coef, leaf), ...))`` with ``expr = c0 + Σ coef · leaf``, constants folded; a leaf
    is a node name (str) or a sub-expression that is not a sum (a product of two variables,
    a call, a comparison, ...)."""
    if isinstance(expr, (S.Num, S.Level)):
        return float(expr.value if isinstance(expr, S.Num) else expr.code), ()
    if isinstance(expr, S.Var) and expr.world is None:
        return 0.0, ((1.0, names.get(expr.name, expr.name)),)
    if isinstance(expr, S.Unary):
        c0, terms = _linear(expr.operand, names)
        sign = -1.0 if expr.op == "-" else 1.0
        return sign * c0, tuple((sign * k, leaf) for k, leaf in terms)
    if isinstance(expr, S.BinOp) and expr.op in ("+", "-", "*", "/"):
        a, b = _linear(expr.left, names), _linear(expr.right, names)
        if expr.op in "+-":
            sign = 1.0 if expr.op == "+" else -1.0
            return a[0] + sign * b[0], a[1] + tuple((sign * k, leaf) for k, leaf in b[1])
        if expr.op == "*" and not b[1]:
            return a[0] * b[0], tuple((k * b[0], leaf) for k, leaf in a[1])
        if expr.op == "*" and not a[1]:
            return a[0] * b[0], tuple((k * a[0], leaf) for k, leaf in b[1])
        if expr.op == "/" and not b[1] and b[0] != 0:
            return a[0] / b[0], tuple((k / b[0], leaf) for k, leaf in a[1])
    return 0.0, ((1.0, expr),)


def compile_float(expr, names=None):
    """``fn(env) -> float`` computing ``expr`` over Python floats, its variables renamed by
    ``names`` (expression name -> node name).

    The same semantics as :func:`~causaldsl.model.expressions.compile_expr` (logical results are
    0.0 / 1.0), with sums of terms evaluated in one loop and constants folded: a unit's
    counterfactual is a few hundred float operations, and a closure per operation (what
    ``compile_expr`` builds) cost several times their arithmetic.

    >>> from causaldsl.language.parser import parse_query
    >>> compile_float(parse_query("E[2 * x - (y - 1) / 4]").expr)({"x": 1.0, "y": 3.0})
    1.5
    >>> compile_float(parse_query("E[if 2 > x then sigmoid(0) else 3]").expr)({"x": 0.0})
    0.5
    """
    return _compile_float(expr, names or {})


def _compile_float(expr, names):
    c0, terms = _linear(expr, names)
    if not (len(terms) == 1 and terms[0][1] is expr):  # a sum (or a constant, or one variable)
        merged: dict = {}
        for k, leaf in terms:
            key = leaf if isinstance(leaf, str) else id(leaf)
            fn = merged[key][1] if key in merged else (leaf if isinstance(leaf, str) else _compile_float(leaf, names))
            merged[key] = ((merged[key][0] if key in merged else 0.0) + k, fn)
        vs = tuple((k, fn) for k, fn in merged.values() if isinstance(fn, str))
        fs = tuple((k, fn) for k, fn in merged.values() if not isinstance(fn, str))
        if not vs and not fs:
            return lambda env: c0
        if not fs and len(vs) == 1:
            (k1, n1), = vs
            return (lambda env: env[n1]) if (k1 == 1.0 and c0 == 0.0) else (lambda env: c0 + k1 * env[n1])

        def linear(env):
            out = c0
            for k, n in vs:
                out += k * env[n]
            for k, f in fs:
                out += k * f(env)
            return out

        return linear
    if isinstance(expr, S.BinOp):
        op, a, b = _BIN[expr.op], _compile_float(expr.left, names), _compile_float(expr.right, names)
        return lambda env: op(a(env), b(env))
    if isinstance(expr, S.Unary):
        a = _compile_float(expr.operand, names)
        return (lambda env: -a(env)) if expr.op == "-" else a
    if isinstance(expr, S.Compare):
        op, a, b = _CMP[expr.op], _compile_float(expr.left, names), _compile_float(expr.right, names)
        return lambda env: 1.0 if op(a(env), b(env)) else 0.0
    if isinstance(expr, S.BoolOp):
        a, b = _compile_float(expr.left, names), _compile_float(expr.right, names)
        if expr.op == "and":
            return lambda env: 1.0 if (a(env) != 0 and b(env) != 0) else 0.0
        return lambda env: 1.0 if (a(env) != 0 or b(env) != 0) else 0.0
    if isinstance(expr, S.Not):
        a = _compile_float(expr.operand, names)
        return lambda env: 1.0 if a(env) == 0 else 0.0
    if isinstance(expr, S.IfElse):
        c, t, o = (_compile_float(e, names) for e in (expr.cond, expr.then, expr.other))
        return lambda env: t(env) if c(env) != 0 else o(env)
    if isinstance(expr, S.Call) and expr.fn in _CALLS:
        fn, args = _CALLS[expr.fn], [_compile_float(a, names) for a in expr.args]
        if len(args) == 1:
            a0 = args[0]
            return lambda env: fn(a0(env))
        return lambda env: fn(*[a(env) for a in args])
    # Tables (and anything else): the general compiler, over floats.
    return compile_expr(rename(expr, names) if names else expr, xp=_F)


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
        # Every expression reads node names (and slots) from one environment, so a step costs
        # its arithmetic and no dictionary building.
        try:
            self.fns = {}
            for n in s.net.nodes:
                exprs = n.args if n.kind == "sample" else (n.expr,) if n.kind == "assign" else ()
                self.fns[n.name] = [compile_float(e, n.env_names) for e in exprs]
            for st in s.steps:
                if st.mode == "solve":  # the child's expression, its noise parent read from _SOLVE
                    child = s.net[st.child]
                    names = {**child.env_names, **{e: _SOLVE for e, p in child.env_names.items() if p == st.node.name}}
                    self.fns[("solve", st.node.name)] = compile_float(child.expr, names)
            self.target = compile_float(plan.target) if plan.target is not None else None
        except Exception:  # e.g. a parameter array's index (posterior queries are compiled)
            raise Unsupported from None
        self.doms = [s.net[d].domain for d in plan.dist_vars]
        self.program = [self._step(st) for st in s.steps]

    def _step(self, st) -> tuple:
        """One step as a flat tuple (mode first): the run loop does no lookups."""
        node, fns = st.node, self.fns
        name, obs = node.name, st.obs
        if st.mode == "fixed":
            slot = node.value.index if isinstance(node.value, Slot) else None
            return ("fixed", name, obs, slot, None if slot is not None else float(node.value))
        if st.mode == "solve":
            bad, logpdf = _CONTINUOUS[node.family][:2]
            return ("solve", name, self.s.evidence[st.child], fns[("solve", name)], fns[name], bad, logpdf)
        if st.mode == "solved":
            return ("solved", name, obs)
        if st.mode == "assign":
            return ("assign", name, obs, fns[name][0])
        if st.mode == "observe" and node.family in _DISCRETE:
            bad, mass = _DISCRETE[node.family]
            return ("mass", name, obs, fns[name], bad, mass)
        loc, scale = fns[name]
        logpdf, to_z, from_z = _CONTINUOUS[node.family][1:]
        normal = node.family == "Normal"  # its z <-> x written inline: the common case, and the cheapest
        if st.mode == "observe":
            # Only whether the weight is 0 matters (every draw has it): a Normal density is
            # positive at any finite value with valid parameters.
            return ("density", name, obs, loc, scale, st.share, node.noise, normal, logpdf, to_z)
        return ("draw", name, obs, loc, scale, node.noise, normal, from_z)

    def __call__(self, values) -> dict:
        try:
            return self._run(np.asarray(values, dtype=float).tolist())
        except _ARITHMETIC:
            raise Unsupported from None

    def _run(self, values) -> dict:
        env = {f"${i}": v for i, v in enumerate(values)}  # slots, then every node's value
        z: dict = {}  # abducted noise, as a standard normal
        logw = 0.0
        flags = []
        for step in self.program:
            mode, name, obs = step[0], step[1], step[2]
            if mode == "draw":  # from a noise abducted by an earlier copy
                loc, scale = step[3](env), step[4](env)
                if not (scale > 0 and loc == loc):  # invalid (or NaN): the compiled program reports it
                    raise Unsupported
                flags.append(False)
                val = loc + scale * z[step[5]] if step[6] else step[7]((loc, scale), z[step[5]])
                if obs is not None and not abs(val - env[obs]) <= 1e-9:
                    logw = -math.inf
                env[name] = val
            elif mode == "density":
                loc, scale = step[3](env), step[4](env)
                if not (scale > 0 and loc == loc):
                    raise Unsupported
                flags.append(False)
                y = env[obs]
                if not step[7]:
                    logw += step[8]((loc, scale), y)
                if step[5]:
                    z[step[6]] = (y - loc) / scale if step[7] else step[9]((loc, scale), y)
                env[name] = y
            elif mode == "fixed":
                val = values[step[3]] if step[3] is not None else step[4]
                if obs is not None and not abs(val - env[obs]) <= 1e-9:
                    logw = -math.inf
                env[name] = val
            elif mode == "assign":
                val = float(step[3](env))
                flags.append(val != val)
                if obs is not None and not abs(val - env[obs]) <= 1e-9:
                    logw = -math.inf
                env[name] = val
            elif mode == "solve":  # the observed child's other parents are known: solve for this noise
                y, f = env[obs], step[3]
                env[_SOLVE] = 0.0
                a = float(f(env))
                env[_SOLVE] = 1.0
                b = float(f(env)) - a
                params = [float(fn(env)) for fn in step[4]]
                flags.append(step[5](params))
                val = (y - a) / (b if b != 0 else 1.0)
                logw += -math.inf if b == 0 else step[6](params, val) - math.log(abs(b))
                env[name] = val
            elif mode == "solved":
                env[name] = env[obs]
                flags.append(False)
            else:  # "mass": a discrete copy observed once
                params = [float(fn(env)) for fn in step[3]]
                flags.append(step[4](params))
                p = step[5](params, env[obs])
                logw += math.log(p) if p > 0 else -math.inf
                env[name] = env[obs]
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
