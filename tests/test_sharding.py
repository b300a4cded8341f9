"""Monte Carlo split across 8 (simulated CPU) devices gives the single-device answer, and splits the work.

The 8 devices need ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before JAX is
imported, so that side runs in a subprocess; this process (one device) computes the
reference with the same seeds. Noise is a hash of (seed, stream, global draw index)
(causaldsl/engines/noise.py), so the draws themselves are identical, and the answers
differ only by the order of floating-point sums.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    import jax
    import numpy as np
    import causaldsl as cd
    from causaldsl.engines import sharding
    from causaldsl.engines.numpyro_backend import sample_arrays

    MODEL = """model chain {
        x ~ Normal(0, 1)
        m ~ Normal(0.8 * x, 0.5)
        y ~ Normal(1.5 * m - 0.5 * x, 1)
    }"""
    BAYES = """model coin {
        param p ~ Beta(2, 2)
        x ~ Bernoulli(p)
        y ~ Normal(2 * x, 1)
    }"""
    N = 80_000
    m = cd.model(MODEL)
    out = {"devices": len(jax.devices()), "mesh": sharding.devices()}
    r = m.query("E[y | do(m = 1)]", samples=N, seed=3, method="monte-carlo")  # (exact by Gaussian unasked)
    out["do"] = [r.value, r.stderr]
    r = m.query("E[x | y = 1]", samples=N, seed=4, method="monte-carlo")  # likelihood weighting: weights reduced across devices
    out["ev"] = [r.value, r.stderr, r.ess]
    env = sample_arrays(m.ir, N, seed=5)
    y = env["y"]
    out["draws"] = np.asarray(y[:16]).tolist() + np.asarray(y[-16:]).tolist()
    out["draws_sum"] = float(np.asarray(y).sum())
    out["shard_devices"] = sorted(d.id for d in y.sharding.device_set)
    out["shard_rows"] = sorted(s.data.shape[0] for s in y.addressable_shards)
    b = cd.model(BAYES)
    r = b.query("E[y | do(x = 1)]", samples=2_000, seed=6)     # Monte Carlo over 1,000 prior draws
    out["post_mc"] = [r.value, r.interval[0], r.interval[1]]
    r = b.query("P(x = 1)")                                     # exact, vmapped over prior draws
    out["post_exact"] = [r.value, r.interval[0], r.interval[1]]
    print(json.dumps(out))
''')


def _run(devices: int | None) -> dict:
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")
    flags = " ".join(f for f in flags.split() if "xla_force_host_platform_device_count" not in f)
    if devices:
        flags += f" --xla_force_host_platform_device_count={devices}"
    env["XLA_FLAGS"] = flags.strip()
    env["JAX_PLATFORMS"] = "cpu"
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs():
    return _run(None), _run(8)


def test_eight_devices_seen(runs):
    one, eight = runs
    assert one["devices"] == 1 and one["mesh"] == 1
    assert eight["devices"] == 8 and eight["mesh"] == 8


def test_draws_are_split_across_the_devices(runs):
    _, eight = runs
    assert eight["shard_devices"] == list(range(8))
    assert eight["shard_rows"] == [10_000] * 8


def test_same_seed_same_draws(runs):
    one, eight = runs
    assert eight["draws"] == one["draws"]  # bit for bit: the noise does not depend on the split
    assert eight["draws_sum"] == pytest.approx(one["draws_sum"], rel=1e-12)


@pytest.mark.parametrize("key", ["do", "ev", "post_mc", "post_exact"])
def test_same_answers(runs, key):
    one, eight = runs
    np.testing.assert_allclose(eight[key], one[key], rtol=1e-9, atol=1e-12)


def test_answers_are_right(runs):
    one, _ = runs
    value, se = one["do"]
    assert abs(value - 1.5) < 5 * se  # E[y | do(m = 1)] = 1.5 (x is independent of m under do)
    # E[x | y = 1]: Gaussian conditioning, cov(x, y) = 0.7, var(y) = 0.7^2 + 1.5^2 * 0.25 + 1 = 2.0525
    value, se, _ = one["ev"]
    assert abs(value - 0.7 / 2.0525) < 5 * se
