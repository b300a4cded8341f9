"""A new question on a loaded bnlearn network (issue 20): causaldsl beside pgmpy's
VariableElimination and pyAgrum's LazyPropagation, and the BIF load beside pyAgrum's loadBN.

    python benchmarks/new_question.py                       # asia child alarm insurance hailfinder ...
    python benchmarks/new_question.py asia alarm --rounds 3 --repeat 3
    python benchmarks/new_question.py --before /tmp/old-checkout    # a 'before' row, interleaved

Each system runs in its own fresh process (``--worker``), which imports only its own library:
nothing of causaldsl is imported into a peer's process. The questions are drawn once per network
(seeded) in a separate process and written to a file the workers read: marginals P(Y),
conditionals P(Y | E = e), do-queries P(Y | do(X = x)) and do + evidence, every one a target,
evidence and intervention not asked before on that model (the values from one forward sample, so
that the evidence has positive probability). Each system, per repeat, loads the network afresh and
answers every question once, timing each; the workers are interleaved (ours, pgmpy, pyAgrum,
ours, ...) for ``--rounds`` rounds, and each question's time is the minimum over every repeat of
every round. The answers are compared between the systems (max |difference| is printed).

How each peer is called, as its documentation recommends:

* pgmpy: ``VariableElimination(bn)`` built once per loaded network (not timed) and ``.query([Y],
  evidence=...)``; a do-query is ``VariableElimination(bn.do([X])).query([Y], evidence={X: x,
  ...})`` on the mutilated network, timed whole (``CausalInference.query`` runs one elimination
  per configuration of X's parents, and disagrees with the mutilated network for do + evidence).
* pyAgrum: one ``LazyPropagation(bn)`` per loaded network (not timed), ``eraseAllEvidence``,
  ``setEvidence``, ``makeInference``, ``posterior(Y)``; a do-query builds the mutilated network
  (a copy without the arrows into X, X's table uniform) and a ``LazyPropagation`` on it, timed
  whole. pyAgrum reads the network from an XDSL file written by pyAgrum itself (``gum.saveBN``; its
  BIF, BIFXML and NET round trips fail on some bnlearn level names, e.g. child's 'Asy/Patch').
* causaldsl: ``m = cd.from_bif(text)``, then ``m.query("P(Y | E = \\"e\\", do(X = \\"x\\"))")``.

The load column is ``cd.from_bif(text)`` against ``gum.loadBN(path)`` on the same decompressed
bnlearn BIF, best of every repeat (pyAgrum 'refused' where its reader refuses the file).
"""
from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time

DEFAULT = ["asia", "child", "insurance", "alarm", "hailfinder", "win95pts", "andes", "mildew", "barley"]
HERE = os.path.dirname(os.path.abspath(__file__))


def _examples() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pgmpy")  # its location only: pgmpy itself is not imported here
    return os.path.join(os.path.dirname(spec.origin), "utils", "example_models")


def bif_path(name: str) -> str:
    return os.path.join(_examples(), f"{name}.bif.gz")


# ------------------------------------------------------------------ questions (a causaldsl process)
def generate(name: str, out: str, k: int, seed: int) -> None:
    """Write ``k`` questions of each kind for ``name`` and a pyAgrum-readable copy of the network."""
    import numpy as np

    import causaldsl as cd
    from causaldsl.interchange.network import network_tables

    m = cd.from_bif(bif_path(name))
    tables = network_tables(m.ir)
    rng = np.random.default_rng(seed)
    sample: dict = {}
    for t in tables:  # one forward sample, in topological order
        row = np.asarray(t.probs)[tuple(t_idx for t_idx in (sample[p][0] for p in t.parents))]
        j = int(rng.choice(len(t.levels), p=row / row.sum()))
        sample[t.name] = (j, t.levels[j])
    names = sorted(sample)
    r = random.Random(seed)
    questions, used = [], set()
    for kind in ("marginal", "conditional", "do", "do+evidence"):
        made = 0
        while made < k:
            y, e, x = r.sample(names, 3)
            ev = {} if kind in ("marginal", "do") else {e: sample[e][1]}
            do = {x: sample[x][1]} if kind.startswith("do") else {}
            key = (y, tuple(ev), tuple(do))
            if key in used:
                continue
            used.add(key)
            questions.append({"kind": kind, "y": y, "evidence": ev, "do": do})
            made += 1
    bn = m.to_pyagrum()
    import pyagrum as gum

    gum.saveBN(bn, out + ".xdsl")
    with open(out, "w") as f:
        json.dump(questions, f)


# ------------------------------------------------------------------ workers (one system each)
def _q(s: str) -> str:
    return '"' + s + '"'


def ours(text: str, questions: list, repeat: int) -> dict:
    import causaldsl as cd

    loads, times, answers = [], [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        m = cd.from_bif(text)
        loads.append(time.perf_counter() - t0)
        ts, ans = [], []
        for q in questions:
            cond = [f"{v} = {_q(s)}" for v, s in q["evidence"].items()]
            if q["do"]:
                cond.append("do(" + ", ".join(f"{v} = {_q(s)}" for v, s in q["do"].items()) + ")")
            text_q = f"P({q['y']}" + (" | " + ", ".join(cond) if cond else "") + ")"
            t0 = time.perf_counter()
            r = m.query(text_q)
            ts.append(time.perf_counter() - t0)
            ans.append({str(k): float(v) for k, v in r.value.items()})
        times.append(ts)
        answers = ans
        del m
    return {"load": loads, "times": times, "answers": answers}


def pgmpy_worker(text: str, questions: list, repeat: int) -> dict:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    from pgmpy.inference import VariableElimination
    from pgmpy.readwrite import BIFReader

    bn = BIFReader(string=text).get_model()  # slow (pyparsing), once: not what is compared
    times, answers = [], None
    for _ in range(repeat):
        gc.collect()
        ve = VariableElimination(bn)
        ts, ans = [], []
        for q in questions:
            t0 = time.perf_counter()
            if q["do"]:
                res = VariableElimination(bn.do(list(q["do"]))).query(
                    [q["y"]], evidence={**q["evidence"], **q["do"]}, show_progress=False)
            else:
                res = ve.query([q["y"]], evidence=q["evidence"] or None, show_progress=False)
            ts.append(time.perf_counter() - t0)
            ans.append(dict(zip(map(str, res.state_names[q["y"]]), map(float, res.values))))
        times.append(ts)
        answers = ans
    return {"times": times, "answers": answers}


def pyagrum_worker(text: str, questions: list, repeat: int, bifxml: str, bif: str) -> dict:
    import pyagrum as gum

    loads = []
    try:
        for _ in range(repeat):
            gc.collect()
            t0 = time.perf_counter()
            gum.loadBN(bif)
            loads.append(time.perf_counter() - t0)
    except Exception:
        loads = None  # its BIF reader refuses this file
    times, answers = [], None
    for _ in range(repeat):
        bn = gum.loadBN(bifxml)
        gc.collect()
        ie = gum.LazyPropagation(bn)
        ts, ans = [], []
        for q in questions:
            t0 = time.perf_counter()
            if q["do"]:
                mb = gum.BayesNet(bn)
                for x in q["do"]:
                    xid = mb.idFromName(x)
                    for p in list(mb.parents(xid)):
                        mb.eraseArc(p, xid)
                    mb.cpt(x).fillWith(1.0).normalize()
                e = gum.LazyPropagation(mb)
                e.setEvidence({**q["evidence"], **q["do"]})
                e.makeInference()
                post = e.posterior(q["y"])
                labels = mb.variable(q["y"]).labels()
            else:
                ie.eraseAllEvidence()
                if q["evidence"]:
                    ie.setEvidence(q["evidence"])
                ie.makeInference()
                post = ie.posterior(q["y"])
                labels = bn.variable(q["y"]).labels()
            ts.append(time.perf_counter() - t0)
            ans.append(dict(zip(labels, map(float, post.toarray()))))
        times.append(ts)
        answers = ans
    return {"load": loads, "times": times, "answers": answers}


def worker(system: str, name: str, qfile: str, repeat: int) -> None:
    text = gzip.open(bif_path(name), "rt").read()
    questions = json.load(open(qfile))
    if system in ("ours", "before"):
        out = ours(text, questions, repeat)
    elif system == "pgmpy":
        out = pgmpy_worker(text, questions, repeat)
    else:
        plain = qfile + ".bif"
        with open(plain, "w") as f:
            f.write(text)
        out = pyagrum_worker(text, questions, repeat, qfile + ".xdsl", plain)
    print(json.dumps(out))


# ------------------------------------------------------------------ coordinator (imports nothing)
def _run(args: list, pythonpath: str = None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)] + args, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _min_per_question(runs: list) -> list:
    return [min(r[i] for run in runs for r in run["times"]) for i in range(len(runs[0]["times"][0]))]


def _diff(a: list, b: list) -> float:
    return max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("networks", nargs="*")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--k", type=int, default=3, help="questions of each kind")
    ap.add_argument("--peers", default="ours,pgmpy,pyagrum")
    ap.add_argument("--before", help="a checkout of causaldsl to time beside this one (a 'before' column)")
    ap.add_argument("--verbose", action="store_true", help="every question's time")
    ap.add_argument("--worker", nargs=4, metavar=("SYSTEM", "NET", "QFILE", "REPEAT"))
    ap.add_argument("--generate", nargs=3, metavar=("NET", "QFILE", "K"))
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker[0], a.worker[1], a.worker[2], int(a.worker[3]))
    if a.generate:
        generate(a.generate[0], a.generate[1], int(a.generate[2]), seed=20)
        print("{}")
        return
    systems = a.peers.split(",") + (["before"] if a.before else [])
    tmp = tempfile.mkdtemp()
    print(f"{'network':11s} {'Q':>3s} {'ours ms':>9s} {'pgmpy':>9s} {'pyAgrum':>9s} {'/pgmpy':>7s} {'/pyAgrum':>8s}"
          f" {'worst q':>8s} {'load ms':>8s} {'pyAgrum':>8s} {'/pyAgrum':>8s} {'max|diff|':>9s}")
    for name in a.networks or DEFAULT:
        qfile = os.path.join(tmp, name + ".json")
        _run(["--generate", name, qfile, str(a.k)])
        runs: dict = {s: [] for s in systems}
        for r in range(a.rounds):
            order = systems[r % len(systems):] + systems[:r % len(systems)]
            for s in order:
                runs[s].append(_run(["--worker", s, name, qfile, str(a.repeat)], a.before if s == "before" else None))
        per = {s: _min_per_question(runs[s]) for s in systems}
        tot = {s: 1e3 * sum(per[s]) for s in systems}
        nq = len(per[systems[0]])
        worst = max(o / max(p, 1e-9) for o, p in zip(per["ours"], per.get("pyagrum", per["ours"])))
        load = 1e3 * min(x for run in runs["ours"] for x in run["load"])
        agl = [x for run in runs.get("pyagrum", []) for x in (run["load"] or [])]
        agload = 1e3 * min(agl) if agl else float("nan")
        diff = max((_diff(runs["ours"][0]["answers"], runs[s][0]["answers"]) for s in systems if s != "ours"),
                   default=0.0)
        pg, ag = tot.get("pgmpy", float("nan")), tot.get("pyagrum", float("nan"))
        print(f"{name:11s} {nq:3d} {tot['ours']:9.1f} {pg:9.1f} {ag:9.1f} {tot['ours'] / pg:7.2f} "
              f"{tot['ours'] / ag:8.2f} {worst:8.2f} {load:8.1f} {agload:8.1f} {load / agload:8.2f} {diff:9.1e}",
              flush=True)
        if a.before:
            bload = 1e3 * min(x for run in runs["before"] for x in run["load"])
            print(f"{'  before':11s} {nq:3d} {tot['before']:9.1f} {'':9s} {'':9s} {tot['before'] / pg:7.2f} "
                  f"{tot['before'] / ag:8.2f} {'':8s} {bload:8.1f} {'':8s} {bload / agload:8.2f}", flush=True)
        if a.verbose:
            for s in systems:
                print(f"    {s:8s}", " ".join(f"{1e3 * t:.1f}" for t in per[s]))


if __name__ == "__main__":
    main()
