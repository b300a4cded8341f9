"""The first sampling answer (workload 3's *first*) in CPU time, for before/after pairs.

    PYTHONPATH=. python benchmarks/first_sampling.py [NODES]    # default 500

After the primer of ``benchmarks/systems/ours.py``, in a fresh process with an empty compilation
cache (set CAUSALDSL_COMPILATION_CACHE to an empty directory): load the linear-Gaussian network
of ``benchmarks/nets.py`` as text and answer ``E[Y | do(X = 1)]`` from 1,000,000 draws. Prints
the wall time and the process's CPU time of that first answer (on a shared machine the wall
time grows with the load, the CPU time far less), then the wall time of a second answer.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.getcwd())

from benchmarks.nets import gauss_net  # noqa: E402
from benchmarks.systems import ours  # noqa: E402

import causaldsl as cd  # noqa: E402


def main() -> None:
    ours.prime()
    net = gauss_net(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    x, y = net.query_nodes()
    text, q = net.dsl(), f"E[v{y} | do(v{x} = 1)]"
    c0, w0 = time.process_time(), time.perf_counter()
    m = cd.model(text)
    m.query(q, samples=1_000_000, seed=0, method="monte-carlo")  # exact (Gaussian) unasked
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    w1 = time.perf_counter()
    m.query(q, samples=1_000_000, seed=1, method="monte-carlo")
    print(f"first answer {wall:.3f} s wall, {cpu:.3f} s CPU; second {time.perf_counter() - w1:.3f} s wall")


if __name__ == "__main__":
    main()
