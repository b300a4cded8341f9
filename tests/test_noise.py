"""Monte Carlo noise (causaldsl/engines/noise.py): JAX's Threefry bits, normals by an inverse CDF
with no tail cut, reproducible by seed. Closed forms from scipy.stats; every bound can fail."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from causaldsl.engines import noise


def _seed(k: int):
    return noise.seed_of(k)


def test_the_quantile_matches_scipy_down_to_the_smallest_probability():
    """-Φ⁻¹(p) against scipy's float64 ndtri on a log grid from 2^-57 (|z| = 8.5) to 1/2 and on
    uniform p: relative error below 5e-7 everywhere (float32's own rounding is 6e-8)."""
    rng = np.random.default_rng(0)
    p = np.concatenate([np.geomspace(2.0 ** -57, 0.5, 100_000), rng.random(100_000) * 0.5]).astype(np.float32)
    z = np.asarray(noise.upper_quantile(jnp.asarray(p)), float)
    truth = -special.ndtri(p.astype(float))
    assert np.max(np.abs(z - truth) / np.maximum(truth, 1e-3)) < 5e-7
    assert np.max(np.abs(z - truth)) < 3e-6
    order = np.argsort(p)  # monotone across the three polynomials' seams
    assert np.all(np.diff(z[order]) <= 0)


@pytest.mark.parametrize("t", [3.0, 5.0, 6.0, 7.0, 8.0, 8.5])
def test_tail_probabilities_are_the_closed_form(t):
    """P(Z > t) is the share of p below Φ(-t) (z is decreasing in p, p uniform on a 55-bit grid):
    the quantile at Φ(-t) is t, so the tail frequency beyond t is Φ(-t), up to float32."""
    p = np.float32(stats.norm.sf(t))
    assert abs(float(noise.upper_quantile(jnp.asarray([p]))[0]) - t) < 2e-6 * t


def test_normals_pass_ks_and_their_tails_have_the_closed_form_frequency():
    n = 4_000_000
    with jax.enable_x64(True):
        z = np.asarray(noise.normal(_seed(7), 1, n, jnp.float32), float)
    assert stats.kstest(z[:1_000_000], "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.std() - 1) < 5 / np.sqrt(2 * n)
    for t in (3.0, 4.0):  # two-sided counts against 2 Φ(-t) n, within 5 Poisson sds
        expected = 2 * stats.norm.sf(t) * n
        assert abs(np.sum(np.abs(z) > t) - expected) < 5 * np.sqrt(expected)
    assert abs(np.mean(z > 0) - 0.5) < 5 * 0.5 / np.sqrt(n)  # the sign bit is fair


@pytest.mark.slow
def test_draws_beyond_five_sigma_come_as_often_as_the_closed_form_says():
    """48M draws: 27.5 expected beyond |z| = 5 (a tail cut at 5.4 would still leave ~5)."""
    n, k = 48_000_000, 0
    with jax.enable_x64(True):
        for s in range(6):
            k += int(jnp.sum(jnp.abs(noise.normal(_seed(3), s, n // 6, jnp.float32)) > 5))
    expected = 2 * stats.norm.sf(5.0) * n
    assert abs(k - expected) < 5 * np.sqrt(expected)


def test_draws_are_reproducible_by_seed_and_stream():
    with jax.enable_x64(True):
        a = np.asarray(noise.normal(_seed(1), 4, 10_000))
        assert np.array_equal(a, np.asarray(noise.normal(_seed(1), 4, 10_000)))       # same seed, same draws
        assert np.array_equal(a[:100], np.asarray(noise.normal(_seed(1), 4, 100)))     # a prefix is the same
        assert not np.any(a == np.asarray(noise.normal(_seed(2), 4, 10_000)))          # another seed
        assert not np.any(a == np.asarray(noise.normal(_seed(1), 5, 10_000)))          # another stream
        u = np.asarray(noise.uniform(_seed(1), 4, 10_000))
        assert np.array_equal(u, np.asarray(noise.uniform(_seed(1), 4, 10_000)))
        assert stats.kstest(u, "uniform").pvalue > 1e-3 and 0 < u.min() and u.max() < 1


def test_the_bits_are_jax_randoms_threefry():
    """The stream key is jax.random.fold_in of the seed's key; the bits are XLA's Threefry-2x32
    counter stream under that key (the generator behind jax.random's rbg keys)."""
    seed = _seed(9)
    key = jax.random.fold_in(jax.random.PRNGKey(9), 3)
    assert np.array_equal(np.asarray(noise.stream_key(seed, 3)), np.asarray(jax.random.key_data(key)))
    state = jnp.concatenate([jax.random.key_data(key), jnp.zeros(2, jnp.uint32)])
    direct = jax.lax.rng_bit_generator(state, (2, 16), jnp.uint32, algorithm=jax.lax.RandomAlgorithm.RNG_THREE_FRY)[1]
    assert np.array_equal(np.asarray(noise.bits(seed, 3, (2, 16))), np.asarray(direct))
