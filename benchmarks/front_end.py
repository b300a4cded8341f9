"""Where the first answer's time goes: parse, check, plan, answer; and pgmpy's first call beside it.

    python benchmarks/front_end.py                 # 20, 50, 100, 200, 1000 nodes
    python benchmarks/front_end.py 200 1000 --no-pgmpy

On the seeded random binary networks of ``benchmarks/nets.py`` (the exact workloads 1 and 5),
each phase of ``cd.model(text).query("P(v.. = 1 | do(v.. = 1))")`` is timed on its own:

* parse: text to syntax tree (:func:`causaldsl.language.parser.parse`);
* check: syntax tree to model IR (:func:`causaldsl.model.checker.check_model`);
* plan: the query text to a plan (:func:`causaldsl.language.parser.parse_query` + :func:`causaldsl.model.queries.plan_query`);
* first: everything, text in, answer out, on a fresh model (what a notebook user waits for);
* pgmpy: its first call as in ``benchmarks/systems/pgmpy_peer.py`` (build the network, then query).

Each figure is the best of a few runs, as wall-clock time and as the CPU time of the calling
thread (on a loaded machine the steadier figure; a query asked once is answered in NumPy and
starts no compilation, so no other thread of causaldsl's runs meanwhile).
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import causaldsl as cd  # noqa: E402
from causaldsl.model.checker import check_model  # noqa: E402
from causaldsl.language.parser import parse, parse_query  # noqa: E402
from causaldsl.model.queries import plan_query  # noqa: E402

from benchmarks.nets import binary_net  # noqa: E402


def best(fn, repeats: int) -> tuple[float, float]:
    """Least (wall, thread CPU) seconds of ``fn()`` over ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - w)
    return min(walls), min(cpus)


def phases(n: int, repeats: int) -> dict[str, tuple[float, float]]:
    net = binary_net(n)
    text = net.dsl()
    x, y, _ = net.query_nodes()
    query = f"P(v{y} = 1 | do(v{x} = 1))"
    block = parse(text).items[0]
    ir = check_model(block, text)
    return {
        "parse": best(lambda: parse(text), repeats),
        "check": best(lambda: check_model(block, text), repeats),
        "plan": best(lambda: plan_query(ir, parse_query(query), query), repeats),
        "first": best(lambda: cd.model(text).query(query), repeats),
    }


def pgmpy_first(n: int, repeats: int) -> tuple[float, float]:
    from benchmarks.systems import pgmpy_peer as peer
    from pgmpy.inference import CausalInference

    net = binary_net(n)
    x, y, _ = net.query_nodes()
    return best(lambda: peer._query(CausalInference(peer._build(net)), y, {f"v{x}": 1}), repeats)


def prime(with_pgmpy: bool) -> None:
    """Imports, the grammar tables and the engines' start-up, paid before anything is timed."""
    cd.model("model p {\n a ~ Bernoulli(0.3)\n b ~ Bernoulli(if a then 0.9 else 0.1)\n}").query("P(b = 1 | do(a = 1))")
    if with_pgmpy:
        from benchmarks.systems import pgmpy_peer

        pgmpy_peer.prime()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[20, 50, 100, 200, 1000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-pgmpy", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    prime(not args.no_pgmpy)
    cols = ["parse", "check", "plan", "first"] + ([] if args.no_pgmpy else ["pgmpy", "ratio"])
    print("milliseconds, best of %d: wall (thread CPU)" % args.repeats)
    print(f"{'nodes':>5} " + " ".join(f"{c:>15}" for c in cols))
    for n in args.sizes:
        row = phases(n, args.repeats)
        if not args.no_pgmpy:
            row["pgmpy"] = pgmpy_first(n, args.repeats)
        cells = [f"{row[c][0] * 1e3:7.1f} ({row[c][1] * 1e3:5.1f})" for c in cols if c in row]
        if "pgmpy" in row:
            cells.append(f"{row['first'][0] / row['pgmpy'][0]:6.2f} ({row['first'][1] / row['pgmpy'][1]:4.2f})")
        print(f"{n:>5} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
