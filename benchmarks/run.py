"""causaldsl against the libraries people use for the same questions, side by side, in one run.

    python -m benchmarks.run            # every workload of issue 7 (tens of minutes)
    python -m benchmarks.run --quick    # fewer sizes, fewer draws, short time limits (a few minutes)
    python -m benchmarks.run --only exact,cf

Each (system, workload, size) runs in its own subprocess (``worker.py``) so that peak
memory is the system's own and a slow peer can be stopped at ``--limit`` seconds
("> limit" in the table). When all jobs of a workload are back, every answer is
checked against the reference (``checks.py``); only then are times printed. The table
goes to stdout and, with the machine it was measured on, to
``benchmarks/results/results.md``; the plot of cost against size to ``benchmarks/results/cost_vs_size.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .checks import agrees
from .nets import binary_net, gauss_net
from .report import Row, machine, markdown, plot, text_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Case:
    """One workload: which systems answer it, at which sizes, with which job settings."""

    key: str  # workload name in worker.py
    label: str
    sizes: tuple
    systems: tuple
    params: dict = field(default_factory=dict)
    per_system: dict = field(default_factory=dict)  # system -> extra job settings (e.g. fewer draws)
    views: tuple = ((None, ""),)  # (sub-result key, label suffix): one job can answer several rows
    first_runs: int = 1  # processes per job: the first-call time is their median (see run_rounds)


CF_DRAWS = 1 << 20


def cases(quick: bool) -> list[Case]:
    draws = 100_000 if quick else 1_000_000
    reps = 5 if quick else 20
    firsts = 1 if quick else 5
    return [
        Case("exact", "1 exact", (20, 100) if quick else (20, 50, 100, 200),
             ("causaldsl", "pgmpy", "jax-einsum"), {"repeats": reps},
             views=(("do", " P(Y=1|do(X=1))"), ("ev", " P(Y=1|do(X=1),E=1)")), first_runs=firsts),
        # Like with like: no peer answers a counterfactual exactly (2a: ours alone); 2b sets ours
        # Monte Carlo beside ChiRho's at the same number of twin-world draws.
        Case("cf", "2a exact counterfactual P(Y[X=0]=1|X=1,Y=1), no peer", (20, 100) if quick else (20, 50, 100, 200),
             ("causaldsl",), {"repeats": reps}, first_runs=firsts),
        Case("cf", f"2b counterfactual P(Y[X=0]=1|X=1,Y=1) from {CF_DRAWS:,} draws",
             (20, 100) if quick else (20, 50, 100, 200), ("causaldsl", "chirho"),
             {"repeats": 3, "draws": CF_DRAWS}, first_runs=firsts),
        Case("sampling", f"3 E[Y|do(X=1)] from {draws:,} draws", (10, 100) if quick else (10, 100, 500),
             ("causaldsl", "pyro", "pymc", "dowhy", "numpyro"), {"repeats": 3, "draws": draws},
             per_system={"dowhy": {"draws": draws // 10}}),
        Case("unit_cf", "4 one-unit counterfactual, linear", (10, 100), ("causaldsl", "dowhy", "chirho"),
             {"repeats": reps, "kind": "linear", "value": 1.0}, first_runs=firsts),
        Case("unit_cf", "4 one-unit counterfactual, non-linear", (10, 100), ("causaldsl", "dowhy", "chirho"),
             {"repeats": reps, "kind": "nonlinear", "value": 1.0}, first_runs=firsts),
        Case("big", "5 1,000-node model: load + first answer; new value", (1000,), ("causaldsl", "pgmpy"),
             {"repeats": reps}, first_runs=firsts),
    ]


def reference(case: Case, size: int, results: dict, view):
    """``(value, s.e.)`` every system is checked against."""
    if case.key == "sampling":
        net = gauss_net(size)
        x, y = net.query_nodes()
        return net.interventional_moments(x, 1.0, y)[0], None
    if case.key == "unit_cf":
        net = gauss_net(size, nonlinear=case.params["kind"] == "nonlinear")
        x, y = net.query_nodes()
        return net.counterfactual(net.unit(), x, case.params["value"], y), None
    ours = results.get("causaldsl", {}).get("result")
    if ours is None:  # fall back on a peer's exact answer so the others are still checked
        for r in results.values():
            if r.get("result"):
                ours = r["result"]
                break
    if ours is None:
        return None, None
    ours = ours[view] if view else ours
    return ours["answer"], ours.get("se")


def run_job(job: dict, limit: float, cache_dir: str | None = None) -> dict:
    """One job in its own process. causaldsl's persistent compilation cache goes to ``cache_dir``
    (a fresh, empty one when None): a job's *first* is always a cold compile."""
    with tempfile.TemporaryDirectory(prefix="causaldsl-bench-cache-") as fresh:
        env = dict(os.environ, PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3",
                   CAUSALDSL_COMPILATION_CACHE=cache_dir or fresh)
        start = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(job)], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return {"timeout": limit}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"],
                "wall_s": time.perf_counter() - start}
    return json.loads(lines[-1])


def _firsts(result: dict) -> dict:
    """view -> first_s of a job's result (the view None for one-answer jobs)."""
    res = result.get("result") or {}
    if "first_s" in res:
        return {None: res["first_s"]}
    return {k: v["first_s"] for k, v in res.items() if isinstance(v, dict) and "first_s" in v}


def run_ours(job: dict, limit: float) -> dict:
    """causaldsl's job twice, sharing one compilation cache: the first process compiles cold (its
    times are the table's), the second is a later session of the same work; its first answer
    goes in as ``first_cached_s``."""
    with tempfile.TemporaryDirectory(prefix="causaldsl-bench-cache-") as cache:
        out = run_job(job, limit, cache)
        again = run_job(job, limit, cache) if out.get("result") else {}
    for view, first in _firsts(again).items():
        _view(out, view)["first_cached_s"] = first
    return out


def _view(out: dict, view) -> dict:
    return out["result"] if view is None else out["result"][view]


def run_rounds(jobs: dict, limit: float, times: int) -> dict:
    """``{system: (run, job)}``, each ``run(job, limit)`` in ``times`` fresh processes, the systems
    taking turns (round 1: every system once, then round 2, ...): per system the first round's
    result, with each first call's time (``first_s``, ``first_cached_s``) the median over its
    processes. A first call happens once per process, so one process gives one sample of it;
    on a shared machine one sample can be off by half, and the machine's speed drifts over
    minutes: taking turns lets every system meet the same drift."""
    outs: dict = {system: [] for system in jobs}
    for r in range(times):
        for system, (run, job) in jobs.items():
            if r and not outs[system][0].get("result"):
                continue
            label = f" (round {r + 1}/{times})" if times > 1 else ""
            print(f"  running {system:<11} {job['workload']} n={job['size']}{label} ...", file=sys.stderr, flush=True)
            outs[system].append(run(job, limit))
    return {system: _median_firsts(o) for system, o in outs.items()}


def _median_firsts(outs: list) -> dict:
    out = outs[0]
    for view in _firsts(out):
        for key in ("first_s", "first_cached_s"):
            samples = [_view(o, view)[key] for o in outs if o.get("result") and key in _view(o, view)]
            if samples:
                _view(out, view)[key] = statistics.median(samples)
                _view(out, view)[key.replace("_s", "_runs")] = len(samples)
    return out


def merged(path: Path, rows: list[Row], runs: dict, order: list[str]) -> tuple[list[Row], dict]:
    """This run's rows and, for the workloads it did not run, the rows of the last full or
    ``--only`` run recorded in ``path``, in the table's order; ``runs`` says which commit, on
    which processor, measured each workload."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return rows, runs
    old = [Row(**r) for r in saved["rows"] if r["key"] not in runs]
    rank = {key: i for i, key in enumerate(order)}
    everything = sorted(old + rows, key=lambda r: rank.get(r.key, len(rank)))  # stable: sizes stay in order
    both = {**saved["runs"], **runs}
    return everything, {key: both[key] for key in dict.fromkeys(r.key for r in everything)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sizes and draws, shorter limits")
    ap.add_argument("--only", default="", help="comma-separated workloads: exact,cf,sampling,unit_cf,big")
    ap.add_argument("--limit", type=float, default=None, help="seconds allowed per job (default 300; quick 120)")
    ap.add_argument("--out", default=str(RESULTS), help="where results.md and cost_vs_size.png go")
    args = ap.parse_args(argv)
    limit = args.limit or (120.0 if args.quick else 300.0)
    only = set(filter(None, args.only.split(",")))
    rows: list[Row] = []
    failed = []
    for case in cases(args.quick):
        if only and case.key not in only:
            continue
        for size in case.sizes:
            jobs = {system: (run_ours if system == "causaldsl" else run_job,
                             {"system": system, "workload": case.key, "size": size, **case.params,
                              **case.per_system.get(system, {})})
                    for system in case.systems}
            results = run_rounds(jobs, limit, case.first_runs)
            for view, suffix in case.views:
                ref, ref_se = reference(case, size, results, view)
                for system in case.systems:
                    r = results[system]
                    res = r.get("result")
                    res = res[view] if (res and view) else res
                    ok, how = (agrees(res["answer"], res.get("se"), ref, ref_se) if res
                               else (False, "timed out" if "timeout" in r else f"failed: {r.get('error')}"))
                    if res and not ok:
                        failed.append(f"{case.label}{suffix} n={size} {system}: {how}")
                    rows.append(Row(case.label + suffix, case.key, size, system, res, ok, how,
                                    r.get("peak_mb"), r.get("timeout")))
            print(f"  checked {case.label} n={size}", file=sys.stderr, flush=True)
    info = machine()
    print(text_table(rows))
    print()
    for f in failed:
        print("ANSWER MISMATCH:", f)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {key: {"commit": info["commit"], "cpu": info["cpu"]} for key in dict.fromkeys(r.key for r in rows)}
    if only and not args.quick:  # the other workloads keep the rows of their last run
        rows, runs = merged(out / "results.json", rows, runs, [c.key for c in cases(False)])
    info["runs"] = runs
    (out / "results.md").write_text(markdown(rows, info, quick=args.quick))
    plot(rows, out / "cost_vs_size.png")
    (out / "results.json").write_text(json.dumps({"runs": runs, "rows": [r.__dict__ for r in rows]},
                                                 indent=1, default=str))
    print(f"wrote {out / 'results.md'} and {out / 'cost_vs_size.png'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
