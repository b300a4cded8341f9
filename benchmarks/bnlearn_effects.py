"""A named effect on bnlearn's alarm network (pgmpy's copy), written as DSL text: causaldsl beside
pgmpy's do() + VariableElimination (two queries, E[code(Y)] under each value), as pgmpy's docs
recommend. Issue 18, item 3, on a real network.

    python benchmarks/bnlearn_effects.py HYPOVOLEMIA BP TRUE FALSE pgmpy
    python benchmarks/bnlearn_effects.py HYPOVOLEMIA BP TRUE FALSE ours ATE   # or ETT, ...

"ours" runs whatever causaldsl is first on the path (PYTHONPATH=<checkout> for a before/after
pair); each call is one fresh process, timing the first answer on a loaded model.
"""
import sys, time
import numpy as np
import itertools

import networkx as nx
from pgmpy.utils import get_example_model

bn = get_example_model("alarm")


def lvl(s):
    return str(s) if str(s)[0].isalpha() else "L_" + str(s)  # level names must be identifiers


lines = ["model alarm {"]
for v in nx.topological_sort(bn):
    cpd = bn.get_cpds(v)
    states = cpd.state_names[v]
    ps = list(cpd.variables[1:])
    vals = cpd.get_values()  # (|v|, prod parents)
    args = []
    combos = list(itertools.product(*[cpd.state_names[p] for p in ps]))
    for i, s in enumerate(states):
        if ps:
            rows = ", ".join("(" + ", ".join(lvl(c) for c in combo) + f"): {float(vals[i, j])!r}" if len(ps) > 1
                             else f"{lvl(combo[0])}: {float(vals[i, j])!r}" for j, combo in enumerate(combos))
            args.append(f"{lvl(s)}: table({', '.join(ps)}) {{ {rows} }}")
        else:
            args.append(f"{lvl(s)}: {float(vals[i, 0])!r}")
    lines.append(f"    {v} ~ Categorical({', '.join(args)})")
lines.append("}")
text = "\n".join(lines)
X, Y = sys.argv[1], sys.argv[2]
t, c = sys.argv[3], sys.argv[4]
if sys.argv[5] == "pgmpy":
    from pgmpy.inference import VariableElimination
    t0 = time.perf_counter()
    e = []
    for val in (t, c):
        q = VariableElimination(bn.do([X])).query([Y], evidence={X: val}, show_progress=False)
        e.append(float(np.dot(np.arange(len(q.values)), q.values)))
    print(f"pgmpy   ATE {e[0]-e[1]:.12f}  {1e3*(time.perf_counter()-t0):.1f} ms (do + VE, two queries)")
else:
    import causaldsl as cd
    m = cd.model(text)
    t0 = time.perf_counter()
    r = m.query(f"{sys.argv[6]}({X} -> {Y}, treat = {t}, control = {c})")
    print(f"causaldsl {sys.argv[6]} {r.value:.12f}  {1e3*(time.perf_counter()-t0):.1f} ms first answer [{r.method}]")
