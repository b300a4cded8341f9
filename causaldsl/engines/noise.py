"""Monte Carlo noise: JAX's random bits, one stream per noise group.

* bits: :func:`jax.lax.rng_bit_generator` with XLA's Threefry-2x32 (Salmon et al., "Parallel
  random numbers: as easy as 1, 2, 3", SC 2011), the bit source behind ``jax.random``'s ``rbg``
  keys, here with the algorithm named: ``jax.random``'s own ``rbg`` asks XLA for its default,
  which on a CPU is Philox at a tenth of the speed, and ``jax.random.bits`` (threefry keys) costs
  twice as much per word as XLA's generator. A stream's key is ``jax.random.fold_in`` of the
  seed's key and the stream number, so streams never share a key;
* normals: ``-ndtri(p)`` with a random sign, where ``p`` in (0, 1/2) is built from 55 random bits
  and kept in float32, whose exponent holds small ``p`` at full precision: ``|z|`` reaches 8.5
  (``p`` = 2⁻⁵⁷), past ``jax.random.normal``'s float64 normals (8.1), where the float32 inverse
  CDF on 24-bit uniforms this replaces stopped at 5.4 (probability 7e-8). Values carry float32's
  precision (relative 6e-8), far below the Monte Carlo error of any run;
* uniforms: 32 bits at cell midpoints, in float64 (never exactly 0 or 1).

A draw depends on (seed, stream, number of draws) and not on how the work is split: the draws
are generated whole and then constrained to the device mesh (XLA does not partition
``rng_bit_generator``), so one device and eight give the same numbers. On a CPU a million
normals cost about 1.2-2x the old hash's, uniforms about 1.5x.

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

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

_U = jnp.uint32
_THREEFRY = jax.lax.RandomAlgorithm.RNG_THREE_FRY


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
    return jax.lax.rng_bit_generator(state, shape, _U, algorithm=_THREEFRY)[1]


def uniform(seed, stream, n: int, dtype=jnp.float64) -> jnp.ndarray:
    """``n`` Uniform(0, 1) draws, 32-bit resolution, strictly inside (0, 1)."""
    return ((bits(seed, stream, (n,)).astype(dtype) + 0.5) * (2.0 ** -32)).astype(dtype)


def normal(seed, stream, n: int, dtype=jnp.float64) -> jnp.ndarray:
    """``n`` standard normal draws by the inverse CDF of 55-bit tail probabilities (module note)."""
    hi, lo = bits(seed, stream, (2, n))
    f32 = jnp.float32
    p = ((hi & _U(0x7FFFFFFF)).astype(f32) + (lo >> 8).astype(f32) * f32(2.0 ** -24) + f32(2.0 ** -25)) \
        * f32(2.0 ** -32)
    z = -ndtri(p)
    return jnp.where((hi >> 31) == 1, z, -z).astype(dtype)


def block(draw, seed, streams, n: int, dtype, shard: bool = False) -> jnp.ndarray:
    """``draw`` (:func:`normal` or :func:`uniform`) for every stream of ``streams``: a ``(k, n)`` array.

    The rows are computed by one loop over the streams, so the inverse CDF is compiled once
    for the whole program, and every consumer reads the stored draws. Fused into its
    consumers instead (one per node, the estimate, the checks), it was recompiled and rerun
    for each of them, and XLA's CPU compile costs 50-100 ms per fusion.

    >>> s = seed_words(jax.random.PRNGKey(0))
    >>> bool(jnp.all(block(normal, s, [3, 5], 4, jnp.float32)[1] == normal(s, 5, 4, jnp.float32)))
    True
    """
    from .sharding import constrain_draws

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
