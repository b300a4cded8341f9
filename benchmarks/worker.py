"""Run one (system, workload, size) job and print its result as one JSON line.

    python -m benchmarks.worker '{"system": "pgmpy", "workload": "exact", "size": 50, ...}'

Each job is its own process (started by ``run.py``), so its peak resident memory
is its own and a job that hangs can be stopped at its time limit.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import time

from .measure import peak_mb
from .nets import binary_net, gauss_net

MODULES = {"causaldsl": "ours", "pgmpy": "pgmpy_peer", "jax-einsum": "einsum_peer", "chirho": "pyro_peer",
           "pyro": "pyro_peer", "pymc": "pymc_peer", "dowhy": "dowhy_peer", "numpyro": "numpyro_peer"}


def run(job: dict) -> dict:
    mod = importlib.import_module(f"benchmarks.systems.{MODULES[job['system']]}")
    t = time.perf_counter()
    mod.prime()
    # Start-up leaves thousands of young objects (JAX's, torch's, pgmpy's); the full collection
    # they are owed is start-up cost too, paid here by every system alike rather than by
    # whichever first call happens to allocate past the collector's threshold.
    gc.collect()
    prime_s = time.perf_counter() - t
    base = peak_mb()
    w, n, reps = job["workload"], job["size"], job["repeats"]
    if w == "exact":
        out = mod.exact(binary_net(n), reps)
    elif w == "cf":
        out = mod.counterfactual(binary_net(n), reps, draws=job.get("draws"))
    elif w == "sampling":
        out = mod.sampling(gauss_net(n), job["draws"], reps)
    elif w == "unit_cf":
        net = gauss_net(n, nonlinear=job["kind"] == "nonlinear")
        out = mod.unit_counterfactual(net, net.unit(), job["value"], reps)
    elif w == "big":
        out = mod.big(binary_net(n), reps)
    else:
        raise ValueError(f"unknown workload {w}")
    return {"result": out, "peak_mb": peak_mb(), "base_mb": base, "prime_s": prime_s}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))), flush=True)
