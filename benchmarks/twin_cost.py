"""Issue 20, "No cliffs": exact observational and two-world (twin-network) queries on the bnlearn
networks pgmpy ships, each answered or refused with its estimate.

    python benchmarks/twin_cost.py                       # alarm mildew diabetes pigs link munin
    python benchmarks/twin_cost.py alarm child

Per network: y is the variable with the most ancestors, x the ancestor of y with the most
descendants among them; asked ``P(y = y0 | x = x_last)`` and
``P(y[x = x0] = y0 | x = x_last, y = y_last)`` with ``method="exact"``, and the two-world query
again with no method on a freshly loaded model (the route a user gets: Monte Carlo where exact is
refused, 200,000 draws).
Prints the time of each first answer (loading excluded) and the answer with its details, or the
refusal. Runs against the checkout it is run from. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the checkout the script is run from comes first


def main(names: list[str]) -> None:
    import networkx as nx
    import pgmpy

    import causaldsl as cd

    print(f"causaldsl from {Path(cd.__file__).resolve().parent.parent}")
    for name in names:
        path = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models", f"{name}.bif.gz")
        t = time.perf_counter()
        m = cd.from_bif(path)
        load = time.perf_counter() - t
        ir, g = m.ir, m.ir.graph
        y = max(sorted(g.nodes), key=lambda v: len(nx.ancestors(g, v)))
        anc = nx.ancestors(g, y)
        x = max(sorted(anc), key=lambda v: len(nx.descendants(g, v) & anc))
        q = lambda v, i: '"' + ir[v].levels[i] + '"'  # noqa: E731
        twin = f"P({y}[{x} = {q(x, 0)}] = {q(y, 0)} | {x} = {q(x, -1)}, {y} = {q(y, -1)})"
        for kind, text, method in (("observational", f"P({y} = {q(y, 0)} | {x} = {q(x, -1)})", "exact"),
                                   ("two-world", twin, "exact"), ("two-world", twin, None)):
            kind = f"{kind} ({method or 'default'})"
            fresh = cd.from_bif(path) if method is None else m  # a first asking, nothing kept from the exact one
            t = time.perf_counter()
            try:
                r = fresh.query(text, method=method)
                se = f" ± {r.stderr:.2g}" if r.stderr is not None else ""
                out = f"{r.value:.6g}{se}  [{r.details.split(', the answer depends')[0]}]"
            except cd.CausalDSLError as e:
                out = f"{type(e).__name__}: {str(e).splitlines()[0].split(': ', 1)[-1]}"
            print(f"  {name:9s} {len(ir.nodes):5d} nodes (load {load:4.1f} s)  {kind:23s} "
                  f"{time.perf_counter() - t:6.2f} s  {out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["alarm", "child", "insurance", "hailfinder", "mildew", "diabetes", "pigs", "link",
                          "munin"])
