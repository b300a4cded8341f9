"""Issue 18, item 5: do Monte Carlo intervals cover the truth when the evidence is unlikely?

    PYTHONPATH=. python benchmarks/first_contact_mc.py [--seeds 20]

Run it from a checkout (before: main; after: the branch) on the same machine. For each case
it prints the answer of seed 0, and over ``--seeds`` seeds how often the reported 95% interval
(value ± 1.96 stderr) covers the closed-form truth, how many answers carry a warning and which
methods answered.

Cases (z -> x -> y, y's noise sd 0.1, x's noise sd 0.75, so Var y = 1.5725 and
E[z | y] = y / Var y; k = 6 gives the issue's 4.78):

* ``k=4, 1,000 draws``, default method and ``method="monte-carlo"``;
* ``k=6, 1,000,000 draws``, the same two;
* a non-Gaussian model (z ~ Exponential(1)) at y = 8, 1,000 draws: the truth is the mean of
  a Normal(y - 1.01, 1.01) truncated at 0.
"""

from __future__ import annotations

import argparse
import math
import time

import causaldsl as cd

LINEAR = "model zxy {\n z ~ Normal(0, 1)\n x ~ Normal(z, 0.75)\n y ~ Normal(x, 0.1)\n}"
EXPO = "model expo {\n z ~ Exponential(1)\n x ~ Normal(z, 1)\n y ~ Normal(x, 0.1)\n}"
VAR_Y = 1 + 0.75 ** 2 + 0.1 ** 2


def expo_truth(y: float) -> float:
    s = math.sqrt(1.01)
    mu = y - 1.01
    a = mu / s
    return mu + s * math.exp(-a * a / 2) / math.sqrt(2 * math.pi) / (0.5 * math.erfc(-a / math.sqrt(2)))


def coverage(model, query: str, truth: float, samples: int, seeds: int, method) -> str:
    covered = flagged = 0
    methods: dict = {}
    t0 = time.perf_counter()
    first = None
    for seed in range(seeds):
        r = model.query(query, samples=samples, seed=seed, method=method)
        first = first or r
        se = r.stderr or 0.0
        covered += abs(r.value - truth) <= max(1.96 * se, 1e-9)
        flagged += bool(getattr(r, "warning", None))
        methods[r.method] = methods.get(r.method, 0) + 1
    per = (time.perf_counter() - t0) / seeds
    return (f"  seed 0: {first}\n  truth {truth:.6g}; covered {covered}/{seeds}, flagged {flagged}/{seeds}, "
            f"methods {methods}, {per:.2f} s per answer")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    lin, expo = cd.model(LINEAR), cd.model(EXPO)
    for k, n in [(4, 1_000), (6, 1_000_000)]:
        y = k * math.sqrt(VAR_Y)
        q = f"E[z | y = {y!r}]"
        for method in (None, "monte-carlo"):
            print(f"k = {k}, {n:,} draws, method={method!r}")
            try:
                print(coverage(lin, q, y / VAR_Y, n, args.seeds if n <= 1000 else 3, method))
            except cd.CausalDSLError as e:
                print("  error:", str(e).splitlines()[0])
    for method in (None, "monte-carlo"):
        print(f"Exponential z, y = 8, 1,000 draws, method={method!r}")
        print(coverage(expo, "E[z | y = 8]", expo_truth(8.0), 1000, args.seeds, method))


if __name__ == "__main__":
    main()
