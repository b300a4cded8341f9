"""The first answer of each tutorial file in a fresh process, and its whole ``causaldsl run``:
issue 19's budget "first answer on each tutorial file: within +3 ms of today".

    python benchmarks/first_answer.py                                    # this checkout
    python benchmarks/first_answer.py --checkout /tmp/before --checkout . --repeats 5

Per file and checkout, in fresh processes (the import of causaldsl not timed; the grammar's
load, the first parse, the checks and the answer timed):

* ``first``: text to the first answer, as ``causaldsl run`` gets it (``cd.program`` then the
  first model's first answer);
* ``load+query``: ``cd.load(path)`` then ``query`` of its first query (files of one model; a
  file of several is "n/a": ``cd.load`` asks which);
* ``run``: the whole ``causaldsl run FILE`` process, import included.

Checkouts alternate within each repeat, so a loaded machine slows each alike; each cell is
the least of the repeats, as wall-clock milliseconds and (in parentheses) the process's CPU
milliseconds, the steadier figure on a shared machine. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timed(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def _child(kind: str, path: str) -> None:
    """Time one ``kind`` on the file at ``path``; print wall and CPU seconds."""
    import warnings

    warnings.filterwarnings("ignore")
    import causaldsl as cd
    from causaldsl.language import syntax as S

    def first():
        m = cd.program(Path(path).read_text(), Path(path).parent, check_queries=False)[0]
        next(iter(m.answers())) if isinstance(m, cd.CausalModel) else m.run()[0]

    def load_query():
        m = cd.load(path)
        m.query(next(q for q in m.queries if not isinstance(q, S.FitStmt)))

    print(*_timed(first if kind == "first" else load_query))


def _fresh(kind: str, path: str, checkout: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve()))
    if kind == "run":
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", "import sys; from causaldsl.cli import main; sys.exit(main())",
                            "run", path], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0 if r.returncode == 0 else float("nan")
        return wall, wall
    r = subprocess.run([sys.executable, __file__, "--child", kind, path], env=env, capture_output=True, text=True)
    if r.returncode:
        return float("nan"), float("nan")
    wall, cpu = map(float, r.stdout.split()[-2:])
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", default=sorted(str(p) for p in (ROOT / "tutorials").glob("*.causal")))
    ap.add_argument("--checkout", action="append", default=[])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kinds", default="first,load+query,run")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(*args.child)
    checkouts = args.checkout or [str(ROOT)]
    kinds = args.kinds.split(",")
    print(f"milliseconds, least of {args.repeats} fresh processes: wall (CPU; run: wall only)")
    names = [Path(c).resolve().name[:12] for c in checkouts]
    print(f"{'file':>22} {'kind':>10} " + " ".join(f"{n:>19}" for n in names))
    for path in args.files:
        for kind in kinds:
            best = {c: (float("inf"), float("inf")) for c in checkouts}
            for _ in range(args.repeats):
                for c in checkouts:
                    wall, cpu = _fresh(kind, path, c)
                    best[c] = (min(best[c][0], wall), min(best[c][1], cpu))
            cells = ["n/a (fails)" if best[c][0] == float("inf") else
                     f"{best[c][0] * 1e3:8.1f} ({best[c][1] * 1e3:7.1f})" if kind != "run" else
                     f"{best[c][0] * 1e3:8.1f}          " for c in checkouts]
            print(f"{Path(path).name:>22} {kind:>10} " + " ".join(f"{x:>19}" for x in cells), flush=True)


if __name__ == "__main__":
    main()
