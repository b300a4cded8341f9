"""The distribution families of the language, each written once over an array namespace.

Each family knows its parameters, its support, how to check its parameters,
its probability table (finite families), its CDF (discrete families), its
quantile function and its log density. The checks, tables, CDFs and (where written here)
log densities are one function each over the namespace of their arguments
(:func:`namespace`: ``numpy`` for NumPy arrays and Python floats, ``jax.numpy`` otherwise,
the array API's ``array_namespace`` pattern): the exact engine's NumPy answers, its compiled
program and the one-draw scalar path all run the same code. Quantiles (bisection loops) and
draws are JAX's. The quantile function is what makes
counterfactuals well defined: ``X ~ D(θ)`` means ``X := F⁻¹(U_X; θ)`` with
``U_X ~ Uniform(0, 1)`` shared by every world (the comonotone coupling, see
Pearl, *Causality*, 2nd ed., §9.2 on monotonicity; Oberst & Sontag 2019).

>>> import jax.numpy as jnp
>>> fam = FAMILIES["Bernoulli"]
>>> [float(v) for v in fam.quantile((jnp.array(0.3),), jnp.array([0.5, 0.8]))]
[0.0, 1.0]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional

from .lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
jsp = lazy_module("jax.scipy.special")

Params = tuple  # tuple of arrays, in the family's canonical order


def _bisect(cdf: Callable, u, lo, hi, iters: int = 64):
    """Smallest x with cdf(x) >= u, by bisection (vectorised, fixed iterations)."""
    lo = jnp.broadcast_to(lo, jnp.shape(u)) * jnp.ones_like(u)
    hi = jnp.broadcast_to(hi, jnp.shape(u)) * jnp.ones_like(u)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < u
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (lo + hi)


def _count_below(cdf_at: Callable, u, kmax: int):
    """Number of k in 0..kmax with F(k) <= u: the discrete quantile min{k: F(k) > u}."""
    ks = jnp.arange(kmax + 1, dtype=u.dtype)
    return jnp.sum(cdf_at(ks) <= u[..., None], axis=-1).astype(u.dtype)


@dataclass(frozen=True)
class Family:
    """One distribution family.

    ``support`` is ``"finite"`` (a known finite set of values), ``"count"``
    (0, 1, 2, ... unbounded) or ``"real"`` (continuous).
    """

    name: str
    params: tuple[str, ...]
    defaults: tuple[tuple[str, float], ...]
    support: str
    invalid: Callable[[Params], jnp.ndarray]
    rule: str  # what valid parameters are, for error messages
    quantile: Callable[..., jnp.ndarray]
    numpyro: Callable[[Params], object]
    pmf: Optional[Callable] = None  # (params, values) -> probabilities (count families: any values)
    cdf: Optional[Callable] = None  # (params, x) -> P(X <= x)
    probability_params: tuple[int, ...] = ()  # which parameters are probabilities
    # Location-scale families keep their shared noise as a standard normal z
    # rather than U = Φ(z): the same coupling, without Φ rounding to 1 in the tails.
    from_z: Optional[Callable] = None  # (params, z) -> x
    to_z: Optional[Callable] = None  # (params, x) -> z
    # Count families: (largest parameters, tail) -> the smallest k with P(X > k) <= tail.
    tail_bound: Optional[Callable] = None
    # (params, x) -> log density, over the namespace of its arguments; NumPyro's otherwise.
    logpdf: Optional[Callable] = None

    @property
    def discrete(self) -> bool:
        return self.support in ("finite", "count")

    def log_prob(self, params: Params, x):
        if self.logpdf is not None:
            return self.logpdf(params, x)
        return self.numpyro(params).log_prob(x)


def _d():
    import numpyro.distributions as dist  # deferred: numpyro import is slow

    return dist


def namespace(*xs):
    """The array namespace of ``xs``: ``numpy`` where every one is a NumPy array, NumPy scalar or
    Python number, else ``jax.numpy`` (traced values, JAX arrays).

    >>> import numpy as np
    >>> namespace(0.3, np.ones(2)).__name__, namespace(jnp.ones(2)).__name__
    ('numpy', 'jax.numpy')
    """
    import numpy as np

    return np if all(isinstance(x, (np.ndarray, np.generic, float, int)) for x in xs) else jnp


def special(xp):
    """The special functions (``gammaln``, ``betainc``, ``ndtr``, ...) of namespace ``xp``:
    SciPy's for NumPy (imported at first use: it is slow to import), JAX's otherwise."""
    if xp is jnp:
        return jsp
    import scipy.special

    return scipy.special


def _bern_pmf(params, values):
    xp = namespace(params[0], values)
    p = xp.asarray(params[0])[..., None]
    return xp.where(values == 1, p, xp.where(values == 0, 1 - p, 0.0))


def _bern_cdf(params, x):
    (p,) = params
    xp = namespace(p, x)
    return xp.where(x < 0, 0.0, xp.where(x < 1, 1 - p, 1.0))


def _cat_pmf(params, values):
    xp = namespace(*params, values)
    probs = xp.stack(xp.broadcast_arrays(*params), axis=-1)
    idx = xp.arange(probs.shape[-1])
    return xp.sum(xp.where(values[:, None] == idx[None, :], probs[..., None, :], 0.0), axis=-1)


def _cat_at(xp, table, idx):
    """``table[..., idx]``, the batch of ``table`` (all axes but the last) broadcast against the
    shape of ``idx`` (integers in range): one parameter set for many values, or one per value."""
    shape = xp.broadcast_shapes(table.shape[:-1], xp.shape(idx))
    table = xp.broadcast_to(table, shape + table.shape[-1:])
    return xp.take_along_axis(table, xp.broadcast_to(idx, shape)[..., None], -1)[..., 0]


def _cat_cdf(params, x):
    """P(X <= x) of a Categorical over 0..K-1, for any ``x`` (float, any shape that broadcasts
    with the parameters').

    >>> import numpy as np
    >>> _cat_cdf((0.2, 0.5, 0.3), np.array([-1.0, 0.0, 1.5, 7.0])).round(12).tolist()
    [0.0, 0.2, 0.7, 1.0]
    """
    xp = namespace(*params, x)
    probs = xp.stack(xp.broadcast_arrays(*params), axis=-1)
    cum = xp.cumsum(probs, axis=-1)
    idx = xp.clip(xp.floor(x).astype(xp.int32), -1, probs.shape[-1] - 1)
    return xp.where(idx < 0, 0.0, _cat_at(xp, cum, xp.maximum(idx, 0)))


def _cat_logpmf(params, x):
    """log P(X = x) of a Categorical: -inf off 0..K-1 or off the integers (NumPyro's needs integer
    values, where the engines hold every value as a float).

    >>> import numpy as np
    >>> np.exp(_cat_logpmf((0.2, 0.5, 0.3), np.array([1.0, 2.0, 0.5, 3.0]))).round(12).tolist()
    [0.5, 0.3, 0.0, 0.0]
    """
    xp = namespace(*params, x)
    probs = xp.stack(xp.broadcast_arrays(*params), axis=-1)
    k = probs.shape[-1]
    inside = (x >= 0) & (x <= k - 1) & (x == xp.floor(x))
    p = xp.where(inside, _cat_at(xp, probs, xp.clip(xp.floor(x), 0, k - 1).astype(xp.int32)), 0.0)
    return xp.where(p > 0, xp.log(xp.where(p > 0, p, 1.0)), -xp.inf)


def _cat_quantile(params, u, kmax=None):
    probs = jnp.stack(jnp.broadcast_arrays(*params), axis=-1)
    cum = jnp.cumsum(probs, axis=-1)[..., :-1]
    return jnp.sum(u[..., None] >= cum, axis=-1).astype(u.dtype)


def _cat_invalid(params):
    xp = namespace(*params)
    probs = xp.stack(xp.broadcast_arrays(*params), axis=-1)
    bad = xp.any((probs < 0) | (probs > 1) | xp.isnan(probs), axis=-1)
    return bad | (xp.abs(xp.sum(probs, axis=-1) - 1) > 1e-6)


def _binom_logpmf(n, p, k):
    xp = namespace(n, p, k)
    sp = special(xp)
    ok = (k >= 0) & (k <= n)
    kk = xp.clip(k, 0, n)
    logc = sp.gammaln(n + 1) - sp.gammaln(kk + 1) - sp.gammaln(n - kk + 1)
    lp = logc + sp.xlogy(kk, p) + sp.xlog1py(n - kk, -p)
    return xp.where(ok, lp, -xp.inf)


def _binom_pmf(params, values):
    n, p = params
    xp = namespace(n, p, values)
    n = xp.asarray(n)[..., None]
    p = xp.asarray(p)[..., None]
    return xp.exp(_binom_logpmf(n, p, values))


def _binom_cdf(params, x):
    n, p = params
    xp = namespace(n, p, x)
    k = xp.floor(x)
    # P(X <= k) = I_{1-p}(n - k, k + 1)
    inner = special(xp).betainc(xp.maximum(n - k, 1e-300), k + 1, 1 - p)
    return xp.where(k < 0, 0.0, xp.where(k >= n, 1.0, inner))


def _binom_quantile(params, u, kmax):
    n, p = (jnp.broadcast_to(x, jnp.shape(u))[..., None] for x in params)
    return _count_below(lambda ks: _binom_cdf((n, p), ks), u, kmax)


def _poisson_cdf(params, x):
    (rate,) = params
    xp = namespace(rate, x)
    k = xp.floor(x)
    return xp.where(k < 0, 0.0, special(xp).gammaincc(xp.maximum(k + 1, 1.0), rate))


def _poisson_pmf(params, values):
    (rate,) = params
    xp = namespace(rate, values)
    sp = special(xp)
    rate = xp.asarray(rate)[..., None]
    ok = (values >= 0) & (values == xp.floor(values))
    k = xp.maximum(values, 0.0)
    return xp.where(ok, xp.exp(sp.xlogy(k, rate) - rate - sp.gammaln(k + 1)), 0.0)


_HALF_LOG_2PI = 0.9189385332046727  # log(2 pi) / 2


def _normal_logpdf(params, x):
    """log N(x; loc, scale), NumPyro's formula, over the namespace of its arguments."""
    loc, scale = params
    xp = namespace(loc, scale, x)
    z = (x - loc) / scale
    return -0.5 * z * z - xp.log(scale) - _HALF_LOG_2PI


def _lognormal_logpdf(params, x):
    """log density of exp(N(loc, scale)) at ``x``: the Normal's at log x, less log x; -inf at x <= 0."""
    xp = namespace(*params, x)
    pos = x > 0
    lx = xp.log(xp.where(pos, x, 1.0))
    return xp.where(pos, _normal_logpdf(params, lx) - lx, -xp.inf)


def poisson_tail_bound(params, tail: float) -> Optional[int]:
    """The smallest ``k`` with ``P(X > k) <= tail`` for ``X ~ Poisson(rate)``, ``params = (rate,)``;
    None where SciPy cannot say (rates beyond 1e15 or so, far more values than anyone lists).

    The tail grows with the rate, so the bound for the largest rate serves every smaller one.

    >>> poisson_tail_bound((3.0,), 1e-12), poisson_tail_bound((1e19,), 1e-12)
    (22, None)
    """
    from scipy.stats import poisson

    k = poisson.isf(tail, float(params[0]))
    return int(k) if k == k and abs(k) < float("inf") else None


#: Rates above which draws use the Cornish-Fisher quantile instead of ``jax.random.poisson``:
#: JAX's sampler is off by 1% in spread at 1e6 and by 20% from 1e8, and its integers saturate
#: at 2**63 (a rate of 1e19 gave 9.22e18).
POISSON_LARGE = 1e4


def _poisson_draw(key, rate, shape):
    """Poisson draws as floats: JAX's sampler for small rates, above :data:`POISSON_LARGE` the
    Cornish-Fisher expansion of the quantile at a normal ``z``
    (``rate + z√rate + (z² − 1)/6 + (z³ − 7z)/(72√rate)``, rounded), which is the exact
    quantile for all but about 4e-4 of the draws at 1e4, fewer as the rate grows."""
    rate = jnp.broadcast_to(rate, shape)
    small = rate <= POISSON_LARGE
    k1, k2 = jax.random.split(key)
    exact = jax.random.poisson(k1, jnp.where(small, rate, 0.0), shape).astype(rate.dtype)
    z = jax.random.normal(k2, shape, dtype=rate.dtype)
    s = jnp.sqrt(rate)
    big = jnp.maximum(jnp.round(rate + z * s + (z * z - 1) / 6 + (z ** 3 - 7 * z) / (72 * jnp.maximum(s, 1.0))), 0.0)
    return jnp.where(small, exact, big)


@functools.lru_cache(maxsize=None)
def _poisson_class():
    """NumPyro's Poisson with float draws from :func:`_poisson_draw` (the log density is NumPyro's)."""
    base = _d().Poisson

    class Poisson(base):
        def sample(self, key, sample_shape=()):
            shape = tuple(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)
            return _poisson_draw(key, jnp.asarray(self.rate, dtype=float), shape)

    return Poisson


def _poisson_quantile(params, u, kmax=None):
    """The smallest ``k`` with ``F(k) > u``, by bisection on the CDF. The bracket starts around
    the Cornish-Fisher value (:func:`_poisson_draw`), checked against the CDF, so a few halvings
    settle it; where the check fails the bracket is the wide one. The loop stops once every
    draw has settled: at large rates each CDF costs as much as the rest of a draw."""
    (rate,) = params
    rate = jnp.broadcast_to(rate, jnp.shape(u))
    s = jnp.sqrt(rate)
    z = jsp.ndtri(jnp.clip(u, 1e-300, 1 - 1e-16))
    guess = jnp.maximum(jnp.round(rate + z * s + (z * z - 1) / 6 + (z ** 3 - 7 * z) / (72 * jnp.maximum(s, 1.0))), 0.0)
    width = 2 + jnp.ceil(0.05 * s)
    lo, hi = guess - width - 1, guess + width
    lo = jnp.where((lo >= 0) & (_poisson_cdf((rate,), lo) <= u), lo, -1.0)  # F(lo) <= u always
    hi = jnp.where(_poisson_cdf((rate,), hi) > u, hi, jnp.ceil(rate + 40 * s + 60))

    def body(state):
        i, lo, hi = state
        mid = jnp.floor(0.5 * (lo + hi))
        le = _poisson_cdf((rate,), mid) <= u
        return i + 1, jnp.where(le, mid, lo), jnp.where(le, hi, mid)

    _, lo, hi = jax.lax.while_loop(lambda st: (st[0] < 64) & jnp.any(st[2] - st[1] > 1), body, (0, lo, hi))
    return hi


def _student_cdf(df, t):
    x = df / (df + t * t)
    tail = 0.5 * jsp.betainc(df / 2, 0.5, x)
    return jnp.where(t < 0, tail, 1 - tail)


def _student_quantile(params, u, kmax=None):
    df, loc, scale = params
    df = jnp.broadcast_to(df, jnp.shape(u))
    # Solve on the bounded scale x = df / (df + t^2) for the tail probability.
    tail = jnp.minimum(u, 1 - u)
    x = _bisect(lambda x: 0.5 * jsp.betainc(df / 2, 0.5, x), tail, 0.0, 1.0, iters=80)
    t = jnp.sqrt(df * (1 - x) / jnp.maximum(x, 1e-300))
    return loc + scale * jnp.where(u < 0.5, -t, t)


def _gamma_quantile(params, u, kmax=None):
    shape, rate = params
    shape = jnp.broadcast_to(shape, jnp.shape(u))
    hi = shape + 40 * jnp.sqrt(shape) + 80
    z = _bisect(lambda z: jsp.gammainc(shape, z), u, 0.0, hi, iters=80)
    return z / rate


def _beta_quantile(params, u, kmax=None):
    a, b = params
    return _bisect(lambda x: jsp.betainc(a, b, x), u, 0.0, 1.0, iters=64)


def _bad(*conds):
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out


def _nan(*xs):
    xp = namespace(*xs)
    return _bad(*[xp.isnan(xp.asarray(x)) for x in xs])


FAMILIES: dict[str, Family] = {}


def _register(fam: Family) -> None:
    FAMILIES[fam.name] = fam


_register(Family(
    "Bernoulli", ("p",), (), "finite",
    invalid=lambda ps: _bad(_nan(ps[0]), ps[0] < 0, ps[0] > 1),
    rule="a probability between 0 and 1",
    quantile=lambda ps, u, kmax=None: (u >= 1 - ps[0]).astype(u.dtype),
    numpyro=lambda ps: _d().Bernoulli(probs=ps[0]),
    pmf=_bern_pmf, cdf=_bern_cdf, probability_params=(0,),
))
_register(Family(
    "Categorical", (), (), "finite",
    invalid=_cat_invalid,
    rule="probabilities between 0 and 1 that sum to 1",
    quantile=_cat_quantile,
    numpyro=lambda ps: _d().Categorical(probs=jnp.stack(jnp.broadcast_arrays(*ps), -1)),
    pmf=_cat_pmf, cdf=_cat_cdf, logpdf=_cat_logpmf,
))
_register(Family(
    "Binomial", ("n", "p"), (), "finite",
    invalid=lambda ps: _bad(_nan(*ps), ps[1] < 0, ps[1] > 1, ps[0] < 0, ps[0] != namespace(*ps).round(ps[0])),
    rule="a whole number of trials n >= 0 and a probability p between 0 and 1",
    quantile=lambda ps, u, kmax=None: _binom_quantile(ps, u, kmax),
    numpyro=lambda ps: _d().Binomial(total_count=ps[0], probs=ps[1]),
    pmf=_binom_pmf, cdf=_binom_cdf, probability_params=(1,),
))
_register(Family(
    "Poisson", ("rate",), (), "count",
    invalid=lambda ps: _bad(_nan(ps[0]), ps[0] < 0),
    rule="a rate >= 0",
    quantile=_poisson_quantile,
    numpyro=lambda ps: _poisson_class()(ps[0]),
    pmf=_poisson_pmf, cdf=_poisson_cdf, tail_bound=poisson_tail_bound,
))
_register(Family(
    "Normal", ("loc", "scale"), (), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[1] <= 0),
    rule="a standard deviation (scale) > 0",
    quantile=lambda ps, u, kmax=None: ps[0] + ps[1] * jsp.ndtri(u),
    numpyro=lambda ps: _d().Normal(ps[0], ps[1]),
    cdf=lambda ps, x: jsp.ndtr((x - ps[0]) / ps[1]),
    from_z=lambda ps, z: ps[0] + ps[1] * z,
    to_z=lambda ps, x: (x - ps[0]) / ps[1],
    logpdf=_normal_logpdf,
))
_register(Family(
    "LogNormal", ("loc", "scale"), (), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[1] <= 0),
    rule="a scale > 0",
    quantile=lambda ps, u, kmax=None: jnp.exp(ps[0] + ps[1] * jsp.ndtri(u)),
    numpyro=lambda ps: _d().LogNormal(ps[0], ps[1]),
    cdf=lambda ps, x: jsp.ndtr((jnp.log(jnp.maximum(x, 1e-300)) - ps[0]) / ps[1]) * (x > 0),
    from_z=lambda ps, z: namespace(*ps, z).exp(ps[0] + ps[1] * z),
    to_z=lambda ps, x: (namespace(*ps, x).log(x) - ps[0]) / ps[1],
    logpdf=_lognormal_logpdf,
))
_register(Family(
    "StudentT", ("df", "loc", "scale"), (("loc", 0.0), ("scale", 1.0)), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[0] <= 0, ps[2] <= 0),
    rule="degrees of freedom df > 0 and a scale > 0",
    quantile=_student_quantile,
    numpyro=lambda ps: _d().StudentT(ps[0], ps[1], ps[2]),
    cdf=lambda ps, x: _student_cdf(ps[0], (x - ps[1]) / ps[2]),
))
_register(Family(
    "Uniform", ("low", "high"), (("low", 0.0), ("high", 1.0)), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[1] <= ps[0]),
    rule="low < high",
    quantile=lambda ps, u, kmax=None: ps[0] + u * (ps[1] - ps[0]),
    numpyro=lambda ps: _d().Uniform(ps[0], ps[1]),
    cdf=lambda ps, x: jnp.clip((x - ps[0]) / (ps[1] - ps[0]), 0.0, 1.0),
))
_register(Family(
    "Exponential", ("rate",), (("rate", 1.0),), "real",
    invalid=lambda ps: _bad(_nan(ps[0]), ps[0] <= 0),
    rule="a rate > 0",
    quantile=lambda ps, u, kmax=None: -jnp.log1p(-u) / ps[0],
    numpyro=lambda ps: _d().Exponential(ps[0]),
    cdf=lambda ps, x: jnp.where(x > 0, -jnp.expm1(-ps[0] * x), 0.0),
))
_register(Family(
    "Gamma", ("shape", "rate"), (("rate", 1.0),), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[0] <= 0, ps[1] <= 0),
    rule="a shape > 0 and a rate > 0",
    quantile=_gamma_quantile,
    numpyro=lambda ps: _d().Gamma(ps[0], ps[1]),
    cdf=lambda ps, x: jsp.gammainc(ps[0], jnp.maximum(x, 0.0) * ps[1]),
))
_register(Family(
    "Beta", ("a", "b"), (), "real",
    invalid=lambda ps: _bad(_nan(*ps), ps[0] <= 0, ps[1] <= 0),
    rule="a > 0 and b > 0",
    quantile=_beta_quantile,
    numpyro=lambda ps: _d().Beta(ps[0], ps[1]),
    cdf=lambda ps, x: jsp.betainc(ps[0], ps[1], jnp.clip(x, 0.0, 1.0)),
))
_register(Family(
    "HalfNormal", ("scale",), (("scale", 1.0),), "real",
    invalid=lambda ps: _bad(_nan(ps[0]), ps[0] <= 0),
    rule="a scale > 0",
    quantile=lambda ps, u, kmax=None: ps[0] * jsp.ndtri(0.5 + 0.5 * u),
    numpyro=lambda ps: _d().HalfNormal(ps[0]),
    cdf=lambda ps, x: jnp.where(x > 0, 2.0 * jsp.ndtr(jnp.maximum(x, 0.0) / ps[0]) - 1.0, 0.0),
))
