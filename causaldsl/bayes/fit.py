"""Learning a model's parameters from data, and the fitted model that answers over the posterior.

:func:`fit_model` runs NUTS (the default: several chains, R-hat, effective
sample size and divergences reported, with a :class:`~causaldsl.language.errors.FitWarning`
when they are poor) or SVI (an ``AutoNormal`` guide; for large data sets, with
``batch_size`` for subsampling) on the program of :mod:`causaldsl.bayes.likelihood`.
It returns a :class:`Posterior`, which :meth:`causaldsl.api.CausalModel.fit` wraps
in a :class:`~causaldsl.api.FittedModel`: the same model, whose queries at every rung
are answered once per posterior draw in one vectorised call, giving a posterior
mean and a credible interval (Gelman et al., *Bayesian Data Analysis*, 3rd ed.;
Hoffman & Gelman 2014 for NUTS; Vehtari et al. 2021 for rank-normalised R-hat).

>>> import causaldsl as cd
>>> m = cd.model('''model coin {
...     param p ~ Beta(1, 1)
...     x ~ Bernoulli(p)
... }''')
>>> f = m.fit({"x": [1] * 30 + [0] * 10}, draws=500, warmup=300, chains=2)
>>> r = f.query("P(x = 1)")
>>> abs(r.value - 31 / 42) < 0.02, r.interval[0] < 31 / 42 < r.interval[1]   # Beta(31, 11) posterior
(True, True)
"""

from __future__ import annotations

import html
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
import numpy as np

from ..engines.config import float64
from .data import Dataset, prepare
from ..language.errors import FitError, FitWarning, MethodError, ProbabilityError
from ..engines.dispatch import Draws
from ..model.ir import Model
from ..engines.numpyro_backend import prior_sites
from .likelihood import FitProgram, fit_program

METHODS = ("nuts", "svi")
RHAT_MAX = 1.01  # Vehtari et al. 2021
ESS_PER_CHAIN = 100
PRIOR_DRAWS = 1000


@float64
def prior_draws(ir: Model, draws: int = PRIOR_DRAWS, seed: int = 0) -> Draws:
    """``draws`` joint draws of the parameters from their priors."""
    from numpyro.infer import Predictive

    def model():
        prior_sites(ir)

    out = Predictive(model, num_samples=draws)(jax.random.PRNGKey(seed))
    return Draws({p.name: np.asarray(out[p.name]) for p in ir.params}, "prior")


#: Prior draws checked before sampling starts.
START_DRAWS = 16


def _np_sampler(family: str):
    """A NumPy sampler ``(rng, args, size) -> draws`` in the family's own parametrisation, or ``None``.

    Priors are continuous (the checker enforces it), so only continuous families are here.
    """
    table = {
        "Normal": lambda rng, a, size: rng.normal(a[0], a[1], size),
        "HalfNormal": lambda rng, a, size: np.abs(rng.normal(0.0, a[0], size)),
        "LogNormal": lambda rng, a, size: rng.lognormal(a[0], a[1], size),
        "StudentT": lambda rng, a, size: a[1] + a[2] * rng.standard_t(a[0], size),
        "Uniform": lambda rng, a, size: rng.uniform(a[0], a[1], size),
        "Exponential": lambda rng, a, size: rng.exponential(1.0 / np.asarray(a[0]), size),
        "Gamma": lambda rng, a, size: rng.gamma(a[0], 1.0 / np.asarray(a[1]), size),
        "Beta": lambda rng, a, size: rng.beta(a[0], a[1], size),
    }
    return table.get(family)


def prior_draws_numpy(ir: Model, draws: int = START_DRAWS, seed: int = 0) -> Optional[dict]:
    """``draws`` joint draws of the parameters from their priors, with NumPy (no compilation).

    ``None`` when some prior cannot be drawn this way (a family without a NumPy
    sampler, or hyper-parameters that leave their range); the caller then uses
    :func:`prior_draws`. Used only to check a model before sampling starts.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n param s ~ HalfNormal(2)\\n param p[x] ~ Beta(2, 2)\\n x ~ Bernoulli(0.5)\\n}")
    >>> th = prior_draws_numpy(m.ir, 16)
    >>> th["s"].shape, th["p"].shape, bool((th["s"] >= 0).all())
    ((16,), (16, 2), True)
    """
    from ..model.expressions import compile_expr

    rng = np.random.default_rng(seed)
    theta: dict = {}
    for p in ir.params:
        sampler = _np_sampler(p.family)
        if sampler is None:
            return None
        size = (draws,) + p.shape
        lead = (draws,) + (1,) * len(p.shape)
        try:
            with np.errstate(all="raise"):
                args = [np.asarray(compile_expr(a, np)({k: v.reshape(v.shape[:1] + (1,) * len(p.shape))
                                                         if v.ndim == 1 else v for k, v in theta.items()}),
                                   dtype=float) for a in p.args]
                args = [x.reshape(lead) if x.shape == (draws,) else x for x in args]
                theta[p.name] = np.asarray(sampler(rng, args, size), dtype=float)
        except (ValueError, FloatingPointError, TypeError):
            return None
    return theta


def _positive_int(name: str, value, source: str, span=None) -> int:
    if isinstance(value, float) and value == int(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise MethodError(f"{name} must be a whole number >= 1, got {value!r}", span=span, source=source,
                          hint=f"e.g. {name} = 1000")
    return int(value)


@dataclass(frozen=True)
class Posterior:
    """What a fit learned: the parameter draws (all chains, and by chain), the sampler's
    diagnostics, and the data and program it was fitted with."""

    draws: Draws
    by_chain: dict
    diagnostics: dict
    data: Dataset
    program: FitProgram


@float64
def fit_model(cm, data: Any, *, method: str = "nuts", draws: int = 1000, warmup: int = 500,
              chains: int = 4, seed: int = 0, progress: Optional[bool] = None, steps: int = 5000,
              learning_rate: float = 0.01, batch_size: Optional[int] = None, span=None) -> Posterior:
    """Fit the parameters of ``cm`` (a :class:`~causaldsl.api.CausalModel`) to ``data``.

    ``data`` is a pandas DataFrame, a CSV path or a dict of columns; columns
    are matched to variables by name (see :mod:`causaldsl.bayes.data`).
    """
    ir: Model = cm.ir
    source = ir.source
    if not ir.params:
        raise FitError(f"model '{ir.name}' has no parameters to fit", span=span, source=source,
                       hint="declare the uncertain numbers with priors, e.g. 'param p ~ Beta(1, 1)' and "
                            "'x ~ Bernoulli(p)'")
    method = str(method).lower()
    if method not in METHODS:
        raise MethodError(f"unknown fitting method '{method}'", span=span, source=source,
                          hint="use method = nuts (the default) or method = svi")
    draws = _positive_int("draws", draws, source, span)
    chains = _positive_int("chains", chains, source, span)
    steps = _positive_int("steps", steps, source, span)
    warmup = _positive_int("warmup", warmup, source, span)
    if batch_size is not None:
        batch_size = _positive_int("batch_size", batch_size, source, span)
    ds = prepare(ir, data, source)
    if batch_size is not None and (method != "svi" or ir.finite):
        raise MethodError("batch_size subsamples rows in SVI for models with continuous variables",
                          span=span, source=source,
                          hint="use method = svi; discrete models are already compressed to counts")
    prog = fit_program(ir, ds, batch_size if batch_size and batch_size < ds.rows else None)
    _check_start(ir, prog, seed)
    if progress is None:
        progress = _interactive()
    # In a notebook, NumPyro's bar would be a plain-text tqdm on stderr (the red "error" stream) and a
    # Python loop per step: sample in one compiled loop instead, and say so in an ordinary output line.
    status = NotebookStatus() if progress and _in_kernel() else None
    bar = bool(progress) and status is None
    what = (f"NUTS, {chains} chain(s) x ({warmup:,} warmup + {draws:,} draws)" if method == "nuts"
            else f"SVI, {steps:,} steps")
    if status:
        status.show(f"fitting {ir.name} to {ds.rows:,} rows: {what}…")
    started = time.perf_counter()
    if method == "nuts":
        theta, by_chain, diag = _nuts(prog, ir, draws, warmup, chains, seed, bar)
        label = "NUTS"
    else:
        theta, by_chain, diag = _svi(prog, ir, draws, steps, learning_rate, seed, bar)
        label = "SVI"
    if status:
        status.show(f"fitted {ir.name} in {time.perf_counter() - started:.1f} s: {describe(diag)}")
    return Posterior(Draws(theta, f"{label} posterior"), by_chain, diag, ds, prog)


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (where stderr shows as an error)."""
    try:
        from IPython import get_ipython

        return get_ipython() is not None and "IPKernelApp" in get_ipython().config
    except Exception:  # pragma: no cover - IPython is a dependency, but be safe
        return False


def _interactive() -> bool:
    """Progress only where someone is watching: an IPython kernel or a terminal."""
    import sys

    return _in_kernel() or bool(getattr(sys.stderr, "isatty", lambda: False)())


class NotebookStatus:
    """One line of ordinary output in a notebook cell, replaced as the fit goes on (a display handle)."""

    def __init__(self):
        self.handle = None

    def show(self, text: str) -> None:
        from IPython.display import HTML, display

        shown = HTML(f'<small class="cdsl-fit-status">{html.escape(text)}</small>')
        if self.handle is None:
            self.handle = display(shown, display_id=True)
        else:
            self.handle.update(shown)


def _check_start(ir: Model, prog: FitProgram, seed: int) -> None:
    """Before sampling: priors must keep every distribution valid, and the data must be possible."""
    import jax.numpy as jnp

    from ..model.expressions import compile_expr
    from .likelihood import _cpt
    from ..model.distributions import FAMILIES

    if prog.loglik is None:
        theta_np = prior_draws_numpy(ir, START_DRAWS, seed)
        if theta_np is not None:  # the usual case: no JAX program to compile before NUTS starts
            _check_plate_start(ir, prog, theta_np, np)
            return
    pd = prior_draws(ir, START_DRAWS, seed)
    theta = {k: jnp.asarray(v) for k, v in pd.theta.items()}
    if prog.loglik is None:
        _check_plate_start(ir, prog, theta, jnp)
        return
    values = jax.vmap(prog.loglik)(theta)
    if bool(jnp.all(jnp.isfinite(values))):
        return
    for node in ir.nodes:  # which node's parameters leave their range under the prior?
        if node.kind != "sample":
            continue
        fam = FAMILIES[node.family]
        fns = [compile_expr(a) for a in node.args]
        for i in range(16):
            th = {k: v[i] for k, v in theta.items()}
            table = _cpt(node, ir, fns, th)
            if not bool(jnp.all(jnp.isfinite(table))) or bool(jnp.any(table < 0)):
                raise ProbabilityError(f"'{node.name}': for some parameter values drawn from the priors its "
                                       f"{fam.name} parameters are invalid", span=node.span, source=ir.source,
                                       hint=f"{fam.name} takes {fam.rule}; give the parameters priors inside "
                                            "that range (e.g. Beta(1, 1) for a probability) or squash them "
                                            "with sigmoid(...)")
    if not bool(jnp.any(jnp.isfinite(values))):
        raise FitError("the data have probability zero under the model for every parameter value tried",
                       source=ir.source, line=ir.nodes[0].span.line or None, column=ir.nodes[0].span.column or None,
                       hint="some rows contradict a ':=' formula or a table entry of 0; check the data "
                            "against the model")


def _check_plate_start(ir: Model, prog: FitProgram, theta: dict, xp=np) -> None:
    """Each observed ``~`` variable's parameters, computed from the data, must be valid under the priors.

    ``xp`` is the array library of ``theta`` (NumPy, unless a prior could not be drawn with it).
    """
    from ..model.distributions import FAMILIES
    from ..model.expressions import compile_expr

    ds = prog.data
    for node in ir.nodes:
        if node.kind != "sample" or any(p not in ds.columns for p in node.parents):
            continue  # parents sampled per row: checked by the sampler itself
        fam = FAMILIES[node.family]
        env = {p: xp.asarray(np.nan_to_num(ds.columns[p])) for p in node.parents}
        fns = [compile_expr(a, xp) for a in node.args]
        for i in range(next(iter(theta.values())).shape[0]):
            th = {k: v[i] for k, v in theta.items()}
            with np.errstate(all="ignore"):
                params = tuple(xp.asarray(f({**th, **{e: env[q] for e, q in node.env_names.items()}}), dtype=float)
                               for f in fns)
                bad = xp.any(fam.invalid(params))
            if bool(bad):
                raise ProbabilityError(f"'{node.name}': for some parameter values drawn from the priors its "
                                       f"{fam.name} parameters are invalid", span=node.span, source=ir.source,
                                       hint=f"{fam.name} takes {fam.rule}; give the parameters priors inside "
                                            "that range (e.g. HalfNormal(1) for a scale, Beta(1, 1) for a "
                                            "probability)")


def _nuts(prog: FitProgram, ir: Model, draws, warmup, chains, seed, progress):
    from numpyro.diagnostics import summary
    from numpyro.infer import MCMC, NUTS

    # One device: chains advance in lockstep in one compiled loop (about 2x faster than one after another).
    method = "parallel" if jax.local_device_count() >= chains else "vectorized"
    mcmc = MCMC(NUTS(prog.model), num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=method, progress_bar=bool(progress))
    try:
        mcmc.run(jax.random.PRNGKey(seed), extra_fields=EXTRA_FIELDS)
    except RuntimeError as exc:  # NumPyro: "Cannot find valid initial parameters"
        raise FitError(f"NUTS could not start: {str(exc).splitlines()[0]}", source=ir.source,
                       hint="the log density is not finite where sampling starts; check that priors keep "
                            "every distribution's parameters valid and that the data are possible") from None
    names = [p.name for p in ir.params]
    grouped = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items() if k in names}
    stats_by_chain = sample_stats(mcmc.get_extra_fields(group_by_chain=True))
    divergent = int(stats_by_chain["diverging"].sum())
    stats = summary(grouped, prob=0.95)
    rhat = max(float(np.nanmax(stats[n]["r_hat"])) for n in names) if chains > 1 else float("nan")
    ess = min(float(np.nanmin(stats[n]["n_eff"])) for n in names)
    diag = {"method": "NUTS", "chains": chains, "draws": draws, "warmup": warmup, "r_hat": rhat, "ess": ess,
            "divergences": divergent, "stats": stats, "sample_stats": stats_by_chain}
    problems = []
    if chains > 1 and not rhat <= RHAT_MAX:
        problems.append(f"R-hat {rhat:.3f} > {RHAT_MAX}")
    if ess < ESS_PER_CHAIN * chains:
        problems.append(f"effective sample size {ess:.0f} < {ESS_PER_CHAIN * chains}")
    if divergent:
        problems.append(f"{divergent} divergent transitions")
    if problems:
        warnings.warn(f"fit of '{ir.name}': " + ", ".join(problems) + "; the posterior may be unreliable "
                      "(run longer with more warmup/draws, or reparameterise)", FitWarning, stacklevel=3)
    diag["warnings"] = problems
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in grouped.items()}
    return flat, grouped, diag


#: What NUTS records per draw besides the parameters (NumPyro's ``HMCState`` fields).
EXTRA_FIELDS = ("diverging", "energy", "num_steps", "accept_prob", "potential_energy", "adapt_state.step_size")


def sample_stats(extra: dict) -> dict:
    """NumPyro's per-draw NUTS fields under ArviZ's names (``(chains, draws)`` arrays).

    ``tree_depth`` is ``floor(log2(n_steps)) + 1``, as ArviZ's ``from_numpyro`` derives it
    (a tree of depth ``d`` has at most ``2^d - 1`` leapfrog steps; Hoffman & Gelman 2014);
    ``lp`` is the log posterior density, minus the potential energy.

    >>> s = sample_stats({"diverging": np.array([[False]]), "energy": np.array([[3.0]]),
    ...                   "num_steps": np.array([[7]]), "accept_prob": np.array([[0.9]]),
    ...                   "potential_energy": np.array([[2.0]]), "adapt_state.step_size": np.array([[0.5]])})
    >>> int(s["tree_depth"][0, 0]), float(s["lp"][0, 0]), sorted(s)
    (3, -2.0, ['acceptance_rate', 'diverging', 'energy', 'lp', 'n_steps', 'step_size', 'tree_depth'])
    """
    steps = np.asarray(extra["num_steps"])
    return {"diverging": np.asarray(extra["diverging"], dtype=bool), "energy": np.asarray(extra["energy"]),
            "n_steps": steps, "tree_depth": (np.floor(np.log2(np.maximum(steps, 1))) + 1).astype(int),
            "acceptance_rate": np.asarray(extra["accept_prob"]), "lp": -np.asarray(extra["potential_energy"]),
            "step_size": np.asarray(extra["adapt_state.step_size"])}


def enumerated_sites(ir: Model, prog: FitProgram) -> list[str]:
    """The discrete sites without data that the plate program sums out (NumPyro's parallel enumeration)."""
    from ..model.distributions import FAMILIES

    if prog.shape != "plate":
        return []
    return [n.name for n in ir.nodes if n.kind == "sample" and FAMILIES[n.family].discrete
            and n.name not in prog.data.columns]


def _svi(prog: FitProgram, ir: Model, draws, steps, lr, seed, progress):
    from numpyro import handlers, optim
    from numpyro.infer import SVI, Predictive, Trace_ELBO, TraceEnum_ELBO
    from numpyro.infer.autoguide import AutoNormal

    # Discrete latent sites are summed out by TraceEnum_ELBO, so the guide covers only the
    # continuous ones (NumPyro's recipe: the guide of a model with those sites blocked).
    hidden = enumerated_sites(ir, prog)
    guide = AutoNormal(handlers.block(prog.model, hide=hidden) if hidden else prog.model)
    elbo = TraceEnum_ELBO(max_plate_nesting=1) if hidden else Trace_ELBO()
    svi = SVI(prog.model, guide, optim.Adam(lr), elbo)
    result = svi.run(jax.random.PRNGKey(seed), steps, progress_bar=bool(progress))
    losses = np.asarray(result.losses)
    tail = max(steps // 10, 1)
    last, before = losses[-tail:].mean(), losses[-2 * tail:-tail].mean() if steps >= 2 * tail else math.nan
    change = abs(before - last) / max(abs(last), 1.0) if np.isfinite(before) else math.nan
    names = [p.name for p in ir.params]
    # Draws of the parameters from the guide itself: per-row sites (imputed cells, subsampled with
    # batch_size) are not replayed through the model, whose plate would draw another subsample.
    post = Predictive(guide, params=result.params, num_samples=draws, return_sites=names)(
        jax.random.PRNGKey(seed + 1))
    flat = {k: np.asarray(post[k]) for k in names}
    problems = []
    if not np.isfinite(last):
        raise FitError("SVI diverged: the loss is not finite", source=ir.source,
                       hint="lower learning_rate, or check the priors")
    if np.isfinite(change) and change > 1e-3:
        problems.append(f"the loss still changes by {change:.1%} over the last {tail} steps")
        warnings.warn(f"fit of '{ir.name}': {problems[-1]}; increase steps", FitWarning, stacklevel=3)
    diag = {"method": "SVI", "steps": steps, "draws": draws, "final_loss": float(last),
            "loss_change": float(change), "warnings": problems}
    return flat, {k: v[None] for k, v in flat.items()}, diag


@dataclass(frozen=True)
class FitReport:
    """One line on a fit: what was fitted to what, how many rows, how the sampler did.

    >>> print(FitReport("fit m to d.csv", 700, "NUTS, 4 chain(s) x 1,000 draws"))
    fit m to d.csv: 700 rows  [NUTS, 4 chain(s) x 1,000 draws]
    """

    query: str
    value: int  # rows of data
    method: str

    @property
    def answer(self) -> str:
        return f"{self.value:,} rows"

    @property
    def details(self) -> str:
        return self.method

    def __str__(self) -> str:
        return f"{self.query}: {self.answer}  [{self.details}]"


def describe(diag: dict) -> str:
    """One line on how the fit went."""
    if diag["method"] == "NUTS":
        rh = "" if math.isnan(diag["r_hat"]) else f"R-hat {diag['r_hat']:.3f}, "
        line = (f"NUTS, {diag['chains']} chain(s) x {diag['draws']:,} draws: {rh}"
                f"min ESS {diag['ess']:,.0f}, {diag['divergences']} divergences")
    else:
        line = f"SVI, {diag['steps']:,} steps, final loss {diag['final_loss']:.6g}"
    if diag.get("warnings"):
        line += "  (warning: " + "; ".join(diag["warnings"]) + ")"
    return line


def summary_rows(ir: Model, theta: dict, diag: Optional[dict]) -> list[tuple]:
    """``(parameter entry, mean, sd, 2.5%, 97.5%, R-hat, ESS)`` for every parameter entry."""
    rows = []
    stats = (diag or {}).get("stats", {})
    for p in ir.params:
        draws = np.asarray(theta[p.name])
        for idx in np.ndindex(*p.shape):
            col = draws[(slice(None),) + idx]
            label = p.name
            if p.index:
                labels = []
                for v, i in zip(p.index, idx):
                    node = ir[v]
                    labels.append(node.levels[i] if node.levels else f"{node.domain[i]:g}")
                label += "[" + ", ".join(f"{v}={lab}" for v, lab in zip(p.index, labels)) + "]"
            st = stats.get(p.name)
            rhat = float(np.asarray(st["r_hat"])[idx]) if st is not None else math.nan
            ess = float(np.asarray(st["n_eff"])[idx]) if st is not None else math.nan
            rows.append((label, float(col.mean()), float(col.std()), float(np.quantile(col, 0.025)),
                         float(np.quantile(col, 0.975)), rhat, ess))
    return rows


@float64
def pointwise_loglik(ir: Model, prog: FitProgram, by_chain: dict) -> np.ndarray:
    """``(chains, draws, rows)``: each row's log likelihood under each posterior draw.

    All-discrete models: :func:`~causaldsl.bayes.likelihood.row_loglik`, vmapped over the
    draws. Otherwise, where every variable is observed in every row, NumPyro's
    ``log_likelihood`` of the plate program, summed over each row's variables.
    Raises :class:`~causaldsl.language.errors.FitError` where some variable is unobserved in
    some row, or rows are subsampled.
    """
    from numpyro.infer import log_likelihood

    from .likelihood import row_loglik

    first = next(iter(by_chain.values()))
    lead = first.shape[:2]
    flat = {k: jax.numpy.asarray(np.asarray(v).reshape((-1,) + np.asarray(v).shape[2:]))
            for k, v in by_chain.items()}
    if prog.shape == "counts":
        out = jax.vmap(row_loglik(ir, prog.data))({k: flat[k] for k in by_chain})
        return np.asarray(out).reshape(lead + (-1,))
    unobserved = [n.name for n in ir.nodes if n.kind == "sample" and not (
        n.name in prog.data.columns and prog.data.observed(n.name).all())]
    if unobserved:
        # NumPyro's log_likelihood would give each row's density given the imputed values (or values
        # drawn from the prior, after SVI), not the row's likelihood with them integrated out.
        raise FitError("the pointwise log likelihood of rows with unobserved continuous values is not "
                       f"computed ({', '.join(unobserved)})", source=ir.source,
                       hint="observe every variable, or make the model discrete (then rows are summed exactly)")
    sites = log_likelihood(prog.model, flat)
    total = sum(np.asarray(v).reshape(flat[next(iter(by_chain))].shape[:1] + (-1,)) for v in sites.values())
    if total.shape[-1] != prog.data.rows:  # the plate subsamples rows (SVI with batch_size)
        raise FitError("the pointwise log likelihood of a fit that subsamples rows is not computed",
                       source=ir.source, hint="fit without batch_size")
    return np.asarray(total).reshape(lead + (-1,))


def to_arviz(ir: Model, by_chain: dict, diag: Optional[dict], ds: Optional[Dataset],
             program: Optional[FitProgram] = None, prior: bool = False, seed: int = 0):
    """An ArviZ ``InferenceData``: ``posterior`` (a coordinate per index variable, level names as
    labels), ``sample_stats`` (NUTS), ``log_likelihood`` (variable ``joint``: each row's log
    probability of its observed values, dimension ``row``), ``observed_data`` (the coded columns),
    and, with ``prior=True``, ``prior`` (as many prior draws as posterior draws, one chain)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    coords, dims = {}, {}
    for p in ir.params:
        dims[p.name] = []
        for v in p.index:
            node = ir[v]
            coords[v] = list(node.levels) if node.levels else [float(d) for d in node.domain]
            dims[p.name].append(v)
    groups: dict = {"posterior": {k: np.asarray(v) for k, v in by_chain.items()}}
    if diag and diag.get("sample_stats"):
        groups["sample_stats"] = diag["sample_stats"]
    if ds is not None:
        coords["row"] = np.arange(ds.rows)
        groups["observed_data"] = {k: np.asarray(v) for k, v in ds.columns.items()}
        dims.update({k: ["row"] for k in ds.columns})
        if program is not None:
            try:
                groups["log_likelihood"] = {"joint": pointwise_loglik(ir, program, by_chain)}
                dims["joint"] = ["row"]
            except FitError:
                pass  # not available for this fit (see pointwise_loglik): the other groups still are
    if prior:
        count = int(np.prod(next(iter(by_chain.values())).shape[:2]))
        groups["prior"] = {k: v[None] for k, v in prior_draws(ir, count, seed).theta.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a one-chain prior: "more chains than draws" never
        return az.from_dict(**groups, coords=coords, dims=dims)


PLOTS = ("posterior", "trace")


def plot_parameters(idata, kind: str = "posterior", var_names=None, **kw):
    """ArviZ's own plot of the parameters (``az.plot_posterior`` or ``az.plot_trace``); returns its axes."""
    if kind not in PLOTS:
        raise MethodError(f"unknown plot '{kind}'", hint="use kind='posterior' or kind='trace'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    fn = az.plot_posterior if kind == "posterior" else az.plot_trace
    return fn(idata, var_names=var_names, **kw)
