"""Exact answers for linear-Gaussian queries: Gaussian conditioning, no sampling.

When every mechanism a query's network holds is affine in its parents with Normal noise
(``y ~ Normal(a + b·x, s)`` with a constant ``s``, ``y := a + b·x + c·u``, or an intervened
copy held at a value), every variable of every world is an affine function of the noise
groups: ``v = c + B ε`` with ``ε ~ Normal(0, I)``, one entry per noise group (copies of a
node in several worlds share theirs, which is how twin networks couple worlds; a ``~``
statement reads ``y = loc + scale · Φ⁻¹(U) = loc + scale · ε``). The joint of every variable
across the worlds is then Gaussian, and conditioning on observed values ``B_E ε = y_E - c_E``
is a linear-algebra problem:

* ``E[ε | B_E ε = r]`` is the least-norm solution ``B_E⁺ r`` (the orthogonal projection of
  the prior mean 0 onto the solutions, as ``Cov(ε) = I``);
* the conditional covariance of ``ε`` is ``I - B_E⁺ B_E``;
* the evidence has probability zero when ``B_E ε = r`` has no solution (an observed value
  that the others determine, observed at a different value).

So ``E[f | evidence]`` for an affine ``f`` is exact, and so is ``P(f > g | evidence)``
(a Normal CDF) for affine ``f``, ``g``: no Monte Carlo at all, and the shared latent of
``x := z + u + e_x; y := 2 x + u + e_y`` is no obstacle to conditioning on ``x`` and ``y``
together (Monte Carlo must solve each observed value for a noise term of its own).

Queries without evidence (``E[y | do(x = x + 1)]``, ``P(y > 1 | do(x = 0))``) are the
unconditioned case: the mean and variance of ``v = c + B ε`` read off directly.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n latent u ~ Normal(0, 1)\\n z ~ Normal(0, 1)\\n x := z + u\\n y ~ Normal(x + u, 1)\\n}")
>>> r = m.query("E[z | x = 1, y = 2]")  # Cov(z; x, y) = (1, 1), Cov(x, y) = [[2, 3], [3, 6]]
>>> round(r.value, 12), r.stderr, r.method
(0.333333333333, None, 'exact (gaussian)')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..language import syntax as S
from ..language.errors import QueryError
from ..model.expressions import free_vars
from ..model.ir import Model, Slot
from ..model.lazy_modules import lazy_module
from ..model.queries import Plan
from .scalar import compile_float

special = lazy_module("scipy.special")  # ~0.1 s to import; one closed form uses it

METHOD = "exact (gaussian)"
_CMP = {">": 1.0, ">=": 1.0, "<": -1.0, "<=": -1.0}  # sign of (left - right) the event asks for


class NotGaussian(Exception):
    """The query, or these values, leave the linear-Gaussian family."""


Affine = tuple  # (constant, {name: coefficient})


def affine(expr: S.Expr, names: dict, consts: dict) -> Affine:
    """``(c, {name: coef})`` with ``expr = c + Σ coef · name``; raises :class:`NotGaussian`.

    ``names`` renames the expression's variables (expression name -> node name); variables in
    ``consts`` (query values, ``$0``, ``$1``, ...) are numbers. A sub-expression of constants
    only (``sqrt(2)``, ``k / 4``) is evaluated.

    >>> from causaldsl.language.parser import parse_query
    >>> affine(parse_query("E[2 * (x - k) / 4 + sqrt(4) * y]").expr, {}, {"k": 3.0})
    (-1.5, {'x': 0.5, 'y': 2.0})
    """
    if all(v in consts for v in free_vars(expr)):
        try:
            value = float(compile_float(expr)(consts))
        except (ArithmeticError, ValueError, TypeError):
            raise NotGaussian from None
        if not math.isfinite(value):
            raise NotGaussian
        return value, {}
    if isinstance(expr, S.Var) and expr.world is None:
        return 0.0, {names.get(expr.name, expr.name): 1.0}
    if isinstance(expr, S.Unary) and expr.op in "+-":
        c, terms = affine(expr.operand, names, consts)
        sign = -1.0 if expr.op == "-" else 1.0
        return sign * c, {k: sign * v for k, v in terms.items()}
    if isinstance(expr, S.BinOp) and expr.op in ("+", "-", "*", "/"):
        (ca, ta), (cb, tb) = affine(expr.left, names, consts), affine(expr.right, names, consts)
        if expr.op in "+-":
            sign = 1.0 if expr.op == "+" else -1.0
            out = dict(ta)
            for k, v in tb.items():
                out[k] = out.get(k, 0.0) + sign * v
            return ca + sign * cb, out
        if expr.op == "*" and not (ta and tb):
            k, (c, terms) = (cb, (ca, ta)) if not tb else (ca, (cb, tb))
            return c * k, {n: v * k for n, v in terms.items()}
        if expr.op == "/" and not tb and cb != 0:
            return ca / cb, {n: v / cb for n, v in ta.items()}
    raise NotGaussian


def joint(net: Model, consts: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """``(index, c, B)``: every node ``v = c[index[v]] + B[index[v]] @ ε``, one column of ``B``
    per noise group; raises :class:`NotGaussian` for a mechanism outside the family.

    >>> import causaldsl as cd
    >>> idx, c, B = joint(cd.model("model m {\\n x ~ Normal(1, 2)\\n y := 3 * x - 1\\n}").ir, {})
    >>> c.tolist(), B.tolist()
    ([1.0, 2.0], [[2.0], [6.0]])
    """
    if net.params:
        raise NotGaussian
    rows: dict[str, tuple[float, dict]] = {}
    groups: dict[str, int] = {}

    def combine(c0: float, terms: dict) -> tuple[float, dict]:
        out: dict = {}
        for name, k in terms.items():
            if name not in rows:  # a parameter or anything else that is not a node
                raise NotGaussian
            pc, pl = rows[name]
            c0 += k * pc
            for g, b in pl.items():
                out[g] = out.get(g, 0.0) + k * b
        return c0, out

    for node in net.nodes:
        env = node.env_names
        if node.kind == "fixed":
            value = consts[f"${node.value.index}"] if isinstance(node.value, Slot) else float(node.value)
            rows[node.name] = (float(value), {})
        elif node.kind == "assign":
            rows[node.name] = combine(*affine(node.expr, env, consts))
        elif node.family == "Normal":
            c0, load = combine(*affine(node.args[0], env, consts))
            scale, moving = affine(node.args[1], env, consts)
            if moving or not scale > 0:
                raise NotGaussian
            g = groups.setdefault(node.noise, len(groups))
            rows[node.name] = (c0, {**load, g: load.get(g, 0.0) + scale})
        else:
            raise NotGaussian
    index = {name: i for i, name in enumerate(rows)}
    c = np.array([rows[n][0] for n in index])
    B = np.zeros((len(index), len(groups)))
    for name, i in index.items():
        for g, b in rows[name][1].items():
            B[i, g] = b
    return index, c, B


def check_linear(net: Model, consts: dict) -> None:
    """Raise :class:`NotGaussian` where a mechanism of ``net`` is outside the family, as
    :func:`joint` would, without combining the loadings (which grow with the ancestors): a model
    whose last node is not linear is refused at the cost of reading its expressions.

    >>> import causaldsl as cd
    >>> check_linear(cd.model("model m {\\n x ~ Normal(0, 1)\\n y := x * x\\n}").ir, {})
    Traceback (most recent call last):
    ...
    causaldsl.engines.gaussian.NotGaussian
    """
    if net.params:
        raise NotGaussian
    for node in net.nodes:
        if node.kind == "assign":
            affine(node.expr, node.env_names, consts)
        elif node.kind == "sample":
            if node.family != "Normal":
                raise NotGaussian
            affine(node.args[0], node.env_names, consts)
            scale, moving = affine(node.args[1], node.env_names, consts)
            if moving or not scale > 0:
                raise NotGaussian


def condition(E: np.ndarray, r: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """``(mean, covariance)`` of ``ε ~ Normal(0, I)`` given ``E ε = r``; None when no ``ε`` solves it.

    >>> mean, cov = condition(np.array([[1.0, 1.0]]), np.array([2.0]))
    >>> mean.round(12).tolist(), cov.round(12).tolist()
    ([1.0, 1.0], [[0.5, -0.5], [-0.5, 0.5]])
    """
    pinv = np.linalg.pinv(E)
    mean = pinv @ r
    if np.linalg.norm(E @ mean - r) > 1e-9 * (1.0 + np.linalg.norm(r)):
        return None
    return mean, np.eye(E.shape[1]) - pinv @ E


@dataclass(frozen=True)
class GaussianProgram:
    """``program(values) -> {"estimate", "any"}`` for one linear-Gaussian query structure, or None
    when these values leave the family (a slot that divides by zero)."""

    plan: Plan

    def __call__(self, values) -> Optional[dict]:
        plan = self.plan
        consts = {f"${i}": float(v) for i, v in enumerate(np.asarray(values, dtype=float))}
        try:
            index, c, B = joint(plan.network, consts)
            event = _event(plan.target, consts) if plan.kind == "prob" else None
            f = affine(plan.target, {}, consts) if plan.kind == "expect" else event[1]
        except NotGaussian:
            return None
        ev = [index[name] for name, _ in plan.evidence]
        r = np.array([consts[slot] for _, slot in plan.evidence]) - c[ev]
        post = condition(B[ev], r)
        if post is None:
            return {"estimate": math.nan, "any": False}
        mean_eps, cov_eps = post
        load = np.zeros(B.shape[1])
        c0 = f[0]
        for name, k in f[1].items():
            if name not in index:
                return None
            c0 += k * c[index[name]]
            load += k * B[index[name]]
        mean = float(c0 + load @ mean_eps)
        if plan.kind == "expect":
            return {"estimate": mean, "any": True}
        sd = math.sqrt(max(float(load @ cov_eps @ load), 0.0))
        sign = event[0]
        if sd <= 1e-12 * (1.0 + abs(mean)):  # the event is decided by the evidence
            strict = event[2]
            hit = sign * mean > 0 or (not strict and abs(mean) <= 1e-12 * (1.0 + abs(c0)))
            return {"estimate": 1.0 if hit else 0.0, "any": True}
        return {"estimate": float(special.ndtr(sign * mean / sd)), "any": True}


def _event(target: Optional[S.Expr], consts: dict) -> tuple[float, Affine, bool]:
    """``(sign, left - right, strict)`` of an event ``left > right`` (or ``<``, ``>=``, ``<=``)."""
    if not (isinstance(target, S.Compare) and target.op in _CMP):
        raise NotGaussian
    left, right = affine(target.left, {}, consts), affine(target.right, {}, consts)
    diff = dict(left[1])
    for k, v in right[1].items():
        diff[k] = diff.get(k, 0.0) - v
    return _CMP[target.op], (left[0] - right[0], diff), target.op in ("<", ">")


# Entries of B (nodes x noise groups) past which a query without evidence is left to Monte Carlo:
# :func:`joint` holds each node's loading on every noise group it reads, which grows as the square
# of a long chain (4,000 nodes: 10 s and 0.7 GB), where Monte Carlo's draws grow linearly. A
# query with evidence has no such fallback (Monte Carlo may not solve its evidence) and has no bound.
UNCONDITIONED_MAX = 2000 * 2000


def _dense_size(net: Model) -> int:
    """Nodes times noise groups: the size of ``B`` in :func:`joint`."""
    return len(net.nodes) * len({n.noise for n in net.nodes if n.kind == "sample"})


def compile_gaussian(plan: Plan) -> Optional[GaussianProgram]:
    """The exact program of a query on a linear-Gaussian network, or None.

    With no evidence the answer is the Gaussian's own mean (or Normal CDF): an intervention,
    a shift ``do(X = X + 1)`` (an affine mechanism reading ``X``'s natural value) and a
    counterfactual's worlds all keep the network linear-Gaussian (Pearl 2009, §5.2: in a linear
    SEM the effect of an intervention is read off the coefficients).

    None also when Monte Carlo would need no draws at all (every noise solved from the
    evidence): :mod:`~causaldsl.engines.scalar` answers those exactly, and faster.

    >>> import causaldsl as cd
    >>> from causaldsl.model.queries import plan_query
    >>> from causaldsl.language.parser import parse_query
    >>> m = cd.model("model m {\\n z ~ Normal(0, 1)\\n x ~ Normal(z, 1)\\n}")
    >>> round(compile_gaussian(plan_query(m.ir, parse_query("E[z | x = 2]")))(np.array([2.0]))["estimate"], 12)
    1.0
    >>> q = plan_query(m.ir, parse_query("E[x | do(z = z + 1)]"))
    >>> compile_gaussian(q)(q.value_array)["estimate"]
    1.0
    """
    if plan.target is None or (not plan.evidence and _dense_size(plan.network) > UNCONDITIONED_MAX):
        return None
    dummy = {f"${i}": 1.0 for i in range(max(len(plan.values), 1))}
    try:
        check_linear(plan.network, dummy)
        if plan.kind == "expect":
            affine(plan.target, {}, dummy)
        elif plan.kind == "prob":
            _event(plan.target, dummy)
        else:
            return None
    except NotGaussian:
        return None
    from .montecarlo import Schedule

    try:
        if Schedule(plan.network, dict(plan.evidence)).deterministic:
            return None
    except QueryError:  # Monte Carlo cannot solve the evidence for its noise: this engine can
        pass
    return GaussianProgram(plan)
