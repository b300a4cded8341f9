"""m.sample(n) of every node: chunks of bounded size, large models sampled op by op (no program
of the whole structure to compile), the draws right against exact marginals."""

from __future__ import annotations

import itertools
import random
import time

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.engines import numpyro_backend as nb
from jax_traces import jax_traces


def _binary_net(n: int, seed: int = 0) -> str:
    """A random binary network (up to 3 earlier parents, tables of numbers), as DSL text."""
    r = random.Random(seed)
    lines = []
    for i in range(n):
        ps = sorted(r.sample(range(i), min(i, r.randint(0, 3))))
        if not ps:
            lines.append(f"v{i} ~ Bernoulli({r.uniform(0.1, 0.9):.3f})")
            continue
        rows = []
        for key in itertools.product((0, 1), repeat=len(ps)):
            lhs = f"({', '.join(map(str, key))})" if len(ps) > 1 else str(key[0])
            rows.append(f"{lhs}: {r.uniform(0.05, 0.95):.3f}")
        lines.append(f"v{i} ~ Bernoulli(table({', '.join(f'v{p}' for p in ps)}) {{ {', '.join(rows)} }})")
    return "model net {\n" + "\n".join("    " + ln for ln in lines) + "\n}\n"


def test_chunk_size_follows_the_byte_bound():
    assert nb.chunk_draws(1000) * 1000 * 8 <= nb.CHUNK_BYTES < (nb.chunk_draws(1000) + 1) * 1000 * 8
    assert nb.chunk_draws(1) == 1 << 20 and nb.chunk_draws(10 ** 7) == 1024


def test_a_large_model_is_sampled_op_by_op_and_matches_its_exact_marginals(monkeypatch):
    """120 nodes (past EAGER_NODES): the frequencies of 1 against the exact engine's P(v = 1)
    within 5 standard errors, and the draws one node reads from another are consistent."""
    m = cd.model(_binary_net(120, seed=3))
    n = 20_000
    t = time.process_time()
    s = m.sample(n, seed=2)
    assert time.process_time() - t < 60  # one compiled program of 120 nodes took ~3 s of XLA alone
    assert set(s) == set(m.variables) and all(v.shape == (n,) and v.dtype == np.int64 for v in s.values())
    for name in ("v7", "v40", "v119"):
        p = m.query(f"P({name} = 1)").value
        assert abs(s[name].mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    again = m.sample(n, seed=2)
    assert all(np.array_equal(s[k], again[k]) for k in s)  # reproducible by seed


def test_sampling_a_large_model_again_compiles_nothing():
    """Past EAGER_NODES a model is sampled op by op; its noise rows come from the small programs
    shared by every run of n draws (noise.row_program), so a second call traces nothing: before,
    the rows' loop was traced and compiled anew at every call, most of a repeated call's time."""
    text = _binary_net(60, seed=2).replace("\n}", "\n    w ~ Normal(2 * v50 - 1, 0.5)\n}")
    m = cd.model(text)
    assert len(m.ir.nodes) > nb.EAGER_NODES
    first = m.sample(2000, seed=3)
    with jax_traces() as again:
        second = m.sample(2000, seed=3)
        other = m.sample(2000, seed=4)
    assert not again
    assert all(np.array_equal(first[k], second[k]) for k in first)  # the same draws for the same seed
    assert not np.array_equal(first["w"], other["w"])
    # w | v50 ~ Normal(2 v50 - 1, 0.5): its mean given v50 = 1 is 1, within 5 standard errors
    ones = first["w"][first["v50"] == 1]
    assert abs(ones.mean() - 1.0) < 5 * 0.5 / np.sqrt(len(ones))


def test_op_by_op_and_compiled_sampling_give_the_same_draws(monkeypatch):
    text = _binary_net(12, seed=1).replace("\n}", "\n    w ~ Normal(2 * v10 - 1, 0.5)\n    c := w * w + v3\n}")
    compiled = cd.model(text).sample(3000, seed=5)
    monkeypatch.setattr(nb, "EAGER_NODES", 0)
    eager = cd.model(text).sample(3000, seed=5)
    assert set(compiled) == set(eager) and "w" in compiled
    assert all(np.array_equal(compiled[k], eager[k]) for k in compiled if k.startswith("v"))
    # the float32 normals round the last bit differently where XLA fuses their polynomial
    assert all(np.allclose(compiled[k], eager[k], rtol=2e-6, atol=2e-6) for k in ("w", "c"))


def test_sampling_streams_in_chunks_of_the_bound(monkeypatch):
    """With a 40 KiB chunk bound, 5,000 draws of a 10-node model come in chunks of 512 draws... of
    at least 1,024 (the floor): 5 chunks, written into the result as they come, reproducible."""
    m = cd.model(_binary_net(10, seed=4))
    monkeypatch.setattr(nb, "CHUNK_BYTES", 40 * 1024)
    size = nb.chunk_draws(10)
    assert size == 1024
    parts = list(nb.sample_chunks(m.ir, 5000, seed=1))
    assert [len(p["v0"]) for p in parts] == [1024] * 4 + [904]
    whole = m.sample(5000, seed=1, progress=False)
    assert np.array_equal(whole["v9"], np.concatenate([p["v9"] for p in parts]).astype(np.int64))
    assert len({p["v0"][:50].tobytes() for p in parts}) == 5  # each chunk its own seed
    p = m.query("P(v9 = 1)").value
    assert abs(whole["v9"].mean() - p) < 5 * np.sqrt(p * (1 - p) / 5000)


def test_a_sample_that_cannot_fit_is_refused_with_the_largest_that_fits(monkeypatch):
    from causaldsl.engines import montecarlo

    monkeypatch.setattr(montecarlo, "MEMORY_BUDGET", 8 * 1000 * 50_000)
    m = cd.model(_binary_net(1000, seed=0))
    with pytest.raises(cd.CausalDSLError) as e:
        m.sample(60_000)
    assert "at most 50,000 draws fit" in e.value.message


def _chain(n: int) -> str:
    lines = ["v0 ~ Normal(0, 1)", "v1 ~ Normal(0.5 * v0, 1)"]
    lines += [f"v{i} ~ Normal(0.4 * v{i - 1} + 0.3 * v{i - 2}, 1)" for i in range(2, n)]
    return "model chain {\n" + "\n".join("    " + ln for ln in lines) + "\n}"


def test_monte_carlo_with_evidence_on_a_long_chain_runs_op_by_op_in_chunks(monkeypatch):
    """A 60-step query with evidence, made to run op by op (EAGER_STEPS 40) in chunks of 1,024
    draws: the likelihood-weighting answer agrees with the exact Gaussian conditioning of the
    same query within 5 standard errors, and the compiled path's answer (different draws) too."""
    from causaldsl.engines import montecarlo as mc

    m = cd.model(_chain(60))
    q = "E[v58 | v59 = 1.5]"
    exact = m.query(q).value  # Gaussian conditioning: exact
    compiled = m.query(q, method="monte-carlo", samples=20_000, seed=3)
    monkeypatch.setattr(mc, "EAGER_STEPS", 40)
    monkeypatch.setattr(mc, "CHUNK_BYTES", 8 * 120 * 1024)
    assert mc.chunk_size(120, 20_000) == 1024
    chunked = cd.model(_chain(60)).query(q, method="monte-carlo", samples=20_000, seed=3)
    assert chunked.method == compiled.method and chunked.value != compiled.value  # other draws
    for r in (compiled, chunked):
        assert abs(r.value - exact) < 5 * r.stderr and r.ess > 1000
    again = cd.model(_chain(60)).query(q, method="monte-carlo", samples=20_000, seed=3)
    assert again.value == chunked.value  # reproducible by seed


def test_an_op_by_op_run_keeps_only_the_values_still_to_be_read():
    """On a chain each value is read by the next two steps: at most a handful are alive at once,
    whatever the length, so a chunk of an op-by-op run can hold many draws."""
    from causaldsl.engines import montecarlo as mc

    for n in (50, 400):
        s = mc.Schedule(cd.model(_chain(n)).ir, {f"v{n - 1}": "$0"})
        values, noises, widest = s.releases(frozenset({f"v{n - 2}"}))
        assert widest <= 6
        assert sorted(v for vs in values for v in vs) == sorted(f"v{i}" for i in range(n) if i != n - 2)
    assert mc.chunk_size(widest + 3, 200_000) == 200_000 and mc.chunk_size(20_000, 200_000) == 1024


@pytest.mark.parametrize("query", ["E[v38[v10 = 0] | v39 = 1.5]", "P(b | v39 = 1)", "E[v30 * b | do(v10 = 1), v39 = 0.5]"])
def test_counterfactual_and_distribution_queries_op_by_op_agree_with_the_compiled_program(monkeypatch, query):
    """Twin networks, a distribution over a discrete variable, do with evidence: the op-by-op
    run (other draws) within 4.5 combined standard errors of the compiled one."""
    from causaldsl.engines import montecarlo as mc

    text = _chain(40).replace("\n}", "\n    b ~ Bernoulli(if v20 > 0 then 0.8 else 0.3)\n}")
    compiled = cd.model(text).query(query, method="monte-carlo", samples=20_000, seed=1)
    monkeypatch.setattr(mc, "EAGER_STEPS", 10)
    eager = cd.model(text).query(query, method="monte-carlo", samples=20_000, seed=1)
    def one(r):  # the estimate and its standard error (of P(b = 1) for the distribution)
        return (r.value, r.stderr) if r.stderr is not None else (r.value[1.0], r.stderrs[1.0])

    (a, sa), (b, sb) = one(compiled), one(eager)
    assert a != b and abs(a - b) < 4.5 * np.hypot(sa, sb)
