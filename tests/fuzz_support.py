"""Generators and an independent enumerator for the fuzz tests (tests/test_fuzz.py).

Nothing here imports causaldsl: a model is generated as plain data (:class:`Node`), written
out as DSL text, and answered a second time by brute-force enumeration of the semantics that
docs/language.md documents:

* ``X ~ D(theta(parents))`` is ``X := F^-1(U_X; theta)``: ``U_X ~ Uniform[0, 1)`` and value
  ``k`` (ascending values; Categorical levels in the order written) is taken on
  ``[F(k-1), F(k))``; for Bernoulli, ``X = 1`` exactly when ``U_X >= 1 - p``;
* every world of a query (the factual one, one per distinct subscript, nested subscripts
  ``M = M[X = 0]``) has its own copy of every variable, and all copies share ``U_X``: so the
  joint of a ``~`` node across worlds, given its parents in each world, is the length of the
  intersection of the worlds' CDF intervals (the comonotone coupling);
* ``do(X = x)`` is graph surgery: ``X`` is held at ``x`` and its mechanism is dropped, in
  every world when it is written under ``|``, in one world when it is a subscript;
* a query is ``E[target * evidence] / P(evidence)``; ``P(evidence) = 0`` is an error.

Probabilities are exact fractions (the literals are parsed as :class:`~fractions.Fraction`), so
that an impossible event is exactly impossible here; most literals are dyadic (multiples of
1/16), which floating point also holds exactly.

>>> x = Node("x", "bern", (), False, (F(0), F(1)), ("num", F(1, 4)))
>>> y = Node("y", "det", ("x",), False, (F(0), F(1)), ("sub1", ("var", "x")))
>>> m = Model((x, y))
>>> print(m.text())
model fz {
    x ~ Bernoulli(0.25)
    y := 1 - x
}
>>> answer(m, Query("P(y = 1)", "P", worlds=({},), target=((0, "y", F(1)),)))
Fraction(3, 4)
>>> _mentions(("lin", F(0), ((F(1, 2), "x"),)), "x"), _mentions(("num", F(1)), "x")
(True, False)
>>> answer(m, Query("P(y[x = 1] = 1 | y = 1)", "P", worlds=({}, {"x": F(1)}),
...                 target=((1, "y", F(1)),), evidence=((0, "y", F(1)),)))
Fraction(0, 1)
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction as F
from typing import Union

from hypothesis import strategies as st

Value = Union[F, str]

# ====================================================================== expressions
# Tuples: ("num", F) ("var", name) ("eq", name, level) ("not", e) ("and", a, b) ("or", a, b)
# ("ne", a, b) ("sub1", e) ("add", a, b) ("if", c, a, b) ("lin", F, ((F, name), ...))
# ("table", (parents...), ((key tuple, expr), ...))


def fmt_num(x: F) -> str:
    """A fraction as a DSL literal (exact for dyadic and short decimal fractions).

    >>> fmt_num(F(3, 16)), fmt_num(F(2)), fmt_num(F(-1)), fmt_num(F(3, 10))
    ('0.1875', '2', '-1', '0.3')
    """
    if x.denominator == 1:
        return str(x.numerator)
    text = f"{float(x):.12g}"
    assert F(text) == x, x
    return text


def fmt_value(v: Value) -> str:
    return v if isinstance(v, str) else fmt_num(v)


def expr_text(e: tuple, top: bool = True) -> str:
    """The DSL text of an expression; compound sub-expressions are parenthesised."""
    kind = e[0]
    if kind == "num":
        return fmt_num(e[1])
    if kind == "var":
        return e[1]
    if kind == "table":
        rows = ", ".join(f"{_key_text(k)}: {expr_text(v)}" for k, v in e[2])
        return f"table({', '.join(e[1])}) {{{rows}}}"
    if kind == "eq":
        body = f"{e[1]} == {e[2]}"
    elif kind == "not":
        body = f"not {expr_text(e[1], False)}"
    elif kind in ("and", "or"):
        body = f"{expr_text(e[1], False)} {kind} {expr_text(e[2], False)}"
    elif kind == "ne":
        body = f"{expr_text(e[1], False)} != {expr_text(e[2], False)}"
    elif kind == "sub1":
        body = f"1 - {expr_text(e[1], False)}"
    elif kind == "add":
        body = f"{expr_text(e[1], False)} + {expr_text(e[2], False)}"
    elif kind == "if":
        body = f"if {expr_text(e[1])} then {expr_text(e[2])} else {expr_text(e[3])}"
    elif kind in ("bin", "cmp"):
        body = f"{expr_text(e[2], False)} {e[1]} {expr_text(e[3], False)}"
    elif kind == "neg":
        body = f"-{expr_text(e[1], False)}"
    elif kind == "lin":
        body = " + ".join([fmt_num(e[1])] + [f"{fmt_num(c)} * {v}" for c, v in e[2]])
    else:  # pragma: no cover - a generator bug
        raise ValueError(kind)
    return body if top else f"({body})"


def _key_text(key: tuple) -> str:
    parts = [fmt_value(v) for v in key]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}


def truth(v: Value) -> bool:
    return v != 0


def evaluate(e: tuple, env: dict) -> Value:
    """The value of an expression given its parents' values (logical values are 0 and 1)."""
    kind = e[0]
    if kind == "num":
        return e[1]
    if kind == "var":
        return env[e[1]]
    if kind == "eq":
        return F(int(env[e[1]] == e[2]))
    if kind == "not":
        return F(int(not truth(evaluate(e[1], env))))
    if kind == "and":
        return F(int(truth(evaluate(e[1], env)) and truth(evaluate(e[2], env))))
    if kind == "or":
        return F(int(truth(evaluate(e[1], env)) or truth(evaluate(e[2], env))))
    if kind == "ne":
        return F(int(evaluate(e[1], env) != evaluate(e[2], env)))
    if kind == "sub1":
        return 1 - evaluate(e[1], env)
    if kind == "add":
        return evaluate(e[1], env) + evaluate(e[2], env)
    if kind == "if":
        return evaluate(e[2], env) if truth(evaluate(e[1], env)) else evaluate(e[3], env)
    if kind == "bin":
        a, b = evaluate(e[2], env), evaluate(e[3], env)
        return a + b if e[1] == "+" else a - b if e[1] == "-" else a * b
    if kind == "cmp":
        return F(int(CMP[e[1]](evaluate(e[2], env), evaluate(e[3], env))))
    if kind == "neg":
        return -evaluate(e[1], env)
    if kind == "lin":
        return e[1] + sum(c * env[v] for c, v in e[2])
    if kind == "table":
        key = tuple(env[p] for p in e[1])
        return evaluate(dict(e[2])[key], env)
    raise ValueError(kind)  # pragma: no cover


# ====================================================================== models


@dataclass(frozen=True)
class Node:
    """One statement. ``mech``: the probability expression (bern), one expression per level
    (cat, catn), or the structural expression (det). ``domain``: the values, in CDF order."""

    name: str
    kind: str  # "bern" | "cat" (named levels) | "catn" (levels 0, 1, ...) | "det"
    parents: tuple
    latent: bool
    domain: tuple
    mech: tuple

    @property
    def numeric(self) -> bool:
        return self.kind != "cat"

    @property
    def binary(self) -> bool:
        return self.domain == (F(0), F(1))

    def text(self) -> str:
        head = ("latent " if self.latent else "") + self.name
        if self.kind == "det":
            return f"{head} := {expr_text(self.mech)}"
        if self.kind == "bern":
            return f"{head} ~ Bernoulli({expr_text(self.mech)})"
        if self.kind == "cat":
            args = ", ".join(f"{lvl}: {expr_text(p)}" for lvl, p in zip(self.domain, self.mech))
        else:
            args = ", ".join(expr_text(p) for p in self.mech)
        return f"{head} ~ Categorical({args})"

    def probabilities(self, env: dict) -> list:
        """P(value) for each value of the domain, given the parents."""
        if self.kind == "bern":
            p = evaluate(self.mech, env)
            return [1 - p, p]
        return [evaluate(p, env) for p in self.mech]


@dataclass(frozen=True)
class Model:
    nodes: tuple  # in a topological order

    def __getitem__(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def text(self, queries: tuple = ()) -> str:
        body = "\n".join("    " + n.text() for n in self.nodes)
        return "model fz {\n" + body + "\n}" + "".join("\n" + q for q in queries)

    def descendants(self, name: str) -> set:
        out: set = set()
        for n in self.nodes:
            if name in n.parents or out & set(n.parents):
                out.add(n.name)
        return out

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return "Model(<<\n" + self.text() + "\n>>)"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


# ====================================================================== enumeration


@dataclass(frozen=True)
class Query:
    """A query's text and its meaning.

    ``worlds[k]`` maps intervened names to a value or to ``("ref", j, name)`` (the value of
    ``name`` in world ``j``: nested counterfactuals); world 0 is the factual one. ``target``:
    for ``P``, a conjunction of ``(world, name, value)``; for ``E``, a sum of
    ``(coefficient, world, name)``; for ``dist``, one ``(world, name)``. ``evidence``: a
    conjunction of ``(world, name, value)`` or ``("expr", expression)`` (of world 0).
    """

    text: str
    kind: str  # "P" | "E" | "dist" | "Pexpr" | "Parith" | "Eexpr" (target: one expression of world 0)
    worlds: tuple = ({},)
    target: tuple = ()
    evidence: tuple = ()

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


class ZeroEvidence(Exception):
    """The evidence of a query has probability zero."""


def joint(model: Model, worlds: tuple) -> dict:
    """The exact joint distribution of every node in every world.

    Keys are tuples with one entry per node (in model order), each entry the tuple of the
    node's values in each world; values are probabilities (fractions).
    """
    states: dict = {(): F(1)}
    for i, node in enumerate(model.nodes):
        nxt: dict = defaultdict(F)
        for state, weight in states.items():
            envs = [{model.nodes[j].name: state[j][k] for j in range(i)} for k in range(len(worlds))]
            for values, length in node_cells(node, worlds, envs):
                nxt[state + (values,)] += weight * length
        states = nxt
    return states


def node_cells(node: Node, worlds: tuple, envs: list):
    """The node's values across worlds on each cell of its shared noise ``U``, with the cell's
    length: the cells are cut by every world's CDF breakpoints."""
    random = [k for k, w in enumerate(worlds) if node.name not in w]
    cdfs = {}
    if node.kind != "det":
        for k in random:
            cdfs[k] = list(itertools.accumulate(node.probabilities(envs[k])))
    cuts = sorted({F(0), F(1)} | {c for cdf in cdfs.values() for c in cdf if 0 < c < 1})
    cells = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a] if cdfs else [(F(0), F(1))]
    for a, b in cells:
        values: list = [None] * len(worlds)
        for k in random:
            if node.kind == "det":
                values[k] = evaluate(node.mech, envs[k])
            else:  # F^-1(u) for u in [a, b): the first value whose CDF exceeds a
                values[k] = node.domain[next(j for j, c in enumerate(cdfs[k]) if c > a)]
        for k, w in enumerate(worlds):  # plain interventions first, then references to them
            if node.name in w and not _is_ref(w[node.name]):
                values[k] = w[node.name]
        for k, w in enumerate(worlds):
            if node.name in w and _is_ref(w[node.name]):
                values[k] = values[w[node.name][1]]
        yield tuple(values), b - a


def _is_ref(v) -> bool:
    return isinstance(v, tuple) and v and v[0] == "ref"


def answer(model: Model, query: Query):
    """The exact answer: a fraction, or a dict value -> probability for ``dist``.

    Raises :class:`ZeroEvidence` when the evidence is impossible.
    """
    index = {n.name: i for i, n in enumerate(model.nodes)}

    def val(state, world, name):
        return state[index[name]][world]

    def env(state):
        return {n.name: state[i][0] for i, n in enumerate(model.nodes)}

    def holds(state, fact):
        if fact[0] == "expr":  # a logical expression of the factual world
            return truth(evaluate(fact[1], env(state)))
        k, n, v = fact
        return val(state, k, n) == v

    total = F(0)
    num: Union[F, dict] = defaultdict(F) if query.kind == "dist" else F(0)
    for state, p in joint(model, query.worlds).items():
        if p == 0 or not all(holds(state, f) for f in query.evidence):
            continue
        total += p
        if query.kind in ("Pexpr", "Parith"):
            num += p * truth(evaluate(query.target[0], env(state)))
        elif query.kind == "Eexpr":
            num += p * evaluate(query.target[0], env(state))
        elif query.kind == "P":
            num += p * all(val(state, k, n) == v for k, n, v in query.target)
        elif query.kind == "E":
            num += p * sum(c * val(state, k, n) for c, k, n in query.target)
        else:
            (k, n), = query.target
            num[val(state, k, n)] += p
    if total == 0:
        raise ZeroEvidence(query.text)
    if query.kind == "dist":
        return {v: num.get(v, F(0)) / total for v in model[query.target[0][1]].domain}
    return num / total


# ====================================================================== model strategies

NAMES = ("a", "b", "c", "d", "f", "g")  # no 'e': easy to misread beside E[...]
LEVELS = ("lo", "mid", "hi", "red")
SIXTEENTHS = tuple(F(k, 16) for k in range(17))
PROBS = SIXTEENTHS + (F(1, 10), F(3, 10), F(7, 10), F(9, 10))


def prob() -> st.SearchStrategy:
    """A probability literal; 0 and 1 come often, to make impossible evidence."""
    return st.one_of(st.sampled_from((F(0), F(1))), st.sampled_from(PROBS))


@st.composite
def simplex(draw, k: int) -> tuple:
    """``k`` sixteenths summing to one (dyadic, so exact in floating point too)."""
    cuts = sorted(draw(st.lists(st.integers(0, 16), min_size=k - 1, max_size=k - 1)))
    bounds = [0] + cuts + [16]
    return tuple(F(b - a, 16) for a, b in zip(bounds, bounds[1:]))


def configs(parents: tuple) -> list:
    """Every combination of the parents' values."""
    return list(itertools.product(*(p.domain for p in parents)))


def condition_on(p: Node, draw) -> tuple:
    """A logical expression of one parent."""
    if p.kind == "cat":
        return ("eq", p.name, draw(st.sampled_from(p.domain)))
    return ("var", p.name)


@st.composite
def bernoulli_mech(draw, parents: tuple) -> tuple:
    if not parents:
        return ("num", draw(prob()))
    form = draw(st.sampled_from(("if", "table", "lin", "num")))
    if form == "if":
        return ("if", condition_on(parents[0], draw), ("num", draw(prob())), ("num", draw(prob())))
    if form == "lin" and all(p.binary for p in parents):
        # base + sum of coefficients <= 1 keeps every combination a probability
        parts = draw(simplex(len(parents) + 2))
        return ("lin", parts[0], tuple((c, p.name) for c, p in zip(parts[1:], parents)))
    if form == "num":
        return ("num", draw(prob()))
    keys = configs(parents)
    return ("table", tuple(p.name for p in parents), tuple((k, ("num", draw(prob()))) for k in keys))


@st.composite
def categorical_mech(draw, parents: tuple, k: int) -> tuple:
    """One expression per level: constants, or a table per level over the parents."""
    if not parents:
        return tuple(("num", p) for p in draw(simplex(k)))
    keys = configs(parents)
    rows = [draw(simplex(k)) for _ in keys]
    names = tuple(p.name for p in parents)
    return tuple(("table", names, tuple((key, ("num", row[j])) for key, row in zip(keys, rows)))
                 for j in range(k))


@st.composite
def det_mech(draw, parents: tuple) -> tuple:
    terms = [condition_on(p, draw) for p in parents]
    if len(parents) == 1:
        p = parents[0]
        if p.kind == "cat":
            return terms[0]
        return draw(st.sampled_from((("sub1", terms[0]), ("not", terms[0]), terms[0])))
    a, b = terms[:2]
    form = draw(st.sampled_from(("and", "or", "ne", "add", "if")))
    if form == "add" and all(p.numeric for p in parents[:2]):
        return ("add", a, b)
    if form == "if":
        return ("if", a, b, ("not", b))
    return (form if form != "add" else "or", a, b)


@st.composite
def models(draw, min_nodes: int = 2, max_nodes: int = 6) -> Model:
    """A random discrete model: Bernoulli, Categorical (named or numbered levels) and ``:=``
    nodes, some latent, at most two parents each (so that tables stay short)."""
    n = draw(st.integers(min_nodes, max_nodes))
    nodes: list = []
    for i in range(n):
        parents = tuple(draw(st.lists(st.sampled_from(nodes), max_size=min(2, i), unique_by=lambda p: p.name))) if i else ()
        kinds = ["bern", "cat", "catn"] + (["det", "det"] if parents else [])
        kind = draw(st.sampled_from(kinds))
        latent = draw(st.integers(0, 3)) == 0
        name = NAMES[i]
        if kind == "bern":
            node = Node(name, kind, tuple(p.name for p in parents), latent, (F(0), F(1)),
                        draw(bernoulli_mech(parents)))
        elif kind in ("cat", "catn"):
            k = draw(st.integers(2, 3))
            domain = LEVELS[:k] if kind == "cat" else tuple(F(j) for j in range(k))
            node = Node(name, kind, tuple(p.name for p in parents), latent, domain,
                        draw(categorical_mech(parents, k)))
        else:
            mech = draw(det_mech(parents))
            used = tuple(p for p in parents if _mentions(mech, p.name))
            image = sorted({evaluate(mech, dict(zip((p.name for p in used), key))) for key in configs(used)})
            node = Node(name, kind, tuple(p.name for p in used), latent, tuple(image), mech)
        # a parent the mechanism does not mention is no parent (`if`, constants)
        node = replace(node, parents=tuple(p for p in node.parents if _mentions(node.mech, p)))
        nodes.append(node)
    return Model(tuple(nodes))


def _mentions(e, name: str) -> bool:
    if isinstance(e, tuple):
        if e[:1] in (("var",), ("eq",)) and e[1] == name:
            return True
        if e[:1] == ("table",) and name in e[1]:
            return True
        if e[:1] == ("lin",):
            return any(v == name for _, v in e[2])
        return any(_mentions(x, name) for x in e[1:])
    return False


# ====================================================================== query strategies


def _eq(k_name_value: tuple, world_text: str = "") -> str:
    _, name, value = k_name_value
    return f"{name}{world_text} = {fmt_value(value)}"


@st.composite
def observations(draw, model: Model, exclude: tuple = (), max_size: int = 2) -> tuple:
    names = [n.name for n in model.nodes if n.name not in exclude]
    chosen = draw(st.lists(st.sampled_from(names), max_size=min(max_size, len(names)), unique=True)) if names else []
    return tuple((0, n, draw(st.sampled_from(model[n].domain))) for n in chosen)


def _conds(do: dict, evidence: tuple) -> str:
    parts = []
    if do:
        parts.append("do(" + ", ".join(f"{k} = {fmt_value(v)}" for k, v in do.items()) + ")")
    parts += [_eq(e) for e in evidence]
    return (" | " + ", ".join(parts)) if parts else ""


@st.composite
def queries(draw, model: Model) -> Query:
    """A query of any rung, with its meaning."""
    form = draw(st.sampled_from(("P", "P", "dist", "E", "do", "cf", "cf", "cf_E", "nested", "effect")))
    names = [n.name for n in model.nodes]
    numeric = [n.name for n in model.nodes if n.numeric]
    if form in ("P", "dist", "E", "do"):
        y = draw(st.sampled_from(numeric if form == "E" and numeric else names))
        if form == "E" and not model[y].numeric:
            form = "P"
        do: dict = {}
        if form == "do" or draw(st.booleans()):
            x = draw(st.sampled_from([n for n in names if n != y]))
            do = {x: draw(st.sampled_from(model[x].domain))}
        ev = draw(observations(model, exclude=(y, *do)))
        world = (do,)
        if form == "E":
            return Query(f"E[{y}{_conds(do, ev)}]", "E", world, ((F(1), 0, y),), ev)
        if form == "dist":
            return Query(f"P({y}{_conds(do, ev)})", "dist", world, ((0, y),), ev)
        target = ((0, y, draw(st.sampled_from(model[y].domain))),)
        return Query(f"P({_eq(target[0])}{_conds(do, ev)})", "P", world, target, ev)
    if form in ("cf", "cf_E", "nested"):
        x, y = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        if form != "cf" and not model[y].numeric:
            form = "cf"
        xs = draw(st.lists(st.sampled_from(model[x].domain), min_size=2, max_size=2))
        sub = lambda v: f"[{x} = {fmt_value(v)}]"  # noqa: E731
        if form == "cf":
            target = (1, y, draw(st.sampled_from(model[y].domain)))
            ev = draw(observations(model, max_size=3))
            return Query(f"P({_eq(target, sub(xs[0]))}{_conds({}, ev)})", "P",
                         ({}, {x: xs[0]}), (target,), ev)
        if form == "cf_E":
            ev = draw(observations(model, max_size=2))
            return Query(f"E[{y}{sub(xs[0])} - {y}{sub(xs[1])}{_conds({}, ev)}]", "E",
                         ({}, {x: xs[0]}, {x: xs[1]}), ((F(1), 1, y), (F(-1), 2, y)), ev)
        others = [n for n in names if n not in (x, y)]
        if not others:
            return Query(f"E[{y}]", "E", ({},), ((F(1), 0, y),))
        m = draw(st.sampled_from(others))
        text = f"E[{y}[{x} = {fmt_value(xs[0])}, {m} = {m}{sub(xs[1])}]]"
        return Query(text, "E", ({}, {x: xs[1]}, {x: xs[0], m: ("ref", 1, m)}), ((F(1), 2, y),))
    return draw(effects(model))


@st.composite
def effects(draw, model: Model) -> Query:
    """A named effect (ATE, ETT, PN, PS, PNS, NDE, NIE) of a treatment on a later node."""
    pairs = [(x, y) for i, x in enumerate(model.nodes) for y in model.nodes[i + 1:] if y.numeric]
    if not pairs:
        y = model.nodes[-1].name
        return Query(f"P({y})", "dist", ({},), ((0, y),))
    x, y = draw(st.sampled_from(pairs))
    if x.binary and draw(st.booleans()):
        t, c, opts = F(1), F(0), ""
    else:
        t, c = draw(st.lists(st.sampled_from(x.domain), min_size=2, max_size=2, unique=True))
        opts = f", treat={fmt_value(t)}, control={fmt_value(c)}"
    X, Y = x.name, y.name
    names = ["ATE", "ETT"] + (["PN", "PS", "PNS"] if y.binary else [])
    mediators = [m for m in model.descendants(X) if Y in model.descendants(m)]
    if mediators:
        names += ["NDE", "NIE"]
    name = draw(st.sampled_from(names))
    if name in ("NDE", "NIE"):
        M = draw(st.sampled_from(sorted(mediators)))
        text = f"{name}({X} -> {Y} via {M}{opts})"
        if name == "NDE":  # E[Y[X=t, M=M[X=c]] - Y[X=c]]
            return Query(text, "E", ({}, {X: c}, {X: t, M: ("ref", 1, M)}), ((F(1), 2, Y), (F(-1), 1, Y)))
        # NIE: E[Y[X=c, M=M[X=t]] - Y[X=c]]
        return Query(text, "E", ({}, {X: t}, {X: c}, {X: c, M: ("ref", 1, M)}), ((F(1), 3, Y), (F(-1), 2, Y)))
    text = f"{name}({X} -> {Y}{opts})"
    if name == "ATE":
        return Query(text, "E", ({}, {X: t}, {X: c}), ((F(1), 1, Y), (F(-1), 2, Y)))
    if name == "ETT":
        return Query(text, "E", ({}, {X: t}, {X: c}), ((F(1), 1, Y), (F(-1), 2, Y)), ((0, X, t),))
    if name == "PN":  # P(Y[X=c] = 0 | X = t, Y = 1)
        return Query(text, "P", ({}, {X: c}), ((1, Y, F(0)),), ((0, X, t), (0, Y, F(1))))
    if name == "PS":  # P(Y[X=t] = 1 | X = c, Y = 0)
        return Query(text, "P", ({}, {X: t}), ((1, Y, F(1)),), ((0, X, c), (0, Y, F(0))))
    # PNS: P(Y[X=t] = 1, Y[X=c] = 0)
    return Query(text, "P", ({}, {X: t}, {X: c}), ((1, Y, F(1)), (2, Y, F(0))))


# ====================================================================== expression events


@st.composite
def expressions(draw, model: Model, logical: bool, depth: int = 2) -> tuple:
    """An expression of the model's variables: logical (comparisons, and/or/not) or arithmetic."""
    numeric = [n for n in model.nodes if n.numeric]
    cats = [n for n in model.nodes if not n.numeric]

    def leaf():
        if numeric and (not cats or draw(st.booleans())):
            n = draw(st.sampled_from(numeric))
            return ("var", n.name) if draw(st.integers(0, 3)) else ("num", draw(st.sampled_from(n.domain)))
        n = draw(st.sampled_from(cats))
        return ("eq", n.name, draw(st.sampled_from(n.domain)))

    def arith(d):
        if d == 0 or not numeric or draw(st.booleans()):
            return leaf()
        op = draw(st.sampled_from(("+", "-", "*", "neg")))
        return ("neg", arith(d - 1)) if op == "neg" else ("bin", op, arith(d - 1), arith(d - 1))

    def logic(d):
        form = draw(st.sampled_from(("cmp", "cmp", "eq", "and", "or", "not") if d else ("cmp", "eq")))
        if form == "cmp" and numeric:
            return ("cmp", draw(st.sampled_from(sorted(CMP))), arith(d), arith(d))
        if form in ("and", "or"):
            return (form, logic(d - 1), logic(d - 1))
        if form == "not":
            return ("not", logic(d - 1))
        n = draw(st.sampled_from(model.nodes))
        return ("eq", n.name, draw(st.sampled_from(n.domain))) if not n.numeric else \
            ("cmp", "==", ("var", n.name), ("num", draw(st.sampled_from(n.domain))))

    return logic(depth) if logical else arith(depth)


@st.composite
def expression_queries(draw, model: Model, conditions: bool = False, arithmetic_events: bool = False) -> Query:
    """``P(logical expression)``, ``E[arithmetic expression]``, with ``arithmetic_events``
    also ``P(arithmetic expression)``, and with ``conditions`` each conditioned on logical
    expressions (``E[y | x > 0 or z == lo]``)."""
    ev: tuple = ()
    cond = ""
    if conditions:
        ev = tuple(("expr", e) for e in draw(st.lists(expressions(model, True, 1), min_size=1, max_size=2)))
        cond = " | " + ", ".join(expr_text(e[1]) for e in ev)
    if any(n.numeric for n in model.nodes) and draw(st.booleans()):
        e = draw(expressions(model, False))
        return Query(f"E[{expr_text(e)}{cond}]", "Eexpr", ({},), (e,), ev)
    if arithmetic_events and any(n.numeric for n in model.nodes) and draw(st.booleans()):
        # an arithmetic event: true where non-zero (or refused); never its mean (issue 18, item 18)
        e = draw(expressions(model, False))
        return Query(f"P({expr_text(e)}{cond})", "Parith", ({},), (e,), ev)
    e = draw(expressions(model, True))
    return Query(f"P({expr_text(e)}{cond})", "Pexpr", ({},), (e,), ev)


# ====================================================================== mutations

KEYWORDS = ("model", "latent", "param", "fit", "to", "graph", "if", "then", "else", "and", "or",
            "not", "table", "do", "P", "E", "ATE", "ETT", "NDE", "NIE", "PN", "PS", "PNS", "via",
            "identify", "adjustment", "instruments", "independences", "ancestors", "admg",
            "Bernoulli", "Categorical", "Normal", "Poisson", "Binomial", "exp", "log", "sqrt",
            "min", "max", "sigmoid", "~", ":=", "->", "<->", "_||_", "|", "=", "==", "!=", "<=",
            "(", ")", "[", "]", "{", "}", ",", ";", ":", "**", "*", "/", "+", "-", "#", '"', "'")
ODD = ("\r\n", "\r", "\n", "\t", "\x00", "\ufeff", "\u00e9", "\u03b2", "\u2028", "\U0001F600",
       "\u200b", "\x0c", "\\", "`", "$", "@", "%%causal", "1e308", "1e-400", "9" * 400,
       "0." + "0" * 300 + "1", "-" * 60 + "1", "(" * 60, ")" * 60, "[" * 30, "nan", "inf",
       "-1", "1.5", "99999999999999999999", "0x10", "1_000")


TOKEN = re.compile(r"\s+|[A-Za-z_]\w*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|:=|<->|->|==|!=|<=|>=|\*\*|_\|\|_|.", re.S)
OPS = ("delete", "insert", "duplicate", "swap", "tok_delete", "tok_copy", "tok_dup", "tok_keyword",
       "nest", "line_dup", "line_swap", "crlf", "cr")
# Ways to bury a term deep: parentheses, unary minus, nested calls, long sums and products,
# nested subscripts, nested if-then-else; each wraps the term ``depth`` times.
NESTINGS = ("({})", "-{}", "exp({})", "abs({})", "{} + 1", "1 * {}", "not {}", "if {} then 1 else 0",
            "a[b = {}]", "min({}, 1)")


@st.composite
def mutation(draw) -> tuple:
    """One edit, as data: (operation, position in [0, 1], second position, payload, depth)."""
    op = draw(st.sampled_from(OPS))
    pos, pos2 = draw(st.floats(0, 1, allow_nan=False)), draw(st.floats(0, 1, allow_nan=False))
    payload = draw(st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(ODD),
                             st.text(min_size=1, max_size=3)))
    depth = draw(st.sampled_from((3, 60, 400, 1200)))
    return op, pos, pos2, payload, depth


def mutate(text: str, edits: tuple) -> str:
    """Apply the edits in order (characters, tokens or lines; see :data:`OPS`).

    >>> mutate("P(x = 1)", (("delete", 0.0, 0.0, "", 1),))
    '(x = 1)'
    >>> mutate("P(x = 1)", (("tok_copy", 0.3, 0.9, "", 1),))
    'P() = 1)'
    >>> mutate("P(x = 1)", (("nest", 0.3, 0.0, "", 3),))
    'P((((x))) = 1)'
    >>> mutate("a\\nb", (("crlf", 0.0, 0.0, "", 1),))
    'a\\r\\nb'
    """
    for op, pos, pos2, payload, depth in edits:
        i = min(len(text), int(pos * len(text)))
        toks = TOKEN.findall(text)
        j, k = (min(len(toks) - 1, int(p * len(toks))) for p in (pos, pos2)) if toks else (0, 0)
        lines = text.split("\n")
        a, b = (min(len(lines) - 1, int(p * len(lines))) for p in (pos, pos2))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "insert":
            text = text[:i] + payload + text[i:]
        elif op == "duplicate":
            text = text[:i] + text[i:i + depth % 17] + text[i:]
        elif op == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif op == "tok_delete" and toks:
            text = "".join(toks[:j] + toks[j + 1:])
        elif op == "tok_copy" and toks:
            text = "".join(toks[:j] + [toks[k]] + toks[j + 1:])
        elif op == "tok_dup" and toks:
            text = "".join(toks[:j] + toks[j:k + 1] + toks[j:])
        elif op == "tok_keyword" and toks:
            word = payload if payload in KEYWORDS else KEYWORDS[len(payload) * 7 % len(KEYWORDS)]
            text = "".join(toks[:j] + [word] + toks[j + 1:])
        elif op == "nest" and toks:
            shape = NESTINGS[int(pos2 * len(NESTINGS)) % len(NESTINGS)]
            term = toks[j]
            for _ in range(depth):
                term = shape.format(term)
            text = "".join(toks[:j] + [term] + toks[j + 1:])
        elif op == "line_dup":
            text = "\n".join(lines[:a + 1] + [lines[b]] + lines[a + 1:])
        elif op == "line_swap":
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "cr":
            text = text[:i] + "\r" + text[i:]
    return text
