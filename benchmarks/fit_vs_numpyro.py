"""NUTS on a compiled causaldsl model vs a hand-written NumPyro model of the same SCM.

Same data, same sampler settings (NUTS, warmup, draws, chains, seed) in one
process. Two workloads from issue 5: a 5-node discrete SCM and a continuous
regression SCM, 10,000 rows each. Each side is timed end to end (for
causaldsl: data checks, program building, NUTS; for NumPyro: NUTS) on a first
run (compilation included) and a second run (warm). Before any time is
reported the posterior means of both are compared.

    python benchmarks/fit_vs_numpyro.py [--rows 10000] [--draws 1000] [--warmup 500] [--chains 4]
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

import causaldsl as cd

DISCRETE_TRUE = """model chain5 {
    a ~ Bernoulli(0.4)
    b ~ Bernoulli(if a then 0.7 else 0.2)
    c ~ Bernoulli(if a then 0.3 else 0.6)
    d ~ Bernoulli(0.1 + 0.5 * b + 0.3 * c)
    e ~ Bernoulli(if d then 0.8 else 0.25)
}"""

DISCRETE_BAYES = """model chain5 {
    param pa ~ Beta(1, 1)
    a ~ Bernoulli(pa)
    param pb[a] ~ Beta(1, 1)
    b ~ Bernoulli(pb[a])
    param pc[a] ~ Beta(1, 1)
    c ~ Bernoulli(pc[a])
    param pd[b, c] ~ Beta(1, 1)
    d ~ Bernoulli(pd[b, c])
    param pe[d] ~ Beta(1, 1)
    e ~ Bernoulli(pe[d])
}"""

REGRESSION_BAYES = """model regression {
    param b21 ~ Normal(0, 10)
    param s2 ~ HalfNormal(5)
    param alpha ~ Normal(0, 10)
    param b1 ~ Normal(0, 10)
    param b2 ~ Normal(0, 10)
    param sigma ~ HalfNormal(5)
    x1 ~ Normal(0, 1)
    x2 ~ Normal(b21 * x1, s2)
    y ~ Normal(alpha + b1 * x1 + b2 * x2, sigma)
}"""


def hand_discrete(cols):
    a, b, c, d, e = (jnp.asarray(cols[k]).astype(jnp.int32) for k in "abcde")

    def model():
        pa = numpyro.sample("pa", dist.Beta(1.0, 1.0))
        pb = numpyro.sample("pb", dist.Beta(1.0, 1.0).expand([2]).to_event(1))
        pc = numpyro.sample("pc", dist.Beta(1.0, 1.0).expand([2]).to_event(1))
        pd = numpyro.sample("pd", dist.Beta(1.0, 1.0).expand([2, 2]).to_event(2))
        pe = numpyro.sample("pe", dist.Beta(1.0, 1.0).expand([2]).to_event(1))
        with numpyro.plate("rows", a.shape[0]):
            numpyro.sample("a", dist.Bernoulli(pa), obs=a)
            numpyro.sample("b", dist.Bernoulli(pb[a]), obs=b)
            numpyro.sample("c", dist.Bernoulli(pc[a]), obs=c)
            numpyro.sample("d", dist.Bernoulli(pd[b, c]), obs=d)
            numpyro.sample("e", dist.Bernoulli(pe[d]), obs=e)

    return model


def hand_regression(cols):
    x1, x2, y = (jnp.asarray(cols[k]) for k in ("x1", "x2", "y"))

    def model():
        b21 = numpyro.sample("b21", dist.Normal(0.0, 10.0))
        s2 = numpyro.sample("s2", dist.HalfNormal(5.0))
        alpha = numpyro.sample("alpha", dist.Normal(0.0, 10.0))
        b1 = numpyro.sample("b1", dist.Normal(0.0, 10.0))
        b2 = numpyro.sample("b2", dist.Normal(0.0, 10.0))
        sigma = numpyro.sample("sigma", dist.HalfNormal(5.0))
        with numpyro.plate("rows", x1.shape[0]):
            numpyro.sample("x1", dist.Normal(0.0, 1.0), obs=x1)
            numpyro.sample("x2", dist.Normal(b21 * x1, s2), obs=x2)
            numpyro.sample("y", dist.Normal(alpha + b1 * x1 + b2 * x2, sigma), obs=y)

    return model


def regression_data(rows: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = 0.5 * x1 + rng.normal(0, 0.8, rows)
    y = 1.0 + 2.0 * x1 - 1.5 * x2 + rng.normal(0, 0.7, rows)
    return {"x1": x1, "x2": x2, "y": y}


def run_hand(model, s):
    mcmc = MCMC(NUTS(model), num_warmup=s.warmup, num_samples=s.draws, num_chains=s.chains,
                chain_method="parallel" if jax.local_device_count() >= s.chains else "vectorized",
                progress_bar=False)
    mcmc.run(jax.random.PRNGKey(s.seed))
    return {k: np.asarray(v) for k, v in mcmc.get_samples().items()}


def run_ours(m, data, s):
    fit = m.fit(data, draws=s.draws, warmup=s.warmup, chains=s.chains, seed=s.seed, progress=False)
    return fit.posterior


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def check_same(ours: dict, hand: dict, name: str) -> float:
    """Largest difference of posterior means, in posterior standard deviations."""
    worst = 0.0
    for k, v in hand.items():
        if k not in ours:
            continue
        sd = np.maximum(v.std(0), 1e-12)
        worst = max(worst, float(np.max(np.abs(ours[k].mean(0) - v.mean(0)) / sd)))
    if worst > 0.5:
        raise SystemExit(f"{name}: posterior means differ by {worst:.2f} sd; not timing a different answer")
    return worst


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    s = ap.parse_args(argv)

    # Process-wide first-use costs (imports, NumPyro's own jitted helpers) are paid here,
    # so neither side is charged for them.
    tiny = argparse.Namespace(**{**vars(s), "draws": 10, "warmup": 10, "chains": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cd.FitWarning)
        for bayes, data, hand in ((DISCRETE_BAYES, {k: [0, 1] for k in "abcde"}, hand_discrete),
                                  (REGRESSION_BAYES, regression_data(5), hand_regression)):
            cd.model(bayes).fit(data, draws=10, warmup=10, chains=1, progress=False)
            run_hand(hand(data), tiny)

    discrete = {k: np.asarray(v) for k, v in cd.model(DISCRETE_TRUE).sample(s.rows, seed=s.seed).items()}
    workloads = [
        ("discrete SCM, 5 nodes", cd.model(DISCRETE_BAYES), discrete, hand_discrete(discrete)),
        ("regression SCM, 3 nodes", cd.model(REGRESSION_BAYES), regression_data(s.rows, s.seed),
         hand_regression(regression_data(s.rows, s.seed))),
    ]
    print(f"NUTS, {s.chains} chains x ({s.warmup} warmup + {s.draws} draws), {s.rows:,} rows, "
          f"{jax.devices()[0].platform}")
    header = ("workload", "causaldsl first", "NumPyro first", "ratio", "causaldsl warm", "NumPyro warm", "ratio",
              "max mean diff")
    rows = [header]
    for name, m, data, hand in workloads:
        t_ours1, ours = timed(lambda: run_ours(m, data, s))
        t_hand1, ref = timed(lambda: run_hand(hand, s))
        diff = check_same(ours, ref, name)
        t_ours2, _ = timed(lambda: run_ours(m, data, s))
        t_hand2, _ = timed(lambda: run_hand(hand, s))
        rows.append((name, f"{t_ours1:.2f} s", f"{t_hand1:.2f} s", f"{t_ours1 / t_hand1:.2f}x",
                     f"{t_ours2:.2f} s", f"{t_hand2:.2f} s", f"{t_ours2 / t_hand2:.2f}x", f"{diff:.2f} sd"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
