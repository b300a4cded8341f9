"""The results table (text and Markdown), the machine description and the cost-vs-size plot.

One line per (workload, size, peer): causaldsl's first and warm times beside the peer's,
and the ratios peer / causaldsl (above 1: causaldsl is faster). Monte Carlo rows compare
time per draw, since a slow peer may be run on fewer draws.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from typing import Optional

OURS = "causaldsl"


@dataclass
class Row:
    label: str
    key: str
    size: int
    system: str
    result: Optional[dict]
    ok: bool
    check: str
    peak_mb: Optional[float]
    timeout: Optional[float]


def fmt_t(s: Optional[float]) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _per_draw(row: Row, key: str) -> Optional[float]:
    """Time per draw for sampling (peers may draw fewer); otherwise time per answer."""
    r = row.result
    if not r or r.get(key) is None:
        return None
    return r[key] / r["draws"] if row.key == "sampling" and r.get("draws") else r[key]


def _ratio(peer: Optional[float], ours: Optional[float]) -> str:
    if peer is None or ours is None or ours <= 0:
        return "-"
    x = peer / ours
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2f}×"


def _cell(row: Row, key: str) -> str:
    if row.timeout:
        return f"> {row.timeout:.0f} s"
    if not row.result:
        return "failed"
    if not row.ok:
        return "wrong answer"
    t = row.result.get(key)
    if row.key == "sampling" and row.result.get("draws") and t:
        return f"{fmt_t(t)} ({row.result['draws'] / t / 1e6:.2g} M/s)"
    return fmt_t(t)


def _se(row: Row) -> str:
    if not row.result or row.result.get("se") is None:
        return "exact" if row.result else "-"
    return f"{row.result['se']:.1e}"


def lines(rows: list[Row]) -> list[list[str]]:
    """Header + one list of cells per peer row."""
    head = ["workload", "n", "peer", "ours first", "ours first, 2nd session", "ours warm", "ours new value",
            "peer first", "peer warm",
            "first ratio", "warm ratio", "s.e. ours / peer", "peak MB ours / peer", "same answer"]
    out = [head]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r.label, r.size), []).append(r)
    for (label, size), rs in groups.items():
        ours = next((r for r in rs if r.system == OURS), None)
        peers = [r for r in rs if r.system != OURS] or [ours]
        for p in peers:
            good = ours is not None and ours.ok and p.ok
            out.append([
                label, str(size), p.system if p is not ours else "-",
                _cell(ours, "first_s") if ours else "-",
                fmt_t(ours.result.get("first_cached_s")) if ours and ours.result and ours.ok else "-",
                _cell(ours, "warm_s") if ours else "-",
                fmt_t(ours.result.get("new_value_s")) if ours and ours.result and ours.ok else "-",
                _cell(p, "first_s") if p is not ours else "-", _cell(p, "warm_s") if p is not ours else "-",
                _ratio(_per_draw(p, "first_s"), _per_draw(ours, "first_s")) if good and p is not ours else "-",
                _ratio(_per_draw(p, "warm_s"), _per_draw(ours, "warm_s")) if good and p is not ours else "-",
                f"{_se(ours) if ours else '-'} / {_se(p) if p is not ours else '-'}",
                f"{ours.peak_mb:.0f} / {p.peak_mb:.0f}" if ours and ours.peak_mb and p.peak_mb else "-",
                ("yes" if p.ok and (ours is None or ours.ok) else "NO") + f" ({p.check})",
            ])
    return out


def text_table(rows: list[Row]) -> str:
    cells = lines(rows)
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


PEERS = ("causaldsl", "jax", "jaxlib", "numpyro", "pgmpy", "torch", "pyro-ppl", "chirho", "pymc", "dowhy", "numpy")


def machine(packages: tuple = PEERS) -> dict:
    """The machine, the packages' versions, the commit and the load average of a run."""
    cpu = platform.processor() or platform.machine()
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}", "versions": versions, "commit": commit,
            "load_avg": load}


def _machine_line(info: dict) -> str:
    """The machine and commit; per workload where re-runs (``--only``) measured some elsewhere."""
    rest = f"{info['cores']} cores, {info['os']}, Python {info['python']}"
    runs = info.get("runs") or {}
    where = {(r["commit"], r["cpu"]) for r in runs.values()}
    if len(where) <= 1:
        commit, cpu = next(iter(where), (info["commit"], info["cpu"]))
        return f"Machine: {cpu}, {rest}; commit {commit}."
    groups: dict = {}
    for key, r in runs.items():
        groups.setdefault((r["commit"], r["cpu"]), []).append(key)
    each = "; ".join(f"{', '.join(keys)} at commit {commit} on {cpu}" for (commit, cpu), keys in groups.items())
    return f"Machine: {rest}; workloads {each}."


# Commits whose runs timed one first call per process and warm calls by count alone.
BEFORE_MEDIANS = {"5c86211"}


def _older_rules(info: dict) -> str:
    old = [key for key, run in (info.get("runs") or {}).items() if run["commit"] in BEFORE_MEDIANS]
    if not old:
        return ""
    return (f" The {', '.join(old)} rows come from a run before those rules: one first call per process, "
            "and warm calls counted, not timed.")


def _first_rule(rows: list[Row]) -> str:
    counts = sorted({r.result.get("first_runs", 1) for r in rows if r.result and r.key != "sampling"})
    if counts in ([], [1]):
        return "one process per system"
    n = {3: "three", 5: "five"}.get(counts[-1], str(counts[-1]))
    return (f"the median over {n} fresh processes, the systems taking turns (workloads 1, 2, 4 and 5, for "
            "every system: one process times one first call)")


def markdown(rows: list[Row], info: dict, quick: bool = False) -> str:
    cells = lines(rows)
    md = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in cells[1:]]
    vers = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return "\n".join([
        "# Benchmarks: causaldsl beside its peers" + (" (quick run)" if quick else ""), "",
        _machine_line(info), "", f"Versions: {vers}.", "",
        "Ratios are peer time / causaldsl time (above 1: causaldsl is faster); Monte Carlo rows compare "
        "time per draw. *first* is text or objects in, answer out on a fresh model (parse, build, compile, "
        "run), with an empty compilation cache, once the system's primer (its imports and a small query "
        "of its own) has run in that process, " + _first_rule(rows) + "; *first, 2nd session* the same in a second process that "
        "finds the programs the first one compiled in causaldsl's persistent cache; *warm* the median of "
        "repeats of the same query (at least the workload's count of repeats and at least 0.25 s of calls, for "
        "every system alike; causaldsl compiles a query's program once it is asked a second time, and its "
        "repeats are timed once that program is ready); "
        "*new value* the same query with another value. Every answer was checked (last column) before its time was written. Peak MB is the peak "
        "resident memory of the process that ran the system (imports included)." + _older_rules(info), "",
        *md, ""])


def plot(rows: list[Row], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(r.label for r in rows))
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 4), squeeze=False)
    for ax, label in zip(axes[0], keys):
        rs = [r for r in rows if r.label == label and r.ok and r.result]
        sampling = any(r.key == "sampling" for r in rs)
        for system in dict.fromkeys(r.system for r in rs):
            pts = sorted((r.size, r.result) for r in rs if r.system == system)
            if not pts:
                continue
            xs = [p[0] for p in pts]
            for key, style in (("warm_s", "-"), ("first_s", ":")):
                ys = [p[1][key] * (1e6 / p[1]["draws"] if sampling else 1) for p in pts]
                ax.plot(xs, ys, style, marker="o", label=f"{system} {key[:-2]}",
                        color=None if system != OURS else "black")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("nodes")
        ax.set_ylabel("seconds" + (" per 10⁶ draws" if sampling else ""))
        ax.set_title(label, fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
