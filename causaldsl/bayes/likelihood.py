"""The likelihood of a data set under a model with parameters, as a NumPyro program.

:func:`fit_program` returns a NumPyro model function with one site per
parameter (its prior) and the log likelihood of the data. Two shapes:

* **Every variable discrete.** Rows are compressed to counts of distinct
  configurations, so the cost does not grow with the number of rows. Fully
  observed rows contribute ``Σ count · log P(v | parents; θ)`` for each node
  (its sufficient statistics); rows with unobserved values contribute
  ``count · log P(observed values; θ)``, the marginal computed exactly by the
  einsum engine (:mod:`causaldsl.engines.exact`), which sums out latent and
  missing variables: exact enumeration, no conjugacy needed.
* **Otherwise** a plate over rows with one site per variable: observed values
  are ``obs=``; unobserved continuous values (latent variables, missing cells)
  are latent sites that NUTS samples with the parameters (imputation, as in
  NumPyro's ``obs_mask``); unobserved discrete ones are enumerated by NumPyro
  (``infer={"enumerate": "parallel"}``, which needs ``funsor``).

>>> import causaldsl as cd, numpyro, jax
>>> m = cd.model('''model coin {
...     param p ~ Beta(1, 1)
...     x ~ Bernoulli(p)
... }''')
>>> from causaldsl.bayes.data import prepare
>>> prog = fit_program(m.ir, prepare(m.ir, {"x": [1, 1, 0]}))
>>> tr = numpyro.handlers.trace(numpyro.handlers.substitute(prog.model, {"p": 0.5})).get_trace()
>>> round(float(tr["loglik"]["fn"].log_prob(0.0)), 6)   # 3 · log 0.5
-2.079442
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..model.lazy_modules import lazy_module
jnp = lazy_module("jax.numpy")
import numpy as np

from ..engines.numpyro_backend import prior_sites
from .data import Dataset
from ..model.distributions import FAMILIES
from ..language.errors import FitError
from ..model.expressions import compile_expr, free_vars
from ..model.ir import Model, Node

MAX_TABLE = 1 << 22  # cells of the joint table of a pattern of observed variables


@dataclass(frozen=True)
class FitProgram:
    """The NumPyro model to fit, and how the data entered it."""

    model: Callable
    shape: str  # "counts" | "plate"
    configurations: int  # distinct rows (counts) or rows (plate)
    loglik: Optional[Callable] = None  # theta -> log likelihood (counts shape only)
    enumerated: bool = False  # discrete latent sites that NumPyro enumerates (plate shape)
    data: Optional[Dataset] = None


def fit_program(ir: Model, ds: Dataset, batch_size: Optional[int] = None) -> FitProgram:
    """The NumPyro model of ``ir``'s parameters given the data ``ds`` (see the module doc)."""
    if ir.finite:
        return _counts_program(ir, ds)
    return _plate_program(ir, ds, batch_size)


# ------------------------------------------------------------------ all discrete: counts
def _positions(node: Node, col: np.ndarray) -> np.ndarray:
    dom = np.asarray(node.domain)
    return np.abs(col[:, None] - dom[None, :]).argmin(axis=1)


def _observed_positions(ir: Model, ds: Dataset) -> tuple:
    """The variables in order, which cells each row observes, and each observed value's position
    in its variable's domain (a ``rows x variables`` array each)."""
    names = [n.name for n in ir.nodes]
    obs = np.stack([ds.observed(n) for n in names], axis=1)
    pos = np.stack([_positions(ir[n], np.nan_to_num(ds.columns.get(n, np.zeros(ds.rows))))
                    for n in names], axis=1)
    return names, obs, pos


def _cpt(node: Node, ir: Model, compiled, theta) -> jnp.ndarray:
    """``P(node | parents; θ)`` on the grid of its parents' values (last axis: the node's value)."""
    parents = node.parents
    k = len(parents)
    env = dict(theta)
    for i, p in enumerate(parents):
        shape = [1] * k
        shape[i] = -1
        env[p] = jnp.asarray(ir[p].domain, dtype=float).reshape(shape)
    pshape = tuple(len(ir[p].domain) for p in parents)
    dom = jnp.asarray(node.domain, dtype=float)
    if node.kind == "assign":
        val = jnp.broadcast_to(compiled[0](env), pshape)
        return (jnp.abs(val[..., None] - dom) <= 1e-9).astype(float)
    fam = FAMILIES[node.family]
    params = tuple(jnp.broadcast_to(f(env), pshape) for f in compiled)
    return fam.pmf(params, dom)


def _counts_program(ir: Model, ds: Dataset) -> FitProgram:
    import numpyro

    from ..engines.exact import compile_exact
    from ..language.parser import parse_query
    from ..model.queries import plan_query

    names, obs, pos = _observed_positions(ir, ds)
    compiled = {n.name: [compile_expr(a) for a in n.args] if n.kind == "sample" else [compile_expr(n.expr)]
                for n in ir.nodes}
    terms = []  # (kind, payload)
    distinct = 0
    full = obs.all(axis=1)
    if full.any():
        for j, node in enumerate(ir.nodes):
            cols = [names.index(p) for p in node.parents] + [j]
            keys, counts = np.unique(pos[full][:, cols], axis=0, return_counts=True)
            terms.append(("cpt", (node, tuple(keys.T), jnp.asarray(counts, dtype=float))))
        distinct += len(np.unique(pos[full], axis=0))
    patterns = {tuple(row) for row in obs[~full]}
    for pattern in sorted(patterns):
        seen = [n for n, o in zip(names, pattern) if o]
        if not seen:
            continue  # a row with nothing observed carries no information
        size = int(np.prod([len(ir[n].domain) for n in seen]))
        if size > MAX_TABLE:
            raise FitError(f"rows observing only {', '.join(seen)} need a joint table of {size:,} cells",
                           hint="observe fewer variables per incomplete row, or drop incomplete rows")
        rows = np.all(obs == np.asarray(pattern), axis=1)
        cols = [names.index(n) for n in seen]
        keys, counts = np.unique(pos[rows][:, cols], axis=0, return_counts=True)
        plan = plan_query(ir, parse_query("P(" + ", ".join(seen) + ")"))
        fn, _ = compile_exact(plan)
        terms.append(("joint", (fn, tuple(keys.T), jnp.asarray(counts, dtype=float))))
        distinct += len(keys)

    def loglik(theta):
        total = jnp.zeros(())
        for kind, (obj, keys, counts) in terms:
            if kind == "cpt":
                table = _cpt(obj, ir, compiled[obj.name], theta)
            else:
                num, den, _, _ = obj(jnp.zeros((1,)), theta)
                table = num / den
            p = table[keys]
            # log 0 where the count is 0 would be 0 · -inf; such cells are not in ``keys``.
            total = total + jnp.sum(counts * jnp.log(p))
        return total

    def model():
        theta = prior_sites(ir)
        numpyro.factor("loglik", loglik(theta))

    model.__name__ = f"{ir.name}_likelihood"
    return FitProgram(model, "counts", distinct, loglik, data=ds)


# ------------------------------------------------------------------ general: a plate over rows
def _plate_program(ir: Model, ds: Dataset, batch_size: Optional[int]) -> FitProgram:
    import numpyro

    n = ds.rows
    compiled = {n_.name: [compile_expr(a) for a in n_.args] if n_.kind == "sample" else [compile_expr(n_.expr)]
                for n_ in ir.nodes}
    observed = {name: ds.observed(name) for name in ds.columns}
    latent_inputs: set[str] = set()  # variables that are sampled (not fully observed) in some row
    for node in ir.nodes:
        mask = observed.get(node.name)
        fully = mask is not None and mask.all()
        if node.kind == "assign":
            depends = set(free_vars(node.expr))
            if not fully and (mask is not None and mask.any()):
                raise FitError(f"'{node.name}' is observed in some rows only, and it is a deterministic ':=' "
                               "variable", span=node.span, source=ir.source,
                               hint=f"give it noise ('{node.name} ~ Normal(mean, sd)') or drop the rows where "
                                    "it is missing")
            if fully and (depends & ({p.name for p in ir.params} | latent_inputs)):
                raise FitError(f"'{node.name}' is observed, but it is a deterministic ':=' function of "
                               "parameters or unobserved variables: its value would have probability zero",
                               span=node.span, source=ir.source,
                               hint=f"write it with noise, e.g. '{node.name} ~ Normal(mean, sd)' with "
                                    "'param sd ~ HalfNormal(1)'")
            if not fully:
                latent_inputs.add(node.name)
            continue
        fam = FAMILIES[node.family]
        if not fully:
            latent_inputs.add(node.name)
            if fam.discrete and mask is not None and mask.any():
                raise FitError(f"discrete '{node.name}' is missing in some rows of a model with continuous "
                               "variables", span=node.span, source=ir.source,
                               hint="drop those rows, or make every variable discrete so that missing values "
                                    "are summed out exactly")
    cols = {k: jnp.asarray(np.nan_to_num(v)) for k, v in ds.columns.items()}
    masks = {k: jnp.asarray(v) for k, v in observed.items()}
    consistency = _check_assign_columns(ir, ds, latent_inputs)
    if consistency is not None:
        raise consistency

    def model():
        theta = prior_sites(ir)
        with numpyro.plate("rows", n, subsample_size=batch_size) as idx:
            # Without subsampling the whole columns are used as they are (no gather per evaluation).
            rows = (lambda c: c) if batch_size is None else (lambda c: c[idx])
            env: dict = {}
            for node in ir.nodes:
                penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
                col = cols.get(node.name)
                if node.kind == "assign":
                    env[node.name] = rows(col) if node.name not in latent_inputs else compiled[node.name][0](penv)
                    continue
                fam = FAMILIES[node.family]
                params = tuple(jnp.asarray(f(penv), dtype=float) for f in compiled[node.name])
                d = fam.numpyro(params)
                if col is None:
                    infer = {"enumerate": "parallel"} if fam.discrete else {}
                    env[node.name] = numpyro.sample(node.name, d, infer=infer)
                elif node.name in latent_inputs:
                    env[node.name] = numpyro.sample(node.name, d, obs=rows(col), obs_mask=rows(masks[node.name]))
                else:
                    env[node.name] = numpyro.sample(node.name, d, obs=rows(col))

    model.__name__ = f"{ir.name}_likelihood"
    enumerated = any(n.kind == "sample" and FAMILIES[n.family].discrete and n.name not in cols for n in ir.nodes)
    return FitProgram(model, "plate", n, enumerated=enumerated, data=ds)


def _check_assign_columns(ir: Model, ds: Dataset, latent_inputs: set[str]):
    """An observed ':=' variable whose inputs are all observed must agree with its formula."""
    params = {p.name for p in ir.params}
    for node in ir.nodes:
        if node.kind != "assign" or node.name in latent_inputs or node.name not in ds.columns:
            continue
        if set(free_vars(node.expr)) & params:
            continue
        env = {e: np.nan_to_num(ds.columns[p]) for e, p in node.env_names.items()}
        with np.errstate(all="ignore"):
            val = np.broadcast_to(np.asarray(compile_expr(node.expr, np)(env), dtype=float), (ds.rows,))
        bad = ~np.isclose(val, ds.columns[node.name], rtol=1e-9, atol=1e-9)
        if bad.any():
            row = int(np.argmax(bad))
            return FitError(f"column '{node.name}', row {row + 1}: {ds.columns[node.name][row]:g} disagrees with "
                            f"its formula, which gives {val[row]:g}", span=node.span, source=ir.source,
                            hint="a ':=' variable is a function of its parents; check the column or the formula")
    return None


# ------------------------------------------------------------------ pointwise, for model comparison
def row_loglik(ir: Model, ds: Dataset) -> Callable:
    """``theta -> (rows,)``: each row's log probability of its observed values, for an all-discrete model.

    The pointwise log likelihood that PSIS-LOO and WAIC need (Vehtari, Gelman &
    Gabry 2017, *Practical Bayesian model evaluation using leave-one-out
    cross-validation and WAIC*): a fully observed row is ``Σ_v log P(v | parents; θ)``,
    a row with unobserved values the log of its marginal, summed exactly by the
    einsum engine. Summed over rows it is the fitted program's log likelihood.

    >>> import causaldsl as cd
    >>> m = cd.model("model coin {\\n param p ~ Beta(1, 1)\\n x ~ Bernoulli(p)\\n}")
    >>> from causaldsl.bayes.data import prepare
    >>> f = row_loglik(m.ir, prepare(m.ir, {"x": [1, 0, 1]}))
    >>> [round(float(v), 6) for v in f({"p": jnp.asarray(0.8)})]   # log 0.8, log 0.2, log 0.8
    [-0.223144, -1.609438, -0.223144]
    """
    from ..engines.exact import compile_exact
    from ..language.parser import parse_query
    from ..model.queries import plan_query

    names, obs, pos = _observed_positions(ir, ds)
    compiled = {n.name: [compile_expr(a) for a in n.args] if n.kind == "sample" else [compile_expr(n.expr)]
                for n in ir.nodes}
    full = np.flatnonzero(obs.all(axis=1))
    groups = []  # (row indices, kind, payload, index columns)
    if full.size:
        for j, node in enumerate(ir.nodes):
            cols = [names.index(p) for p in node.parents] + [j]
            groups.append((full, "cpt", node, tuple(jnp.asarray(pos[full, c]) for c in cols)))
    for pattern in sorted({tuple(row) for row in obs[~obs.all(axis=1)]}):
        seen = [n for n, o in zip(names, pattern) if o]
        rows = np.flatnonzero(np.all(obs == np.asarray(pattern), axis=1))
        if not seen:
            continue  # nothing observed: log 1 = 0
        fn, _ = compile_exact(plan_query(ir, parse_query("P(" + ", ".join(seen) + ")")))
        groups.append((rows, "joint", fn, tuple(jnp.asarray(pos[rows, names.index(n)]) for n in seen)))

    def loglik(theta):
        out = jnp.zeros(ds.rows)
        for rows, kind, obj, keys in groups:
            if kind == "cpt":
                table = _cpt(obj, ir, compiled[obj.name], theta)
            else:
                num, den, _, _ = obj(jnp.zeros((1,)), theta)
                table = num / den
            out = out.at[rows].add(jnp.log(table[keys]))
        return out

    return loglik
