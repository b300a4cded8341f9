"""The model IR as a Pyro program, for PyTorch users and for ChiRho's causal handlers.

:func:`pyro_model` gives ``model(n=1, data=None)``: one ``pyro.plate("units", n)`` (dim -1),
and inside it, in topological order,

* for ``X ~ D(θ)``: an exogenous noise site ``U_X`` (``Normal(0, 1)`` for the Normal and
  LogNormal families, ``Uniform(0, 1)`` for the others), then the site ``X`` whose value is
  ``F⁻¹(U_X; θ)`` (the quantile, or comonotone, coupling of ``docs/language.md``) and whose log
  density is ``D(θ)``'s: conditioning on ``X`` weighs by the family's likelihood;
* for ``X := f(parents)``: a site ``X`` with ``Delta(f(parents))`` (conditioning on it keeps
  the draws that agree);
* for a variable held by ``m.do(...)``: ``pyro.deterministic``;
* for ``param p ~ D``: a site ``p`` outside the plate.

Values are floats in torch's default dtype; a categorical variable's levels are the integer
codes 0, 1, ... in the order its levels are written (``node.levels``). The model returns a
dict of every variable's value. ``data`` (a mapping from variable to values, level names
allowed) observes sites the way ``obs=`` does; ``pyro.condition`` and ChiRho's ``condition``
work too.

Why explicit noise sites: ChiRho's ``MultiWorldCounterfactual`` runs a site once for all
worlds, and a site whose parameters differ between worlds draws independent values in each
(a site with no world-dependent parent is shared). The ``U_X`` sites have no parents, so every
world reads the same noise: ``X[do] = F⁻¹(U_X; θ[do])``, our twin-network semantics. When ChiRho
conditions such an ``X`` on a value, the factual world's ``U_X`` is the one consistent with it
(abduction: ``U_X = F(x; θ)`` for continuous families, uniform on ``(F(x⁻), F(x)]`` for discrete
ones), registered with ChiRho's conditioning handler for our site type, as our engines do.
"""

from __future__ import annotations

import functools
from typing import Mapping, Optional

import numpy as np

from ..language.errors import CausalDSLError, MethodError
from ..model.distributions import FAMILIES
from ..model.expressions import compile_expr
from ..model.ir import Model, Node

#: Families whose noise is a standard normal ``z`` (``x = from_z(θ, z)``); the others take ``U ~ Uniform(0, 1)``.
Z_NOISE = ("Normal", "LogNormal")


def _torch():
    try:
        import pyro  # noqa: F401
        import torch
    except ImportError:
        raise CausalDSLError("m.pyro() needs PyTorch and Pyro, which are not installed",
                             hint='pip install "causaldsl[pyro]" (torch==2.13.0 and pyro-ppl)') from None
    return torch


def noise_site(ir: Model, name: str) -> str:
    """The name of variable ``name``'s noise site: ``U_<name>``, with more underscores where a
    variable already has that name.

    >>> from causaldsl import model
    >>> noise_site(model("model m {\\n x ~ Normal(0, 1)\\n U_x ~ Normal(0, 1)\\n}").ir, "x")
    'U__x'
    """
    site = f"U_{name}"
    while site in ir:
        site = "U_" + site[1:]
    return site


# ---------------------------------------------------------------------------------------------
# The families in torch: their laws (log densities, from torch.distributions), their quantile
# functions F⁻¹(u) and CDFs F(x): closed forms in torch where they exist (they carry gradients),
# SciPy's for the others. (The language's own, in causaldsl.model.distributions, are JAX
# programs: called eagerly on torch's arrays they compiled each loop anew, 30 s for 1000 units.)

def law(family: str, params: tuple):
    """The Pyro distribution of ``family`` with ``params`` (the family's canonical order)."""
    import pyro.distributions as dist
    import torch

    make = {
        "Bernoulli": lambda p, **kw: dist.Bernoulli(probs=p, **kw),
        "Categorical": lambda *ps, **kw: dist.Categorical(probs=torch.stack(torch.broadcast_tensors(*ps), -1), **kw),
        "Binomial": lambda n, p, **kw: dist.Binomial(total_count=n, probs=p, **kw),
        "Poisson": dist.Poisson, "Normal": dist.Normal, "LogNormal": dist.LogNormal,
        "StudentT": dist.StudentT, "Uniform": dist.Uniform, "Exponential": dist.Exponential,
        "Gamma": dist.Gamma, "Beta": dist.Beta, "HalfNormal": dist.HalfNormal,
    }[family]
    # The checker has validated the parameters (and the engines flag values out of range);
    # torch's own check of every unit's parameters was most of a run's time.
    return make(*params, validate_args=False)


#: Families without a closed-form quantile in torch: SciPy's distributions (``ppf`` is the
#: quantile, ``cdf`` the CDF), on NumPy copies; no gradient flows through them.
_SCIPY = {
    "Binomial": lambda n, p: ("binom", (n, p), {}),
    "Poisson": lambda rate: ("poisson", (rate,), {}),
    "StudentT": lambda df, loc, scale: ("t", (df, loc, scale), {}),
    "Gamma": lambda shape, rate: ("gamma", (shape,), {"scale": 1 / rate}),
    "Beta": lambda a, b: ("beta", (a, b), {}),
}


def _scipy(family: str, method: str, params: tuple, x):
    """SciPy's ``method`` (``ppf`` or ``cdf``) of ``family`` at ``x``, as a tensor like ``x``."""
    import scipy.stats
    import torch

    arrays = [np.asarray(t.detach().cpu(), dtype=np.float64) for t in torch.broadcast_tensors(*params, x)]
    name, args, kw = _SCIPY[family](*arrays[:-1])
    out = getattr(getattr(scipy.stats, name), method)(arrays[-1], *args, **kw)
    return torch.as_tensor(np.array(out, dtype=np.float64), dtype=x.dtype, device=x.device)


def _categorical_cum(params):
    import torch

    return torch.cumsum(torch.stack(torch.broadcast_tensors(*params), -1), -1)


def quantile(family: str, params: tuple, noise):
    """``F⁻¹(noise; params)``: the value a unit with this noise takes (``noise`` is ``z`` for
    :data:`Z_NOISE` families, ``u`` otherwise); the same functions as
    :mod:`causaldsl.model.distributions`, in torch.

    >>> import torch
    >>> quantile("Categorical", (torch.tensor(0.2), torch.tensor(0.5), torch.tensor(0.3)), torch.tensor([0.1, 0.5, 0.9]))
    tensor([0., 1., 2.])
    """
    import torch

    p = params
    if family == "Normal":
        return p[0] + p[1] * noise
    if family == "LogNormal":
        return torch.exp(p[0] + p[1] * noise)
    # In float64 and inside our engines' range of uniforms (cell midpoints of 2⁻³²): torch's
    # uniforms include 0, and float32 rounds 0.5 + 0.5u to 1, where quantiles are infinite.
    return _quantile_u(family, tuple(q.double() for q in p),
                       torch.clamp(noise.double(), 2.0 ** -33, 1 - 2.0 ** -33)).to(noise.dtype)


def _quantile_u(family: str, p: tuple, noise):
    import torch

    if family == "Bernoulli":
        return (noise >= 1 - p[0]).to(noise.dtype)
    if family == "Categorical":
        return (noise[..., None] >= _categorical_cum(p)[..., :-1]).sum(-1).to(noise.dtype)
    if family == "Uniform":
        return p[0] + noise * (p[1] - p[0])
    if family == "Exponential":
        return -torch.log1p(-noise) / p[0]
    if family == "HalfNormal":
        return p[0] * torch.special.ndtri(0.5 + 0.5 * noise)
    return _scipy(family, "ppf", p, noise)


def cdf(family: str, params: tuple, x):
    """``F(x; params)`` (the noise a unit with value ``x`` has), or for :data:`Z_NOISE` families
    the ``z`` of ``x``.

    >>> import torch
    >>> round(float(cdf("Poisson", (torch.tensor(2.0),), torch.tensor(1.0))), 6)  # e^-2 (1 + 2)
    0.406006
    """
    import torch

    p = params
    if family == "Normal":
        return (x - p[0]) / p[1]
    if family == "LogNormal":
        return (torch.log(x) - p[0]) / p[1]
    if family == "Bernoulli":
        return torch.where(x < 0, 0.0, torch.where(x < 1, 1 - p[0], 1.0))
    if family == "Categorical":
        cum = _categorical_cum(p)
        k = torch.clamp(torch.floor(x), -1, cum.shape[-1] - 1).long()
        shape = torch.broadcast_shapes(cum.shape[:-1], k.shape)
        at = torch.gather(cum.expand(shape + cum.shape[-1:]), -1, torch.clamp(k, min=0).expand(shape)[..., None])[..., 0]
        return torch.where(k < 0, 0.0, at)
    if family == "Uniform":
        return torch.clamp((x - p[0]) / (p[1] - p[0]), 0.0, 1.0)
    if family == "Exponential":
        return torch.where(x > 0, -torch.expm1(-p[0] * x), 0.0)
    if family == "HalfNormal":
        return torch.where(x > 0, 2 * torch.special.ndtr(torch.clamp(x, min=0) / p[0]) - 1, 0.0)
    return _scipy(family, "cdf", p, x)


def _site_distribution_class():
    """:class:`Mechanism`, made at first use (it subclasses Pyro's distribution class)."""
    import pyro.distributions as dist
    import torch

    class Mechanism(dist.TorchDistribution):
        """A ``~`` variable's site: its value is ``F⁻¹(noise; params)``, its log density the
        family's. Expanding it (Pyro's plates, ChiRho's worlds) broadcasts the one noise."""

        arg_constraints: dict = {}
        has_rsample = False

        def __init__(self, family: str, params: tuple, noise):
            self.family, self.noise = family, noise
            self.params = tuple(torch.as_tensor(p, dtype=noise.dtype) for p in params)
            self.law = law(family, self.params)
            shape = torch.broadcast_shapes(noise.shape, self.law.batch_shape)
            super().__init__(shape, torch.Size(), validate_args=False)

        @property
        def support(self):
            return self.law.support

        def expand(self, batch_shape, _instance=None):
            batch_shape = torch.Size(batch_shape)
            return Mechanism(self.family, tuple(p.expand(batch_shape) for p in torch.broadcast_tensors(*self.params)),
                             self.noise.expand(batch_shape))

        def sample(self, sample_shape=torch.Size()):
            value = quantile(self.family, self.params, self.noise)
            return value.expand(torch.Size(sample_shape) + self.batch_shape)

        def log_prob(self, value):
            if self.family == "Categorical":
                k = self.law.probs.shape[-1]
                inside = (value >= 0) & (value < k) & (value == torch.round(value))
                lp = self.law.log_prob(torch.clamp(torch.round(value), 0, k - 1).long())
                return torch.where(inside, lp, -torch.inf)
            return self.law.log_prob(value)

    return Mechanism


@functools.lru_cache(maxsize=None)
def mechanism_class():
    """The site distribution of ``~`` variables; registered with ChiRho's conditioning where
    ChiRho is installed (:func:`_register_chirho`)."""
    cls = _site_distribution_class()
    try:
        import chirho  # noqa: F401
    except ImportError:
        return cls
    _register_chirho(cls)
    return cls


def _register_chirho(cls) -> None:
    """Teach ChiRho's ``FactualConditioningMessenger`` (what ``MultiWorldCounterfactual``
    conditions with) to abduct our noise: the factual world is observed with the family's
    density, the noise is the one consistent with the observed value (given the factual
    world's parameters), and every other world's value is ``F⁻¹`` of that noise with its own
    parameters. ChiRho's own path for a plain distribution draws the other worlds afresh."""
    import pyro
    import pyro.distributions as dist
    import torch
    from chirho.counterfactual.handlers.ambiguity import FactualConditioningMessenger
    from chirho.counterfactual.handlers.selection import SelectFactual, get_factual_indices
    from chirho.counterfactual.internals import no_ambiguity
    from chirho.indexed.ops import gather, scatter

    # ChiRho has no public hook for a site type's abduction: this is its per-type dispatch, a
    # private attribute, so the ChiRho versions it is known in are pinned (pyproject.toml).
    dispatch = getattr(FactualConditioningMessenger, "_dispatched_observe", None)
    if dispatch is None:
        raise MethodError("this version of ChiRho has no per-site-type conditioning to teach our shared noise",
                          hint='install the ChiRho version causaldsl is tested with: pip install "causaldsl[pyro]"')

    @dispatch.register(cls)
    def _observe_mechanism(self, rv, obs, name: str):
        fw = get_factual_indices()
        obs = torch.as_tensor(obs, dtype=rv.noise.dtype)
        with pyro.poutine.infer_config(config_fn=no_ambiguity):
            with SelectFactual():
                fv = pyro.sample(name + "_factual", rv, obs=obs)
            params = tuple(gather(p, fw) for p in rv.params)
            if FAMILIES[rv.family].discrete:
                lo, hi = cdf(rv.family, params, obs - 1), cdf(rv.family, params, obs)
                v = pyro.sample(name + "_noise_posterior", dist.Uniform(0.0, 1.0).expand(torch.broadcast_shapes(lo.shape, hi.shape)))
                noise = lo + v * (hi - lo)
            else:
                noise = cdf(rv.family, params, obs)
        cv = quantile(rv.family, rv.params, noise.expand(torch.broadcast_shapes(noise.shape, rv.batch_shape)))
        value = scatter(fv, fw, result=cv.clone())
        return pyro.sample(name, dist.Delta(value).mask(False), obs=value)


# ---------------------------------------------------------------------------------------------

def _coded(node: Node, values, torch):
    """Observed values of ``node`` as a float tensor (level names become their codes)."""
    arr = np.asarray(values)
    if node.levels and arr.dtype.kind in "UO":
        index = {lv: i for i, lv in enumerate(node.levels)}
        bad = [v for v in arr.reshape(-1) if v not in index]
        if bad:
            raise CausalDSLError(f"'{bad[0]}' is not a level of '{node.name}'",
                                 hint="levels are: " + ", ".join(node.levels))
        arr = np.vectorize(index.__getitem__, otypes=[float])(arr)
    return torch.as_tensor(np.asarray(arr, dtype=float), dtype=torch.get_default_dtype())


class _Indexed:
    """A parameter array with batch dimensions in front (Predictive's ``parallel=True`` draws
    of it): ``p[i, j]`` picks each unit's entry, broadcasting the units' indices against the
    batch, where plain tensor indexing would index the batch axes."""

    def __init__(self, value, event_shape: tuple):
        self.value, self.event_shape = value, tuple(event_shape)

    def __getitem__(self, index: tuple):
        import torch

        pos = index[0]
        for i, size in zip(index[1:], self.event_shape[1:]):
            pos = pos * size + i
        flat = self.value.reshape(self.value.shape[:self.value.dim() - len(self.event_shape)] + (-1,))
        shape = torch.broadcast_shapes(flat.shape[:-1], pos.shape)
        return torch.gather(flat.expand(shape + flat.shape[-1:]), -1, pos.expand(shape)[..., None])[..., 0]


def pyro_model(ir: Model):
    """A Pyro model function for ``ir``: ``model(n=1, data=None)`` returns a dict of every
    variable's value (shape ``(n,)``); see the module note for its sites.

    >>> from causaldsl import model
    >>> import pyro, torch
    >>> fn = model("model m {\\n x ~ Bernoulli(0.3)\\n y := 1 - x\\n}").pyro()
    >>> draws = pyro.infer.Predictive(fn, num_samples=1)(n=10_000)
    >>> sorted(k for k in draws if not k.startswith("U_")), round(float(draws["x"].mean()), 1)
    (['x', 'y'], 0.3)
    >>> bool(torch.all(draws["x"] + draws["y"] == 1))
    True
    """
    gumbel = [n.name for n in ir.nodes if n.gumbel_race]
    if gumbel:
        # each site's noise is one U (the quantile coupling); a Gumbel race would need a vector
        # noise site and its own abduction under ChiRho's conditioning
        raise MethodError(f"m.pyro() couples worlds by one uniform noise per variable, and "
                          f"'{gumbel[0]}' has coupling = gumbel",
                          hint=f"ask it of m.with_coupling('quantile'); counterfactuals of '{gumbel[0]}' then "
                               "depend on the order of its levels (docs/language.md, Couplings)")
    torch = _torch()
    import pyro
    import pyro.distributions as dist

    mech = mechanism_class()
    xp_compile = functools.partial(compile_expr, xp=torch)
    compiled = {n.name: ([xp_compile(a) for a in n.args] if n.kind == "sample"
                         else [xp_compile(n.expr)] if n.kind == "assign" else [])
                for n in ir.nodes}
    prior_args = {p.name: [xp_compile(a) for a in p.args] for p in ir.params}
    noise_names = {n.name: noise_site(ir, n.name) for n in ir.nodes if n.kind == "sample"}

    def model(n: int = 1, data: Optional[Mapping] = None) -> dict:
        fdt = torch.get_default_dtype()
        unknown = [k for k in (data or {}) if k not in ir]
        if unknown:
            raise CausalDSLError(f"data names '{unknown[0]}', which is not a variable of model '{ir.name}'",
                                 hint="variables are: " + ", ".join(ir.names))
        obs = {k: _coded(ir[k], v, torch) for k, v in (data or {}).items()}
        if obs:
            n = int(next(iter(obs.values())).shape[-1])
        theta = {}
        for p in ir.params:
            args = tuple(torch.as_tensor(f(theta), dtype=fdt) for f in prior_args[p.name])
            d = law(p.family, args)
            if p.shape:
                d = d.expand(p.shape).to_event(len(p.shape))
            theta[p.name] = pyro.sample(p.name, d)
        # Shaped parameters are read only as p[i, ...] (the checker's rule): per unit, per batch.
        theta.update({p.name: _Indexed(theta[p.name], p.shape) for p in ir.params if p.shape})
        env: dict = {}
        with pyro.plate("units", int(n), dim=-1):
            for node in ir.nodes:
                if node.kind == "fixed":
                    env[node.name] = pyro.deterministic(node.name, torch.full((int(n),), float(node.value), dtype=fdt))
                    continue
                penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
                if node.kind == "assign":
                    value = torch.as_tensor(compiled[node.name][0](penv), dtype=fdt)
                    env[node.name] = pyro.sample(node.name, dist.Delta(value.expand(torch.broadcast_shapes(value.shape, (int(n),)))),
                                                 obs=obs.get(node.name))
                    continue
                params = tuple(torch.as_tensor(f(penv), dtype=fdt) for f in compiled[node.name])
                z = node.family in Z_NOISE
                noise = pyro.sample(noise_names[node.name], dist.Normal(torch.zeros((), dtype=fdt), 1.0) if z
                                    else dist.Uniform(torch.zeros((), dtype=fdt), 1.0))
                env[node.name] = pyro.sample(node.name, mech(node.family, params, noise),
                                             obs=obs.get(node.name))
        return env

    model.__name__ = ir.name
    model.__doc__ = f"Pyro model of causaldsl model '{ir.name}': model(n=1, data=None) -> dict of values."
    return model
