"""Issue 18, items 3 and 4: named effects on a banded network, and exact queries that are too large.

    python benchmarks/first_contact.py                 # every figure, this checkout
    python benchmarks/first_contact.py effects         # item 3 only
    python benchmarks/first_contact.py large           # item 4 only
    python benchmarks/first_contact.py large --exact   # item 4 with method="exact": refusals, estimates
    python benchmarks/first_contact.py effects --limit 120 --seed 4

Runs against whatever ``causaldsl`` is first on the path (the checkout this file is in), so the
same script gives the figures before (``cd /work/main && python /path/to/first_contact.py``) and
after. Each query runs in a child process under a wall-clock limit (``--limit``, seconds) and a
6 GB address-space limit, so a hang or an allocation error is a figure too ("> 120 s",
"MemoryError"), not the end of the run.

Item 3: an 80-node binary network, node ``Xi`` (i > 0) with 1-3 parents among the 6 before it
and a random conditional probability table (seeded, default seed 4: :func:`banded`). ``P(X79 = 1 | do(X10 = 1))``
beside ATE, ETT, NDE, NIE, PN, PS and PNS of ``X10 -> X79`` (mediator: the first child of X10).

Item 4: grids (each cell with its left and upper neighbours as parents) and random DAGs of
in-degree 5, ``P(last = 1)`` with no method named: the time, the peak memory and the method of
the answer, or the error. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path.cwd()))  # the checkout the script is run from comes first


def _cpt(rng, k: int) -> str:
    """A Bernoulli over ``k`` parents (names given by the caller) as a table of random numbers."""
    ps = rng.uniform(0.05, 0.95, size=2 ** k)
    return ps


def _bernoulli(name: str, parents: list[str], ps) -> str:
    if not parents:
        return f"    {name} ~ Bernoulli({ps[0]:.3f})"
    rows = []
    for j, p in enumerate(ps):
        bits = [(j >> (len(parents) - 1 - i)) & 1 for i in range(len(parents))]
        key = str(bits[0]) if len(parents) == 1 else "(" + ", ".join(map(str, bits)) + ")"
        rows.append(f"{key}: {p:.3f}")
    return f"    {name} ~ Bernoulli(table({', '.join(parents)}) {{ {', '.join(rows)} }})"


def banded(n: int = 80, width: int = 6, seed: int = 0) -> tuple[str, dict]:
    """DSL text of the banded network and its parents (``{'X3': ['X1', 'X2'], ...}``).

    >>> text, parents = banded(8, seed=1)
    >>> parents['X0'], 1 <= len(parents['X7']) <= 3
    ([], True)
    """
    rng = np.random.default_rng(seed)
    lines, parents = [f"model banded {{"], {}
    for i in range(n):
        pool = list(range(max(0, i - width), i))
        k = 0 if not pool else int(rng.integers(1, min(3, len(pool)) + 1))
        ps = sorted(rng.choice(pool, size=k, replace=False).tolist()) if k else []
        names = [f"X{p}" for p in ps]
        parents[f"X{i}"] = names
        lines.append(_bernoulli(f"X{i}", names, _cpt(rng, k)))
    lines.append("}")
    return "\n".join(lines), parents


def grid(side: int, seed: int = 0) -> str:
    """A ``side``x``side`` grid: cell (i, j) has parents (i-1, j) and (i, j-1)."""
    rng = np.random.default_rng(seed)
    lines = ["model grid {"]
    for i in range(side):
        for j in range(side):
            ps = ([f"g{i - 1}_{j}"] if i else []) + ([f"g{i}_{j - 1}"] if j else [])
            lines.append(_bernoulli(f"g{i}_{j}", ps, _cpt(rng, len(ps))))
    lines.append("}")
    return "\n".join(lines)


def random_dag(n: int, indegree: int = 5, seed: int = 0) -> str:
    """``n`` nodes, each (past the first ``indegree``) with ``indegree`` random earlier parents."""
    rng = np.random.default_rng(seed)
    lines = ["model dag {"]
    for i in range(n):
        k = min(i, indegree)
        ps = sorted(rng.choice(i, size=k, replace=False).tolist()) if k else []
        lines.append(_bernoulli(f"d{i}", [f"d{p}" for p in ps], _cpt(rng, k)))
    lines.append("}")
    return "\n".join(lines)


def effect_queries(parents: dict, x: str = "X10", y: str = "X79") -> list[str]:
    mediator = next(v for v, ps in parents.items() if x in ps)
    return [f"P({y} = 1 | do({x} = 1))", f"ATE({x} -> {y})", f"ETT({x} -> {y})",
            f"NDE({x} -> {y} via {mediator})", f"NIE({x} -> {y} via {mediator})",
            f"PN({x} -> {y})", f"PS({x} -> {y})", f"PNS({x} -> {y})"]


# ------------------------------------------------------------------ one query, in a child process
def _child(text: str, query: str, method, out) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    try:
        import causaldsl as cd

        m = cd.model(text)
        t0 = time.perf_counter()
        r = m.query(query, method=method)
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.put(("ok", dt, peak, f"{r.answer}  [{r.details}]"))
    except BaseException as e:  # noqa: BLE001 - every failure is a figure here
        dt = time.perf_counter() - t0 if "t0" in locals() else float("nan")
        out.put(("error", dt, None, f"{dt * 1e3:9.1f} ms  {type(e).__name__}: {str(e).splitlines()[0][:220]}"))


def run_one(text: str, query: str, limit: float, method=None) -> str:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_child, args=(text, query, method, out))
    p.start()
    p.join(limit)
    if p.is_alive():
        p.kill()
        p.join()
        return f"> {limit:.0f} s (killed)"
    if out.empty():
        return f"died (exit code {p.exitcode}: killed at the 6 GB limit or crashed)"
    status, dt, peak, what = out.get()
    if status == "ok":
        return f"{dt * 1e3:9.1f} ms  peak {peak:6.0f} MB  {what}"
    return what


def effects(limit: float, seed: int) -> None:
    text, parents = banded(seed=seed)
    print(f"item 3: 80-node banded binary network (seed {seed}), first answer in a fresh process")
    for q in effect_queries(parents):
        print(f"  {q:32s} {run_one(text, q, limit)}", flush=True)


def large(limit: float, method=None) -> None:
    named = "method='exact': the answer or the refusal, with its estimate" if method else "no method named"
    print(f"item 4: P(last = 1), {named}, first answer in a fresh process")
    cases = [(f"grid {s}x{s}", grid(s), f"g{s - 1}_{s - 1}") for s in (20, 25, 30)]
    cases += [(f"DAG n={n}, in-degree 5", random_dag(n), f"d{n - 1}") for n in (100, 150)]
    for name, text, last in cases:
        print(f"  {name:24s} {run_one(text, f'P({last} = 1)', limit, method)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="?", choices=("effects", "large", "all"), default="all")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds per query (default 120)")
    ap.add_argument("--seed", type=int, default=4, help="the banded network's seed (default 4)")
    ap.add_argument("--exact", action="store_true", help="item 4 with method='exact' (refusals and their estimates)")
    args = ap.parse_args()
    import causaldsl

    print(f"causaldsl from {Path(causaldsl.__file__).resolve().parent.parent}")
    if args.which in ("effects", "all"):
        effects(args.limit, args.seed)
    if args.which in ("large", "all"):
        large(args.limit, "exact" if args.exact else None)


if __name__ == "__main__":
    main()
