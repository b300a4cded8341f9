"""One (system, network) job in a fresh process; prints one JSON line.

    python -m benchmarks.bnlearn.worker '{"system": "pgmpy_ve", "path": "/tmp/x/asia.bif", ...}'

The job's questions (see ``questions.py``) come in the job: the worker imports the system's
library and nothing else of causaldsl's unless the system is causaldsl. In this order:

* ``import_s``: importing the library;
* ``load_s``: the BIF file to a model object;
* ``first_s``: the file to the first answer (load, inference set-up, one conditional question);
* ``marginal_s``, ``do_s``: one marginal, one do-query with evidence, next;
* ``new_s`` / ``new_do_s``: the median time of new questions (each variable set asked once, none a
  repeat of another) with evidence, and with do + evidence;
* ``peak_new_mb``: the peak resident memory before the repeated question (for causaldsl: before
  its compiled tier, and JAX with it, is loaded); ``peak_mb``: at the end;
* ``repeat_s``: the first conditional question asked again (causaldsl: by its compiled program,
  once compiled; pyAgrum: ``setEvidence`` + ``posterior`` again on its LazyPropagation).

No system answers a question before it is timed (no primer, for any system). Every answer
comes back for the checks.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time

from ..measure import peak_mb, warm

# system -> its module here: the one list of systems (the driver runs them, the report labels them)
SYSTEMS = {"causaldsl": "ours", "causaldsl_py": "ours_py", "pgmpy_ve": "pgmpy_ve", "pgmpy_bp": "pgmpy_bp",
           "pyagrum": "pyagrum_lp", "pyagrum_causal": "pyagrum_causal"}


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run(job: dict) -> dict:
    mod = importlib.import_module(f"benchmarks.bnlearn.{SYSTEMS[job['system']]}")
    out: dict = {"answers": {}}
    lib, out["import_s"] = _timed(mod.imports)
    out["base_mb"] = peak_mb()
    try:
        model, out["load_s"] = _timed(lambda: mod.load(lib, job["path"]))
    except Exception as exc:  # a peer's reader refusing a file is a result, not a crash
        out["refused"] = f"load: {type(exc).__name__}: {str(exc)[:300]}"
        out["peak_mb"] = peak_mb()
        return out
    qs = job["questions"]
    errors = out["question_errors"] = {}

    def ask(session, key, q):
        """Time one answer; a peer failing one question is counted, not fatal (ours are refusals)."""
        t = time.perf_counter()
        try:
            out["answers"][key] = session.ask(*q)
        except Exception as exc:
            if mod.refusal(exc) is not None or isinstance(exc, MemoryError) or job["system"].startswith("causaldsl"):
                raise
            errors[key] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return None
        return time.perf_counter() - t

    def median_of(session, kind, prefix):
        times = [ask(session, f"{prefix}{i}", q) for i, q in enumerate(qs[kind])]
        times = [s for s in times if s is not None]
        return statistics.median(times) if times else None

    try:
        if getattr(mod, "DO_ONLY", False):  # a system for do-questions alone
            session = mod.Session(lib, model)
            out["do_s"] = ask(session, "do", qs["do"])
            out["new_do_s"] = median_of(session, "new_do", "new_do")
            out["peak_mb"] = peak_mb()
            return out
        t = time.perf_counter()
        session = mod.Session(lib, model)
        q_s = ask(session, "conditional", qs["conditional"])
        out["first_s"] = out["load_s"] + (time.perf_counter() - t) if q_s is not None else None
        out["marginal_s"] = ask(session, "marginal", qs["marginal"])
        out["do_s"] = ask(session, "do", qs["do"])
        out["new_s"] = median_of(session, "new", "new")
        out["new_do_s"] = median_of(session, "new_do", "new_do")
        # the peak so far: every question answered once (causaldsl: in NumPy, before a program is compiled)
        out["peak_new_mb"] = peak_mb()
        if job.get("repeats") and "conditional" in out["answers"]:
            session.ask(*qs["conditional"])
            session.settle()
            out["repeat_s"] = warm(lambda: session.ask(*qs["conditional"]), job["repeats"], budget_s=2.0)
    except Exception as exc:
        why = mod.refusal(exc)
        if why is None and not isinstance(exc, MemoryError):
            raise
        out["refused"] = why or f"{type(exc).__name__}: {exc}"
    out["peak_mb"] = peak_mb()
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))), flush=True)
