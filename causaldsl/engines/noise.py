"""Counter-based noise for Monte Carlo: draw ``i`` of stream ``s`` is a pure hash of (seed, s, i).

JAX's default PRNG (threefry, 20 rounds per pair of words) costs 16-30 ns per number
on a CPU, and its normals go through a float64 ``erf_inv`` that costs as much again;
a million draws of a 500-node model spent seconds in it. Here:

* bits: three rounds of Wellons' ``lowbias32`` integer hash (a bijection of uint32 with
  bias ~0.17 of the ideal avalanche) over the draw index, keyed per stream by the
  seed: about 5 ns a word, fused by XLA into the consumer, no state;
* normals: a float32 inverse-CDF (``sqrt 2 · erf_inv(2u - 1)``, 24-bit ``u`` at cell
  midpoints), widened to float64. Tails are cut at |z| ≈ 5.4 (probability 7e-8, far
  below the Monte Carlo error of any feasible run);
* uniforms: 32 bits at cell midpoints, in float64 (never exactly 0 or 1).

Because a value depends only on (seed, stream, global draw index), splitting the
draws across devices, or into blocks, cannot change them: the sharded and the
single-device answers are the same numbers.

>>> import jax.numpy as jnp
>>> s = seed_words(jax.random.PRNGKey(0))
>>> z = normal(s, 3, jnp.arange(200_000, dtype=jnp.uint32))
>>> bool(abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01)
True
>>> bool(jnp.all(normal(s, 3, jnp.arange(5, 10, dtype=jnp.uint32)) == z[5:10]))
True
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

_U = jnp.uint32
_GOLDEN = 0x9E3779B9


def _mix(x):
    """lowbias32 (C. Wellons, hash-prospector): a bijection of uint32 with strong avalanche."""
    x = x ^ (x >> 16)
    x = x * _U(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * _U(0x846CA68B)
    return x ^ (x >> 16)


def seed_words(key) -> jnp.ndarray:
    """Two uint32 words from a JAX PRNG key (raw ``PRNGKey`` or typed ``key``)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return jnp.asarray(key, dtype=_U).reshape(-1)[:2]


def bits(seed, stream, index) -> jnp.ndarray:
    """uint32 noise for draw indices ``index`` (uint32 array) of stream ``stream``.

    ``stream`` may be an array (e.g. a column of stream numbers against a row of indices):
    the value of each (stream, index) pair is the same as when drawn alone.
    """
    s = _mix(seed[0] ^ _mix(jnp.asarray(stream, _U) * _U(_GOLDEN) + seed[1]))
    return _mix(_mix(index ^ s) + (s ^ _U(_GOLDEN)))


def block(draw, seed, streams, index, dtype) -> jnp.ndarray:
    """``draw`` (:func:`normal` or :func:`uniform`) for every stream of ``streams``: a ``(k, n)`` array.

    The rows are computed by one loop over the streams, so the inverse CDF is compiled once
    for the whole program, and every consumer reads the stored draws. Fused into its
    consumers instead (one per node, the estimate, the checks), it was recompiled and rerun
    for each of them, and XLA's CPU compile costs 50-100 ms per fusion.

    >>> s = seed_words(jax.random.PRNGKey(0))
    >>> i = jnp.arange(4, dtype=jnp.uint32)
    >>> bool(jnp.all(block(normal, s, [3, 5], i, jnp.float32)[1] == normal(s, 5, i, jnp.float32)))
    True
    """
    streams = jnp.asarray(streams, _U)
    if streams.shape[0] == 1:
        return draw(seed, streams[0], index, dtype)[None]
    return jax.lax.map(lambda s: draw(seed, s, index, dtype), streams)


@functools.lru_cache(maxsize=None)
def row_program(kind: str, n: int, shard: bool = True):
    """A jitted ``(seed words, stream) -> n draws`` of :func:`normal` (float32) or :func:`uniform`
    (float64): one small program per ``(kind, n)``, shared by every query that draws ``n``."""
    from .sharding import draw_index

    draw, dtype = (normal, jnp.float32) if kind == "normal" else (uniform, jnp.float64)
    return jax.jit(lambda seed, stream: draw(seed, stream, draw_index(n, shard), dtype))


def uniform(seed, stream: int, index, dtype=jnp.float64) -> jnp.ndarray:
    """Uniform(0, 1) draws, 32-bit resolution, strictly inside (0, 1)."""
    return ((bits(seed, stream, index).astype(dtype) + 0.5) * (2.0 ** -32)).astype(dtype)


def normal(seed, stream, index, dtype=jnp.float64) -> jnp.ndarray:
    """Standard normal draws by the float32 inverse CDF (see the module note on tails)."""
    u = (bits(seed, stream, index) >> 8).astype(jnp.float32) * np.float32(2.0 ** -23) + np.float32(2.0 ** -24 - 1)
    return (np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).astype(dtype)


def seed_of(seed: int) -> np.ndarray:
    """The two words of ``jax.random.PRNGKey(seed)``, computed without JAX (a key costs ~0.5 ms).

    >>> with jax.enable_x64(True):  # the engines' precision (causaldsl.engines.config.float64)
    ...     bool(np.all(seed_of(-5) == np.asarray(jax.random.PRNGKey(-5))))
    True
    """
    seed = int(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)
