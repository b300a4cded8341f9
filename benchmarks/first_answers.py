"""First answers on the tutorial files, two checkouts side by side (issue 19's budgets).

    python benchmarks/first_answers.py --before /tmp/main-copy            # every tutorials/*.causal
    python benchmarks/first_answers.py --before /tmp/main-copy --repeats 7 --files smoking.causal
    python benchmarks/first_answers.py --before /tmp/main-copy --warm       # warm answers instead

For each file, each checkout (``--before``: a clean copy of the base commit; ``--after``: this
checkout, by default) answers the file in a fresh process with that checkout first on
``PYTHONPATH``: the time from the text to its first answer (parsing, the grammar's load and
checking included; importing the package not), the time of each query's answer after the one
before it, and the wall time of the whole ``causaldsl run FILE`` (the process, import included;
the persistent compilation cache off, so no run reads another's programs). Processes of the two
checkouts alternate and the order flips every repeat, so load on a shared machine falls on both;
each figure is the minimum over ``--repeats``. Prints one table per file, in milliseconds, in wall
time and in CPU time (answers: the main thread's, so a background compile does not count; the
whole run: the process's, every thread), the steadier figure on a loaded machine.

``--warm``: the warm (compiled) answers of the benchmark workloads instead (``benchmarks/worker.py``,
causaldsl's jobs of ``python -m benchmarks.run``: exact ``P(Y | do(X))`` with and without
evidence, counterfactual, one-unit counterfactual), each job a fresh process per checkout,
alternating likewise; the median warm time of each job (as ``benchmarks.run`` reports it), the
minimum over repeats, in microseconds, and after / before.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Runs in the child: the text of FILE to every answer, timed with perf_counter.
_CHILD = r"""
import json, sys, time
from pathlib import Path
import causaldsl
from causaldsl import api
path = Path(sys.argv[1])
source = path.read_text()
t0, c0 = time.perf_counter(), time.thread_time()
times, cpu, queries = [], [], []
prev, cprev = t0, c0
for m in api.program(source, path.parent, check_queries=False):
    answers = m.answers() if isinstance(m, api.CausalModel) else m.run()
    for q, _ in zip(m.queries, answers):
        now, cnow = time.perf_counter(), time.thread_time()
        times.append(now - prev)
        cpu.append(cnow - cprev)
        queries.append(q.text or repr(q))
        prev, cprev = now, cnow
print(json.dumps({"first": (times[0] if times else None), "times": times, "queries": queries,
                  "first_cpu": (cpu[0] if cpu else None), "cpu": cpu, "file": causaldsl.__file__}))
"""


def _env(checkout: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env["CAUSALDSL_COMPILATION_CACHE"] = "off"
    return env


def answers(checkout: Path, file: Path) -> dict:
    """One fresh process of ``checkout`` answering ``file``: first answer and per-query seconds."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(file)], env=_env(checkout), cwd=checkout,
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["file"].startswith(str(checkout)), got["file"]  # the checkout asked for, not another
    return got


def whole_run(checkout: Path, file: Path) -> tuple:
    """``(wall, cpu)`` seconds of ``causaldsl run FILE`` in a fresh process of ``checkout`` (cpu:
    user + system time of the process, every thread of it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "causaldsl.cli", "run", str(file)], env=_env(checkout), cwd=checkout,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(checkouts: dict, files: list, repeats: int) -> dict:
    """``{file: {label: {"first": s, "times": [s per query], "queries": [...], "run": s}}}``, minima."""
    best: dict = {f.name: {} for f in files}
    for r in range(repeats):
        for f in files:
            order = list(checkouts.items())
            if r % 2:
                order.reverse()
            for label, checkout in order:
                got = answers(checkout, f)
                run, run_cpu = whole_run(checkout, f)
                inf = float("inf")
                b = best[f.name].setdefault(label, {"first": inf, "first_cpu": inf, "times": [inf] * len(got["times"]),
                                                    "cpu": [inf] * len(got["times"]), "queries": got["queries"],
                                                    "run": inf, "run_cpu": inf})
                for k in ("first", "first_cpu"):
                    b[k] = min(b[k], got[k])
                for k in ("times", "cpu"):
                    b[k] = [min(a, t) for a, t in zip(b[k], got[k])]
                b["run"], b["run_cpu"] = min(b["run"], run), min(b["run_cpu"], run_cpu)
        print(f"repeat {r + 1}/{repeats} done", file=sys.stderr, flush=True)
    return best


def table(best: dict) -> str:
    """One block per file: first answer, each query, whole run; before, after and the difference
    (ms), in wall time and in CPU time (the main thread's for answers, the process's for the run:
    on a shared machine the CPU time is the steadier of the two)."""
    lines = []
    for name, by in best.items():
        b, a = by["before"], by["after"]
        lines.append(f"\n{name}")
        lines.append(f"  {'':50s} {'wall before':>11s} {'after':>8s} {'diff':>8s}   {'cpu before':>10s} {'after':>8s} "
                     f"{'diff':>8s}")
        rows = [("first answer (text -> answer)", b["first"], a["first"], b["first_cpu"], a["first_cpu"])]
        rows += [(f"  {q[:46]}", tb, ta, cb, ca)
                 for q, tb, ta, cb, ca in zip(b["queries"], b["times"], a["times"], b["cpu"], a["cpu"])]
        rows.append(("causaldsl run (whole process)", b["run"], a["run"], b["run_cpu"], a["run_cpu"]))
        for label, tb, ta, cb, ca in rows:
            lines.append(f"  {label:50s} {tb * 1e3:11.1f} {ta * 1e3:8.1f} {(ta - tb) * 1e3:+8.1f}   "
                         f"{cb * 1e3:10.1f} {ca * 1e3:8.1f} {(ca - cb) * 1e3:+8.1f}")
    return "\n".join(lines)


WARM_JOBS = [("exact", 20, {}), ("exact", 100, {}), ("exact", 200, {}), ("cf", 20, {}), ("cf", 100, {}),
             ("unit_cf", 10, {"kind": "linear", "value": 1.0}), ("unit_cf", 100, {"kind": "linear", "value": 1.0}),
             ("unit_cf", 10, {"kind": "nonlinear", "value": 1.0})]


def warm_job(checkout: Path, workload: str, size: int, extra: dict) -> dict:
    """``{row: warm seconds}`` of one causaldsl job of ``benchmarks.worker`` in ``checkout``."""
    job = {"system": "causaldsl", "workload": workload, "size": size, "repeats": 20, **extra}
    out = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(job)], env=_env(checkout),
                         cwd=checkout, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])["result"]
    label = f"{workload} n={size}" + (f" {extra['kind']}" if "kind" in extra else "")
    views = {k: v for k, v in result.items() if isinstance(v, dict)} or {"": result}
    return {f"{label} {k}".strip(): v["warm_s"] for k, v in views.items()}


def measure_warm(checkouts: dict, repeats: int) -> dict:
    """``{row: {label: seconds}}``, the minimum over ``repeats`` of each job's median warm answer."""
    best: dict = {}
    for r in range(repeats):
        for workload, size, extra in WARM_JOBS:
            order = list(checkouts.items())
            if r % 2:
                order.reverse()
            for label, checkout in order:
                for row, s in warm_job(checkout, workload, size, extra).items():
                    best.setdefault(row, {})[label] = min(best.get(row, {}).get(label, float("inf")), s)
        print(f"repeat {r + 1}/{repeats} done", file=sys.stderr, flush=True)
    return best


def warm_table(best: dict) -> str:
    lines = [f"  {'warm answer (median of a job, min over repeats)':52s} {'before':>9s} {'after':>9s} {'ratio':>7s}"]
    for row, by in best.items():
        b, a = by["before"], by["after"]
        lines.append(f"  {row:52s} {b * 1e6:9.0f} {a * 1e6:9.0f} {a / b:7.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a clean copy of the base commit")
    ap.add_argument("--after", type=Path, default=HERE, help="the checkout to compare (default: this one)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--files", nargs="*", default=None, help="names under tutorials/ (default: every .causal)")
    ap.add_argument("--warm", action="store_true", help="the benchmark workloads' warm answers instead")
    args = ap.parse_args()
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    if args.warm:
        print(warm_table(measure_warm(checkouts, args.repeats)))
        return
    tutorials = HERE / "tutorials"
    files = [tutorials / n for n in args.files] if args.files else sorted(tutorials.glob("*.causal"))
    best = measure(checkouts, files, args.repeats)
    print(table(best))


if __name__ == "__main__":
    main()
