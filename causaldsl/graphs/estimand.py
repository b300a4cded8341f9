"""Identification formulas: expressions over the observed joint distribution.

An estimand is an immutable expression tree built from four nodes:

* :class:`Prob` ``P(vars | given)``, a (conditional) marginal of the observed joint;
* :class:`Sum` ``Σ_over body``, which *binds* the summed variables inside ``body``
  (a bound variable shadows a free one of the same name: in the front-door formula
  the inner ``Σ_smoking`` ranges over all values while the outer ``smoking`` is the
  treatment value; printing marks such re-bound copies with primes);
* :class:`Product` of factors (the empty product is 1);
* :class:`Fraction` ``num / den``.

:class:`Estimand` is what :func:`causaldsl.graphs.identify.identify` returns: the verdict,
the rule used, the formula, and :meth:`Estimand.evaluate_table`, which computes the
formula exactly from a joint probability table over the observed variables.

>>> fd = Sum("tar", Product([Prob("tar", "smoking"),
...          Sum("smoking", Product([Prob("cancer", ["tar", "smoking"]), Prob("smoking")]))]))
>>> print(render_text(fd))
Σ_tar P(tar | smoking) Σ_smoking' P(cancer | tar, smoking') P(smoking')
>>> print(render_latex(fd))
\\sum_{tar} P(tar \\mid smoking) \\sum_{smoking'} P(cancer \\mid tar, smoking') P(smoking')
>>> print(render_text(simplify(Sum(["a", "b"], Product([Prob("a", "c"), Prob("b", ["a", "c"]), Prob("c")])))))
P(c)
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from ..language.errors import QueryError, UnknownNameError, ZeroProbabilityError, did_you_mean
from .estimation import estimate_from_data, evaluate_on_model

__all__ = [
    "Expr", "Prob", "Sum", "Product", "Fraction", "ONE", "Estimand",
    "free_variables", "all_variables", "simplify", "render_text", "render_latex", "evaluate",
]


def _names(vs: Union[str, Iterable[str], None]) -> tuple:
    """A tuple of distinct names, order kept (a bare string is one name)."""
    if vs is None:
        return ()
    if isinstance(vs, str):
        return (vs,)
    out = []
    for v in vs:
        if v not in out:
            out.append(v)
    return tuple(out)


class Expr:
    """Base class of formula nodes; ``str()`` gives the formula as text."""

    def __str__(self) -> str:
        return render_text(self)

    def _repr_latex_(self) -> str:
        return f"${render_latex(self)}$"

    def __mul__(self, other: "Expr") -> "Product":
        return Product([self, other])

    def __truediv__(self, other: "Expr") -> "Fraction":
        return Fraction(self, other)


@dataclass(frozen=True, eq=True, repr=False)
class Prob(Expr):
    """``P(vars | given)`` of the observed joint; ``Prob((), ...)`` is 1.

    With ``do``, ``P(vars | do(do), given)``: a term of an interventional distribution.
    Formulas (:attr:`Estimand.formula`) never hold one; the steps of a derivation
    (:mod:`causaldsl.graphs.derivation`) do, until the do-calculus has removed them.
    """

    vars: tuple
    given: tuple = ()
    do: tuple = ()

    def __post_init__(self):
        vs, gs, ds = _names(self.vars), _names(self.given), _names(self.do)
        both = [v for v in vs if v in gs] + [v for v in vs + gs if v in ds]
        if both:
            raise ValueError(f"'{both[0]}' appears twice in P(... | ...)")
        object.__setattr__(self, "vars", vs)
        object.__setattr__(self, "given", gs)
        object.__setattr__(self, "do", ds)

    def __repr__(self) -> str:
        extra = f", do={self.do!r}" if self.do else ""
        return f"Prob({self.vars!r}, {self.given!r}{extra})"


@dataclass(frozen=True, eq=True, repr=False)
class Sum(Expr):
    """``Σ_over body``: sums ``body`` over every value of each variable in ``over``."""

    over: tuple
    body: Expr

    def __post_init__(self):
        object.__setattr__(self, "over", _names(self.over))

    def __repr__(self) -> str:
        return f"Sum({self.over!r}, {self.body!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Product(Expr):
    """The product of ``factors`` (1 when empty)."""

    factors: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "factors", tuple(self.factors))

    def __repr__(self) -> str:
        return f"Product({list(self.factors)!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Fraction(Expr):
    """``num / den``."""

    num: Expr
    den: Expr

    def __repr__(self) -> str:
        return f"Fraction({self.num!r}, {self.den!r})"


ONE = Product(())


# ---------------------------------------------------------------------------------------- analysis

def free_variables(e: Expr) -> frozenset:
    """Variables the expression depends on that no enclosing ``Sum`` binds.

    >>> sorted(free_variables(Sum("z", Product([Prob("y", ["x", "z"]), Prob("z")]))))
    ['x', 'y']
    """
    if isinstance(e, Prob):
        return frozenset(e.vars) | frozenset(e.given) | frozenset(e.do)
    if isinstance(e, Sum):
        return free_variables(e.body) - frozenset(e.over)
    if isinstance(e, Product):
        return frozenset().union(*(free_variables(f) for f in e.factors)) if e.factors else frozenset()
    if isinstance(e, Fraction):
        return free_variables(e.num) | free_variables(e.den)
    raise TypeError(f"not an estimand expression: {e!r}")


def all_variables(e: Expr) -> frozenset:
    """Every variable the expression reads, bound ones included: the columns the joint
    table given to :func:`evaluate` needs.

    >>> sorted(all_variables(Sum("z", Product([Prob("y", ["x", "z"]), Prob("z")]))))
    ['x', 'y', 'z']
    """
    if isinstance(e, Prob):
        return frozenset(e.vars) | frozenset(e.given) | frozenset(e.do)
    if isinstance(e, Sum):
        return all_variables(e.body) | frozenset(e.over)
    if isinstance(e, Product):
        return frozenset().union(*(all_variables(f) for f in e.factors)) if e.factors else frozenset()
    if isinstance(e, Fraction):
        return all_variables(e.num) | all_variables(e.den)
    raise TypeError(f"not an estimand expression: {e!r}")


def _key(e: Expr):
    """A structural key, insensitive to the order of variables and of factors."""
    if isinstance(e, Prob):
        return ("P", frozenset(e.vars), frozenset(e.given), frozenset(e.do))
    if isinstance(e, Sum):
        return ("S", frozenset(e.over), _key(e.body))
    if isinstance(e, Product):
        return ("X", frozenset(Counter(_key(f) for f in e.factors).items()))
    if isinstance(e, Fraction):
        return ("F", _key(e.num), _key(e.den))
    raise TypeError(f"not an estimand expression: {e!r}")


def _sums_over_absent(e: Expr) -> list:
    """``(Sum node, variable)`` pairs where the variable does not occur in the body (for tests)."""
    out = []
    if isinstance(e, Sum):
        fv = free_variables(e.body)
        out += [(e, v) for v in e.over if v not in fv]
        out += _sums_over_absent(e.body)
    elif isinstance(e, Product):
        for f in e.factors:
            out += _sums_over_absent(f)
    elif isinstance(e, Fraction):
        out += _sums_over_absent(e.num) + _sums_over_absent(e.den)
    return out


# -------------------------------------------------------------------------------- simplification

class _Order:
    """Sorts variable names by a preferred order (e.g. topological), unknown names last."""

    def __init__(self, order: Optional[Sequence[str]]):
        self.names = list(order or ())
        self.rank = {v: i for i, v in enumerate(self.names)}

    def sort(self, vs: Iterable[str]) -> tuple:
        """Known names by rank; unknown ones after them, in the order given (by name for sets)."""
        seq = sorted(vs) if isinstance(vs, (set, frozenset)) else list(dict.fromkeys(vs))
        return tuple(sorted(seq, key=lambda v: self.rank.get(v, len(self.rank))))


def simplify(e: Expr, order: Optional[Sequence[str]] = None) -> Expr:
    """An equivalent, more readable expression.

    Every rewrite is an identity of probability calculus that holds pointwise
    wherever the original is defined:

    * ``Σ_v P(v, A | C) = P(A | C)`` when ``v`` is not in ``C`` and no other factor
      mentions ``v``; factors that do not mention a summed variable move out of the
      sum, and a sum splits into independent sums over unconnected factors;
    * chain rule ``P(A | D, C) P(D | C) = P(A, D | C)``;
    * ``P(A | C) / P(B | C) = P(A \\ B | B, C)`` for ``B ⊆ A``;
    * identical factors of a numerator and a denominator cancel; nested sums, products
      and fractions are flattened; empty conditionals and empty products disappear;
    * inside a sum, ``P(v, w | C) = P(w | C) P(v | w, C)`` pulls the unsummed part of a
      joint out (when ``C`` holds no summed variable), so that it can cancel;
      ``Σ_v c · g(v) = c · Σ_v g(v)`` moves a sum into the only factor that uses it, and
      ``[Σ_v f(v)] / D = Σ_v [f(v) / D]`` (``D`` free of ``v``) is applied when it cancels.

    A sum over a variable that does not occur in its body is *kept* (it multiplies by
    the number of values); correct identification formulas never produce one.

    >>> print(simplify(Fraction(Prob(["x", "y"], "w"), Sum("y", Prob(["x", "y"], "w")))))
    P(y | x, w)
    """
    return _Simplifier(_Order(order)).run(e)


class _Simplifier:
    def __init__(self, order: _Order):
        self.order = order

    def run(self, e: Expr) -> Expr:
        if isinstance(e, Prob):
            return ONE if not e.vars else e
        if isinstance(e, Product):
            return self.product([self.run(f) for f in e.factors])
        if isinstance(e, Fraction):
            return self.fraction(self.run(e.num), self.run(e.den))
        if isinstance(e, Sum):
            return self.sum(list(e.over), self.run(e.body))
        raise TypeError(f"not an estimand expression: {e!r}")

    # -- products
    @staticmethod
    def _flat(factors: Iterable[Expr]) -> list:
        out = []
        for f in factors:
            if isinstance(f, Product):
                out.extend(_Simplifier._flat(f.factors))
            elif isinstance(f, Prob) and not f.vars:
                continue
            else:
                out.append(f)
        return out

    def product(self, factors: list) -> Expr:
        fs = self._flat(factors)
        if any(isinstance(f, Fraction) for f in fs):
            nums, dens = [], []
            for f in fs:
                if isinstance(f, Fraction):
                    nums.append(f.num)
                    dens.append(f.den)
                else:
                    nums.append(f)
            return self.fraction(Product(nums), Product(dens))
        fs = self.chain(fs)
        if len(fs) == 1:
            return fs[0]
        # Sums print last, so that "Σ_v ..." extends to the end of the product.
        fs = [f for f in fs if not isinstance(f, Sum)] + [f for f in fs if isinstance(f, Sum)]
        return Product(fs)

    def chain(self, fs: list) -> list:
        """Merge ``P(A | D, C) P(D | C)`` into ``P(D, A | C)`` until nothing merges."""
        fs = list(fs)
        changed = True
        while changed:
            changed = False
            for i, j in itertools.permutations(range(len(fs)), 2):
                a, d = fs[i], fs[j]
                if not (isinstance(a, Prob) and isinstance(d, Prob)):
                    continue
                ga, gd = set(a.given), set(d.given)
                if set(d.vars) <= ga and gd == ga - set(d.vars):
                    merged = Prob(d.vars + a.vars, tuple(g for g in a.given if g in gd))
                    fs = [f for k, f in enumerate(fs) if k not in (i, j)] + [merged]
                    changed = True
                    break
        return fs

    # -- fractions
    def fraction(self, num: Expr, den: Expr) -> Expr:
        # flatten nested fractions: (a/b) / (c/d) = (a d) / (b c)
        if isinstance(num, Fraction) or isinstance(den, Fraction):
            n1, d1 = (num.num, num.den) if isinstance(num, Fraction) else (num, ONE)
            n2, d2 = (den.num, den.den) if isinstance(den, Fraction) else (den, ONE)
            return self.fraction(self.product([n1, d2]), self.product([d1, n2]))
        nf = self._flat([num])
        df = self._flat([den])
        # cancel identical factors
        changed = True
        while changed:
            changed = False
            for i, a in enumerate(nf):
                for j, b in enumerate(df):
                    if _key(a) == _key(b):
                        del nf[i], df[j]
                        changed = True
                        break
                if changed:
                    break
        # P(A | C) / P(B | C) = P(A \ B | B, C) for B ⊆ A
        changed = True
        while changed:
            changed = False
            for i, a in enumerate(nf):
                for j, b in enumerate(df):
                    if (isinstance(a, Prob) and isinstance(b, Prob) and set(a.given) == set(b.given)
                            and set(b.vars) <= set(a.vars)):
                        rest = tuple(v for v in a.vars if v not in b.vars)
                        given = self.order.sort([v for v in a.vars if v in b.vars] + list(a.given))
                        nf[i] = Prob(rest, given) if rest else ONE
                        del df[j]
                        changed = True
                        break
                if changed:
                    break
        nf = self._flat(nf)
        df = self._flat(df)
        if not df:
            return self.product(nf)
        # Σ_v f(v) / D = Σ_v [f(v) / D] when D does not mention v: kept only if it cancels
        dfree = frozenset().union(*(free_variables(f) for f in df))
        for i, f in enumerate(nf):
            if isinstance(f, Sum) and not set(f.over) & dfree:
                inner = self.fraction(f.body, Product(df))
                if not isinstance(inner, Fraction):
                    return self.product(nf[:i] + nf[i + 1:] + [self.sum(list(f.over), inner)])
        n = self.product(nf) if nf else ONE
        d = self.product(df)
        if _key(n) == _key(d):
            return ONE
        return Fraction(n, d)

    # -- sums
    def sum(self, over: list, body: Expr) -> Expr:
        over = [v for i, v in enumerate(over) if v not in over[:i]]
        if not over:
            return body
        if isinstance(body, Sum) and not set(body.over) & set(over):
            return self.sum(over + list(body.over), body.body)
        fv = free_variables(body)
        absent = [v for v in over if v not in fv]  # kept: Σ_v c = |D_v| c
        over = [v for v in over if v in fv]
        if isinstance(body, Prob):
            gone = [v for v in over if v in body.vars and v not in body.given]
            if gone:
                body = Prob(tuple(v for v in body.vars if v not in gone), body.given)
                body = ONE if not body.vars else body
                over = [v for v in over if v not in gone]
            return self._wrap(absent + over, body)
        if isinstance(body, Fraction):
            # Σ_{a,b} N / D(b) = Σ_b [Σ_a N] / D(b)
            dfree = free_variables(body.den)
            inner = [v for v in over if v not in dfree]
            if inner:
                outer = [v for v in over if v in dfree]
                return self._wrap(absent, self.sum(outer, self.fraction(self.sum(inner, body.num), body.den)))
            return self._wrap(absent + over, body)
        if isinstance(body, Product):
            return self._wrap(absent, self._sum_product(over, list(body.factors)))
        return self._wrap(absent + over, body)

    def _wrap(self, over: list, body: Expr) -> Expr:
        return Sum(tuple(over), body) if over else body

    def _sum_product(self, over: list, fs: list) -> Expr:
        over = list(over)
        changed = True
        while changed:
            changed = False
            for v in list(over):
                users = [i for i, f in enumerate(fs) if v in free_variables(f)]
                if len(users) == 1:
                    f = fs[users[0]]
                    if isinstance(f, Prob) and v in f.vars and v not in f.given:
                        fs[users[0]] = Prob(tuple(u for u in f.vars if u != v), f.given)
                        over.remove(v)
                        changed = True
                    elif isinstance(f, (Sum, Fraction)) and not (isinstance(f, Sum) and v in f.over):
                        # Σ_v c · g(v) = c · Σ_v g(v): move the sum into the only factor using v
                        new = self.sum([v], f)
                        if _key(new) != _key(Sum((v,), f)):
                            fs[users[0]] = new
                            over.remove(v)
                            changed = True
                elif not users:
                    over.remove(v)  # cannot happen: over ⊆ free variables of the body
                    changed = True
            if changed:
                fs = self.chain(self._flat(fs))
        # Σ_v P(v, w | C) f(v) = P(w | C) Σ_v P(v | w, C) f(v) when C holds no summed variable
        split = []
        for f in fs:
            if isinstance(f, Prob) and not set(f.given) & set(over):
                inside = tuple(v for v in f.vars if v in over)
                out = tuple(v for v in f.vars if v not in over)
                if inside and out:
                    split += [Prob(out, f.given), Prob(inside, self.order.sort(list(out) + list(f.given)))]
                    continue
            split.append(f)
        fs = split
        # split into connected components through the summed variables
        outside, groups = [], []  # groups: [set(vars), [factors]]
        for f in fs:
            vs = free_variables(f) & set(over)
            if not vs:
                outside.append(f)
                continue
            hit = [g for g in groups if g[0] & vs]
            merged = [vs, [f]]
            for g in hit:
                merged[0] |= g[0]
                merged[1] = g[1] + merged[1]
                groups.remove(g)
            groups.append(merged)
        parts = list(outside)
        for vs, group in groups:
            ordered = [v for v in over if v in vs]
            if len(group) == 1:
                parts.append(self.sum(ordered, group[0]))
            else:
                parts.append(Sum(tuple(ordered), self.product(group)))
        return self.product(parts)


# ------------------------------------------------------------------------------------- rendering

def _fresh(v: str, in_use: set) -> str:
    name = v + "'"
    while name in in_use:
        name += "'"
    return name


def render_text(e: Expr, context: Iterable[str] = ()) -> str:
    """The formula as text; ``context`` names variables free around it (they get primes when re-bound)."""
    free = set(free_variables(e)) | set(context)
    return _Renderer(latex=False).go(e, {v: v for v in free})


def render_latex(e: Expr, context: Iterable[str] = ()) -> str:
    """The formula as LaTeX (math mode, without the dollars)."""
    free = set(free_variables(e)) | set(context)
    return _Renderer(latex=True).go(e, {v: v for v in free})


class _Renderer:
    def __init__(self, latex: bool):
        self.latex = latex

    def name(self, v: str, scope: dict) -> str:
        s = scope.get(v, v)
        if self.latex:
            base = s.rstrip("'")
            primes = s[len(base):]
            return base.replace("_", r"\_") + primes
        return s

    def go(self, e: Expr, scope: dict) -> str:
        if isinstance(e, Prob):
            if not e.vars:
                return "1"
            vs = ", ".join(self.name(v, scope) for v in e.vars)
            after = [self.name(g, scope) for g in e.given]
            if e.do:
                do = ", ".join(self.name(d, scope) for d in e.do)
                after.insert(0, rf"\mathrm{{do}}({do})" if self.latex else f"do({do})")
            if after:
                bar = r" \mid " if self.latex else " | "
                return f"P({vs}{bar}{', '.join(after)})"
            return f"P({vs})"
        if isinstance(e, Sum):
            inner = dict(scope)
            in_use = set(scope.values())
            names = []
            for v in e.over:
                new = _fresh(v, in_use) if v in scope or v in in_use else v
                in_use.add(new)
                inner[v] = new
                names.append(self.name(v, inner))
            body = self.go(e.body, inner)
            if self.latex:
                return rf"\sum_{{{', '.join(names)}}} {body}"
            sub = names[0] if len(names) == 1 else "{" + ",".join(names) + "}"
            return f"Σ_{sub} {body}"
        if isinstance(e, Product):
            if not e.factors:
                return "1"
            parts = []
            fs = list(e.factors)
            for i, f in enumerate(fs):
                s = self.go(f, scope)
                last = i == len(fs) - 1
                if isinstance(f, Fraction) and not self.latex or (isinstance(f, Sum) and not last):
                    s = f"[{s}]" if not self.latex else rf"\left[{s}\right]"
                parts.append(s)
            return (r" " if self.latex else " ").join(parts)
        if isinstance(e, Fraction):
            n, d = self.go(e.num, scope), self.go(e.den, scope)
            if self.latex:
                return rf"\frac{{{n}}}{{{d}}}"

            def wrap(x: Expr, s: str) -> str:
                simple = isinstance(x, Prob) or (isinstance(x, Product) and len(x.factors) <= 1)
                return s if simple else f"[{s}]"
            return f"{wrap(e.num, n)} / {wrap(e.den, d)}"
        raise TypeError(f"not an estimand expression: {e!r}")


# ------------------------------------------------------------------------------------ evaluation

class _Table:
    """The observed joint as an array, with cached marginals."""

    def __init__(self, variables: Sequence[str], domains: Optional[Mapping[str, Sequence]], joint: Any):
        variables = list(_names(variables))
        if isinstance(joint, Mapping):
            if domains is None:
                domains = {v: sorted({k[i] for k in joint}) for i, v in enumerate(variables)}
            arr = np.zeros(tuple(len(domains[v]) for v in variables))
            index = [{val: j for j, val in enumerate(domains[v])} for v in variables]
            for key, p in joint.items():
                key = key if isinstance(key, tuple) else (key,)
                if len(key) != len(variables):
                    raise QueryError(f"joint table key {key!r} does not have one value per variable "
                                     f"({', '.join(variables)})")
                arr[tuple(index[i][k] for i, k in enumerate(key))] += float(p)
        else:
            arr = np.asarray(joint, dtype=float)
            if domains is None:
                domains = {v: list(range(arr.shape[i])) for i, v in enumerate(variables)}
        missing = [v for v in variables if v not in domains]
        if missing:
            raise QueryError(f"no domain given for variable '{missing[0]}'",
                             hint="pass domains={name: [values...]} for every variable of the joint table")
        shape = tuple(len(domains[v]) for v in variables)
        if arr.shape != shape:
            raise QueryError(f"the joint table has shape {arr.shape} but the domains of "
                             f"({', '.join(variables)}) give shape {shape}",
                             hint="index the array in the order of `variables`, one axis per variable")
        if np.any(arr < 0):
            raise QueryError("the joint table has negative entries", hint="pass probabilities")
        self.variables = variables
        self.domains = {v: list(domains[v]) for v in variables}
        self.arr = arr
        self._cache: dict = {}
        # ``{do variable: value} -> joint array`` (axes as ``variables``) of the intervened
        # model: set by :meth:`causaldsl.graphs.derivation.Derivation.evaluate` to give terms with
        # ``do`` a value; formulas of observed data never need it.
        self.interventional = None

    def do_marginal(self, names: tuple, do: tuple) -> np.ndarray:
        """``P(names | do(do))`` for every value of ``do``: axes ``names + do``."""
        if self.interventional is None:
            raise QueryError("a term with do() has no value on observed data",
                             hint="evaluate an interventional step on a model (Derivation.evaluate)")
        key = ("do", names, do)
        if key not in self._cache:
            for n in names + do:
                if n not in self.domains:
                    self.marginal((n,))  # raises UnknownNameError
            blocks = []
            for combo in itertools.product(*[self.domains[d] for d in do]):
                joint = np.asarray(self.interventional(dict(zip(do, combo))), dtype=float)
                axes = tuple(i for i, v in enumerate(self.variables) if v not in names)
                m = joint.sum(axis=axes)
                kept = [v for v in self.variables if v in names]
                blocks.append(np.transpose(m, [kept.index(n) for n in names]))
            shape = tuple(len(self.domains[v]) for v in names + do)
            self._cache[key] = np.stack(blocks, axis=-1).reshape(shape) if do else blocks[0]
        return self._cache[key]

    def marginal(self, names: tuple) -> np.ndarray:
        """The marginal over ``names``, axes in that order."""
        if names not in self._cache:
            for n in names:
                if n not in self.domains:
                    hint = did_you_mean(n, self.variables)
                    raise UnknownNameError(f"the formula needs variable '{n}', which the joint table lacks",
                                           hint=hint or f"the table has {', '.join(self.variables)}")
            axes = tuple(i for i, v in enumerate(self.variables) if v not in names)
            m = self.arr.sum(axis=axes)
            kept = [v for v in self.variables if v in names]
            self._cache[names] = np.transpose(m, [kept.index(n) for n in names])
        return self._cache[names]

    def index_of(self, v: str, value) -> int:
        if v not in self.domains:
            hint = did_you_mean(v, self.variables)
            raise UnknownNameError(f"unknown variable '{v}'", hint=hint or f"the table has {', '.join(self.variables)}")
        dom = self.domains[v]
        for j, d in enumerate(dom):
            if d == value or (isinstance(d, float) and isinstance(value, (int, float)) and float(value) == d):
                return j
        raise QueryError(f"{value!r} is not a value of '{v}'", hint=f"'{v}' takes values {dom}")


def _align(names: tuple, arr: np.ndarray, target: tuple) -> np.ndarray:
    """``arr`` (axes ``names``) permuted and reshaped to broadcast against axes ``target``."""
    perm = sorted(range(len(names)), key=lambda i: target.index(names[i]))
    a = np.transpose(arr, perm)
    shape = []
    it = iter(a.shape)
    present = set(names)
    for t in target:
        shape.append(next(it) if t in present else 1)
    return a.reshape(shape)


class _Evaluator:
    def __init__(self, table: _Table):
        self.t = table

    def _where(self, names: tuple, mask: np.ndarray, env: dict) -> str:
        idx = np.argwhere(mask)[0]
        return ", ".join(f"{n} = {self.t.domains[n][env[n][i]]!r}" for n, i in zip(names, idx))

    def run(self, e: Expr, env: dict) -> tuple:
        """``(names, array)``: the value of ``e`` for every value of its free variables in ``env``."""
        if isinstance(e, Prob):
            if not e.vars:
                return (), np.array(1.0)
            if e.do:
                names = e.vars + e.given + e.do
                num = self.t.do_marginal(e.vars + e.given, e.do)[np.ix_(*[env[n] for n in names])]
                if not e.given:
                    return names, num
                dnames = e.given + e.do
                d = self.t.do_marginal(e.given, e.do)[np.ix_(*[env[n] for n in dnames])]
                d = _align(dnames, d, names)
                if np.any(d <= 0):
                    raise ZeroProbabilityError(f"{render_text(Prob(e.given, (), e.do))} = 0 somewhere, so "
                                               f"{render_text(e)} is undefined there",
                                               hint="the intervened model gives the conditioning values no mass")
                return names, num / d
            else:
                names = e.vars + e.given
                m = self.t.marginal(names)
                num = m[np.ix_(*[env[n] for n in names])]
                if not e.given:
                    return names, num
                d = self.t.marginal(e.given)[np.ix_(*[env[g] for g in e.given])]
            bad = d <= 0
            if np.any(bad):
                where = self._where(e.given, bad, env)
                raise ZeroProbabilityError(
                    f"P({where}) = 0, so {render_text(e)} is undefined there",
                    hint="the estimand divides by the probability of every value combination it sums over "
                         "or asks about; the joint violates positivity (give every such combination "
                         "positive probability, or ask about other values)")
            return names, num / d
        if isinstance(e, Product):
            parts = [self.run(f, env) for f in e.factors]
            names = tuple(dict.fromkeys(n for ns, _ in parts for n in ns))
            out = np.ones([len(env[n]) for n in names]) if names else np.array(1.0)
            for ns, a in parts:
                out = out * _align(ns, a, names) if names else out * a
            return names, out
        if isinstance(e, Sum):
            inner = dict(env)
            for v in e.over:
                if v not in self.t.domains:
                    self.t.marginal((v,))  # raises UnknownNameError
                inner[v] = np.arange(len(self.t.domains[v]))
            names, a = self.run(e.body, inner)
            for v in e.over:
                if v in names:
                    i = names.index(v)
                    a = a.sum(axis=i)
                    names = names[:i] + names[i + 1:]
                else:
                    a = a * len(self.t.domains[v])
            return names, a
        if isinstance(e, Fraction):
            nn, na = self.run(e.num, env)
            dn, da = self.run(e.den, env)
            names = tuple(dict.fromkeys(nn + dn))
            na = _align(nn, na, names) if names else na
            da = _align(dn, da, names) if names else da
            bad = da <= 0
            if np.any(bad):
                full = np.broadcast_to(bad, np.broadcast_shapes(np.shape(na), np.shape(da)))
                where = self._where(names, full, env) if names else "every value"
                raise ZeroProbabilityError(
                    f"the denominator {render_text(e.den)} is 0 at {where}",
                    hint="the estimand divides by this quantity; the joint violates positivity there "
                         "(give the conditioning values positive probability, or ask about other values)")
            return names, na / da
        raise TypeError(f"not an estimand expression: {e!r}")


def evaluate(e: Expr, variables: Sequence[str], domains: Optional[Mapping[str, Sequence]], joint: Any,
             values: Optional[Mapping[str, Any]] = None, axes: Sequence[str] = ()) -> Union[float, np.ndarray]:
    """Evaluate ``e`` on a joint table (see :meth:`Estimand.evaluate_table`).

    Free variables named in ``values`` are fixed; the others range over their domains
    and must be listed in ``axes``, which orders the axes of the returned array (a
    float when no axis is left).

    >>> joint = np.array([[0.3, 0.1], [0.2, 0.4]])          # axes (x, y)
    >>> round(evaluate(Prob("y", "x"), ["x", "y"], None, joint, {"x": 1, "y": 1}), 6)
    0.666667
    >>> evaluate(Prob("y", "x"), ["x", "y"], None, joint, axes=["y", "x"]).round(3).tolist()
    [[0.75, 0.333], [0.25, 0.667]]
    """
    table = _Table(variables, domains, joint)
    return _evaluate_on(table, e, values or {}, tuple(axes))


def _evaluate_on(table: _Table, e: Expr, values: Mapping[str, Any], axes: tuple):
    env = {}
    for v, val in values.items():
        env[v] = np.array([table.index_of(v, val)])
    for v in axes:
        if v in env:
            continue
        if v not in table.domains:
            table.marginal((v,))
        env[v] = np.arange(len(table.domains[v]))
    missing = sorted(free_variables(e) - set(env))
    if missing:
        raise QueryError(f"the formula depends on {', '.join(missing)}, which has no value",
                         hint=f"give a value for {missing[0]} in `values`")
    names, a = _Evaluator(table).run(e, env)
    target = tuple(v for v in axes if v not in values)
    full = tuple(dict.fromkeys(target + tuple(v for v in values)))
    a = _align(names, a, full) if names else np.asarray(a).reshape([1] * len(full))
    shape = [len(env[v]) for v in full]
    a = np.broadcast_to(a, shape).reshape([len(env[v]) for v in target])
    if not target:
        return float(a)
    return np.array(a)


# --------------------------------------------------------------------------------------- estimand

def _query_text(outcomes: tuple, treatments: tuple, conditions: tuple, latex: bool = False) -> str:
    def names(vs):
        return ", ".join(v.replace("_", r"\_") if latex else v for v in vs)
    parts = []
    if treatments:
        parts.append(rf"\mathrm{{do}}({names(treatments)})" if latex else f"do({names(treatments)})")
    if conditions:
        parts.append(names(conditions))
    bar = r" \mid " if latex else " | "
    return f"P({names(outcomes)}{bar + ', '.join(parts) if parts else ''})"


@dataclass(frozen=True)
class Estimand:
    """The answer of :func:`causaldsl.graphs.identify.identify`.

    ``identifiable``: whether the query is a function of the observed joint;
    ``rule``: ``"back-door"``, ``"front-door"``, ``"ID"``, ``"IDC"`` or ``"not identifiable"``;
    ``formula``: the expression (``None`` if not identifiable); ``adjustment``: the
    adjustment set (back-door) and ``mediators`` the front-door set; ``reason`` explains a
    negative verdict and ``hedge`` holds its two C-forests ``(F, F')`` as vertex sets;
    ``arbitrary``: variables the formula mentions that the query does not — ID fixed them
    by an intervention that does not change the answer, so the formula holds for any
    value of them (e.g. ``w2`` in the napkin formula); ``query``: the query as text;
    ``values``: ``(name, value)`` pairs the query fixed (``P(y = 1 | do(x = 1))``), used by
    :meth:`evaluate_table` unless overridden; ``graph``: the ADMG it was identified in, which
    :attr:`derivation` replays.

    "Arbitrary", precisely: a variable ``w`` is in ``arbitrary`` when it is free in the
    formula (not bound by a sum) and is neither an outcome, a treatment nor a condition of
    the query. The identification fixed it by an intervention ``do(w)`` that the
    do-calculus showed cannot change the answer (ID line 3, Shpitser & Pearl 2006; cfid
    prints such formulas the same way), so the formula has the same value for every value
    of ``w`` at which it is defined: pick any. Summed variables (``tar`` in the front-door
    formula) are bound, not arbitrary.
    """

    query: str
    outcomes: tuple
    treatments: tuple = ()
    conditions: tuple = ()
    identifiable: bool = True
    rule: str = "ID"
    formula: Optional[Expr] = None
    adjustment: Optional[frozenset] = None
    mediators: Optional[frozenset] = None
    reason: Optional[str] = None
    hedge: Optional[tuple] = None
    arbitrary: tuple = ()
    values: tuple = ()
    graph: Any = field(default=None, compare=False, repr=False)
    # identify's own derive(): the algorithm replays itself (this module cannot import it)
    deriver: Optional[Callable] = field(default=None, compare=False, repr=False)

    @property
    def derivation(self):
        """The identification step by step (:class:`causaldsl.graphs.derivation.Derivation`): each
        criterion, ID line or do-calculus rule, the independence that licenses it, and the
        expression after it.

        >>> from causaldsl.graphs.admg import ADMG
        >>> from causaldsl.graphs.identify import identify
        >>> est = identify(ADMG.from_edges([("z", "x"), ("z", "y"), ("x", "y")]), "y", "x")
        >>> print(est.derivation.steps[2].independence)
        (y ⊥ x | z) in G_{under(x)}
        """
        if self.deriver is None:
            raise QueryError(f"the estimand of {self.query} does not know how it was identified",
                             hint="get the estimand from identify(), m.identify() or g.identify()")
        return self.deriver(self)

    def per_draw_value(self, variables, domains, stacked, draws: int, values=None):
        """The formula at each of a stack of joint tables (``stacked``: ``P(draw = d, v)``, the draws
        along the leading axis), in one vectorised evaluation: every probability is conditioned on
        a pseudo-variable that indexes the stack (Bayesian and bootstrap estimates).

        >>> import numpy as np
        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> joint = np.array([[[0.4, 0.1], [0.05, 0.45]], [[0.25, 0.25], [0.1, 0.4]]]) / 2  # two draws
        >>> est.per_draw_value(["x", "y"], {"x": [0, 1], "y": [0, 1]}, joint, 2).round(6)
        array([0.9, 0.8])
        """
        b = replace(self, formula=_per_draw(self.formula), conditions=self.conditions + (_DRAW,))
        return np.asarray(b.evaluate_table([_DRAW] + list(variables), {**domains, _DRAW: list(range(draws))},
                                           stacked, values))

    @property
    def variables(self) -> tuple:
        """Every variable the formula reads (bound ones included) and the query's own, sorted:
        the observed variables a joint table must cover to evaluate it.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> est.variables
        ('x', 'y')
        """
        used = set(self.outcomes + self.treatments + self.conditions)
        if self.formula is not None:
            used |= all_variables(self.formula)
        return tuple(sorted(used))

    # -- text
    @property
    def text(self) -> str:
        """The formula as text (or the negative verdict).

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> est.text
        'P(y | x)'
        """
        if not self.identifiable:
            return f"{self.query} is not identifiable: {self.reason}"
        return render_text(self.formula, self._context())

    @property
    def latex(self) -> str:
        """The formula as LaTeX, without dollars.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> est.latex
        'P(y \\\\mid x)'
        """
        if not self.identifiable:
            q = _query_text(self.outcomes, self.treatments, self.conditions, latex=True)
            return rf"{q}\ \text{{is not identifiable}}"
        return render_latex(self.formula, self._context())

    def _context(self) -> tuple:
        return self.outcomes + self.treatments + self.conditions + self.arbitrary

    def __str__(self) -> str:
        return self.text

    @property
    def equation_latex(self) -> str:
        """``query = formula``, and for which values of :attr:`arbitrary` it holds, as LaTeX.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> print(est.equation_latex)
        P(y \\mid \\mathrm{do}(x)) = P(y \\mid x)
        """
        q = _query_text(self.outcomes, self.treatments, self.conditions, latex=True)
        if not self.identifiable:
            return self.latex
        out = f"{q} = {self.latex}"
        if self.arbitrary:
            names = ", ".join(v.replace("_", r"\_") for v in self.arbitrary)
            out += rf"\qquad \text{{for any value of }} {names}"
        return out

    def _repr_latex_(self) -> str:
        return f"$${self.equation_latex}$$"

    # -- numbers
    def evaluate_table(self, variables: Sequence[str], domains: Optional[Mapping[str, Sequence]], joint: Any,
                       values: Optional[Mapping[str, Any]] = None) -> Union[float, np.ndarray]:
        """Compute the formula exactly from a joint table over observed variables.

        ``joint``: an array indexed in the order of ``variables`` (axis ``i`` runs over
        ``domains[variables[i]]``; ``domains=None`` means ``0, 1, ...``), or a mapping
        ``{(value, ...): probability}`` like ``model.query("P(x, y)").value`` (domains are
        then read off the keys when not given). ``values``: a dict fixing some of the
        query's variables (outcomes, treatments, conditions) by value. Returns a float
        when every one of them is fixed, else an array whose axes are the unfixed ones in
        the order outcomes..., treatments..., conditions....

        Variables in :attr:`arbitrary` may be fixed in ``values`` too; otherwise the first
        value (in domain order) at which the formula is defined is used.

        Raises :class:`~causaldsl.language.errors.ZeroProbabilityError` when the formula divides
        by zero (a positivity violation) and :class:`~causaldsl.language.errors.QueryError` for a
        non-identifiable estimand. The query's own :attr:`values` are the defaults.

        >>> import numpy as np
        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> est.evaluate_table(["x", "y"], {"x": [0, 1], "y": [0, 1]}, np.array([[0.4, 0.1], [0.05, 0.45]]))
        0.9
        """
        if not self.identifiable:
            raise QueryError(f"{self.query} is not identifiable, so it has no formula to evaluate",
                             hint=self.reason)
        table = _Table(variables, domains, joint)
        values = {**dict(self.values), **dict(values or {})}
        query_vars = self.outcomes + self.treatments + self.conditions
        for v in values:
            if v not in query_vars and v not in self.arbitrary:
                hint = did_you_mean(v, query_vars + self.arbitrary)
                raise UnknownNameError(f"'{v}' is not a variable of the query {self.query}",
                                       hint=hint or f"the query's variables are {', '.join(query_vars)}")
        free_arb = [v for v in self.arbitrary if v not in values]
        if not free_arb:
            return _evaluate_on(table, self.formula, values, query_vars)
        for v in free_arb:
            if v not in table.domains:
                table.marginal((v,))
        first_err = None
        for combo in itertools.product(*[table.domains[v] for v in free_arb]):
            try:
                return _evaluate_on(table, self.formula, {**values, **dict(zip(free_arb, combo))}, query_vars)
            except ZeroProbabilityError as err:
                first_err = first_err or err
        raise first_err

    def evaluate(self, model, values: Optional[Mapping[str, Any]] = None):
        """The formula computed exactly from a discrete ``causaldsl`` model's observed joint.

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> est.evaluate(m)
        0.9
        """
        return evaluate_on_model(self, model, values)

    def estimate(self, data, values: Optional[Mapping[str, Any]] = None, **options):
        """The formula estimated from data (see :mod:`causaldsl.graphs.estimation`).

        >>> from causaldsl import model
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> est = m.identify("P(y = 1 | do(x = 1))")
        >>> r = est.estimate(m.sample(2000, seed=0))
        >>> round(r.value, 3), bool(r.interval[0] < 0.9 < r.interval[1])
        (0.916, True)
        """
        return estimate_from_data(self, data, values, **options)


# The pseudo-variable that indexes a stack of joint tables (one per posterior or bootstrap draw).
_DRAW = "__draw__"


def _per_draw(e: Expr) -> Expr:
    """Every probability conditioned on the draw: the formula of one joint per draw."""
    if isinstance(e, Prob):
        return Prob(e.vars, e.given + (_DRAW,)) if e.vars else e
    if isinstance(e, Sum):
        return Sum(e.over, _per_draw(e.body))
    if isinstance(e, Product):
        return Product(tuple(_per_draw(f) for f in e.factors))
    if isinstance(e, Fraction):
        return Fraction(_per_draw(e.num), _per_draw(e.den))
    raise TypeError(e)
