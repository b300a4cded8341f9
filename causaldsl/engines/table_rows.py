"""Conditional probability tables of numbers, read once and looked up one row per draw.

A discrete ``~`` variable written as a table (BIF's form: one probability per value and parent
configuration) is, as an expression, one ``table(parents) { ... }`` per value. Evaluated as
expressions over ``n`` draws, each value's table compares every draw against every row: a
100-valued variable with 2,800 parent configurations (mildew's ``dm_4``) costs 100 x 2,800
comparisons per draw, and thousands of traced operations whose XLA compilation took most of a
minute. Read once into arrays instead (the exact engine's reader,
:func:`~causaldsl.engines.exact.table_pmf`), a draw costs a row index (a mixed-radix number of
its parents' value positions) and ``log2 K`` lookups of its CDF row: the quantile coupling's
``j = #{i < K - 1 : F_i <= u}`` by binary search, with the same comparisons as the family's
quantile (:mod:`~causaldsl.model.distributions`), so the draws are those of the expressions'.

The arrays enter a compiled program as constants: a few megabytes for the largest bnlearn tables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True, eq=False)
class TableRows:
    """One copy's table: ``pmf`` (rows, K) in the grid order of ``parents``' domains, ``cdf``
    with a leading 0 column (rows, K + 1), ``bad`` the rows whose numbers are not a distribution
    (None where every row is one).

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Categorical(a: table(x) { 0: 0.5, 1: 0.1 }, "
    ...              "b: 0.3, c: table(x) { 0: 0.2, 1: 0.6 })\\n}")
    >>> t = read(m.ir, m.ir["y"])
    >>> row = t.row({"x": jnp.asarray([0.0, 1.0, 1.0])})
    >>> t.draw(row, jnp.asarray([0.45, 0.35, 0.45])).tolist()   # F given x = 0: 0.5, 0.8, 1; x = 1: 0.1, 0.4, 1
    [0.0, 1.0, 2.0]
    >>> [round(float(v), 6) for v in t.interval(row, 2.0)[0]]   # F(b) given x: 0.8, 0.4, 0.4
    [0.8, 0.4, 0.4]
    """

    parents: tuple  # node names, the table's axes in order
    domains: tuple  # per parent: its values (a float tuple)
    pmf: np.ndarray
    cdf: np.ndarray
    bad: Optional[np.ndarray]
    values: np.ndarray  # the variable's values, by index

    @property
    def k(self) -> int:
        return self.pmf.shape[1]

    def row(self, env):
        """The row of each draw's parent configuration (traced): ``Σ position_i * stride_i``."""
        return _row(tuple(jnp.asarray(env[p]) for p in self.parents), self._searched, self._lengths)

    def draw(self, row, u):
        """The value taken at uniform ``u`` (the quantile coupling): ``#{i < K - 1 : F_i <= u}``
        found by binary search in the row (``F`` is nondecreasing in a valid row)."""
        return _draw(self._flat_cdf, self._values, row, u)

    def interval(self, row, observed):
        """``(F(j - 1), F(j))`` of the observed value's index ``j`` in each draw's row: the
        likelihood is their difference and the abducted ``U`` is uniform between them."""
        return _interval(self._flat_cdf, row, jnp.asarray(observed), self.k)

    @functools.cached_property
    def guide(self) -> np.ndarray:
        """:func:`guide` of the table (for :func:`draw_np`)."""
        return guide(self.cdf)

    # On the device once (float64: read under the engines' precision, engines.config.float64),
    # as concrete arrays even when first read inside a trace: kept, a tracer would leak.
    @functools.cached_property
    def _flat_cdf(self):
        with jax.ensure_compile_time_eval():
            return padded(self.cdf)

    @functools.cached_property
    def _values(self):
        with jax.ensure_compile_time_eval():
            return jnp.asarray(self.values)

    @property
    def _lengths(self) -> tuple:
        return tuple(len(d) for d in self.domains)

    @property
    def _searched(self) -> tuple:
        """Per parent: its values where they must be searched, None where they are the codes
        ``0..k-1`` (each value is its own position)."""
        return tuple(None if d == tuple(float(i) for i in range(len(d))) else np.asarray(d) for d in self.domains)

    def pmf_rows(self, row):
        """The probabilities of each draw's row, values on the last axis (for the Gumbel race)."""
        return jnp.asarray(self.pmf)[row]  # rare (Gumbel-max races): not kept on the device

    def invalid(self, row):
        """Per draw: its row is not a distribution (None where no row is invalid)."""
        return None if self.bad is None else jnp.asarray(self.bad)[row]


def _row_in(xp, parents: tuple, searched: tuple, lengths: tuple):
    row = xp.zeros((), xp.int32)
    for v, dom, size in zip(parents, searched, lengths):
        if dom is None:
            pos = xp.clip(v.astype(xp.int32), 0, size - 1)
        else:
            pos = xp.clip(xp.searchsorted(dom, v), 0, size - 1).astype(xp.int32)
        row = row * size + pos
    return row


def _draw_in(xp, cdf, values, row, u):
    k = values.shape[0]
    base = row * (k + 1) + 1  # F_0 of the row
    pos = xp.zeros(np.broadcast_shapes(xp.shape(row), xp.shape(u)), xp.int32)
    step = 1 << max(k - 1, 1).bit_length() - 1
    while step:
        cand = pos + step
        ok = (cand <= k - 1) & (cdf[base + xp.minimum(cand, k - 1) - 1] <= u)
        pos = xp.where(ok, cand, pos)
        step >>= 1
    return values[pos]


def _interval_in(xp, cdf, row, observed, k: int):
    j = xp.clip(xp.floor(observed).astype(xp.int32), 0, k - 1)
    base = row * (k + 1) + j
    return cdf[base], cdf[base + 1]


# Each lookup is one small jitted program, its table an argument: a network's tables of the same
# shape share one compilation, and a query run op by op (montecarlo.EAGER_STEPS) makes one call
# per step instead of one per array operation. The NumPy forms serve exact abduction
# (engines/abduction.py), which runs op by op and compiles nothing.
_row = jax.jit(functools.partial(_row_in, jnp), static_argnums=(2,))
_draw = jax.jit(functools.partial(_draw_in, jnp))
_interval = jax.jit(functools.partial(_interval_in, jnp), static_argnums=(3,))


def row_np(tab: TableRows, env: dict) -> np.ndarray:
    """:meth:`TableRows.row` in NumPy."""
    return _row_in(np, tuple(np.asarray(env[p]) for p in tab.parents), tab._searched, tab._lengths)


def guide(cdf: np.ndarray) -> np.ndarray:
    """The guide table of a CDF table ``(rows, K + 1)`` (Chen & Asau 1974, "On generating random
    variates from an empirical distribution", AIIE Trans. 6): entry ``[r, g]`` is the value a
    uniform ``u`` at ``g / K`` takes in row ``r``, ``#{i < K - 1 : F_i <= g / K}``, a lower bound for
    every ``u`` of the bin ``[g / K, (g + 1) / K)``, from which :func:`draw_np` searches forward.

    >>> guide(np.array([[0.0, 0.5, 0.75, 1.0]])).tolist()   # F = 0.5, 0.75, 1: at 0, 1/3, 2/3
    [[0, 0, 1]]
    """
    rows, k = cdf.shape[0], cdf.shape[1] - 1
    grid = np.arange(k) / k
    inner = cdf[:, 1:k]
    out = np.empty((rows, k), np.int64)
    step = max(1, 10_000_000 // max(1, k * k))  # rows at once: a bounded comparison block
    for r in range(0, rows, step):
        out[r:r + step] = (inner[r:r + step, None, :] <= grid[None, :, None]).sum(-1)
    return out


def draw_np(cdf: np.ndarray, values: Optional[np.ndarray], row, u, guides: np.ndarray) -> np.ndarray:
    """:meth:`TableRows.draw` in NumPy, on a CDF table ``(rows, K + 1)`` with its leading 0 column
    and its :func:`guide`: the guide's start, then one step forward at a time for the draws whose
    next ``F`` is still at or below ``u`` (about two steps on average; the same comparisons as the
    binary search, so the same values). ``values`` None: the value's index."""
    k = cdf.shape[1] - 1
    flat = cdf.reshape(-1)
    row = np.broadcast_to(np.asarray(row, np.int64), np.shape(u))
    j = guides.reshape(-1)[row * k + np.minimum((u * k).astype(np.int64), k - 1)]
    live = np.arange(j.size)
    while live.size:
        at = j[live]
        move = (at < k - 1) & (flat[row[live] * (k + 1) + 1 + at] <= u[live])
        live = live[move]
        j[live] += 1
    return j if values is None else values[j]


def interval_np(tab: TableRows, row, observed) -> tuple:
    """:meth:`TableRows.interval` in NumPy."""
    return _interval_in(np, tab.cdf.reshape(-1), row, np.asarray(observed), tab.k)


def padded(cdf: np.ndarray):
    """``cdf`` flattened onto the device, padded to a power of two: tables of nearby sizes then
    share one compilation of each lookup (a network has a few dozen sizes, not hundreds)."""
    flat = cdf.reshape(-1)
    size = 1 << max(flat.size - 1, 1).bit_length()
    return jnp.asarray(np.concatenate([flat, np.ones(size - flat.size)]))


def read(net, node, cache: Optional[dict] = None) -> Optional[TableRows]:
    """``node``'s table, where its mechanism is Bernoulli or Categorical probabilities written as
    numbers or tables of numbers over all its parents (every one finite); None otherwise (the
    expressions are evaluated per draw). ``cache`` (a dict) shares the arrays between copies of
    one variable in several worlds, which share its mechanism.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Bernoulli(if x > 0 then 0.9 else 0.1)\\n}")
    >>> read(m.ir, m.ir["y"]) is None
    True
    """
    from .exact import table_pmf  # the reader the exact engine uses: one reading of a table

    if node.kind != "sample" or node.family not in ("Bernoulli", "Categorical") or node.domain is None:
        return None
    own = list(dict.fromkeys(node.parents))
    if any(net[p].domain is None for p in own):
        return None
    domains = tuple(tuple(float(v) for v in net[p].domain) for p in own)
    back = {p: e for e, p in node.env_names.items()}
    key = (id(node.args), node.family, node.domain, domains, tuple(back.get(p, p) for p in own))
    hit = cache.get(key) if cache is not None else None
    if hit is None or hit[0] is not node.args:
        got = table_pmf(node, own, list(domains))
        if got is None:
            return None
        hit = (node.args, *_arrays(node.family, *got))
        if cache is not None:
            cache[key] = hit
    return TableRows(tuple(own), domains, *hit[1:], np.asarray(node.domain, dtype=np.float64))


def _arrays(family: str, pmf, bad) -> tuple:
    """``(pmf, cdf, bad)`` as :class:`TableRows` keeps them, from the grid-shaped table."""
    k = pmf.shape[-1]
    pmf = np.ascontiguousarray(pmf.reshape(-1, k), dtype=np.float64)
    bad = bad.reshape(-1)
    cdf = np.concatenate([np.zeros((pmf.shape[0], 1)), np.cumsum(pmf, axis=-1)], axis=-1)
    if family == "Bernoulli":  # its CDF is 1 at 1 by definition (the family's cdf), not (1 - p) + p
        cdf[:, -1] = 1.0
    return pmf, cdf, (bad if bad.any() else None)
