"""Exact answers for discrete models: factor tensors and one einsum.

Every variable of the (multi-world) network is an einsum index. Each noise
group (the copies of one variable across worlds) contributes one factor: for a
single copy its conditional probability table; for copies ``c_1..c_k`` of a
``~`` statement sharing ``U``, the comonotone coupling

    P(c_1 = j_1, ..., c_k = j_k | parents) = max(0, min_i F_i(j_i) - max_i F_i(j_i - 1))

the length of the intersection of the copies' CDF intervals (or, for a variable with
``coupling = gumbel``, the Gumbel-max joint of two copies: :mod:`~causaldsl.engines.coupling`). A deterministic
``:=`` copy is the same formula with point masses. The answer is
``Σ factors · evidence · target / Σ factors · evidence``, computed in a single
contraction (with a stacked ``[1, target]`` operand) along one path found once
per structure by opt_einsum (:mod:`~causaldsl.engines.contraction`): the NumPy
answers and the compiled program run the same plan.

An intervened variable held at a query value, if it has finitely many values,
is an einsum index too, with a one-hot operand for the held value: its
children's factors are tabulated over all its values (undefined entries set to
0, and each copy's invalid-parameter flag read at the held value only), so they
are constants like the rest.

Query values (``do`` values, observed values) are arguments, so a new value
reuses the compiled function. So are the model's parameters (``theta``, a dict
of arrays, empty for a model without ``param``), which lets a posterior query
be one ``jax.vmap`` of the same function over the draws (:func:`compile_exact`).

Latency (:class:`ExactProgram`, the engine of a query without parameters). XLA
compilation of a contraction costs 0.1-3 s, a hundred times the NumPy time of
the same contraction, and would dominate the first answer. So:

* the factors that do not depend on the query's values (all of them but those
  with a parent held at a value of an infinite domain, or of more than 64
  values) are tabulated once, in NumPy, and compiled into the program as
  constants (XLA folds what it can of them);
* the answers come from NumPy (the same code, ``xp=numpy``) until the jitted
  function is ready. It is compiled, on a background thread, once a structure
  is asked a second time (a new value counts): a question asked once costs no
  compilation at all, and its answer does not wait for a thread to be woken.
  Once it is ready every later answer uses it.
"""

from __future__ import annotations

import collections
import operator
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

from ..language import syntax as S
from ..model.distributions import FAMILIES
from ..model.expressions import compile_expr, free_vars
from ..model.ir import Slot
from ..model.queries import EVENT, Plan
from ..model.relevance import prune
from .config import float64, settings
from .contraction import ONE_PASS, plan as contraction_plan
from .coupling import gumbel_max_joint, quantile_joint


def _close(a, b, xp=jnp):
    return xp.abs(a - b) <= 1e-9 * xp.maximum(1.0, xp.abs(b))


def _one_hot(domain, value, xp):
    """The indicator of ``value`` over ``domain``: ``_close(domain, value)`` as floats."""
    if xp is np and len(domain) <= 16:  # a few values: Python floats, not five NumPy calls
        v = float(value)
        tol = 1e-9 * max(1.0, abs(v))
        return np.array([1.0 if abs(d - v) <= tol else 0.0 for d in domain.tolist()])
    return _close(xp.asarray(domain), value, xp).astype(float)


_NO_FLAGS = np.zeros(0, bool)  # a compiled answer's flags when none is set
_ON_DEVICE_MAX = 64  # query values a compiled program keeps on the device
_LIFT_MAX = 64  # values of an intervened variable past which its children stay computed per value


def _spread(a, shape: tuple, xp):
    """``a`` broadcast to ``shape`` (as is where it has that shape already: most tables do)."""
    return a if getattr(a, "shape", None) == shape else xp.broadcast_to(a, shape)


def _pmf(family: str, params, dom, xp):
    """``(table, invalid)`` of a finite family over ``dom`` for every parent configuration, in
    the namespace of ``params`` (NumPy for the first answers, JAX when traced)."""
    fam = FAMILIES[family]
    return fam.pmf(params, dom), fam.invalid(params)


def _on_grid(a, own: list, pnames: list, extra: int = 0):
    """``a``, whose leading axes are the parents ``own`` (then ``extra`` axes of its own), with
    its parent axes moved to their places among ``pnames`` and a length-1 axis for each other."""
    order = sorted(range(len(own)), key=lambda i: pnames.index(own[i]))
    a = np.transpose(a, order + list(range(len(own), len(own) + extra)))
    shape = [1] * len(pnames) + list(a.shape[len(own):])
    for i in order:
        shape[pnames.index(own[i])] = a.shape[order.index(i)]
    return a.reshape(shape)


_VALUE = operator.attrgetter("value")


def table_pmf(c, own: list, domains: list):
    """``(pmf, bad)`` of a Bernoulli or Categorical copy read straight off its numbers, where each
    probability is a number or a table of numbers over exactly ``own`` with the rows in the grid's
    order (how conditional probability tables are written, BIF's among them); ``None`` otherwise
    (the expressions are then evaluated over the grid). The flags are the families' own rules
    (:mod:`~causaldsl.model.distributions`): a probability outside [0, 1] or NaN, and for a
    Categorical a row whose sum is off 1 by more than 1e-6.

    >>> from causaldsl.model.ir import Node
    >>> t = S.Table(("a",), ((0.0,), (1.0,)), (S.Num(0.2), S.Num(0.7)))
    >>> n = Node("y", "sample", ("a",), "Bernoulli", (t,), domain=(0.0, 1.0))
    >>> pmf, bad = table_pmf(n, ["a"], [(0.0, 1.0)])
    >>> pmf.round(3).tolist(), bad.tolist()
    ([[0.8, 0.2], [0.3, 0.7]], [False, False])
    """
    if c.kind != "sample" or c.family not in ("Bernoulli", "Categorical"):
        return None
    bernoulli = c.family == "Bernoulli"
    if (bernoulli and tuple(c.domain) != (0.0, 1.0)) or (not bernoulli and len(c.args) != len(c.domain)):
        return None
    shape = tuple(map(len, domains))
    n = int(np.prod(shape)) if shape else 1
    names = c.env_names
    cols, keys = [], None
    for arg in c.args:
        if type(arg) is S.Num:
            cols.append(np.full(n, float(arg.value)))
        elif type(arg) is S.Table and tuple(names.get(e, e) for e in arg.parents) == tuple(own):
            if keys is None or arg.keys is not keys and arg.keys != keys:
                if not arg.in_grid_order(domains):
                    return None
                keys = arg.keys
            values = arg.values
            if set(map(type, values)) != {S.Num}:  # in C: a BIF table has 10^5 numbers
                return None
            cols.append(np.fromiter(map(_VALUE, values), float, len(values)))
        else:
            return None
    ps = np.array(cols, dtype=float).T  # (rows, arguments)
    with np.errstate(invalid="ignore"):
        if bernoulli:
            p = ps[:, 0]
            pmf = np.stack([1.0 - p, p], axis=-1)
            bad = ~((0.0 <= p) & (p <= 1.0))  # NaN fails both comparisons
        else:
            pmf = ps
            bad = (((ps < 0) | (ps > 1) | np.isnan(ps)).any(axis=-1)) | (np.abs(ps.sum(axis=-1) - 1) > 1e-6)
    return pmf.reshape(shape + (pmf.shape[-1],)), bad.reshape(shape)


@dataclass(frozen=True)
class Cost:
    """What an exact answer would take, known from shapes before anything is allocated:
    ``memory`` in bytes (its factors and its largest step, float64; an estimate), ``work`` the
    operations of its contraction as opt_einsum counts them (``PathInfo.opt_cost``), ``wide``
    whether a step joins more indices than NumPy's einsum takes (52), ``largest`` the entries
    of its largest intermediate and ``width`` the treewidth its path proves for the network
    it contracts (:attr:`causaldsl.engines.contraction.Plan.width`)."""

    memory: int
    work: int
    wide: bool = False
    largest: int = 0
    width: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(max(self.memory, other.memory), self.work + other.work, self.wide or other.wide,
                    max(self.largest, other.largest), max(self.width, other.width))

    def times(self, k: int) -> "Cost":
        """The cost of ``k`` answers at once (a posterior answer vmaps over its draws)."""
        return Cost(self.memory * k, self.work * k, self.wide, self.largest * k, self.width)

    @property
    def summary(self) -> str:
        """The estimate in words, as answers and refusals show it.

        >>> Cost(memory=35_200_000_000, work=4.8e11, largest=1 << 30, width=30).summary
        'treewidth 30 (estimated), largest table 1.07e+09 entries, 4.8e+11 multiply-adds'
        """
        return (f"treewidth {self.width} (estimated), largest table {self.largest:.3g} entries, "
                f"{self.work:.2g} multiply-adds")


def structure_cost(plan: Plan) -> Cost:
    """The :class:`Cost` of answering ``plan`` exactly (its path is searched, nothing is tabulated).

    >>> import causaldsl as cd
    >>> from causaldsl.language.parser import parse_query
    >>> from causaldsl.model.queries import plan_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.9 })\\n}")
    >>> structure_cost(plan_query(m.ir, parse_query("P(y = 1)")))
    Cost(memory=192, work=20, wide=False, largest=3, width=1)
    """
    return _Structure(plan).cost


class _Structure:
    """Everything about a plan's contraction that depends neither on values nor on the array library."""

    def __init__(self, plan: Plan, tables: Optional[dict] = None, one_pass: bool = False,
                 factors: Optional[dict] = None):
        self.plan = plan
        # A tiny contraction is one einsum call, with no path search (engines/contraction.py):
        # for the NumPy answers of ExactProgram only. A posterior answer runs the plan in JAX,
        # vmapped over thousands of draws, where the searched path's figures are what it costs.
        self._one_pass = ONE_PASS if one_pass else 0
        # Only the components of the network the target reaches past the observed variables
        # (model/relevance.py): the rest multiplies numerator and denominator alike.
        targets = ([v for v in free_vars(plan.target) if not v.startswith("$")] if plan.target is not None
                   else []) + list(plan.dist_vars)
        # left_out: the observed variables cut with their components, which explain() names
        net, self.evidence, self.left_out = prune(plan.network, targets, plan.evidence)
        # The model's conditional tables, shared by every plan of one Engine (see node_table).
        self.tables = {} if tables is None else tables
        # Each variable's factor as the contraction takes it, shared alike (see static_factor).
        self.factors = {} if factors is None else factors
        variables = [n for n in net.nodes if n.kind != "fixed"]
        self.fixed = {n.name: n for n in net.nodes if n.kind == "fixed"}
        # An intervened variable held at a query value, with finitely many values, becomes an axis
        # of its children's factors, selected at run time by a one-hot vector: those factors are
        # then constants of the structure, which the compiled program folds (see ExactProgram).
        self.lifted = [name for name, n in self.fixed.items()
                       if isinstance(n.value, Slot) and n.domain is not None and len(n.domain) <= _LIFT_MAX
                       and any(name in c.parents for c in variables)]
        lifted = set(self.lifted)
        groups: dict[str, list] = defaultdict(list)
        for n in variables:
            groups[n.noise].append(n)
        # Tuples, not lists, here and below: a program outlives its question, and a tuple of names
        # or flags is a container the garbage collector stops tracking (lists it walks at every
        # full pass, whose cost grows with what every question left behind).
        self.groups = tuple(tuple(g) for g in groups.values())
        self.nodes = tuple(n for g in self.groups for n in g)  # the order of the invalid flags
        self.domains = {n.name: np.asarray(n.domain, dtype=float) for n in variables}
        self.domains.update({name: np.asarray(self.fixed[name].domain, dtype=float) for name in self.lifted})
        self.domain_of = {n.name: n.domain for n in variables}
        self.domain_of.update({name: self.fixed[name].domain for name in self.lifted})
        self.domains_fixed = {d: np.asarray(self.fixed[d].domain, dtype=float)
                              for d in plan.dist_vars if d in self.fixed}
        self.exprs = {n.name: (n.args if n.kind == "sample" else (n.expr,)) for n in variables}
        self._compiled: dict = {}
        self.target_vars = ([v for v in free_vars(plan.target) if not v.startswith("$") and v not in self.fixed]
                            if plan.target is not None else [])
        # A group whose copies read an intervened (fixed) parent held at a query value must be
        # recomputed for each value; every other group is a constant of the structure (given theta).
        self.dynamic = tuple(any(p in self.fixed and p not in lifted and isinstance(self.fixed[p].value, Slot)
                                 for c in copies for p in c.parents) for copies in self.groups)
        self.pnames = tuple(tuple(dict.fromkeys(p for c in copies for p in c.parents if p not in self.fixed or p in lifted))
                            for copies in self.groups)
        self.lifted_in = tuple(tuple(p for p in pnames if p in lifted) for pnames in self.pnames)
        self._equation()

    def compiled(self, name: str, xp):
        key = (name, xp is np)
        if key not in self._compiled:
            exprs = (self.plan.target,) if name == "$target" else self.exprs[name]
            self._compiled[key] = [compile_expr(e, xp=xp) for e in exprs]
        return self._compiled[key]

    def _equation(self) -> None:
        """The contraction's operands as einsum terms and its plan, from shapes alone."""
        plan = self.plan
        index: dict[str, int] = {}
        for copies in self.groups:
            for c in copies:
                index[c.name] = len(index)
        n_out = len(index)  # the stacked [1, target, undefined] axis
        for i, name in enumerate(self.lifted):  # after the axes of the answer's distribution
            index[name] = n_out + 1 + len(plan.dist_vars) + i
        size = {index[name]: len(dom) for name, dom in self.domains.items()}
        size[n_out] = 3
        terms = [[index[p] for p in pnames] + [index[c.name] for c in copies]
                 for copies, pnames in zip(self.groups, self.pnames)]
        self.evidence_ops = [(copy, slot) for copy, slot in self.evidence if copy not in self.fixed]
        self.evidence_fixed = [(copy, slot) for copy, slot in self.evidence if copy in self.fixed]
        terms.extend([index[copy]] for copy, _ in self.evidence_ops)
        terms.append([n_out] + [index[v] for v in self.target_vars])
        out = [n_out]
        for k, d in enumerate(plan.dist_vars):
            if d in self.fixed:  # an intervened variable's distribution: all mass on its value
                ax = n_out + 1 + k
                terms.append([ax])
                size[ax] = len(self.domains_fixed[d])
                out.append(ax)
            else:
                out.append(index[d])
        terms.extend([index[name]] for name in self.lifted)
        # The memory bound, in entries of the largest intermediate (see the cost below).
        self.contraction = contraction_plan(terms, size, out, memory_limit=settings.exact_memory / 32,
                                            one_pass=self._one_pass)
        c = self.contraction
        # Every factor is live at once, beside the largest step: its result, its inputs (about
        # as large) and the copies einsum's BLAS route makes of them. Four times the largest
        # intermediate matched the peaks measured on grids and random DAGs (20x20: 0.49 GB).
        self.cost = Cost(8 * (c.entries + 4 * c.largest), c.flops, c.wide, c.largest, c.width)

    # ------------------------------------------------------------------ evaluation, for any xp
    def fixed_value(self, node, values, xp):
        v = node.value
        return values[v.index] if isinstance(v, Slot) else xp.asarray(v, dtype=float)

    def grid_env(self, names, values, slots, xp) -> dict:
        """Each of ``names`` (variables, and lifted intervened ones) along its own axis of a
        len(names)-dim grid; every other intervened variable at its value."""
        env = dict(slots)
        k = len(names)
        for name, node in self.fixed.items():
            env[name] = self.fixed_value(node, values, xp)
        for i, name in enumerate(names):  # a lifted intervened variable is on an axis, not at its value
            shape = [1] * k
            shape[i] = -1
            env[name] = xp.asarray(self.domains[name]).reshape(shape)
        return env

    def one_hots(self, values, xp) -> list:
        """Per lifted variable, the indicator of its query value over its values."""
        return [_one_hot(self.domains[name], self.fixed_value(self.fixed[name], values, xp), xp)
                for name in self.lifted]

    def node_pmf(self, node, env, pshape, theta, xp):
        fns = self.compiled(node.name, xp)
        penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
        dom = xp.asarray(self.domains[node.name])
        if node.kind == "assign":
            val = xp.broadcast_to(fns[0](penv), pshape)
            pmf = _close(val[..., None], dom, xp).astype(float)
            return pmf, xp.sum(pmf, -1) == 0
        params = tuple(_spread(f(penv), pshape, xp) for f in fns)
        return _pmf(node.family, params, dom, xp)

    def node_table(self, c, own: list):
        """``(pmf, bad)`` of copy ``c`` over its own parents ``own`` (every one an axis), in NumPy:
        ``pmf[..., j]`` the probability of its ``j``-th value, ``bad`` its invalid-parameter flag
        per parent configuration. The table depends on neither the query nor its values, so it is
        worked out once per model and kept in :attr:`tables` (the Engine's), keyed by the
        mechanism's syntax object (copies in other worlds share it), its parents' domains and how
        the mechanism's names map onto them. A question after the first re-reads no table."""
        src = c.args if c.kind == "sample" else c.expr
        names = c.env_names
        key = (id(src), c.kind, c.family, c.domain, tuple(self.domain_of[p] for p in own),
               tuple(sorted((e, own.index(p)) for e, p in names.items())))
        hit = self.tables.get(key)
        if hit is not None and hit[0] is src:
            return hit[1], hit[2]
        domains = [self.domain_of[p] for p in own]
        got = table_pmf(c, own, domains)
        if got is None:
            pshape = tuple(map(len, domains))
            env = {name: np.asarray(d, dtype=float).reshape([-1 if j == i else 1 for j in range(len(own))])
                   for i, (name, d) in enumerate(zip(own, domains))}
            pmf, bad = self.node_pmf(c, env, pshape, {}, np)
            got = (np.asarray(pmf, dtype=float), np.asarray(_spread(bad, pshape, np), dtype=bool))
        for a in got:
            a.flags.writeable = False  # shared by every plan of the model
        if not c.name.startswith(EVENT):  # an event's condition is the query's own: nothing to keep
            self.tables[key] = (src, *got)
        return got

    def static_factor(self, g: int, values, slots):
        """``(factor, [flag per copy])`` of group ``g``, which does not depend on the query's values,
        assembled from the model's tables (:meth:`node_table`); as :meth:`factor` gives it.

        The factor of a variable alone in its group (every group of a question in one world)
        depends only on its node (the mechanism), which of its parents are lifted, and their
        domains, not on the rest of the question: it is kept in :attr:`factors` (the Engine's,
        beside its conditional tables), so that a new question on the model (another target or evidence,
        another pruned network) reuses it instead of assembling it again (7 us a group, 10 groups
        a question on alarm). The coupled copies of a counterfactual are made anew for each
        question (its twin network), so their joint factor is assembled each time."""
        copies, pnames = self.groups[g], self.pnames[g]
        if any(p not in pnames for c in copies for p in c.parents):  # a parent held at a constant
            return self.factor(g, values, slots, {}, np)
        if len(copies) > 1 or copies[0].name.startswith(EVENT):  # an event is the query's own
            return self._assemble(g)
        node = copies[0]
        key = ("factor", id(node), self.lifted_in[g], tuple(self.domain_of[p] for p in pnames))
        hit = self.factors.get(key)
        if hit is not None and hit[0] is node:  # the id of a live node, not of one since collected
            return hit[1]
        got = self._assemble(g)
        if got[0].flags.writeable:
            got[0].flags.writeable = False  # shared by every plan of the model
        self.factors[key] = (node, got)
        return got

    def _assemble(self, g: int):
        """:meth:`static_factor`'s work: group ``g``'s factor from its copies' tables."""
        copies, pnames = self.groups[g], self.pnames[g]
        pshape = tuple(len(self.domains[p]) for p in pnames)
        lifted = self.lifted_in[g]
        others = tuple(i for i, p in enumerate(pnames) if p not in lifted)
        pmfs, flags = [], []
        for c in copies:
            own = tuple(dict.fromkeys(c.parents))
            pmf, bad = self.node_table(c, own)
            if own != pnames:  # a copy of a coupled group: its parents' axes among the group's
                pmf = _on_grid(pmf, own, pnames, extra=1)
                bad = _on_grid(bad, own, pnames)
                pmf = np.broadcast_to(pmf, pshape + pmf.shape[-1:])
            pmfs.append(pmf)
            flags.append(_spread(bad, pshape, np).any(axis=others) if lifted else np.bool_(bad.any()))
        f = self._coupled(copies, pmfs, pshape, np)
        return (self._finite(f, np) if lifted else f), tuple(flags)

    def factor(self, g: int, values, slots, theta, xp):
        """``(factor, [invalid flag per copy])`` of group ``g``; where the group has lifted axes,
        each flag is over them (:meth:`evaluate` reads it at the query's values)."""
        copies, pnames = self.groups[g], self.pnames[g]
        env = self.grid_env(pnames, values, slots, xp)
        pshape = tuple(len(self.domains[p]) for p in pnames)
        others = tuple(i for i, p in enumerate(pnames) if p not in self.lifted_in[g])
        pmfs, flags = [], []
        for c in copies:
            pmf, bad = self.node_pmf(c, env, pshape, theta, xp)
            bad = _spread(bad, pshape, xp)
            pmfs.append(pmf)
            flags.append(xp.any(bad, axis=others) if self.lifted_in[g] else xp.any(bad))
        if self.lifted_in[g]:
            return self._finite(self._coupled(copies, pmfs, pshape, xp), xp), flags
        return self._coupled(copies, pmfs, pshape, xp), flags

    @staticmethod
    def _finite(f, xp):
        # The values the query does not hold are multiplied by 0, and 0 * NaN is NaN: a mechanism
        # undefined only there must not reach the answer (where the held value is undefined, the
        # copy's flag says so).
        return xp.where(xp.isfinite(f), f, 0.0)

    @staticmethod
    def _coupled(copies: list, pmfs: list, pshape: tuple, xp):
        """One copy's table, or the joint table of copies that share their noise, by the
        variable's coupling (:mod:`~causaldsl.engines.coupling`; a Gumbel-max group reaches
        here with two copies at most, see :func:`~causaldsl.engines.coupling.exact_limit`)."""
        if len(pmfs) == 2 and copies[0].gumbel_race:
            return gumbel_max_joint(pmfs[0], pmfs[1], xp)
        return quantile_joint(pmfs, pshape, xp)

    def contract(self, factors: list, hots: list, values, slots, xp):
        """``(numerator, denominator, undefined mass)`` from the group factors and the lifted
        variables' one-hot vectors (:meth:`one_hots`)."""
        plan = self.plan
        ops = list(factors)
        scalar = xp.asarray(1.0)
        for copy, slot in self.evidence_fixed:
            scalar = scalar * _close(self.fixed_value(self.fixed[copy], values, xp), slots[slot], xp)
        for copy, slot in self.evidence_ops:
            ops.append(_one_hot(self.domains[copy], slots[slot], xp))
        if plan.target is not None:
            tenv = self.grid_env(self.target_vars, values, slots, xp)
            tshape = tuple(len(self.domains[v]) for v in self.target_vars)
            t = xp.broadcast_to(xp.asarray(self.compiled("$target", xp)[0](tenv), dtype=float), tshape)
        else:
            t = xp.ones(())
        # Where the target is inf or NaN its value is left out, and the mass of
        # those configurations is contracted too: positive mass is an error.
        bad = ~xp.isfinite(t)
        rows = [xp.ones_like(t), xp.where(bad, 0.0, t), bad.astype(float)]
        ops.append(np.array(rows) if xp is np else xp.stack(rows))  # np.stack: a tenth of a small answer
        for d in plan.dist_vars:
            if d in self.fixed:
                ops.append(_one_hot(self.domains_fixed[d], self.fixed_value(self.fixed[d], values, xp), xp))
        ops.extend(hots)
        c = self.contraction
        result = (c.numpy(ops) if xp is np else jnp.einsum(c.equation, *ops, optimize=c.pairwise)) * scalar
        return result[1], result[0].sum(), result[2].sum()

    def evaluate(self, values, theta, xp, static=None):
        """``(num, den, undefined, flags)``; ``static`` holds precomputed factors (None: compute all)."""
        slots = {f"${i}": values[i] for i in range(values.shape[0])}
        factors, flags = [], []
        hots = self.one_hots(values, xp)
        by_name = dict(zip(self.lifted, hots))
        for g in range(len(self.groups)):
            if static is not None and static[g] is not None:
                f, fl = static[g]
            else:
                f, fl = self.factor(g, values, slots, theta, xp)
            factors.append(f)
            if self.lifted_in[g]:  # each flag over the lifted axes, read at the held values
                fl = [self._held(bad, self.lifted_in[g], by_name, xp) for bad in fl]
            flags.extend(fl)
        num, den, undefined = self.contract(factors, hots, values, slots, xp)
        if not flags:
            return num, den, undefined, xp.zeros((0,), bool)
        return num, den, undefined, (np.array(flags, dtype=bool) if xp is np
                                     else xp.stack([xp.asarray(f) for f in flags]))

    @staticmethod
    def _held(bad, names: list, hots: dict, xp):
        """Whether ``bad`` (an array over the lifted variables ``names``) is set at their held values."""
        m = xp.asarray(bad).astype(float)
        for name in names:  # contract the leading axis with the one-hot (tensordot, without its set-up)
            m = (hots[name] @ m.reshape(m.shape[0], -1)).reshape(m.shape[1:])
        return m > 0


def compile_exact(plan: Plan) -> Callable:
    """``(values, theta) -> (numerator, denominator, undefined mass, invalid flags)``, jitted.

    Everything is traced, the factors included, so the function can be vmapped
    over parameter draws (posterior answers) and differentiated (the likelihood
    of a fit). Queries without parameters use :class:`ExactProgram`.
    """
    s = _Structure(plan)

    def fn(values, theta):
        return s.evaluate(values, theta, jnp)

    return jax.jit(fn), s.nodes


# ------------------------------------------------------------------ background compilation
class Compiler:
    """One worker thread that compiles programs in the order their first answers were given.

    The thread lives while there is work: it starts with the first job of a burst and ends
    when the queue is empty, so an idle process holds no thread of causaldsl's. It takes no
    new job once the main thread has finished (``threading.main_thread().is_alive()``), so
    at interpreter exit the queue is dropped and only the compile in flight finishes: a
    script that asked its questions does not wait for code it will not run.
    """

    def __init__(self):
        self.jobs: collections.deque = collections.deque()
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)  # notified when the worker ends
        self.thread = None

    def submit(self, job: Callable) -> None:
        with self.lock:
            self.jobs.append(job)
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, name="causaldsl-compile")
                self.thread.start()

    def _next(self):
        """The next job, or None (and the worker is over) when none is left or the program is exiting."""
        with self.lock:
            if self.jobs and threading.main_thread().is_alive():
                return self.jobs.popleft()
            self.jobs.clear()
            self.thread = None
            self.done.notify_all()
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                job()
            except Exception:  # the NumPy path keeps answering; a failed compile only costs speed
                pass

    def join(self) -> None:
        """Block until every submitted compilation has finished."""
        with self.lock:
            while self.thread is not None and self.thread is not threading.current_thread():
                self.done.wait()


COMPILER = Compiler()


def wait_compiled() -> None:
    """Block until the background compilations asked for so far are done (benchmarks, tests).

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n}")
    >>> m.query("P(x = 1)").value          # answered in NumPy
    0.3
    >>> m.query("P(x = 1)").value          # asked again: in NumPy, while the jitted program compiles
    0.3
    >>> wait_compiled()
    >>> m.query("P(x = 1)").value          # answered by the compiled program
    0.3
    """
    COMPILER.join()


class ExactProgram:
    """The exact engine for one query structure without parameters: ``program(values)``.

    Returns NumPy ``(num, den, undefined, flags)``. The calls are answered in NumPy
    until the jitted function is ready; the second call has it compiled in the
    background (tiered, as a JIT compiles code only once it runs again).
    ``background=False`` compiles in the calling thread on the first call instead.

    >>> import causaldsl as cd
    >>> from causaldsl.language.parser import parse_query
    >>> from causaldsl.model.queries import plan_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.9 })\\n}")
    >>> plan = plan_query(m.ir, parse_query("P(y = 1 | do(x = 1))"))
    >>> program = ExactProgram(plan)
    >>> def answer():
    ...     num, den, _, _ = program(plan.value_array)
    ...     return round(float(num) / float(den), 6)
    >>> answer(), program.scheduled          # NumPy's answer; nothing compiles
    (0.9, False)
    >>> answer(), program.scheduled          # asked again: NumPy's, while the program compiles
    (0.9, True)
    >>> program.wait(60), answer()           # then the compiled program answers
    (True, 0.9)
    """

    def __init__(self, plan: Plan, background: bool = True, compiler: Optional["Compiler"] = None,
                 tables: Optional[dict] = None, factors: Optional[dict] = None):
        self.structure = s = _Structure(plan, tables, one_pass=True, factors=factors)
        self.nodes = s.nodes
        self.background = background
        self.compiler = compiler or COMPILER
        self._static = None  # per group: (factor, flags) in NumPy, or None where it depends on values
        self._compiled = None
        self._calls = 0  # answers given in NumPy
        self.scheduled = False  # whether the compiled function was asked for
        self._ready = threading.Event()

    def _statics(self, values):
        if self._static is None:
            s = self.structure
            slots = {f"${i}": values[i] for i in range(values.shape[0])}
            with np.errstate(all="ignore"):
                self._static = [None if dyn else s.static_factor(g, values, slots)
                                for g, dyn in enumerate(s.dynamic)]
        return self._static

    def numpy(self, values):
        values = np.asarray(values, dtype=float)
        with np.errstate(all="ignore"):
            return self.structure.evaluate(values, {}, np, self._statics(values))

    @float64  # in the compile worker's thread too: the switch is per thread
    def _compile(self, values) -> None:
        s = self.structure
        # The factors that do not depend on the query's values go into the program as constants:
        # XLA folds the steps of the path that take constants only, and the compile is shorter.
        static = [None if st is None else (np.asarray(st[0], dtype=float), [np.asarray(f) for f in st[1]])
                  for st in self._statics(values)]

        def fn(values):
            num, den, undefined, flags = s.evaluate(values, {}, jnp, static)
            # One output array: one transfer back to the host per answer. Whether any flag is set
            # comes first, so that a valid answer (all but every one) reads one number, not all.
            anybad = jnp.any(flags).astype(float) if flags.size else jnp.zeros(())
            return jnp.concatenate([jnp.ravel(num), jnp.stack([den, undefined, anybad]), flags.astype(float)])

        # Through jax.jit's own dispatch (C++), not an ahead-of-time Compiled object (Python):
        # ~10 us less per warm answer. This first call compiles; it also pays an executable's
        # one-off costs (buffers, the runtime's thread pool, ~5-20 ms), here, in the background
        # by default, not in the next answer.
        jitted = jax.jit(fn)
        np.asarray(jitted(np.asarray(values, dtype=float)))
        shape = tuple(self._dist_len(d) for d in s.plan.dist_vars)
        k = int(np.prod(shape))  # 1 for a scalar answer

        # The query's values on the device, by their bytes: a question asked again (or any of a
        # few values it flips between) skips the host-to-device copy, a fifth of a warm answer.
        on_device: dict = {}

        def run(values):
            key = values.tobytes()
            arg = on_device.get(key)
            if arg is None:
                if len(on_device) >= _ON_DEVICE_MAX:
                    on_device.clear()
                arg = on_device[key] = jax.device_put(values)
            out = np.asarray(jitted(arg))
            flags = out[k + 3:] > 0 if out[k + 2] > 0 else _NO_FLAGS
            return out[:k].reshape(shape), out[k], out[k + 1], flags

        self._compiled = run
        self._ready.set()

    def _dist_len(self, d) -> int:
        s = self.structure
        return len(s.domains_fixed[d]) if d in s.fixed else len(s.domains[d])

    def wait(self, timeout=None) -> bool:
        """Block until the compiled function is ready (tests and benchmarks)."""
        return self._ready.wait(timeout)

    @property
    def tier(self) -> str:
        """Which code answers now: ``"numpy"`` until the jitted program is ready, then ``"compiled"``."""
        return "numpy" if self._compiled is None else "compiled"

    @float64
    def __call__(self, values):
        if self._compiled is not None:
            return self._compiled(np.asarray(values, dtype=float))
        out = self.numpy(values)
        self._calls += 1
        if not self.scheduled and (self._calls > 1 or not self.background):
            self.scheduled = True
            v = np.array(values, dtype=float)
            if self.background:
                self.compiler.submit(lambda: self._compile(v))
            else:
                self._compile(v)
        return out
