"""Monte Carlo queries with nothing left to draw, answered once, in NumPy.

When every noise term a query needs is solved from its evidence (a fully observed unit in an
additive-noise model: abduction, action, prediction), every draw of the Monte Carlo engine
is the same draw: the answer is exact, its standard error 0, and one evaluation suffices.
Such a :class:`~causaldsl.engines.montecarlo.Schedule` is *deterministic*; this module runs it
once, with no JAX at all: no compilation, so the first answer costs no more than the later ones.

Nothing here is a third implementation: expressions are
:func:`~causaldsl.model.expressions.compile_expr`'s closures with ``xp=numpy`` and every family
is its one definition in :mod:`~causaldsl.model.distributions` (checks, tables, densities,
``z`` maps), both at one value per variable (n = 1), under NumPy's rules for ``log(0)``,
``1 / 0`` and overflows, as in the compiled program. It covers the continuous families whose
noise is kept as a standard normal ``z`` and whose density is written there (Normal,
LogNormal), and finite families observed once; anything else raises :class:`Unsupported`, and
the caller runs the compiled program instead, which gives the same answer.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(2 * x, 1)\\n}")
>>> r = m.query("E[y[x = 0] | x = 1, y = 3]")
>>> r.value, r.stderr, r.samples
(1.0, 0.0, 1)
"""

from __future__ import annotations

import math

import numpy as np

from ..model.distributions import FAMILIES
from ..language import syntax as S
from ..model.expressions import compile_expr, rename, walk
from ..model.ir import Slot

_SOLVE = "$solve"  # the noise being solved for, in its child's expression (slots are $0, $1, ...)


class Unsupported(Exception):
    """This schedule (or these values) needs the compiled program."""


def compile_float(expr, names=None):
    """``fn(env) -> value`` computing ``expr`` over one value per variable, its variables renamed
    by ``names`` (expression name -> node name): :func:`~causaldsl.model.expressions.compile_expr`
    itself, in NumPy (n = 1).

    >>> from causaldsl.language.parser import parse_query
    >>> float(compile_float(parse_query("E[2 * x - (y - 1) / 4]").expr)({"x": 1.0, "y": 3.0}))
    1.5
    >>> float(compile_float(parse_query("E[if 2 > x then sigmoid(0) else 3]").expr)({"x": 0.0}))
    0.5
    """
    return compile_expr(rename(expr, names) if names else expr, xp=np)


def _continuous(family: str) -> bool:
    """A continuous family whose noise is kept as a standard normal z, with its density written once."""
    fam = FAMILIES.get(family)
    return fam is not None and fam.from_z is not None and fam.logpdf is not None


def _discrete(family: str) -> bool:
    """A finite family with a probability table, observed once."""
    fam = FAMILIES.get(family)
    return fam is not None and fam.support == "finite" and fam.pmf is not None


def _mass(fam, params, k: float) -> float:
    """P(X = k) from the family's table (its one code path), at one parameter setting."""
    return float(fam.pmf(tuple(np.float64(p) for p in params), np.array([k]))[0])


def supported(schedule) -> bool:
    """True when :func:`evaluate` can run ``schedule`` (it must be deterministic)."""
    if not schedule.deterministic:
        return False
    for st in schedule.steps:
        node = st.node
        if st.mode in ("observe", "draw", "solve"):
            if _continuous(node.family):
                continue
            if st.mode == "observe" and not st.share and _discrete(node.family):
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
        except Exception:
            raise Unsupported from None
        if any(isinstance(e, S.Index) for n in s.net.nodes for x in (n.args if n.kind == "sample" else
               (n.expr,) if n.kind == "assign" else ()) for e in walk(x)):
            raise Unsupported  # a parameter array's entry: posterior queries are compiled
        self.doms = [s.net[d].domain for d in plan.dist_vars]
        self.program = [self._step(st) for st in s.steps]

    def _step(self, st) -> tuple:
        """One step as a flat tuple (mode first): the run loop does no lookups."""
        node, fns = st.node, self.fns
        name, obs = node.name, st.obs
        if st.mode == "fixed":
            slot = node.value.index if isinstance(node.value, Slot) else None
            return ("fixed", name, obs, slot, None if slot is not None else float(node.value))
        fam = FAMILIES[node.family] if node.family else None
        if st.mode == "solve":
            return ("solve", name, self.s.evidence[st.child], fns[("solve", name)], fns[name],
                    lambda p: bool(fam.invalid(p)), fam.logpdf)
        if st.mode == "solved":
            return ("solved", name, obs)
        if st.mode == "assign":
            return ("assign", name, obs, fns[name][0])
        if st.mode == "observe" and _discrete(node.family):
            return ("mass", name, obs, fns[name], lambda p: bool(fam.invalid(tuple(p))),
                    lambda p, k: _mass(fam, p, k))
        loc, scale = fns[name]
        logpdf, to_z, from_z = fam.logpdf, fam.to_z, fam.from_z
        normal = node.family == "Normal"  # its z <-> x written inline: the common case, and the cheapest
        if st.mode == "observe":
            # Only whether the weight is 0 matters (every draw has it): a Normal density is
            # positive at any finite value with valid parameters.
            return ("density", name, obs, loc, scale, st.share, node.noise, normal, logpdf, to_z)
        return ("draw", name, obs, loc, scale, node.noise, normal, from_z)

    def __call__(self, values) -> dict:
        try:
            with np.errstate(all="ignore"):  # NumPy's rules, as in the compiled program
                return self._run(list(np.asarray(values, dtype=float)))  # np.float64 each
        except (ArithmeticError, ValueError):  # Python's own (math.log of a negative number): compiled instead
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
                params = [np.float64(fn(env)) for fn in step[4]]
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
