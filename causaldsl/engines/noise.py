"""Monte Carlo noise: JAX's random bits, one stream per noise group.

* bits: :func:`jax.lax.rng_bit_generator` with XLA's Threefry-2x32 (Salmon et al., "Parallel
  random numbers: as easy as 1, 2, 3", SC 2011), the bit source behind ``jax.random``'s ``rbg``
  keys, here with the algorithm named: ``jax.random``'s own ``rbg`` asks XLA for its default,
  which on a CPU is Philox at a tenth of the speed, and ``jax.random.bits`` (threefry keys) costs
  twice as much per word as XLA's generator. A stream's key is ``jax.random.fold_in`` of the
  seed's key and the stream number, so streams never share a key;
* normals: the upper-tail quantile ``-Φ⁻¹(p)`` (:func:`upper_quantile`, Giles' float32
  erfinv polynomials written in ``p`` plus a far-tail polynomial) with a random sign, where
  ``p`` in (0, 1/2) is built from 55 random bits and kept in float32, whose exponent holds small
  ``p`` at full precision: ``|z|`` reaches 8.5 (``p`` = 2⁻⁵⁷), past ``jax.random.normal``'s
  float64 normals (8.1), where the float32 inverse CDF on 24-bit uniforms this replaces stopped
  at 5.4 (probability 7e-8). Values carry float32's precision (relative 3e-7), far below the
  Monte Carlo error of any run;
* uniforms: 32 bits at cell midpoints, in float64 (never exactly 0 or 1).

A draw depends on (seed, stream, number of draws) and not on how the work is split: the draws
are generated whole and then constrained to the device mesh (XLA does not partition
``rng_bit_generator``), so one device and eight give the same numbers. On a CPU a million
normals cost about 4 ms (``jax.scipy.special.ndtri`` in their place: 7.5 ms), uniforms 2.6 ms.

>>> import jax, jax.numpy as jnp
>>> s = seed_words(jax.random.PRNGKey(0))
>>> z = normal(s, 3, 200_000)
>>> bool(abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01)
True
>>> bool(jnp.all(normal(s, 3, 10) == z[:10]))  # the first draws of a longer run are the same
True
"""

from __future__ import annotations

import functools

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

_U = np.uint32  # NumPy's names, not JAX's: reading jnp here would import JAX with the package


def seed_words(key) -> jnp.ndarray:
    """Two uint32 words from a JAX PRNG key (raw ``PRNGKey`` or typed ``key``)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return jnp.asarray(key, dtype=_U).reshape(-1)[:2]


def stream_key(seed, stream) -> jnp.ndarray:
    """The two key words of stream ``stream``: ``jax.random.fold_in`` of the seed's key."""
    key = jax.random.wrap_key_data(jnp.asarray(seed, _U), impl="threefry2x32")
    return jax.random.key_data(jax.random.fold_in(key, jnp.asarray(stream, _U)))


def bits(seed, stream, shape: tuple) -> jnp.ndarray:
    """uint32 random bits of ``shape`` for ``stream`` (XLA's Threefry; the counter starts at 0)."""
    state = jnp.concatenate([stream_key(seed, stream), jnp.zeros(2, _U)])
    return jax.lax.rng_bit_generator(state, shape, _U, algorithm=jax.lax.RandomAlgorithm.RNG_THREE_FRY)[1]


def uniform(seed, stream, n: int, dtype=np.float64) -> jnp.ndarray:
    """``n`` Uniform(0, 1) draws, 32-bit resolution, strictly inside (0, 1)."""
    return ((bits(seed, stream, (n,)).astype(dtype) + 0.5) * (2.0 ** -32)).astype(dtype)


# Giles (2010), "Approximating the erfinv function" (GPU Computing Gems Jade, ch. 10), single
# precision: erfinv(x) = x * g, g a polynomial in w - 2.5 (w < 5) or in sqrt(w) - 3 (5 <= w < 16),
# where w = -log(1 - x^2). XLA's float32 ErfInv is this approximation.
_GILES_CENTRAL = (1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
                  -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08)
_GILES_TAIL = (2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
               -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257)
# Giles' tail polynomial stops at float32's 1 - 2^-24 (w = 16, |z| = 5.4); past it, down to the
# smallest p here (2^-57, w = 38.1, |z| = 8.5), g is this Chebyshev fit in sqrt(w) - 5 on
# [4, 6.25] (relative error 1e-7 against scipy's float64 ndtri; tests/test_noise.py checks it).
_FAR_TAIL = (4.8499064445495605, 1.0103002786636353, -0.00013908838445786387, -0.00021383390412665904,
             7.684107549721375e-05, -2.1761206880910322e-05, 4.2750943975988775e-06)


def _horner(coefs: tuple, t):
    out = jnp.full_like(t, coefs[-1])
    for c in coefs[-2::-1]:
        out = out * t + t.dtype.type(c)
    return out


def upper_quantile(p: jnp.ndarray) -> jnp.ndarray:
    """``-Φ⁻¹(p)`` for float32 ``p`` in (0, 1/2]: the standard normal's upper-tail quantile.

    ``sqrt(2) erfinv(x)`` at ``x = 1 - 2p`` by Giles' single-precision polynomials, with
    ``w = -log(1 - x²)`` computed as ``-log(4 p (1 - p))`` so that small ``p`` keep their
    precision (``1 - 2p`` rounds to 1 below 2^-25, which is where a float32 ``erfinv`` stops),
    and a third polynomial for the far tail (``p`` < 1.1e-7). Relative error about 2e-7 down to
    ``p`` = 2^-57; two polynomials and a log fewer than ``jax.scipy.special.ndtri``'s three
    rational functions.

    >>> z = upper_quantile(jnp.asarray([0.5, 0.02275013, 2.0 ** -57], jnp.float32))
    >>> [round(float(v), 4) for v in z]
    [0.0, 2.0, 8.5361]
    """
    x = 1 - 2 * p
    w = -jnp.log(4 * p * (1 - p))
    s = jnp.sqrt(w)
    g = jnp.where(w < 5, _horner(_GILES_CENTRAL, w - 2.5),
                  jnp.where(s < 4, _horner(_GILES_TAIL, s - 3), _horner(_FAR_TAIL, s - 5)))
    return p.dtype.type(np.sqrt(2.0)) * x * g


def normal(seed, stream, n: int, dtype=np.float64) -> jnp.ndarray:
    """``n`` standard normal draws by the inverse CDF of 55-bit tail probabilities (module note)."""
    hi, lo = bits(seed, stream, (2, n))
    f32 = jnp.float32
    p = ((hi & _U(0x7FFFFFFF)).astype(f32) + (lo >> 8).astype(f32) * f32(2.0 ** -24) + f32(2.0 ** -25)) \
        * f32(2.0 ** -32)
    z = upper_quantile(p)
    return jnp.where((hi >> 31) == 1, z, -z).astype(dtype)


def block(draw, seed, streams, n: int, dtype, shard: bool = False) -> jnp.ndarray:
    """``draw`` (:func:`normal` or :func:`uniform`) for every stream of ``streams``: a ``(k, n)`` array
    (run op by op, outside a trace: a tuple of ``k`` rows, each by :func:`row_program`).

    The rows are computed by one loop over the streams, so the inverse CDF is compiled once
    for the whole program, and every consumer reads the stored draws. Fused into its
    consumers instead (one per node, the estimate, the checks), it was recompiled and rerun
    for each of them, and XLA's CPU compile costs 50-100 ms per fusion.

    >>> s = seed_words(jax.random.PRNGKey(0))
    >>> bool(jnp.all(block(normal, s, [3, 5], 4, jnp.float32)[1] == normal(s, 5, 4, jnp.float32)))
    True
    """
    from .sharding import constrain_draws

    kind = {(normal, jnp.float32): "normal", (uniform, jnp.float64): "uniform"}.get((draw, dtype))
    if kind is not None and not isinstance(seed, jax.core.Tracer):
        # Run op by op (a model past EAGER_NODES): each row by the program shared by every run of
        # n draws, the rows a tuple (read by index, as the array). A lax.map here was traced and
        # compiled anew at every call (its body a new closure): most of a repeated sample's time.
        program = row_program(kind, n, shard)
        return tuple(program(seed, np.uint32(st)) for st in np.asarray(streams, np.uint32))
    streams = jnp.asarray(streams, _U)
    if streams.shape[0] == 1:
        rows = draw(seed, streams[0], n, dtype)[None]
    else:
        rows = jax.lax.map(lambda s: draw(seed, s, n, dtype), streams)
    return constrain_draws(rows) if shard else rows


@functools.lru_cache(maxsize=None)
def row_program(kind: str, n: int, shard: bool = True):
    """A jitted ``(seed words, stream) -> n draws`` of :func:`normal` (float32) or :func:`uniform`
    (float64): one small program per ``(kind, n)``, shared by every query that draws ``n``."""
    from .sharding import constrain_draws

    draw, dtype = (normal, jnp.float32) if kind == "normal" else (uniform, jnp.float64)
    return jax.jit(lambda seed, stream: (constrain_draws if shard else (lambda x: x))(draw(seed, stream, n, dtype)))


def seed_of(seed: int) -> np.ndarray:
    """The two words of ``jax.random.PRNGKey(seed)``, computed without JAX (a key costs ~0.5 ms).

    >>> with jax.enable_x64(True):  # the engines' precision (causaldsl.engines.config.float64)
    ...     bool(np.all(seed_of(-5) == np.asarray(jax.random.PRNGKey(-5))))
    True
    """
    seed = int(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)
