"""Warm Monte Carlo answers of whichever causaldsl is first on the path, for before/after pairs.

    python benchmarks/warm_mc.py                    # this checkout
    python benchmarks/warm_mc.py --compare OTHER    # OTHER (a checkout) and this one, interleaved

Workloads (benchmarks/nets.py's linear-Gaussian networks, the README's sampling sizes):
``E[Y | do(X = 1)]`` from 1,000,000 draws at 10, 100 and 500 nodes (a new seed each time, so the
noise is drawn anew); ``E[Y | E = e]`` by likelihood weighting (200,000 draws); a counterfactual
``E[Y[X = 0] | X = 1]`` (200,000 draws). Each figure is the minimum over the repeats, in ms, of
the process's CPU time (all of XLA's threads): on a shared machine it is far steadier than wall
time, and the work is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(repeats: int) -> dict:
    import causaldsl as cd  # from PYTHONPATH: the checkout being measured
    from nets import gauss_net  # this script's folder is first on the path

    out = {}
    seeds = iter(range(1, 100_000))
    for n in (10, 100, 500):
        net = gauss_net(n)
        x, y = net.query_nodes()
        m = cd.model(net.dsl())
        jobs = {f"do n={n}": (f"E[v{y} | do(v{x} = 1)]", 1_000_000),
                f"evidence n={n}": (f"E[v{y} | v{x} = 0.5]", 200_000),
                f"counterfactual n={n}": (f"E[v{y}[v{x} = 0] | v{x} = 1]", 200_000)}
        for label, (q, draws) in jobs.items():
            m.query(q, samples=draws, seed=0, method="monte-carlo")  # compile
            times = []
            for _ in range(repeats):
                t = time.process_time()
                m.query(q, samples=draws, seed=next(seeds), method="monte-carlo")
                times.append(time.process_time() - t)
            out[label] = 1e3 * min(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", help="another checkout, measured in turn with this one")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.repeats)))
        return
    roots = ([("before", Path(a.compare).resolve())] if a.compare else []) + [("after", HERE.parent)]
    best: dict = {}
    for _ in range(a.rounds):
        for name, root in roots:
            env = {**os.environ, "PYTHONPATH": str(root)}
            res = subprocess.run([sys.executable, str(HERE / "warm_mc.py"), "--child", "--repeats", str(a.repeats)],
                                 env=env, capture_output=True, text=True, check=True, cwd=root)
            for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
                best.setdefault(k, {}).setdefault(name, v)
                best[k][name] = min(best[k][name], v)
    names = [n for n, _ in roots]
    print("| workload | " + " | ".join(f"{n} (ms)" for n in names) + (" | ratio |" if len(names) == 2 else " |"))
    print("|---|" + "---|" * (len(names) + (len(names) == 2)))
    for k, v in best.items():
        cells = " | ".join(f"{v[n]:.1f}" for n in names)
        ratio = f" | {v['after'] / v['before']:.2f}x" if len(names) == 2 else ""
        print(f"| {k} | {cells}{ratio} |")


if __name__ == "__main__":
    main()
