"""The Monte Carlo engine's shape: noise drawn in blocks, programs that stay small, and
queries with nothing left to draw answered exactly, without compiling.

Numbers are checked against closed forms written here, and the float path
(``causaldsl.engines.scalar``) against the compiled program on the same plans.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import causaldsl as cd
from causaldsl.engines import montecarlo as mc
from causaldsl.engines import noise
from jax_traces import jax_traces
from causaldsl.language.parser import parse_query
from causaldsl.model.queries import plan_query


def _plan(m, q):
    return plan_query(m.ir, parse_query(q), q)


def _compiled(plan, n=1000, seed=0):
    """The compiled program's summary (never the float path)."""
    program, _ = mc.compile_montecarlo(plan, n)
    return jax.device_get(program(noise.seed_of(seed), np.asarray(plan.values or (0.0,), float), {}))


# ---------------------------------------------------------------------- noise
def test_seed_words_are_the_prng_key():
    with jax.enable_x64(True):  # the engines' precision: a seed past 32 bits keeps its high word
        for seed in (0, 1, 7, 2 ** 32 + 5, -1, -12345):
            assert np.array_equal(noise.seed_of(seed), np.asarray(jax.random.PRNGKey(seed)))


def test_a_row_program_and_a_block_give_each_stream_its_own_draws():
    seed = noise.seed_of(3)
    rows = noise.block(noise.normal, seed, [0, 2, 4], 1000, jnp.float32)
    for r, stream in enumerate((0, 2, 4)):
        alone = noise.normal(seed, stream, 1000, jnp.float32)
        # the same bits; float32's inverse CDF may round its last bit differently once fused
        assert np.allclose(np.asarray(rows[r]), np.asarray(alone), rtol=1e-6, atol=1e-7)
        assert np.allclose(np.asarray(noise.row_program("normal", 1000)(seed, np.uint32(stream))),
                           np.asarray(alone), rtol=1e-6, atol=1e-7)
    u = noise.row_program("uniform", 1000)(seed, np.uint32(5))
    assert np.array_equal(np.asarray(u), np.asarray(noise.uniform(seed, 5, 1000)))
    assert abs(np.corrcoef(np.asarray(rows[0]), np.asarray(rows[1]))[0, 1]) < 0.1


def test_normals_pass_a_distribution_test_and_reach_past_the_old_tail_cut():
    """Kolmogorov-Smirnov against scipy's normal; the tails are not cut at 5.4 (the old float32
    inverse CDF's limit): the smallest tail probability is 2^-57, |z| = 8.5."""
    from jax.scipy.special import ndtri
    from scipy import stats

    seed = noise.seed_of(11)
    z = np.asarray(noise.normal(seed, 0, 400_000), float)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(np.mean(z > 2.0) - stats.norm.sf(2.0)) < 5 * np.sqrt(stats.norm.sf(2.0) / z.size)
    # the transform at its extreme bits: every bit set / none set in the 55 that make p
    hi = jnp.asarray([0x00000000, 0x7FFFFFFF], jnp.uint32)
    lo = jnp.asarray([0, 0xFFFFFFFF], jnp.uint32)
    f32 = jnp.float32
    p = ((hi & 0x7FFFFFFF).astype(f32) + (lo >> 8).astype(f32) * f32(2.0 ** -24) + f32(2.0 ** -25)) * f32(2.0 ** -32)
    assert float(p[0]) == 2.0 ** -57 and abs(float(-stats.norm.ppf(2.0 ** -57)) - 8.54) < 0.01
    assert abs(float(-ndtri(p[0])) - 8.54) < 0.01 and abs(float(ndtri(p[1]))) < 1e-6
    u = np.asarray(noise.uniform(seed, 1, 400_000))
    assert u.min() > 0 and u.max() < 1 and stats.kstest(u, "uniform").pvalue > 1e-3


def _chain(k: int) -> str:
    lines = ["x0 ~ Normal(0, 1)"] + [f"x{i} ~ Normal(0.5 * x{i - 1} + 0.1, 1)" for i in range(1, k)]
    return "model chain {\n" + "\n".join("    " + ln for ln in lines) + "\n}"


def _fusions(k: int) -> int:
    m = cd.model(_chain(k))
    plan = _plan(m, f"E[x{k - 1} | x0 = 0.5]")
    program, _ = mc.compile_montecarlo(plan, 1000)
    key = noise.seed_of(0)
    values = jnp.asarray(plan.values)
    text = program.draws.lower(key, values, {}, *program.noise(key)).compile().as_text()
    return text.count("fusion(")


def test_the_compiled_program_does_not_grow_with_the_model():
    # XLA's CPU compile costs ~50-100 ms per fusion: a program whose fusions grew with its
    # nodes (a noise draw, an inverse CDF, a check per node) took seconds to compile.
    assert _fusions(40) <= _fusions(4) + 1


def test_chain_answer_matches_its_closed_form():
    # x_k = 0.5 x_{k-1} + 0.1 + e_k: E[x_3 | x_0 = 0.5] = 0.5^3 * 0.5 + 0.1 * (1 + 0.5 + 0.25)
    m = cd.model(_chain(4))
    r = m.query("E[x3 | x0 = 0.5]", samples=100_000, method="monte-carlo")  # (default: Gaussian conditioning)
    assert abs(r.value - (0.0625 + 0.175)) < 4 * r.stderr
    assert r.samples == 100_000 and r.stderr > 0


# ---------------------------------------------------------------------- nothing left to draw
LINEAR = """model lin {
    a ~ Normal(0, 1)
    b ~ Normal(0.8 * a, 0.5)
    c ~ Normal(1.5 * b - 0.4 * a, 2)
}"""


def test_fully_observed_unit_is_answered_exactly_without_compiling():
    # Abduction: e_a = 1, e_b = (0.3 - 0.8) / 0.5 = -1, e_c = (2 - 0.45 + 0.4) / 2 = 0.975;
    # action b = 1; prediction c = 1.5 - 0.4 + 2 * 0.975 = 3.05.
    m = cd.model(LINEAR)
    with jax_traces() as traces:
        r = m.query("E[c[b = 1] | a = 1, b = 0.3, c = 2]")
    assert r.value == pytest.approx(3.05, abs=1e-12)
    assert r.stderr == 0.0 and r.samples == 1 and r.method == "monte-carlo"
    assert not traces  # nothing was traced or compiled
    assert m.query("E[c[b = 2] | a = 1, b = 0.3, c = 2]").value == pytest.approx(4.55, abs=1e-12)


def test_nonlinear_additive_noise_unit():
    m = cd.model("""model nl {
        a ~ Normal(0, 1)
        b ~ Normal(sigmoid(a) - 0.5, 0.3)
        c ~ Normal(2 * sigmoid(b) + exp(a / 4), 1.5)
    }""")
    sig = lambda v: 1 / (1 + math.exp(-v))
    a, b, c = 0.2, -0.1, 1.7
    e_c = c - (2 * sig(b) + math.exp(a / 4))
    want = 2 * sig(0.5) + math.exp(a / 4) + e_c
    r = m.query(f"E[c[b = 0.5] | a = {a}, b = {b}, c = {c}]")
    assert r.value == pytest.approx(want, abs=1e-12) and r.stderr == 0.0


@pytest.mark.parametrize("query", [
    "E[c[b = 1] | a = 1, b = 0.3, c = 2]",
    "E[c[b = 1] - c | a = -0.5, b = 0.3, c = 2]",
    "E[c[a = 0] * b | a = 1, b = 0.3, c = 2]",
    "P(c[b = 1] > 3 | a = 1, b = 0.3, c = 2)",
])
def test_the_float_path_agrees_with_the_compiled_program(query):
    m = cd.model(LINEAR)
    plan = _plan(m, query)
    program = mc.MonteCarloProgram(plan, 1000)
    assert program.scalar is not None
    fast = program(0, plan.values)
    slow = _compiled(plan)
    assert bool(slow["deterministic"]) and fast["deterministic"]
    assert float(fast["estimate"]) == pytest.approx(float(slow["estimate"]), abs=1e-12)
    assert float(slow["stderr"]) == 0.0 and bool(slow["any"]) and fast["any"]


def test_explicit_noise_lognormal_and_a_binary_cause():
    m = cd.model("""model mix {
        t ~ Bernoulli(0.3)
        latent u ~ Normal(0, 1)
        w ~ LogNormal(0.2 * t, 0.5)
        y := 2 * t + log(w) + u
    }""")
    # u = y - 2 t - log w = 3 - 2 - log 1.5; y[t = 0] = log(w[t = 0]) + u, log w[t = 0] = log 1.5 - 0.2.
    q = "E[y[t = 0] | t = 1, w = 1.5, y = 3]"
    r = m.query(q)
    assert r.value == pytest.approx(math.log(1.5) - 0.2 + 3 - 2 - math.log(1.5), abs=1e-12)
    assert r.stderr == 0.0
    assert float(_compiled(_plan(m, q))["estimate"]) == pytest.approx(r.value, abs=1e-12)


def test_a_query_that_still_draws_is_not_deterministic():
    m = cd.model(LINEAR)
    r = m.query("E[c[b = 1] | a = 1, c = 2]", samples=20_000, method="monte-carlo")  # e_b is not solved: drawn
    assert r.stderr > 0 and r.samples == 20_000


def test_impossible_evidence_in_a_deterministic_query():
    m = cd.model("model m {\n    b ~ Bernoulli(0)\n    x ~ Normal(0, 1)\n    y ~ Normal(x + b, 1)\n}")
    plan = _plan(m, "E[y[x = 0] | x = 1, y = 0, b = 1]")
    assert mc.MonteCarloProgram(plan, 1000).scalar is not None
    with pytest.raises(cd.ZeroProbabilityError):
        m.query("E[y[x = 0] | x = 1, y = 0, b = 1]")
    assert m.query("E[y[x = 0] | x = 1, y = 0, b = 0]").value == pytest.approx(-1.0, abs=1e-12)


def test_invalid_scale_in_a_deterministic_query_names_the_node():
    src = "model m {\n    x ~ Normal(0, 1)\n    y ~ Normal(x, x)\n}"
    m = cd.model(src)
    with pytest.raises(cd.ProbabilityError) as e:
        m.query("E[y[x = 1] | x = -1, y = 0]")
    assert e.value.line == 3


def test_arithmetic_python_refuses_falls_back_to_the_compiled_program():
    # log(x - 1) at x = 1 is -inf: Python raises, NumPy answers; the compiled program answers.
    m = cd.model("model m {\n    x ~ Normal(0, 1)\n    y ~ Normal(x, 1)\n}")
    with pytest.raises(cd.QueryError, match="infinite or undefined"):
        m.query("E[log(y[x = 1] - y[x = 1]) | x = 0, y = 0]")


def test_per_draw_invalid_parameters_still_name_the_node():
    src = "model m {\n    x ~ Normal(0, 1)\n    y ~ Normal(0, x)\n}"
    with pytest.raises(cd.ProbabilityError) as e:
        cd.model(src).query("E[y]", samples=1000)
    assert e.value.line == 3
    with pytest.raises(cd.ProbabilityError) as e:
        cd.model(src).query("E[x | y = 1]", samples=1000)
    assert e.value.line == 3


def test_an_infinite_target_is_undefined_not_invalid():
    m = cd.model("model m {\n    x ~ Normal(0, 1)\n}")
    with pytest.raises(cd.QueryError, match="infinite or undefined"):
        m.query("E[1 / (x - x)]", samples=1000)


def test_forward_keeps_every_value_per_draw():
    m = cd.model("model m {\n    x ~ Normal(0, 1)\n    y := 2 * x\n}")
    plan = _plan(m, "E[y | do(x = 1)]")
    run, nodes = mc.forward(plan.network, dict(plan.evidence), 16, fast_flags=True)
    env, logw, flags = jax.jit(run)(jax.random.PRNGKey(0), jnp.asarray(plan.values), {})
    assert all(v.shape == (16,) for v in env.values()) and logw.shape == (16,)
    assert np.all(np.asarray(env["y"]) == 2.0) and flags.shape == (len(nodes) + 1,)


def test_tables_and_levels_in_a_deterministic_query():
    m = cd.model("""model t {
        w ~ Categorical(sunny: 0.6, rainy: 0.3, snowy: 0.1)
        x ~ Normal(table(w) { sunny: 1, rainy: -1, snowy: 0 }, 1)
        y ~ Normal(if w == rainy then 2 * x else x + 0.5, 0.5)
    }""")
    # w observed once (no world changes it); e_y = (y - 2 x) / 0.5 with x = 0.2, w = rainy;
    # in the world x = 1: y = 2 + 0.5 e_y.
    q = "E[y[x = 1] | w = rainy, x = 0.2, y = 0.9]"
    plan = _plan(m, q)
    assert mc.MonteCarloProgram(plan, 1000).scalar is not None
    r = m.query(q)
    assert r.value == pytest.approx(2 + (0.9 - 0.4), abs=1e-12) and r.stderr == 0.0
    assert float(_compiled(plan)["estimate"]) == pytest.approx(r.value, abs=1e-12)
    assert m.query("E[y[x = 1] | w = sunny, x = 0.2, y = 0.9]").value == pytest.approx(1.5 + 0.2, abs=1e-12)


def test_a_large_query_with_evidence_runs_as_two_programs_with_the_same_answer():
    m = cd.model(_chain(mc.SPLIT_STEPS + 6))
    k = mc.SPLIT_STEPS + 5
    plan = _plan(m, f"E[x{k} | x3 = 0.5]")
    program, _ = mc.compile_montecarlo(plan, 20_000)
    assert program.split
    key, values = noise.seed_of(2), np.asarray(plan.values)
    two = jax.device_get(program(key, values, {}))
    with jax.enable_x64(True):  # the raw jitted program, in the engines' precision
        one = jax.device_get(program.main(key, values, {}, *program.noise(key)))
    for name in ("estimate", "stderr", "ess"):
        assert float(two[name]) == pytest.approx(float(one[name]), rel=1e-9)
    # x_k given x_3 = 0.5: 0.5^(k-3) * 0.5 + 0.1 * (1 - 0.5^(k-3)) / 0.5
    want = 0.5 ** (k - 3) * 0.5 + 0.2 * (1 - 0.5 ** (k - 3))
    assert abs(float(two["estimate"]) - want) < 4 * float(two["stderr"])
