"""First-call and warm latency of the exact engine on seeded random binary networks.

    python benchmarks/core_latency.py

Prints, per network size: load (parse + check), first interventional answer
(compile + run), the same query with a new value (reuses the compiled function),
and the same for an exact counterfactual. Not part of the test suite; the
side-by-side comparison with peers belongs to the benchmarks issue.
"""

from __future__ import annotations

import itertools
import random
import time

import causaldsl as cd


def network(n: int, seed: int = 0) -> str:
    """DSL text of a random binary network: each node has up to 3 earlier parents."""
    r = random.Random(seed)
    lines = []
    for i in range(n):
        ps = r.sample(range(i), min(i, r.randint(0, 3)))
        if not ps:
            lines.append(f"v{i} ~ Bernoulli({r.uniform(0.1, 0.9):.3f})")
            continue
        rows = []
        for key in itertools.product((0, 1), repeat=len(ps)):
            k = f"({', '.join(map(str, key))})" if len(ps) > 1 else str(key[0])
            rows.append(f"{k}: {r.uniform(0.05, 0.95):.3f}")
        lines.append(f"v{i} ~ Bernoulli(table({', '.join(f'v{p}' for p in ps)}) {{ {', '.join(rows)} }})")
    return "model net {\n" + "\n".join("    " + line for line in lines) + "\n}\n"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    print(f"{'nodes':>5} {'load':>8} {'first':>8} {'warm':>8} {'cf first':>9} {'cf warm':>8}")
    for n in (20, 50, 100, 200):
        m, load = timed(lambda: cd.model(network(n)))
        x, y = f"v{n // 3}", f"v{n - 1}"
        _, first = timed(lambda: m.query(f"P({y} = 1 | do({x} = 1))"))
        _, warm = timed(lambda: m.query(f"P({y} = 1 | do({x} = 0))"))
        _, cf_first = timed(lambda: m.query(f"P({y}[{x} = 0] = 1 | {x} = 1, {y} = 1)"))
        _, cf_warm = timed(lambda: m.query(f"P({y}[{x} = 1] = 1 | {x} = 0, {y} = 1)"))
        print(f"{n:>5} {load * 1e3:>6.0f}ms {first * 1e3:>6.0f}ms {warm * 1e3:>6.2f}ms "
              f"{cf_first * 1e3:>7.0f}ms {cf_warm * 1e3:>6.2f}ms")


if __name__ == "__main__":
    main()
