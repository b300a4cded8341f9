"""Loading bnlearn's networks written as DSL text: the seconds of ``cd.model(text)`` (parse and
check), issue 19's budget "no slower than today".

    python benchmarks/load_text.py                          # asia alarm barley mildew diabetes
    python benchmarks/load_text.py asia alarm --repeats 5
    python benchmarks/load_text.py --checkout /tmp/before --checkout .   # interleaved, before/after
    python benchmarks/load_text.py mildew barley diabetes --form both --repeats 5   # keyed vs compact

The networks are pgmpy's copies of bnlearn's (``pgmpy/utils/example_models/*.bif.gz``), written
as text as :mod:`benchmarks.bnlearn_effects` writes alarm: one ``Categorical`` per variable, one
keyed ``table`` per level, each column of probabilities scaled to sum to 1. Names that are not
the language's (level names such as ``<5`` or ``Asy/Patch``, digit-led names, reserved words
such as ``E``) are renamed to identifiers.

``--form compact`` writes each network as ``cd.from_bif(path).to_text()`` does instead: the
compact table form (one row of probabilities per parent configuration), names and levels as the
file has them (quoted where needed); ``--form both`` times the two texts of each network
alternately in one process.

Without ``--checkout`` each network is timed in this process, with whatever ``causaldsl`` is
first on the path (the least of ``--repeats`` loads). With it, each (network, repeat) runs once
per checkout in a fresh process, checkouts alternating, so a loaded machine slows every
checkout alike; the table gives the least time per checkout, wall-clock and CPU (the steadier
figure on a shared machine). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NETWORKS = ("asia", "alarm", "barley", "mildew", "diabetes")
RESERVED = {"if", "then", "else", "and", "or", "not", "do", "table", "latent", "model", "via",
            "param", "fit", "graph", "identify", "to", "P", "E", "ATE", "ETT", "NDE", "NIE", "PN",
            "PS", "PNS", "adjustment", "instruments", "independences", "ancestors", "descendants",
            "parents", "children", "markov_blanket", "admg"}


def identifier(name: object) -> str:
    """``name`` as a name of the language: other characters become ``_``, a digit-led name
    gains ``L_``, a reserved word a trailing ``_``.

    >>> identifier("Asy/Patch"), identifier("12+"), identifier("E"), identifier("yes")
    ('Asy_Patch', 'L_12_', 'E_', 'yes')
    """
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name)) or "_"
    if not (text[0].isalpha() or text[0] == "_"):
        text = "L_" + text
    return text + "_" if text in RESERVED else text


def _renamer(names) -> dict:
    """Each of ``names`` to a distinct identifier (a clash gains ``_2``, ``_3``, ...)."""
    out, taken = {}, set()
    for name in names:
        base = new = identifier(name)
        k = 2
        while new in taken:
            new, k = f"{base}_{k}", k + 1
        out[name] = new
        taken.add(new)
    return out


def network_text(name: str) -> str:
    """pgmpy's copy of bnlearn network ``name`` as DSL text (a model named ``name``)."""
    import warnings

    import networkx as nx
    from pgmpy.utils import get_example_model

    with warnings.catch_warnings():  # its successor, pgmpy.example_models.load_model, may download
        warnings.simplefilter("ignore", FutureWarning)
        bn = get_example_model(name)  # the .bif.gz shipped in pgmpy/utils/example_models
    var = _renamer(bn.nodes())
    lines = [f"model {identifier(name)} {{"]
    for v in nx.topological_sort(bn):
        cpd = bn.get_cpds(v)
        level = {v: _renamer(cpd.state_names[v])}
        parents = list(cpd.variables[1:])
        for p in parents:
            level[p] = _renamer(cpd.state_names[p])
        values = cpd.get_values()  # (levels of v, parent configurations in product order)
        values = values / values.sum(axis=0)  # barley's columns sum to 0.9999999, which the checker refuses
        combos = list(itertools.product(*[cpd.state_names[p] for p in parents]))
        args = []
        for i, s in enumerate(cpd.state_names[v]):
            if not parents:
                args.append(f"{level[v][s]}: {float(values[i, 0])!r}")
                continue
            keys = [", ".join(level[p][c] for p, c in zip(parents, combo)) for combo in combos]
            rows = ", ".join((f"({k})" if len(parents) > 1 else k) + f": {float(values[i, j])!r}"
                             for j, k in enumerate(keys))
            args.append(f"{level[v][s]}: table({', '.join(var[p] for p in parents)}) {{ {rows} }}")
        lines.append(f"    {var[v]} ~ Categorical({', '.join(args)})")
    lines.append("}")
    return "\n".join(lines)


def compact_text(name: str) -> str:
    """pgmpy's copy of bnlearn network ``name`` as ``to_text()`` writes it (the compact form)."""
    import pgmpy

    import causaldsl as cd

    path = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models", f"{name}.bif.gz")
    return cd.from_bif(path).to_text()


def _both(names, repeats: int) -> None:
    """Keyed and compact text of each network, loaded alternately ``repeats`` times each."""
    print(f"seconds of cd.model(text), least of {repeats}, keyed and compact text loaded alternately")
    print(f"{'network':>9} {'form':>8} {'MB':>6} {'wall':>7} {'CPU':>7}")
    for name in names:
        texts = {"keyed": network_text(name), "compact": compact_text(name)}
        best = {f: (float("inf"), float("inf")) for f in texts}
        for _ in range(repeats):
            for form, text in texts.items():
                wall, cpu = load_seconds(text, 1)
                best[form] = (min(best[form][0], wall), min(best[form][1], cpu))
        for form, text in texts.items():
            print(f"{name:>9} {form:>8} {len(text.encode()) / 1e6:6.2f} {best[form][0]:7.3f} {best[form][1]:7.3f}",
                  flush=True)


def load_seconds(text: str, repeats: int) -> tuple[float, float]:
    """Least wall-clock and least CPU seconds of ``cd.model(text)`` over ``repeats`` calls."""
    import causaldsl as cd

    wall = cpu = float("inf")
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        cd.model(text)
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu


def _child(path: str) -> None:
    """Child process: time one load of the text in ``path``, print the seconds."""
    text = Path(path).read_text()
    import causaldsl  # noqa: F401  (the import is not timed)

    print(*load_seconds(text, 1))


def _interleaved(names, checkouts, repeats: int, form: str = "keyed") -> None:
    print(f"seconds of cd.model(text), least of {repeats} fresh processes per checkout: wall (CPU)")
    print(f"{'network':>9} {'MB':>6} " + " ".join(f"{Path(c).resolve().name[:15]:>15}" for c in checkouts))
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = os.path.join(tmp, f"{name}.causal")
            Path(path).write_text(compact_text(name) if form == "compact" else network_text(name))
            best = {c: (float("inf"), float("inf")) for c in checkouts}
            for _ in range(repeats):
                for c in checkouts:
                    env = dict(os.environ, PYTHONPATH=str(Path(c).resolve()))
                    out = subprocess.run([sys.executable, __file__, "--child", path], env=env,
                                         capture_output=True, text=True, check=True).stdout
                    wall, cpu = map(float, out.split()[-2:])
                    best[c] = (min(best[c][0], wall), min(best[c][1], cpu))
            mb = os.path.getsize(path) / 1e6
            cells = [f"{best[c][0]:6.2f} ({best[c][1]:6.2f})" for c in checkouts]
            print(f"{name:>9} {mb:6.2f} " + " ".join(f"{x:>15}" for x in cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="*", default=list(NETWORKS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--checkout", action="append", default=[], help="a source tree to time (repeatable)")
    ap.add_argument("--form", choices=("keyed", "compact", "both"), default="keyed",
                    help="the text: one keyed table per level (default), to_text()'s compact rows, or both")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child)
    if args.form == "both":
        return _both(args.networks, args.repeats)
    if args.checkout:
        return _interleaved(args.networks, args.checkout, args.repeats, args.form)
    print(f"seconds of cd.model(text), least of {args.repeats}")
    print(f"{'network':>9} {'MB':>6} {'wall':>7} {'CPU':>7}")
    for name in args.networks:
        text = compact_text(name) if args.form == "compact" else network_text(name)
        wall, cpu = load_seconds(text, args.repeats)
        print(f"{name:>9} {len(text.encode()) / 1e6:6.2f} {wall:7.3f} {cpu:7.3f}", flush=True)


if __name__ == "__main__":
    main()
