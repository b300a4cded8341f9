"""causaldsl, pgmpy and pyAgrum on the bnlearn networks pgmpy ships, each as its documentation
recommends, in fresh processes taking turns.

    python -m benchmarks.bnlearn              # every network, two rounds
    python -m benchmarks.bnlearn --quick      # asia, child, alarm, hailfinder, pigs; one round
    python -m benchmarks.bnlearn --nets asia,alarm --rounds 2

Per network, every system (``worker.py``) loads the same decompressed BIF file and answers the
same questions (``questions.py``): a conditional (its first answer), a marginal, a do-query with
evidence, then new questions, then a repeated one. Each (network, system) runs in ``--rounds``
fresh processes, the systems taking turns within each network and the order turned round every
round, so a busy machine's slow minutes fall on every system; each time is the minimum over the
rounds. Every answer is checked against causaldsl's (every level, in the same run); a time is
written only beside answers that agree. Results go to ``benchmarks/results/bnlearn.json`` and
``bnlearn.md``; ``python -m benchmarks.bnlearn.readme`` copies the table into README.md.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from .worker import SYSTEMS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
EXACT = ["asia", "cancer", "sachs", "child", "insurance", "alarm", "water", "hailfinder", "hepar2", "win95pts",
         "pathfinder", "andes"]
LARGE = ["pigs", "link", "munin"]
QUICK = ["asia", "child", "alarm", "hailfinder", "pigs"]
# pyagrum.causal: do-questions only, one round, on the small networks (on insurance its process
# grew past 3 GB)
CAUSAL_NETS = {"asia", "cancer", "sachs"}
# pgmpy BP: one round, the networks up to alarm's size (its junction tree is rebuilt for every
# do-question; on insurance and alarm it asks for 30 and 7 GiB)
BP_NETS = {"asia", "cancer", "sachs", "child", "insurance", "alarm"}
TOL = 1e-9  # every system computes in float64 ...
# ... but pyAgrum's BIF reader rounds each number to float32 (its answers then move by up to ~1e-7):
# its answers are checked at this tolerance, and the table says so.
TOL_FLOAT32_TABLES = 1e-6
MEMORY_LIMIT = 8 << 30


def examples() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pgmpy")
    return Path(spec.origin).parent / "utils" / "example_models"


def _limit_memory():  # in the child, before exec: a job past the limit fails there, not the machine
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_job(job: dict, limit: float) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3", CAUSALDSL_COMPILATION_CACHE="off")
    start = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "benchmarks.bnlearn.worker", json.dumps(job)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=limit, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return {"timeout": limit}
    wall = time.perf_counter() - start
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
        return {"error": tail[0][:300], "process_s": wall}
    out = json.loads(lines[-1])
    out["process_s"] = wall  # interpreter start, imports, everything: the whole fresh process
    return out


TIMES = ["import_s", "load_s", "first_s", "marginal_s", "do_s", "new_s", "new_do_s",
         "repeat_s", "process_s", "peak_mb"]


def combine(runs: list[dict]) -> dict:
    """The first successful run's answers, each time the minimum over the runs that gave it."""
    good = [r for r in runs if "answers" in r and "refused" not in r]
    if not good:
        return runs[0]
    out = dict(good[0])
    for key in TIMES:
        vals = [r[key] for r in good if r.get(key) is not None]
        if vals:
            out[key] = min(vals)
    out["rounds"] = len(good)
    return out


def check(ours: dict, theirs: dict, tol: float) -> tuple[bool, float, int]:
    """``(all agree, max |Δ| over every level of every answer, answers compared)``."""
    worst, n, ok = 0.0, 0, True
    for key, a in ours.items():
        b = theirs.get(key)
        if b is None:
            continue
        n += 1
        if set(a) != set(b):
            return False, float("inf"), n
        worst = max(worst, max(abs(a[k] - b[k]) for k in a))
    return ok and worst <= tol and n > 0, worst, n


def causal_check(ref: dict, theirs: dict, tol: float) -> dict:
    """How many do-answers agree, and the worst of those that do not."""
    diffs = {k: max(abs(ref[k][lv] - b.get(lv, float("inf"))) for lv in ref[k]) for k, b in theirs.items() if k in ref}
    wrong = {k: d for k, d in diffs.items() if d > tol}
    return {"compared": len(diffs), "wrong": len(wrong), "max_diff": max(wrong.values(), default=max(diffs.values(), default=0.0))}


def questions_for(name: str, path: Path) -> tuple[dict, int]:
    import causaldsl as cd

    from .questions import questions, tables

    tabs = tables(cd.from_bif(path))
    return questions(tabs, seed=zlib.crc32(name.encode())), len(tabs)


def write(out: Path, stem: str, results: dict, run: dict) -> str:
    """``stem.json`` and ``stem.md`` in ``out``; the Markdown."""
    from .report import machine, markdown

    data = {"machine": {**machine(), **run}, "networks": results}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(data, indent=1))
    md = markdown(data)
    (out / f"{stem}.md").write_text(md)
    return md


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK)}; one round")
    ap.add_argument("--nets", default="", help="comma-separated networks (default: all)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--rounds", type=int, default=None, help="fresh processes per (network, system); default 2, quick 1")
    ap.add_argument("--limit", type=float, default=None, help="seconds per process (default 60)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    nets = [n for n in args.nets.split(",") if n] or (QUICK if args.quick else EXACT + LARGE)
    systems = [s for s in args.systems.split(",") if s]
    rounds = args.rounds or (1 if args.quick else 2)
    limit = args.limit or 60.0
    t0 = time.perf_counter()
    # pip writes the peers' bytecode when it installs them; an editable install writes causaldsl's at
    # its first import, unless PYTHONDONTWRITEBYTECODE is set (as on this machine): compiled here, so
    # that no first answer includes compiling Python source.
    compileall.compile_dir(str(ROOT / "causaldsl"), quiet=1)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bnlearn-bench-") as tmp:
        for name in nets:
            path = Path(tmp) / f"{name}.bif"  # every system reads the same decompressed file
            path.write_text(gzip.open(examples() / f"{name}.bif.gz", "rt").read())
            qs, nvars = questions_for(name, path)
            runs: dict = {s: [] for s in systems}
            # the large networks: one round (a refusal or a time-out is no faster the second time)
            for r in range(1 if name in LARGE else rounds):
                order = systems if r % 2 == 0 else systems[::-1]
                for s in order:
                    if r and not any("answers" in x and "refused" not in x for x in runs[s]):
                        continue  # refused, failed or timed out once: not again
                    if (s == "pyagrum_causal" and (r or name not in CAUSAL_NETS)) or (
                            s == "pgmpy_bp" and (r or name not in BP_NETS)):
                        continue
                    job = {"system": s, "path": str(path), "questions": qs, "repeats": 20}
                    print(f"  {name:11s} {s:10s} round {r + 1}", file=sys.stderr, flush=True)
                    runs[s].append(run_job(job, limit))
            res = {s: combine(v) for s, v in runs.items() if v}
            ref = res.get("causaldsl", {}).get("answers")
            for s, out in res.items():
                if out.get("answers") and ref is not None and s != "causaldsl" and "refused" not in out:
                    tol = TOL_FLOAT32_TABLES if s.startswith("pyagrum") else TOL
                    ok, worst, n = check(ref, out["answers"], tol)
                    out["check"] = {"ok": ok, "max_diff": worst, "compared": n, "tol": tol}
                    if s == "pyagrum_causal":  # known to differ on some do + evidence questions: counted
                        out["check"] = {**causal_check(ref, out["answers"], tol), "ok": True, "tol": tol}
                out.pop("answers", None)
            results[name] = {"vars": nvars, "questions": qs, "systems": res}
            print(f"  {name} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            # written after every network: a run stopped part-way leaves the networks it finished
            md = write(Path(args.out), "bnlearn_quick" if args.quick else "bnlearn", results,
                       {"rounds": rounds, "limit_s": limit, "quick": args.quick, "total_s": time.perf_counter() - t0,
                        "finished": name == nets[-1]})
    print(md)
    bad = [f"{n} {s}" for n, r in results.items() for s, o in r["systems"].items()
           if o.get("check") and not o["check"]["ok"]]
    for b in bad:
        print("ANSWER MISMATCH:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
