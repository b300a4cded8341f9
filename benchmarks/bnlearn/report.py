"""The bnlearn table in Markdown, from the results the driver wrote (``bnlearn.json``).

One row per (network, system). Peer cells carry the ratio peer / causaldsl in parentheses
(above 1: causaldsl is faster); the closing list names every cell where causaldsl loses.
"""

from __future__ import annotations

import importlib
from typing import Optional

from ..report import fmt_t
from ..report import machine as shared_machine
from .worker import SYSTEMS as MODULES

OURS = "causaldsl"
LABELS = {"causaldsl": "causaldsl", "causaldsl_py": "causaldsl, m.probability", "pgmpy_ve": "pgmpy VE",
          "pgmpy_bp": "pgmpy BP", "pyagrum": "pyAgrum", "pyagrum_causal": "pyagrum.causal"}
DO_ONLY = {"pyagrum_causal"}  # answers do-questions only: its other cells stay empty
# The same library asked from Python values: not a peer. Its cells carry its own ratio to the text
# row, and the losses are said for it apart.
OURS_TOO = {"causaldsl_py"}
# (result key, column, what losing it means)
COLUMNS = [("load_s", "load BIF"), ("first_s", "first answer"), ("first_incl_s", "first, import incl."),
           ("new_s", "new question"), ("new_do_s", "new do-question"), ("repeat_s", "repeated question")]


def machine() -> dict:
    return shared_machine(("causaldsl", "pgmpy", "pyAgrum", "jax", "numpy", "networkx"))


def _ratio(peer: Optional[float], ours: Optional[float]) -> str:
    if peer is None or ours is None or ours <= 0:
        return ""
    x = peer / ours
    return f" ({x:,.0f}×)" if x >= 10 else f" ({x:.2f}×)" if x >= 0.1 else f" ({x:.1g}×)"


def _value(r: dict, key: str) -> Optional[float]:
    if key == "first_incl_s":
        return r["first_s"] + r["import_s"] if r.get("first_s") is not None and r.get("import_s") is not None else None
    return r.get(key)


def _failed(r: dict) -> Optional[str]:
    if "timeout" in r:
        return f"> {r['timeout']:.0f} s (stopped)"
    if "error" in r:
        return "failed: " + r["error"]
    if "refused" in r:
        why = r["refused"].strip().splitlines()[0]
        return ("out of memory: " + why if why.startswith("MemoryError") else "refused: " + why)[:220]
    if r.get("check") and not r["check"]["ok"] and r["check"]["max_diff"] > r["check"]["tol"]:
        return f"wrong answer (max |Δ| {r['check']['max_diff']:.1e})"
    return None


def _check(r: dict, system: str) -> str:
    c = r.get("check")
    if system == OURS:
        return "reference"
    if not c:
        return "-"
    out = f"{'yes' if c['ok'] else 'NO'} ({c['compared']} answers, max \\|Δ\\| {c['max_diff']:.0e} ≤ {c['tol']:.0e})"
    errors = r.get("question_errors") or {}
    if errors:
        first = next(iter(errors.values())).replace("|", "\\|")
        out += f"; {len(errors)} questions failed ({first})"
    if c.get("wrong") is not None:  # checked answer by answer (pyagrum.causal)
        out = f"{c['compared'] - c['wrong']} of {c['compared']} agree" + (
            f"; the others off by up to {c['max_diff']:.1e}" if c["wrong"] else f" (≤ {c['tol']:.0e})")
    return out


def rows(data: dict) -> list[list[str]]:
    head = ["network", "vars", "system"] + [c for _, c in COLUMNS] + ["peak MB", "same answers"]
    out = [head]
    for name, net in data["networks"].items():
        sysres = net["systems"]
        ours = sysres.get(OURS, {})
        ours_ok = _failed(ours) is None
        for system, r in sysres.items():
            label = LABELS.get(system, system)
            bad = _failed(r)
            if bad:
                out.append([name, str(net["vars"]), label, bad.replace("|", "\\|").replace("\n", " ")]
                           + [""] * (len(COLUMNS) - 1) + [f"{r['peak_mb']:.0f}" if r.get("peak_mb") else "-", "-"])
                continue
            cells = []
            for key, _ in COLUMNS:
                if system in DO_ONLY and key not in ("new_do_s",):
                    cells.append("")
                    continue
                v = _value(r, key)
                cell = fmt_t(v)
                if system != OURS and ours_ok:
                    cell += _ratio(v, _value(ours, key))
                cells.append(cell)
            out.append([name, str(net["vars"]), label] + cells + [_peak(r), _check(r, system)])
    return out


def losses(data: dict) -> list[str]:
    """One line per network: every column where a peer is faster than causaldsl (by how much), peak
    memory where a peer needs less, and causaldsl's own refusals."""
    out = []
    for name, net in data["networks"].items():
        sysres = net["systems"]
        ours = sysres.get(OURS, {})
        if _failed(ours):
            answered = [LABELS[s] for s, r in sysres.items() if _peer(s) and not _failed(r)]
            out.append(f"**{name}**: causaldsl {_failed(ours)}" + (f"; answered by {', '.join(answered)}" if answered else ""))
            continue
        parts = _lost(ours, sysres)
        mem = [f"{LABELS[s]} {r['peak_mb']:.0f} MB" for s, r in sysres.items()
               if _peer(s) and s not in DO_ONLY and not _failed(r) and r.get("peak_mb") and ours.get("peak_mb")
               and r["peak_mb"] < ours["peak_mb"]]
        if mem:
            parts.append(f"peak memory ({', '.join(mem)} against {ours['peak_mb']:.0f} MB)")
        for system in OURS_TOO:  # the questions asked from Python values, where they were run
            r = sysres.get(system)
            if r is not None and not _failed(r):
                lost = _lost(r, sysres, ("new_s", "new_do_s"))
                parts.append(f"with {LABELS[system]}: " + ("; ".join(lost) if lost else "no new question lost"))
        if parts:
            out.append(f"**{name}**: " + "; ".join(parts))
    return out


def _peak(r: dict) -> str:
    """The process's peak, and in parentheses its peak before the repeated question where lower."""
    before = r.get("peak_new_mb")
    if before is not None and before < r["peak_mb"] - 0.5:
        return f"{r['peak_mb']:.0f} ({before:.0f})"
    return f"{r['peak_mb']:.0f}"


def _peer(system: str) -> bool:
    return system != OURS and system not in OURS_TOO


def _lost(ours: dict, sysres: dict, keys=None) -> list[str]:
    """Each column (of ``keys``, default all) where a peer is faster than ``ours``, and by how much."""
    parts = []
    for key, col in COLUMNS:
        if keys is not None and key not in keys:
            continue
        by = []
        for system, r in sysres.items():
            if not _peer(system) or _failed(r) or (system in DO_ONLY and key != "new_do_s"):
                continue
            v, o = _value(r, key), _value(ours, key)
            if v is not None and o is not None and v < o:
                by.append(f"{LABELS[system]} {o / v:.1f}×")
        if by:
            parts.append(f"{col} ({', '.join(by)})")
    return parts


def calls() -> list[str]:
    out = []
    for system, mod in MODULES.items():
        m = importlib.import_module(f"benchmarks.bnlearn.{mod}")
        out.append(f"- **{LABELS[system]}**: `{m.CALL}`")
    return out


def markdown(data: dict) -> str:
    info = data["machine"]
    cells = rows(data)
    table = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    table += ["| " + " | ".join(line) + " |" for line in cells[1:]]
    vers = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    load = f", load average {info['load_avg']:.1f} at the end" if info.get("load_avg") is not None else ""
    lost = losses(data)
    return "\n".join([
        "### bnlearn networks: causaldsl, pgmpy and pyAgrum" + (" (quick run)" if info.get("quick") else "")
        + ("" if info.get("finished", True) else " (a run stopped part-way: the networks it finished)"), "",
        f"Machine: {info['cpu']}, {info['cores']} cores{load}, {info['os']}, Python {info['python']}; "
        f"commit {info['commit']}; {info['rounds']} fresh process(es) per network and system, the systems "
        f"taking turns, each time the minimum over them; {info['limit_s']:.0f} s and 8 GiB per process; "
        f"{info['total_s'] / 60:.1f} min in all.", "",
        f"Versions: {vers}.", "",
        "How each system was called (`ev`: the evidence, `X = x`: the intervention):", "", *calls(), "",
        "No system answers anything before it is timed. *load BIF*: the decompressed file to a model object. "
        "*first answer*: the file to the first answer (load, inference set-up, one question with two pieces "
        "of evidence), the library already imported; *import incl.* adds the import. *new question*: the "
        "median over 8 questions on the loaded model, each with its own target and evidence variables (no "
        "system can answer one from a cache); *new do-question*: the same for `P(Y | do(X = x), E = e)`. "
        "*repeated question*: the first question asked again and again (causaldsl: by the program it "
        "compiles once a question is asked twice; pyAgrum: `setEvidence` and `posterior` again on its "
        "LazyPropagation; pgmpy: elimination re-run). Peer cells: (peer time / causaldsl time), above 1 "
        "causaldsl is faster. *causaldsl, m.probability*: the same questions asked from Python values "
        "(dictionaries, as the peers take theirs) rather than as query text, so none is parsed; its cells "
        "carry (its time / the text query's), and its answers are checked against the text queries'. *peak MB*: the process's peak resident memory, imports included; in "
        "parentheses, where lower, its peak before the repeated question (causaldsl answers every new "
        "question in NumPy and loads JAX only to compile a question asked again). Every answer "
        "(every level of 3 + 16 questions) is checked against causaldsl's in the same run: pgmpy at 1e-9 "
        "(same float64 tables); pyAgrum at 1e-6, because its BIF reader rounds each number to float32 "
        "(given the same float64 tables it agrees to 1e-9: `tests/test_importers.py`). pyAgrum's do-queries: "
        "the mutilated network (arcs into X erased, X observed) and a new LazyPropagation. "
        "`pyagrum.causal`'s `causalImpact` runs in its own process, on the small networks only (its "
        "process grew past 3 GB on insurance), answer by answer: it differs from "
        "the mutilated network on some do + evidence questions, as pgmpy's `CausalInference.query` does "
        "(which is why pgmpy is called through `model.do` here). pgmpy BP (one round, networks up to alarm) "
        "cannot answer a do-query whose mutilated network falls apart (`No sepset found`: its junction tree "
        "needs one connected graph); those questions are counted and left out of its medians.", "",
        *table, "",
        "Where causaldsl loses (per network: each column where a peer is faster, and how many times; "
        "peak memory where a peer needs less)" + (":" if lost else ": nowhere in this run."), "",
        *[f"- {x}" for x in lost], ""])
