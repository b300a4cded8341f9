"""The exact engine against a brute-force enumerator written here, from scratch.

Nothing below comes from the engine but its public face (``causaldsl.model``,
``CausalModel.query``, the error classes). Random discrete models are written
as DSL text together with a plain Python description; a second, independent
implementation of the semantics then answers every query:

* ``X ~ D(theta(parents))`` is ``X := F^-1(U_X; theta)`` with its own
  ``U_X ~ Uniform[0, 1)`` and ``F^-1(u) = min{k : F(k) > u}`` (values in
  ascending order, Categorical levels in the order written);
* for every ``~`` variable, the CDF values ``F(k; theta)`` over *all* parent
  configurations cut ``[0, 1)`` into cells on which the variable's mechanism
  is constant; the product of these cells over all ``~`` variables is a finite
  partition of the noise space (cell lengths are exact fractions, their
  products are summed in floating point), and every world (factual, ``do()``, counterfactual, nested
  counterfactual) is evaluated deterministically at a representative ``u``
  (the cell midpoint), all worlds sharing every ``U_V``;
* a query is ``P(target and evidence) / P(evidence)`` summed over the cells.

The engine must agree to 1e-9 on every case; the Monte Carlo engine must agree
within ``4 * stderr + 1e-3`` on a smaller set. Query structures are few per model
and each is asked with several values, since every new structure costs a JAX
compilation while new values reuse it. A failure prints the model and the query.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction as Fr
from typing import Callable, Optional

import pytest

import causaldsl

TOL = 1e-9
# Another seed explores other models: CAUSALDSL_BRUTE_SEED=7 pytest tests/test_bruteforce.py
SEED = int(os.environ.get("CAUSALDSL_BRUTE_SEED", "20240611"))
N_MODELS = 30
STRUCTURES_PER_MODEL = (3, 4)  # distinct query structures per model (each compiles once)
VARIANTS_PER_STRUCTURE = 3  # the same structure with other values (no new compilation)
CELL_CAP = 2500  # joint noise cells per model (keeps the enumerator fast)
MC_CASES = 20
MC_STRUCTURES = 8
MC_SAMPLES = 100_000

# ====================================================================== expressions
# Tuples: ("num", Fr) ("var", name) ("term", name, world) ("lvl", code, label)
# ("bin", op, l, r) ("neg", e) ("cmp", op, l, r) ("and", l, r) ("or", l, r) ("not", e)
# ("if", c, t, e) ("call", fn, [args]) ("table", (parents...), ((key, expr), ...))


def num(x) -> tuple:
    return ("num", Fr(x))


def signed(x) -> tuple:
    x = Fr(x)
    return ("neg", num(-x)) if x < 0 else num(x)


def var(name: str) -> tuple:
    return ("var", name)


def fmt_num(x) -> str:
    x = Fr(x)
    if x.denominator == 1:
        return str(x.numerator)
    text = f"{float(x):.10f}".rstrip("0")
    assert Fr(text) == x, x
    return text


_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_PREC = {"+": 5, "-": 5, "*": 6}


def evaluate(e, env) -> Fr:
    t = e[0]
    if t == "num":
        return e[1]
    if t == "var":
        return env[e[1]]
    if t == "lvl":
        return Fr(e[1])
    if t == "bin":
        return _BIN[e[1]](evaluate(e[2], env), evaluate(e[3], env))
    if t == "neg":
        return -evaluate(e[1], env)
    if t == "cmp":
        return Fr(int(_CMP[e[1]](evaluate(e[2], env), evaluate(e[3], env))))
    if t == "and":
        return Fr(int(evaluate(e[1], env) != 0 and evaluate(e[2], env) != 0))
    if t == "or":
        return Fr(int(evaluate(e[1], env) != 0 or evaluate(e[2], env) != 0))
    if t == "not":
        return Fr(int(evaluate(e[1], env) == 0))
    if t == "if":
        return evaluate(e[2], env) if evaluate(e[1], env) != 0 else evaluate(e[3], env)
    if t == "call":
        vals = [evaluate(a, env) for a in e[2]]
        return {"min": min, "max": max}[e[1]](vals) if e[1] != "abs" else abs(vals[0])
    if t == "table":
        key = tuple(env[p] for p in e[1])
        for k, v in e[2]:
            if k == key:
                return evaluate(v, env)
        raise AssertionError(f"table has no row {key}")
    raise AssertionError(t)


def free_names(e, out=None) -> list:
    out = [] if out is None else out
    t = e[0]
    if t == "var" and e[1] not in out:
        out.append(e[1])
    elif t == "table":
        for p in e[1]:
            if p not in out:
                out.append(p)
        for _, v in e[2]:
            free_names(v, out)
    elif t in ("bin", "cmp"):
        free_names(e[2], out)
        free_names(e[3], out)
    elif t in ("and", "or"):
        free_names(e[1], out)
        free_names(e[2], out)
    elif t in ("neg", "not"):
        free_names(e[1], out)
    elif t == "if":
        for x in e[1:]:
            free_names(x, out)
    elif t == "call":
        for a in e[2]:
            free_names(a, out)
    return out


def is_logical(e) -> bool:
    if e[0] in ("cmp", "and", "or", "not"):
        return True
    if e[0] == "if":
        return is_logical(e[2]) and is_logical(e[3])
    return e[0] == "num" and e[1] in (0, 1)


def substitute(e, fn):
    """``e`` with every ("term", ...) node replaced by ``fn(node)``."""
    t = e[0]
    if t == "term":
        return fn(e)
    if t in ("bin", "cmp"):
        return (t, e[1], substitute(e[2], fn), substitute(e[3], fn))
    if t in ("and", "or"):
        return (t, substitute(e[1], fn), substitute(e[2], fn))
    if t in ("neg", "not"):
        return (t, substitute(e[1], fn))
    if t == "if":
        return (t,) + tuple(substitute(x, fn) for x in e[1:])
    if t == "call":
        return (t, e[1], [substitute(a, fn) for a in e[2]])
    return e


# ---------------------------------------------------------------------- rendering
def render(e, levels) -> str:
    return _render(e, levels)[0]


def _wrap(e, levels, prec) -> str:
    s, p = _render(e, levels)
    return f"({s})" if p < prec else s


def _render(e, levels):
    t = e[0]
    if t == "num":
        assert e[1] >= 0
        return fmt_num(e[1]), 9
    if t == "var":
        return e[1], 9
    if t == "lvl":
        return e[2], 9
    if t == "term":
        return render_term(e[1], e[2], levels), 9
    if t == "bin":
        p = _PREC[e[1]]
        return f"{_wrap(e[2], levels, p)} {e[1]} {_wrap(e[3], levels, p + 1)}", p
    if t == "neg":
        return "-" + _wrap(e[1], levels, 7), 7
    if t == "cmp":
        return f"{_wrap(e[2], levels, 5)} {e[1]} {_wrap(e[3], levels, 5)}", 4
    if t == "and":
        return f"{_wrap(e[1], levels, 2)} and {_wrap(e[2], levels, 3)}", 2
    if t == "or":
        return f"{_wrap(e[1], levels, 1)} or {_wrap(e[2], levels, 2)}", 1
    if t == "not":
        return "not " + _wrap(e[1], levels, 3), 3
    if t == "if":
        return (f"if {_wrap(e[1], levels, 1)} then {_wrap(e[2], levels, 1)} "
                f"else {_wrap(e[3], levels, 0)}"), 0
    if t == "call":
        return f"{e[1]}({', '.join(_wrap(a, levels, 0) for a in e[2])})", 9
    if t == "table":
        def key(k):
            atoms = [fmt_value(v, levels.get(p)) for p, v in zip(e[1], k)]
            return atoms[0] if len(atoms) == 1 else "(" + ", ".join(atoms) + ")"
        rows = ", ".join(f"{key(k)}: {_wrap(v, levels, 0)}" for k, v in e[2])
        return f"table({', '.join(e[1])}) {{ {rows} }}", 9
    raise AssertionError(t)


def fmt_value(v, levels) -> str:
    """A value in value position: a level name, or a (signed) number."""
    if levels:
        return levels[int(v)]
    v = Fr(v)
    return "-" + fmt_num(-v) if v < 0 else fmt_num(v)


# ====================================================================== queries (data)
class Slot:
    """A value written in a query (an observed, do() or world value); re-drawn per variant."""

    def __init__(self, var: str, v, fixed: bool = False):
        self.var, self.v, self.fixed = var, Fr(v), fixed


@dataclass(frozen=True)
class Ref:
    """``M = M[X = 0]``: a variable's value in another world."""

    var: str
    world: tuple


def render_term(name, world, levels) -> str:
    if not world:
        return name
    parts = []
    for v, val in world:
        if isinstance(val, Ref):
            parts.append(f"{v} = {render_term(val.var, val.world, levels)}")
        else:
            parts.append(f"{v} = {fmt_value(val.v, levels.get(v))}")
    return f"{name}[{', '.join(parts)}]"


def term(name, *world) -> tuple:
    return ("term", name, tuple(world))


@dataclass
class Query:
    form: str
    kind: str  # "prob" | "expect" | "dist"
    events: list = field(default_factory=list)  # ("eq", term, Slot) | ("expr", ast) | ("var", term)
    target: Optional[tuple] = None  # expect
    conds: list = field(default_factory=list)  # ("do", [(var, Slot)]) | ("obs", term, Slot)
    effect: Optional[tuple] = None  # (name, X, Y, M, treat Slot, control Slot, explicit options)
    reroll: Optional[Callable] = None

    def slots(self) -> list:
        out: list = []

        def world_slots(world):
            for _, val in world:
                if isinstance(val, Ref):
                    world_slots(val.world)
                else:
                    out.append(val)

        def from_term(t):
            world_slots(t[2])
            return t

        for ev in self.events:
            if ev[0] == "eq":
                from_term(ev[1])
                out.append(ev[2])
            elif ev[0] == "var":
                from_term(ev[1])
            else:
                substitute(ev[1], from_term)
        if self.target is not None:
            substitute(self.target, from_term)
        for c in self.conds:
            if c[0] == "do":
                out += [s for _, s in c[1]]
            else:
                from_term(c[1])
                out.append(c[2])
        return list({id(s): s for s in out}.values())

    def text(self, levels) -> str:
        if self.effect is not None:
            name, x, y, m, t, c, explicit = self.effect
            opts = (f", treat={fmt_value(t.v, levels.get(x))}, control={fmt_value(c.v, levels.get(x))}"
                    if explicit else "")
            return f"{name}({x} -> {y}{' via ' + m if m else ''}{opts})"
        conds = []
        for c in self.conds:
            if c[0] == "do":
                conds.append("do(" + ", ".join(f"{v} = {fmt_value(s.v, levels.get(v))}" for v, s in c[1]) + ")")
            else:
                conds.append(f"{render_term(c[1][1], c[1][2], levels)} = {fmt_value(c[2].v, levels.get(c[1][1]))}")
        given = (" | " + ", ".join(conds)) if conds else ""
        if self.kind == "expect":
            return f"E[{render(self.target, levels)}{given}]"
        evs = []
        for ev in self.events:
            if ev[0] == "eq":
                evs.append(f"{render(ev[1], levels)} = {fmt_value(ev[2].v, levels.get(ev[1][1]))}")
            elif ev[0] == "var":
                evs.append(render(ev[1], levels))
            else:
                evs.append(render(ev[1], levels))
        return f"P({', '.join(evs)}{given})"


ZERO = object()  # the conditioning event has probability zero


# ====================================================================== the enumerator
@dataclass
class Node:
    name: str
    kind: str  # "sample" | "assign"
    latent: bool = False
    family: Optional[str] = None  # Bernoulli | Categorical | Binomial
    args: list = field(default_factory=list)  # [(label or keyword or None, expr)]
    expr: Optional[tuple] = None  # assign
    levels: Optional[tuple] = None
    parents: list = field(default_factory=list)
    domain: list = field(default_factory=list)  # ascending Fractions (codes for categoricals)

    def line(self, levels) -> str:
        head = ("latent " if self.latent else "") + self.name
        if self.kind == "assign":
            return f"{head} := {render(self.expr, levels)}"
        args = []
        for label, e in self.args:
            args.append(f"{label}: {render(e, levels)}" if label and self.family == "Categorical"
                        else f"{label} = {render(e, levels)}" if label else render(e, levels))
        return f"{head} ~ {self.family}({', '.join(args)})"


def cdf_values(node: Node, env) -> list:
    """F(k; theta) for each k of the node's domain, in exact arithmetic."""
    params = [evaluate(e, env) for _, e in node.args]
    if node.family == "Bernoulli":
        (p,) = params
        assert 0 <= p <= 1
        return [1 - p, Fr(1)]
    if node.family == "Categorical":
        assert all(0 <= p <= 1 for p in params) and sum(params) == 1
        return list(itertools.accumulate(params))
    if node.family == "Binomial":
        n, p = params
        assert n == int(n) and n >= 0 and 0 <= p <= 1
        n = int(n)
        out, acc = [], Fr(0)
        for k in node.domain:
            k = int(k)
            if k <= n:
                acc += math.comb(n, k) * p ** k * (1 - p) ** (n - k)
            out.append(Fr(1) if k >= n else acc)
        return out
    raise AssertionError(node.family)


def configs(names, by_name):
    return itertools.product(*[by_name[p].domain for p in names])


def param_ok(family, args, parents, by_name) -> bool:
    """Parameters valid for every configuration of the parents' domains."""
    for cfg in configs(parents, by_name):
        env = dict(zip(parents, cfg))
        ps = [evaluate(e, env) for _, e in args]
        if family == "Bernoulli" and not 0 <= ps[0] <= 1:
            return False
        if family == "Binomial" and not (ps[0] >= 0 and ps[0] == int(ps[0]) and 0 <= ps[1] <= 1):
            return False
        if family == "Categorical" and not (all(0 <= p <= 1 for p in ps) and sum(ps) == 1):
            return False
    return True


class Brute:
    """A model: its DSL text, and the enumeration of its noise cells."""

    def __init__(self, name: str, nodes: list):
        self.name = name
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}
        self.levels = {n.name: n.levels for n in nodes if n.levels}
        self.text = f"model {name} {{\n" + "".join(f"    {n.line(self.levels)}\n" for n in nodes) + "}"
        self.sampled = [n for n in nodes if n.kind == "sample"]
        # := mechanisms as tables over their parents' configurations
        self.mech = {}
        for n in nodes:
            if n.kind == "assign":
                self.mech[n.name] = {cfg: evaluate(n.expr, dict(zip(n.parents, cfg)))
                                     for cfg in configs(n.parents, self.by_name)}
        # ~ mechanisms: breakpoints -> cells, and the value on each cell per configuration
        self.cells, self.quantile = {}, {}
        for n in self.sampled:
            cdfs = {cfg: cdf_values(n, dict(zip(n.parents, cfg))) for cfg in configs(n.parents, self.by_name)}
            cuts = sorted({Fr(0), Fr(1)} | {f for fs in cdfs.values() for f in fs if 0 < f < 1})
            cells = list(zip(cuts[:-1], cuts[1:]))
            self.cells[n.name] = [hi - lo for lo, hi in cells]
            self.quantile[n.name] = {
                cfg: [next(v for v, f in zip(n.domain, fs) if f > (lo + hi) / 2) for lo, hi in cells]
                for cfg, fs in cdfs.items()}
        self.ncells = math.prod(len(c) for c in self.cells.values())
        self._worlds: dict = {}
        self._prepared = False

    def _prepare(self):
        if self._prepared:
            return
        lens = [self.cells[n.name] for n in self.sampled]
        idx = list(itertools.product(*[range(len(c)) for c in lens]))
        self.n = len(idx)
        self.cell_index = {n.name: [c[i] for c in idx] for i, n in enumerate(self.sampled)}
        self.probs = [math.prod(float(lens[i][j]) for i, j in enumerate(c)) for c in idx]
        assert abs(sum(self.probs) - 1) < 1e-12
        self._prepared = True

    def ancestors(self, name) -> list:
        """The ancestors of ``name``, in model order (a list, so that runs are reproducible)."""
        out, todo = set(), list(self.by_name[name].parents)
        while todo:
            p = todo.pop()
            if p not in out:
                out.add(p)
                todo += self.by_name[p].parents
        return [n.name for n in self.nodes if n.name in out]

    # ------------------------------------------------------------ worlds
    def world(self, key) -> dict:
        """Every variable's value on every cell, in the world ``key`` (sorted (var, spec) pairs)."""
        if key in self._worlds:
            return self._worlds[key]
        self._prepare()
        setting = dict(key)
        cols: dict = {}
        for n in self.nodes:
            if n.name in setting:
                spec = setting[n.name]
                cols[n.name] = [spec[1]] * self.n if spec[0] == "v" else self.world(spec[2])[spec[1]]
                continue
            pcols = [cols[p] for p in n.parents]
            if n.kind == "assign":
                mech = self.mech[n.name]
                cols[n.name] = [mech[cfg] for cfg in zip(*pcols)] if pcols else [mech[()]] * self.n
            else:
                q = self.quantile[n.name]
                cidx = self.cell_index[n.name]
                if pcols:
                    cols[n.name] = [q[cfg][c] for cfg, c in zip(zip(*pcols), cidx)]
                else:
                    q0 = q[()]
                    cols[n.name] = [q0[c] for c in cidx]
        self._worlds[key] = cols
        return cols

    def answer(self, q: Query):
        """The query's value by enumeration; ``ZERO`` if the evidence has probability zero."""
        self._prepare()
        base = {}
        for c in q.conds:
            if c[0] == "do":
                for v, s in c[1]:
                    base[v] = ("v", s.v)

        def world_key(world):
            setting = dict(base)
            for v, val in world:
                setting[v] = ("ref", val.var, world_key(val.world)) if isinstance(val, Ref) else ("v", val.v)
            return tuple(sorted(setting.items()))

        terms: list = []

        def tid(t) -> int:
            k = (t[1], world_key(t[2]))
            if k not in terms:
                terms.append(k)
            return terms.index(k)

        def sub(t):
            return ("var", f"#{tid(t)}")

        evidence = [(tid(c[1]), c[2].v) for c in q.conds if c[0] == "obs"]
        target, dist = None, []
        if q.kind == "expect":
            target = substitute(q.target, sub)
        else:
            parts = []
            for ev in q.events:
                if ev[0] == "eq":
                    parts.append(("cmp", "==", sub(ev[1]), num(ev[2].v)))
                elif ev[0] == "var":
                    dist.append(tid(ev[1]))
                else:
                    parts.append(substitute(ev[1], sub))
            for p in parts:
                target = p if target is None else ("and", target, p)
        cols = [self.world(k)[v] for v, k in terms]
        acc: dict = defaultdict(float)
        for p, combo in zip(self.probs, zip(*cols)):
            acc[combo] += p
        den = 0.0
        numer = 0.0
        table: dict = defaultdict(float)
        for combo, p in acc.items():
            if any(combo[i] != v for i, v in evidence):
                continue
            den += p
            env = {f"#{i}": v for i, v in enumerate(combo)}
            t = evaluate(target, env) if target is not None else Fr(1)
            if q.kind == "expect":
                numer += p * float(t)
            elif q.kind == "prob":
                numer += p * (t != 0)
            elif t != 0:
                table[tuple(combo[i] for i in dist)] += p
        if den == 0:
            return ZERO
        if q.kind != "dist":
            return numer / den, den
        names = [terms[i][0] for i in dist]
        out = {}
        for vals in itertools.product(*[self.by_name[v].domain for v in names]):
            labels = tuple(self.levels[v][int(x)] if v in self.levels else float(x) for v, x in zip(names, vals))
            out[labels[0] if len(labels) == 1 else labels] = table.get(vals, 0.0) / den
        return out, den


# ====================================================================== random models
NAME_POOL = list("abcdfghkmnrstuvwxyz") + ["x1", "x2", "z_0", "med", "out", "treat", "y2"]
LEVEL_POOL = [("lo", "mid", "hi"), ("low", "high"), ("red", "green", "blue"), ("no", "yes"),
              ("cold", "warm", "hot"), ("none", "some", "many"), ("off", "on")]


def rprob(rng, edge=0.07) -> Fr:
    if rng.random() < edge:
        return Fr(rng.choice([0, 1]))
    return Fr(rng.randint(1, 19), 20)


def composition(rng, k, zeros=0.05) -> list:
    """k probabilities (multiples of 0.05) summing to 1."""
    while True:
        cuts = sorted(rng.randint(0, 20) for _ in range(k - 1))
        parts = [b - a for a, b in zip([0] + cuts, cuts + [20])]
        if all(parts) or rng.random() < zeros:
            return [Fr(p, 20) for p in parts]


def operand_atoms(rng, ops) -> tuple:
    """A logical atom about one operand: (ast, var name)."""
    ast, name, dom, levels = ops
    if levels:
        code = rng.randrange(len(levels))
        lv = ("lvl", code, levels[code])
        op = rng.choice(["==", "==", "!="])
        return ("cmp", op, lv, ast) if rng.random() < 0.25 else ("cmp", op, ast, lv)
    if set(dom) <= {0, 1} and rng.random() < 0.4:
        return ast
    d = rng.choice(dom)
    op = rng.choice(["==", "!=", ">", ">=", "<", "<="])
    return ("cmp", op, ast, signed(d))


def gen_cond(rng, operands, depth=0) -> tuple:
    """A random logical expression; ``operands`` = [(ast, name, domain, levels)]."""
    r = rng.random()
    numeric = [o for o in operands if not o[3]]
    if depth < 2 and r < 0.3 and len(operands) >= 1:
        op = rng.choice(["and", "or"])
        return (op, gen_cond(rng, operands, depth + 1), gen_cond(rng, operands, depth + 1))
    if depth < 2 and r < 0.38:
        return ("not", gen_cond(rng, operands, depth + 1))
    if r < 0.48 and len(numeric) >= 2:
        a, b = rng.sample(numeric, 2)
        if rng.random() < 0.5:
            return ("cmp", rng.choice(["==", "!=", "<", ">="]), a[0], b[0])
        total = rng.choice(sorted({x + y for x in a[2] for y in b[2]}))
        return ("cmp", rng.choice([">=", "==", "<"]), ("bin", "+", a[0], b[0]), signed(total))
    if r < 0.53 and depth == 0:
        # a comparison of two logical expressions, e.g. (c or d) != u
        return ("cmp", rng.choice(["==", "!="]), gen_cond(rng, operands, 2), gen_cond(rng, operands, 2))
    return operand_atoms(rng, rng.choice(operands))


def gen_arith(rng, operands, in_query=False) -> tuple:
    """A random integer-valued arithmetic expression over numeric operands (no tables in queries)."""
    numeric = [o for o in operands if not o[3]]
    if not numeric:
        o = rng.choice(operands)
        if rng.random() < 0.5:
            rows = tuple(((Fr(i),), num(rng.randint(0, 2))) for i in range(len(o[3])))
            return ("table", (o[1],), rows)
        return ("if", operand_atoms(rng, o), num(rng.randint(0, 3)), num(rng.randint(0, 2)))
    a = rng.choice(numeric)
    b = rng.choice([o for o in numeric if o is not a] or [a])
    k = num(rng.randint(1, 2))
    templates = [
        lambda: ("bin", "+", a[0], b[0]),
        lambda: ("bin", "-", a[0], b[0]),
        lambda: ("bin", "+", ("bin", "*", num(2), a[0]), b[0]),
        lambda: ("bin", "*", a[0], b[0]),
        lambda: ("call", "max", [a[0], b[0]]),
        lambda: ("call", "min", [("bin", "+", a[0], b[0]), num(2)]),
        lambda: ("call", "abs", [("bin", "-", a[0], b[0])]),
        lambda: ("if", gen_cond(rng, operands), a[0], k),
        lambda: ("bin", "+", a[0], operand_atoms(rng, rng.choice(operands))),
        lambda: (("table", (a[1],), tuple(((d,), num(rng.randint(0, 3))) for d in a[2])) if not in_query
                 else ("bin", "-", a[0], ("bin", "*", num(2), b[0]))),
        lambda: ("bin", "-", num(rng.randint(1, 3)), a[0]),
        lambda: ("neg", a[0]),
        lambda: ("bin", "*", num(Fr(1, 2)), a[0]),
    ]
    return rng.choice(templates)()


def gen_prob(rng, operands, depth=0) -> tuple:
    """A random expression meant to be a probability (validity is checked by the caller)."""
    if not operands:
        return num(rprob(rng))
    r = rng.random()
    if r < 0.2 and depth == 0:
        return num(rprob(rng))
    if r < 0.55:
        tab = [o for o in operands if len(o[2]) <= 4]
        if tab:
            ps = rng.sample(tab, min(len(tab), rng.choice([1, 2, 2])))
            keys = itertools.product(*[o[2] for o in ps])
            rows = tuple((k, num(rprob(rng))) for k in keys)
            return ("table", tuple(o[1] for o in ps), rows)
    if r < 0.8 and depth == 0:
        return ("if", gen_cond(rng, operands), gen_prob(rng, operands, 1), gen_prob(rng, operands, 1))
    # linear: base +/- coefficient * operand (kept inside [0.05, 0.95] by the caller)
    e = num(Fr(rng.randint(1, 12), 20))
    for o in rng.sample(operands, min(len(operands), rng.choice([1, 2]))):
        x = o[0] if not o[3] and set(o[2]) <= {0, 1, 2} else operand_atoms(rng, o)
        e = ("bin", rng.choice(["+", "+", "-"]), e, ("bin", "*", num(Fr(rng.randint(1, 6), 20)), x))
    return e


def prob_in_range(e, parents, by_name, lo=Fr(0), hi=Fr(1)) -> bool:
    vals = [evaluate(e, dict(zip(parents, cfg))) for cfg in configs(parents, by_name)]
    return all(lo <= v <= hi for v in vals)


def gen_node(rng, name, prev: list, used_levels) -> Node:
    by_name = {n.name: n for n in prev}
    weights = {"bern": 4, "cat": 1.5, "catplain": 0.6, "binom": 1.2, "logic": 1.8, "arith": 1.5}
    if not prev:
        weights = {k: w for k, w in weights.items() if k in ("bern", "cat", "catplain", "binom")}
    kinds = list(weights)
    kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
    if kind in ("logic", "arith"):
        k = rng.choice([1, 2, 2, 3])
    else:
        k = rng.choice([0, 1, 1, 2, 2])
    recent = prev[-4:]
    pars = rng.sample(recent, min(k, len(recent)))
    operands = [(var(p.name), p.name, p.domain, p.levels) for p in pars]
    latent = rng.random() < (0.3 if not pars else 0.06)

    def finish(node):
        node.parents = [n.name for n in prev if n.name in set(_node_names(node))]
        node.parents.sort(key=lambda v: [n.name for n in prev].index(v))
        return node

    if kind in ("logic", "arith"):
        for _ in range(40):
            e = gen_cond(rng, operands) if kind == "logic" else gen_arith(rng, operands)
            ps = free_names(e)
            if not ps:
                continue
            image = sorted({evaluate(e, dict(zip(ps, cfg))) for cfg in configs(ps, by_name)})
            if len(image) <= 5:
                dom = [Fr(0), Fr(1)] if is_logical(e) else image
                return finish(Node(name, "assign", latent=latent and rng.random() < 0.3, expr=e, domain=dom))
        kind = "bern"

    if kind == "cat":
        levels = rng.choice([lv for lv in LEVEL_POOL if lv not in used_levels] or LEVEL_POOL)
        used_levels.append(levels)
    if kind in ("cat", "catplain"):
        nlev = len(levels) if kind == "cat" else rng.choice([2, 3])
        style = rng.choice(["const", "table", "if"]) if operands else "const"
        tab = [o for o in operands if len(o[2]) <= 4]
        if style == "table" and tab:
            ps = rng.sample(tab, min(len(tab), 2))
            keys = list(itertools.product(*[o[2] for o in ps]))
            comps = {kk: composition(rng, nlev) for kk in keys}
            args = [("table", tuple(o[1] for o in ps), tuple((kk, num(comps[kk][j])) for kk in keys))
                    for j in range(nlev)]
        elif style == "if":
            cond = gen_cond(rng, operands)
            c1, c2 = composition(rng, nlev), composition(rng, nlev)
            args = [("if", cond, num(a), num(b)) for a, b in zip(c1, c2)]
        else:
            args = [num(p) for p in composition(rng, nlev)]
        node = Node(name, "sample", latent=latent, family="Categorical",
                    args=[(levels[j] if kind == "cat" else None, a) for j, a in enumerate(args)],
                    levels=levels if kind == "cat" else None,
                    domain=[Fr(j) for j in range(nlev)])
        return finish(node)

    def prob_expr():
        for _ in range(40):
            e = gen_prob(rng, operands)
            ps = free_names(e)
            linear = e[0] == "bin" or (e[0] == "if" and (e[2][0] == "bin" or e[3][0] == "bin"))
            lo, hi = (Fr(1, 20), Fr(19, 20)) if linear else (Fr(0), Fr(1))
            if prob_in_range(e, ps, by_name, lo, hi):
                return e
        return num(rprob(rng))

    if kind == "binom":
        binary = [o for o in operands if o[2] == [0, 1] and not o[3]]
        r = rng.random()
        if binary and r < 0.3:
            b = rng.choice(binary)
            n_expr = rng.choice([("bin", "+", num(1), b[0]), ("bin", "+", b[0], num(1)), b[0]])
        else:
            n_expr = num(rng.choice([1, 2, 2, 3]))
        p_expr = prob_expr()
        ns = [evaluate(n_expr, dict(zip(free_names(n_expr), cfg))) for cfg in configs(free_names(n_expr), by_name)]
        kw = rng.random() < 0.15
        node = Node(name, "sample", latent=latent, family="Binomial",
                    args=[("n" if kw else None, n_expr), ("p" if kw else None, p_expr)],
                    domain=[Fr(j) for j in range(int(max(ns)) + 1)])
        return finish(node)

    node = Node(name, "sample", latent=latent, family="Bernoulli",
                args=[("p" if rng.random() < 0.1 else None, prob_expr())], domain=[Fr(0), Fr(1)])
    return finish(node)


def _node_names(node: Node) -> list:
    if node.kind == "assign":
        return free_names(node.expr)
    out: list = []
    for _, e in node.args:
        free_names(e, out)
    return out


def gen_model(rng, index) -> Brute:
    while True:
        n = rng.choice([3, 4, 4, 5, 5, 5, 6, 6])
        names = rng.sample(NAME_POOL, n)
        nodes: list = []
        used: list = []
        for name in names:
            nodes.append(gen_node(rng, name, nodes, used))
        by_name = {x.name: x for x in nodes}
        assert all(param_ok(x.family, x.args, x.parents, by_name) for x in nodes if x.kind == "sample")
        model = Brute(f"m{index}", nodes)
        if model.ncells <= CELL_CAP and sum(1 for x in nodes if x.parents) >= 2:
            return model


# ====================================================================== random queries
FORMS = ["p_marg", "p_dist", "e_marg", "p_obs", "e_obs", "p_do", "p_do_obs", "e_do",
         "p_expr", "p_conj", "p_joint_dist", "cf_p_obs", "cf_e_diff", "cf_nested", "cf_joint",
         "cf_dist", "cf_obs", "ATE", "ETT", "NDE", "NIE", "PN", "PS", "PNS"]


class QueryMaker:
    def __init__(self, model: Brute, rng):
        self.m, self.rng = model, rng

    def slot(self, v, value=None) -> Slot:
        return Slot(v, self.rng.choice(self.m.by_name[v].domain) if value is None else value)

    def pick(self, pool=None, exclude=(), weight_parents=True) -> Optional[str]:
        pool = [n for n in (pool if pool is not None else self.m.by_name) if n not in exclude]
        if not pool:
            return None
        w = [3 if (weight_parents and self.m.by_name[n].parents) else 1 for n in pool]
        return self.rng.choices(pool, w)[0]

    def numeric(self):
        return [n.name for n in self.m.nodes if not n.levels]

    def binary(self):
        return [n.name for n in self.m.nodes if n.domain in ([0, 1], [0], [1])]

    def cause_of(self, y, exclude=()) -> Optional[str]:
        anc = [a for a in self.m.ancestors(y) if a not in exclude]
        if anc and self.rng.random() < 0.85:
            return self.rng.choice(anc)
        return self.pick(exclude=set(exclude) | {y}, weight_parents=False)

    def obs(self, names, world=()) -> list:
        return [("obs", term(v, *world), self.slot(v)) for v in names]

    def some_conds(self, y, p_do=0.3, p_obs=0.4) -> list:
        conds = []
        if self.rng.random() < p_do:
            x = self.pick(exclude={y}, weight_parents=False)
            if x:
                conds.append(("do", [(x, self.slot(x))]))
        if self.rng.random() < p_obs:
            done = {v for c in conds if c[0] == "do" for v, _ in c[1]}
            w = self.pick(exclude={y} | done, weight_parents=False)
            if w:
                conds += self.obs([w])
        return conds

    def operands(self, names, world=()):
        return [(term(v, *world), v, self.m.by_name[v].domain, self.m.by_name[v].levels) for v in names]

    def make(self, form) -> Optional[Query]:
        rng, m = self.rng, self.m
        names = list(m.by_name)
        if form == "p_marg":
            y = self.pick()
            return Query(form, "prob", [("eq", term(y), self.slot(y))])
        if form == "p_dist":
            y = self.pick()
            return Query(form, "dist", [("var", term(y))], conds=self.some_conds(y, 0.2, 0.3))
        if form == "e_marg":
            y = self.pick(self.numeric())
            if y is None:
                return None
            if rng.random() < 0.6:
                return Query(form, "expect", target=term(y))
            z = self.pick(self.numeric(), exclude={y})
            if z is None:
                return None
            return Query(form, "expect", target=gen_arith(rng, self.operands([y, z]), True))
        if form in ("p_obs", "e_obs"):
            y = self.pick(None if form[0] == "p" else self.numeric())
            if y is None:
                return None
            ws = rng.sample([n for n in names if n != y], min(len(names) - 1, rng.choice([1, 1, 2])))
            if form[0] == "p":
                return Query(form, "prob", [("eq", term(y), self.slot(y))], conds=self.obs(ws))
            return Query(form, "expect", target=term(y), conds=self.obs(ws))
        if form in ("p_do", "p_do_obs", "e_do"):
            y = self.pick(None if form[0] == "p" else self.numeric())
            if y is None:
                return None
            x = self.cause_of(y)
            if x is None:
                return None
            dos = [(x, self.slot(x))]
            others = [n for n in names if n not in (x, y)]
            if others and rng.random() < 0.3:
                z = rng.choice(others)
                dos.append((z, self.slot(z)))
                others.remove(z)
            # one do() clause, or one clause per variable
            conds = [("do", dos)] if rng.random() < 0.7 else [("do", [d]) for d in dos]
            if form == "p_do_obs" or (form == "e_do" and rng.random() < 0.3):
                if not others:
                    return None
                # now and then, observe the intervened variable itself
                w = x if rng.random() < 0.12 else rng.choice(others)
                ob = self.obs([w])
                conds = ob + conds if rng.random() < 0.3 else conds + ob
            if form[0] == "p":
                return Query(form, "prob", [("eq", term(y), self.slot(y))], conds=conds)
            return Query(form, "expect", target=term(y), conds=conds)
        if form == "p_expr":
            ys = rng.sample(names, min(len(names), rng.choice([1, 2, 2])))
            e = gen_cond(rng, self.operands(ys))
            if e[0] == "term":  # a bare variable would ask for its distribution
                e = ("cmp", rng.choice(["==", ">="]), e, num(1))
            return Query(form, "prob", [("expr", e)], conds=self.some_conds(ys[0], 0.3, 0.4))
        if form == "p_conj":
            ys = rng.sample(names, min(len(names), 2))
            evs = [("eq", term(v), self.slot(v)) for v in ys]
            if rng.random() < 0.3:
                e = gen_cond(rng, self.operands([ys[1]]))
                evs[1] = ("expr", ("cmp", "!=", e, num(0)) if e[0] == "term" else e)
            return Query(form, "prob", evs, conds=self.some_conds(ys[0], 0.3, 0.5))
        if form == "p_joint_dist":
            ys = rng.sample(names, min(len(names), 2))
            evs = [("var", term(v)) for v in ys]
            if rng.random() < 0.25:
                evs[1] = ("eq", term(ys[1]), self.slot(ys[1]))
            return Query(form, "dist", evs, conds=self.some_conds(ys[0], 0.2, 0.3))
        # ---------------------------------------------------------------- counterfactuals
        if form == "cf_p_obs":
            y = self.pick()
            x = self.cause_of(y)
            ev = [("eq", term(y, (x, self.slot(x))), self.slot(y))]
            obs = [x, y] if rng.random() < 0.7 else rng.sample([n for n in names], min(len(names), 2))
            conds = self.obs(obs)
            others = [n for n in names if n not in (x, y) and n not in obs]
            if rng.random() < 0.08:
                others = [x]  # do(X = x') under the world X = x: the world's value wins
            if others and rng.random() < 0.25:
                z = rng.choice(others)
                conds.insert(0, ("do", [(z, self.slot(z))]))
            return Query(form, "prob", ev, conds=conds)
        if form == "cf_e_diff":
            y = self.pick(self.numeric())
            if y is None:
                return None
            x = self.cause_of(y)
            target = ("bin", "-", term(y, (x, self.slot(x))), term(y, (x, self.slot(x))))
            obs = [x] if rng.random() < 0.7 else [self.pick(exclude={x}, weight_parents=False) or x]
            return Query(form, "expect", target=target, conds=self.obs(obs))
        if form == "cf_nested":
            y = self.pick()
            x = self.cause_of(y)
            meds = [a for a in m.ancestors(y) if a != x and x in m.ancestors(a)] or \
                   [n for n in names if n not in (x, y)]
            if not meds:
                return None
            md = rng.choice(meds)
            r = rng.random()
            if r < 0.1:  # M = M: the factual value
                ref = Ref(md, ())
            elif r < 0.25 and len(names) > 3:  # a world inside a world inside a world
                w = rng.choice([n for n in names if n not in (x, md)])
                ref = Ref(md, ((x, self.slot(x)), (w, Ref(w, ((x, self.slot(x)),)))))
            else:
                ref = Ref(md, ((x, self.slot(x)),))
            t = term(y, (x, self.slot(x)), (md, ref))
            if m.by_name[y].levels or rng.random() < 0.4:
                return Query(form, "prob", [("eq", t, self.slot(y))], conds=self.some_conds(y, 0, 0.3))
            return Query(form, "expect", target=t, conds=self.some_conds(y, 0, 0.3))
        if form == "cf_joint":
            y = self.pick()
            x = self.cause_of(y)
            y2 = y if rng.random() < 0.7 else self.pick(exclude={x})
            evs = [("eq", term(y, (x, self.slot(x))), self.slot(y)),
                   ("eq", term(y2, (x, self.slot(x))), self.slot(y2))]
            conds = self.obs([x]) if rng.random() < 0.3 else []
            return Query(form, "prob", evs, conds=conds)
        if form == "cf_dist":
            y = self.pick()
            x = self.cause_of(y)
            conds = self.obs([rng.choice([n for n in names if n != x])]) if rng.random() < 0.6 else []
            return Query(form, "dist", [("var", term(y, (x, self.slot(x))))], conds=conds)
        if form == "cf_obs":
            y = self.pick()
            x = self.cause_of(y)
            z = self.pick(exclude={x})
            conds = [("obs", term(y, (x, self.slot(x))), self.slot(y))]
            if rng.random() < 0.4:
                conds += self.obs([x])
            if m.by_name[z].levels or rng.random() < 0.5:
                return Query(form, "prob", [("eq", term(z), self.slot(z))], conds=conds)
            return Query(form, "expect", target=term(z), conds=conds)
        # ---------------------------------------------------------------- named effects
        return self.effect(form)

    def effect(self, name) -> Optional[Query]:
        rng, m = self.rng, self.m
        pool = self.binary() if name in ("PN", "PS", "PNS") else self.numeric()
        y = self.pick(pool)
        if y is None:
            return None
        x = self.cause_of(y)
        if x is None:
            return None
        dom = m.by_name[x].domain
        if len(dom) < 2:
            return None
        binary = dom == [0, 1]
        explicit = not binary or rng.random() < 0.4
        t, c = Slot(x, 1), Slot(x, 0)

        def reroll():
            if binary and rng.random() < 0.5:
                t.v, c.v = c.v, t.v
                q.effect = q.effect[:6] + (True,)
            elif not binary:
                t.v, c.v = rng.sample(dom, 2)

        if not binary:
            t.v, c.v = rng.sample(dom, 2)
        elif explicit and rng.random() < 0.5:
            t.v, c.v = Fr(0), Fr(1)
        med = None
        if name in ("NDE", "NIE"):
            meds = [a for a in m.ancestors(y) if a != x and x in m.ancestors(a)] or \
                   [n for n in m.by_name if n not in (x, y)]
            if not meds:
                return None
            med = rng.choice(meds)
        one, zero = Slot(y, 1, fixed=True), Slot(y, 0, fixed=True)
        if name in ("ATE", "ETT"):
            q = Query(name, "expect", target=("bin", "-", term(y, (x, t)), term(y, (x, c))),
                      conds=[("obs", term(x), t)] if name == "ETT" else [])
        elif name == "NDE":
            q = Query(name, "expect", target=("bin", "-", term(y, (x, t), (med, Ref(med, ((x, c),)))),
                                              term(y, (x, c))))
        elif name == "NIE":
            q = Query(name, "expect", target=("bin", "-", term(y, (x, c), (med, Ref(med, ((x, t),)))),
                                              term(y, (x, c))))
        elif name == "PN":
            q = Query(name, "prob", [("eq", term(y, (x, c)), zero)],
                      conds=[("obs", term(x), t), ("obs", term(y), one)])
        elif name == "PS":
            q = Query(name, "prob", [("eq", term(y, (x, t)), one)],
                      conds=[("obs", term(x), c), ("obs", term(y), zero)])
        else:
            q = Query(name, "prob", [("eq", term(y, (x, t)), one), ("eq", term(y, (x, c)), zero)])
        q.effect = (name, x, y, med, t, c, explicit)
        q.reroll = reroll
        return q


@dataclass
class Case:
    id: str
    model: int
    structure: tuple
    form: str
    query: str
    expected: object
    evidence: float


def build_cases():
    rng = random.Random(SEED)
    models, cases, zero_cases = [], [], []
    schedule: list = []
    for i in range(N_MODELS):
        model = gen_model(rng, i)
        models.append(model)
        k = rng.randint(*STRUCTURES_PER_MODEL)
        for s in range(k):
            if not schedule:
                schedule = FORMS[:]
                rng.shuffle(schedule)
            form = schedule.pop()
            maker = QueryMaker(model, rng)
            q = None
            for attempt in range(12):
                q = maker.make(form if attempt < 6 else rng.choice(FORMS))
                if q is None:
                    continue
                form = q.form
                if _variants(model, q, rng, i, s, cases, zero_cases):
                    break
    return models, cases, zero_cases


def _variants(model, q, rng, i, s, cases, zero_cases) -> bool:
    """Add up to VARIANTS_PER_STRUCTURE cases for ``q`` (values re-drawn); False if none was usable."""
    seen: set = set()
    added = 0
    for attempt in range(3 * VARIANTS_PER_STRUCTURE):
        if attempt:
            if q.reroll is not None:
                q.reroll()
            else:
                for sl in q.slots():
                    if not sl.fixed:
                        sl.v = rng.choice(model.by_name[sl.var].domain)
        text = q.text(model.levels)
        if text in seen:
            continue
        seen.add(text)
        got = model.answer(q)
        if got is ZERO:
            if sum(1 for z in zero_cases if z[0] == i) < 1 and len(zero_cases) < 10:
                zero_cases.append((i, text))
            continue
        value, evidence = got
        if evidence < 1e-10:
            continue
        cases.append(Case(f"m{i:02d}s{s}v{added}-{q.form}", i, (i, s), q.form, text, value, evidence))
        added += 1
        if added == VARIANTS_PER_STRUCTURE:
            break
    return added > 0


MODELS, CASES, ZERO_CASES = build_cases()
_ENGINE: dict = {}


def engine_model(i):
    if i not in _ENGINE:
        _ENGINE[i] = causaldsl.model(MODELS[i].text)
    return _ENGINE[i]


def _describe(case, got) -> str:
    return (f"\nmodel:\n{MODELS[case.model].text}\nquery: {case.query}\n"
            f"engine:      {got}\nbrute force: {case.expected}")


def _close(got, expected, tol) -> bool:
    if isinstance(expected, dict):
        return (isinstance(got, dict) and set(got) == set(expected)
                and all(abs(got[k] - expected[k]) <= tol for k in expected))
    return not isinstance(got, dict) and abs(got - expected) <= tol


def _tiny(nodes) -> Brute:
    return Brute("t", nodes)


def _bern(name, p, parents=()) -> Node:
    return Node(name, "sample", False, "Bernoulli", [(None, p)], parents=list(parents), domain=[Fr(0), Fr(1)])


def _assign(name, e, domain) -> Node:
    return Node(name, "assign", expr=e, parents=free_names(e), domain=[Fr(d) for d in domain])


# ====================================================================== tests
def test_enumerator_reproduces_textbook_values():
    """The enumerator alone, on a monotone model where closed forms are known (Pearl 2009, 9.2)."""
    brute = _tiny([_bern("x", num("0.5")), _bern("y", ("if", var("x"), num("0.8"), num("0.3")), ["x"])])
    t, c, one, zero = Slot("x", 1), Slot("x", 0), Slot("y", 1), Slot("y", 0)
    pns = Query("PNS", "prob", [("eq", term("y", ("x", t)), one), ("eq", term("y", ("x", c)), zero)])
    pn = Query("PN", "prob", [("eq", term("y", ("x", c)), zero)],
               conds=[("obs", term("x"), t), ("obs", term("y"), one)])
    ps = Query("PS", "prob", [("eq", term("y", ("x", t)), one)],
               conds=[("obs", term("x"), c), ("obs", term("y"), zero)])
    ate = Query("ATE", "expect", target=("bin", "-", term("y", ("x", t)), term("y", ("x", c))))
    # monotone and exogenous: PNS = P(y|x) - P(y|x'), PN = PNS / P(y|x), PS = PNS / P(y'|x')
    assert brute.answer(pns)[0] == pytest.approx(0.5, abs=1e-15)
    assert brute.answer(pn)[0] == pytest.approx(0.5 / 0.8, abs=1e-15)
    assert brute.answer(ps)[0] == pytest.approx(0.5 / 0.7, abs=1e-15)
    assert brute.answer(ate)[0] == pytest.approx(0.5, abs=1e-15)
    assert brute.answer(Query("d", "dist", [("var", term("y"))], conds=[("obs", term("x"), Slot("x", 0))]))[0] \
        == pytest.approx({0.0: 0.7, 1.0: 0.3}, abs=1e-15)
    assert brute.answer(Query("z", "prob", [("eq", term("y"), one)],
                              conds=[("obs", term("x"), t), ("obs", term("y"), zero)])) == pytest.approx((0.0, 0.1))
    # monotone: y = 1 under x = 0 (U >= 0.7) and y = 0 under x = 1 (U < 0.2) cannot both hold
    assert brute.answer(Query("z", "prob", [("eq", term("y"), one)],
                              conds=[("obs", term("x"), c), ("obs", term("y"), one),
                                     ("obs", term("y", ("x", t)), zero)])) is ZERO
    # a Binomial's cells: P(k) = C(2, k) 0.3^k 0.7^(2-k)
    b = _tiny([Node("k", "sample", False, "Binomial", [(None, num(2)), (None, num("0.3"))], domain=[Fr(0), Fr(1), Fr(2)])])
    assert b.answer(Query("d", "dist", [("var", term("k"))]))[0] == pytest.approx({0.0: 0.49, 1.0: 0.42, 2.0: 0.09})


def test_generator_covers_every_query_form():
    counts = defaultdict(int)
    for c in CASES:
        counts[c.form] += 1
    missing = [f for f in FORMS if counts[f] < 3]
    assert not missing, f"too few cases of {missing}: {dict(counts)}"
    assert len(CASES) >= 200
    assert len({c.model for c in CASES}) == N_MODELS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exact_engine_matches_brute_force(case):
    m = engine_model(case.model)
    try:
        r = m.query(case.query)
    except causaldsl.CausalDSLError as err:
        pytest.fail(f"engine raised {type(err).__name__}: {err}" + _describe(case, None))
    assert r.method == "exact" and r.stderr is None, _describe(case, r)
    assert _close(r.value, case.expected, TOL), _describe(case, r.value)


@pytest.mark.parametrize("i,query", ZERO_CASES, ids=[f"m{i:02d}-zero" for i, _ in ZERO_CASES])
def test_zero_probability_evidence_is_refused(i, query):
    with pytest.raises(causaldsl.ZeroProbabilityError):
        engine_model(i).query(query)


def _mc_cases():
    rng = random.Random(SEED + 1)
    good = [c for c in CASES if c.evidence >= 0.05]
    structures = sorted({c.structure for c in good})
    rng.shuffle(structures)
    chosen = set(structures[:MC_STRUCTURES])
    picked = [c for c in good if c.structure in chosen]
    rng.shuffle(picked)
    return sorted(picked[:MC_CASES], key=lambda c: c.id)


MC = _mc_cases()


@pytest.mark.parametrize("case", MC, ids=[c.id for c in MC])
def test_monte_carlo_agrees_with_brute_force(case):
    r = engine_model(case.model).query(case.query, method="monte-carlo", samples=MC_SAMPLES)
    assert r.method == "monte-carlo"
    if isinstance(case.expected, dict):
        assert isinstance(r.value, dict) and set(r.value) == set(case.expected), _describe(case, r.value)
        for k, v in case.expected.items():
            assert abs(r.value[k] - v) <= 4 * r.stderrs[k] + 1e-3, _describe(case, r.value) + f"\nkey {k}"
    else:
        assert r.stderr is not None
        assert abs(r.value - case.expected) <= 4 * r.stderr + 1e-3, \
            _describe(case, f"{r.value} ± {r.stderr}")


# ---------------------------------------------------------------------- hand-written checks
EXAMPLE = """model m {
    latent u ~ Bernoulli(0.3)
    a ~ Bernoulli(0.6)
    b ~ Categorical(lo: 0.2, mid: 0.5, hi: 0.3)
    c ~ Bernoulli(table(a, b) { (0, lo): 0.1, (0, mid): 0.5, (0, hi): 0.3, (1, lo): 0.9, (1, mid): 0.2, (1, hi): 0.7 })
    d ~ Bernoulli(if a and c then 0.8 else 0.1 + 0.2 * u)
    e := (c or d) != u
    f ~ Binomial(2, 0.3 + 0.2 * e)
    g := a + f
}"""


def _example_brute() -> Brute:
    B = [Fr(0), Fr(1)]
    ab = [((a, b), num(p)) for (a, b), p in zip(itertools.product(B, [Fr(0), Fr(1), Fr(2)]),
                                                 ["0.1", "0.5", "0.3", "0.9", "0.2", "0.7"])]
    nodes = [
        Node("u", "sample", True, "Bernoulli", [(None, num("0.3"))], parents=[], domain=B),
        Node("a", "sample", False, "Bernoulli", [(None, num("0.6"))], parents=[], domain=B),
        Node("b", "sample", False, "Categorical", [("lo", num("0.2")), ("mid", num("0.5")), ("hi", num("0.3"))],
             levels=("lo", "mid", "hi"), parents=[], domain=[Fr(0), Fr(1), Fr(2)]),
        Node("c", "sample", False, "Bernoulli", [(None, ("table", ("a", "b"), tuple(ab)))],
             parents=["a", "b"], domain=B),
        Node("d", "sample", False, "Bernoulli",
             [(None, ("if", ("and", var("a"), var("c")), num("0.8"),
                      ("bin", "+", num("0.1"), ("bin", "*", num("0.2"), var("u")))))],
             parents=["u", "a", "c"], domain=B),
        Node("e", "assign", expr=("cmp", "!=", ("or", var("c"), var("d")), var("u")),
             parents=["u", "c", "d"], domain=B),
        Node("f", "sample", False, "Binomial",
             [(None, num(2)), (None, ("bin", "+", num("0.3"), ("bin", "*", num("0.2"), var("e"))))],
             parents=["e"], domain=[Fr(0), Fr(1), Fr(2)]),
        Node("g", "assign", expr=("bin", "+", var("a"), var("f")), parents=["a", "f"],
             domain=[Fr(0), Fr(1), Fr(2), Fr(3)]),
    ]
    return Brute("m", nodes)


def test_example_model_renders_like_the_hand_written_text():
    got = _example_brute().text
    norm = lambda s: [" ".join(line.split()) for line in s.strip().splitlines()]  # noqa: E731
    assert norm(got) == norm(EXAMPLE)


HAND_QUERIES = [
    Query("hand", "prob", [("eq", term("g"), Slot("g", 2))], conds=[("do", [("a", Slot("a", 1))]),
                                                                 ("obs", term("c"), Slot("c", 1))]),
    Query("hand", "expect", target=("bin", "-", term("g", ("a", Slot("a", 1))), term("g", ("a", Slot("a", 0)))),
          conds=[("obs", term("a"), Slot("a", 1))]),
    Query("hand", "expect", target=term("g", ("a", Slot("a", 1)), ("f", Ref("f", (("a", Slot("a", 0)),))))),
    Query("hand", "prob", [("eq", term("e", ("b", Slot("b", 2))), Slot("e", 0))],
          conds=[("obs", term("e"), Slot("e", 1)), ("obs", term("b"), Slot("b", 0))]),
    Query("hand", "dist", [("var", term("b"))], conds=[("obs", term("g"), Slot("g", 3))]),
]


@pytest.mark.parametrize("k", range(len(HAND_QUERIES)))
def test_example_model_hand_queries(k):
    brute = _example_brute()
    q = HAND_QUERIES[k]
    text = q.text(brute.levels)
    expected, _ = brute.answer(q)
    got = causaldsl.model(EXAMPLE).query(text).value
    assert _close(got, expected, TOL), f"{text}: engine {got}, brute force {expected}"


def test_expectation_of_a_level_comparison_beside_a_variable():
    """``b == mid`` is 0/1, so ``E[a + (b == mid)]`` is a mean like any other."""
    brute = _example_brute()
    q = Query("hand", "expect", target=("bin", "+", term("a"), ("cmp", "==", term("b"), ("lvl", 1, "mid"))))
    text = q.text(brute.levels)
    assert text == "E[a + (b == mid)]"
    expected, _ = brute.answer(q)
    assert expected == pytest.approx(0.6 + 0.5, abs=1e-12)
    got = causaldsl.model(EXAMPLE).query(text).value
    assert abs(got - expected) <= TOL


def test_hand_written_zero_probability_evidence():
    m = causaldsl.model("model z {\n a ~ Bernoulli(0.5)\n b ~ Bernoulli(0.3)\n y := a or b\n"
                        " w ~ Bernoulli(table(y) { 0: 0, 1: 0.6 })\n}")
    for q in ["P(b = 1 | y = 0, a = 1)", "E[b | w = 1, y = 0]", "P(y[a = 0] = 1 | a = 1, y = 0)",
              "P(a = 1 | do(b = 1), y = 0)"]:
        with pytest.raises(causaldsl.ZeroProbabilityError):
            m.query(q)
    assert isinstance(causaldsl.ZeroProbabilityError("x"), causaldsl.CausalDSLError)


INTERVENED = _tiny([
    _bern("x", num("0.3")),
    _assign("d", var("x"), [0, 1]),
    _bern("y", ("if", var("d"), num("0.8"), num("0.1")), ["d"]),
])


@pytest.mark.parametrize("q", [
    Query("hand", "dist", [("var", term("d"))], conds=[("do", [("d", Slot("d", 1))])]),
    Query("hand", "dist", [("var", term("y")), ("var", term("d"))], conds=[("do", [("d", Slot("d", 1))])]),
    Query("hand", "dist", [("var", term("d", ("x", Slot("x", 0))))], conds=[("do", [("d", Slot("d", 1))])]),
], ids=["P(d|do(d))", "P(y,d|do(d))", "P(d[x]|do(d))"])
def test_distribution_of_an_intervened_variable(q):
    """P(D | do(D = 1)) is the point mass at 1 (the engine must not crash on the fixed node)."""
    text = q.text(INTERVENED.levels)
    expected, _ = INTERVENED.answer(q)
    try:
        got = causaldsl.model(INTERVENED.text).query(text).value
    except Exception as err:  # noqa: BLE001 - a crash is the failure being tested
        pytest.fail(f"{text} raised {type(err).__name__}: {err}; brute force: {expected}")
    assert _close(got, expected, TOL), f"{text}: engine {got}, brute force {expected}"


@pytest.mark.parametrize("const", [0, 1])
@pytest.mark.parametrize("effect", ["PN", "PS", "PNS"])
def test_probabilities_of_causation_with_a_constant_outcome(effect, const):
    """The engine accepts an outcome whose only value is 0 (or 1) for PN/PS/PNS (it checks for
    domains (0, 1), (0,) and (1,)); the answer is then 0, or undefined when the evidence is impossible."""
    x = _bern("x", num("0.5"))
    y = _assign("y", ("bin", "+", ("bin", "-", var("x"), var("x")), num(const)), [const])
    brute = _tiny([x, y])
    t, c = Slot("x", 1), Slot("x", 0)
    one, zero = Slot("y", 1, True), Slot("y", 0, True)
    q = {"PN": Query("PN", "prob", [("eq", term("y", ("x", c)), zero)],
                     conds=[("obs", term("x"), t), ("obs", term("y"), one)]),
         "PS": Query("PS", "prob", [("eq", term("y", ("x", t)), one)],
                     conds=[("obs", term("x"), c), ("obs", term("y"), zero)]),
         "PNS": Query("PNS", "prob", [("eq", term("y", ("x", t)), one), ("eq", term("y", ("x", c)), zero)])}[effect]
    expected = brute.answer(q)
    m = causaldsl.model(brute.text)
    if expected is ZERO:
        # the evidence names a value outside y's domain: undefined either way
        with pytest.raises((causaldsl.ZeroProbabilityError, causaldsl.DomainError)):
            m.query(f"{effect}(x -> y)")
    else:
        assert expected[0] == 0.0
        assert abs(m.query(f"{effect}(x -> y)").value - expected[0]) <= TOL
