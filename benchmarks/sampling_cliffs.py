"""Issue 20's sampling cliffs, in CPU time and peak memory of the process.

    PYTHONPATH=. python benchmarks/sampling_cliffs.py sample 1000 10000     # m.sample(10_000), every node
    PYTHONPATH=. python benchmarks/sampling_cliffs.py evidence 5000 200000  # Monte Carlo with evidence

``sample``: the binary network of ``benchmarks/nets.py`` (``binary_net(NODES)``), every node drawn,
twice (the second call reuses what the first prepared). ``evidence``: a Gaussian chain
``v_i ~ Normal(0.4 v_{i-1} + 0.3 v_{i-2}, 1)`` of NODES nodes, ``E[v_{N-2} | v_{N-1} = 0.5]`` by
likelihood weighting (every node is an ancestor of the evidence, so nothing is pruned). Peak
memory is the process's maximum resident set (imports included); "beyond" subtracts the peak
before the call and the result's own bytes.
"""

from __future__ import annotations

import os
import resource
import sys
import time

sys.path.insert(0, os.getcwd())

from benchmarks.nets import binary_net  # noqa: E402

import causaldsl as cd  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample(nodes: int, draws: int) -> None:
    cd.model("model w {\n a ~ Bernoulli(0.3)\n b ~ Normal(a, 1)\n}").sample(10)  # the backend started
    m = cd.model(binary_net(nodes).dsl())
    before, c0, w0 = _peak_mb(), time.process_time(), time.perf_counter()
    s = m.sample(draws, seed=0)
    cpu, wall, peak = time.process_time() - c0, time.perf_counter() - w0, _peak_mb()
    result = sum(v.nbytes for v in s.values()) / 2 ** 20
    s = None
    c1 = time.process_time()
    m.sample(draws, seed=1)
    print(f"sample({draws:,}) of {nodes} nodes: {cpu:.2f} s CPU ({wall:.2f} s wall), again "
          f"{time.process_time() - c1:.2f} s CPU; peak {peak:.0f} MB (before {before:.0f} MB, result "
          f"{result:.0f} MB, beyond both {peak - before - result:.0f} MB)")


def evidence(nodes: int, draws: int) -> None:
    lines = ["v0 ~ Normal(0, 1)", "v1 ~ Normal(0.5 * v0, 1)"]
    lines += [f"v{i} ~ Normal(0.4 * v{i - 1} + 0.3 * v{i - 2}, 1)" for i in range(2, nodes)]
    m = cd.model("model chain {\n" + "\n".join(lines) + "\n}")
    before, c0, w0 = _peak_mb(), time.process_time(), time.perf_counter()
    r = m.query(f"E[v{nodes - 2} | v{nodes - 1} = 0.5]", method="monte-carlo", samples=draws)
    print(f"{r}\n{nodes}-node chain, {draws:,} draws: {time.process_time() - c0:.1f} s CPU "
          f"({time.perf_counter() - w0:.1f} s wall); peak {_peak_mb():.0f} MB (before {before:.0f} MB)")


if __name__ == "__main__":
    {"sample": sample, "evidence": evidence}[sys.argv[1]](int(sys.argv[2]), int(sys.argv[3]))
