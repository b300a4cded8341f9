"""The exact engine's path search and NumPy contraction beside opt_einsum's, on the benchmark queries.

    python benchmarks/contraction.py            # 20, 50, 100, 200 and 1000 nodes

For ``P(v.. = 1 | do(v.. = 1))`` on the seeded networks of ``benchmarks/nets.py``: the operands
the engine contracts for its first (NumPy) answer, and, best of five in one process, the time of

* the two-phase greedy path as :mod:`causaldsl.engines.contraction` finds it, and as two calls
  of ``opt_einsum.contract_path(..., optimize="greedy")`` found it before (constants, then the rest);
* the contraction along the path: ``contraction.contract`` over the precomputed pairwise steps,
  and ``opt_einsum.contract`` given the same path;

with the largest intermediate of each path (its number of entries), so that a faster search is
seen not to buy a worse path. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import opt_einsum  # noqa: E402

from causaldsl.engines import exact  # noqa: E402
from causaldsl.engines.contraction import contract, pairwise_steps, two_phase_path  # noqa: E402
from causaldsl.model.checker import check_model  # noqa: E402
from causaldsl.language.parser import parse, parse_query  # noqa: E402
from causaldsl.model.queries import plan_query  # noqa: E402

from benchmarks.nets import binary_net  # noqa: E402


def _operands(n: int):
    """(terms, sizes, output, constants start, structure, operands) of the n-node query."""
    net = binary_net(n)
    x, y, _ = net.query_nodes()
    text, q = net.dsl(), f"P(v{y} = 1 | do(v{x} = 1))"
    plan = plan_query(check_model(parse(text).items[0], text), parse_query(q), q)
    program = exact.ExactProgram(plan, background=False)
    seen = {}
    real = exact.contract_steps

    def spy(steps, ops):
        seen["ops"] = list(ops)
        return real(steps, ops)

    exact.contract_steps = spy
    try:
        program.numpy(np.asarray(plan.values, dtype=float))
    finally:
        exact.contract_steps = real
    s, ops = program.structure, seen["ops"]
    lhs, out = s.equation.split("->")
    terms = [list(w) for w in lhs.split(",")]
    sizes = {a: d for t, o in zip(terms, ops) for a, d in zip(t, o.shape)}
    first = len(terms) - sum(1 for dyn in s.dynamic if not dyn)
    return terms, sizes, list(out), first, s, ops


def _opt_einsum_path(terms, sizes, out, first) -> list:
    word = "".join
    consts = terms[first:]
    needed = {a for t in terms[:first] for a in t} | set(out)
    kept = list(dict.fromkeys(a for t in consts for a in t if a in needed))

    def greedy(ts, o):
        eq = ",".join(map(word, ts)) + "->" + word(o)
        return list(opt_einsum.contract_path(eq, *[tuple(sizes[a] for a in t) for t in ts], shapes=True,
                                             optimize="greedy")[0])

    return [tuple(first + i for i in st) for st in greedy(consts, kept)] + greedy(terms[:first] + [kept], out)


def _largest(terms, sizes, out, path) -> int:
    return max(work for _, _, work in pairwise_steps(terms, sizes, out, path))


def _best_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main(sizes=(20, 50, 100, 200, 1000)) -> None:
    print(f"{'n':>5} {'operands':>8} | path us: ours / opt_einsum | contract us: ours / opt_einsum"
          " | largest step: ours / opt_einsum")
    for n in sizes:
        terms, size, out, first, s, ops = _operands(n)
        k = max(1, 2000 // (len(terms) * 10))
        ours_path = two_phase_path(terms, size, out, first)
        theirs_path = _opt_einsum_path(terms, size, out, first)
        t_path = _best_us(lambda: two_phase_path(terms, size, out, first), k)
        t_path_oe = _best_us(lambda: _opt_einsum_path(terms, size, out, first), k)
        t_con = _best_us(lambda: contract(s.steps, ops), k)
        t_con_oe = _best_us(lambda: opt_einsum.contract(s.equation, *ops, optimize=s.path), k)
        print(f"{n:>5} {len(terms):>8} | {t_path:>8.0f} / {t_path_oe:<8.0f}         | {t_con:>6.0f} / {t_con_oe:<8.0f}"
              f"        | {_largest(terms, size, out, ours_path):>6} / {_largest(terms, size, out, theirs_path)}")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (20, 50, 100, 200, 1000))
