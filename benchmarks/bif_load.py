"""Loading the bnlearn networks pgmpy ships (pgmpy/utils/example_models/*.bif.gz): causaldsl's
from_bif beside pgmpy's BIFReader(...).get_model() and pyAgrum's loadBN, the same decompressed text
for all three (decompression excluded), best of 7 runs (3 for texts over 1 MB; pgmpy, whose
reader builds a pyparsing grammar of every Unicode letter per call, ~3 s, once), one process.

    python benchmarks/bif_load.py                 # every shipped network
    python benchmarks/bif_load.py asia alarm      # some

pyAgrum reads numbers as float32 and refuses some level names (child's 'Asy/Patch'): those rows
say 'refused'.
"""
import gc
import gzip
import os
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore")

import pgmpy  # noqa: E402
from pgmpy.readwrite import BIFReader  # noqa: E402

import causaldsl as cd  # noqa: E402

try:
    import pyagrum as gum
except ImportError:  # pragma: no cover
    gum = None

EXAMPLES = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")
ALL = ["asia", "cancer", "earthquake", "survey", "sachs", "child", "insurance", "alarm", "win95pts",
       "hepar2", "hailfinder", "andes", "water", "pigs", "link", "pathfinder", "munin1", "munin2",
       "munin3", "munin4", "munin", "barley", "mildew", "diabetes"]


def best(fn, repeat):
    out = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def main(names, repeat=7):
    t0 = time.perf_counter()
    cd.from_bif("variable a { type discrete [ 1 ] { x }; } probability ( a ) { table 1; }")
    print(f"building the BIF parser (once per process): {1e3 * (time.perf_counter() - t0):.0f} ms")
    print(f"{'network':12s} {'vars':>5s} {'KB':>6s} {'causaldsl':>10s} {'pgmpy':>10s} {'pyAgrum':>10s}  (ms)")
    tmp = tempfile.mkdtemp()
    for name in names:
        text = gzip.open(os.path.join(EXAMPLES, f"{name}.bif.gz"), "rt").read()
        path = os.path.join(tmp, f"{name}.bif")
        with open(path, "w") as f:
            f.write(text)
        rep = repeat if len(text) < 1_000_000 else 3
        ours = best(lambda: cd.from_bif(text), rep)
        n = len(cd.from_bif(text).variables)
        theirs = best(lambda: BIFReader(string=text).get_model(), 1)
        agrum = "—"
        if gum is not None:
            try:
                agrum = f"{1e3 * best(lambda: gum.loadBN(path), rep):10.1f}"
            except Exception:
                agrum = "refused"
        print(f"{name:12s} {n:5d} {len(text) / 1e3:6.0f} {1e3 * ours:10.1f} {1e3 * theirs:10.1f} {agrum:>10s}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ALL)
