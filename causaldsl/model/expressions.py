"""Expressions of the language, compiled to JAX closures (never ``eval``).

:func:`compile_expr` turns a syntax tree into a function of an environment
(a mapping from variable name to array); every backend evaluates mechanisms
this way, on whatever shapes it needs: a grid of parent values for exact
tables, a batch of samples for Monte Carlo.

>>> from causaldsl.language.parser import parse
>>> stmt = parse("model m {\\n y := if x > 1 then 2 * x else -x\\n}").items[0].statements[0]
>>> f = compile_expr(stmt.expr)
>>> import jax.numpy as jnp
>>> f({"x": jnp.array([0.0, 3.0])}).tolist()
[-0.0, 6.0]
"""

from __future__ import annotations

import functools
import operator
from dataclasses import replace
from typing import Callable, Iterable, Iterator, Mapping, Optional

from .lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

from ..language import syntax as S

Env = Mapping[str, "jnp.ndarray"]  # quoted: reading jnp here would import JAX with the package
Compiled = Callable[[Env], "jnp.ndarray"]

FUNCTIONS: dict[str, tuple[int, int]] = {  # name -> (min args, max args; -1 = any)
    "exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "abs": (1, 1),
    "min": (2, -1), "max": (2, -1), "sigmoid": (1, 1),
}

def arity_ok(fn: str, n: int) -> bool:
    lo, hi = FUNCTIONS[fn]
    return n >= lo and (hi < 0 or n <= hi)


def arity_message(fn: str, n: int) -> str:
    lo, hi = FUNCTIONS[fn]
    want = str(lo) if lo == hi else f"at least {lo}"
    return f"{fn}() takes {want} argument(s), got {n}"


def arity_hint(fn: str) -> str:
    return {"min": "write min(a, b, ...)", "max": "write max(a, b, ...)"}.get(fn, f"write {fn}(x)")


_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
              "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}


@functools.lru_cache(maxsize=None)  # one table per array library
def _ops(xp):
    """The array operations of ``xp`` (``jax.numpy`` for engines, ``numpy`` for first answers,
    checks and one-value evaluations).

    In NumPy, arithmetic goes through Python's operators and numbers are ``np.float64``: the
    same ufuncs and rules (``1 / 0`` is inf) as ``np.add`` and friends, without their call
    overhead on single values (n = 1), where it was most of the time."""
    if getattr(xp, "__name__", "") == "torch":
        return _torch_ops(xp)
    sigmoid = jax.nn.sigmoid if xp is jnp else (lambda x: 1.0 / (1.0 + xp.exp(-x)))
    if xp is np:
        arithmetic = dict(_OPERATORS)
        to_float = np.float64  # a float64 array for an array, a float64 scalar for a scalar
    else:
        arithmetic = {"+": xp.add, "-": xp.subtract, "*": xp.multiply, "/": xp.divide, "**": xp.power,
                      "==": xp.equal, "!=": xp.not_equal, "<": xp.less, "<=": xp.less_equal,
                      ">": xp.greater, ">=": xp.greater_equal}
        to_float = (lambda x: xp.asarray(x, dtype=float))  # noqa: E731
    return {
        "exp": xp.exp, "log": xp.log, "sqrt": xp.sqrt, "abs": xp.abs, "sigmoid": sigmoid,
        "min": xp.minimum, "max": xp.maximum, "where": xp.where,
        **arithmetic,
        "float": to_float,
        "asarray": (lambda x: xp.asarray(x, dtype=float)),
        "searchsorted": xp.searchsorted, "clip": xp.clip,
        "int": (lambda x: xp.round(xp.asarray(x)).astype(int)),
        # array libraries only (a table of numbers looked up all rows at once; see _constant_table)
        **({"any": xp.any, "argmax": xp.argmax, "take": xp.take, "array": xp.asarray} if hasattr(xp, "take") else {}),
    }


def _torch_ops(torch):
    """The operations of PyTorch (:mod:`causaldsl.engines.pyro_backend`), in its default float
    dtype. Arithmetic and comparisons are Python's operators (``torch.equal`` compares whole
    tensors); tables go row by row (``torch.take`` flattens its input)."""
    def to_float(x):
        return torch.as_tensor(x, dtype=torch.get_default_dtype())

    return {
        "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs, "sigmoid": torch.sigmoid,
        "min": torch.minimum, "max": torch.maximum,
        "where": lambda c, a, b: torch.where(c, to_float(a), to_float(b)),
        **_OPERATORS,
        "float": to_float, "asarray": to_float,
        "searchsorted": lambda a, v: torch.searchsorted(a, to_float(v)), "clip": torch.clip,
        "int": lambda x: torch.round(to_float(x)).long(),
    }


_UNARY = ("exp", "log", "sqrt", "abs", "sigmoid")


def compile_expr(expr: S.Expr, xp=jnp) -> Compiled:
    """A function ``env -> array`` computing ``expr``; logical results are 0.0 / 1.0.

    ``xp`` is the array library: ``jax.numpy`` (the engines), ``numpy``, or ``torch`` (the Pyro
    backend), each through the same tree walk."""
    return _compile(expr, _ops(xp))


def _compile(expr: S.Expr, ops) -> Compiled:
    f = ops["float"]
    if isinstance(expr, (S.Num, S.Level)):
        c = float(expr.value if isinstance(expr, S.Num) else expr.code)
        if f is np.float64:  # NumPy: the constant made once
            k = f(c)
            return lambda env: k
        return lambda env: f(c)  # JAX: made at trace time, in the precision of the trace
    if isinstance(expr, S.Var):
        name = expr.name
        return lambda env: env[name]
    if isinstance(expr, S.BinOp):
        op, a, b = ops[expr.op], _compile(expr.left, ops), _compile(expr.right, ops)
        if f is np.float64 and isinstance(expr.right, S.Num):  # NumPy: a number operand read once
            k = f(expr.right.value)
            return lambda env: op(a(env), k)
        if f is np.float64 and isinstance(expr.left, S.Num):
            k = f(expr.left.value)
            return lambda env: op(k, b(env))
        return lambda env: op(a(env), b(env))
    if isinstance(expr, S.Unary):
        a = _compile(expr.operand, ops)
        return (lambda env: -a(env)) if expr.op == "-" else a
    if isinstance(expr, S.Compare):
        op, a, b = ops[expr.op], _compile(expr.left, ops), _compile(expr.right, ops)
        return lambda env: f(op(a(env), b(env)))
    if isinstance(expr, S.BoolOp):
        a, b = _compile(expr.left, ops), _compile(expr.right, ops)
        if expr.op == "and":
            return lambda env: f((a(env) != 0) & (b(env) != 0))
        return lambda env: f((a(env) != 0) | (b(env) != 0))
    if isinstance(expr, S.Not):
        a = _compile(expr.operand, ops)
        return lambda env: f(a(env) == 0)
    if isinstance(expr, S.IfElse):
        c, t, o = _compile(expr.cond, ops), _compile(expr.then, ops), _compile(expr.other, ops)
        where = ops["where"]
        return lambda env: where(c(env) != 0, t(env), o(env))
    if isinstance(expr, S.Call):
        args = [_compile(a, ops) for a in expr.args]
        fn = ops[expr.fn]
        if expr.fn in _UNARY:
            a0 = args[0]
            return lambda env: fn(a0(env))

        def call(env):
            out = args[0](env)
            for a in args[1:]:
                out = fn(out, a(env))
            return out

        return call
    if isinstance(expr, S.Table):
        return _compile_table(expr, ops)
    if isinstance(expr, S.Index):
        return _compile_index(expr, ops)
    raise TypeError(f"cannot compile {type(expr).__name__}")  # pragma: no cover


def _compile_table(table: S.Table, ops) -> Compiled:
    """Rows are checked complete and disjoint by the checker; a value matching no row gives NaN."""
    parents = table.parents
    where, f = ops["where"], ops["float"]
    if "take" in ops and all(isinstance(v, (S.Num, S.Level)) for v in table.values):
        return _constant_table(table, ops)
    rows = [(tuple(float(k) for k in key), _compile(v, ops)) for key, v in zip(table.keys, table.values)]

    def lookup(env):
        vals = [env[p] for p in parents]
        out = f(float("nan"))
        for key, value in reversed(rows):
            match = vals[0] == key[0]
            for v, k in zip(vals[1:], key[1:]):
                match = match & (v == k)
            out = where(match, value(env), out)
        return out

    return lookup


def _constant_table(table: S.Table, ops) -> Compiled:
    """A table of numbers: every row compared at once, a handful of array operations whatever
    the number of rows (the row-by-row ``where`` chain costs one per row and key)."""
    keys = np.array(table.keys, dtype=float)
    values = np.array([float(v.value if isinstance(v, S.Num) else v.code)
                       for v in table.values] + [np.nan])  # the last entry: no row matches
    columns = [keys[:, i] for i in range(keys.shape[1])]
    parents, array, any_, argmax, take, where = (table.parents, ops["array"], ops["any"], ops["argmax"],
                                                 ops["take"], ops["where"])
    none = len(table.values)

    def lookup(env):
        match = None
        for p, col in zip(parents, columns):
            m = array(env[p])[..., None] == col
            match = m if match is None else match & m
        return take(values, where(any_(match, -1), argmax(match, -1), none))

    return lookup


def _compile_index(expr: S.Index, ops) -> Compiled:
    """An entry of a parameter array; each index value is looked up among its axis's values."""
    name = expr.name
    idx = [_compile(i, ops) for i in expr.indices]
    search, clip, to_int = ops["searchsorted"], ops["clip"], ops["int"]

    def position(axis):
        # The usual axis is 0, 1, ..., k-1 (Bernoulli, Categorical codes): the value is its position.
        if tuple(axis) == tuple(float(i) for i in range(len(axis))):
            return lambda v: clip(to_int(v), 0, len(axis) - 1)
        ax = ops["asarray"](axis)
        return lambda v: clip(search(ax, v), 0, len(axis) - 1)

    where = [position(a) for a in expr.axes]

    def index(env):
        return env[name][tuple(w(i(env)) for w, i in zip(where, idx))]

    return index


def children(expr: S.Expr) -> Iterator[S.Expr]:
    """The direct sub-expressions of ``expr``."""
    if isinstance(expr, (S.BinOp, S.Compare, S.BoolOp)):
        yield expr.left
        yield expr.right
    elif isinstance(expr, (S.Unary, S.Not)):
        yield expr.operand
    elif isinstance(expr, S.IfElse):
        yield expr.cond
        yield expr.then
        yield expr.other
    elif isinstance(expr, S.Call):
        yield from expr.args
    elif isinstance(expr, S.Table):
        yield from expr.values
    elif isinstance(expr, S.Var) and expr.world:
        for a in expr.world:
            if a.value is not None:
                yield a.value
            elif a.dist is not None:  # Y[X ~ Normal(Z, 1)]: the draw's arguments
                yield from (arg.value for arg in a.dist.args)
    elif isinstance(expr, S.Index):
        yield from expr.indices


def map_children(expr: S.Expr, fn: Callable[[S.Expr], S.Expr]) -> S.Expr:
    """``expr`` with ``fn`` applied to each of its direct sub-expressions (those :func:`children`
    yields), or ``expr`` itself where ``fn`` gave back every one unchanged: the one place a
    rewrite of the tree (renaming, the checker's passes, the query builder) spells out which
    fields of which node hold sub-expressions.

    >>> from causaldsl.language.parser import parse_query
    >>> e = parse_query("E[if x > 1 then y else 2]").expr
    >>> map_children(e, lambda c: c) is e
    True
    >>> map_children(e, lambda c: S.Num(0.0) if isinstance(c, S.Var) else c).then.value
    0.0
    """
    if isinstance(expr, (S.BinOp, S.Compare, S.BoolOp)):
        return renew(expr, left=fn(expr.left), right=fn(expr.right))
    if isinstance(expr, (S.Unary, S.Not)):
        return renew(expr, operand=fn(expr.operand))
    if isinstance(expr, S.IfElse):
        return renew(expr, cond=fn(expr.cond), then=fn(expr.then), other=fn(expr.other))
    if isinstance(expr, S.Call):
        return renew(expr, args=same_or_new(expr.args, tuple(fn(a) for a in expr.args)))
    if isinstance(expr, S.Table):
        return renew(expr, values=same_or_new(expr.values, tuple(fn(v) for v in expr.values)))
    if isinstance(expr, S.Index):
        return renew(expr, indices=same_or_new(expr.indices, tuple(fn(i) for i in expr.indices)))
    if isinstance(expr, S.Var) and expr.world:
        world = tuple(_map_item(a, fn) for a in expr.world)
        return renew(expr, world=same_or_new(expr.world, world))
    return expr


def _map_item(a: S.Assignment, fn: Callable[[S.Expr], S.Expr]) -> S.Assignment:
    """A world's item with ``fn`` applied to its value, or to its draw's arguments."""
    if a.value is not None:
        return renew(a, value=fn(a.value))
    if a.dist is not None:
        args = same_or_new(a.dist.args, tuple(renew(g, value=fn(g.value)) for g in a.dist.args))
        return renew(a, dist=renew(a.dist, args=args))
    return a


def renew(node, **fields):
    """``replace(node, **fields)``, or ``node`` itself when every field is already that object.

    Rewrites of the tree (level names to codes, table keys to codes) mostly have nothing to
    rewrite, and copying every node of every table was most of the checker's time.

    >>> n = S.Num(1.0)
    >>> renew(n, value=n.value) is n, renew(n, value=2.0).value
    (True, 2.0)
    """
    for k, v in fields.items():
        if getattr(node, k) is not v:
            return replace(node, **fields)
    return node


def same_or_new(old: tuple, new: tuple) -> tuple:
    """``old`` when ``new`` holds the same objects (so that :func:`renew` sees no change)."""
    return old if len(old) == len(new) and all(a is b for a, b in zip(old, new)) else new


def walk(expr: S.Expr) -> Iterator[S.Expr]:
    """Every node of ``expr``, parents before children."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def free_vars(expr: S.Expr, nodes: Optional[Iterable[S.Expr]] = None) -> list[str]:
    """Names of the variables ``expr`` reads, in order of first use (tables count their keys);
    ``nodes``: its nodes, parents first, where the caller has walked it already.

    >>> from causaldsl.language.parser import parse_query
    >>> free_vars(parse_query("E[a + table(b, c) {(0, 0): d, (0, 1): 1, (1, 0): 1, (1, 1): 1}]").expr)
    ['a', 'b', 'c', 'd']
    """
    seen: dict[str, None] = {}
    for node in walk(expr) if nodes is None else nodes:
        if isinstance(node, (S.Var, S.Index)):
            seen.setdefault(node.name, None)
        elif isinstance(node, S.Table):
            for p in node.parents:
                seen.setdefault(p, None)
    return list(seen)


def is_boolean(expr: S.Expr) -> bool:
    """Whether ``expr`` is a logical expression: the one rule for events and conditions.

    An event (``P(...)``) or a condition (after ``|``) must be true or false: a comparison,
    ``and``, ``or``, ``not``, an ``if`` whose branches are logical, or the constant 0 or 1.
    Anything else is a number (``x + 1``, ``-1``): its probability means nothing, and it is
    refused (the user probably meant ``E[x + 1]``). The same rule says when a ``:=`` defines a
    binary variable.

    >>> from causaldsl.language.parser import parse_query
    >>> [is_boolean(parse_query(q).expr) for q in ("E[x > 1 and not y]", "E[x + 1]", "E[-1]", "E[1]")]
    [True, False, False, True]
    """
    if isinstance(expr, (S.Compare, S.BoolOp, S.Not)):
        return True
    if isinstance(expr, S.IfElse):
        return is_boolean(expr.then) and is_boolean(expr.other)
    if isinstance(expr, S.Num):
        return expr.value in (0.0, 1.0)
    return False


is_logical = is_boolean  # the checker's older name for the same rule


def rename(expr: S.Expr, mapping: Mapping[str, str]) -> S.Expr:
    """``expr`` with variable names replaced (table keys included; a parameter keeps its name)."""
    if isinstance(expr, S.Var):
        return replace(expr, name=mapping.get(expr.name, expr.name))
    if isinstance(expr, S.Table):
        expr = replace(expr, parents=tuple(mapping.get(p, p) for p in expr.parents))
    return map_children(expr, lambda e: rename(e, mapping))
