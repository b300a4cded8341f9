"""Warm Monte Carlo answers on tutorials/linear_gaussian.causal (model lg, 1M draws, best of 5, CPU time):
the normals by Giles' polynomials (causaldsl.engines.noise.upper_quantile) against jax.scipy.special.ndtri, the
plain library version they are tested against. Run: python benchmarks/normals_tutorial.py giles|ndtri
"""
import sys
import time

import causaldsl as cd
from causaldsl.engines import noise
if sys.argv[1] == "ndtri":
    from jax.scipy.special import ndtri
    noise.upper_quantile = lambda p: -ndtri(p)
m = cd.load("tutorials/linear_gaussian.causal", name=cd.program(open("tutorials/linear_gaussian.causal").read())[0].name)
qs = ["E[y]", "E[y | do(x = 1)]", "P(y > 3 | do(x = 1))", "E[y[x = 0] | x = 1]"]
out = []
for q in qs:
    m.query(q, samples=1_000_000, method="monte-carlo", seed=1)  # compile
    best = 1e9
    for r in range(5):
        t = time.process_time(); m.query(q, samples=1_000_000, method="monte-carlo", seed=2 + r); best = min(best, time.process_time() - t)
    out.append(f"{q}: {best*1e3:.1f} ms CPU")
print(sys.argv[1], "; ".join(out))
